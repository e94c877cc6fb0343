/* SPDX-License-Identifier: MIT */
/* Following the queue owners (control path, event thread): a new owner
 * epoch gets a fresh ring published in XenStore, the old ring's responses
 * are taken and its requests re-posted on the new one; dom0's detach and
 * the attachment's removal end the device. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/blkif.h"
#include "vbdpool/log.h"
#include "device.h"
#include "qselect.h"
#include "ring.h"
#include "xsfront.h"

/* ---- ownership changes (event thread) ------------------------------------- */

static void orphan_cb(void *ctx, struct vbdf_part *p)
{
	struct vbd_front *f = ctx;

	if (f->abandon_lost_owner >= 0 && (p->op == BLKIF_OP_WRITE || p->op == BLKIF_OP_DISCARD) &&
	    vbdf_lostw_add(&f->lost, (uint16_t)f->abandon_lost_owner, p->sector, p->nsect,
			   f->o.drain_timeout_ms
			       ? vbd_apoll_now() + (uint64_t)f->o.drain_timeout_ms * 1000000u
			       : 0) < 0)
		log_err("front: queue %u: out of memory recording a write lost with dom%d: a "
			"newer write to sectors %llu+%llu is not held back",
			(unsigned)p->q, f->abandon_lost_owner, (unsigned long long)p->sector,
			(unsigned long long)p->nsect);
	f->reposted++;
	vbdf_bind_part(f, (unsigned)p->q, p);
}

/* Stops using queue q's ring (lock held); returns it for destruction
 * outside the lock.  Responses already on it are taken first unless the
 * owner broke the protocol; requests still in flight are bound to the
 * queue for re-posting on its next epoch's ring. */
struct vbdf_ring *vbdf_abandon_ring(struct vbd_front *f, unsigned q, bool broken, int lost_owner)
{
	struct vbdf_queue *qu = &f->q[q];
	struct vbdf_ring *r = qu->ring;
	unsigned nlost = f->lost.n;

	if (!r)
		return NULL;
	if (!broken && vbdf_ring_harvest(r, vbdf_ring_done_cb, f) == -EPROTO)
		broken = true;
	if (broken) {
		qu->broken_epoch = r->epoch;
		f->bad++;
		log_warn("front: queue %u: abandoning the ring of dom%u epoch %llu (protocol "
			 "violation); its requests wait for the next owner",
			 q, r->owner, (unsigned long long)r->epoch);
		/* tell the owner (queue-<q>/abandoned), or the queue would wait
		 * for an owner change nothing else brings: context 0 writes it */
		__atomic_fetch_or(&f->abandon_pub, 1ull << q, __ATOMIC_RELAXED);
		if (vbdf_ctx_self(f) != &f->ctx[0])
			vbdf_ctx_wake(&f->ctx[0]);
	}
	f->abandon_lost_owner = lost_owner;
	vbdf_ring_take_inflight(r, orphan_cb, f);
	f->abandon_lost_owner = -1;
	if (f->lost.n > nlost)
		log_warn("front: queue %u: dom%u was taken over with %u write(s) in flight: newer "
			 "writes to those sectors wait until it is drained (at most %u ms)",
			 q, r->owner, f->lost.n - nlost, f->o.drain_timeout_ms);
	qu->ring = NULL;
	f->push_mask &= ~(1ull << q);
	return r;
}

struct fail_ctx {
	struct vbd_front *f;
	int err;
};

static void fail_cb(void *ctx, struct vbdf_part *p)
{
	struct fail_ctx *c = ctx;

	vbdf_part_done(c->f, p, c->err);
}

/* Fails every request of queue q (lock held): the device is gone or
 * closed.  Returns its ring for destruction outside the lock. */
static struct vbdf_ring *fail_queue(struct vbd_front *f, unsigned q, int err)
{
	struct vbdf_queue *qu = &f->q[q];
	struct vbdf_ring *r = qu->ring;
	struct vbdf_part *p;
	struct fail_ctx c = {f, err};

	if (r) {
		vbdf_ring_take_inflight(r, fail_cb, &c);
		qu->ring = NULL;
	}
	while ((p = vbdf_list_pop(&qu->bhead, &qu->btail))) {
		qu->nbound--;
		vbdf_part_done(f, p, err);
	}
	return r;
}

/* Fails the requests never posted (lock held): the contexts' pending
 * FIFOs and the held writes. */
static void fail_pending(struct vbd_front *f, int err)
{
	struct vbdf_part *p;

	for (unsigned i = 0; i < f->nctx; i++) {
		struct vbdf_ctx *c = &f->ctx[i];

		while ((p = vbdf_list_pop(&c->phead, &c->ptail))) {
			c->npending--;
			f->npending--;
			vbdf_part_done(f, p, err);
		}
	}
	while ((p = vbdf_list_pop(&f->hhead, &f->htail))) {
		f->nheld--;
		vbdf_part_done(f, p, err);
	}
}

void vbdf_fail_all(struct vbd_front *f, int err, bool gone)
{
	struct vbdf_ring *old[VBD_MAX_QUEUES];

	pthread_mutex_lock(&f->lock);
	f->closing = true;
	f->gone |= gone;
	for (unsigned q = 0; q < f->nq; q++)
		old[q] = fail_queue(f, q, err);
	fail_pending(f, err);
	f->push_mask = 0;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	/* the other contexts' threads stop polling those rings first */
	for (unsigned i = 0; i < f->nctx; i++)
		vbdf_ctx_quiesce(&f->ctx[i]);
	for (unsigned q = 0; q < f->nq; q++)
		vbdf_ring_release(f, old[q]);
	vbdf_run_done(f);
}

void vbdf_device_gone(struct vbd_front *f)
{
	if (f->gone)
		return;
	log_warn("front: device %u: attachment %s is gone; failing its requests", f->x.devid,
		 f->x.pool);
	vbdf_fail_all(f, -ENODEV, true);
}

static int build_ring(struct vbd_front *f, unsigned q, const struct vbd_queue_rec *rec,
		      struct vbdf_ring **out)
{
	struct vbdf_ring *r;
	struct vbdf_ring_info ri;
	int rc = vbdf_ring_create(&r, q, (vbd_domid_t)rec->owner, rec->epoch, f->o.ring_order,
				  vbdf_pool_pages(f->nq));

	if (rc < 0) {
		log_err("front: queue %u: building a ring for dom%u: %s", q, rec->owner,
			strerror(-rc));
		return rc;
	}
	ri = (struct vbdf_ring_info){.owner = r->owner,
				     .epoch = r->epoch,
				     .order = r->order,
				     .refs = r->ring_ref,
				     .port = (unsigned)r->port};
	rc = vbdf_xsf_publish_ring(&f->x, q, &ri);
	if (rc < 0) {
		vbdf_ring_destroy(r);
		return rc;
	}
	log_info("front: queue %u: ring for dom%u epoch %llu published (port %d)", q, r->owner,
		 (unsigned long long)r->epoch, r->port);
	*out = r;
	return 0;
}

static bool all_connected_once(const struct vbd_front *f)
{
	for (unsigned q = 0; q < f->nq; q++)
		if (!f->q[q].ever_connected)
			return false;
	return true;
}

void vbdf_handle_record(struct vbd_front *f, unsigned q)
{
	struct vbdf_queue *qu = &f->q[q];
	struct vbd_queue_rec rec;
	struct vbdf_ring *old = NULL, *fresh = NULL;
	bool need_new, write_connected = false;
	unsigned nbound;
	int lost_owner = -1;
	int rc = vbdf_xsf_read_record(&f->x, q, &rec);

	f->retry_mask &= ~(1ull << q);
	if (rc == -ENOENT) {
		vbdf_device_gone(f);
		return;
	}
	if (rc == -EINVAL)
		return; /* malformed (logged): wait for the next change */
	if (rc < 0) {
		log_warn("front: queue %u: reading its ownership record: %s (retrying)", q,
			 strerror(-rc));
		f->retry_mask |= 1ull << q;
		return;
	}

	/* A ring given up for another owner or epoch: did its owner hand the
	 * queue off (it finished what it consumed), or did the pool take it
	 * over (its writes in flight may still land)?  Only the event thread
	 * replaces q's ring, so it can be looked at without the lock here. */
	if (qu->ring && (rec.owner != qu->ring->owner || rec.epoch != qu->ring->epoch) &&
	    vbdf_xsf_member_lost(&f->x, qu->ring->owner))
		lost_owner = qu->ring->owner;

	pthread_mutex_lock(&f->lock);
	if (qu->have_rec && rec.epoch < qu->rec.epoch) {
		pthread_mutex_unlock(&f->lock);
		log_warn("front: queue %u: record epoch went back (%llu < %llu); ignored", q,
			 (unsigned long long)rec.epoch, (unsigned long long)qu->rec.epoch);
		return;
	}
	qu->rec = rec;
	qu->have_rec = true;
	need_new = rec.owner != VBD_DOMID_NONE && rec.epoch != qu->broken_epoch &&
		   (!qu->ring || qu->ring->epoch != rec.epoch || qu->ring->owner != rec.owner);
	if (qu->ring && (rec.owner == VBD_DOMID_NONE || need_new))
		old = vbdf_abandon_ring(f, q, false, lost_owner);
	nbound = qu->nbound;
	pthread_mutex_unlock(&f->lock);
	if (old) {
		log_info("front: queue %u: leaving dom%u epoch %llu (%u request(s) to re-post)", q,
			 old->owner, (unsigned long long)old->epoch, nbound);
		vbdf_ctx_quiesce(vbdf_ctx_of(f, q)); /* its context no longer polls it */
		vbdf_ring_release(f, old);
		vbdf_run_done(f);
	}
	if (need_new && !f->gone) {
		/* Grant our pages only to a member of the volume: a record naming
		 * any other domain is not followed (until it changes). */
		rc = vbdf_xsf_is_member(&f->x, rec.owner);
		if (rc == 0)
			log_err("front: queue %u: record names dom%u, not a member of volume %s; "
				"not granting it a ring",
				q, rec.owner, f->x.volume);
		else if (rc < 0 || build_ring(f, q, &rec, &fresh) < 0)
			f->retry_mask |= 1ull << q; /* XenStore or grants failed: try again */
	}

	pthread_mutex_lock(&f->lock);
	if (fresh) {
		qu->ring = fresh;
		qu->rings++;
		vbdf_ctx_wake(vbdf_ctx_of(f, q)); /* to poll it */
	}
	if (qu->ring && qu->ring->epoch == rec.epoch && qu->ring->owner == rec.owner) {
		struct vbdf_ring *r = qu->ring;
		bool was = vbdf_ring_accepts(r);

		r->connected = rec.state == VBD_Q_CONNECTED || rec.state == VBD_Q_DRAINING;
		r->draining = rec.state == VBD_Q_DRAINING;
		if (r->connected && !qu->ever_connected)
			qu->ever_connected = true;
		if (vbdf_ring_accepts(r) && !was) {
			log_info("front: queue %u: connected to dom%u epoch %llu%s", q, r->owner,
				 (unsigned long long)r->epoch, qu->nbound ? ", re-posting" : "");
			pthread_cond_broadcast(&f->cond);
		}
	}
	vbdf_dispatch(f);
	if (!f->connected_written && all_connected_once(f) && !f->closing) {
		f->connected_written = true;
		write_connected = true;
	}
	pthread_mutex_unlock(&f->lock);
	if (write_connected)
		vbdf_xsf_set_state(&f->x, XenbusStateConnected);
}

void vbdf_handle_state(struct vbd_front *f)
{
	int st, rc = vbdf_xsf_get_state(&f->x, &st);

	if (rc == -ENOENT) {
		vbdf_device_gone(f);
		return;
	}
	if (rc < 0 || st != XenbusStateClosing || f->detach_asked)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->hold_detach) {
		/* the application decides when (vbd_front_close writes Closed) */
		pthread_mutex_unlock(&f->lock);
		log_info("front: device %u: dom0 asks to detach it; held by the application",
			 f->x.devid);
		return;
	}
	log_info("front: device %u: dom0 detaches it", f->x.devid);
	f->detach_asked = true;
	f->closing = true;
	/* Requests never posted are refused; posted ones complete. */
	fail_pending(f, -ESHUTDOWN);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	vbdf_run_done(f);
}

/* ---- writes lost with a member (event thread) ----------------------------- */

/* Releases the ranges of owners now drained (drained_event: the volume's
 * drained/ changed, read it for each owner we wait for) and those whose
 * deadline passed, then lets the held writes that no longer overlap go. */
void vbdf_lost_check(struct vbd_front *f, bool drained_event)
{
	uint16_t owners[16], expired = 0;
	unsigned n, nown, dropped = 0, unheld;
	uint64_t now = vbd_apoll_now(), dl;

	pthread_mutex_lock(&f->lock);
	nown = vbdf_lostw_owners(&f->lost, owners, 16);
	dl = vbdf_lostw_next_deadline(&f->lost);
	pthread_mutex_unlock(&f->lock);
	if (!nown)
		return;
	if (nown > 16)
		nown = 16; /* the rest at the next event */
	for (unsigned i = 0; drained_event && i < nown; i++) {
		if (!vbdf_xsf_drained(&f->x, owners[i]))
			continue;
		pthread_mutex_lock(&f->lock);
		n = vbdf_lostw_drop_owner(&f->lost, owners[i]);
		pthread_mutex_unlock(&f->lock);
		if (n)
			log_info("front: dom%u is drained (supervisor): %u lost write range(s) "
				 "released",
				 owners[i], n);
		dropped += n;
	}
	pthread_mutex_lock(&f->lock);
	if (dl && dl <= now) {
		n = vbdf_lostw_expire(&f->lost, now, &expired);
		if (n)
			log_err("front: dom%u not reported drained within %u ms (storage timeout): "
				"releasing %u held range(s); a write of its that lands later can "
				"overwrite newer data",
				expired, f->o.drain_timeout_ms, n);
		dropped += n;
	}
	unheld = dropped ? vbdf_unhold(f) : 0;
	if (unheld)
		vbdf_dispatch(f);
	pthread_mutex_unlock(&f->lock);
	if (unheld)
		log_info("front: %u held write(s) released", unheld);
}
