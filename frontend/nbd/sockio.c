/* SPDX-License-Identifier: MIT */
/* Full reads and writes on a non-blocking socket that a server stop can
 * interrupt (the handshake's I/O; transmission has its own loop). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

/* Waits until fd is ready for `events` or a stop is signalled. */
static int wait_ready(int fd, int wake_fd, const atomic_bool *stop, short events)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = events},
				      {.fd = wake_fd, .events = POLLIN}};

		if (atomic_load(stop)) {
			errno = ESHUTDOWN;
			return -1;
		}
		if (poll(p, 2, -1) < 0) {
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

int sock_read_full(int fd, int wake_fd, const atomic_bool *stop, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r == 0) {
			errno = 0;
			return -1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_ready(fd, wake_fd, stop, POLLIN) < 0)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

int sock_write_full(int fd, int wake_fd, const atomic_bool *stop, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r >= 0) {
			p += r;
			n -= (size_t)r;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_ready(fd, wake_fd, stop, POLLOUT) < 0)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}
