/* SPDX-License-Identifier: MIT */
/* Backend control-path policy without XenStore: fair share, queue counts,
 * hand-off target choice, the slow-member rule and the claim rule. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "../../backend/backd.h"

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

	return check_done("backend_balance");
}
