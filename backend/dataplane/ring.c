/* SPDX-License-Identifier: MIT */
/* Back end of a blkif shared ring (see ring.h). */
#include "ring.h"

#include <errno.h>

void vbd_ring_init(struct vbd_ring *r, void *sring, unsigned order)
{
	BACK_RING_INIT(&r->br, (blkif_sring_t *)sring, VBD_PAGE_SIZE << order);
	r->slots = RING_SIZE(&r->br);
}

int vbd_ring_take(struct vbd_ring *r, struct blkif_request *out, int max)
{
	RING_IDX rc = r->br.req_cons;
	RING_IDX rp = r->br.sring->req_prod; /* read once */
	int n = 0;

	xen_rmb(); /* see the requests up to rp */
	/* rsp_prod_pvt <= req_cons <= req_prod (mod 2^32): a req_prod more
	 * than the ring ahead of the responses, or behind what we already
	 * consumed (we would re-read old slots) is hostile; the queue says so,
	 * with its own name (it knows which guest and queue this is) */
	if (RING_REQUEST_PROD_OVERFLOW(&r->br, rp) ||
	    (RING_IDX)(rp - rc) > (RING_IDX)(rp - r->br.rsp_prod_pvt)) {
		r->bad_req_prod = rp;
		return -EPROTO;
	}
	while (rc != rp && n < max) {
		if (RING_REQUEST_CONS_OVERFLOW(&r->br, rc))
			break;
		RING_COPY_REQUEST(&r->br, rc, &out[n]);
		rc++;
		n++;
	}
	r->br.req_cons = rc;
	return n;
}

void vbd_ring_respond(struct vbd_ring *r, uint64_t id, uint8_t op, int16_t status)
{
	blkif_response_t *rsp = RING_GET_RESPONSE(&r->br, r->br.rsp_prod_pvt);

	rsp->id = id;
	rsp->operation = op;
	rsp->status = status;
	r->br.rsp_prod_pvt++;
}

int vbd_ring_push(struct vbd_ring *r)
{
	int notify;

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->br, notify);
	return notify;
}

int vbd_ring_final_check(struct vbd_ring *r)
{
	int more;

	RING_FINAL_CHECK_FOR_REQUESTS(&r->br, more);
	return more != 0;
}
