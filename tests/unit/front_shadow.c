/* SPDX-License-Identifier: MIT */
/* Unit tests of the frontend's pure parts: the shadow table (response ids:
 * unknown, duplicate, stale generation), the rsp_prod overrun check and
 * queue selection (shortest queue first, round robin ties). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "qselect.h"
#include "shadow.h"

static void test_shadow_basic(void)
{
	struct vbdf_shadow s;
	int a = 1, b = 2, c = 3;
	uint64_t ia, ib, ic, id;

	CHECK(vbdf_shadow_init(&s, 0) == -EINVAL);
	CHECK(vbdf_shadow_init(&s, VBDF_SHADOW_MAX_SLOTS + 1) == -EINVAL);
	CHECK(vbdf_shadow_init(&s, 2) == 0);
	CHECK(vbdf_shadow_get(&s, NULL, &id) == -ENOSPC);
	CHECK(vbdf_shadow_get(&s, &a, &ia) == 0);
	CHECK(vbdf_shadow_get(&s, &b, &ib) == 1);
	CHECK(vbdf_shadow_inflight(&s) == 2);
	CHECK(vbdf_shadow_get(&s, &c, &ic) == -ENOSPC);
	CHECK(ia != ib);
	CHECK(vbdf_shadow_lookup(&s, ia) == &a);
	CHECK(vbdf_shadow_lookup(&s, ib) == &b);

	/* Answered once: a duplicate is unknown. */
	vbdf_shadow_put(&s, ia);
	CHECK(vbdf_shadow_lookup(&s, ia) == NULL);
	CHECK(vbdf_shadow_inflight(&s) == 1);

	/* The slot is reused with a new generation: the stale id stays unknown. */
	CHECK(vbdf_shadow_get(&s, &c, &ic) == 0);
	CHECK(vbdf_shadow_slot_of(ic) == vbdf_shadow_slot_of(ia));
	CHECK(ic != ia);
	CHECK(vbdf_shadow_lookup(&s, ia) == NULL);
	CHECK(vbdf_shadow_lookup(&s, ic) == &c);

	/* Ids never handed out. */
	CHECK(vbdf_shadow_lookup(&s, 2) == NULL); /* slot out of range */
	CHECK(vbdf_shadow_lookup(&s, UINT64_MAX) == NULL);
	CHECK(vbdf_shadow_lookup(&s, ib + (1ull << 20)) == NULL); /* wrong generation */
	CHECK(vbdf_shadow_lookup(&s, ib & 0xffff) == NULL);	  /* generation 0 */

	/* put of unknown ids is harmless. */
	vbdf_shadow_put(&s, 77);
	vbdf_shadow_put(&s, ic);
	vbdf_shadow_put(&s, ic);
	CHECK(vbdf_shadow_inflight(&s) == 1);
	vbdf_shadow_destroy(&s);
}

static void test_shadow_many(void)
{
	struct vbdf_shadow s;
	uint64_t ids[64];
	int dummy[64];

	CHECK(vbdf_shadow_init(&s, 64) == 0);
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 64; i++)
			CHECK(vbdf_shadow_get(&s, &dummy[i], &ids[i]) >= 0);
		for (int i = 0; i < 64; i++)
			for (int j = i + 1; j < 64; j++)
				CHECK(ids[i] != ids[j]);
		for (int i = 63; i >= 0; i--) {
			CHECK(vbdf_shadow_lookup(&s, ids[i]) == &dummy[i]);
			vbdf_shadow_put(&s, ids[i]);
		}
		CHECK(vbdf_shadow_inflight(&s) == 0);
	}
	vbdf_shadow_destroy(&s);
}

static void test_rsp_prod(void)
{
	/* consumed 10, posted 20: 0..10 new responses are fine. */
	CHECK(vbdf_rsp_prod_valid(10, 10, 20));
	CHECK(vbdf_rsp_prod_valid(10, 20, 20));
	CHECK(!vbdf_rsp_prod_valid(10, 21, 20));
	CHECK(!vbdf_rsp_prod_valid(10, 9, 20)); /* going backwards = huge overrun */
	CHECK(!vbdf_rsp_prod_valid(10, 0x80000000u, 20));
	/* Across the 32-bit wrap. */
	CHECK(vbdf_rsp_prod_valid(0xfffffff0u, 0x00000004u, 0x00000008u));
	CHECK(!vbdf_rsp_prod_valid(0xfffffff0u, 0x00000009u, 0x00000008u));
	/* Nothing posted: nothing may be answered. */
	CHECK(vbdf_rsp_prod_valid(5, 5, 5));
	CHECK(!vbdf_rsp_prod_valid(5, 6, 5));
}

static void test_qselect(void)
{
	struct vbdf_qsel_view v[4] = {
	    {.usable = true, .inflight = 3, .free = 1},
	    {.usable = true, .inflight = 1, .free = 5},
	    {.usable = false, .inflight = 0, .free = 32},
	    {.usable = true, .inflight = 1, .free = 2},
	};

	CHECK(vbdf_qsel_pick(v, 0, 0) == -1);
	/* Shortest usable queue; ties from the hint on. */
	CHECK(vbdf_qsel_pick(v, 4, 0) == 1);
	CHECK(vbdf_qsel_pick(v, 4, 2) == 3);
	CHECK(vbdf_qsel_pick(v, 4, 3) == 3);
	CHECK(vbdf_qsel_pick(v, 4, 5) == 1); /* hint wraps */
	/* A full queue is skipped even if shortest. */
	v[1].free = 0;
	v[3].free = 0;
	CHECK(vbdf_qsel_pick(v, 4, 0) == 0);
	/* Draining / unconnected (unusable) queues never get new requests. */
	v[0].usable = false;
	CHECK(vbdf_qsel_pick(v, 4, 0) == -1);

	/* Round robin over equal idle queues spreads requests. */
	struct vbdf_qsel_view e[3] = {{true, 0, 8}, {true, 0, 8}, {true, 0, 8}};
	unsigned hint = 0, hits[3] = {0};
	for (int i = 0; i < 30; i++) {
		int q = vbdf_qsel_pick(e, 3, hint);
		CHECK(q >= 0);
		if (q >= 0) {
			hits[q]++;
			hint = (unsigned)q + 1;
		}
	}
	CHECK(hits[0] == 10 && hits[1] == 10 && hits[2] == 10);

	/* Batching: the hint queue while it has fewer than `depth` in flight,
	 * then shortest queue first; an unusable or full hint is skipped. */
	struct vbdf_qsel_view b[3] = {{true, 3, 8}, {true, 1, 8}, {true, 0, 8}};
	CHECK(vbdf_qsel_pick_batch(b, 3, 0, 4) == 0);
	CHECK(vbdf_qsel_pick_batch(b, 3, 0, 3) == 2); /* hint at depth: SQF */
	CHECK(vbdf_qsel_pick_batch(b, 3, 3, 4) == 0); /* hint wraps */
	CHECK(vbdf_qsel_pick_batch(b, 3, 0, 0) == 2); /* depth 0: SQF only */
	CHECK(vbdf_qsel_pick_batch(b, 3, 1, 1) == 2); /* depth 1: SQF only */
	b[0].free = 0;
	CHECK(vbdf_qsel_pick_batch(b, 3, 0, 8) == 2);
	b[0].free = 8;
	b[0].usable = false;
	CHECK(vbdf_qsel_pick_batch(b, 3, 0, 8) == 2);
	CHECK(vbdf_qsel_pick_batch(b, 0, 0, 8) == -1);
}

int main(void)
{
	test_shadow_basic();
	test_shadow_many();
	test_rsp_prod();
	test_qselect();
	return check_done("front_shadow");
}
