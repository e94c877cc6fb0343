/* SPDX-License-Identifier: MIT */
#include "xs_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- records ----------------------------------------------------------- */

int xs_perms_copy(struct xs_perms *dst, const struct xs_perms *src)
{
	dst->num = src->num;
	dst->p = malloc(sizeof(*dst->p) * (src->num ? src->num : 1));
	if (!dst->p)
		return -ENOMEM;
	memcpy(dst->p, src->p, sizeof(*dst->p) * src->num);
	return 0;
}

void xs_perms_free(struct xs_perms *p)
{
	free(p->p);
	p->p = NULL;
	p->num = 0;
}

struct xs_node *xs_node_new(const char *path, const void *value, uint32_t vlen,
			    const struct xs_perms *perms)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strdup(path);
	n->value = malloc(vlen + 1);
	if (!n->path || !n->value || xs_perms_copy(&n->perms, perms)) {
		xs_node_free(n);
		return NULL;
	}
	if (vlen)
		memcpy(n->value, value, vlen);
	n->value[vlen] = 0;
	n->vlen = vlen;
	return n;
}

struct xs_node *xs_node_dup(const struct xs_node *o)
{
	struct xs_node *n = xs_node_new(o->path, o->value, o->vlen, &o->perms);

	if (!n)
		return NULL;
	if (o->childlen) {
		n->children = malloc(o->childlen);
		if (!n->children) {
			xs_node_free(n);
			return NULL;
		}
		memcpy(n->children, o->children, o->childlen);
		n->childlen = o->childlen;
	}
	n->gen = o->gen;
	return n;
}

void xs_node_free(struct xs_node *n)
{
	if (!n)
		return;
	free(n->path);
	free(n->value);
	free(n->children);
	xs_perms_free(&n->perms);
	free(n);
}

void xs_node_free_v(void *n)
{
	xs_node_free(n);
}

int xs_node_set_value(struct xs_node *n, const void *value, uint32_t vlen)
{
	char *v = malloc(vlen + 1);

	if (!v)
		return -ENOMEM;
	if (vlen)
		memcpy(v, value, vlen);
	v[vlen] = 0;
	free(n->value);
	n->value = v;
	n->vlen = vlen;
	return 0;
}

int xs_node_set_perms(struct xs_node *n, const struct xs_perms *perms)
{
	struct xs_perms p;

	if (xs_perms_copy(&p, perms))
		return -ENOMEM;
	xs_perms_free(&n->perms);
	n->perms = p;
	return 0;
}

int xs_node_add_child(struct xs_node *n, const char *name)
{
	size_t l = strlen(name) + 1;
	char *c = realloc(n->children, n->childlen + l);

	if (!c)
		return -ENOMEM;
	memcpy(c + n->childlen, name, l);
	n->children = c;
	n->childlen += l;
	return 0;
}

void xs_node_del_child(struct xs_node *n, const char *name)
{
	size_t off = 0, l = strlen(name) + 1;

	while (off < n->childlen) {
		size_t cl = strlen(n->children + off) + 1;
		if (cl == l && !memcmp(n->children + off, name, l)) {
			memmove(n->children + off, n->children + off + l, n->childlen - off - l);
			n->childlen -= l;
			return;
		}
		off += cl;
	}
}

size_t xs_node_size(const struct xs_node *n)
{
	/* struct xs_tdb_record_hdr (24) + 8 per ACL entry + data + children */
	return 24 + 8 * (size_t)n->perms.num + n->vlen + n->childlen;
}

/* ---- store --------------------------------------------------------------- */

int xs_tree_init(struct xs_tree *t)
{
	static const struct xs_perm root_perm = {0, XS_PERM_NONE};
	const struct xs_perms perms = {1, (struct xs_perm *)&root_perm};
	static const char *const initial[] = {"/", "/tool", "/tool/xenstored", "/local",
					      "/local/domain"};

	memset(t, 0, sizeof(*t));
	t->owned = calloc(XS_MAX_DOMID + 1, sizeof(*t->owned));
	if (!t->owned || xs_hash_init(&t->nodes)) {
		free(t->owned);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(initial) / sizeof(initial[0]); i++) {
		struct xs_node *n = xs_node_new(initial[i], "", 0, &perms);
		if (!n || xs_tree_store(t, n)) {
			xs_tree_destroy(t);
			return -ENOMEM;
		}
		if (i) {
			char parent[64];
			struct xs_node *p;
			xs_path_parent(initial[i], parent);
			p = xs_node_dup(xs_tree_get(t, parent));
			if (!p || xs_node_add_child(p, xs_path_base(initial[i])) ||
			    xs_tree_store(t, p)) {
				xs_node_free(p);
				xs_tree_destroy(t);
				return -ENOMEM;
			}
		}
	}
	return 0;
}

void xs_tree_destroy(struct xs_tree *t)
{
	xs_hash_destroy(&t->nodes, xs_node_free_v);
	free(t->owned);
	t->owned = NULL;
}

const struct xs_node *xs_tree_get(const struct xs_tree *t, const char *path)
{
	return xs_hash_get(&t->nodes, path);
}

static void count(struct xs_tree *t, const struct xs_node *n, int d)
{
	unsigned o = xs_node_owner(n);

	if (o > XS_MAX_DOMID)
		return;
	if (d < 0 && t->owned[o] == 0)
		return;
	t->owned[o] += d;
}

int xs_tree_store(struct xs_tree *t, struct xs_node *n)
{
	void *old;

	if (xs_hash_put(&t->nodes, n->path, n, &old))
		return -ENOMEM;
	if (old) {
		count(t, old, -1);
		xs_node_free(old);
	}
	count(t, n, +1);
	n->gen = ++t->gen;
	return 0;
}

void xs_tree_remove(struct xs_tree *t, const char *path)
{
	struct xs_node *n = xs_hash_del(&t->nodes, path);

	if (n) {
		count(t, n, -1);
		xs_node_free(n);
	}
}

unsigned xs_tree_owned(const struct xs_tree *t, unsigned domid)
{
	return domid <= XS_MAX_DOMID ? t->owned[domid] : 0;
}

void xs_tree_forget_owner(struct xs_tree *t, unsigned domid)
{
	if (domid <= XS_MAX_DOMID)
		t->owned[domid] = 0;
}

/* ---- permissions --------------------------------------------------------- */

int xs_perms_parse(struct xs_perms *out, const char *s, size_t len, unsigned num)
{
	const char *end = s + len;

	out->num = 0;
	out->p = calloc(num ? num : 1, sizeof(*out->p));
	if (!out->p)
		return ENOMEM;
	for (unsigned i = 0; i < num; i++) {
		size_t l = strnlen(s, end - s);
		unsigned long id = 0;
		uint8_t perm;

		if (l < 2 || s + l >= end)
			goto inval;
		switch (s[0]) {
		case 'n':
			perm = XS_PERM_NONE;
			break;
		case 'r':
			perm = XS_PERM_READ;
			break;
		case 'w':
			perm = XS_PERM_WRITE;
			break;
		case 'b':
			perm = XS_PERM_READ | XS_PERM_WRITE;
			break;
		default:
			goto inval;
		}
		for (size_t k = 1; k < l; k++) {
			if (s[k] < '0' || s[k] > '9')
				goto inval;
			id = id * 10 + (s[k] - '0');
			if (id > XS_MAX_DOMID)
				goto inval;
		}
		out->p[i].id = id;
		out->p[i].perm = perm;
		out->num++;
		s += l + 1;
	}
	return 0;
inval:
	xs_perms_free(out);
	return EINVAL;
}

size_t xs_perms_format(const struct xs_perms *p, char *buf, size_t len)
{
	static const char letters[] = "nrwb";
	size_t off = 0;

	for (unsigned i = 0; i < p->num; i++) {
		int k = snprintf(buf + off, len - off, "%c%u", letters[p->p[i].perm & 3],
				 (unsigned)p->p[i].id);
		if (k < 0 || (size_t)k + 1 > len - off)
			return 0;
		off += k + 1; /* keep the NUL */
	}
	return off;
}

unsigned xs_perm_for(const struct xs_perms *p, unsigned domid, bool priv)
{
	if (priv || p->p[0].id == domid)
		return XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
	for (unsigned i = 1; i < p->num; i++)
		if (p->p[i].id == domid && !(p->p[i].perm & XS_PERM_IGNORE))
			return p->p[i].perm & (XS_PERM_READ | XS_PERM_WRITE);
	return p->p[0].perm & (XS_PERM_READ | XS_PERM_WRITE);
}

unsigned xs_perms_revoke(struct xs_perms *p, unsigned domid)
{
	unsigned n = 0;

	for (unsigned i = 1; i < p->num; i++)
		if (p->p[i].id == domid && !(p->p[i].perm & XS_PERM_IGNORE)) {
			p->p[i].perm |= XS_PERM_IGNORE;
			n++;
		}
	return n;
}

void xs_perms_remove_dom(struct xs_perms *p, unsigned domid)
{
	unsigned k = 1;

	if (!p->num)
		return;
	if (p->p[0].id == domid)
		p->p[0].id = 0;
	for (unsigned i = 1; i < p->num; i++)
		if (p->p[i].id != domid)
			p->p[k++] = p->p[i];
	p->num = k;
}

/* ---- paths --------------------------------------------------------------- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '@';
}

/* Length of a leading "/local/domain/<1-5 digits>/" (C xenstored does not
 * count it against the path limit). */
static size_t local_prefix(const char *p)
{
	static const char pre[] = "/local/domain/";
	size_t i = sizeof(pre) - 1, d = 0;

	if (strncmp(p, pre, i))
		return 0;
	while (p[i + d] >= '0' && p[i + d] <= '9' && d < 5)
		d++;
	if (!d || p[i + d] != '/')
		return 0;
	return i + d + 1;
}

bool xs_path_valid(const char *path)
{
	size_t len = strlen(path);

	if (path[0] != '/' || len > XS_ABS_PATH_MAX)
		return false;
	if (len - local_prefix(path) > XS_PATH_MAX)
		return false;
	if (len == 1)
		return true;
	if (path[len - 1] == '/')
		return false;
	for (size_t i = 1; i < len; i++) {
		if (path[i] == '/') {
			if (path[i - 1] == '/')
				return false;
		} else if (!name_char(path[i])) {
			return false;
		}
	}
	return true;
}

int xs_path_canon(unsigned domid, const char *in, char *out, size_t outlen, bool *relative)
{
	size_t len = strlen(in);
	int n;

	if (relative)
		*relative = false;
	if (len > XS_ABS_PATH_MAX)
		return EINVAL;
	if (in[0] == '/' || in[0] == '@') {
		if (len + 1 > outlen)
			return EINVAL;
		memcpy(out, in, len + 1);
	} else {
		n = snprintf(out, outlen, "/local/domain/%u/%s", domid, in);
		if (n < 0 || (size_t)n >= outlen)
			return EINVAL;
		if (relative)
			*relative = true;
	}
	return xs_path_valid(out) ? 0 : EINVAL;
}

void xs_path_parent(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');
	size_t l = slash ? (size_t)(slash - path) : 0;

	if (l == 0) {
		strcpy(out, "/");
		return;
	}
	memcpy(out, path, l);
	out[l] = 0;
}

const char *xs_path_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

bool xs_path_is_child(const char *child, const char *parent)
{
	size_t l = strlen(parent);

	if (!strcmp(parent, "/"))
		return child[0] == '/';
	return !strncmp(child, parent, l) && (child[l] == 0 || child[l] == '/');
}
