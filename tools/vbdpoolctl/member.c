/* SPDX-License-Identifier: MIT */
/* vbdpoolctl member add | remove | unfence */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "ctl.h"
#include "domain.h"
#include "vbd_pool_acl.h"
#include "vbd_acl.h"
#include "vbdpool/platform.h"
#include "vbdpool/proto.h"
#include "vbd_acl.h"
#include "vbdpool/clock.h"
#include "vbdpool/xs.h"

struct member_args {
	const char *id;
	unsigned domid;
	int add;
	int stale; /* remove: only stale grants were left (member nodes gone) */
};

static int member_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct member_args *a = arg;
	char p[192];
	int rc;
	struct vbd_pool_vol *v = malloc(sizeof(*v));

	if (!v)
		return -ENOMEM;
	rc = vbd_pool_load_vol(h, t, a->id, v);
	if (rc)
		goto out;
	snprintf(p, sizeof(p), VBD_XS_MEMBER, a->id, a->domid);
	if (a->add) {
		if (vbd_xs_exists(h, t, "%s", p) > 0) {
			rc = -EEXIST;
			goto out;
		}
		/* members/<m> is owned by the member (ACL r<m>): the nodes it
		 * creates below inherit that, with itself as owner. */
		rc = vbd_pool_write(h, t, p, "", v);
		/* and the domain's own index, which its vbdpool-backd watches */
		if (!rc)
			rc = vbd_pool_index_member(h, t, a->id, a->domid, 1);
	} else if (vbd_xs_exists(h, t, "%s", p) > 0) {
		rc = vbd_xs_rm(h, t, p);
		if (!rc)
			rc = vbd_pool_index_member(h, t, a->id, a->domid, 0);
	} else {
		/* members/<m> may be gone with its domain (C xenstored 4.17
		 * removes a destroyed domain's nodes) while dom0's nodes still
		 * grant it access: the volume's backing ACL lists the members */
		struct vbd_acl acl;
		char b[192];

		snprintf(b, sizeof(b), VBD_XS_VOLUME "/backing", a->id);
		rc = vbd_acl_xs_get(h, t, b, &acl);
		a->stale = !rc && a->domid != 0 &&
			   vbd_acl_perm_of(&acl, (uint16_t)a->domid) != VBD_PERM_NONE;
		if (!rc && !a->stale)
			rc = -ESRCH;
		if (!rc)
			rc = vbd_pool_index_member(h, t, a->id, a->domid, 0);
	}
	/* every node that lists the members: volume, members, attachments,
	 * records, attached frontends, supervisor area */
	if (!rc)
		rc = vbd_pool_sync_acls(h, t, a->id);
out:
	free(v);
	return rc;
}

static int member_cmd(struct ctl *c, int argc, char **argv, int add)
{
	const char *what = add ? "member add" : "member remove";
	struct member_args a = {.add = add};
	char *pos[2], err[256];
	int npos, rc;

	if (ctl_parse_opts(argc, argv, NULL, pos, 2, &npos, err, sizeof(err)))
		return ctl_usage_error("%s: %s", what, err);
	if (npos != 2)
		return ctl_usage_error("%s: need a volume ID and a DOMAIN", what);
	a.id = pos[0];
	if (!vbd_volume_id_valid(a.id))
		return ctl_fail("bad volume id '%s'", a.id);
	/* a dead member can still be removed by its domid */
	rc = ctl_resolve_domain(c->xs, pos[1], !add, &a.domid, err, sizeof(err));
	if (rc)
		return ctl_fail("%s", err);
	rc = vbd_xs_transact(c->xs, member_txn, &a);
	switch (rc) {
	case 0:
		if (a.stale)
			printf("revoked the grants of domain %u (its member nodes were already "
			       "gone) in volume %s\n",
			       a.domid, a.id);
		else
			printf("%s volume %s member %u\n", add ? "added to" : "removed from", a.id,
			       a.domid);
		return 0;
	case -ENOENT:
		return ctl_fail("unknown volume '%s'", a.id);
	case -EEXIST:
		return ctl_fail("domain %u is already a member of volume '%s'", a.domid, a.id);
	case -ESRCH:
		return ctl_fail("domain %u is not a member of volume '%s'", a.domid, a.id);
	default:
		return ctl_fail("%s %s %u: %s", what, a.id, a.domid, strerror(-rc));
	}
}

int cmd_member_add(struct ctl *c, int argc, char **argv)
{
	return member_cmd(c, argc, argv, 1);
}

int cmd_member_remove(struct ctl *c, int argc, char **argv)
{
	return member_cmd(c, argc, argv, 0);
}

/* ---- member unfence -------------------------------------------------- */

#define UNFENCE_QUIET_MS 2000  /* heartbeat unchanged this long: no daemon */
#define UNFENCE_WAIT_MS	 10000 /* give up after this long */
#define UNFENCE_POLL_MS	 100

struct unfence_args {
	const char *id;
	unsigned domid;
	char state[32]; /* the state found, when it was not fenced */
};

static int read_member_state(struct xs_handle *h, xs_transaction_t t, const char *id,
			     unsigned domid, char *out, size_t len)
{
	char p[192], *v;
	int rc;

	snprintf(p, sizeof(p), VBD_XS_MEMBER "/state", id, domid);
	rc = vbd_xs_read(h, t, &v, "%s", p);
	if (rc)
		return rc;
	snprintf(out, len, "%s", v);
	free(v);
	return 0;
}

/* Still fenced?  Then joining, in the same transaction. */
static int unfence_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct unfence_args *a = arg;
	char p[192];
	int rc = read_member_state(h, t, a->id, a->domid, a->state, sizeof(a->state));

	if (rc)
		return rc;
	if (strcmp(a->state, vbd_member_state_name(VBD_MEMBER_FENCED)))
		return -ESTALE;
	/* an existing node keeps its ACL (the member owns it) */
	snprintf(p, sizeof(p), VBD_XS_MEMBER "/state", a->id, a->domid);
	return vbd_xs_write(h, t, p, vbd_member_state_name(VBD_MEMBER_JOINING));
}

/* The member's heartbeats, the domain's and the volume's ("" for an absent
 * one), as one string: either changing means a daemon still beats. */
static char *read_beats(struct xs_handle *h, const char *id, unsigned domid)
{
	char p[192], *d = NULL, *v = NULL, *out = NULL;

	snprintf(p, sizeof(p), VBD_XS_DOMAIN_HB, domid);
	if (vbd_xs_read(h, XBT_NULL, &d, "%s", p))
		d = NULL;
	snprintf(p, sizeof(p), VBD_XS_MEMBER "/heartbeat", id, domid);
	if (vbd_xs_read(h, XBT_NULL, &v, "%s", p))
		v = NULL;
	if ((d || v) && asprintf(&out, "%s|%s", d ? d : "", v ? v : "") < 0)
		out = NULL;
	free(d);
	free(v);
	return out;
}

/* Wait until the member's heartbeat (/vbdpool/domains/<m>/heartbeat, and
 * members/<m>/heartbeat of the volume) has not changed for
 * UNFENCE_QUIET_MS (dom0's clock: the value is the member's own clock).
 * 0, or -EBUSY when it still changed after UNFENCE_WAIT_MS. */
static int wait_heartbeat_quiet(struct xs_handle *h, const char *id, unsigned domid)
{
	char *last = read_beats(h, id, domid), *v; /* none: a daemon would write one */
	uint64_t start = vbd_now_ms(), changed = start;
	int rc = -EBUSY;

	for (;;) {
		uint64_t now;

		nanosleep(&(struct timespec){0, UNFENCE_POLL_MS * 1000000L}, NULL);
		v = read_beats(h, id, domid);
		now = vbd_now_ms();
		if ((v == NULL) != (last == NULL) || (v && strcmp(v, last)))
			changed = now;
		free(last);
		last = v;
		if (now - changed >= UNFENCE_QUIET_MS) {
			rc = 0;
			break;
		}
		if (now - start >= UNFENCE_WAIT_MS)
			break;
	}
	free(last);
	return rc;
}

/* Paused (by the supervisor's fencing)?  Then unpause it: a fenced daemon
 * in it resumes, reads `fenced` and exits.  -ESRCH: not listed, or dying. */
static int unpause_if_paused(unsigned domid, char *err, size_t errlen)
{
	const struct vbd_domctl_ops *ops = vbd_platform()->domctl;
	struct vbd_dominfo *info = NULL;
	struct vbd_domctl *dc = ops->open();
	int n, rc = -ESRCH;

	if (!dc) {
		snprintf(err, errlen,
			 "no domain control (%s): cannot tell whether domain %u is paused",
			 strerror(errno), domid);
		return -ENODEV;
	}
	n = ops->list(dc, NULL, 0);
	if (n >= 0) {
		info = calloc((size_t)n + 16, sizeof(*info));
		n = info ? ops->list(dc, info, n + 16) : -ENOMEM;
	}
	if (n < 0) {
		snprintf(err, errlen, "listing domains: %s", strerror(-n));
		rc = n;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (info[i].domid != domid)
			continue;
		if (info[i].state == VBD_DOM_DYING)
			break;
		rc = 0;
		if (info[i].state == VBD_DOM_PAUSED) {
			rc = ops->unpause(dc, (vbd_domid_t)domid);
			if (rc < 0)
				snprintf(err, errlen, "unpause domain %u: %s", domid,
					 strerror(-rc));
			else
				printf("domain %u was paused: unpaused it\n", domid);
		}
		break;
	}
	if (rc == -ESRCH)
		snprintf(err, errlen,
			 "domain %u is gone or dying: nothing to unfence (vbdpoolctl member remove "
			 "withdraws it)",
			 domid);
out:
	free(info);
	ops->close(dc);
	return rc;
}

int cmd_member_unfence(struct ctl *c, int argc, char **argv)
{
	struct unfence_args a = {0};
	char *pos[2], err[256], p[192];
	int rc;

	rc =
	    ctl_volume_args(argc, argv, NULL, pos, 2, "member unfence", "a volume ID and a DOMAIN");
	if (rc)
		return rc;
	a.id = pos[0];
	rc = ctl_resolve_domain(c->xs, pos[1], 1, &a.domid, err, sizeof(err));
	if (rc)
		return ctl_fail("%s", err);
	snprintf(p, sizeof(p), VBD_XS_VOLUME, a.id);
	if (vbd_xs_exists(c->xs, XBT_NULL, "%s", p) <= 0)
		return ctl_fail("unknown volume '%s'", a.id);
	snprintf(p, sizeof(p), VBD_XS_MEMBER, a.id, a.domid);
	if (vbd_xs_exists(c->xs, XBT_NULL, "%s", p) <= 0)
		return ctl_fail("domain %u is not a member of volume '%s'", a.domid, a.id);
	rc = read_member_state(c->xs, XBT_NULL, a.id, a.domid, a.state, sizeof(a.state));
	if (rc)
		return ctl_fail("member %u of volume '%s' has no state (%s): not fenced", a.domid,
				a.id, strerror(-rc));
	if (strcmp(a.state, vbd_member_state_name(VBD_MEMBER_FENCED)))
		return ctl_fail("member %u of volume '%s' is not fenced (state %s): nothing to do",
				a.domid, a.id, a.state);

	rc = unpause_if_paused(a.domid, err, sizeof(err));
	if (rc)
		return ctl_fail("%s", err);
	printf("waiting until member %u's heartbeat has not changed for %d s...\n", a.domid,
	       UNFENCE_QUIET_MS / 1000);
	fflush(stdout);
	if (wait_heartbeat_quiet(c->xs, a.id, a.domid))
		return ctl_fail("a vbdpool-backd still runs for %s in dom%u: stop it first "
				"(its heartbeat still changed after %d s)",
				a.id, a.domid, UNFENCE_WAIT_MS / 1000);

	rc = vbd_xs_transact(c->xs, unfence_txn, &a);
	if (rc == -ESTALE)
		return ctl_fail("member %u of volume '%s' changed meanwhile (state %s): not "
				"unfenced",
				a.domid, a.id, a.state);
	if (rc)
		return ctl_fail("member unfence %s %u: %s", a.id, a.domid, strerror(-rc));
	printf("member %u of volume %s: fenced -> joining\n"
	       "Before starting vbdpool-backd --volume %s in domain %u again, check:\n"
	       "  - the domain's path to the storage works (the fence may have been its cause);\n"
	       "  - no I/O of the fenced incarnation can still be in flight: the domain was\n"
	       "    rebooted, or its storage timed out or aborted the commands it had issued\n"
	       "    (a write that lands late would overwrite newer data).\n"
	       "Then start vbdpool-backd again; it joins and takes queues as any member.\n",
	       a.domid, a.id, a.id, a.domid);
	return 0;
}
