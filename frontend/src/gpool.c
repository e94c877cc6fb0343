/* SPDX-License-Identifier: MIT */
#include "gpool.h"

#include <errno.h>
#include <stdlib.h>

#include "vbdpool/log.h"

extern

    int
    vbdf_gpool_init(struct vbdf_gpool *p, struct vbd_gntshr *shr, vbd_domid_t domid,
		    unsigned chunk_pages, unsigned max_pages)
{
	*p = (struct vbdf_gpool){
	    .shr = shr, .domid = domid, .chunk_pages = chunk_pages, .max_pages = max_pages};
	if (!chunk_pages || max_pages < chunk_pages)
		return -EINVAL;
	p->addr = calloc(max_pages, sizeof(*p->addr));
	p->ref = calloc(max_pages, sizeof(*p->ref));
	p->free = calloc(max_pages, sizeof(*p->free));
	p->chunks = calloc(max_pages / chunk_pages + 1, sizeof(*p->chunks));
	if (!p->addr || !p->ref || !p->free || !p->chunks) {
		vbdf_gpool_destroy(p);
		return -ENOMEM;
	}
	return 0;
}

void vbdf_gpool_destroy(struct vbdf_gpool *p)
{
	for (unsigned i = 0; i < p->nchunks; i++) {
		int rc = vbd_front_plat()->gntshr->unshare(p->shr, p->chunks[i].addr,
							   p->chunks[i].count);
		if (rc < 0)
			log_warn("front: ending %d grants to dom%u: %d", p->chunks[i].count,
				 p->domid, rc);
	}
	free(p->addr);
	free(p->ref);
	free(p->free);
	free(p->chunks);
	p->addr = NULL;
	p->ref = NULL;
	p->free = NULL;
	p->chunks = NULL;
	p->nchunks = p->npages = p->nfree = 0;
}

static int gpool_grow(struct vbdf_gpool *p)
{
	unsigned count = p->chunk_pages;
	char *base;

	if (p->npages + count > p->max_pages)
		count = p->max_pages - p->npages;
	if (count == 0)
		return -ENOSPC;
	base = vbd_front_plat()->gntshr->share_pages(p->shr, p->domid, (int)count,
						     p->ref + p->npages, 1);
	if (!base)
		return errno ? -errno : -ENOMEM;
	p->chunks[p->nchunks++] = (struct vbdf_gpool_chunk){.addr = base, .count = (int)count};
	/* Push in reverse so pages are handed out in address order. */
	for (unsigned i = 0; i < count; i++)
		p->addr[p->npages + i] = base + (size_t)i * VBD_PAGE_SIZE;
	for (unsigned i = count; i-- > 0;)
		p->free[p->nfree++] = p->npages + i;
	p->npages += count;
	return 0;
}

int vbdf_gpool_get(struct vbdf_gpool *p, unsigned n, uint32_t *idx)
{
	if (n > p->max_pages)
		return -ENOSPC;
	while (p->nfree < n) {
		int rc = gpool_grow(p);
		if (rc < 0)
			return rc;
	}
	for (unsigned i = 0; i < n; i++)
		idx[i] = p->free[--p->nfree];
	return 0;
}

void vbdf_gpool_put(struct vbdf_gpool *p, unsigned n, const uint32_t *idx)
{
	for (unsigned i = 0; i < n; i++)
		p->free[p->nfree++] = idx[i];
}
