/* SPDX-License-Identifier: MIT */
/* The typed pool snapshot (see vbdpool/pool_snap.h). */
#include "vbdpool/pool_snap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/parse_num.h"
#include "vbdpool/xs.h"

#define DOMID_FIRST_RESERVED 0x7ff0u
#define XENBUS_STATE_MAX     8u

int vbd_snap_parse_domid(const char *s, unsigned *domid)
{
	uint64_t v;

	if (vbd_parse_u64(s, DOMID_FIRST_RESERVED - 1, &v))
		return -EINVAL;
	*domid = (unsigned)v;
	return 0;
}

int vbd_snap_parse_att(const char *s, unsigned *guest, unsigned *devid)
{
	const char *dash = strchr(s, '-');
	char gs[16];
	uint64_t d;

	if (!dash || dash == s || (size_t)(dash - s) >= sizeof(gs))
		return -EINVAL;
	memcpy(gs, s, (size_t)(dash - s));
	gs[dash - s] = '\0';
	if (vbd_snap_parse_domid(gs, guest) || vbd_parse_u64(dash + 1, UINT32_MAX, &d))
		return -EINVAL;
	*devid = (unsigned)d;
	return 0;
}

const struct vbd_snap_member *vbd_snap_member(const struct vbd_snap_vol *v, unsigned domid)
{
	for (unsigned i = 0; i < v->nm; i++)
		if (v->m[i].domid == domid)
			return &v->m[i];
	return NULL;
}

/* The first reason an entry is invalid wins. */
static void __attribute__((format(printf, 2, 3)))
invalid(char why[VBD_SNAP_REASON_MAX], const char *fmt, ...)
{
	va_list ap;

	if (why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(why, VBD_SNAP_REASON_MAX, fmt, ap);
	va_end(ap);
}

/* A decimal field <= max (and >= min): *has says how it went; a
 * malformed value is named in why. */
static void read_num(struct xs_handle *xs, xs_transaction_t t, const char *path, uint64_t min,
		     uint64_t max, enum vbd_snap_has *has, uint64_t *out, char *why)
{
	char *val;

	*out = 0;
	*has = VBD_SNAP_ABSENT;
	if (vbd_xs_read(xs, t, &val, "%s", path))
		return;
	*has = VBD_SNAP_BAD;
	if (vbd_parse_u64(val, max, out) == 0 && *out >= min)
		*has = VBD_SNAP_OK;
	else
		invalid(why, "%s: '%.40s' is not a number in %llu..%llu", strrchr(path, '/') + 1,
			val, (unsigned long long)min, (unsigned long long)max);
	if (*has != VBD_SNAP_OK)
		*out = 0;
	free(val);
}

/* A text field: "" when absent. */
static enum vbd_snap_has read_text(struct xs_handle *xs, xs_transaction_t t, const char *path,
				   char *buf, size_t len)
{
	char *val;

	buf[0] = '\0';
	if (vbd_xs_read(xs, t, &val, "%s", path))
		return VBD_SNAP_ABSENT;
	snprintf(buf, len, "%s", val);
	free(val);
	return VBD_SNAP_OK;
}

/* members/<m>/stats/<g>-<d>: none is no statistics (nobody asked) */
static void read_stats(struct xs_handle *xs, xs_transaction_t t, const char *vol,
		       struct vbd_snap_member *m)
{
	char **names, *val;
	unsigned n;

	if (vbd_xs_list(xs, t, &names, &n, VBD_XS_MEMBER_STATS, vol, m->domid) < 0)
		return;
	m->stats = calloc(n ? n : 1, sizeof(*m->stats));
	for (unsigned i = 0; m->stats && i < n; i++) {
		struct vbd_snap_stat *s = &m->stats[m->nstats];
		if (vbd_snap_parse_att(names[i], &s->guest, &s->devid))
			continue; /* not a stats node the schema allows */
		m->nstats++;
		if (vbd_xs_read(xs, t, &val, VBD_XS_MEMBER_STAT, vol, m->domid, s->guest, s->devid))
			continue; /* gone meanwhile: ABSENT */
		s->has = VBD_SNAP_BAD;
		if (vbd_iostat_parse(val, &s->st) == 0)
			s->has = VBD_SNAP_OK;
		else
			invalid(m->invalid, "stats/%s: '%.40s' is malformed", names[i], val);
		free(val);
	}
	free(names);
}

static void read_member(struct xs_handle *xs, xs_transaction_t t, const char *vol, unsigned what,
			struct vbd_snap_member *m)
{
	char p[VBD_XS_PATH_MAX], *val;
	size_t n;

	if (vbd_xs_path(p, VBD_XS_MEMBER "/", vol, m->domid))
		return;
	n = strlen(p);
#define LEAF(name) (snprintf(p + n, sizeof(p) - n, "%s", name), p)
	if (what & VBD_SNAP_M_STATE &&
	    read_text(xs, t, LEAF("state"), m->state_text, sizeof(m->state_text))) {
		m->has_state = VBD_SNAP_BAD;
		if (vbd_member_state_parse(m->state_text, &m->state) == 0)
			m->has_state = VBD_SNAP_OK;
		else
			invalid(m->invalid, "state: '%s' is no member state", m->state_text);
	}
	if (what & VBD_SNAP_M_HB) {
		/* the domain's one heartbeat (vbdpool-backd since the member
		 * index), else the volume's own (older daemons) */
		char d[VBD_XS_PATH_MAX];

		snprintf(d, sizeof(d), VBD_XS_DOMAIN_HB, m->domid);
		read_num(xs, t, d, 0, UINT64_MAX, &m->has_hb, &m->hb, m->invalid);
		if (m->has_hb == VBD_SNAP_ABSENT)
			read_num(xs, t, LEAF("heartbeat"), 0, UINT64_MAX, &m->has_hb, &m->hb,
				 m->invalid);
	}
	if (what & VBD_SNAP_M_LOAD && vbd_xs_read(xs, t, &val, "%s", LEAF("load")) == 0) {
		m->has_load = VBD_SNAP_BAD;
		if (vbd_member_load_parse(val, &m->load) == 0)
			m->has_load = VBD_SNAP_OK;
		else
			invalid(m->invalid, "load: '%.60s' is malformed", val);
		free(val);
	}
	if (what & VBD_SNAP_M_FAILED) {
		read_text(xs, t, LEAF("failed-reason"), m->failed_reason, sizeof(m->failed_reason));
		read_num(xs, t, LEAF("failed-since"), 0, UINT64_MAX, &m->has_failed_since,
			 &m->failed_since, m->invalid);
	}
	if (what & VBD_SNAP_M_STUCK)
		read_num(xs, t, LEAF("io-stuck"), 0, UINT64_MAX, &m->has_io_stuck, &m->io_stuck_ms,
			 m->invalid);
#undef LEAF
	if (what & VBD_SNAP_M_STATS)
		read_stats(xs, t, vol, m);
	if (m->has_load != VBD_SNAP_OK)
		memset(&m->load, 0, sizeof(m->load));
}

void vbd_snap_att_read(struct xs_handle *xs, xs_transaction_t t, const char *vol, unsigned what,
		       struct vbd_snap_att *a)
{
	char p[VBD_XS_PATH_MAX], want[VBD_XS_PATH_MAX], fe[VBD_XS_PATH_MAX];
	uint64_t x;

	if (what & VBD_SNAP_A_QUEUES)
		what |= VBD_SNAP_A_INFO;
	if (vbd_xs_path(want, VBD_XS_FRONTEND, a->guest, a->devid))
		return;
	if (what & VBD_SNAP_A_INFO) {
		vbd_xs_path(p, VBD_XS_ATTACHMENT "/num-queues", vol, a->guest, a->devid);
		read_num(xs, t, p, 1, VBD_MAX_QUEUES, &a->has_nq, &x, a->invalid);
		a->nq = (unsigned)x;
		vbd_xs_path(p, VBD_XS_ATTACHMENT "/frontend", vol, a->guest, a->devid);
		a->has_frontend = read_text(xs, t, p, fe, sizeof(fe));
		if (a->has_frontend && strcmp(fe, want)) {
			a->has_frontend = VBD_SNAP_BAD;
			invalid(a->invalid, "frontend: '%.60s' is not %s", fe, want);
		}
	}
	for (unsigned q = 0; what & VBD_SNAP_A_QUEUES && q < a->nq; q++) {
		struct vbd_snap_queue *r = &a->q[q];

		vbd_xs_path(p, VBD_XS_QUEUE_REC, vol, a->guest, a->devid, q);
		r->has = read_text(xs, t, p, r->raw, sizeof(r->raw));
		if (!r->has) {
			invalid(a->invalid, "queue-%u: missing", q);
			continue;
		}
		if (vbd_queue_rec_parse(r->raw, &r->rec) == 0)
			continue;
		r->has = VBD_SNAP_BAD;
		memset(&r->rec, 0, sizeof(r->rec));
		invalid(a->invalid, "queue-%u: bad record '%.60s'", q, r->raw);
	}
	if (what & VBD_SNAP_A_MODE) {
		vbd_xs_path(p, VBD_XS_ATTACHMENT "/mode", vol, a->guest, a->devid);
		a->has_mode = read_text(xs, t, p, fe, sizeof(fe));
		if (a->has_mode && vbd_att_mode_parse(fe, &a->read_only)) {
			a->has_mode = VBD_SNAP_BAD;
			invalid(a->invalid, "mode: '%.60s' is not r or w", fe);
		}
		vbd_xs_path(p, VBD_XS_ATTACHMENT "/shared", vol, a->guest, a->devid);
		a->has_shared = read_text(xs, t, p, fe, sizeof(fe));
		if (a->has_shared && vbd_att_shared_parse(fe, &a->shared)) {
			a->has_shared = VBD_SNAP_BAD;
			invalid(a->invalid, "shared: '%.60s' is not 0 or 1", fe);
		}
	}
	if (what & VBD_SNAP_A_FESTATE) {
		vbd_xs_path(p, VBD_XS_FRONTEND "/state", a->guest, a->devid);
		read_num(xs, t, p, 0, XENBUS_STATE_MAX, &a->has_fe_state, &x, a->invalid);
		a->fe_state = (int)x;
	}
}

/* The children of a list node (fmt names it, for vol); ENOENT is an
 * empty list, and *missing is set. */
static int list(struct xs_handle *xs, xs_transaction_t t, const char *fmt, const char *vol,
		char ***names, unsigned *n, int *missing)
{
	int rc = vbd_xs_list(xs, t, names, n, fmt, vol);

	if (rc == -ENOENT) {
		*names = NULL;
		*n = 0;
		*missing = 1;
		return 0;
	}
	return rc;
}

/* One entry of members/ (atts 0) or attachments/ (atts 1): 0, or
 * -EINVAL when its name is not what the schema allows. */
static int read_entry(struct xs_handle *xs, xs_transaction_t t, unsigned what,
		      struct vbd_snap_vol *v, int atts, const char *name)
{
	if (atts) {
		struct vbd_snap_att *a = &v->a[v->na];
		if (vbd_snap_parse_att(name, &a->guest, &a->devid))
			return -EINVAL;
		v->na++;
		vbd_snap_att_read(xs, t, v->id, what, a);
	} else {
		struct vbd_snap_member *m = &v->m[v->nm];
		if (vbd_snap_parse_domid(name, &m->domid))
			return -EINVAL;
		v->nm++;
		read_member(xs, t, v->id, what, m);
	}
	return 0;
}

static int read_list(struct xs_handle *xs, xs_transaction_t t, unsigned what,
		     struct vbd_snap_vol *v, int atts, int *missing)
{
	char **names;
	unsigned n;
	int rc =
	    list(xs, t, atts ? VBD_XS_ATTACHMENTS : VBD_XS_MEMBERS, v->id, &names, &n, missing);

	if (rc)
		return rc;
	if (atts)
		v->a = calloc(n ? n : 1, sizeof(*v->a));
	else
		v->m = calloc(n ? n : 1, sizeof(*v->m));
	if (atts ? !v->a : !v->m) {
		free(names);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		if (read_entry(xs, t, what, v, atts, names[i])) {
			v->skipped++;
			invalid(v->invalid, "%s/%.40s: not %s", atts ? "attachments" : "members",
				names[i], atts ? "<guest>-<devid>" : "a domid");
		}
	free(names);
	return 0;
}

static void read_volinfo(struct xs_handle *xs, xs_transaction_t t, struct vbd_snap_vol *v)
{
	char p[VBD_XS_PATH_MAX];

	vbd_xs_path(p, VBD_XS_VOLUME "/size", v->id);
	read_num(xs, t, p, 0, UINT64_MAX, &v->has_size, &v->size, v->invalid);
	if (v->has_size == VBD_SNAP_OK && (v->size == 0 || v->size % VBD_SECTOR_SIZE)) {
		invalid(v->invalid, "size: %llu is not a positive multiple of %u",
			(unsigned long long)v->size, VBD_SECTOR_SIZE);
		v->has_size = VBD_SNAP_BAD;
		v->size = 0;
	}
	vbd_xs_path(p, VBD_XS_VOLUME "/backing", v->id);
	v->has_backing = read_text(xs, t, p, v->backing, sizeof(v->backing));
	vbd_xs_path(p, VBD_XS_VOLUME "/storage-id", v->id);
	v->has_storage_id = read_text(xs, t, p, v->storage_id, sizeof(v->storage_id));
	vbd_xs_path(p, VBD_XS_VOLUME "/storage-size", v->id);
	read_num(xs, t, p, 0, UINT64_MAX, &v->has_storage_size, &v->storage_size, v->invalid);
}

int vbd_snap_vol_read(struct xs_handle *xs, xs_transaction_t t, const char *id, unsigned what,
		      struct vbd_snap_vol *v)
{
	int rc = 0, missing = 0, lists = 0;

	memset(v, 0, sizeof(*v));
	if (!id || !vbd_volume_id_valid(id))
		return -EINVAL;
	snprintf(v->id, sizeof(v->id), "%s", id);
	if (what & VBD_SNAP_VOLINFO)
		read_volinfo(xs, t, v);
	if (what & (VBD_SNAP_MEMBERS | VBD_SNAP_M_STATE | VBD_SNAP_M_HB | VBD_SNAP_M_LOAD |
		    VBD_SNAP_M_FAILED | VBD_SNAP_M_STATS | VBD_SNAP_M_STUCK)) {
		lists++;
		rc = read_list(xs, t, what, v, 0, &missing);
	}
	if (!rc && what & (VBD_SNAP_ATTS | VBD_SNAP_A_INFO | VBD_SNAP_A_QUEUES |
			   VBD_SNAP_A_FESTATE | VBD_SNAP_A_MODE)) {
		lists++;
		rc = read_list(xs, t, what, v, 1, &missing);
	}
	/* a list that was there proves the volume; else ask (one request
	 * more only then: the backend re-reads its members often) */
	if (!rc && (missing || !lists)) {
		rc = vbd_xs_exists(xs, t, VBD_XS_VOLUME, id);
		rc = rc < 0 ? rc : rc ? 0 : -ENOENT;
	}
	if (rc)
		vbd_snap_vol_free(v);
	return rc;
}

void vbd_snap_vol_free(struct vbd_snap_vol *v)
{
	for (unsigned i = 0; v->m && i < v->nm; i++)
		free(v->m[i].stats);
	free(v->m);
	free(v->a);
	v->m = NULL;
	v->a = NULL;
	v->nm = v->na = 0;
}

int vbd_pool_snap_read(struct xs_handle *xs, xs_transaction_t t, const char *only, unsigned what,
		       struct vbd_pool_snap *s)
{
	char **vols;
	unsigned n;
	int rc = 0, missing = 0;

	memset(s, 0, sizeof(*s));
	if (only && !vbd_volume_id_valid(only))
		return -EINVAL;
	if (what & VBD_SNAP_SUPERVISOR) {
		char why[VBD_SNAP_REASON_MAX] = "";
		read_num(xs, t, VBD_XS_SUPERVISOR "/pid", 0, INT32_MAX, &s->has_sv_pid, &s->sv_pid,
			 why);
		read_num(xs, t, VBD_XS_LEASE, 100, 600000, &s->has_lease, &s->lease_ms, why);
	}
	rc = list(xs, t, VBD_XS_VOLUMES "%s", "", &vols, &n, &missing);
	if (rc)
		return rc;
	s->v = calloc(n ? n : 1, sizeof(*s->v));
	if (!s->v) {
		free(vols);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n && !rc; i++) {
		if (only && strcmp(only, vols[i]))
			continue;
		rc = vbd_snap_vol_read(xs, t, vols[i], what, &s->v[s->nv]);
		if (rc == -EINVAL || rc == -ENOENT) { /* a bad id; gone meanwhile */
			s->skipped += rc == -EINVAL;
			rc = 0;
			continue;
		}
		if (!rc)
			s->nv++;
	}
	free(vols);
	if (!rc && only && s->nv == 0)
		rc = -ENOENT;
	if (rc)
		vbd_pool_snap_free(s);
	return rc;
}

void vbd_pool_snap_free(struct vbd_pool_snap *s)
{
	for (unsigned i = 0; i < s->nv; i++)
		vbd_snap_vol_free(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->nv = 0;
}
