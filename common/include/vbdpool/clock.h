/* SPDX-License-Identifier: MIT */
/* The one clock of the project: CLOCK_MONOTONIC (never steps back with
 * NTP or the admin's `date`), for timeouts, leases, latencies and rates. */
#ifndef VBDPOOL_CLOCK_H
#define VBDPOOL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t vbd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t vbd_now_us(void)
{
	return vbd_now_ns() / 1000u;
}

static inline uint64_t vbd_now_ms(void)
{
	return vbd_now_ns() / 1000000u;
}

#endif
