/* SPDX-License-Identifier: MIT */
/* Tiny XenStore rendezvous for the platform benchmarks (header-only):
 * roles in different domains post values under a directory dom0 made
 * writable for them and wait for each other's keys. */
#ifndef BENCH_XS_RENDEZVOUS_H
#define BENCH_XS_RENDEZVOUS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

static inline double bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static inline void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void rv_post(struct xs_handle *xs, const char *dir, const char *key, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (!xs_write(xs, XBT_NULL, path, val, strlen(val)))
		bench_die(path);
}

/* Waits up to 60 s for dir/key; returns its value in buf. */
static inline const char *rv_await(struct xs_handle *xs, const char *dir, const char *key,
				   char *buf, size_t len)
{
	char path[256];
	double end = bench_now_us() + 60e6;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	while (bench_now_us() < end) {
		unsigned n;
		char *v = xs_read(xs, XBT_NULL, path, &n);

		if (v) {
			snprintf(buf, len, "%s", v);
			free(v);
			return buf;
		}
		usleep(2000);
	}
	errno = ETIMEDOUT;
	bench_die(path);
	return NULL;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif
