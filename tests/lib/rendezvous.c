/* SPDX-License-Identifier: MIT */
/* See rendezvous.h. */
#include "rendezvous.h"

#include "cases.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *rv_await(struct xs_handle *xs, const char *path, unsigned wait_s)
{
	static char out[512];
	uint64_t end = vbd_now_ms() + (uint64_t)wait_s * 1000;

	while (vbd_now_ms() < end) {
		unsigned len;
		char *v = xs_read(xs, XBT_NULL, path, &len);

		if (v) {
			snprintf(out, sizeof(out), "%s", v);
			free(v);
			return out;
		}
		usleep(5000);
	}
	errno = ETIMEDOUT;
	return NULL;
}

struct rv_place rv_place;

void rv_post(const char *key, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", rv_place.dir, key);
	if (!xs_write(rv_place.xs, XBT_NULL, path, val, strlen(val)))
		case_fatal("xs_write %s: %s", path, strerror(errno));
}

const char *rv_meet(const char *key)
{
	char path[256];
	const char *v;

	snprintf(path, sizeof(path), "%s/%s", rv_place.dir, key);
	v = rv_await(rv_place.xs, path, rv_place.wait_s);
	if (!v)
		case_fatal("timed out waiting for %s", path);
	return v;
}

int rv_wait_event(const struct vbd_platform *p, struct vbd_evtchn *h, int ms)
{
	uint64_t end = vbd_now_ms() + (uint64_t)ms;

	for (;;) {
		int64_t left = (int64_t)(end - vbd_now_ms());
		struct pollfd pfd = {.fd = p->evtchn->fd(h), .events = POLLIN};
		int port = p->evtchn->pending(h);

		if (port >= 0)
			return port;
		if (left <= 0)
			return -1;
		poll(&pfd, 1, (int)left);
	}
}
