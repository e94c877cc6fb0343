/* SPDX-License-Identifier: MIT */
/* The "sim" platform: the emulated Xen host of sim/ (xensim). */
#include "sim_internal.h"

const struct vbd_platform vbd_platform_sim = VBD_PLATFORM(sim);
