/* SPDX-License-Identifier: MIT */
/* The back end of one blkif shared ring: copying requests out (with the
 * hostile-index check), writing responses, notification decisions. */
#ifndef VBD_BACKEND_RING_H
#define VBD_BACKEND_RING_H

#include "vbdpool/blkif.h"

struct vbd_ring {
	blkif_back_ring_t br;
	unsigned slots;
	RING_IDX bad_req_prod; /* the req_prod that made vbd_ring_take fail */
};

/* `sring` is the mapped shared ring of 2^order pages. */
void vbd_ring_init(struct vbd_ring *r, void *sring, unsigned order);

/* Copy up to `max` new requests into out[]. Returns how many (0 if none),
 * or -EPROTO when req_prod runs more than the ring size ahead of the
 * responses or moved back behind what was consumed (a hostile ring: stop
 * serving it; r->bad_req_prod is the value seen, for the caller's log). */
int vbd_ring_take(struct vbd_ring *r, struct blkif_request *out, int max);

/* Queue one response (at most one per consumed request). */
void vbd_ring_respond(struct vbd_ring *r, uint64_t id, uint8_t op, int16_t status);

/* Publish queued responses; returns 1 if the frontend wants an event. */
int vbd_ring_push(struct vbd_ring *r);

/* Re-arm req_event and recheck (RING_FINAL_CHECK_FOR_REQUESTS): returns 1 if
 * requests arrived meanwhile. */
int vbd_ring_final_check(struct vbd_ring *r);

/* Requests published by the frontend and not consumed yet (a memory read:
 * the data thread's adaptive polling). */
static inline int vbd_ring_has_requests(const struct vbd_ring *r)
{
	return RING_HAS_UNCONSUMED_REQUESTS(&r->br);
}

/* Responses queued and not published yet (vbd_ring_push has work). */
static inline int vbd_ring_unpushed(const struct vbd_ring *r)
{
	return r->br.rsp_prod_pvt != r->br.sring->rsp_prod;
}

/* Where the next response goes (for logs). */
static inline unsigned vbd_ring_rsp_index(const struct vbd_ring *r)
{
	return r->br.rsp_prod_pvt;
}

/* Requests consumed but not answered yet. */
static inline unsigned vbd_ring_outstanding(const struct vbd_ring *r)
{
	return r->br.req_cons - r->br.rsp_prod_pvt;
}

#endif
