/* SPDX-License-Identifier: MIT */
/* For test programs that run in several domains at once (tests/progs/plat_*):
 * they meet at XenStore nodes and wait, bounded, for event channel events. */
#ifndef VBD_TEST_RENDEZVOUS_H
#define VBD_TEST_RENDEZVOUS_H

#include <stdint.h>
#include <xenstore.h>

#include "vbdpool/clock.h" /* vbd_now_ms(), which times the waits below */
#include "vbdpool/platform.h"

/* Waits up to wait_s seconds for path to exist; returns its value (a static
 * buffer, truncated to 511 bytes) or NULL with errno ETIMEDOUT. */
const char *rv_await(struct xs_handle *xs, const char *path, unsigned wait_s);

/* The next pending port of h within ms (polling the handle's fd), or -1. */
int rv_wait_event(const struct vbd_platform *p, struct vbd_evtchn *h, int ms);

#endif
