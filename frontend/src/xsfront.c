/* SPDX-License-Identifier: MIT */
/* Control path: the frontend's XenStore reads, writes and watches. */
#include "xsfront.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <xenstore.h>
#include <xen/io/protocols.h>

#include "vbdpool/log.h"
#include "vbdpool/parse_num.h"
#include "vbdpool/xs.h"

#define WATCH_QUEUE_TOKEN   "vbdq-"
#define WATCH_STATE_TOKEN   "vbdstate"
#define WATCH_DRAINED_TOKEN "vbddrained"

static int xs_get_uint(struct vbdf_xsf *x, const char *path, uint64_t max, uint64_t *out)
{
	char *v;
	int rc = vbd_xs_read(x->xs, XBT_NULL, &v, "%s", path);

	if (rc < 0)
		return rc;
	rc = vbd_parse_u64(v, max, out);
	if (rc < 0)
		log_err("front: %s: malformed value '%.32s'", path, v);
	free(v);
	return rc;
}

static int read_fe_key(struct vbdf_xsf *x, const char *key, char **out)
{
	return vbd_xs_read(x->xs, XBT_NULL, out, "%s/%s", x->fe, key);
}

int vbdf_xsf_open(struct vbdf_xsf *x, unsigned devid, const char *want_volume)
{
	char *v = NULL, path[256];
	uint64_t u;
	int rc;

	memset(x, 0, sizeof(*x));
	x->devid = devid;
	x->xs = xs_open(0);
	if (!x->xs)
		return errno ? -errno : -ECONNREFUSED;
	/* Our own domid: the relative path "domid" (our domain directory). */
	rc = vbd_xs_read(x->xs, XBT_NULL, &v, "domid");
	if (rc == 0) {
		rc = vbd_parse_u64(v, VBD_DOMID_NONE - 1, &u);
		free(v);
	}
	if (rc < 0) {
		log_err("front: cannot read my domid: %d", rc);
		goto fail;
	}
	x->me = (unsigned)u;
	snprintf(x->fe, sizeof(x->fe), VBD_XS_FRONTEND, x->me, devid);

	rc = read_fe_key(x, "volume", &v);
	if (rc < 0) {
		log_err("front: %s/volume: %s", x->fe, strerror(-rc));
		goto fail;
	}
	if (!vbd_volume_id_valid(v) || (want_volume && strcmp(v, want_volume))) {
		log_err("front: %s/volume '%.64s' %s", x->fe, v,
			vbd_volume_id_valid(v) ? "is not the requested volume" : "is malformed");
		free(v);
		rc = -EINVAL;
		goto fail;
	}
	snprintf(x->volume, sizeof(x->volume), "%s", v);
	free(v);

	/* The pool path must be exactly the attachment the schema names. */
	snprintf(x->pool, sizeof(x->pool), VBD_XS_ATTACHMENT, x->volume, x->me, devid);
	rc = read_fe_key(x, "pool", &v);
	if (rc < 0) {
		log_err("front: %s/pool: %s", x->fe, strerror(-rc));
		goto fail;
	}
	if (strcmp(v, x->pool)) {
		log_err("front: %s/pool is '%.200s', expected '%s'", x->fe, v, x->pool);
		free(v);
		rc = -EINVAL;
		goto fail;
	}
	free(v);

	snprintf(path, sizeof(path), "%s/num-queues", x->fe);
	rc = xs_get_uint(x, path, VBD_MAX_QUEUES, &u);
	if (rc < 0 || u == 0) {
		log_err("front: %s: %s", path, rc < 0 ? strerror(-rc) : "zero queues");
		rc = rc < 0 ? rc : -EINVAL;
		goto fail;
	}
	x->nq = (unsigned)u;

	/* mode: r or w (none: w, a dom0 from before modes), as blkfront reads
	 * blkback's; the members enforce it whatever this says */
	rc = read_fe_key(x, "mode", &v);
	if (rc == 0) {
		rc = vbd_att_mode_parse(v, &x->read_only);
		if (rc < 0)
			log_err("front: %s/mode: malformed value '%.16s'", x->fe, v);
		free(v);
		if (rc < 0)
			goto fail;
	} else if (rc != -ENOENT) {
		log_err("front: %s/mode: %s", x->fe, strerror(-rc));
		goto fail;
	}

	snprintf(path, sizeof(path), VBD_XS_VOLUME "/size", x->volume);
	rc = xs_get_uint(x, path, UINT64_MAX, &x->size);
	if (rc < 0 || x->size % VBD_SECTOR_SIZE) {
		log_err("front: %s: %s", path, rc < 0 ? strerror(-rc) : "not a multiple of 512");
		rc = rc < 0 ? rc : -EINVAL;
		goto fail;
	}
	return 0;
fail:
	vbdf_xsf_close(x);
	return rc;
}

void vbdf_xsf_close(struct vbdf_xsf *x)
{
	if (!x->xs)
		return;
	if (x->watching) {
		char path[256], tok[32];
		for (unsigned q = 0; q < x->nq; q++) {
			snprintf(path, sizeof(path), "%s/queue-%u", x->pool, q);
			snprintf(tok, sizeof(tok), WATCH_QUEUE_TOKEN "%u", q);
			xs_unwatch(x->xs, path, tok);
		}
		snprintf(path, sizeof(path), "%s/state", x->fe);
		xs_unwatch(x->xs, path, WATCH_STATE_TOKEN);
	}
	xs_close(x->xs);
	x->xs = NULL;
}

int vbdf_xsf_set_state(struct vbdf_xsf *x, int state)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/state", x->fe);
	return vbd_xs_printf(x->xs, XBT_NULL, path, "%d", state);
}

int vbdf_xsf_get_state(struct vbdf_xsf *x, int *state)
{
	char path[160];
	uint64_t v;
	int rc;

	snprintf(path, sizeof(path), "%s/state", x->fe);
	rc = xs_get_uint(x, path, 6, &v);
	if (rc == 0)
		*state = (int)v;
	return rc;
}

int vbdf_xsf_watch(struct vbdf_xsf *x)
{
	char path[256], tok[32];

	for (unsigned q = 0; q < x->nq; q++) {
		snprintf(path, sizeof(path), "%s/queue-%u", x->pool, q);
		snprintf(tok, sizeof(tok), WATCH_QUEUE_TOKEN "%u", q);
		if (!xs_watch(x->xs, path, tok))
			return errno ? -errno : -EIO;
		x->watching = 1;
	}
	snprintf(path, sizeof(path), "%s/state", x->fe);
	if (!xs_watch(x->xs, path, WATCH_STATE_TOKEN))
		return errno ? -errno : -EIO;
	/* the supervisor's drain signals (may not exist yet) */
	snprintf(path, sizeof(path), VBD_XS_DRAINED, x->volume);
	if (!xs_watch(x->xs, path, WATCH_DRAINED_TOKEN))
		return errno ? -errno : -EIO;
	return 0;
}

int vbdf_xsf_fd(struct vbdf_xsf *x)
{
	return xs_fileno(x->xs);
}

enum vbdf_xsf_event vbdf_xsf_next_event(struct vbdf_xsf *x, unsigned *q)
{
	for (;;) {
		char **ev = xs_check_watch(x->xs);
		enum vbdf_xsf_event kind = VBDF_XSF_NONE;
		uint64_t v;

		if (!ev)
			return VBDF_XSF_NONE;
		if (!strcmp(ev[XS_WATCH_TOKEN], WATCH_STATE_TOKEN)) {
			kind = VBDF_XSF_STATE;
		} else if (!strcmp(ev[XS_WATCH_TOKEN], WATCH_DRAINED_TOKEN)) {
			kind = VBDF_XSF_DRAINED;
		} else if (!strncmp(ev[XS_WATCH_TOKEN], WATCH_QUEUE_TOKEN,
				    strlen(WATCH_QUEUE_TOKEN)) &&
			   vbd_parse_u64(ev[XS_WATCH_TOKEN] + strlen(WATCH_QUEUE_TOKEN), x->nq - 1,
					 &v) == 0) {
			kind = VBDF_XSF_QUEUE;
			*q = (unsigned)v;
		}
		free(ev);
		if (kind != VBDF_XSF_NONE)
			return kind;
	}
}

int vbdf_xsf_read_record(struct vbdf_xsf *x, unsigned q, struct vbd_queue_rec *rec)
{
	char path[256], *v = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/queue-%u", x->pool, q);
	rc = vbd_xs_read(x->xs, XBT_NULL, &v, "%s", path);
	if (rc < 0)
		return rc;
	rc = vbd_queue_rec_parse(v, rec);
	if (rc < 0)
		log_warn("front: %s: malformed ownership record '%.80s'", path, v);
	free(v);
	return rc;
}

int vbdf_xsf_is_member(struct vbdf_xsf *x, unsigned domid)
{
	char path[192], *v = NULL;
	int rc;

	snprintf(path, sizeof(path), VBD_XS_MEMBER, x->volume, domid);
	rc = vbd_xs_read(x->xs, XBT_NULL, &v, "%s", path);
	free(v);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 1;
}

int vbdf_xsf_member_lost(struct vbdf_xsf *x, unsigned domid)
{
	char path[192], *v = NULL;
	enum vbd_member_state st;
	int rc;

	snprintf(path, sizeof(path), VBD_XS_MEMBER "/state", x->volume, domid);
	rc = vbd_xs_read(x->xs, XBT_NULL, &v, "%s", path);
	if (rc == -ENOENT) {
		rc = vbdf_xsf_is_member(x, domid);
		return rc == 1 ? 0 : 1; /* a member without a state yet; or gone */
	}
	if (rc < 0)
		return 1; /* cannot tell: assume the worst (a hold ends by deadline) */
	rc = vbd_member_state_parse(v, &st);
	free(v);
	if (rc < 0)
		return 1;
	return st == VBD_MEMBER_DEAD || st == VBD_MEMBER_FENCED;
}

int vbdf_xsf_drained(struct vbdf_xsf *x, unsigned domid)
{
	char path[192], *v = NULL;
	int rc;

	snprintf(path, sizeof(path), VBD_XS_DRAINED "/%u", x->volume, domid);
	rc = vbd_xs_read(x->xs, XBT_NULL, &v, "%s", path);
	free(v);
	return rc == 0;
}

/* One ring's keys, written by the transaction runner. */
struct publish {
	const char *dir;
	const struct vbdf_ring_info *ri;
};

static int tx_write(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int tx_write(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		    const char *fmt, ...)
{
	char path[256], val[64];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return vbd_xs_write(xs, t, path, val);
}

static int publish_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct publish *p = arg;
	const struct vbdf_ring_info *ri = p->ri;
	int rc;

	/* Drop the previous epoch's keys (a different ring order would
	 * leave stale ring-ref<i> behind); ENOENT is fine. */
	vbd_xs_rm(xs, t, p->dir);
	rc = tx_write(xs, t, p->dir, "owner", "%u", ri->owner);
	rc = rc ? rc : tx_write(xs, t, p->dir, "epoch", "%" PRIu64, ri->epoch);
	rc = rc ? rc : tx_write(xs, t, p->dir, "ring-page-order", "%u", ri->order);
	for (unsigned i = 0; !rc && i < (1u << ri->order); i++) {
		char key[24];
		snprintf(key, sizeof(key), "ring-ref%u", i);
		rc = tx_write(xs, t, p->dir, key, "%u", ri->refs[i]);
	}
	rc = rc ? rc : tx_write(xs, t, p->dir, "event-channel", "%u", ri->port);
	return rc ? rc : tx_write(xs, t, p->dir, "protocol", "%s", XEN_IO_PROTO_ABI_X86_64);
}

int vbdf_xsf_set_abandoned(struct vbdf_xsf *x, unsigned q, uint64_t epoch)
{
	char path[176];

	snprintf(path, sizeof(path), "%s/queue-%u/abandoned", x->fe, q);
	return vbd_xs_printf(x->xs, XBT_NULL, path, "%" PRIu64, epoch);
}

int vbdf_xsf_publish_ring(struct vbdf_xsf *x, unsigned q, const struct vbdf_ring_info *ri)
{
	char dir[160];
	struct publish p = {dir, ri};
	int rc;

	snprintf(dir, sizeof(dir), "%s/queue-%u", x->fe, q);
	rc = vbd_xs_transact(x->xs, publish_fn, &p);
	if (rc < 0 && rc != -EAGAIN)
		log_err("front: publishing %s: %s", dir, strerror(-rc));
	return rc;
}
