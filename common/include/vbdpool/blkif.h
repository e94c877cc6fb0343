/* SPDX-License-Identifier: MIT */
/* The standard blkif ring (xen/io/blkif.h + xen/io/ring.h from libxen-dev)
 * for userspace: the barrier macros ring.h expects, and helpers shared by
 * the frontend and the backend. */
#ifndef VBDPOOL_BLKIF_H
#define VBDPOOL_BLKIF_H

#include <stdint.h>

#ifndef xen_mb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#include <xen/io/ring.h>

/* ring.h redefines xen_mb() & co. as the kernel's mb()/rmb()/wmb() when
 * __XEN_INTERFACE_VERSION__ is old (the default): use ours again (macros
 * are expanded where RING_* are used, so this takes effect). */
#undef xen_mb
#undef xen_rmb
#undef xen_wmb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include "vbdpool/platform.h"

/* Number of request slots in a ring of 2^order pages. */
static inline unsigned vbd_ring_slots(unsigned order)
{
	return __CONST_RING_SIZE(blkif, VBD_PAGE_SIZE << order);
}

/* Segments per indirect page and indirect pages needed for n segments. */
#define VBD_SEGS_PER_INDIRECT_PAGE (VBD_PAGE_SIZE / sizeof(struct blkif_request_segment))
static inline unsigned vbd_indirect_pages(unsigned nsegs)
{
	return (nsegs + VBD_SEGS_PER_INDIRECT_PAGE - 1) / VBD_SEGS_PER_INDIRECT_PAGE;
}

#endif
