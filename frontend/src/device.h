/* SPDX-License-Identifier: MIT */
/*
 * The device state shared by front.c (attach, event thread), front_io.c
 * (requests) and front_owner.c (owner changes).
 *
 * Contexts (docs/frontend.md "Contexts"): the queues are served by one or
 * more contexts, each an event thread with its own wake fd, poll set (its
 * queues' rings, its application descriptors), polling window, pending
 * FIFO and completion list.  Queue q belongs to context q % nctx.  A
 * request belongs to the context it was submitted to (the caller's own on
 * a context thread); its data parts go only to that context's queues and
 * its callback runs on that context's thread.  Context 0 also follows
 * XenStore (records, state, drained, lost-write deadlines, stall watch).
 *
 * Locking: one device mutex guards the queues, rings, request lists and
 * counters.  Only context 0's thread replaces a queue's ring (and may read
 * q->ring without the lock); the other contexts read it under the lock,
 * and a ring taken away from a running context is destroyed only after
 * that context started a new turn (vbdf_ctx_quiesce: its poll set no
 * longer holds it).  The slow parts of building and tearing down a ring
 * (grants, XenStore) run outside the lock.  Callbacks run without it.
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
	/* Flushes skip what is already durable (QEMU's write_gen/flushed_gen):
	 * wdone_seq is the device's write sequence (f->wseq) at the last write
	 * or discard completed on this queue, flushed_seq the sequence up to
	 * which a successful flush covered it.  Open starts at 1 and 0: what
	 * was written before it is not known to be durable. */
	uint64_t wdone_seq, flushed_seq;
};

/* application descriptors (vbd_front_fd_set), under f->afd_lock */
struct vbdf_appfd {
	int fd;
	short events;
	bool kicked;
	unsigned ctx;	 /* the context whose thread polls it */
	uint64_t serial; /* unique per vbd_front_fd_set that added it */
	vbd_front_fd_cb cb;
	void *arg;
};

/* One submission/completion context: an event thread and what it owns. */
struct vbdf_ctx {
	struct vbd_front *f;
	unsigned idx;
	uint64_t qmask; /* queues it serves */
	/* lock held: its requests not yet on a queue, in submission order */
	struct vbdf_part *phead, *ptail;
	unsigned npending;
	unsigned long nios;		   /* lock held: its requests not completed */
	unsigned hint;			   /* its queue preferred on ties (shortest queue first) */
	uint64_t dispatched;		   /* requests dispatched from its pending FIFO */
	struct vbdf_io *done, **done_tail; /* lock held: completed, callbacks to run */
	bool busy;		/* its thread: requests in flight on its queues (poll first) */
	uint64_t gen;		/* lock held: turns started (poll sets collected) */
	bool running;		/* lock held: its thread is in its loop */
	struct vbd_apoll apoll; /* its thread: polling window (vbdpool/apoll.h) */
	pthread_t thr;
	bool thr_started;
	int wake_fd;
	struct vbdf_appfd afd_snap[VBD_FRONT_MAX_APP_FDS]; /* its thread's snapshot */
};

struct vbd_front {
	struct vbd_front_opts o;
	struct vbdf_xsf x;
	unsigned nq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vbdf_queue q[VBD_MAX_QUEUES];
	struct vbdf_ctx *ctx; /* [nctx] */
	unsigned nctx;
	pthread_cond_t gen_cond; /* a context started a turn or left its loop */
	unsigned npending;	 /* requests in the contexts' pending FIFOs */
	/* writes lost with a member (lostw.h) and the newer writes held back
	 * because they overlap one of them, in submission order */
	struct vbdf_lostw lost;
	struct vbdf_part *hhead, *htail;
	unsigned nheld;
	uint64_t held_total;	/* writes ever held back */
	int abandon_lost_owner; /* vbdf_abandon_ring: owner lost (-1: no) */
	uint64_t push_mask;	/* queues with posted, unpushed requests */
	bool closing;		/* no new requests */
	bool detach_asked;	/* dom0 wrote state=Closing */
	bool hold_detach;	/* vbd_front_hold_detach: Closing waits for close */
	bool closed_written;
	bool gone; /* attachment removed: everything fails */
	bool stop;
	bool connected_written;
	bool xs_lost;	     /* the XenStore watch fd failed (event thread) */
	uint64_t retry_mask; /* queues whose record handling failed (event thread) */
	unsigned long nios;
	/* zero-copy write buffers handed out and not let go (wbuf.c); when
	 * vbd_front_close finds some, the last vbd_front_wbuf_put frees f */
	unsigned nwbufs;
	bool free_deferred;
	uint64_t submitted, completed, errors, reposted, bad;
	uint64_t wseq;		  /* lock held: write and discard completions (vbdf_queue) */
	uint64_t abandon_pub;	  /* lock held: queues whose broken ring context 0 announces */
	uint64_t flushes_skipped; /* guest flushes answered with no request */
	/* context 0: stall watch (o.stall_warn_ms) */
	uint64_t stall_mark_ns;	  /* last progress (a response, or a submit to an idle device) */
	uint64_t stall_completed; /* f->completed then */
	bool stall_logged;
	/* application descriptors (vbd_front_fd_set), under afd_lock */
	pthread_mutex_t afd_lock;
	struct vbdf_appfd afd[VBD_FRONT_MAX_APP_FDS];
	unsigned nafd;
	uint64_t afd_serial;
};

/* ---- contexts (front.c) ---- */
/* Allocates f->ctx[nctx] (wake fds included) and assigns queue q to
 * context q % nctx; the threads are started by vbd_front_open. */
int vbdf_ctx_init(struct vbd_front *f, unsigned nctx);
void vbdf_ctx_free(struct vbd_front *f);
/* The calling thread's context of f, or NULL (not one of f's threads). */
struct vbdf_ctx *vbdf_ctx_self(const struct vbd_front *f);
/* Makes the calling thread context c's (its event thread; unit tests). */
void vbdf_ctx_enter(struct vbdf_ctx *c);
static inline struct vbdf_ctx *vbdf_ctx_of(struct vbd_front *f, unsigned q)
{
	return &f->ctx[q % f->nctx];
}
/* Wakes c's thread (lock not needed; nothing when it is the caller). */
void vbdf_ctx_wake(struct vbdf_ctx *c);
/* Lock not held: returns once c's thread, if running and not the caller,
 * has started a new turn (so it no longer polls a ring taken from it). */
void vbdf_ctx_quiesce(struct vbdf_ctx *c);

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

/* ---- wbuf.c ---- */
/* Lock held: lets go of a zero-copy write buffer; true when f must now be
 * freed (vbdf_front_free, after unlocking). */
bool vbdf_wbuf_release_locked(struct vbd_front *f, struct vbd_front_wbuf *wb);
/* Lock not held, the ring taken from its queue and no longer polled:
 * destroys it, or retires it while write buffers still use its pages. */
void vbdf_ring_release(struct vbd_front *f, struct vbdf_ring *r);
/* The end of vbd_front_close: frees what is left of f (front.c). */
void vbdf_front_free(struct vbd_front *f);

/* ---- front_io.c (lock held unless noted) ---- */
void vbdf_bind_part(struct vbd_front *f, unsigned q, struct vbdf_part *p);
void vbdf_part_done(struct vbd_front *f, struct vbdf_part *p, int err);
void vbdf_ring_done_cb(void *ctx, struct vbdf_part *p, int err);
void vbdf_dispatch(struct vbd_front *f); /* every context */
void vbdf_dispatch_ctx(struct vbd_front *f, struct vbdf_ctx *c);
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
/* Runs the collected completions of the calling thread's context (of
 * every context when called from another thread: close, unit tests);
 * takes the lock itself. */
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

/* ---- front_appfd.c (a context's thread) ---- */
/* Snapshots the descriptors context ctx watches into pfd/snap
 * (VBD_FRONT_MAX_APP_FDS each), clearing their kicks (*kicked |= any). */
unsigned vbdf_appfd_collect(struct vbd_front *f, unsigned ctx, struct pollfd *pfd,
			    struct vbdf_appfd *snap, bool *kicked);
/* Runs the callbacks of those ready (polled: pfd's revents are valid) or
 * kicked, that are still watched. */
void vbdf_appfd_run(struct vbd_front *f, const struct vbdf_appfd *snap, const struct pollfd *pfd,
		    unsigned n, bool polled);

#endif
