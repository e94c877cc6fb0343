/* SPDX-License-Identifier: MIT */
/* Data path of one queue for one owner epoch (see ring.h). */
#include "ring.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/log.h"

const struct vbd_platform *vbd_front_platform;

unsigned vbdf_pool_pages(unsigned nq)
{
	unsigned n = nq ? VBD_FRONT_GRANT_BUDGET / nq : VBD_FRONT_MAX_POOL_PAGES;

	if (n > VBD_FRONT_MAX_POOL_PAGES)
		n = VBD_FRONT_MAX_POOL_PAGES;
	return n < VBDF_RING_SLOT_PAGES ? VBDF_RING_SLOT_PAGES : n;
}

/* The per-slot arrays; vbdf_ring_destroy frees them. */
static int alloc_slots(struct vbdf_ring *r)
{
	r->slot_pages = calloc((size_t)r->nslots * VBDF_RING_SLOT_PAGES, sizeof(*r->slot_pages));
	r->slot_npages = calloc(r->nslots, sizeof(*r->slot_npages));
	r->slot_op = calloc(r->nslots, sizeof(*r->slot_op));
	r->slot_ind = calloc(r->nslots, sizeof(*r->slot_ind));
	return r->slot_pages && r->slot_npages && r->slot_op && r->slot_ind ? 0 : -ENOMEM;
}

int vbdf_ring_create(struct vbdf_ring **out, unsigned q, vbd_domid_t owner, uint64_t epoch,
		     unsigned order, unsigned max_pages)
{
	struct vbdf_ring *r;
	unsigned npages = 1u << order;
	int rc;

	if (order > VBD_MAX_RING_PAGE_ORDER || max_pages < VBDF_RING_SLOT_PAGES)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->plat = vbd_front_plat();
	r->q = q;
	r->owner = owner;
	r->epoch = epoch;
	r->order = order;
	r->nslots = vbd_ring_slots(order);
	r->port = -1;
	r->fd = -1;

	r->shr = vbd_front_plat()->gntshr->open();
	if (!r->shr) {
		rc = errno ? -errno : -ENOMEM;
		goto fail;
	}
	r->sring_mem =
	    vbd_front_plat()->gntshr->share_pages(r->shr, owner, (int)npages, r->ring_ref, 1);
	if (!r->sring_mem) {
		rc = errno ? -errno : -ENOMEM;
		goto fail;
	}
	SHARED_RING_INIT((blkif_sring_t *)r->sring_mem);
	FRONT_RING_INIT(&r->fr, (blkif_sring_t *)r->sring_mem, VBD_PAGE_SIZE * npages);

	r->evh = vbd_front_plat()->evtchn->open();
	if (!r->evh) {
		rc = errno ? -errno : -ENOMEM;
		goto fail;
	}
	rc = vbd_front_plat()->evtchn->alloc_unbound(r->evh, owner);
	if (rc < 0)
		goto fail;
	r->port = rc;
	r->fd = vbd_front_plat()->evtchn->fd(r->evh);

	rc = vbdf_shadow_init(&r->shadow, r->nslots);
	if (rc == 0)
		rc = vbdf_gpool_init(&r->pool, r->shr, owner, VBD_FRONT_GRANT_CHUNK, max_pages);
	if (rc == 0)
		rc = alloc_slots(r);
	if (rc == 0) {
		*out = r;
		return 0;
	}
fail:
	vbdf_ring_destroy(r);
	return rc;
}

void vbdf_ring_destroy(struct vbdf_ring *r)
{
	if (!r)
		return;
	/* The ring is no longer reachable from the device: only notifies that
	 * published before it was detached can still be running. */
	while (__atomic_load_n(&r->notifying, __ATOMIC_ACQUIRE))
		sched_yield();
	if (r->pool.addr)
		vbdf_gpool_destroy(&r->pool);
	if (r->sring_mem) {
		int rc = vbd_front_plat()->gntshr->unshare(r->shr, r->sring_mem, 1 << r->order);
		if (rc < 0)
			log_warn("front: queue %u: ending ring grants: %d", r->q, rc);
	}
	if (r->evh) {
		if (r->port >= 0)
			vbd_front_plat()->evtchn->unbind(r->evh, (vbd_port_t)r->port);
		vbd_front_plat()->evtchn->close(r->evh);
	}
	if (r->shr)
		vbd_front_plat()->gntshr->close(r->shr);
	vbdf_shadow_destroy(&r->shadow);
	free(r->slot_pages);
	free(r->slot_npages);
	free(r->slot_op);
	free(r->slot_ind);
	free(r);
}

/* Pages part p takes (0 unless a read or a write); *nsegs: data pages. */
static unsigned part_pages(const struct vbdf_part *p, unsigned *nsegs)
{
	if (p->op != BLKIF_OP_READ && p->op != BLKIF_OP_WRITE) {
		*nsegs = 0;
		return 0;
	}
	return vbdf_ring_req_pages(p->nsect * VBD_SECTOR_SIZE, nsegs);
}

/* Segment i of a read/write part: bytes [i*4096, ...) of its data. */
static void fill_segment(struct blkif_request_segment *seg, vbd_gref_t ref,
			 const struct vbdf_part *p, unsigned i)
{
	uint64_t bytes = p->nsect * VBD_SECTOR_SIZE - (uint64_t)i * VBD_PAGE_SIZE;

	if (bytes > VBD_PAGE_SIZE)
		bytes = VBD_PAGE_SIZE;
	seg->gref = ref;
	seg->first_sect = 0;
	seg->last_sect = (uint8_t)(bytes / VBD_SECTOR_SIZE - 1);
}

int vbdf_ring_post(struct vbdf_ring *r, struct vbdf_part *p)
{
	unsigned nsegs, npg = part_pages(p, &nsegs), nind = npg - nsegs;
	uint32_t *pages;
	uint64_t id;
	int slot, rc;
	bool zc;
	blkif_request_t req;

	if (nsegs > VBD_MAX_INDIRECT_SEGS || RING_FULL(&r->fr) || vbdf_ring_free(r) == 0)
		return -ENOSPC;
	slot = vbdf_shadow_get(&r->shadow, p, &id);
	if (slot < 0)
		return slot;
	pages = r->slot_pages + (size_t)slot * VBDF_RING_SLOT_PAGES;
	/* zero-copy: a write buffer of this pool not posted yet holds the
	 * data, with room for the indirect pages (the same
	 * vbdf_ring_req_pages); the slot takes them all */
	zc = p->wb && p->wb->r == r && !p->wb->given;
	if (zc) {
		memcpy(pages, p->wb->pages, (size_t)npg * sizeof(*pages));
		p->wb->given = true;
	} else {
		rc = vbdf_gpool_get(&r->pool, npg, pages);
		if (rc < 0) {
			vbdf_shadow_put(&r->shadow, id);
			return rc;
		}
	}
	r->slot_npages[slot] = (uint16_t)npg;

	memset(&req, 0, sizeof(req));
	if (p->op == BLKIF_OP_WRITE && !zc) {
		uint64_t left = p->nsect * VBD_SECTOR_SIZE;
		for (unsigned i = 0; i < nsegs; i++) {
			uint64_t n = left > VBD_PAGE_SIZE ? VBD_PAGE_SIZE : left;
			/* a zero-copy buffer of another ring (re-posted after a
			 * take-over, or dispatched elsewhere): copied from there */
			const void *src =
			    p->wb ? p->wb->iov[i].iov_base : p->data + (size_t)i * VBD_PAGE_SIZE;

			memcpy(vbdf_gpool_addr(&r->pool, pages[i]), src, n);
			left -= n;
		}
	}
	if (p->op == BLKIF_OP_DISCARD) {
		blkif_request_discard_t *d = (blkif_request_discard_t *)&req;
		d->operation = BLKIF_OP_DISCARD;
		d->id = id;
		d->sector_number = p->sector;
		d->nr_sectors = p->nsect;
	} else if (nind) {
		blkif_request_indirect_t *ind = (blkif_request_indirect_t *)&req;
		ind->operation = BLKIF_OP_INDIRECT;
		ind->indirect_op = p->op;
		ind->nr_segments = (uint16_t)nsegs;
		ind->id = id;
		ind->sector_number = p->sector;
		for (unsigned k = 0; k < nind; k++) {
			uint32_t ipg = pages[nsegs + k];
			struct blkif_request_segment *segs = vbdf_gpool_addr(&r->pool, ipg);
			unsigned first = k * VBD_SEGS_PER_INDIRECT_PAGE;

			ind->indirect_grefs[k] = vbdf_gpool_ref(&r->pool, ipg);
			for (unsigned i = first;
			     i < nsegs && i < first + VBD_SEGS_PER_INDIRECT_PAGE; i++)
				fill_segment(&segs[i - first], vbdf_gpool_ref(&r->pool, pages[i]),
					     p, i);
		}
	} else {
		req.operation = p->op;
		req.nr_segments = (uint8_t)nsegs;
		req.id = id;
		req.sector_number = p->op == BLKIF_OP_FLUSH_DISKCACHE ? 0 : p->sector;
		for (unsigned i = 0; i < nsegs; i++)
			fill_segment(&req.seg[i], vbdf_gpool_ref(&r->pool, pages[i]), p, i);
	}
	/* Responses echo the operation; for an indirect request Linux blkback
	 * echoes indirect_op (blkfront accepts that), so we accept either. */
	r->slot_op[slot] = p->op;
	r->slot_ind[slot] = nind != 0;
	memcpy(RING_GET_REQUEST(&r->fr, r->fr.req_prod_pvt), &req, sizeof(req));
	r->fr.req_prod_pvt++;
	return 0;
}

bool vbdf_ring_publish(struct vbdf_ring *r)
{
	int notify;

	if (r->pushed == r->fr.req_prod_pvt)
		return false;
	r->pushed = r->fr.req_prod_pvt;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&r->fr, notify);
	if (notify)
		__atomic_add_fetch(&r->notifying, 1, __ATOMIC_RELAXED);
	return notify;
}

int vbdf_ring_notify(struct vbdf_ring *r)
{
	int rc = r->plat->evtchn->notify(r->evh, (vbd_port_t)r->port);

	__atomic_sub_fetch(&r->notifying, 1, __ATOMIC_RELEASE);
	return rc;
}

int vbdf_ring_push(struct vbdf_ring *r)
{
	return vbdf_ring_publish(r) ? vbdf_ring_notify(r) : 0;
}

void vbdf_ring_ack(struct vbdf_ring *r)
{
	/* One port per handle: after unmask, an event that arrives later makes
	 * the fd readable again (no second pending() call needed). */
	int port = r->plat->evtchn->pending(r->evh);

	if (port >= 0)
		r->plat->evtchn->unmask(r->evh, (vbd_port_t)port);
}

static int status_to_err(int16_t st, int *err)
{
	switch (st) {
	case BLKIF_RSP_OKAY:
		*err = 0;
		return 0;
	case BLKIF_RSP_ERROR:
		*err = -EIO;
		return 0;
	case BLKIF_RSP_EOPNOTSUPP:
		*err = -EOPNOTSUPP;
		return 0;
	default:
		return -EPROTO;
	}
}

bool vbdf_ring_arm(struct vbdf_ring *r)
{
	int more;

	RING_FINAL_CHECK_FOR_RESPONSES(&r->fr, more);
	return more;
}

static int harvest(struct vbdf_ring *r, vbdf_ring_done_fn done, void *ctx, bool arm)
{
	int n = 0, more;

	do {
		RING_IDX rp = r->fr.sring->rsp_prod, i;

		xen_rmb(); /* read rsp_prod before the responses */
		if (!vbdf_rsp_prod_valid(r->fr.rsp_cons, rp, r->fr.req_prod_pvt)) {
			log_warn(
			    "front: queue %u epoch %llu: dom%u overran rsp_prod (%u, consumed %u, "
			    "posted %u)",
			    r->q, (unsigned long long)r->epoch, r->owner, rp, r->fr.rsp_cons,
			    r->fr.req_prod_pvt);
			return -EPROTO;
		}
		for (i = r->fr.rsp_cons; i != rp; i++) {
			struct blkif_response rsp;
			struct vbdf_part *p;
			unsigned slot;
			int err;

			/* one volatile copy: the owner may rewrite the slot meanwhile */
			RING_COPY_RESPONSE(&r->fr, i, &rsp);
			p = vbdf_shadow_lookup(&r->shadow, rsp.id);
			slot = vbdf_shadow_slot_of(rsp.id);
			if (!p ||
			    (rsp.operation != r->slot_op[slot] &&
			     !(r->slot_ind[slot] && rsp.operation == BLKIF_OP_INDIRECT)) ||
			    status_to_err(rsp.status, &err) < 0) {
				log_warn(
				    "front: queue %u epoch %llu: dom%u sent a bad response (id "
				    "%#llx op %u status %d)",
				    r->q, (unsigned long long)r->epoch, r->owner,
				    (unsigned long long)rsp.id, rsp.operation, rsp.status);
				r->fr.rsp_cons = i;
				return -EPROTO;
			}
			if (p->op == BLKIF_OP_READ && !err) {
				const uint32_t *pages =
				    r->slot_pages + (size_t)slot * VBDF_RING_SLOT_PAGES;
				uint64_t left = p->nsect * VBD_SECTOR_SIZE;

				for (unsigned k = 0; left; k++) {
					uint64_t c = left > VBD_PAGE_SIZE ? VBD_PAGE_SIZE : left;
					memcpy(p->data + (size_t)k * VBD_PAGE_SIZE,
					       vbdf_gpool_addr(&r->pool, pages[k]), c);
					left -= c;
				}
			}
			vbdf_gpool_put(&r->pool, r->slot_npages[slot],
				       r->slot_pages + (size_t)slot * VBDF_RING_SLOT_PAGES);
			r->slot_npages[slot] = 0;
			vbdf_shadow_put(&r->shadow, rsp.id);
			r->fr.rsp_cons = i + 1;
			n++;
			done(ctx, p, err);
		}
		if (arm)
			RING_FINAL_CHECK_FOR_RESPONSES(&r->fr, more);
		else
			more = vbdf_ring_has_responses(r);
	} while (more);
	return n;
}

int vbdf_ring_harvest(struct vbdf_ring *r, vbdf_ring_done_fn done, void *ctx)
{
	return harvest(r, done, ctx, true);
}

int vbdf_ring_harvest_quiet(struct vbdf_ring *r, vbdf_ring_done_fn done, void *ctx)
{
	return harvest(r, done, ctx, false);
}

void vbdf_ring_take_inflight(struct vbdf_ring *r, void (*fn)(void *ctx, struct vbdf_part *p),
			     void *ctx)
{
	for (unsigned s = 0; s < r->shadow.n; s++) {
		struct vbdf_part *p = r->shadow.slots[s].req;

		if (!p)
			continue;
		vbdf_shadow_put(&r->shadow, (r->shadow.slots[s].gen << VBDF_SHADOW_SLOT_BITS) | s);
		vbdf_gpool_put(&r->pool, r->slot_npages[s],
			       r->slot_pages + (size_t)s * VBDF_RING_SLOT_PAGES);
		r->slot_npages[s] = 0;
		fn(ctx, p);
	}
}
