/* SPDX-License-Identifier: MIT */
/* See rendezvous.h. */
#include "rendezvous.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
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
