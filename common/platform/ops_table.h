/* SPDX-License-Identifier: MIT */
/* The ops tables of vbdpool/platform.h, filled from one name prefix: an
 * implementation names its functions PREFIX_open, PREFIX_close, ... after
 * the members and writes `const struct vbd_evtchn_ops x = VBD_EVTCHN_OPS(x);`.
 * Shared by the real-Xen (xen_*.c) and emulated (sim_*.c) platforms. */
#ifndef VBDPOOL_OPS_TABLE_H
#define VBDPOOL_OPS_TABLE_H

#include "vbdpool/platform.h"

#define VBD_EVTCHN_OPS(p)                                                                          \
	{                                                                                          \
		.open = p##_open, .close = p##_close, .alloc_unbound = p##_alloc_unbound,          \
		.bind_interdomain = p##_bind_interdomain, .unbind = p##_unbind,                    \
		.notify = p##_notify, .fd = p##_fd, .pending = p##_pending, .unmask = p##_unmask   \
	}
#define VBD_GNTSHR_OPS(p)                                                                          \
	{                                                                                          \
		.open = p##_open, .close = p##_close, .share_pages = p##_share_pages,              \
		.unshare = p##_unshare                                                             \
	}
#define VBD_GNTTAB_OPS(p)                                                                          \
	{                                                                                          \
		.open = p##_open, .close = p##_close, .map_refs = p##_map_refs, .unmap = p##_unmap \
	}
#define VBD_DOMCTL_OPS(p)                                                                          \
	{                                                                                          \
		.open = p##_open, .close = p##_close, .list = p##_list, .pause = p##_pause,        \
		.unpause = p##_unpause, .destroy = p##_destroy                                     \
	}
/* The platform whose ops tables are p_evtchn_ops, p_gntshr_ops, ... */
#define VBD_PLATFORM(p)                                                                            \
	{                                                                                          \
		.name = #p, .evtchn = &p##_evtchn_ops, .gntshr = &p##_gntshr_ops,                  \
		.gnttab = &p##_gnttab_ops, .domctl = &p##_domctl_ops                               \
	}

#endif
