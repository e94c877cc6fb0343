/* SPDX-License-Identifier: MIT */
/* Zero-copy write buffers (vbd_front_wbuf_get, docs/frontend.md "Zero-copy
 * writes"): a server receives a write's payload straight into pages of a
 * queue's grant pool, so that posting the request copies nothing.
 *
 * A buffer holds a reference on its ring (r->zrefs, device lock).  A ring
 * abandoned while references remain is retired instead of destroyed: its
 * grants and pages stay until the last buffer is let go, because a
 * request re-posted to the next owner is copied from them, and a buffer
 * still being filled must stay mapped.  Only pages not yet submitted count
 * against the ring (r->wb_pages, at most the pool less one request's worth),
 * so a client that sends a header and stalls cannot starve the queue. */
#include <errno.h>
#include <stdlib.h>

#include "vbdpool/log.h"
#include "device.h"
#include "ring.h"

_Static_assert(VBD_FRONT_WBUF_MAX == VBDF_RING_MAX_REQ_BYTES, "a buffer is one request");
_Static_assert(VBD_FRONT_WBUF_PAGE == VBD_PAGE_SIZE, "one iovec entry per granted page");

/* Lets go of wb (lock held): its pages back to its ring's pool unless a
 * request slot took them, its reference on the ring (a retired ring is
 * destroyed with the last one).  True when the device was closed meanwhile
 * and this was its last buffer: the caller frees it after unlocking. */
bool vbdf_wbuf_release_locked(struct vbd_front *f, struct vbd_front_wbuf *wb)
{
	struct vbdf_ring *r = wb->r;

	if (!wb->given)
		vbdf_gpool_put(&r->pool, wb->npages, wb->pages);
	if (!wb->submitted)
		r->wb_pages -= wb->npages;
	if (--r->zrefs == 0 && r->retired) {
		log_debug("front: queue %u: retired ring of dom%u epoch %llu destroyed", r->q,
			  r->owner, (unsigned long long)r->epoch);
		vbdf_ring_destroy(r); /* no context polls it (vbdf_ring_release) */
	}
	free(wb);
	return --f->nwbufs == 0 && f->free_deferred;
}

void vbdf_ring_release(struct vbd_front *f, struct vbdf_ring *r)
{
	bool keep;

	if (!r)
		return;
	pthread_mutex_lock(&f->lock);
	keep = r->zrefs > 0;
	r->retired = keep;
	pthread_mutex_unlock(&f->lock);
	if (keep)
		log_debug("front: queue %u: ring of dom%u epoch %llu retired: %u write buffer(s) "
			  "use its pages",
			  r->q, r->owner, (unsigned long long)r->epoch, r->zrefs);
	else
		vbdf_ring_destroy(r);
}

/* The queue of context c for a buffer of npg pages (lock held): connected,
 * with pool room beside the buffers already handed out, the least busy
 * first (as large requests are dispatched), counting a buffer handed out
 * as the request it will be. */
static unsigned ring_load(const struct vbdf_ring *r)
{
	return vbdf_ring_inflight(r) * VBDF_RING_SLOT_PAGES + r->wb_pages;
}

static struct vbdf_ring *pick_ring(struct vbd_front *f, const struct vbdf_ctx *c, unsigned npg)
{
	struct vbdf_ring *best = NULL;

	for (unsigned q = c->idx; q < f->nq; q += f->nctx) {
		struct vbdf_ring *r = f->q[q].ring;

		if (!vbdf_ring_accepts(r) ||
		    r->wb_pages + npg + VBDF_RING_SLOT_PAGES > r->pool.max_pages)
			continue;
		if (!best || ring_load(r) < ring_load(best))
			best = r;
	}
	return best;
}

int vbd_front_wbuf_get(struct vbd_front *f, uint64_t len, struct vbd_front_wbuf **out,
		       const struct iovec **iov, unsigned *niov)
{
	struct vbdf_ctx *c = f ? vbdf_ctx_self(f) : NULL;
	struct vbd_front_wbuf *wb;
	struct vbdf_ring *r;
	unsigned nsegs;
	int rc;

	if (!f || !out || !iov || !niov || len == 0 || len % VBD_SECTOR_SIZE ||
	    len > VBDF_RING_MAX_REQ_BYTES)
		return -EINVAL;
	if (!c)
		return -EAGAIN; /* a context's thread only: its queues */
	if (f->x.read_only)
		return -EROFS;
	wb = malloc(sizeof(*wb));
	if (!wb)
		return -ENOMEM;
	*wb = (struct vbd_front_wbuf){
	    .ctx = c, .len = len, .npages = vbdf_ring_req_pages(len, &nsegs)};
	pthread_mutex_lock(&f->lock);
	r = f->closing || f->gone ? NULL : pick_ring(f, c, wb->npages);
	rc = r ? vbdf_gpool_get(&r->pool, wb->npages, wb->pages) : -EAGAIN;
	if (rc < 0) {
		pthread_mutex_unlock(&f->lock);
		free(wb);
		return rc == -ENOMEM ? rc : -EAGAIN;
	}
	wb->r = r;
	r->zrefs++;
	r->wb_pages += wb->npages;
	f->nwbufs++;
	for (unsigned i = 0; i < nsegs; i++) {
		uint64_t left = len - (uint64_t)i * VBD_PAGE_SIZE;

		wb->iov[i] = (struct iovec){vbdf_gpool_addr(&r->pool, wb->pages[i]),
					    left > VBD_PAGE_SIZE ? VBD_PAGE_SIZE : (size_t)left};
	}
	pthread_mutex_unlock(&f->lock);
	*out = wb;
	*iov = wb->iov;
	*niov = nsegs;
	return 0;
}

void vbd_front_wbuf_put(struct vbd_front *f, struct vbd_front_wbuf *wb)
{
	bool free_now;

	if (!f || !wb)
		return;
	pthread_mutex_lock(&f->lock);
	free_now = vbdf_wbuf_release_locked(f, wb);
	pthread_mutex_unlock(&f->lock);
	if (free_now)
		vbdf_front_free(f);
}
