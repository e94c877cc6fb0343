/* SPDX-License-Identifier: MIT */
/* The sim platform's side of a hypercall connection: one connection per
 * handle, synchronous request/reply (see vbdpool/sim_hyp.h). */
#include "sim_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

int sim_hyp_call(int sock, struct sim_hyp_msg *m, const void *p, size_t len, void *rbuf,
		 size_t rcap, int *fds, int *nfds)
{
	uint32_t op = m->op;
	int rc = sim_msg_send(sock, m, p, len, NULL, 0);

	if (rc < 0)
		return rc;
	rc = sim_msg_recv(sock, m, rbuf, rcap, fds, nfds);
	if (rc < 0)
		return rc;
	if (m->op != op) {
		for (int i = 0; nfds && i < *nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	if (m->rc < 0) {
		for (int i = 0; nfds && i < *nfds; i++)
			close(fds[i]);
		if (nfds)
			*nfds = 0;
	}
	return m->rc;
}

int sim_hyp_open(int kind, unsigned *domid, int *fd_out)
{
	const char *path = getenv(SIM_ENV_HYP);
	struct sim_hyp_msg m = {.op = SIM_OP_OPEN, .a = (uint32_t)kind};
	int sock, rc, fds[1], nfds = 1;

	sim_raise_nofile();
	if (!path || !*path)
		return -ENOENT;
	sock = sim_msg_connect(path);
	if (sock < 0)
		return sock;
	rc = sim_hyp_call(sock, &m, NULL, 0, NULL, 0, fds, &nfds);
	if (rc < 0) {
		close(sock);
		return rc;
	}
	if (domid)
		*domid = m.a;
	if (fd_out) {
		if (nfds != 1) {
			close(sock);
			return -EPROTO;
		}
		*fd_out = fds[0];
	} else {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	}
	return sock;
}

void *sim_conn_new(size_t size, int kind, int *fd_out)
{
	struct sim_conn *c = calloc(1, size);

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->sock = sim_hyp_open(kind, NULL, fd_out);
	if (c->sock < 0) {
		int e = -c->sock;

		free(c);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void sim_conn_close(void *h, void (*drop)(void *h))
{
	struct sim_conn *c = h;

	if (!c)
		return;
	close(c->sock);
	if (drop)
		drop(h);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
