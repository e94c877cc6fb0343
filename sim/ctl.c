/* SPDX-License-Identifier: MIT */
/* The control socket: what the xensim CLI asks of the daemon (create,
 * exec, list, pause, unpause, destroy, stats, stop); dom0's only (the host's
 * processes, not a domain's: dom_peer_ok).  An exec'ed program is the
 * daemon's child in the domain's process group; its wait status goes back
 * to the CLI that asked for it (SIM_OP_CTL_EXIT). */
#include "xensim.h"
#include "simloop.h"
#include "xs_server.h"
#include "vbdpool/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct cconn {
	int fd;
	bool broken; /* a reply could not be sent */
	pid_t child; /* exec'ed program still running, or 0 */
	struct cconn *next;
};

static struct cconn *cconns;

static void ctl_cb(void *arg, uint32_t ev);

void ctl_accept(void)
{
	for (;;) {
		int fd = accept4(g_sim->ctl_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct cconn *c;

		if (fd < 0)
			return;
		/* the control socket is dom0's: a domain's process (by
		 * ancestry, as on the XenStore and hypercall sockets) may not
		 * create or destroy domains */
		if (!dom_peer_ok(fd, dom_find(0))) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || simloop_add(g_sim->loop, fd, EPOLLIN, ctl_cb, c) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->next = cconns;
		cconns = c;
	}
}

static void cconn_close(struct cconn *c)
{
	simloop_del(g_sim->loop, c->fd);
	for (struct cconn **pp = &cconns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	close(c->fd);
	free(c);
}

static void reply(struct cconn *c, uint32_t op, int rc, uint32_t a, const void *p, size_t len)
{
	struct sim_hyp_msg h = {.op = op, .rc = rc, .a = a};

	if (sim_msg_send(c->fd, &h, p, len, NULL, 0) < 0)
		c->broken = true;
}

/* Splits `len` bytes of NUL-terminated strings into v[0..n). */
static int split(char *buf, size_t len, char **v, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		char *end = off < len ? memchr(buf + off, 0, len - off) : NULL;

		if (!end)
			return -EINVAL;
		v[i] = buf + off;
		off = (size_t)(end - buf) + 1;
	}
	return 0;
}

static void do_create(struct cconn *c, const struct sim_hyp_msg *m, char *buf)
{
	size_t argc = m->a, envc = m->b, n = 3 + argc + 1 + envc + 1;
	char **v = argc >= 1 && argc <= 4096 && envc <= 4096 ? calloc(n, sizeof(char *)) : NULL;
	char **argv, **envp, con[PATH_MAX + 64];
	struct spawn_req r;
	struct dom *d;
	int rc, nullfd = -1, confd = -1;
	pid_t pid;

	if (!v || split(buf, m->len, v, 3 + argc + envc) < 0) {
		rc = -EINVAL;
		goto out;
	}
	argv = v + 3;
	envp = v + 3 + argc + 1;
	memmove(envp, v + 3 + argc, envc * sizeof(char *));
	v[3 + argc] = NULL;
	rc = dom_create(v[0], &d);
	if (rc < 0)
		goto out;
	if (*v[1])
		snprintf(con, sizeof(con), "%s", v[1]);
	else
		snprintf(con, sizeof(con), "%s/console.log", d->path);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	confd = open(con, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (nullfd < 0 || confd < 0) {
		rc = -errno;
		dom_die(d);
		goto out;
	}
	r = (struct spawn_req){.domid = d->id,
			       .pgid = 0,
			       .cwd = v[2],
			       .argv = argv,
			       .envp = envp,
			       .fds = {nullfd, confd, confd},
			       .stopped = m->c != 0};
	pid = spawn_in_domain(&r);
	if (pid < 0) {
		rc = pid;
		dom_die(d);
		goto out;
	}
	dom_started(d, pid);
	if (m->c)
		d->state = VBD_DOM_PAUSED; /* as xl create -p */
	rc = (int)d->id;
out:
	if (nullfd >= 0)
		close(nullfd);
	if (confd >= 0)
		close(confd);
	free(v);
	reply(c, m->op, rc < 0 ? rc : 0, rc < 0 ? 0 : (uint32_t)rc, NULL, 0);
}

static void do_exec(struct cconn *c, const struct sim_hyp_msg *m, char *buf, int *fds, int nfds)
{
	size_t argc = m->b, envc = m->c;
	char **v = NULL;
	struct spawn_req r;
	struct dom *d = dom_find_live(m->a);
	pid_t pid = 0;
	int rc = 0;

	if (!d || d->id == 0 || d->pgid <= 0) {
		rc = -ESRCH;
		goto out;
	}
	if (c->child > 0 || nfds != 3 || argc < 1 || argc > 4096 || envc > 4096) {
		rc = -EINVAL;
		goto out;
	}
	v = calloc(1 + argc + 1 + envc + 1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	if (split(buf, m->len, v, 1 + argc + envc) < 0) {
		rc = -EINVAL;
		goto out;
	}
	memmove(v + 1 + argc + 1, v + 1 + argc, envc * sizeof(char *));
	v[1 + argc] = NULL;
	r = (struct spawn_req){.domid = d->id,
			       .pgid = d->pgid,
			       .cwd = v[0],
			       .argv = v + 1,
			       .envp = v + 1 + argc + 1,
			       .fds = {fds[0], fds[1], fds[2]},
			       .stopped = d->state == VBD_DOM_PAUSED};
	pid = spawn_in_domain(&r);
	if (pid < 0) {
		rc = pid;
		goto out;
	}
	c->child = pid;
out:
	free(v);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	reply(c, m->op, rc, rc < 0 ? 0 : (uint32_t)pid, NULL, 0);
}

static void ctl_cb(void *arg, uint32_t ev)
{
	static char buf[SIM_HYP_MAX_MSG];
	static struct sim_dominfo info[512];
	struct cconn *c = arg;
	struct sim_hyp_msg m = {0};
	int fds[3], nfds = 3, len, n;

	(void)ev;
	len = sim_msg_recv(c->fd, &m, buf, sizeof(buf) - 1, fds, &nfds);
	if (len < 0) {
		if (len == -EAGAIN)
			return;
		if (len == -EMSGSIZE || len == -EPROTO)
			reply(c, m.op, len, 0, NULL, 0);
		if ((len != -EMSGSIZE && len != -EPROTO) || c->broken)
			cconn_close(c);
		return;
	}
	buf[len] = 0;
	if (m.op != SIM_OP_CTL_EXEC)
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	switch (m.op) {
	case SIM_OP_CTL_PING:
		reply(c, m.op, 0, (uint32_t)getpid(), NULL, 0);
		break;
	case SIM_OP_CTL_CREATE:
		do_create(c, &m, buf);
		break;
	case SIM_OP_CTL_EXEC:
		do_exec(c, &m, buf, fds, nfds);
		break;
	case SIM_OP_CTL_SIGNAL:
		if (c->child > 0 && m.a > 0 && m.a < NSIG)
			kill(c->child, (int)m.a);
		break;
	case SIM_OP_DOM_LIST:
		n = domctl_list(info, 512);
		reply(c, m.op, 0, (uint32_t)n, info, (n < 512 ? n : 512) * sizeof(info[0]));
		break;
	case SIM_OP_DOM_PAUSE:
		reply(c, m.op, domctl_pause(m.a), 0, NULL, 0);
		break;
	case SIM_OP_DOM_UNPAUSE:
		reply(c, m.op, domctl_unpause(m.a), 0, NULL, 0);
		break;
	case SIM_OP_DOM_DESTROY:
		reply(c, m.op, domctl_destroy(m.a), 0, NULL, 0);
		break;
	case SIM_OP_CTL_XS_STATS: {
		struct sim_xs_stats st = {0};
		int rc = xs_server_requests(g_sim->xs, m.a, &st.requests);

		reply(c, m.op, rc, 0, &st, rc < 0 ? 0 : sizeof(st));
	} break;
	case SIM_OP_CTL_STOP:
		reply(c, m.op, 0, 0, NULL, 0);
		xensimd_request_stop();
		break;
	default:
		reply(c, m.op, -ENOSYS, 0, NULL, 0);
	}
	if (c->broken)
		cconn_close(c);
}

void ctl_child_exited(pid_t pid, int status)
{
	for (struct cconn *c = cconns; c; c = c->next)
		if (c->child == pid) {
			struct sim_hyp_msg h = {.op = SIM_OP_CTL_EXIT, .a = (uint32_t)status};

			sim_msg_send(c->fd, &h, NULL, 0, NULL, 0);
			c->child = 0;
			return;
		}
}
