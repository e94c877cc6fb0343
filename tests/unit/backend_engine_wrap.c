/* SPDX-License-Identifier: MIT */
/* The I/O engine wrappers (backend/dataplane/include/engine_wrap.h): the --fault rule parser
 * (good and bad rules) and what the rules do to an I/O, the --throttle
 * parser and its token buckets with an injected clock (deterministic: no
 * time is measured), the --throttle-file re-read (a capacity that changes
 * at run time; bad content keeps the old limits), and the wrappers around the null engine (an
 * injected EIO, FIFO order of held requests: a flush never overtakes the writes held before it). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io_engine.h"
#include "vbdpool/log.h"

static void test_fault_parse(void)
{
	static const char *good[] = {
	    "eio",
	    "eio:sectors=0-999999999",
	    "eio:sectors=8-15,op=read",
	    "eio:op=write",
	    "delay:us=5000",
	    "delay:us=100,op=flush,sectors=0-7",
	    "fail-after:10",
	    "fail-after:ios=3,op=any",
	    "fail-after:0,sectors=4-4",
	    "bad-response:ios=300,op=write",
	};
	static const char *bad[] = {
	    "",
	    "eoi",
	    "eio:",
	    "eio:sectors=5-2",
	    "eio:sectors=5",
	    "eio:sectors=-5",
	    "eio:sectors=a-b",
	    "eio:sectors=1-2,",
	    "eio:,op=read",
	    "eio:op=read,,sectors=1-2",
	    "eio:op=reads",
	    "eio:us=5",
	    "eio:5",
	    "delay",
	    "delay:us=",
	    "delay:us=-1",
	    "delay:us=1x",
	    "delay:us=60000001",
	    "delay:us=1,us=2",
	    "fail-after",
	    "fail-after:",
	    "fail-after:1,2",
	    "fail-after:ios=1,3",
	    "fail-after:us=4",
	    "bad-response",
	    "bad-response:op=write",
	    "bad-response:us=3",
	    "eio:sectors=1-2=3",
	    "eio:color=red",
	};
	char err[160];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vbd_faults f = {0};
		int r = vbd_fault_parse(&f, good[i], err, sizeof(err));

		CHECK(r == 0 && f.n == 1, "good rule '%s' refused: %s", good[i], err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vbd_faults f = {0};

		err[0] = 0;
		CHECK(vbd_fault_parse(&f, bad[i], err, sizeof(err)) == -EINVAL && f.n == 0,
		      "bad rule '%s' accepted", bad[i]);
		CHECK(err[0], "bad rule '%s': no message", bad[i]);
	}
	{
		struct vbd_faults f = {0};
		int r = 0;

		for (int i = 0; i < VBD_MAX_FAULTS; i++)
			r |= vbd_fault_parse(&f, "eio", err, sizeof(err));
		CHECK(r == 0 && f.n == VBD_MAX_FAULTS, "%d rules", VBD_MAX_FAULTS);
		CHECK(vbd_fault_parse(&f, "eio", err, sizeof(err)) == -EINVAL, "one rule too many");
	}
}

static void test_fault_rules(void)
{
	struct vbd_faults f = {0};
	char err[160];
	uint64_t d;

	CHECK(vbd_fault_parse(&f, "eio:sectors=8-15,op=read", err, sizeof(err)) == 0, "%s", err);
	CHECK(vbd_fault_parse(&f, "delay:us=700,op=write", err, sizeof(err)) == 0, "%s", err);
	CHECK(vbd_fault_parse(&f, "fail-after:2,op=discard", err, sizeof(err)) == 0, "%s", err);
	CHECK(vbd_faults_check(&f, VBD_IO_READ, 8 * 512, 512, &d) == -EIO, "read of sector 8");
	CHECK(vbd_faults_check(&f, VBD_IO_READ, 0, 8 * 512, &d) == 0 && d == 0,
	      "read of sectors 0-7 passes");
	CHECK(vbd_faults_check(&f, VBD_IO_READ, 7 * 512, 1024, &d) == -EIO,
	      "read of sectors 7-8 touches the range");
	CHECK(vbd_faults_check(&f, VBD_IO_READ, 16 * 512, 4096, &d) == 0, "read after it");
	CHECK(vbd_faults_check(&f, VBD_IO_WRITE, 8 * 512, 512, &d) == 0 && d == 700,
	      "a write there is delayed, not failed (op=read)");
	CHECK(vbd_faults_check(&f, VBD_IO_FLUSH, 0, 0, &d) == 0 && d == 0,
	      "a flush touches no sector");
	CHECK(vbd_faults_probe_fails(&f, 8 * 512, 4096), "a probe of the range fails");
	CHECK(!vbd_faults_probe_fails(&f, 0, 4096), "a probe elsewhere works");
	CHECK(vbd_faults_check(&f, VBD_IO_DISCARD, 0, 512, &d) == 0, "discard 1 of 2");
	CHECK(vbd_faults_check(&f, VBD_IO_DISCARD, 0, 512, &d) == 0, "discard 2 of 2");
	CHECK(vbd_faults_check(&f, VBD_IO_DISCARD, 0, 512, &d) == -EIO, "discard 3 fails");
	CHECK(atomic_load(&f.failed) == 3 && atomic_load(&f.delayed) == 1, "counted: %llu %llu",
	      (unsigned long long)atomic_load(&f.failed),
	      (unsigned long long)atomic_load(&f.delayed));
	{
		struct vbd_faults b = {0};

		CHECK(vbd_fault_parse(&b, "bad-response:ios=2,op=write", err, sizeof(err)) == 0,
		      "%s", err);
		CHECK(vbd_faults_check(&b, VBD_IO_WRITE, 0, 512, &d) == 0 &&
			  vbd_faults_check(&b, VBD_IO_READ, 0, 512, &d) == 0 &&
			  vbd_faults_check(&b, VBD_IO_WRITE, 0, 512, &d) == 0,
		      "bad-response: the first 2 writes pass (reads do not count)");
		CHECK(vbd_faults_check(&b, VBD_IO_WRITE, 0, 512, &d) == -EBADMSG,
		      "bad-response: the third write is answered wrongly");
		CHECK(vbd_faults_check(&b, VBD_IO_WRITE, 0, 512, &d) == 0, "and only it");
		CHECK(!vbd_faults_probe_fails(&b, 0, 4096), "bad-response: probes pass");
	}
	f.rule[0].first = 1; /* last < first: switched off */
	f.rule[0].last = 0;
	CHECK(vbd_faults_check(&f, VBD_IO_READ, 8 * 512, 512, &d) == 0, "rule switched off");
	{
		struct vbd_faults g = {0};

		CHECK(vbd_fault_parse(&g, "fail-after:1", err, sizeof(err)) == 0, "%s", err);
		CHECK(!vbd_faults_probe_fails(&g, 0, 4096), "fail-after not tripped: probe works");
		CHECK(!vbd_faults_probe_fails(&g, 0, 4096), "probes are not counted");
		CHECK(vbd_faults_check(&g, VBD_IO_FLUSH, 0, 0, &d) == 0, "first I/O passes");
		CHECK(vbd_faults_probe_fails(&g, 0, 4096), "tripped: the probe fails too");
		CHECK(vbd_faults_check(&g, VBD_IO_WRITE, 0, 512, &d) == -EIO, "second fails");
	}
}

static void test_throttle_parse(void)
{
	static const char *bad[] = {
	    "",	      "iops",	"iops=",	 "iops=0",	  "iops=-1", "iops=1x",
	    "bps=1,", ",bps=1", "iops=1,,bps=2", "iops=1,iops=2", "ops=5",   "iops=1000000000001"};
	struct vbd_throttle t;
	char err[160];

	CHECK(vbd_throttle_parse(&t, "iops=50", err, sizeof(err)) == 0 && t.iops == 50 && !t.bps,
	      "iops=50: %s", err);
	vbd_throttle_destroy(&t);
	CHECK(vbd_throttle_parse(&t, "bps=1048576,iops=7", err, sizeof(err)) == 0 && t.iops == 7 &&
		  t.bps == 1048576,
	      "bps and iops: %s", err);
	vbd_throttle_destroy(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK(vbd_throttle_parse(&t, bad[i], err, sizeof(err)) == -EINVAL && err[0],
		      "bad throttle '%s' accepted", bad[i]);
	}
}

static void test_throttle_bucket(void)
{
	const uint64_t s = 1000000000ull, t0 = 5 * s;
	struct vbd_throttle t;

	/* iops=50: one request per 20 ms, a burst of 100 ms = 5 requests */
	vbd_throttle_init(&t, 50, 0);
	for (int i = 0; i < 5; i++)
		CHECK(vbd_throttle_take(&t, t0, 4096) == 0, "burst request %d passes", i);
	CHECK(vbd_throttle_take(&t, t0, 4096) == t0 + s / 50, "the 6th waits until t0 + 1/iops");
	CHECK(vbd_throttle_take(&t, t0 + s / 50 - 1, 4096) == t0 + s / 50, "not 1 ns before");
	CHECK(vbd_throttle_take(&t, t0 + s / 50, 4096) == 0, "and goes then");
	CHECK(vbd_throttle_take(&t, t0 + s / 50, 4096) == t0 + 2 * s / 50, "the next: 20 ms on");
	/* over a long stretch: the rate, plus the burst */
	{
		unsigned passed = 0;

		for (uint64_t now = t0 + s; now < t0 + 3 * s; now += s / 1000)
			while (vbd_throttle_take(&t, now, 0) == 0)
				passed++;
		CHECK(passed >= 100 && passed <= 100 + 5, "2 s at 50 iops: %u passed", passed);
	}
	CHECK(atomic_load(&t.passed) >= 107, "passed counted");
	vbd_throttle_destroy(&t);

	/* bps=1 MiB/s: 100 ms of burst = 104857 bytes; 64 KiB requests */
	vbd_throttle_init(&t, 0, 1048576);
	CHECK(vbd_throttle_take(&t, t0, 65536) == 0, "first 64 KiB");
	CHECK(vbd_throttle_take(&t, t0, 65536) != 0, "second 64 KiB is over the burst");
	CHECK(vbd_throttle_take(&t, t0, 0) == 0, "a flush (no bytes) still goes");
	/* a request larger than the burst waits for a full bucket, then goes */
	{
		uint64_t at = vbd_throttle_take(&t, t0, 4u << 20);

		CHECK(at > t0 && vbd_throttle_take(&t, at, 4u << 20) == 0,
		      "4 MiB goes once the bucket is full");
		CHECK(vbd_throttle_take(&t, at, 512) >= at + 3 * s,
		      "and the next waits for its 4 s of budget");
	}
	vbd_throttle_destroy(&t);

	/* both limits: the later of the two decides */
	vbd_throttle_init(&t, 1000, 1048576);
	CHECK(vbd_throttle_take(&t, t0, 104857) == 0, "a burst of bytes");
	CHECK(vbd_throttle_take(&t, t0, 4096) > t0, "the byte bucket holds the next");
	vbd_throttle_destroy(&t);
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
}

static void test_throttle_reload(void)
{
	const uint64_t s = 1000000000ull, t0 = 5 * s;
	static const char *bad[] = {"", "iops=0\n", "iops=5\nbps=7\n", "speed=fast\n"};
	char path[256], err[160];
	struct vbd_throttle t;
	int fd;

	snprintf(path, sizeof(path), "%s/throttle.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	close(fd);
	vbd_throttle_init(&t, 0, 0);
	put_file(path, "iops=1000\n");
	CHECK(vbd_throttle_reload(&t, path, err, sizeof(err)) == 0 && t.iops == 1000 && !t.bps,
	      "iops=1000 from the file: %s", err);
	/* 1000 iops: a 100 ms burst of 100, then one per ms */
	for (int i = 0; i < 100; i++)
		CHECK(vbd_throttle_take(&t, t0, 4096) == 0, "burst %d", i);
	CHECK(vbd_throttle_take(&t, t0, 4096) == t0 + s / 1000, "then 1 ms apart");
	/* the path degrades to 20%: the next request waits 5 ms, not 1 */
	put_file(path, " iops=200 \n");
	CHECK(vbd_throttle_reload(&t, path, err, sizeof(err)) == 0 && t.iops == 200,
	      "iops=200 re-read: %s", err);
	CHECK(vbd_throttle_take(&t, t0 + s / 1000, 4096) == t0 + s / 1000 + s / 200 - s / 1000,
	      "at 200 iops the bucket holds 5 ms per request");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_file(path, bad[i]);
		err[0] = 0;
		CHECK(vbd_throttle_reload(&t, path, err, sizeof(err)) == -EINVAL && err[0],
		      "bad file '%s' accepted", bad[i]);
		CHECK(t.iops == 200 && !t.bps, "bad file '%s' changed the limits", bad[i]);
	}
	unlink(path);
	err[0] = 0;
	CHECK(vbd_throttle_reload(&t, path, err, sizeof(err)) == -ENOENT && strstr(err, path),
	      "a missing file: %s", err);
	CHECK(t.iops == 200, "and the limits kept");
	vbd_throttle_destroy(&t);
}

/* ---- the wrappers around the null engine ---------------------------------- */

static int reap_all(struct vbd_engine *e, struct vbd_io **out, int want)
{
	int k = 0;

	for (int tries = 0; tries < 500 && k < want; tries++) {
		struct pollfd pfd = {.fd = e->ops->fd(e), .events = POLLIN};
		int n = e->ops->reap(e, out + k, want - k);

		k += n;
		if (!n && k < want && poll(&pfd, 1, 100) < 0)
			break;
	}
	return k;
}

static void test_wrappers(void)
{
	struct vbd_backing b;
	struct vbd_io_wrap w = {0};
	struct vbd_io io[12], *out[12];
	struct vbd_engine *e;
	char err[160];
	int n;

	CHECK(vbd_backing_open(&b, NULL, 1 << 20, 0) == 0, "null store");
	e = vbd_engine_create(VBD_ENGINE_AUTO, &b, 32, &w);
	CHECK(e && !strcmp(e->name, "null"), "no wrapper without rules or limits: %s",
	      e ? e->name : "none");
	e->ops->destroy(e);

	CHECK(vbd_fault_parse(&w.faults, "eio:sectors=8-8", err, sizeof(err)) == 0, "%s", err);
	CHECK(vbd_throttle_parse(&w.throttle, "iops=50", err, sizeof(err)) == 0, "%s", err);
	e = vbd_engine_create(VBD_ENGINE_NULL, &b, 32, &w);
	CHECK(e && !strcmp(e->name, "throttle+fault+null"), "stack: %s", e ? e->name : "none");
	if (!e)
		return;
	CHECK(e->ops->fd(e) >= 0, "a wrapper has an fd to sleep on");
	/* 11 writes then a flush: 5 go at once (the burst), 7 are held */
	for (int i = 0; i < 12; i++) {
		io[i] = (struct vbd_io){.op = i == 11 ? VBD_IO_FLUSH : VBD_IO_WRITE,
					.off = (uint64_t)i * 512,
					.len = i == 11 ? 0 : 512,
					.res = 1};
		CHECK(e->ops->submit(e, &io[i]) == 0, "submit %d", i);
	}
	CHECK(e->ops->commit(e) == 0, "commit");
	n = e->ops->reap(e, out, 12);
	CHECK(n == 5, "the burst completes at once: %d", n);
	CHECK(atomic_load(&w.throttle.held) == 7, "7 held: %llu",
	      (unsigned long long)atomic_load(&w.throttle.held));
	n += reap_all(e, out + n, 12 - n);
	CHECK(n == 12, "all 12 complete in the end: %d", n);
	/*
	 * What the wrappers promise is the order in which I/Os go below, not
	 * the order they complete in: the throttle releases its held I/Os in
	 * FIFO order, and the fault wrapper finishes request 8 itself (EIO)
	 * when the throttle hands it down, so 8 may complete ahead of 6 and 7
	 * released in the same batch.  The null engine completes in the order
	 * it is given I/Os, so the successful completions show the release
	 * order: increasing, the flush last of them (never below before the
	 * writes ahead of it).
	 */
	{
		int seen[12] = {0}, last = -1;

		for (int i = 0; i < n; i++) {
			int idx = (int)(out[i] - io);

			CHECK(idx >= 0 && idx < 12 && !seen[idx], "completion %d: request %d once",
			      i, idx);
			if (idx < 0 || idx >= 12)
				continue;
			seen[idx] = 1;
			CHECK(out[i]->res == (idx == 8 ? -EIO : 0), "request %d: res %d", idx,
			      out[i]->res);
			if (i < 5)
				CHECK(idx == i, "completion %d of the burst is request %d", i, idx);
			if (idx == 8)
				continue;
			CHECK(idx > last, "request %d went below after request %d: FIFO", idx,
			      last);
			last = idx;
		}
		CHECK(last == 11, "the flush goes below last: %d", last);
	}
	CHECK(atomic_load(&w.faults.failed) == 1, "one EIO injected");
	e->ops->destroy(e);
	vbd_throttle_destroy(&w.throttle);
	vbd_backing_close(&b);
}

int main(void)
{
	vbd_log_init("backend_engine_wrap");
	test_fault_parse();
	test_fault_rules();
	test_throttle_parse();
	test_throttle_bucket();
	test_throttle_reload();
	test_wrappers();
	return check_done("backend_engine_wrap");
}
