/* SPDX-License-Identifier: MIT */
/*
 * nbd_bounds: the two per-connection bounds of vbdpool-nbd.
 *
 *   nbd_bounds idle SOCKET TIMEOUT_S
 *     (server started with --idle-timeout TIMEOUT_S)  A client that sends
 *     nothing after one read is disconnected; meanwhile a busy client (a
 *     read every 200 ms) and one with 16 MiB of replies still unsent (it
 *     does not read them) are not: the busy one keeps working until
 *     2 * TIMEOUT_S after the idle one is gone, then the other reads all
 *     its replies.
 *
 *   nbd_bounds budget SOCKET BUDGET_MIB
 *     (server started with --conn-budget-mib BUDGET_MIB)  A client sends
 *     thousands of 1 MiB reads and never reads a reply: the server's VmRSS
 *     (the process at the socket's other end, SO_PEERCRED) grows by less than BUDGET_MIB + 16 MiB
 * (without the budget: 64 MiB and more), and a good client on its own connection keeps writing and
 * verifying meanwhile.  Then a read of BUDGET_MIB + 1 MiB is refused (EINVAL) and one of BUDGET_MIB
 * succeeds on the same connection.
 *
 * The device needs at least 64 MiB.  Prints "nbd_bounds: ok (N checks)".
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nbd_client.h"

#define MIB	     (1u << 20)
#define GOOD_BASE    (32ull << 20) /* the good client's region: [32, 48) MiB */
#define GOOD_BS	     (64u << 10)
#define HOG_READS    100000
#define WAIT_LIMIT_S 120 /* bound on every wait: a stuck server fails the test */

static const char *sock_path;
static atomic_uint good_rounds;
static atomic_bool good_stop, good_failed;

static int connect_or_fail(struct nbdc *c, const char *who)
{
	int rc = nbdc_connect_unix(c, sock_path);

	if (rc < 0)
		check_failf("%s: connect: %s\n", who, c->err);
	return rc;
}

/* The busy / good client: rounds of write + read-back of 64 KiB (write:
 * verify), every pause_ms. */
struct good_args {
	bool write;
	unsigned pause_ms;
};

static void *good_client(void *arg)
{
	const struct good_args *g = arg;
	unsigned char *w = malloc(GOOD_BS), *r = malloc(GOOD_BS);
	struct nbdc c;
	unsigned round = 0;

	if (!w || !r || connect_or_fail(&c, "good client") < 0) {
		atomic_store(&good_failed, true);
		goto out;
	}
	while (!atomic_load(&good_stop)) {
		uint64_t off = GOOD_BASE + (uint64_t)(round % 256) * GOOD_BS;

		for (unsigned i = 0; i < GOOD_BS; i++)
			w[i] = (unsigned char)(i * 7 + round * 13);
		if ((g->write && nbdc_pwrite(&c, w, GOOD_BS, off, 0) < 0) ||
		    nbdc_pread(&c, r, GOOD_BS, off) < 0 || (g->write && memcmp(w, r, GOOD_BS))) {
			check_failf("good client: round %u: %s\n", round, c.err);
			atomic_store(&good_failed, true);
			break;
		}
		atomic_store(&good_rounds, ++round);
		if (g->pause_ms)
			usleep(g->pause_ms * 1000);
	}
	nbdc_close(&c);
out:
	free(w);
	free(r);
	return NULL;
}

/* The good client completes n more rounds (bounded). */
static void progress(const char *after, unsigned n)
{
	unsigned want = atomic_load(&good_rounds) + n;

	for (int i = 0; i < WAIT_LIMIT_S * 100 && atomic_load(&good_rounds) < want; i++) {
		if (atomic_load(&good_failed))
			break;
		usleep(10000);
	}
	CHECK(atomic_load(&good_rounds) >= want, "good client progresses: %s", after);
	printf("  %-48s good client at round %u\n", after, atomic_load(&good_rounds));
}

/* Sends `n` 1 MiB reads on c without reading a reply; a send blocked for
 * 2 s (the server stopped reading, the socket is full) ends it.  Returns
 * how many were sent. */
static unsigned send_reads(struct nbdc *c, unsigned n)
{
	struct timeval tmo = {.tv_sec = 2}, none = {0};
	unsigned sent = 0;

	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	while (sent < n && nbdc_send_read(c, MIB, (uint64_t)(sent % 16) * MIB) == 0)
		sent++;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
	return sent;
}

/* ---- idle ------------------------------------------------------------- */
static int run_idle(unsigned timeout_s)
{
	struct good_args busy = {.write = false, .pause_ms = 200};
	struct nbdc idle, holder;
	unsigned char *buf = malloc(MIB);
	struct pollfd p;
	time_t t0;
	pthread_t t;
	char b;

	if (!buf || connect_or_fail(&idle, "idle client") < 0 ||
	    connect_or_fail(&holder, "holding client") < 0)
		return check_done("nbd_bounds");
	pthread_create(&t, NULL, good_client, &busy);
	CHECK(nbdc_pread(&idle, buf, 4096, 0) == 0, "idle client: a first read works");
	/* 16 MiB of replies: more than the budget and the socket hold, so
	 * the server keeps requests in flight for this client */
	CHECK(send_reads(&holder, 16) == 16, "holding client: 16 reads of 1 MiB sent");

	t0 = time(NULL);
	p = (struct pollfd){.fd = idle.fd, .events = POLLIN};
	CHECK(poll(&p, 1, (int)(4 * timeout_s + 30) * 1000) == 1 && recv(idle.fd, &b, 1, 0) == 0,
	      "the idle client is disconnected by the server");
	printf("  idle client disconnected after %ld s (--idle-timeout %u)\n",
	       (long)(time(NULL) - t0), timeout_s);
	progress("idle client gone", 1);
	sleep(2 * timeout_s);
	progress("two more idle timeouts", 1);
	atomic_store(&good_stop, true);
	pthread_join(t, NULL);
	CHECK(!atomic_load(&good_failed), "the busy client was never disconnected");

	unsigned got = 0;
	for (; got < 16; got++)
		if (nbdc_recv_read(&holder, buf, MIB) < 0)
			break;
	CHECK(got == 16, "the client with replies in flight got all 16 (%u): %s", got,
	      got < 16 ? holder.err : "ok");
	nbdc_close(&holder);
	close(idle.fd);
	free(buf);
	return check_done("nbd_bounds");
}

/* ---- budget ----------------------------------------------------------- */
/* /proc/PID/NAME into buf (NUL-terminated): its length, or -1. */
static ssize_t read_proc(long pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

static long rss_kib(long pid)
{
	char buf[4096];
	const char *v;

	if (read_proc(pid, "status", buf, sizeof(buf)) <= 0 || !(v = strstr(buf, "VmRSS:")))
		return -1;
	return strtol(v + 6, NULL, 10);
}

/* The largest VmRSS seen over `s` seconds. */
static long rss_peak_kib(long pid, unsigned s)
{
	long peak = -1;

	for (unsigned i = 0; i < s * 10; i++) {
		long k = rss_kib(pid);

		if (k > peak)
			peak = k;
		usleep(100000);
	}
	return peak;
}

/* The server process: the one that listens on the socket. */
static long server_pid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char comm[64] = "";

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -1;
	read_proc(cr.pid, "comm", comm, sizeof(comm));
	CHECK(!strncmp(comm, "vbdpool-nbd", 11), "the socket's peer %ld is vbdpool-nbd (%s)",
	      (long)cr.pid, comm);
	return cr.pid;
}

static int run_budget(unsigned budget_mib)
{
	struct good_args good = {.write = true, .pause_ms = 0};
	uint32_t big = (budget_mib + 1) * MIB;
	unsigned char *buf = malloc(big);
	struct nbdc hog, c;
	long base, peak;
	unsigned sent;
	pthread_t t;
	long pid;

	if (!buf || connect_or_fail(&c, "first client") < 0)
		return check_done("nbd_bounds");
	pid = server_pid(c.fd);
	nbdc_close(&c);
	if (pid <= 0 || rss_kib(pid) < 0) {
		check_failf("no VmRSS for the server (pid %ld)\n", pid);
		return check_done("nbd_bounds");
	}
	pthread_create(&t, NULL, good_client, &good);
	progress("start", 20);
	base = rss_peak_kib(pid, 1);

	if (connect_or_fail(&hog, "never-reading client") == 0) {
		sent = send_reads(&hog, HOG_READS);
		printf("  never-reading client: %u reads of 1 MiB sent before the server "
		       "stopped reading\n",
		       sent);
		CHECK(sent < HOG_READS, "the server stops reading a client over its budget");
		progress("a client that never reads its replies", 20);
		peak = rss_peak_kib(pid, 3);
		printf("  server VmRSS %ld KiB before, at most %ld KiB after (budget %u MiB)\n",
		       base, peak, budget_mib);
		/* ASan's quarantine keeps what the good client's requests
		 * freed: VmRSS says nothing there (the plain build checks it) */
		if (getenv("VBD_SAN"))
			printf("  VmRSS not checked under the sanitizers\n");
		else
			CHECK(peak - base < (long)(budget_mib + 16) * 1024,
			      "the server grew by %ld KiB, less than its budget + 16 MiB",
			      peak - base);
		close(hog.fd);
	}
	progress("the never-reading client gone", 5);

	if (connect_or_fail(&c, "large-read client") == 0) {
		int rc = nbdc_pread(&c, buf, big, 0);

		CHECK(rc == -EINVAL, "a read larger than the budget is refused: %d", rc);
		rc = nbdc_pread(&c, buf, budget_mib * MIB, 0);
		CHECK(rc == 0, "a read of the whole budget works on the same connection: %d", rc);
		nbdc_close(&c);
	}
	atomic_store(&good_stop, true);
	pthread_join(t, NULL);
	CHECK(!atomic_load(&good_failed), "the good client never failed");
	free(buf);
	return check_done("nbd_bounds");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "idle")) {
		sock_path = argv[2];
		return run_idle((unsigned)strtoul(argv[3], NULL, 10));
	}
	if (argc == 4 && !strcmp(argv[1], "budget")) {
		sock_path = argv[2];
		return run_budget((unsigned)strtoul(argv[3], NULL, 10));
	}
	fprintf(stderr, "usage: nbd_bounds idle SOCKET TIMEOUT_S\n"
			"       nbd_bounds budget SOCKET BUDGET_MIB\n");
	return 2;
}
