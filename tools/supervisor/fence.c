/* SPDX-License-Identifier: MIT */
/*
 * Fence: a member whose heartbeat stops is stopped before anyone takes its
 * queues.
 *
 * A member's `heartbeat` is rewritten by its vbdpool-backd every
 * VBD_HEARTBEAT_MS (or a quarter of the lease, if shorter).  Its age is
 * measured on dom0's clock as the time since the supervisor last saw the
 * value change (on real Xen each domain's clock is its own: the value is
 * only a liveness counter).  When it has not changed for the lease
 * (--lease-ms, default VBD_LEASE_MS) and the domain still runs, the
 * supervisor FENCES FIRST — destroys (default) or pauses the domain
 * through domain control — and only when that succeeded writes
 * `members/<m>/state = fenced` in every volume the domain serves; the
 * survivors then claim its queues as they do for `dead`.  A member whose
 * domain could not be stopped is never written fenced (its queues stay
 * where they are: a hung member stalls them, it never corrupts them).
 *
 * Which members are watched: those with a heartbeat node in a state in
 * which a daemon runs (joining, active, leaving, failed).  A daemon that
 * stops cleanly (SIGTERM, every queue handed off) removes its heartbeat.
 *
 * Destroy is the default because it is the one stop after which Xen can
 * tell when the member's I/O is over (the domain leaves the domain list
 * once nothing of it is mapped or in flight: drain.c turns that into the
 * drained/<m> signal the guests wait for before letting a newer write
 * overlap one the member had in flight).  Pause keeps the domain for a
 * post-mortem, but I/O it had issued may still land for as long as its
 * storage takes to complete or abort it: drained/<m> is written only after
 * --storage-timeout-ms.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sv.h"
#include "vbdpool/grow.h"
#include "vbdpool/log.h"

struct hb_track {
	char vol[VBD_VOLUME_ID_MAX + 1];
	unsigned domid;
	enum vbd_snap_has has_hb; /* the heartbeat last seen */
	uint64_t hb;
	int64_t changed_ms; /* dom0 clock: when hb last changed (or was first seen) */
	bool seen;
	bool stuck_logged; /* "io-stuck, but no other member serves": said once */
	int64_t stuck_ms;  /* dom0 clock: when io-stuck was first seen (0: not) */
};

struct fence_priv {
	struct hb_track *t;
	unsigned n, cap;
	bool warned_nodomctl;
};

static const char *const final_states[] = {"dead", "fenced", NULL};

/* States a running daemon writes: its heartbeat is watched. */
#define DAEMON_STATES (SV_ST(JOINING) | SV_ST(ACTIVE) | SV_ST(LEAVING) | SV_ST(FAILED))

static int fence_init(struct sv *sv, void **priv)
{
	(void)sv;
	*priv = calloc(1, sizeof(struct fence_priv));
	return *priv ? 0 : -1;
}

static void fence_fini(void *priv)
{
	struct fence_priv *p = priv;

	if (p)
		free(p->t);
	free(p);
}

static struct hb_track *track(struct fence_priv *p, const struct sv_member *m, int64_t now)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->t[i].domid == m->domid && !strcmp(p->t[i].vol, m->vol))
			return &p->t[i];
	if (VBD_GROW(p->t, p->n, p->cap, 16) < 0)
		return NULL;
	p->t[p->n] = (struct hb_track){.domid = m->domid, .changed_ms = now};
	snprintf(p->t[p->n].vol, sizeof(p->t[p->n].vol), "%s", m->vol);
	p->t[p->n].has_hb = m->has_hb;
	p->t[p->n].hb = m->hb;
	return &p->t[p->n++];
}

/* Stop domid's domain, then record it fenced in every volume it serves.
 * why: what the member did, for the log ("heartbeat unchanged for ..."). */
static void fence_domain(struct sv *sv, struct fence_priv *p, const struct sv_view *v,
			 unsigned domid, const char *why)
{
	const struct vbd_domctl_ops *dc = vbd_platform()->domctl;
	const char **vols;
	unsigned n = 0;
	int rc;

	if (!sv->domctl) {
		if (!p->warned_nodomctl)
			log_err("dom%u: %s, but there is no domain control to fence it with: "
				"its queues stay with it",
				domid, why);
		p->warned_nodomctl = true;
		return;
	}
	rc = sv->fence == SV_FENCE_PAUSE ? dc->pause(sv->domctl, (vbd_domid_t)domid)
					 : dc->destroy(sv->domctl, (vbd_domid_t)domid);
	if (rc < 0) {
		log_err("dom%u: %s; fencing it (%s) failed: %s: not marking it fenced", domid, why,
			sv_fence_name(sv->fence), strerror(-rc));
		return;
	}
	log_warn("dom%u: %s: domain %s", domid, why,
		 sv->fence == SV_FENCE_PAUSE ? "paused" : "destroyed");
	vols = calloc(v->nm ? v->nm : 1, sizeof(*vols));
	if (!vols)
		return;
	for (unsigned i = 0; i < v->nm; i++)
		if (v->m[i].domid == domid && !sv_member_in(&v->m[i], SV_ST_FINAL))
			vols[n++] = v->m[i].vol;
	rc = n ? sv_set_member_state(sv, vols, n, domid, "fenced", final_states) : 0;
	if (rc < 0)
		log_err("dom%u is %s but recording it fenced failed: %s (retried)", domid,
			sv->fence == SV_FENCE_PAUSE ? "paused" : "destroyed", strerror(-rc));
	else if (rc > 0)
		log_info("dom%u fenced: state=fenced in %d volume%s (first: %s)", domid, rc,
			 rc == 1 ? "" : "s", vols[0]);
	/* a paused domain's I/O can still land until its storage gave up */
	for (unsigned i = 0; i < n && sv->fence == SV_FENCE_PAUSE; i++)
		sv_drain_note(sv, vols[i], domid, v->now_ms + sv->storage_timeout_ms);
	free(vols);
}

/* Another member of m's volume that serves: active, and not stuck too. */
static const struct sv_member *healthy_peer(const struct sv_view *v, const struct sv_member *m)
{
	for (unsigned i = 0; i < v->nm; i++) {
		const struct sv_member *o = &v->m[i];
		if (o->domid != m->domid && !strcmp(o->vol, m->vol) &&
		    sv_member_in(o, SV_ST(ACTIVE)) && !o->io_stuck_ms)
			return o;
	}
	return NULL;
}

#define SV_FENCED_MAX 64 /* domains fenced in one pass, remembered for stuck_check */

/* A member whose storage I/O hangs (members/<m>/io-stuck, written by its
 * daemon once a request has been in its engine for --io-timeout-ms):
 * its heartbeat goes on, but the guest's requests on its queues wait for
 * ever, and a hand-off cannot drain them.  Fenced like a hung member when
 * another member of each volume it is stuck in can serve; never when none
 * can (the storage itself hangs: every member would, and waiting loses
 * nothing that fencing them all would save).  docs/protocol.md "Storage
 * that hangs". */
static void stuck_check(struct sv *sv, struct fence_priv *p, const struct sv_view *v,
			unsigned *fenced, unsigned nfenced)
{
	char why[160];

	for (unsigned i = 0; i < v->nm; i++) {
		const struct sv_member *m = &v->m[i], *peer;
		struct hb_track *t = track(p, m, v->now_ms);
		bool done = false;

		if (t && !m->io_stuck_ms) {
			t->stuck_logged = false; /* said again if it hangs again */
			t->stuck_ms = 0;
		}
		if (!m->io_stuck_ms || !sv_member_in(m, DAEMON_STATES) || !t)
			continue;
		if (!t->stuck_ms)
			t->stuck_ms = v->now_ms ? v->now_ms : 1;
		/* Two leases first: when the storage itself hangs, every
		 * member with I/O outstanding says so within a heartbeat or
		 * two of the first; none of them must look like the healthy
		 * peer.  (A member that had no request in flight says nothing,
		 * and may: docs/protocol.md "Storage that hangs".) */
		if (v->now_ms - t->stuck_ms < 2 * sv->lease_ms)
			continue;
		for (unsigned j = 0; j < nfenced && !done; j++) /* once per domain and pass */
			done = fenced[j] == m->domid;
		if (done)
			continue;
		peer = healthy_peer(v, m);
		if (!peer) {
			if (!t->stuck_logged)
				log_warn(
				    "dom%u: its storage I/O in %s hangs (io-stuck %llu ms), but no "
				    "other member serves it: not fenced, waiting",
				    m->domid, m->vol, (unsigned long long)m->io_stuck_ms);
			t->stuck_logged = true;
			continue;
		}
		if (!sv_domain_alive(sv, v, m->domid))
			continue; /* dead: death.c's */
		snprintf(why, sizeof(why),
			 "storage I/O in %s hangs (io-stuck %llu ms) while dom%u serves it", m->vol,
			 (unsigned long long)m->io_stuck_ms, peer->domid);
		fence_domain(sv, p, v, m->domid, why);
		if (nfenced < SV_FENCED_MAX)
			fenced[nfenced++] = m->domid;
	}
}

static int fence_check(struct sv *sv, void *priv, const struct sv_view *v)
{
	struct fence_priv *p = priv;
	unsigned k = 0, fenced[SV_FENCED_MAX], nfenced = 0;
	char why[160];

	if (sv->fence == SV_FENCE_OFF)
		return 0;
	for (unsigned i = 0; i < p->n; i++)
		p->t[i].seen = false;
	for (unsigned i = 0; i < v->nm; i++) {
		const struct sv_member *m = &v->m[i];
		struct hb_track *t = track(p, m, v->now_ms);

		if (!t)
			return -1;
		t->seen = true;
		/* A malformed heartbeat is watched but never a beat: it is
		 * not trusted to say the member is alive. */
		if (!m->has_hb || !sv_member_in(m, DAEMON_STATES) ||
		    (m->has_hb == VBD_SNAP_OK && (t->has_hb != VBD_SNAP_OK || t->hb != m->hb))) {
			/* changed, or not watched: the lease starts again */
			t->has_hb = m->has_hb;
			t->hb = m->hb;
			t->changed_ms = v->now_ms;
		}
	}
	for (unsigned i = 0; i < p->n; i++) /* members gone from the view */
		if (p->t[i].seen)
			p->t[k++] = p->t[i];
	p->n = k;

	for (unsigned i = 0; i < p->n; i++) {
		struct hb_track *t = &p->t[i];
		int64_t age = v->now_ms - t->changed_ms;
		bool done = false;

		if (age <= sv->lease_ms)
			continue;
		for (unsigned j = 0; j < i && !done; j++) /* once per domain and pass */
			done = p->t[j].domid == t->domid &&
			       v->now_ms - p->t[j].changed_ms > sv->lease_ms;
		if (done || !sv_domain_alive(sv, v, t->domid))
			continue; /* dead: death.c's */
		snprintf(why, sizeof(why), "heartbeat unchanged for %lld ms (lease %lld ms)",
			 (long long)age, (long long)sv->lease_ms);
		fence_domain(sv, p, v, t->domid, why);
		if (nfenced < SV_FENCED_MAX)
			fenced[nfenced++] = t->domid;
	}
	stuck_check(sv, p, v, fenced, nfenced);
	return 0;
}

SV_MODULE(fence, fence_init, fence_fini, fence_check);
