/* SPDX-License-Identifier: MIT */
/* libxenstore helpers (see xsutil.h). */
#include "xsutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vbdpool/log.h"
#include "vbdpool/parse_num.h"

#define XSU_TXN_RETRIES 64

static char *vread(struct xs_handle *xs, xs_transaction_t t, const char *fmt, va_list ap)
{
	char path[VBD_XS_PATH_MAX];
	unsigned len;
	char *v;

	if (vsnprintf(path, sizeof(path), fmt, ap) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	v = xs_read(xs, t, path, &len);
	return v;
}

char *xsu_read(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = vread(xs, t, fmt, ap);
	va_end(ap);
	return v;
}

int xsu_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	return vbd_parse_u64(s, max, out);
}

int xsu_read_u64(struct xs_handle *xs, xs_transaction_t t, uint64_t max, uint64_t *out,
		 const char *fmt, ...)
{
	va_list ap;
	char *v;
	int r;

	va_start(ap, fmt);
	v = vread(xs, t, fmt, ap);
	va_end(ap);
	if (!v)
		return -errno;
	r = xsu_parse_u64(v, max, out);
	free(v);
	return r;
}

int xsu_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *val)
{
	return xs_write(xs, t, path, val, (unsigned)strlen(val)) ? 0 : -errno;
}

int xsu_transact(struct xs_handle *xs, int (*fn)(struct xs_handle *, xs_transaction_t, void *),
		 void *arg)
{
	for (int attempt = 0; attempt < XSU_TXN_RETRIES; attempt++) {
		xs_transaction_t t = xs_transaction_start(xs);
		int r;

		if (t == XBT_NULL)
			return -errno;
		r = fn(xs, t, arg);
		if (r != 0) {
			xs_transaction_end(xs, t, true);
			return r;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
		if (attempt > 4)
			usleep(1000u * (unsigned)(attempt & 7)); /* heavy contention */
	}
	return -EAGAIN;
}
