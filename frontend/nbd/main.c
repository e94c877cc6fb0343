/* SPDX-License-Identifier: MIT */
/*
 * vbdpool-nbd: serves one vbdpool device of this guest over NBD, completing
 * requests asynchronously (no thread sleeps per request, unlike the nbdkit
 * plugin).  Runs in the foreground in the guest domain:
 *
 *   vbdpool-nbd --devid N (--socket PATH | --listen HOST:PORT) [--volume ID]
 *               [--ring-order N] [--wait SECONDS] [--queue-batch N]
 *
 * SIGTERM / SIGINT: stop accepting, finish the requests in flight (their
 * replies are sent), close the connections, vbd_front_close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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
#include "vbdpool/proto.h"
#include "vbdpool/version.h"

#define MAX_CONNS    64
#define MAX_INFLIGHT 64		 /* requests per connection */
#define MAX_BYTES    (64u << 20) /* their buffers, per connection */
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

static void usage(FILE *f)
{
	fprintf(f,
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
		"Log level: VBD_LOG=error|warn|info|debug.\n",
		VBD_MAX_RING_PAGE_ORDER, VBD_DEFAULT_RING_ORDER, QUEUE_BATCH, POLL_US,
		VBD_FRONT_STALL_WARN_MS / 1000, VBD_FRONT_DRAIN_TIMEOUT_MS);
}

static int parse_uint(const char *opt, const char *v, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || x > max) {
		fprintf(stderr, "vbdpool-nbd: %s %s: expected an integer 0..%lu\n", opt, v, max);
		return -1;
	}
	*out = (unsigned)x;
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

int main(int argc, char **argv)
{
	static const struct option lopts[] = {{"devid", required_argument, NULL, 'd'},
					      {"socket", required_argument, NULL, 's'},
					      {"listen", required_argument, NULL, 'l'},
					      {"volume", required_argument, NULL, 'v'},
					      {"ring-order", required_argument, NULL, 'r'},
					      {"wait", required_argument, NULL, 'w'},
					      {"queue-batch", required_argument, NULL, 'b'},
					      {"poll-us", required_argument, NULL, 'p'},
					      {"stall-warn", required_argument, NULL, 'S'},
					      {"drain-timeout-ms", required_argument, NULL, 'D'},
					      {"help", no_argument, NULL, 'h'},
					      {"version", no_argument, NULL, 'V'},
					      {NULL, 0, NULL, 0}};
	struct nbd_server srv = {.max_inflight = MAX_INFLIGHT, .max_bytes = MAX_BYTES};
	struct vbd_front_opts o;
	const char *sock_path = NULL, *listen_spec = NULL, *volume = NULL;
	unsigned devid = 0, ring_order = VBD_DEFAULT_RING_ORDER, wait_s = 0;
	unsigned queue_batch = QUEUE_BATCH, poll_us = POLL_US;
	unsigned stall_s = VBD_FRONT_STALL_WARN_MS / 1000;
	unsigned drain_ms = VBD_FRONT_DRAIN_TIMEOUT_MS;
	bool have_devid = false;
	sigset_t sigs;
	int opt, rc, lfd, sfd;
	unsigned left;

	vbd_log_init("vbdpool-nbd");
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (parse_uint("--devid", optarg, 0x7fffffff, &devid) < 0)
				return 2;
			have_devid = true;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 'l':
			listen_spec = optarg;
			break;
		case 'v':
			if (!vbd_volume_id_valid(optarg)) {
				fprintf(stderr, "vbdpool-nbd: --volume %s: not a volume id\n",
					optarg);
				return 2;
			}
			volume = optarg;
			break;
		case 'r':
			if (parse_uint("--ring-order", optarg, VBD_MAX_RING_PAGE_ORDER,
				       &ring_order) < 0)
				return 2;
			break;
		case 'w':
			if (parse_uint("--wait", optarg, 86400, &wait_s) < 0)
				return 2;
			break;
		case 'S':
			if (parse_uint("--stall-warn", optarg, 86400, &stall_s) < 0)
				return 2;
			break;
		case 'D':
			if (parse_uint("--drain-timeout-ms", optarg, 86400000, &drain_ms) < 0)
				return 2;
			break;
		case 'p':
			if (parse_uint("--poll-us", optarg, 1000000, &poll_us) < 0)
				return 2;
			break;
		case 'b':
			if (parse_uint("--queue-batch", optarg, 1024, &queue_batch) < 0)
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return vbd_print_version("vbdpool-nbd");
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vbdpool-nbd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!have_devid || !sock_path == !listen_spec) {
		fprintf(stderr, "vbdpool-nbd: %s\n",
			!have_devid ? "--devid is required"
				    : "exactly one of --socket and --listen is required");
		usage(stderr);
		return 2;
	}

	/* Every thread (the library's too) inherits this mask: the signals
	 * are read from a signalfd by the accept loop. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return 1;
	}
	/* Request buffers up to 32 MiB come from the heap, not fresh mmaps
	 * (which would fault in every page of every large request). */
	mallopt(M_MMAP_THRESHOLD, (int)VBDNBD_MAX_BLOCK + (1 << 20));

	if (sock_path && unix_in_use(sock_path)) {
		log_err("--socket %s: a server is listening there already", sock_path);
		return 1;
	}
	vbd_front_opts_init(&o, devid);
	o.volume = volume;
	o.ring_order = ring_order;
	o.queue_batch = queue_batch;
	o.poll_us = poll_us;
	o.stall_warn_ms = stall_s * 1000;
	o.drain_timeout_ms = drain_ms;
	rc = vbd_front_open(&o, &srv.dev);
	if (rc < 0) {
		if (rc == -ENOENT)
			log_err(
			    "cannot attach vbdpool device %u: %s (no device/vbdpool/%u for this "
			    "domain: attached?)",
			    devid, strerror(-rc), devid);
		else if (rc == -EINVAL && volume)
			log_err(
			    "cannot attach vbdpool device %u: %s (not volume %s, or a malformed "
			    "device directory)",
			    devid, strerror(-rc), volume);
		else
			log_err("cannot attach vbdpool device %u: %s", devid, strerror(-rc));
		return 1;
	}
	if (wait_s > 0 && (rc = vbd_front_wait_connected(srv.dev, (int)wait_s * 1000)) < 0) {
		log_err("device %u: no queue connected within %u s: %s", devid, wait_s,
			strerror(-rc));
		vbd_front_close(srv.dev);
		return 1;
	}
	srv.size = vbd_front_size(srv.dev);
	srv.devid = devid;
	srv.volume = vbd_front_volume(srv.dev);
	srv.tflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
		     NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN;
	pthread_mutex_init(&srv.mu, NULL);
	pthread_cond_init(&srv.cv, NULL);

	lfd = sock_path ? listen_unix(sock_path) : listen_tcp(listen_spec);
	if (lfd < 0) {
		vbd_front_close(srv.dev);
		return 1;
	}
	log_info("device %u (volume %s, %" PRIu64 " bytes, %u queues) on %s", devid, srv.volume,
		 srv.size, vbd_front_num_queues(srv.dev), sock_path ? sock_path : listen_spec);

	for (;;) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: stopping", si.ssi_signo);
			break;
		}
		if (p[0].revents & POLLIN)
			accept_one(&srv, lfd);
	}

	/* Stop: no new connection, no new request; in-flight ones finish. */
	atomic_store(&srv.stopping, true);
	close(lfd);
	if (sock_path)
		unlink(sock_path);
	conn_wake_all(&srv);
	left = wait_conns(&srv, STOP_WAIT_MS);
	if (left)
		log_warn("%u connection(s) still busy after %d s: closing the device", left,
			 STOP_WAIT_MS / 1000);
	/* Connections still served by the event loop: no more kicks, close
	 * the device (joins the loop, fails what is left with -ESHUTDOWN),
	 * then let their threads drop them. */
	pthread_mutex_lock(&srv.mu);
	atomic_store(&srv.closing_dev, true);
	pthread_mutex_unlock(&srv.mu);
	vbd_front_close(srv.dev);
	atomic_store(&srv.dev_closed, true);
	conn_wake_all(&srv);
	wait_conns(&srv, -1);
	close(sfd);
	log_info("stopped");
	return 0;
}
