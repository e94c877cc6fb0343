/* SPDX-License-Identifier: MIT */
/*
 * vbdpool-supervisor: dom0's eyes for the pool.  The core (main.c, sv.c)
 * owns the XenStore connection, the domain-control handle and the event
 * loop; it builds a view of every volume's members and of which domains
 * exist, and hands it to each module:
 *
 *   death.c  members whose domain is gone  -> members/<m>/state = dead
 *   (fence.c, later: members whose heartbeat stops -> pause/destroy the
 *    domain through vbd_platform()->domctl, then state = fenced)
 *
 * A module is a struct sv_module in the table in main.c; it sees the view
 * after each @introduceDomain/@releaseDomain event and on every scan tick
 * (VBD_SUPERVISOR_SCAN_MS), and changes member states with
 * sv_set_member_state().
 */
#ifndef VBDSV_SV_H
#define VBDSV_SV_H

#include <stdint.h>
#include <xenstore.h>

#include "vbdpool/platform.h"
#include "vbdpool/proto.h"

struct sv_member {
	char vol[VBD_VOLUME_ID_MAX + 1];
	unsigned domid;
	char state[16];	    /* "" if the member has not written one */
	char heartbeat[24]; /* raw, "" if none */
};

struct sv_view {
	int64_t now_ms; /* dom0 CLOCK_MONOTONIC when the view was taken */
	struct sv_member *m;
	unsigned nm;
	/* from domctl `list`, or ndoms = -1 when no domctl is available */
	struct vbd_dominfo *doms;
	int ndoms;
};

struct sv {
	struct xs_handle *xs;
	struct vbd_domctl *domctl; /* NULL: XenStore is the only witness */
};

/* Does the domain exist and is it not dying?  /local/domain/<id> must be
 * there and, when domctl is available, the domain listed and not DYING
 * (on Xen a destroyed domain lingers as a zombie while others map its
 * pages: that is dead for the pool). */
int sv_domain_alive(struct sv *sv, const struct sv_view *v, unsigned domid);

/* Write members/<domid>/state = state in each of the `n` volumes, in one
 * transaction, skipping volumes where the member is gone or its state is
 * already one of `keep` (NULL-terminated list). Returns how many it
 * wrote, or -errno. */
int sv_set_member_state(struct sv *sv, const char *const *vols, unsigned n, unsigned domid,
			const char *state, const char *const *keep);

int sv_view_build(struct sv *sv, struct sv_view *v);
void sv_view_free(struct sv_view *v);

struct sv_module {
	const char *name;
	int (*init)(struct sv *sv, void **priv);
	void (*fini)(void *priv);
	/* after domain events (and once at start) */
	int (*on_domains)(struct sv *sv, void *priv, const struct sv_view *v);
	/* every VBD_SUPERVISOR_SCAN_MS */
	int (*on_tick)(struct sv *sv, void *priv, const struct sv_view *v);
};

extern const struct sv_module sv_death_module;

#endif
