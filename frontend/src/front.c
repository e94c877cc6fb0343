/* SPDX-License-Identifier: MIT */
/*
 * The device: application I/O split into blkif requests, spread over the
 * queues (shortest queue first), re-posted when a queue changes owner; the
 * event thread that harvests responses and follows the ownership records.
 *
 * Locking: one device mutex guards the queues, rings, request lists and
 * counters.  Only the event thread replaces a queue's ring (and reads
 * q->ring without the lock); the slow parts of building and tearing down a
 * ring (grants, XenStore) run outside the lock.  Callbacks run without it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/blkif.h"
#include "vbdpool/log.h"
#include "internal.h"
#include "qselect.h"
#include "ring.h"
#include "xsfront.h"

enum { XB_INITIALISED = 3, XB_CONNECTED = 4, XB_CLOSING = 5, XB_CLOSED = 6 };

struct vbdf_queue {
	unsigned idx;
	struct vbd_queue_rec rec; /* last ownership record read */
	bool have_rec;
	struct vbdf_ring *ring;	   /* ring of the current owner epoch, or NULL */
	uint64_t broken_epoch;	   /* epoch whose ring we abandoned (0: none) */
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
	unsigned hint;
	uint64_t push_mask; /* queues with posted, unpushed requests */
	struct vbdf_io *done, **done_tail;
	bool closing;	    /* no new requests */
	bool detach_asked;  /* dom0 wrote state=Closing */
	bool closed_written;
	bool gone;	    /* attachment removed: everything fails */
	bool stop;
	bool connected_written;
	unsigned long nios;
	uint64_t submitted, completed, errors, reposted, bad;
	pthread_t thr;
	bool thr_started;
	int wake_fd;
};

static __thread struct vbd_front *tls_event_dev;

void vbd_front_opts_init(struct vbd_front_opts *o, unsigned devid)
{
	*o = (struct vbd_front_opts){.devid = devid, .ring_order = VBD_DEFAULT_RING_ORDER,
				     .close_wait_ms = VBD_FRONT_CLOSE_WAIT_MS};
}

uint64_t vbd_front_size(const struct vbd_front *f)
{
	return f->x.size;
}

const char *vbd_front_volume(const struct vbd_front *f)
{
	return f->x.volume;
}

unsigned vbd_front_num_queues(const struct vbd_front *f)
{
	return f->nq;
}

/* ---- request lists (device lock held) ---------------------------------- */

static void list_add(struct vbdf_part **head, struct vbdf_part **tail, struct vbdf_part *p)
{
	p->next = NULL;
	if (*tail)
		(*tail)->next = p;
	else
		*head = p;
	*tail = p;
}

static struct vbdf_part *list_pop(struct vbdf_part **head, struct vbdf_part **tail)
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

static void bind_part(struct vbd_front *f, unsigned q, struct vbdf_part *p)
{
	p->q = (int)q;
	list_add(&f->q[q].bhead, &f->q[q].btail, p);
	f->q[q].nbound++;
}

static void pend_part(struct vbd_front *f, struct vbdf_part *p)
{
	p->q = -1;
	list_add(&f->phead, &f->ptail, p);
	f->npending++;
}

static bool ring_accepts(const struct vbdf_ring *r)
{
	return r && r->connected && !r->draining;
}

/* ---- completion (device lock held) --------------------------------------- */

static void io_finish(struct vbd_front *f, struct vbdf_io *io)
{
	io->done_next = NULL;
	*f->done_tail = io;
	f->done_tail = &io->done_next;
	if (io->err)
		f->errors++;
}

/* A FUA write whose data parts all succeeded: one flush per queue that
 * took a part, bound to that queue. */
static void io_start_fua_flush(struct vbd_front *f, struct vbdf_io *io)
{
	io->flush_phase = true;
	for (unsigned q = 0; q < f->nq; q++) {
		struct vbdf_part *p;

		if (!(io->qmask & (1ull << q)))
			continue;
		p = calloc(1, sizeof(*p));
		if (!p) {
			io->err = -ENOMEM;
			break;
		}
		*p = (struct vbdf_part){.io = io, .op = BLKIF_OP_FLUSH_DISKCACHE, .heap = true};
		io->left++;
		bind_part(f, q, p);
	}
}

static void part_done(struct vbd_front *f, struct vbdf_part *p, int err)
{
	struct vbdf_io *io = p->io;

	if (err && !io->err)
		io->err = err;
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

static void ring_done_cb(void *ctx, struct vbdf_part *p, int err)
{
	struct vbd_front *f = ctx;

	f->completed++;
	if (p->q >= 0)
		f->q[p->q].completed++;
	part_done(f, p, err);
}

/* Runs the collected completions (without the lock). */
static void run_done(struct vbd_front *f)
{
	struct vbdf_io *io, *next;
	unsigned long n = 0;

	pthread_mutex_lock(&f->lock);
	io = f->done;
	f->done = NULL;
	f->done_tail = &f->done;
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
	f->nios -= n;
	if (f->nios == 0)
		pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
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

static void dispatch(struct vbd_front *f)
{
	struct vbdf_qsel_view view[VBD_MAX_QUEUES];
	uint64_t full = 0;

	/* Requests bound to a queue first: they must go to that queue. */
	for (unsigned q = 0; q < f->nq; q++) {
		struct vbdf_queue *qu = &f->q[q];

		while (qu->bhead && ring_accepts(qu->ring)) {
			if (post_part(f, q, qu->bhead) < 0)
				break;
			list_pop(&qu->bhead, &qu->btail);
			qu->nbound--;
		}
	}
	while (f->phead) {
		int q;

		for (unsigned i = 0; i < f->nq; i++) {
			const struct vbdf_ring *r = f->q[i].ring;

			view[i].usable = ring_accepts(r) && !f->q[i].bhead && !(full & (1ull << i));
			view[i].inflight = r ? vbdf_ring_inflight(r) : 0;
			view[i].free = r ? vbdf_ring_free(r) : 0;
		}
		q = vbdf_qsel_pick(view, f->nq, f->hint);
		if (q < 0)
			return;
		if (post_part(f, (unsigned)q, f->phead) < 0) {
			full |= 1ull << q;
			continue;
		}
		list_pop(&f->phead, &f->ptail);
		f->npending--;
		f->hint = (unsigned)q + 1;
	}
}

/* Pushes posted requests to their owners (device lock held). */
static void push_all(struct vbd_front *f)
{
	uint64_t m = f->push_mask;

	f->push_mask = 0;
	while (m) {
		unsigned q = (unsigned)__builtin_ctzll(m);
		int rc;

		m &= m - 1;
		if (!f->q[q].ring)
			continue;
		rc = vbdf_ring_push(f->q[q].ring);
		if (rc < 0)
			log_warn("front: queue %u: notify: %s", q, strerror(-rc));
	}
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

int vbd_front_submit(struct vbd_front *f, enum vbd_io_op op, unsigned flags, void *buf,
		     uint64_t offset, uint64_t len, vbd_front_cb cb, void *arg)
{
	unsigned nparts;
	struct vbdf_io *io;

	if (!f || !cb || (unsigned)op > VBD_IO_DISCARD || (flags & ~VBD_IO_FUA))
		return -EINVAL;
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
	io = malloc(sizeof(*io) + (size_t)nparts * sizeof(io->parts[0]));
	if (!io)
		return -ENOMEM;
	*io = (struct vbdf_io){.f = f, .op = op, .flags = op == VBD_IO_WRITE ? flags : 0, .cb = cb,
			      .arg = arg, .nparts = nparts};
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

	pthread_mutex_lock(&f->lock);
	if (f->closing || f->gone) {
		int rc = f->gone ? -ENODEV : -ESHUTDOWN;
		pthread_mutex_unlock(&f->lock);
		free(io);
		return rc;
	}
	f->nios++;
	f->submitted++;
	if (op == VBD_IO_FLUSH) {
		/* Every queue with an owner flushes what it completed; if no
		 * queue has one, any queue that connects first will do. */
		unsigned used = 0;
		for (unsigned q = 0; q < f->nq; q++) {
			const struct vbdf_queue *qu = &f->q[q];
			if (qu->rec.owner == VBD_DOMID_NONE || qu->broken_epoch == qu->rec.epoch)
				continue;
			bind_part(f, q, &io->parts[used++]);
		}
		if (used == 0)
			pend_part(f, &io->parts[used++]);
		io->left = used;
	} else {
		io->left = nparts;
		for (unsigned i = 0; i < nparts; i++)
			pend_part(f, &io->parts[i]);
	}
	dispatch(f);
	if (tls_event_dev != f) /* the event thread pushes once per batch */
		push_all(f);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* ---- ownership changes (event thread) ------------------------------------- */

static void orphan_cb(void *ctx, struct vbdf_part *p)
{
	struct vbd_front *f = ctx;

	f->reposted++;
	bind_part(f, (unsigned)p->q, p);
}

/* Stops using queue q's ring (lock held); returns it for destruction
 * outside the lock.  Responses already on it are taken first unless the
 * owner broke the protocol; requests still in flight are bound to the
 * queue for re-posting on its next epoch's ring. */
static struct vbdf_ring *abandon_ring(struct vbd_front *f, unsigned q, bool broken)
{
	struct vbdf_queue *qu = &f->q[q];
	struct vbdf_ring *r = qu->ring;

	if (!r)
		return NULL;
	if (!broken && vbdf_ring_harvest(r, ring_done_cb, f) == -EPROTO)
		broken = true;
	if (broken) {
		qu->broken_epoch = r->epoch;
		f->bad++;
		log_warn("front: queue %u: abandoning the ring of dom%u epoch %llu (protocol "
			 "violation); its requests wait for the next owner",
			 q, r->owner, (unsigned long long)r->epoch);
	}
	vbdf_ring_take_inflight(r, orphan_cb, f);
	qu->ring = NULL;
	f->push_mask &= ~(1ull << q);
	return r;
}

struct fail_ctx {
	struct vbd_front *f;
	int err;
};

static void fail_cb(void *ctx, struct vbdf_part *p)
{
	struct fail_ctx *c = ctx;

	part_done(c->f, p, c->err);
}

/* Fails every request of queue q (lock held): the device is gone or
 * closed.  Returns its ring for destruction outside the lock. */
static struct vbdf_ring *fail_queue(struct vbd_front *f, unsigned q, int err)
{
	struct vbdf_queue *qu = &f->q[q];
	struct vbdf_ring *r = qu->ring;
	struct vbdf_part *p;
	struct fail_ctx c = {f, err};

	if (r) {
		vbdf_ring_take_inflight(r, fail_cb, &c);
		qu->ring = NULL;
	}
	while ((p = list_pop(&qu->bhead, &qu->btail))) {
		qu->nbound--;
		part_done(f, p, err);
	}
	return r;
}

static void fail_all(struct vbd_front *f, int err)
{
	struct vbdf_ring *old[VBD_MAX_QUEUES];
	struct vbdf_part *p;

	pthread_mutex_lock(&f->lock);
	f->closing = true;
	for (unsigned q = 0; q < f->nq; q++)
		old[q] = fail_queue(f, q, err);
	while ((p = list_pop(&f->phead, &f->ptail))) {
		f->npending--;
		part_done(f, p, err);
	}
	f->push_mask = 0;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (unsigned q = 0; q < f->nq; q++)
		vbdf_ring_destroy(old[q]);
	run_done(f);
}

static void device_gone(struct vbd_front *f)
{
	if (f->gone)
		return;
	log_warn("front: device %u: attachment %s is gone; failing its requests", f->x.devid,
		 f->x.pool);
	f->gone = true;
	fail_all(f, -ENODEV);
}

static int build_ring(struct vbd_front *f, unsigned q, const struct vbd_queue_rec *rec,
		      struct vbdf_ring **out)
{
	struct vbdf_ring *r;
	struct vbdf_ring_info ri;
	int rc = vbdf_ring_create(&r, q, (vbd_domid_t)rec->owner, rec->epoch, f->o.ring_order);

	if (rc < 0) {
		log_err("front: queue %u: building a ring for dom%u: %s", q, rec->owner,
			strerror(-rc));
		return rc;
	}
	ri = (struct vbdf_ring_info){.owner = r->owner, .epoch = r->epoch, .order = r->order,
				    .refs = r->ring_ref, .port = (unsigned)r->port};
	rc = vbdf_xsf_publish_ring(&f->x, q, &ri);
	if (rc < 0) {
		vbdf_ring_destroy(r);
		return rc;
	}
	log_info("front: queue %u: ring for dom%u epoch %llu published (port %d)", q, r->owner,
		 (unsigned long long)r->epoch, r->port);
	*out = r;
	return 0;
}

static bool all_connected_once(const struct vbd_front *f)
{
	for (unsigned q = 0; q < f->nq; q++)
		if (!f->q[q].ever_connected)
			return false;
	return true;
}

static void handle_record(struct vbd_front *f, unsigned q)
{
	struct vbdf_queue *qu = &f->q[q];
	struct vbd_queue_rec rec;
	struct vbdf_ring *old = NULL, *fresh = NULL;
	bool need_new, write_connected = false;
	int rc = vbdf_xsf_read_record(&f->x, q, &rec);

	if (rc == -ENOENT) {
		device_gone(f);
		return;
	}
	if (rc < 0)
		return; /* malformed (logged) or transient: wait for the next change */

	pthread_mutex_lock(&f->lock);
	if (qu->have_rec && rec.epoch < qu->rec.epoch) {
		pthread_mutex_unlock(&f->lock);
		log_warn("front: queue %u: record epoch went back (%llu < %llu); ignored", q,
			 (unsigned long long)rec.epoch, (unsigned long long)qu->rec.epoch);
		return;
	}
	qu->rec = rec;
	qu->have_rec = true;
	need_new = rec.owner != VBD_DOMID_NONE && rec.epoch != qu->broken_epoch &&
		   (!qu->ring || qu->ring->epoch != rec.epoch || qu->ring->owner != rec.owner);
	if (qu->ring && (rec.owner == VBD_DOMID_NONE || need_new))
		old = abandon_ring(f, q, false);
	pthread_mutex_unlock(&f->lock);
	if (old) {
		log_info("front: queue %u: leaving dom%u epoch %llu (%u request(s) to re-post)", q,
			 old->owner, (unsigned long long)old->epoch, qu->nbound);
		vbdf_ring_destroy(old);
		run_done(f);
	}
	if (need_new && !f->gone && build_ring(f, q, &rec, &fresh) < 0)
		fresh = NULL;

	pthread_mutex_lock(&f->lock);
	if (fresh) {
		qu->ring = fresh;
		qu->rings++;
	}
	if (qu->ring && qu->ring->epoch == rec.epoch && qu->ring->owner == rec.owner) {
		struct vbdf_ring *r = qu->ring;
		bool was = ring_accepts(r);

		r->connected = rec.state == VBD_Q_CONNECTED || rec.state == VBD_Q_DRAINING;
		r->draining = rec.state == VBD_Q_DRAINING;
		if (r->connected && !qu->ever_connected)
			qu->ever_connected = true;
		if (ring_accepts(r) && !was) {
			log_info("front: queue %u: connected to dom%u epoch %llu%s", q, r->owner,
				 (unsigned long long)r->epoch,
				 qu->nbound ? ", re-posting" : "");
			pthread_cond_broadcast(&f->cond);
		}
	}
	dispatch(f);
	if (!f->connected_written && all_connected_once(f) && !f->closing) {
		f->connected_written = true;
		write_connected = true;
	}
	pthread_mutex_unlock(&f->lock);
	if (write_connected)
		vbdf_xsf_set_state(&f->x, XB_CONNECTED);
}

static void handle_state(struct vbd_front *f)
{
	int st, rc = vbdf_xsf_get_state(&f->x, &st);
	struct vbdf_part *p;

	if (rc == -ENOENT) {
		device_gone(f);
		return;
	}
	if (rc < 0 || st != XB_CLOSING || f->detach_asked)
		return;
	log_info("front: device %u: dom0 detaches it", f->x.devid);
	pthread_mutex_lock(&f->lock);
	f->detach_asked = true;
	f->closing = true;
	/* Requests never posted are refused; posted ones complete. */
	while ((p = list_pop(&f->phead, &f->ptail))) {
		f->npending--;
		part_done(f, p, -ESHUTDOWN);
	}
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	run_done(f);
}

/* ---- the event thread ------------------------------------------------------ */

static void *event_thread(void *arg)
{
	struct vbd_front *f = arg;
	struct pollfd pfd[2 + VBD_MAX_QUEUES];
	struct vbdf_ring *pring[2 + VBD_MAX_QUEUES];

	tls_event_dev = f;
	while (!f->stop) {
		struct vbdf_ring *old[VBD_MAX_QUEUES];
		unsigned n = 0, nold = 0;
		uint64_t qev = 0;
		bool stev = false, closed_now = false;
		unsigned q;

		pfd[n++] = (struct pollfd){.fd = f->wake_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = vbdf_xsf_fd(&f->x), .events = POLLIN};
		for (q = 0; q < f->nq; q++) {
			if (!f->q[q].ring)
				continue;
			pring[n] = f->q[q].ring;
			pfd[n++] = (struct pollfd){.fd = f->q[q].ring->fd, .events = POLLIN};
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("front: poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents) {
			uint64_t v;
			if (read(f->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_warn("front: wake fd: %s", strerror(errno));
		}

		/* Responses. */
		for (unsigned i = 2; i < n; i++)
			if (pfd[i].revents)
				vbdf_ring_ack(pring[i]);
		pthread_mutex_lock(&f->lock);
		for (unsigned i = 2; i < n; i++) {
			struct vbdf_ring *r = pring[i];
			if (!pfd[i].revents || f->q[r->q].ring != r)
				continue;
			if (vbdf_ring_harvest(r, ring_done_cb, f) == -EPROTO)
				old[nold++] = abandon_ring(f, r->q, true);
		}
		dispatch(f);
		pthread_mutex_unlock(&f->lock);
		for (unsigned i = 0; i < nold; i++)
			vbdf_ring_destroy(old[i]);
		run_done(f);

		/* XenStore: coalesce the events, then read each record once. */
		if (pfd[1].revents) {
			enum vbdf_xsf_event ev;
			while ((ev = vbdf_xsf_next_event(&f->x, &q)) != VBDF_XSF_NONE) {
				if (ev == VBDF_XSF_STATE)
					stev = true;
				else
					qev |= 1ull << q;
			}
			if (stev)
				handle_state(f);
			for (q = 0; q < f->nq && !f->gone; q++)
				if (qev & (1ull << q))
					handle_record(f, q);
		}

		pthread_mutex_lock(&f->lock);
		push_all(f);
		if (f->detach_asked && f->nios == 0 && !f->closed_written && !f->gone) {
			f->closed_written = true;
			closed_now = true;
		}
		pthread_mutex_unlock(&f->lock);
		if (closed_now) {
			log_info("front: device %u: detached, all requests completed", f->x.devid);
			vbdf_xsf_set_state(&f->x, XB_CLOSED);
		}
	}
	return NULL;
}

/* ---- open / close ---------------------------------------------------------- */

int vbd_front_open(const struct vbd_front_opts *o, struct vbd_front **out)
{
	struct vbd_front *f;
	int rc;

	if (!o || o->ring_order > VBD_MAX_RING_PAGE_ORDER)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->o = *o;
	f->wake_fd = -1;
	f->done_tail = &f->done;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	rc = vbdf_xsf_open(&f->x, o->devid, o->volume);
	if (rc < 0)
		goto fail;
	f->nq = f->x.nq;
	for (unsigned q = 0; q < f->nq; q++)
		f->q[q] = (struct vbdf_queue){.idx = q, .rec = {.owner = VBD_DOMID_NONE,
							      .target = VBD_DOMID_NONE}};
	f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->wake_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = vbdf_xsf_set_state(&f->x, XB_INITIALISED);
	if (rc < 0) {
		log_err("front: %s/state: %s", f->x.fe, strerror(-rc));
		goto fail;
	}
	rc = vbdf_xsf_watch(&f->x);
	if (rc < 0) {
		log_err("front: watching %s: %s", f->x.pool, strerror(-rc));
		goto fail;
	}
	rc = -pthread_create(&f->thr, NULL, event_thread, f);
	if (rc < 0)
		goto fail;
	f->thr_started = true;
	log_info("front: device %u: volume %s, %llu bytes, %u queue(s)", o->devid, f->x.volume,
		 (unsigned long long)f->x.size, f->nq);
	*out = f;
	return 0;
fail:
	vbdf_xsf_close(&f->x);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
	return rc;
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

void vbd_front_close(struct vbd_front *f)
{
	struct timespec dl;
	uint64_t one = 1;

	if (!f)
		return;
	deadline_after(&dl, (int)f->o.close_wait_ms);
	pthread_mutex_lock(&f->lock);
	f->closing = true;
	while (f->nios && !f->gone)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &dl) == ETIMEDOUT)
			break;
	if (f->nios)
		log_warn("front: device %u: closing with %lu request(s) unanswered", f->x.devid,
			 f->nios);
	f->stop = true;
	pthread_mutex_unlock(&f->lock);
	if (f->thr_started) {
		if (write(f->wake_fd, &one, sizeof(one)) < 0)
			log_warn("front: wake fd: %s", strerror(errno));
		pthread_join(f->thr, NULL);
	}
	fail_all(f, -ESHUTDOWN);
	if (!f->gone && !f->closed_written)
		vbdf_xsf_set_state(&f->x, XB_CLOSED);
	vbdf_xsf_close(&f->x);
	close(f->wake_fd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

int vbd_front_wait_connected(struct vbd_front *f, int timeout_ms)
{
	struct timespec dl;
	int rc = 0;

	if (timeout_ms >= 0)
		deadline_after(&dl, timeout_ms);
	pthread_mutex_lock(&f->lock);
	for (;;) {
		bool any = false;
		for (unsigned q = 0; q < f->nq; q++)
			any |= ring_accepts(f->q[q].ring);
		if (any)
			break;
		if (f->closing || f->gone) {
			rc = -ESHUTDOWN;
			break;
		}
		if (timeout_ms < 0)
			pthread_cond_wait(&f->cond, &f->lock);
		else if (pthread_cond_timedwait(&f->cond, &f->lock, &dl) == ETIMEDOUT) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void vbd_front_get_stats(struct vbd_front *f, struct vbd_front_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&f->lock);
	st->num_queues = f->nq;
	for (unsigned q = 0; q < f->nq; q++) {
		const struct vbdf_queue *qu = &f->q[q];
		const struct vbdf_ring *r = qu->ring;
		struct vbd_front_qstat *s = &st->q[q];

		s->owner = qu->rec.owner;
		s->epoch = r ? r->epoch : 0;
		s->connected = r && r->connected;
		s->draining = r && r->draining;
		s->broken = qu->have_rec && qu->broken_epoch == qu->rec.epoch && qu->broken_epoch;
		s->inflight = r ? vbdf_ring_inflight(r) : 0;
		s->waiting = qu->nbound;
		s->completed = qu->completed;
		s->rings = qu->rings;
	}
	st->submitted = f->submitted;
	st->completed = f->completed;
	st->errors = f->errors;
	st->reposted = f->reposted;
	st->bad_responses = f->bad;
	st->pending = f->npending;
	pthread_mutex_unlock(&f->lock);
}

bool vbd_front_on_event_thread(const struct vbd_front *f)
{
	return tls_event_dev == f;
}
