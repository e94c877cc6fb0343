/* SPDX-License-Identifier: MIT */
/* Requests of a device: an application I/O split into blkif requests,
 * dispatched to queues (shortest queue first, bound requests first),
 * completed part by part (FUA: then a flush per queue used), pushed to the
 * owners.  Called with the device lock held unless said otherwise. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/blkif.h"
#include "vbdpool/log.h"
#include "device.h"
#include "qselect.h"
#include "ring.h"
#include "xsfront.h"

/* ---- request lists (device lock held) ---------------------------------- */

void vbdf_bind_part(struct vbd_front *f, unsigned q, struct vbdf_part *p)
{
	p->q = (int)q;
	vbdf_list_add(&f->q[q].bhead, &f->q[q].btail, p);
	f->q[q].nbound++;
}

/* On the pending FIFO of its request's context. */
static void pend_part(struct vbd_front *f, struct vbdf_part *p)
{
	struct vbdf_ctx *c = p->io->ctx;

	p->q = -1;
	vbdf_list_add(&c->phead, &c->ptail, p);
	c->npending++;
	f->npending++;
}

/* ---- completion (device lock held) --------------------------------------- */

/* Onto its context's completion list: the callback runs on that context's
 * thread (woken when another thread completes it: a flush answered on
 * another context's queue, a ring abandoned by context 0). */
static void io_finish(struct vbd_front *f, struct vbdf_io *io)
{
	struct vbdf_ctx *c = io->ctx;

	io->done_next = NULL;
	*c->done_tail = io;
	c->done_tail = &io->done_next;
	if (io->err)
		f->errors++;
	if (c->running && vbdf_ctx_self(f) != c)
		vbdf_ctx_wake(c);
}

/* Does queue q's owner also own a queue before q in `mask`?  A member's
 * flush makes durable what it completed on every queue of the volume
 * (docs/protocol.md "Flush"), so one flush per owner is enough. */
static bool owner_seen_before(const struct vbd_front *f, unsigned q, uint64_t mask)
{
	vbd_domid_t o = f->q[q].rec.owner;

	if (o == VBD_DOMID_NONE)
		return false;
	for (unsigned i = 0; i < q; i++)
		if ((mask & (1ull << i)) && f->q[i].rec.owner == o)
			return true;
	return false;
}

/* The queues that queue q's owner owns (and whose ring is not broken):
 * what its flush covers. */
static uint64_t owner_queues(const struct vbd_front *f, unsigned q)
{
	vbd_domid_t o = f->q[q].rec.owner;
	uint64_t m = 1ull << q;

	for (unsigned i = 0; i < f->nq; i++) {
		const struct vbdf_queue *qu = &f->q[i];
		if (o != VBD_DOMID_NONE && qu->rec.owner == o && qu->broken_epoch != qu->rec.epoch)
			m |= 1ull << i;
	}
	return m;
}

/* A FUA write whose data parts all succeeded: one flush per owner of the
 * queues that took a part, bound to the first such queue it owns. */
static void io_start_fua_flush(struct vbd_front *f, struct vbdf_io *io)
{
	io->flush_phase = true;
	for (unsigned q = 0; q < f->nq; q++) {
		struct vbdf_part *p;

		if (!(io->qmask & (1ull << q)) || owner_seen_before(f, q, io->qmask))
			continue;
		p = calloc(1, sizeof(*p));
		if (!p) {
			io->err = -ENOMEM;
			break;
		}
		*p = (struct vbdf_part){.io = io,
					.op = BLKIF_OP_FLUSH_DISKCACHE,
					.heap = true,
					.fseq = f->wseq,
					.fmask = owner_queues(f, q)};
		io->left++;
		vbdf_bind_part(f, q, p);
	}
}

void vbdf_part_done(struct vbd_front *f, struct vbdf_part *p, int err)
{
	struct vbdf_io *io = p->io;

	if (err && !io->err)
		io->err = err;
	if (p->wb) {
		/* (never the device's last buffer after its close: every
		 * request completed before vbd_front_close counted them) */
		(void)vbdf_wbuf_release_locked(f, p->wb);
		p->wb = NULL;
	}
	if (p->heap)
		free(p);
	if (--io->left)
		return;
	if (!io->err && io->op == VBD_IO_WRITE && (io->flags & VBD_IO_FUA) && !io->flush_phase) {
		io_start_fua_flush(f, io);
		if (io->left)
			return;
	}
	io_finish(f, io);
}

void vbdf_ring_done_cb(void *ctx, struct vbdf_part *p, int err)
{
	struct vbd_front *f = ctx;

	f->completed++;
	if (p->q >= 0) {
		f->q[p->q].completed++;
		/* a write answered, even with an error, may have changed the
		 * disk: the next flush covers it */
		if (p->op == BLKIF_OP_WRITE || p->op == BLKIF_OP_DISCARD)
			f->q[p->q].wdone_seq = ++f->wseq;
	}
	if (p->op == BLKIF_OP_FLUSH_DISKCACHE && !err)
		for (unsigned q = 0; q < f->nq; q++)
			if ((p->fmask & (1ull << q)) && f->q[q].flushed_seq < p->fseq)
				f->q[q].flushed_seq = p->fseq;
	vbdf_part_done(f, p, err);
}

/* Runs the collected completions (without the lock). */
static void run_done_ctx(struct vbd_front *f, struct vbdf_ctx *c)
{
	struct vbdf_io *io, *next;
	unsigned long n = 0;

	pthread_mutex_lock(&f->lock);
	io = c->done;
	c->done = NULL;
	c->done_tail = &c->done;
	pthread_mutex_unlock(&f->lock);
	if (!io)
		return;
	for (; io; io = next) {
		next = io->done_next;
		io->cb(io->arg, io->err);
		free(io);
		n++;
	}
	pthread_mutex_lock(&f->lock);
	c->nios -= n;
	f->nios -= n;
	if (f->nios == 0)
		pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void vbdf_run_done(struct vbd_front *f)
{
	struct vbdf_ctx *self = vbdf_ctx_self(f);

	if (self) {
		run_done_ctx(f, self);
		return;
	}
	for (unsigned i = 0; i < f->nctx; i++)
		run_done_ctx(f, &f->ctx[i]);
}

/* ---- posting (device lock held) ------------------------------------------ */

static int post_part(struct vbd_front *f, unsigned q, struct vbdf_part *p)
{
	int rc = vbdf_ring_post(f->q[q].ring, p);

	if (rc < 0) {
		if (rc != -ENOSPC)
			log_warn("front: queue %u: posting a request: %s", q, strerror(-rc));
		return rc;
	}
	p->q = (int)q;
	if (p->op == BLKIF_OP_WRITE)
		p->io->qmask |= 1ull << q;
	f->push_mask |= 1ull << q;
	return 0;
}

/* Small reads and writes (direct requests, up to 11 pages) are batched on
 * one queue; large ones go shortest queue first, so that several owner
 * threads copy them in parallel. */
static bool part_batches(const struct vbdf_part *p)
{
	return (p->op == BLKIF_OP_READ || p->op == BLKIF_OP_WRITE) &&
	       p->nsect * VBD_SECTOR_SIZE <=
		   (uint64_t)BLKIF_MAX_SEGMENTS_PER_REQUEST * VBD_PAGE_SIZE;
}

void vbdf_dispatch_ctx(struct vbd_front *f, struct vbdf_ctx *c)
{
	struct vbdf_qsel_view view[VBD_MAX_QUEUES];
	unsigned qs[VBD_MAX_QUEUES], n = 0;
	uint64_t full = 0;

	/* Requests bound to a queue first: they must go to that queue. */
	for (unsigned q = c->idx; q < f->nq; q += f->nctx) {
		struct vbdf_queue *qu = &f->q[q];

		qs[n++] = q;

		while (qu->bhead && vbdf_ring_accepts(qu->ring)) {
			if (post_part(f, q, qu->bhead) < 0)
				break;
			vbdf_list_pop(&qu->bhead, &qu->btail);
			qu->nbound--;
		}
	}
	/* Then the context's pending FIFO, on its own queues only. */
	while (c->phead) {
		int i;

		/* A write overlapping one lost with a member waits (lostw.h). */
		if (f->lost.n &&
		    (c->phead->op == BLKIF_OP_WRITE || c->phead->op == BLKIF_OP_DISCARD) &&
		    vbdf_lostw_overlaps(&f->lost, c->phead->sector, c->phead->nsect)) {
			struct vbdf_part *p = vbdf_list_pop(&c->phead, &c->ptail);

			c->npending--;
			f->npending--;
			vbdf_list_add(&f->hhead, &f->htail, p);
			f->nheld++;
			f->held_total++;
			continue;
		}

		for (unsigned k = 0; k < n; k++) {
			const struct vbdf_ring *r = f->q[qs[k]].ring;

			view[k].usable =
			    vbdf_ring_accepts(r) && !f->q[qs[k]].bhead && !(full & (1ull << k));
			view[k].inflight = r ? vbdf_ring_inflight(r) : 0;
			view[k].free = r ? vbdf_ring_free(r) : 0;
		}
		/* a zero-copy write goes to the queue whose pages hold it */
		i = -1;
		for (unsigned k = 0; c->phead->wb && k < n; k++)
			if (view[k].usable && f->q[qs[k]].ring == c->phead->wb->r)
				i = (int)k;
		if (i < 0)
			i = vbdf_qsel_pick_batch(view, n, c->hint,
						 part_batches(c->phead) ? f->o.queue_batch : 0);
		if (i < 0)
			return;
		if (post_part(f, qs[i], c->phead) < 0) {
			full |= 1ull << i;
			continue;
		}
		vbdf_list_pop(&c->phead, &c->ptail);
		c->npending--;
		f->npending--;
		/* The last queue keeps new small requests while it has fewer
		 * than o.queue_batch in flight (its owner is awake and takes
		 * them in batches: at queue depth 16 through nbdkit, a third of
		 * the owner wake-ups of shortest-queue-first; at depth 1, 5x the
		 * IOPS of round robin); then shortest queue first.  The
		 * preferred queue moves on every VBD_FRONT_STICKY requests, so
		 * every queue sees traffic. */
		c->hint = (unsigned)i + (++c->dispatched % VBD_FRONT_STICKY == 0);
	}
}

void vbdf_dispatch(struct vbd_front *f)
{
	for (unsigned i = 0; i < f->nctx; i++)
		vbdf_dispatch_ctx(f, &f->ctx[i]);
}

unsigned vbdf_unhold(struct vbd_front *f)
{
	struct vbdf_part *keep_h = NULL, *keep_t = NULL, *p;
	unsigned n = 0;

	for (unsigned i = 0; i < f->nctx; i++) {
		struct vbdf_ctx *c = &f->ctx[i];
		struct vbdf_part *go_h = NULL, *go_t = NULL;
		unsigned k = 0;

		keep_h = keep_t = NULL;
		while ((p = vbdf_list_pop(&f->hhead, &f->htail))) {
			if (p->io->ctx != c || vbdf_lostw_overlaps(&f->lost, p->sector, p->nsect)) {
				vbdf_list_add(&keep_h, &keep_t, p);
			} else {
				vbdf_list_add(&go_h, &go_t, p);
				k++;
			}
		}
		f->hhead = keep_h;
		f->htail = keep_t;
		if (go_h) { /* before what was submitted after them */
			go_t->next = c->phead;
			if (!c->phead)
				c->ptail = go_t;
			c->phead = go_h;
			c->npending += k;
		}
		n += k;
	}
	f->nheld -= n;
	f->npending += n;
	return n;
}

unsigned vbdf_push_collect(struct vbd_front *f, struct vbdf_ring **out)
{
	uint64_t m = f->push_mask;
	unsigned n = 0;

	f->push_mask = 0;
	while (m) {
		unsigned q = (unsigned)__builtin_ctzll(m);

		m &= m - 1;
		if (f->q[q].ring && vbdf_ring_publish(f->q[q].ring))
			out[n++] = f->q[q].ring;
	}
	return n;
}

void vbdf_notify_collected(struct vbdf_ring **rings, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned q = rings[i]->q;
		int rc = vbdf_ring_notify(rings[i]); /* rings[i] may be gone now */

		if (rc < 0)
			log_warn("front: queue %u: notify: %s", q, strerror(-rc));
	}
}

/* Pushes posted requests to their owners (device lock held). */
void vbdf_push_all(struct vbd_front *f)
{
	struct vbdf_ring *rings[VBD_MAX_QUEUES];

	vbdf_notify_collected(rings, vbdf_push_collect(f, rings));
}

/* ---- submission ------------------------------------------------------------ */

static uint8_t blkif_op(enum vbd_io_op op)
{
	switch (op) {
	case VBD_IO_READ:
		return BLKIF_OP_READ;
	case VBD_IO_WRITE:
		return BLKIF_OP_WRITE;
	case VBD_IO_FLUSH:
		return BLKIF_OP_FLUSH_DISKCACHE;
	default:
		return BLKIF_OP_DISCARD;
	}
}

/* Does context c have a queue that takes requests now? */
static bool ctx_accepts(const struct vbd_front *f, const struct vbdf_ctx *c)
{
	for (unsigned q = c->idx; q < f->nq; q += f->nctx)
		if (vbdf_ring_accepts(f->q[q].ring))
			return true;
	return false;
}

static __thread unsigned tls_slot; /* 1 + a number per submitting thread */
static unsigned next_slot;

/* The context of a new request (lock held): the caller's own on a
 * context's thread (its callbacks then run on the thread that submitted,
 * no other thread is involved); from any other thread the one with the
 * fewest requests outstanding among those with a queue taking requests
 * now (ties: the one this thread's slot names), so that one submitting
 * thread still spreads its requests over every context. */
static struct vbdf_ctx *pick_ctx(struct vbd_front *f, struct vbdf_ctx *self)
{
	struct vbdf_ctx *best = NULL;
	unsigned start;

	if (self)
		return self;
	if (!tls_slot)
		tls_slot = 1 + __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED);
	start = (tls_slot - 1) % f->nctx;
	if (f->nctx == 1)
		return &f->ctx[0];
	for (unsigned i = 0; i < f->nctx; i++) {
		struct vbdf_ctx *c = &f->ctx[(start + i) % f->nctx];

		if (ctx_accepts(f, c) && (!best || c->nios < best->nios))
			best = c;
	}
	return best ? best : &f->ctx[start];
}

static struct vbdf_io *io_new(struct vbd_front *f, enum vbd_io_op op, unsigned flags,
			      vbd_front_cb cb, void *arg, unsigned nparts)
{
	struct vbdf_io *io = malloc(sizeof(*io) + (size_t)nparts * sizeof(io->parts[0]));

	if (io)
		*io = (struct vbdf_io){.f = f,
				       .op = op,
				       .flags = op == VBD_IO_WRITE ? flags : 0,
				       .cb = cb,
				       .arg = arg,
				       .nparts = nparts};
	return io;
}

/* Queues io, its parts filled, on context ctx (NULL: the caller's, or one
 * picked) and dispatches it.  Lock not held; on an error io is freed (and
 * a zero-copy buffer in it let go). */
static int queue_io(struct vbd_front *f, struct vbdf_io *io, struct vbdf_ctx *ctx)
{
	unsigned nnotify = 0;
	struct vbdf_ring *notify[VBD_MAX_QUEUES];
	struct vbdf_ctx *self = vbdf_ctx_self(f);
	struct vbd_front_wbuf *wb = io->nparts == 1 ? io->parts[0].wb : NULL;

	pthread_mutex_lock(&f->lock);
	if (f->closing || f->gone) {
		int rc = f->gone ? -ENODEV : -ESHUTDOWN;
		bool free_now = wb && vbdf_wbuf_release_locked(f, wb);

		pthread_mutex_unlock(&f->lock);
		free(io);
		if (free_now)
			vbdf_front_free(f);
		return rc;
	}
	if (wb) { /* its pages now count as a request's */
		wb->submitted = true;
		wb->r->wb_pages -= wb->npages;
	}
	io->ctx = ctx ? ctx : pick_ctx(f, self);
	io->ctx->nios++;
	/* The stall watch measures from the later of the last response and
	 * this request if the device was idle: the oldest outstanding one's
	 * age (stall_check; a warning already logged keeps its mark for its
	 * "responses again after" line). */
	if (f->nios++ == 0 && !f->stall_logged)
		f->stall_mark_ns = vbd_apoll_now();
	f->submitted++;
	if (io->op == VBD_IO_FLUSH) {
		/* Every owner with a write completed since its last flush
		 * flushes, once, on the first queue it owns; if no such queue
		 * has an owner, any queue that connects first will do; if no
		 * queue has such a write, nothing to do. */
		unsigned used = 0;
		uint64_t usable = 0, need = 0;
		for (unsigned q = 0; q < f->nq; q++)
			if (f->q[q].wdone_seq > f->q[q].flushed_seq)
				need |= 1ull << q;
		for (unsigned q = 0; q < f->nq && need; q++) {
			const struct vbdf_queue *qu = &f->q[q];
			uint64_t mine;
			if (qu->rec.owner == VBD_DOMID_NONE || qu->broken_epoch == qu->rec.epoch)
				continue;
			usable |= 1ull << q;
			if (owner_seen_before(f, q, usable))
				continue;
			mine = owner_queues(f, q);
			if (!(mine & need))
				continue;
			io->parts[used].fseq = f->wseq;
			io->parts[used].fmask = mine;
			vbdf_bind_part(f, q, &io->parts[used++]);
		}
		if (used == 0 && need)
			pend_part(f, &io->parts[used++]); /* covers no queue: fmask 0 */
		io->left = used;
		if (!used) {
			f->flushes_skipped++;
			io_finish(f, io);
		}
	} else {
		io->left = io->nparts;
		for (unsigned i = 0; i < io->nparts; i++)
			pend_part(f, &io->parts[i]);
	}
	if (io->op == VBD_IO_FLUSH)
		vbdf_dispatch(f);
	else
		vbdf_dispatch_ctx(f, io->ctx);
	if (!self) /* a context's thread pushes once per turn */
		nnotify = vbdf_push_collect(f, notify);
	pthread_mutex_unlock(&f->lock);
	vbdf_notify_collected(notify, nnotify);
	return 0;
}

int vbd_front_submit(struct vbd_front *f, enum vbd_io_op op, unsigned flags, void *buf,
		     uint64_t offset, uint64_t len, vbd_front_cb cb, void *arg)
{
	unsigned nparts;
	struct vbdf_io *io;

	if (!f || !cb || (unsigned)op > VBD_IO_DISCARD || (flags & ~VBD_IO_FUA))
		return -EINVAL;
	if (f->x.read_only && (op == VBD_IO_WRITE || op == VBD_IO_DISCARD))
		return -EROFS;
	if (op != VBD_IO_FLUSH) {
		if (offset % VBD_SECTOR_SIZE || len % VBD_SECTOR_SIZE || offset > f->x.size ||
		    len > f->x.size - offset)
			return -EINVAL;
		if (op != VBD_IO_DISCARD && len && !buf)
			return -EINVAL;
		if (len == 0) {
			cb(arg, 0);
			return 0;
		}
	}
	if (op == VBD_IO_FLUSH)
		nparts = f->nq;
	else if (op == VBD_IO_DISCARD)
		nparts = 1;
	else
		nparts = (unsigned)((len + VBDF_RING_MAX_REQ_BYTES - 1) / VBDF_RING_MAX_REQ_BYTES);
	io = io_new(f, op, flags, cb, arg, nparts);
	if (!io)
		return -ENOMEM;
	for (unsigned i = 0; i < nparts; i++) {
		uint64_t o = (uint64_t)i * VBDF_RING_MAX_REQ_BYTES;
		uint64_t n = len - o > VBDF_RING_MAX_REQ_BYTES ? VBDF_RING_MAX_REQ_BYTES : len - o;

		io->parts[i] = (struct vbdf_part){.io = io, .op = blkif_op(op), .q = -1};
		if (op == VBD_IO_READ || op == VBD_IO_WRITE) {
			io->parts[i].sector = (offset + o) / VBD_SECTOR_SIZE;
			io->parts[i].nsect = n / VBD_SECTOR_SIZE;
			io->parts[i].data = (char *)buf + o;
		} else if (op == VBD_IO_DISCARD) {
			io->parts[i].sector = offset / VBD_SECTOR_SIZE;
			io->parts[i].nsect = len / VBD_SECTOR_SIZE;
		}
	}
	return queue_io(f, io, NULL);
}

int vbd_front_wbuf_submit(struct vbd_front *f, struct vbd_front_wbuf *wb, uint64_t offset,
			  unsigned flags, vbd_front_cb cb, void *arg)
{
	struct vbdf_io *io = NULL;
	int rc = 0;

	if (!f || !wb)
		return -EINVAL;
	if (!cb || (flags & ~VBD_IO_FUA) || offset % VBD_SECTOR_SIZE || offset > f->x.size ||
	    wb->len > f->x.size - offset)
		rc = -EINVAL;
	else if (!(io = io_new(f, VBD_IO_WRITE, flags, cb, arg, 1)))
		rc = -ENOMEM;
	if (rc) {
		vbd_front_wbuf_put(f, wb);
		return rc;
	}
	io->parts[0] = (struct vbdf_part){.io = io,
					  .op = BLKIF_OP_WRITE,
					  .q = -1,
					  .sector = offset / VBD_SECTOR_SIZE,
					  .nsect = wb->len / VBD_SECTOR_SIZE,
					  .wb = wb};
	return queue_io(f, io, wb->ctx);
}
