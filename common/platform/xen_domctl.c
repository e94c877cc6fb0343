/* SPDX-License-Identifier: MIT */
/* Domain control on real Xen: libxenctrl (names from XenStore). */
#include "xen_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xenstore.h>

#define LIST_MAX 1024

struct vbd_domctl {
	xc_interface *xch;
	struct xs_handle *xs; /* for names; may be NULL */
};

static struct vbd_domctl *xen_open(void)
{
	struct vbd_domctl *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->xch = xc_interface_open(NULL, NULL, 0);
	if (!h->xch)
		return xen_open_failed(h);
	h->xs = xs_open(XS_OPEN_READONLY);
	return h;
}

static void xen_close(struct vbd_domctl *h)
{
	if (!h)
		return;
	if (h->xs)
		xs_close(h->xs);
	xc_interface_close(h->xch);
	free(h);
}

static void dom_name(struct vbd_domctl *h, unsigned domid, char *buf, size_t len)
{
	char path[64];
	unsigned n = 0;
	char *v = NULL;

	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if (h->xs)
		v = xs_read(h->xs, XBT_NULL, path, &n);
	snprintf(buf, len, "%s", v ? v : "");
	free(v);
}

static int xen_list(struct vbd_domctl *h, struct vbd_dominfo *out, int max)
{
	xc_domaininfo_t *info = calloc(LIST_MAX, sizeof(*info));
	int n;

	if (!info)
		return -ENOMEM;
	errno = 0;
	n = xc_domain_getinfolist(h->xch, 0, LIST_MAX, info);
	if (n < 0) {
		int e = errno ? errno : EIO;

		free(info);
		return -e;
	}
	for (int i = 0; i < n && i < max; i++) {
		out[i].domid = (vbd_domid_t)info[i].domain;
		if (info[i].flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown))
			out[i].state = VBD_DOM_DYING;
		else if (info[i].flags & XEN_DOMINF_paused)
			out[i].state = VBD_DOM_PAUSED;
		else
			out[i].state = VBD_DOM_RUNNING;
		dom_name(h, info[i].domain, out[i].name, sizeof(out[i].name));
	}
	free(info);
	return n;
}

static int rc_of(int rc)
{
	rc = xen_neg_errno(rc, EIO);
	return rc < 0 ? rc : 0;
}

static int xen_pause(struct vbd_domctl *h, vbd_domid_t domid)
{
	return rc_of(XEN_CALL(xc_domain_pause(h->xch, domid), EIO));
}

static int xen_unpause(struct vbd_domctl *h, vbd_domid_t domid)
{
	return rc_of(XEN_CALL(xc_domain_unpause(h->xch, domid), EIO));
}

static int xen_destroy(struct vbd_domctl *h, vbd_domid_t domid)
{
	return rc_of(XEN_CALL(xc_domain_destroy(h->xch, domid), EIO));
}

const struct vbd_domctl_ops xen_domctl_ops = VBD_DOMCTL_OPS(xen);
