/* SPDX-License-Identifier: MIT */
/* Shadow table of one ring (see shadow.h). */
#include "shadow.h"

#include <errno.h>
#include <stdlib.h>

int vbdf_shadow_init(struct vbdf_shadow *s, unsigned nslots)
{
	if (nslots == 0 || nslots > VBDF_SHADOW_MAX_SLOTS)
		return -EINVAL;
	s->slots = calloc(nslots, sizeof(*s->slots));
	s->free = calloc(nslots, sizeof(*s->free));
	if (!s->slots || !s->free) {
		vbdf_shadow_destroy(s);
		return -ENOMEM;
	}
	s->n = s->nfree = nslots;
	/* Pop order 0, 1, 2, ...: slot i sits at free[n-1-i]. */
	for (unsigned i = 0; i < nslots; i++)
		s->free[i] = nslots - 1 - i;
	return 0;
}

void vbdf_shadow_destroy(struct vbdf_shadow *s)
{
	free(s->slots);
	free(s->free);
	s->slots = NULL;
	s->free = NULL;
	s->n = s->nfree = 0;
}

int vbdf_shadow_get(struct vbdf_shadow *s, void *req, uint64_t *id)
{
	unsigned slot;
	struct vbdf_shadow_slot *e;

	if (s->nfree == 0 || !req)
		return -ENOSPC;
	slot = s->free[--s->nfree];
	e = &s->slots[slot];
	e->req = req;
	e->gen = (e->gen + 1) & (UINT64_MAX >> VBDF_SHADOW_SLOT_BITS);
	*id = (e->gen << VBDF_SHADOW_SLOT_BITS) | slot;
	return (int)slot;
}

void *vbdf_shadow_lookup(const struct vbdf_shadow *s, uint64_t id)
{
	unsigned slot = vbdf_shadow_slot_of(id);
	const struct vbdf_shadow_slot *e;

	if (slot >= s->n)
		return NULL;
	e = &s->slots[slot];
	if (!e->req || (id >> VBDF_SHADOW_SLOT_BITS) != e->gen)
		return NULL;
	return e->req;
}

void vbdf_shadow_put(struct vbdf_shadow *s, uint64_t id)
{
	unsigned slot = vbdf_shadow_slot_of(id);

	if (slot >= s->n || !s->slots[slot].req)
		return;
	s->slots[slot].req = NULL;
	s->free[s->nfree++] = slot;
}
