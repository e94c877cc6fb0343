/* SPDX-License-Identifier: MIT */
/*
 * Event channels.  Each domain has a port table; each allocated port an
 * eventfd (readable = pending).  The daemon hands a port's owner its own
 * eventfd and, once bound, the peer port's eventfd: notify is then a plain
 * write() in the client and never reaches the daemon.  Whenever a port's
 * binding changes the daemon bumps the port's generation word in the
 * domain's shared status page; the owner checks it on notify and fetches
 * the current peer (SIM_OP_EVT_PEER) when it moved.
 *
 * Errors as on Xen 4.17: binding a bound / foreign / unallocated port is
 * EINVAL, a nonexistent domain ESRCH, a port not owned by the handle
 * ENOTCONN.  Closing one side of an interdomain channel leaves the other
 * side unbound for the closer, which may bind it again.
 */
#include "xensim.h"
#include "vbdpool/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define DOMID_SELF   0x7ff0u
#define STATUS_BYTES (SIM_EVTCHN_MAX_PORTS * sizeof(uint32_t))

int evt_dom_init(struct dom *d)
{
	d->ports = calloc(SIM_EVTCHN_MAX_PORTS, sizeof(*d->ports));
	if (!d->ports)
		return -ENOMEM;
	for (unsigned p = 0; p < SIM_EVTCHN_MAX_PORTS; p++)
		d->ports[p].efd = -1;
	d->status_fd = memfd_create("xensim-evtchn-status", MFD_CLOEXEC);
	if (d->status_fd < 0 || ftruncate(d->status_fd, STATUS_BYTES) < 0)
		goto fail;
	d->status = mmap(NULL, STATUS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, d->status_fd, 0);
	if (d->status == MAP_FAILED) {
		d->status = NULL;
		goto fail;
	}
	return 0;
fail:
	if (d->status_fd >= 0)
		close(d->status_fd);
	d->status_fd = -1;
	free(d->ports);
	d->ports = NULL;
	return -ENOMEM;
}

void evt_dom_fini(struct dom *d)
{
	if (d->ports) {
		for (unsigned p = 0; p < SIM_EVTCHN_MAX_PORTS; p++)
			if (d->ports[p].efd >= 0)
				close(d->ports[p].efd);
		free(d->ports);
		d->ports = NULL;
	}
	if (d->status)
		munmap(d->status, STATUS_BYTES);
	d->status = NULL;
	if (d->status_fd >= 0)
		close(d->status_fd);
	d->status_fd = -1;
}

static uint32_t bump(struct dom *d, uint32_t port)
{
	return __atomic_add_fetch(&d->status[port], 1, __ATOMIC_RELEASE);
}

static int alloc_port(struct dom *d)
{
	for (unsigned p = 1; p < SIM_EVTCHN_MAX_PORTS; p++)
		if (d->ports[p].state == PORT_FREE)
			return (int)p;
	return -ENOSPC;
}

static void port_close(struct dom *d, uint32_t p)
{
	struct port *pt = &d->ports[p];

	if (pt->state == PORT_BOUND) {
		struct dom *rd = dom_find(pt->rdom);

		if (rd && rd->ports && rd->ports[pt->rport].state == PORT_BOUND &&
		    rd->ports[pt->rport].rdom == d->id && rd->ports[pt->rport].rport == p) {
			struct port *rp = &rd->ports[pt->rport];

			rp->state = PORT_UNBOUND;
			rp->rdom = (uint16_t)d->id;
			rp->rport = 0;
			bump(rd, pt->rport);
		}
	}
	if (pt->efd >= 0)
		close(pt->efd);
	memset(pt, 0, sizeof(*pt));
	pt->efd = -1;
	bump(d, p);
}

static struct port *owned(struct hconn *c, uint32_t p)
{
	struct dom *d = c->dom;

	if (p == 0 || p >= SIM_EVTCHN_MAX_PORTS || d->ports[p].state == PORT_FREE ||
	    d->ports[p].owner != c)
		return NULL;
	return &d->ports[p];
}

static void do_alloc(struct hconn *c, const struct sim_hyp_msg *m)
{
	struct dom *d = c->dom;
	uint32_t remote = m->a == DOMID_SELF ? d->id : m->a;
	int p = alloc_port(d), efd;

	if (p < 0 || remote > 0xffff) {
		hyp_reply(c, m->op, p < 0 ? p : -EINVAL, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		hyp_reply(c, m->op, -errno, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	d->ports[p] =
	    (struct port){.state = PORT_UNBOUND, .owner = c, .rdom = (uint16_t)remote, .efd = efd};
	if (hyp_reply(c, m->op, 0, (uint32_t)p, bump(d, p), NULL, 0, &efd, 1) < 0)
		port_close(d, p);
}

static void do_bind(struct hconn *c, const struct sim_hyp_msg *m)
{
	struct dom *d = c->dom, *rd;
	uint32_t rdomid = m->a == DOMID_SELF ? d->id : m->a, rport = m->b;
	struct port *rp;
	uint64_t one = 1;
	int p, efd, fds[2];

	rd = dom_find(rdomid);
	if (!rd) {
		hyp_reply(c, m->op, -ESRCH, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	if (rport == 0 || rport >= SIM_EVTCHN_MAX_PORTS || !rd->ports ||
	    rd->ports[rport].state != PORT_UNBOUND || rd->ports[rport].rdom != d->id) {
		hyp_reply(c, m->op, -EINVAL, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	p = alloc_port(d);
	if (p < 0) {
		hyp_reply(c, m->op, p, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		hyp_reply(c, m->op, -errno, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	rp = &rd->ports[rport];
	d->ports[p] = (struct port){
	    .state = PORT_BOUND, .owner = c, .rdom = (uint16_t)rd->id, .rport = rport, .efd = efd};
	rp->state = PORT_BOUND;
	rp->rport = (uint32_t)p;
	bump(rd, rport);
	/* as on Xen: the binder's new port starts with one pending event */
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		log_warn("dom%u: eventfd write failed", d->id);
	fds[0] = efd;
	fds[1] = rp->efd;
	if (hyp_reply(c, m->op, 0, (uint32_t)p, bump(d, p), NULL, 0, fds, 2) < 0)
		port_close(d, p);
}

static void do_peer(struct hconn *c, const struct sim_hyp_msg *m)
{
	struct port *pt = owned(c, m->a);
	struct dom *rd;
	int fd;

	if (!pt) {
		hyp_reply(c, m->op, -ENOTCONN, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	rd = pt->state == PORT_BOUND ? dom_find(pt->rdom) : NULL;
	fd = rd && rd->ports ? rd->ports[pt->rport].efd : -1;
	hyp_reply(c, m->op, 0, m->a, __atomic_load_n(&c->dom->status[m->a], __ATOMIC_ACQUIRE), NULL,
		  0, &fd, fd >= 0 ? 1 : 0);
}

void evt_request(struct hconn *c, const struct sim_hyp_msg *m)
{
	switch (m->op) {
	case SIM_OP_EVT_ALLOC:
		do_alloc(c, m);
		break;
	case SIM_OP_EVT_BIND:
		do_bind(c, m);
		break;
	case SIM_OP_EVT_UNBIND:
		if (!owned(c, m->a)) {
			hyp_reply(c, m->op, -ENOTCONN, 0, 0, NULL, 0, NULL, 0);
			break;
		}
		port_close(c->dom, m->a);
		hyp_reply(c, m->op, 0, 0, 0, NULL, 0, NULL, 0);
		break;
	case SIM_OP_EVT_PEER:
		do_peer(c, m);
		break;
	default:
		hyp_reply(c, m->op, -ENOSYS, 0, 0, NULL, 0, NULL, 0);
	}
}

void evt_release(struct hconn *c)
{
	struct dom *d = c->dom;

	for (uint32_t p = 1; p < SIM_EVTCHN_MAX_PORTS; p++)
		if (d->ports[p].state != PORT_FREE && d->ports[p].owner == c)
			port_close(d, p);
}

void evt_close_dom(struct dom *d)
{
	for (uint32_t p = 1; p < SIM_EVTCHN_MAX_PORTS; p++)
		if (d->ports[p].state != PORT_FREE)
			port_close(d, p);
}
