/* SPDX-License-Identifier: MIT */
/* Full reads and writes on a non-blocking socket that a server stop or a
 * deadline interrupts (the handshake's I/O; transmission has its own loop). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "vbdpool/clock.h"

/* Waits until fd is ready for `events`, a stop is signalled or the
 * deadline passes (ETIMEDOUT). */
static int wait_ready(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, short events)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = events},
				      {.fd = wake_fd, .events = POLLIN}};
		int64_t left = deadline < 0 ? -1 : deadline - (int64_t)vbd_now_ms();

		if (atomic_load(stop)) {
			errno = ESHUTDOWN;
			return -1;
		}
		if (deadline >= 0 && left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(p, 2, left > 0x7fffffff ? 0x7fffffff : (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents & POLLIN) {
			uint64_t v;

			if (atomic_load(stop)) {
				errno = ESHUTDOWN;
				return -1;
			}
			if (read(wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -1;
		}
		if (p[0].revents)
			return 0;
	}
}

/* recv or send (out) until n bytes moved; a recv of 0 is EOF (errno 0). */
static int sock_full(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, void *buf,
		     size_t n, bool out)
{
	char *p = buf;

	while (n) {
		ssize_t r = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);

		if (r > 0 || (r == 0 && out)) {
			p += r;
			n -= (size_t)r;
		} else if (r == 0) {
			errno = 0;
			return -1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_ready(fd, wake_fd, stop, deadline, out ? POLLOUT : POLLIN) < 0)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

int sock_read_full(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, void *buf,
		   size_t n)
{
	return sock_full(fd, wake_fd, stop, deadline, buf, n, false);
}

int sock_write_full(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, const void *buf,
		    size_t n)
{
	return sock_full(fd, wake_fd, stop, deadline, (void *)buf, n, true);
}
