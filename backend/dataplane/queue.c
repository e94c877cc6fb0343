/* SPDX-License-Identifier: MIT */
/* The data path of one owned queue (see queue.h). */
#include "queue.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/apoll.h"
#include "vbdpool/clock.h"
#include "vbdpool/log.h"

struct vbd_pending {
	struct vbd_io io;
	struct vbd_req req;
	uint64_t t0_ns;
	uint64_t held_seq; /* q->eio_seq when held */
	struct vbd_pending *next_free;
	struct vbd_pending *flush_link; /* q->flush_riders / flush_next */
	uint16_t ntransient;
	uint8_t busy, held;
	uint8_t retried; /* held once already, then retried: the path worked */
	void *transient[VBD_MAX_INDIRECT_SEGS];
	struct iovec iov[VBD_MAX_INDIRECT_SEGS];
};

static void report(struct vbd_queue *q, unsigned bits)
{
	unsigned old = atomic_fetch_or(&q->status, bits);

	if ((old & bits) != bits && q->cfg.report_fd >= 0 && eventfd_write(q->cfg.report_fd, 1) < 0)
		vbdq_warn(&q->cfg, "cannot signal the control thread");
}

/* ---- setup / teardown ------------------------------------------------- */

int vbdq_create(const struct vbdq_config *cfg, struct vbd_queue **out)
{
	const struct vbd_platform *p = cfg->plat;
	unsigned npages = 1u << cfg->order;
	struct vbd_queue *q;
	int r = -ENOMEM;

	if (cfg->order > VBD_MAX_RING_PAGE_ORDER)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cfg = *cfg;
	q->vol_sectors = cfg->backing->size / VBD_SECTOR_SIZE;
	q->wake_fd = -1;
	q->local_port = -1;

	q->gt = p->gnttab->open();
	if (!q->gt) {
		r = -errno;
		goto fail;
	}
	q->sring = p->gnttab->map_refs(q->gt, (int)npages, cfg->guest, cfg->ring_refs,
				       PROT_READ | PROT_WRITE);
	if (!q->sring) {
		r = errno ? -errno : -EINVAL;
		vbdq_warn(cfg, "cannot map the %u ring page(s)", npages);
		goto fail;
	}
	vbd_ring_init(&q->ring, q->sring, cfg->order);

	q->ev = p->evtchn->open();
	if (!q->ev) {
		r = -errno;
		goto fail;
	}
	q->local_port = p->evtchn->bind_interdomain(q->ev, cfg->guest, cfg->remote_port);
	if (q->local_port < 0) {
		r = q->local_port;
		vbdq_warn(cfg, "cannot bind event channel %u: %s", cfg->remote_port, strerror(-r));
		q->local_port = -1;
		goto fail;
	}
	r = vbd_gcache_init(&q->gc, p->gnttab, q->gt, cfg->guest,
			    cfg->max_grants ? cfg->max_grants : VBD_MAX_PERSISTENT_GRANTS);
	if (r < 0)
		goto fail;
	q->eng = vbd_engine_create(cfg->engine, cfg->backing, q->ring.slots, cfg->wrap);
	if (!q->eng) {
		r = -ENOMEM;
		goto fail;
	}
	q->pend = calloc(q->ring.slots, sizeof(*q->pend));
	q->batch = calloc(q->ring.slots, sizeof(*q->batch));
	q->reaped = calloc(q->ring.slots, sizeof(*q->reaped));
	q->eng_t0 = calloc(q->ring.slots, sizeof(*q->eng_t0));
	if (!q->pend || !q->batch || !q->reaped || !q->eng_t0) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < q->ring.slots; i++) {
		q->pend[i].next_free = q->free_list;
		q->free_list = &q->pend[i];
	}
	q->debug = vbd_log_enabled(VBD_LOG_DEBUG);
	q->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->wake_fd < 0) {
		r = -errno;
		goto fail;
	}
	vbdq_info(cfg, "ring of %u page(s), %u slots, port %d, engine %s%s", npages, q->ring.slots,
		  q->local_port, q->eng->name, cfg->read_only ? ", read-only" : "");
	*out = q;
	return 0;
fail:
	vbdq_destroy(q);
	return r;
}

static void put_transient(struct vbd_queue *q, void *page)
{
	if (vbd_gcache_put_transient(&q->gc, page) < 0)
		vbdq_warn(&q->cfg, "grant unmap of a transient page failed");
}

static void release_pending(struct vbd_queue *q, struct vbd_pending *p)
{
	for (unsigned i = 0; i < p->ntransient; i++)
		put_transient(q, p->transient[i]);
	p->ntransient = 0;
	p->busy = 0;
	p->held = 0;
	p->next_free = q->free_list;
	q->free_list = p;
}

/* Wait for every I/O in flight to finish, without answering. */
static void wait_inflight(struct vbd_queue *q)
{
	while (q->inflight) {
		int n = q->eng->ops->reap(q->eng, q->reaped, (int)q->ring.slots);
		for (int i = 0; i < n; i++) {
			struct vbd_pending *p = (struct vbd_pending *)q->reaped[i];
			q->inflight--;
			release_pending(q, p);
		}
		if (!n && q->inflight) {
			struct pollfd pfd = {.fd = q->eng->ops->fd(q->eng), .events = POLLIN};
			if (pfd.fd < 0 || poll(&pfd, 1, 100) < 0)
				usleep(1000);
		}
	}
	atomic_store(&q->stats.inflight, 0);
}

void vbdq_destroy(struct vbd_queue *q)
{
	const struct vbd_platform *p;
	int r;

	if (!q)
		return;
	p = q->cfg.plat;
	if (q->started) {
		vbdq_command(q, VBDQ_CMD_STOP, 0);
		pthread_join(q->thr, NULL);
		q->started = 0;
	} else if (q->eng) {
		wait_inflight(q);
	}
	if (q->pend)
		for (unsigned i = 0; i < q->ring.slots; i++)
			if (q->pend[i].busy)
				release_pending(q, &q->pend[i]);
	if (q->eng)
		q->eng->ops->destroy(q->eng);
	if ((r = vbd_gcache_destroy(&q->gc)) > 0)
		vbdq_warn(&q->cfg, "%d persistent grant unmap(s) failed", r);
	if (q->ev) {
		if (q->local_port >= 0)
			p->evtchn->unbind(q->ev, (vbd_port_t)q->local_port);
		p->evtchn->close(q->ev);
	}
	if (q->sring)
		p->gnttab->unmap(q->gt, q->sring, 1 << q->cfg.order);
	if (q->gt)
		p->gnttab->close(q->gt);
	if (q->wake_fd >= 0)
		close(q->wake_fd);
	free(q->pend);
	free(q->batch);
	free(q->reaped);
	free(q->eng_t0);
	free(q);
}

void vbdq_command(struct vbd_queue *q, unsigned set, unsigned clear)
{
	unsigned old = atomic_load(&q->cmd), nw;

	/* a new drain generation before the DRAIN bit can be seen */
	if ((set & VBDQ_CMD_DRAIN) && !(old & VBDQ_CMD_DRAIN))
		atomic_fetch_add(&q->drain_gen, 1);
	do {
		nw = (old | set) & ~clear;
	} while (!atomic_compare_exchange_weak(&q->cmd, &old, nw));
	if (q->wake_fd >= 0 && eventfd_write(q->wake_fd, 1) < 0)
		vbdq_warn(&q->cfg, "cannot wake the data thread");
}

/* ---- the request path ------------------------------------------------- */

static void respond(struct vbd_queue *q, const struct vbd_req *r, int16_t status)
{
	if (q->debug)
		vbdq_debug(&q->cfg, "response id %#llx op %u status %d at %u",
			   (unsigned long long)r->id, vbd_req_rsp_op(r), status,
			   vbd_ring_rsp_index(&q->ring));
	vbd_ring_respond(&q->ring, r->id, vbd_req_rsp_op(r), status);
}

static void complete(struct vbd_queue *q, struct vbd_pending *p, int res)
{
	unsigned cmd = atomic_load_explicit(&q->cmd, memory_order_relaxed);

	if (cmd & VBDQ_CMD_STOP) { /* abandoned ring: no more responses */
		release_pending(q, p);
		return;
	}
	if (res == -EIO && !(cmd & VBDQ_CMD_FAILED)) {
		/* Storage failure: do not answer yet; the control thread has
		 * the path checked: a path failure marks the member failed and
		 * hands the queue off (the frontend re-posts this request to
		 * the next owner); if the path works, answer_upto has it tried
		 * once more (a path that failed for a moment and came back
		 * before the check), and a second EIO is a media error,
		 * answered BLKIF_RSP_ERROR. */
		vbdq_warn(&q->cfg, "EIO at sector %llu: holding request %#llx",
			  (unsigned long long)p->req.sector, (unsigned long long)p->req.id);
		for (unsigned i = 0; i < p->ntransient; i++)
			put_transient(q, p->transient[i]);
		p->ntransient = 0;
		p->held = 1;
		q->held++;
		p->held_seq = atomic_fetch_add(&q->eio_seq, 1) + 1;
		report(q, VBDQ_ST_EIO);
		return;
	}
	if (res == -EBADMSG) { /* --fault bad-response: break the ring protocol */
		vbdq_warn(&q->cfg,
			  "fault injection: answering request %#llx with a wrong operation",
			  (unsigned long long)p->req.id);
		vbd_ring_respond(&q->ring, p->req.id, (uint8_t)(vbd_req_rsp_op(&p->req) ^ 0x40),
				 BLKIF_RSP_OKAY);
		release_pending(q, p);
		return;
	}
	if (res < 0)
		vbdq_debug(&q->cfg, "request %#llx failed: %s", (unsigned long long)p->req.id,
			   strerror(-res));
	/* a backing that cannot discard (no hole punching) says so */
	respond(q, &p->req,
		res == -EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP
				   : (res < 0 ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY));
	vbd_qstats_record(&q->stats,
			  p->req.op == BLKIF_OP_READ	? VBD_STAT_READ
			  : p->req.op == BLKIF_OP_WRITE ? VBD_STAT_WRITE
							: VBD_STAT_OTHER,
			  p->req.nr_sectors * VBD_SECTOR_SIZE, (vbd_now_ns() - p->t0_ns) / 1000);
	release_pending(q, p);
}

static void flush_done(struct vbd_queue *q, struct vbd_pending *p, int res);

/* io_since = the arrival of the oldest request in the engine (0: none):
 * what the member's watch for a hanging storage path reads.  A path that
 * hangs only writes still shows, while reads complete.  Scans eng_t0, a
 * few cache lines, not the (large) pending records. */
static void io_since_update(struct vbd_queue *q)
{
	uint64_t oldest = 0;

	for (unsigned i = 0; i < q->ring.slots && q->inflight; i++)
		if (q->eng_t0[i] && (!oldest || q->eng_t0[i] < oldest))
			oldest = q->eng_t0[i];
	atomic_store_explicit(&q->io_since, oldest, memory_order_relaxed);
}

/* Hand one request to the engine (the caller commits). */
static void submit_io(struct vbd_queue *q, struct vbd_pending *p)
{
	int st;

	q->inflight++;
	/* before the engine (an inline engine's I/O may hang in submit); the
	 * oldest in the engine stays the oldest */
	q->eng_t0[p - q->pend] = p->t0_ns;
	if (!atomic_load_explicit(&q->io_since, memory_order_relaxed))
		atomic_store_explicit(&q->io_since, p->t0_ns, memory_order_relaxed);
	if (p->io.op == VBD_IO_FLUSH)
		q->flush_cur = p;
	st = q->eng->ops->submit(q->eng, &p->io);
	if (st < 0) {
		q->inflight--;
		q->eng_t0[p - q->pend] = 0;
		io_since_update(q);
		if (p == q->flush_cur)
			flush_done(q, p, st);
		else
			complete(q, p, st);
	}
}

/* A request ready for the engine: a flush while one runs waits for the
 * next (see queue.h), anything else is submitted (the caller commits). */
static void issue_io(struct vbd_queue *q, struct vbd_pending *p)
{
	if (p->io.op == VBD_IO_FLUSH && q->flush_cur) {
		p->flush_link = q->flush_next;
		q->flush_next = p;
		return;
	}
	submit_io(q, p);
}

/* The flush in the engine finished: its result is its riders' too (an
 * EIO holds each of them, as it holds the flush). The flushes that
 * arrived meanwhile go to the engine as one: the first is submitted, the
 * others ride on it. */
static void flush_done(struct vbd_queue *q, struct vbd_pending *p, int res)
{
	struct vbd_pending *r = q->flush_riders, *next;

	q->flush_cur = NULL;
	q->flush_riders = NULL;
	complete(q, p, res);
	for (; r; r = next) {
		next = r->flush_link;
		complete(q, r, res);
	}
	next = q->flush_next;
	q->flush_next = NULL;
	if (!next)
		return;
	if (atomic_load_explicit(&q->cmd, memory_order_relaxed) & VBDQ_CMD_STOP) {
		for (; next; next = r) { /* abandoned ring: released unanswered */
			r = next->flush_link;
			release_pending(q, next);
		}
		return;
	}
	q->flush_riders = next->flush_link;
	for (r = q->flush_riders; r; r = r->flush_link)
		q->flushes_merged++;
	submit_io(q, next);
	if (q->flush_cur) {
		int rc = q->eng->ops->commit(q->eng);
		if (rc < 0)
			vbdq_warn(&q->cfg, "engine submit failed: %s", strerror(-rc));
	}
}

/* Map the segments' pages and build the iovec. Returns a blkif status. */
static int map_segments(struct vbd_queue *q, struct vbd_pending *p)
{
	struct vbd_req *r = &p->req;
	int need_write = r->op == BLKIF_OP_READ; /* we write into the pages */
	int n = 0;

	for (unsigned i = 0; i < r->nsegs; i++) {
		int transient;
		char *page = vbd_gcache_get(&q->gc, r->seg[i].gref, need_write, &transient);
		size_t off, len;

		if (!page) {
			vbdq_debug(&q->cfg, "request %#llx: grant ref %u does not map",
				   (unsigned long long)r->id, r->seg[i].gref);
			return BLKIF_RSP_ERROR;
		}
		if (transient)
			p->transient[p->ntransient++] = page;
		off = (size_t)r->seg[i].first_sect * VBD_SECTOR_SIZE;
		len = (size_t)(r->seg[i].last_sect - r->seg[i].first_sect + 1) * VBD_SECTOR_SIZE;
		if (n && (char *)p->iov[n - 1].iov_base + p->iov[n - 1].iov_len == page + off) {
			p->iov[n - 1].iov_len += len; /* contiguous: merge */
		} else {
			p->iov[n].iov_base = page + off;
			p->iov[n].iov_len = len;
			n++;
		}
	}
	p->io.iov = p->iov;
	p->io.iovcnt = n;
	return BLKIF_RSP_OKAY;
}

static int load_indirect(struct vbd_queue *q, struct vbd_pending *p)
{
	const void *pages[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct vbd_req *r = &p->req;
	int st;

	for (unsigned i = 0; i < r->n_indirect; i++) {
		int transient;
		pages[i] = vbd_gcache_get(&q->gc, r->indirect_grefs[i], 0, &transient);
		if (!pages[i]) {
			r->why = "an indirect page's grant does not map";
			return BLKIF_RSP_ERROR;
		}
		if (transient)
			p->transient[p->ntransient++] = (void *)pages[i];
	}
	st = vbd_req_load_indirect(r, pages, q->vol_sectors);
	/* indirect pages are no longer needed: drop transient ones now */
	for (unsigned i = 0; i < p->ntransient; i++)
		put_transient(q, p->transient[i]);
	p->ntransient = 0;
	return st;
}

static void start_request(struct vbd_queue *q, const struct blkif_request *raw)
{
	struct vbd_pending *p = q->free_list;
	int st;

	if (!p) { /* cannot happen: ring.c takes no more than the ring holds */
		vbdq_err(&q->cfg, "no free request slot");
		q->hostile = 1;
		report(q, VBDQ_ST_HOSTILE);
		return;
	}
	q->free_list = p->next_free;
	p->busy = 1;
	p->ntransient = 0;
	p->retried = 0;
	p->t0_ns = vbd_now_ns();

	st = vbd_req_parse(raw, q->vol_sectors, &p->req);
	/* read-only attachment: op is the inner one of an indirect request */
	if (st == BLKIF_RSP_OKAY && q->cfg.read_only &&
	    (p->req.op == BLKIF_OP_WRITE || p->req.op == BLKIF_OP_DISCARD)) {
		VBD_LOG_ONCE(
		    &q->ro_log,
		    vbdq_warn(&q->cfg,
			      "read-only attachment: %s refused (and any later ones, not logged)",
			      p->req.op == BLKIF_OP_WRITE ? "write" : "discard"));
		st = BLKIF_RSP_ERROR;
	}
	if (st == BLKIF_RSP_OKAY && p->req.indirect)
		st = load_indirect(q, p);
	if (st != BLKIF_RSP_OKAY) {
		if (p->req.why)
			vbdq_debug(&q->cfg, "request %#llx refused: %s",
				   (unsigned long long)p->req.id, p->req.why);
		respond(q, &p->req, (int16_t)st);
		release_pending(q, p);
		return;
	}
	switch (p->req.op) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		st = map_segments(q, p);
		if (st != BLKIF_RSP_OKAY) {
			respond(q, &p->req, (int16_t)st);
			release_pending(q, p);
			return;
		}
		p->io.op = p->req.op == BLKIF_OP_READ ? VBD_IO_READ : VBD_IO_WRITE;
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		p->io.op = VBD_IO_FLUSH;
		p->io.iov = NULL;
		p->io.iovcnt = 0;
		break;
	default: /* BLKIF_OP_DISCARD */
		p->io.op = VBD_IO_DISCARD;
		p->io.iov = NULL;
		p->io.iovcnt = 0;
		break;
	}
	p->io.off = p->req.sector * VBD_SECTOR_SIZE;
	p->io.len = p->req.nr_sectors * VBD_SECTOR_SIZE;
	if (p->io.op != VBD_IO_FLUSH && !p->io.len) { /* empty discard */
		complete(q, p, 0);
		return;
	}
	issue_io(q, p);
}

static int reap(struct vbd_queue *q)
{
	int n = q->eng->ops->reap(q->eng, q->reaped, (int)q->ring.slots);
	uint64_t since = atomic_load_explicit(&q->io_since, memory_order_relaxed);
	bool oldest_out = false;

	for (int i = 0; i < n; i++) {
		struct vbd_pending *p = (struct vbd_pending *)q->reaped[i];
		q->inflight--;
		q->eng_t0[p - q->pend] = 0;
		oldest_out |= p->t0_ns <= since;
		if (p == q->flush_cur)
			flush_done(q, p, p->io.res);
		else
			complete(q, p, p->io.res);
	}
	if (oldest_out) /* (else the oldest is still in the engine) */
		io_since_update(q);
	return n;
}

/* A held request, once more (its grants mapped again: the transient ones
 * went when it was held); a flush waits behind a running one as usual. */
static void retry_held(struct vbd_queue *q, struct vbd_pending *p)
{
	p->held = 0;
	p->retried = 1;
	q->held--;
	if (p->io.op == VBD_IO_READ || p->io.op == VBD_IO_WRITE) {
		int st = map_segments(q, p);

		if (st != BLKIF_RSP_OKAY) {
			respond(q, &p->req, (int16_t)st);
			release_pending(q, p);
			return;
		}
	}
	issue_io(q, p);
}

/* The held requests up to sequence `upto`: the path works (upto from the
 * path check): tried once more, or, held again after that, answered with
 * ERROR (a media error); UINT64_MAX (failed mode, no other member):
 * answered with ERROR. */
static void answer_held(struct vbd_queue *q, uint64_t upto)
{
	int resubmitted = 0;

	for (unsigned i = 0; i < q->ring.slots && q->held; i++) {
		struct vbd_pending *p = &q->pend[i];
		if (!p->busy || !p->held || p->held_seq > upto)
			continue;
		if (upto != UINT64_MAX && !p->retried) {
			vbdq_warn(
			    &q->cfg,
			    "EIO at sector %llu but the path works: trying request %#llx once "
			    "more",
			    (unsigned long long)p->req.sector, (unsigned long long)p->req.id);
			retry_held(q, p);
			resubmitted = 1;
			continue;
		}
		if (upto != UINT64_MAX)
			vbdq_warn(&q->cfg,
				  "media error at sector %llu (the path works, EIO again): request "
				  "%#llx answered with an error",
				  (unsigned long long)p->req.sector, (unsigned long long)p->req.id);
		q->held--;
		respond(q, &p->req, BLKIF_RSP_ERROR);
		release_pending(q, p);
	}
	if (resubmitted) {
		int rc = q->eng->ops->commit(q->eng);
		if (rc < 0)
			vbdq_warn(&q->cfg, "engine submit failed: %s", strerror(-rc));
	}
}

static void push(struct vbd_queue *q)
{
	if (!vbd_ring_unpushed(&q->ring))
		return;
	if (vbd_ring_push(&q->ring))
		q->cfg.plat->evtchn->notify(q->ev, (vbd_port_t)q->local_port);
}

/* Self-fencing: a member that could not confirm for most of a lease that
 * the supervisor has not fenced it (it was paused, or its control thread
 * hangs) takes nothing new from the ring until it has: the supervisor
 * fences only after a whole lease without a heartbeat, so a member
 * resumed after a pause checks `fenced` before it submits anything more. */
static bool lease_passed(const struct vbd_queue *q)
{
	uint64_t until;

	if (!q->cfg.lease_until_ns)
		return false;
	until = atomic_load_explicit(q->cfg.lease_until_ns, memory_order_acquire);
	return until && vbd_now_ns() > until;
}

int vbdq_run_once(struct vbd_queue *q)
{
	unsigned gen = atomic_load(&q->drain_gen); /* before cmd: see vbdq_drained() */
	unsigned cmd = atomic_load(&q->cmd);
	int work = 0;

	if (cmd & VBDQ_CMD_STOP)
		return 0;
	work += reap(q);
	if ((cmd & VBDQ_CMD_FAILED) && q->held) {
		answer_held(q, UINT64_MAX);
		work++;
	}
	if (q->held && atomic_load(&q->answer_upto) != q->answered_upto) {
		q->answered_upto = atomic_load(&q->answer_upto);
		answer_held(q, q->answered_upto);
		work++;
	}
	{
		int gated = lease_passed(q);

		if (gated && !q->gated)
			vbdq_warn(&q->cfg, "the member's lease passed (paused, or no heartbeat "
					   "confirmed): taking no new request");
		q->gated = gated;
	}
	if (!(cmd & VBDQ_CMD_DRAIN) && !q->hostile && !q->gated) {
		int n = vbd_ring_take(&q->ring, q->batch, (int)q->ring.slots);
		if (n < 0) {
			q->hostile = 1;
			vbdq_warn(
			    &q->cfg,
			    "hostile ring indices (req_prod %u, consumed %u, responses at %u, "
			    "%u slots): dropping the ring",
			    q->ring.bad_req_prod, q->ring.br.req_cons, q->ring.br.rsp_prod_pvt,
			    q->ring.slots);
			report(q, VBDQ_ST_HOSTILE);
			return work;
		}
		for (int i = 0; i < n; i++)
			start_request(q, &q->batch[i]);
		if (n) {
			int r = q->eng->ops->commit(q->eng);
			if (r < 0)
				vbdq_warn(&q->cfg, "engine submit failed: %s", strerror(-r));
			work += n;
			work += reap(q);
		}
	}
	atomic_store_explicit(&q->stats.inflight, q->inflight, memory_order_relaxed);
	if (!q->hostile)
		push(q);
	if ((cmd & VBDQ_CMD_DRAIN) && q->inflight == 0 && atomic_load(&q->drained_gen) != gen) {
		/* everything consumed under this DRAIN generation is answered:
		 * record it (vbdq_drained()) and wake the control thread */
		atomic_store(&q->drained_gen, gen);
		if (q->cfg.report_fd >= 0 && eventfd_write(q->cfg.report_fd, 1) < 0)
			vbdq_warn(&q->cfg, "cannot signal the control thread");
	}
	return work;
}

/* ---- the data thread --------------------------------------------------- */

static void *queue_thread(void *arg)
{
	struct vbd_queue *q = arg;
	const struct vbd_evtchn_ops *ev = q->cfg.plat->evtchn;
	struct pollfd pfd[3];
	int nfd = 0, engfd = q->eng->ops->fd(q->eng);

	pfd[nfd++] = (struct pollfd){.fd = ev->fd(q->ev), .events = POLLIN};
	pfd[nfd++] = (struct pollfd){.fd = q->wake_fd, .events = POLLIN};
	if (engfd >= 0)
		pfd[nfd++] = (struct pollfd){.fd = engfd, .events = POLLIN};

	struct vbd_apoll ap;

	vbd_apoll_init(&ap, q->cfg.poll_us);
	for (;;) {
		unsigned cmd = atomic_load(&q->cmd);
		int pending;
		bool timed;
		uint64_t t0 = 0;

		if (cmd & VBDQ_CMD_STOP)
			break;
		if (vbdq_run_once(q))
			continue;
		/* Nothing to do: the next request is waited for, polling the
		 * ring first (adaptive, vbdpool/apoll.h); completions of an
		 * engine with requests in flight are not polled for.  The ring
		 * asks for no event while it is polled (req_event is set by
		 * the final check below, after the window): the frontend does
		 * not notify a member that is looking anyway (docs/perf.md
		 * "Writes"). */
		timed = ap.max_ns && !(cmd & VBDQ_CMD_DRAIN) && !q->hostile && !q->gated &&
			q->inflight == 0;
		if (timed) {
			bool got = false;

			t0 = vbd_apoll_now();
			while (ap.cur_ns && vbd_apoll_now() - t0 < ap.cur_ns) {
				if (vbd_ring_has_requests(&q->ring) ||
				    atomic_load(&q->cmd) != cmd) {
					got = true;
					break;
				}
				sched_yield();
			}
			if (got) {
				vbd_apoll_update(&ap, vbd_apoll_now() - t0);
				continue;
			}
		}
		if (!(cmd & VBDQ_CMD_DRAIN) && !q->hostile && !q->gated &&
		    vbd_ring_final_check(&q->ring)) {
			if (timed) /* came after the window */
				vbd_apoll_update(&ap, vbd_apoll_now() - t0);
			continue;
		}
		/* gated: look at the lease again every 10 ms */
		if (poll(pfd, (nfds_t)nfd, q->gated ? 10 : -1) < 0 && errno != EINTR) {
			vbdq_err(&q->cfg, "poll: %s", strerror(errno));
			break;
		}
		if (timed)
			vbd_apoll_update(&ap, vbd_apoll_now() - t0);
		if (pfd[0].revents & POLLIN) {
			/* the handle has one port: one pending() takes its event,
			 * and a notify after the unmask makes the fd readable again
			 * (a second pending() would only answer EAGAIN) */
			pending = ev->pending(q->ev);
			if (pending >= 0)
				ev->unmask(q->ev, (vbd_port_t)pending);
		}
		if (pfd[1].revents & POLLIN) {
			eventfd_t junk;
			if (eventfd_read(q->wake_fd, &junk) < 0) {
				/* raced with another reader: fine */
			}
		}
	}
	wait_inflight(q);
	report(q, VBDQ_ST_EXITED);
	return NULL;
}

int vbdq_start(struct vbd_queue *q)
{
	int r = pthread_create(&q->thr, NULL, queue_thread, q);

	if (r)
		return -r;
	q->started = 1;
	return 0;
}

/* ---- the control path's view (dataplane.h) ----------------------------- */

void vbdq_drain(struct vbd_queue *q)
{
	if (!(vbdq_commands(q) & VBDQ_CMD_DRAIN))
		vbdq_command(q, VBDQ_CMD_DRAIN, 0);
}

unsigned vbdq_commands(const struct vbd_queue *q)
{
	return atomic_load(&q->cmd);
}

unsigned vbdq_status(const struct vbd_queue *q)
{
	return atomic_load(&q->status);
}

int vbdq_drained(const struct vbd_queue *q)
{
	return (atomic_load(&q->cmd) & VBDQ_CMD_DRAIN) &&
	       atomic_load(&q->drained_gen) == atomic_load(&q->drain_gen);
}

const struct vbdq_config *vbdq_config(const struct vbd_queue *q)
{
	return &q->cfg;
}

uint64_t vbdq_epoch(const struct vbd_queue *q)
{
	return q->cfg.epoch;
}

uint64_t vbdq_io_waiting_since(const struct vbd_queue *q)
{
	return atomic_load_explicit(&q->io_since, memory_order_relaxed);
}

void vbdq_stats_add(const struct vbd_queue *q, struct vbd_stats_snap *snap)
{
	vbd_qstats_add(&q->stats, snap);
}

int vbdq_eio_take(struct vbd_queue *q, unsigned gen)
{
	if (!(atomic_fetch_and(&q->status, ~(unsigned)VBDQ_ST_EIO) & VBDQ_ST_EIO))
		return 0;
	q->chk_seq = atomic_load(&q->eio_seq);
	q->chk_gen = gen;
	return 1;
}

int vbdq_eio_checked(struct vbd_queue *q, unsigned done, int path_works)
{
	if (!q->chk_gen || (int)(done - q->chk_gen) < 0)
		return 0;
	q->chk_gen = 0;
	if (path_works) {
		atomic_store(&q->answer_upto, q->chk_seq);
		vbdq_command(q, 0, 0); /* wake it */
	}
	return 1;
}
