/* SPDX-License-Identifier: MIT */
/* The supervisor's view of the pool, and member-state writes (see sv.h). */
#include "sv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>

#include "vbd_pool_acl.h"
#include "vbdpool/grow.h"
#include "vbdpool/log.h"
#include "vbdpool/parse_num.h"
#include "vbdpool/pool_snap.h"
#include "vbd_acl.h"
#include "vbdpool/xs.h"

#define SV_MAX_DOMS 1024

static int add_grant(struct sv_view *v, unsigned *cap, const char *vol, unsigned domid)
{
	for (unsigned i = 0; i < v->ng; i++)
		if (v->g[i].domid == domid && !strcmp(v->g[i].vol, vol))
			return 0;
	if (vbd_grow(&v->g, v->ng, cap, sizeof(*v->g), 8) < 0)
		return -ENOMEM;
	snprintf(v->g[v->ng].vol, sizeof(v->g[v->ng].vol), "%s", vol);
	v->g[v->ng++].domid = domid;
	return 0;
}

static int is_member(const struct sv_view *v, const char *vol, unsigned domid)
{
	for (unsigned i = 0; i < v->nm; i++)
		if (v->m[i].domid == domid && (!vol || !strcmp(v->m[i].vol, vol)))
			return 1;
	return 0;
}

/* The domains `path`'s ACL names (after the owner) that are no member of
 * vol (any volume if vol is NULL): recorded as grants under `tag`. */
static int stale_grants(struct sv *sv, xs_transaction_t t, struct sv_view *v, unsigned *cap,
			const char *path, const char *vol, const char *tag)
{
	struct vbd_acl acl;
	int rc = 0;

	if (vbd_acl_xs_get(sv->xs, t, path, &acl))
		return 0; /* not there (yet): nothing granted */
	for (unsigned i = 1; i < acl.n && !rc; i++)
		if (acl.e[i].domid != 0 && acl.e[i].domid != acl.e[0].domid &&
		    acl.e[i].domid < DOMID_FIRST_RESERVED && !is_member(v, vol, acl.e[i].domid))
			rc = add_grant(v, cap, tag, acl.e[i].domid);
	return rc;
}

/* The members of every volume, with their state and heartbeat, from one
 * typed snapshot (vbdpool/pool_snap.h) read in t. */
static int view_members(struct sv *sv, xs_transaction_t t, struct sv_view *v,
			struct vbd_pool_snap *snap)
{
	unsigned n = 0;
	int rc = vbd_pool_snap_read(sv->xs, t, NULL,
				    VBD_SNAP_M_STATE | VBD_SNAP_M_HB | VBD_SNAP_M_STUCK, snap);

	if (rc)
		return rc;
	for (unsigned i = 0; i < snap->nv; i++)
		n += snap->v[i].nm;
	v->m = calloc(n ? n : 1, sizeof(*v->m));
	if (!v->m)
		return -ENOMEM;
	for (unsigned i = 0; i < snap->nv; i++)
		for (unsigned k = 0; k < snap->v[i].nm; k++) {
			const struct vbd_snap_member *sm = &snap->v[i].m[k];
			struct sv_member *m = &v->m[v->nm++];
			snprintf(m->vol, sizeof(m->vol), "%s", snap->v[i].id);
			m->domid = sm->domid;
			m->has_state = sm->has_state;
			m->state = sm->state;
			m->has_hb = sm->has_hb;
			m->hb = sm->hb;
			/* malformed: not trusted to say so (nor that it does not) */
			m->io_stuck_ms = sm->has_io_stuck == VBD_SNAP_OK && sm->io_stuck_ms
					     ? sm->io_stuck_ms
					     : 0;
		}
	return 0;
}

struct sv_alive_memo {
	unsigned n, cap;
	struct {
		unsigned domid;
		int alive;
	} * e;
};

void sv_view_free(struct sv_view *v)
{
	free(v->m);
	free(v->g);
	free(v->doms);
	if (v->alive)
		free(v->alive->e);
	free(v->alive);
	memset(v, 0, sizeof(*v));
	v->ndoms = -1;
}

void sv_pool_cache_free(struct sv *sv)
{
	free(sv->pool.m);
	free(sv->pool.g);
	sv->pool.m = NULL;
	sv->pool.g = NULL;
	sv->pool.nm = sv->pool.ng = 0;
	sv->pool.valid = 0;
}

void sv_pool_changed(struct sv *sv)
{
	sv->pool.valid = 0;
}

static void *dup_array(const void *a, size_t n, size_t size)
{
	void *c = malloc(n ? n * size : 1);

	if (c && n)
		memcpy(c, a, n * size);
	return c;
}

/* Keep what a full read found for the ticks that follow. */
static void cache_store(struct sv *sv, const struct sv_view *v)
{
	struct sv_member *m = dup_array(v->m, v->nm, sizeof(*v->m));
	struct sv_grant *g = dup_array(v->g, v->ng, sizeof(*v->g));

	sv_pool_cache_free(sv);
	if (!m || !g) { /* read it all again next time */
		free(m);
		free(g);
		return;
	}
	sv->pool = (struct sv_pool_cache){.m = m,
					  .nm = v->nm,
					  .g = g,
					  .ng = v->ng,
					  .valid = 1,
					  .reread_ms = v->now_ms + SV_POOL_REREAD_MS};
}

/* One heartbeat node into *has / *hb, as the pool snapshot reads it. */
static void read_hb(struct sv *sv, const char *path, enum vbd_snap_has *has, uint64_t *hb)
{
	char *val;

	*hb = 0;
	*has = VBD_SNAP_ABSENT;
	if (vbd_xs_read(sv->xs, XBT_NULL, &val, "%s", path))
		return;
	*has = vbd_parse_u64(val, UINT64_MAX, hb) == 0 ? VBD_SNAP_OK : VBD_SNAP_BAD;
	if (*has != VBD_SNAP_OK)
		*hb = 0;
	free(val);
}

/* The view from the cache, with fresh heartbeats: the domain's one node
 * (read once per domain), else the volume's own (older daemons), the
 * order vbd_pool_snap_read follows. */
static int view_from_cache(struct sv *sv, struct sv_view *v)
{
	char p[VBD_XS_PATH_MAX];

	v->m = dup_array(sv->pool.m, sv->pool.nm, sizeof(*v->m));
	v->g = dup_array(sv->pool.g, sv->pool.ng, sizeof(*v->g));
	if (!v->m || !v->g)
		return -ENOMEM;
	v->nm = sv->pool.nm;
	v->ng = sv->pool.ng;
	for (unsigned i = 0; i < v->nm; i++) {
		struct sv_member *m = &v->m[i];
		unsigned k = 0;

		while (k < i && v->m[k].domid != m->domid)
			k++;
		if (k < i && v->m[k].has_hb != VBD_SNAP_ABSENT && v->m[k].hb_domain) {
			m->has_hb = v->m[k].has_hb;
			m->hb = v->m[k].hb;
			m->hb_domain = 1;
			continue;
		}
		snprintf(p, sizeof(p), VBD_XS_DOMAIN_HB, m->domid);
		read_hb(sv, p, &m->has_hb, &m->hb);
		m->hb_domain = m->has_hb != VBD_SNAP_ABSENT;
		/* a member no daemon has joined yet (no state) beats nowhere */
		if (!m->hb_domain && m->has_state != VBD_SNAP_ABSENT) {
			snprintf(p, sizeof(p), VBD_XS_MEMBER "/heartbeat", m->vol, m->domid);
			read_hb(sv, p, &m->has_hb, &m->hb);
		}
	}
	return 0;
}

/* The whole pool in one transaction: members, states, heartbeats, grants
 * left over. */
static int view_read_pool(struct sv *sv, struct sv_view *v)
{
	struct vbd_pool_snap snap = {0};
	unsigned gcap = 0;
	char p[VBD_XS_PATH_MAX];
	xs_transaction_t t;
	int rc;

	t = xs_transaction_start(sv->xs); /* one snapshot; abandoned */
	rc = view_members(sv, t, v, &snap);
	/* grants the members have lost (backing: "n0 M", the members only) */
	for (unsigned i = 0; i < snap.nv && !rc; i++) {
		snprintf(p, sizeof(p), VBD_XS_VOLUME "/backing", snap.v[i].id);
		rc = stale_grants(sv, t, v, &gcap, p, snap.v[i].id, snap.v[i].id);
	}
	if (!rc)
		rc = stale_grants(sv, t, v, &gcap, VBD_XS_SUPERVISOR, NULL, "");
	vbd_pool_snap_free(&snap);
	if (t != XBT_NULL)
		xs_transaction_end(sv->xs, t, true);
	return rc;
}

int sv_view_build(struct sv *sv, struct sv_view *v)
{
	int rc;

	memset(v, 0, sizeof(*v));
	v->ndoms = -1;
	v->now_ms = sv_now_ms();
	v->alive = calloc(1, sizeof(*v->alive));
	if (!v->alive)
		return -ENOMEM;
	if (sv->pool.valid && v->now_ms < sv->pool.reread_ms) {
		rc = view_from_cache(sv, v);
	} else {
		rc = view_read_pool(sv, v);
		if (!rc)
			cache_store(sv, v);
		v->pool_read = 1;
	}
	/* Domains are listed after the members are read: a member seen above
	 * had its domain before this list, so a domain missing from it is
	 * really gone (listing first would miss a domain created and added
	 * as a member in between, and call it dead). */
	if (!rc && sv->domctl) {
		v->doms = calloc(SV_MAX_DOMS, sizeof(*v->doms));
		if (!v->doms) {
			rc = -ENOMEM;
		} else {
			int n = vbd_platform()->domctl->list(sv->domctl, v->doms, SV_MAX_DOMS);
			if (n < 0)
				log_warn("domctl list: %s", strerror(-n));
			else
				v->ndoms = n < SV_MAX_DOMS ? n : SV_MAX_DOMS;
		}
	}
	if (rc)
		sv_view_free(v);
	return rc;
}

static int domain_alive(struct sv *sv, const struct sv_view *v, unsigned domid)
{
	char p[64];

	snprintf(p, sizeof(p), "/local/domain/%u", domid);
	if (vbd_xs_exists(sv->xs, XBT_NULL, "%s", p) <= 0)
		return 0;
	if (v->ndoms < 0)
		return 1;
	for (int i = 0; i < v->ndoms; i++)
		if (v->doms[i].domid == domid)
			return v->doms[i].state != VBD_DOM_DYING;
	return 0;
}

int sv_domain_alive(struct sv *sv, const struct sv_view *v, unsigned domid)
{
	struct sv_alive_memo *a = v->alive;
	int alive;

	for (unsigned i = 0; a && i < a->n; i++)
		if (a->e[i].domid == domid)
			return a->e[i].alive;
	alive = domain_alive(sv, v, domid);
	if (a && VBD_GROW(a->e, a->n, a->cap, 16) == 0) { /* else asked again next time */
		a->e[a->n].domid = domid;
		a->e[a->n++].alive = alive;
	}
	return alive;
}

struct state_args {
	const char *const *vols;
	unsigned n, domid, written;
	const char *state;
	const char *const *keep;
};

static int in_list(const char *s, const char *const *list)
{
	for (; list && *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static int state_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct state_args *a = arg;
	int rc = 0;

	a->written = 0;
	for (unsigned i = 0; i < a->n && !rc; i++) {
		char p[256], *cur = NULL;
		snprintf(p, sizeof(p), VBD_XS_MEMBER, a->vols[i], a->domid);
		if (vbd_xs_exists(h, t, "%s", p) <= 0)
			continue; /* removed meanwhile */
		snprintf(p, sizeof(p), VBD_XS_MEMBER "/state", a->vols[i], a->domid);
		if (vbd_xs_read(h, t, &cur, "%s", p) == 0 &&
		    (in_list(cur, a->keep) || !strcmp(cur, a->state))) {
			free(cur);
			continue;
		}
		free(cur);
		/* the node keeps the member's ACL (r<m>, owned by it) */
		rc = vbd_pool_write(h, t, p, a->state, NULL);
		if (!rc)
			a->written++;
	}
	return rc;
}

int sv_set_member_state(struct sv *sv, const char *const *vols, unsigned n, unsigned domid,
			const char *state, const char *const *keep)
{
	struct state_args a = {vols, n, domid, 0, state, keep};
	int rc = vbd_xs_transact(sv->xs, state_txn, &a);

	return rc ? rc : (int)a.written;
}

struct revoke_args {
	const char *vol;
	struct sv_gone *gone;
	unsigned n;
};

static int revoke_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct revoke_args *a = arg;
	int rc = 0;

	if (!a->vol)
		return vbd_pool_sync_supervisor_acls(h, t);
	for (unsigned i = 0; i < a->n && !rc; i++) {
		char p[256];
		snprintf(p, sizeof(p), VBD_XS_MEMBER, a->vol, a->gone[i].domid);
		a->gone[i].removed = vbd_xs_exists(h, t, "%s", p) > 0;
		if (a->gone[i].removed)
			rc = vbd_xs_rm(h, t, p);
		if (!rc) /* and the domain's index entry (dom0's node: it stays) */
			rc = vbd_pool_index_member(h, t, a->vol, a->gone[i].domid, 0);
	}
	/* the volume's, its attachments' and frontends', the supervisor
	 * area's ACLs from the members left */
	if (!rc)
		rc = vbd_pool_sync_acls(h, t, a->vol);
	return rc == -ENOENT ? 0 : rc; /* the volume went meanwhile */
}

int sv_revoke(struct sv *sv, const char *vol, struct sv_gone *gone, unsigned n)
{
	struct revoke_args a = {vol, gone, n};

	return vbd_xs_transact(sv->xs, revoke_txn, &a);
}
