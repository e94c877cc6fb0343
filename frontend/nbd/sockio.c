/* SPDX-License-Identifier: MIT */
/* Full reads and writes on a non-blocking socket that a server stop or a
 * deadline interrupts (the handshake's I/O; transmission has its own loop). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

int64_t sock_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events`, a stop is signalled or the
 * deadline passes (ETIMEDOUT). */
static int wait_ready(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, short events)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = events},
				      {.fd = wake_fd, .events = POLLIN}};
		int64_t left = deadline < 0 ? -1 : deadline - sock_now_ms();

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

int sock_read_full(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, void *buf,
		   size_t n)
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
			if (wait_ready(fd, wake_fd, stop, deadline, POLLIN) < 0)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

int sock_write_full(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, const void *buf,
		    size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r >= 0) {
			p += r;
			n -= (size_t)r;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_ready(fd, wake_fd, stop, deadline, POLLOUT) < 0)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}
