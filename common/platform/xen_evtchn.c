/* SPDX-License-Identifier: MIT */
/* Event channels on real Xen: libxenevtchn. */
#include "xen_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <xenevtchn.h>

struct vbd_evtchn {
	xenevtchn_handle *x;
};

static int neg_errno(int rc)
{
	return rc < 0 ? (errno ? -errno : -EIO) : rc;
}

static struct vbd_evtchn *xen_open(void)
{
	struct vbd_evtchn *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->x = xenevtchn_open(NULL, 0);
	if (!h->x)
		return xen_open_failed(h);
	return h;
}

static void xen_close(struct vbd_evtchn *h)
{
	if (!h)
		return;
	xenevtchn_close(h->x);
	free(h);
}

static int xen_alloc_unbound(struct vbd_evtchn *h, vbd_domid_t remote)
{
	errno = 0;
	return neg_errno(xenevtchn_bind_unbound_port(h->x, remote));
}

static int xen_bind_interdomain(struct vbd_evtchn *h, vbd_domid_t remote, vbd_port_t port)
{
	errno = 0;
	return neg_errno(xenevtchn_bind_interdomain(h->x, remote, port));
}

static int xen_unbind(struct vbd_evtchn *h, vbd_port_t port)
{
	errno = 0;
	return neg_errno(xenevtchn_unbind(h->x, port));
}

static int xen_notify(struct vbd_evtchn *h, vbd_port_t port)
{
	errno = 0;
	return neg_errno(xenevtchn_notify(h->x, port));
}

static int xen_fd(struct vbd_evtchn *h)
{
	return xenevtchn_fd(h->x);
}

static int xen_pending(struct vbd_evtchn *h)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(h->x), .events = POLLIN};
	int rc;

	/* the device is opened blocking: read only when something is there */
	rc = poll(&pfd, 1, 0);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -EAGAIN;
	errno = 0;
	rc = xenevtchn_pending(h->x);
	if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == 0))
		return -EAGAIN;
	return neg_errno(rc);
}

static int xen_unmask(struct vbd_evtchn *h, vbd_port_t port)
{
	errno = 0;
	return neg_errno(xenevtchn_unmask(h->x, port));
}

const struct vbd_evtchn_ops xen_evtchn_ops = {
    .open = xen_open,
    .close = xen_close,
    .alloc_unbound = xen_alloc_unbound,
    .bind_interdomain = xen_bind_interdomain,
    .unbind = xen_unbind,
    .notify = xen_notify,
    .fd = xen_fd,
    .pending = xen_pending,
    .unmask = xen_unmask,
};
