/* SPDX-License-Identifier: MIT */
/* XenStore ACLs in xenstore-chmod notation (see vbd_acl.h). */
#include "vbd_acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/xs.h"

static const char perm_letter[4] = {'n', 'r', 'w', 'b'};

static int letter_perm(char c)
{
	for (int i = 0; i < 4; i++)
		if (perm_letter[i] == c)
			return i;
	return -1;
}

int vbd_acl_add(struct vbd_acl *a, uint16_t domid, int perm)
{
	if (a->n >= VBD_ACL_MAX)
		return -E2BIG;
	a->e[a->n].domid = domid;
	a->e[a->n].perm = (uint8_t)(perm & VBD_PERM_BOTH);
	a->n++;
	return 0;
}

int vbd_acl_parse(const char *s, struct vbd_acl *out)
{
	struct vbd_acl a = {0};
	const char *p = s;

	if (!s)
		return -EINVAL;
	for (;;) {
		char *end;
		unsigned long id;
		int perm;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		perm = letter_perm(*p++);
		if (perm < 0 || *p < '0' || *p > '9')
			return -EINVAL;
		id = strtoul(p, &end, 10);
		if (id > 0xffff || (*end && *end != ' '))
			return -EINVAL;
		if (vbd_acl_add(&a, (uint16_t)id, perm))
			return -EINVAL;
		p = end;
	}
	if (a.n == 0)
		return -EINVAL;
	*out = a;
	return 0;
}

int vbd_acl_format(const struct vbd_acl *a, char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned i = 0; i < a->n; i++) {
		int n = snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, "%s%c%u",
				 i ? " " : "", perm_letter[a->e[i].perm & 3], a->e[i].domid);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return (int)off;
}

static int ent_cmp(const void *x, const void *y)
{
	const struct vbd_acl_ent *a = x, *b = y;
	return (int)a->domid - (int)b->domid;
}

void vbd_acl_normalize(struct vbd_acl *a)
{
	unsigned out = 1;

	if (a->n == 0)
		return;
	for (unsigned i = 1; i < a->n; i++) {
		int dup = a->e[i].domid == a->e[0].domid;
		for (unsigned j = 1; j < out && !dup; j++)
			dup = a->e[j].domid == a->e[i].domid;
		if (!dup)
			a->e[out++] = a->e[i];
	}
	a->n = out;
	qsort(a->e + 1, a->n - 1, sizeof(a->e[0]), ent_cmp);
}

int vbd_acl_equal(const struct vbd_acl *a, const struct vbd_acl *b)
{
	struct vbd_acl x = *a, y = *b;

	vbd_acl_normalize(&x);
	vbd_acl_normalize(&y);
	if (x.n != y.n)
		return 0;
	for (unsigned i = 0; i < x.n; i++)
		if (x.e[i].domid != y.e[i].domid || x.e[i].perm != y.e[i].perm)
			return 0;
	return 1;
}

int vbd_acl_perm_of(const struct vbd_acl *a, uint16_t domid)
{
	if (domid == 0 || a->n == 0)
		return VBD_PERM_BOTH;
	if (a->e[0].domid == domid)
		return VBD_PERM_BOTH;
	for (unsigned i = 1; i < a->n; i++)
		if (a->e[i].domid == domid)
			return a->e[i].perm;
	return a->e[0].perm;
}

int vbd_acl_xs_set(struct xs_handle *h, xs_transaction_t t, const char *path,
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
	return vbd_xs_set_perms(h, t, path, p, acl->n);
}

int vbd_acl_xs_get(struct xs_handle *h, xs_transaction_t t, const char *path, struct vbd_acl *acl)
{
	struct xs_permissions *p;
	unsigned n;
	int rc = vbd_xs_get_perms(h, t, path, &p, &n);

	if (rc)
		return rc;
	acl->n = 0;
	for (unsigned i = 0; i < n && i < VBD_ACL_MAX; i++)
		vbd_acl_add(acl, (uint16_t)p[i].id,
			    (int)(p[i].perms & (XS_PERM_READ | XS_PERM_WRITE)));
	free(p);
	return 0;
}

int vbd_acl_xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value,
		     const struct vbd_acl *acl)
{
	int rc = vbd_xs_write(h, t, path, value);

	return rc ? rc : vbd_acl_xs_set(h, t, path, acl);
}
