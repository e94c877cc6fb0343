/* SPDX-License-Identifier: MIT */
/* Picks the platform implementation at run time (see platform.h). */
#include "vbdpool/platform.h"

#include <stdlib.h>
#include <string.h>

const struct vbd_platform *vbd_platform(void)
{
	const char *force = getenv("VBD_PLATFORM");

	if (force && !strcmp(force, "xen"))
		return &vbd_platform_xen;
	if (force && !strcmp(force, "sim"))
		return &vbd_platform_sim;
	if (getenv("XENSIM_HYP"))
		return &vbd_platform_sim;
	return &vbd_platform_xen;
}
