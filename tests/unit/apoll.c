/* SPDX-License-Identifier: MIT */
/* Unit tests of the adaptive polling window (vbdpool/apoll.h): it starts
 * closed, opens at 4 us when an event comes soon after a sleep, doubles up
 * to the maximum while events keep coming later than the window but
 * within the maximum, holds while events come inside it, halves (then
 * closes) when they come after the maximum, and never opens with a
 * maximum of 0. */
#include <stdint.h>

#include "check.h"
#include "vbdpool/apoll.h"

int main(void)
{
	struct vbd_apoll p;

	vbd_apoll_init(&p, 100);
	CHECK(p.max_ns == 100000 && p.cur_ns == 0, "starts closed");

	vbd_apoll_update(&p, 30000); /* came 30 us after: within max */
	CHECK(p.cur_ns == VBD_APOLL_MIN_NS, "opens at 4 us: %u", p.cur_ns);
	for (unsigned want = 8000; want <= 64000; want *= 2) {
		vbd_apoll_update(&p, 90000);
		CHECK(p.cur_ns == want, "doubles: %u, want %u", p.cur_ns, want);
	}
	vbd_apoll_update(&p, 90000);
	CHECK(p.cur_ns == 100000, "capped at the maximum: %u", p.cur_ns);
	vbd_apoll_update(&p, 90000);
	CHECK(p.cur_ns == 100000);

	vbd_apoll_update(&p, 20000); /* caught inside the window: hold */
	CHECK(p.cur_ns == 100000);

	vbd_apoll_update(&p, 5000000); /* 5 ms: an idle peer */
	CHECK(p.cur_ns == 50000, "halves: %u", p.cur_ns);
	for (int i = 0; i < 3; i++)
		vbd_apoll_update(&p, 5000000);
	CHECK(p.cur_ns == 6250, "halves again: %u", p.cur_ns);
	vbd_apoll_update(&p, 5000000);
	CHECK(p.cur_ns == 0, "below 4 us it closes: %u", p.cur_ns);
	vbd_apoll_update(&p, 5000000);
	CHECK(p.cur_ns == 0, "an idle peer costs no spinning");

	/* a window that caught events short of the maximum keeps its size */
	vbd_apoll_update(&p, 10000);
	vbd_apoll_update(&p, 10000);
	CHECK(p.cur_ns == 8000, "%u", p.cur_ns);
	vbd_apoll_update(&p, 7000);
	CHECK(p.cur_ns == 8000, "%u", p.cur_ns);

	vbd_apoll_init(&p, 0);
	vbd_apoll_update(&p, 10000);
	CHECK(p.cur_ns == 0, "max 0: never polls");

	vbd_apoll_init(&p, 10000000); /* 10 s: clamped, no overflow */
	CHECK(p.max_ns == 4000000000u);
	return check_done("apoll");
}
