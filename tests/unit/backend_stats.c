/* SPDX-License-Identifier: MIT */
/* Unit tests: the data plane's per-queue counters (backend/dataplane/include/stats.h): the
 * read/write split, snapshots and their sums, and the histogram folded into
 * the log2 buckets members publish for `vbdpoolctl top`. */
#include <string.h>

#include "check.h"
#include "stats.h"
#include "vbdpool/iostat.h"

static struct vbd_qstats qs; /* static: zeroed, and too big for the stack */

int main(void)
{
	static const struct {
		enum vbd_stat_op op;
		uint64_t bytes, lat_us;
		unsigned log2; /* the bucket it lands in */
	} reqs[] = {
	    {VBD_STAT_READ, 4096, 0, 0},
	    {VBD_STAT_READ, 4096, 1, 0},
	    {VBD_STAT_READ, 8192, 2, 1},
	    {VBD_STAT_WRITE, 4096, 3, 1},
	    {VBD_STAT_WRITE, 65536, 7, 2},
	    {VBD_STAT_WRITE, 4096, 8, 3},
	    {VBD_STAT_OTHER, 0, 15, 3},
	    {VBD_STAT_OTHER, 1 << 20, 16, 4},
	    {VBD_STAT_READ, 4096, 1000, 9},
	    {VBD_STAT_READ, 4096, 1023, 9},
	    {VBD_STAT_READ, 4096, 1024, 10},
	    {VBD_STAT_WRITE, 4096, 300000, 18},
	    {VBD_STAT_WRITE, 4096, 1ull << 40, 30}, /* capped at 2^31 - 1 us */
	};
	struct vbd_stats_snap a = {0}, b = {0};
	uint64_t want[VBD_IOSTAT_BUCKETS] = {0}, got[VBD_IOSTAT_BUCKETS], rd = 0, wr = 0, rdb = 0,
		 wrb = 0, bytes = 0;
	unsigned n = sizeof(reqs) / sizeof(reqs[0]);

	for (unsigned i = 0; i < n; i++) {
		vbd_qstats_record(&qs, reqs[i].op, reqs[i].bytes, reqs[i].lat_us);
		want[reqs[i].log2]++;
		bytes += reqs[i].bytes;
		if (reqs[i].op == VBD_STAT_READ) {
			rd++;
			rdb += reqs[i].bytes;
		} else if (reqs[i].op == VBD_STAT_WRITE) {
			wr++;
			wrb += reqs[i].bytes;
		}
	}
	vbd_qstats_add(&qs, &a);
	CHECK(a.ops == n && a.bytes == bytes);
	CHECK(a.rd_ops == rd && a.wr_ops == wr && a.rd_bytes == rdb && a.wr_bytes == wrb,
	      "rd %llu wr %llu", (unsigned long long)a.rd_ops, (unsigned long long)a.wr_ops);
	vbd_stats_log2(&a, got, VBD_IOSTAT_BUCKETS);
	for (unsigned k = 0; k < VBD_IOSTAT_BUCKETS; k++)
		CHECK(got[k] == want[k], "log2 bucket %u: %llu, want %llu", k,
		      (unsigned long long)got[k], (unsigned long long)want[k]);
	/* fewer buckets: the last takes everything above */
	vbd_stats_log2(&a, got, 10);
	CHECK(got[9] == 5 && got[0] == 2, "bucket 9: %llu", (unsigned long long)got[9]);

	/* a snapshot of two queues is the sum of both */
	vbd_qstats_add(&qs, &b);
	vbd_stats_sum(&b, &a);
	CHECK(b.ops == 2 * a.ops && b.rd_bytes == 2 * a.rd_bytes && b.wr_ops == 2 * a.wr_ops);
	CHECK(b.hist[vbd_hist_bucket(1024)] == 2 * a.hist[vbd_hist_bucket(1024)]);
	return check_done("backend_stats");
}
