/* SPDX-License-Identifier: MIT */
/* Message framing and descriptor passing for the emulated host's sockets
 * (see vbdpool/sim_hyp.h); used by the daemon and by the sim platform. */
#include "sim_hyp.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sim_msg_send(int sock, const struct sim_hyp_msg *h, const void *payload, size_t len,
		 const int *fds, int nfds)
{
	struct sim_hyp_msg hdr = *h;
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)payload, len}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * SIM_HYP_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	ssize_t n;

	if (nfds < 0 || nfds > SIM_HYP_MAX_FDS || len > SIM_HYP_MAX_MSG - sizeof(hdr))
		return -EMSGSIZE;
	hdr.len = (uint32_t)len;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(hdr) + len ? 0 : -EMSGSIZE;
}

int sim_msg_recv(int sock, struct sim_hyp_msg *h, void *payload, size_t cap, int *fds, int *nfds)
{
	struct iovec iov[2] = {{h, sizeof(*h)}, {payload, cap}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * SIM_HYP_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = iov,
			   .msg_iovlen = cap ? 2 : 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	int maxfds = nfds ? *nfds : 0, got = 0, err = 0;
	ssize_t n;

	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		int k, *p;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		p = (int *)CMSG_DATA(c);
		for (int i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, p + i, sizeof(fd));
			if (got < maxfds)
				fds[got++] = fd;
			else {
				close(fd);
				err = -EMSGSIZE;
			}
		}
	}
	if (nfds)
		*nfds = got;
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		err = -EMSGSIZE;
	if (!err && ((size_t)n < sizeof(*h) || h->len != (size_t)n - sizeof(*h)))
		err = -EPROTO;
	if (err) {
		for (int i = 0; i < got; i++)
			close(fds[i]);
		if (nfds)
			*nfds = 0;
		return err;
	}
	return (int)h->len;
}

int sim_msg_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

void sim_raise_nofile(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, raise_nofile);
}
