/* SPDX-License-Identifier: MIT */
/*
 * vbdpool-nbd: serves one vbdpool device of this guest over NBD, completing
 * requests asynchronously (no thread sleeps per request, unlike the nbdkit
 * plugin).  Runs in the foreground in the guest domain:
 *
 *   vbdpool-nbd --devid N (--socket PATH | --listen HOST:PORT) [--volume ID]
 *               [--ring-order N] [--wait SECONDS] [--queue-batch N]
 *               [--idle-timeout S] [--conn-budget-mib N] (and more: --help)
 *
 * SIGTERM / SIGINT: stop accepting, finish the requests in flight (their
 * replies are sent), close the connections, vbd_front_close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "server.h"
#include "vbdpool/front.h"
#include "vbdpool/log.h"
#include "vbdpool/parse_num.h"
#include "vbdpool/proto.h"
#include "vbdpool/version.h"

#define MAX_CONNS    64
#define MAX_INFLIGHT 64 /* requests per connection */
/* --conn-budget-mib default: request payloads and unsent replies of one
 * connection (MAX_CONNS of them: at most 512 MiB in all). */
#define CONN_BUDGET_MIB 8
/* --idle-timeout default, like other NBD servers: a client that holds a
 * connection (one of MAX_CONNS) and sends nothing loses it. */
#define IDLE_TIMEOUT_S 300
/* Small requests stay on one queue until this many are in flight, then
 * go shortest queue first.  With members that poll their rings
 * (vbdpool-backd --poll-us) batching no longer saves wake-ups, and
 * spreading a QD16 load over several owners lets them work in parallel:
 * 4 KiB QD16, 3 members, interleaved runs (docs/perf.md): randread 189k-209k
 * IOPS with 4, 215k-218k with 2, 137k-156k with 16 (the default before
 * polling); randwrite 132k-134k with 4, 106k-121k with 2, 99k-107k with
 * 16.  Large requests always go shortest queue first. */
#define QUEUE_BATCH  (VBD_FRONT_QUEUE_BATCH / 2)
#define POLL_US	     VBD_FRONT_POLL_US /* --poll-us default */
#define STOP_WAIT_MS 15000	       /* at stop: connections get this long before close */
/* --sndbuf-kib default: a connection's socket send buffer asked of the
 * kernel (which doubles it for its bookkeeping and caps it at
 * net.core.wmem_max).  With the system's default (208 KiB) a 1 MiB read
 * reply left in ~3 sends, each waiting for the client to read and wake
 * the event thread with POLLOUT; bench/nbd.sh 1 MiB read QD4, 8 pairs
 * (docs/perf.md "Large requests"): median 3180-3280 MiB/s with the default
 * against 3600-3640 with 1-2 MiB. */
#define SNDBUF_KIB 1024
/* --zero-copy-kib default: WRITEs from this size on are received straight
 * into pages granted to the queue's owner (vbd_front_wbuf_get), saving
 * the copy vbd_front_submit makes (docs/perf.md "Zero-copy writes") */
#define ZC_KIB 64

struct args {
	unsigned devid; /* NO_DEVID: not given */
	const char *sock_path, *listen_spec, *volume;
	unsigned ring_order, wait_s, queue_batch, poll_us, stall_s, drain_ms;
	unsigned idle_s, budget_mib, hold_detach, contexts, sndbuf_kib, zc_kib;
};
#define NO_DEVID UINT_MAX

/* The command line: an option's value goes to one field of struct args;
 * numbers are checked against max (vbd_parse_u64). */
enum opt_kind { OPT_UINT, OPT_STR, OPT_VOLUME };
static const struct opt_desc {
	const char *name;
	enum opt_kind kind;
	size_t field;
	unsigned max;
} opt_table[] = {
    {"devid", OPT_UINT, offsetof(struct args, devid), 0x7fffffff},
    {"socket", OPT_STR, offsetof(struct args, sock_path), 0},
    {"listen", OPT_STR, offsetof(struct args, listen_spec), 0},
    {"volume", OPT_VOLUME, offsetof(struct args, volume), 0},
    {"ring-order", OPT_UINT, offsetof(struct args, ring_order), VBD_MAX_RING_PAGE_ORDER},
    {"wait", OPT_UINT, offsetof(struct args, wait_s), 86400},
    {"queue-batch", OPT_UINT, offsetof(struct args, queue_batch), 1024},
    {"poll-us", OPT_UINT, offsetof(struct args, poll_us), 1000000},
    {"stall-warn", OPT_UINT, offsetof(struct args, stall_s), 86400},
    {"drain-timeout-ms", OPT_UINT, offsetof(struct args, drain_ms), 86400000},
    {"idle-timeout", OPT_UINT, offsetof(struct args, idle_s), 86400},
    {"conn-budget-mib", OPT_UINT, offsetof(struct args, budget_mib), 4096},
    {"hold-detach", OPT_UINT, offsetof(struct args, hold_detach), 1},
    {"contexts", OPT_UINT, offsetof(struct args, contexts), VBD_MAX_QUEUES},
    {"sndbuf-kib", OPT_UINT, offsetof(struct args, sndbuf_kib), 1u << 20},
    {"zero-copy-kib", OPT_UINT, offsetof(struct args, zc_kib), 1u << 20},
};
#define NOPTS	    (sizeof(opt_table) / sizeof(opt_table[0]))
#define OPT_HELP    'h'
#define OPT_VERSION 'V'

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vbdpool-nbd --devid N (--socket PATH | --listen HOST:PORT) [options]\n"
	    "       vbdpool-nbd --help | --version\n"
	    "Serves vbdpool device N of this guest (device/vbdpool/<N>) over NBD.\n"
	    "  --devid N          the device id (required)\n"
	    "  --socket PATH      listen on a Unix socket\n"
	    "  --listen HOST:PORT listen on TCP (e.g. 127.0.0.1:10809, [::1]:10809)\n"
	    "  --volume ID        refuse unless the device is this volume\n"
	    "  --ring-order N     log2 pages per ring (0..%d, default %d)\n"
	    "  --wait SECONDS     wait for a queue to connect before listening\n"
	    "  --queue-batch N    requests kept on one queue before spreading (default %d)\n"
	    "  --poll-us N        I/O in flight: poll N us before sleeping (default %d)\n"
	    "  --stall-warn S     log when I/O is outstanding and nothing answers for S s\n"
	    "                     (default %d; 0: never; requests keep waiting)\n"
	    "  --drain-timeout-ms N  a member taken over with writes in flight: newer\n"
	    "                     writes overlapping them wait for the supervisor's\n"
	    "                     drained/<m>, at most N ms (the storage timeout;\n"
	    "                     default %d; 0: no limit)\n"
	    "  --idle-timeout S   close a connection that sent nothing for S s while it\n"
	    "                     had no request in flight (default %d; 0: never)\n"
	    "  --conn-budget-mib N  per connection: at most N MiB of request payloads and\n"
	    "                     unsent replies (default %d); the largest request\n"
	    "                     accepted (advertised maximum block size) is min(N MiB, %u MiB)\n"
	    "  --contexts N       event threads serving the queues (queue q: context\n"
	    "                     q %% N; at most the queues; default 0: min(queues,\n"
	    "                     online CPUs)); connections are spread over them,\n"
	    "                     each served by the one with the fewest connections\n"
	    "  --sndbuf-kib N     each connection's socket send buffer, asked of the\n"
	    "                     kernel (default %d, so that a 1 MiB read reply leaves in\n"
	    "                     one send; capped by net.core.wmem_max; 0: the system's)\n"
	    "  --zero-copy-kib N  WRITEs of N KiB and more (up to 1 MiB) are received\n"
	    "                     straight into the pages granted to the queue's owner\n"
	    "                     (default %d; 0: never, every write is copied once more)\n"
	    "  --hold-detach 1    dom0's detach (state 5) does not stop requests: the\n"
	    "                     device closes, letting the detach finish, at SIGTERM\n"
	    "                     (vbdpool-guestd sends it once the device is not in use)\n"
	    "Log level: VBD_LOG=error|warn|info|debug.\n",
	    VBD_MAX_RING_PAGE_ORDER, VBD_DEFAULT_RING_ORDER, QUEUE_BATCH, POLL_US,
	    VBD_FRONT_STALL_WARN_MS / 1000, VBD_FRONT_DRAIN_TIMEOUT_MS, IDLE_TIMEOUT_S,
	    CONN_BUDGET_MIB, VBDNBD_MAX_BLOCK >> 20, SNDBUF_KIB, ZC_KIB);
}

/* One option's value into its field: 0, or -1 (said why). */
static int set_opt(struct args *a, const struct opt_desc *d, const char *v)
{
	char *field = (char *)a + d->field;
	uint64_t x;

	switch (d->kind) {
	case OPT_UINT:
		if (vbd_parse_u64(v, d->max, &x) < 0) {
			fprintf(stderr, "vbdpool-nbd: --%s %s: expected an integer 0..%u\n",
				d->name, v, d->max);
			return -1;
		}
		*(unsigned *)(void *)field = (unsigned)x;
		return 0;
	case OPT_VOLUME:
		if (!vbd_volume_id_valid(v)) {
			fprintf(stderr, "vbdpool-nbd: --%s %s: not a volume id\n", d->name, v);
			return -1;
		}
		break;
	case OPT_STR:
		break;
	}
	*(const char **)(void *)field = v;
	return 0;
}

/* The command line into *a: 0 (serve), 1 (--help / --version done), 2 (bad usage,
 * said why). */
static int parse_args(int argc, char **argv, struct args *a)
{
	struct option lopts[NOPTS + 3];
	int opt;

	for (size_t i = 0; i < NOPTS; i++)
		lopts[i] =
		    (struct option){opt_table[i].name, required_argument, NULL, 256 + (int)i};
	lopts[NOPTS] = (struct option){"help", no_argument, NULL, OPT_HELP};
	lopts[NOPTS + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	lopts[NOPTS + 2] = (struct option){NULL, 0, NULL, 0};
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		if (opt == OPT_HELP || opt == OPT_VERSION) {
			if (opt == OPT_HELP)
				usage(stdout);
			else
				vbd_print_version("vbdpool-nbd");
			return 1;
		}
		if (opt < 256 || opt >= 256 + (int)NOPTS) {
			usage(stderr);
			return 2;
		}
		if (set_opt(a, &opt_table[opt - 256], optarg) < 0)
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "vbdpool-nbd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (a->devid == NO_DEVID || !a->sock_path == !a->listen_spec) {
		fprintf(stderr, "vbdpool-nbd: %s\n",
			a->devid == NO_DEVID ? "--devid is required"
					     : "exactly one of --socket and --listen is required");
		usage(stderr);
		return 2;
	}
	if (a->budget_mib == 0) {
		fprintf(stderr, "vbdpool-nbd: --conn-budget-mib must be at least 1\n");
		return 2;
	}
	return 0;
}

/* A server answers on the socket at path already (checked before the
 * device is opened: a second frontend on the same device would disturb the
 * running one). */
static bool unix_in_use(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	bool used;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return false; /* listen_unix says why */
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	used = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return used;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		log_err("--socket %s: path too long (max %zu)", path, sizeof(a.sun_path) - 1);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("--socket %s: exists and is not a socket", path);
			return -1;
		}
		unlink(path); /* a stale socket of an earlier run (unix_in_use said so) */
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		log_err("--socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int listen_tcp(const char *spec)
{
	char host[256];
	const char *port, *colon = strrchr(spec, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	size_t hl;
	int fd = -1, rc, one = 1;

	if (!colon || !colon[1]) {
		log_err("--listen %s: expected HOST:PORT", spec);
		return -1;
	}
	port = colon + 1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') { /* [v6]:port */
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		log_err("--listen: host name too long");
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = 0;
	rc = getaddrinfo(hl ? host : NULL, port, &hints, &res);
	if (rc) {
		log_err("--listen %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	if (fd < 0)
		log_err("--listen %s:%s: %s", host, port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static void peer_name(const struct sockaddr_storage *a, char *buf, size_t n)
{
	char h[INET6_ADDRSTRLEN];

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)a;

		inet_ntop(AF_INET, &s->sin_addr, h, sizeof(h));
		snprintf(buf, n, "%s:%u", h, ntohs(s->sin_port));
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)a;

		inet_ntop(AF_INET6, &s->sin6_addr, h, sizeof(h));
		snprintf(buf, n, "[%s]:%u", h, ntohs(s->sin6_port));
	} else {
		snprintf(buf, n, "unix");
	}
}

/* SO_SNDBUF refused: said once (accept_loop's thread only). */
static struct vbd_log_once sndbuf_once;

static void accept_one(struct nbd_server *s, int lfd)
{
	struct sockaddr_storage a;
	socklen_t al = sizeof(a);
	char peer[64];
	struct nbd_conn *c;
	pthread_attr_t attr;
	pthread_t t;
	unsigned n;
	int fd, one = 1;

	fd = accept4(lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100 * 1000);
		return;
	}
	peer_name(&a, peer, sizeof(peer));
	if (a.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->sndbuf && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, sizeof(s->sndbuf)) < 0)
		vbd_log_once(&sndbuf_once, VBD_LOG_WARN,
			     "connection from %s: SO_SNDBUF %d: %s (kept the system's)", peer,
			     s->sndbuf, strerror(errno));
	pthread_mutex_lock(&s->mu);
	n = s->nconns;
	pthread_mutex_unlock(&s->mu);
	if (n >= MAX_CONNS) {
		log_warn("connection from %s refused: already %u connections", peer, n);
		close(fd);
		return;
	}
	c = conn_new(s, fd, peer);
	if (!c) {
		log_err("connection from %s: out of memory", peer);
		close(fd);
		return;
	}
	log_debug("%s: connected", conn_name(c));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_thread, c) != 0) {
		log_err("%s: cannot start its thread", conn_name(c));
		/* conn_thread frees c; without a thread, drop it by hand */
		shutdown(fd, SHUT_RDWR);
		conn_thread(c);
	}
	pthread_attr_destroy(&attr);
}

/* Waits until no connection is left or timeout_ms passed (<0: forever). */
static unsigned wait_conns(struct nbd_server *s, int timeout_ms)
{
	struct timespec dl;
	unsigned n;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->mu);
	while (s->nconns) {
		if (timeout_ms < 0)
			pthread_cond_wait(&s->cv, &s->mu);
		else if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT)
			break;
	}
	n = s->nconns;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Every thread (the library's too) inherits the mask set here: SIGTERM
 * and SIGINT are read from the returned signalfd by the accept loop. */
static int stop_signals_fd(void)
{
	static const int stop_sigs[] = {SIGTERM, SIGINT};
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++)
		sigaddset(&set, stop_sigs[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		log_err("signalfd: %s", strerror(errno));
	return fd;
}

/* Attaches the device (and waits for a queue if asked): 0, or -1 logged. */
static int open_device(const struct args *a, struct nbd_server *srv)
{
	struct vbd_front_opts o;
	int rc;

	vbd_front_opts_init(&o, a->devid);
	o.volume = a->volume;
	o.ring_order = a->ring_order;
	o.queue_batch = a->queue_batch;
	o.poll_us = a->poll_us;
	o.stall_warn_ms = a->stall_s * 1000;
	o.drain_timeout_ms = a->drain_ms;
	rc = vbd_front_open_ctx(&o, a->contexts, &srv->dev);
	if (rc < 0) {
		const char *hint = "";

		if (rc == -ENOENT)
			hint = " (no device/vbdpool/<devid> for this domain: attached?)";
		else if (rc == -EINVAL && a->volume)
			hint = " (not the volume asked for, or a malformed device directory)";
		log_err("cannot attach vbdpool device %u: %s%s", a->devid, strerror(-rc), hint);
		return -1;
	}
	if (a->wait_s > 0 && (rc = vbd_front_wait_connected(srv->dev, (int)a->wait_s * 1000)) < 0) {
		log_err("device %u: no queue connected within %u s: %s", a->devid, a->wait_s,
			strerror(-rc));
		vbd_front_close(srv->dev);
		return -1;
	}
	if (a->hold_detach && vbd_front_hold_detach(srv->dev) == 1)
		log_warn("device %u: dom0 asked to detach it while it opened", a->devid);
	srv->size = vbd_front_size(srv->dev);
	if (vbd_front_read_only(srv->dev)) /* writes then fail with EPERM */
		srv->tflags |= NBD_FLAG_READ_ONLY;
	srv->devid = a->devid;
	srv->volume = vbd_front_volume(srv->dev);
	return 0;
}

/* Accepts connections until a stop signal (or a poll error). */
static void accept_loop(struct nbd_server *s, int lfd, int sfd)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			return;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: stopping", si.ssi_signo);
			return;
		}
		if (p[0].revents & POLLIN)
			accept_one(s, lfd);
	}
}

/* Stop: no new connection, no new request; in-flight ones finish, then
 * the device closes. */
static void stop_server(struct nbd_server *s, int lfd, const char *sock_path)
{
	unsigned left;

	atomic_store(&s->stopping, true);
	close(lfd);
	if (sock_path)
		unlink(sock_path);
	conn_wake_all(s);
	left = wait_conns(s, STOP_WAIT_MS);
	if (left)
		log_warn("%u connection(s) still busy after %d s: closing the device", left,
			 STOP_WAIT_MS / 1000);
	/* Connections still served by the event loop: no more kicks, close
	 * the device (joins the loop, fails what is left with -ESHUTDOWN),
	 * then let their threads drop them. */
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->closing_dev, true);
	pthread_mutex_unlock(&s->mu);
	vbd_front_close(s->dev);
	atomic_store(&s->dev_closed, true);
	conn_wake_all(s);
	wait_conns(s, -1);
}

int main(int argc, char **argv)
{
	struct args a = {.devid = NO_DEVID,
			 .ring_order = VBD_DEFAULT_RING_ORDER,
			 .queue_batch = QUEUE_BATCH,
			 .poll_us = POLL_US,
			 .stall_s = VBD_FRONT_STALL_WARN_MS / 1000,
			 .drain_ms = VBD_FRONT_DRAIN_TIMEOUT_MS,
			 .idle_s = IDLE_TIMEOUT_S,
			 .budget_mib = CONN_BUDGET_MIB,
			 .sndbuf_kib = SNDBUF_KIB,
			 .zc_kib = ZC_KIB};
	struct nbd_server srv = {.max_inflight = MAX_INFLIGHT};
	int rc, lfd, sfd;

	vbd_log_init("vbdpool-nbd");
	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : 2;
	srv.budget = (uint64_t)a.budget_mib << 20;
	srv.max_block = srv.budget < VBDNBD_MAX_BLOCK ? (uint32_t)srv.budget : VBDNBD_MAX_BLOCK;
	srv.idle_ms = (uint64_t)a.idle_s * 1000;
	srv.sndbuf = (int)(a.sndbuf_kib * 1024u);
	srv.zc_min = a.zc_kib ? a.zc_kib * 1024u : UINT32_MAX;
	srv.tflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
		     NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN;
	sfd = stop_signals_fd();
	if (sfd < 0)
		return 1;
	/* Request buffers up to 32 MiB come from the heap, not fresh mmaps
	 * (which would fault in every page of every large request); the
	 * event thread's arena still gives trimmed memory back, so each
	 * connection also keeps spares of its large buffers (conn.c). */
	mallopt(M_MMAP_THRESHOLD, (int)VBDNBD_MAX_BLOCK + (1 << 20));

	if (a.sock_path && unix_in_use(a.sock_path)) {
		log_err("--socket %s: a server is listening there already", a.sock_path);
		return 1;
	}
	if (open_device(&a, &srv) < 0)
		return 1;
	pthread_mutex_init(&srv.mu, NULL);
	pthread_cond_init(&srv.cv, NULL);

	lfd = a.sock_path ? listen_unix(a.sock_path) : listen_tcp(a.listen_spec);
	if (lfd < 0) {
		vbd_front_close(srv.dev);
		return 1;
	}
	log_info("device %u (volume %s, %" PRIu64 " bytes, %u queues) on %s; per connection: "
		 "budget %u MiB, idle timeout %u s, send buffer %u KiB asked",
		 a.devid, srv.volume, srv.size, vbd_front_num_queues(srv.dev),
		 a.sock_path ? a.sock_path : a.listen_spec, a.budget_mib, a.idle_s, a.sndbuf_kib);
	accept_loop(&srv, lfd, sfd);
	stop_server(&srv, lfd, a.sock_path);
	close(sfd);
	log_info("stopped");
	return 0;
}
