/* SPDX-License-Identifier: MIT */
/* Queue-record transitions (control path, docs/protocol.md "Queue
 * ownership"): every record change is one XenStore transaction that
 * re-reads the record (and any member state the decision depends on) before
 * writing it, so concurrent members get exactly one winner per transition.
 * Which transition to make is policy.c's; connecting a claimed queue to the
 * frontend's ring is connect.c's. */
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
};

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
			return OWN_PRECOND;
		if (tr->now.state != VBD_Q_UNOWNED && tr->now.owner != VBD_DOMID_NONE)
			e = member_state_t(v, t, tr->now.owner, &st);
		if (!claimable_by_state(&tr->now, e, st))
			return OWN_PRECOND;
		tr->next.epoch = tr->now.epoch + 1;
	} else {
		if (tr->now.owner != v->bd->me || tr->now.epoch != tr->epoch ||
		    !(tr->states & ST(tr->now.state)))
			return OWN_PRECOND;
	}
	if (tr->need_active != VBD_DOMID_NONE) {
		enum vbd_member_state st;
		if (member_state_t(v, t, tr->need_active, &st) < 0 || st != VBD_MEMBER_ACTIVE)
			return OWN_NO_TARGET;
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
		vq_info(v, a, q, "%s", buf);
	} else if (r == OWN_PRECOND || r == OWN_NO_TARGET) {
		s->rec = tr->now; /* what we found instead */
	} else {
		vq_warn(v, a, q, "transaction failed: %s", strerror(-r));
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

/* A record we own at the epoch we last read, in one of `states`, becomes
 * `next` (need_active: this member must be active, or VBD_DOMID_NONE). */
static int own_transition(struct vbd_volume *v, struct vbd_attach *a, unsigned q, unsigned states,
			  unsigned need_active, struct vbd_queue_rec next)
{
	struct trans tr = {.epoch = a->qs[q].rec.epoch,
			   .states = states,
			   .need_active = need_active,
			   .next = next};

	return transition(v, a, q, &tr);
}

#define ST_OWNED (ST(VBD_Q_CLAIMED) | ST(VBD_Q_CONNECTED) | ST(VBD_Q_DRAINING))

int own_set_connected(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	uint64_t e = a->qs[q].rec.epoch;

	return own_transition(v, a, q, ST_OWNED, VBD_DOMID_NONE,
			      mkrec(v->bd->me, e, VBD_Q_CONNECTED, VBD_DOMID_NONE));
}

int own_start_handoff(struct vbd_volume *v, struct vbd_attach *a, unsigned q, unsigned target)
{
	struct vbd_qslot *s = &a->qs[q];
	int r = own_transition(v, a, q, ST(VBD_Q_CONNECTED), target,
			       mkrec(v->bd->me, s->rec.epoch, VBD_Q_DRAINING, target));

	if (r == 0 && s->q)
		vbdq_command(s->q, VBDQ_CMD_DRAIN, 0);
	return r;
}

int own_pass(struct vbd_volume *v, struct vbd_attach *a, unsigned q, unsigned target)
{
	uint64_t e = a->qs[q].rec.epoch;

	if (target == VBD_DOMID_NONE || target == v->bd->me)
		return OWN_NO_TARGET;
	return own_transition(v, a, q, ST_OWNED, target,
			      mkrec(target, e + 1, VBD_Q_CLAIMED, VBD_DOMID_NONE));
}

int own_release(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	uint64_t e = a->qs[q].rec.epoch;

	return own_transition(v, a, q, ST_OWNED, VBD_DOMID_NONE,
			      mkrec(VBD_DOMID_NONE, e, VBD_Q_UNOWNED, VBD_DOMID_NONE));
}

int own_reclaim(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	uint64_t e = a->qs[q].rec.epoch;

	return own_transition(v, a, q, ST_OWNED, VBD_DOMID_NONE,
			      mkrec(v->bd->me, e + 1, VBD_Q_CLAIMED, VBD_DOMID_NONE));
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
		    now.epoch != vbdq_epoch(s->q) || now.state != VBD_Q_CONNECTED)
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
	*p = (struct fail_plan){.v = v, .reason = reason};
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
		vol_info(v, "member %u failed", v->bd->me);
		v->my_state = VBD_MEMBER_FAILED;
		for (unsigned i = 0; i < p->n; i++) {
			struct vbd_qslot *s = &p->item[i].a->qs[p->item[i].q];
			if (!p->item[i].done)
				continue;
			s->rec =
			    mkrec(v->bd->me, vbdq_epoch(s->q), VBD_Q_DRAINING, p->item[i].target);
			vq_info(v, p->item[i].a, p->item[i].q, "draining to %u", p->item[i].target);
			vbdq_command(s->q, VBDQ_CMD_DRAIN, 0);
		}
	} else {
		vol_err(v, "cannot record the storage failure: %s", strerror(r < 0 ? -r : EIO));
	}
	free(p);
	return r;
}
