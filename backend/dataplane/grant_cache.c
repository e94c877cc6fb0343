/* SPDX-License-Identifier: MIT */
/* Persistent grant cache (see grant_cache.h): open addressing, no deletes
 * (the whole table goes when the epoch ends). */
#include "grant_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

int vbd_gcache_init(struct vbd_gcache *gc, const struct vbd_gnttab_ops *ops, struct vbd_gnttab *h,
		    vbd_domid_t domid, unsigned max)
{
	unsigned size = 16;

	while (size < 2 * max)
		size <<= 1;
	gc->ops = ops;
	gc->h = h;
	gc->domid = domid;
	gc->count = 0;
	gc->max = max;
	gc->maps = gc->hits = gc->transient = 0;
	gc->mask = size - 1;
	gc->tab = calloc(size, sizeof(*gc->tab));
	return gc->tab ? 0 : -ENOMEM;
}

static unsigned hash_ref(vbd_gref_t ref)
{
	uint32_t x = ref * 0x9e3779b1u;
	return x ^ (x >> 16);
}

static void *map_one(struct vbd_gcache *gc, vbd_gref_t ref, int need_write, int *writable)
{
	void *p;

	/* Prefer a writable mapping so the page serves reads and writes. */
	p = gc->ops->map_refs(gc->h, 1, gc->domid, &ref, PROT_READ | PROT_WRITE);
	if (p) {
		*writable = 1;
		return p;
	}
	if (need_write)
		return NULL;
	p = gc->ops->map_refs(gc->h, 1, gc->domid, &ref, PROT_READ);
	*writable = 0;
	return p;
}

void *vbd_gcache_get(struct vbd_gcache *gc, vbd_gref_t ref, int need_write, int *transient)
{
	unsigned i = hash_ref(ref) & gc->mask;
	struct vbd_gcache_ent *e;
	int writable;
	void *p;

	*transient = 0;
	for (;;) {
		e = &gc->tab[i];
		if (!e->used)
			break;
		if (e->ref == ref) {
			if (need_write && !e->writable) {
				errno = EINVAL;
				return NULL;
			}
			gc->hits++;
			return e->addr;
		}
		i = (i + 1) & gc->mask;
	}
	p = map_one(gc, ref, need_write, &writable);
	if (!p) {
		errno = EINVAL;
		return NULL;
	}
	gc->maps++;
	if (gc->count >= gc->max) {
		gc->transient++;
		*transient = 1;
		return p;
	}
	e->used = 1;
	e->ref = ref;
	e->writable = (uint8_t)writable;
	e->addr = p;
	gc->count++;
	return p;
}

int vbd_gcache_put_transient(struct vbd_gcache *gc, void *addr)
{
	return gc->ops->unmap(gc->h, addr, 1) < 0 ? -1 : 0;
}

int vbd_gcache_destroy(struct vbd_gcache *gc)
{
	int failed = 0;

	if (!gc->tab)
		return 0;
	for (unsigned i = 0; i <= gc->mask; i++)
		if (gc->tab[i].used && gc->ops->unmap(gc->h, gc->tab[i].addr, 1) < 0)
			failed++;
	free(gc->tab);
	gc->tab = NULL;
	gc->count = 0;
	return failed;
}
