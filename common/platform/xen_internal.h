/* SPDX-License-Identifier: MIT */
/* Shared by the real-Xen platform's modules (common/platform/xen_*.c). */
#ifndef VBDPOOL_XEN_INTERNAL_H
#define VBDPOOL_XEN_INTERNAL_H

#include "vbdpool/platform.h"

#include <errno.h>
#include <stdlib.h>

extern const struct vbd_evtchn_ops xen_evtchn_ops;
extern const struct vbd_gntshr_ops xen_gntshr_ops;
extern const struct vbd_gnttab_ops xen_gnttab_ops;
extern const struct vbd_domctl_ops xen_domctl_ops;

/* Frees a handle whose library open failed, keeping that errno; returns
 * NULL for `return xen_open_failed(h);`. */
static inline void *xen_open_failed(void *h)
{
	int e = errno;

	free(h);
	errno = e;
	return NULL;
}

#endif
