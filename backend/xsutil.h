/* SPDX-License-Identifier: MIT */
/* Small libxenstore helpers for the control path: printf-style paths,
 * strict number parsing, and the transaction retry loop. */
#ifndef VBD_BACKEND_XSUTIL_H
#define VBD_BACKEND_XSUTIL_H

#include <stdint.h>
#include <xenstore.h>

#define VBD_XS_PATH_MAX 256

/* Read a node (NUL-terminated, malloc'd) or NULL with errno. */
char *xsu_read(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Read a decimal number <= max. 0 or -errno (-EINVAL if malformed). */
int xsu_read_u64(struct xs_handle *xs, xs_transaction_t t, uint64_t max, uint64_t *out,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Write a string value. 0 or -errno. */
int xsu_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *val);
/* Strict decimal parse. 0 or -EINVAL. */
int xsu_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Runs fn(xs, t, arg) inside a transaction, retrying on EAGAIN (bounded).
 * fn returns 0 to commit, > 0 to abort without error (nothing to do),
 * < 0 to abort with that error. Returns fn's result, or -errno. */
int xsu_transact(struct xs_handle *xs, int (*fn)(struct xs_handle *, xs_transaction_t, void *),
		 void *arg);

#endif
