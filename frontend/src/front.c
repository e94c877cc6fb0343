/* SPDX-License-Identifier: MIT */
/*
 * The device: attach / detach, the event thread (responses, watch events,
 * pushes), observation.  Requests are in front_io.c, owner changes in
 * front_owner.c; the locking rules are in device.h.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/blkif.h"
#include "vbdpool/log.h"
#include "device.h"
#include "ring.h"
#include "xsfront.h"

static __thread struct vbdf_ctx *tls_ctx;

void vbd_front_opts_init(struct vbd_front_opts *o, unsigned devid)
{
	*o = (struct vbd_front_opts){.devid = devid,
				     .ring_order = VBD_DEFAULT_RING_ORDER,
				     .close_wait_ms = VBD_FRONT_CLOSE_WAIT_MS,
				     .poll_us = VBD_FRONT_POLL_US,
				     .stall_warn_ms = VBD_FRONT_STALL_WARN_MS,
				     .drain_timeout_ms = VBD_FRONT_DRAIN_TIMEOUT_MS,
				     .queue_batch = VBD_FRONT_QUEUE_BATCH};
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

bool vbd_front_read_only(const struct vbd_front *f)
{
	return f->x.read_only;
}

/* ---- the event thread ------------------------------------------------------ */

/* ms from now until the monotonic time `at` (ns), rounded up; 0 if past */
static int ms_until(uint64_t at)
{
	uint64_t now = vbd_apoll_now();

	return at > now ? (int)((at - now + 999999) / 1000000) : 0;
}

/* The stall watch (lock held): I/O outstanding and no response for
 * o.stall_warn_ms, counted from the later of the last response and the
 * submission of the oldest outstanding request (the submit that ends an
 * idle spell sets stall_mark_ns: the loop may have slept since its last
 * look).  Returns the ms until the warning is due (the poll must wake by
 * then), or -1. */
static int stall_check(struct vbd_front *f, uint64_t now)
{
	uint64_t warn_ns = (uint64_t)f->o.stall_warn_ms * 1000000u;

	if (!warn_ns)
		return -1;
	/* (no mark yet: requests were submitted before the first look) */
	if (f->nios == 0 || f->completed != f->stall_completed || !f->stall_mark_ns) {
		if (f->stall_logged && f->stall_mark_ns)
			log_info("front: device %u: responses again after %.1f s", f->x.devid,
				 (double)(now - f->stall_mark_ns) / 1e9);
		f->stall_completed = f->completed;
		f->stall_mark_ns = now;
		f->stall_logged = false;
		return f->nios ? (int)f->o.stall_warn_ms : -1;
	}
	if (f->stall_logged)
		return -1;
	if (now - f->stall_mark_ns >= warn_ns) {
		char owners[16 * VBD_MAX_QUEUES] = "";
		size_t o = 0;

		for (unsigned q = 0; q < f->nq && o < sizeof(owners); q++) {
			const struct vbdf_queue *qu = &f->q[q];

			if (qu->rec.owner == VBD_DOMID_NONE)
				o += (size_t)snprintf(owners + o, sizeof(owners) - o, " q%u=none",
						      q);
			else
				o += (size_t)snprintf(
				    owners + o, sizeof(owners) - o, " q%u=dom%u/e%llu", q,
				    (unsigned)qu->rec.owner, (unsigned long long)qu->rec.epoch);
		}
		log_warn("front: device %u: %lu request(s) outstanding and no response for %.1f "
			 "s (waiting for the pool; owners:%s)",
			 f->x.devid, f->nios, (double)(now - f->stall_mark_ns) / 1e9, owners);
		f->stall_logged = true;
		return -1;
	}
	return (int)((warn_ns - (now - f->stall_mark_ns)) / 1000000u) + 1;
}

/* A context's poll set and what it carries from one turn to the next. */
struct evloop {
	struct vbdf_ctx *c;
	struct pollfd pfd[2 + VBD_MAX_QUEUES + VBD_FRONT_MAX_APP_FDS];
	struct vbdf_ring *pring[2 + VBD_MAX_QUEUES];
	struct vbdf_appfd *app;
	unsigned n, nring, napp; /* polled: all, wake + XenStore + rings, apps */
	bool kicked;		 /* an application descriptor runs at once */
	uint64_t retry_at;	 /* monotonic ns: the next retry of failed records */
	int stall_ms;		 /* ms until the stall warning is due, or -1 */
};

/* The poll set: the wake fd, XenStore (context 0), the context's rings,
 * its application fds.  Starting a turn under the lock tells a thread
 * waiting in vbdf_ctx_quiesce that rings taken away are no longer used. */
static inline void evloop_collect(struct vbd_front *f, struct evloop *L)
{
	struct vbdf_ctx *c = L->c;
	unsigned n = 0;

	L->pfd[n++] = (struct pollfd){.fd = c->wake_fd, .events = POLLIN};
	/* A lost XenStore connection is not polled again (no busy loop). */
	L->pfd[n++] =
	    (struct pollfd){.fd = c->idx || f->xs_lost ? -1 : vbdf_xsf_fd(&f->x), .events = POLLIN};
	pthread_mutex_lock(&f->lock);
	for (unsigned q = c->idx; q < f->nq; q += f->nctx) {
		if (!f->q[q].ring)
			continue;
		L->pring[n] = f->q[q].ring;
		L->pfd[n++] = (struct pollfd){.fd = f->q[q].ring->fd, .events = POLLIN};
	}
	c->gen++;
	pthread_cond_broadcast(&f->gen_cond);
	pthread_mutex_unlock(&f->lock);
	L->nring = n;
	L->kicked = false;
	L->napp = vbdf_appfd_collect(f, c->idx, L->pfd + n, L->app, &L->kicked);
	L->n = n + L->napp;
}

/* The poll timeout: the earliest of a kick, the retry of failed records,
 * a lost-write hold's deadline and the stall warning (-1: none). */
static inline int evloop_timeout(struct vbd_front *f, struct evloop *L)
{
	int tmo;

	/* Failed record handling (grants, XenStore) is retried every
	 * VBD_FRONT_RETRY_MS, also while events keep the poll busy; a
	 * kicked application descriptor runs at once. */
	if (!f->retry_mask || L->c->idx)
		L->retry_at = 0;
	else if (!L->retry_at)
		L->retry_at = vbd_apoll_now() + VBD_FRONT_RETRY_MS * 1000000ull;
	tmo = L->kicked ? 0 : L->retry_at ? ms_until(L->retry_at) : -1;
	if (L->c->idx == 0 && f->lost.n) { /* a storage timeout of a hold (lostw.h) */
		uint64_t dl = vbdf_lostw_next_deadline(&f->lost);
		int lt = dl ? ms_until(dl) : -1;

		if (lt >= 0 && (tmo < 0 || lt < tmo))
			tmo = lt;
	}
	if (L->stall_ms >= 0 && (tmo < 0 || L->stall_ms < tmo))
		tmo = L->stall_ms;
	return tmo;
}

/* Responses waiting on one of the context's rings (memory only). */
static inline bool evloop_rings_ready(const struct evloop *L)
{
	for (unsigned i = 2; i < L->nring; i++)
		if (vbdf_ring_has_responses(L->pring[i]))
			return true;
	return false;
}

/* Before sleeping: every ring asks its owner for an event at the next
 * response; true when one came meanwhile (do not sleep). */
static inline bool evloop_rings_arm(const struct evloop *L)
{
	bool ready = false;

	for (unsigned i = 2; i < L->nring; i++)
		ready |= vbdf_ring_arm(L->pring[i]);
	return ready;
}

/* poll(), but while requests are in flight first polls without sleeping
 * for the adaptive window (vbdpool/apoll.h, at most o.poll_us), yielding
 * the CPU between tries: a response, or the next request from a client
 * served on this thread, usually comes within microseconds of the last
 * batch.  The yield lets a member or a client runnable on this CPU go
 * first.  Idle devices (nothing in flight) just sleep.
 * Responses are looked for in the rings' memory, and the owners are asked
 * for an event (rsp_event) only right before a sleep: while this thread is
 * awake, members answer without notifying it (harvest_quiet), as the
 * members do with req_event for requests.  Returns the poll's count
 * (responses waiting in memory: the descriptors are still polled, without
 * sleeping, so that a client's requests are read in the same turn). */
static int wait_events(struct evloop *L, int timeout)
{
	struct vbdf_ctx *c = L->c;
	struct vbd_apoll *ap = &c->apoll;
	bool timed = timeout != 0 && ap->max_ns && c->busy;
	uint64_t t0 = timed ? vbd_apoll_now() : 0;
	int nready;

	if (evloop_rings_ready(L))
		return poll(L->pfd, L->n, 0);
	while (timed && ap->cur_ns && vbd_apoll_now() - t0 < ap->cur_ns) {
		bool rings = evloop_rings_ready(L);

		nready = poll(L->pfd, L->n, 0);
		if (rings || nready) {
			if (nready >= 0)
				vbd_apoll_update(ap, vbd_apoll_now() - t0);
			return nready;
		}
		sched_yield();
	}
	if (timeout != 0 && evloop_rings_arm(L)) {
		if (timed)
			vbd_apoll_update(ap, vbd_apoll_now() - t0);
		return poll(L->pfd, L->n, 0);
	}
	nready = poll(L->pfd, L->n, timeout);
	if (nready > 0 && timed)
		vbd_apoll_update(ap, vbd_apoll_now() - t0);
	return nready;
}

/* Polls; returns the ready count, -EINTR to poll again, or -1 to stop. */
static inline int evloop_wait(struct vbd_front *f, struct evloop *L)
{
	int nready = wait_events(L, evloop_timeout(f, L));

	if (nready >= 0)
		return nready;
	if (errno != EINTR) {
		log_err("front: poll: %s", strerror(errno));
		return -1;
	}
	if (!L->kicked)
		return -EINTR;
	/* a signal: the kicks collected above are cleared from the table and
	 * must still run (nothing polled is) */
	for (unsigned i = 0; i < L->n; i++)
		L->pfd[i].revents = 0;
	return 0;
}

/* Responses of the rings that polled ready; dispatches what they free. */
static inline void evloop_responses(struct vbd_front *f, struct evloop *L)
{
	struct vbdf_ring *old[VBD_MAX_QUEUES];
	unsigned nold = 0;

	for (unsigned i = 2; i < L->nring; i++)
		if (L->pfd[i].revents)
			vbdf_ring_ack(L->pring[i]);
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 2; i < L->nring; i++) {
		struct vbdf_ring *r = L->pring[i];
		if (f->q[r->q].ring != r || (!L->pfd[i].revents && !vbdf_ring_has_responses(r)))
			continue;
		if (vbdf_ring_harvest_quiet(r, vbdf_ring_done_cb, f) == -EPROTO)
			old[nold++] = vbdf_abandon_ring(f, r->q, true, -1);
	}
	vbdf_dispatch_ctx(f, L->c);
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < nold; i++)
		vbdf_ring_release(f, old[i]);
	vbdf_run_done(f);
}

/* Context 0: queue-<q>/abandoned for the rings given up for a protocol
 * violation, so that their owners release the queues. */
static void announce_abandoned(struct vbd_front *f)
{
	uint64_t m, epoch[VBD_MAX_QUEUES];

	/* every turn of context 0: nothing to do, no lock (set under the
	 * lock with an atomic or, then context 0 is woken) */
	if (!__atomic_load_n(&f->abandon_pub, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&f->lock);
	m = f->abandon_pub;
	f->abandon_pub = 0;
	for (unsigned q = 0; q < f->nq; q++)
		epoch[q] = f->q[q].broken_epoch;
	pthread_mutex_unlock(&f->lock);
	for (unsigned q = 0; q < f->nq && m && !f->xs_lost; q++)
		if ((m & (1ull << q)) && vbdf_xsf_set_abandoned(&f->x, q, epoch[q]) < 0)
			log_warn("front: queue %u: cannot tell its owner the ring is abandoned", q);
}

/* XenStore: coalesces the events (the queues' records, added to qev, the
 * device state, a member drained), then reads each record once. */
static void evloop_xenstore(struct vbd_front *f, short revents, uint64_t qev)
{
	bool stev = false, drev = false;
	unsigned q, nlost;

	if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		log_err("front: device %u: lost the XenStore connection; owner changes "
			"are no longer followed",
			f->x.devid);
		f->xs_lost = true;
	} else if (revents) {
		enum vbdf_xsf_event ev;
		while ((ev = vbdf_xsf_next_event(&f->x, &q)) != VBDF_XSF_NONE) {
			if (ev == VBDF_XSF_STATE)
				stev = true;
			else if (ev == VBDF_XSF_DRAINED)
				drev = true;
			else
				qev |= 1ull << q;
		}
	}
	if (stev)
		vbdf_handle_state(f);
	nlost = f->lost.n; /* only this thread adds or drops ranges */
	for (q = 0; q < f->nq && !f->gone; q++)
		if (qev & (1ull << q))
			vbdf_handle_record(f, q);
	/* new lost ranges: their owner may be drained already */
	if (f->lost.n)
		vbdf_lost_check(f, drev || f->lost.n > nlost);
}

/* Pushes what this turn queued, notifies the rings, notes whether the
 * context's queues have requests in flight (it polls before sleeping);
 * context 0 also checks for a stall and writes Closed once a detach has
 * completed every request. */
static inline void evloop_push(struct vbd_front *f, struct evloop *L)
{
	struct vbdf_ring *notify[VBD_MAX_QUEUES];
	struct vbdf_ctx *c = L->c;
	unsigned nnotify;
	bool closed_now = false, busy = false;

	pthread_mutex_lock(&f->lock);
	nnotify = vbdf_push_collect(f, notify);
	for (unsigned q = c->idx; q < f->nq && !busy; q += f->nctx)
		busy = f->q[q].ring && vbdf_ring_inflight(f->q[q].ring);
	c->busy = busy;
	if (c->idx) {
		pthread_mutex_unlock(&f->lock);
		vbdf_notify_collected(notify, nnotify);
		return;
	}
	L->stall_ms = stall_check(f, vbd_apoll_now());
	if (f->detach_asked && f->nios == 0 && !f->closed_written && !f->gone) {
		f->closed_written = true;
		closed_now = true;
	}
	pthread_mutex_unlock(&f->lock);
	vbdf_notify_collected(notify, nnotify);
	if (closed_now) {
		log_info("front: device %u: detached, all requests completed", f->x.devid);
		vbdf_xsf_set_state(&f->x, XenbusStateClosed);
	}
}

static void *event_thread(void *arg)
{
	struct vbdf_ctx *c = arg;
	struct vbd_front *f = c->f;
	struct evloop L = {.c = c, .app = c->afd_snap, .stall_ms = -1};
	char name[16];

	vbdf_ctx_enter(c);
	/* The event thread stays SCHED_OTHER: it copies read data (up to 1 MiB
	 * per request) under the device lock, and a SCHED_BATCH lock holder is
	 * preempted by every wake-up (1 MiB reads QD4: -35 %). */
	snprintf(name, sizeof(name), "vbdf-event%u", c->idx % 1000u);
	pthread_setname_np(pthread_self(), name); /* for perf/top */
	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		uint64_t qev = 0; /* records to read: failed ones due for a retry */
		int nready;

		evloop_collect(f, &L);
		nready = evloop_wait(f, &L);
		if (nready == -EINTR)
			continue;
		if (nready < 0)
			break;
		if (c->idx == 0 && L.retry_at && vbd_apoll_now() >= L.retry_at) {
			qev = f->retry_mask;
			L.retry_at = 0;
		}
		if (L.pfd[0].revents) {
			uint64_t v;
			if (read(c->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_warn("front: wake fd: %s", strerror(errno));
		}
		evloop_responses(f, &L);
		/* The application's descriptors: requests read now are pushed
		 * below with those the completions submitted. */
		vbdf_appfd_run(f, L.app, L.pfd + L.nring, L.napp, nready > 0);
		if (c->idx == 0) {
			evloop_xenstore(f, L.pfd[1].revents, qev);
			announce_abandoned(f);
		}
		vbdf_run_done(f); /* completed by other threads (flushes, takeovers) */
		evloop_push(f, &L);
	}
	pthread_mutex_lock(&f->lock);
	c->running = false;
	pthread_cond_broadcast(&f->gen_cond);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* ---- contexts ---------------------------------------------------------------- */

int vbdf_ctx_init(struct vbd_front *f, unsigned nctx)
{
	f->ctx = calloc(nctx, sizeof(*f->ctx));
	if (!f->ctx)
		return -ENOMEM;
	f->nctx = nctx;
	pthread_cond_init(&f->gen_cond, NULL);
	for (unsigned i = 0; i < nctx; i++) {
		struct vbdf_ctx *c = &f->ctx[i];

		c->f = f;
		c->idx = i;
		c->done_tail = &c->done;
		for (unsigned q = i; q < f->nq; q += nctx)
			c->qmask |= 1ull << q;
		vbd_apoll_init(&c->apoll, f->o.poll_us);
		c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (c->wake_fd < 0) {
			int rc = -errno;

			vbdf_ctx_free(f);
			return rc;
		}
	}
	return 0;
}

void vbdf_ctx_free(struct vbd_front *f)
{
	if (!f->ctx)
		return;
	for (unsigned i = 0; i < f->nctx; i++)
		if (f->ctx[i].wake_fd >= 0)
			close(f->ctx[i].wake_fd);
	pthread_cond_destroy(&f->gen_cond);
	free(f->ctx);
	f->ctx = NULL;
	f->nctx = 0;
}

struct vbdf_ctx *vbdf_ctx_self(const struct vbd_front *f)
{
	return tls_ctx && tls_ctx->f == f ? tls_ctx : NULL;
}

void vbdf_ctx_enter(struct vbdf_ctx *c)
{
	tls_ctx = c;
}

void vbdf_ctx_wake(struct vbdf_ctx *c)
{
	uint64_t one = 1;

	if (tls_ctx != c && c->wake_fd >= 0 && write(c->wake_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		log_warn("front: wake fd: %s", strerror(errno));
}

void vbdf_ctx_quiesce(struct vbdf_ctx *c)
{
	struct vbd_front *f = c->f;
	uint64_t gen;

	if (tls_ctx == c)
		return;
	pthread_mutex_lock(&f->lock);
	gen = c->gen;
	if (c->running) {
		vbdf_ctx_wake(c);
		while (c->running && c->gen == gen)
			pthread_cond_wait(&f->gen_cond, &f->lock);
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---- open / close ---------------------------------------------------------- */

void vbd_front_sched_batch(bool batch)
{
	static const struct sched_param sp = {0};
	int cur = sched_getscheduler(0), want = batch ? SCHED_BATCH : SCHED_OTHER;

	/* only between SCHED_OTHER and SCHED_BATCH (never touch a real-time
	 * or idle thread) */
	if ((cur == SCHED_OTHER || cur == SCHED_BATCH) && cur != want)
		pthread_setschedparam(pthread_self(), want, &sp);
}

/* The default number of contexts: one per queue, at most one per online CPU. */
static unsigned default_contexts(unsigned nq)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus > 0 && (unsigned long)cpus < nq ? (unsigned)cpus : nq;
}

int vbd_front_open(const struct vbd_front_opts *o, struct vbd_front **out)
{
	return vbd_front_open_ctx(o, 0, out);
}

int vbd_front_open_ctx(const struct vbd_front_opts *o, unsigned contexts, struct vbd_front **out)
{
	pthread_mutexattr_t ma;
	struct vbd_front *f;
	unsigned started = 0;
	int rc, st;

	if (!o || o->ring_order > VBD_MAX_RING_PAGE_ORDER || contexts > VBD_MAX_QUEUES)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->o = *o;
	f->abandon_lost_owner = -1;
	/* Adaptive: critical sections are short and every request takes the
	 * lock twice (submit, harvest); spinning briefly beats a futex sleep
	 * and wake-up, which on a 2-core host costs more than the section. */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&f->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_cond_init(&f->cond, NULL);
	pthread_mutex_init(&f->afd_lock, NULL);
	rc = vbdf_xsf_open(&f->x, o->devid, o->volume);
	if (rc < 0)
		goto fail;
	f->nq = f->x.nq;
	f->wseq = 1;
	for (unsigned q = 0; q < f->nq; q++)
		f->q[q] =
		    (struct vbdf_queue){.idx = q,
					.rec = {.owner = VBD_DOMID_NONE, .target = VBD_DOMID_NONE},
					.wdone_seq = 1};
	if (!contexts)
		contexts = default_contexts(f->nq);
	rc = vbdf_ctx_init(f, contexts < f->nq ? contexts : f->nq);
	if (rc < 0)
		goto fail;
	/* dom0 is detaching the device: do not undo its Closing. */
	if (vbdf_xsf_get_state(&f->x, &st) == 0 && st == XenbusStateClosing) {
		log_err("front: device %u is being detached (state 5)", o->devid);
		rc = -ESHUTDOWN;
		goto fail;
	}
	rc = vbdf_xsf_set_state(&f->x, XenbusStateInitialised);
	if (rc < 0) {
		log_err("front: %s/state: %s", f->x.fe, strerror(-rc));
		goto fail;
	}
	rc = vbdf_xsf_watch(&f->x);
	if (rc < 0) {
		log_err("front: watching %s: %s", f->x.pool, strerror(-rc));
		goto fail;
	}
	for (; started < f->nctx; started++) {
		struct vbdf_ctx *c = &f->ctx[started];

		c->running = true;
		rc = -pthread_create(&c->thr, NULL, event_thread, c);
		if (rc < 0) {
			c->running = false;
			goto fail;
		}
		c->thr_started = true;
	}
	log_info("front: device %u: volume %s, %llu bytes, %u queue(s), %u context(s)", o->devid,
		 f->x.volume, (unsigned long long)f->x.size, f->nq, f->nctx);
	*out = f;
	return 0;
fail:
	if (started) {
		__atomic_store_n(&f->stop, true, __ATOMIC_RELEASE);
		for (unsigned i = 0; i < started; i++) {
			vbdf_ctx_wake(&f->ctx[i]);
			pthread_join(f->ctx[i].thr, NULL);
		}
	}
	vbdf_xsf_close(&f->x);
	vbdf_ctx_free(f);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->afd_lock);
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
	bool deferred;

	if (!f)
		return;
	if (vbd_front_on_event_thread(f)) {
		log_err("front: vbd_front_close called from a completion callback; ignored");
		return;
	}
	deadline_after(&dl, (int)f->o.close_wait_ms);
	pthread_mutex_lock(&f->lock);
	f->closing = true;
	while (f->nios && !f->gone)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &dl) == ETIMEDOUT)
			break;
	if (f->nios)
		log_warn("front: device %u: closing with %lu request(s) unanswered", f->x.devid,
			 f->nios);
	__atomic_store_n(&f->stop, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < f->nctx; i++) {
		if (!f->ctx[i].thr_started)
			continue;
		if (write(f->ctx[i].wake_fd, &one, sizeof(one)) < 0)
			log_warn("front: wake fd: %s", strerror(errno));
		pthread_join(f->ctx[i].thr, NULL);
	}
	vbdf_fail_all(f, -ESHUTDOWN, false);
	if (!f->gone && !f->closed_written)
		vbdf_xsf_set_state(&f->x, XenbusStateClosed);
	vbdf_xsf_close(&f->x);
	vbdf_ctx_free(f);
	vbdf_lostw_free(&f->lost);
	/* write buffers still out (a server drops its connections after
	 * closing the device): the last vbd_front_wbuf_put frees f */
	pthread_mutex_lock(&f->lock);
	deferred = f->free_deferred = f->nwbufs > 0;
	pthread_mutex_unlock(&f->lock);
	if (!deferred) /* (else f may be gone already) */
		vbdf_front_free(f);
}

void vbdf_front_free(struct vbd_front *f)
{
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->afd_lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

int vbd_front_hold_detach(struct vbd_front *f)
{
	bool asked;

	pthread_mutex_lock(&f->lock);
	f->hold_detach = true;
	asked = f->detach_asked;
	pthread_mutex_unlock(&f->lock);
	return asked ? 1 : 0;
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
			any |= vbdf_ring_accepts(f->q[q].ring);
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
	st->held = f->nheld;
	st->held_total = f->held_total;
	pthread_mutex_unlock(&f->lock);
}

bool vbd_front_on_event_thread(const struct vbd_front *f)
{
	return vbdf_ctx_self(f) != NULL;
}

unsigned vbd_front_num_contexts(const struct vbd_front *f)
{
	return f->nctx;
}
