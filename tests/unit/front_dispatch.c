/* SPDX-License-Identifier: MIT */
/* Unit tests of the device's request handling without Xen or XenStore:
 * a device with three fake-platform rings; checks shortest-queue-first
 * spreading, splitting of large I/O, FUA (write, then a flush for each
 * owner of the queues that took a part), a guest flush once per owner,
 * draining queues, the pending FIFO when rings are full,
 * abandoning a ring (responses taken, in-flight requests re-posted on the
 * queue's next ring only once it is connected), BLKIF_RSP_ERROR reaching
 * the caller, a broken ring, failing everything on close, and newer writes
 * held back while they overlap writes lost with a member. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "device.h"

#include "front_fake.h"

#define NQ 3

/* ---- a device around fake rings ---------------------------------------- */
/* nctx contexts (no threads): queue q is context q % nctx's. */
static struct vbd_front *dev_new_ctx(unsigned nctx)
{
	struct vbd_front *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->nq = NQ;
	f->x.size = 1ull << 30;
	CHECK(vbdf_ctx_init(f, nctx) == 0);
	f->wseq = 1; /* as vbd_front_open: nothing known durable yet */
	for (unsigned q = 0; q < NQ; q++) {
		f->q[q] = (struct vbdf_queue){
		    .idx = q,
		    .rec = {.owner = 10 + q, .epoch = 1, .state = VBD_Q_CONNECTED},
		    .wdone_seq = 1};
		CHECK(vbdf_ring_create(&f->q[q].ring, q, (vbd_domid_t)(10 + q), 1, 0,
				       VBD_FRONT_MAX_POOL_PAGES) == 0);
		f->q[q].ring->connected = true;
	}
	return f;
}

static struct vbd_front *dev_new(void)
{
	return dev_new_ctx(1);
}

static void dev_free(struct vbd_front *f)
{
	vbdf_fail_all(f, -ESHUTDOWN, false);
	vbdf_ctx_free(f);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

/* ---- the owner's side -------------------------------------------------- */
struct seen {
	unsigned n;
	uint8_t op[256], iop[256];
};

/* Answers every request on ring r with status st; notes what it saw. */
static unsigned serve(struct vbdf_ring *r, int16_t st, struct seen *s)
{
	blkif_sring_t *sr = r->sring_mem;
	RING_IDX rp = sr->req_prod, rc, rsp = sr->rsp_prod;
	unsigned n = 0;

	for (rc = rsp; rc != rp; rc++) { /* test owner: requests answered in order */
		blkif_request_t req;
		blkif_response_t *out;

		memcpy(&req, &sr->ring[rc & (r->nslots - 1)].req, sizeof(req));
		if (s && s->n < 256) {
			s->op[s->n] = req.operation;
			s->iop[s->n] = req.operation == BLKIF_OP_INDIRECT
					   ? ((blkif_request_indirect_t *)&req)->indirect_op
					   : req.operation;
			s->n++;
		}
		out = &sr->ring[rsp & (r->nslots - 1)].rsp;
		out->id = req.id;
		out->operation = req.operation;
		out->status = st;
		rsp++;
		n++;
	}
	sr->rsp_prod = rsp;
	return n;
}

/* What the event thread does after an event on queue q. */
static void harvest(struct vbd_front *f, unsigned q)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = vbdf_ring_harvest(f->q[q].ring, vbdf_ring_done_cb, f);
	CHECK(rc >= 0);
	vbdf_dispatch(f);
	vbdf_push_all(f);
	pthread_mutex_unlock(&f->lock);
	vbdf_run_done(f);
}

static void serve_all(struct vbd_front *f, int16_t st)
{
	for (int round = 0; round < 8; round++) {
		unsigned n = 0;
		for (unsigned q = 0; q < NQ; q++)
			if (f->q[q].ring && f->q[q].ring->connected) {
				n += serve(f->q[q].ring, st, NULL);
				harvest(f, q);
			}
		if (!n)
			break;
	}
}

/* ---- callbacks ------------------------------------------------------------ */
struct res {
	int calls, err;
};
static void cb(void *arg, int err)
{
	struct res *r = arg;
	r->calls++;
	r->err = err;
}

static char buf[4 << 20];

static void test_sqf(void)
{
	struct vbd_front *f = dev_new();
	struct res r[6] = {{0}};

	for (int i = 0; i < 6; i++)
		CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, (uint64_t)i * 4096, 4096, cb,
				       &r[i]) == 0);
	for (unsigned q = 0; q < NQ; q++)
		CHECK(vbdf_ring_inflight(f->q[q].ring) == 2);
	serve_all(f, BLKIF_RSP_OKAY);
	for (int i = 0; i < 6; i++)
		CHECK(r[i].calls == 1 && r[i].err == 0);
	CHECK(f->nios == 0);

	/* A loaded queue is avoided. */
	struct res a[4] = {{0}};
	for (int i = 0; i < 2; i++)
		CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &a[i]) == 0);
	serve(f->q[1].ring, BLKIF_RSP_OKAY, NULL);
	harvest(f, 1); /* queue 0 has one in flight, queues 1 and 2 none */
	CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &a[2]) == 0);
	CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &a[3]) == 0);
	CHECK(vbdf_ring_inflight(f->q[0].ring) == 1);
	serve_all(f, BLKIF_RSP_OKAY);
	dev_free(f);
}

/* Batching (o.queue_batch): new requests stay on the last queue until it
 * has queue_batch in flight, then go shortest queue first. */
static void test_batch(void)
{
	struct vbd_front *f = dev_new();
	struct res r[8] = {{0}};
	unsigned n[NQ], most = 0, total = 0;

	f->o.queue_batch = 4;
	for (int i = 0; i < 8; i++)
		CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, (uint64_t)i * 4096, 4096, cb,
				       &r[i]) == 0);
	for (unsigned q = 0; q < NQ; q++) {
		n[q] = vbdf_ring_inflight(f->q[q].ring);
		most = n[q] > most ? n[q] : most;
		total += n[q];
	}
	/* 4 on the first queue; then SQF picks an empty one, which becomes
	 * the last queue used and fills the same way */
	CHECK(total == 8 && most == 4 && n[0] == 4 && n[1] == 4 && n[2] == 0);
	serve_all(f, BLKIF_RSP_OKAY);
	for (int i = 0; i < 8; i++)
		CHECK(r[i].calls == 1 && r[i].err == 0);
	CHECK(f->nios == 0);
	dev_free(f);
}

static void test_split_fua(void)
{
	struct vbd_front *f = dev_new();
	struct res r = {0};
	struct seen s[NQ] = {{0}};

	/* 2 MiB FUA write: two 1 MiB indirect requests on two queues ... */
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, VBD_IO_FUA, buf, 0, 2 << 20, cb, &r) == 0);
	unsigned used = 0;
	for (unsigned q = 0; q < NQ; q++)
		used += vbdf_ring_inflight(f->q[q].ring);
	CHECK(used == 2);
	for (unsigned q = 0; q < NQ; q++) {
		serve(f->q[q].ring, BLKIF_RSP_OKAY, &s[q]);
		harvest(f, q);
	}
	CHECK(r.calls == 0); /* ... then a flush on each of those two queues */
	unsigned flushes = 0;
	for (unsigned q = 0; q < NQ; q++) {
		unsigned before = s[q].n;
		serve(f->q[q].ring, BLKIF_RSP_OKAY, &s[q]);
		for (unsigned k = before; k < s[q].n; k++)
			flushes += s[q].op[k] == BLKIF_OP_FLUSH_DISKCACHE;
		if (s[q].n > before)
			CHECK(before == 1 && s[q].op[0] == BLKIF_OP_INDIRECT &&
			      s[q].iop[0] == BLKIF_OP_WRITE);
		harvest(f, q);
	}
	CHECK(flushes == 2);
	CHECK(r.calls == 1 && r.err == 0);

	/* A guest flush goes to every owner with writes not yet flushed: the
	 * FUA's flushes covered the two queues that took its parts; the third
	 * has not been flushed since the device was opened. */
	struct res fl = {0};
	struct seen t[NQ] = {{0}};
	unsigned fq = 0, nfl = 0;
	for (unsigned q = 0; q < NQ; q++)
		if (!s[q].n)
			fq = q;
	CHECK(vbd_front_submit(f, VBD_IO_FLUSH, 0, NULL, 0, 0, cb, &fl) == 0);
	for (unsigned q = 0; q < NQ; q++) {
		serve(f->q[q].ring, BLKIF_RSP_OKAY, &t[q]);
		nfl += t[q].n;
		if (q == fq)
			CHECK(t[q].n == 1 && t[q].op[0] == BLKIF_OP_FLUSH_DISKCACHE);
		harvest(f, q);
	}
	CHECK(nfl == 1, "%u flushes, want 1 (queue %u)", nfl, fq);
	CHECK(fl.calls == 1 && fl.err == 0);

	/* Bad arguments. */
	CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 100, 4096, cb, &r) == -EINVAL);
	CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 1000, cb, &r) == -EINVAL);
	CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, (1ull << 30) - 512, 1024, cb, &r) ==
	      -EINVAL);
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0x80, buf, 0, 512, cb, &r) == -EINVAL);
	dev_free(f);
}

/* One flush per owner: queues 0 and 2 have the same owner (dom10), so a
 * guest flush goes to queues 0 and 1 only, and a FUA write whose parts
 * went to all three queues ends with a flush on queues 0 and 1. */
static void test_flush_per_owner(void)
{
	struct vbd_front *f = dev_new();
	struct res fl = {0}, w = {0};
	struct seen t[NQ] = {{0}};
	unsigned flushes[NQ] = {0}, parts = 0;

	f->q[2].rec.owner = 10;
	CHECK(vbd_front_submit(f, VBD_IO_FLUSH, 0, NULL, 0, 0, cb, &fl) == 0);
	for (unsigned q = 0; q < NQ; q++) {
		serve(f->q[q].ring, BLKIF_RSP_OKAY, &t[q]);
		CHECK(t[q].n == (q == 2 ? 0u : 1u), "queue %u: %u flush(es)", q, t[q].n);
		harvest(f, q);
	}
	CHECK(fl.calls == 1 && fl.err == 0);

	memset(t, 0, sizeof(t));
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, VBD_IO_FUA, buf, 0, 3 << 20, cb, &w) == 0);
	for (unsigned q = 0; q < NQ; q++)
		parts += vbdf_ring_inflight(f->q[q].ring);
	CHECK(parts == 3, "3 MiB in %u parts", parts);
	for (int round = 0; round < 2; round++)
		for (unsigned q = 0; q < NQ; q++) {
			unsigned before = t[q].n;
			serve(f->q[q].ring, BLKIF_RSP_OKAY, &t[q]);
			for (unsigned k = before; k < t[q].n; k++)
				flushes[q] += t[q].op[k] == BLKIF_OP_FLUSH_DISKCACHE;
			harvest(f, q);
		}
	CHECK(flushes[0] == 1 && flushes[1] == 1 && flushes[2] == 0,
	      "FUA flushes per queue %u %u %u, want 1 1 0", flushes[0], flushes[1], flushes[2]);
	CHECK(w.calls == 1 && w.err == 0);
	dev_free(f);
}

/* A flush skips what is already durable (QEMU's write_gen/flushed_gen):
 * after a flush, another with no write since answers without a request;
 * a write on one owner's queue makes the next flush go to that owner only;
 * and a flush covers only the writes answered before it was sent: one
 * answered while it was out is flushed by the next. */
static void test_flush_skip(void)
{
	struct vbd_front *f = dev_new();
	struct res fl = {0}, w = {0};
	struct seen t[NQ];
	unsigned n, wq = NQ;

	memset(t, 0, sizeof(t));
	CHECK(vbd_front_submit(f, VBD_IO_FLUSH, 0, NULL, 0, 0, cb, &fl) == 0);
	serve_all(f, BLKIF_RSP_OKAY);
	CHECK(fl.calls == 1 && fl.err == 0);
	CHECK(vbd_front_submit(f, VBD_IO_FLUSH, 0, NULL, 0, 0, cb, &fl) == 0);
	n = 0;
	for (unsigned q = 0; q < NQ; q++)
		n += vbdf_ring_inflight(f->q[q].ring);
	vbdf_run_done(f);
	CHECK(n == 0 && fl.calls == 2 && fl.err == 0 && f->flushes_skipped == 1,
	      "a flush with nothing written since the last: %u request(s), %d call(s)", n,
	      fl.calls);

	CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, 0, 4096, cb, &w) == 0);
	for (unsigned q = 0; q < NQ; q++)
		if (vbdf_ring_inflight(f->q[q].ring))
			wq = q;
	serve_all(f, BLKIF_RSP_OKAY);
	CHECK(w.calls == 1 && wq < NQ);
	CHECK(vbd_front_submit(f, VBD_IO_FLUSH, 0, NULL, 0, 0, cb, &fl) == 0);
	for (unsigned q = 0; q < NQ; q++) {
		serve(f->q[q].ring, BLKIF_RSP_OKAY, &t[q]);
		CHECK(t[q].n == (q == wq ? 1u : 0u), "queue %u: %u flush(es) after a write on %u",
		      q, t[q].n, wq);
		harvest(f, q);
	}
	CHECK(fl.calls == 3 && fl.err == 0);

	/* one owner for every queue: a flush goes to queue 0; a write
	 * answered on another queue while it is out is not covered by it */
	for (unsigned q = 0; q < NQ; q++)
		f->q[q].rec.owner = 10;
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, 0, 4096, cb, &w) == 0);
	serve_all(f, BLKIF_RSP_OKAY);
	CHECK(vbd_front_submit(f, VBD_IO_FLUSH, 0, NULL, 0, 0, cb, &fl) == 0);
	CHECK(vbdf_ring_inflight(f->q[0].ring) == 1, "the flush on queue 0");
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, 8192, 4096, cb, &w) == 0);
	wq = NQ;
	for (unsigned q = 1; q < NQ; q++)
		if (vbdf_ring_inflight(f->q[q].ring))
			wq = q;
	CHECK(wq < NQ, "the write beside the flush");
	if (wq < NQ) {
		serve(f->q[wq].ring, BLKIF_RSP_OKAY, NULL); /* the write first */
		harvest(f, wq);
	}
	serve(f->q[0].ring, BLKIF_RSP_OKAY, NULL); /* then the flush */
	harvest(f, 0);
	CHECK(fl.calls == 4 && w.calls == 3);
	memset(t, 0, sizeof(t));
	CHECK(vbd_front_submit(f, VBD_IO_FLUSH, 0, NULL, 0, 0, cb, &fl) == 0);
	serve(f->q[0].ring, BLKIF_RSP_OKAY, &t[0]);
	harvest(f, 0);
	CHECK(t[0].n == 1 && fl.calls == 5,
	      "a write answered while a flush was out: the next flush is sent (%u)", t[0].n);
	dev_free(f);
}

static void test_draining_and_error(void)
{
	struct vbd_front *f = dev_new();
	struct res r[4] = {{0}};

	f->q[0].ring->draining = true;
	f->q[2].ring->draining = true;
	for (int i = 0; i < 3; i++)
		CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, 0, 4096, cb, &r[i]) == 0);
	CHECK(vbdf_ring_inflight(f->q[0].ring) == 0);
	CHECK(vbdf_ring_inflight(f->q[1].ring) == 3);
	CHECK(vbdf_ring_inflight(f->q[2].ring) == 0);
	serve(f->q[1].ring, BLKIF_RSP_ERROR, NULL);
	harvest(f, 1);
	for (int i = 0; i < 3; i++)
		CHECK(r[i].calls == 1 && r[i].err == -EIO);
	CHECK(f->errors == 3);
	dev_free(f);
}

static void test_pending_fifo(void)
{
	struct vbd_front *f = dev_new();
	enum { N = 3 * 32 + 10 };
	static struct res r[N];

	memset(r, 0, sizeof(r));
	for (int i = 0; i < N; i++)
		CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &r[i]) == 0);
	CHECK(f->npending == 10);
	serve_all(f, BLKIF_RSP_OKAY);
	CHECK(f->npending == 0);
	for (int i = 0; i < N; i++)
		CHECK(r[i].calls == 1 && r[i].err == 0);
	dev_free(f);
}

static void test_repost(void)
{
	struct vbd_front *f = dev_new();
	struct res r[6] = {{0}};
	struct vbdf_ring *old, *fresh;

	for (int i = 0; i < 6; i++)
		CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, (uint64_t)i * 4096, 4096, cb,
				       &r[i]) == 0);
	/* The owner of queue 0 answered one of its two before the hand-off. */
	blkif_sring_t *sr = f->q[0].ring->sring_mem;
	blkif_request_t req;
	memcpy(&req, &sr->ring[0].req, sizeof(req));
	sr->ring[0].rsp.id = req.id;
	sr->ring[0].rsp.operation = req.operation;
	sr->ring[0].rsp.status = BLKIF_RSP_OKAY;
	sr->rsp_prod = 1;

	pthread_mutex_lock(&f->lock);
	old = vbdf_abandon_ring(f, 0, false, -1);
	pthread_mutex_unlock(&f->lock);
	vbdf_ring_destroy(old);
	vbdf_run_done(f);
	CHECK(f->q[0].nbound == 1 && f->reposted == 1);
	int done = 0;
	for (int i = 0; i < 6; i++)
		done += r[i].calls;
	CHECK(done == 1);

	/* The new owner's ring: nothing goes there before it connects, and
	 * new requests avoid the queue meanwhile. */
	CHECK(vbdf_ring_create(&fresh, 0, 20, 2, 0, VBD_FRONT_MAX_POOL_PAGES) == 0);
	pthread_mutex_lock(&f->lock);
	f->q[0].ring = fresh;
	vbdf_dispatch(f);
	pthread_mutex_unlock(&f->lock);
	CHECK(vbdf_ring_inflight(fresh) == 0);
	struct res late = {0};
	CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &late) == 0);
	CHECK(vbdf_ring_inflight(fresh) == 0);
	pthread_mutex_lock(&f->lock);
	fresh->connected = true;
	vbdf_dispatch(f);
	vbdf_push_all(f);
	pthread_mutex_unlock(&f->lock);
	CHECK(vbdf_ring_inflight(fresh) == 1);
	CHECK(f->q[0].nbound == 0);
	serve_all(f, BLKIF_RSP_OKAY);
	for (int i = 0; i < 6; i++)
		CHECK(r[i].calls == 1 && r[i].err == 0);
	CHECK(late.calls == 1);
	dev_free(f);
}

static unsigned total_inflight(struct vbd_front *f)
{
	unsigned n = 0;

	for (unsigned q = 0; q < NQ; q++)
		if (f->q[q].ring)
			n += vbdf_ring_inflight(f->q[q].ring);
	return n;
}

/* A queue taken over without a hand-off (its owner lost) with a write in
 * flight: that write's range is recorded; a newer write overlapping it is
 * held back (only it: a write elsewhere and a read of the range go on);
 * the old write itself is re-posted; once the owner is drained the held
 * write goes.  A deadline (storage timeout) releases too. */
static void test_lost_hold(void)
{
	struct vbd_front *f = dev_new();
	struct res w0 = {0}, wnew = {0}, wfar = {0}, rd = {0}, wpart = {0};
	struct vbdf_ring *old;
	int lq = -1;

	f->abandon_lost_owner = -1;
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, 8192, 4096, cb, &w0) == 0);
	for (unsigned q = 0; q < NQ; q++)
		if (vbdf_ring_inflight(f->q[q].ring))
			lq = (int)q;
	CHECK(lq >= 0);
	pthread_mutex_lock(&f->lock);
	old = vbdf_abandon_ring(f, (unsigned)lq, false, 10 + lq);
	pthread_mutex_unlock(&f->lock);
	vbdf_ring_destroy(old);
	CHECK(f->lost.n == 1 && f->lost.r[0].owner == 10 + lq && f->lost.r[0].sector == 16 &&
	      f->lost.r[0].nsect == 8);
	CHECK(f->q[lq].nbound == 1); /* the lost write itself is re-posted later */

	/* overlapping by one sector at each end, and not at all */
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, 8192 + 3584, 4096, cb, &wnew) == 0);
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, 8192 - 3584, 4096, cb, &wpart) == 0);
	CHECK(vbd_front_submit(f, VBD_IO_WRITE, 0, buf, 8192 + 4096, 4096, cb, &wfar) == 0);
	CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 8192, 4096, cb, &rd) == 0);
	CHECK(f->nheld == 2 && f->held_total == 2 && f->npending == 0);
	CHECK(total_inflight(f) == 2); /* the far write and the read */
	serve_all(f, BLKIF_RSP_OKAY);
	CHECK(wfar.calls == 1 && rd.calls == 1 && wnew.calls == 0 && wpart.calls == 0);

	/* drained: the held writes go, in their order */
	pthread_mutex_lock(&f->lock);
	CHECK(vbdf_lostw_drop_owner(&f->lost, (uint16_t)(10 + lq)) == 1);
	CHECK(vbdf_unhold(f) == 2);
	vbdf_dispatch(f);
	vbdf_push_all(f);
	pthread_mutex_unlock(&f->lock);
	CHECK(f->nheld == 0 && total_inflight(f) == 2);
	serve_all(f, BLKIF_RSP_OKAY);
	CHECK(wnew.calls == 1 && wnew.err == 0 && wpart.calls == 1);
	CHECK(w0.calls == 0); /* still bound to the queue without a ring */

	/* a deadline releases as well; an open-ended range never expires */
	CHECK(vbdf_lostw_add(&f->lost, 7, 100, 8, 1000) == 0);
	CHECK(vbdf_lostw_add(&f->lost, 8, 200, 8, 0) == 0);
	CHECK(vbdf_lostw_next_deadline(&f->lost) == 1000);
	uint16_t who = 0;
	CHECK(vbdf_lostw_expire(&f->lost, 999, &who) == 0);
	CHECK(vbdf_lostw_expire(&f->lost, 1000, &who) == 1 && who == 7);
	CHECK(vbdf_lostw_overlaps(&f->lost, 207, 1) && !vbdf_lostw_overlaps(&f->lost, 208, 8) &&
	      !vbdf_lostw_overlaps(&f->lost, 100, 8));
	uint16_t owners[4];
	CHECK(vbdf_lostw_owners(&f->lost, owners, 4) == 1 && owners[0] == 8);
	vbdf_lostw_free(&f->lost);
	dev_free(f);
	CHECK(w0.calls == 1 && w0.err == -ESHUTDOWN);
}

static void test_broken_and_close(void)
{
	struct vbd_front *f = dev_new();
	struct res r[3] = {{0}};

	for (int i = 0; i < 3; i++)
		CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &r[i]) == 0);
	/* Queue 1's owner answers an id it never got: the ring is abandoned,
	 * its request waits for the queue's next epoch. */
	blkif_sring_t *sr = f->q[1].ring->sring_mem;
	sr->ring[0].rsp.id = 0xdead0000ull;
	sr->ring[0].rsp.operation = BLKIF_OP_READ;
	sr->ring[0].rsp.status = 0;
	sr->rsp_prod = 1;
	pthread_mutex_lock(&f->lock);
	CHECK(vbdf_ring_harvest(f->q[1].ring, vbdf_ring_done_cb, f) == -EPROTO);
	struct vbdf_ring *old = vbdf_abandon_ring(f, 1, true, -1);
	pthread_mutex_unlock(&f->lock);
	vbdf_ring_destroy(old);
	CHECK(f->bad == 1 && f->q[1].broken_epoch == 1 && f->q[1].nbound == 1);
	CHECK(r[1].calls == 0);
	/* Closing fails what is left, exactly once each. */
	vbdf_fail_all(f, -ESHUTDOWN, false);
	for (int i = 0; i < 3; i++)
		CHECK(r[i].calls == 1 && r[i].err == -ESHUTDOWN);
	CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &r[0]) == -ESHUTDOWN);
	CHECK(f->nios == 0);
	dev_free(f);
}

static unsigned done_on(struct vbdf_ctx *c)
{
	unsigned n = 0;

	for (struct vbdf_io *io = c->done; io; io = io->done_next) {
		CHECK(io->ctx == c);
		n++;
	}
	return n;
}

/* Answers and harvests every queue, leaving the callbacks to run. */
static void answer_all(struct vbd_front *f)
{
	for (unsigned q = 0; q < NQ; q++) {
		serve(f->q[q].ring, BLKIF_RSP_OKAY, NULL);
		pthread_mutex_lock(&f->lock);
		CHECK(vbdf_ring_harvest(f->q[q].ring, vbdf_ring_done_cb, f) >= 0);
		pthread_mutex_unlock(&f->lock);
	}
}

/* Two contexts (queues 0 and 2 are context 0's, queue 1 context 1's): a
 * request submitted on a context's thread goes to that context's queues
 * only, completes onto that context's list and its callback runs on that
 * context's thread; a flush goes to every queue and still completes on
 * the context that submitted it; a thread that is no context's avoids a
 * context without a queue taking requests. */
static void test_contexts(void)
{
	struct vbd_front *f = dev_new_ctx(2);
	struct res r[8] = {{0}}, fl = {0}, o[4] = {{0}};

	CHECK(f->nctx == 2 && f->ctx[0].qmask == 5 && f->ctx[1].qmask == 2);
	vbdf_ctx_enter(&f->ctx[1]);
	for (int i = 0; i < 4; i++)
		CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &r[i]) == 0);
	CHECK(vbdf_ring_inflight(f->q[1].ring) == 4);
	CHECK(vbdf_ring_inflight(f->q[0].ring) == 0 && vbdf_ring_inflight(f->q[2].ring) == 0);
	vbdf_ctx_enter(&f->ctx[0]);
	for (int i = 4; i < 8; i++)
		CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &r[i]) == 0);
	CHECK(vbdf_ring_inflight(f->q[1].ring) == 4);
	CHECK(vbdf_ring_inflight(f->q[0].ring) + vbdf_ring_inflight(f->q[2].ring) == 4);
	pthread_mutex_lock(&f->lock);
	vbdf_push_all(f); /* a context's thread pushes at the end of its turn */
	pthread_mutex_unlock(&f->lock);
	answer_all(f);
	CHECK(done_on(&f->ctx[0]) == 4 && done_on(&f->ctx[1]) == 4);
	vbdf_ctx_enter(&f->ctx[1]); /* context 1's thread runs its callbacks only */
	vbdf_run_done(f);
	for (int i = 0; i < 8; i++)
		CHECK(r[i].calls == (i < 4));
	CHECK(done_on(&f->ctx[0]) == 4 && done_on(&f->ctx[1]) == 0);
	vbdf_ctx_enter(&f->ctx[0]);
	vbdf_run_done(f);
	for (int i = 0; i < 8; i++)
		CHECK(r[i].calls == 1 && r[i].err == 0);

	/* a flush from context 1: one part per queue, completed on context 1 */
	vbdf_ctx_enter(&f->ctx[1]);
	CHECK(vbd_front_submit(f, VBD_IO_FLUSH, 0, NULL, 0, 0, cb, &fl) == 0);
	for (unsigned q = 0; q < NQ; q++)
		CHECK(vbdf_ring_inflight(f->q[q].ring) == 1);
	pthread_mutex_lock(&f->lock);
	vbdf_push_all(f);
	pthread_mutex_unlock(&f->lock);
	answer_all(f);
	CHECK(done_on(&f->ctx[0]) == 0 && done_on(&f->ctx[1]) == 1);
	vbdf_run_done(f);
	CHECK(fl.calls == 1 && fl.err == 0);

	/* another thread, context 1 without a connected queue: context 0 */
	vbdf_ctx_enter(NULL);
	f->q[1].ring->connected = false;
	for (int i = 0; i < 4; i++)
		CHECK(vbd_front_submit(f, VBD_IO_READ, 0, buf, 0, 4096, cb, &o[i]) == 0);
	CHECK(vbdf_ring_inflight(f->q[1].ring) == 0);
	CHECK(vbdf_ring_inflight(f->q[0].ring) + vbdf_ring_inflight(f->q[2].ring) == 4);
	answer_all(f);
	vbdf_run_done(f); /* no context's thread: every list */
	for (int i = 0; i < 4; i++)
		CHECK(o[i].calls == 1 && o[i].err == 0);
	CHECK(f->nios == 0);
	dev_free(f);
}

int main(void)
{
	vbd_front_platform = &fake;
	test_sqf();
	test_batch();
	test_split_fua();
	test_flush_per_owner();
	test_flush_skip();
	test_draining_and_error();
	test_pending_fifo();
	test_repost();
	test_lost_hold();
	test_broken_and_close();
	test_contexts();
	CHECK(live_pages == 0);
	return check_done("front_dispatch");
}
