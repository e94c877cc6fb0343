/* SPDX-License-Identifier: MIT */
/* Grant mapping (libxengnttab) and sharing (xengntshr) on real Xen. */
#include "xen_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xengnttab.h>

/* The platform's handles are the libraries' handles (struct vbd_gnttab and
 * struct vbd_gntshr are never defined here). */
XEN_DEFINE_HANDLE(tab, vbd_gnttab, xengnttab)
XEN_DEFINE_HANDLE(shr, vbd_gntshr, xengntshr)

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
	p = xengnttab_map_domain_grant_refs(tab_x(h), (uint32_t)count, domid, r, prot);
	e = errno;
	free(r);
	errno = e;
	return p;
}

static int tab_unmap(struct vbd_gnttab *h, void *addr, int count)
{
	int rc = XEN_CALL(xengnttab_unmap(tab_x(h), addr, (uint32_t)count), EINVAL);

	return rc < 0 ? rc : 0;
}

static void *shr_share_pages(struct vbd_gntshr *h, vbd_domid_t domid, int count, vbd_gref_t *refs,
			     int writable)
{
	return xengntshr_share_pages(shr_x(h), domid, count, refs, writable);
}

static int shr_unshare(struct vbd_gntshr *h, void *start, int count)
{
	int rc = XEN_CALL(xengntshr_unshare(shr_x(h), start, (uint32_t)count), EINVAL);

	return rc < 0 ? rc : 0;
}

const struct vbd_gnttab_ops xen_gnttab_ops = VBD_GNTTAB_OPS(tab);

const struct vbd_gntshr_ops xen_gntshr_ops = VBD_GNTSHR_OPS(shr);
