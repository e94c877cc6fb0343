/* SPDX-License-Identifier: MIT */
/* The "sim" platform: the emulated Xen host of tools/xensim. */
#include "sim_internal.h"

const struct vbd_platform vbd_platform_sim = {
    .name = "sim",
    .evtchn = &sim_evtchn_ops,
    .gntshr = &sim_gntshr_ops,
    .gnttab = &sim_gnttab_ops,
    .domctl = &sim_domctl_ops,
};
