/* SPDX-License-Identifier: MIT */
/*
 * A read-only view of a XenStore tree, so the validator runs the same on
 * a live XenStore (one transaction = one consistent snapshot) and on an
 * in-memory tree in unit tests.
 */
#ifndef VBD_TREE_H
#define VBD_TREE_H

#include "vbd_acl.h"

struct vbd_tree_ops {
	/* Children names of `path` (malloc'd array of malloc'd strings). */
	int (*list)(void *ctx, const char *path, char ***names, unsigned *n);
	/* The value of `path` (malloc'd, NUL-terminated). */
	int (*read)(void *ctx, const char *path, char **value);
	int (*perms)(void *ctx, const char *path, struct vbd_acl *acl);
};
/* Every op returns 0 or -errno (-ENOENT for a missing node). */

struct vbd_tree {
	const struct vbd_tree_ops *ops;
	void *ctx;
};

void vbd_tree_free_names(char **names, unsigned n);

/* ---- in-memory tree (tests) ------------------------------------------ */
struct vbd_memtree;
struct vbd_memtree *vbd_memtree_new(void);
void vbd_memtree_free(struct vbd_memtree *t);
/* Create or overwrite a node. Missing parents are created with their own
 * parent's ACL (as xenstored does); perms NULL keeps / inherits it. */
int vbd_memtree_set(struct vbd_memtree *t, const char *path, const char *value, const char *perms);
int vbd_memtree_rm(struct vbd_memtree *t, const char *path); /* and its subtree */
struct vbd_tree vbd_memtree_view(struct vbd_memtree *t);

/* ---- live XenStore (libxenstore) ------------------------------------- */
struct xs_handle;
/* A view reading inside transaction `t` (XBT_NULL for none). */
struct vbd_livetree {
	struct xs_handle *h;
	unsigned int t;
};
struct vbd_tree vbd_livetree_view(struct vbd_livetree *lt);

#endif
