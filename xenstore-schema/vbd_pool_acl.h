/* SPDX-License-Identifier: MIT */
/*
 * The pool area as dom0 sees it: a volume's members and attached guests,
 * and writing nodes with the ACL the schema gives them.  Every ACL comes
 * from xenstore-schema/schema.txt (compiled in), so what vbdpoolctl sets
 * is exactly what `schema-check` expects.
 */
#ifndef VBDCTL_POOL_H
#define VBDCTL_POOL_H

#include <stdint.h>
#include <xenstore.h>

#include "vbd_schema.h"

#define POOL_MAX_DOMS 512

struct pool_vol {
	char id[72];
	uint16_t members[POOL_MAX_DOMS];
	unsigned nm;
	uint16_t guests[POOL_MAX_DOMS]; /* attached guests, each once */
	unsigned ng;
};

/* -ENOENT: no such volume. */
int pool_load_vol(struct xs_handle *h, xs_transaction_t t, const char *id, struct pool_vol *v);
struct vbd_acl_ctx pool_acl_ctx(const struct pool_vol *v);
/* The members of every volume (the supervisor area's +M). */
int pool_all_members(struct xs_handle *h, xs_transaction_t t, uint16_t *out, unsigned *n);

/* Write `value` at `path` with the schema's ACL for it, expanded for v. */
int pool_write(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value,
	       const struct pool_vol *v);
/* Ensure /vbdpool and /vbdpool/volumes exist with their ACLs. */
int pool_ensure_root(struct xs_handle *h, xs_transaction_t t);
/* Re-set the ACL of every node whose schema ACL depends on the members
 * or attached guests of volume `id` (the volume's own nodes, its
 * attachments, each attached frontend directory subtree) and of the
 * supervisor area.  Call inside the transaction that changed them. */
int pool_sync_acls(struct xs_handle *h, xs_transaction_t t, const char *id);
int pool_sync_supervisor_acls(struct xs_handle *h, xs_transaction_t t);

int pool_has_dom(const uint16_t *set, unsigned n, unsigned domid);

#endif
