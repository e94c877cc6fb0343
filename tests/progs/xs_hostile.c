/* SPDX-License-Identifier: MIT */
/*
 * A hostile domU against the emulator's XenStore, hypercall and control
 * sockets
 * (sim only; run inside a domU by tests/integration/xensim_hostile_domu.sh).
 * Raw xs_wire.h messages, so nothing in a client library hides what the
 * server answers.  One mode per run; exit 0 when the emulator held:
 *   xs_hostile txn-growth   one transaction reads 250 distinct missing deep
 *                           paths: some read must be ENOSPC (the daemon's
 *                           size is checked by the script)
 *   xs_hostile conns        80 connections: at most 64 are served; 20
 *                           transactions over them: 11 open, then ENOSPC
 *   xs_hostile noread       129 watches on a connection that then stops
 *                           reading, another connection fires ~6 MiB of
 *                           events: the silent one is dropped
 *   xs_hostile setsid VICTIM  a child leaves the domain's process group and
 *                           tries dom0's XenStore socket (write /tool/x),
 *                           dom0's hypercall socket and the control socket
 *                           (destroy VICTIM)
 *   xs_hostile ctl VICTIM   the control socket (the xensim CLI's) is asked
 *                           to destroy VICTIM: refused
 *   xs_hostile xenbus       duplicate watch OK (event twice), unknown
 *                           unwatch OK, a 4081-byte payload E2BIG
 */
#include "sim_hyp.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "FAIL: " __VA_ARGS__);                                             \
		fputc('\n', stderr);                                                               \
		exit(1);                                                                           \
	} while (0)

static int xs_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		FAIL("connect %s: %s", path, strerror(errno));
	return fd;
}

static int own_xs(void)
{
	const char *p = getenv("XENSTORED_PATH");

	if (!p)
		FAIL("no XENSTORED_PATH");
	return xs_connect(p);
}

/* Sends one message; false if the server is gone. */
static bool xs_send(int fd, uint32_t type, uint32_t tx, const void *body, size_t len)
{
	struct xsd_sockmsg h = {type, 0, tx, (uint32_t)len};
	char buf[sizeof(h) + 8192];

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, len);
	return send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + len);
}

static bool read_full(int fd, void *p, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)p + got, len - got);

		if (n <= 0)
			return false;
		got += n;
	}
	return true;
}

/* The next message that is not a watch event (events counted in *events,
 * if given); its body NUL-terminated in body.  -1: the server closed. */
static int xs_recv(int fd, struct xsd_sockmsg *h, char *body, unsigned *events)
{
	for (;;) {
		if (!read_full(fd, h, sizeof(*h)) || h->len > XENSTORE_PAYLOAD_MAX ||
		    !read_full(fd, body, h->len))
			return -1;
		body[h->len] = 0;
		if (h->type != XS_WATCH_EVENT)
			return 0;
		if (events)
			(*events)++;
	}
}

/* A request's answer: "OK"-style body, or the error name after '!'. */
static const char *xs_call(int fd, uint32_t type, uint32_t tx, const char *body, size_t len,
			   unsigned *events)
{
	static char buf[XENSTORE_PAYLOAD_MAX + 2];
	struct xsd_sockmsg h;

	if (!xs_send(fd, type, tx, body, len) || xs_recv(fd, &h, buf + 1, events) < 0)
		return "!closed";
	if (h.type == XS_ERROR) {
		buf[0] = '!';
		return buf;
	}
	return buf + 1;
}

static const char *xs_call2(int fd, uint32_t type, uint32_t tx, const char *a, const char *b)
{
	char buf[4096];
	size_t la = strlen(a) + 1, lb = b ? strlen(b) + 1 : 0;

	memcpy(buf, a, la);
	if (b)
		memcpy(buf + la, b, lb);
	return xs_call(fd, type, tx, buf, la + lb, NULL);
}

static uint32_t txn_start(int fd, const char **err)
{
	const char *r = xs_call(fd, XS_TRANSACTION_START, 0, "", 1, NULL);

	*err = r;
	return r[0] == '!' ? 0 : (uint32_t)strtoul(r, NULL, 10);
}

static int txn_growth(void)
{
	int fd = own_xs(), enospc = 0;
	const char *err;
	uint32_t tx = txn_start(fd, &err);
	char path[2100];

	if (!tx)
		FAIL("transaction start: %s", err);
	for (int i = 0; i < 250; i++) {
		int n = snprintf(path, sizeof(path), "data/h%d", i);
		const char *r;

		while (n < 2000)
			n += snprintf(path + n, sizeof(path) - n, "/a");
		r = xs_call(fd, XS_READ, tx, path, n + 1, NULL);
		if (!strcmp(r, "!closed"))
			FAIL("read %d: connection closed", i);
		enospc += !strcmp(r, "!ENOSPC");
	}
	printf("reads refused with ENOSPC: %d of 250\n", enospc);
	if (!enospc)
		FAIL("the accessed-node quota never applied");
	return 0;
}

static int conns(void)
{
	int fds[80], live = 0, opened = 0;
	const char *err = "";

	for (int i = 0; i < 80; i++)
		fds[i] = own_xs();
	for (int i = 0; i < 80; i++) {
		const char *r = xs_call(fds[i], XS_READ, 0, "domid", 6, NULL);

		if (strcmp(r, "!closed")) {
			fds[live++] = fds[i];
		} else {
			close(fds[i]);
		}
	}
	printf("connections served: %d of 80\n", live);
	if (live < 20 || live > 64)
		FAIL("%d connections served (want 20..64)", live);
	for (int i = 0; i < 20; i++) {
		if (!txn_start(fds[i], &err))
			break;
		opened++;
	}
	printf("transactions over 20 connections: %d opened, then %s\n", opened, err);
	if (opened != 11 || strcmp(err, "!ENOSPC"))
		FAIL("per-domain transaction quota: %d opened, then %s", opened, err);
	return 0;
}

static int noread(void)
{
	int quiet = own_xs(), loud = own_xs();
	char tok[16], buf[65536];
	ssize_t n;
	size_t got = 0;

	if (strcmp(xs_call2(loud, XS_WRITE, 0, "data/n", "0"), "OK"))
		FAIL("write data/n");
	for (int i = 0; i < 129; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		if (strcmp(xs_call2(quiet, XS_WATCH, 0, "data/n", tok), "OK"))
			FAIL("watch %d", i);
	}
	/* 129 events of ~40 bytes per write: 1200 writes queue ~6 MiB for
	 * the quiet connection (under dom0's 16 MiB per connection) */
	for (int i = 0; i < 1200; i++)
		if (strcmp(xs_call2(loud, XS_WRITE, 0, "data/n", "1"), "OK"))
			FAIL("write %d", i);
	/* dropped: what was sent comes, then end of file */
	for (;;) {
		struct pollfd p = {quiet, POLLIN, 0};

		if (poll(&p, 1, 10000) <= 0)
			FAIL("the silent connection was not dropped (%zu bytes read)", got);
		n = read(quiet, buf, sizeof(buf));
		if (n <= 0)
			break;
		got += n;
	}
	printf("silent connection dropped after %zu bytes\n", got);
	if (strcmp(xs_call(loud, XS_READ, 0, "domid", 6, NULL), "!closed") == 0)
		FAIL("the other connection was dropped too");
	return 0;
}

/* 0: the daemon refused (closed or an error); 1: it did what was asked. */
static int try_dom0_xs(const char *dir)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/xenstored.sock", dir);
	fd = xs_connect(path);
	return !strcmp(xs_call2(fd, XS_WRITE, 0, "/tool/x", "pwned"), "OK");
}

#define HYP_SOCK "dom/0/hyp.sock"
#define CTL_SOCK "ctl.sock"

/* Asks for VICTIM's destruction on dom0's socket DIR/SOCK: 1 if done.  On
 * the hypercall socket a domain-control handle is opened first; the
 * control socket (the xensim CLI's) takes the request as is. */
static int try_dom0_destroy_on(const char *dir, const char *sock, unsigned victim)
{
	char path[4200];
	struct sim_hyp_msg m = {.op = SIM_OP_OPEN, .a = SIM_KIND_DOMCTL};
	int fd, rc, done = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sock);
	fd = sim_msg_connect(path);
	if (fd < 0)
		return 0;
	if (!strcmp(sock, HYP_SOCK) && (sim_msg_send(fd, &m, NULL, 0, NULL, 0) < 0 ||
					sim_msg_recv(fd, &m, NULL, 0, NULL, NULL) < 0 || m.rc < 0))
		goto out;
	m = (struct sim_hyp_msg){.op = SIM_OP_DOM_DESTROY, .a = victim};
	if (sim_msg_send(fd, &m, NULL, 0, NULL, 0) < 0)
		goto out;
	rc = sim_msg_recv(fd, &m, NULL, 0, NULL, NULL);
	done = rc >= 0 && m.rc == 0;
out:
	close(fd);
	return done;
}

static int try_dom0_destroy(const char *dir, unsigned victim)
{
	return try_dom0_destroy_on(dir, HYP_SOCK, victim) ||
	       try_dom0_destroy_on(dir, CTL_SOCK, victim);
}

static const char *sim_dir(void)
{
	const char *dir = getenv(SIM_ENV_DIR);

	if (!dir)
		FAIL("no %s", SIM_ENV_DIR);
	return dir;
}

/* A domain's process (not escaping anything) asks the control socket to
 * destroy VICTIM, as the xensim CLI would. */
static int ctl(unsigned victim)
{
	if (try_dom0_destroy_on(sim_dir(), CTL_SOCK, victim))
		FAIL("a domU process destroyed dom%u through the control socket", victim);
	printf("control socket: refused a domU process\n");
	return 0;
}

static int escape(unsigned victim)
{
	const char *dir = sim_dir();
	int st;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd;

		if (setsid() < 0)
			FAIL("setsid: %s", strerror(errno));
		if (try_dom0_xs(dir))
			FAIL("a setsid() domU process wrote /tool/x through dom0's socket");
		if (try_dom0_destroy(dir, victim))
			FAIL("a setsid() domU process destroyed dom%u through dom0's hyp or "
			     "control socket",
			     victim);
		/* it is still its domain's process: its own socket serves it */
		fd = own_xs();
		if (strcmp(xs_call(fd, XS_READ, 0, "domid", 6, NULL), getenv(SIM_ENV_DOMID)))
			FAIL("its own domain's socket refused it");
		printf("setsid() child: dom0's sockets refused, its own served\n");
		_exit(0);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	return 0;
}

static int xenbus(void)
{
	int fd = own_xs();
	unsigned ev = 0;
	char big[4200];
	const char *r;
	size_t n;

	if (strcmp(xs_call2(fd, XS_WRITE, 0, "data/w", "0"), "OK") ||
	    strcmp(xs_call2(fd, XS_WATCH, 0, "data/w", "tA"), "OK"))
		FAIL("watch");
	r = xs_call2(fd, XS_WATCH, 0, "data/w", "tA");
	if (strcmp(r, "OK"))
		FAIL("duplicate watch (180): %s, want OK", r);
	ev = 0;
	if (strcmp(xs_call(fd, XS_WRITE, 0,
			   "data/w\0"
			   "1",
			   8, &ev),
		   "OK"))
		FAIL("write");
	/* the events of the write may follow its reply: one more round trip */
	xs_call(fd, XS_READ, 0, "domid", 6, &ev);
	printf("events after a duplicate watch: %u (initial ones included)\n", ev);
	if (ev < 3)
		FAIL("duplicate watch (181): %u events, want the event twice", ev);
	r = xs_call2(fd, XS_UNWATCH, 0, "data/w", "tA");
	r = xs_call2(fd, XS_UNWATCH, 0, "data/w", "tA");
	r = xs_call2(fd, XS_UNWATCH, 0, "data/w", "tA");
	if (strcmp(r, "OK"))
		FAIL("unwatch of an unknown watch (184): %s, want OK", r);
	r = xs_call2(fd, XS_UNWATCH, 0, "data/never", "x");
	if (strcmp(r, "OK"))
		FAIL("unwatch of a never-registered path (185): %s, want OK", r);
	/* 44, 291: a request over 4096 bytes with its header is E2BIG */
	n = (size_t)snprintf(big, sizeof(big), "data/big") + 1;
	memset(big + n, 'x', XENSTORE_PAYLOAD_MAX - 16 + 1 - n);
	r = xs_call(fd, XS_WRITE, 0, big, XENSTORE_PAYLOAD_MAX - 16 + 1, NULL);
	if (strcmp(r, "!E2BIG"))
		FAIL("a 4081-byte payload (44, 291): %s, want E2BIG", r + (r[0] == '!'));
	printf("xenbus answers: duplicate watch OK, unknown unwatch OK, 4081 bytes E2BIG\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "txn-growth"))
		return txn_growth();
	if (argc == 2 && !strcmp(argv[1], "conns"))
		return conns();
	if (argc == 2 && !strcmp(argv[1], "noread"))
		return noread();
	if (argc == 3 && !strcmp(argv[1], "setsid"))
		return escape((unsigned)strtoul(argv[2], NULL, 10));
	if (argc == 2 && !strcmp(argv[1], "xenbus"))
		return xenbus();
	if (argc == 3 && !strcmp(argv[1], "ctl"))
		return ctl((unsigned)strtoul(argv[2], NULL, 10));
	fprintf(stderr,
		"usage: xs_hostile txn-growth|conns|noread|setsid VICTIM|xenbus|ctl VICTIM\n");
	return 2;
}
