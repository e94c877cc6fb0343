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

/* Single writer: a relaxed load and store, no locked read-modify-write. */
static inline void bump(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

void vbd_qstats_record(struct vbd_qstats *s, enum vbd_stat_op op, uint64_t bytes, uint64_t lat_us)
{
	bump(&s->ops, 1);
	bump(&s->bytes, bytes);
	bump(&s->lat_us_sum, lat_us);
	bump(&s->hist[vbd_hist_bucket(lat_us)], 1);
	if (op == VBD_STAT_READ) {
		bump(&s->rd_ops, 1);
		bump(&s->rd_bytes, bytes);
	} else if (op == VBD_STAT_WRITE) {
		bump(&s->wr_ops, 1);
		bump(&s->wr_bytes, bytes);
	}
}

#define LOAD(f) atomic_load_explicit(&s->f, memory_order_relaxed)
void vbd_qstats_add(const struct vbd_qstats *s, struct vbd_stats_snap *snap)
{
	snap->ops += LOAD(ops);
	snap->bytes += LOAD(bytes);
	snap->lat_us_sum += LOAD(lat_us_sum);
	snap->inflight += LOAD(inflight);
	snap->rd_ops += LOAD(rd_ops);
	snap->wr_ops += LOAD(wr_ops);
	snap->rd_bytes += LOAD(rd_bytes);
	snap->wr_bytes += LOAD(wr_bytes);
	for (unsigned i = 0; i < VBD_HIST_BUCKETS; i++)
		snap->hist[i] += LOAD(hist[i]);
}
#undef LOAD

void vbd_stats_sum(struct vbd_stats_snap *a, const struct vbd_stats_snap *b)
{
	a->ops += b->ops;
	a->bytes += b->bytes;
	a->lat_us_sum += b->lat_us_sum;
	a->inflight += b->inflight;
	a->rd_ops += b->rd_ops;
	a->wr_ops += b->wr_ops;
	a->rd_bytes += b->rd_bytes;
	a->wr_bytes += b->wr_bytes;
	for (unsigned i = 0; i < VBD_HIST_BUCKETS; i++)
		a->hist[i] += b->hist[i];
}

void vbd_stats_log2(const struct vbd_stats_snap *s, uint64_t *out, unsigned nout)
{
	for (unsigned k = 0; k < nout; k++)
		out[k] = 0;
	for (unsigned i = 0; i < VBD_HIST_BUCKETS; i++) {
		uint64_t lo = i ? vbd_hist_bucket_upper(i - 1) + 1 : 0;
		unsigned k = lo > 1 ? 63u - (unsigned)__builtin_clzll(lo) : 0;
		/* a log-linear bucket lies within one power of two */
		out[k < nout ? k : nout - 1] += s->hist[i];
	}
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
