/* SPDX-License-Identifier: MIT */
/*
 * vbdpoolctl status [ID] [--json]: one consistent snapshot (read inside a
 * XenStore transaction that is then abandoned) of volumes, members,
 * attachments and queue owners, shown as text or JSON.
 *
 * Heartbeat age = dom0's CLOCK_MONOTONIC minus the member's heartbeat
 * value: meaningful where the domains share one monotonic clock (the
 * emulator); on real Xen each domain has its own, so status shows "-"
 * (JSON null) there, and the supervisor's fencing measures age by watching
 * the value change instead.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "vbdpool/platform.h"
#include "ctl.h"
#include "domain.h"
#include "json.h"
#include "topcalc.h"
#include "vbdpool/clock.h"
#include "vbdpool/pool_snap.h"
#include "vbdpool/proto.h"

/* What status shows beside the snapshot's values (vbdpool/pool_snap.h). */
struct st_member {
	const struct vbd_snap_member *s;
	char name[64];
	const char *state; /* as written, "-" if none */
	int64_t age_ms;
	int have_age;	/* age_ms means something (one clock for all domains) */
	unsigned owned; /* queues owned, counted from the records */
};

struct st_att {
	const struct vbd_snap_att *s;
	char name[64];
	long fe_state; /* -1 missing */
	unsigned nq;
};

struct st_vol {
	const struct vbd_snap_vol *s;
	char size[32];
	struct st_member *m;
	struct st_att *a;
};

struct st_dom { /* the load per domain, over every volume it serves */
	unsigned domid;
	char name[64];
	unsigned volumes, owned;
	uint64_t inflight, iops, bps;
};

struct status {
	struct vbd_pool_snap snap;
	struct st_vol *v;
	unsigned nv;
	long supervisor_pid; /* -1 none */
	struct st_dom *d;
	unsigned nd;
};

/* The emulator's domains are processes on one host: one CLOCK_MONOTONIC.
 * Real domains each have their own, so a heartbeat value says nothing about
 * its age to dom0 (shown as "-"). */
static int clock_shared(void)
{
	return !strcmp(vbd_platform()->name, "sim");
}

static int cmp_uint(unsigned a, unsigned b)
{
	return a < b ? -1 : a > b;
}
static int cmp_member(const void *a, const void *b)
{
	return cmp_uint(((const struct st_member *)a)->s->domid,
			((const struct st_member *)b)->s->domid);
}
static int cmp_att(const void *a, const void *b)
{
	const struct vbd_snap_att *x = ((const struct st_att *)a)->s,
				  *y = ((const struct st_att *)b)->s;
	return x->guest != y->guest ? cmp_uint(x->guest, y->guest) : cmp_uint(x->devid, y->devid);
}

static int has_hb(const struct st_member *m)
{
	return m->s->has_hb == VBD_SNAP_OK;
}
static int has_load(const struct st_member *m)
{
	return m->s->has_load == VBD_SNAP_OK;
}
static int has_failed_since(const struct st_member *m)
{
	return m->s->has_failed_since == VBD_SNAP_OK;
}

static void view_members(struct xs_handle *h, struct st_vol *v)
{
	for (unsigned i = 0; i < v->s->nm; i++) {
		struct st_member *m = &v->m[i];
		m->s = &v->s->m[i];
		m->state = m->s->has_state ? m->s->state_text : "-";
		ctl_domain_name(h, m->s->domid, m->name, sizeof(m->name));
		/* an age only where dom0 and the member share a clock */
		m->have_age = has_hb(m) && clock_shared();
		m->age_ms = (int64_t)vbd_now_ms() - (int64_t)m->s->hb;
	}
	qsort(v->m, v->s->nm, sizeof(*v->m), cmp_member);
}

static void view_attachments(struct xs_handle *h, struct st_vol *v)
{
	for (unsigned i = 0; i < v->s->na; i++) {
		struct st_att *a = &v->a[i];
		a->s = &v->s->a[i];
		ctl_domain_name(h, a->s->guest, a->name, sizeof(a->name));
		a->fe_state = a->s->has_fe_state == VBD_SNAP_OK ? a->s->fe_state : -1;
		a->nq = a->s->has_nq == VBD_SNAP_OK ? a->s->nq : 0;
		for (unsigned q = 0; q < a->nq; q++) {
			const struct vbd_snap_queue *r = &a->s->q[q];
			if (r->has != VBD_SNAP_OK || r->rec.owner == VBD_DOMID_NONE)
				continue;
			for (unsigned k = 0; k < v->s->nm; k++)
				if (v->m[k].s->domid == r->rec.owner)
					v->m[k].owned++;
		}
	}
	qsort(v->a, v->s->na, sizeof(*v->a), cmp_att);
}

static int member_gone(const struct st_member *m)
{
	return m->s->has_state == VBD_SNAP_OK &&
	       (m->s->state == VBD_MEMBER_DEAD || m->s->state == VBD_MEMBER_FENCED);
}

static struct st_dom *dom_slot(struct status *s, const struct st_member *m)
{
	for (unsigned i = 0; i < s->nd; i++)
		if (s->d[i].domid == m->s->domid)
			return &s->d[i];
	struct st_dom *nd = realloc(s->d, (s->nd + 1) * sizeof(*nd));
	if (!nd)
		return NULL;
	s->d = nd;
	memset(&s->d[s->nd], 0, sizeof(s->d[0]));
	s->d[s->nd].domid = m->s->domid;
	snprintf(s->d[s->nd].name, sizeof(s->d[0].name), "%s", m->name);
	return &s->d[s->nd++];
}

static int add_load(struct status *s, const struct st_vol *v)
{
	for (unsigned k = 0; k < v->s->nm; k++) {
		const struct st_member *m = &v->m[k];
		struct st_dom *d = dom_slot(s, m);
		if (!d)
			return -ENOMEM;
		d->volumes++;
		d->owned += m->owned;
		/* a dead or fenced member's last load is history */
		if (has_load(m) && !member_gone(m)) {
			d->inflight += m->s->load.inflight;
			d->iops += m->s->load.iops;
			d->bps += m->s->load.bytes_per_s;
		}
	}
	return 0;
}

/* The view of one snapshot read in t (a transaction never committed). */
static int collect(struct xs_handle *h, xs_transaction_t t, const char *only, struct status *s)
{
	int rc = vbd_pool_snap_read(h, t, only, VBD_SNAP_ALL, &s->snap);

	if (rc)
		return rc;
	s->supervisor_pid = s->snap.has_sv_pid == VBD_SNAP_OK ? (long)s->snap.sv_pid : -1;
	s->v = calloc(s->snap.nv ? s->snap.nv : 1, sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	for (unsigned i = 0; i < s->snap.nv && !rc; i++) {
		struct st_vol *v = &s->v[s->nv++];
		v->s = &s->snap.v[i];
		if (v->s->has_size == VBD_SNAP_OK)
			snprintf(v->size, sizeof(v->size), "%" PRIu64, v->s->size);
		else
			snprintf(v->size, sizeof(v->size), "?");
		v->m = calloc(v->s->nm ? v->s->nm : 1, sizeof(*v->m));
		v->a = calloc(v->s->na ? v->s->na : 1, sizeof(*v->a));
		if (!v->m || !v->a)
			return -ENOMEM;
		view_members(h, v);
		view_attachments(h, v);
		rc = add_load(s, v);
	}
	return rc;
}

static void status_free(struct status *s)
{
	for (unsigned i = 0; i < s->nv; i++) {
		free(s->v[i].m);
		free(s->v[i].a);
	}
	free(s->v);
	free(s->d);
	vbd_pool_snap_free(&s->snap);
}

static const char *fe_state_name(long st)
{
	static const char *const names[] = {"Unknown",	 "Initialising", "InitWait", "Initialised",
					    "Connected", "Closing",	 "Closed"};
	return st >= 0 && st <= 6 ? names[st] : "missing";
}

/* ---- text ------------------------------------------------------------- */

static void owner_str(const struct st_vol *v, uint32_t owner, char *buf, size_t len)
{
	if (owner == VBD_DOMID_NONE) {
		snprintf(buf, len, "none");
		return;
	}
	for (unsigned k = 0; k < v->s->nm; k++)
		if (v->m[k].s->domid == owner && v->m[k].name[0]) {
			snprintf(buf, len, "%u (%s)", owner, v->m[k].name);
			return;
		}
	snprintf(buf, len, "%u", owner);
}

/* Why a member is failed and since when (its wall clock, as written). */
static void print_failed(const struct st_member *m)
{
	char when[64] = "?";

	if (has_failed_since(m)) {
		time_t sec = (time_t)(m->s->failed_since / 1000);
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		if (localtime_r(&sec, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		int64_t ago = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 -
			      (int64_t)m->s->failed_since;
		if (ago >= 0)
			snprintf(when + strlen(when), sizeof(when) - strlen(when),
				 " (%" PRId64 "s ago)", ago / 1000);
	}
	printf("         failed since %s: %s\n", when,
	       m->s->failed_reason[0] ? m->s->failed_reason : "(no reason given)");
}

static void print_text(const struct status *s)
{
	if (s->nv == 0)
		printf("no volumes\n");
	for (unsigned i = 0; i < s->nv; i++) {
		const struct st_vol *v = &s->v[i];
		char size[16] = "?";
		if (v->s->has_size == VBD_SNAP_OK)
			top_human_bytes((double)v->s->size, size, sizeof(size));
		printf("volume %s: %s (%s bytes), backing %s\n", v->s->id, size, v->size,
		       (v->s->has_backing ? v->s->backing : "?"));
		printf("  %-6s %-12s %-8s %8s %8s %8s %8s %8s %8s %6s %5s\n", "MEMBER", "NAME",
		       "STATE", "HB-AGE", "INFLIGHT", "IOPS", "BYTES/S", "LAT", "P99", "QUEUES",
		       "COST");
		if (v->s->nm == 0)
			printf("  (no members)\n");
		for (unsigned k = 0; k < v->s->nm; k++) {
			const struct st_member *m = &v->m[k];
			char age[24];
			if (has_hb(m) && member_gone(m))
				snprintf(age, sizeof(age), "-");
			else if (m->have_age)
				snprintf(age, sizeof(age), "%" PRId64 "ms", m->age_ms);
			else
				snprintf(age, sizeof(age), "-");
			if (has_load(m)) {
				char iops[16], bps[16], lat[16], p99[16];
				top_human_count((double)m->s->load.iops, iops, sizeof(iops));
				top_human_bytes((double)m->s->load.bytes_per_s, bps, sizeof(bps));
				top_human_us(m->s->load.lat_us, lat, sizeof(lat));
				top_human_us(m->s->load.p99_us, p99, sizeof(p99));
				printf("  %-6u %-12s %-8s %8s %8" PRIu64
				       " %8s %8s %8s %8s %6u %5" PRIu64 "\n",
				       m->s->domid, m->name[0] ? m->name : "(gone)", m->state, age,
				       m->s->load.inflight, iops, bps, lat, p99, m->owned,
				       m->s->load.cost);
			} else
				printf("  %-6u %-12s %-8s %8s %8s %8s %8s %8s %8s %6u %5s\n",
				       m->s->domid, m->name[0] ? m->name : "(gone)", m->state, age,
				       "-", "-", "-", "-", "-", m->owned, "-");
			if (m->s->failed_reason[0] || has_failed_since(m))
				print_failed(m);
		}
		for (unsigned k = 0; k < v->s->na; k++) {
			const struct st_att *a = &v->a[k];
			printf("  attachment %u-%u: guest %u%s%s%s, frontend state %ld (%s), %u "
			       "queues\n",
			       a->s->guest, a->s->devid, a->s->guest, a->name[0] ? " (" : "",
			       a->name, a->name[0] ? ")" : "", a->fe_state,
			       fe_state_name(a->fe_state), a->nq);
			for (unsigned q = 0; q < a->nq; q++) {
				const struct vbd_snap_queue *r = &a->s->q[q];
				char own[96];
				if (r->has != VBD_SNAP_OK) {
					printf("    queue-%-3u BAD RECORD '%s'\n", q, r->raw);
					continue;
				}
				owner_str(v, r->rec.owner, own, sizeof(own));
				printf("    queue-%-3u owner %-16s epoch %-6" PRIu64 " %s", q, own,
				       r->rec.epoch, vbd_queue_state_name(r->rec.state));
				if (r->rec.state == VBD_Q_DRAINING)
					printf(" -> %u", r->rec.target);
				printf("\n");
			}
		}
	}
	if (s->nd) {
		printf("load per domain:\n");
		printf("  %-6s %-12s %7s %6s %8s %8s %8s\n", "DOMID", "NAME", "VOLUMES", "QUEUES",
		       "INFLIGHT", "IOPS", "BYTES/S");
		for (unsigned i = 0; i < s->nd; i++) {
			char iops[16], bps[16];
			top_human_count((double)s->d[i].iops, iops, sizeof(iops));
			top_human_bytes((double)s->d[i].bps, bps, sizeof(bps));
			printf("  %-6u %-12s %7u %6u %8" PRIu64 " %8s %8s\n", s->d[i].domid,
			       s->d[i].name[0] ? s->d[i].name : "(gone)", s->d[i].volumes,
			       s->d[i].owned, s->d[i].inflight, iops, bps);
		}
	}
	if (s->supervisor_pid >= 0)
		printf("supervisor: pid %ld\n", s->supervisor_pid);
	else
		printf("supervisor: not running (member deaths are not recorded)\n");
}

/* ---- JSON ------------------------------------------------------------- */

static void print_json(const struct status *s)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_key(&j, "volumes");
	json_arr_begin(&j);
	for (unsigned i = 0; i < s->nv; i++) {
		const struct st_vol *v = &s->v[i];
		json_obj_begin(&j);
		json_kstr(&j, "id", v->s->id);
		json_ku64(&j, "size", strtoull(v->size, NULL, 10));
		json_kstr(&j, "backing", (v->s->has_backing ? v->s->backing : "?"));
		json_key(&j, "members");
		json_arr_begin(&j);
		for (unsigned k = 0; k < v->s->nm; k++) {
			const struct st_member *m = &v->m[k];
			json_obj_begin(&j);
			json_ku64(&j, "domid", m->s->domid);
			json_kstr(&j, "name", m->name[0] ? m->name : NULL);
			json_kstr(&j, "state", strcmp(m->state, "-") ? m->state : NULL);
			json_key(&j, "heartbeat");
			has_hb(m) ? json_u64(&j, m->s->hb) : json_null(&j);
			json_key(&j, "heartbeat_age_ms");
			m->have_age ? json_i64(&j, m->age_ms) : json_null(&j);
			json_ku64(&j, "queues_owned", m->owned);
			json_kstr(&j, "failed_reason",
				  m->s->failed_reason[0] ? m->s->failed_reason : NULL);
			json_key(&j, "failed_since");
			has_failed_since(m) ? json_u64(&j, m->s->failed_since) : json_null(&j);
			json_key(&j, "load");
			if (has_load(m)) {
				json_obj_begin(&j);
				json_ku64(&j, "inflight", m->s->load.inflight);
				json_ku64(&j, "iops", m->s->load.iops);
				json_ku64(&j, "bps", m->s->load.bytes_per_s);
				json_ku64(&j, "lat_us", m->s->load.lat_us);
				json_ku64(&j, "p99_us", m->s->load.p99_us);
				json_ku64(&j, "queues", m->s->load.queues);
				json_ku64(&j, "cost", m->s->load.cost);
				json_obj_end(&j);
			} else {
				json_null(&j);
			}
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "attachments");
		json_arr_begin(&j);
		for (unsigned k = 0; k < v->s->na; k++) {
			const struct st_att *a = &v->a[k];
			json_obj_begin(&j);
			json_ku64(&j, "guest", a->s->guest);
			json_kstr(&j, "guest_name", a->name[0] ? a->name : NULL);
			json_ku64(&j, "devid", a->s->devid);
			json_key(&j, "frontend_state");
			a->fe_state >= 0 ? json_i64(&j, a->fe_state) : json_null(&j);
			json_ku64(&j, "num_queues", a->nq);
			json_key(&j, "queues");
			json_arr_begin(&j);
			for (unsigned q = 0; q < a->nq; q++) {
				const struct vbd_snap_queue *r = &a->s->q[q];
				json_obj_begin(&j);
				json_ku64(&j, "queue", q);
				if (r->has != VBD_SNAP_OK) {
					json_kstr(&j, "bad_record", r->raw);
				} else {
					json_key(&j, "owner");
					r->rec.owner == VBD_DOMID_NONE ? json_null(&j)
								       : json_u64(&j, r->rec.owner);
					json_ku64(&j, "epoch", r->rec.epoch);
					json_kstr(&j, "state", vbd_queue_state_name(r->rec.state));
					if (r->rec.state == VBD_Q_DRAINING)
						json_ku64(&j, "target", r->rec.target);
				}
				json_obj_end(&j);
			}
			json_arr_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "domains");
	json_arr_begin(&j);
	for (unsigned i = 0; i < s->nd; i++) {
		json_obj_begin(&j);
		json_ku64(&j, "domid", s->d[i].domid);
		json_kstr(&j, "name", s->d[i].name[0] ? s->d[i].name : NULL);
		json_ku64(&j, "volumes", s->d[i].volumes);
		json_ku64(&j, "queues_owned", s->d[i].owned);
		json_ku64(&j, "inflight", s->d[i].inflight);
		json_ku64(&j, "iops", s->d[i].iops);
		json_ku64(&j, "bps", s->d[i].bps);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "supervisor_pid");
	s->supervisor_pid >= 0 ? json_i64(&j, s->supervisor_pid) : json_null(&j);
	json_obj_end(&j);
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	int json = 0, npos, rc;
	struct ctl_opt opts[] = {{"--json", NULL, &json}, {0}};
	char *pos[1], err[160];
	struct status s = {0};
	xs_transaction_t t;

	if (ctl_parse_opts(argc, argv, opts, pos, 1, &npos, err, sizeof(err)))
		return ctl_usage_error("status: %s", err);
	if (npos == 1 && !vbd_volume_id_valid(pos[0]))
		return ctl_fail("bad volume id '%s'", pos[0]);
	t = xs_transaction_start(c->xs); /* a snapshot; never committed */
	rc = collect(c->xs, t, npos ? pos[0] : NULL, &s);
	if (t != XBT_NULL)
		xs_transaction_end(c->xs, t, true);
	if (rc == -ENOENT) {
		status_free(&s);
		return ctl_fail("unknown volume '%s'", pos[0]);
	}
	if (rc) {
		status_free(&s);
		return ctl_fail("status: %s", strerror(-rc));
	}
	if (json)
		print_json(&s);
	else
		print_text(&s);
	status_free(&s);
	return 0;
}
