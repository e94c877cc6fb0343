/* SPDX-License-Identifier: MIT */
/* Persistent-grant page pool of one ring (one queue, one owner epoch):
 * data and indirect pages granted once to the owner, in chunks, handed to
 * requests and taken back on their responses, and ended all together when
 * the epoch's ring is abandoned.  Caller locks. */
#ifndef VBDFRONT_GPOOL_H
#define VBDFRONT_GPOOL_H

#include <stdint.h>

#include "vbdpool/platform.h"

/* The platform the data path uses: vbd_platform() unless a unit test set
 * vbd_front_platform to a fake one (ring.c defines it). */
extern const struct vbd_platform *vbd_front_platform;
static inline const struct vbd_platform *vbd_front_plat(void)
{
	return vbd_front_platform ? vbd_front_platform : vbd_platform();
}

struct vbdf_gpool_chunk {
	void *addr;
	int count;
};

struct vbdf_gpool {
	struct vbd_gntshr *shr;
	vbd_domid_t domid;
	unsigned chunk_pages, max_pages;
	unsigned npages, nfree;
	void **addr;	 /* [max_pages] page address by index */
	vbd_gref_t *ref; /* [max_pages] grant ref by index */
	uint32_t *free;	 /* [max_pages] stack of free indices */
	struct vbdf_gpool_chunk *chunks;
	unsigned nchunks;
};

int vbdf_gpool_init(struct vbdf_gpool *p, struct vbd_gntshr *shr, vbd_domid_t domid,
		    unsigned chunk_pages, unsigned max_pages);
/* Ends every grant (the pages are not reused while the peer maps them). */
void vbdf_gpool_destroy(struct vbdf_gpool *p);
/* Takes n pages (granting a new chunk when needed); -ENOSPC when the pool
 * is at max_pages and too few are free, or the error of the grant call. */
int vbdf_gpool_get(struct vbdf_gpool *p, unsigned n, uint32_t *idx);
void vbdf_gpool_put(struct vbdf_gpool *p, unsigned n, const uint32_t *idx);
static inline void *vbdf_gpool_addr(const struct vbdf_gpool *p, uint32_t i)
{
	return p->addr[i];
}
static inline vbd_gref_t vbdf_gpool_ref(const struct vbdf_gpool *p, uint32_t i)
{
	return p->ref[i];
}

#endif
