/* SPDX-License-Identifier: MIT */
/* Grant mapping (libxengnttab) and sharing (xengntshr) on real Xen. */
#include "xen_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xengnttab.h>

struct vbd_gnttab {
	xengnttab_handle *x;
};

struct vbd_gntshr {
	xengntshr_handle *x;
};

static struct vbd_gnttab *tab_open(void)
{
	struct vbd_gnttab *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->x = xengnttab_open(NULL, 0);
	if (!h->x)
		return xen_open_failed(h);
	return h;
}

static void tab_close(struct vbd_gnttab *h)
{
	if (!h)
		return;
	xengnttab_close(h->x);
	free(h);
}

static void *tab_map_refs(struct vbd_gnttab *h, int count, vbd_domid_t domid,
			  const vbd_gref_t *refs, int prot)
{
	uint32_t *r;
	void *p;
	int e;

	if (count < 1) {
		errno = EINVAL;
		return NULL;
	}
	/* the library takes a non-const array */
	r = malloc((size_t)count * sizeof(*r));
	if (!r)
		return NULL;
	memcpy(r, refs, (size_t)count * sizeof(*r));
	p = xengnttab_map_domain_grant_refs(h->x, (uint32_t)count, domid, r, prot);
	e = errno;
	free(r);
	errno = e;
	return p;
}

static int tab_unmap(struct vbd_gnttab *h, void *addr, int count)
{
	errno = 0;
	if (xengnttab_unmap(h->x, addr, (uint32_t)count) < 0)
		return errno ? -errno : -EINVAL;
	return 0;
}

static struct vbd_gntshr *shr_open(void)
{
	struct vbd_gntshr *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->x = xengntshr_open(NULL, 0);
	if (!h->x)
		return xen_open_failed(h);
	return h;
}

static void shr_close(struct vbd_gntshr *h)
{
	if (!h)
		return;
	xengntshr_close(h->x);
	free(h);
}

static void *shr_share_pages(struct vbd_gntshr *h, vbd_domid_t domid, int count, vbd_gref_t *refs,
			     int writable)
{
	return xengntshr_share_pages(h->x, domid, count, refs, writable);
}

static int shr_unshare(struct vbd_gntshr *h, void *start, int count)
{
	errno = 0;
	if (xengntshr_unshare(h->x, start, (uint32_t)count) < 0)
		return errno ? -errno : -EINVAL;
	return 0;
}

const struct vbd_gnttab_ops xen_gnttab_ops = {
    .open = tab_open,
    .close = tab_close,
    .map_refs = tab_map_refs,
    .unmap = tab_unmap,
};

const struct vbd_gntshr_ops xen_gntshr_ops = {
    .open = shr_open,
    .close = shr_close,
    .share_pages = shr_share_pages,
    .unshare = shr_unshare,
};
