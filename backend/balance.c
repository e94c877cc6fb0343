/* SPDX-License-Identifier: MIT */
/* Load balancing (docs/protocol.md "Balance"): every VBD_BALANCE_MS, a
 * member owning two more queues of an attachment than the member owning
 * fewest hands one off (the count rule); a member that stayed much slower
 * than the pool, while the pool was settled, hands one off too (the slow
 * rule, damped: see bal_observe and bal_decide). */
#include "backd.h"

#include <stdlib.h>
#include <string.h>

#include "vbdpool/grow.h"
#include "vbdpool/log.h"

/* balance.c's own memory, one per volume (v->bal), made by the first
 * round: the damping of the slow rule and, per queue record, how the last
 * round saw it (bal_observe). */
struct bal_qmem {
	const struct vbd_attach *a; /* with guest/devid: which attachment */
	unsigned guest, devid, q;
	unsigned round;		  /* the last round that looked at it */
	int seen;		  /* rec holds what a round saw */
	struct vbd_queue_rec rec; /* as seen by the last balance round */
	uint64_t moved_ms;	  /* when it last changed hands (0: never did) */
};

/* A member this member judged slow (bal_observe), until it shows its
 * service estimate back within VBD_SLOW_FACTOR of the pool's while busy, or
 * for VBD_SLOW_PROBE_MS nothing either way (bal_avoided). */
struct bal_mslow {
	unsigned domid;
	unsigned round;	  /* the last round that kept it */
	uint64_t seen_ms; /* the last round that saw it slow */
};

struct vbd_balance {
	unsigned slow_rounds;	    /* consecutive settled rounds judged slow */
	uint64_t hold_until;	    /* ms: no slow shedding before this */
	uint64_t members_sig;	    /* (domid, state) of every member, last round */
	unsigned nmembers, nactive; /* members, active ones, last round */
	uint64_t last_shed_ms;	    /* the last hand-off for being slow */
	unsigned round;		    /* bal_observe calls */
	struct bal_qmem *qs;	    /* the queues of the volume's attachments */
	unsigned nqs, cap;
	struct bal_mslow *slow; /* members judged slow and not back yet */
	unsigned nslow, slow_cap;
};

static struct vbd_balance *bal_state(struct vbd_volume *v)
{
	if (!v->bal) {
		v->bal = calloc(1, sizeof(*v->bal));
		if (!v->bal)
			abort(); /* a few dozen bytes at the first round */
	}
	return v->bal;
}

void bal_free(struct vbd_volume *v)
{
	if (v->bal) {
		free(v->bal->qs);
		free(v->bal->slow);
	}
	free(v->bal);
	v->bal = NULL;
}

unsigned bal_slow_rounds(const struct vbd_volume *v)
{
	return v->bal ? v->bal->slow_rounds : 0;
}

/* The memory of queue q of attachment a (NULL: none yet). */
static struct bal_qmem *qmem_find(const struct vbd_balance *b, const struct vbd_attach *a,
				  unsigned q)
{
	for (unsigned i = 0; i < b->nqs; i++) {
		struct bal_qmem *m = &b->qs[i];
		if (m->a == a && m->guest == a->guest && m->devid == a->devid && m->q == q)
			return m;
	}
	return NULL;
}

/* ... made if there is none yet, marked as looked at this round. */
static struct bal_qmem *qmem_get(struct vbd_balance *b, const struct vbd_attach *a, unsigned q)
{
	struct bal_qmem *m = qmem_find(b, a, q);

	if (!m) {
		if (VBD_GROW(b->qs, b->nqs, b->cap, 16) < 0)
			abort();
		m = &b->qs[b->nqs++];
		*m = (struct bal_qmem){.a = a, .guest = a->guest, .devid = a->devid, .q = q};
	}
	m->round = b->round;
	return m;
}

/* Forget the queues of attachments that are gone (not looked at this round). */
static void qmem_prune(struct vbd_balance *b)
{
	unsigned n = 0;

	for (unsigned i = 0; i < b->nqs; i++)
		if (b->qs[i].round == b->round)
			b->qs[n++] = b->qs[i];
	b->nqs = n;
}

static int bal_avoided(struct vbd_volume *v, unsigned domid);

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
		if (!bal_avoided(v, m->domid))
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

static int member_active(struct vbd_volume *v, unsigned domid)
{
	struct vbd_member *m = pool_member(v, domid);

	return m && m->state_ok && m->state == VBD_MEMBER_ACTIVE;
}

static unsigned active_members(struct vbd_volume *v)
{
	unsigned n = 0;

	for (unsigned i = 0; i < v->nmembers; i++)
		if (v->members[i].state_ok && v->members[i].state == VBD_MEMBER_ACTIVE)
			n++;
	return n;
}

/* The published mean latency grows with the requests waiting behind each
 * other in the member (the frontend piles up to VBD_FRONT_QUEUE_BATCH
 * requests on one queue, and a queue's data thread serves them in turn),
 * so the member owning the hot queue looks slow although its storage is
 * not. By Little's law the member held L = iops * lat requests on average;
 * when L > 1 requests overlapped and lat / L = 1 / iops (the mean time
 * between two completions) is the time one request really cost; the rest
 * was waiting. Without overlap (or without I/O: an idle member's kept
 * figure, heartbeat.c) the latency is the estimate. */
uint64_t bal_service_us(const struct vbd_member_load *l)
{
	if (l->iops && l->iops * l->lat_us > 1000000)
		return 1000000 / l->iops;
	return l->lat_us;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Lower medians (with two members: the faster) of the mean latency and of
 * the service estimate over the active members doing I/O now, or, when none
 * is, over those still publishing a latency (an idle member's published
 * latency fades, see heartbeat.c). */
static void medians(struct vbd_volume *v, uint64_t *lat_med, uint64_t *svc_med)
{
	uint64_t lat[v->nmembers + 1], svc[v->nmembers + 1];
	unsigned n = 0;

	*lat_med = *svc_med = 0;
	for (int busy_only = 1; busy_only >= 0 && !n; busy_only--)
		for (unsigned i = 0; i < v->nmembers; i++) {
			struct vbd_member *m = &v->members[i];
			if (!m->state_ok || m->state != VBD_MEMBER_ACTIVE || !m->load_ok ||
			    !m->load.lat_us || (busy_only && !m->load.iops))
				continue;
			lat[n] = m->load.lat_us;
			svc[n] = bal_service_us(&m->load);
			n++;
		}
	if (!n)
		return;
	qsort(lat, n, sizeof(lat[0]), cmp_u64);
	qsort(svc, n, sizeof(svc[0]), cmp_u64);
	*lat_med = lat[(n - 1) / 2];
	*svc_med = svc[(n - 1) / 2];
}

/* Slow: mean latency at least VBD_SLOW_MIN_US and more than VBD_SLOW_FACTOR
 * times the median, and so is the service estimate (queueing alone does not
 * make a member slow; the latency test keeps the estimate, which flatters a
 * member serving several busy queues at once, from making others slow). */
int bal_member_slow(struct vbd_volume *v, unsigned domid)
{
	struct vbd_member *m = pool_member(v, domid);
	uint64_t lat_med, svc_med;

	if (!m || !m->load_ok || m->load.lat_us < VBD_SLOW_MIN_US)
		return 0;
	medians(v, &lat_med, &svc_med);
	return lat_med && m->load.lat_us > VBD_SLOW_FACTOR * lat_med &&
	       bal_service_us(&m->load) > VBD_SLOW_FACTOR * svc_med;
}

/* Hysteresis for the targets: a member judged slow (both tests) stays
 * avoided until it is busy (requests overlapped: its service estimate is
 * 1/iops, its capacity) and that estimate is back within VBD_SLOW_FACTOR
 * of the pool's; while it is not busy, for VBD_SLOW_PROBE_MS after it last
 * looked slow (then it may be given a queue again: a probe, as for an idle
 * member whose kept latency faded, heartbeat.c). A member whose path is
 * slow (a throttled or degraded HBA: it completes 1/5 of the others' IOPS)
 * sheds queues, and with fewer queues the frontend, shortest queue first,
 * gives it fewer requests than its path takes: it looks fast then, but it
 * shows nothing about its capacity. Without this the others' count rule
 * handed it a queue back as soon as its latency dipped, it shed it again 3
 * rounds later, and so on. */
static struct bal_mslow *mslow_find(const struct vbd_balance *b, unsigned domid)
{
	for (unsigned i = 0; b && i < b->nslow; i++)
		if (b->slow[i].domid == domid)
			return &b->slow[i];
	return NULL;
}

static int bal_avoided(struct vbd_volume *v, unsigned domid)
{
	return bal_member_slow(v, domid) || mslow_find(v->bal, domid);
}

static void mslow_update(struct vbd_volume *v, struct vbd_balance *b, uint64_t now)
{
	uint64_t lat_med, svc_med;
	unsigned n = 0;

	medians(v, &lat_med, &svc_med);
	for (unsigned i = 0; i < v->nmembers; i++) {
		struct vbd_member *m = &v->members[i];
		struct bal_mslow *e = mslow_find(b, m->domid);

		if (!m->state_ok || m->state != VBD_MEMBER_ACTIVE)
			continue;
		if (!e && bal_member_slow(v, m->domid)) {
			if (VBD_GROW(b->slow, b->nslow, b->slow_cap, 4) < 0)
				abort();
			e = &b->slow[b->nslow++];
			e->domid = m->domid;
			e->seen_ms = now;
		}
		if (!e)
			continue;
		if (m->load_ok && m->load.iops && m->load.iops * m->load.lat_us > 1000000) {
			if (bal_service_us(&m->load) <= VBD_SLOW_FACTOR * svc_med)
				continue; /* busy and fast again: forgotten */
			e->seen_ms = now;
		} else if (bal_member_slow(v, m->domid)) {
			e->seen_ms = now;
		}
		if (now - e->seen_ms < VBD_SLOW_PROBE_MS)
			e->round = b->round;
	}
	/* gone, no longer active, back, or not slow for the probe time: forgotten */
	for (unsigned i = 0; i < b->nslow; i++)
		if (b->slow[i].round == b->round)
			b->slow[n++] = b->slow[i];
	b->nslow = n;
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
		if (bal_avoided(v, m->domid))
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

/* Did queue q of a change hands within VBD_BAL_FRESH_MS? */
static int fresh(const struct vbd_volume *v, const struct vbd_attach *a, unsigned q, uint64_t now)
{
	const struct bal_qmem *m = v->bal ? qmem_find(v->bal, a, q) : NULL;

	return m && m->moved_ms && now - m->moved_ms < VBD_BAL_FRESH_MS;
}

/* A connected queue of ours in `a` that is not being handed off, preferring
 * one that did not change hands lately; a fresh one only if fresh_ok. */
static int pick_queue(struct vbd_volume *v, struct vbd_attach *a, uint64_t now, int fresh_ok)
{
	int found = -1;

	for (int q = (int)a->nq - 1; q >= 0; q--) {
		struct vbd_qslot *s = &a->qs[q];
		if (!s->q || !s->rec_ok || s->rec.owner != v->bd->me ||
		    s->rec.state != VBD_Q_CONNECTED || s->releasing)
			continue;
		if (!fresh(v, a, (unsigned)q, now))
			return q;
		if (fresh_ok && found < 0)
			found = q;
	}
	return found;
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

/* Settled: every member is active, and every queue of every attachment is
 * connected to an active member (no hand-off, claim or takeover under way). */
static int pool_settled(struct vbd_volume *v)
{
	for (unsigned i = 0; i < v->nmembers; i++)
		if (!v->members[i].state_ok || v->members[i].state != VBD_MEMBER_ACTIVE)
			return 0;
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++) {
			const struct vbd_qslot *s = &a->qs[q];
			if (!s->rec_ok || s->rec.state != VBD_Q_CONNECTED ||
			    !member_active(v, s->rec.owner))
				return 0;
		}
	return 1;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Order-independent digest of (domid, state) over the members; never 0. */
static uint64_t members_sig(struct vbd_volume *v)
{
	uint64_t sig = mix64(v->nmembers);

	for (unsigned i = 0; i < v->nmembers; i++) {
		const struct vbd_member *m = &v->members[i];
		sig += mix64((uint64_t)m->domid << 8 | (m->state_ok ? (unsigned)m->state : 0xffu));
	}
	return sig ? sig : 1;
}

static void hold(struct vbd_balance *b, uint64_t until)
{
	if (until > b->hold_until)
		b->hold_until = until;
}

void bal_observe(struct vbd_volume *v, uint64_t now)
{
	struct vbd_balance *b = bal_state(v);
	uint64_t sig = members_sig(v);
	unsigned nactive = active_members(v);
	struct vbd_member *me;

	/* a member left, died, failed or was removed: its queues move and the
	 * survivors' latencies jump for reasons other than their storage; let
	 * the pool settle. A member joined (or we just started): the count
	 * rule is about to move queues; the same hold as after a hand-off. */
	if (sig != b->members_sig) {
		int lost = b->members_sig && (v->nmembers < b->nmembers || nactive < b->nactive);
		b->members_sig = sig;
		hold(b, now + (lost ? VBD_BAL_SETTLE_MS : VBD_BAL_MOVED_HOLD_MS));
	}
	b->nmembers = v->nmembers;
	b->nactive = nactive;
	b->round++;
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++) {
			struct vbd_qslot *s = &a->qs[q];
			struct bal_qmem *m = qmem_get(b, a, q);
			const struct vbd_queue_rec *r = &s->rec, *p = &m->rec;

			if (!s->rec_ok)
				continue;
			if (!m->seen) {
				m->seen = 1;
				hold(b, now + VBD_BAL_MOVED_HOLD_MS);
			} else if (r->epoch != p->epoch || r->owner != p->owner) {
				/* a takeover: the old owner did not hand it to the new
				 * one and is no longer active (death, failure) */
				int takeover =
				    p->owner != VBD_DOMID_NONE &&
				    !(p->state == VBD_Q_DRAINING && p->target == r->owner) &&
				    !member_active(v, p->owner);
				if (p->owner != VBD_DOMID_NONE)
					m->moved_ms = now ? now : 1;
				hold(b,
				     now + (takeover ? VBD_BAL_SETTLE_MS : VBD_BAL_MOVED_HOLD_MS));
			}
			m->rec = *r;
		}
	qmem_prune(b);
	mslow_update(v, b, now);
	/* count the rounds in a row this member was judged slow while the pool
	 * was settled and it was doing I/O (an idle member's published latency
	 * is an old one) */
	me = pool_member(v, v->bd->me);
	if (v->ready && v->joined && v->my_state == VBD_MEMBER_ACTIVE && now >= b->hold_until &&
	    pool_settled(v) && me && me->load_ok && me->load.iops && bal_member_slow(v, v->bd->me))
		b->slow_rounds++;
	else
		b->slow_rounds = 0;
}

void bal_shed_done(struct vbd_volume *v, uint64_t now)
{
	struct vbd_balance *b = bal_state(v);

	b->last_shed_ms = now;
	b->slow_rounds = 0;
}

/* How many other members would also hand `t` a queue of `a` this round
 * and come before us (more queues, or as many and a lower domid). */
static unsigned donor_rank(struct vbd_volume *v, const struct vbd_attach *a, unsigned t,
			   unsigned mine)
{
	unsigned rank = 0, need = bal_count_owned(a, t) + 2;

	for (unsigned i = 0; i < v->nmembers; i++) {
		const struct vbd_member *m = &v->members[i];
		unsigned n;

		if (m->domid == v->bd->me || m->domid == t || !m->state_ok ||
		    m->state != VBD_MEMBER_ACTIVE)
			continue;
		n = bal_count_owned(a, m->domid);
		if (n >= need && (n > mine || (n == mine && m->domid < v->bd->me)))
			rank++;
	}
	return rank;
}

int bal_decide(struct vbd_volume *v, uint64_t now, struct bal_move *m)
{
	unsigned me = v->bd->me;

	if (!v->ready || !v->joined || v->my_state != VBD_MEMBER_ACTIVE || handing_off(v))
		return 0;
	/* the count rule: two more than the member owning fewest (which covers
	 * more than the fair share ceil(Q/A); 2,2,0 -> 2,1,1: a joiner always
	 * gets its share). Every such move lowers the sum of the squared
	 * counts, so this rule alone never moves a queue back and forth, as
	 * long as the members deciding in the same round do not all give to
	 * the same target: the i-th donor (by count, then domid) gives only if
	 * it still owns two more than the target after the i before it gave
	 * (2,2,2,0 -> 1,2,2,1, not 1,1,1,3 and then a queue back). */
	for (struct vbd_attach *a = v->atts; a; a = a->next) {
		unsigned mine = bal_count_owned(a, me), t = bal_pick_target(v, a);
		int q;

		if (t == VBD_DOMID_NONE ||
		    bal_count_owned(a, t) + 2 + donor_rank(v, a, t, mine) > mine)
			continue;
		q = pick_queue(v, a, now, 1);
		if (q < 0)
			continue;
		*m = (struct bal_move){.a = a, .q = (unsigned)q, .target = t, .slow = 0};
		return 1;
	}
	/* the slow rule: one queue per VBD_SLOW_SHED_MS, once judged slow for
	 * VBD_BAL_SLOW_ROUNDS settled rounds in a row; never a queue that just
	 * changed hands, and never our last queue of an attachment when that
	 * would put the target above the fair share + 1 (the count rule would
	 * hand it back as soon as we no longer looked slow) */
	if (!v->bal || v->bal->slow_rounds < VBD_BAL_SLOW_ROUNDS ||
	    now - v->bal->last_shed_ms < VBD_SLOW_SHED_MS)
		return 0;
	for (struct vbd_attach *a = v->atts; a; a = a->next) {
		unsigned t = bal_pick_target(v, a);
		int q = pick_queue(v, a, now, 0);

		if (t == VBD_DOMID_NONE || q < 0)
			continue;
		if (bal_count_owned(a, me) <= 1 &&
		    bal_count_owned(a, t) + 1 > bal_fair_share(a->nq, active_members(v)) + 1)
			continue;
		*m = (struct bal_move){.a = a, .q = (unsigned)q, .target = t, .slow = 1};
		return 1;
	}
	return 0;
}

/* One volume's round; returns 1 if it started a hand-off. */
static int balance_volume(struct vbd_volume *v, uint64_t now)
{
	struct vbd_member *me = pool_member(v, v->bd->me);
	struct vbd_member_load l = me ? me->load : (struct vbd_member_load){0};
	struct bal_move m;
	struct vbd_attach *a;

	if (!bal_decide(v, now, &m))
		return 0;
	a = m.a;
	if (m.slow) {
		vq_info(v, a, m.q,
			"slow here (mean %llu us, service %llu us, %u rounds): handing it to %u",
			(unsigned long long)l.lat_us, (unsigned long long)bal_service_us(&l),
			bal_slow_rounds(v), m.target);
		bal_shed_done(v, now);
	} else {
		vq_info(v, a, m.q, "%u queue(s) here, fair share %u: handing it to %u",
			bal_count_owned(a, v->bd->me), bal_share(v, a->nq), m.target);
	}
	return own_start_handoff(v, a, m.q, m.target) == 0;
}

void bal_round(struct backd *bd)
{
	uint64_t now = backd_now_ms();

	if (bd->leaving || bd->cfg.no_balance)
		return;
	for (unsigned i = 0; i < bd->nvols; i++)
		bal_observe(bd->vols[i], now);
	/* one hand-off per member per round */
	for (unsigned i = 0; i < bd->nvols; i++)
		if (balance_volume(bd->vols[i], now))
			return;
}
