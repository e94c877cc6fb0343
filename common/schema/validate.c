/* SPDX-License-Identifier: MIT */
/* The live-tree validator (see vbd_validate.h). */
#include "vbd_validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/proto.h"

#define MAX_DOMS 1024

struct att {
	long g, d;
};

struct vol {
	char id[VBD_VOLUME_ID_MAX + 1];
	uint16_t members[MAX_DOMS];
	unsigned nm;
	uint16_t guests[MAX_DOMS];
	unsigned ng;
	struct att *atts;
	unsigned na;
};

struct vctx {
	const struct vbd_schema *s;
	const struct vbd_tree *t;
	vbd_report_fn report;
	void *arg;
	int count;
	struct vol *vols;
	unsigned nv;
	uint16_t all[MAX_DOMS]; /* members of any volume (supervisor area) */
	unsigned nall;
};

static void violation(struct vctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void violation(struct vctx *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->count++;
	if (c->report)
		c->report(c->arg, path, msg);
}

static int add_dom(uint16_t *set, unsigned *n, long id)
{
	if (id < 0 || id > 0xffff)
		return 0;
	for (unsigned i = 0; i < *n; i++)
		if (set[i] == id)
			return 0;
	if (*n >= MAX_DOMS)
		return -E2BIG;
	set[(*n)++] = (uint16_t)id;
	return 0;
}

static int has_dom(const uint16_t *set, unsigned n, long id)
{
	for (unsigned i = 0; i < n; i++)
		if (set[i] == id)
			return 1;
	return 0;
}

static int parse_domid(const char *s, long *out)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1]))
		return -EINVAL;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v >= 0x7ff0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_att_name(const char *s, long *g, long *d)
{
	char buf[64], *dash;
	long dd;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (!dash)
		return -EINVAL;
	*dash = '\0';
	if (parse_domid(buf, g))
		return -EINVAL;
	if (dash[1] < '0' || dash[1] > '9' || (dash[1] == '0' && dash[2]))
		return -EINVAL;
	char *end;
	dd = strtol(dash + 1, &end, 10);
	if (*end || dd < 0)
		return -EINVAL;
	*d = dd;
	return 0;
}

static int tlist(struct vctx *c, const char *path, char ***names, unsigned *n)
{
	*names = NULL;
	*n = 0;
	return c->t->ops->list(c->t->ctx, path, names, n);
}

static int tread(struct vctx *c, const char *path, char **v)
{
	*v = NULL;
	return c->t->ops->read(c->t->ctx, path, v);
}

static int exists(struct vctx *c, const char *path)
{
	char *v;
	int rc = tread(c, path, &v);
	free(v);
	return rc == 0;
}

/* ---- index: volumes, members, attached guests ------------------------- */

static int index_volume(struct vctx *c, struct vol *v)
{
	char path[256], **names;
	unsigned n;
	int rc;

	snprintf(path, sizeof(path), VBD_XS_MEMBERS, v->id);
	if (tlist(c, path, &names, &n) == 0) {
		for (unsigned i = 0; i < n; i++) {
			long m;
			if (parse_domid(names[i], &m))
				continue; /* reported as an unknown node by the walk */
			if ((rc = add_dom(v->members, &v->nm, m)) ||
			    (rc = add_dom(c->all, &c->nall, m))) {
				vbd_tree_free_names(names, n);
				return rc;
			}
		}
		vbd_tree_free_names(names, n);
	}
	snprintf(path, sizeof(path), VBD_XS_ATTACHMENTS, v->id);
	if (tlist(c, path, &names, &n) == 0) {
		v->atts = calloc(n ? n : 1, sizeof(*v->atts));
		if (!v->atts) {
			vbd_tree_free_names(names, n);
			return -ENOMEM;
		}
		for (unsigned i = 0; i < n; i++) {
			long g, d;
			if (parse_att_name(names[i], &g, &d))
				continue;
			v->atts[v->na].g = g;
			v->atts[v->na].d = d;
			v->na++;
			if ((rc = add_dom(v->guests, &v->ng, g))) {
				vbd_tree_free_names(names, n);
				return rc;
			}
		}
		vbd_tree_free_names(names, n);
	}
	return 0;
}

static int build_index(struct vctx *c)
{
	char **names;
	unsigned n;
	int rc = tlist(c, VBD_XS_VOLUMES, &names, &n);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	c->vols = calloc(n ? n : 1, sizeof(*c->vols));
	if (!c->vols) {
		vbd_tree_free_names(names, n);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n && !rc; i++) {
		struct vol *v = &c->vols[c->nv];
		if (!vbd_volume_id_valid(names[i]))
			continue;
		strcpy(v->id, names[i]);
		c->nv++;
		rc = index_volume(c, v);
	}
	vbd_tree_free_names(names, n);
	return rc;
}

static struct vol *find_vol(struct vctx *c, const char *id)
{
	for (unsigned i = 0; i < c->nv; i++)
		if (!strcmp(c->vols[i].id, id))
			return &c->vols[i];
	return NULL;
}

/* The volume (and attachment) a frontend directory belongs to. */
static struct vol *vol_of_frontend(struct vctx *c, long g, long d, struct att **att)
{
	for (unsigned i = 0; i < c->nv; i++)
		for (unsigned k = 0; k < c->vols[i].na; k++)
			if (c->vols[i].atts[k].g == g && c->vols[i].atts[k].d == d) {
				if (att)
					*att = &c->vols[i].atts[k];
				return &c->vols[i];
			}
	return NULL;
}

/* ---- per-node checks -------------------------------------------------- */

static int under(const char *path, const char *top)
{
	size_t n = strlen(top);
	return !strncmp(path, top, n) && (path[n] == '\0' || path[n] == '/');
}

static void check_acl(struct vctx *c, const char *path, const struct vbd_schema_rule *r,
		      const struct vbd_bind *b, struct vol *v)
{
	struct vbd_acl want, have;
	struct vbd_acl_ctx ac = {0};
	char ws[1024], hs[1024];
	int rc;

	if (v) {
		ac = (struct vbd_acl_ctx){v->members, v->nm, v->guests, v->ng};
	} else if (under(path, VBD_XS_SUPERVISOR)) {
		ac = (struct vbd_acl_ctx){c->all, c->nall, NULL, 0};
	}
	rc = c->t->ops->perms(c->t->ctx, path, &have);
	if (rc) {
		violation(c, path, "cannot read permissions: %s", strerror(-rc));
		return;
	}
	if (vbd_schema_expand_acl(r, b, &ac, &want)) {
		violation(c, path, "schema line %d: cannot expand permissions", r->line);
		return;
	}
	if (!vbd_acl_equal(&want, &have)) {
		vbd_acl_normalize(&want);
		vbd_acl_format(&have, hs, sizeof(hs));
		vbd_acl_format(&want, ws, sizeof(ws));
		violation(c, path, "permissions '%s', expected '%s'", hs, ws);
	}
	/* Spell out the dangerous case: a guest (or everyone) may write the
	 * pool area, where ownership is decided. */
	if (under(path, VBD_XS_ROOT) && have.n) {
		if (have.e[0].perm & VBD_PERM_WRITE)
			violation(c, path, "writable by every domain");
		for (unsigned i = 0; v && i < v->ng; i++) {
			uint16_t g = v->guests[i];
			if (!has_dom(v->members, v->nm, g) &&
			    (vbd_acl_perm_of(&have, g) & VBD_PERM_WRITE))
				violation(c, path, "writable by guest %u", g);
		}
	}
}

static void check_qrec(struct vctx *c, const char *path, const char *value, struct vol *v)
{
	struct vbd_queue_rec rec;

	if (vbd_queue_rec_parse(value, &rec))
		return; /* already reported as a bad value */
	if (rec.owner != VBD_DOMID_NONE && (!v || !has_dom(v->members, v->nm, rec.owner)))
		violation(c, path, "owner %u is not a member of the volume", rec.owner);
	if (rec.state == VBD_Q_DRAINING && (!v || !has_dom(v->members, v->nm, rec.target)))
		violation(c, path, "target %u is not a member of the volume", rec.target);
	if (rec.owner != VBD_DOMID_NONE && rec.epoch == 0)
		violation(c, path, "owned record with epoch 0 (every claim increments it)");
}

static const char *last_seg(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void check_links(struct vctx *c, const char *path, const struct vbd_bind *b,
			const char *value, struct vol *v)
{
	char want[256];
	const char *leaf = last_seg(path);

	if (!v || b->g < 0 || b->d < 0)
		return;
	if (under(path, VBD_XS_ROOT) && !strcmp(leaf, "frontend")) {
		snprintf(want, sizeof(want), VBD_XS_FRONTEND, (unsigned)b->g, (unsigned)b->d);
		if (strcmp(value, want))
			violation(c, path, "'%s' is not the attachment's frontend '%s'", value,
				  want);
	} else if (!under(path, VBD_XS_ROOT) && b->q < 0) {
		if (!strcmp(leaf, "volume") && strcmp(value, v->id))
			violation(c, path, "names volume '%s' but the attachment is in '%s'", value,
				  v->id);
		snprintf(want, sizeof(want), VBD_XS_ATTACHMENT, v->id, (unsigned)b->g,
			 (unsigned)b->d);
		if (!strcmp(leaf, "pool") && strcmp(value, want))
			violation(c, path, "'%s' is not the attachment '%s'", value, want);
	}
}

static void walk(struct vctx *c, const char *path)
{
	struct vbd_bind b;
	const struct vbd_schema_rule *r = vbd_schema_match(c->s, path, &b);
	struct vol *v = NULL;
	struct att *att = NULL;
	char *value, **names, why[160];
	unsigned n;
	int rc;

	if (!r) {
		violation(c, path, "unknown node (no schema rule)");
		return;
	}
	rc = tread(c, path, &value);
	if (rc) {
		violation(c, path, "cannot read: %s", strerror(-rc));
		return;
	}
	if (b.vol[0])
		v = find_vol(c, b.vol);
	else if (b.g >= 0 && b.d >= 0 && !under(path, VBD_XS_ROOT)) {
		v = vol_of_frontend(c, b.g, b.d, &att);
		if (!v && b.q < 0 && !strcmp(last_seg(path), "volume"))
			v = find_vol(c, value); /* orphan: judge by what it names */
	}
	if (vbd_schema_check_value(r, value, why, sizeof(why)))
		violation(c, path, "value '%.80s': %s", value, why);
	else if (r->type == VBD_VT_QREC)
		check_qrec(c, path, value, v);
	check_links(c, path, &b, value, v);
	check_acl(c, path, r, &b, v);
	free(value);

	if (tlist(c, path, &names, &n))
		return;
	for (unsigned i = 0; i < n; i++) {
		char child[512];
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, names[i]) >=
		    sizeof(child)) {
			violation(c, path, "child name too long");
			continue;
		}
		walk(c, child);
	}
	vbd_tree_free_names(names, n);
}

/* ---- structure: what must exist --------------------------------------- */

static void require(struct vctx *c, const char *dir, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!exists(c, p))
		violation(c, p, "missing");
}

static long read_long(struct vctx *c, const char *path)
{
	char *v;
	long x = -1;

	if (tread(c, path, &v) == 0) {
		char *end;
		x = strtol(v, &end, 10);
		if (*end || end == v)
			x = -1;
	}
	free(v);
	return x;
}

/* queue-<q> children of dir with q >= nq */
static void check_extra_queues(struct vctx *c, const char *dir, long nq)
{
	char **names, p[512];
	unsigned n;

	if (nq < 1 || nq > VBD_MAX_QUEUES || tlist(c, dir, &names, &n))
		return;
	for (unsigned i = 0; i < n; i++) {
		long q;
		char *end;
		if (strncmp(names[i], "queue-", 6))
			continue;
		q = strtol(names[i] + 6, &end, 10);
		if (!*end && q >= nq) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			violation(c, p, "queue beyond num-queues %ld", nq);
		}
	}
	vbd_tree_free_names(names, n);
}

static void check_queues(struct vctx *c, const char *dir, long nq)
{
	char p[32];

	if (nq < 1 || nq > VBD_MAX_QUEUES)
		return; /* a bad num-queues is reported by the walk */
	for (long q = 0; q < nq; q++) {
		snprintf(p, sizeof(p), "queue-%ld", q);
		require(c, dir, p);
	}
	check_extra_queues(c, dir, nq);
}

/* The frontend directory's `mode` (the guest's copy, as blkback writes
 * one) says what the attachment's says; neither there: read-write. */
static void check_mode(struct vctx *c, const char *att, const char *fe)
{
	char p[512], *am, *fm;

	snprintf(p, sizeof(p), "%s/mode", att);
	tread(c, p, &am);
	snprintf(p, sizeof(p), "%s/mode", fe);
	tread(c, p, &fm);
	if (fm ? strcmp(fm, am ? am : VBD_MODE_RW) != 0 : am != NULL)
		violation(c, p, "%s%s%s, the attachment's mode is %s", fm ? "'" : "",
			  fm ? fm : "missing", fm ? "'" : "", am ? am : "absent (read-write)");
	free(am);
	free(fm);
}

static void check_structure(struct vctx *c)
{
	char p[512], fe[256];

	for (unsigned i = 0; i < c->nv; i++) {
		struct vol *v = &c->vols[i];
		snprintf(p, sizeof(p), VBD_XS_VOLUME, v->id);
		require(c, p, "backing");
		require(c, p, "size");
		require(c, p, "sector-size");
		require(c, p, "members");
		require(c, p, "attachments");
		for (unsigned k = 0; k < v->na; k++) {
			long nq, fnq;
			struct att *a = &v->atts[k];
			snprintf(p, sizeof(p), VBD_XS_ATTACHMENT, v->id, (unsigned)a->g,
				 (unsigned)a->d);
			require(c, p, "frontend");
			require(c, p, "num-queues");
			nq = read_long(c, strcat(p, "/num-queues"));
			*strrchr(p, '/') = '\0';
			check_queues(c, p, nq);
			snprintf(fe, sizeof(fe), VBD_XS_FRONTEND, (unsigned)a->g, (unsigned)a->d);
			if (!exists(c, fe)) {
				violation(c, fe, "missing (frontend directory of %s)", p);
				continue;
			}
			require(c, fe, "volume");
			require(c, fe, "pool");
			require(c, fe, "num-queues");
			require(c, fe, "state");
			snprintf(p, sizeof(p), "%s/num-queues", fe);
			fnq = read_long(c, p);
			if (fnq >= 0 && nq >= 0 && fnq != nq)
				violation(c, p, "%ld queues, the attachment has %ld", fnq, nq);
			check_extra_queues(c, fe, nq);
			snprintf(p, sizeof(p), VBD_XS_ATTACHMENT, v->id, (unsigned)a->g,
				 (unsigned)a->d);
			check_mode(c, p, fe);
		}
	}
}

static void walk_frontends(struct vctx *c)
{
	char **doms, p[256];
	unsigned nd;

	if (tlist(c, "/local/domain", &doms, &nd))
		return;
	for (unsigned i = 0; i < nd; i++) {
		char **devs;
		unsigned n;
		snprintf(p, sizeof(p), "/local/domain/%s/device/vbdpool", doms[i]);
		if (tlist(c, p, &devs, &n))
			continue;
		walk(c, p);
		for (unsigned k = 0; k < n; k++) {
			long g, d;
			char *end;
			if (parse_domid(doms[i], &g))
				continue;
			d = strtol(devs[k], &end, 10);
			if (*end || d < 0)
				continue;
			if (!vol_of_frontend(c, g, d, NULL)) {
				char fe[300];
				snprintf(fe, sizeof(fe), "%s/%s", p, devs[k]);
				violation(c, fe, "frontend directory without an attachment");
			}
		}
		vbd_tree_free_names(devs, n);
	}
	vbd_tree_free_names(doms, nd);
}

int vbd_validate(const struct vbd_schema *s, const struct vbd_tree *t, vbd_report_fn report,
		 void *arg)
{
	struct vctx *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->t = t;
	c->report = report;
	c->arg = arg;
	rc = build_index(c);
	if (rc == 0) {
		if (exists(c, VBD_XS_ROOT))
			walk(c, VBD_XS_ROOT);
		walk_frontends(c);
		check_structure(c);
		rc = c->count;
	}
	for (unsigned i = 0; i < c->nv; i++)
		free(c->vols[i].atts);
	free(c->vols);
	free(c);
	return rc;
}
