/* SPDX-License-Identifier: MIT */
/* Data path of one queue for one owner epoch: the blkif shared ring, its
 * event channel, its shadow table and its persistent-grant page pool.
 * A ring is created when a new owner epoch appears and abandoned (grants
 * ended, pages never reused by us) when the epoch ends or the owner breaks
 * the protocol.  Caller serialises calls (the device lock). */
#ifndef VBDFRONT_RING_H
#define VBDFRONT_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "vbdpool/blkif.h"
#include "vbdpool/platform.h"
#include "gpool.h"
#include "internal.h"
#include "shadow.h"

/* Pages one request may use: data segments + indirect pages. */
#define VBDF_RING_SLOT_PAGES (VBD_MAX_INDIRECT_SEGS + BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
/* Bytes one blkif request carries at most. */
#define VBDF_RING_MAX_REQ_BYTES ((uint64_t)VBD_MAX_INDIRECT_SEGS * VBD_PAGE_SIZE)

struct vbdf_ring {
	const struct vbd_platform *plat; /* vbd_front_plat() at creation */
	unsigned q;
	vbd_domid_t owner;
	uint64_t epoch;
	unsigned order, nslots;
	struct vbd_gntshr *shr;
	void *sring_mem;
	vbd_gref_t ring_ref[1u << VBD_MAX_RING_PAGE_ORDER];
	blkif_front_ring_t fr;
	struct vbd_evtchn *evh;
	int port, fd;
	struct vbdf_shadow shadow;
	struct vbdf_gpool pool;
	uint32_t *slot_pages;  /* [nslots][VBDF_RING_SLOT_PAGES] pool indices */
	uint16_t *slot_npages; /* [nslots] */
	uint8_t *slot_op;      /* [nslots] operation posted (echoed in the response) */
	bool *slot_ind;	       /* [nslots] posted as BLKIF_OP_INDIRECT */
	RING_IDX pushed;       /* req_prod_pvt at the last push */
	/* notifies in progress outside the device lock (vbdf_ring_publish
	 * callers); vbdf_ring_destroy waits for them */
	unsigned notifying;
	/* control state, from the ownership record */
	bool connected; /* the owner mapped this epoch's ring */
	bool draining;	/* owner hands off: post nothing new */
	/* zero-copy write buffers (wbuf.c) holding pages of this ring's pool:
	 * the ring outlives its epoch (retired: grants kept) until the last
	 * one is let go, since a request re-posted elsewhere copies from them */
	unsigned zrefs;
	unsigned wb_pages; /* pages of buffers handed out, not yet submitted */
	bool retired;
};

/* max_pages: persistent-grant pages the ring may grant (at least
 * VBDF_RING_SLOT_PAGES, so any one request fits); see vbdf_pool_pages. */
int vbdf_ring_create(struct vbdf_ring **out, unsigned q, vbd_domid_t owner, uint64_t epoch,
		     unsigned order, unsigned max_pages);
/* Pool pages per ring for a device of nq queues: VBD_FRONT_MAX_POOL_PAGES,
 * or less so that all rings together stay within VBD_FRONT_GRANT_BUDGET. */
unsigned vbdf_pool_pages(unsigned nq);
/* Ends every grant and closes the event channel (after notifies still in
 * progress outside the lock). */
void vbdf_ring_destroy(struct vbdf_ring *r);

static inline unsigned vbdf_ring_free(const struct vbdf_ring *r)
{
	return r->shadow.nfree;
}
static inline unsigned vbdf_ring_inflight(const struct vbdf_ring *r)
{
	return vbdf_shadow_inflight(&r->shadow);
}

/* Writes part p as the next request (copying write data into granted
 * pages); not yet visible to the owner until vbdf_ring_push.  -ENOSPC when
 * no slot or not enough pages; -errno when granting more pages failed. */
int vbdf_ring_post(struct vbdf_ring *r, struct vbdf_part *p);
/* Pages one read/write request of `bytes` takes from a pool: its data
 * segments (*nsegs) and, past BLKIF_MAX_SEGMENTS_PER_REQUEST, the
 * indirect pages listing them. */
static inline unsigned vbdf_ring_req_pages(uint64_t bytes, unsigned *nsegs)
{
	unsigned n = (unsigned)((bytes + VBD_PAGE_SIZE - 1) / VBD_PAGE_SIZE);

	*nsegs = n;
	return n + (n > BLKIF_MAX_SEGMENTS_PER_REQUEST ? vbd_indirect_pages(n) : 0);
}
/* Publishes posted requests; notifies the owner if it asked for it.
 * Returns -errno if the notify failed. */
int vbdf_ring_push(struct vbdf_ring *r);
/* The same in two steps, so that the notify (a system call that wakes the
 * owner, which may preempt us) can run outside the device lock: publish
 * returns true when the owner must be notified, and then counts the ring
 * in r->notifying (destroy waits for it); vbdf_ring_notify notifies and
 * uncounts. */
bool vbdf_ring_publish(struct vbdf_ring *r);
int vbdf_ring_notify(struct vbdf_ring *r);

/* Acknowledges this ring's event channel (pending + unmask). */
void vbdf_ring_ack(struct vbdf_ring *r);

typedef void (*vbdf_ring_done_fn)(void *ctx, struct vbdf_part *p, int err);
/* Consumes every valid response, copying read data out and calling done
 * (err 0, -EIO for BLKIF_RSP_ERROR, -EOPNOTSUPP).  Returns the number
 * consumed, or -EPROTO when the owner broke the protocol (rsp_prod overrun,
 * unknown or duplicate id, wrong operation, unknown status): the caller must
 * abandon the ring; responses before the bad one were consumed. */
int vbdf_ring_harvest(struct vbdf_ring *r, vbdf_ring_done_fn done, void *ctx);
/* The same without asking the owner for an event at the next response
 * (rsp_event is left behind): for an event thread that looks at the ring
 * again before it sleeps, and calls vbdf_ring_arm first. */
int vbdf_ring_harvest_quiet(struct vbdf_ring *r, vbdf_ring_done_fn done, void *ctx);
/* Responses waiting (rsp_prod read without a barrier: a hint). */
static inline bool vbdf_ring_has_responses(const struct vbdf_ring *r)
{
	return __atomic_load_n(&r->fr.sring->rsp_prod, __ATOMIC_RELAXED) != r->fr.rsp_cons;
}
/* Before sleeping: asks the owner for an event at its next response
 * (rsp_event = rsp_cons + 1), then looks again; true when responses came
 * meanwhile (do not sleep: harvest them). */
bool vbdf_ring_arm(struct vbdf_ring *r);

/* Hands every request still in flight to fn (for re-posting) and forgets
 * them; used when the ring is abandoned. */
void vbdf_ring_take_inflight(struct vbdf_ring *r, void (*fn)(void *ctx, struct vbdf_part *p),
			     void *ctx);

#endif
