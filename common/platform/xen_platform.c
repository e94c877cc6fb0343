/* SPDX-License-Identifier: MIT */
/* The "xen" platform: the real Xen libraries. */
#include "xen_internal.h"

const struct vbd_platform vbd_platform_xen = {
    .name = "xen",
    .evtchn = &xen_evtchn_ops,
    .gntshr = &xen_gntshr_ops,
    .gnttab = &xen_gnttab_ops,
    .domctl = &xen_domctl_ops,
};
