/* SPDX-License-Identifier: MIT */
/* Queue ownership (control path, docs/protocol.md "Queue ownership"):
 * every record change is one XenStore transaction that re-reads the record
 * (and any member state the decision depends on) before writing it, so
 * concurrent members get exactly one winner per transition. */
#include "backd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vbdpool/log.h"

#define ST(s) (1u << (s))

static void rec_path(struct vbd_volume *v, struct vbd_attach *a, unsigned q, char *buf)
{
	snprintf(buf, VBD_XS_PATH_MAX, VBD_XS_QUEUE_REC, v->id, a->guest, a->devid, q);
}

static int read_rec_t(struct xs_handle *xs, xs_transaction_t t, const char *path,
		      struct vbd_queue_rec *r)
{
	unsigned len;
	char *s = xs_read(xs, t, path, &len);
	int e;

	if (!s)
		return -errno;
	e = vbd_queue_rec_parse(s, r);
	free(s);
	return e;
}

int own_read_rec(struct vbd_volume *v, struct vbd_attach *a, unsigned q, struct vbd_queue_rec *r)
{
	char path[VBD_XS_PATH_MAX];

	rec_path(v, a, q, path);
	return read_rec_t(v->bd->xs, XBT_NULL, path, r);
}

/* Member `domid`'s state as read inside transaction t; -ENOENT if it is no
 * member (no members/<domid> node). */
static int member_state_t(struct vbd_volume *v, xs_transaction_t t, unsigned domid,
			  enum vbd_member_state *out)
{
	char *s = vbd_xs_get(v->bd->xs, t, VBD_XS_MEMBER "/state", v->id, domid);
	int r;

	if (!s) {
		char *node = vbd_xs_get(v->bd->xs, t, VBD_XS_MEMBER, v->id, domid);
		if (!node)
			return -ENOENT;
		free(node);
		return -ENODATA; /* a member that has not joined yet */
	}
	r = vbd_member_state_parse(s, out);
	free(s);
	return r;
}

/* The claim rule, from the owner's member state (-ENOENT: not a member). */
static int claimable_by_state(const struct vbd_queue_rec *r, int st_err, enum vbd_member_state st)
{
	if (r->state == VBD_Q_UNOWNED || r->owner == VBD_DOMID_NONE)
		return 1;
	if (st_err == -ENOENT)
		return 1; /* owner removed from the pool */
	if (st_err < 0)
		return 0;
	if (st == VBD_MEMBER_DEAD || st == VBD_MEMBER_FENCED)
		return 1;
	/* a mismatch owner wrote that state only after it stopped every queue
	 * (its I/O in flight done) and flushed (storage.c) */
	if (st == VBD_MEMBER_MISMATCH)
		return 1;
	/* a failed owner hands its queues off itself; take them only when it
	 * is not in the middle of doing so (its consumed requests may still
	 * be in flight) */
	if (st == VBD_MEMBER_FAILED && r->state != VBD_Q_DRAINING)
		return 1;
	return 0;
}

int own_claimable(struct vbd_volume *v, const struct vbd_queue_rec *r)
{
	struct vbd_member *m;

	if (r->state == VBD_Q_UNOWNED || r->owner == VBD_DOMID_NONE)
		return 1;
	if (r->owner == v->bd->me)
		return 0;
	m = pool_member(v, r->owner);
	if (!m)
		return claimable_by_state(r, -ENOENT, 0);
	if (!m->state_ok)
		return 0;
	return claimable_by_state(r, 0, m->state);
}

/* ---- generic transition ---------------------------------------------- */

struct trans {
	struct vbd_volume *v;
	char path[VBD_XS_PATH_MAX];
	/* precondition */
	int claim;	      /* claim rule instead of owner/epoch match */
	uint64_t epoch;	      /* owner must be me at this epoch */
	unsigned states;      /* allowed record states (bit mask) */
	unsigned need_active; /* this member must be active, or VBD_DOMID_NONE */
	/* result */
	struct vbd_queue_rec now; /* the record as read */
	struct vbd_queue_rec next;
	int target_inactive;
};

#define TRANS_PRECOND 1 /* precondition failed: nothing written */
#define TRANS_TARGET  2 /* need_active member is not active */

static int trans_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct trans *tr = arg;
	struct vbd_volume *v = tr->v;
	char buf[128];
	int r;

	r = read_rec_t(xs, t, tr->path, &tr->now);
	if (r < 0)
		return r;
	if (tr->claim) {
		enum vbd_member_state st = 0;
		int e = 0;
		if (tr->now.owner == v->bd->me)
			return TRANS_PRECOND;
		if (tr->now.state != VBD_Q_UNOWNED && tr->now.owner != VBD_DOMID_NONE)
			e = member_state_t(v, t, tr->now.owner, &st);
		if (!claimable_by_state(&tr->now, e, st))
			return TRANS_PRECOND;
		tr->next.epoch = tr->now.epoch + 1;
	} else {
		if (tr->now.owner != v->bd->me || tr->now.epoch != tr->epoch ||
		    !(tr->states & ST(tr->now.state)))
			return TRANS_PRECOND;
	}
	if (tr->need_active != VBD_DOMID_NONE) {
		enum vbd_member_state st;
		if (member_state_t(v, t, tr->need_active, &st) < 0 || st != VBD_MEMBER_ACTIVE) {
			tr->target_inactive = 1;
			return TRANS_TARGET;
		}
	}
	vbd_queue_rec_format(&tr->next, buf, sizeof(buf));
	return vbd_xs_write(xs, t, tr->path, buf);
}

static int transition(struct vbd_volume *v, struct vbd_attach *a, unsigned q, struct trans *tr)
{
	struct vbd_qslot *s = &a->qs[q];
	char buf[128];
	int r;

	tr->v = v;
	rec_path(v, a, q, tr->path);
	r = vbd_xs_transact(v->bd->xs, trans_fn, tr);
	if (r == 0) {
		s->rec = tr->next;
		s->rec_ok = 1;
		vbd_queue_rec_format(&tr->next, buf, sizeof(buf));
		log_info("volume %s: %u-%u queue-%u: %s", v->id, a->guest, a->devid, q, buf);
	} else if (r < 0) {
		log_warn("volume %s: %u-%u queue-%u: transaction failed: %s", v->id, a->guest,
			 a->devid, q, strerror(-r));
	} else {
		s->rec = tr->now; /* what we found instead */
	}
	return r;
}

static struct vbd_queue_rec mkrec(unsigned owner, uint64_t epoch, enum vbd_queue_state st,
				  unsigned target)
{
	return (struct vbd_queue_rec){
	    .owner = owner, .epoch = epoch, .state = st, .target = target};
}

int own_claim(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct trans tr = {.claim = 1, .need_active = VBD_DOMID_NONE};

	tr.next = mkrec(v->bd->me, 0, VBD_Q_CLAIMED, VBD_DOMID_NONE); /* epoch set in txn */
	return transition(v, a, q, &tr);
}

int own_set_connected(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct vbd_qslot *s = &a->qs[q];
	struct trans tr = {.epoch = s->rec.epoch,
			   .states = ST(VBD_Q_CLAIMED) | ST(VBD_Q_CONNECTED) | ST(VBD_Q_DRAINING),
			   .need_active = VBD_DOMID_NONE};

	tr.next = mkrec(v->bd->me, s->rec.epoch, VBD_Q_CONNECTED, VBD_DOMID_NONE);
	return transition(v, a, q, &tr);
}

int own_start_handoff(struct vbd_volume *v, struct vbd_attach *a, unsigned q, unsigned target)
{
	struct vbd_qslot *s = &a->qs[q];
	struct trans tr = {
	    .epoch = s->rec.epoch, .states = ST(VBD_Q_CONNECTED), .need_active = target};
	int r;

	tr.next = mkrec(v->bd->me, s->rec.epoch, VBD_Q_DRAINING, target);
	r = transition(v, a, q, &tr);
	if (r == 0 && s->q)
		vbdq_command(s->q, VBDQ_CMD_DRAIN, 0);
	return r;
}

int own_pass(struct vbd_volume *v, struct vbd_attach *a, unsigned q, unsigned target)
{
	struct vbd_qslot *s = &a->qs[q];
	struct trans tr = {.epoch = s->rec.epoch,
			   .states = ST(VBD_Q_CLAIMED) | ST(VBD_Q_CONNECTED) | ST(VBD_Q_DRAINING),
			   .need_active = target};

	if (target == VBD_DOMID_NONE || target == v->bd->me)
		return TRANS_TARGET;
	tr.next = mkrec(target, s->rec.epoch + 1, VBD_Q_CLAIMED, VBD_DOMID_NONE);
	return transition(v, a, q, &tr);
}

int own_release(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct vbd_qslot *s = &a->qs[q];
	struct trans tr = {.epoch = s->rec.epoch,
			   .states = ST(VBD_Q_CLAIMED) | ST(VBD_Q_CONNECTED) | ST(VBD_Q_DRAINING),
			   .need_active = VBD_DOMID_NONE};

	tr.next = mkrec(VBD_DOMID_NONE, s->rec.epoch, VBD_Q_UNOWNED, VBD_DOMID_NONE);
	return transition(v, a, q, &tr);
}

int own_reclaim(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct vbd_qslot *s = &a->qs[q];
	struct trans tr = {.epoch = s->rec.epoch,
			   .states = ST(VBD_Q_CLAIMED) | ST(VBD_Q_CONNECTED) | ST(VBD_Q_DRAINING),
			   .need_active = VBD_DOMID_NONE};

	tr.next = mkrec(v->bd->me, s->rec.epoch + 1, VBD_Q_CLAIMED, VBD_DOMID_NONE);
	return transition(v, a, q, &tr);
}

void own_stop_queue(struct vbd_volume *v, struct vbd_qslot *s, const char *why)
{
	struct vbd_queue *q = s->q;

	if (!q)
		return;
	log_info("volume %s: %u-%u queue-%u epoch %" PRIu64 ": stop serving (%s)", v->id,
		 q->cfg.guest, q->cfg.devid, q->cfg.qidx, q->cfg.epoch, why);
	hb_retire_queue(v, q);
	vbdq_destroy(q);
	s->q = NULL;
	s->releasing = 0;
}

/* Everything this member completed must be durable before another member
 * serves the queue (a --buffered member holds it in its page cache). */
static void flush_before_handoff(struct vbd_volume *v)
{
	int r = vbd_backing_flush(&v->backing);

	if (r < 0)
		log_warn("volume %s: flush before hand-off failed: %s", v->id, strerror(-r));
}

int own_finish_handoff(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct vbd_qslot *s = &a->qs[q];
	unsigned t = s->rec.target;
	int r;

	flush_before_handoff(v);
	r = own_pass(v, a, q, t);
	if (r == TRANS_TARGET) {
		unsigned t2 = bal_pick_target(v, a);
		if (t2 != VBD_DOMID_NONE && t2 != t)
			r = own_pass(v, a, q, t2);
	}
	if (r == 0) {
		own_stop_queue(v, s, "handed off");
		return 0;
	}
	if (r != TRANS_TARGET)
		return r;
	/* nobody to take it */
	if (v->my_state == VBD_MEMBER_LEAVING) {
		if (own_release(v, a, q) == 0)
			own_stop_queue(v, s, "released");
		return 0;
	}
	if (own_set_connected(v, a, q) == 0 && s->q)
		vbdq_command(s->q, v->my_state == VBD_MEMBER_FAILED ? VBDQ_CMD_FAILED : 0,
			     VBDQ_CMD_DRAIN);
	return 0;
}

/* ---- storage failure: fail and start every hand-off atomically ----------- */

struct fail_plan {
	struct vbd_volume *v;
	const char *reason;
	unsigned n;
	struct {
		struct vbd_attach *a;
		unsigned q, target;
		int done;
	} item[VBD_MAX_QUEUES * 8];
};

static int fail_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct fail_plan *p = arg;
	struct vbd_volume *v = p->v;
	char path[VBD_XS_PATH_MAX], buf[128];
	int r;

	snprintf(path, sizeof(path), VBD_XS_MEMBER "/state", v->id, v->bd->me);
	r = vbd_xs_write(xs, t, path, vbd_member_state_name(VBD_MEMBER_FAILED));
	if (r < 0)
		return r;
	{ /* why and since when (wall clock, ms), for `vbdpoolctl status` */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(buf, sizeof(buf), "%" PRIu64,
			 (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
		snprintf(path, sizeof(path), VBD_XS_MEMBER "/failed-since", v->id, v->bd->me);
		if ((r = vbd_xs_write(xs, t, path, buf)) < 0)
			return r;
		snprintf(path, sizeof(path), VBD_XS_MEMBER "/failed-reason", v->id, v->bd->me);
		if ((r = vbd_xs_write(xs, t, path, p->reason ? p->reason : "EIO")) < 0)
			return r;
	}
	for (unsigned i = 0; i < p->n; i++) {
		struct vbd_attach *a = p->item[i].a;
		struct vbd_qslot *s = &a->qs[p->item[i].q];
		struct vbd_queue_rec now, next;
		enum vbd_member_state st;

		p->item[i].done = 0;
		rec_path(v, a, p->item[i].q, path);
		if (read_rec_t(xs, t, path, &now) < 0 || now.owner != v->bd->me ||
		    now.epoch != s->q->cfg.epoch || now.state != VBD_Q_CONNECTED)
			continue;
		if (member_state_t(v, t, p->item[i].target, &st) < 0 || st != VBD_MEMBER_ACTIVE)
			continue;
		next = mkrec(v->bd->me, now.epoch, VBD_Q_DRAINING, p->item[i].target);
		vbd_queue_rec_format(&next, buf, sizeof(buf));
		if ((r = vbd_xs_write(xs, t, path, buf)) < 0)
			return r;
		p->item[i].done = 1;
	}
	return 0;
}

/* Our backing returned EIO: in ONE transaction write our state `failed`
 * and start the hand-off of every connected queue, so that no other member
 * ever sees a failed owner with a connected (claimable) queue whose
 * consumed requests may still be in flight here. */
int own_fail_member(struct vbd_volume *v, const char *reason)
{
	struct fail_plan *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->v = v;
	p->reason = reason;
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++) {
			struct vbd_qslot *s = &a->qs[q];
			unsigned t;
			if (!s->q || s->releasing || p->n >= sizeof(p->item) / sizeof(p->item[0]))
				continue;
			t = bal_pick_target(v, a);
			if (t == VBD_DOMID_NONE)
				continue;
			p->item[p->n].a = a;
			p->item[p->n].q = q;
			p->item[p->n].target = t;
			p->n++;
		}
	r = vbd_xs_transact(v->bd->xs, fail_fn, p);
	if (r == 0) {
		log_info("volume %s: member %u failed", v->id, v->bd->me);
		v->my_state = VBD_MEMBER_FAILED;
		for (unsigned i = 0; i < p->n; i++) {
			struct vbd_qslot *s = &p->item[i].a->qs[p->item[i].q];
			if (!p->item[i].done)
				continue;
			s->rec =
			    mkrec(v->bd->me, s->q->cfg.epoch, VBD_Q_DRAINING, p->item[i].target);
			log_info("volume %s: %u-%u queue-%u: draining to %u", v->id,
				 p->item[i].a->guest, p->item[i].a->devid, p->item[i].q,
				 p->item[i].target);
			vbdq_command(s->q, VBDQ_CMD_DRAIN, 0);
		}
	} else {
		log_err("volume %s: cannot record the storage failure: %s", v->id,
			strerror(r < 0 ? -r : EIO));
	}
	free(p);
	return r;
}

/* ---- connecting a claimed queue --------------------------------------- */

struct fe_read {
	struct vbd_attach *a;
	unsigned q;
	uint64_t owner, epoch, order, port;
	vbd_gref_t refs[1u << VBD_MAX_RING_PAGE_ORDER];
	int proto_ok;
};

static int fe_read_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct fe_read *f = arg;
	const char *dir = f->a->fe;
	char *proto;
	int r;

	if ((r = vbd_xs_read_u64(xs, t, VBD_DOMID_NONE, &f->owner, "%s/queue-%u/owner", dir,
				 f->q)) ||
	    (r = vbd_xs_read_u64(xs, t, UINT64_MAX, &f->epoch, "%s/queue-%u/epoch", dir, f->q)))
		return r == -EINVAL ? -EINVAL : 1; /* missing: not published yet */
	if (f->owner != f->a->qs[f->q].rec.owner || f->epoch != f->a->qs[f->q].rec.epoch)
		return 1;
	if ((r = vbd_xs_read_u64(xs, t, VBD_MAX_RING_PAGE_ORDER, &f->order,
				 "%s/queue-%u/ring-page-order", dir, f->q)) ||
	    (r = vbd_xs_read_u64(xs, t, UINT32_MAX, &f->port, "%s/queue-%u/event-channel", dir,
				 f->q)))
		return r == -EINVAL ? -EINVAL : 1;
	for (unsigned i = 0; i < (1u << f->order); i++) {
		uint64_t ref;
		r = vbd_xs_read_u64(xs, t, UINT32_MAX, &ref, "%s/queue-%u/ring-ref%u", dir, f->q,
				    i);
		if (r)
			return r == -EINVAL ? -EINVAL : 1;
		f->refs[i] = (vbd_gref_t)ref;
	}
	proto = vbd_xs_get(xs, t, "%s/queue-%u/protocol", dir, f->q);
	f->proto_ok = !proto || !strcmp(proto, "x86_64-abi"); /* absent: native */
	free(proto);
	return 0;
}

/* The frontend published a ring nobody can use: give the queue back and
 * do not take it again at this epoch (another member may fare better; a
 * later epoch, set by someone else, gets a fresh ring: an unmappable ring
 * can also be one the frontend replaced while we were mapping it). */
static void reject_ring(struct vbd_volume *v, struct vbd_attach *a, unsigned q, const char *why)
{
	struct vbd_qslot *s = &a->qs[q];

	log_warn("volume %s: %u-%u queue-%u epoch %" PRIu64 ": %s: releasing it", v->id, a->guest,
		 a->devid, q, s->rec.epoch, why);
	s->banned = 1;
	s->banned_epoch = s->rec.epoch;
	own_release(v, a, q);
}

int own_connect(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct backd *bd = v->bd;
	struct vbd_qslot *s = &a->qs[q];
	struct fe_read f = {.a = a, .q = q};
	struct vbdq_config cfg;
	int r;

	r = vbd_xs_transact(bd->xs, fe_read_fn, &f);
	if (r > 0)
		return 1; /* the frontend has not published this epoch's ring yet */
	if (r < 0) {
		if (r == -EINVAL)
			reject_ring(v, a, q, "malformed frontend queue directory");
		return r;
	}
	if (!f.proto_ok) {
		reject_ring(v, a, q, "unsupported ring protocol");
		return -EPROTONOSUPPORT;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.guest = (vbd_domid_t)a->guest;
	cfg.devid = a->devid;
	cfg.qidx = q;
	cfg.epoch = s->rec.epoch;
	cfg.order = (unsigned)f.order;
	memcpy(cfg.ring_refs, f.refs, sizeof(cfg.ring_refs));
	cfg.remote_port = (vbd_port_t)f.port;
	cfg.backing = &v->backing;
	cfg.engine = bd->cfg.engine;
	cfg.wrap = &bd->cfg.wrap;
	cfg.plat = vbd_platform();
	cfg.report_fd = bd->report_fd;
	cfg.max_grants = VBD_MAX_PERSISTENT_GRANTS;
	cfg.poll_us = bd->cfg.poll_us;
	cfg.lease_until_ns = &v->lease_until_ns;
	r = vbdq_create(&cfg, &s->q);
	if (r < 0) {
		s->q = NULL;
		reject_ring(v, a, q, "ring cannot be mapped or its event channel bound");
		return r;
	}
	r = vbdq_start(s->q);
	if (r < 0) {
		log_err("cannot start a data thread: %s", strerror(-r));
		vbdq_destroy(s->q);
		s->q = NULL;
		return r;
	}
	r = own_set_connected(v, a, q);
	if (r != 0)
		own_stop_queue(v, s, "record changed while connecting");
	return r;
}

/* Is the ring the frontend publishes for our epoch still the one we map?
 * A frontend that restarted (docs/protocol.md "Frontend close / restart")
 * publishes a new ring under the epoch it finds; we then re-claim with a new
 * epoch so that it builds a fresh ring for us. Comparing what is published
 * (rather than reacting to the `state` event itself) cannot mistake a ring
 * we mapped after the restart for a stale one. */
static void check_ring_current(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct backd *bd = v->bd;
	struct vbd_qslot *s = &a->qs[q];
	struct fe_read f = {.a = a, .q = q};
	const struct vbdq_config *c = &s->q->cfg;
	int r = vbd_xs_transact(bd->xs, fe_read_fn, &f);

	if (r < 0 && r != -EINVAL)
		return; /* cannot tell now */
	if (r == 0 && f.order == c->order && f.port == c->remote_port &&
	    !memcmp(f.refs, c->ring_refs, sizeof(vbd_gref_t) << f.order))
		return;
	own_stop_queue(v, s, "the frontend replaced the ring of this epoch");
	if (v->my_state == VBD_MEMBER_ACTIVE && !bd->leaving)
		own_reclaim(v, a, q);
	/* otherwise act_owned passes or releases it */
}

void own_frontend_changed(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct backd *bd = v->bd;
	struct vbd_qslot *s = &a->qs[q];

	/* the record as last read: a change of it is a volume event, handled
	 * (re-read) before this one */
	if (!v->joined || !s->rec_ok || s->rec.owner != bd->me)
		return; /* not ours: nothing to read */
	if (s->q) {
		if (s->rec.state == VBD_Q_CONNECTED || s->rec.state == VBD_Q_DRAINING)
			check_ring_current(v, a, q);
		return;
	}
	/* claimed by us, waiting for the frontend to publish its ring */
	if (s->rec.state == VBD_Q_CLAIMED && v->my_state == VBD_MEMBER_ACTIVE && !bd->leaving)
		own_connect(v, a, q);
}

/* ---- reconciliation ------------------------------------------------------ */

static void act_owned(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct backd *bd = v->bd;
	struct vbd_qslot *s = &a->qs[q];
	int active = v->my_state == VBD_MEMBER_ACTIVE && !bd->leaving;
	unsigned st, t;

	if (!s->q) {
		/* no data path for this record */
		if (active) {
			if (s->rec.state == VBD_Q_CLAIMED)
				own_connect(v, a, q);
			else /* connected/draining by an earlier incarnation of us */
				own_reclaim(v, a, q);
			return;
		}
		t = bal_pick_target(v, a);
		if (t != VBD_DOMID_NONE)
			own_pass(v, a, q, t);
		else if (v->my_state == VBD_MEMBER_FAILED && s->rec.state == VBD_Q_CLAIMED)
			own_connect(v, a, q); /* the only one left: serve, with errors */
		else if (v->my_state == VBD_MEMBER_FAILED)
			own_reclaim(v, a, q);
		else
			own_release(v, a, q);
		return;
	}

	st = vbdq_status(s->q);
	if (st & VBDQ_ST_HOSTILE) {
		s->banned = 1;
		s->banned_epoch = s->rec.epoch;
		own_release(v, a, q);
		own_stop_queue(v, s, "hostile ring");
		return;
	}
	if (st & VBDQ_ST_EXITED) {
		own_release(v, a, q);
		own_stop_queue(v, s, "data thread ended");
		return;
	}
	switch (s->rec.state) {
	case VBD_Q_CLAIMED:
		own_set_connected(v, a, q);
		return;
	case VBD_Q_DRAINING:
		if (!(atomic_load(&s->q->cmd) & VBDQ_CMD_DRAIN))
			vbdq_command(s->q, VBDQ_CMD_DRAIN, 0);
		if (vbdq_drained(s->q))
			own_finish_handoff(v, a, q);
		return;
	case VBD_Q_CONNECTED:
		if (s->releasing) {
			if (vbdq_drained(s->q)) {
				flush_before_handoff(v);
				own_release(v, a, q);
				own_stop_queue(v, s, "released");
			}
			return;
		}
		if (active)
			return;
		t = bal_pick_target(v, a);
		if (t != VBD_DOMID_NONE) {
			own_start_handoff(v, a, q, t);
		} else if (v->my_state == VBD_MEMBER_FAILED) {
			if (!(atomic_load(&s->q->cmd) & VBDQ_CMD_FAILED)) {
				log_warn("volume %s: %u-%u queue-%u: no other active member: "
					 "answering storage errors",
					 v->id, a->guest, a->devid, q);
				vbdq_command(s->q, VBDQ_CMD_FAILED, 0);
			}
		} else { /* leaving, nobody to take it: drain, then release */
			s->releasing = 1;
			vbdq_command(s->q, VBDQ_CMD_DRAIN, 0);
		}
		return;
	default:
		return;
	}
}

static void maybe_claim(struct vbd_volume *v, struct vbd_attach *a, unsigned q, uint64_t now)
{
	struct backd *bd = v->bd;
	struct vbd_qslot *s = &a->qs[q];
	unsigned share;

	if (s->banned && s->rec.epoch > s->banned_epoch)
		s->banned = 0; /* another member moved it on since */
	if (v->my_state != VBD_MEMBER_ACTIVE || bd->leaving || s->banned ||
	    !own_claimable(v, &s->rec)) {
		s->claimable_since = 0;
		return;
	}
	if (!s->claimable_since)
		s->claimable_since = now ? now : 1;
	/* a slow member takes more only when nobody else does (after the grace) */
	share = bal_member_slow(v, bd->me) ? 0 : bal_share(v, a->nq);
	if (bal_count_owned(a, bd->me) < share || now - s->claimable_since >= VBD_CLAIM_GRACE_MS)
		own_claim(v, a, q);
}

void own_reconcile_attachment(struct vbd_volume *v, struct vbd_attach *a)
{
	struct backd *bd = v->bd;
	uint64_t now = backd_now_ms();
	/* start with a different queue in each member to make races rarer */
	unsigned first = a->nq ? bd->me % a->nq : 0;

	for (unsigned q = 0; q < a->nq; q++) {
		struct vbd_qslot *s = &a->qs[q];
		int r = own_read_rec(v, a, q, &s->rec);

		s->rec_ok = r == 0;
		if (r == -EINVAL && !s->rec_bad_logged) {
			log_warn("volume %s: %u-%u queue-%u: malformed ownership record: ignored",
				 v->id, a->guest, a->devid, q);
			s->rec_bad_logged = 1;
		}
		if (s->q &&
		    (!s->rec_ok || s->rec.owner != bd->me || s->rec.epoch != s->q->cfg.epoch))
			own_stop_queue(v, s, "ownership moved");
	}
	for (unsigned i = 0; i < a->nq; i++) {
		unsigned q = (first + i) % a->nq;
		struct vbd_qslot *s = &a->qs[q];

		if (!s->rec_ok)
			continue;
		if (s->rec.owner == bd->me)
			act_owned(v, a, q);
		else
			maybe_claim(v, a, q, now);
	}
}
