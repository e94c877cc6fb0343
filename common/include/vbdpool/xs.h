/* SPDX-License-Identifier: MIT */
/* The one XenStore library of the project (common/xs/): typed reads and
 * writes with -errno returns, printf-style paths, permission writes, and
 * one transaction runner with one retry policy.  The backend, the frontend
 * library, the supervisor and vbdpoolctl all use it (docs/tooling.md).
 *
 * Every function returns 0 (or a count) on success and -errno on failure;
 * -ENOENT when the node does not exist, -EINVAL when a value is malformed
 * (never trusted), -E2BIG when a path would not fit VBD_XS_PATH_MAX. */
#ifndef VBDPOOL_XS_H
#define VBDPOOL_XS_H

#include <stdbool.h>
#include <stdint.h>
#include <xenstore.h>

#define VBD_XS_PATH_MAX 256

/* Reads: *out is malloc'd and NUL-terminated (free it); NULL on error. */
int vbd_xs_read(struct xs_handle *xs, xs_transaction_t t, char **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same, in libxenstore's own form for the call sites that only test
 * for presence: the value (malloc'd), or NULL with errno set. */
char *vbd_xs_get(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A decimal number made of digits only, <= max (vbd_parse_u64). */
int vbd_xs_read_u64(struct xs_handle *xs, xs_transaction_t t, uint64_t max, uint64_t *out,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 1 when the node exists, 0 when not, -errno. */
int vbd_xs_exists(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Children of a directory: *names malloc'd (one free()), *n entries. */
int vbd_xs_list(struct xs_handle *xs, xs_transaction_t t, char ***names, unsigned *n,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Writes. */
int vbd_xs_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *val);
int vbd_xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int vbd_xs_rm(struct xs_handle *xs, xs_transaction_t t, const char *path);
int vbd_xs_set_perms(struct xs_handle *xs, xs_transaction_t t, const char *path,
		     const struct xs_permissions *perms, unsigned n);
int vbd_xs_get_perms(struct xs_handle *xs, xs_transaction_t t, const char *path,
		     struct xs_permissions **perms, unsigned *n);

/* Formats a path into buf[VBD_XS_PATH_MAX]; 0 or -E2BIG. */
int vbd_xs_path(char buf[VBD_XS_PATH_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The transaction runner.  fn(xs, t, arg) runs inside a transaction:
 * it returns 0 to commit, VBD_XS_ABORT (or any value > 0, returned as is)
 * to end it without committing and without error (nothing to do), or
 * -errno to abort with that error.  A commit that fails with EAGAIN
 * (another writer) re-runs fn from the start, up to VBD_XS_TXN_TRIES
 * times, sleeping vbd_xs_txn_backoff_us() between tries; then -EAGAIN.
 * Returns 0, fn's value > 0 or -errno.  fn must have no effect outside
 * XenStore that a re-run would repeat. */
#define VBD_XS_ABORT	 1
#define VBD_XS_TXN_TRIES 64
typedef int (*vbd_xs_txn_fn)(struct xs_handle *xs, xs_transaction_t t, void *arg);
int vbd_xs_transact(struct xs_handle *xs, vbd_xs_txn_fn fn, void *arg);

/* The backoff after the attempt'th lost commit (from 0): a window that
 * doubles from VBD_XS_BACKOFF_MIN_US up to VBD_XS_BACKOFF_MAX_US, of which
 * the upper half is random (writers that collided spread apart).  At most
 * VBD_XS_BACKOFF_MAX_US, so a runner gives up within ~0.6 s. */
#define VBD_XS_BACKOFF_MIN_US 50u
#define VBD_XS_BACKOFF_MAX_US 10000u
unsigned vbd_xs_txn_backoff_us(unsigned attempt);

#endif
