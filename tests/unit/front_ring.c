/* SPDX-License-Identifier: MIT */
/* Unit tests of one frontend ring (frontend/src/ring.c) over a fake
 * platform (grants = plain memory, a counting event channel): request
 * layouts (direct, indirect, discard, flush), persistent grants, read data
 * copy-out, and the response checks (unknown / duplicate id, wrong
 * operation, unknown status, rsp_prod overrun) that make the frontend
 * abandon a ring.  No emulator. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ring.h"

#include "front_fake.h"

/* ---- a minimal in-test backend ---------------------------------------- */
struct done_log {
	int n;
	struct vbdf_part *p[64];
	int err[64];
};
static void done_cb(void *ctx, struct vbdf_part *p, int err)
{
	struct done_log *d = ctx;
	d->p[d->n] = p;
	d->err[d->n] = err;
	d->n++;
}

static blkif_back_ring_t back(struct vbdf_ring *r)
{
	blkif_back_ring_t b;
	BACK_RING_INIT(&b, (blkif_sring_t *)r->sring_mem, VBD_PAGE_SIZE << r->order);
	return b;
}

static void respond(blkif_back_ring_t *b, uint64_t id, uint8_t op, int16_t st)
{
	blkif_response_t *rsp = RING_GET_RESPONSE(b, b->rsp_prod_pvt);
	rsp->id = id;
	rsp->operation = op;
	rsp->status = st;
	b->rsp_prod_pvt++;
	RING_PUSH_RESPONSES(b);
}

static void test_direct_rw(void)
{
	struct vbdf_ring *r;
	struct vbdf_io io = {0};
	char wbuf[3 * 4096 + 512], rbuf[8192];
	struct vbdf_part w = {.io = &io,
			      .op = BLKIF_OP_WRITE,
			      .sector = 100,
			      .nsect = sizeof(wbuf) / 512,
			      .data = wbuf};
	struct vbdf_part rd = {
	    .io = &io, .op = BLKIF_OP_READ, .sector = 8, .nsect = sizeof(rbuf) / 512, .data = rbuf};
	struct done_log d = {0};
	blkif_back_ring_t b;
	blkif_request_t req;
	unsigned nb;

	CHECK(vbdf_ring_create(&r, 0, 5, 3, 0, VBD_FRONT_MAX_POOL_PAGES) == 0);
	CHECK(r->nslots == 32);
	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (char)(i * 7 + 1);
	CHECK(vbdf_ring_post(r, &w) == 0);
	CHECK(vbdf_ring_post(r, &rd) == 0);
	CHECK(vbdf_ring_inflight(r) == 2);
	fake_evtchn.notifies = 0;
	CHECK(vbdf_ring_push(r) == 0);
	CHECK(fake_evtchn.notifies == 1); /* req_event starts at 1: the owner wants a kick */

	b = back(r);
	CHECK(b.sring->req_prod == 2);
	memcpy(&req, RING_GET_REQUEST(&b, 0), sizeof(req));
	CHECK(req.operation == BLKIF_OP_WRITE && req.nr_segments == 4 && req.sector_number == 100);
	for (unsigned s = 0; s < 4; s++) {
		CHECK(req.seg[s].first_sect == 0);
		CHECK(req.seg[s].last_sect == (s < 3 ? 7 : 0));
		CHECK(ref_dom[req.seg[s].gref] == 5);
		CHECK(ref_addr[req.seg[s].gref] &&
		      !memcmp(ref_addr[req.seg[s].gref], wbuf + s * 4096, s < 3 ? 4096 : 512));
	}
	uint64_t wid = req.id;
	memcpy(&req, RING_GET_REQUEST(&b, 1), sizeof(req));
	CHECK(req.operation == BLKIF_OP_READ && req.nr_segments == 2 && req.sector_number == 8);
	memset(ref_addr[req.seg[0].gref], 0xaa, 4096);
	memset(ref_addr[req.seg[1].gref], 0xbb, 4096);
	uint64_t rid = req.id;

	respond(&b, rid, BLKIF_OP_READ, BLKIF_RSP_OKAY);
	respond(&b, wid, BLKIF_OP_WRITE, BLKIF_RSP_ERROR);
	CHECK(vbdf_ring_harvest(r, done_cb, &d) == 2);
	CHECK(d.n == 2 && d.p[0] == &rd && d.err[0] == 0 && d.p[1] == &w && d.err[1] == -EIO);
	CHECK((unsigned char)rbuf[0] == 0xaa && (unsigned char)rbuf[4095] == 0xaa);
	CHECK((unsigned char)rbuf[4096] == 0xbb && (unsigned char)rbuf[8191] == 0xbb);
	CHECK(vbdf_ring_inflight(r) == 0);

	/* Persistent grants: the next request reuses granted pages. */
	nb = next_ref;
	CHECK(vbdf_ring_post(r, &w) == 0);
	CHECK(next_ref == nb);
	vbdf_ring_destroy(r);
	CHECK(live_pages == 0);
}

static void test_indirect_discard_flush(void)
{
	struct vbdf_ring *r;
	struct vbdf_io io = {0};
	size_t len = (size_t)VBD_MAX_INDIRECT_SEGS * 4096;
	char *buf = malloc(len);
	struct vbdf_part big = {
	    .io = &io, .op = BLKIF_OP_WRITE, .sector = 2048, .nsect = len / 512, .data = buf};
	struct vbdf_part twelve = {
	    .io = &io, .op = BLKIF_OP_READ, .sector = 0, .nsect = 12 * 8, .data = buf};
	struct vbdf_part disc = {
	    .io = &io, .op = BLKIF_OP_DISCARD, .sector = 77, .nsect = 1ull << 33};
	struct vbdf_part fl = {.io = &io, .op = BLKIF_OP_FLUSH_DISKCACHE};
	blkif_back_ring_t b;

	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(i >> 12);
	CHECK(vbdf_ring_create(&r, 1, 9, 4, 1, VBD_FRONT_MAX_POOL_PAGES) == 0);
	CHECK(r->nslots == 64);
	CHECK(vbdf_ring_post(r, &big) == 0);
	CHECK(vbdf_ring_post(r, &twelve) == 0);
	CHECK(vbdf_ring_post(r, &disc) == 0);
	CHECK(vbdf_ring_post(r, &fl) == 0);
	CHECK(vbdf_ring_push(r) == 0);
	b = back(r);

	blkif_request_indirect_t ind;
	memcpy(&ind, RING_GET_REQUEST(&b, 0), sizeof(ind));
	CHECK(ind.operation == BLKIF_OP_INDIRECT && ind.indirect_op == BLKIF_OP_WRITE);
	CHECK(ind.nr_segments == VBD_MAX_INDIRECT_SEGS && ind.sector_number == 2048);
	struct blkif_request_segment *segs = ref_addr[ind.indirect_grefs[0]];
	CHECK(segs != NULL);
	for (unsigned s = 0; segs && s < VBD_MAX_INDIRECT_SEGS; s++) {
		char *pg = ref_addr[segs[s].gref];
		CHECK(segs[s].first_sect == 0 && segs[s].last_sect == 7);
		CHECK(pg && pg[0] == (char)s && pg[4095] == (char)s);
	}
	memcpy(&ind, RING_GET_REQUEST(&b, 1), sizeof(ind));
	CHECK(ind.operation == BLKIF_OP_INDIRECT && ind.indirect_op == BLKIF_OP_READ &&
	      ind.nr_segments == 12);
	blkif_request_discard_t dr;
	memcpy(&dr, RING_GET_REQUEST(&b, 2), sizeof(dr));
	CHECK(dr.operation == BLKIF_OP_DISCARD && dr.sector_number == 77 &&
	      dr.nr_sectors == (1ull << 33));
	blkif_request_t fr;
	memcpy(&fr, RING_GET_REQUEST(&b, 3), sizeof(fr));
	CHECK(fr.operation == BLKIF_OP_FLUSH_DISKCACHE && fr.nr_segments == 0);

	/* Responses echo the operation; for indirect requests either the
	 * indirect_op (Linux blkback) or BLKIF_OP_INDIRECT. */
	blkif_request_indirect_t ind0;
	memcpy(&ind0, RING_GET_REQUEST(&b, 0), sizeof(ind0));
	struct done_log d = {0};
	respond(&b, fr.id, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_RSP_OKAY);
	respond(&b, dr.id, BLKIF_OP_DISCARD, BLKIF_RSP_EOPNOTSUPP);
	respond(&b, ind.id, BLKIF_OP_INDIRECT, BLKIF_RSP_OKAY);
	respond(&b, ind0.id, BLKIF_OP_WRITE, BLKIF_RSP_OKAY);
	CHECK(vbdf_ring_harvest(r, done_cb, &d) == 4);
	CHECK(d.n == 4 && d.err[0] == 0 && d.err[1] == -EOPNOTSUPP && d.p[2] == &twelve &&
	      d.p[3] == &big);
	CHECK(vbdf_ring_inflight(r) == 0);

	vbdf_ring_destroy(r);
	free(buf);
	CHECK(live_pages == 0);
}

static struct done_log taken;
static void take_cb(void *ctx, struct vbdf_part *p)
{
	(void)ctx;
	taken.p[taken.n++] = p;
}

static void test_take_inflight(void)
{
	struct vbdf_ring *r;
	struct vbdf_io io = {0};
	char buf[4096];
	struct vbdf_part p[3];

	CHECK(vbdf_ring_create(&r, 0, 5, 3, 0, VBD_FRONT_MAX_POOL_PAGES) == 0);
	for (int i = 0; i < 3; i++) {
		p[i] = (struct vbdf_part){.io = &io,
					  .op = BLKIF_OP_READ,
					  .sector = (uint64_t)i * 8,
					  .nsect = 8,
					  .data = buf};
		CHECK(vbdf_ring_post(r, &p[i]) == 0);
	}
	taken.n = 0;
	vbdf_ring_take_inflight(r, take_cb, NULL);
	CHECK(taken.n == 3);
	CHECK(vbdf_ring_inflight(r) == 0);
	vbdf_ring_destroy(r);
}

/* A bad response: harvest must stop at it with -EPROTO. */
static void bad_case(const char *what,
		     void (*make)(blkif_back_ring_t *b, uint64_t id0, uint64_t id1),
		     int expect_before)
{
	struct vbdf_ring *r;
	struct vbdf_io io = {0};
	char buf[2][4096];
	struct vbdf_part p[2];
	struct done_log d = {0};
	blkif_back_ring_t b;
	blkif_request_t rq0, rq1;

	CHECK(vbdf_ring_create(&r, 0, 5, 3, 0, VBD_FRONT_MAX_POOL_PAGES) == 0);
	for (int i = 0; i < 2; i++) {
		p[i] =
		    (struct vbdf_part){.io = &io, .op = BLKIF_OP_READ, .nsect = 8, .data = buf[i]};
		CHECK(vbdf_ring_post(r, &p[i]) == 0);
	}
	vbdf_ring_push(r);
	b = back(r);
	memcpy(&rq0, RING_GET_REQUEST(&b, 0), sizeof(rq0));
	memcpy(&rq1, RING_GET_REQUEST(&b, 1), sizeof(rq1));
	make(&b, rq0.id, rq1.id);
	int rc = vbdf_ring_harvest(r, done_cb, &d);
	if (rc != -EPROTO || d.n != expect_before) {
		check_failf("bad case '%s': harvest %d, %d accepted (want -EPROTO, %d)\n", what, rc,
			    d.n, expect_before);
	}
	vbdf_ring_destroy(r);
}

static void mk_unknown(blkif_back_ring_t *b, uint64_t id0, uint64_t id1)
{
	(void)id1;
	respond(b, id0 ^ (1ull << 40), BLKIF_OP_READ, 0);
}
static void mk_duplicate(blkif_back_ring_t *b, uint64_t id0, uint64_t id1)
{
	(void)id1;
	respond(b, id0, BLKIF_OP_READ, 0);
	respond(b, id0, BLKIF_OP_READ, 0);
}
static void mk_wrong_op(blkif_back_ring_t *b, uint64_t id0, uint64_t id1)
{
	respond(b, id1, BLKIF_OP_READ, 0);
	respond(b, id0, BLKIF_OP_WRITE, 0);
}
static void mk_bad_status(blkif_back_ring_t *b, uint64_t id0, uint64_t id1)
{
	(void)id1;
	respond(b, id0, BLKIF_OP_READ, 42);
}
static void mk_overrun(blkif_back_ring_t *b, uint64_t id0, uint64_t id1)
{
	respond(b, id0, BLKIF_OP_READ, 0);
	respond(b, id1, BLKIF_OP_READ, 0);
	b->sring->rsp_prod = 3; /* more responses than requests */
}
static void mk_backwards(blkif_back_ring_t *b, uint64_t id0, uint64_t id1)
{
	(void)id0;
	(void)id1;
	b->sring->rsp_prod = (RING_IDX)-5;
}

int main(void)
{
	vbd_front_platform = &fake;
	/* Grant budget per ring: the member's cache, less with many queues,
	 * never less than one maximal request. */
	CHECK(vbdf_pool_pages(1) == VBD_FRONT_MAX_POOL_PAGES);
	CHECK(vbdf_pool_pages(16) == VBD_FRONT_MAX_POOL_PAGES);
	CHECK(vbdf_pool_pages(32) == VBD_FRONT_GRANT_BUDGET / 32);
	CHECK(vbdf_pool_pages(64) == VBDF_RING_SLOT_PAGES);
	{
		struct vbdf_ring *r;
		CHECK(vbdf_ring_create(&r, 0, 5, 3, 0, VBDF_RING_SLOT_PAGES - 1) == -EINVAL);
	}
	test_direct_rw();
	test_indirect_discard_flush();
	test_take_inflight();
	bad_case("unknown id", mk_unknown, 0);
	bad_case("duplicate id", mk_duplicate, 1);
	bad_case("wrong operation", mk_wrong_op, 1);
	bad_case("unknown status", mk_bad_status, 0);
	bad_case("rsp_prod overrun", mk_overrun, 0);
	bad_case("rsp_prod backwards", mk_backwards, 0);
	CHECK(live_pages == 0);
	return check_done("front_ring");
}
