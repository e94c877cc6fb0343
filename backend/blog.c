/* SPDX-License-Identifier: MIT */
/* The control path's per-object log helpers (blog.h). */
#include "blog.h"

#include <stdio.h>

#include "backd.h"

const char *vq_epoch(const struct vbd_attach *a, unsigned q, char buf[VBD_VQ_EPOCH_MAX])
{
	const struct vbd_qslot *s = &a->qs[q];

	if (s->rec_ok)
		snprintf(buf, VBD_VQ_EPOCH_MAX, "%" PRIu64, s->rec.epoch);
	else if (s->q)
		snprintf(buf, VBD_VQ_EPOCH_MAX, "%" PRIu64, vbdq_epoch(s->q));
	else
		snprintf(buf, VBD_VQ_EPOCH_MAX, "-");
	return buf;
}
