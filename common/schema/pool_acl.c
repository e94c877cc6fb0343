/* SPDX-License-Identifier: MIT */
/* The pool area as dom0 writes it (see vbd_pool_acl.h). */
#include "vbd_pool_acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>

#include "vbdpool/pool_snap.h"
#include "vbdpool/proto.h"
#include "vbd_acl.h"
#include "vbdpool/xs.h"

int vbd_pool_att_frontend(const char *name, char *fe, size_t len)
{
	unsigned g, d;

	if (vbd_snap_parse_att(name, &g, &d))
		return -EINVAL;
	return (size_t)snprintf(fe, len, VBD_XS_FRONTEND, g, d) < len ? 0 : -E2BIG;
}

int vbd_pool_has_dom(const uint16_t *set, unsigned n, unsigned domid)
{
	for (unsigned i = 0; i < n; i++)
		if (set[i] == domid)
			return 1;
	return 0;
}

static int add_dom(uint16_t *set, unsigned *n, unsigned long id)
{
	if (id >= DOMID_FIRST_RESERVED || vbd_pool_has_dom(set, *n, (unsigned)id))
		return 0;
	if (*n >= VBD_POOL_MAX_DOMS)
		return -E2BIG;
	set[(*n)++] = (uint16_t)id;
	return 0;
}

int vbd_pool_load_vol(struct xs_handle *h, xs_transaction_t t, const char *id,
		      struct vbd_pool_vol *v)
{
	struct vbd_snap_vol sv;
	int rc;

	memset(v, 0, sizeof(*v));
	rc = vbd_snap_vol_read(h, t, id, VBD_SNAP_MEMBERS | VBD_SNAP_ATTS, &sv);
	if (rc)
		return rc;
	snprintf(v->id, sizeof(v->id), "%s", id);
	for (unsigned i = 0; i < sv.nm && !rc; i++)
		rc = add_dom(v->members, &v->nm, sv.m[i].domid);
	for (unsigned i = 0; i < sv.na && !rc; i++)
		rc = add_dom(v->guests, &v->ng, sv.a[i].guest);
	vbd_snap_vol_free(&sv);
	return rc;
}

struct vbd_acl_ctx vbd_pool_acl_ctx(const struct vbd_pool_vol *v)
{
	if (!v)
		return (struct vbd_acl_ctx){0};
	return (struct vbd_acl_ctx){v->members, v->nm, v->guests, v->ng};
}

int vbd_pool_all_members(struct xs_handle *h, xs_transaction_t t, uint16_t *out, unsigned *n)
{
	char **vols;
	unsigned nv;
	int rc = 0;

	*n = 0;
	if (vbd_xs_list(h, t, &vols, &nv, VBD_XS_VOLUMES))
		return 0;
	for (unsigned i = 0; i < nv && !rc; i++) {
		struct vbd_pool_vol *v = malloc(sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			break;
		}
		if (vbd_pool_load_vol(h, t, vols[i], v) == 0)
			for (unsigned k = 0; k < v->nm && !rc; k++)
				rc = add_dom(out, n, v->members[k]);
		free(v);
	}
	free(vols);
	return rc;
}

static int acl_for(const char *path, const struct vbd_acl_ctx *ctx, struct vbd_acl *acl)
{
	int rc = vbd_schema_acl_for(vbd_schema_builtin(), path, ctx, acl);

	return rc == -ENOENT ? -EPROTO : rc; /* a path the schema lacks is a bug here */
}

int vbd_pool_write(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value,
		   const struct vbd_pool_vol *v)
{
	struct vbd_acl acl;
	struct vbd_acl_ctx ctx = vbd_pool_acl_ctx(v);
	int rc = acl_for(path, &ctx, &acl);

	return rc ? rc : vbd_acl_xs_write(h, t, path, value, &acl);
}

int vbd_pool_ensure_root(struct xs_handle *h, xs_transaction_t t)
{
	int rc = 0;

	if (vbd_xs_exists(h, t, VBD_XS_ROOT) <= 0)
		rc = vbd_pool_write(h, t, VBD_XS_ROOT, "", NULL);
	if (!rc && vbd_xs_exists(h, t, VBD_XS_VOLUMES) <= 0)
		rc = vbd_pool_write(h, t, VBD_XS_VOLUMES, "", NULL);
	return rc;
}

int vbd_pool_index_member(struct xs_handle *h, xs_transaction_t t, const char *vol, unsigned domid,
			  int add)
{
	char dom[96], p[192];
	unsigned n = 0;
	char **names;
	int rc = 0;

	snprintf(dom, sizeof(dom), VBD_XS_MEMBER_OF_DOM, domid);
	snprintf(p, sizeof(p), VBD_XS_MEMBER_OF, domid, vol);
	if (add) {
		if (vbd_xs_exists(h, t, VBD_XS_MEMBERS_OF) <= 0)
			rc = vbd_pool_write(h, t, VBD_XS_MEMBERS_OF, "", NULL);
		if (!rc && vbd_xs_exists(h, t, "%s", dom) <= 0)
			rc = vbd_pool_write(h, t, dom, "", NULL);
		if (!rc)
			rc = vbd_pool_write(h, t, p, "", NULL);
		/* the member's own node for its one heartbeat (owned by it) */
		snprintf(p, sizeof(p), VBD_XS_DOMAIN, domid);
		if (!rc && vbd_xs_exists(h, t, VBD_XS_DOMAINS) <= 0)
			rc = vbd_pool_write(h, t, VBD_XS_DOMAINS, "", NULL);
		if (!rc && vbd_xs_exists(h, t, "%s", p) <= 0)
			rc = vbd_pool_write(h, t, p, "", NULL);
		return rc;
	}
	if (vbd_xs_exists(h, t, "%s", p) > 0 && (rc = vbd_xs_rm(h, t, p)))
		return rc;
	/* the last one: no trace of the domid left for a domain reusing it */
	names = xs_directory(h, t, dom, &n);
	if (names && !n) {
		rc = vbd_xs_rm(h, t, dom);
		snprintf(p, sizeof(p), VBD_XS_DOMAIN, domid);
		if ((!rc || rc == -ENOENT) && vbd_xs_exists(h, t, "%s", p) > 0)
			rc = vbd_xs_rm(h, t, p);
	}
	free(names);
	return rc == -ENOENT ? 0 : rc;
}

static int rule_depends_on_pool(const struct vbd_schema_rule *r)
{
	for (int i = 0; i < r->nperms; i++)
		if (r->perms[i][0] == '+')
			return 1;
	return 0;
}

/* Set the ACL of every node under `path` whose rule uses +M/+B/+G.
 * Nodes the schema does not know are left alone (schema-check reports
 * them). */
static int sync_subtree(struct xs_handle *h, xs_transaction_t t, const char *path,
			const struct vbd_acl_ctx *ctx)
{
	struct vbd_bind b;
	const struct vbd_schema_rule *r = vbd_schema_match(vbd_schema_builtin(), path, &b);
	char **names;
	unsigned n;
	int rc = 0;

	/* Only pool-dependent nodes (and so never a member's own nodes, which
	 * it rewrites every heartbeat: reading them would make this
	 * transaction conflict again and again). */
	if (!r || !rule_depends_on_pool(r))
		return 0;
	{
		struct vbd_acl want, have;
		rc = vbd_schema_expand_acl(r, &b, ctx, &want);
		if (!rc)
			rc = vbd_acl_xs_get(h, t, path, &have);
		if (rc == -ENOENT)
			return 0;
		if (!rc && !vbd_acl_equal(&want, &have))
			rc = vbd_acl_xs_set(h, t, path, &want);
		if (rc)
			return rc;
	}
	if (vbd_xs_list(h, t, &names, &n, "%s", path))
		return 0;
	for (unsigned i = 0; i < n && !rc; i++) {
		char child[512];
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, names[i]) < sizeof(child))
			rc = sync_subtree(h, t, child, ctx);
	}
	free(names);
	return rc;
}

int vbd_pool_sync_supervisor_acls(struct xs_handle *h, xs_transaction_t t)
{
	uint16_t all[VBD_POOL_MAX_DOMS];
	unsigned n;
	struct vbd_acl_ctx ctx;
	int rc = vbd_pool_all_members(h, t, all, &n);

	if (rc)
		return rc;
	ctx = (struct vbd_acl_ctx){all, n, NULL, 0};
	return sync_subtree(h, t, VBD_XS_SUPERVISOR, &ctx);
}

int vbd_pool_sync_acls(struct xs_handle *h, xs_transaction_t t, const char *id)
{
	struct vbd_pool_vol *v = malloc(sizeof(*v));
	struct vbd_acl_ctx ctx;
	char path[256], **names;
	unsigned n;
	int rc;

	if (!v)
		return -ENOMEM;
	rc = vbd_pool_load_vol(h, t, id, v);
	if (rc)
		goto out;
	ctx = vbd_pool_acl_ctx(v);
	snprintf(path, sizeof(path), VBD_XS_VOLUME, id);
	rc = sync_subtree(h, t, path, &ctx);
	snprintf(path, sizeof(path), VBD_XS_ATTACHMENTS, id);
	if (!rc && vbd_xs_list(h, t, &names, &n, "%s", path) == 0) {
		for (unsigned i = 0; i < n && !rc; i++) {
			char fe[128];
			if (!vbd_pool_att_frontend(names[i], fe, sizeof(fe)))
				rc = sync_subtree(h, t, fe, &ctx);
		}
		free(names);
	}
	if (!rc)
		rc = vbd_pool_sync_supervisor_acls(h, t);
out:
	free(v);
	return rc;
}
