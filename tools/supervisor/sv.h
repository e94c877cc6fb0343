/* SPDX-License-Identifier: MIT */
/*
 * vbdpool-supervisor: dom0's eyes for the pool.  The core (main.c, sv.c)
 * owns the XenStore connection, the domain-control handle and the event
 * loop; it builds a view of every volume's members and of which domains
 * exist, and hands it to each module:
 *
 *   death.c  members whose domain is gone  -> members/<m>/state = dead
 *            (where their nodes are still there), then their grants on
 *            the volumes and the supervisor area revoked and a leftover
 *            members/<m> removed, as `vbdpoolctl member remove` does
 *   fence.c  members whose heartbeat stops for the lease -> destroy (or
 *            pause) the domain through vbd_platform()->domctl, then
 *            state = fenced
 *   drain.c  members taken over without a hand-off -> drained/<m> once
 *            nothing they issued can still land (domain gone, or the
 *            storage timeout after a pause)
 *   autoattach.c  a new guest whose xl config (<dir>/<name>.cfg) has a
 *            vbdpool= line -> `vbdpoolctl attach --config`; a guest gone
 *            -> its attachments removed
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

#include "vbdpool/clock.h"
#include "vbdpool/platform.h"
#include "vbdpool/pool_snap.h"
#include "vbdpool/proto.h"

/* A member of one volume, from the typed pool snapshot (pool_snap.h). */
struct sv_member {
	char vol[VBD_VOLUME_ID_MAX + 1];
	unsigned domid;
	enum vbd_snap_has has_state, has_hb; /* ABSENT, OK or BAD (malformed) */
	enum vbd_member_state state;	     /* when has_state is OK */
	uint64_t hb;			     /* heartbeat; 0 unless has_hb is OK */
	int hb_domain;			     /* sv.c: hb is the domain's one node */
	uint64_t io_stuck_ms; /* members/<m>/io-stuck: its storage I/O hangs (0: not said) */
};

/* Is the member's state one of these (a state that is absent or malformed
 * is none of them)? */
static inline int sv_member_in(const struct sv_member *m, unsigned states)
{
	return m->has_state == VBD_SNAP_OK && (states >> m->state) & 1u;
}
#define SV_ST(s)    (1u << VBD_MEMBER_##s)
#define SV_ST_FINAL (SV_ST(DEAD) | SV_ST(FENCED)) /* written by the supervisor */

/* A domain the pool's ACLs still name although it is no member (the
 * members ACL of volume `vol`, or of the supervisor area when vol is ""):
 * on Xen 4.17 a destroyed member's members/<m> vanishes with it (xenstored
 * removes every node a destroyed domain owns) while dom0's nodes keep
 * naming it. */
struct sv_grant {
	char vol[VBD_VOLUME_ID_MAX + 1];
	unsigned domid;
};

struct sv_view {
	int64_t now_ms; /* dom0 CLOCK_MONOTONIC when the view was taken */
	struct sv_member *m;
	unsigned nm;
	struct sv_grant *g;
	unsigned ng;
	/* from domctl `list`, or ndoms = -1 when no domctl is available */
	struct vbd_dominfo *doms;
	int ndoms;
	/* sv_domain_alive's answers during this view: one XenStore read per
	 * domain, not per member and module */
	struct sv_alive_memo *alive;
	int pool_read; /* the pool was read for this view (changed, or the backstop) */
};

enum sv_fence_policy { SV_FENCE_DESTROY, SV_FENCE_PAUSE, SV_FENCE_OFF };
const char *sv_fence_name(enum sv_fence_policy p);

struct sv_drain;

/* sv.c: the pool part of the last full read (members with their states,
 * grants left over), kept between views: a tick re-reads only the
 * heartbeats (one read per member domain) and the domain list, and the
 * whole pool again only after a watch on /vbdpool/volumes or
 * /vbdpool/supervisor fired (sv_pool_changed) or SV_POOL_REREAD_MS
 * passed.  An idle host of 200 volumes cost 3425 XenStore requests a
 * second when every tick read everything (bench/scale.sh). */
struct sv_pool_cache {
	struct sv_member *m;
	unsigned nm;
	struct sv_grant *g;
	unsigned ng;
	int valid;	   /* 0: read the pool at the next view */
	int64_t reread_ms; /* read it then anyway (a backstop) */
};
#define SV_POOL_REREAD_MS 60000
#define SV_WATCH_POOL	  "pool" /* the token of the pool watches */

struct sv {
	struct xs_handle *xs;
	struct vbd_domctl *domctl; /* NULL: XenStore is the only witness */
	int64_t lease_ms;	   /* heartbeat unchanged this long: fence */
	enum sv_fence_policy fence;
	int64_t storage_timeout_ms; /* I/O of a paused domain may land this long */
	struct sv_drain *drain;	    /* drain.c's pending signals */
	const char *guest_configs;  /* autoattach.c: DIR[:DIR...], "" off; NULL default */
	const char *ctl_path;	    /* autoattach.c: vbdpoolctl; NULL: found */
	struct sv_pool_cache pool;  /* sv.c */
};

/* Where autoattach.c looks for <name>.cfg by default: xl's own config
 * directory (docs/tooling.md says why). */
#define SV_GUEST_CONFIGS "/etc/xen"

/* drain.c: write drained/<domid> in volume vol once the domain is gone
 * (domain control no longer lists it), or at deadline_ms (dom0 monotonic;
 * 0: no deadline), whichever comes first. */
void sv_drain_note(struct sv *sv, const char *vol, unsigned domid, int64_t deadline_ms);
/* Is a drain signal waiting for a domain to leave the domain list? (The
 * main loop then scans every SV_DRAIN_POLL_MS.) */
#define SV_DRAIN_POLL_MS 20
#define SV_DRAIN_FAST_MS 5000 /* ... for at most this long after the death */
/* dom0's CLOCK_MONOTONIC (vbd_now_ms), signed for deadline arithmetic */
static inline int64_t sv_now_ms(void)
{
	return (int64_t)vbd_now_ms();
}
int sv_drain_waiting(const struct sv *sv);

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

/* Revoke what the pool grants `n` gone domains in volume vol (vol NULL:
 * only in the supervisor area), in one transaction: a leftover
 * members/<d> is removed and every member-dependent ACL of the volume
 * and of the supervisor area re-set from the members left (the helpers
 * of `vbdpoolctl member remove`).  gone[i].removed says whether that
 * domain's members/<d> was there.  0 or -errno. */
struct sv_gone {
	unsigned domid;
	int removed;
};
int sv_revoke(struct sv *sv, const char *vol, struct sv_gone *gone, unsigned n);

int sv_view_build(struct sv *sv, struct sv_view *v);
void sv_view_free(struct sv_view *v);
/* A pool watch fired: the next view reads the whole pool again. */
void sv_pool_changed(struct sv *sv);
void sv_pool_cache_free(struct sv *sv);

struct sv_module {
	const char *name;
	int (*init)(struct sv *sv, void **priv);
	void (*fini)(void *priv);
	/* after domain events (and once at start) */
	int (*on_domains)(struct sv *sv, void *priv, const struct sv_view *v);
	/* every VBD_SUPERVISOR_SCAN_MS */
	int (*on_tick)(struct sv *sv, void *priv, const struct sv_view *v);
};

/* A module that runs the same check after domain events and on every
 * tick (init and fini may be NULL). */
#define SV_MODULE(id, init_, fini_, check_)                                                        \
	const struct sv_module sv_##id##_module = {                                                \
	    .name = #id, .init = init_, .fini = fini_, .on_domains = check_, .on_tick = check_}

extern const struct sv_module sv_death_module;
extern const struct sv_module sv_fence_module;
extern const struct sv_module sv_drain_module;
extern const struct sv_module sv_autoattach_module;

#endif
