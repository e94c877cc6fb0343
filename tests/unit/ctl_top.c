/* SPDX-License-Identifier: MIT */
/* Unit tests: `vbdpoolctl top`'s arithmetic (topcalc.h) and the statistics
 * record members publish for it (vbdpool/iostat.h), as tables. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "topcalc.h"
#include "vbdpool/iostat.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_human(void)
{
	static const struct {
		char kind; /* c count, b bytes, u microseconds */
		double v;
		const char *want;
	} cases[] = {
	    {'c', 0, "0"},
	    {'c', 950, "950"},
	    {'c', 999.4, "999"},
	    {'c', 999.6, "1.00k"},
	    {'c', 12345, "12.3k"},
	    {'c', 123456, "123k"},
	    {'c', 4.56e6, "4.56M"},
	    {'c', -3, "0"},
	    {'b', 512, "512B"},
	    {'b', 4096, "4.00K"},
	    {'b', 1000, "0.98K"},
	    {'b', 12.3 * 1048576, "12.3M"},
	    {'b', 1.5 * 1073741824.0, "1.50G"},
	    {'b', 999 * 1048576.0, "999M"},
	    {'u', 0, "0us"},
	    {'u', 850, "850us"},
	    {'u', 1250, "1.25ms"},
	    {'u', 12345, "12.3ms"},
	    {'u', 123456, "123ms"},
	    {'u', 999999, "1.00s"},
	    {'u', 3200000, "3.20s"},
	};

	for (size_t i = 0; i < N(cases); i++) {
		char buf[32];
		if (cases[i].kind == 'c')
			top_human_count(cases[i].v, buf, sizeof(buf));
		else if (cases[i].kind == 'b')
			top_human_bytes(cases[i].v, buf, sizeof(buf));
		else
			top_human_us((uint64_t)cases[i].v, buf, sizeof(buf));
		CHECK(!strcmp(buf, cases[i].want), "%c %.1f: '%s', want '%s'", cases[i].kind,
		      cases[i].v, buf, cases[i].want);
		CHECK(strlen(buf) <= 7, "'%s' is wider than a column", buf);
	}
}

static void test_percentile(void)
{
	static const struct {
		const char *name;
		struct {
			unsigned k;
			uint64_t n;
		} b[3];
		unsigned pct;
		uint64_t want;
	} cases[] = {
	    {"empty", {{0, 0}}, 99, 0},
	    /* 100 latencies in [1024, 2048): rank r at 1024 + 1024 * r / 100 */
	    {"one bucket p50", {{10, 100}}, 50, 1536},
	    {"one bucket p99", {{10, 100}}, 99, 2038},
	    {"one bucket p100", {{10, 100}}, 100, 2048},
	    /* bucket 0 is [0, 2) */
	    {"sub-2us", {{0, 10}}, 50, 1},
	    /* 99 fast, 1 slow: p99 is the top of the fast bucket, p100 the slow */
	    {"outlier p99", {{5, 99}, {20, 1}}, 99, 64},
	    {"outlier p100", {{5, 99}, {20, 1}}, 100, 2097152},
	    {"outlier p50", {{5, 99}, {20, 1}}, 50, 48},
	    {"two buckets p75", {{3, 50}, {4, 50}}, 75, 24},
	    {"last bucket", {{31, 4}}, 100, 1ull << 32},
	};

	for (size_t i = 0; i < N(cases); i++) {
		uint64_t h[VBD_IOSTAT_BUCKETS] = {0}, got;
		for (unsigned j = 0; j < 3; j++)
			h[cases[i].b[j].k] += cases[i].b[j].n;
		got = top_percentile(h, cases[i].pct);
		CHECK(got == cases[i].want, "%s: %llu, want %llu", cases[i].name,
		      (unsigned long long)got, (unsigned long long)cases[i].want);
	}
}

static void test_delta(void)
{
	static const struct vbd_iostat base = {.seq = 1,
					       .t_ms = 1000,
					       .rd = 100,
					       .wr = 50,
					       .oth = 2,
					       .rd_bytes = 409600,
					       .wr_bytes = 204800,
					       .inflight = 3,
					       .lat_us = 15200,
					       .hist = {[6] = 100, [9] = 52}};
	static const struct {
		const char *name;
		uint64_t dt, drd, dwr, doth, drb, dwb, dlat, dh6, dh9;
		int back; /* a counter goes back */
		int rc;
		double rd_iops, wr_iops, rd_bps, wr_bps;
		uint64_t mean;
	} cases[] = {
	    {"2 s", 2000, 200, 100, 0, 819200, 409600, 30000, 200, 100, 0, 0, 100, 50, 409600,
	     204800, 100},
	    {"250 ms", 250, 25, 0, 5, 102400, 0, 3000, 30, 0, 0, 0, 100, 0, 409600, 0, 100},
	    {"idle", 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	    {"no time", 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, -ERANGE, 0, 0, 0, 0, 0},
	    {"restarted", 1000, 0, 0, 0, 0, 0, 0, 0, 0, 1, -ERANGE, 0, 0, 0, 0, 0},
	};

	for (size_t i = 0; i < N(cases); i++) {
		struct vbd_iostat cur = base;
		struct top_acc a;
		int rc;

		cur.t_ms += cases[i].dt;
		cur.rd += cases[i].drd;
		cur.wr += cases[i].dwr;
		cur.oth += cases[i].doth;
		cur.rd_bytes += cases[i].drb;
		cur.wr_bytes += cases[i].dwb;
		cur.lat_us += cases[i].dlat;
		cur.hist[6] += cases[i].dh6;
		cur.hist[9] += cases[i].dh9;
		if (cases[i].back)
			cur.hist[9]--;
		rc = top_delta(&base, &cur, &a);
		CHECK(rc == cases[i].rc, "%s: rc %d", cases[i].name, rc);
		if (rc)
			continue;
		CHECK(a.rd_iops == cases[i].rd_iops && a.wr_iops == cases[i].wr_iops,
		      "%s: %.1f/%.1f IOPS", cases[i].name, a.rd_iops, a.wr_iops);
		CHECK(a.rd_bps == cases[i].rd_bps && a.wr_bps == cases[i].wr_bps,
		      "%s: %.0f/%.0f B/s", cases[i].name, a.rd_bps, a.wr_bps);
		CHECK(top_mean_us(&a) == cases[i].mean, "%s: mean %llu", cases[i].name,
		      (unsigned long long)top_mean_us(&a));
		CHECK(a.inflight == 3 && a.ops == cases[i].drd + cases[i].dwr + cases[i].doth);
		CHECK(a.hist[6] == cases[i].dh6 && a.hist[9] == cases[i].dh9);
	}

	/* sums over members and devices */
	struct top_acc
	    x = {.rd_iops = 10, .ops = 10, .lat_us = 1000, .inflight = 1, .hist = {[3] = 10}},
	    y = {.rd_iops = 30, .ops = 30, .lat_us = 9000, .inflight = 2, .hist = {[4] = 30}};
	top_acc_add(&x, &y);
	CHECK(x.rd_iops == 40 && x.inflight == 3 && top_mean_us(&x) == 250);
	CHECK(top_percentile(x.hist, 50) == 16 + 16 * 10 / 30);
}

static void test_record(void)
{
	struct vbd_iostat s = {.seq = 7,
			       .t_ms = 123456,
			       .rd = 10,
			       .wr = 20,
			       .oth = 1,
			       .rd_bytes = 40960,
			       .wr_bytes = 81920,
			       .inflight = 2,
			       .lat_us = 999,
			       .hist = {[0] = 1, [5] = 20, [31] = 10}},
			  back;
	char buf[VBD_IOSTAT_MAX];

	CHECK(vbd_iostat_format(&s, buf, sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "seq=7 t=123456 rd=10 wr=20 oth=1 rd-bytes=40960 wr-bytes=81920 "
			   "inflight=2 lat-us=999 hist=0:1,5:20,31:10"),
	      "%s", buf);
	CHECK(vbd_iostat_parse(buf, &back) == 0 && !memcmp(&s, &back, sizeof(s)));
	CHECK(vbd_iostat_format(&s, buf, 40) == -ENOSPC);
	/* every counter at its maximum still fits */
	memset(&s, 0xff, sizeof(s));
	CHECK(vbd_iostat_format(&s, buf, sizeof(buf)) > 0 && vbd_iostat_parse(buf, &back) == 0 &&
	      !memcmp(&s, &back, sizeof(s)));

	static const struct {
		const char *rec;
		int ok;
	} cases[] = {
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=", 1},
	    {"hist=2:1 lat-us=9 inflight=8 wr-bytes=7 rd-bytes=6 oth=5 wr=4 rd=3 t=2 seq=1", 1},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist= seq=1", 0},
	    {"seq=1 t=2 rd=-3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=32:1", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=5:1,4:1", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=5:1,5:1", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=1:2,,3:4",
	     0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=1:2,", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=1", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=x:1", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist= ", 0},
	    {"seq=1  t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist=", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist= x=1", 0},
	    {"seq=1 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 lat-us=9 hist= junk", 0},
	    {"seq=18446744073709551616 t=2 rd=3 wr=4 oth=5 rd-bytes=6 wr-bytes=7 inflight=8 "
	     "lat-us=9 hist=",
	     0},
	    {"", 0},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct vbd_iostat out = {.seq = 42};
		int rc = vbd_iostat_parse(cases[i].rec, &out);
		CHECK((rc == 0) == cases[i].ok, "'%s': rc %d", cases[i].rec, rc);
		if (!cases[i].ok)
			CHECK(out.seq == 42, "'%s': output touched", cases[i].rec);
		else
			CHECK(out.seq == 1 && out.lat_us == 9);
	}
	CHECK(vbd_iostat_parse(NULL, &back) == -EINVAL);
}

int main(void)
{
	test_human();
	test_percentile();
	test_delta();
	test_record();
	return check_done("ctl_top");
}
