/* SPDX-License-Identifier: MIT */
/*
 * A hostile client of the emulated host (sim only; run by
 * tests/integration/xensim_badclient.sh): garbage, truncated and oversized
 * messages, stray descriptors, out-of-range ports/refs/domids, requests
 * for the wrong handle kind, floods without reading replies, abrupt
 * closes.  Inside a domU: on its hypercall socket, then it checks the
 * daemon still serves this domain correctly, and that the control socket
 * (dom0's) refuses it.  As dom0 (`xensim exec --domid 0`, the host's
 * process): on the control socket, then it checks the daemon still answers
 * there.
 *   plat_badclient SECONDS SEED
 */
#include "vbdpool/platform.h"
#include "sim_hyp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *hyp, *simdir;
static char ctlpath[4200];

static int conn(const char *path)
{
	int fd = sim_msg_connect(path);

	if (fd < 0) {
		fprintf(stderr, "connect %s: %s\n", path, strerror(-fd));
		exit(1);
	}
	return fd;
}

static uint32_t rnd32(void)
{
	uint32_t v = (uint32_t)random() << 16 ^ (uint32_t)random();
	static const uint32_t special[] = {0,	   1,	    8,		4095,	    4096,  0x7ff0,
					   0xffff, 0x10000, 0x7fffffff, 0xffffffff, 32767, 32768};

	return random() % 3 ? special[random() % 12] : v;
}

/* Hypercall ops a domU may send at random (all are harmless by design). */
static void random_hyp(int fd)
{
	static uint8_t buf[SIM_HYP_MAX_MSG + 100];
	struct sim_hyp_msg m = {
	    .op = (uint32_t)(random() % 16), .a = rnd32(), .b = rnd32(), .c = rnd32()};
	size_t len = random() % 4 ? (size_t)random() % 64 : (size_t)random() % sizeof(buf);
	int fds[2] = {0, 1};

	if (m.op == SIM_OP_OPEN && random() % 2)
		m.a = 1 + (uint32_t)(random() % 4);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(random() % 4 ? rnd32() : random());
	switch (random() % 6) {
	case 0: /* raw bytes, maybe shorter than a header, maybe too long */
		send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		break;
	case 1: /* stray descriptors */
		sim_msg_send(fd, &m, buf, len % 1000, fds, 2);
		break;
	default:
		sim_msg_send(fd, &m, buf, len % 20000, NULL, 0);
	}
}

static void drain(int fd)
{
	char buf[SIM_HYP_MAX_MSG];
	int fds[SIM_HYP_MAX_FDS];

	for (;;) {
		struct msghdr mh = {0};
		struct iovec iov = {buf, sizeof(buf)};
		char cbuf[CMSG_SPACE(sizeof(fds))];

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		if (recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
			for (int i = 0; i < n; i++)
				close(fds[i]);
		}
	}
}

static void random_ctl(int fd)
{
	static char buf[8192];
	static const uint32_t ops[] = {SIM_OP_CTL_CREATE,
				       SIM_OP_CTL_EXEC,
				       SIM_OP_CTL_SIGNAL,
				       SIM_OP_CTL_PING,
				       SIM_OP_DOM_LIST,
				       99,
				       0};
	struct sim_hyp_msg m = {.op = ops[random() % 7], .a = rnd32(), .b = rnd32(), .c = rnd32()};
	size_t len = (size_t)random() % sizeof(buf);
	int fds[3] = {0, 1, 2};

	for (size_t i = 0; i < len; i++)
		buf[i] = random() % 3 ? (char)('a' + random() % 26) : 0;
	/* nothing real may be run or written by accident: the program is
	 * never an existing one and the console is the default */
	if (m.op == SIM_OP_CTL_CREATE) {
		static const char pre[] = "x\0\0/\0/nonexistent/prog";

		m.a %= 4;
		m.b %= 4;
		m.c = 0; /* not paused: a stopped child would never try the program */
		if (len < sizeof(pre))
			len = sizeof(pre);
		memcpy(buf, pre, sizeof(pre));
	} else if (m.op == SIM_OP_CTL_EXEC) {
		static const char pre[] = "/\0/nonexistent/prog";

		m.b %= 4;
		m.c %= 4;
		if (len < sizeof(pre))
			len = sizeof(pre);
		memcpy(buf, pre, sizeof(pre));
	}
	if (m.op == SIM_OP_CTL_SIGNAL)
		m.a = 0; /* signal 0: never kill anything */
	sim_msg_send(fd, &m, buf, len, fds, random() % 2 ? 3 : (int)(random() % 4));
}

/* A ping on the control socket: 1 if the daemon answered it. */
static int ctl_ping(void)
{
	struct sim_hyp_msg m = {.op = SIM_OP_CTL_PING};
	int fd = sim_msg_connect(ctlpath), ok;

	if (fd < 0)
		return 0;
	ok = sim_msg_send(fd, &m, NULL, 0, NULL, 0) == 0 &&
	     sim_msg_recv(fd, &m, NULL, 0, NULL, NULL) >= 0 && m.op == SIM_OP_CTL_PING && m.rc == 0;
	close(fd);
	return ok;
}

/* Bursts of random messages until `end`, replies read or not: control
 * requests (dom0), or hypercalls with floods that never read (a domU). */
static unsigned long abuse(time_t end, bool ctl)
{
	unsigned long n = 0;

	while (time(NULL) < end) {
		int fd = conn(ctl ? ctlpath : hyp);

		for (int i = 0, k = (int)(random() % (ctl ? 10 : 50)); i < k; i++, n++) {
			if (ctl)
				random_ctl(fd);
			else
				random_hyp(fd);
			if (ctl || random() % 2)
				drain(fd);
		}
		/* a flood without reading */
		for (int i = 0, k = !ctl && random() % 10 == 0 ? 2000 : 0; i < k; i++) {
			struct sim_hyp_msg m = {.op = SIM_OP_OPEN, .a = 9};

			if (sim_msg_send(fd, &m, NULL, 0, NULL, 0) < 0)
				break;
		}
		close(fd);
	}
	return n;
}

static int sanity(void)
{
	const struct vbd_platform *P = &vbd_platform_sim;
	struct vbd_evtchn *e = P->evtchn->open();
	struct vbd_gntshr *s = P->gntshr->open();
	struct vbd_gnttab *t = P->gnttab->open();
	unsigned self = (unsigned)atoi(getenv(SIM_ENV_DOMID));
	vbd_gref_t ref;
	int port, l, p, ok = 1;
	char *a, *b;

	if (!e || !s || !t) {
		printf("FAIL open after abuse: %s\n", strerror(errno));
		return 0;
	}
	port = P->evtchn->alloc_unbound(e, (vbd_domid_t)self);
	l = P->evtchn->bind_interdomain(e, (vbd_domid_t)self, (vbd_port_t)port);
	p = P->evtchn->pending(e);
	ok &= port > 0 && l > 0 && p == l;
	P->evtchn->unmask(e, (vbd_port_t)l);
	ok &= P->evtchn->notify(e, (vbd_port_t)l) == 0;
	usleep(1000);
	ok &= P->evtchn->pending(e) == port;
	a = P->gntshr->share_pages(s, (vbd_domid_t)self, 1, &ref, 1);
	b = a ? P->gnttab->map_refs(t, 1, (vbd_domid_t)self, &ref, PROT_READ | PROT_WRITE) : NULL;
	if (a && b) {
		strcpy(a, "still-working");
		ok &= !strcmp(b, "still-working");
		P->gnttab->unmap(t, b, 1);
	} else {
		ok = 0;
	}
	printf("%s daemon still serves this domain (port %d/%d, ref %u)\n", ok ? "ok" : "FAIL",
	       port, l, ref);
	P->evtchn->close(e);
	P->gntshr->close(s);
	P->gnttab->close(t);
	return ok;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3;
	const char *domid = getenv(SIM_ENV_DOMID);
	bool dom0 = domid && !strcmp(domid, "0");
	time_t end;

	hyp = getenv(SIM_ENV_HYP);
	simdir = getenv(SIM_ENV_DIR);
	if (!hyp || !simdir || !domid) {
		fprintf(stderr, "run me in an emulated domain\n");
		return 1;
	}
	snprintf(ctlpath, sizeof(ctlpath), "%s/ctl.sock", simdir);
	srandom(argc > 2 ? (unsigned)atoi(argv[2]) : (unsigned)time(NULL));
	end = time(NULL) + (time_t)secs;
	if (dom0) {
		printf("# %lu hostile control messages sent\n", abuse(end, true));
		if (!ctl_ping()) {
			printf("FAIL the control socket no longer answers dom0\n");
			return 1;
		}
		printf("ok the control socket still answers dom0\n");
		return 0;
	}
	if (ctl_ping()) {
		printf("FAIL the control socket answered dom%s\n", domid);
		return 1;
	}
	printf("ok the control socket refused dom%s\n", domid);
	printf("# %lu hostile messages sent\n", abuse(end, false));
	return sanity() ? 0 : 1;
}
