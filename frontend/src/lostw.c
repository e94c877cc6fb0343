/* SPDX-License-Identifier: MIT */
/* Writes lost with a member: a small set of sector ranges (lostw.h).  A
 * takeover adds at most a ring's worth of ranges, so a flat array scanned
 * per write is enough; it is empty in normal operation (one branch). */
#include "lostw.h"

#include "vbdpool/grow.h"

#include <errno.h>
#include <stdlib.h>

int vbdf_lostw_add(struct vbdf_lostw *s, uint16_t owner, uint64_t sector, uint64_t nsect,
		   uint64_t deadline_ns)
{
	if (!nsect)
		return 0;
	if (VBD_GROW(s->r, s->n, s->cap, 32) < 0)
		return -ENOMEM;
	s->r[s->n++] = (struct vbdf_lost_range){owner, sector, nsect, deadline_ns};
	return 0;
}

bool vbdf_lostw_overlaps(const struct vbdf_lostw *s, uint64_t sector, uint64_t nsect)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct vbdf_lost_range *r = &s->r[i];

		/* [a, a+n) and [b, b+m) overlap iff a < b+m and b < a+n */
		if (sector < r->sector + r->nsect && r->sector < sector + nsect)
			return true;
	}
	return false;
}

/* Removes the ranges for which pred holds, keeping the order of the rest. */
static unsigned drop_if(struct vbdf_lostw *s, bool (*pred)(const struct vbdf_lost_range *, void *),
			void *arg)
{
	unsigned k = 0, dropped = 0;

	for (unsigned i = 0; i < s->n; i++) {
		if (pred(&s->r[i], arg)) {
			dropped++;
			continue;
		}
		s->r[k++] = s->r[i];
	}
	s->n = k;
	return dropped;
}

static bool is_owner(const struct vbdf_lost_range *r, void *arg)
{
	return r->owner == *(uint16_t *)arg;
}

unsigned vbdf_lostw_drop_owner(struct vbdf_lostw *s, uint16_t owner)
{
	return drop_if(s, is_owner, &owner);
}

struct expire_arg {
	uint64_t now;
	uint16_t *owner;
};

static bool is_expired(const struct vbdf_lost_range *r, void *arg)
{
	struct expire_arg *e = arg;

	if (!r->deadline_ns || r->deadline_ns > e->now)
		return false;
	if (e->owner)
		*e->owner = r->owner;
	return true;
}

unsigned vbdf_lostw_expire(struct vbdf_lostw *s, uint64_t now_ns, uint16_t *owner_out)
{
	struct expire_arg e = {now_ns, owner_out};

	return drop_if(s, is_expired, &e);
}

uint64_t vbdf_lostw_next_deadline(const struct vbdf_lostw *s)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < s->n; i++)
		if (s->r[i].deadline_ns && (!d || s->r[i].deadline_ns < d))
			d = s->r[i].deadline_ns;
	return d;
}

unsigned vbdf_lostw_owners(const struct vbdf_lostw *s, uint16_t *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->n; i++) {
		bool seen = false;

		for (unsigned k = 0; k < i && !seen; k++)
			seen = s->r[k].owner == s->r[i].owner;
		if (seen)
			continue;
		if (n < max)
			out[n] = s->r[i].owner;
		n++;
	}
	return n;
}

void vbdf_lostw_free(struct vbdf_lostw *s)
{
	free(s->r);
	*s = (struct vbdf_lostw){0};
}
