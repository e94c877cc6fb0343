/* SPDX-License-Identifier: MIT */
/* `vbdpoolctl top`'s arithmetic (topcalc.h). */
#include "topcalc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int top_delta(const struct vbd_iostat *prev, const struct vbd_iostat *cur, struct top_acc *out)
{
	double dt;
	uint64_t pops = prev->rd + prev->wr + prev->oth, cops = cur->rd + cur->wr + cur->oth;

	if (cur->t_ms <= prev->t_ms || cur->rd < prev->rd || cur->wr < prev->wr ||
	    cur->oth < prev->oth || cur->rd_bytes < prev->rd_bytes ||
	    cur->wr_bytes < prev->wr_bytes || cur->lat_us < prev->lat_us)
		return -ERANGE;
	for (unsigned k = 0; k < VBD_IOSTAT_BUCKETS; k++)
		if (cur->hist[k] < prev->hist[k])
			return -ERANGE;
	memset(out, 0, sizeof(*out));
	dt = (double)(cur->t_ms - prev->t_ms) / 1000.0;
	out->rd_iops = (double)(cur->rd - prev->rd) / dt;
	out->wr_iops = (double)(cur->wr - prev->wr) / dt;
	out->rd_bps = (double)(cur->rd_bytes - prev->rd_bytes) / dt;
	out->wr_bps = (double)(cur->wr_bytes - prev->wr_bytes) / dt;
	out->inflight = cur->inflight;
	out->ops = cops - pops;
	out->lat_us = cur->lat_us - prev->lat_us;
	for (unsigned k = 0; k < VBD_IOSTAT_BUCKETS; k++)
		out->hist[k] = cur->hist[k] - prev->hist[k];
	return 0;
}

void top_acc_add(struct top_acc *a, const struct top_acc *b)
{
	a->rd_iops += b->rd_iops;
	a->wr_iops += b->wr_iops;
	a->rd_bps += b->rd_bps;
	a->wr_bps += b->wr_bps;
	a->inflight += b->inflight;
	a->ops += b->ops;
	a->lat_us += b->lat_us;
	for (unsigned k = 0; k < VBD_IOSTAT_BUCKETS; k++)
		a->hist[k] += b->hist[k];
}

uint64_t top_mean_us(const struct top_acc *a)
{
	return a->ops ? (a->lat_us + a->ops / 2) / a->ops : 0;
}

uint64_t top_percentile(const uint64_t hist[VBD_IOSTAT_BUCKETS], unsigned pct)
{
	uint64_t total = 0, seen = 0, want;

	for (unsigned k = 0; k < VBD_IOSTAT_BUCKETS; k++)
		total += hist[k];
	if (!total || !pct)
		return 0;
	if (pct > 100)
		pct = 100;
	want = (total * pct + 99) / 100; /* the rank of the percentile, 1-based */
	for (unsigned k = 0; k < VBD_IOSTAT_BUCKETS; k++) {
		double lo, hi;

		if (seen + hist[k] < want) {
			seen += hist[k];
			continue;
		}
		/* bucket k holds [2^k, 2^(k+1)) us (k = 0: [0, 2)); rank r of
		 * its n values sits at lo + (hi - lo) * r / n */
		lo = k ? (double)(1ull << k) : 0.0;
		hi = (double)(1ull << (k + 1));
		return (uint64_t)(lo + (hi - lo) * (double)(want - seen) / (double)hist[k] + 0.5);
	}
	return 0; /* not reached */
}

/* v scaled by `step` until it fits, with 3 significant digits. */
static void human(double v, double step, const char *const *units, unsigned nunits, char *buf,
		  size_t len)
{
	unsigned u = 0;

	if (v < 0)
		v = 0;
	while (v >= 999.5 && u + 1 < nunits) {
		v /= step;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f%s", v, units[0]);
	else if (v < 9.995)
		snprintf(buf, len, "%.2f%s", v, units[u]);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%s", v, units[u]);
	else
		snprintf(buf, len, "%.0f%s", v, units[u]);
}

void top_human_count(double v, char *buf, size_t len)
{
	static const char *const u[] = {"", "k", "M", "G", "T"};
	human(v, 1000.0, u, 5, buf, len);
}

void top_human_bytes(double v, char *buf, size_t len)
{
	static const char *const u[] = {"B", "K", "M", "G", "T", "P"};
	human(v, 1024.0, u, 6, buf, len);
}

void top_human_us(uint64_t us, char *buf, size_t len)
{
	if (us < 1000)
		snprintf(buf, len, "%" PRIu64 "us", us);
	else if (us < 10000)
		snprintf(buf, len, "%.2fms", (double)us / 1000.0);
	else if (us < 99950)
		snprintf(buf, len, "%.1fms", (double)us / 1000.0);
	else if (us < 999500)
		snprintf(buf, len, "%.0fms", (double)us / 1000.0);
	else
		snprintf(buf, len, "%.2fs", (double)us / 1e6);
}
