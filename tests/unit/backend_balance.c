/* SPDX-License-Identifier: MIT */
/* Backend control-path policy without XenStore: fair share, queue counts,
 * hand-off target choice, the slow-member rule and the claim rule; then a
 * simulated pool (several members' balance rounds over one set of records
 * and loads) for the damping of the slow rule: different queue depths, a
 * one-round spike, sustained slowness, a member's death, a joiner. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "backd.h"

static struct backd bd;
static struct vbd_volume v;
static struct vbd_member mem[8];
static struct vbd_attach a;

static void member(unsigned i, unsigned domid, enum vbd_member_state st, uint64_t inflight,
		   uint64_t iops, uint64_t lat, uint64_t cost)
{
	mem[i] = (struct vbd_member){.domid = domid, .state_ok = 1, .load_ok = 1, .state = st};
	mem[i].load = (struct vbd_member_load){
	    .inflight = inflight, .iops = iops, .lat_us = lat, .cost = cost};
	if (i + 1 > v.nmembers)
		v.nmembers = i + 1;
}

static void rec(unsigned q, unsigned owner, enum vbd_queue_state st, unsigned target)
{
	a.qs[q].rec_ok = 1;
	a.qs[q].rec =
	    (struct vbd_queue_rec){.owner = owner, .epoch = 1, .state = st, .target = target};
}

static void reset(unsigned nq)
{
	memset(mem, 0, sizeof(mem));
	memset(&a, 0, sizeof(a));
	v.nmembers = 0;
	a.nq = nq;
}

/* ---- simulated pool ------------------------------------------------------
 * Each member has its own view (backd, volume, attachment: the balance
 * state lives there), all read one set of records and loads (XenStore).
 * A round: the load model sets every member's load from the records, each
 * active member syncs its view and runs bal_observe, then each runs
 * bal_decide on that same snapshot, and the hand-offs decided complete at
 * once (owner=target, epoch+1, connected). */
#define SIM_MAX 4
#define SIM_Q	12
/* struct vbd_queue is the data plane's (opaque here): only the address of
 * something is used ("we serve it") */
static char dummyq_mem;
#define dummyq (*(struct vbd_queue *)&dummyq_mem)

struct sim {
	unsigned n, nq;
	struct vbd_member mem[SIM_MAX]; /* members/ as XenStore has it */
	struct vbd_queue_rec rec[SIM_Q];
	struct backd bd[SIM_MAX];
	struct vbd_volume v[SIM_MAX];
	struct vbd_attach a[SIM_MAX];
	uint64_t now;
	unsigned round, moves, slow_moves, moved[SIM_Q];
	void (*model)(struct sim *);
	unsigned hot;			/* queue the model makes hot */
	unsigned spike_q, spike_rounds; /* model: queue whose new owner sees a spike */
	unsigned slow_dom;		/* model: member with slow storage */
	unsigned spike_round;		/* model: round of a one-round spike */
	unsigned to_slow;		/* hand-offs whose target was slow_dom */
};

static struct sim S;

static struct vbd_member *sim_mem(struct sim *s, unsigned domid)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->mem[i].domid == domid)
			return &s->mem[i];
	return NULL;
}

static unsigned sim_owned(struct sim *s, unsigned domid)
{
	unsigned n = 0;
	for (unsigned q = 0; q < s->nq; q++)
		n += s->rec[q].owner == domid;
	return n;
}

static void sim_sync(struct sim *s, unsigned i)
{
	struct vbd_volume *v = &s->v[i];

	v->members = s->mem;
	v->nmembers = s->n;
	for (unsigned q = 0; q < s->nq; q++) {
		v->atts->qs[q].rec = s->rec[q];
		v->atts->qs[q].rec_ok = 1;
		v->atts->qs[q].q = s->rec[q].owner == i + 1 ? &dummyq : NULL;
	}
}

/* members 1..n active, queues dealt round-robin, all connected at epoch 1;
 * views already settled (their first rounds are long past) */
static void sim_init(struct sim *s, unsigned n, unsigned nq, void (*model)(struct sim *))
{
	for (unsigned i = 0; i < SIM_MAX; i++)
		bal_free(&s->v[i]);
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->nq = nq;
	s->model = model;
	s->now = 100000;
	s->spike_q = VBD_DOMID_NONE;
	for (unsigned i = 0; i < n; i++) {
		s->mem[i] = (struct vbd_member){
		    .domid = i + 1, .state_ok = 1, .load_ok = 1, .state = VBD_MEMBER_ACTIVE};
		s->mem[i].load.cost = 100;
	}
	for (unsigned q = 0; q < nq; q++)
		s->rec[q] = (struct vbd_queue_rec){.owner = q % n + 1,
						   .epoch = 1,
						   .state = VBD_Q_CONNECTED,
						   .target = VBD_DOMID_NONE};
	for (unsigned i = 0; i < SIM_MAX; i++) {
		s->bd[i].me = i + 1;
		s->v[i].bd = &s->bd[i];
		s->v[i].ready = s->v[i].joined = 1;
		s->v[i].my_state = VBD_MEMBER_ACTIVE;
		s->v[i].atts = &s->a[i];
		s->a[i].nq = nq;
	}
	/* every view has seen this pool for long: nothing on hold */
	for (unsigned i = 0; i < n; i++) {
		sim_sync(s, i);
		bal_observe(&s->v[i], s->now - 60000);
	}
}

static void sim_round(struct sim *s)
{
	struct bal_move mv[SIM_MAX];
	int has[SIM_MAX] = {0};

	if (s->model)
		s->model(s);
	for (unsigned i = 0; i < SIM_MAX; i++) {
		struct vbd_member *m = sim_mem(s, i + 1);
		if (!m || !m->state_ok || m->state != VBD_MEMBER_ACTIVE)
			continue;
		sim_sync(s, i);
		bal_observe(&s->v[i], s->now);
	}
	for (unsigned i = 0; i < SIM_MAX; i++) {
		struct vbd_member *m = sim_mem(s, i + 1);
		if (!m || !m->state_ok || m->state != VBD_MEMBER_ACTIVE)
			continue;
		has[i] = bal_decide(&s->v[i], s->now, &mv[i]);
	}
	for (unsigned i = 0; i < SIM_MAX; i++) {
		if (!has[i])
			continue;
		struct vbd_queue_rec *r = &s->rec[mv[i].q];
		r->owner = mv[i].target;
		r->epoch++;
		s->moves++;
		s->to_slow += mv[i].target == s->slow_dom;
		s->moved[mv[i].q]++;
		if (mv[i].slow) {
			s->slow_moves++;
			bal_shed_done(&s->v[i], s->now);
		}
		if (s->spike_q == VBD_DOMID_NONE || s->spike_q == mv[i].q) {
			s->spike_q = mv[i].q; /* its new owner sees a spike */
			s->spike_rounds = 3;
		}
	}
	s->now += VBD_BALANCE_MS;
	s->round++;
}

static void sim_rounds(struct sim *s, unsigned n)
{
	while (n--)
		sim_round(s);
}

/* n members, the last not a member yet (s->n = n - 1): the queues dealt
 * over the others, settled */
static void sim_init_joiner(struct sim *s, unsigned n, unsigned nq)
{
	sim_init(s, n, nq, NULL);
	s->n = n - 1;
	for (unsigned q = 0; q < nq; q++)
		s->rec[q].owner = q % (n - 1) + 1;
	sim_rounds(s, 10);
}

static void load(struct vbd_member *m, uint64_t lat, uint64_t iops)
{
	m->load.lat_us = lat;
	m->load.iops = iops;
	m->load.inflight = iops * lat / 1000000;
}

/* The frontend piles requests on one queue (VBD_FRONT_QUEUE_BATCH): its
 * owner holds ~10 requests at once and shows 2.4 ms, the other 0.4 ms at
 * less than one request in flight; the storage is equally fast. */
static void model_hot_queue(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (s->rec[s->hot].owner == s->mem[i].domid)
			load(&s->mem[i], 2400, 4000);
		else
			load(&s->mem[i], 400, 1500);
	}
}

/* 0.3 ms everywhere; one member 6 ms in one round (s->spike_round) */
static void model_spike(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++)
		load(&s->mem[i], 300, 1000);
	if (s->round == s->spike_round || s->round == s->spike_round + 1000)
		load(&s->mem[0], 6000, 150);
}

/* s->slow_dom's storage takes 5 ms a request (no overlap: 100 iops at 0.5
 * requests in flight); an idle member keeps publishing its last latency */
static void model_slow_member(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct vbd_member *m = &s->mem[i];
		int idle = !sim_owned(s, m->domid);
		if (m->domid == s->slow_dom)
			load(m, 5000, idle ? 0 : 100);
		else
			load(m, idle ? m->load.lat_us : 300, idle ? 0 : 1000);
	}
}

/* s->slow_dom's path has a fifth of the others' capacity (a throttled or
 * degraded HBA: bench/pool.sh): busy, it completes 200 IOPS to their 1000.
 * The frontend keeps 64 requests in flight, shortest queue first, so a
 * member holds about 4 per queue it owns when slow (they wait in its path)
 * and the fast members share the rest: the slow member's mean latency is
 * 20 ms per queue it owns, theirs (64 - 4k) / nfast ms: with 4 or 3 of
 * 12 queues it is slow (80 or 60 ms vs 26). With 2 the frontend gives it
 * fewer requests than its path takes (150 IOPS, 0.4 ms, less than one in
 * flight): it looks fast and shows nothing about its capacity. */
static void model_path_bound(struct sim *s)
{
	unsigned k = sim_owned(s, s->slow_dom), nfast = s->n - 1;

	for (unsigned i = 0; i < s->n; i++) {
		struct vbd_member *m = &s->mem[i];
		unsigned owned = sim_owned(s, m->domid);

		if (!owned)
			load(m, m->load.lat_us, 0);
		else if (m->domid == s->slow_dom && k <= 2)
			load(m, 400, 150); /* its path takes more than it gets */
		else if (m->domid == s->slow_dom)
			load(m, 20000 * k, 200);
		else
			load(m, (64 - 4 * k) * 1000 / nfast, 1000);
	}
}

/* After a takeover, the requests the frontend re-posts and the new rings
 * make a queue's new owner show a latency spike for a few rounds; in the
 * old code the spike followed the queue: owner A sheds it for being slow,
 * B gets the spike and sheds it back. */
static void model_failover(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++)
		load(&s->mem[i], 300, 1000);
	if (s->spike_q != VBD_DOMID_NONE && s->spike_rounds) {
		struct vbd_member *m = sim_mem(s, s->rec[s->spike_q].owner);
		if (m)
			load(m, 8000, 120);
		s->spike_rounds--;
	}
}

static void test_damping(void)
{
	struct sim *s = &S;

	/* the service estimate: latency, or 1/iops when requests overlapped */
	struct vbd_member_load l = {.lat_us = 2400, .iops = 4000};
	CHECK(bal_service_us(&l) == 250, "10 in flight: %llu",
	      (unsigned long long)bal_service_us(&l));
	l = (struct vbd_member_load){.lat_us = 400, .iops = 1500};
	CHECK(bal_service_us(&l) == 400, "0.6 in flight: the latency");
	l = (struct vbd_member_load){.lat_us = 5000, .iops = 0};
	CHECK(bal_service_us(&l) == 5000, "idle: the kept latency");

	/* two members at different depths: the one owning the hot queue is
	 * not slow, whichever it is, and nobody sheds (old code: the owner of
	 * the hot queue shed it every second, and it came back) */
	for (unsigned hot = 0; hot < 4; hot++) {
		sim_init(s, 2, 4, model_hot_queue);
		s->hot = hot;
		sim_round(s);
		unsigned owner = s->rec[hot].owner;
		CHECK(!bal_member_slow(&s->v[0], owner), "hot queue %u: owner %u not slow", hot,
		      owner);
		sim_rounds(s, 40);
		CHECK(s->moves == 0, "hot queue %u: %u hand-off(s)", hot, s->moves);
	}
	/* the same with the hot queue moving to the other member's queue
	 * every 2 s (the frontend's batching follows its own choices) */
	sim_init(s, 2, 4, model_hot_queue);
	for (unsigned r = 0; r < 40; r++) {
		s->hot = (r / 4) % 4;
		sim_round(s);
	}
	CHECK(s->moves == 0, "moving hot queue: %u hand-off(s)", s->moves);

	/* a one-round (and a two-round) spike makes no hand-off */
	sim_init(s, 2, 4, model_spike);
	s->spike_round = 10;
	sim_rounds(s, 10);
	CHECK(s->moves == 0, "settled: no hand-off");
	sim_round(s);
	CHECK(bal_slow_rounds(&s->v[0]) == 1, "the spike is counted: %u",
	      bal_slow_rounds(&s->v[0]));
	sim_rounds(s, 20);
	CHECK(s->moves == 0, "one-round spike: %u hand-off(s)", s->moves);
	CHECK(bal_slow_rounds(&s->v[0]) == 0, "and forgotten");
	sim_init(s, 2, 4, model_spike);
	s->spike_round = 10;
	sim_rounds(s, 11);
	s->spike_round = 11;
	sim_rounds(s, 20);
	CHECK(s->moves == 0, "two-round spike: %u hand-off(s)", s->moves);

	/* sustained slowness still sheds, one queue at a time, to 0 here
	 * (6 queues, 3 members: the others end with 3 = fair share 2 + 1),
	 * and the queues stay where they went */
	sim_init(s, 3, 6, model_slow_member);
	s->slow_dom = 1;
	sim_rounds(s, VBD_BAL_SLOW_ROUNDS - 1);
	CHECK(s->moves == 0, "not before %d rounds: %u", VBD_BAL_SLOW_ROUNDS, s->moves);
	sim_round(s);
	CHECK(s->slow_moves == 1, "after %d rounds: %u", VBD_BAL_SLOW_ROUNDS, s->slow_moves);
	sim_rounds(s, 16);
	CHECK(sim_owned(s, 1) == 0, "slow member shed every queue: %u left", sim_owned(s, 1));
	CHECK(sim_owned(s, 2) == 3 && sim_owned(s, 3) == 3, "others %u,%u", sim_owned(s, 2),
	      sim_owned(s, 3));
	unsigned moves = s->moves;
	sim_rounds(s, 40);
	CHECK(s->moves == moves, "then stable: %u more", s->moves - moves);
	CHECK(s->slow_moves == 2, "two slow hand-offs: %u", s->slow_moves);

	/* the last queue stays when shedding it would put the target two above
	 * the fair share (4 queues, 2 members: 2,2 -> 1,3, not 0,4) */
	sim_init(s, 2, 4, model_slow_member);
	s->slow_dom = 1;
	sim_rounds(s, 40);
	CHECK(sim_owned(s, 1) == 1, "slow member keeps its last queue: %u", sim_owned(s, 1));
	CHECK(s->moves == 1, "one hand-off: %u", s->moves);

	/* a member whose path is slow sheds queues until it no longer looks
	 * slow, and the others' count rule does not hand them back while it
	 * shows nothing about its capacity: one probe per VBD_SLOW_PROBE_MS
	 * (before: shed after 3 rounds, handed back at once, 4,3,4,3...) */
	sim_init(s, 3, 12, model_path_bound);
	s->slow_dom = 1;
	sim_rounds(s, 40);
	CHECK(sim_owned(s, 1) == 2, "path-bound member keeps %u queue(s)", sim_owned(s, 1));
	CHECK(s->to_slow == 0 && s->moves == 2, "%u hand-off(s), %u back to the path-bound member",
	      s->moves, s->to_slow);
	sim_rounds(s, 2 * VBD_SLOW_PROBE_MS / VBD_BALANCE_MS);
	/* a probe: a queue from each of the others, taken back when it is slow */
	CHECK(s->to_slow <= 4, "%u queue(s) handed to it in 60 s: one probe per %d s", s->to_slow,
	      VBD_SLOW_PROBE_MS / 1000);
	CHECK(sim_owned(s, 1) <= 3, "path-bound member keeps %u queue(s)", sim_owned(s, 1));
	/* its path back: it gets its share again */
	s->slow_dom = VBD_DOMID_NONE;
	for (unsigned i = 0; i < s->n; i++)
		load(&s->mem[i], 16000, 1000);
	s->model = NULL; /* and they stay so */
	sim_rounds(s, 40);
	CHECK(sim_owned(s, 1) == 4, "path back: member 1 owns %u", sim_owned(s, 1));

	/* a member dies (its node vanishes, Xen 4.17): the survivors take its
	 * queues over and see a latency spike; nothing moves back and forth
	 * (old code: the queue went back and forth with the spike) */
	sim_init(s, 3, 6, model_failover);
	sim_rounds(s, 10);
	s->n = 2; /* member 3 gone */
	s->rec[2] = (struct vbd_queue_rec){
	    .owner = 1, .epoch = 2, .state = VBD_Q_CONNECTED, .target = VBD_DOMID_NONE};
	s->rec[5] = (struct vbd_queue_rec){
	    .owner = 2, .epoch = 2, .state = VBD_Q_CONNECTED, .target = VBD_DOMID_NONE};
	s->spike_q = 2;
	s->spike_rounds = 4;
	sim_rounds(s, 60);
	CHECK(s->moves == 0, "after the death: %u hand-off(s)", s->moves);
	for (unsigned q = 0; q < s->nq; q++)
		CHECK(s->moved[q] <= 1, "queue %u moved %u times", q, s->moved[q]);
	/* the same with a supervisor that marks it dead and keeps the node,
	 * and with storage that is slow for good on a survivor: no shedding
	 * while a member is not active */
	sim_init(s, 3, 6, model_slow_member);
	s->slow_dom = 1;
	s->mem[2].state = VBD_MEMBER_DEAD;
	for (unsigned q = 2; q < 6; q += 3)
		s->rec[q] = (struct vbd_queue_rec){.owner = q == 2 ? 1 : 2,
						   .epoch = 2,
						   .state = VBD_Q_CONNECTED,
						   .target = VBD_DOMID_NONE};
	sim_rounds(s, 40);
	CHECK(s->slow_moves == 0, "a dead member: no slow hand-off (%u)", s->slow_moves);
	s->n = 2; /* removed */
	sim_rounds(s, VBD_BAL_SETTLE_MS / VBD_BALANCE_MS);
	CHECK(s->slow_moves == 0, "settling after the removal: %u", s->slow_moves);
	sim_rounds(s, 20);
	CHECK(s->slow_moves >= 1, "then the slow survivor sheds: %u", s->slow_moves);

	/* a joiner gets its share within 2 s: the count rule is not damped */
	sim_init_joiner(s, 3, 6);
	s->n = 3;
	s->mem[2].state = VBD_MEMBER_JOINING;
	sim_round(s);
	s->mem[2].state = VBD_MEMBER_ACTIVE;
	sim_round(s);
	CHECK(sim_owned(s, 3) == 2, "joiner owns %u one round after it became active",
	      sim_owned(s, 3));
	CHECK(s->moves == 2 && s->slow_moves == 0, "%u hand-off(s)", s->moves);

	/* members deciding in the same round do not all give the joiner a
	 * queue: 2,2,2,0 -> 1,2,2,1 (not 1,1,1,3, then one back) */
	sim_init_joiner(s, 4, 6);
	s->n = 4;
	sim_rounds(s, 20);
	CHECK(sim_owned(s, 4) == 1 && s->moves == 1,
	      "4 members, 6 queues: joiner owns %u, %u moves", sim_owned(s, 4), s->moves);
	for (unsigned q = 0; q < s->nq; q++)
		CHECK(s->moved[q] <= 1, "queue %u moved %u times", q, s->moved[q]);

	/* ... even right after a takeover
	 * (every queue fresh and the slow rule on hold) */
	sim_init(s, 3, 6, model_failover);
	s->n = 2;
	for (unsigned q = 0; q < 6; q++)
		s->rec[q] = (struct vbd_queue_rec){.owner = q % 2 + 1,
						   .epoch = 1,
						   .state = VBD_Q_CONNECTED,
						   .target = VBD_DOMID_NONE};
	sim_rounds(s, 10);
	for (unsigned q = 0; q < 6; q += 2)
		s->rec[q].epoch++, s->rec[q].owner = 2; /* a takeover each */
	for (unsigned q = 1; q < 6; q += 2)
		s->rec[q].epoch++, s->rec[q].owner = 1;
	sim_round(s);
	s->n = 3;
	s->mem[2].state = VBD_MEMBER_JOINING;
	sim_round(s);
	s->mem[2].state = VBD_MEMBER_ACTIVE;
	sim_rounds(s, 2000 / VBD_BALANCE_MS);
	CHECK(sim_owned(s, 3) == 2, "joiner owns %u after 2 s", sim_owned(s, 3));
	moves = s->moves;
	sim_rounds(s, 40);
	CHECK(s->moves == moves, "then stable: %u more", s->moves - moves);
}

int main(void)
{
	bd.me = 1;
	v.bd = &bd;
	v.members = mem;
	snprintf(v.id, sizeof(v.id), "vol");

	/* fair share */
	CHECK(bal_fair_share(4, 3) == 2, "ceil(4/3)");
	CHECK(bal_fair_share(8, 4) == 2, "ceil(8/4)");
	CHECK(bal_fair_share(5, 2) == 3, "ceil(5/2)");
	CHECK(bal_fair_share(4, 0) == 4, "no active member");

	/* counting: draining counts for the target */
	reset(4);
	rec(0, 1, VBD_Q_CONNECTED, VBD_DOMID_NONE);
	rec(1, 1, VBD_Q_DRAINING, 2);
	rec(2, 2, VBD_Q_CLAIMED, VBD_DOMID_NONE);
	rec(3, VBD_DOMID_NONE, VBD_Q_UNOWNED, VBD_DOMID_NONE);
	CHECK(bal_count_owned(&a, 1) == 1, "me: %u", bal_count_owned(&a, 1));
	CHECK(bal_count_owned(&a, 2) == 2, "target: %u", bal_count_owned(&a, 2));

	/* target: fewest queues, then inflight, then cost, then domid;
	 * never me, never a non-active member */
	reset(4);
	member(0, 1, VBD_MEMBER_ACTIVE, 0, 0, 0, 100);
	member(1, 2, VBD_MEMBER_ACTIVE, 5, 0, 0, 100);
	member(2, 3, VBD_MEMBER_ACTIVE, 3, 0, 0, 100);
	member(3, 4, VBD_MEMBER_LEAVING, 0, 0, 0, 100);
	member(4, 5, VBD_MEMBER_FAILED, 0, 0, 0, 100);
	rec(0, 1, VBD_Q_CONNECTED, 0);
	rec(1, 1, VBD_Q_CONNECTED, 0);
	rec(2, 2, VBD_Q_CONNECTED, 0);
	rec(3, 3, VBD_Q_CONNECTED, 0);
	CHECK(bal_pick_target(&v, &a) == 3, "tie on queues -> lower inflight: %u",
	      bal_pick_target(&v, &a));
	mem[2].load.inflight = 5;
	mem[2].load.cost = 50;
	CHECK(bal_pick_target(&v, &a) == 3, "tie on inflight -> lower cost");
	mem[2].load.cost = 100;
	CHECK(bal_pick_target(&v, &a) == 2, "full tie -> lower domid");
	rec(3, 2, VBD_Q_CONNECTED, 0);
	CHECK(bal_pick_target(&v, &a) == 3, "fewest queues first");
	mem[2].state = VBD_MEMBER_DEAD;
	mem[1].state = VBD_MEMBER_FENCED;
	CHECK(bal_pick_target(&v, &a) == VBD_DOMID_NONE, "no active member but me");

	/* slow members */
	reset(2);
	member(0, 1, VBD_MEMBER_ACTIVE, 0, 100, 5000, 100);
	member(1, 2, VBD_MEMBER_ACTIVE, 0, 100, 1000, 100);
	member(2, 3, VBD_MEMBER_ACTIVE, 0, 100, 1200, 100);
	CHECK(bal_member_slow(&v, 1), "5 ms vs median 1.2 ms is slow");
	CHECK(!bal_member_slow(&v, 2) && !bal_member_slow(&v, 3), "others are not");
	mem[0].load.lat_us = 2000;
	CHECK(!bal_member_slow(&v, 1), "2 ms vs 1.2 ms is not twice");
	reset(2);
	member(0, 1, VBD_MEMBER_ACTIVE, 0, 100, 3000, 100);
	member(1, 2, VBD_MEMBER_ACTIVE, 0, 100, 1000, 100);
	CHECK(bal_member_slow(&v, 1), "two members: the lower median counts");
	member(1, 2, VBD_MEMBER_ACTIVE, 0, 100, 100, 100);
	mem[0].load.lat_us = 900;
	CHECK(!bal_member_slow(&v, 1), "below 1 ms is never slow");
	member(1, 2, VBD_MEMBER_ACTIVE, 0, 0, 0, 100);
	mem[0].load.lat_us = 9000;
	CHECK(!bal_member_slow(&v, 1), "members without a latency do not make the median");
	/* a slow member is no target */
	reset(2);
	member(0, 1, VBD_MEMBER_ACTIVE, 0, 100, 1000, 100);
	member(1, 2, VBD_MEMBER_ACTIVE, 0, 100, 1100, 100);
	member(2, 3, VBD_MEMBER_ACTIVE, 0, 100, 9000, 100);
	rec(0, 1, VBD_Q_CONNECTED, 0);
	rec(1, 2, VBD_Q_CONNECTED, 0);
	CHECK(bal_pick_target(&v, &a) == 2, "slow member 3 skipped: %u", bal_pick_target(&v, &a));

	/* claim rule */
	reset(1);
	member(0, 1, VBD_MEMBER_ACTIVE, 0, 0, 0, 100);
	member(1, 2, VBD_MEMBER_ACTIVE, 0, 0, 0, 100);
	member(2, 3, VBD_MEMBER_DEAD, 0, 0, 0, 100);
	member(3, 4, VBD_MEMBER_FENCED, 0, 0, 0, 100);
	member(4, 5, VBD_MEMBER_FAILED, 0, 0, 0, 100);
	member(5, 6, VBD_MEMBER_LEAVING, 0, 0, 0, 100);
	struct {
		unsigned owner;
		enum vbd_queue_state st;
		int want;
		const char *what;
	} cases[] = {
	    {VBD_DOMID_NONE, VBD_Q_UNOWNED, 1, "unowned"},
	    {2, VBD_Q_CONNECTED, 0, "active owner"},
	    {1, VBD_Q_CONNECTED, 0, "my own"},
	    {3, VBD_Q_CONNECTED, 1, "dead owner"},
	    {3, VBD_Q_CLAIMED, 1, "claimed by a dead member"},
	    {3, VBD_Q_DRAINING, 1, "dead owner while draining"},
	    {4, VBD_Q_CONNECTED, 1, "fenced owner"},
	    {5, VBD_Q_CONNECTED, 1, "failed owner"},
	    {5, VBD_Q_DRAINING, 0, "failed owner handing off"},
	    {6, VBD_Q_DRAINING, 0, "leaving owner"},
	    {9, VBD_Q_CONNECTED, 1, "owner no longer a member"},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vbd_queue_rec r = {.owner = cases[i].owner,
					  .epoch = 3,
					  .state = cases[i].st,
					  .target =
					      cases[i].st == VBD_Q_DRAINING ? 2 : VBD_DOMID_NONE};
		CHECK(own_claimable(&v, &r) == cases[i].want, "claimable(%s) = %d", cases[i].what,
		      own_claimable(&v, &r));
	}

	test_damping();
	return check_done("backend_balance");
}
