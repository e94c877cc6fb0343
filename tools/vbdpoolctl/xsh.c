/* SPDX-License-Identifier: MIT */
/* libxenstore helpers (see xsh.h). */
#include "xsh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XSH_TXN_RETRIES 200

static int err(void)
{
	return -(errno ? errno : EIO);
}

int xsh_txn(struct xs_handle *h, xsh_txn_fn fn, void *arg)
{
	for (int i = 0; i < XSH_TXN_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(h);
		int rc;

		if (t == XBT_NULL)
			return err();
		rc = fn(h, t, arg);
		if (rc) {
			int saved = errno;
			xs_transaction_end(h, t, true);
			errno = saved;
			return rc;
		}
		if (xs_transaction_end(h, t, false))
			return 0;
		if (errno != EAGAIN)
			return err();
		/* lost a race: back off a little (grows with the attempts) */
		struct timespec ts = {0, (long)(1 + i % 10) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return -EAGAIN;
}

int xsh_read(struct xs_handle *h, xs_transaction_t t, const char *path, char **value)
{
	unsigned len;

	*value = xs_read(h, t, path, &len);
	return *value ? 0 : err();
}

int xsh_exists(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	char *v;
	int rc = xsh_read(h, t, path, &v);

	free(v);
	return rc == 0;
}

int xsh_list(struct xs_handle *h, xs_transaction_t t, const char *path, char ***names, unsigned *n)
{
	*names = xs_directory(h, t, path, n);
	if (!*names) {
		*n = 0;
		return err();
	}
	return 0;
}

int xsh_write(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value)
{
	return xs_write(h, t, path, value, (unsigned)strlen(value)) ? 0 : err();
}

int xsh_set_acl(struct xs_handle *h, xs_transaction_t t, const char *path,
		const struct vbd_acl *acl)
{
	struct xs_permissions p[VBD_ACL_MAX];

	for (unsigned i = 0; i < acl->n; i++) {
		p[i].id = acl->e[i].domid;
		p[i].perms = 0;
		if (acl->e[i].perm & VBD_PERM_READ)
			p[i].perms |= XS_PERM_READ;
		if (acl->e[i].perm & VBD_PERM_WRITE)
			p[i].perms |= XS_PERM_WRITE;
	}
	return xs_set_permissions(h, t, path, p, acl->n) ? 0 : err();
}

int xsh_get_acl(struct xs_handle *h, xs_transaction_t t, const char *path, struct vbd_acl *acl)
{
	unsigned n;
	struct xs_permissions *p = xs_get_permissions(h, t, path, &n);

	if (!p)
		return err();
	acl->n = 0;
	for (unsigned i = 0; i < n && i < VBD_ACL_MAX; i++)
		vbd_acl_add(acl, (uint16_t)p[i].id,
			    (int)(p[i].perms & (XS_PERM_READ | XS_PERM_WRITE)));
	free(p);
	return 0;
}

int xsh_write_acl(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value,
		  const struct vbd_acl *acl)
{
	int rc = xsh_write(h, t, path, value);

	return rc ? rc : xsh_set_acl(h, t, path, acl);
}

int xsh_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return xs_rm(h, t, path) ? 0 : err();
}

int xsh_read_ulong(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned long *out)
{
	char *v, *end;
	int rc = xsh_read(h, t, path, &v);

	if (rc)
		return rc;
	errno = 0;
	*out = strtoul(v, &end, 10);
	rc = (v[0] < '0' || v[0] > '9' || *end || errno) ? -EINVAL : 0;
	free(v);
	return rc;
}
