/* SPDX-License-Identifier: MIT */
/* The one XenStore library (see vbdpool/xs.h). */
#include "vbdpool/xs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/clock.h"
#include "vbdpool/parse_num.h"

/* -errno of the libxenstore call that just failed (EIO if it set none). */
static int xs_err(void)
{
	return -(errno ? errno : EIO);
}

static int vpath(char buf[VBD_XS_PATH_MAX], const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, VBD_XS_PATH_MAX, fmt, ap);

	return n < 0 ? -EINVAL : n >= VBD_XS_PATH_MAX ? -E2BIG : 0;
}

int vbd_xs_path(char buf[VBD_XS_PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpath(buf, fmt, ap);
	va_end(ap);
	return r;
}

static int vread(struct xs_handle *xs, xs_transaction_t t, char **out, const char *fmt, va_list ap)
{
	char path[VBD_XS_PATH_MAX];
	unsigned len;
	int r = vpath(path, fmt, ap);

	*out = NULL;
	if (r < 0)
		return r;
	*out = xs_read(xs, t, path, &len); /* libxenstore NUL-terminates values */
	return *out ? 0 : xs_err();
}

/* r = vread(xs, t, out, fmt, ...) in a function whose last argument is fmt */
#define VREAD(r, xs, t, out, fmt)                                                                  \
	do {                                                                                       \
		va_list ap_;                                                                       \
		va_start(ap_, fmt);                                                                \
		r = vread(xs, t, out, fmt, ap_);                                                   \
		va_end(ap_);                                                                       \
	} while (0)

int vbd_xs_read(struct xs_handle *xs, xs_transaction_t t, char **out, const char *fmt, ...)
{
	int r;

	VREAD(r, xs, t, out, fmt);
	return r;
}

char *vbd_xs_get(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
{
	char *v;
	int r;

	VREAD(r, xs, t, &v, fmt);
	if (r < 0)
		errno = -r;
	return v;
}

int vbd_xs_read_u64(struct xs_handle *xs, xs_transaction_t t, uint64_t max, uint64_t *out,
		    const char *fmt, ...)
{
	char *v;
	int r;

	VREAD(r, xs, t, &v, fmt);
	if (r < 0)
		return r;
	r = vbd_parse_u64(v, max, out);
	free(v);
	return r;
}

int vbd_xs_exists(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
{
	char *v;
	int r;

	VREAD(r, xs, t, &v, fmt);
	free(v);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

int vbd_xs_list(struct xs_handle *xs, xs_transaction_t t, char ***names, unsigned *n,
		const char *fmt, ...)
{
	char path[VBD_XS_PATH_MAX];
	va_list ap;
	int r;

	*names = NULL;
	*n = 0;
	va_start(ap, fmt);
	r = vpath(path, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	*names = xs_directory(xs, t, path, n);
	if (!*names) {
		*n = 0;
		return xs_err();
	}
	return 0;
}

int vbd_xs_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *val)
{
	return xs_write(xs, t, path, val, (unsigned)strlen(val)) ? 0 : xs_err();
}

int vbd_xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt, ...)
{
	char *val;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r = xs_write(xs, t, path, val, (unsigned)n) ? 0 : xs_err();
	free(val);
	return r;
}

int vbd_xs_rm(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	return xs_rm(xs, t, path) ? 0 : xs_err();
}

int vbd_xs_set_perms(struct xs_handle *xs, xs_transaction_t t, const char *path,
		     const struct xs_permissions *perms, unsigned n)
{
	/* libxenstore takes a non-const array but only reads it */
	return xs_set_permissions(xs, t, path, (struct xs_permissions *)perms, n) ? 0 : xs_err();
}

int vbd_xs_get_perms(struct xs_handle *xs, xs_transaction_t t, const char *path,
		     struct xs_permissions **perms, unsigned *n)
{
	*perms = xs_get_permissions(xs, t, path, n);
	if (!*perms) {
		*n = 0;
		return xs_err();
	}
	return 0;
}

/* A per-thread xorshift32: the jitter needs no quality, only to differ
 * between the writers that collided. */
static uint32_t jitter(void)
{
	static __thread uint32_t s;

	if (!s)
		s = (uint32_t)vbd_now_ns() ^ ((uint32_t)getpid() << 16) ^ (uint32_t)(uintptr_t)&s;
	s ^= s << 13;
	s ^= s >> 17;
	s ^= s << 5;
	return s ? s : (s = 1);
}

unsigned vbd_xs_txn_backoff_us(unsigned attempt)
{
	unsigned shift = attempt < 16 ? attempt : 16;
	uint64_t cap = (uint64_t)VBD_XS_BACKOFF_MIN_US << shift;

	if (cap > VBD_XS_BACKOFF_MAX_US)
		cap = VBD_XS_BACKOFF_MAX_US;
	/* half the window fixed, half random: grows, yet spreads the writers */
	return (unsigned)(cap / 2 + jitter() % (cap / 2 + 1));
}

int vbd_xs_transact(struct xs_handle *xs, vbd_xs_txn_fn fn, void *arg)
{
	bool einval_again = true;

	for (unsigned attempt = 0; attempt < VBD_XS_TXN_TRIES; attempt++) {
		xs_transaction_t t = xs_transaction_start(xs);
		int r;

		if (t == XBT_NULL)
			return xs_err();
		r = fn(xs, t, arg);
		if (r == -EINVAL && einval_again) {
			/* Once more in a fresh transaction: C xenstored answers
			 * EINVAL to a removal whose parent went outside the
			 * transaction (a released domain's nodes), a conflict
			 * the commit would have reported; a real EINVAL (a bad
			 * path, a malformed value) comes back the same. */
			xs_transaction_end(xs, t, true);
			einval_again = false;
			continue;
		}
		if (r != 0) {
			int saved = errno;

			xs_transaction_end(xs, t, true);
			errno = saved;
			return r;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return xs_err();
		if (attempt + 1 < VBD_XS_TXN_TRIES) {
			unsigned us = vbd_xs_txn_backoff_us(attempt);
			struct timespec ts = {0, (long)us * 1000L};

			nanosleep(&ts, NULL);
		}
	}
	return -EAGAIN;
}
