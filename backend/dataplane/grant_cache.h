/* SPDX-License-Identifier: MIT */
/* Persistent grants of one queue for one owner epoch: each data (or
 * indirect) page ref is mapped once and kept until the epoch ends, up to
 * VBD_MAX_PERSISTENT_GRANTS refs; beyond that a ref is mapped for one
 * request only (transient). Used by the queue's data thread only. */
#ifndef VBD_BACKEND_GRANT_CACHE_H
#define VBD_BACKEND_GRANT_CACHE_H

#include <stdint.h>

#include "vbdpool/platform.h"

struct vbd_gcache_ent {
	vbd_gref_t ref;
	uint8_t used;
	uint8_t writable;
	void *addr;
};

struct vbd_gcache {
	const struct vbd_gnttab_ops *ops;
	struct vbd_gnttab *h;
	vbd_domid_t domid;
	struct vbd_gcache_ent *tab;
	unsigned mask; /* table size - 1 (power of two) */
	unsigned count, max;
	uint64_t maps, hits, transient; /* statistics */
};

int vbd_gcache_init(struct vbd_gcache *gc, const struct vbd_gnttab_ops *ops, struct vbd_gnttab *h,
		    vbd_domid_t domid, unsigned max);

/* The page of `ref`, mapped writable if `need_write` (the backend writes
 * it: a read request). Returns NULL (errno EINVAL) if the ref cannot be
 * mapped as needed. *transient is set to 1 when the caller must
 * vbd_gcache_put_transient() the page after the request. */
void *vbd_gcache_get(struct vbd_gcache *gc, vbd_gref_t ref, int need_write, int *transient);
/* Returns -1 if the unmap failed (the caller logs it, with its queue). */
int vbd_gcache_put_transient(struct vbd_gcache *gc, void *addr);

/* Unmap every cached page (the epoch ended). Returns how many unmaps
 * failed (the caller logs them). */
int vbd_gcache_destroy(struct vbd_gcache *gc);

#endif
