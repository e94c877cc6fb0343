/* SPDX-License-Identifier: MIT */
/*
 * vbdpoolctl top [-b] [-i N] [-d SECONDS] [--json]: xentop for the pool.
 * One line per driver domain (member) and one per guest device
 * (attachment): read/write IOPS and bytes/s, in flight, mean and p99
 * latency, queues, state; refreshed every -d seconds (default 1).
 *
 * Members publish nothing unless asked (docs/protocol.md "I/O statistics
 * on request"): each iteration writes a new request number into
 * /vbdpool/top/<m> for every member domain (n0 r<m>: only dom0 writes it,
 * only <m> may read it), waits (up to the interval, at most 2 s) until
 * each member that owns a queue or published before has answered it in
 * members/<m>/stats/<g>-<d>, and reads everything through the pool
 * snapshot.  The figures of an iteration are the difference between the
 * member's last two answers, over the member's own clock (`t` in the
 * record), summed over the members of a device or the devices of a
 * member; the first iteration has no previous answer and shows "-" (JSON
 * null).  At exit (the iterations done, SIGINT, SIGTERM) the request nodes
 * are removed; leftovers of a killed top are removed by the next one.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "ctl.h"
#include "domain.h"
#include "json.h"
#include "topcalc.h"
#include "vbdpool/clock.h"
#include "vbdpool/iostat.h"
#include "vbdpool/pool_snap.h"
#include "vbdpool/proto.h"
#include "vbdpool/xs.h"

#define TOP_WAIT_MAX_MS 2000u
#define TOP_SNAP                                                                                   \
	(VBD_SNAP_MEMBERS | VBD_SNAP_M_STATE | VBD_SNAP_M_STATS | VBD_SNAP_ATTS |                  \
	 VBD_SNAP_A_INFO | VBD_SNAP_A_QUEUES | VBD_SNAP_A_FESTATE)

/* One member's counters for one attachment, across iterations. */
struct pair {
	char vol[VBD_VOLUME_ID_MAX + 1];
	unsigned m, g, d;
	struct vbd_iostat prev;
	int have_prev;
	struct top_acc last; /* the last interval's figures */
	int have_last;
	unsigned missed; /* iterations in a row without a new answer */
};

/* What one line shows: figures (have: over an interval) and totals. */
struct line {
	struct top_acc acc;
	int have;
	uint64_t inflight, reads, writes, rd_bytes, wr_bytes;
};

struct dev {
	const struct vbd_snap_vol *v;
	const struct vbd_snap_att *a;
	char gname[64];
	unsigned connected;
	struct line l;
};

struct dom {
	unsigned domid;
	char name[64], state[48];
	unsigned volumes, owned;
	struct line l;
};

struct top {
	struct ctl *c;
	int json, batch;
	unsigned long iterations; /* 0: until interrupted */
	double delay;
	uint64_t seq;
	uint64_t asked_ms, answered_ms; /* this iteration's, dom0's CLOCK_REALTIME */
	struct pair *p;
	unsigned np;
	unsigned *asked; /* the domains whose request node we wrote */
	unsigned nasked;
	/* one iteration's view */
	struct vbd_pool_snap snap;
	struct dev *dv;
	unsigned ndv;
	struct dom *dm;
	unsigned ndm;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* ---- asking ------------------------------------------------------------ */

struct ask {
	struct top *t;
	const unsigned *doms;
	unsigned n;
	uint64_t seq;
};

static int has_dom(const unsigned *doms, unsigned n, unsigned d)
{
	for (unsigned i = 0; i < n; i++)
		if (doms[i] == d)
			return 1;
	return 0;
}

/* In one transaction: the next request number (above any written, by us
 * or another top), written for every member domain; a new node gets n0
 * r<m>; nodes of domains that are no member any more are removed. */
static int ask_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct ask *a = arg;
	char **names = NULL, path[VBD_XS_PATH_MAX];
	unsigned n = 0;
	uint64_t seq = a->t->seq, last;
	int rc = vbd_xs_read_u64(xs, t, UINT64_MAX - 1, &last, VBD_XS_TOP);

	/* /vbdpool/top holds the last request number of any top: a member
	 * answers each new number once, so numbers are never used twice */
	if (rc == -ENOENT) {
		struct xs_permissions p = {.id = 0, .perms = XS_PERM_NONE};
		if ((rc = vbd_xs_write(xs, t, VBD_XS_TOP, "0")) < 0 ||
		    (rc = vbd_xs_set_perms(xs, t, VBD_XS_TOP, &p, 1)) < 0)
			return rc;
	} else if (rc == 0 && last > seq) {
		seq = last;
	} else if (rc < 0 && rc != -EINVAL) {
		return rc;
	}
	if ((rc = vbd_xs_list(xs, t, &names, &n, VBD_XS_TOP)) < 0)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		unsigned d;
		uint64_t v;
		if (vbd_snap_parse_domid(names[i], &d) < 0)
			continue;
		if (!has_dom(a->doms, a->n, d)) {
			vbd_xs_path(path, VBD_XS_TOP_WANT, d);
			vbd_xs_rm(xs, t, path);
		} else if (vbd_xs_read_u64(xs, t, UINT64_MAX - 1, &v, VBD_XS_TOP_WANT, d) == 0 &&
			   v > seq) {
			seq = v;
		}
	}
	a->seq = seq + 1;
	if ((rc = vbd_xs_printf(xs, t, VBD_XS_TOP, "%" PRIu64, a->seq)) < 0) {
		free(names);
		return rc;
	}
	for (unsigned i = 0; i < a->n; i++) {
		char name[16];
		int had = 0;
		snprintf(name, sizeof(name), "%u", a->doms[i]);
		for (unsigned k = 0; k < n; k++)
			had |= !strcmp(names[k], name);
		vbd_xs_path(path, VBD_XS_TOP_WANT, a->doms[i]);
		if ((rc = vbd_xs_printf(xs, t, path, "%" PRIu64, a->seq)) < 0)
			break;
		if (!had) {
			struct xs_permissions p[2] = {{.id = 0, .perms = XS_PERM_NONE},
						      {.id = a->doms[i], .perms = XS_PERM_READ}};
			if ((rc = vbd_xs_set_perms(xs, t, path, p, 2)) < 0)
				break;
		}
	}
	free(names);
	return rc < 0 ? rc : 0;
}

/* The member domains of the pool (every volume's members/). */
static int member_doms(const struct vbd_pool_snap *s, unsigned **out, unsigned *n)
{
	*out = NULL;
	*n = 0;
	for (unsigned i = 0; i < s->nv; i++)
		for (unsigned k = 0; k < s->v[i].nm; k++) {
			unsigned d = s->v[i].m[k].domid, *nd;
			if (has_dom(*out, *n, d))
				continue;
			if (!(nd = realloc(*out, (*n + 1) * sizeof(*nd))))
				return -ENOMEM;
			*out = nd;
			(*out)[(*n)++] = d;
		}
	return 0;
}

static int ask(struct top *t)
{
	struct vbd_pool_snap s;
	struct ask a = {.t = t};
	unsigned *doms, n;
	int rc = vbd_pool_snap_read(t->c->xs, XBT_NULL, NULL, VBD_SNAP_MEMBERS, &s);

	if (rc < 0)
		return rc;
	rc = member_doms(&s, &doms, &n);
	vbd_pool_snap_free(&s);
	if (rc < 0)
		return rc;
	a.doms = doms;
	a.n = n;
	rc = vbd_xs_transact(t->c->xs, ask_txn, &a);
	if (rc < 0) {
		free(doms);
		return rc;
	}
	t->seq = a.seq;
	for (unsigned i = 0; i < n; i++)
		if (!has_dom(t->asked, t->nasked, doms[i])) {
			unsigned *na = realloc(t->asked, (t->nasked + 1) * sizeof(*na));
			if (!na)
				break;
			t->asked = na;
			t->asked[t->nasked++] = doms[i];
		}
	free(doms);
	return 0;
}

/* Our request nodes removed (at exit). */
static void withdraw(struct top *t)
{
	char path[VBD_XS_PATH_MAX];

	for (unsigned i = 0; i < t->nasked; i++) {
		vbd_xs_path(path, VBD_XS_TOP_WANT, t->asked[i]);
		vbd_xs_rm(t->c->xs, XBT_NULL, path);
	}
}

/* ---- waiting for the answers -------------------------------------------- */

static const struct vbd_snap_stat *stat_of(const struct vbd_snap_member *m, unsigned g, unsigned d)
{
	for (unsigned i = 0; i < m->nstats; i++)
		if (m->stats[i].guest == g && m->stats[i].devid == d)
			return &m->stats[i];
	return NULL;
}

static int owns_queue(const struct vbd_snap_att *a, unsigned m)
{
	unsigned nq = a->has_nq == VBD_SNAP_OK ? a->nq : 0;

	for (unsigned q = 0; q < nq; q++)
		if (a->q[q].has == VBD_SNAP_OK && a->q[q].rec.owner == m &&
		    a->q[q].rec.state == VBD_Q_CONNECTED)
			return 1;
	return 0;
}

/* Has every member answered request seq? A member answers for each
 * attachment it counted anything for: at least those where it owns a
 * connected queue, and those it answered before. A member that is not
 * active (fenced, failed, gone) is not waited for. */
static int answered(const struct vbd_pool_snap *s, uint64_t seq)
{
	for (unsigned i = 0; i < s->nv; i++) {
		const struct vbd_snap_vol *v = &s->v[i];
		for (unsigned k = 0; k < v->nm; k++) {
			const struct vbd_snap_member *m = &v->m[k];
			if (m->has_state != VBD_SNAP_OK || m->state != VBD_MEMBER_ACTIVE)
				continue;
			for (unsigned j = 0; j < m->nstats; j++)
				if (m->stats[j].has == VBD_SNAP_OK && m->stats[j].st.seq < seq)
					return 0;
			for (unsigned j = 0; j < v->na; j++) {
				const struct vbd_snap_stat *st;
				if (!owns_queue(&v->a[j], m->domid))
					continue;
				st = stat_of(m, v->a[j].guest, v->a[j].devid);
				if (!st || st->has != VBD_SNAP_OK || st->st.seq < seq)
					return 0;
			}
		}
	}
	return 1;
}

static uint64_t wall_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL); /* a signal ends it early: stop is looked at */
}

/* The snapshot once every member answered, or at the deadline. */
static int read_answers(struct top *t, unsigned wait_ms)
{
	uint64_t deadline = vbd_now_ms() + wait_ms;
	unsigned pause = 5;
	int rc;

	for (;;) {
		rc = vbd_pool_snap_read(t->c->xs, XBT_NULL, NULL, TOP_SNAP, &t->snap);
		if (rc < 0 || answered(&t->snap, t->seq) || vbd_now_ms() >= deadline || stop)
			return rc;
		vbd_pool_snap_free(&t->snap);
		sleep_ms(pause);
		if (pause < 80)
			pause *= 2;
	}
}

/* ---- figures ------------------------------------------------------------ */

static struct pair *pair_of(struct top *t, const char *vol, unsigned m, unsigned g, unsigned d)
{
	struct pair *np;

	for (unsigned i = 0; i < t->np; i++)
		if (t->p[i].m == m && t->p[i].g == g && t->p[i].d == d && !strcmp(t->p[i].vol, vol))
			return &t->p[i];
	if (!(np = realloc(t->p, (t->np + 1) * sizeof(*np))))
		return NULL;
	t->p = np;
	np = &t->p[t->np++];
	memset(np, 0, sizeof(*np));
	snprintf(np->vol, sizeof(np->vol), "%s", vol);
	np->m = m;
	np->g = g;
	np->d = d;
	return np;
}

/* One member's answer for one attachment: the interval's figures into
 * *acc (1), or none this time (0). A member that did not answer keeps its
 * last figures for two iterations (it may be slow), then shows none. */
static int pair_step(struct pair *p, const struct vbd_iostat *cur, struct top_acc *acc)
{
	int have = 0;

	if (p->have_prev && cur->t_ms == p->prev.t_ms) {
		if (p->have_last && p->missed++ < 2) {
			*acc = p->last;
			have = 1;
		}
	} else if (p->have_prev && top_delta(&p->prev, cur, acc) == 0) {
		p->last = *acc;
		p->have_last = 1;
		p->missed = 0;
		have = 1;
	} else {
		p->have_last = 0; /* the first answer, or the daemon restarted */
	}
	p->prev = *cur;
	p->have_prev = 1;
	return have;
}

static void line_add(struct line *l, const struct vbd_iostat *cur, const struct top_acc *acc,
		     int have)
{
	l->inflight += cur->inflight;
	l->reads += cur->rd;
	l->writes += cur->wr;
	l->rd_bytes += cur->rd_bytes;
	l->wr_bytes += cur->wr_bytes;
	if (have) {
		top_acc_add(&l->acc, acc);
		l->have = 1;
	}
}

static struct dom *dom_of(struct top *t, unsigned domid)
{
	for (unsigned i = 0; i < t->ndm; i++)
		if (t->dm[i].domid == domid)
			return &t->dm[i];
	return NULL;
}

static struct dev *dev_of(struct top *t, const struct vbd_snap_vol *v, unsigned g, unsigned d)
{
	for (unsigned i = 0; i < t->ndv; i++)
		if (t->dv[i].v == v && t->dv[i].a->guest == g && t->dv[i].a->devid == d)
			return &t->dv[i];
	return NULL;
}

static void dom_state(struct dom *d, const struct vbd_snap_member *m)
{
	const char *st = m->has_state ? m->state_text : "-";
	size_t n = strlen(d->state), k = strlen(st);

	/* each state once: "active", or "active,failed" over volumes */
	for (const char *p = d->state; (p = strstr(p, st)); p += k)
		if ((p == d->state || p[-1] == ',') && (p[k] == ',' || !p[k]))
			return;
	snprintf(d->state + n, sizeof(d->state) - n, "%s%s", n ? "," : "", st);
}

static int cmp_dom(const void *a, const void *b)
{
	unsigned x = ((const struct dom *)a)->domid, y = ((const struct dom *)b)->domid;
	return x < y ? -1 : x > y;
}

static int cmp_dev(const void *a, const void *b)
{
	const struct dev *x = a, *y = b;
	int c = strcmp(x->v->id, y->v->id);

	if (c)
		return c;
	if (x->a->guest != y->a->guest)
		return x->a->guest < y->a->guest ? -1 : 1;
	return x->a->devid < y->a->devid ? -1 : x->a->devid > y->a->devid;
}

/* The lines of this iteration's snapshot. */
static int build(struct top *t)
{
	const struct vbd_pool_snap *s = &t->snap;
	unsigned nm = 0, na = 0;

	for (unsigned i = 0; i < s->nv; i++) {
		nm += s->v[i].nm;
		na += s->v[i].na;
	}
	t->dm = calloc(nm ? nm : 1, sizeof(*t->dm));
	t->dv = calloc(na ? na : 1, sizeof(*t->dv));
	if (!t->dm || !t->dv)
		return -ENOMEM;
	for (unsigned i = 0; i < s->nv; i++) {
		const struct vbd_snap_vol *v = &s->v[i];
		for (unsigned k = 0; k < v->nm; k++) {
			struct dom *d = dom_of(t, v->m[k].domid);
			if (!d) {
				d = &t->dm[t->ndm++];
				d->domid = v->m[k].domid;
				ctl_domain_name(t->c->xs, d->domid, d->name, sizeof(d->name));
			}
			d->volumes++;
			dom_state(d, &v->m[k]);
		}
		for (unsigned k = 0; k < v->na; k++) {
			const struct vbd_snap_att *a = &v->a[k];
			struct dev *dv = &t->dv[t->ndv++];
			unsigned nq = a->has_nq == VBD_SNAP_OK ? a->nq : 0;
			dv->v = v;
			dv->a = a;
			ctl_domain_name(t->c->xs, a->guest, dv->gname, sizeof(dv->gname));
			for (unsigned q = 0; q < nq; q++) {
				struct dom *d;
				if (a->q[q].has != VBD_SNAP_OK ||
				    a->q[q].rec.owner == VBD_DOMID_NONE)
					continue;
				dv->connected += a->q[q].rec.state == VBD_Q_CONNECTED;
				if ((d = dom_of(t, a->q[q].rec.owner)))
					d->owned++;
			}
		}
	}
	for (unsigned i = 0; i < s->nv; i++) {
		const struct vbd_snap_vol *v = &s->v[i];
		for (unsigned k = 0; k < v->nm; k++) {
			const struct vbd_snap_member *m = &v->m[k];
			struct dom *d = dom_of(t, m->domid);
			for (unsigned j = 0; j < m->nstats; j++) {
				const struct vbd_snap_stat *st = &m->stats[j];
				struct dev *dv = dev_of(t, v, st->guest, st->devid);
				struct pair *p;
				struct top_acc acc;
				int have;
				if (st->has != VBD_SNAP_OK || !dv) /* detached meanwhile */
					continue;
				if (!(p = pair_of(t, v->id, m->domid, st->guest, st->devid)))
					return -ENOMEM;
				have = pair_step(p, &st->st, &acc);
				line_add(&dv->l, &st->st, &acc, have);
				line_add(&d->l, &st->st, &acc, have);
			}
		}
	}
	qsort(t->dm, t->ndm, sizeof(*t->dm), cmp_dom);
	qsort(t->dv, t->ndv, sizeof(*t->dv), cmp_dev);
	return 0;
}

static void iteration_free(struct top *t)
{
	free(t->dm);
	free(t->dv);
	t->dm = NULL;
	t->dv = NULL;
	t->ndm = t->ndv = 0;
	vbd_pool_snap_free(&t->snap);
}

/* ---- output ------------------------------------------------------------- */

static const char *fe_state_name(const struct vbd_snap_att *a)
{
	static const char *const names[] = {"Unknown",	 "Initialising", "InitWait", "Initialised",
					    "Connected", "Closing",	 "Closed"};
	if (a->has_fe_state != VBD_SNAP_OK)
		return "missing";
	return a->fe_state >= 0 && a->fe_state <= 6 ? names[a->fe_state] : "?";
}

/* The figure columns of one line, "-" where there is no interval yet. */
static void text_figures(const struct line *l)
{
	char b[6][16];

	if (!l->have) {
		printf(" %7s %7s %7s %7s %5" PRIu64 " %7s %7s\n", "-", "-", "-", "-", l->inflight,
		       "-", "-");
		return;
	}
	top_human_count(l->acc.rd_iops, b[0], sizeof(b[0]));
	top_human_count(l->acc.wr_iops, b[1], sizeof(b[1]));
	top_human_bytes(l->acc.rd_bps, b[2], sizeof(b[2]));
	top_human_bytes(l->acc.wr_bps, b[3], sizeof(b[3]));
	if (l->acc.ops) {
		top_human_us(top_mean_us(&l->acc), b[4], sizeof(b[4]));
		top_human_us(top_percentile(l->acc.hist, 99), b[5], sizeof(b[5]));
	} else {
		snprintf(b[4], sizeof(b[4]), "-");
		snprintf(b[5], sizeof(b[5]), "-");
	}
	printf(" %7s %7s %7s %7s %5" PRIu64 " %7s %7s\n", b[0], b[1], b[2], b[3], l->inflight, b[4],
	       b[5]);
}

static void print_text(const struct top *t, unsigned long it)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!t->batch && isatty(STDOUT_FILENO))
		fputs("\033[H\033[2J", stdout);
	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	printf("vbdpoolctl top - %s  every %.1fs  iteration %lu  %u domain%s  %u device%s\n", when,
	       t->delay, it, t->ndm, t->ndm == 1 ? "" : "s", t->ndv, t->ndv == 1 ? "" : "s");
	printf("%-5s %-12s %-14s %6s %7s %7s %7s %7s %5s %7s %7s\n", "DOMID", "DOMAIN", "STATE",
	       "QUEUES", "RD-IOPS", "WR-IOPS", "RD-B/s", "WR-B/s", "INFL", "LAT", "P99");
	for (unsigned i = 0; i < t->ndm; i++) {
		const struct dom *d = &t->dm[i];
		printf("%5u %-12.12s %-14.14s %6u", d->domid, d->name[0] ? d->name : "(gone)",
		       d->state, d->owned);
		text_figures(&d->l);
	}
	printf("%-19s %-14s %6s %7s %7s %7s %7s %5s %7s %7s\n", "DEVICE (VOL G-D)", "STATE",
	       "QUEUES", "RD-IOPS", "WR-IOPS", "RD-B/s", "WR-B/s", "INFL", "LAT", "P99");
	for (unsigned i = 0; i < t->ndv; i++) {
		const struct dev *dv = &t->dv[i];
		char name[96], q[24];
		unsigned nq = dv->a->has_nq == VBD_SNAP_OK ? dv->a->nq : 0;
		snprintf(name, sizeof(name), "%s %u-%u", dv->v->id, dv->a->guest, dv->a->devid);
		snprintf(q, sizeof(q), "%u/%u", dv->connected, nq);
		printf("%-19.19s %-14s %6s", name, fe_state_name(dv->a), q);
		text_figures(&dv->l);
	}
	if (t->batch)
		printf("\n");
	fflush(stdout);
}

static uint64_t round_u64(double v)
{
	return v > 0 ? (uint64_t)(v + 0.5) : 0;
}

static void json_figures(struct json *j, const struct line *l)
{
	json_key(j, "read_iops");
	l->have ? json_u64(j, round_u64(l->acc.rd_iops)) : json_null(j);
	json_key(j, "write_iops");
	l->have ? json_u64(j, round_u64(l->acc.wr_iops)) : json_null(j);
	json_key(j, "read_bps");
	l->have ? json_u64(j, round_u64(l->acc.rd_bps)) : json_null(j);
	json_key(j, "write_bps");
	l->have ? json_u64(j, round_u64(l->acc.wr_bps)) : json_null(j);
	json_ku64(j, "inflight", l->inflight);
	json_key(j, "lat_us");
	l->have && l->acc.ops ? json_u64(j, top_mean_us(&l->acc)) : json_null(j);
	json_key(j, "p99_us");
	l->have && l->acc.ops ? json_u64(j, top_percentile(l->acc.hist, 99)) : json_null(j);
	/* the members' cumulative counters, summed (they start at 0 with each
	 * member's daemon) */
	json_ku64(j, "reads", l->reads);
	json_ku64(j, "writes", l->writes);
	json_ku64(j, "read_bytes", l->rd_bytes);
	json_ku64(j, "write_bytes", l->wr_bytes);
}

static void print_json(const struct top *t, unsigned long it)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_ku64(&j, "iteration", it);
	json_ku64(&j, "request", t->seq);
	/* the members sampled between these two (dom0's wall clock, ms) */
	json_ku64(&j, "asked_ms", t->asked_ms);
	json_ku64(&j, "answered_ms", t->answered_ms);
	json_key(&j, "domains");
	json_arr_begin(&j);
	for (unsigned i = 0; i < t->ndm; i++) {
		const struct dom *d = &t->dm[i];
		json_obj_begin(&j);
		json_ku64(&j, "domid", d->domid);
		json_kstr(&j, "name", d->name[0] ? d->name : NULL);
		json_kstr(&j, "state", d->state);
		json_ku64(&j, "volumes", d->volumes);
		json_ku64(&j, "queues_owned", d->owned);
		json_figures(&j, &d->l);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "devices");
	json_arr_begin(&j);
	for (unsigned i = 0; i < t->ndv; i++) {
		const struct dev *dv = &t->dv[i];
		json_obj_begin(&j);
		json_kstr(&j, "volume", dv->v->id);
		json_ku64(&j, "guest", dv->a->guest);
		json_kstr(&j, "guest_name", dv->gname[0] ? dv->gname : NULL);
		json_ku64(&j, "devid", dv->a->devid);
		json_kstr(&j, "state", fe_state_name(dv->a));
		json_ku64(&j, "num_queues", dv->a->has_nq == VBD_SNAP_OK ? dv->a->nq : 0);
		json_ku64(&j, "queues_connected", dv->connected);
		json_figures(&j, &dv->l);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	fflush(stdout);
}

/* ---- the command -------------------------------------------------------- */

/* xentop's short flags (-b, -i N, -d S) as vbdpoolctl's long ones. */
static void long_flags(int argc, char **argv, char **out)
{
	for (int i = 0; i < argc; i++)
		out[i] = !strcmp(argv[i], "-b")	  ? "--batch"
			 : !strcmp(argv[i], "-i") ? "--iterations"
			 : !strcmp(argv[i], "-d") ? "--delay"
						  : argv[i];
}

static int parse_delay(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !(v >= 0.1 && v <= 3600))
		return -EINVAL;
	*out = v;
	return 0;
}

int cmd_top(struct ctl *c, int argc, char **argv)
{
	const char *iters = NULL, *delay = NULL;
	struct top t = {.c = c, .delay = 1.0};
	struct ctl_opt opts[] = {{"--batch", NULL, &t.batch},
				 {"--iterations", &iters, NULL},
				 {"--delay", &delay, NULL},
				 {"--json", NULL, &t.json},
				 {0}};
	char **args = calloc((size_t)argc + 1, sizeof(*args)), err[160];
	struct sigaction sa = {.sa_handler = on_signal};
	int npos, rc = 0;
	uint64_t start;

	if (!args)
		return ctl_fail("top: out of memory");
	long_flags(argc, argv, args);
	rc = ctl_parse_opts(argc, args, opts, NULL, 0, &npos, err, sizeof(err));
	free(args);
	if (rc)
		return ctl_usage_error("top: %s", err);
	if (iters && ctl_parse_uint(iters, 1, 1000000, &t.iterations))
		return ctl_usage_error("top: -i '%s': the number of iterations is 1..1000000",
				       iters);
	if (delay && parse_delay(delay, &t.delay))
		return ctl_usage_error("top: -d '%s': the delay is 0.1..3600 seconds", delay);
	t.batch |= t.json;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	start = vbd_now_ms();
	for (unsigned long it = 1; !stop && (!t.iterations || it <= t.iterations); it++) {
		uint64_t due = start + round_u64(t.delay * 1000.0 * (double)(it - 1)), now;
		unsigned wait = (unsigned)round_u64(t.delay * 1000.0);

		while (!stop && (now = vbd_now_ms()) < due)
			sleep_ms((unsigned)(due - now));
		if (stop)
			break;
		t.asked_ms = wall_ms();
		if ((rc = ask(&t)) < 0) {
			rc = ctl_fail("top: cannot write the request: %s", strerror(-rc));
			break;
		}
		if ((rc = read_answers(&t, wait < TOP_WAIT_MAX_MS ? wait : TOP_WAIT_MAX_MS)) < 0 ||
		    (rc = build(&t)) < 0) {
			iteration_free(&t);
			rc = ctl_fail("top: cannot read the pool: %s", strerror(-rc));
			break;
		}
		t.answered_ms = wall_ms();
		if (t.json)
			print_json(&t, it);
		else
			print_text(&t, it);
		iteration_free(&t);
	}
	withdraw(&t);
	free(t.p);
	free(t.asked);
	return rc;
}
