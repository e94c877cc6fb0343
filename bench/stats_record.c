/* SPDX-License-Identifier: MIT */
/*
 * bench/stats_record: the per-request cost of the data plane's counters
 * (backend/dataplane/stats.c vbd_qstats_record, single-writer relaxed load+store,
 * read/write split) against the baseline it replaced (atomic fetch_add on
 * ops, bytes, latency sum and histogram bucket, no split), side by side in
 * one run on the same inputs.  Prints ns per request for each and the
 * ratio.  Not a test.   stats_record [--n REQUESTS] [--rounds R]
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "vbdpool/clock.h"

/* the baseline: vbd_qstats_record before the read/write split */
static void __attribute__((noinline))
baseline_record(struct vbd_qstats *s, uint64_t bytes, uint64_t lat_us)
{
	atomic_fetch_add_explicit(&s->ops, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat_us_sum, lat_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->hist[vbd_hist_bucket(lat_us)], 1, memory_order_relaxed);
}

static struct vbd_qstats a, b;

int main(int argc, char **argv)
{
	unsigned long n = 20000000, rounds = 5;
	double best_base = 1e30, best_new = 1e30;
	uint64_t *lat = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--n"))
			n = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = strtoul(argv[i + 1], NULL, 10);
	}
	if (!n || !rounds || !(lat = malloc(4096 * sizeof(*lat))))
		return 2;
	for (unsigned i = 0; i < 4096; i++) /* spread latencies: 1 us .. ~65 ms */
		lat[i] = 1 + ((uint64_t)i * 2654435761u) % 65536;
	for (unsigned long r = 0; r < rounds; r++) { /* alternate: same conditions */
		uint64_t t0 = vbd_now_ns();
		for (unsigned long i = 0; i < n; i++)
			baseline_record(&a, 4096, lat[i & 4095]);
		uint64_t t1 = vbd_now_ns();
		for (unsigned long i = 0; i < n; i++)
			vbd_qstats_record(&b, (enum vbd_stat_op)(i & 1), 4096, lat[i & 4095]);
		uint64_t t2 = vbd_now_ns();
		double nb = (double)(t1 - t0) / (double)n, nn = (double)(t2 - t1) / (double)n;
		if (nb < best_base)
			best_base = nb;
		if (nn < best_new)
			best_new = nn;
	}
	printf("baseline (atomic fetch_add, no split): %.2f ns/request\n", best_base);
	printf("now (single writer, read/write split): %.2f ns/request\n", best_new);
	printf("ratio now/baseline: %.2f (best of %lu rounds of %lu)\n", best_new / best_base,
	       rounds, n);
	free(lat);
	return a.ops == b.ops ? 0 : 1;
}
