/* SPDX-License-Identifier: MIT */
/* An in-memory XenStore tree for unit tests (see vbd_tree.h). */
#include "vbd_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/grow.h"

struct mnode {
	char *path;
	char *value;
	struct vbd_acl acl;
};

struct vbd_memtree {
	struct mnode *v;
	unsigned n, cap;
};

void vbd_tree_free_names(char **names, unsigned n)
{
	if (!names)
		return;
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct vbd_memtree *vbd_memtree_new(void)
{
	struct vbd_memtree *t = calloc(1, sizeof(*t));

	if (t && vbd_memtree_set(t, "/", "", "n0")) {
		vbd_memtree_free(t);
		t = NULL;
	}
	return t;
}

void vbd_memtree_free(struct vbd_memtree *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].value);
	}
	free(t->v);
	free(t);
}

static struct mnode *find(struct vbd_memtree *t, const char *path)
{
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].path, path))
			return &t->v[i];
	return NULL;
}

static int add(struct vbd_memtree *t, const char *path, const char *value,
	       const struct vbd_acl *acl)
{
	if (VBD_GROW(t->v, t->n, t->cap, 64) < 0)
		return -ENOMEM;
	t->v[t->n].path = strdup(path);
	t->v[t->n].value = strdup(value);
	t->v[t->n].acl = *acl;
	if (!t->v[t->n].path || !t->v[t->n].value) {
		free(t->v[t->n].path);
		free(t->v[t->n].value);
		return -ENOMEM;
	}
	t->n++;
	return 0;
}

/* Ensure every ancestor of path exists; returns the parent node. */
static struct mnode *ensure_parent(struct vbd_memtree *t, const char *path)
{
	char buf[1024];
	char *slash;
	struct mnode *p, *gp;

	if (strlen(path) >= sizeof(buf))
		return NULL;
	strcpy(buf, path);
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	if (slash == buf)
		return find(t, "/");
	*slash = '\0';
	p = find(t, buf);
	if (p)
		return p;
	gp = ensure_parent(t, buf);
	if (!gp)
		return NULL;
	{
		struct vbd_acl acl = gp->acl;
		if (add(t, buf, "", &acl))
			return NULL;
	}
	return find(t, buf);
}

int vbd_memtree_set(struct vbd_memtree *t, const char *path, const char *value, const char *perms)
{
	struct vbd_acl acl;
	struct mnode *n;

	if (path[0] != '/')
		return -EINVAL;
	if (perms && vbd_acl_parse(perms, &acl))
		return -EINVAL;
	n = find(t, path);
	if (n) {
		char *v = strdup(value);
		if (!v)
			return -ENOMEM;
		free(n->value);
		n->value = v;
		if (perms)
			n->acl = acl;
		return 0;
	}
	if (strcmp(path, "/")) {
		struct mnode *p = ensure_parent(t, path);
		if (!p)
			return -ENOMEM;
		if (!perms)
			acl = p->acl;
	}
	return add(t, path, value, &acl);
}

static int is_under(const char *path, const char *top)
{
	size_t n = strlen(top);
	return !strncmp(path, top, n) && (path[n] == '\0' || path[n] == '/');
}

int vbd_memtree_rm(struct vbd_memtree *t, const char *path)
{
	unsigned out = 0;
	int found = 0;

	for (unsigned i = 0; i < t->n; i++) {
		if (is_under(t->v[i].path, path)) {
			found = 1;
			free(t->v[i].path);
			free(t->v[i].value);
		} else {
			t->v[out++] = t->v[i];
		}
	}
	t->n = out;
	return found ? 0 : -ENOENT;
}

static int m_list(void *ctx, const char *path, char ***names, unsigned *count)
{
	struct vbd_memtree *t = ctx;
	size_t plen = strlen(path);
	char **v = NULL;
	unsigned n = 0;

	if (!find(t, path))
		return -ENOENT;
	if (!strcmp(path, "/"))
		plen = 0;
	for (unsigned i = 0; i < t->n; i++) {
		const char *p = t->v[i].path;
		if (strncmp(p, path, plen) || p[plen] != '/' || !p[plen + 1] ||
		    strchr(p + plen + 1, '/'))
			continue;
		char **nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv)
			goto nomem;
		v = nv;
		v[n] = strdup(p + plen + 1);
		if (!v[n])
			goto nomem;
		n++;
	}
	*names = v;
	*count = n;
	return 0;
nomem:
	vbd_tree_free_names(v, n);
	return -ENOMEM;
}

static int m_read(void *ctx, const char *path, char **value)
{
	struct mnode *n = find(ctx, path);

	if (!n)
		return -ENOENT;
	*value = strdup(n->value);
	return *value ? 0 : -ENOMEM;
}

static int m_perms(void *ctx, const char *path, struct vbd_acl *acl)
{
	struct mnode *n = find(ctx, path);

	if (!n)
		return -ENOENT;
	*acl = n->acl;
	return 0;
}

struct vbd_tree vbd_memtree_view(struct vbd_memtree *t)
{
	static const struct vbd_tree_ops ops = {.list = m_list, .read = m_read, .perms = m_perms};

	return (struct vbd_tree){.ops = &ops, .ctx = t};
}
