/* SPDX-License-Identifier: MIT */
/* Connecting a queue we own to the frontend's ring (control path, like
 * xen-blkback's connect_ring): reading the frontend's queue-<q>/ directory
 * in one transaction, starting the data plane on the ring it publishes for
 * our epoch, noticing a ring replaced by a restarted frontend, and stopping
 * the data plane when we stop serving. */
#include "backd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/protocols.h>

#include "vbdpool/log.h"

void own_stop_queue(struct vbd_volume *v, struct vbd_qslot *s, const char *why)
{
	struct vbd_queue *q = s->q;

	if (!q)
		return;
	vq_log_dp(VBD_LOG_INFO, v, q, "stop serving (%s)", why);
	hb_retire_queue(v, q);
	vbdq_destroy(q);
	s->q = NULL;
	s->releasing = 0;
}

/* ---- reading the frontend's queue directory ----------------------------- */

/* What the frontend publishes in queue-<q>/ for the record's owner and
 * epoch: fe_read_fn gives 0, -ENOENT (not published for this owner/epoch
 * yet) or -EINVAL (malformed). */
struct fe_read {
	struct vbd_attach *a;
	unsigned q;
	uint64_t owner, epoch, order, port;
	vbd_gref_t refs[1u << VBD_MAX_RING_PAGE_ORDER];
	int proto_ok;
	uint64_t abandoned; /* queue-<q>/abandoned: the epoch whose ring it gave up (0: none) */
};

static int fe_read_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct fe_read *f = arg;
	const char *dir = f->a->fe;
	char *proto;
	int r;

	if ((r = vbd_xs_read_u64(xs, t, VBD_DOMID_NONE, &f->owner, "%s/queue-%u/owner", dir,
				 f->q)) ||
	    (r = vbd_xs_read_u64(xs, t, UINT64_MAX, &f->epoch, "%s/queue-%u/epoch", dir, f->q)))
		return r == -EINVAL ? -EINVAL : -ENOENT; /* missing: not published yet */
	if (f->owner != f->a->qs[f->q].rec.owner || f->epoch != f->a->qs[f->q].rec.epoch)
		return -ENOENT;
	if ((r = vbd_xs_read_u64(xs, t, VBD_MAX_RING_PAGE_ORDER, &f->order,
				 "%s/queue-%u/ring-page-order", dir, f->q)) ||
	    (r = vbd_xs_read_u64(xs, t, UINT32_MAX, &f->port, "%s/queue-%u/event-channel", dir,
				 f->q)))
		return r == -EINVAL ? -EINVAL : -ENOENT;
	for (unsigned i = 0; i < (1u << f->order); i++) {
		uint64_t ref;
		r = vbd_xs_read_u64(xs, t, UINT32_MAX, &ref, "%s/queue-%u/ring-ref%u", dir, f->q,
				    i);
		if (r)
			return r == -EINVAL ? -EINVAL : -ENOENT;
		f->refs[i] = (vbd_gref_t)ref;
	}
	proto = vbd_xs_get(xs, t, "%s/queue-%u/protocol", dir, f->q);
	f->proto_ok = !proto || !strcmp(proto, XEN_IO_PROTO_ABI_X86_64); /* absent: native */
	free(proto);
	if (vbd_xs_read_u64(xs, t, UINT64_MAX, &f->abandoned, "%s/queue-%u/abandoned", dir, f->q))
		f->abandoned = 0; /* absent (or malformed: not a verdict we act on) */
	return 0;
}

/* The frontend published a ring nobody can use: give the queue back and
 * do not take it again at this epoch (another member may fare better; a
 * later epoch, set by someone else, gets a fresh ring: an unmappable ring
 * can also be one the frontend replaced while we were mapping it). */
static void reject_ring(struct vbd_volume *v, struct vbd_attach *a, unsigned q, const char *why)
{
	struct vbd_qslot *s = &a->qs[q];

	vq_warn(v, a, q, "%s: releasing it", why);
	s->banned = 1;
	s->banned_epoch = s->rec.epoch;
	own_release(v, a, q);
}

/* Is the attachment read-only?  Its `mode` in the pool area, which only
 * dom0 writes (never the guest's copy in its frontend directory, which
 * the guest owns): absent (attached before modes) is read-write; a value
 * that is neither r nor w, or one that cannot be read, is taken as
 * read-only (logged). */
static int att_read_only(struct vbd_volume *v, struct vbd_attach *a)
{
	char *mode = NULL;
	int ro = 0, r = vbd_xs_read(v->bd->xs, XBT_NULL, &mode, VBD_XS_ATTACHMENT "/mode", v->id,
				    a->guest, a->devid);

	if (r == 0 ? vbd_att_mode_parse(mode, &ro) != 0 : r != -ENOENT) {
		vol_warn(v, "%u-%u: mode %s%.16s%s: serving it read-only", a->guest, a->devid,
			 r ? "unreadable (" : "'", r ? strerror(-r) : mode, r ? ")" : "'");
		ro = 1;
	}
	free(mode);
	return ro;
}

int conn_connect(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct backd *bd = v->bd;
	struct vbd_qslot *s = &a->qs[q];
	struct fe_read f = {.a = a, .q = q};
	struct vbdq_config cfg;
	int r;

	r = vbd_xs_transact(bd->xs, fe_read_fn, &f);
	if (r == -ENOENT)
		return -EAGAIN; /* the frontend has not published this epoch's ring yet */
	if (r < 0) {
		if (r == -EINVAL)
			reject_ring(v, a, q, "malformed frontend queue directory");
		return r;
	}
	if (!f.proto_ok) {
		reject_ring(v, a, q, "unsupported ring protocol");
		return -EPROTONOSUPPORT;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.guest = (vbd_domid_t)a->guest;
	cfg.devid = a->devid;
	cfg.qidx = q;
	cfg.epoch = s->rec.epoch;
	cfg.order = (unsigned)f.order;
	memcpy(cfg.ring_refs, f.refs, sizeof(cfg.ring_refs));
	cfg.remote_port = (vbd_port_t)f.port;
	cfg.backing = &v->backing;
	cfg.engine = bd->cfg.engine;
	cfg.wrap = &bd->cfg.wrap;
	cfg.plat = vbd_platform();
	cfg.report_fd = bd->report_fd;
	cfg.max_grants = VBD_MAX_PERSISTENT_GRANTS;
	cfg.poll_us = bd->cfg.poll_us;
	cfg.lease_until_ns = &v->lease_until_ns;
	cfg.read_only = att_read_only(v, a);
	r = vbdq_create(&cfg, &s->q);
	if (r < 0) {
		s->q = NULL;
		reject_ring(v, a, q, "ring cannot be mapped or its event channel bound");
		return r;
	}
	r = vbdq_start(s->q);
	if (r < 0) {
		vq_err(v, a, q, "cannot start a data thread: %s", strerror(-r));
		vbdq_destroy(s->q);
		s->q = NULL;
		return r;
	}
	if (hb_watch_queue(v, s->q) < 0)
		vq_warn(v, a, q, "out of memory: this queue's I/O is not watched for a hang");
	r = own_set_connected(v, a, q);
	if (r != 0)
		own_stop_queue(v, s, "record changed while connecting");
	return r;
}

/* Is the ring the frontend publishes for our epoch still the one we map?
 * A frontend that restarted (docs/protocol.md "Frontend close / restart")
 * publishes a new ring under the epoch it finds; we then re-claim with a new
 * epoch so that it builds a fresh ring for us. Comparing what is published
 * (rather than reacting to the `state` event itself) cannot mistake a ring
 * we mapped after the restart for a stale one. */
static void check_ring_current(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct backd *bd = v->bd;
	struct vbd_qslot *s = &a->qs[q];
	struct fe_read f = {.a = a, .q = q};
	const struct vbdq_config *c = vbdq_config(s->q);
	int r = vbd_xs_transact(bd->xs, fe_read_fn, &f);

	if (r < 0 && r != -EINVAL && r != -ENOENT)
		return; /* cannot tell now */
	if (r == 0 && f.abandoned && f.abandoned == c->epoch) {
		/* The frontend found a protocol violation in our responses and
		 * reads this ring no more: its requests wait for the queue's
		 * next epoch.  Stop serving (waiting for our I/O in flight),
		 * then pass the queue straight to the least loaded other
		 * active member, as a hand-off does: released, it would wait
		 * a claim grace whenever every other member already has its
		 * fair share, and so would the guest.  With nobody to take
		 * it, release it and leave it to the others for a while;
		 * should nobody take it, we claim it again (a fresh ring). */
		unsigned t;

		vq_warn(v, a, q,
			"the frontend abandoned our ring (a protocol violation in our "
			"responses): giving the queue up");
		own_stop_queue(v, s, "ring abandoned by the frontend");
		s->avoid_until = backd_now_ms() + 2 * VBD_CLAIM_GRACE_MS;
		t = bal_pick_target(v, a);
		if (own_pass(v, a, q, t) == 0)
			vq_info(v, a, q, "passed to dom%u", t);
		else
			own_release(v, a, q);
		return;
	}
	if (r == 0 && f.order == c->order && f.port == c->remote_port &&
	    !memcmp(f.refs, c->ring_refs, sizeof(vbd_gref_t) << f.order))
		return;
	own_stop_queue(v, s, "the frontend replaced the ring of this epoch");
	if (v->my_state == VBD_MEMBER_ACTIVE && !bd->leaving)
		own_reclaim(v, a, q);
	/* otherwise act_owned passes or releases it */
}

void conn_frontend_changed(struct vbd_volume *v, struct vbd_attach *a, unsigned q)
{
	struct backd *bd = v->bd;
	struct vbd_qslot *s = &a->qs[q];

	/* the record as last read: a change of it is a volume event, handled
	 * (re-read) before this one */
	if (!v->joined || !s->rec_ok || s->rec.owner != bd->me)
		return; /* not ours: nothing to read */
	if (s->q) {
		if (s->rec.state == VBD_Q_CONNECTED || s->rec.state == VBD_Q_DRAINING)
			check_ring_current(v, a, q);
		return;
	}
	/* claimed by us, waiting for the frontend to publish its ring */
	if (s->rec.state == VBD_Q_CLAIMED && v->my_state == VBD_MEMBER_ACTIVE && !bd->leaving)
		conn_connect(v, a, q);
}
