/* SPDX-License-Identifier: MIT */
/*
 * front_verify: a well-behaved guest.  Attaches a vbdpool device through
 * libvbdpool-front and checks that what it reads is what it wrote.
 *
 *   front_verify [--devid N] [--seconds S | --ops N] [--threads T]
 *                [--max-blocks B] [--seed X] [--wait S] [--no-final]
 *                [--ring-order O] [--nbd SOCKET] [--slow-log FILE [--slow-ms M]]
 *                [--term-ends] [--blocks N]
 *
 * T worker threads (default 8) each own a disjoint slice of the volume and
 * run a random mix on it with the synchronous API: writes of 1..B 4 KiB
 * blocks (some FUA), reads checked against what the thread last wrote
 * there, flushes and discards (discarded blocks are unknown until written
 * again).  Each 512-byte sector carries (block, generation, sector) and a
 * derived fill, so a mismatch says which generation was found.  At the end
 * every written block is read back and checked.  Any I/O error or mismatch
 * fails the run.  Prints one summary line:
 *
 *   front_verify: PASS ops=N writes=N reads=N flushes=N discards=N
 *                 verified-bytes=N errors=0 mismatches=0 max-op-ms=N reposted=N ...
 *
 * max-op-ms is the longest single operation (the guest's worst stall).
 *
 * --slow-log FILE [--slow-ms M] appends one line per operation that took
 * at least M ms (default 100): "START_MS DURATION_MS OP THREAD", START_MS
 * the wall-clock (CLOCK_REALTIME) start in ms since the epoch, so that a
 * fault campaign (bench/chaos.sh) can match stalls to its fault windows.
 * A failed operation is always logged (OP-error), a mismatch as
 * "NOW_MS 0 mismatch THREAD".
 *
 * --blocks N: only the first N 4 KiB blocks of the volume are used (the
 * rest, e.g. a range a test made bad, is never touched).
 *
 * --term-ends: SIGTERM or SIGINT ends the run as if its time were up (the
 * operations in flight complete, then the final read-back and the summary),
 * so a caller can run it for as long as it needs (a large --seconds).
 *
 * and exits 0 (PASS) or 1 (FAIL); 2 for usage errors.
 *
 * --nbd SOCKET verifies through an NBD export of the device instead (the
 * nbdkit plugin or vbdpool-nbd in the same guest): each worker opens its
 * own connection to the Unix socket SOCKET (multi-conn) and the library
 * is not used; --devid, --wait and --ring-order do not apply, and the
 * summary's reposted/bad-responses/queues are those of the export's
 * process, not known here (printed as -).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/clock.h"
#include "vbdpool/front.h"
#include "vbdpool/log.h"
#include "vbdpool/proto.h"
#include "nbd_client.h"

#define BLK 4096u
#define SEC 512u

static struct vbd_front *dev;
static uint64_t nblocks;
static unsigned max_blocks = 64;
static double deadline;
static long ops_limit = -1;
static atomic_long ops_started;
static atomic_ulong n_ops, n_writes, n_reads, n_flushes, n_discards, n_bytes_verified, n_errors,
    n_mismatch;
static atomic_ulong max_op_us; /* the longest operation: the guest's stall */
static atomic_bool failed;
static atomic_bool no_discard; /* the device answered EOPNOTSUPP */
static const char *nbd_sock;   /* --nbd: verify through this NBD socket */
static FILE *slow_log;	       /* --slow-log: operations slower than slow_ms */
static unsigned long slow_ms = 100;
static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	unsigned id;
	uint64_t first, count; /* blocks of its slice */
	uint32_t *gen;	       /* per block: 0 unknown, else generation written */
	uint64_t rng;
	char *buf;
	struct nbdc nbd; /* --nbd: this worker's connection */
	pthread_t thr;
};

/* One I/O through the library or the worker's NBD connection. */
static int io_write(struct worker *w, uint64_t off, uint32_t len, bool fua)
{
	if (nbd_sock)
		return nbdc_pwrite(&w->nbd, w->buf, len, off, fua);
	return vbd_front_pwrite(dev, w->buf, len, off, fua ? VBD_IO_FUA : 0);
}

static int io_read(struct worker *w, uint64_t off, uint32_t len)
{
	return nbd_sock ? nbdc_pread(&w->nbd, w->buf, len, off)
			: vbd_front_pread(dev, w->buf, len, off);
}

static int io_flush(struct worker *w)
{
	return nbd_sock ? nbdc_flush(&w->nbd) : vbd_front_flush(dev);
}

static int io_discard(struct worker *w, uint64_t off, uint32_t len)
{
	return nbd_sock ? nbdc_trim(&w->nbd, len, off) : vbd_front_discard(dev, off, len);
}

static double now_s(void)
{
	return vbd_now_ns() / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	return clock_gettime(CLOCK_REALTIME, &ts) ? 0 : ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --slow-log: one line per slow operation; a failed one (rc < 0, other
 * than a discard the storage does not support) always, as OP-error. */
static void log_slow(struct worker *w, const char *op, double wall0, double secs, int rc)
{
	unsigned long ms = (unsigned long)(secs * 1e3);
	bool err = rc < 0 && rc != -EOPNOTSUPP;

	if (!slow_log || (ms < slow_ms && !err))
		return;
	pthread_mutex_lock(&slow_lock);
	fprintf(slow_log, "%.0f %lu %s%s %u\n", wall0 * 1e3, ms, op, err ? "-error" : "", w->id);
	fflush(slow_log);
	pthread_mutex_unlock(&slow_lock);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void fill_sector(char *p, uint64_t blk, uint32_t gen, unsigned sec)
{
	uint64_t st = (blk * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)gen << 32) ^ sec ^ 0x5bd1e995u;
	uint64_t *w = (uint64_t *)p;

	w[0] = blk;
	w[1] = ((uint64_t)gen << 32) | sec;
	for (unsigned i = 2; i < SEC / 8; i++)
		w[i] = xorshift(&st) | 1;
}

static void fill(char *buf, uint64_t blk, unsigned n, uint32_t gen)
{
	for (unsigned b = 0; b < n; b++)
		for (unsigned s = 0; s < BLK / SEC; s++)
			fill_sector(buf + (size_t)b * BLK + s * SEC, blk + b, gen, s);
}

/* Checks n blocks read from blk against the generations expected. */
static void check(struct worker *w, const char *buf, uint64_t blk, unsigned n, const char *what)
{
	char want[SEC];

	for (unsigned b = 0; b < n; b++) {
		uint32_t g = w->gen[blk + b - w->first];
		if (!g)
			continue;
		for (unsigned s = 0; s < BLK / SEC; s++) {
			const char *got = buf + (size_t)b * BLK + s * SEC;
			fill_sector(want, blk + b, g, s);
			if (memcmp(got, want, SEC)) {
				const uint64_t *h = (const uint64_t *)got;
				if (atomic_fetch_add(&n_mismatch, 1) < 10)
					fprintf(stderr,
						"front_verify: MISMATCH (%s) block %" PRIu64
						" sector %u: want gen %u, found block %" PRIu64
						" gen %u sector %u\n",
						what, blk + b, s, g, h[0], (unsigned)(h[1] >> 32),
						(unsigned)(h[1] & 0xffffffff));
				atomic_store(&failed, true);
				log_slow(w, "mismatch", wall_s(), 0, -EIO);
				break;
			}
		}
		atomic_fetch_add(&n_bytes_verified, BLK);
	}
}

static void io_error(const char *op, uint64_t blk, unsigned n, int rc)
{
	atomic_fetch_add(&n_errors, 1);
	atomic_store(&failed, true);
	fprintf(stderr, "front_verify: %s of %u block(s) at %" PRIu64 ": %s\n", op, n, blk,
		strerror(-rc));
}

static volatile sig_atomic_t term_seen; /* --term-ends: SIGTERM/SIGINT came */

static void on_term(int sig)
{
	(void)sig;
	term_seen = 1;
}

static bool more(void)
{
	if (atomic_load(&failed) || term_seen)
		return false;
	if (ops_limit >= 0)
		return atomic_fetch_add(&ops_started, 1) < ops_limit;
	return now_s() < deadline;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint32_t next_gen = 1;

	while (more()) {
		double t0 = now_s(), wall0 = slow_log ? wall_s() : 0;
		const char *op;
		uint64_t r = xorshift(&w->rng);
		unsigned n = 1 + (unsigned)(xorshift(&w->rng) % max_blocks);
		uint64_t blk;
		unsigned kind = (unsigned)(r % 100);
		int rc;

		if (n > w->count)
			n = (unsigned)w->count;
		blk = w->first + (r >> 8) % (w->count - n + 1);
		if (kind < 45) { /* write (1 in 8 FUA) */
			uint32_t g = next_gen++;
			fill(w->buf, blk, n, g);
			op = "write";
			rc = io_write(w, blk * BLK, n * BLK, (r >> 40) % 8 == 0);
			log_slow(w, op, wall0, now_s() - t0, rc);
			if (rc < 0) {
				io_error("write", blk, n, rc);
				break;
			}
			for (unsigned b = 0; b < n; b++)
				w->gen[blk + b - w->first] = g;
			atomic_fetch_add(&n_writes, 1);
		} else if (kind < 93) { /* read + check */
			op = "read";
			rc = io_read(w, blk * BLK, n * BLK);
			log_slow(w, op, wall0, now_s() - t0, rc);
			if (rc < 0) {
				io_error("read", blk, n, rc);
				break;
			}
			check(w, w->buf, blk, n, "read");
			atomic_fetch_add(&n_reads, 1);
		} else if (kind < 97) {
			op = "flush";
			rc = io_flush(w);
			log_slow(w, op, wall0, now_s() - t0, rc);
			if (rc < 0) {
				io_error("flush", 0, 0, rc);
				break;
			}
			atomic_fetch_add(&n_flushes, 1);
		} else {
			if (atomic_load(&no_discard))
				continue;
			op = "discard";
			rc = io_discard(w, blk * BLK, n * BLK);
			log_slow(w, op, wall0, now_s() - t0, rc);
			if (rc == -EOPNOTSUPP) {
				/* the storage cannot discard: the data stays (as
				 * blkfront, stop sending discards) */
				if (!atomic_exchange(&no_discard, true))
					fprintf(stderr, "front_verify: discard not supported by "
							"the storage: no more discards\n");
				continue;
			}
			if (rc < 0) {
				io_error("discard", blk, n, rc);
				break;
			}
			for (unsigned b = 0; b < n; b++)
				w->gen[blk + b - w->first] = 0;
			atomic_fetch_add(&n_discards, 1);
		}
		atomic_fetch_add(&n_ops, 1);
		{
			unsigned long us = (unsigned long)((now_s() - t0) * 1e6);
			unsigned long cur = atomic_load(&max_op_us);

			while (us > cur && !atomic_compare_exchange_weak(&max_op_us, &cur, us))
				;
		}
	}
	return NULL;
}

static void final_check(struct worker *w)
{
	for (uint64_t b = w->first; b < w->first + w->count && !atomic_load(&failed);
	     b += max_blocks) {
		unsigned n =
		    (unsigned)(w->first + w->count - b < max_blocks ? w->first + w->count - b
								    : max_blocks);
		int rc = io_read(w, b * BLK, n * BLK);
		if (rc < 0) {
			io_error("final read", b, n, rc);
			return;
		}
		check(w, w->buf, b, n, "final read-back");
	}
}

int main(int argc, char **argv)
{
	/* clang-format off */
	static const struct option lo[] = {
	    {"devid", 1, 0, 'd'},
	    {"seconds", 1, 0, 's'},
	    {"ops", 1, 0, 'o'},
	    {"threads", 1, 0, 't'},
	    {"max-blocks", 1, 0, 'b'},
	    {"seed", 1, 0, 'x'},
	    {"wait", 1, 0, 'w'},
	    {"no-final", 0, 0, 'n'},
	    {"ring-order", 1, 0, 'r'},
	    {"nbd", 1, 0, 'N'},
	    {"slow-log", 1, 0, 'L'},
	    {"slow-ms", 1, 0, 'M'},
	    {"term-ends", 0, 0, 'T'},
	    {"blocks", 1, 0, 'B'},
	    {0, 0, 0, 0},
	};
	/* clang-format on */
	struct vbd_front_opts o;
	struct vbd_front_stats st;
	unsigned devid = 0, nthreads = 8, wait_s = 30, ring_order = VBD_DEFAULT_RING_ORDER;
	double seconds = 5;
	uint64_t seed = 1, blocks_limit = 0;
	bool final = true;
	int c, rc;
	/* the options that set an unsigned */
	unsigned *const uopt[128] = {['d'] = &devid,
				     ['t'] = &nthreads,
				     ['b'] = &max_blocks,
				     ['w'] = &wait_s,
				     ['r'] = &ring_order};

	vbd_log_init("front_verify");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c > 0 && c < 128 && uopt[c]) {
			*uopt[c] = (unsigned)strtoul(optarg, NULL, 0);
			continue;
		}
		switch (c) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'o':
			ops_limit = strtol(optarg, NULL, 0);
			break;
		case 'x':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			final = false;
			break;
		case 'N':
			nbd_sock = optarg;
			break;
		case 'L':
			slow_log = fopen(optarg, "a");
			if (!slow_log) {
				fprintf(stderr, "front_verify: --slow-log %s: %s\n", optarg,
					strerror(errno));
				return 2;
			}
			break;
		case 'M':
			slow_ms = strtoul(optarg, NULL, 0);
			break;
		case 'B':
			blocks_limit = strtoull(optarg, NULL, 0);
			if (!blocks_limit) {
				fprintf(stderr, "front_verify: --blocks wants a positive number\n");
				return 2;
			}
			break;
		case 'T': {
			struct sigaction sa = {.sa_handler = on_term, .sa_flags = SA_RESTART};

			sigemptyset(&sa.sa_mask);
			sigaction(SIGTERM, &sa, NULL);
			sigaction(SIGINT, &sa, NULL);
			break;
		}
		default:
			fprintf(stderr, "usage: front_verify [--devid N] [--seconds S | --ops N] "
					"[--threads T] [--max-blocks B] [--seed X] [--wait S] "
					"[--no-final] [--ring-order O] [--nbd SOCKET] "
					"[--slow-log FILE [--slow-ms M]] [--term-ends] "
					"[--blocks N]\n");
			return 2;
		}
	}
	if (nthreads == 0 || nthreads > 256 || max_blocks == 0 || max_blocks > 4096) {
		fprintf(stderr, "front_verify: --threads 1..256, --max-blocks 1..4096\n");
		return 2;
	}

	uint64_t size;
	struct nbdc probe;

	if (nbd_sock) {
		rc = nbdc_connect_unix(&probe, nbd_sock);
		if (rc < 0) {
			printf("front_verify: FAIL %s\n", probe.err);
			return 1;
		}
		size = probe.size;
		nbdc_close(&probe);
	} else {
		vbd_front_opts_init(&o, devid);
		o.ring_order = ring_order;
		rc = vbd_front_open(&o, &dev);
		if (rc < 0) {
			printf("front_verify: FAIL attach devid %u: %s\n", devid, strerror(-rc));
			return 1;
		}
		rc = vbd_front_wait_connected(dev, (int)wait_s * 1000);
		if (rc < 0) {
			printf("front_verify: FAIL no queue connected within %us: %s\n", wait_s,
			       strerror(-rc));
			vbd_front_close(dev);
			return 1;
		}
		size = vbd_front_size(dev);
	}
	nblocks = size / BLK;
	if (blocks_limit && blocks_limit < nblocks)
		nblocks = blocks_limit;
	if (nblocks < nthreads) {
		printf("front_verify: FAIL volume too small (%" PRIu64 " blocks)\n", nblocks);
		vbd_front_close(dev);
		return 1;
	}

	struct worker *w = calloc(nthreads, sizeof(*w));
	deadline = now_s() + seconds;
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].nbd.fd = -1;
		w[i].first = nblocks * i / nthreads;
		w[i].count = nblocks * (i + 1) / nthreads - w[i].first;
		w[i].gen = calloc(w[i].count, sizeof(uint32_t));
		w[i].rng = (seed + 1) * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
		if (!w[i].gen ||
		    posix_memalign((void **)&w[i].buf, 4096, (size_t)max_blocks * BLK)) {
			printf("front_verify: FAIL out of memory\n");
			return 1;
		}
		if (nbd_sock && nbdc_connect_unix(&w[i].nbd, nbd_sock) < 0) {
			printf("front_verify: FAIL worker %u: %s\n", i, w[i].nbd.err);
			return 1;
		}
		pthread_create(&w[i].thr, NULL, worker_main, &w[i]);
	}
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(w[i].thr, NULL);
	if (final)
		for (unsigned i = 0; i < nthreads && !atomic_load(&failed); i++)
			final_check(&w[i]);

	bool ok = !atomic_load(&failed);
	char extra[128] = "reposted=- bad-responses=- queues=-";
	if (dev) {
		vbd_front_get_stats(dev, &st);
		snprintf(extra, sizeof(extra),
			 "reposted=%" PRIu64 " bad-responses=%" PRIu64 " queues=%u", st.reposted,
			 st.bad_responses, st.num_queues);
	}
	printf("front_verify: %s ops=%lu writes=%lu reads=%lu flushes=%lu discards=%lu "
	       "verified-bytes=%lu errors=%lu mismatches=%lu max-op-ms=%lu %s%s\n",
	       ok ? "PASS" : "FAIL", atomic_load(&n_ops), atomic_load(&n_writes),
	       atomic_load(&n_reads), atomic_load(&n_flushes), atomic_load(&n_discards),
	       atomic_load(&n_bytes_verified), atomic_load(&n_errors), atomic_load(&n_mismatch),
	       atomic_load(&max_op_us) / 1000, extra, nbd_sock ? " via=nbd" : "");
	fflush(stdout);
	vbd_front_close(dev);
	for (unsigned i = 0; i < nthreads; i++) {
		nbdc_close(&w[i].nbd);
		free(w[i].gen);
		free(w[i].buf);
	}
	free(w);
	return ok ? 0 : 1;
}
