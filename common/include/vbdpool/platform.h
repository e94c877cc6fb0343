/* SPDX-License-Identifier: MIT */
/*
 * The platform layer: every vbdpool component talks to Xen only through
 * these ops tables (modelled on QEMU's include/hw/xen/xen_backend_ops.h).
 *
 * Two implementations, chosen at run time by vbd_platform():
 *   "xen" - the real libxenevtchn / libxengnttab (+xengntshr) / libxenctrl;
 *   "sim" - the emulated Xen host (sim/, xensim), selected when the
 *           environment holds XENSIM_HYP (set by `xensim exec/create`).
 * VBD_PLATFORM=xen|sim forces one.
 *
 * XenStore is not wrapped: both implementations use the real libxenstore
 * (the emulator speaks xs_wire.h; `xensim exec` sets XENSTORED_PATH).
 *
 * Conventions: functions returning int return >= 0 on success and -errno on
 * failure, with the error codes real Xen 4.17 gives (see
 * ../shared/design/xen-observed.txt): every failed grant map is -EINVAL,
 * binding an unallocated/foreign port -EINVAL, a nonexistent domain -ESRCH,
 * notify/unbind of a port the handle does not own -ENOTCONN.
 * Pointer-returning functions return NULL and set errno.
 */
#ifndef VBDPOOL_PLATFORM_H
#define VBDPOOL_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#define VBD_PAGE_SIZE 4096u

typedef uint32_t vbd_port_t;
typedef uint32_t vbd_gref_t;
typedef uint16_t vbd_domid_t;

struct vbd_evtchn; /* an event-channel handle (one per thread that polls) */
struct vbd_gntshr; /* grant sharing: the granting (frontend) side */
struct vbd_gnttab; /* grant mapping: the mapping (backend) side */
struct vbd_domctl; /* domain control: dom0 tools only */

/* Event channels (libxenevtchn semantics). */
struct vbd_evtchn_ops {
	struct vbd_evtchn *(*open)(void);
	void (*close)(struct vbd_evtchn *h);
	/* Allocate a port that `remote` may bind to. Returns the port. */
	int (*alloc_unbound)(struct vbd_evtchn *h, vbd_domid_t remote);
	/* Bind to `remote`'s unbound port. Returns the new local port, which
	 * starts with one pending event (as on Xen). */
	int (*bind_interdomain)(struct vbd_evtchn *h, vbd_domid_t remote, vbd_port_t remote_port);
	int (*unbind)(struct vbd_evtchn *h, vbd_port_t port);
	int (*notify)(struct vbd_evtchn *h, vbd_port_t port);
	/* A file descriptor that polls readable while an event is pending. */
	int (*fd)(struct vbd_evtchn *h);
	/* Next pending port (it is masked until unmask), or -EAGAIN if none. */
	int (*pending)(struct vbd_evtchn *h);
	int (*unmask)(struct vbd_evtchn *h, vbd_port_t port);
};

/* Grant sharing (xengntshr semantics): allocate `count` fresh zeroed pages,
 * contiguous in this process, each granted to `domid`. */
struct vbd_gntshr_ops {
	struct vbd_gntshr *(*open)(void);
	void (*close)(struct vbd_gntshr *h);
	void *(*share_pages)(struct vbd_gntshr *h, vbd_domid_t domid, int count, vbd_gref_t *refs,
			     int writable);
	/* End access to the pages and unmap them here (xengntshr_unshare):
	 * returns 0 even while the peer maps them; the peer keeps access
	 * until it unmaps; new maps of the refs fail. */
	int (*unshare)(struct vbd_gntshr *h, void *start, int count);
};

/* Grant mapping (xengnttab semantics). prot is PROT_READ or
 * PROT_READ|PROT_WRITE. A batch with one bad ref fails as a whole. */
struct vbd_gnttab_ops {
	struct vbd_gnttab *(*open)(void);
	void (*close)(struct vbd_gnttab *h);
	void *(*map_refs)(struct vbd_gnttab *h, int count, vbd_domid_t domid,
			  const vbd_gref_t *refs, int prot);
	int (*unmap)(struct vbd_gnttab *h, void *addr, int count);
};

enum vbd_domstate {
	VBD_DOM_RUNNING = 0,
	VBD_DOM_PAUSED = 1,
	VBD_DOM_DYING = 2, /* destroyed; zombie while foreign maps remain */
};

struct vbd_dominfo {
	vbd_domid_t domid;
	enum vbd_domstate state;
	char name[64];
};

/* Domain control (libxenctrl), for dom0 tools: the supervisor fences. */
struct vbd_domctl_ops {
	struct vbd_domctl *(*open)(void);
	void (*close)(struct vbd_domctl *h);
	/* Fill up to `max` entries; returns how many domains exist. */
	int (*list)(struct vbd_domctl *h, struct vbd_dominfo *out, int max);
	int (*pause)(struct vbd_domctl *h, vbd_domid_t domid);
	int (*unpause)(struct vbd_domctl *h, vbd_domid_t domid);
	int (*destroy)(struct vbd_domctl *h, vbd_domid_t domid);
};

struct vbd_platform {
	const char *name; /* "xen" or "sim" */
	const struct vbd_evtchn_ops *evtchn;
	const struct vbd_gntshr_ops *gntshr;
	const struct vbd_gnttab_ops *gnttab;
	const struct vbd_domctl_ops *domctl;
};

extern const struct vbd_platform vbd_platform_xen;
extern const struct vbd_platform vbd_platform_sim;

/* The active platform (see the top of this file). Never NULL. */
const struct vbd_platform *vbd_platform(void);

#endif
