/* SPDX-License-Identifier: MIT */
/*
 * Adaptive polling before a blocking wait, after QEMU's AioContext
 * (poll-max-ns): a data thread that has just served a batch checks for the
 * next event without sleeping for a while, because a thread that sleeps
 * must be woken — on a VM an inter-processor interrupt and a halted vCPU
 * to restart, tens of microseconds, more than the work of a batch.  The
 * window adapts to what the waits show:
 *
 *   the event came within the window        keep it
 *   it came later, but within max           double it (from 4 us)
 *   it came after more than max             halve it (under 4 us: 0)
 *
 * so an idle or slow peer costs no spinning, and a busy one is met without
 * a sleep.  Callers yield the CPU between checks (sched_yield), so on a
 * machine with fewer CPUs than busy threads the spinner goes last.
 * docs/perf.md "Adaptive polling" has the measurements.
 */
#ifndef VBDPOOL_APOLL_H
#define VBDPOOL_APOLL_H

#include <stdint.h>
#include <time.h>

struct vbd_apoll {
	uint32_t max_ns; /* 0: never poll */
	uint32_t cur_ns; /* current window */
};

#define VBD_APOLL_MIN_NS 4000u

static inline void vbd_apoll_init(struct vbd_apoll *p, unsigned max_us)
{
	p->max_ns = max_us > 4000000u ? 4000000000u : max_us * 1000u;
	p->cur_ns = 0;
}

static inline uint64_t vbd_apoll_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A wait that began at t0 saw its event waited_ns later. */
static inline void vbd_apoll_update(struct vbd_apoll *p, uint64_t waited_ns)
{
	if (waited_ns <= p->cur_ns || !p->max_ns)
		return;
	if (waited_ns > p->max_ns) {
		p->cur_ns /= 2;
		if (p->cur_ns < VBD_APOLL_MIN_NS)
			p->cur_ns = 0;
	} else if (p->cur_ns < p->max_ns) {
		p->cur_ns = p->cur_ns ? p->cur_ns * 2 : VBD_APOLL_MIN_NS;
		if (p->cur_ns > p->max_ns)
			p->cur_ns = p->max_ns;
	}
}

#endif
