/* SPDX-License-Identifier: MIT */
/* Hypercall connections: accept on a domain's hyp socket, read one request
 * at a time, dispatch by handle kind, release on close. */
#include "xensim.h"
#include "simloop.h"
#include "vbdpool/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void hyp_cb(void *arg, uint32_t ev);

void hyp_accept(struct dom *d)
{
	for (;;) {
		struct hconn *c;
		/* non-blocking: a client that never reads its replies is
		 * disconnected, it cannot hang us */
		int fd = accept4(d->hyp_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (!dom_peer_ok(fd, d)) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || simloop_add(g_sim->loop, fd, EPOLLIN, hyp_cb, c) < 0) {
			log_warn("dom%u: hypercall connection dropped", d->id);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->dom = d;
		c->next = d->conns;
		d->conns = c;
	}
}

void hyp_close(struct hconn *c)
{
	struct dom *d = c->dom;

	simloop_del(g_sim->loop, c->fd);
	if (c->kind == SIM_KIND_EVTCHN)
		evt_release(c);
	else if (c->kind == SIM_KIND_GNTSHR || c->kind == SIM_KIND_GNTTAB)
		gnt_release(c);
	for (struct hconn **pp = &d->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	close(c->fd);
	free(c);
}

int hyp_reply(struct hconn *c, uint32_t op, int rc, uint32_t a, uint32_t b, const void *payload,
	      size_t len, const int *fds, int nfds)
{
	struct sim_hyp_msg h = {.op = op, .rc = rc, .a = a, .b = b};
	int r = sim_msg_send(c->fd, &h, payload, len, fds, nfds);

	if (r < 0) {
		log_debug("dom%u: reply to op %u failed: %s", c->dom->id, op, strerror(-r));
		c->broken = true;
	}
	return r;
}

static void do_open(struct hconn *c, const struct sim_hyp_msg *m)
{
	char path[64];
	int fd, rc;

	if (c->kind || m->a < SIM_KIND_EVTCHN || m->a > SIM_KIND_DOMCTL) {
		hyp_reply(c, m->op, -EINVAL, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	c->kind = (int)m->a;
	if (c->kind != SIM_KIND_EVTCHN) {
		hyp_reply(c, m->op, 0, c->dom->id, 0, NULL, 0, NULL, 0);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->dom->status_fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? -errno : 0;
	hyp_reply(c, m->op, rc, c->dom->id, 0, NULL, 0, &fd, fd < 0 ? 0 : 1);
	if (fd >= 0)
		close(fd);
}

static int kind_of(uint32_t op)
{
	switch (op) {
	case SIM_OP_EVT_ALLOC:
	case SIM_OP_EVT_BIND:
	case SIM_OP_EVT_UNBIND:
	case SIM_OP_EVT_PEER:
		return SIM_KIND_EVTCHN;
	case SIM_OP_GNT_SHARE:
	case SIM_OP_GNT_UNSHARE:
		return SIM_KIND_GNTSHR;
	case SIM_OP_GNT_MAP:
	case SIM_OP_GNT_UNMAP:
		return SIM_KIND_GNTTAB;
	case SIM_OP_DOM_LIST:
	case SIM_OP_DOM_PAUSE:
	case SIM_OP_DOM_UNPAUSE:
	case SIM_OP_DOM_DESTROY:
		return SIM_KIND_DOMCTL;
	}
	return -1;
}

static void hyp_cb(void *arg, uint32_t ev)
{
	static uint32_t buf[SIM_HYP_MAX_MSG / sizeof(uint32_t)];
	struct hconn *c = arg;
	struct sim_hyp_msg m = {0};
	int nfds = 0, len;

	(void)ev;
	len = sim_msg_recv(c->fd, &m, buf, sizeof(buf), NULL, &nfds);
	if (len < 0) {
		if (len != -ECONNRESET)
			log_debug("dom%u: bad hypercall message: %s", c->dom->id, strerror(-len));
		if (len == -EMSGSIZE || len == -EPROTO)
			hyp_reply(c, m.op, len, 0, 0, NULL, 0, NULL, 0);
		if ((len != -EAGAIN && len != -EMSGSIZE && len != -EPROTO) || c->broken)
			hyp_close(c);
		return;
	}
	if (m.op == SIM_OP_OPEN)
		do_open(c, &m);
	else if (kind_of(m.op) != c->kind || !c->kind)
		hyp_reply(c, m.op, -EBADF, 0, 0, NULL, 0, NULL, 0);
	else
		switch (c->kind) {
		case SIM_KIND_EVTCHN:
			evt_request(c, &m);
			break;
		case SIM_KIND_GNTSHR:
		case SIM_KIND_GNTTAB:
			gnt_request(c, &m, buf);
			break;
		case SIM_KIND_DOMCTL:
			domctl_request(c, &m);
			break;
		}
	if (c->broken) {
		log_warn("dom%u: hypercall client does not read its replies: disconnected",
			 c->dom->id);
		hyp_close(c);
	}
}
