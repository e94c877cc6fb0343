/* SPDX-License-Identifier: MIT */
/* vbdpoolctl member add | remove */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ctl.h"
#include "domain.h"
#include "pool.h"
#include "vbd_acl.h"
#include "vbdpool/proto.h"
#include "xsh.h"

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
	struct pool_vol *v = malloc(sizeof(*v));

	if (!v)
		return -ENOMEM;
	rc = pool_load_vol(h, t, a->id, v);
	if (rc)
		goto out;
	snprintf(p, sizeof(p), VBD_XS_MEMBER, a->id, a->domid);
	if (a->add) {
		if (xsh_exists(h, t, p)) {
			rc = -EEXIST;
			goto out;
		}
		/* members/<m> is owned by the member (ACL r<m>): the nodes it
		 * creates below inherit that, with itself as owner. */
		rc = pool_write(h, t, p, "", v);
	} else if (xsh_exists(h, t, p)) {
		rc = xsh_rm(h, t, p);
	} else {
		/* members/<m> may be gone with its domain (C xenstored 4.17
		 * removes a destroyed domain's nodes) while dom0's nodes still
		 * grant it access: the volume's backing ACL lists the members */
		struct vbd_acl acl;
		char b[192];

		snprintf(b, sizeof(b), VBD_XS_VOLUME "/backing", a->id);
		rc = xsh_get_acl(h, t, b, &acl);
		a->stale = !rc && a->domid != 0 &&
			   vbd_acl_perm_of(&acl, (uint16_t)a->domid) != VBD_PERM_NONE;
		if (!rc && !a->stale)
			rc = -ESRCH;
	}
	/* every node that lists the members: volume, members, attachments,
	 * records, attached frontends, supervisor area */
	if (!rc)
		rc = pool_sync_acls(h, t, a->id);
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
	rc = xsh_txn(c->xs, member_txn, &a);
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
