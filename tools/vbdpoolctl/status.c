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
#include "vbdpool/proto.h"
#include "xsh.h"

struct st_member {
	unsigned domid;
	char name[64];
	char state[24];
	int have_hb, have_load;
	uint64_t hb;
	int64_t age_ms;
	int have_age; /* age_ms means something (one clock for all domains) */
	struct vbd_member_load load;
	unsigned owned;		 /* queues owned, counted from the records */
	char failed_reason[200]; /* members/<m>/failed-reason, "" if none */
	int have_failed_since;
	uint64_t failed_since; /* members/<m>/failed-since: wall clock ms */
};

struct st_queue {
	int ok; /* record parsed */
	char raw[160];
	struct vbd_queue_rec rec;
};

struct st_att {
	unsigned g, d;
	char name[64];
	long fe_state; /* -1 missing */
	unsigned nq;
	struct st_queue q[VBD_MAX_QUEUES];
};

struct st_vol {
	char id[72];
	char size[32];
	char backing[256];
	struct st_member *m;
	unsigned nm;
	struct st_att *a;
	unsigned na;
};

struct st_dom { /* the load per domain, over every volume it serves */
	unsigned domid;
	char name[64];
	unsigned volumes, owned;
	uint64_t inflight, iops, bps;
};

struct status {
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

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void read_str(struct xs_handle *h, xs_transaction_t t, const char *path, char *buf,
		     size_t len, const char *dflt)
{
	char *v;

	if (xsh_read(h, t, path, &v)) {
		snprintf(buf, len, "%s", dflt);
		return;
	}
	snprintf(buf, len, "%s", v);
	free(v);
}

static int cmp_uint(unsigned a, unsigned b)
{
	return a < b ? -1 : a > b;
}
static int cmp_member(const void *a, const void *b)
{
	return cmp_uint(((const struct st_member *)a)->domid, ((const struct st_member *)b)->domid);
}
static int cmp_att(const void *a, const void *b)
{
	const struct st_att *x = a, *y = b;
	return x->g != y->g ? cmp_uint(x->g, y->g) : cmp_uint(x->d, y->d);
}

static int load_members(struct xs_handle *h, xs_transaction_t t, struct st_vol *v)
{
	char p[256], **names;
	unsigned n;

	snprintf(p, sizeof(p), VBD_XS_MEMBERS, v->id);
	if (xsh_list(h, t, p, &names, &n))
		return 0;
	v->m = calloc(n ? n : 1, sizeof(*v->m));
	if (!v->m) {
		free(names);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct st_member *m = &v->m[v->nm];
		unsigned long id;
		char *val;
		if (ctl_parse_uint(names[i], 0, 0xffff, &id))
			continue;
		m->domid = (unsigned)id;
		v->nm++;
		ctl_domain_name(h, m->domid, m->name, sizeof(m->name));
		snprintf(p, sizeof(p), VBD_XS_MEMBER "/state", v->id, m->domid);
		read_str(h, t, p, m->state, sizeof(m->state), "-");
		snprintf(p, sizeof(p), VBD_XS_MEMBER "/heartbeat", v->id, m->domid);
		if (xsh_read(h, t, p, &val) == 0) {
			char *end;
			m->hb = strtoull(val, &end, 10);
			m->have_hb = !*end && end != val;
			/* an age only where dom0 and the member share a clock */
			m->have_age = m->have_hb && clock_shared();
			m->age_ms = now_ms() - (int64_t)m->hb;
			free(val);
		}
		snprintf(p, sizeof(p), VBD_XS_MEMBER "/load", v->id, m->domid);
		if (xsh_read(h, t, p, &val) == 0) {
			m->have_load = vbd_member_load_parse(val, &m->load) == 0;
			free(val);
		}
		snprintf(p, sizeof(p), VBD_XS_MEMBER "/failed-reason", v->id, m->domid);
		read_str(h, t, p, m->failed_reason, sizeof(m->failed_reason), "");
		snprintf(p, sizeof(p), VBD_XS_MEMBER "/failed-since", v->id, m->domid);
		if (xsh_read(h, t, p, &val) == 0) {
			char *end;
			m->failed_since = strtoull(val, &end, 10);
			m->have_failed_since = !*end && end != val;
			free(val);
		}
	}
	free(names);
	qsort(v->m, v->nm, sizeof(*v->m), cmp_member);
	return 0;
}

static int load_attachments(struct xs_handle *h, xs_transaction_t t, struct st_vol *v)
{
	char p[256], **names;
	unsigned n;

	snprintf(p, sizeof(p), VBD_XS_ATTACHMENTS, v->id);
	if (xsh_list(h, t, p, &names, &n))
		return 0;
	v->a = calloc(n ? n : 1, sizeof(*v->a));
	if (!v->a) {
		free(names);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct st_att *a = &v->a[v->na];
		unsigned long x;
		char tail;
		if (sscanf(names[i], "%u-%u%c", &a->g, &a->d, &tail) != 2)
			continue;
		v->na++;
		ctl_domain_name(h, a->g, a->name, sizeof(a->name));
		snprintf(p, sizeof(p), VBD_XS_FRONTEND "/state", a->g, a->d);
		a->fe_state = xsh_read_ulong(h, t, p, &x) == 0 ? (long)x : -1;
		snprintf(p, sizeof(p), VBD_XS_ATTACHMENT "/num-queues", v->id, a->g, a->d);
		if (xsh_read_ulong(h, t, p, &x) == 0 && x <= VBD_MAX_QUEUES)
			a->nq = (unsigned)x;
		for (unsigned q = 0; q < a->nq; q++) {
			snprintf(p, sizeof(p), VBD_XS_QUEUE_REC, v->id, a->g, a->d, q);
			read_str(h, t, p, a->q[q].raw, sizeof(a->q[q].raw), "");
			a->q[q].ok = vbd_queue_rec_parse(a->q[q].raw, &a->q[q].rec) == 0;
			if (!a->q[q].ok || a->q[q].rec.owner == VBD_DOMID_NONE)
				continue;
			for (unsigned k = 0; k < v->nm; k++)
				if (v->m[k].domid == a->q[q].rec.owner)
					v->m[k].owned++;
		}
	}
	free(names);
	qsort(v->a, v->na, sizeof(*v->a), cmp_att);
	return 0;
}

static int member_gone(const struct st_member *m)
{
	return !strcmp(m->state, "dead") || !strcmp(m->state, "fenced");
}

static struct st_dom *dom_slot(struct status *s, const struct st_member *m)
{
	for (unsigned i = 0; i < s->nd; i++)
		if (s->d[i].domid == m->domid)
			return &s->d[i];
	struct st_dom *nd = realloc(s->d, (s->nd + 1) * sizeof(*nd));
	if (!nd)
		return NULL;
	s->d = nd;
	memset(&s->d[s->nd], 0, sizeof(s->d[0]));
	s->d[s->nd].domid = m->domid;
	snprintf(s->d[s->nd].name, sizeof(s->d[0].name), "%s", m->name);
	return &s->d[s->nd++];
}

static int collect(struct xs_handle *h, xs_transaction_t t, const char *only, struct status *s)
{
	char **vols, p[256];
	unsigned n;
	unsigned long pid;
	int rc = 0;

	s->supervisor_pid =
	    xsh_read_ulong(h, t, VBD_XS_SUPERVISOR "/pid", &pid) == 0 ? (long)pid : -1;
	if (xsh_list(h, t, VBD_XS_VOLUMES, &vols, &n))
		return only ? -ENOENT : 0;
	s->v = calloc(n ? n : 1, sizeof(*s->v));
	if (!s->v) {
		free(vols);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n && !rc; i++) {
		struct st_vol *v = &s->v[s->nv];
		if (only && strcmp(only, vols[i]))
			continue;
		snprintf(v->id, sizeof(v->id), "%s", vols[i]);
		s->nv++;
		snprintf(p, sizeof(p), VBD_XS_VOLUME "/size", v->id);
		read_str(h, t, p, v->size, sizeof(v->size), "?");
		snprintf(p, sizeof(p), VBD_XS_VOLUME "/backing", v->id);
		read_str(h, t, p, v->backing, sizeof(v->backing), "?");
		rc = load_members(h, t, v);
		if (!rc)
			rc = load_attachments(h, t, v);
		for (unsigned k = 0; k < v->nm && !rc; k++) {
			struct st_dom *d = dom_slot(s, &v->m[k]);
			if (!d) {
				rc = -ENOMEM;
				break;
			}
			d->volumes++;
			d->owned += v->m[k].owned;
			/* a dead or fenced member's last load is history */
			if (v->m[k].have_load && !member_gone(&v->m[k])) {
				d->inflight += v->m[k].load.inflight;
				d->iops += v->m[k].load.iops;
				d->bps += v->m[k].load.bytes_per_s;
			}
		}
	}
	free(vols);
	if (!rc && only && s->nv == 0)
		rc = -ENOENT;
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
	for (unsigned k = 0; k < v->nm; k++)
		if (v->m[k].domid == owner && v->m[k].name[0]) {
			snprintf(buf, len, "%u (%s)", owner, v->m[k].name);
			return;
		}
	snprintf(buf, len, "%u", owner);
}

/* Why a member is failed and since when (its wall clock, as written). */
static void print_failed(const struct st_member *m)
{
	char when[64] = "?";

	if (m->have_failed_since) {
		time_t sec = (time_t)(m->failed_since / 1000);
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		if (localtime_r(&sec, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		int64_t ago =
		    (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - (int64_t)m->failed_since;
		if (ago >= 0)
			snprintf(when + strlen(when), sizeof(when) - strlen(when),
				 " (%" PRId64 "s ago)", ago / 1000);
	}
	printf("         failed since %s: %s\n", when,
	       m->failed_reason[0] ? m->failed_reason : "(no reason given)");
}

static void print_text(const struct status *s)
{
	if (s->nv == 0)
		printf("no volumes\n");
	for (unsigned i = 0; i < s->nv; i++) {
		const struct st_vol *v = &s->v[i];
		printf("volume %s: %s bytes, backing %s\n", v->id, v->size, v->backing);
		printf("  %-6s %-12s %-8s %8s %8s %8s %11s %8s %8s %6s %5s\n", "MEMBER", "NAME",
		       "STATE", "HB-AGE", "INFLIGHT", "IOPS", "BYTES/S", "LAT-US", "P99-US",
		       "QUEUES", "COST");
		if (v->nm == 0)
			printf("  (no members)\n");
		for (unsigned k = 0; k < v->nm; k++) {
			const struct st_member *m = &v->m[k];
			char age[24];
			if (m->have_hb && member_gone(m))
				snprintf(age, sizeof(age), "-");
			else if (m->have_age)
				snprintf(age, sizeof(age), "%" PRId64 "ms", m->age_ms);
			else
				snprintf(age, sizeof(age), "-");
			if (m->have_load)
				printf("  %-6u %-12s %-8s %8s %8" PRIu64 " %8" PRIu64 " %11" PRIu64
				       " %8" PRIu64 " %8" PRIu64 " %6u %5" PRIu64 "\n",
				       m->domid, m->name[0] ? m->name : "(gone)", m->state, age,
				       m->load.inflight, m->load.iops, m->load.bytes_per_s,
				       m->load.lat_us, m->load.p99_us, m->owned, m->load.cost);
			else
				printf("  %-6u %-12s %-8s %8s %8s %8s %11s %8s %8s %6u %5s\n",
				       m->domid, m->name[0] ? m->name : "(gone)", m->state, age,
				       "-", "-", "-", "-", "-", m->owned, "-");
			if (m->failed_reason[0] || m->have_failed_since)
				print_failed(m);
		}
		for (unsigned k = 0; k < v->na; k++) {
			const struct st_att *a = &v->a[k];
			printf("  attachment %u-%u: guest %u%s%s%s, frontend state %ld (%s), %u "
			       "queues\n",
			       a->g, a->d, a->g, a->name[0] ? " (" : "", a->name,
			       a->name[0] ? ")" : "", a->fe_state, fe_state_name(a->fe_state),
			       a->nq);
			for (unsigned q = 0; q < a->nq; q++) {
				const struct st_queue *r = &a->q[q];
				char own[96];
				if (!r->ok) {
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
		printf("  %-6s %-12s %7s %6s %8s %8s %11s\n", "DOMID", "NAME", "VOLUMES", "QUEUES",
		       "INFLIGHT", "IOPS", "BYTES/S");
		for (unsigned i = 0; i < s->nd; i++)
			printf("  %-6u %-12s %7u %6u %8" PRIu64 " %8" PRIu64 " %11" PRIu64 "\n",
			       s->d[i].domid, s->d[i].name[0] ? s->d[i].name : "(gone)",
			       s->d[i].volumes, s->d[i].owned, s->d[i].inflight, s->d[i].iops,
			       s->d[i].bps);
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
		json_kstr(&j, "id", v->id);
		json_ku64(&j, "size", strtoull(v->size, NULL, 10));
		json_kstr(&j, "backing", v->backing);
		json_key(&j, "members");
		json_arr_begin(&j);
		for (unsigned k = 0; k < v->nm; k++) {
			const struct st_member *m = &v->m[k];
			json_obj_begin(&j);
			json_ku64(&j, "domid", m->domid);
			json_kstr(&j, "name", m->name[0] ? m->name : NULL);
			json_kstr(&j, "state", strcmp(m->state, "-") ? m->state : NULL);
			json_key(&j, "heartbeat");
			m->have_hb ? json_u64(&j, m->hb) : json_null(&j);
			json_key(&j, "heartbeat_age_ms");
			m->have_age ? json_i64(&j, m->age_ms) : json_null(&j);
			json_ku64(&j, "queues_owned", m->owned);
			json_kstr(&j, "failed_reason",
				  m->failed_reason[0] ? m->failed_reason : NULL);
			json_key(&j, "failed_since");
			m->have_failed_since ? json_u64(&j, m->failed_since) : json_null(&j);
			json_key(&j, "load");
			if (m->have_load) {
				json_obj_begin(&j);
				json_ku64(&j, "inflight", m->load.inflight);
				json_ku64(&j, "iops", m->load.iops);
				json_ku64(&j, "bps", m->load.bytes_per_s);
				json_ku64(&j, "lat_us", m->load.lat_us);
				json_ku64(&j, "p99_us", m->load.p99_us);
				json_ku64(&j, "queues", m->load.queues);
				json_ku64(&j, "cost", m->load.cost);
				json_obj_end(&j);
			} else {
				json_null(&j);
			}
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "attachments");
		json_arr_begin(&j);
		for (unsigned k = 0; k < v->na; k++) {
			const struct st_att *a = &v->a[k];
			json_obj_begin(&j);
			json_ku64(&j, "guest", a->g);
			json_kstr(&j, "guest_name", a->name[0] ? a->name : NULL);
			json_ku64(&j, "devid", a->d);
			json_key(&j, "frontend_state");
			a->fe_state >= 0 ? json_i64(&j, a->fe_state) : json_null(&j);
			json_ku64(&j, "num_queues", a->nq);
			json_key(&j, "queues");
			json_arr_begin(&j);
			for (unsigned q = 0; q < a->nq; q++) {
				const struct st_queue *r = &a->q[q];
				json_obj_begin(&j);
				json_ku64(&j, "queue", q);
				if (!r->ok) {
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
