/* SPDX-License-Identifier: MIT */
/*
 * XenStore node permissions (ACLs) in xenstore-chmod notation: the first
 * entry names the owner and the default for every domain not listed
 * ("n0" = owner dom0, others none); later entries name domains
 * ("r5" = dom5 may read).  Letters: n none, r read, w write, b both.
 *
 * Xen evaluates only a node's own ACL; for a domain listed twice the first
 * entry counts, and the owner always has full access.  vbd_acl_normalize
 * reduces an ACL to that meaning so two ACLs compare by what they allow.
 */
#ifndef VBD_ACL_H
#define VBD_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>

#define VBD_ACL_MAX 256

enum { VBD_PERM_NONE = 0, VBD_PERM_READ = 1, VBD_PERM_WRITE = 2, VBD_PERM_BOTH = 3 };

struct vbd_acl_ent {
	uint16_t domid;
	uint8_t perm; /* VBD_PERM_* */
};

struct vbd_acl {
	unsigned n; /* entries; e[0] is owner + default */
	struct vbd_acl_ent e[VBD_ACL_MAX];
};

/* "n0 r5 b3" -> acl. 0 or -EINVAL (bad letter, domid, empty, too many). */
int vbd_acl_parse(const char *s, struct vbd_acl *out);
/* acl -> "n0 r5 b3"; returns the length it needs (like snprintf). */
int vbd_acl_format(const struct vbd_acl *a, char *buf, size_t len);
/* Append an entry. 0 or -E2BIG. */
int vbd_acl_add(struct vbd_acl *a, uint16_t domid, int perm);
/* Drop entries for the owner and repeated domids (the first counts) and
 * sort the rest by domid. */
void vbd_acl_normalize(struct vbd_acl *a);
/* Do the two ACLs allow the same? (compares normalized copies) */
int vbd_acl_equal(const struct vbd_acl *a, const struct vbd_acl *b);
/* What `domid` may do on a node with this ACL (dom0 and the owner: both). */
int vbd_acl_perm_of(const struct vbd_acl *a, uint16_t domid);

/* A node's ACL in XenStore, through common/xs (vbdpool/xs.h): 0 or -errno.
 * vbd_acl_xs_write writes the value, then the ACL. */
int vbd_acl_xs_set(struct xs_handle *h, xs_transaction_t t, const char *path,
		   const struct vbd_acl *acl);
int vbd_acl_xs_get(struct xs_handle *h, xs_transaction_t t, const char *path, struct vbd_acl *acl);
int vbd_acl_xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value,
		     const struct vbd_acl *acl);

#endif
