/* SPDX-License-Identifier: MIT */
/* Shared by the real-Xen platform's modules (common/platform/xen_*.c). */
#ifndef VBDPOOL_XEN_INTERNAL_H
#define VBDPOOL_XEN_INTERNAL_H

#include "ops_table.h"

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

/* The libraries' convention (-1 or NULL with errno set, errno sometimes
 * left 0) as the platform's (-errno): rc itself when not negative,
 * otherwise -errno, or -dflt when the library left errno 0. */
static inline int xen_neg_errno(int rc, int dflt)
{
	return rc < 0 ? (errno ? -errno : -dflt) : rc;
}

/* Defines PREFIX_open and PREFIX_close for a platform handle `struct TYPE`
 * that is the library LIB's handle (LIB_open, LIB_close, LIB_handle: the
 * struct is never defined), and PREFIX_x(h), the library's handle. */
#define XEN_DEFINE_HANDLE(prefix, type, lib)                                                       \
	static inline lib##_handle *prefix##_x(struct type *h)                                     \
	{                                                                                          \
		return (lib##_handle *)h;                                                          \
	}                                                                                          \
	static struct type *prefix##_open(void)                                                    \
	{                                                                                          \
		return (struct type *)lib##_open(NULL, 0);                                         \
	}                                                                                          \
	static void prefix##_close(struct type *h)                                                 \
	{                                                                                          \
		lib##_close(prefix##_x(h)); /* a NULL handle is ignored */                         \
	}

/* Calls a library function with errno cleared first, mapped as above. */
#define XEN_CALL(call, dflt) (errno = 0, xen_neg_errno((call), (dflt)))

#endif
