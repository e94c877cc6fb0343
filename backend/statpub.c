/* SPDX-License-Identifier: MIT */
/* Per-attachment I/O statistics on request (statpub.h). The counters are
 * the data threads' own (stats.h), read as snapshots; a stopped queue's
 * are kept per attachment here (its "retired" counters), so that what a
 * member publishes for an attachment only grows while the daemon runs. */
#include "statpub.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/grow.h"
#include "vbdpool/iostat.h"
#include "vbdpool/log.h"

/* One attachment this member counted anything for. */
struct sp_att {
	unsigned vol; /* vbd_volume idx */
	unsigned guest, devid;
	struct vbd_stats_snap retired;
	int published; /* its node is written: answer every request, remove it
			  when the attachment goes */
};

static struct sp_att *atts;
static unsigned natts, cap;
static char last_seq[32]; /* the request answered last */

static struct sp_att *find(unsigned vol, unsigned guest, unsigned devid, int add)
{
	for (unsigned i = 0; i < natts; i++)
		if (atts[i].vol == vol && atts[i].guest == guest && atts[i].devid == devid)
			return &atts[i];
	if (!add)
		return NULL;
	if (VBD_GROW(atts, natts, cap, 16) < 0)
		return NULL;
	memset(&atts[natts], 0, sizeof(atts[0]));
	atts[natts].vol = vol;
	atts[natts].guest = guest;
	atts[natts].devid = devid;
	return &atts[natts++];
}

int statpub_watch(struct backd *bd)
{
	char path[VBD_XS_PATH_MAX];

	vbd_xs_path(path, VBD_XS_TOP_WANT, bd->me);
	if (!xs_watch(bd->xs, path, STATPUB_TOKEN)) {
		log_warn("cannot watch %s: %s (vbdpoolctl top shows no figures for this member)",
			 path, strerror(errno));
		return -errno;
	}
	return 0;
}

void statpub_retire(struct vbd_volume *v, struct vbd_queue *q)
{
	const struct vbdq_config *c = vbdq_config(q);
	struct sp_att *s = find(v->idx, c->guest, c->devid, 1);

	if (s)
		vbdq_stats_add(q, &s->retired);
	else
		vol_warn(v, "%u-%u: no memory to keep its counters", c->guest, c->devid);
}

/* The counters of attachment a now: its retired ones and its live queues'. */
static void att_snapshot(struct vbd_attach *a, const struct sp_att *s, struct vbd_stats_snap *out,
			 unsigned *live)
{
	if (s)
		*out = s->retired;
	else
		memset(out, 0, sizeof(*out));
	out->inflight = 0; /* a stopped queue has nothing in flight */
	*live = 0;
	for (unsigned q = 0; q < a->nq; q++)
		if (a->qs[q].q) {
			vbdq_stats_add(a->qs[q].q, out);
			(*live)++;
		}
}

static void publish_att(struct vbd_volume *v, struct vbd_attach *a, uint64_t seq, uint64_t t_ms)
{
	struct backd *bd = v->bd;
	struct sp_att *s = find(v->idx, a->guest, a->devid, 0);
	struct vbd_stats_snap snap;
	struct vbd_iostat st = {.seq = seq, .t_ms = t_ms};
	char path[VBD_XS_PATH_MAX], buf[VBD_IOSTAT_MAX];
	unsigned live;

	att_snapshot(a, s, &snap, &live);
	/* never served (nor serving) anything of it: nothing to say */
	if (!snap.ops && !live && !(s && s->published))
		return;
	if (!s && !(s = find(v->idx, a->guest, a->devid, 1)))
		return;
	st.rd = snap.rd_ops;
	st.wr = snap.wr_ops;
	st.oth = snap.ops - snap.rd_ops - snap.wr_ops;
	st.rd_bytes = snap.rd_bytes;
	st.wr_bytes = snap.wr_bytes;
	st.inflight = snap.inflight;
	st.lat_us = snap.lat_us_sum;
	vbd_stats_log2(&snap, st.hist, VBD_IOSTAT_BUCKETS);
	if (vbd_iostat_format(&st, buf, sizeof(buf)) < 0 ||
	    vbd_xs_path(path, VBD_XS_MEMBER_STAT, v->id, bd->me, a->guest, a->devid) < 0)
		return;
	if (vbd_xs_write(bd->xs, XBT_NULL, path, buf) < 0)
		vol_warn(v, "cannot write %s", path);
	else
		s->published = 1;
}

/* Attachments of v that are gone: their nodes removed, their counters
 * forgotten. */
static void prune(struct vbd_volume *v)
{
	for (unsigned i = 0; i < natts;) {
		struct sp_att *s = &atts[i];
		struct vbd_attach *a = v->atts;
		char path[VBD_XS_PATH_MAX];

		while (a && (s->vol != v->idx || a->guest != s->guest || a->devid != s->devid))
			a = a->next;
		if (s->vol != v->idx || a) {
			i++;
			continue;
		}
		if (s->published &&
		    !vbd_xs_path(path, VBD_XS_MEMBER_STAT, v->id, v->bd->me, s->guest, s->devid))
			vbd_xs_rm(v->bd->xs, XBT_NULL, path);
		atts[i] = atts[--natts];
	}
}

void statpub_event(struct backd *bd)
{
	char *want = vbd_xs_get(bd->xs, XBT_NULL, VBD_XS_TOP_WANT, bd->me);
	uint64_t seq, now;

	/* none (top stopped, or never ran), the same request again, or not
	 * dom0's number: nothing to do */
	if (!want || !strcmp(want, last_seq) || vbd_parse_u64(want, UINT64_MAX, &seq) < 0) {
		free(want);
		return;
	}
	snprintf(last_seq, sizeof(last_seq), "%s", want);
	free(want);
	now = backd_now_ms();
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = bd->vols[i];
		if (!v->joined)
			continue;
		prune(v);
		for (struct vbd_attach *a = v->atts; a; a = a->next)
			publish_att(v, a, seq, now);
	}
}

int statpub_is_stats_path(const char *path)
{
	const char *p = path, *m;
	size_t n = strlen(VBD_XS_VOLUMES "/");

	if (strncmp(p, VBD_XS_VOLUMES "/", n))
		return 0;
	p = strchr(p + n, '/'); /* after the volume id, which has no '/' */
	if (!p || strncmp(p, "/members/", 9))
		return 0;
	m = p + 9;
	for (p = m; *p >= '0' && *p <= '9'; p++)
		;
	return p > m && !strncmp(p, "/stats", 6) && (p[6] == '\0' || p[6] == '/');
}

void statpub_free(void)
{
	free(atts);
	atts = NULL;
	natts = cap = 0;
	last_seq[0] = '\0';
}
