/* SPDX-License-Identifier: MIT */
/* Ownership policy (control path, docs/backend.md "Behaviour"): on every
 * reconcile, for each queue of an attachment, what this member does about
 * its record: claim it, connect it, hand it off, release it, or stop
 * serving it. The transitions themselves are ownership.c's, connecting is
 * connect.c's, the choice of a target balance.c's. */
#include "backd.h"

#include <errno.h>
#include <string.h>

#include "vbdpool/log.h"

/* Everything this member completed must be durable before another member
 * serves the queue (a --buffered member holds it in its page cache). */
static void flush_before_handoff(struct vbd_volume *v)
{
	int r = vbd_backing_flush(&v->backing);

	if (r < 0)
		vol_warn(v, "flush before hand-off failed: %s", strerror(-r));
}

static int finish_handoff(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct vbd_qslot *s = &a->qs[q];
	unsigned t = s->rec.target;
	int r;

	flush_before_handoff(v);
	r = own_pass(v, a, q, t);
	if (r == OWN_NO_TARGET) {
		unsigned t2 = bal_pick_target(v, a);
		if (t2 != VBD_DOMID_NONE && t2 != t)
			r = own_pass(v, a, q, t2);
	}
	if (r == 0) {
		own_stop_queue(v, s, "handed off");
		return 0;
	}
	if (r != OWN_NO_TARGET)
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
				conn_connect(v, a, q);
			else /* connected/draining by an earlier incarnation of us */
				own_reclaim(v, a, q);
			return;
		}
		t = bal_pick_target(v, a);
		if (t != VBD_DOMID_NONE)
			own_pass(v, a, q, t);
		else if (v->my_state == VBD_MEMBER_FAILED && s->rec.state == VBD_Q_CLAIMED)
			conn_connect(v, a, q); /* the only one left: serve, with errors */
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
		vbdq_drain(s->q);
		if (vbdq_drained(s->q))
			finish_handoff(v, a, q);
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
			if (!(vbdq_commands(s->q) & VBDQ_CMD_FAILED)) {
				vq_warn(v, a, q,
					"no other active member: answering storage errors");
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

	/* The ban is against the ring we were given at banned_epoch.  It lifts
	 * once the record is no longer the one we left: a later epoch (another
	 * member moved it on), or another domain named at that epoch (dom0
	 * rewrote it without raising the epoch; kept banned, a record naming
	 * a dead or unknown owner would leave the queue with nobody to claim
	 * it, and the guest's requests on it waiting for ever). */
	if (s->banned && (s->rec.epoch > s->banned_epoch ||
			  (s->rec.owner != VBD_DOMID_NONE && s->rec.owner != bd->me)))
		s->banned = 0;
	if (s->avoid_until && now >= s->avoid_until)
		s->avoid_until = 0; /* the others had their chance */
	if (v->my_state != VBD_MEMBER_ACTIVE || bd->leaving || s->banned || s->avoid_until ||
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

void policy_reconcile_attachment(struct vbd_volume *v, struct vbd_attach *a)
{
	struct backd *bd = v->bd;
	uint64_t now = backd_now_ms();
	/* start with a different queue in each member to make races rarer */
	unsigned first = a->nq ? bd->me % a->nq : 0;

	for (unsigned q = 0; q < a->nq; q++) {
		struct vbd_qslot *s = &a->qs[q];
		int r = own_read_rec(v, a, q, &s->rec);

		s->rec_ok = r == 0;
		if (r == -EINVAL)
			VBD_LOG_ONCE(&s->rec_bad_log,
				     vq_warn(v, a, q, "malformed ownership record: ignored"));
		if (s->q &&
		    (!s->rec_ok || s->rec.owner != bd->me || s->rec.epoch != vbdq_epoch(s->q)))
			own_stop_queue(v, s, "ownership moved");
	}
	for (unsigned i = 0; i < a->nq; i++) {
		unsigned q = (first + i) % a->nq;
		struct vbd_qslot *s = &a->qs[q];

		if (!s->rec_ok)
			continue;
		if (s->rec.owner == bd->me) {
			s->claimable_since = 0; /* ours: nothing to wait for */
			act_owned(v, a, q);
		} else
			maybe_claim(v, a, q, now);
	}
}

int policy_wants_round(const struct vbd_volume *v)
{
	const struct backd *bd = v->bd;

	if (bd->leaving)
		return 1;
	if (!v->joined)
		return 0; /* joins on its watches (members/<me> appears) */
	if (v->my_state != VBD_MEMBER_ACTIVE)
		return 1;
	for (const struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++) {
			const struct vbd_qslot *s = &a->qs[q];

			if (!s->rec_ok)
				continue;
			if (s->claimable_since || s->releasing || s->avoid_until)
				return 1; /* (avoid_until: to claim it once it passes) */
			if (s->rec.owner == bd->me && s->rec.state != VBD_Q_CONNECTED)
				return 1;
			if (s->q && s->rec.state != VBD_Q_CONNECTED)
				return 1;
		}
	return 0;
}
