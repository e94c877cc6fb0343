/* SPDX-License-Identifier: MIT */
/* A fake event channel for the tests that run a ring in local memory (the
 * backend data path's unit test and fuzz target, the frontend's fake
 * platform in front_fake.h): one channel, to domain `remote` port
 * `remote_port`, is port `local` here; notifies on it are counted.  Set the
 * includer defines FAKE_EVTCHN_INIT (the initializer of fake_evtchn) and
 * CHECK (tests/lib/check.h's, or an aborting one in fuzz/) first; include
 * once per program. */
#ifndef FAKE_EVTCHN_H
#define FAKE_EVTCHN_H

#include <errno.h>

#include "vbdpool/platform.h"

static struct fake_evtchn {
	vbd_domid_t remote;	/* bind accepts this domain ... */
	vbd_port_t remote_port; /* ... and this port only */
	vbd_port_t local;	/* what bind or alloc_unbound returns */
	int can_alloc;		/* alloc_unbound: `local`, else -ENOSYS */
	int fd;			/* what fd() returns */
	unsigned notifies;	/* notifies sent on `local` */
} fake_evtchn = FAKE_EVTCHN_INIT;

#define FAKE_EV_HANDLE ((struct vbd_evtchn *)&fake_evtchn)

static struct vbd_evtchn *fake_ev_open(void)
{
	return FAKE_EV_HANDLE;
}
static void fake_ev_close(struct vbd_evtchn *h)
{
	CHECK(h == FAKE_EV_HANDLE);
}
static int fake_ev_alloc(struct vbd_evtchn *h, vbd_domid_t remote)
{
	(void)remote;
	CHECK(h == FAKE_EV_HANDLE);
	return fake_evtchn.can_alloc ? (int)fake_evtchn.local : -ENOSYS;
}
static int fake_ev_bind(struct vbd_evtchn *h, vbd_domid_t remote, vbd_port_t port)
{
	CHECK(h == FAKE_EV_HANDLE);
	return remote == fake_evtchn.remote && port == fake_evtchn.remote_port
		   ? (int)fake_evtchn.local
		   : -EINVAL;
}
static int fake_ev_unbind(struct vbd_evtchn *h, vbd_port_t port)
{
	CHECK(h == FAKE_EV_HANDLE);
	CHECK(port == fake_evtchn.local);
	return port == fake_evtchn.local ? 0 : -ENOTCONN;
}
static int fake_ev_notify(struct vbd_evtchn *h, vbd_port_t port)
{
	CHECK(h == FAKE_EV_HANDLE);
	CHECK(port == fake_evtchn.local);
	fake_evtchn.notifies++;
	return 0;
}
static int fake_ev_fd(struct vbd_evtchn *h)
{
	(void)h;
	return fake_evtchn.fd;
}
static int fake_ev_pending(struct vbd_evtchn *h)
{
	(void)h;
	return -EAGAIN;
}
static int fake_ev_unmask(struct vbd_evtchn *h, vbd_port_t port)
{
	(void)h;
	(void)port;
	return 0;
}
/* in the order of struct vbd_evtchn_ops */
static const struct vbd_evtchn_ops fake_ev = {fake_ev_open, fake_ev_close,   fake_ev_alloc,
					      fake_ev_bind, fake_ev_unbind,  fake_ev_notify,
					      fake_ev_fd,   fake_ev_pending, fake_ev_unmask};

#undef FAKE_EV_HANDLE
#endif
