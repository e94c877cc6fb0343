/* SPDX-License-Identifier: MIT */
/*
 * nbd_hostile: misbehaving NBD clients against vbdpool-nbd while a good
 * client on the same server keeps writing and verifying data.
 *
 *   nbd_hostile SOCKET SIZE_BYTES
 *
 * The good client writes 64 KiB patterns into [0, 16 MiB) and reads each
 * back, over and over, on its own connection.  Meanwhile, one after the
 * other, on fresh connections: unknown client flags, HTTP instead of NBD,
 * bad option magic, an option announcing 2 GiB of data, options with
 * inconsistent inner lengths (-> NBD_REP_ERR_INVALID, the connection
 * lives), unknown and unsupported options (-> NBD_REP_ERR_UNSUP),
 * NBD_OPT_LIST; in transmission: reads / writes beyond the end (EINVAL /
 * ENOSPC, a refused write's payload consumed), oversized reads and writes
 * (EINVAL), unaligned requests, unknown commands and flags (EINVAL), bad
 * request magic (dropped), a client vanishing in the middle of a write
 * payload, stalled handshakes, a client that sends thousands of reads and
 * never reads a reply, and one that sends NBD_CMD_DISC after reads whose
 * replies it never reads (closed after the 10 s drain deadline).  After
 * each one the good client must make progress.  Every blocking receive is
 * bounded (20 s), so a stalled server fails the test instead of hanging it.
 *
 * Prints "nbd_hostile: ok (N checks)" and exits 0, or the failures and 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* The protocol's numbers, written out here again on purpose: a mistake in
 * the server's header must not hide in a test that shares it. */
#define MAGIC_NBD   0x4e42444d41474943ull
#define MAGIC_OPT   0x49484156454f5054ull
#define MAGIC_REP   0x0003e889045565a9ull
#define MAGIC_REQ   0x25609513u
#define MAGIC_REPLY 0x67446698u
#define OPT_ABORT   2
#define OPT_LIST    3
#define OPT_INFO    6
#define OPT_GO	    7
#define OPT_SREPLY  8
#define REP_ACK	    1u
#define REP_SERVER  2u
#define REP_INFO    3u
#define REP_UNSUP   0x80000001u
#define REP_INVALID 0x80000003u
#define CMD_READ    0
#define CMD_WRITE   1
#define CMD_DISC    2
#define CMD_FLUSH   3
#define CMD_TRIM    4
#define CMD_WZEROES 6
#define E_INVAL	    22
#define E_NOSPC	    28

#define GOOD_REGION (16u << 20)
#define GOOD_BS	    (64u << 10)
#define RECV_TMO_S  20

static const char *sock_path;
static uint64_t dev_size;
static atomic_uint good_rounds;
static atomic_bool good_stop, good_failed;

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8), p[1] = (unsigned char)v;
}
static void put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v);
}
static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32)), put32(p + 4, (uint32_t)v);
}
static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}
static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static int sock_open(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = RECV_TMO_S};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		check_failf("connect %s: %s\n", sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int rd(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int wr(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The server closes the connection: EOF (or reset) within the timeout,
 * whatever it sends before. */
static bool closed_by_server(int fd)
{
	char b[4096];

	for (;;) {
		ssize_t r = recv(fd, b, sizeof(b), 0);

		if (r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE)))
			return true;
		if (r < 0 && errno != EINTR)
			return false; /* timeout */
	}
}

/* Reads the greeting, answers client flags. */
static int greet(int fd, uint32_t cflags)
{
	unsigned char g[18], f[4];

	if (rd(fd, g, sizeof(g)) < 0)
		return -1;
	CHECK(get64(g) == MAGIC_NBD && get64(g + 8) == MAGIC_OPT, "greeting magic");
	CHECK((get16(g + 16) & 1) == 1, "server is fixed newstyle");
	put32(f, cflags);
	return wr(fd, f, 4);
}

static int send_opt(int fd, uint32_t opt, const void *data, uint32_t len)
{
	unsigned char h[16];

	put64(h, MAGIC_OPT);
	put32(h + 8, opt);
	put32(h + 12, len);
	if (wr(fd, h, 16) < 0)
		return -1;
	return len ? wr(fd, data, len) : 0;
}

/* One option reply: its type, payload into buf (up to cap; more fails). */
static int opt_reply(int fd, uint32_t opt, uint32_t *type, unsigned char *buf, uint32_t cap,
		     uint32_t *len)
{
	unsigned char h[20];

	if (rd(fd, h, 20) < 0)
		return -1;
	CHECK(get64(h) == MAGIC_REP, "option reply magic");
	CHECK(get32(h + 8) == opt, "reply to option %u names option %u", opt, get32(h + 8));
	*type = get32(h + 12);
	*len = get32(h + 16);
	if (*len > cap)
		return -1;
	return *len ? rd(fd, buf, *len) : 0;
}

/* NBD_OPT_GO for the default export; checks what the INFO replies say. */
static int go(int fd)
{
	unsigned char d[6] = {0, 0, 0, 0, 0, 0}, b[256];
	uint32_t type, len;
	bool saw_export = false, saw_bs = false;

	if (send_opt(fd, OPT_GO, d, 6) < 0)
		return -1;
	for (;;) {
		if (opt_reply(fd, OPT_GO, &type, b, sizeof(b), &len) < 0)
			return -1;
		if (type == REP_ACK)
			break;
		if (type != REP_INFO || len < 2) {
			check_failf("GO answered type 0x%x len %u\n", type, len);
			return -1;
		}
		if (get16(b) == 0 && len == 12) {
			saw_export = true;
			CHECK(get64(b + 2) == dev_size, "export size %" PRIu64, get64(b + 2));
		} else if (get16(b) == 3 && len == 14) {
			saw_bs = true;
			/* maximum: the default --conn-budget-mib, 8 MiB */
			CHECK(get32(b + 2) == 512 && get32(b + 6) == 4096 &&
				  get32(b + 10) == 8u << 20,
			      "block sizes %u/%u/%u", get32(b + 2), get32(b + 6), get32(b + 10));
		}
	}
	CHECK(saw_export && saw_bs, "GO gave NBD_INFO_EXPORT and NBD_INFO_BLOCK_SIZE");
	return saw_export ? 0 : -1;
}

static int client_open(void)
{
	int fd = sock_open();

	if (fd < 0)
		return -1;
	if (greet(fd, 3) < 0 || go(fd) < 0) {
		check_failf("handshake of a good client failed\n");
		close(fd);
		return -1;
	}
	return fd;
}

static int cmd(int fd, uint16_t type, uint16_t flags, uint64_t cookie, uint64_t off, uint32_t len)
{
	unsigned char h[28];

	put32(h, MAGIC_REQ);
	put16(h + 4, flags);
	put16(h + 6, type);
	put64(h + 8, cookie);
	put64(h + 16, off);
	put32(h + 24, len);
	return wr(fd, h, 28);
}

/* A simple reply: its error, checked against the cookie. -1: none came. */
static int64_t reply(int fd, uint64_t cookie)
{
	unsigned char r[16];

	if (rd(fd, r, 16) < 0)
		return -1;
	CHECK(get32(r) == MAGIC_REPLY, "reply magic 0x%08x", get32(r));
	CHECK(get64(r + 8) == cookie, "reply cookie %" PRIu64 " for %" PRIu64, get64(r + 8),
	      cookie);
	return get32(r + 4);
}

/* ---- the good client ------------------------------------------------ */
static void *good_client(void *arg)
{
	unsigned char *w = malloc(GOOD_BS), *r = malloc(GOOD_BS);
	int fd = client_open();
	unsigned round = 0;

	(void)arg;
	if (fd < 0 || !w || !r) {
		atomic_store(&good_failed, true);
		goto out;
	}
	while (!atomic_load(&good_stop)) {
		uint64_t off = (uint64_t)(round * 7919u % (GOOD_REGION / GOOD_BS)) * GOOD_BS;
		int64_t e;

		for (unsigned i = 0; i < GOOD_BS; i++)
			w[i] = (unsigned char)(i * 31 + round * 17 + (i >> 9));
		if (cmd(fd, CMD_WRITE, 0, 2 * round, off, GOOD_BS) < 0 || wr(fd, w, GOOD_BS) < 0 ||
		    (e = reply(fd, 2 * round)) != 0) {
			check_failf("good client: write %u failed\n", round);
			break;
		}
		if (cmd(fd, CMD_READ, 0, 2 * round + 1, off, GOOD_BS) < 0 ||
		    (e = reply(fd, 2 * round + 1)) != 0 || rd(fd, r, GOOD_BS) < 0) {
			check_failf("good client: read %u failed\n", round);
			break;
		}
		if (memcmp(w, r, GOOD_BS)) {
			check_failf("good client: round %u at %" PRIu64 ": data differ\n", round,
				    off);
			break;
		}
		atomic_store(&good_rounds, ++round);
	}
	if (atomic_load(&good_stop)) {
		cmd(fd, CMD_DISC, 0, 0, 0, 0);
		CHECK(closed_by_server(fd), "server closes after NBD_CMD_DISC");
	} else {
		atomic_store(&good_failed, true);
	}
out:
	if (fd >= 0)
		close(fd);
	free(w);
	free(r);
	return NULL;
}

/* The good client completes n more rounds (bounded: 60 s). */
static void progress(const char *after, unsigned n)
{
	unsigned want = atomic_load(&good_rounds) + n;

	for (int i = 0; i < 6000 && atomic_load(&good_rounds) < want; i++) {
		if (atomic_load(&good_failed))
			break;
		usleep(10000);
	}
	if (atomic_load(&good_rounds) < want)
		check_failf("good client made no progress after: %s\n", after);
	else
		printf("  %-44s ok, good client at round %u\n", after, atomic_load(&good_rounds));
	fflush(stdout);
}

/* ---- the hostile ones ------------------------------------------------ */
static void bad_greeting(void)
{
	int fd = sock_open();

	if (fd < 0)
		return;
	if (greet(fd, 0xdeadbeef) == 0)
		CHECK(closed_by_server(fd), "unknown client flags: dropped");
	close(fd);
	progress("unknown client flags", 3);

	fd = sock_open();
	if (fd < 0)
		return;
	unsigned char g[18];
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	if (rd(fd, g, 18) == 0 && wr(fd, http, strlen(http)) == 0)
		CHECK(closed_by_server(fd), "HTTP instead of NBD: dropped");
	close(fd);
	progress("HTTP request", 3);
}

static void bad_options(void)
{
	unsigned char b[512];
	uint32_t type, len;
	int fd = sock_open();

	/* bad option magic */
	if (fd < 0)
		return;
	if (greet(fd, 3) == 0 && wr(fd, "GARBAGE!GARBAGE!", 16) == 0)
		CHECK(closed_by_server(fd), "bad option magic: dropped");
	close(fd);
	progress("bad option magic", 3);

	/* an option announcing 2 GiB of data */
	fd = sock_open();
	if (fd < 0)
		return;
	if (greet(fd, 3) == 0) {
		unsigned char h[16];

		put64(h, MAGIC_OPT);
		put32(h + 8, OPT_GO);
		put32(h + 12, 0x7fffffff);
		if (wr(fd, h, 16) == 0)
			CHECK(closed_by_server(fd), "2 GiB option: dropped");
	}
	close(fd);
	progress("option length 2 GiB", 3);

	/* inconsistent inner lengths, unknown options: errors, then GO works */
	fd = sock_open();
	if (fd < 0)
		return;
	if (greet(fd, 3) < 0)
		goto out;
	memset(b, 0, sizeof(b));
	put32(b, 1000); /* name length beyond the option */
	if (send_opt(fd, OPT_GO, b, 10) < 0 || opt_reply(fd, OPT_GO, &type, b, sizeof(b), &len) < 0)
		goto fail;
	CHECK(type == REP_INVALID, "GO with name length > option: ERR_INVALID (got 0x%x)", type);
	memset(b, 0, sizeof(b));
	put16(b + 4, 5); /* 5 info requests, none sent */
	if (send_opt(fd, OPT_INFO, b, 6) < 0 ||
	    opt_reply(fd, OPT_INFO, &type, b, sizeof(b), &len) < 0)
		goto fail;
	CHECK(type == REP_INVALID, "INFO with missing requests: ERR_INVALID (got 0x%x)", type);
	if (send_opt(fd, OPT_GO, b, 3) < 0 || opt_reply(fd, OPT_GO, &type, b, sizeof(b), &len) < 0)
		goto fail;
	CHECK(type == REP_INVALID, "GO of 3 bytes: ERR_INVALID (got 0x%x)", type);
	if (send_opt(fd, 4242, "xyz", 3) < 0 || opt_reply(fd, 4242, &type, b, sizeof(b), &len) < 0)
		goto fail;
	CHECK(type == REP_UNSUP, "unknown option: ERR_UNSUP (got 0x%x)", type);
	if (send_opt(fd, OPT_SREPLY, NULL, 0) < 0 ||
	    opt_reply(fd, OPT_SREPLY, &type, b, sizeof(b), &len) < 0)
		goto fail;
	CHECK(type == REP_UNSUP, "structured replies: ERR_UNSUP (got 0x%x)", type);
	if (send_opt(fd, OPT_LIST, "x", 1) < 0 ||
	    opt_reply(fd, OPT_LIST, &type, b, sizeof(b), &len) < 0)
		goto fail;
	CHECK(type == REP_INVALID, "LIST with data: ERR_INVALID (got 0x%x)", type);
	if (send_opt(fd, OPT_LIST, NULL, 0) < 0 ||
	    opt_reply(fd, OPT_LIST, &type, b, sizeof(b), &len) < 0)
		goto fail;
	CHECK(type == REP_SERVER && len >= 4, "LIST: one export (got 0x%x)", type);
	if (opt_reply(fd, OPT_LIST, &type, b, sizeof(b), &len) < 0)
		goto fail;
	CHECK(type == REP_ACK, "LIST ends with ACK (got 0x%x)", type);
	if (go(fd) < 0)
		goto fail;
	if (cmd(fd, CMD_READ, 0, 1, 0, 4096) < 0 || reply(fd, 1) != 0 || rd(fd, b, 512) < 0 ||
	    rd(fd, b, 512) < 0)
		goto fail;
	goto out;
fail:
	check_failf("option errors: the connection broke\n");
out:
	close(fd);
	progress("option errors, then GO", 3);

	/* NBD_OPT_ABORT */
	fd = sock_open();
	if (fd >= 0 && greet(fd, 3) == 0 && send_opt(fd, OPT_ABORT, NULL, 0) == 0)
		CHECK(closed_by_server(fd), "ABORT: closed");
	if (fd >= 0)
		close(fd);
}

/* Sends a request and checks its error; a read's data are skipped. */
static void expect(int fd, const char *what, uint16_t type, uint16_t flags, uint64_t off,
		   uint32_t len, const void *payload, uint32_t plen, int64_t want)
{
	static uint64_t cookie = 1000;
	int64_t e;

	cookie++;
	if (cmd(fd, type, flags, cookie, off, len) < 0 || (plen && wr(fd, payload, plen) < 0)) {
		check_failf("%s: send failed\n", what);
		return;
	}
	e = reply(fd, cookie);
	CHECK(e == want, "%s: error %" PRId64 ", expected %" PRId64, what, e, want);
	if (e == 0 && type == CMD_READ) {
		char b[4096];

		for (uint32_t n = 0; n < len; n += sizeof(b))
			if (rd(fd, b, len - n < sizeof(b) ? len - n : sizeof(b)) < 0)
				break;
	}
}

static void bad_requests(void)
{
	uint32_t big = 40u << 20;
	unsigned char *p = calloc(1, big);
	unsigned char z[4096];
	int fd = client_open();

	if (fd < 0 || !p) {
		free(p);
		return;
	}
	expect(fd, "read at the end", CMD_READ, 0, dev_size, 4096, NULL, 0, E_INVAL);
	expect(fd, "read across the end", CMD_READ, 0, dev_size - 512, 4096, NULL, 0, E_INVAL);
	expect(fd, "read at 2^64-512", CMD_READ, 0, UINT64_MAX - 511, 4096, NULL, 0, E_INVAL);
	expect(fd, "write beyond the end", CMD_WRITE, 0, dev_size, 4096, p, 4096, E_NOSPC);
	expect(fd, "in sync after it", CMD_READ, 0, 0, 4096, NULL, 0, 0);
	expect(fd, "read of 64 MiB", CMD_READ, 0, 0, 64u << 20, NULL, 0, E_INVAL);
	expect(fd, "write of 40 MiB", CMD_WRITE, 0, GOOD_REGION, big, p, big, E_INVAL);
	expect(fd, "in sync after it", CMD_READ, 0, 0, 4096, NULL, 0, 0);
	expect(fd, "unaligned read", CMD_READ, 0, 100, 512, NULL, 0, E_INVAL);
	expect(fd, "unaligned write", CMD_WRITE, 0, GOOD_REGION, 100, p, 100, E_INVAL);
	expect(fd, "unknown command", 42, 0, 0, 0, NULL, 0, E_INVAL);
	expect(fd, "unknown flag", CMD_READ, 0x8000, 0, 4096, NULL, 0, E_INVAL);
	expect(fd, "FUA on a read", CMD_READ, 1, 0, 4096, NULL, 0, E_INVAL);
	expect(fd, "trim beyond the end", CMD_TRIM, 0, dev_size - 512, 4096, NULL, 0, E_NOSPC);
	expect(fd, "zero-length read", CMD_READ, 0, 0, 0, NULL, 0, 0);
	expect(fd, "flush", CMD_FLUSH, 0, 0, 0, NULL, 0, 0);
	memset(p, 0xab, 8192);
	expect(fd, "FUA write", CMD_WRITE, 1, GOOD_REGION, 8192, p, 8192, 0);
	expect(fd, "write zeroes (FUA)", CMD_WZEROES, 1, GOOD_REGION + 4096, 3u << 20, NULL, 0, 0);
	/* the first 4 KiB keep 0xab, the rest is zero */
	if (cmd(fd, CMD_READ, 0, 77, GOOD_REGION, 8192) == 0 && reply(fd, 77) == 0 &&
	    rd(fd, p, 8192) == 0) {
		memset(z, 0, sizeof(z));
		CHECK(p[0] == 0xab && p[4095] == 0xab && !memcmp(p + 4096, z, 4096),
		      "write zeroes wrote zeroes where asked, nothing else");
	} else {
		check_failf("read after write zeroes failed\n");
	}
	expect(fd, "unaligned trim (inner sectors)", CMD_TRIM, 1, GOOD_REGION + 100, 10000, NULL, 0,
	       0);
	/* bad request magic: dropped */
	if (wr(fd, "GARBAGE-GARBAGE-GARBAGE-GARB", 28) == 0)
		CHECK(closed_by_server(fd), "bad request magic: dropped");
	close(fd);
	free(p);
	progress("bad requests, bad request magic", 3);

	/* a write whose payload never comes */
	fd = client_open();
	if (fd < 0)
		return;
	p = calloc(1, 100000);
	if (p && cmd(fd, CMD_WRITE, 0, 5, GOOD_REGION, 1u << 20) == 0)
		wr(fd, p, 100000);
	free(p);
	close(fd);
	progress("client gone in the middle of a payload", 3);
}

/* Thousands of reads whose replies are never read: the server stops
 * reading this client; nobody else notices. */
static void never_reads(void)
{
	unsigned char h[28];
	unsigned sent = 0;
	int fd = client_open();

	if (fd < 0)
		return;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	put32(h, MAGIC_REQ);
	put16(h + 4, 0);
	put16(h + 6, CMD_READ);
	put32(h + 24, 1u << 20);
	while (sent < 50000) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		ssize_t r;

		put64(h + 8, sent);
		put64(h + 16, (uint64_t)(sent % 16) << 20);
		r = send(fd, h, 28, MSG_NOSIGNAL);
		if (r == 28) {
			sent++;
			continue;
		}
		if (r >= 0) { /* a partial header: finish it blocking */
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			wr(fd, h + r, 28 - (size_t)r);
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			sent++;
			continue;
		}
		if (errno != EAGAIN || poll(&p, 1, 1000) == 0)
			break; /* the server stopped reading us */
	}
	printf("  never-reading client: %u reads sent before the server stopped reading\n", sent);
	CHECK(sent < 50000, "the server stops reading a client that does not read its replies");
	progress("a client that never reads its replies", 20);
	/* stalled handshakes next to it */
	int stall[8];
	for (int i = 0; i < 8; i++) {
		stall[i] = sock_open();
		if (stall[i] >= 0 && i % 2)
			greet(stall[i], 3);
	}
	progress("8 stalled handshakes", 10);
	for (int i = 0; i < 8; i++)
		if (stall[i] >= 0)
			close(stall[i]);
	close(fd);
	progress("the never-reading client gone", 10);
}

/* Reads whose replies (8 MiB, more than the socket holds) are never read,
 * then NBD_CMD_DISC: the server answers what it can, and drops the rest
 * and closes the connection after its 10 s drain deadline, although the
 * client keeps its end open (checked without reading: POLLHUP). */
static void disc_never_reads(void)
{
	struct pollfd p;
	time_t t0;
	int fd = client_open();
	bool ok = true;

	if (fd < 0)
		return;
	for (unsigned i = 0; i < 8 && ok; i++)
		ok = cmd(fd, CMD_READ, 0, 1000 + i, (uint64_t)i << 20, 1u << 20) == 0;
	ok = ok && cmd(fd, CMD_DISC, 0, 0, 0, 0) == 0;
	CHECK(ok, "8 reads and NBD_CMD_DISC sent");
	t0 = time(NULL);
	p = (struct pollfd){.fd = fd, .events = POLLRDHUP};
	while (ok && poll(&p, 1, 1000) >= 0 && !(p.revents & (POLLHUP | POLLRDHUP)) &&
	       time(NULL) - t0 < 30)
		;
	printf("  DISC, replies never read: closed by the server after %ld s\n",
	       (long)(time(NULL) - t0));
	CHECK(p.revents & (POLLHUP | POLLRDHUP),
	      "the server closes a disconnecting client that does not read its replies");
	CHECK(time(NULL) - t0 >= 8, "not before the drain deadline (10 s)");
	close(fd);
	progress("DISC with replies never read", 5);
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 3) {
		fprintf(stderr, "usage: nbd_hostile SOCKET SIZE_BYTES\n");
		return 2;
	}
	sock_path = argv[1];
	dev_size = strtoull(argv[2], NULL, 0);
	if (dev_size < 2 * GOOD_REGION + (8u << 20)) {
		fprintf(stderr, "nbd_hostile: the device must have at least 40 MiB\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_create(&t, NULL, good_client, NULL);
	progress("start", 5);
	bad_greeting();
	bad_options();
	bad_requests();
	never_reads();
	disc_never_reads();
	atomic_store(&good_stop, true);
	pthread_join(t, NULL);
	CHECK(!atomic_load(&good_failed), "the good client never failed");
	printf("nbd_hostile: good client verified %u rounds of %u KiB\n", atomic_load(&good_rounds),
	       GOOD_BS / 1024);
	return check_done("nbd_hostile");
}
