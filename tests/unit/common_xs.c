/* SPDX-License-Identifier: MIT */
/* common/xs (vbdpool/xs.h) against the emulator's XenStore server in a
 * thread: typed reads and their errors (-ENOENT, -EINVAL, -E2BIG), writes
 * and permissions, and the transaction runner (a lost commit re-runs fn,
 * a commit that always loses ends with -EAGAIN after VBD_XS_TXN_TRIES
 * runs, the backoff between tries is bounded, fn can abort). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vbdpool/xs.h"
#include "xs_local.h"

static char long_path[2 * VBD_XS_PATH_MAX];

static void test_reads(struct xs_handle *h)
{
	char *v = (char *)1, **names;
	uint64_t u = 7;
	unsigned n;

	CHECK(vbd_xs_write(h, XBT_NULL, "/t/num", "4096") == 0);
	CHECK(vbd_xs_printf(h, XBT_NULL, "/t/fmt", "%u-%s", 12u, "x") == 0);
	CHECK(vbd_xs_read(h, XBT_NULL, &v, "/t/%s", "fmt") == 0 && v && !strcmp(v, "12-x"));
	free(v);
	CHECK(vbd_xs_read_u64(h, XBT_NULL, 4096, &u, "/t/num") == 0 && u == 4096);
	CHECK(vbd_xs_exists(h, XBT_NULL, "/t/num") == 1);
	CHECK(vbd_xs_list(h, XBT_NULL, &names, &n, "/%s", "t") == 0 && n == 2);
	free(names);

	/* missing nodes */
	CHECK(vbd_xs_read(h, XBT_NULL, &v, "/t/none") == -ENOENT && v == NULL);
	errno = 0;
	CHECK(vbd_xs_get(h, XBT_NULL, "/t/none") == NULL && errno == ENOENT);
	CHECK(vbd_xs_exists(h, XBT_NULL, "/t/none") == 0);
	CHECK(vbd_xs_read_u64(h, XBT_NULL, 10, &u, "/t/none") == -ENOENT);
	CHECK(vbd_xs_list(h, XBT_NULL, &names, &n, "/t/none") == -ENOENT && !names && n == 0);

	/* malformed numbers are never trusted */
	static const char *const bad[] = {
	    "", "-1", "+1", " 1", "1 ", "0x10", "12a", "18446744073709551616", "4097"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = 7;
		CHECK(vbd_xs_write(h, XBT_NULL, "/t/bad", bad[i]) == 0);
		CHECK(vbd_xs_read_u64(h, XBT_NULL, 4096, &u, "/t/bad") == -EINVAL && u == 7, "'%s'",
		      bad[i]);
	}

	/* a path that does not fit is refused before any request */
	memset(long_path, 'a', sizeof(long_path) - 1);
	char buf[VBD_XS_PATH_MAX];
	CHECK(vbd_xs_path(buf, "/t/%s", long_path) == -E2BIG);
	CHECK(vbd_xs_path(buf, "/t/%u", 5u) == 0 && !strcmp(buf, "/t/5"));
	CHECK(vbd_xs_read(h, XBT_NULL, &v, "/t/%s", long_path) == -E2BIG && v == NULL);
	CHECK(vbd_xs_read_u64(h, XBT_NULL, 1, &u, "/t/%s", long_path) == -E2BIG);
	CHECK(vbd_xs_exists(h, XBT_NULL, "/t/%s", long_path) == -E2BIG);
	CHECK(vbd_xs_list(h, XBT_NULL, &names, &n, "/t/%s", long_path) == -E2BIG);
}

static void test_writes(struct xs_handle *h)
{
	struct xs_permissions want[2] = {{.id = 0, .perms = XS_PERM_NONE},
					 {.id = 5, .perms = XS_PERM_READ}};
	struct xs_permissions *got;
	unsigned n;

	CHECK(vbd_xs_write(h, XBT_NULL, "/w/a", "1") == 0);
	CHECK(vbd_xs_set_perms(h, XBT_NULL, "/w/a", want, 2) == 0);
	CHECK(vbd_xs_get_perms(h, XBT_NULL, "/w/a", &got, &n) == 0 && n == 2);
	if (n == 2)
		CHECK(got[0].id == 0 && got[1].id == 5 && got[1].perms == XS_PERM_READ);
	free(got);
	CHECK(vbd_xs_get_perms(h, XBT_NULL, "/w/none", &got, &n) == -ENOENT && !got && !n);
	CHECK(vbd_xs_rm(h, XBT_NULL, "/w/a") == 0);
	CHECK(vbd_xs_exists(h, XBT_NULL, "/w/a") == 0);
	CHECK(vbd_xs_write(h, XBT_NULL, "bad//path", "1") == -EINVAL);
}

/* fn reads /x/n and writes n+1; on the runs in [0, lose), a second
 * connection writes /x/n first, so the commit loses with EAGAIN. */
struct incr {
	struct xs_handle *other;
	unsigned runs, lose;
	int ret; /* what fn returns after its write */
};

static int incr_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct incr *c = arg;
	uint64_t n = 0;
	int r = vbd_xs_read_u64(xs, t, UINT64_MAX, &n, "/x/n");

	if (r < 0 && r != -ENOENT)
		return r;
	if (c->runs++ < c->lose && vbd_xs_printf(c->other, XBT_NULL, "/x/n", "%u", 1000u + c->runs))
		return -EIO;
	r = vbd_xs_printf(xs, t, "/x/n", "%llu", (unsigned long long)n + 1);
	return r ? r : c->ret;
}

static uint64_t read_n(struct xs_handle *h)
{
	uint64_t n = 0;
	CHECK(vbd_xs_read_u64(h, XBT_NULL, UINT64_MAX, &n, "/x/n") == 0);
	return n;
}

static void test_transact(struct xs_handle *h, struct xs_handle *other)
{
	struct incr c = {.other = other, .lose = 2};

	/* two lost commits: fn runs three times, the last one commits */
	CHECK(vbd_xs_write(h, XBT_NULL, "/x/n", "5") == 0);
	CHECK(vbd_xs_transact(h, incr_fn, &c) == 0);
	CHECK(c.runs == 3, "runs %u", c.runs);
	CHECK(read_n(h) == 1003, "the third run saw the other writer's 1002");

	/* always losing: bounded, then -EAGAIN */
	c = (struct incr){.other = other, .lose = ~0u};
	CHECK(vbd_xs_transact(h, incr_fn, &c) == -EAGAIN);
	CHECK(c.runs == VBD_XS_TXN_TRIES, "runs %u", c.runs);

	/* fn aborting: nothing committed, fn's value returned, no re-run */
	CHECK(vbd_xs_write(h, XBT_NULL, "/x/n", "5") == 0);
	c = (struct incr){.other = other, .ret = -EPERM};
	CHECK(vbd_xs_transact(h, incr_fn, &c) == -EPERM && c.runs == 1);
	CHECK(read_n(h) == 5);
	c = (struct incr){.other = other, .ret = VBD_XS_ABORT};
	CHECK(vbd_xs_transact(h, incr_fn, &c) == VBD_XS_ABORT && c.runs == 1);
	CHECK(read_n(h) == 5);
}

/* A removal inside a transaction whose parent another connection removed
 * meanwhile: the server answers EINVAL (C xenstored's rm_node), which the
 * commit would have reported as a conflict; vbd_xs_transact runs fn once
 * more, and then the node is simply gone. */
struct rmg {
	struct xs_handle *other;
	unsigned runs;
	int always_einval;
};

static int rm_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct rmg *c = arg;
	int e = vbd_xs_exists(xs, t, "/x/g/c");

	c->runs++;
	if (c->always_einval)
		return -EINVAL;
	if (e <= 0)
		return e; /* gone: nothing to do */
	if (c->runs == 1 && vbd_xs_rm(c->other, XBT_NULL, "/x/g") < 0)
		return -EIO;
	return vbd_xs_rm(xs, t, "/x/g/c");
}

static void test_transact_einval(struct xs_handle *h, struct xs_handle *other)
{
	struct rmg c = {.other = other};

	CHECK(vbd_xs_write(h, XBT_NULL, "/x/g/c", "c") == 0);
	CHECK(vbd_xs_transact(h, rm_fn, &c) == 0, "runs %u", c.runs);
	CHECK(c.runs == 2, "runs %u", c.runs);
	CHECK(vbd_xs_exists(h, XBT_NULL, "/x/g") == 0);
	/* a real EINVAL comes back after one more try */
	c = (struct rmg){.other = other, .always_einval = 1};
	CHECK(vbd_xs_transact(h, rm_fn, &c) == -EINVAL && c.runs == 2, "runs %u", c.runs);
}

static void test_backoff(void)
{
	unsigned prev_cap = 0;

	for (unsigned a = 0; a < 2 * VBD_XS_TXN_TRIES; a++) {
		unsigned cap = a < 16 && (VBD_XS_BACKOFF_MIN_US << a) < VBD_XS_BACKOFF_MAX_US
				   ? VBD_XS_BACKOFF_MIN_US << a
				   : VBD_XS_BACKOFF_MAX_US;
		unsigned lo = ~0u, hi = 0;

		for (int i = 0; i < 64; i++) {
			unsigned us = vbd_xs_txn_backoff_us(a);
			lo = us < lo ? us : lo;
			hi = us > hi ? us : hi;
		}
		CHECK(hi <= cap && lo >= cap / 2, "attempt %u: %u..%u, window %u", a, lo, hi, cap);
		CHECK(cap >= prev_cap);
		if (a == 4)
			CHECK(lo < hi, "randomised");
		prev_cap = cap;
	}
	CHECK(prev_cap == VBD_XS_BACKOFF_MAX_US);
}

int main(void)
{
	struct xs_handle *h = xs_local_start("common_xs"), *other = xs_open(0);

	if (!other)
		return 1;
	test_reads(h);
	test_writes(h);
	test_transact(h, other);
	test_transact_einval(h, other);
	test_backoff();
	xs_close(other);
	xs_close(h);
	xs_local_stop();
	return check_done("common_xs");
}
