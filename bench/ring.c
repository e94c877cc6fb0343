/* SPDX-License-Identifier: MIT */
/*
 * bench/ring: IOPS of libvbdpool-front driven directly (no NBD), run inside
 * the guest domain.  Keeps QD requests in flight (each completion submits
 * the next from the event thread) for a fixed time and prints the rate.
 *
 *   ring [--devid N] [--qd 64] [--bs 4096] [--seconds 5]
 *        [--rw randread|randwrite|randrw|read|write] [--wait 30] [--ring-order O]
 *        [--sync T]   (T threads of synchronous I/O instead, like nbdkit)
 *        [--contexts C] (the library's event threads; 0: its default)
 *        [--threads N]  (the first QD requests come from N threads at once)
 *        [--timeline FILE] (every 100 ms "ms completed-so-far" to FILE, and at
 *                        the end the longest request and the longest gap
 *                        between two completions: bench/pool.sh)
 *
 * Not a test: it prints figures.  bench/ring.sh sets up the emulated host
 * with null backends and runs it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
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

enum mode { M_RANDREAD, M_RANDWRITE, M_RANDRW, M_READ, M_WRITE };

struct slot {
	struct bench *b;
	char *buf;
	uint64_t rng;
	uint64_t seq;
	uint64_t t0_ns; /* --timeline: when the request in flight was submitted */
};

struct bench {
	struct vbd_front *f;
	enum mode mode;
	uint64_t bs, blocks;
	atomic_bool stop;
	atomic_ulong done, errors, inflight;
	atomic_ulong seq_next;
	bool timeline;		       /* --timeline: the figures below */
	_Atomic uint64_t last_done_ns; /* the last completion */
	_Atomic uint64_t max_lat_ns, max_gap_ns;
};

static void atomic_max(_Atomic uint64_t *m, uint64_t v)
{
	uint64_t cur = atomic_load(m);

	while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
		;
}

/* --timeline: the longest request and gap between two completions */
static void note_done(struct slot *s)
{
	struct bench *b = s->b;
	uint64_t now = vbd_now_ns(), prev = atomic_exchange(&b->last_done_ns, now);

	atomic_max(&b->max_lat_ns, now - s->t0_ns);
	if (prev && now > prev)
		atomic_max(&b->max_gap_ns, now - prev);
}

/* splitmix64: spread block numbers (the bench needs no more than that) */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void submit_one(struct slot *s);

/* --sync: a thread doing synchronous I/O (the nbdkit plugin's path). */
static void *sync_thread(void *arg)
{
	struct slot *s = arg;
	struct bench *b = s->b;

	while (!atomic_load(&b->stop)) {
		uint64_t r = next_rand(&s->rng);
		uint64_t blk = r % b->blocks;
		bool write = b->mode == M_RANDWRITE || b->mode == M_WRITE ||
			     (b->mode == M_RANDRW && (r >> 40) & 1);
		int rc = write ? vbd_front_pwrite(b->f, s->buf, b->bs, blk * b->bs, 0)
			       : vbd_front_pread(b->f, s->buf, b->bs, blk * b->bs);
		if (rc < 0)
			atomic_fetch_add(&b->errors, 1);
		atomic_fetch_add(&b->done, 1);
	}
	atomic_fetch_sub(&b->inflight, 1);
	return NULL;
}

static void on_done(void *arg, int err)
{
	struct slot *s = arg;
	struct bench *b = s->b;

	if (err)
		atomic_fetch_add(&b->errors, 1);
	if (b->timeline)
		note_done(s);
	atomic_fetch_add(&b->done, 1);
	if (atomic_load(&b->stop)) {
		atomic_fetch_sub(&b->inflight, 1);
		return;
	}
	submit_one(s);
}

static void submit_one(struct slot *s)
{
	struct bench *b = s->b;
	uint64_t r = next_rand(&s->rng), blk;
	bool write;
	int rc;

	switch (b->mode) {
	case M_READ:
	case M_WRITE:
		blk = atomic_fetch_add(&b->seq_next, 1) % b->blocks;
		write = b->mode == M_WRITE;
		break;
	default:
		blk = r % b->blocks;
		write = b->mode == M_RANDWRITE || (b->mode == M_RANDRW && (r >> 40) & 1);
	}
	if (b->timeline)
		s->t0_ns = vbd_now_ns();
	rc = vbd_front_submit(b->f, write ? VBD_IO_WRITE : VBD_IO_READ, 0, s->buf, blk * b->bs,
			      b->bs, on_done, s);
	if (rc < 0) {
		fprintf(stderr, "ring: submit: %s\n", strerror(-rc));
		atomic_fetch_add(&b->errors, 1);
		atomic_fetch_sub(&b->inflight, 1);
	}
}

/* --threads: one of N threads submitting its share of the first requests
 * (from outside the library's threads: they spread over its contexts;
 * each completion then submits the next on the context that ran it). */
struct starter {
	struct slot *slots;
	unsigned n;
};

static void *start_thread(void *arg)
{
	struct starter *st = arg;

	for (unsigned i = 0; i < st->n; i++)
		submit_one(&st->slots[i]);
	return NULL;
}

/* --timeline: every 100 ms (absolute deadlines: line k is at k x 100 ms)
 * the completions so far */
struct sampler {
	struct bench *b;
	FILE *f;
	uint64_t t0_ns;
};

static void *sample_thread(void *arg)
{
	struct sampler *sp = arg;
	struct timespec at;

	clock_gettime(CLOCK_MONOTONIC, &at);
	for (unsigned k = 0; !atomic_load(&sp->b->stop); k++) {
		fprintf(sp->f, "%u %lu\n", k * 100, atomic_load(&sp->b->done));
		fflush(sp->f);
		at.tv_nsec += 100000000;
		if (at.tv_nsec >= 1000000000) {
			at.tv_nsec -= 1000000000;
			at.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
	}
	return NULL;
}

static double now_s(void)
{
	return vbd_now_ns() / 1e9;
}

/* this process's CPU time (clock(): CLOCK_PROCESS_CPUTIME_ID) */
static double cpu_s(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"devid", 1, 0, 'd'},
	    {"qd", 1, 0, 'q'},
	    {"bs", 1, 0, 'b'},
	    {"seconds", 1, 0, 's'},
	    {"rw", 1, 0, 'r'},
	    {"wait", 1, 0, 'w'},
	    {"ring-order", 1, 0, 'o'},
	    {"sync", 1, 0, 'y'},
	    {"poll-us", 1, 0, 'p'},
	    {"contexts", 1, 0, 'c'},
	    {"threads", 1, 0, 't'},
	    {"timeline", 1, 0, 'T'},
	    {0, 0, 0, 0},
	};
	struct vbd_front_opts o;
	struct bench b = {.mode = M_RANDREAD, .bs = 4096};
	unsigned devid = 0, qd = 64, wait_s = 30, ring_order = 0, sync_threads = 0;
	unsigned contexts = 0, threads = 1;
	int poll_us = -1;
	double seconds = 5, t0, t1, c0, c1;
	const char *rw = "randread", *timeline = NULL;
	struct vbd_front_stats st;
	int c, rc;
	/* the options that set an unsigned */
	unsigned *const uopt[128] = {
	    ['d'] = &devid,	   ['q'] = &qd,	      ['w'] = &wait_s, ['o'] = &ring_order,
	    ['y'] = &sync_threads, ['c'] = &contexts, ['t'] = &threads};

	vbd_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c > 0 && c < 128 && uopt[c]) {
			*uopt[c] = (unsigned)atoi(optarg);
			continue;
		}
		switch (c) {
		case 'b':
			b.bs = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'r':
			rw = optarg;
			break;
		case 'p':
			poll_us = atoi(optarg);
			break;
		case 'T':
			timeline = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [--devid N] [--qd N] [--bs BYTES] [--seconds S] "
				"[--rw randread|randwrite|randrw|read|write] [--wait S] "
				"[--ring-order O] [--poll-us N] [--sync T] [--contexts C] "
				"[--threads N] [--timeline FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (!strcmp(rw, "randread"))
		b.mode = M_RANDREAD;
	else if (!strcmp(rw, "randwrite"))
		b.mode = M_RANDWRITE;
	else if (!strcmp(rw, "randrw"))
		b.mode = M_RANDRW;
	else if (!strcmp(rw, "read"))
		b.mode = M_READ;
	else if (!strcmp(rw, "write"))
		b.mode = M_WRITE;
	else {
		fprintf(stderr, "ring: unknown --rw %s\n", rw);
		return 2;
	}
	if (qd == 0 || b.bs == 0 || b.bs % 512) {
		fprintf(stderr, "ring: --qd > 0 and --bs a multiple of 512\n");
		return 2;
	}
	if (threads == 0 || threads > qd) {
		fprintf(stderr, "ring: --threads between 1 and --qd\n");
		return 2;
	}

	vbd_front_opts_init(&o, devid);
	o.ring_order = ring_order;
	if (poll_us >= 0)
		o.poll_us = (unsigned)poll_us;
	rc = vbd_front_open_ctx(&o, contexts, &b.f);
	if (rc < 0) {
		fprintf(stderr, "ring: attach devid %u: %s\n", devid, strerror(-rc));
		return 1;
	}
	rc = vbd_front_wait_connected(b.f, (int)wait_s * 1000);
	if (rc < 0) {
		fprintf(stderr, "ring: no queue connected: %s\n", strerror(-rc));
		vbd_front_close(b.f);
		return 1;
	}
	usleep(200 * 1000); /* let the other queues connect too */
	b.blocks = vbd_front_size(b.f) / b.bs;
	if (b.blocks == 0) {
		fprintf(stderr, "ring: volume smaller than one block\n");
		vbd_front_close(b.f);
		return 1;
	}

	struct slot *slots = calloc(qd, sizeof(*slots));
	for (unsigned i = 0; i < qd; i++) {
		slots[i] = (struct slot){.b = &b, .rng = 0x9e3779b97f4a7c15ull * (i + 1)};
		if (posix_memalign((void **)&slots[i].buf, 4096, b.bs))
			return 1;
		memset(slots[i].buf, (int)i, b.bs);
	}
	struct sampler sp = {.b = &b};
	pthread_t sampler;
	if (timeline) {
		sp.f = fopen(timeline, "w");
		if (!sp.f) {
			fprintf(stderr, "ring: --timeline %s: %s\n", timeline, strerror(errno));
			return 1;
		}
		b.timeline = true;
		pthread_create(&sampler, NULL, sample_thread, &sp);
	}
	atomic_store(&b.inflight, qd);
	t0 = now_s();
	c0 = cpu_s();
	pthread_t *thr = NULL;
	if (sync_threads) {
		/* qd slots were prepared; use the first sync_threads of them */
		if (sync_threads > qd) {
			fprintf(stderr, "ring: --sync T needs T <= --qd\n");
			return 2;
		}
		atomic_store(&b.inflight, sync_threads);
		thr = calloc(sync_threads, sizeof(*thr));
		for (unsigned i = 0; i < sync_threads; i++)
			pthread_create(&thr[i], NULL, sync_thread, &slots[i]);
	} else if (threads > 1) {
		struct starter *st = calloc(threads, sizeof(*st));

		thr = calloc(threads, sizeof(*thr));
		for (unsigned i = 0, at = 0; i < threads; i++) {
			st[i] = (struct starter){slots + at, qd / threads + (i < qd % threads)};
			at += st[i].n;
			pthread_create(&thr[i], NULL, start_thread, &st[i]);
		}
		for (unsigned i = 0; i < threads; i++)
			pthread_join(thr[i], NULL);
		free(st);
		free(thr);
		thr = NULL;
	} else {
		for (unsigned i = 0; i < qd; i++)
			submit_one(&slots[i]);
	}
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&b.stop, true);
	t1 = now_s();
	c1 = cpu_s();
	unsigned long ops = atomic_load(&b.done);
	while (atomic_load(&b.inflight))
		usleep(1000);
	for (unsigned i = 0; i < sync_threads; i++)
		pthread_join(thr[i], NULL);
	free(thr);
	if (timeline) {
		pthread_join(sampler, NULL);
		fclose(sp.f);
		printf(
		    "ring: timeline %s: longest request %.1f ms, longest gap between completions "
		    "%.1f ms\n",
		    timeline, atomic_load(&b.max_lat_ns) / 1e6, atomic_load(&b.max_gap_ns) / 1e6);
	}

	vbd_front_get_stats(b.f, &st);
	double iops = ops / (t1 - t0);
	printf("ring: rw=%s bs=%" PRIu64 " qd=%u%s queues=%u contexts=%u time=%.2fs ops=%lu "
	       "iops=%.0f MiB/s=%.1f errors=%lu frontend-cpu=%.0f%%\n",
	       rw, b.bs, sync_threads ? sync_threads : qd, sync_threads ? "(sync threads)" : "",
	       st.num_queues, vbd_front_num_contexts(b.f), t1 - t0, ops, iops,
	       iops * b.bs / 1048576.0, atomic_load(&b.errors), 100.0 * (c1 - c0) / (t1 - t0));
	for (unsigned q = 0; q < st.num_queues; q++)
		printf("ring:   queue %u: owner %u epoch %" PRIu64 " completed %" PRIu64 "\n", q,
		       st.q[q].owner, st.q[q].epoch, st.q[q].completed);
	vbd_front_close(b.f);
	for (unsigned i = 0; i < qd; i++)
		free(slots[i].buf);
	free(slots);
	return atomic_load(&b.errors) ? 1 : 0;
}
