/* SPDX-License-Identifier: MIT */
/*
 * Writes lost with a member (data path bookkeeping, no XenStore): the
 * sector ranges of writes and discards that were in flight at a queue
 * owner the pool took over without a hand-off (dead, fenced, or gone from
 * the volume).  That member's copy of each such write may still land on
 * the shared storage later (a slow path, a controller queue, I/O a dying
 * domain issued), after a newer write to the same sectors: so a newer
 * write overlapping one of these ranges is held back until the member is
 * known to be drained (the supervisor's drained/<m> node) or its deadline
 * (the storage timeout) passes.  See docs/protocol.md "Late writes".
 */
#ifndef VBDFRONT_LOSTW_H
#define VBDFRONT_LOSTW_H

#include <stdbool.h>
#include <stdint.h>

struct vbdf_lost_range {
	uint16_t owner; /* the member that may still write it */
	uint64_t sector, nsect;
	uint64_t deadline_ns; /* monotonic; 0: no deadline (wait for drained) */
};

struct vbdf_lostw {
	struct vbdf_lost_range *r;
	unsigned n, cap;
};

/* 0, or -ENOMEM (the caller then holds nothing back for it: logged). */
int vbdf_lostw_add(struct vbdf_lostw *s, uint16_t owner, uint64_t sector, uint64_t nsect,
		   uint64_t deadline_ns);
/* Does [sector, sector+nsect) overlap a range still lost? */
bool vbdf_lostw_overlaps(const struct vbdf_lostw *s, uint64_t sector, uint64_t nsect);
/* Forget owner's ranges (drained); returns how many were dropped. */
unsigned vbdf_lostw_drop_owner(struct vbdf_lostw *s, uint16_t owner);
/* Forget the ranges whose deadline is at or before now; returns how many.
 * *owner_out (may be NULL) gets one owner that expired, for the log. */
unsigned vbdf_lostw_expire(struct vbdf_lostw *s, uint64_t now_ns, uint16_t *owner_out);
/* The earliest deadline, or 0 when none. */
uint64_t vbdf_lostw_next_deadline(const struct vbdf_lostw *s);
/* Fills up to max distinct owners; returns how many distinct owners there are. */
unsigned vbdf_lostw_owners(const struct vbdf_lostw *s, uint16_t *out, unsigned max);
void vbdf_lostw_free(struct vbdf_lostw *s);

#endif
