/* SPDX-License-Identifier: MIT */
/* Per-queue I/O statistics, written by the queue's data thread, read by the
 * control thread to publish members/<m>/load. */
#ifndef VBD_BACKEND_STATS_H
#define VBD_BACKEND_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define VBD_HIST_BUCKETS 256

struct vbd_qstats {
	_Atomic uint64_t ops, bytes, lat_us_sum, inflight;
	_Atomic uint64_t hist[VBD_HIST_BUCKETS]; /* latency in us, log-linear */
};

/* A plain snapshot, for differences over an interval. */
struct vbd_stats_snap {
	uint64_t ops, bytes, lat_us_sum, inflight;
	uint64_t hist[VBD_HIST_BUCKETS];
};

unsigned vbd_hist_bucket(uint64_t us);
uint64_t vbd_hist_bucket_upper(unsigned b);

void vbd_qstats_record(struct vbd_qstats *s, uint64_t bytes, uint64_t lat_us);
/* Adds the counters of s into snap. */
void vbd_qstats_add(const struct vbd_qstats *s, struct vbd_stats_snap *snap);
/* Latency percentile (0..100) of the histogram difference now - then. */
uint64_t vbd_stats_percentile(const struct vbd_stats_snap *now, const struct vbd_stats_snap *then,
			      unsigned pct);

#endif
