/* SPDX-License-Identifier: MIT */
#include "xs_txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct xs_acc {
	uint64_t seq;	      /* order of first access (events go out in it) */
	uint64_t gen;	      /* generation seen at first access, XS_NO_GEN: missing */
	bool modified;	      /* copy was changed by this transaction */
	struct xs_node *copy; /* the transaction's record (copied on first access,
			       * as C xenstored does); NULL: missing/deleted */
};

static void acc_free(void *p)
{
	struct xs_acc *a = p;
	xs_node_free(a->copy);
	free(a);
}

struct xs_txn *xs_txn_new(uint32_t id)
{
	struct xs_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (xs_hash_init(&t->acc)) {
		free(t);
		return NULL;
	}
	t->id = id;
	t->ev_tail = &t->events;
	return t;
}

void xs_txn_free(struct xs_txn *t)
{
	if (!t)
		return;
	xs_hash_destroy(&t->acc, acc_free);
	xs_change_free_list(t->events);
	free(t->owned);
	free(t);
}

static struct xs_acc *access_node(struct xs_view *v, const char *path)
{
	struct xs_acc *a = xs_hash_get(&v->txn->acc, path);
	const struct xs_node *n;

	if (a)
		return a;
	if (v->txn->limited && v->txn->naccessed >= XS_QUOTA_TXN_NODES) {
		/* refused before anything is allocated (C xenstored's
		 * access_node): a domU's request walking thousands of missing
		 * ancestors costs no memory once the quota is reached; the
		 * caller falls back to the global record, the request fails
		 * with ENOSPC and the transaction can no longer commit */
		v->txn->over = true;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	n = xs_tree_get(v->tree, path);
	a->seq = v->txn->naccessed;
	a->gen = n ? n->gen : XS_NO_GEN;
	if (n) {
		a->copy = xs_node_dup(n);
		if (!a->copy) {
			free(a);
			return NULL;
		}
	}
	if (xs_hash_put(&v->txn->acc, path, a, NULL)) {
		xs_node_free(a->copy);
		free(a);
		return NULL;
	}
	if (++v->txn->naccessed > XS_QUOTA_TXN_NODES * 64)
		v->txn->overflow = true;
	return a;
}

struct each_copy {
	void (*fn)(struct xs_node *n, void *arg);
	void *arg;
};

static void each_copy(const char *key, void *val, void *arg)
{
	struct xs_acc *a = val;
	struct each_copy *e = arg;

	(void)key;
	if (a->copy)
		e->fn(a->copy, e->arg);
}

void xs_txn_each_copy(struct xs_txn *t, void (*fn)(struct xs_node *n, void *arg), void *arg)
{
	struct each_copy e = {fn, arg};

	xs_hash_each(&t->acc, each_copy, &e);
}

const struct xs_node *xs_view_get(struct xs_view *v, const char *path)
{
	struct xs_acc *a;

	if (!v->txn)
		return xs_tree_get(v->tree, path);
	a = access_node(v, path);
	if (a && (a->modified || a->copy))
		return a->copy;
	return xs_tree_get(v->tree, path);
}

static void delta(struct xs_txn *t, unsigned domid, int d)
{
	for (unsigned i = 0; i < t->nowned; i++) {
		if (t->owned[i].domid == domid) {
			t->owned[i].delta += d;
			return;
		}
	}
	void *p = realloc(t->owned, (t->nowned + 1) * sizeof(*t->owned));
	if (!p)
		return;
	t->owned = p;
	t->owned[t->nowned].domid = domid;
	t->owned[t->nowned].delta = d;
	t->nowned++;
}

static int txn_replace(struct xs_view *v, const char *path, struct xs_node *n)
{
	struct xs_acc *a = access_node(v, path);
	const struct xs_node *cur;

	if (!a) {
		xs_node_free(n);
		return ENOMEM;
	}
	cur = (a->modified || a->copy) ? a->copy : xs_tree_get(v->tree, path);
	if (cur)
		delta(v->txn, xs_node_owner(cur), -1);
	if (n)
		delta(v->txn, xs_node_owner(n), +1);
	xs_node_free(a->copy);
	a->copy = n;
	a->modified = true;
	return 0;
}

int xs_view_put(struct xs_view *v, struct xs_node *n)
{
	if (!v->txn)
		return xs_tree_store(v->tree, n) ? ENOMEM : 0;
	return txn_replace(v, n->path, n);
}

int xs_view_del(struct xs_view *v, const char *path)
{
	if (!v->txn) {
		xs_tree_remove(v->tree, path);
		return 0;
	}
	return txn_replace(v, path, NULL);
}

unsigned xs_view_owned(struct xs_view *v, unsigned domid)
{
	long n = xs_tree_owned(v->tree, domid);

	if (v->txn)
		for (unsigned i = 0; i < v->txn->nowned; i++)
			if (v->txn->owned[i].domid == domid)
				n += v->txn->owned[i].delta;
	return n < 0 ? 0 : (unsigned)n;
}

void xs_txn_queue_event(struct xs_txn *t, struct xs_change *c)
{
	c->next = NULL;
	*t->ev_tail = c;
	t->ev_tail = &c->next;
}

struct check_ctx {
	struct xs_tree *tree;
	bool conflict;
};

static void check_one(const char *path, void *val, void *arg)
{
	struct check_ctx *c = arg;
	struct xs_acc *a = val;
	const struct xs_node *n = xs_tree_get(c->tree, path);

	if ((n ? n->gen : XS_NO_GEN) != a->gen)
		c->conflict = true;
}

struct apply_ctx {
	struct xs_tree *tree;
	struct xs_acc **mods;
	const char **paths;
	size_t n;
};

static void collect(const char *path, void *val, void *arg)
{
	struct apply_ctx *c = arg;
	struct xs_acc *a = val;

	if (!a->modified)
		return;
	c->mods[c->n] = a;
	c->paths[c->n] = path;
	c->n++;
}

struct ev_slot {
	struct xs_change *c;
	uint64_t seq;
	size_t idx;
};

static int slot_cmp(const void *a, const void *b)
{
	const struct ev_slot *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The events of a committed transaction as C xenstored sends them: one per
 * changed node (a subtree event replaces an exact one), in the order the
 * nodes were first accessed, filtered with the node and parent as they are
 * after the commit (plus a set_perms' old ACL). */
static struct xs_change *commit_events(struct xs_tree *tree, struct xs_txn *t)
{
	struct xs_change *list = t->events, *out = NULL, **tail = &out;
	struct ev_slot *slots;
	struct xs_hash seen;
	size_t n = 0, k = 0;

	t->events = NULL;
	t->ev_tail = &t->events;
	for (struct xs_change *c = list; c; c = c->next)
		n++;
	slots = calloc(n + 1, sizeof(*slots));
	if (!slots || xs_hash_init(&seen)) {
		free(slots);
		return list; /* unmerged, but delivered */
	}
	while (list) {
		struct xs_change *c = list;
		struct ev_slot *prev;
		struct xs_acc *a;

		list = c->next;
		c->next = NULL;
		prev = xs_hash_get(&seen, c->path);
		if (prev) {
			if (!c->exact)
				prev->c->exact = false;
			if (!prev->c->old_perms.num && c->old_perms.num) {
				prev->c->old_perms = c->old_perms;
				c->old_perms.num = 0;
				c->old_perms.p = NULL;
			}
			xs_change_free_list(c);
			continue;
		}
		a = xs_hash_get(&t->acc, c->path);
		slots[k].c = c;
		slots[k].seq = a ? a->seq : UINT64_MAX;
		slots[k].idx = k;
		if (xs_hash_put(&seen, c->path, &slots[k], NULL)) {
			xs_change_free_list(c);
			continue;
		}
		k++;
	}
	xs_hash_destroy(&seen, NULL);
	qsort(slots, k, sizeof(*slots), slot_cmp);
	for (size_t i = 0; i < k; i++) {
		struct xs_change *c = slots[i].c;
		const struct xs_node *node = xs_tree_get(tree, c->path), *par;
		char *parent = malloc(strlen(c->path) + 2);

		xs_perms_free(&c->perms);
		xs_perms_free(&c->parent);
		if (node && xs_perms_copy(&c->perms, &node->perms))
			c->perms.num = 0;
		if (node && parent) {
			xs_path_parent(c->path, parent);
			par = xs_tree_get(tree, parent);
			if (par && xs_perms_copy(&c->parent, &par->perms))
				c->parent.num = 0;
		}
		free(parent);
		*tail = c;
		tail = &c->next;
	}
	free(slots);
	return out;
}

int xs_txn_commit(struct xs_tree *tree, struct xs_txn *t, struct xs_change **events)
{
	struct check_ctx cc = {tree, false};
	struct apply_ctx ac = {tree, NULL, NULL, 0};

	*events = NULL;
	if (t->overflow)
		return EAGAIN;
	xs_hash_each(&t->acc, check_one, &cc);
	if (cc.conflict)
		return EAGAIN;
	ac.mods = calloc(t->acc.n + 1, sizeof(*ac.mods));
	ac.paths = calloc(t->acc.n + 1, sizeof(*ac.paths));
	if (!ac.mods || !ac.paths) {
		free(ac.mods);
		free(ac.paths);
		return ENOMEM;
	}
	xs_hash_each(&t->acc, collect, &ac);
	for (size_t i = 0; i < ac.n; i++) {
		struct xs_acc *a = ac.mods[i];
		if (a->copy) {
			if (xs_tree_store(tree, a->copy) == 0)
				a->copy = NULL; /* the tree owns it now */
		} else {
			xs_tree_remove(tree, ac.paths[i]);
		}
	}
	free(ac.mods);
	free(ac.paths);
	*events = commit_events(tree, t);
	return 0;
}
