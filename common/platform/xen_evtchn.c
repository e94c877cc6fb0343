/* SPDX-License-Identifier: MIT */
/* Event channels on real Xen: libxenevtchn.  The platform's handle is the
 * library's handle (struct vbd_evtchn is never defined here). */
#include "xen_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <xenevtchn.h>

XEN_DEFINE_HANDLE(xen, vbd_evtchn, xenevtchn)

static int xen_alloc_unbound(struct vbd_evtchn *h, vbd_domid_t remote)
{
	return XEN_CALL(xenevtchn_bind_unbound_port(xen_x(h), remote), EIO);
}

static int xen_bind_interdomain(struct vbd_evtchn *h, vbd_domid_t remote, vbd_port_t port)
{
	return XEN_CALL(xenevtchn_bind_interdomain(xen_x(h), remote, port), EIO);
}

static int xen_unbind(struct vbd_evtchn *h, vbd_port_t port)
{
	return XEN_CALL(xenevtchn_unbind(xen_x(h), port), EIO);
}

static int xen_notify(struct vbd_evtchn *h, vbd_port_t port)
{
	return XEN_CALL(xenevtchn_notify(xen_x(h), port), EIO);
}

static int xen_fd(struct vbd_evtchn *h)
{
	return xenevtchn_fd(xen_x(h));
}

static int xen_pending(struct vbd_evtchn *h)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(xen_x(h)), .events = POLLIN};
	int rc;

	/* the device is opened blocking: read only when something is there */
	rc = poll(&pfd, 1, 0);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -EAGAIN;
	errno = 0;
	rc = xenevtchn_pending(xen_x(h));
	if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == 0))
		return -EAGAIN;
	return xen_neg_errno(rc, EIO);
}

static int xen_unmask(struct vbd_evtchn *h, vbd_port_t port)
{
	return XEN_CALL(xenevtchn_unmask(xen_x(h), port), EIO);
}

const struct vbd_evtchn_ops xen_evtchn_ops = VBD_EVTCHN_OPS(xen);
