/* SPDX-License-Identifier: MIT */
/* `vbdpoolctl top`'s arithmetic, apart from XenStore so that it is
 * unit-tested alone (tests/unit/ctl_top.c): rates from two samples of a
 * member's cumulative counters (vbdpool/iostat.h) on the member's own
 * clock, sums over members and attachments, the mean and a percentile of
 * the latency histogram's difference, and human units. */
#ifndef VBDCTL_TOPCALC_H
#define VBDCTL_TOPCALC_H

#include <stddef.h>
#include <stdint.h>

#include "vbdpool/iostat.h"

/* What happened over one interval, for one pair (member, attachment) or a
 * sum of pairs: rates per second, and the completions' latency. */
struct top_acc {
	double rd_iops, wr_iops, rd_bps, wr_bps;
	uint64_t inflight;
	uint64_t ops, lat_us; /* completions (reads, writes, others), their latency sum */
	uint64_t hist[VBD_IOSTAT_BUCKETS];
};

/* cur - prev of one member's counters for one attachment into *out.
 * 0, or -ERANGE when the pair tells nothing: no time passed on the
 * member's clock, or a counter went back (its daemon restarted). */
int top_delta(const struct vbd_iostat *prev, const struct vbd_iostat *cur, struct top_acc *out);
void top_acc_add(struct top_acc *a, const struct top_acc *b);
/* Mean latency in us (0 when nothing completed). */
uint64_t top_mean_us(const struct top_acc *a);
/* The pct-th percentile (0 < pct <= 100) of a log2 histogram, in us,
 * interpolated linearly inside its bucket; 0 when it is empty. */
uint64_t top_percentile(const uint64_t hist[VBD_IOSTAT_BUCKETS], unsigned pct);

/* Human units, always at most 7 characters: a count ("950", "12.3k",
 * "4.56M"), bytes in powers of 1024 ("512B", "4.0K", "12.3M", "1.50G"),
 * a latency in us ("850us", "1.25ms", "3.20s"). */
void top_human_count(double v, char *buf, size_t len);
void top_human_bytes(double v, char *buf, size_t len);
void top_human_us(uint64_t us, char *buf, size_t len);

#endif
