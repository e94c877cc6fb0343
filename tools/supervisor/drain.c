/* SPDX-License-Identifier: MIT */
/*
 * Drain: tells the guests when a member that the pool took over without a
 * hand-off can no longer write anything: /vbdpool/volumes/<v>/drained/<m>
 * (readable by the volume's members and attached guests).  A frontend
 * holds back a newer write that overlaps a write the member had in flight
 * until then (or its own storage timeout), so that the member's late copy
 * cannot land over it (docs/protocol.md, "Late writes").
 *
 * When is a member drained?
 *  - its domain died or was destroyed: once domain control no longer
 *    lists it at all.  On Xen a destroyed domain stays listed (dying)
 *    while anything still maps its pages — I/O it issued through another
 *    domain's block backend holds them — so leaving the list is the end of
 *    its I/O; the emulated host models the same (a domain stays dying
 *    until every process of it has exited);
 *  - it was fenced by pausing: after --storage-timeout-ms (the time its
 *    storage may take to complete or abort what it had issued);
 *  - without domain control: after --storage-timeout-ms.
 * The node's value is dom0's wall-clock time in seconds; nodes older than
 * an hour, or naming a domain that is a live member again, are removed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vbd_pool_acl.h"
#include "sv.h"
#include "vbdpool/grow.h"
#include "vbdpool/log.h"
#include "vbd_acl.h"
#include "vbdpool/xs.h"

#define DRAINED_KEEP_S 3600
#define DRAIN_PRUNE_MS 60000

struct drain_entry {
	char vol[VBD_VOLUME_ID_MAX + 1];
	unsigned domid;
	int64_t deadline_ms; /* dom0 monotonic; 0: when the domain is gone */
	int64_t noted_ms;    /* when it was noted (the fast scan lasts a while) */
	bool warned;	     /* "still dying" logged */
};

struct sv_drain {
	struct drain_entry *e; /* pending signals */
	unsigned n, cap;
	struct drain_entry *w; /* written, until the domid is a live member again */
	unsigned nw, wcap;
	int64_t last_prune_ms; /* dom0 monotonic: the last prune (0: never) */
};

static void remember_written(struct sv_drain *d, const char *vol, unsigned domid)
{
	if (VBD_GROW(d->w, d->nw, d->wcap, 16) < 0)
		return; /* the age prune removes it later */
	d->w[d->nw] = (struct drain_entry){.domid = domid};
	snprintf(d->w[d->nw].vol, sizeof(d->w[d->nw].vol), "%s", vol);
	d->nw++;
}

/* A drained/<m> must not outlive the member's next incarnation: a domid
 * that is a live member again (re-added, unfenced) loses it at once, or a
 * later takeover of it would find the old signal and hold nothing. */
static void forget_revived(struct sv *sv, struct sv_drain *d, const struct sv_view *v)
{
	unsigned k = 0;

	for (unsigned i = 0; i < d->nw; i++) {
		struct drain_entry *w = &d->w[i];
		bool revived = false;
		char p[256];

		for (unsigned m = 0; m < v->nm && !revived; m++)
			revived = v->m[m].domid == w->domid && !strcmp(v->m[m].vol, w->vol) &&
				  sv_member_in(&v->m[m], SV_ST(JOINING) | SV_ST(ACTIVE)) &&
				  sv_domain_alive(sv, v, w->domid);
		snprintf(p, sizeof(p), VBD_XS_DRAINED "/%u", w->vol, w->domid);
		if (revived && (vbd_xs_rm(sv->xs, XBT_NULL, p) == 0 ||
				vbd_xs_exists(sv->xs, XBT_NULL, "%s", p) <= 0)) {
			log_info("volume %s: dom%u serves again: drained/%u removed", w->vol,
				 w->domid, w->domid);
			continue;
		}
		d->w[k++] = *w;
	}
	d->nw = k;
}

void sv_drain_note(struct sv *sv, const char *vol, unsigned domid, int64_t deadline_ms)
{
	struct sv_drain *d = sv->drain;

	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++)
		if (d->e[i].domid == domid && !strcmp(d->e[i].vol, vol)) {
			if (deadline_ms &&
			    (!d->e[i].deadline_ms || deadline_ms < d->e[i].deadline_ms))
				d->e[i].deadline_ms = deadline_ms;
			return;
		}
	if (VBD_GROW(d->e, d->n, d->cap, 16) < 0) {
		log_err("out of memory: dom%u's drain on %s is not tracked", domid, vol);
		return;
	}
	d->e[d->n] = (struct drain_entry){
	    .domid = domid, .deadline_ms = deadline_ms, .noted_ms = sv_now_ms()};
	snprintf(d->e[d->n].vol, sizeof(d->e[d->n].vol), "%s", vol);
	d->n++;
}

int sv_drain_waiting(const struct sv *sv)
{
	const struct sv_drain *d = sv->drain;
	int64_t now = sv_now_ms();

	/* a domain normally leaves the list within a second of dying; one
	 * held longer (I/O stuck in its storage) is looked at by the normal
	 * scan, not 50 times a second for ever */
	for (unsigned i = 0; d && i < d->n; i++)
		if (!d->e[i].deadline_ms && now - d->e[i].noted_ms < SV_DRAIN_FAST_MS)
			return 1;
	return 0;
}

static int drain_init(struct sv *sv, void **priv)
{
	sv->drain = calloc(1, sizeof(*sv->drain));
	*priv = sv->drain;
	return sv->drain ? 0 : -1;
}

static void drain_fini(void *priv)
{
	struct sv_drain *d = priv;

	if (d) {
		free(d->e);
		free(d->w);
	}
	free(d);
}

/* Not listed by domain control at all (nor dying); -1: cannot tell.  The
 * domain list alone decides: /local/domain/<id> is the toolstack's, and a
 * domain destroyed through libxenctrl alone (our fence) keeps it after it
 * has left Xen's list (only libxl's destroy removes it; seen on Xen 4.17). */
static int domain_gone(const struct sv_view *v, unsigned domid)
{
	if (v->ndoms < 0)
		return -1;
	for (int i = 0; i < v->ndoms; i++)
		if (v->doms[i].domid == domid)
			return 0;
	return 1;
}

struct write_args {
	const char *vol;
	unsigned domid;
	long long stamp;
};

static int drained_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct write_args *a = arg;
	struct vbd_pool_vol pv;
	char p[256], val[24];
	int rc = vbd_pool_load_vol(h, t, a->vol, &pv);

	if (rc)
		return rc == -ENOENT ? 0 : rc; /* the volume went meanwhile */
	snprintf(p, sizeof(p), VBD_XS_DRAINED, a->vol);
	if (vbd_xs_exists(h, t, "%s", p) <= 0 && (rc = vbd_pool_write(h, t, p, "", &pv)))
		return rc;
	snprintf(p, sizeof(p), VBD_XS_DRAINED "/%u", a->vol, a->domid);
	snprintf(val, sizeof(val), "%lld", a->stamp);
	return vbd_pool_write(h, t, p, val, &pv);
}

/* Removes drained/<m> nodes that are old, or name a live member again (a
 * domid reused: its new incarnation's holds must not end at once). */
static void prune(struct sv *sv, const struct sv_view *v, long long now_s)
{
	char **vols, p[256];
	unsigned nv;

	if (vbd_xs_list(sv->xs, XBT_NULL, &vols, &nv, VBD_XS_VOLUMES))
		return;
	for (unsigned i = 0; i < nv; i++) {
		char **doms;
		unsigned nd;

		snprintf(p, sizeof(p), VBD_XS_DRAINED, vols[i]);
		if (!vbd_volume_id_valid(vols[i]) ||
		    vbd_xs_list(sv->xs, XBT_NULL, &doms, &nd, "%s", p))
			continue;
		for (unsigned k = 0; k < nd; k++) {
			char *val = NULL, *end;
			unsigned long id = strtoul(doms[k], &end, 10);
			bool drop = false;

			if (*end || end == doms[k])
				continue;
			/* a live member again, as forget_revived judges it (a
			 * fenced member, paused, is no live member) */
			for (unsigned m = 0; m < v->nm && !drop; m++)
				drop = v->m[m].domid == id && !strcmp(v->m[m].vol, vols[i]) &&
				       sv_member_in(&v->m[m], SV_ST(JOINING) | SV_ST(ACTIVE)) &&
				       sv_domain_alive(sv, v, (unsigned)id);
			snprintf(p, sizeof(p), VBD_XS_DRAINED "/%s", vols[i], doms[k]);
			if (!drop && vbd_xs_read(sv->xs, XBT_NULL, &val, "%s", p) == 0)
				drop = now_s - strtoll(val, NULL, 10) > DRAINED_KEEP_S;
			free(val);
			if (drop && vbd_xs_rm(sv->xs, XBT_NULL, p) == 0)
				log_info("volume %s: drained/%s removed", vols[i], doms[k]);
		}
		free(doms);
	}
	free(vols);
}

static int drain_check(struct sv *sv, void *priv, const struct sv_view *v)
{
	struct sv_drain *d = priv;
	unsigned k = 0;
	long long now_s = (long long)time(NULL);

	/* every member (or member grant left over) whose domain is not alive */
	for (unsigned i = 0; i < v->nm; i++)
		if (!sv_domain_alive(sv, v, v->m[i].domid))
			sv_drain_note(sv, v->m[i].vol, v->m[i].domid,
				      v->ndoms < 0 ? v->now_ms + sv->storage_timeout_ms : 0);
	for (unsigned i = 0; i < v->ng; i++)
		if (v->g[i].vol[0] && !sv_domain_alive(sv, v, v->g[i].domid))
			sv_drain_note(sv, v->g[i].vol, v->g[i].domid,
				      v->ndoms < 0 ? v->now_ms + sv->storage_timeout_ms : 0);

	for (unsigned i = 0; i < d->n; i++) {
		struct drain_entry *e = &d->e[i];
		int gone = domain_gone(v, e->domid);
		bool due = e->deadline_ms && v->now_ms >= e->deadline_ms;
		struct write_args a = {e->vol, e->domid, now_s};
		int rc;

		if (gone != 1 && !due) {
			if (!e->warned && v->now_ms - e->noted_ms >= SV_DRAIN_FAST_MS) {
				log_warn(
				    "volume %s: dom%u is still dying %lld ms after its death: "
				    "guests hold writes overlapping what it had in flight until "
				    "it is gone (or their storage timeout)",
				    e->vol, e->domid, (long long)(v->now_ms - e->noted_ms));
				e->warned = true;
			}
			d->e[k++] = *e;
			continue;
		}
		rc = vbd_xs_transact(sv->xs, drained_txn, &a);
		if (rc < 0) {
			log_err("volume %s: writing drained/%u: %s (retried)", e->vol, e->domid,
				strerror(-rc));
			d->e[k++] = *e;
			continue;
		}
		log_info("volume %s: dom%u drained (%s): drained/%u written", e->vol, e->domid,
			 gone == 1 ? "its domain is gone" : "storage timeout passed", e->domid);
		remember_written(d, e->vol, e->domid);
	}
	d->n = k;
	forget_revived(sv, d, v);
	/* pruning lists every volume's drained/: after a change of the pool
	 * (a member back) within a second, else once a minute (old nodes) */
	if ((v->pool_read && v->now_ms >= d->last_prune_ms + 1000) ||
	    v->now_ms >= d->last_prune_ms + DRAIN_PRUNE_MS) {
		prune(sv, v, now_s);
		d->last_prune_ms = v->now_ms;
	}
	return 0;
}

SV_MODULE(drain, drain_init, drain_fini, drain_check);
