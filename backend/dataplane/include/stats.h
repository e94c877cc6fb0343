/* SPDX-License-Identifier: MIT */
/* Per-queue I/O statistics, written by the queue's data thread only (plain
 * relaxed loads and stores: one writer, no locked read-modify-write on the
 * request path), read by the control thread as snapshots: members/<m>/load
 * (heartbeat.c) and, on `vbdpoolctl top`'s request, the per-attachment
 * stats (statpub.c). */
#ifndef VBD_BACKEND_STATS_H
#define VBD_BACKEND_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define VBD_HIST_BUCKETS 256

/* What a completed request was, for the read/write split. */
enum vbd_stat_op {
	VBD_STAT_READ,
	VBD_STAT_WRITE,
	VBD_STAT_OTHER, /* flush, discard: counted in ops and latency only */
};

struct vbd_qstats {
	_Atomic uint64_t ops, bytes, lat_us_sum, inflight;
	_Atomic uint64_t rd_ops, wr_ops, rd_bytes, wr_bytes;
	_Atomic uint64_t hist[VBD_HIST_BUCKETS]; /* latency in us, log-linear */
};

/* A plain snapshot, for differences over an interval. */
struct vbd_stats_snap {
	uint64_t ops, bytes, lat_us_sum, inflight;
	uint64_t rd_ops, wr_ops, rd_bytes, wr_bytes;
	uint64_t hist[VBD_HIST_BUCKETS];
};

unsigned vbd_hist_bucket(uint64_t us);
uint64_t vbd_hist_bucket_upper(unsigned b);

/* One completed request (the data thread, the queue's only writer). */
void vbd_qstats_record(struct vbd_qstats *s, enum vbd_stat_op op, uint64_t bytes, uint64_t lat_us);
/* Adds the counters of s into snap. */
void vbd_qstats_add(const struct vbd_qstats *s, struct vbd_stats_snap *snap);
/* Adds snapshot b into a. */
void vbd_stats_sum(struct vbd_stats_snap *a, const struct vbd_stats_snap *b);
/* Latency percentile (0..100) of the histogram difference now - then. */
uint64_t vbd_stats_percentile(const struct vbd_stats_snap *now, const struct vbd_stats_snap *then,
			      unsigned pct);
/* The histogram folded into log2 buckets (vbdpool/iostat.h): out[k] counts
 * latencies in [2^k, 2^(k+1)) us (k = 0 also 0 us); nout buckets, the last
 * one taking everything above. */
void vbd_stats_log2(const struct vbd_stats_snap *s, uint64_t *out, unsigned nout);

#endif
