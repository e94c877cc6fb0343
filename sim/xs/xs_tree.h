/* SPDX-License-Identifier: MIT */
/*
 * The XenStore node store, modelled on C xenstored: every node is a record
 * (value, permissions, ordered child-name list, generation) keyed by its
 * absolute path.  Also: path syntax and limits, the permission model and
 * the per-domain node accounting that the quotas use.
 */
#ifndef XENSIM_XS_TREE_H
#define XENSIM_XS_TREE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "xs_hash.h"

/* Limits: one default each, as printed by C xenstored's "quota" control
 * command (xen-observed.txt case 275). */
#define XS_QUOTA_NODES	      1000    /* nodes owned per domain */
#define XS_QUOTA_WATCHES      128     /* watches per domain (the 130th fails) */
#define XS_QUOTA_TRANSACTIONS 10      /* open per domain (the 12th fails) */
#define XS_QUOTA_OUTSTANDING  20      /* replies not yet written per domain */
#define XS_QUOTA_MEMORY	      2621440 /* per domain (here: its queued output) */
#define XS_QUOTA_CONNS	      64      /* sockets per domain (emulator only: Xen has one ring) */
#define XS_QUOTA_TXN_NODES    1024    /* accessed nodes per transaction */
#define XS_QUOTA_NODE_SIZE    2048    /* record size: hdr + perms + value + children */
#define XS_QUOTA_PERMS	      5	      /* ACL entries per node */
#define XS_PATH_MAX	      2048    /* path length (a /local/domain/N/ prefix not counted) */
#define XS_ABS_PATH_MAX	      3072
#define XS_MAX_DOMID	      65535

#define XS_NO_GEN UINT64_MAX

/* XS_PERM_IGNORE marks an ACL entry (never the owner's) naming a domain
 * that was released after the entry was made: C xenstored (XSA-322) keeps
 * such an entry, shows it unchanged in GET_PERMS, but no longer applies it,
 * so a later domain given the same domid inherits nothing.  Same value as
 * in xenstore_lib.h. */
enum {
	XS_PERM_NONE = 0,
	XS_PERM_READ = 1,
	XS_PERM_WRITE = 2,
	XS_PERM_OWNER = 4,
	XS_PERM_IGNORE = 0x10
};

struct xs_perm {
	uint32_t id;
	uint8_t perm; /* XS_PERM_READ | XS_PERM_WRITE, maybe | XS_PERM_IGNORE */
};

struct xs_perms {
	unsigned num;
	struct xs_perm *p; /* p[0]: owner id + default for others */
};

struct xs_node {
	char *path;
	char *value;
	uint32_t vlen;
	struct xs_perms perms;
	char *children; /* packed "a\0b\0" in creation order */
	uint32_t childlen;
	uint64_t gen;
};

struct xs_tree {
	struct xs_hash nodes;
	uint64_t gen;
	uint32_t *owned; /* nodes per owner domid, [XS_MAX_DOMID + 1] */
};

int xs_tree_init(struct xs_tree *t);
void xs_tree_destroy(struct xs_tree *t);
const struct xs_node *xs_tree_get(const struct xs_tree *t, const char *path);
/* Store (insert or replace) a record; takes ownership, assigns a new
 * generation, keeps the owner counts. */
int xs_tree_store(struct xs_tree *t, struct xs_node *n);
void xs_tree_remove(struct xs_tree *t, const char *path);
unsigned xs_tree_owned(const struct xs_tree *t, unsigned domid);
void xs_tree_forget_owner(struct xs_tree *t, unsigned domid);

/* Records. */
struct xs_node *xs_node_new(const char *path, const void *value, uint32_t vlen,
			    const struct xs_perms *perms);
struct xs_node *xs_node_dup(const struct xs_node *n);
void xs_node_free(struct xs_node *n);
void xs_node_free_v(void *n);
int xs_node_set_value(struct xs_node *n, const void *value, uint32_t vlen);
int xs_node_set_perms(struct xs_node *n, const struct xs_perms *perms);
int xs_node_add_child(struct xs_node *n, const char *name);
void xs_node_del_child(struct xs_node *n, const char *name);
/* C xenstored's record size (what the node-size quota compares). */
size_t xs_node_size(const struct xs_node *n);
static inline unsigned xs_node_owner(const struct xs_node *n)
{
	return n->perms.p[0].id;
}

/* Permissions. */
int xs_perms_copy(struct xs_perms *dst, const struct xs_perms *src);
void xs_perms_free(struct xs_perms *p);
/* Parses "n0", "r5" ... strings: `count` NUL-separated strings at s.
 * Returns 0 or EINVAL. */
int xs_perms_parse(struct xs_perms *out, const char *s, size_t len, unsigned count);
/* Formats as "n0\0r5\0" into buf; returns length or 0 if it does not fit. */
size_t xs_perms_format(const struct xs_perms *p, char *buf, size_t len);
/* Effective rights of a domain on a node with these perms (ignored
 * entries skipped). */
unsigned xs_perm_for(const struct xs_perms *p, unsigned domid, bool priv);
/* A released domain: mark the entries naming it (not the owner's) ignored.
 * Returns how many it marked. */
unsigned xs_perms_revoke(struct xs_perms *p, unsigned domid);
/* The same by removing them, and an owner `domid` becomes dom0 (what C
 * xenstored does to the special nodes' ACLs). */
void xs_perms_remove_dom(struct xs_perms *p, unsigned domid);

/* Paths. */
/* Canonical absolute path for a request path of domain `domid` into out
 * (size >= XS_ABS_PATH_MAX + 32); relative paths are under
 * /local/domain/<domid>/.  Returns 0 or EINVAL (bad name, too long). */
int xs_path_canon(unsigned domid, const char *in, char *out, size_t outlen, bool *relative);
bool xs_path_valid(const char *path);
/* Parent path of an absolute path ("/" for top level); out >= strlen+1. */
void xs_path_parent(const char *path, char *out);
const char *xs_path_base(const char *path);
/* child == parent or child lies below parent. */
bool xs_path_is_child(const char *child, const char *parent);

#endif
