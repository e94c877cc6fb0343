/* SPDX-License-Identifier: MIT */
/* Volume pools (control path): the volume's backing, its members' states,
 * our own membership, and the attachments we may serve. */
#include "backd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/clock.h"
#include "vbdpool/log.h"
#include "vbdpool/pool_snap.h"

struct vbd_volume *pool_find_volume(struct backd *bd, const char *id)
{
	for (unsigned i = 0; i < bd->nvols; i++)
		if (!strcmp(bd->vols[i]->id, id))
			return bd->vols[i];
	return NULL;
}

struct vbd_volume *pool_add_volume(struct backd *bd, const char *id)
{
	struct vbd_volume *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	pthread_mutex_init(&v->ioq_lock, NULL);
	v->stuck_pub = -1; /* unknown: a stale io-stuck of an earlier daemon goes */
	pthread_mutex_lock(&bd->vols_lock);
	if (bd->nvols == bd->vols_cap) {
		unsigned cap = bd->vols_cap ? 2 * bd->vols_cap : 16;
		struct vbd_volume **n = realloc(bd->vols, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&bd->vols_lock);
			free(v);
			return NULL;
		}
		bd->vols = n;
		bd->vols_cap = cap;
	}
	v->bd = bd;
	v->idx = bd->nvols;
	v->backing.fd = -1;
	v->dirty = 1;
	snprintf(v->id, sizeof(v->id), "%s", id);
	bd->vols[bd->nvols++] = v;
	pthread_mutex_unlock(&bd->vols_lock);
	return v;
}

int pool_index_scan(struct backd *bd, struct vbd_volume ***added)
{
	char dir[VBD_XS_PATH_MAX];
	struct vbd_volume **out = NULL;
	unsigned n = 0, na = 0;
	char **names;

	if (added)
		*added = NULL;
	snprintf(dir, sizeof(dir), VBD_XS_MEMBER_OF_DOM, bd->me);
	names = xs_directory(bd->xs, XBT_NULL, dir, &n);
	if (!names)
		return errno == ENOENT ? 0 : -errno; /* no volume yet */
	if (added && n)
		out = calloc(n, sizeof(*out));
	for (unsigned i = 0; i < n; i++) {
		struct vbd_volume *v;

		if (!vbd_volume_id_valid(names[i])) {
			log_warn("%s/%s: not a volume id: ignored", dir, names[i]);
			continue;
		}
		if (pool_find_volume(bd, names[i]))
			continue;
		v = pool_add_volume(bd, names[i]);
		if (!v) {
			free(names);
			free(out);
			return -ENOMEM;
		}
		vol_info(v, "this domain is a member (%s): serving it", dir);
		if (out)
			out[na] = v;
		na++;
	}
	free(names);
	if (added)
		*added = out;
	else
		free(out);
	return (int)na;
}

int pool_volume_setup(struct vbd_volume *v)
{
	struct backd *bd = v->bd;
	char *backing = NULL;
	uint64_t size;
	int r;

	if (v->refused)
		return -EMEDIUMTYPE; /* storage.c: mismatch, until restarted */
	r = vbd_xs_read_u64(bd->xs, XBT_NULL, UINT64_MAX, &size, VBD_XS_VOLUME "/size", v->id);
	if (r < 0 || size == 0 || size % VBD_SECTOR_SIZE) {
		VBD_LOG_ONCE(&v->setup_log,
			     vol_err(v, "no valid size (%s)",
				     r < 0 ? strerror(-r) : "not a positive multiple of 512"));
		r = r < 0 ? r : -EINVAL;
		goto out;
	}
	if (!bd->cfg.null_store) {
		backing = vbd_xs_get(bd->xs, XBT_NULL, VBD_XS_VOLUME "/backing", v->id);
		if (!backing || !*backing) {
			r = backing ? -EINVAL : -errno;
			VBD_LOG_ONCE(&v->setup_log,
				     vol_err(v, "cannot read its backing path: %s", strerror(-r)));
			goto out;
		}
	}
	r = vbd_backing_open(&v->backing, backing, size, bd->cfg.buffered);
	if (r == -EINVAL && backing && !bd->cfg.buffered) {
		/* the file system refuses O_DIRECT */
		r = vbd_backing_open(&v->backing, backing, size, 1);
		if (r == 0)
			vol_warn(v,
				 "%s does not support O_DIRECT: opened buffered, which "
				 "is only safe while this is the volume's only member",
				 backing);
	}
	if (r < 0) {
		VBD_LOG_ONCE(&v->setup_log,
			     vol_err(v, "cannot open backing %s: %s", backing, strerror(-r)));
		goto out;
	}
	r = storage_verify(v, backing); /* the volume's storage? */
	if (r < 0) {
		vbd_backing_close(&v->backing);
		goto out;
	}
	v->size = size;
	v->ready = 1;
	vol_info(v, "%" PRIu64 " bytes on %s%s", size, backing ? backing : "the null store",
		 backing ? (v->backing.direct ? " (O_DIRECT)" : " (buffered: single member only)")
			 : "");
out:
	if (r < 0) /* storage_verify's failures too (it logged them) */
		vbd_log_once_mark(&v->setup_log);
	free(backing);
	return r;
}

struct vbd_member *pool_member(struct vbd_volume *v, unsigned domid)
{
	for (unsigned i = 0; i < v->nmembers; i++)
		if (v->members[i].domid == domid)
			return &v->members[i];
	return NULL;
}

/* The list of a volume's members or attachments (what), or -errno to
 * keep what we knew; a volume that is not there has none. */
static int read_vol(struct vbd_volume *v, unsigned what, struct vbd_snap_vol *sv)
{
	int r = vbd_snap_vol_read(v->bd->xs, XBT_NULL, v->id, what, sv);

	return r == -ENOENT ? 0 : r;
}

int pool_refresh_members(struct vbd_volume *v)
{
	struct vbd_snap_vol sv;
	struct vbd_member *m;
	int r = read_vol(v, VBD_SNAP_M_STATE | VBD_SNAP_M_LOAD, &sv);

	if (r < 0)
		return r;
	m = calloc(sv.nm ? sv.nm : 1, sizeof(*m));
	if (!m) {
		vbd_snap_vol_free(&sv);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < sv.nm; i++) {
		m[i].domid = sv.m[i].domid;
		m[i].state_ok = sv.m[i].has_state == VBD_SNAP_OK;
		m[i].state = sv.m[i].state;
		m[i].load_ok = sv.m[i].has_load == VBD_SNAP_OK;
		m[i].load = sv.m[i].load;
	}
	free(v->members);
	v->members = m;
	v->nmembers = sv.nm;
	v->loads_dirty = 0;
	vbd_snap_vol_free(&sv);
	return 0;
}

int pool_set_state(struct vbd_volume *v, enum vbd_member_state s)
{
	char path[VBD_XS_PATH_MAX];
	int r;

	snprintf(path, sizeof(path), VBD_XS_MEMBER "/state", v->id, v->bd->me);
	r = vbd_xs_write(v->bd->xs, XBT_NULL, path, vbd_member_state_name(s));
	if (r < 0) {
		vol_err(v, "cannot write member state %s: %s", vbd_member_state_name(s),
			strerror(-r));
		return r;
	}
	if (v->my_state != s || !v->joined)
		vol_info(v, "member %u %s", v->bd->me, vbd_member_state_name(s));
	v->my_state = s;
	return 0;
}

int pool_check_member(struct vbd_volume *v)
{
	struct backd *bd = v->bd;
	char *node = vbd_xs_get(bd->xs, XBT_NULL, VBD_XS_MEMBER, v->id, bd->me);

	if (!node) {
		int e = errno;
		VBD_LOG_ONCE(
		    &v->not_member_log,
		    vol_err(v,
			    "domain %u is not a member (reading %s/members/%u: %s); "
			    "dom0 must run `vbdpoolctl member add %s %u`; serving the other "
			    "volumes meanwhile",
			    bd->me, v->id, bd->me, strerror(e), v->id, bd->me));
		return -ENOENT;
	}
	free(node);
	if (vbd_log_once_reset(&v->not_member_log))
		vol_info(v, "domain %u is now a member", bd->me);
	return 0;
}

int pool_join(struct vbd_volume *v)
{
	struct backd *bd = v->bd;
	char path[VBD_XS_PATH_MAX];
	int r;

	r = pool_check_member(v);
	if (r < 0)
		return r;
	{
		/* a fenced member rejoins only after `vbdpoolctl member unfence` */
		char *st;

		snprintf(path, sizeof(path), VBD_XS_MEMBER "/state", v->id, bd->me);
		st = vbd_xs_get(bd->xs, XBT_NULL, path);
		if (st && !strcmp(st, "fenced")) {
			vol_err(v,
				"this member (dom%u) was fenced by the supervisor: not "
				"serving; after checking that nothing of its fenced run can still "
				"write, run `vbdpoolctl member unfence %s %u` in dom0 and start "
				"again",
				bd->me, v->id, bd->me);
			bd->fenced = 1;
			free(st);
			return -EPERM;
		}
		free(st);
	}
	r = pool_set_state(v, VBD_MEMBER_JOINING);
	if (r < 0)
		return r;
	path_clear_failed(v, XBT_NULL); /* a failure of an earlier run is over */
	v->joined = 1;
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/features", v->id, bd->me);
	r = vbd_xs_printf(bd->xs, XBT_NULL, path, "flush discard indirect=%u persistent",
			  VBD_MAX_INDIRECT_SEGS);
	if (r < 0)
		vol_warn(v, "cannot write features: %s", strerror(-r));
	hb_beat(v, bd->xs); /* the first beat before active; then the thread's */
	hb_publish(v);
	r = pool_set_state(v, VBD_MEMBER_ACTIVE);
	if (r < 0)
		return r;
	pool_refresh_members(v);
	return 0;
}

static struct vbd_attach *new_attachment(struct vbd_volume *v, unsigned g, unsigned d)
{
	struct backd *bd = v->bd;
	char state[VBD_XS_PATH_MAX + 8], token[32];
	struct vbd_snap_att sa = {.guest = g, .devid = d};
	struct vbd_attach *a;

	vbd_snap_att_read(bd->xs, XBT_NULL, v->id, VBD_SNAP_A_INFO, &sa);
	if (sa.has_nq != VBD_SNAP_OK || !sa.has_frontend)
		return NULL; /* not complete yet (or malformed): look again on the next event */
	if (sa.has_frontend != VBD_SNAP_OK) {
		vol_warn(v, "attachment %u-%u: %s: ignored", g, d, sa.invalid);
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->guest = g;
	a->devid = d;
	a->nq = sa.nq;
	snprintf(a->fe, sizeof(a->fe), VBD_XS_FRONTEND, g, d);
	/* only the frontend's state here; the queue-<q> nodes of the queues
	 * we own are watched by pool_watch_queues (a guest's writes to
	 * anything else in its directory must cost us nothing) */
	snprintf(state, sizeof(state), "%s/state", a->fe);
	snprintf(token, sizeof(token), "f:%u", v->idx);
	if (bd->fe_watch_all)
		; /* control.c's one watch on /local/domain brings its events */
	else if (xs_watch(bd->xs, state, token))
		a->watching = 1;
	else
		vol_warn(v, "cannot watch %s: %s", state, strerror(errno));
	vol_info(v, "attachment %u-%u with %u queue(s)", g, d, a->nq);
	return a;
}

/* qs[q].fe_watching: 1 watching, 0 not, -1 the watch failed (logged once;
 * tried again on every reconcile while we own the queue) */
static void watch_queue(struct vbd_volume *v, struct vbd_attach *a, unsigned q, int on)
{
	struct vbd_qslot *s = &a->qs[q];
	char path[VBD_XS_PATH_MAX + 32], token[32];

	if (v->bd->fe_watch_all) { /* one watch for every frontend: only flag it */
		s->fe_watching = on;
		return;
	}
	snprintf(path, sizeof(path), "%s/queue-%u", a->fe, q);
	snprintf(token, sizeof(token), "f:%u", v->idx);
	if (!on) {
		if (s->fe_watching == 1)
			xs_unwatch(v->bd->xs, path, token);
		s->fe_watching = 0;
	} else if (xs_watch(v->bd->xs, path, token)) {
		s->fe_watching = 1;
	} else {
		if (s->fe_watching != -1)
			vq_warn(v, a, q,
				"cannot watch %s: %s (a ring the frontend replaces goes unnoticed "
				"meanwhile)",
				path, strerror(errno));
		s->fe_watching = -1;
	}
}

void pool_watch_queues(struct vbd_volume *v, struct vbd_attach *a)
{
	for (unsigned q = 0; q < a->nq; q++) {
		struct vbd_qslot *s = &a->qs[q];
		int want = s->q || (s->rec_ok && s->rec.owner == v->bd->me);

		if (want ? s->fe_watching != 1 : s->fe_watching != 0)
			watch_queue(v, a, q, want);
	}
}

/* The nodes of queue-<q> that make up the ring of an epoch (fe_read_fn in
 * connect.c), "" being queue-<q> itself (published, removed), and
 * `abandoned` (the frontend gave that ring up). */
static int ring_node(const char *leaf)
{
	static const char *const names[] = {
	    "", "owner", "epoch", "ring-page-order", "event-channel", "protocol", "abandoned"};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(leaf, names[i]))
			return 1;
	if (strncmp(leaf, "ring-ref", 8) || !leaf[8])
		return 0;
	for (leaf += 8; *leaf; leaf++)
		if (*leaf < '0' || *leaf > '9')
			return 0;
	return 1;
}

int pool_frontend_event(struct vbd_volume *v, const char *path)
{
	for (struct vbd_attach *a = v->atts; a; a = a->next) {
		size_t n = strlen(a->fe);
		const char *rest = path + n, *leaf;
		char *end;
		unsigned long q;

		if (strncmp(path, a->fe, n) || (*rest && *rest != '/'))
			continue;
		if (!strcmp(rest, "/state")) {
			for (unsigned i = 0; i < a->nq; i++)
				a->qs[i].fe_changed = 1;
		} else if (!strncmp(rest, "/queue-", 7) && rest[7] >= '0' && rest[7] <= '9') {
			errno = 0;
			q = strtoul(rest + 7, &end, 10);
			if (errno || q >= a->nq || (*end && *end != '/'))
				return 0;
			leaf = *end ? end + 1 : end;
			if (!ring_node(leaf) || a->qs[q].fe_watching != 1)
				return 0; /* (with one watch for all: not a queue we serve) */
			a->qs[q].fe_changed = 1;
		} else {
			return 0;
		}
		a->fe_dirty = 1;
		v->fe_dirty = 1;
		return 1;
	}
	return 0;
}

void pool_drop_attachment(struct vbd_volume *v, struct vbd_attach *a)
{
	char path[VBD_XS_PATH_MAX + 8], token[32];

	for (unsigned q = 0; q < a->nq; q++) {
		if (a->qs[q].q)
			own_stop_queue(v, &a->qs[q], "attachment removed");
		watch_queue(v, a, q, 0);
	}
	if (a->watching) {
		snprintf(path, sizeof(path), "%s/state", a->fe);
		snprintf(token, sizeof(token), "f:%u", v->idx);
		xs_unwatch(v->bd->xs, path, token);
	}
	free(a);
}

int pool_refresh_attachments(struct vbd_volume *v)
{
	struct vbd_snap_vol sv;
	struct vbd_attach **pp, *a;
	int r = read_vol(v, VBD_SNAP_ATTS, &sv);

	if (r < 0)
		return r; /* keep what we knew */
	for (a = v->atts; a; a = a->next)
		a->seen = 0;
	for (unsigned i = 0; i < sv.na; i++) {
		unsigned g = sv.a[i].guest, d = sv.a[i].devid;

		for (a = v->atts; a; a = a->next)
			if (a->guest == g && a->devid == d)
				break;
		if (!a) {
			a = new_attachment(v, g, d);
			if (!a)
				continue;
			a->next = v->atts;
			v->atts = a;
		}
		a->seen = 1;
	}
	vbd_snap_vol_free(&sv);
	for (pp = &v->atts; *pp;) {
		a = *pp;
		if (a->seen) {
			pp = &a->next;
			continue;
		}
		*pp = a->next;
		vol_info(v, "attachment %u-%u removed", a->guest, a->devid);
		pool_drop_attachment(v, a);
	}
	return 0;
}
