/* SPDX-License-Identifier: MIT */
/* I/O statistics (see stats.h). Buckets: exact below 8 us, then 8 linear
 * steps per power of two (12.5 % resolution). */
#include "stats.h"

unsigned vbd_hist_bucket(uint64_t us)
{
	unsigned e;

	if (us < 8)
		return (unsigned)us;
	if (us >= (1ull << 31))
		us = (1ull << 31) - 1;
	e = 63u - (unsigned)__builtin_clzll(us);
	return 8 + (e - 3) * 8 + (unsigned)((us >> (e - 3)) & 7);
}

uint64_t vbd_hist_bucket_upper(unsigned b)
{
	unsigned e, sub;

	if (b < 8)
		return b;
	e = (b - 8) / 8 + 3;
	sub = (b - 8) % 8;
	return ((uint64_t)(8 + sub + 1) << (e - 3)) - 1;
}

void vbd_qstats_record(struct vbd_qstats *s, uint64_t bytes, uint64_t lat_us)
{
	atomic_fetch_add_explicit(&s->ops, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat_us_sum, lat_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->hist[vbd_hist_bucket(lat_us)], 1, memory_order_relaxed);
}

void vbd_qstats_add(const struct vbd_qstats *s, struct vbd_stats_snap *snap)
{
	snap->ops += atomic_load_explicit(&s->ops, memory_order_relaxed);
	snap->bytes += atomic_load_explicit(&s->bytes, memory_order_relaxed);
	snap->lat_us_sum += atomic_load_explicit(&s->lat_us_sum, memory_order_relaxed);
	snap->inflight += atomic_load_explicit(&s->inflight, memory_order_relaxed);
	for (unsigned i = 0; i < VBD_HIST_BUCKETS; i++)
		snap->hist[i] += atomic_load_explicit(&s->hist[i], memory_order_relaxed);
}

uint64_t vbd_stats_percentile(const struct vbd_stats_snap *now, const struct vbd_stats_snap *then,
			      unsigned pct)
{
	uint64_t total = 0, seen = 0, want;

	for (unsigned i = 0; i < VBD_HIST_BUCKETS; i++)
		total += now->hist[i] - then->hist[i];
	if (!total)
		return 0;
	want = (total * pct + 99) / 100;
	for (unsigned i = 0; i < VBD_HIST_BUCKETS; i++) {
		seen += now->hist[i] - then->hist[i];
		if (seen >= want)
			return vbd_hist_bucket_upper(i);
	}
	return vbd_hist_bucket_upper(VBD_HIST_BUCKETS - 1);
}
