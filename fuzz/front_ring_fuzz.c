/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the frontend's response handling (frontend/src/ring.c,
 * shadow.c) against a hostile owner.  The input posts a few requests of
 * every kind on a fake-platform ring, then writes arbitrary responses and
 * rsp_prod values into the shared ring and harvests.  Invariants: no crash
 * or sanitizer report; every posted request is completed at most once;
 * harvest either consumes valid responses or reports -EPROTO; completed +
 * still-in-flight == posted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

#include "front_fake.h"
#include "fuzz_input.h"

/* A broken invariant aborts (the fuzzer's finding), unlike the unit tests'
 * counting CHECK that front_fake.h brings in. */
#undef CHECK
#define CHECK(cond) FUZZ_INVARIANT(cond)

/* The harness is the only platform: no Xen, no emulator. */
const struct vbd_platform *vbd_platform(void)
{
	return &fake;
}

#define MAXP 64
static unsigned done_count[MAXP];
static struct vbdf_part parts[MAXP];

static void done_cb(void *ctx, struct vbdf_part *p, int err)
{
	(void)ctx;
	(void)err;
	CHECK(p >= parts && p < parts + MAXP);
	done_count[p - parts]++;
	CHECK(done_count[p - parts] == 1);
}

static unsigned taken;
static void take_cb(void *ctx, struct vbdf_part *p)
{
	(void)ctx;
	CHECK(done_count[p - parts] == 0);
	taken++;
}

static char data[VBD_MAX_INDIRECT_SEGS * 4096];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("VBD_LOG", "error", 1); /* every bad response is logged: keep quiet */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct input in = {buf, len};
	struct vbdf_io io = {0};
	struct vbdf_ring *r;
	unsigned order = (unsigned)take(&in, 1) % 2, nposted = 0;
	uint64_t ids[MAXP];

	if (vbdf_ring_create(&r, 0, 7, 1, order, VBD_FRONT_MAX_POOL_PAGES) < 0)
		return 0;
	memset(done_count, 0, sizeof(done_count));
	taken = 0;
	unsigned want = (unsigned)take(&in, 1) % MAXP;
	for (unsigned i = 0; i < want && i < r->nslots; i++) {
		static const uint8_t ops[] = {BLKIF_OP_READ, BLKIF_OP_WRITE,
					      BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_DISCARD};
		uint8_t op = ops[take(&in, 1) % 4];
		uint64_t nsect = 1 + take(&in, 2) % (VBD_MAX_INDIRECT_SEGS * 8);

		parts[i] = (struct vbdf_part){
		    .io = &io, .op = op, .sector = i, .nsect = nsect, .data = data};
		if (vbdf_ring_post(r, &parts[i]) < 0)
			break;
		ids[i] = ((blkif_request_t *)RING_GET_REQUEST(&r->fr, r->fr.req_prod_pvt - 1))->id;
		nposted++;
	}
	vbdf_ring_push(r);

	blkif_sring_t *sr = r->sring_mem;
	unsigned rounds = 1 + (unsigned)take(&in, 1) % 4;
	int completed = 0, broken = 0;
	for (unsigned round = 0; round < rounds && !broken; round++) {
		unsigned nrsp = (unsigned)take(&in, 1) % (r->nslots + 4);
		RING_IDX prod = sr->rsp_prod;
		for (unsigned k = 0; k < nrsp; k++) {
			blkif_response_t *rsp = &sr->ring[(prod + k) & (r->nslots - 1)].rsp;
			uint8_t how = (uint8_t)take(&in, 1);
			if ((how & 3) && nposted) /* mostly ids we handed out */
				rsp->id = ids[take(&in, 1) % nposted];
			else
				rsp->id = take(&in, 8);
			rsp->operation =
			    (how & 4) ? (uint8_t)take(&in, 1) : parts[rsp->id & 0x3f].op;
			rsp->status = (how & 8) ? (int16_t)take(&in, 2) : 0;
		}
		if (take(&in, 1) & 1)
			sr->rsp_prod = (RING_IDX)take(&in, 4); /* hostile index */
		else
			sr->rsp_prod = prod + nrsp;
		int rc = vbdf_ring_harvest(r, done_cb, NULL);
		CHECK(rc == -EPROTO || rc >= 0);
		if (rc < 0)
			broken = 1;
		else
			completed += rc;
	}
	vbdf_ring_take_inflight(r, take_cb, NULL);
	unsigned sum = 0;
	for (unsigned i = 0; i < MAXP; i++)
		sum += done_count[i];
	CHECK(sum + taken == nposted);
	CHECK(vbdf_ring_inflight(r) == 0);
	vbdf_ring_destroy(r);
	CHECK(live_pages == 0);
	(void)completed;
	return 0;
}
