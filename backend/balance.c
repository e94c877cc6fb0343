/* SPDX-License-Identifier: MIT */
/* Load balancing (docs/protocol.md "Balance"): every VBD_BALANCE_MS, a
 * member owning more than its fair share of an attachment's queues (or two
 * more than the member owning fewest), or much slower than the pool, hands
 * one queue off cooperatively. */
#include "backd.h"

#include <stdlib.h>

#include "vbdpool/log.h"

unsigned bal_fair_share(unsigned nq, unsigned active)
{
	if (!active)
		return nq;
	return (nq + active - 1) / active;
}

unsigned bal_share(struct vbd_volume *v, unsigned nq)
{
	unsigned active = 0, fast = 0;

	for (unsigned i = 0; i < v->nmembers; i++) {
		struct vbd_member *m = &v->members[i];
		if (!m->state_ok || m->state != VBD_MEMBER_ACTIVE)
			continue;
		active++;
		if (!bal_member_slow(v, m->domid))
			fast++;
	}
	return bal_fair_share(nq, fast ? fast : active);
}

/* Queues of `a` that are, or are about to be, served by `domid`. */
unsigned bal_count_owned(const struct vbd_attach *a, unsigned domid)
{
	unsigned n = 0;

	for (unsigned q = 0; q < a->nq; q++) {
		const struct vbd_queue_rec *r = &a->qs[q].rec;
		if (!a->qs[q].rec_ok)
			continue;
		if (r->state == VBD_Q_DRAINING) {
			if (r->target == domid)
				n++;
		} else if (r->state != VBD_Q_UNOWNED && r->owner == domid) {
			n++;
		}
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median mean-latency of the active members that did I/O lately (an idle
 * member's published latency fades, see heartbeat.c). */
static uint64_t median_latency(struct vbd_volume *v)
{
	uint64_t lat[v->nmembers + 1];
	unsigned n = 0;

	for (unsigned i = 0; i < v->nmembers; i++) {
		struct vbd_member *m = &v->members[i];
		if (m->state_ok && m->state == VBD_MEMBER_ACTIVE && m->load_ok && m->load.lat_us)
			lat[n++] = m->load.lat_us;
	}
	if (!n)
		return 0;
	qsort(lat, n, sizeof(lat[0]), cmp_u64);
	return lat[(n - 1) / 2]; /* the lower median: with two members, the faster */
}

int bal_member_slow(struct vbd_volume *v, unsigned domid)
{
	struct vbd_member *m = pool_member(v, domid);
	uint64_t med;

	if (!m || !m->load_ok || m->load.lat_us < VBD_SLOW_MIN_US)
		return 0;
	med = median_latency(v);
	return med && m->load.lat_us > VBD_SLOW_FACTOR * med;
}

/* The active member (not us, not slow) owning fewest queues of `a`; ties
 * go to the lower inflight, then the lower cost, then the lower domid. */
unsigned bal_pick_target(struct vbd_volume *v, const struct vbd_attach *a)
{
	unsigned best = VBD_DOMID_NONE, best_n = 0;
	struct vbd_member *bm = NULL;

	for (unsigned i = 0; i < v->nmembers; i++) {
		struct vbd_member *m = &v->members[i];
		unsigned n;

		if (m->domid == v->bd->me || !m->state_ok || m->state != VBD_MEMBER_ACTIVE)
			continue;
		if (bal_member_slow(v, m->domid))
			continue;
		n = bal_count_owned(a, m->domid);
		if (bm) {
			if (n > best_n)
				continue;
			if (n == best_n) {
				uint64_t bi = bm->load_ok ? bm->load.inflight : 0;
				uint64_t mi = m->load_ok ? m->load.inflight : 0;
				uint64_t bc = bm->load_ok ? bm->load.cost : 0;
				uint64_t mc = m->load_ok ? m->load.cost : 0;
				if (mi > bi ||
				    (mi == bi && (mc > bc || (mc == bc && m->domid > best))))
					continue;
			}
		}
		bm = m;
		best = m->domid;
		best_n = n;
	}
	return best;
}

/* A connected queue of ours in `a` that is not being handed off. */
static int pick_queue(struct vbd_volume *v, struct vbd_attach *a)
{
	for (int q = (int)a->nq - 1; q >= 0; q--) {
		struct vbd_qslot *s = &a->qs[q];
		if (s->q && s->rec_ok && s->rec.owner == v->bd->me &&
		    s->rec.state == VBD_Q_CONNECTED && !s->releasing)
			return q;
	}
	return -1;
}

static int handing_off(struct vbd_volume *v)
{
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++)
			if (a->qs[q].rec_ok && a->qs[q].rec.owner == v->bd->me &&
			    a->qs[q].rec.state == VBD_Q_DRAINING)
				return 1;
	return 0;
}

/* One volume's round; returns 1 if it started a hand-off. */
static int balance_volume(struct vbd_volume *v, uint64_t now)
{
	struct backd *bd = v->bd;
	unsigned me = bd->me, share;

	if (!v->ready || !v->joined || v->my_state != VBD_MEMBER_ACTIVE || handing_off(v))
		return 0;
	for (struct vbd_attach *a = v->atts; a; a = a->next) {
		unsigned mine = bal_count_owned(a, me), t;
		int q;

		/* more than the fair share ceil(Q/A), or two more than the member
		 * owning fewest (2,2,0 -> 2,1,1: a joiner always gets its share) */
		share = bal_share(v, a->nq);
		t = bal_pick_target(v, a);
		if (t == VBD_DOMID_NONE || bal_count_owned(a, t) + 2 > mine)
			continue;
		q = pick_queue(v, a);
		if (q < 0)
			continue;
		log_info(
		    "volume %s: %u-%u: %u queue(s) here, fair share %u: handing queue-%d to %u",
		    v->id, a->guest, a->devid, mine, share, q, t);
		if (own_start_handoff(v, a, (unsigned)q, t) == 0)
			return 1;
	}
	/* a slow member sheds one queue per VBD_SLOW_SHED_MS */
	if (now - v->last_shed_ms >= VBD_SLOW_SHED_MS && bal_member_slow(v, me)) {
		for (struct vbd_attach *a = v->atts; a; a = a->next) {
			unsigned t = bal_pick_target(v, a);
			int q = pick_queue(v, a);
			if (t == VBD_DOMID_NONE || q < 0)
				continue;
			log_info(
			    "volume %s: %u-%u: slow here (mean %llu us): handing queue-%d to %u",
			    v->id, a->guest, a->devid, (unsigned long long)v->my_load.lat_us, q, t);
			v->last_shed_ms = now;
			if (own_start_handoff(v, a, (unsigned)q, t) == 0)
				return 1;
		}
	}
	return 0;
}

void bal_round(struct backd *bd)
{
	uint64_t now = backd_now_ms();

	if (bd->leaving)
		return;
	/* one hand-off per member per round */
	for (unsigned i = 0; i < bd->nvols; i++)
		if (balance_volume(&bd->vols[i], now))
			return;
}
