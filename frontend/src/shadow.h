/* SPDX-License-Identifier: MIT */
/* Shadow table of one ring: which request ids are in flight, and the
 * checks every response must pass before the frontend acts on it.
 *
 * A request id is (generation << 16) | slot: the slot finds the shadow
 * entry, the generation (bumped each time the slot is reused) makes a
 * duplicate or stale response for a reused slot an unknown id.  Pure data
 * structure: no locking, no Xen. */
#ifndef VBDFRONT_SHADOW_H
#define VBDFRONT_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#define VBDF_SHADOW_SLOT_BITS 16
#define VBDF_SHADOW_MAX_SLOTS (1u << VBDF_SHADOW_SLOT_BITS)

struct vbdf_shadow_slot {
	void *req;    /* NULL while free */
	uint64_t gen; /* generation of the id handed out last */
};

struct vbdf_shadow {
	unsigned n, nfree;
	struct vbdf_shadow_slot *slots;
	uint32_t *free; /* stack of free slot numbers */
};

int vbdf_shadow_init(struct vbdf_shadow *s, unsigned nslots);
void vbdf_shadow_destroy(struct vbdf_shadow *s);
static inline unsigned vbdf_shadow_inflight(const struct vbdf_shadow *s)
{
	return s->n - s->nfree;
}

/* Takes a free slot for `req` (non-NULL); returns the request id in *id
 * and the slot number, or -ENOSPC. */
int vbdf_shadow_get(struct vbdf_shadow *s, void *req, uint64_t *id);
/* The request for a response id, or NULL when the id is not in flight
 * (never handed out, already answered, or from an older generation). */
void *vbdf_shadow_lookup(const struct vbdf_shadow *s, uint64_t id);
/* Frees the slot of an id vbdf_shadow_lookup accepted. */
void vbdf_shadow_put(struct vbdf_shadow *s, uint64_t id);
static inline unsigned vbdf_shadow_slot_of(uint64_t id)
{
	return (unsigned)(id & (VBDF_SHADOW_MAX_SLOTS - 1));
}

/* May the frontend consume responses up to `rsp_prod` (read from the shared
 * ring, untrusted), having consumed up to `rsp_cons` and produced requests
 * up to `req_prod_pvt`?  False when the backend claims more responses than
 * requests were posted (an overrun): the ring must be abandoned. */
static inline bool vbdf_rsp_prod_valid(uint32_t rsp_cons, uint32_t rsp_prod, uint32_t req_prod_pvt)
{
	return (uint32_t)(rsp_prod - rsp_cons) <= (uint32_t)(req_prod_pvt - rsp_cons);
}

#endif
