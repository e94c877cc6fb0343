/* SPDX-License-Identifier: MIT */
/*
 * The pool area as dom0 writes it: a volume's members and attached
 * guests, and writing nodes with the ACL the schema gives them.  Every ACL
 * comes from xenstore-schema/schema.txt (compiled in), so what vbdpoolctl
 * and the supervisor set is exactly what `schema-check` expects.  Part of
 * libvbdschema, on common/xs and the pool snapshot.
 */
#ifndef VBD_POOL_ACL_H
#define VBD_POOL_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>

#include "vbd_schema.h"

#define VBD_POOL_MAX_DOMS 512

struct vbd_pool_vol {
	char id[72];
	uint16_t members[VBD_POOL_MAX_DOMS];
	unsigned nm;
	uint16_t guests[VBD_POOL_MAX_DOMS]; /* attached guests, each once */
	unsigned ng;
};

/* -ENOENT: no such volume. */
int vbd_pool_load_vol(struct xs_handle *h, xs_transaction_t t, const char *id,
		      struct vbd_pool_vol *v);
struct vbd_acl_ctx vbd_pool_acl_ctx(const struct vbd_pool_vol *v);
/* The members of every volume (the supervisor area's +M). */
int vbd_pool_all_members(struct xs_handle *h, xs_transaction_t t, uint16_t *out, unsigned *n);

/* Write `value` at `path` with the schema's ACL for it, expanded for v. */
int vbd_pool_write(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value,
		   const struct vbd_pool_vol *v);
/* Ensure /vbdpool and /vbdpool/volumes exist with their ACLs. */
int vbd_pool_ensure_root(struct xs_handle *h, xs_transaction_t t);
/* The per-domain index of membership (/vbdpool/members-of/<domid>/<vol>,
 * each level with its schema ACL) and the member's own /vbdpool/domains/
 * <domid> (its heartbeat): add (1) or remove (0) vol for domid; removing
 * the last one removes both directories. Call inside the transaction that
 * adds or removes members/<domid>. */
int vbd_pool_index_member(struct xs_handle *h, xs_transaction_t t, const char *vol, unsigned domid,
			  int add);
/* Re-set the ACL of every node whose schema ACL depends on the members
 * or attached guests of volume `id` (the volume's own nodes, its
 * attachments, each attached frontend directory subtree) and of the
 * supervisor area.  Call inside the transaction that changed them. */
int vbd_pool_sync_acls(struct xs_handle *h, xs_transaction_t t, const char *id);
int vbd_pool_sync_supervisor_acls(struct xs_handle *h, xs_transaction_t t);

/* The frontend directory of attachment `name` ("<g>-<d>", parsed as the
 * pool snapshot does) into fe: 0, -EINVAL (no attachment name) or
 * -E2BIG. */
int vbd_pool_att_frontend(const char *name, char *fe, size_t len);

int vbd_pool_has_dom(const uint16_t *set, unsigned n, unsigned domid);

#endif
