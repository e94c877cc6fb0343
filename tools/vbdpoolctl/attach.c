/* SPDX-License-Identifier: MIT */
/*
 * vbdpoolctl attach | detach: dom0's side of the attachment state machine
 * (docs/protocol.md): attach creates the guest's frontend directory and
 * the attachment's ownership records in one transaction; detach asks the
 * frontend to close (5), waits for Closed (6), then removes both.
 * `--config FILE` does either for every device an xl domain config lists
 * (xlcfg.c): attach in one transaction (all or nothing), detach each.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xen/io/xenbus.h>

#include "args.h"
#include "ctl.h"
#include "domain.h"
#include "vbd_pool_acl.h"
#include "vbdpool/proto.h"
#include "xlcfg.h"
#include "vbd_acl.h"
#include "vbdpool/clock.h"
#include "vbdpool/pool_snap.h"
#include "vbdpool/xs.h"

#define MAX_DEVID XLCFG_MAX_DEVID

struct attach_args {
	const char *id;
	unsigned guest;
	long want_devid; /* -1: lowest free */
	long devid;	 /* the one used: set by attach_one */
	unsigned queues;
	int read_only, shared;
	/* -EBUSY: the attachment of another guest it conflicts with */
	unsigned other_guest, other_devid;
	int other_ro, other_shared;
	char other_name[80]; /* "NAME, " or "" */
};

/* xl refuses a disk attached read-write to two guests; so do we: a new
 * attachment conflicts with another guest's attachment of the volume when
 * either is read-write, unless both were made shared.  -EBUSY (the first
 * conflicting attachment in a's other_* fields), 0, or -errno. */
static int check_sharing(struct xs_handle *h, xs_transaction_t t, struct attach_args *a)
{
	struct vbd_snap_vol sv;
	int rc = vbd_snap_vol_read(h, t, a->id, VBD_SNAP_ATTS | VBD_SNAP_A_MODE, &sv);

	if (rc)
		return rc;
	for (unsigned i = 0; i < sv.na && !rc; i++) {
		const struct vbd_snap_att *o = &sv.a[i];
		/* unreadable mode/shared: the strictest reading (read-write, not shared) */
		int o_ro = o->has_mode == VBD_SNAP_OK && o->read_only;
		int o_sh = o->has_shared == VBD_SNAP_OK && o->shared;

		if (o->guest == a->guest || (o_ro && a->read_only) || (o_sh && a->shared))
			continue;
		a->other_guest = o->guest;
		a->other_devid = o->devid;
		a->other_ro = o_ro;
		a->other_shared = o_sh;
		ctl_domain_name(h, o->guest, a->other_name, sizeof(a->other_name) - 2);
		if (a->other_name[0])
			strcat(a->other_name, ", ");
		rc = -EBUSY;
	}
	vbd_snap_vol_free(&sv);
	return rc;
}

static int lowest_free_devid(struct xs_handle *h, xs_transaction_t t, unsigned g, long *out)
{
	for (long d = 0; d < 4096; d++) {
		char p[128];
		snprintf(p, sizeof(p), VBD_XS_FRONTEND, g, (unsigned)d);
		if (vbd_xs_exists(h, t, "%s", p) <= 0) {
			*out = d;
			return 0;
		}
	}
	return -ENOSPC;
}

/* One device, inside transaction t. A retried transaction starts again
 * from want_devid (the devid chosen by a lost attempt may be taken now). */
static int attach_one(struct xs_handle *h, xs_transaction_t t, struct attach_args *a)
{
	struct vbd_pool_vol *v = malloc(sizeof(*v));
	char fe[128], att[192], p[256], val[256];
	unsigned d;
	int rc;

	if (!v)
		return -ENOMEM;
	a->devid = a->want_devid;
	rc = vbd_pool_load_vol(h, t, a->id, v);
	if (rc)
		goto out;
	if (a->devid < 0 && (rc = lowest_free_devid(h, t, a->guest, &a->devid)))
		goto out;
	d = (unsigned)a->devid;
	snprintf(fe, sizeof(fe), VBD_XS_FRONTEND, a->guest, d);
	snprintf(att, sizeof(att), VBD_XS_ATTACHMENT, a->id, a->guest, d);
	if (vbd_xs_exists(h, t, "%s", fe) > 0 || vbd_xs_exists(h, t, "%s", att) > 0) {
		rc = -EEXIST;
		goto out;
	}
	rc = check_sharing(h, t, a);
	if (rc)
		goto out;
	/* the new guest reads the volume's public nodes from now on */
	if (!vbd_pool_has_dom(v->guests, v->ng, a->guest)) {
		if (v->ng >= VBD_POOL_MAX_DOMS) {
			rc = -E2BIG;
			goto out;
		}
		v->guests[v->ng++] = (uint16_t)a->guest;
	}

	/* /local/domain/<g>/device/vbdpool: dom0's, the guest lists it */
	snprintf(p, sizeof(p), "/local/domain/%u/device/vbdpool", a->guest);
	rc = vbd_pool_write(h, t, p, "", v);
	/* the frontend directory, owned by the guest, read by the members */
	if (!rc)
		rc = vbd_pool_write(h, t, fe, "", v);
	snprintf(p, sizeof(p), "%s/volume", fe);
	if (!rc)
		rc = vbd_pool_write(h, t, p, a->id, v);
	snprintf(p, sizeof(p), "%s/pool", fe);
	if (!rc)
		rc = vbd_pool_write(h, t, p, att, v);
	snprintf(p, sizeof(p), "%s/num-queues", fe);
	snprintf(val, sizeof(val), "%u", a->queues);
	if (!rc)
		rc = vbd_pool_write(h, t, p, val, v);
	snprintf(p, sizeof(p), "%s/state", fe);
	snprintf(val, sizeof(val), "%d", XenbusStateInitialising);
	if (!rc)
		rc = vbd_pool_write(h, t, p, val, v);
	/* the guest's copy of the mode, as blkback writes one (informational:
	 * the members read the attachment's, which the guest cannot write) */
	snprintf(p, sizeof(p), "%s/mode", fe);
	if (!rc)
		rc = vbd_pool_write(h, t, p, a->read_only ? VBD_MODE_RO : VBD_MODE_RW, v);

	/* the attachment and its ownership records, all unowned */
	if (!rc)
		rc = vbd_pool_write(h, t, att, "", v);
	snprintf(p, sizeof(p), "%s/frontend", att);
	if (!rc)
		rc = vbd_pool_write(h, t, p, fe, v);
	snprintf(p, sizeof(p), "%s/num-queues", att);
	snprintf(val, sizeof(val), "%u", a->queues);
	if (!rc)
		rc = vbd_pool_write(h, t, p, val, v);
	snprintf(p, sizeof(p), "%s/mode", att);
	if (!rc)
		rc = vbd_pool_write(h, t, p, a->read_only ? VBD_MODE_RO : VBD_MODE_RW, v);
	snprintf(p, sizeof(p), "%s/shared", att);
	if (!rc)
		rc = vbd_pool_write(h, t, p, a->shared ? "1" : "0", v);
	for (unsigned q = 0; q < a->queues && !rc; q++) {
		struct vbd_queue_rec rec = {.owner = VBD_DOMID_NONE,
					    .epoch = 0,
					    .state = VBD_Q_UNOWNED,
					    .target = VBD_DOMID_NONE};
		snprintf(p, sizeof(p), VBD_XS_QUEUE_REC, a->id, a->guest, d, q);
		vbd_queue_rec_format(&rec, val, sizeof(val));
		rc = vbd_pool_write(h, t, p, val, v);
	}
	/* +G nodes of the volume now include this guest */
	if (!rc)
		rc = vbd_pool_sync_acls(h, t, a->id);
out:
	free(v);
	return rc;
}

static int attach_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	return attach_one(h, t, arg);
}

/* Every device of a config file in one transaction: all or nothing. */
struct attach_many {
	struct attach_args *a;
	unsigned n;
	unsigned failed; /* index of the device that failed, n if none did */
};

static int attach_many_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct attach_many *m = arg;

	m->failed = m->n; /* none (yet): a failure of the transaction itself */
	/* the devices with a devid first, so that a default (lowest free)
	 * one never takes a devid that a later entry names */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < m->n; i++) {
			int rc;
			if ((m->a[i].want_devid >= 0) != (pass == 0))
				continue;
			rc = attach_one(h, t, &m->a[i]);
			if (rc) {
				m->failed = i;
				return rc;
			}
		}
	return 0;
}

/* The failure message of attach_one's rc for device a; returns 1. */
static int attach_failed(int rc, const struct attach_args *a, const char *pfx, const char *sfx)
{
	switch (rc) {
	case -ENOENT:
		return ctl_fail("%sunknown volume '%s'%s", pfx, a->id, sfx);
	case -EEXIST:
		return ctl_fail("%sdomain %u already has vbdpool device %ld%s", pfx, a->guest,
				a->devid, sfx);
	case -EBUSY:
		return ctl_fail("%svolume '%s' is attached %s%s to domain %u (%sdevice %u): "
				"refusing %s%s attachment to domain %u (a volume is read-write "
				"in one guest only, unless every attachment of it is made "
				"shared: --shared / shared=1, and the guests coordinate their "
				"writes)%s",
				pfx, a->id, a->other_ro ? "read-only" : "read-write",
				a->other_shared ? " (shared)" : "", a->other_guest, a->other_name,
				a->other_devid, a->read_only ? "a read-only" : "a read-write",
				a->shared ? " shared" : "", a->guest, sfx);
	default:
		return ctl_fail("%sattach %s to %u: %s%s", pfx, a->id, a->guest, strerror(-rc),
				sfx);
	}
}

/* The guest of a config file: --domain, else the file's name=. */
static int config_guest(struct ctl *c, const char *file, const struct xlcfg *cfg,
			const char *domain, int detaching, unsigned *guest)
{
	char err[256];

	if (domain) {
		if (ctl_resolve_domain(c->xs, domain, detaching, guest, err, sizeof(err)))
			return ctl_fail("%s: --domain %s: %s; nothing %s", file, domain, err,
					detaching ? "detached" : "attached");
		return 0;
	}
	if (ctl_resolve_domain(c->xs, cfg->name, 0, guest, err, sizeof(err)))
		return ctl_fail("%s: name = \"%s\": %s; %s", file, cfg->name, err,
				detaching
				    ? "if the domain is gone, give --domain DOMID; nothing detached"
				    : "create the domain paused first (xl create -p FILE), "
				      "then attach, then xl unpause; nothing attached");
	/* name= is a name: a numeric one must not pick the domain of that id */
	ctl_domain_name(c->xs, *guest, err, sizeof(err));
	if (strcmp(err, cfg->name))
		return ctl_fail("%s: name = \"%s\": no domain has that name (domain %u is "
				"named '%s'); give --domain; nothing %s",
				file, cfg->name, *guest, err, detaching ? "detached" : "attached");
	return 0;
}

static int attach_config(struct ctl *c, const char *file, const char *domain)
{
	struct xlcfg cfg;
	struct attach_many m = {0};
	char err[512], pfx[PATH_MAX + 64];
	unsigned guest;
	int rc;

	rc = xlcfg_load(file, domain ? 0 : XLCFG_NEED_NAME, &cfg, err, sizeof(err));
	if (rc)
		return ctl_fail("%s; nothing attached", err);
	rc = config_guest(c, file, &cfg, domain, 0, &guest);
	if (rc)
		goto out;
	if (guest == 0) {
		rc = ctl_fail("%s: cannot attach to dom0: the frontend runs in a guest", file);
		goto out;
	}
	m.n = cfg.ndev;
	m.failed = m.n;
	m.a = calloc(cfg.ndev, sizeof(*m.a));
	if (!m.a) {
		rc = ctl_fail("out of memory");
		goto out;
	}
	for (unsigned i = 0; i < cfg.ndev; i++)
		m.a[i] = (struct attach_args){.id = cfg.dev[i].volume,
					      .guest = guest,
					      .want_devid = cfg.dev[i].devid,
					      .devid = cfg.dev[i].devid,
					      .queues = cfg.dev[i].queues,
					      .read_only = cfg.dev[i].read_only,
					      .shared = cfg.dev[i].shared};
	rc = vbd_xs_transact(c->xs, attach_many_txn, &m);
	if (rc && m.failed >= m.n) {
		rc = ctl_fail("%s: attach: %s; nothing attached", file, strerror(-rc));
		goto out;
	}
	if (rc) {
		snprintf(pfx, sizeof(pfx), "%s: vbdpool entry #%u (volume %s): ", file,
			 m.failed + 1, m.a[m.failed].id);
		rc = attach_failed(rc, &m.a[m.failed], pfx, "; nothing attached");
		goto out;
	}
	for (unsigned i = 0; i < m.n; i++)
		printf("attached volume %s to domain %u as vbdpool device %ld (%u queues%s%s)\n",
		       m.a[i].id, guest, m.a[i].devid, m.a[i].queues,
		       m.a[i].read_only ? ", read-only" : "", m.a[i].shared ? ", shared" : "");
out:
	free(m.a);
	xlcfg_free(&cfg);
	return rc;
}

int cmd_attach(struct ctl *c, int argc, char **argv)
{
	const char *devid_s = NULL, *queues_s = NULL, *config = NULL, *domain = NULL;
	struct attach_args a = {.want_devid = -1, .queues = VBD_DEFAULT_QUEUES};
	struct ctl_opt opts[] = {{"--devid", &devid_s, NULL},
				 {"--queues", &queues_s, NULL},
				 {"--config", &config, NULL},
				 {"--domain", &domain, NULL},
				 {"--read-only", NULL, &a.read_only},
				 {"--shared", NULL, &a.shared},
				 {0}};
	char *pos[2], err[256];
	unsigned long x;
	int npos, rc;

	if (ctl_parse_opts(argc, argv, opts, pos, 2, &npos, err, sizeof(err)))
		return ctl_usage_error("attach: %s", err);
	if (config) {
		if (npos)
			return ctl_usage_error("attach --config: unexpected argument '%s' (the "
					       "file names the domain and volumes)",
					       pos[0]);
		if (devid_s || queues_s || a.read_only || a.shared)
			return ctl_usage_error(
			    "attach --config: --devid and --queues (and --read-only, "
			    "--shared) are set per device in the file (devid=, queues=, "
			    "mode=r, shared=1)");
		return attach_config(c, config, domain);
	}
	if (domain)
		return ctl_usage_error("attach: --domain goes with --config");
	if (npos != 2)
		return ctl_usage_error("attach: need a DOMAIN and a volume ID");
	a.id = pos[1];
	if (!vbd_volume_id_valid(a.id))
		return ctl_fail("bad volume id '%s'", a.id);
	if (devid_s) {
		if (ctl_parse_uint(devid_s, 0, MAX_DEVID, &x))
			return ctl_fail("bad device id '%s' (want 0..%lu)", devid_s, MAX_DEVID);
		a.want_devid = (long)x;
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
	rc = vbd_xs_transact(c->xs, attach_txn, &a);
	if (rc)
		return attach_failed(rc, &a, "", "");
	printf("attached volume %s to domain %u as vbdpool device %ld (%u queues%s%s)\n", a.id,
	       a.guest, a.devid, a.queues, a.read_only ? ", read-only" : "",
	       a.shared ? ", shared" : "");
	return 0;
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
	if (vbd_xs_exists(h, t, "%s", att) <= 0)
		return -ESRCH;
	/* members unmap the rings when they see the attachment go */
	rc = vbd_xs_rm(h, t, att);
	if (!rc && vbd_xs_exists(h, t, "%s", fe) > 0)
		rc = vbd_xs_rm(h, t, fe);
	if (!rc)
		rc = vbd_pool_sync_acls(h, t, a->id);
	return rc;
}

/* The guest's only attachment of the volume, when --devid is not given. */
static int find_devid(struct xs_handle *h, const char *id, unsigned g, unsigned *devid)
{
	char p[192], **names;
	unsigned n, found = 0;

	snprintf(p, sizeof(p), VBD_XS_VOLUME, id);
	if (vbd_xs_exists(h, XBT_NULL, "%s", p) <= 0)
		return -ENOENT;
	snprintf(p, sizeof(p), VBD_XS_ATTACHMENTS, id);
	if (vbd_xs_list(h, XBT_NULL, &names, &n, "%s", p))
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

/* Wait until the frontend state is Closed (or gone, or its domain gone),
 * at the latest until deadline (vbd_now_ms() time). */
static int wait_closed(struct xs_handle *h, const char *fe, unsigned guest, long deadline)
{
	char state_path[160], dom_path[64], token[] = "vbdpoolctl-detach";
	int rc = -ETIMEDOUT;

	snprintf(state_path, sizeof(state_path), "%s/state", fe);
	snprintf(dom_path, sizeof(dom_path), "/local/domain/%u", guest);
	if (!xs_watch(h, state_path, token))
		return -errno;
	for (;;) {
		uint64_t st;
		if (vbd_xs_exists(h, XBT_NULL, "%s", dom_path) <= 0 ||
		    (vbd_xs_read_u64(h, XBT_NULL, UINT64_MAX, &st, "%s", state_path) == 0 &&
		     st == XenbusStateClosed) ||
		    vbd_xs_exists(h, XBT_NULL, "%s", state_path) <= 0) {
			rc = 0;
			break;
		}
		long left = deadline - (long)vbd_now_ms();
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

/* Find the device (devid < 0: the guest's only one of the volume) and
 * check it is attached.  0, or 1 after a message starting with pfx. */
static int detach_lookup(struct ctl *c, struct detach_args *a, long devid, const char *pfx)
{
	char p[192];
	int rc;

	if (devid >= 0) {
		a->devid = (unsigned)devid;
	} else {
		rc = find_devid(c->xs, a->id, a->guest, &a->devid);
		if (rc == -ENOENT)
			return ctl_fail("%sunknown volume '%s'", pfx, a->id);
		if (rc == -ESRCH)
			return ctl_fail("%sdomain %u is not attached to volume '%s'", pfx, a->guest,
					a->id);
		if (rc)
			return ctl_fail("%sdomain %u has several devices of volume '%s': give "
					"%s",
					pfx, a->guest, a->id, *pfx ? "devid=" : "--devid");
	}
	snprintf(p, sizeof(p), VBD_XS_VOLUME, a->id);
	if (vbd_xs_exists(c->xs, XBT_NULL, "%s", p) <= 0)
		return ctl_fail("%sunknown volume '%s'", pfx, a->id);
	snprintf(p, sizeof(p), VBD_XS_ATTACHMENT, a->id, a->guest, a->devid);
	if (vbd_xs_exists(c->xs, XBT_NULL, "%s", p) <= 0)
		return ctl_fail("%sdomain %u has no vbdpool device %u of volume '%s'", pfx,
				a->guest, a->devid, a->id);
	return 0;
}

/* A frontend that never started (1) or already closed (6) needs no
 * hand-shake; otherwise write Closing and set *wait.  0, or 1. */
static int detach_close(struct ctl *c, const struct detach_args *a, int force, int *wait,
			const char *pfx)
{
	char state_path[192], v[4];
	uint64_t st = 0;
	int rc;

	*wait = 0;
	snprintf(state_path, sizeof(state_path), VBD_XS_FRONTEND "/state", a->guest, a->devid);
	if (force || vbd_xs_read_u64(c->xs, XBT_NULL, UINT64_MAX, &st, "%s", state_path) ||
	    st == XenbusStateInitialising || st == XenbusStateClosed)
		return 0;
	snprintf(v, sizeof(v), "%d", XenbusStateClosing);
	rc = vbd_xs_write(c->xs, XBT_NULL, state_path, v);
	if (rc)
		return ctl_fail("%sdetach: cannot write %s: %s", pfx, state_path, strerror(-rc));
	*wait = 1;
	return 0;
}

static int detach_wait(struct ctl *c, const struct detach_args *a, long deadline, int timeout,
		       const char *pfx)
{
	char fe[128];
	int rc;

	snprintf(fe, sizeof(fe), VBD_XS_FRONTEND, a->guest, a->devid);
	rc = wait_closed(c->xs, fe, a->guest, deadline);
	if (rc == -ETIMEDOUT) {
		/* vbdpool-guestd says why it holds the device (busy) */
		char *busy = vbd_xs_get(c->xs, XBT_NULL, "%s/busy", fe);
		rc = ctl_fail("%sdetach: the frontend of domain %u device %u did not close "
			      "within %d s (state left at 5%s%.200s); retry, or use --force",
			      pfx, a->guest, a->devid, timeout,
			      busy ? "; the guest says it is in use: " : "", busy ? busy : "");
		free(busy);
		return rc;
	}
	if (rc)
		return ctl_fail("%sdetach: waiting for %s/state: %s", pfx, fe, strerror(-rc));
	return 0;
}

static int detach_remove(struct ctl *c, struct detach_args *a, const char *pfx)
{
	int rc = vbd_xs_transact(c->xs, detach_txn, a);

	if (rc == -ESRCH)
		return ctl_fail("%sdomain %u has no vbdpool device %u of volume '%s'", pfx,
				a->guest, a->devid, a->id);
	if (rc)
		return ctl_fail("%sdetach: %s", pfx, strerror(-rc));
	printf("detached volume %s from domain %u (device %u)\n", a->id, a->guest, a->devid);
	return 0;
}

/* Every device the file lists: each one that is attached is detached
 * (all asked to close first, then one wait bounded by the timeout); the
 * others are reported.  1 if any device could not be detached. */
static int detach_config(struct ctl *c, const char *file, const char *domain, int timeout,
			 int force)
{
	struct xlcfg cfg;
	struct detach_args *a = NULL;
	int *state = NULL; /* 0 skip (failed), 1 go, 2 go after waiting */
	char err[512], pfx[PATH_MAX + 64];
	unsigned guest;
	int failed = 0, rc;
	long deadline;

	rc = xlcfg_load(file, domain ? 0 : XLCFG_NEED_NAME, &cfg, err, sizeof(err));
	if (rc)
		return ctl_fail("%s; nothing detached", err);
	rc = config_guest(c, file, &cfg, domain, 1, &guest);
	if (rc)
		goto out;
	a = calloc(cfg.ndev, sizeof(*a));
	state = calloc(cfg.ndev, sizeof(*state));
	if (!a || !state) {
		rc = ctl_fail("out of memory");
		goto out;
	}
#define PFX(i)                                                                                     \
	(snprintf(pfx, sizeof(pfx), "%s: vbdpool entry #%u (volume %s): ", file, (i) + 1,          \
		  cfg.dev[i].volume),                                                              \
	 pfx)
	for (unsigned i = 0; i < cfg.ndev; i++) {
		a[i] = (struct detach_args){.id = cfg.dev[i].volume, .guest = guest};
		if (detach_lookup(c, &a[i], cfg.dev[i].devid, PFX(i)))
			failed++;
		else
			state[i] = 1;
	}
	deadline = (long)vbd_now_ms() + timeout * 1000L;
	for (unsigned i = 0; i < cfg.ndev; i++) {
		int wait;
		if (!state[i])
			continue;
		if (detach_close(c, &a[i], force, &wait, PFX(i))) {
			state[i] = 0;
			failed++;
		} else if (wait) {
			state[i] = 2;
		}
	}
	for (unsigned i = 0; i < cfg.ndev; i++) {
		if (state[i] == 2 && detach_wait(c, &a[i], deadline, timeout, PFX(i))) {
			state[i] = 0;
			failed++;
		}
		if (state[i] && detach_remove(c, &a[i], PFX(i)))
			failed++;
	}
#undef PFX
	rc = failed ? 1 : 0;
out:
	free(a);
	free(state);
	xlcfg_free(&cfg);
	return rc;
}

int cmd_detach(struct ctl *c, int argc, char **argv)
{
	const char *devid_s = NULL, *timeout_s = NULL, *config = NULL, *domain = NULL;
	int force = 0;
	struct ctl_opt opts[] = {{"--devid", &devid_s, NULL}, {"--timeout", &timeout_s, NULL},
				 {"--force", NULL, &force},   {"--config", &config, NULL},
				 {"--domain", &domain, NULL}, {0}};
	struct detach_args a = {0};
	char *pos[2], err[256];
	unsigned long x;
	long devid = -1;
	int npos, wait, timeout = VBD_DETACH_TIMEOUT_MS / 1000;

	if (ctl_parse_opts(argc, argv, opts, pos, 2, &npos, err, sizeof(err)))
		return ctl_usage_error("detach: %s", err);
	if (config) {
		if (npos)
			return ctl_usage_error("detach --config: unexpected argument '%s' (the "
					       "file names the domain and volumes)",
					       pos[0]);
		if (devid_s)
			return ctl_usage_error("detach --config: --devid is set per device in the "
					       "file (devid=)");
	} else {
		if (domain)
			return ctl_usage_error("detach: --domain goes with --config");
		if (npos != 2)
			return ctl_usage_error("detach: need a DOMAIN and a volume ID");
		a.id = pos[1];
		if (!vbd_volume_id_valid(a.id))
			return ctl_fail("bad volume id '%s'", a.id);
	}
	if (timeout_s) {
		if (ctl_parse_uint(timeout_s, 0, 3600, &x))
			return ctl_fail("bad timeout '%s' (want 0..3600 seconds)", timeout_s);
		timeout = (int)x;
	}
	if (config)
		return detach_config(c, config, domain, timeout, force);
	/* a dead guest can still be detached by its domid */
	if (ctl_resolve_domain(c->xs, pos[0], 1, &a.guest, err, sizeof(err)))
		return ctl_fail("%s", err);
	if (devid_s) {
		if (ctl_parse_uint(devid_s, 0, MAX_DEVID, &x))
			return ctl_fail("bad device id '%s'", devid_s);
		devid = (long)x;
	}
	if (detach_lookup(c, &a, devid, ""))
		return 1;
	if (detach_close(c, &a, force, &wait, ""))
		return 1;
	if (wait && detach_wait(c, &a, (long)vbd_now_ms() + timeout * 1000L, timeout, ""))
		return 1;
	return detach_remove(c, &a, "") ? 1 : 0;
}
