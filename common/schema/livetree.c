/* SPDX-License-Identifier: MIT */
/* A vbd_tree view of a live XenStore through libxenstore. */
#include "vbd_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

static int l_list(void *ctx, const char *path, char ***names, unsigned *count)
{
	struct vbd_livetree *lt = ctx;
	unsigned n = 0;
	char **d = xs_directory(lt->h, lt->t, path, &n);
	char **v;

	if (!d)
		return -(errno ? errno : EIO);
	/* xs_directory returns one block; hand out separately freeable names */
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		free(d);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		v[i] = strdup(d[i]);
		if (!v[i]) {
			vbd_tree_free_names(v, i);
			free(d);
			return -ENOMEM;
		}
	}
	free(d);
	*names = v;
	*count = n;
	return 0;
}

static int l_read(void *ctx, const char *path, char **value)
{
	struct vbd_livetree *lt = ctx;
	unsigned len = 0;
	char *v = xs_read(lt->h, lt->t, path, &len);

	if (!v)
		return -(errno ? errno : EIO);
	*value = v; /* libxenstore NUL-terminates */
	return 0;
}

static int l_perms(void *ctx, const char *path, struct vbd_acl *acl)
{
	struct vbd_livetree *lt = ctx;
	unsigned n = 0;
	struct xs_permissions *p = xs_get_permissions(lt->h, lt->t, path, &n);

	if (!p)
		return -(errno ? errno : EIO);
	acl->n = 0;
	for (unsigned i = 0; i < n; i++) {
		if (vbd_acl_add(acl, (uint16_t)p[i].id,
				(int)(p[i].perms & (XS_PERM_READ | XS_PERM_WRITE)))) {
			free(p);
			return -E2BIG;
		}
	}
	free(p);
	return 0;
}

struct vbd_tree vbd_livetree_view(struct vbd_livetree *lt)
{
	static const struct vbd_tree_ops ops = {.list = l_list, .read = l_read, .perms = l_perms};

	return (struct vbd_tree){.ops = &ops, .ctx = lt};
}
