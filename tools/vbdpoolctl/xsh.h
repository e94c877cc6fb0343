/* SPDX-License-Identifier: MIT */
/* Small libxenstore helpers for the dom0 tools: -errno returns, ACL
 * writes from struct vbd_acl, and transactions retried on EAGAIN. */
#ifndef VBDCTL_XSH_H
#define VBDCTL_XSH_H

#include <stdbool.h>
#include <xenstore.h>

#include "vbd_acl.h"

/* Run fn inside a transaction; retries the whole of fn when the commit
 * fails with EAGAIN.  fn returns 0 to commit, or -errno to abort (that
 * error is returned).  Returns 0 or -errno. */
typedef int (*xsh_txn_fn)(struct xs_handle *h, xs_transaction_t t, void *arg);
int xsh_txn(struct xs_handle *h, xsh_txn_fn fn, void *arg);

/* value: malloc'd, NUL-terminated. */
int xsh_read(struct xs_handle *h, xs_transaction_t t, const char *path, char **value);
int xsh_exists(struct xs_handle *h, xs_transaction_t t, const char *path);
int xsh_list(struct xs_handle *h, xs_transaction_t t, const char *path, char ***names, unsigned *n);
int xsh_write(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value);
int xsh_set_acl(struct xs_handle *h, xs_transaction_t t, const char *path,
		const struct vbd_acl *acl);
int xsh_get_acl(struct xs_handle *h, xs_transaction_t t, const char *path, struct vbd_acl *acl);
/* write + set_acl */
int xsh_write_acl(struct xs_handle *h, xs_transaction_t t, const char *path, const char *value,
		  const struct vbd_acl *acl);
int xsh_rm(struct xs_handle *h, xs_transaction_t t, const char *path);
/* Read a decimal value; -EINVAL if it is not one. */
int xsh_read_ulong(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned long *out);

#endif
