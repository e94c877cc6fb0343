/* SPDX-License-Identifier: MIT */
/*
 * The device state shared by front.c (attach, event thread), front_io.c
 * (requests) and front_owner.c (owner changes).
 *
 * Locking: one device mutex guards the queues, rings, request lists and
 * counters.  Only the event thread replaces a queue's ring (and reads
 * q->ring without the lock); the slow parts of building and tearing down a
 * ring (grants, XenStore) run outside the lock.  Callbacks run without it.
 */
#ifndef VBDFRONT_DEVICE_H
#define VBDFRONT_DEVICE_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <xen/io/xenbus.h>

#include "internal.h"
#include "vbdpool/apoll.h"
#include "lostw.h"
#include "ring.h"
#include "xsfront.h"

struct vbdf_queue {
	unsigned idx;
	struct vbd_queue_rec rec; /* last ownership record read */
	bool have_rec;
	struct vbdf_ring *ring; /* ring of the current owner epoch, or NULL */
	uint64_t broken_epoch;	/* epoch whose ring we abandoned (0: none) */
	bool ever_connected;
	struct vbdf_part *bhead, *btail; /* bound here: re-posts and flushes */
	unsigned nbound;
	uint64_t completed, rings;
};

struct vbd_front {
	struct vbd_front_opts o;
	struct vbdf_xsf x;
	unsigned nq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vbdf_queue q[VBD_MAX_QUEUES];
	struct vbdf_part *phead, *ptail; /* pending: waiting for any queue */
	unsigned npending;
	/* writes lost with a member (lostw.h) and the newer writes held back
	 * because they overlap one of them, in submission order */
	struct vbdf_lostw lost;
	struct vbdf_part *hhead, *htail;
	unsigned nheld;
	uint64_t held_total;	/* writes ever held back */
	int abandon_lost_owner; /* vbdf_abandon_ring: owner lost (-1: no) */
	unsigned hint;		/* queue preferred on ties (shortest queue first) */
	uint64_t dispatched;	/* requests dispatched from the pending FIFO */
	uint64_t push_mask;	/* queues with posted, unpushed requests */
	struct vbdf_io *done, **done_tail;
	bool closing;	   /* no new requests */
	bool detach_asked; /* dom0 wrote state=Closing */
	bool hold_detach;  /* vbd_front_hold_detach: Closing waits for close */
	bool closed_written;
	bool gone; /* attachment removed: everything fails */
	bool stop;
	bool connected_written;
	bool xs_lost;	     /* the XenStore watch fd failed (event thread) */
	uint64_t retry_mask; /* queues whose record handling failed (event thread) */
	unsigned long nios;
	uint64_t submitted, completed, errors, reposted, bad;
	struct vbd_apoll apoll; /* event thread: polling window (vbdpool/apoll.h) */
	/* event thread: stall watch (o.stall_warn_ms) */
	uint64_t stall_mark_ns;	  /* last progress (a response, or nothing outstanding) */
	uint64_t stall_completed; /* f->completed then */
	bool stall_logged;
	pthread_t thr;
	bool thr_started;
	int wake_fd;
	/* application descriptors (vbd_front_fd_set), under afd_lock */
	pthread_mutex_t afd_lock;
	struct vbdf_appfd {
		int fd;
		short events;
		bool kicked;
		uint64_t serial; /* unique per vbd_front_fd_set that added it */
		vbd_front_fd_cb cb;
		void *arg;
	} afd[VBD_FRONT_MAX_APP_FDS];
	unsigned nafd;
	uint64_t afd_serial;
	struct vbdf_appfd afd_snap[VBD_FRONT_MAX_APP_FDS]; /* event thread's snapshot */
};

/* ---- lists and queue state (lock held) ---- */
static inline void vbdf_list_add(struct vbdf_part **head, struct vbdf_part **tail,
				 struct vbdf_part *p)
{
	p->next = NULL;
	if (*tail)
		(*tail)->next = p;
	else
		*head = p;
	*tail = p;
}

static inline struct vbdf_part *vbdf_list_pop(struct vbdf_part **head, struct vbdf_part **tail)
{
	struct vbdf_part *p = *head;

	if (p) {
		*head = p->next;
		if (!*head)
			*tail = NULL;
		p->next = NULL;
	}
	return p;
}

static inline bool vbdf_ring_accepts(const struct vbdf_ring *r)
{
	return r && r->connected && !r->draining;
}

/* ---- front_io.c (lock held unless noted) ---- */
void vbdf_bind_part(struct vbd_front *f, unsigned q, struct vbdf_part *p);
void vbdf_part_done(struct vbd_front *f, struct vbdf_part *p, int err);
void vbdf_ring_done_cb(void *ctx, struct vbdf_part *p, int err);
void vbdf_dispatch(struct vbd_front *f);
void vbdf_push_all(struct vbd_front *f);
/* Held writes whose ranges are no longer lost go back to the front of the
 * pending FIFO (in order); returns how many. */
unsigned vbdf_unhold(struct vbd_front *f);
/* The same in two steps: publish under the lock, collecting the rings
 * whose owner must be notified (at most VBD_MAX_QUEUES), then notify them
 * after unlocking (a notify wakes the owner, which may preempt us: holding
 * the lock then stalls every other submitter). */
unsigned vbdf_push_collect(struct vbd_front *f, struct vbdf_ring **out);
void vbdf_notify_collected(struct vbdf_ring **rings, unsigned n); /* lock not held */
/* Runs the collected completions; takes the lock itself. */
void vbdf_run_done(struct vbd_front *f);

/* ---- front_owner.c (event thread; lock held only where noted) ---- */
/* lock held: returns the ring for destruction outside the lock.  With
 * lost_owner >= 0 the ring's owner was taken over without a hand-off: the
 * writes and discards still in flight on it are recorded in f->lost. */
struct vbdf_ring *vbdf_abandon_ring(struct vbd_front *f, unsigned q, bool broken, int lost_owner);
/* The drain signals and deadlines of f->lost (event thread, lock not held). */
void vbdf_lost_check(struct vbd_front *f, bool drained_event);
/* Fails every request (closing; gone: the attachment was removed). */
void vbdf_fail_all(struct vbd_front *f, int err, bool gone);
void vbdf_device_gone(struct vbd_front *f);
void vbdf_handle_record(struct vbd_front *f, unsigned q);
void vbdf_handle_state(struct vbd_front *f);

/* ---- front_appfd.c (event thread) ---- */
/* Snapshots the watched descriptors into pfd/snap (VBD_FRONT_MAX_APP_FDS
 * each), clearing their kicks (*kicked |= any kick). */
unsigned vbdf_appfd_collect(struct vbd_front *f, struct pollfd *pfd, struct vbdf_appfd *snap,
			    bool *kicked);
/* Runs the callbacks of those ready (polled: pfd's revents are valid) or
 * kicked, that are still watched. */
void vbdf_appfd_run(struct vbd_front *f, const struct vbdf_appfd *snap, const struct pollfd *pfd,
		    unsigned n, bool polled);

#endif
