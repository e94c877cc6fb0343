/* SPDX-License-Identifier: MIT */
/* Queue selection: which queue gets the next new request (shortest queue
 * first among the queues that accept new requests).  Pure function. */
#ifndef VBDFRONT_QSELECT_H
#define VBDFRONT_QSELECT_H

#include <stdbool.h>

struct vbdf_qsel_view {
	bool usable;	   /* connected ring of the current epoch, not draining,
			      not broken, nothing bound to it waiting */
	unsigned inflight; /* requests on its ring */
	unsigned free;	   /* free ring slots */
};

/* Index of the usable queue with a free slot and the fewest requests in
 * flight; ties go to the first such queue at or after `hint` (round robin,
 * so an idle device still spreads its load).  -1 when none qualifies. */
int vbdf_qsel_pick(const struct vbdf_qsel_view *v, unsigned n, unsigned hint);

/* Batching: the queue `hint` while it is usable, has a free slot and fewer
 * than `depth` requests in flight (its owner then takes several requests per
 * wake-up instead of one), else vbdf_qsel_pick. */
int vbdf_qsel_pick_batch(const struct vbdf_qsel_view *v, unsigned n, unsigned hint, unsigned depth);

#endif
