/* SPDX-License-Identifier: MIT */
/* The "xen" platform: the real Xen libraries. */
#include "xen_internal.h"

const struct vbd_platform vbd_platform_xen = VBD_PLATFORM(xen);
