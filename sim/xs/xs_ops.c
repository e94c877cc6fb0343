/* SPDX-License-Identifier: MIT */
/*
 * The node operations (READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART,
 * GET_PERMS, SET_PERMS) with Xen's permission rules and domU quotas, done
 * through a view (global tree or one transaction).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

#define PATHBUF (XS_ABS_PATH_MAX + 64)

static struct xs_view view(struct xs_req *r)
{
	struct xs_view v = {&r->s->tree, r->txn};
	return v;
}

static bool has(const struct xs_req *r, const struct xs_node *n, unsigned need)
{
	return (xs_perm_for(&n->perms, r->domid, r->priv) & need) == need;
}

/* The nearest existing ancestor of a missing path (the root always exists). */
static const struct xs_node *ancestor(struct xs_view *v, const char *path, unsigned *levels)
{
	char buf[PATHBUF];
	const struct xs_node *n = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	*levels = 0;
	while (strcmp(buf, "/")) {
		xs_path_parent(buf, buf);
		(*levels)++;
		n = xs_view_get(v, buf);
		if (n)
			return n;
	}
	return xs_view_get(v, "/");
}

/* Node with the given rights.  On a missing node, ENOENT if the nearest
 * existing ancestor grants any of the rights asked for, else EACCES (C
 * xenstored's errno_from_parents: tell nothing the caller may not know). */
static int lookup(struct xs_req *r, const char *path, unsigned need, const struct xs_node **out)
{
	struct xs_view v = view(r);
	const struct xs_node *n = xs_view_get(&v, path), *a;
	unsigned lv;

	*out = NULL;
	if (n) {
		if (!has(r, n, need))
			return EACCES;
		*out = n;
		return 0;
	}
	a = ancestor(&v, path, &lv);
	if (!a || !(xs_perm_for(&a->perms, r->domid, r->priv) & need))
		return EACCES;
	return ENOENT;
}

static void emit(struct xs_req *r, struct xs_change *c)
{
	if (!c)
		return;
	if (r->txn) {
		xs_txn_queue_event(r->txn, c);
	} else {
		xs_watch_fire(r->s, c);
		xs_change_free_list(c);
	}
}

static const struct xs_perms *parent_perms(struct xs_view *v, const char *path)
{
	char buf[PATHBUF];
	const struct xs_node *p;

	if (!strcmp(path, "/"))
		return NULL;
	xs_path_parent(path, buf);
	p = xs_view_get(v, buf);
	return p ? &p->perms : NULL;
}

static bool too_big(const struct xs_req *r, const struct xs_node *n)
{
	return !r->priv && xs_node_size(n) >= XS_QUOTA_NODE_SIZE;
}

static int put_changed(struct xs_req *r, struct xs_node *c, const struct xs_perms *old)
{
	struct xs_view v = view(r);
	struct xs_change *ch;
	int err;

	ch = xs_change_new(c->path, false, &c->perms, old, parent_perms(&v, c->path));
	err = xs_view_put(&v, c);
	if (err) {
		xs_change_free_list(ch);
		return err;
	}
	emit(r, ch);
	return 0;
}

static int create(struct xs_req *r, const char *path, const char *val, uint32_t vlen)
{
	struct xs_view v = view(r);
	const struct xs_node *a;
	struct xs_node **made = NULL, *pc = NULL;
	unsigned levels;
	int err;

	a = ancestor(&v, path, &levels);
	if (!a)
		return EIO;
	if (!has(r, a, XS_PERM_WRITE))
		return EACCES;
	if (!r->priv && xs_view_owned(&v, r->domid) + levels > XS_QUOTA_NODES)
		return ENOSPC;
	/* made[0] = the ancestor's copy, made[1..levels] the new nodes downwards */
	made = calloc(levels + 1, sizeof(*made));
	if (!made)
		return ENOMEM;
	pc = made[0] = xs_node_dup(a);
	if (!pc) {
		err = ENOMEM;
		goto fail;
	}
	/* the new nodes are the prefixes of path ending after the ancestor */
	size_t plen = strlen(path), end = strcmp(a->path, "/") ? strlen(a->path) : 0;
	for (unsigned i = 1; i <= levels; i++) {
		char sub[PATHBUF];
		struct xs_node *n;

		end++; /* the '/' after the previous level */
		while (end < plen && path[end] != '/')
			end++;
		memcpy(sub, path, end);
		sub[end] = 0;
		if (xs_node_add_child(made[i - 1], xs_path_base(sub))) {
			err = ENOMEM;
			goto fail;
		}
		n = made[i] = xs_node_new(sub, i == levels ? val : "", i == levels ? vlen : 0,
					  &made[i - 1]->perms);
		if (!n) {
			err = ENOMEM;
			goto fail;
		}
		if (!r->priv)
			n->perms.p[0].id = r->domid;
	}
	for (unsigned i = 0; i <= levels; i++) {
		if (too_big(r, made[i])) {
			err = ENOSPC;
			goto fail;
		}
	}
	struct xs_change *ch =
	    xs_change_new(path, false, &made[levels]->perms, NULL, &made[levels - 1]->perms);
	for (unsigned i = 0; i <= levels; i++) {
		err = xs_view_put(&v, made[i]);
		made[i] = NULL;
		if (err) {
			for (unsigned k = i + 1; k <= levels; k++)
				xs_node_free(made[k]);
			free(made);
			xs_change_free_list(ch);
			return err;
		}
	}
	free(made);
	emit(r, ch);
	return 0;
fail:
	for (unsigned i = 0; i <= levels; i++)
		xs_node_free(made[i]);
	free(made);
	return err;
}

int xs_op_write(struct xs_req *r, const char *path, const char *val, uint32_t vlen, bool mkdir)
{
	struct xs_view v = view(r);
	const struct xs_node *n = xs_view_get(&v, path);
	struct xs_node *c;

	if (!n)
		return create(r, path, val, vlen);
	if (!has(r, n, XS_PERM_WRITE))
		return EACCES;
	if (mkdir)
		return 0;
	c = xs_node_dup(n);
	if (!c || xs_node_set_value(c, val, vlen)) {
		xs_node_free(c);
		return ENOMEM;
	}
	if (too_big(r, c)) {
		xs_node_free(c);
		return ENOSPC;
	}
	return put_changed(r, c, NULL);
}

/* Removes path and everything below (post-order, as C xenstored walks),
 * queueing an exact change for every removed descendant onto *tail. */
static int del_tree(struct xs_view *v, const char *path, bool root, struct xs_change ***tail)
{
	const struct xs_node *n = xs_view_get(v, path);
	char *kids;
	uint32_t klen;
	int err = 0;

	if (!n)
		return 0;
	klen = n->childlen;
	kids = malloc(klen + 1);
	if (!kids)
		return ENOMEM;
	if (klen)
		memcpy(kids, n->children, klen);
	for (uint32_t off = 0; off < klen && !err; off += strlen(kids + off) + 1) {
		size_t l = strlen(path) + strlen(kids + off) + 2;
		char *sub = malloc(l);
		if (!sub) {
			err = ENOMEM;
			break;
		}
		snprintf(sub, l, "%s/%s", strcmp(path, "/") ? path : "", kids + off);
		err = del_tree(v, sub, false, tail);
		free(sub);
	}
	free(kids);
	if (err)
		return err;
	n = xs_view_get(v, path);
	if (!root && n) {
		struct xs_change *c =
		    xs_change_new(path, true, &n->perms, NULL, parent_perms(v, path));
		if (c) {
			**tail = c;
			*tail = &c->next;
		}
	}
	return xs_view_del(v, path);
}

int xs_op_rm(struct xs_req *r, const char *path)
{
	struct xs_view v = view(r);
	const struct xs_node *n, *p;
	char parent[PATHBUF];
	struct xs_change *root, *subs = NULL, **tail = &subs;
	struct xs_node *pc;
	int err;

	err = lookup(r, path, XS_PERM_WRITE, &n);
	if (err == ENOENT) {
		xs_path_parent(path, parent);
		return xs_view_get(&v, parent) ? 0 : ENOENT;
	}
	if (err)
		return err;
	if (!strcmp(path, "/"))
		return EINVAL;
	xs_path_parent(path, parent);
	p = xs_view_get(&v, parent);
	if (!p) {
		/* A transaction that read the node before its parent went
		 * (removed outside it: a released domain's nodes), or that
		 * reached its node quota: C xenstored's rm_node cannot read the
		 * parent either and answers EINVAL (ENOSPC for the quota).
		 * The emulator used to crash here. */
		return v.txn && v.txn->over ? ENOSPC : EINVAL;
	}
	root = xs_change_new(path, false, &n->perms, NULL, parent_perms(&v, path));
	if (!root)
		return ENOMEM;
	pc = xs_node_dup(p);
	if (!pc) {
		xs_change_free_list(root);
		return ENOMEM;
	}
	xs_node_del_child(pc, xs_path_base(path));
	err = del_tree(&v, path, true, &tail);
	if (!err)
		err = xs_view_put(&v, pc);
	else
		xs_node_free(pc);
	if (err) {
		xs_change_free_list(root);
		xs_change_free_list(subs);
		return err;
	}
	/* descendants first, then the removed node itself */
	while (subs) {
		struct xs_change *c = subs;
		subs = c->next;
		c->next = NULL;
		emit(r, c);
	}
	emit(r, root);
	return 0;
}

static struct xs_perms *special_perms(struct xs_server *s, const char *path)
{
	if (!strcmp(path, "@introduceDomain"))
		return &s->special_intro;
	if (!strcmp(path, "@releaseDomain"))
		return &s->special_release;
	return NULL;
}

int xs_op_set_perms(struct xs_req *r, const char *path, const struct xs_perms *perms)
{
	const struct xs_node *n;
	struct xs_perms *sp;
	struct xs_node *c;
	int err;

	if (!r->priv && perms->num > XS_QUOTA_PERMS)
		return ENOSPC;
	if (path[0] == '@') {
		sp = special_perms(r->s, path);
		if (!sp)
			return EINVAL;
		if (!(xs_perm_for(sp, r->domid, r->priv) & XS_PERM_OWNER))
			return EACCES;
		if (!r->priv && perms->p[0].id != sp->p[0].id)
			return EPERM;
		struct xs_perms np;
		if (xs_perms_copy(&np, perms))
			return ENOMEM;
		xs_perms_free(sp);
		*sp = np;
		return 0;
	}
	err = lookup(r, path, XS_PERM_WRITE | XS_PERM_OWNER, &n);
	if (err)
		return err;
	if (!r->priv && perms->p[0].id != xs_node_owner(n))
		return EPERM;
	c = xs_node_dup(n);
	if (!c || xs_node_set_perms(c, perms)) {
		xs_node_free(c);
		return ENOMEM;
	}
	if (too_big(r, c)) {
		xs_node_free(c);
		return ENOSPC;
	}
	struct xs_perms old;
	if (xs_perms_copy(&old, &n->perms)) {
		xs_node_free(c);
		return ENOMEM;
	}
	err = put_changed(r, c, &old);
	xs_perms_free(&old);
	return err;
}

static int canon(struct xs_req *r, const char *in, char *out)
{
	return xs_path_canon(r->domid, in, out, PATHBUF, NULL);
}

static int op_directory_part(struct xs_req *r, const char *path, const char *offstr)
{
	const struct xs_node *n;
	char gen[32];
	size_t genlen, off, len = 0;
	char *end;
	int err;

	err = lookup(r, path, XS_PERM_READ, &n);
	if (err)
		return err;
	errno = 0;
	off = strtoul(offstr, &end, 10);
	if (errno || end == offstr || *end)
		return EINVAL;
	genlen = snprintf(gen, sizeof(gen), "%llu", (unsigned long long)n->gen) + 1;
	if (off >= n->childlen) {
		char empty[34];
		memcpy(empty, gen, genlen);
		empty[genlen] = 0;
		return xs_req_reply(r, empty, genlen + 1);
	}
	/* whole names from off while they fit, then a final empty string once
	 * the list is complete */
	size_t maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
	while (off + len < n->childlen) {
		size_t l = strnlen(n->children + off + len, n->childlen - off - len) + 1;
		if (len + l > maxlen)
			break;
		len += l;
	}
	bool done = off + len >= n->childlen;
	char *buf = malloc(genlen + len + 1);
	if (!buf)
		return ENOMEM;
	memcpy(buf, gen, genlen);
	memcpy(buf + genlen, n->children + off, len);
	if (done)
		buf[genlen + len++] = 0;
	err = xs_req_reply(r, buf, genlen + len);
	free(buf);
	return err;
}

int xs_node_op(struct xs_req *r)
{
	char path[PATHBUF];
	const struct xs_node *n;
	const char *arg, *v[2];
	int err;

	switch (r->type) {
	case XS_READ:
	case XS_DIRECTORY:
	case XS_GET_PERMS:
	case XS_MKDIR:
	case XS_RM:
		arg = xs_wire_onearg(r->body, r->len);
		if (!arg)
			return EINVAL;
		if (r->type == XS_GET_PERMS && arg[0] == '@') {
			struct xs_perms *sp = special_perms(r->s, arg);
			char buf[XENSTORE_PAYLOAD_MAX];
			size_t l;
			if (!sp)
				return EINVAL;
			if (!(xs_perm_for(sp, r->domid, r->priv) & XS_PERM_READ))
				return EACCES;
			l = xs_perms_format(sp, buf, sizeof(buf));
			return l ? xs_req_reply(r, buf, l) : E2BIG;
		}
		if (canon(r, arg, path))
			return EINVAL;
		break;
	case XS_WRITE: {
		const char *nul = memchr(r->body, 0, r->len);
		if (!nul)
			return EINVAL;
		if (canon(r, r->body, path))
			return EINVAL;
		uint32_t off = nul - r->body + 1;
		err = xs_op_write(r, path, r->body + off, r->len - off, false);
		return err ? err : xs_req_reply_str(r, "OK");
	}
	case XS_DIRECTORY_PART:
		if (!xs_wire_strings(r->body, r->len, v, 2))
			return EINVAL;
		if (canon(r, v[0], path))
			return EINVAL;
		return op_directory_part(r, path, v[1]);
	case XS_SET_PERMS: {
		unsigned cnt = xs_wire_count_strings(r->body, r->len);
		struct xs_perms perms;
		size_t off;

		if (cnt < 2 || r->body[r->len - 1])
			return EINVAL;
		if (!r->priv && cnt - 1 > XS_QUOTA_PERMS)
			return ENOSPC;
		off = strlen(r->body) + 1;
		err = xs_perms_parse(&perms, r->body + off, r->len - off, cnt - 1);
		if (err)
			return err;
		if (r->body[0] == '@')
			err = xs_op_set_perms(r, r->body, &perms);
		else if (canon(r, r->body, path))
			err = EINVAL;
		else
			err = xs_op_set_perms(r, path, &perms);
		xs_perms_free(&perms);
		return err ? err : xs_req_reply_str(r, "OK");
	}
	default:
		return EINVAL;
	}

	switch (r->type) {
	case XS_READ:
		err = lookup(r, path, XS_PERM_READ, &n);
		return err ? err : xs_req_reply(r, n->value, n->vlen);
	case XS_DIRECTORY:
		err = lookup(r, path, XS_PERM_READ, &n);
		return err ? err : xs_req_reply(r, n->children, n->childlen);
	case XS_GET_PERMS: {
		char buf[XENSTORE_PAYLOAD_MAX];
		size_t l;
		err = lookup(r, path, XS_PERM_READ, &n);
		if (err)
			return err;
		l = xs_perms_format(&n->perms, buf, sizeof(buf));
		return l ? xs_req_reply(r, buf, l) : E2BIG;
	}
	case XS_MKDIR:
		err = xs_op_write(r, path, "", 0, true);
		return err ? err : xs_req_reply_str(r, "OK");
	case XS_RM:
		err = xs_op_rm(r, path);
		return err ? err : xs_req_reply_str(r, "OK");
	}
	return EINVAL;
}
