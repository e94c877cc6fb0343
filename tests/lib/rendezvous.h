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

/* Where the programs meet: the XenStore directory and how long to wait
 * there for the other role to reach a step.  Set before rv_post/rv_meet. */
struct rv_place {
	struct xs_handle *xs;
	const char *dir;
	unsigned wait_s;
};
extern struct rv_place rv_place;

/* Writes DIR/key = val, or exits through case_fatal() (cases.h). */
void rv_post(const char *key, const char *val);

/* Waits for DIR/key and returns its value (rv_await's buffer), or exits
 * through case_fatal() when it times out. */
const char *rv_meet(const char *key);

/* The next pending port of h within ms (polling the handle's fd), or -1. */
int rv_wait_event(const struct vbd_platform *p, struct vbd_evtchn *h, int ms);

#endif
