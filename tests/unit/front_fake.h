/* SPDX-License-Identifier: MIT */
/* A fake platform for frontend unit tests: grants are plain memory (a ref
 * table maps refs back to pages, as a backend would), the event channel
 * (fake_evtchn.h) counts notifies.  Include once per test program. */
#ifndef FRONT_FAKE_H
#define FRONT_FAKE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vbdpool/platform.h"

/* the event channel: alloc_unbound gives port 7, notifies on it counted */
#define FAKE_EVTCHN_INIT                                                                           \
	{                                                                                          \
		.local = 7, .can_alloc = 1, .fd = -1                                               \
	}
#include "fake_evtchn.h"

/* ---- fake platform ---------------------------------------------------- */
#define MAX_REFS 65536
static void *ref_addr[MAX_REFS];
static vbd_domid_t ref_dom[MAX_REFS];
static unsigned next_ref = 8, live_pages;

static struct vbd_gntshr *f_shr_open(void)
{
	return (struct vbd_gntshr *)0x1;
}
static void f_shr_close(struct vbd_gntshr *h)
{
	(void)h;
}
static void *f_share(struct vbd_gntshr *h, vbd_domid_t domid, int count, vbd_gref_t *refs,
		     int writable)
{
	char *base;

	(void)h;
	(void)writable;
	if (next_ref + (unsigned)count > MAX_REFS) {
		errno = ENOSPC;
		return NULL;
	}
	base = aligned_alloc(VBD_PAGE_SIZE, (size_t)count * VBD_PAGE_SIZE);
	memset(base, 0, (size_t)count * VBD_PAGE_SIZE);
	for (int i = 0; i < count; i++) {
		refs[i] = next_ref;
		ref_addr[next_ref] = base + (size_t)i * VBD_PAGE_SIZE;
		ref_dom[next_ref] = domid;
		next_ref++;
	}
	live_pages += (unsigned)count;
	return base;
}
static int f_unshare(struct vbd_gntshr *h, void *start, int count)
{
	(void)h;
	for (unsigned r = 0; r < MAX_REFS; r++)
		if (ref_addr[r] >= start &&
		    (char *)ref_addr[r] < (char *)start + count * VBD_PAGE_SIZE)
			ref_addr[r] = NULL;
	live_pages -= (unsigned)count;
	free(start);
	return 0;
}
static const struct vbd_gntshr_ops fake_shr = {f_shr_open, f_shr_close, f_share, f_unshare};
static const struct vbd_platform fake = {.name = "fake", .evtchn = &fake_ev, .gntshr = &fake_shr};

#endif
