/* SPDX-License-Identifier: MIT */
/*
 * vbdpoolctl attach | detach: dom0's side of the attachment state machine
 * (docs/protocol.md): attach creates the guest's frontend directory and
 * the attachment's ownership records in one transaction; detach asks the
 * frontend to close (5), waits for Closed (6), then removes both.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "ctl.h"
#include "domain.h"
#include "pool.h"
#include "vbdpool/proto.h"
#include "xsh.h"

#define XENBUS_INITIALISING 1
#define XENBUS_CLOSING	    5
#define XENBUS_CLOSED	    6
#define MAX_DEVID	    0x7fffffffUL

struct attach_args {
	const char *id;
	unsigned guest;
	long devid; /* -1: lowest free */
	unsigned queues;
};

static int lowest_free_devid(struct xs_handle *h, xs_transaction_t t, unsigned g, long *out)
{
	for (long d = 0; d < 4096; d++) {
		char p[128];
		snprintf(p, sizeof(p), VBD_XS_FRONTEND, g, (unsigned)d);
		if (!xsh_exists(h, t, p)) {
			*out = d;
			return 0;
		}
	}
	return -ENOSPC;
}

static int attach_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct attach_args *a = arg;
	struct pool_vol *v = malloc(sizeof(*v));
	char fe[128], att[192], p[256], val[256];
	unsigned d;
	int rc;

	if (!v)
		return -ENOMEM;
	rc = pool_load_vol(h, t, a->id, v);
	if (rc)
		goto out;
	if (a->devid < 0 && (rc = lowest_free_devid(h, t, a->guest, &a->devid)))
		goto out;
	d = (unsigned)a->devid;
	snprintf(fe, sizeof(fe), VBD_XS_FRONTEND, a->guest, d);
	snprintf(att, sizeof(att), VBD_XS_ATTACHMENT, a->id, a->guest, d);
	if (xsh_exists(h, t, fe) || xsh_exists(h, t, att)) {
		rc = -EEXIST;
		goto out;
	}
	/* the new guest reads the volume's public nodes from now on */
	if (!pool_has_dom(v->guests, v->ng, a->guest)) {
		if (v->ng >= POOL_MAX_DOMS) {
			rc = -E2BIG;
			goto out;
		}
		v->guests[v->ng++] = (uint16_t)a->guest;
	}

	/* /local/domain/<g>/device/vbdpool: dom0's, the guest lists it */
	snprintf(p, sizeof(p), "/local/domain/%u/device/vbdpool", a->guest);
	rc = pool_write(h, t, p, "", v);
	/* the frontend directory, owned by the guest, read by the members */
	if (!rc)
		rc = pool_write(h, t, fe, "", v);
	snprintf(p, sizeof(p), "%s/volume", fe);
	if (!rc)
		rc = pool_write(h, t, p, a->id, v);
	snprintf(p, sizeof(p), "%s/pool", fe);
	if (!rc)
		rc = pool_write(h, t, p, att, v);
	snprintf(p, sizeof(p), "%s/num-queues", fe);
	snprintf(val, sizeof(val), "%u", a->queues);
	if (!rc)
		rc = pool_write(h, t, p, val, v);
	snprintf(p, sizeof(p), "%s/state", fe);
	snprintf(val, sizeof(val), "%d", XENBUS_INITIALISING);
	if (!rc)
		rc = pool_write(h, t, p, val, v);

	/* the attachment and its ownership records, all unowned */
	if (!rc)
		rc = pool_write(h, t, att, "", v);
	snprintf(p, sizeof(p), "%s/frontend", att);
	if (!rc)
		rc = pool_write(h, t, p, fe, v);
	snprintf(p, sizeof(p), "%s/num-queues", att);
	snprintf(val, sizeof(val), "%u", a->queues);
	if (!rc)
		rc = pool_write(h, t, p, val, v);
	for (unsigned q = 0; q < a->queues && !rc; q++) {
		struct vbd_queue_rec rec = {.owner = VBD_DOMID_NONE,
					    .epoch = 0,
					    .state = VBD_Q_UNOWNED,
					    .target = VBD_DOMID_NONE};
		snprintf(p, sizeof(p), VBD_XS_QUEUE_REC, a->id, a->guest, d, q);
		vbd_queue_rec_format(&rec, val, sizeof(val));
		rc = pool_write(h, t, p, val, v);
	}
	/* +G nodes of the volume now include this guest */
	if (!rc)
		rc = pool_sync_acls(h, t, a->id);
out:
	free(v);
	return rc;
}

int cmd_attach(struct ctl *c, int argc, char **argv)
{
	const char *devid_s = NULL, *queues_s = NULL;
	struct ctl_opt opts[] = {{"--devid", &devid_s, NULL}, {"--queues", &queues_s, NULL}, {0}};
	struct attach_args a = {.devid = -1, .queues = VBD_DEFAULT_QUEUES};
	char *pos[2], err[256];
	unsigned long x;
	int npos, rc;

	if (ctl_parse_opts(argc, argv, opts, pos, 2, &npos, err, sizeof(err)))
		return ctl_usage_error("attach: %s", err);
	if (npos != 2)
		return ctl_usage_error("attach: need a DOMAIN and a volume ID");
	a.id = pos[1];
	if (!vbd_volume_id_valid(a.id))
		return ctl_fail("bad volume id '%s'", a.id);
	if (devid_s) {
		if (ctl_parse_uint(devid_s, 0, MAX_DEVID, &x))
			return ctl_fail("bad device id '%s' (want 0..%lu)", devid_s, MAX_DEVID);
		a.devid = (long)x;
	}
	if (queues_s) {
		if (ctl_parse_uint(queues_s, 1, VBD_MAX_QUEUES, &x))
			return ctl_fail("bad queue count '%s' (want 1..%d)", queues_s,
					VBD_MAX_QUEUES);
		a.queues = (unsigned)x;
	}
	if (ctl_resolve_domain(c->xs, pos[0], 0, &a.guest, err, sizeof(err)))
		return ctl_fail("%s", err);
	if (a.guest == 0)
		return ctl_fail("cannot attach to dom0: the frontend runs in a guest");
	rc = xsh_txn(c->xs, attach_txn, &a);
	switch (rc) {
	case 0:
		printf("attached volume %s to domain %u as vbdpool device %ld (%u queues)\n", a.id,
		       a.guest, a.devid, a.queues);
		return 0;
	case -ENOENT:
		return ctl_fail("unknown volume '%s'", a.id);
	case -EEXIST:
		return ctl_fail("domain %u already has vbdpool device %ld", a.guest, a.devid);
	default:
		return ctl_fail("attach %s to %u: %s", a.id, a.guest, strerror(-rc));
	}
}

/* ---- detach ----------------------------------------------------------- */

struct detach_args {
	const char *id;
	unsigned guest;
	unsigned devid;
};

static int detach_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct detach_args *a = arg;
	char fe[128], att[192];
	int rc = 0;

	snprintf(att, sizeof(att), VBD_XS_ATTACHMENT, a->id, a->guest, a->devid);
	snprintf(fe, sizeof(fe), VBD_XS_FRONTEND, a->guest, a->devid);
	if (!xsh_exists(h, t, att))
		return -ESRCH;
	/* members unmap the rings when they see the attachment go */
	rc = xsh_rm(h, t, att);
	if (!rc && xsh_exists(h, t, fe))
		rc = xsh_rm(h, t, fe);
	if (!rc)
		rc = pool_sync_acls(h, t, a->id);
	return rc;
}

/* The guest's only attachment of the volume, when --devid is not given. */
static int find_devid(struct xs_handle *h, const char *id, unsigned g, unsigned *devid)
{
	char p[192], **names;
	unsigned n, found = 0;

	snprintf(p, sizeof(p), VBD_XS_VOLUME, id);
	if (!xsh_exists(h, XBT_NULL, p))
		return -ENOENT;
	snprintf(p, sizeof(p), VBD_XS_ATTACHMENTS, id);
	if (xsh_list(h, XBT_NULL, p, &names, &n))
		return -ESRCH;
	for (unsigned i = 0; i < n; i++) {
		unsigned gg, d;
		char tail;
		if (sscanf(names[i], "%u-%u%c", &gg, &d, &tail) == 2 && gg == g) {
			*devid = d;
			found++;
		}
	}
	free(names);
	return found == 1 ? 0 : found ? -EMLINK : -ESRCH;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait until the frontend state is Closed (or gone, or its domain gone). */
static int wait_closed(struct xs_handle *h, const char *fe, unsigned guest, int timeout_s)
{
	char state_path[160], dom_path[64], token[] = "vbdpoolctl-detach";
	long deadline = now_ms() + timeout_s * 1000L;
	int rc = -ETIMEDOUT;

	snprintf(state_path, sizeof(state_path), "%s/state", fe);
	snprintf(dom_path, sizeof(dom_path), "/local/domain/%u", guest);
	if (!xs_watch(h, state_path, token))
		return -errno;
	for (;;) {
		unsigned long st;
		if (!xsh_exists(h, XBT_NULL, dom_path) ||
		    (xsh_read_ulong(h, XBT_NULL, state_path, &st) == 0 && st == XENBUS_CLOSED) ||
		    !xsh_exists(h, XBT_NULL, state_path)) {
			rc = 0;
			break;
		}
		long left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = xs_fileno(h), .events = POLLIN};
		if (poll(&pfd, 1, (int)(left < 200 ? left : 200)) > 0) {
			unsigned num;
			char **ev = xs_read_watch(h, &num);
			free(ev);
		}
	}
	xs_unwatch(h, state_path, token);
	return rc;
}

int cmd_detach(struct ctl *c, int argc, char **argv)
{
	const char *devid_s = NULL, *timeout_s = NULL;
	int force = 0;
	struct ctl_opt opts[] = {{"--devid", &devid_s, NULL},
				 {"--timeout", &timeout_s, NULL},
				 {"--force", NULL, &force},
				 {0}};
	struct detach_args a = {0};
	char *pos[2], err[256], fe[128], state_path[160];
	unsigned long x, st = 0;
	int npos, rc, timeout = VBD_DETACH_TIMEOUT_MS / 1000;

	if (ctl_parse_opts(argc, argv, opts, pos, 2, &npos, err, sizeof(err)))
		return ctl_usage_error("detach: %s", err);
	if (npos != 2)
		return ctl_usage_error("detach: need a DOMAIN and a volume ID");
	a.id = pos[1];
	if (!vbd_volume_id_valid(a.id))
		return ctl_fail("bad volume id '%s'", a.id);
	if (timeout_s) {
		if (ctl_parse_uint(timeout_s, 0, 3600, &x))
			return ctl_fail("bad timeout '%s' (want 0..3600 seconds)", timeout_s);
		timeout = (int)x;
	}
	/* a dead guest can still be detached by its domid */
	if (ctl_resolve_domain(c->xs, pos[0], 1, &a.guest, err, sizeof(err)))
		return ctl_fail("%s", err);
	if (devid_s) {
		if (ctl_parse_uint(devid_s, 0, MAX_DEVID, &x))
			return ctl_fail("bad device id '%s'", devid_s);
		a.devid = (unsigned)x;
	} else {
		rc = find_devid(c->xs, a.id, a.guest, &a.devid);
		if (rc == -ENOENT)
			return ctl_fail("unknown volume '%s'", a.id);
		if (rc == -ESRCH)
			return ctl_fail("domain %u is not attached to volume '%s'", a.guest, a.id);
		if (rc)
			return ctl_fail("domain %u has several devices of volume '%s': give "
					"--devid",
					a.guest, a.id);
	}
	snprintf(fe, sizeof(fe), VBD_XS_FRONTEND, a.guest, a.devid);
	snprintf(state_path, sizeof(state_path), "%s/state", fe);
	{
		char att[192];
		snprintf(att, sizeof(att), VBD_XS_VOLUME, a.id);
		if (!xsh_exists(c->xs, XBT_NULL, att))
			return ctl_fail("unknown volume '%s'", a.id);
		snprintf(att, sizeof(att), VBD_XS_ATTACHMENT, a.id, a.guest, a.devid);
		if (!xsh_exists(c->xs, XBT_NULL, att))
			return ctl_fail("domain %u has no vbdpool device %u of volume '%s'",
					a.guest, a.devid, a.id);
	}
	/* A frontend that never started (1) or already closed (6) needs no
	 * hand-shake; otherwise Closing, then wait for Closed. */
	if (!force && xsh_read_ulong(c->xs, XBT_NULL, state_path, &st) == 0 &&
	    st != XENBUS_INITIALISING && st != XENBUS_CLOSED) {
		char v[4];
		snprintf(v, sizeof(v), "%d", XENBUS_CLOSING);
		rc = xsh_write(c->xs, XBT_NULL, state_path, v);
		if (rc)
			return ctl_fail("detach: cannot write %s: %s", state_path, strerror(-rc));
		rc = wait_closed(c->xs, fe, a.guest, timeout);
		if (rc == -ETIMEDOUT)
			return ctl_fail("detach: the frontend of domain %u device %u did not close "
					"within %d s (state left at 5); retry, or use --force",
					a.guest, a.devid, timeout);
		if (rc)
			return ctl_fail("detach: waiting for %s: %s", state_path, strerror(-rc));
	}
	rc = xsh_txn(c->xs, detach_txn, &a);
	if (rc == -ESRCH)
		return ctl_fail("domain %u has no vbdpool device %u of volume '%s'", a.guest,
				a.devid, a.id);
	if (rc)
		return ctl_fail("detach: %s", strerror(-rc));
	printf("detached volume %s from domain %u (device %u)\n", a.id, a.guest, a.devid);
	return 0;
}
