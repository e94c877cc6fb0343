/* SPDX-License-Identifier: MIT */
/*
 * Event channels on the emulated host.  Each port has an eventfd (the
 * daemon creates it): its count is the port's pending bit.  The handle's
 * fd is an epoll set over its ports' eventfds (level-triggered EPOLLIN).
 * notify() writes the peer port's eventfd directly; a generation word per
 * port in the domain's shared status page tells it when the peer changed
 * (bind, unbind, death) and the current peer must be fetched from the
 * daemon.
 *
 * Masking is a flag in user space.  pending() takes a ready port, clears
 * its eventfd (read) and sets the flag; unmask() clears the flag.  While
 * the flag is set pending() never returns the port, and notifies only
 * raise the eventfd's count again, so they coalesce into exactly one event
 * after unmask(), as on Xen.  Only if pending() meets a masked port that
 * may be ready (reported by epoll_wait, or the only port) does it also
 * disarm it in the epoll set (EPOLLIN off), so that the fd stops polling
 * readable; the matching unmask() re-arms it.  So a notify to a masked port
 * makes the fd poll readable until the next pending() (on Xen it would not);
 * callers that unmask right after pending(), as vbdpool's do, never see it
 * (docs/xenstore-emulation.md).  A handle with one port (the data path: one
 * handle per ring) skips epoll_wait: pending() is one read() of that port's
 * eventfd.  Per wake-up: the caller's poll() and one read(), where masking
 * with epoll_ctl cost poll, epoll_wait, read, epoll_ctl, epoll_ctl.
 *
 * Locks: conn.lock serialises hypercalls, port-table changes and notify()
 * (the peer's eventfd may be replaced); rx guards the receive side
 * (pending, unmask, the mask flags).  Port-table changes take both, in
 * that order, so notifying threads never wait for the one that polls.
 */
#include "sim_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#define STATUS_BYTES (SIM_EVTCHN_MAX_PORTS * sizeof(uint32_t))
#define EPOLL_BATCH  8

struct sport {
	bool used;
	bool masked;  /* returned by pending(), not yet unmasked */
	bool kmasked; /* also disarmed in the epoll set (EPOLLIN off) */
	int efd;      /* this port's eventfd */
	int peer;     /* the remote port's eventfd, -1 if none */
	uint32_t gen; /* status generation `peer` belongs to */
};

struct vbd_evtchn {
	struct sim_conn conn; /* first */
	pthread_mutex_t rx;
	int epfd;
	const uint32_t *status;
	unsigned nports; /* ports in use */
	uint32_t only;	 /* the port, when nports == 1 */
	struct sport ports[SIM_EVTCHN_MAX_PORTS];
};
_Static_assert(offsetof(struct vbd_evtchn, conn) == 0, "sim_conn_new allocates it");

static struct vbd_evtchn *sim_open(void)
{
	int sfd = -1, e;
	struct vbd_evtchn *h = sim_conn_new(sizeof(*h), SIM_KIND_EVTCHN, &sfd);

	if (!h)
		return NULL;
	h->epfd = -1;
	h->status = mmap(NULL, STATUS_BYTES, PROT_READ, MAP_SHARED, sfd, 0);
	e = errno;
	close(sfd);
	if (h->status == MAP_FAILED)
		goto fail;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	e = errno;
	if (h->epfd < 0)
		goto fail;
	pthread_mutex_init(&h->rx, NULL);
	return h;
fail:
	if (h->status != MAP_FAILED)
		munmap((void *)h->status, STATUS_BYTES);
	sim_conn_close(h, NULL);
	errno = e;
	return NULL;
}

/* Forget port p (conn.lock held; takes rx). */
static void drop_port(struct vbd_evtchn *h, uint32_t p)
{
	struct sport *sp = &h->ports[p];

	pthread_mutex_lock(&h->rx);
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, sp->efd, NULL);
	close(sp->efd);
	if (sp->peer >= 0)
		close(sp->peer);
	*sp = (struct sport){0};
	if (--h->nports == 1)
		for (uint32_t q = 1; q < SIM_EVTCHN_MAX_PORTS; q++)
			if (h->ports[q].used) {
				h->only = q;
				break;
			}
	pthread_mutex_unlock(&h->rx);
}

/* Forgets every port (the connection, closed, closed them in the daemon). */
static void drop_ports(void *p)
{
	struct vbd_evtchn *h = p;

	for (uint32_t q = 0; q < SIM_EVTCHN_MAX_PORTS && h->nports; q++)
		if (h->ports[q].used)
			drop_port(h, q);
	close(h->epfd);
	munmap((void *)h->status, STATUS_BYTES);
	pthread_mutex_destroy(&h->rx);
}

static void sim_close(struct vbd_evtchn *h)
{
	sim_conn_close(h, drop_ports);
}

/* conn.lock held; takes rx. */
static int add_port(struct vbd_evtchn *h, uint32_t p, uint32_t gen, int efd, int peer)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = p};
	int rc = (int)p;

	pthread_mutex_lock(&h->rx);
	if (p == 0 || p >= SIM_EVTCHN_MAX_PORTS || h->ports[p].used)
		rc = -EPROTO;
	else if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, efd, &ev) < 0)
		rc = -errno;
	if (rc < 0) {
		pthread_mutex_unlock(&h->rx);
		close(efd);
		if (peer >= 0)
			close(peer);
		return rc;
	}
	h->ports[p] = (struct sport){.used = true, .efd = efd, .peer = peer, .gen = gen};
	if (++h->nports == 1)
		h->only = p;
	pthread_mutex_unlock(&h->rx);
	return rc;
}

static int sim_alloc_unbound(struct vbd_evtchn *h, vbd_domid_t remote)
{
	struct sim_hyp_msg m = {.op = SIM_OP_EVT_ALLOC, .a = remote};
	int fds[1], nfds = 1, rc;

	pthread_mutex_lock(&h->conn.lock);
	rc = sim_hyp_call(h->conn.sock, &m, NULL, 0, NULL, 0, fds, &nfds);
	if (rc >= 0)
		rc = nfds == 1 ? add_port(h, m.a, m.b, fds[0], -1) : -EPROTO;
	pthread_mutex_unlock(&h->conn.lock);
	return rc;
}

static int sim_bind_interdomain(struct vbd_evtchn *h, vbd_domid_t remote, vbd_port_t rport)
{
	struct sim_hyp_msg m = {.op = SIM_OP_EVT_BIND, .a = remote, .b = rport};
	int fds[2], nfds = 2, rc;

	pthread_mutex_lock(&h->conn.lock);
	rc = sim_hyp_call(h->conn.sock, &m, NULL, 0, NULL, 0, fds, &nfds);
	if (rc >= 0) {
		if (nfds == 2)
			rc = add_port(h, m.a, m.b, fds[0], fds[1]);
		else {
			for (int i = 0; i < nfds; i++)
				close(fds[i]);
			rc = -EPROTO;
		}
	}
	pthread_mutex_unlock(&h->conn.lock);
	return rc;
}

/* conn.lock or rx held. */
static bool owns(struct vbd_evtchn *h, vbd_port_t p)
{
	return p > 0 && p < SIM_EVTCHN_MAX_PORTS && h->ports[p].used;
}

/* Linux's evtchn driver rejects an unbind beyond the event array it has
 * set up (1024 ports per page) with EINVAL before looking the port up;
 * below that a port the handle does not own is ENOTCONN (real-Xen rig,
 * _probe-kernel). notify has no such bound: ENOTCONN throughout. */
#define SIM_EVTCHN_UNBIND_LIMIT 1024

static int sim_unbind(struct vbd_evtchn *h, vbd_port_t p)
{
	struct sim_hyp_msg m = {.op = SIM_OP_EVT_UNBIND, .a = p};
	int rc = -ENOTCONN;

	pthread_mutex_lock(&h->conn.lock);
	if (p >= SIM_EVTCHN_UNBIND_LIMIT && !owns(h, p)) {
		rc = -EINVAL;
	} else if (owns(h, p)) {
		rc = sim_hyp_call(h->conn.sock, &m, NULL, 0, NULL, 0, NULL, NULL);
		if (rc >= 0 || rc == -ENOTCONN)
			drop_port(h, p);
	}
	pthread_mutex_unlock(&h->conn.lock);
	return rc < 0 ? rc : 0;
}

/* The peer moved: fetch the current one (conn.lock held). */
static int refresh_peer(struct vbd_evtchn *h, vbd_port_t p)
{
	struct sim_hyp_msg m = {.op = SIM_OP_EVT_PEER, .a = p};
	struct sport *sp = &h->ports[p];
	int fds[1], nfds = 1, rc;

	rc = sim_hyp_call(h->conn.sock, &m, NULL, 0, NULL, 0, fds, &nfds);
	if (rc < 0)
		return rc;
	if (sp->peer >= 0)
		close(sp->peer);
	sp->peer = nfds == 1 ? fds[0] : -1;
	sp->gen = m.b;
	return 0;
}

static int sim_notify(struct vbd_evtchn *h, vbd_port_t p)
{
	static const uint64_t one = 1;
	struct sport *sp;
	int rc = 0;

	pthread_mutex_lock(&h->conn.lock);
	if (!owns(h, p)) {
		pthread_mutex_unlock(&h->conn.lock);
		return -ENOTCONN;
	}
	sp = &h->ports[p];
	if (__atomic_load_n(&h->status[p], __ATOMIC_ACQUIRE) != sp->gen)
		rc = refresh_peer(h, p);
	/* no peer (unbound, or it went away): delivered nowhere, as on Xen;
	 * a full counter (EAGAIN) already means "pending" */
	if (rc == 0 && sp->peer >= 0 && write(sp->peer, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rc = -errno;
	pthread_mutex_unlock(&h->conn.lock);
	return rc;
}

static int sim_fd(struct vbd_evtchn *h)
{
	return h->epfd;
}

/* Port p is masked but may be ready: disarm it so the fd stops polling
 * readable for it (rx held). */
static int disarm(struct vbd_evtchn *h, struct sport *sp, uint32_t p)
{
	struct epoll_event ev = {.events = 0, .data.u32 = p};

	if (sp->kmasked)
		return 0;
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, sp->efd, &ev) < 0)
		return -errno;
	sp->kmasked = true;
	return 0;
}

/* Take port p's event if it has one and is not masked (rx held): p, or
 * -EAGAIN, or -errno. */
static int take(struct vbd_evtchn *h, uint32_t p)
{
	struct sport *sp = &h->ports[p];
	uint64_t cnt;
	int rc;

	if (sp->masked) {
		rc = disarm(h, sp, p);
		return rc < 0 ? rc : -EAGAIN;
	}
	if (read(sp->efd, &cnt, sizeof(cnt)) < 0)
		return -errno; /* -EAGAIN: not pending */
	sp->masked = true;
	return (int)p;
}

static int sim_pending(struct vbd_evtchn *h)
{
	struct epoll_event ev[EPOLL_BATCH];
	int rc = -EAGAIN;

	pthread_mutex_lock(&h->rx);
	if (h->nports == 1) {
		rc = take(h, h->only);
	} else if (h->nports > 1) {
		/* Ports reported ready are either taken or, if masked,
		 * disarmed, so a second round only sees new events; bounded
		 * anyway. */
		for (int round = 0; round < 4 && rc == -EAGAIN; round++) {
			int n = epoll_wait(h->epfd, ev, EPOLL_BATCH, 0);

			if (n < 0) {
				rc = -errno;
				break;
			}
			if (n == 0)
				break;
			for (int i = 0; i < n && rc == -EAGAIN; i++)
				if (owns(h, ev[i].data.u32))
					rc = take(h, ev[i].data.u32);
		}
	}
	pthread_mutex_unlock(&h->rx);
	return rc;
}

static int sim_unmask(struct vbd_evtchn *h, vbd_port_t p)
{
	int rc = 0;

	pthread_mutex_lock(&h->rx);
	if (owns(h, p)) {
		struct sport *sp = &h->ports[p];

		sp->masked = false;
		if (sp->kmasked) {
			struct epoll_event ev = {.events = EPOLLIN, .data.u32 = p};

			if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, sp->efd, &ev) < 0)
				rc = -errno;
			else
				sp->kmasked = false;
		}
	}
	pthread_mutex_unlock(&h->rx);
	return rc;
}

const struct vbd_evtchn_ops sim_evtchn_ops = VBD_EVTCHN_OPS(sim);
