/* SPDX-License-Identifier: MIT */
/*
 * libvbdpool-front: the guest side of vbdpool (docs/frontend.md).
 *
 * A device is the guest's `device/vbdpool/<devid>` written by dom0's
 * `vbdpoolctl attach`.  The library owns one standard blkif ring per queue
 * for the queue's current owner, follows ownership changes in the pool area
 * and re-posts in-flight requests after a change, so a caller only sees an
 * error when a pool member answered BLKIF_RSP_ERROR or the device went away.
 *
 * Threads: the library serves a device's queues with one or more contexts,
 * each an event thread with its share of the queues (vbd_front_open_ctx;
 * docs/frontend.md "Contexts").  Requests may be submitted from any
 * thread, including from completion callbacks.  A request belongs to one
 * context: the caller's own when submitted on a context's thread (from a
 * callback), else one chosen per submitting thread; its callback runs on
 * that context's thread (except for zero-length requests, completed in
 * the submitting thread) and must not block for long.
 *
 * Every function returning int returns 0 (or a count) on success and
 * -errno on failure.
 */
#ifndef VBDPOOL_FRONT_H
#define VBDPOOL_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vbdpool/io_op.h>

struct vbd_front;

struct vbd_front_opts {
	unsigned devid;		/* device/vbdpool/<devid> */
	const char *volume;	/* expected volume id; NULL = the one dom0 wrote */
	unsigned ring_order;	/* log2 pages per ring, 0..VBD_MAX_RING_PAGE_ORDER */
	unsigned close_wait_ms; /* vbd_front_close: wait this long for in-flight I/O */
	/* new requests stay on the last queue used while it has fewer than this
	 * many in flight (its owner takes them in batches), then shortest queue
	 * first; 0 or 1: shortest queue first only */
	unsigned queue_batch;
	/* while requests are in flight, the event thread polls this many
	 * microseconds (yielding between tries) before it sleeps; 0: never */
	unsigned poll_us;
	/* requests outstanding and no response for this long: one warning
	 * (with the queues' owners), and a line when responses come again;
	 * 0: never.  Requests are never failed for it (as with blkfront, I/O
	 * waits for the pool: a member may join and take over) */
	unsigned stall_warn_ms;
	/* a member taken over with writes in flight: newer writes overlapping
	 * them wait until the supervisor reports it drained, or at most this
	 * long (the storage timeout); 0: wait for the drain signal forever */
	unsigned drain_timeout_ms;
};

/* Fills *o with the defaults (proto.h) for device `devid`. */
void vbd_front_opts_init(struct vbd_front_opts *o, unsigned devid);

/* Attach: reads the device directory, publishes state=Initialised,
 * watches the ownership records and starts the event thread.  Returns
 * without waiting for a queue to connect; requests submitted before wait
 * in the library.  -ENOENT: no such device; -EINVAL: malformed values;
 * -ESHUTDOWN: dom0 is detaching it (state 5). */
int vbd_front_open(const struct vbd_front_opts *o, struct vbd_front **out);
/* The same with `contexts` event threads (at most the number of queues;
 * queue q is served by context q % contexts); 0: the default,
 * min(queues, online CPUs), which vbd_front_open uses.  -EINVAL: more than
 * VBD_MAX_QUEUES. */
int vbd_front_open_ctx(const struct vbd_front_opts *o, unsigned contexts, struct vbd_front **out);
unsigned vbd_front_num_contexts(const struct vbd_front *f);

/* Detach: refuses new requests, waits up to close_wait_ms for in-flight
 * ones, fails the rest with -ESHUTDOWN, ends every grant, writes
 * state=Closed.  Safe on NULL; not from a completion callback. */
void vbd_front_close(struct vbd_front *f);

/* Hold dom0's detach: from now on a Closing (state 5) written by dom0
 * does not stop requests; the device keeps serving until the application
 * calls vbd_front_close, which writes Closed and so lets the detach finish
 * (vbdpool-guestd: not while the guest's block device is in use, as
 * blkfront refuses to close an open disk).  Returns 1 when dom0 had
 * already asked before the call (requests are refused since), else 0. */
int vbd_front_hold_detach(struct vbd_front *f);

uint64_t vbd_front_size(const struct vbd_front *f); /* bytes */
const char *vbd_front_volume(const struct vbd_front *f);
unsigned vbd_front_num_queues(const struct vbd_front *f);
/* Attached read-only (dom0's `attach --read-only`, mode r): writes and
 * discards are refused with -EROFS (and the members would refuse them). */
bool vbd_front_read_only(const struct vbd_front *f);

/* Wait until at least one queue is connected (0), or -ETIMEDOUT, or
 * -ESHUTDOWN when the device is being detached. timeout_ms < 0: forever. */
int vbd_front_wait_connected(struct vbd_front *f, int timeout_ms);

/* ---- asynchronous I/O ------------------------------------------------ */
#define VBD_IO_FUA 0x1u /* write: durable before completion */

/* err: 0, -EIO (a member answered BLKIF_RSP_ERROR), -EOPNOTSUPP,
 * -ENOMEM, -ESHUTDOWN / -ENODEV (device detached).  A write or discard
 * on a read-only device is refused by vbd_front_submit with -EROFS. */
typedef void (*vbd_front_cb)(void *arg, int err);

/* offset and len in bytes, multiples of 512, inside the volume.  buf must
 * stay valid until the callback (it is read again if a request has to be
 * re-posted to a new owner).  The callback runs exactly once iff 0 is
 * returned. */
int vbd_front_submit(struct vbd_front *f, enum vbd_io_op op, unsigned flags, void *buf,
		     uint64_t offset, uint64_t len, vbd_front_cb cb, void *arg);

/* ---- zero-copy writes -------------------------------------------------- */
/* A server that reads a write's payload from a socket can receive it
 * straight into pages granted to the owner of the queue it will go to:
 * the request is then posted without the copy vbd_front_submit makes
 * (docs/frontend.md "Zero-copy writes").
 *
 * vbd_front_wbuf_get: on a context's thread (an application descriptor's
 *   callback), a buffer for a write of len bytes (a multiple of 512, at
 *   most VBD_FRONT_WBUF_MAX), as *niov pages of VBD_FRONT_WBUF_PAGE (the
 *   last one shorter if len is) in (*iov)[] (valid until the buffer is submitted or
 *   put).  -EAGAIN: no queue of this context takes one now (none
 *   connected, or its pool is short): use vbd_front_submit.  -EROFS,
 *   -EINVAL, -ENOMEM.
 * vbd_front_wbuf_submit: the write of the buffer's bytes at offset, as
 *   vbd_front_submit (flags, callback).  Consumes the buffer whatever it
 *   returns.
 * vbd_front_wbuf_put: lets go of a buffer that is not submitted (the
 *   client went away mid-payload).
 * A buffer must be submitted or put, also after vbd_front_close (which then
 * leaves the device's memory to the last put; submit answers -ESHUTDOWN);
 * nothing else may be called after vbd_front_close. */
#define VBD_FRONT_WBUF_MAX  (1024u * 1024)
#define VBD_FRONT_WBUF_PAGE 4096u /* bytes per iovec entry (the last: up to) */
struct vbd_front_wbuf;
struct iovec;
int vbd_front_wbuf_get(struct vbd_front *f, uint64_t len, struct vbd_front_wbuf **out,
		       const struct iovec **iov, unsigned *niov);
int vbd_front_wbuf_submit(struct vbd_front *f, struct vbd_front_wbuf *wb, uint64_t offset,
			  unsigned flags, vbd_front_cb cb, void *arg);
void vbd_front_wbuf_put(struct vbd_front *f, struct vbd_front_wbuf *wb);

/* ---- application file descriptors on the event thread -------------------- */
/* A server may have the device's event thread wait for its own file
 * descriptors (its clients' sockets) too: cb(arg, fd, revents) then runs on
 * the event thread, after the completions of the same wake-up and before
 * the requests it submits are pushed.  One thread then reads a batch of
 * requests, posts them, notifies each owner once and sends the replies
 * when the responses arrive, without a hand-off between threads
 * (docs/frontend.md "Application descriptors").  The callback must not
 * block; it may submit, and call the three functions below.
 *
 * vbd_front_fd_set: watch fd for `events` (POLLIN / POLLOUT; 0: not polled,
 *   only kicks run the callback), or change a watched fd's events, callback
 *   and argument.  -ENOSPC: VBD_FRONT_MAX_APP_FDS watched already.
 * vbd_front_fd_kick: run fd's callback once soon, with revents 0.
 * vbd_front_fd_del: stop watching fd.  From the event thread (a callback)
 *   the callback is not called again after it returns; from another thread
 *   a call already under way may still finish.
 * Any thread, but not after vbd_front_close.  -ENOENT: fd not watched. */
#define VBD_FRONT_MAX_APP_FDS 128
typedef void (*vbd_front_fd_cb)(void *arg, int fd, short revents);
int vbd_front_fd_set(struct vbd_front *f, int fd, short events, vbd_front_fd_cb cb, void *arg);
int vbd_front_fd_kick(struct vbd_front *f, int fd);
int vbd_front_fd_del(struct vbd_front *f, int fd);
/* vbd_front_fd_set on context ctx's thread (vbd_front_fd_set: context 0,
 * or the one already watching fd); a server spreads its clients over the
 * contexts this way.  -EINVAL: no such context; -EBUSY: fd is watched by
 * another context (vbd_front_fd_del it first). */
int vbd_front_fd_set_ctx(struct vbd_front *f, unsigned ctx, int fd, short events,
			 vbd_front_fd_cb cb, void *arg);

/* ---- synchronous wrappers --------------------------------------------- */
int vbd_front_pread(struct vbd_front *f, void *buf, uint64_t len, uint64_t offset);
int vbd_front_pwrite(struct vbd_front *f, const void *buf, uint64_t len, uint64_t offset,
		     unsigned flags);
int vbd_front_flush(struct vbd_front *f);
int vbd_front_discard(struct vbd_front *f, uint64_t offset, uint64_t len);

/* ---- observation -------------------------------------------------------- */
struct vbd_front_qstat {
	uint32_t owner;	    /* VBD_DOMID_NONE when unowned */
	uint64_t epoch;	    /* epoch of the current ring (0: none) */
	int connected;	    /* ring of this epoch connected, accepting requests */
	int draining;	    /* owner hands off: nothing new posted */
	int broken;	    /* ring abandoned for a protocol violation */
	unsigned inflight;  /* requests on the ring */
	unsigned waiting;   /* requests bound to this queue, not yet posted */
	uint64_t completed; /* responses accepted (all epochs) */
	uint64_t rings;	    /* rings built (one per owner epoch) */
};
struct vbd_front_stats {
	unsigned num_queues;
	struct vbd_front_qstat q[64];
	uint64_t submitted, completed, errors;
	uint64_t reposted;	/* requests re-posted after an owner change */
	uint64_t bad_responses; /* protocol violations seen (rings abandoned) */
	unsigned pending;	/* requests waiting for any queue */
	unsigned held;		/* writes held back: they overlap writes lost with a member */
	uint64_t held_total;	/* writes ever held back */
};
void vbd_front_get_stats(struct vbd_front *f, struct vbd_front_stats *st);

/* batch: makes the calling thread SCHED_BATCH, else SCHED_OTHER again
 * (only a thread that is one of the two).  A SCHED_BATCH thread is not
 * preempted by the threads it wakes, so a waker finishes its batch (a
 * submitter notifying an owner goes to sleep before the owner runs) — but
 * it is preempted by every other wake-up, which hurts while it copies a
 * large buffer under a lock.  The nbdkit plugin makes its worker threads
 * SCHED_BATCH while they serve small requests (<= 64 KiB).  Throughput
 * over latency: an idle CPU still runs a woken thread at once. */
void vbd_front_sched_batch(bool batch);

#endif
