/* SPDX-License-Identifier: MIT */
/* Shared by the real-Xen platform's modules (common/platform/xen_*.c). */
#ifndef VBDPOOL_XEN_INTERNAL_H
#define VBDPOOL_XEN_INTERNAL_H

#include "vbdpool/platform.h"

extern const struct vbd_evtchn_ops xen_evtchn_ops;
extern const struct vbd_gntshr_ops xen_gntshr_ops;
extern const struct vbd_gnttab_ops xen_gnttab_ops;
extern const struct vbd_domctl_ops xen_domctl_ops;

#endif
