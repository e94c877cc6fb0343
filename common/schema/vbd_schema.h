/* SPDX-License-Identifier: MIT */
/*
 * The machine-readable XenStore schema (schema.txt beside this file): one
 * rule per path pattern with a value type and an ACL template.  Used by
 * `vbdpoolctl` both to set every node's ACL and to check a live tree, so
 * the two cannot disagree.
 */
#ifndef VBD_SCHEMA_H
#define VBD_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "vbd_acl.h"

enum vbd_vtype {
	VBD_VT_EMPTY,
	VBD_VT_INT,	 /* canonical decimal, optional [lo, hi] */
	VBD_VT_BYTES512, /* decimal > 0, a multiple of 512 */
	VBD_VT_PATH,	 /* absolute XenStore path */
	VBD_VT_VOLID,
	VBD_VT_ENUM,
	VBD_VT_QREC,   /* queue-ownership record (vbd_queue_rec_parse) */
	VBD_VT_LOAD,   /* member load (vbd_member_load_parse) */
	VBD_VT_IOSTAT, /* per-attachment I/O statistics (vbd_iostat_parse) */
	VBD_VT_STR,
};

#define VBD_SCHEMA_MAX_SEGS  12
#define VBD_SCHEMA_MAX_PERMS 8

struct vbd_schema_rule {
	int line; /* in the schema text */
	char pattern[160];
	int nsegs;
	char segs[VBD_SCHEMA_MAX_SEGS][48];
	enum vbd_vtype type;
	unsigned long long lo, hi; /* VBD_VT_INT */
	int has_range;
	char enums[160]; /* VBD_VT_ENUM: "a|b|c" */
	int nperms;
	char perms[VBD_SCHEMA_MAX_PERMS][16]; /* "n0", "r{m}", "+M", ... */
};

struct vbd_schema {
	int nrules;
	struct vbd_schema_rule *rules;
};

/* Placeholder values bound by a match; -1 (or "") when not in the pattern. */
struct vbd_bind {
	char vol[72];
	long m, g, d, q, i;
};

/* The domains an ACL template expands to: +M members (r), +B members (b),
 * +G attached guests (r). */
struct vbd_acl_ctx {
	const uint16_t *members;
	unsigned nmembers;
	const uint16_t *guests;
	unsigned nguests;
};

/* The schema text built into the library (generated from schema.txt). */
extern const char vbd_schema_text[];

/* Parse schema text. 0, or -EINVAL with a message naming the line. */
int vbd_schema_parse(const char *text, struct vbd_schema *out, char *err, size_t errlen);
void vbd_schema_free(struct vbd_schema *s);
/* The built-in schema, parsed once (never NULL; aborts on a bad build). */
const struct vbd_schema *vbd_schema_builtin(void);

/* The rule matching an absolute path, binding its placeholders, or NULL. */
const struct vbd_schema_rule *vbd_schema_match(const struct vbd_schema *s, const char *path,
					       struct vbd_bind *b);
/* 0 if `value` fits the rule's type, else -EINVAL with the reason in why. */
int vbd_schema_check_value(const struct vbd_schema_rule *r, const char *value, char *why,
			   size_t whylen);
/* The ACL a node matching `r` must carry. 0, -EINVAL if the template
 * names a placeholder the match did not bind, -E2BIG. */
int vbd_schema_expand_acl(const struct vbd_schema_rule *r, const struct vbd_bind *b,
			  const struct vbd_acl_ctx *ctx, struct vbd_acl *out);
/* Convenience: match + expand. -ENOENT if no rule matches. */
int vbd_schema_acl_for(const struct vbd_schema *s, const char *path, const struct vbd_acl_ctx *ctx,
		       struct vbd_acl *out);

#endif
