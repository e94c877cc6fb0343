/* SPDX-License-Identifier: MIT */
/* Unit tests of the application descriptors the device's event thread
 * watches (vbd_front_fd_set / _kick / _del, front_appfd.c), without Xen:
 * registration and its wake-ups, events 0 (not polled), readiness from a
 * real pipe, kicks (one call each, also when made by an earlier callback
 * of the same turn), a callback dropping or replacing another descriptor,
 * the table limit and bad arguments. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "device.h"

static struct vbd_front *dev_new(void)
{
	struct vbd_front *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->afd_lock, NULL);
	CHECK(vbdf_ctx_init(f, 1) == 0); /* its wake fd */
	return f;
}

static void dev_free(struct vbd_front *f)
{
	vbdf_ctx_free(f);
	pthread_mutex_destroy(&f->afd_lock);
	free(f);
}

/* Wake-ups written to the device's wake fd since the last call. */
static uint64_t wakes(struct vbd_front *f)
{
	uint64_t v = 0;

	if (read(f->ctx[0].wake_fd, &v, sizeof(v)) < 0)
		return 0;
	return v;
}

struct calls {
	unsigned n;
	short rev[8];
	/* what the callback does to the device (at most once) */
	struct vbd_front *f;
	int del_fd, kick_fd, readd_fd;
	struct calls *readd_arg;
};

static void cb(void *arg, int fd, short revents)
{
	struct calls *c = arg;

	if (revents & POLLIN) { /* consume the readiness */
		char b;
		CHECK(read(fd, &b, 1) == 1);
	}
	if (c->n < 8)
		c->rev[c->n] = revents;
	c->n++;
	if (c->f && c->del_fd >= 0)
		CHECK(vbd_front_fd_del(c->f, c->del_fd) == 0);
	if (c->f && c->kick_fd >= 0)
		CHECK(vbd_front_fd_kick(c->f, c->kick_fd) == 0);
	if (c->f && c->readd_fd >= 0) {
		CHECK(vbd_front_fd_del(c->f, c->readd_fd) == 0);
		CHECK(vbd_front_fd_set(c->f, c->readd_fd, POLLIN, cb, c->readd_arg) == 0);
	}
	c->f = NULL;
}

/* One event-thread turn: snapshot, poll (timeout 0), run. */
static unsigned turn(struct vbd_front *f, bool *kicked_out)
{
	struct pollfd pfd[VBD_FRONT_MAX_APP_FDS];
	struct vbdf_appfd snap[VBD_FRONT_MAX_APP_FDS];
	bool kicked = false;
	unsigned n = vbdf_appfd_collect(f, 0, pfd, snap, &kicked);
	int nready = poll(pfd, n, 0);

	CHECK(nready >= 0);
	vbdf_appfd_run(f, snap, pfd, n, nready > 0);
	if (kicked_out)
		*kicked_out = kicked;
	return n;
}

static void test_register(void)
{
	struct vbd_front *f = dev_new();
	struct pollfd pfd[VBD_FRONT_MAX_APP_FDS];
	struct vbdf_appfd snap[VBD_FRONT_MAX_APP_FDS];
	struct calls c = {.del_fd = -1, .kick_fd = -1, .readd_fd = -1};
	bool kicked = false;
	int p[2];

	CHECK(pipe(p) == 0);
	CHECK(vbd_front_fd_set(f, p[0], POLLIN, cb, &c) == 0);
	CHECK(wakes(f) == 1, "a new descriptor wakes the event thread");
	CHECK(vbd_front_fd_set(f, p[0], POLLIN, cb, &c) == 0);
	CHECK(wakes(f) == 0, "an unchanged one does not");
	CHECK(vbdf_appfd_collect(f, 0, pfd, snap, &kicked) == 1);
	CHECK(pfd[0].fd == p[0] && pfd[0].events == POLLIN && !kicked);

	/* not ready: no call; ready: one call with POLLIN */
	CHECK(turn(f, NULL) == 1 && c.n == 0);
	CHECK(write(p[1], "x", 1) == 1);
	turn(f, NULL);
	CHECK(c.n == 1 && c.rev[0] == POLLIN, "calls %u rev 0x%x", c.n, c.rev[0]);

	/* events 0: not polled (fd -1), although readable */
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(vbd_front_fd_set(f, p[0], 0, cb, &c) == 0);
	CHECK(wakes(f) == 1);
	CHECK(vbdf_appfd_collect(f, 0, pfd, snap, &kicked) == 1 && pfd[0].fd == -1);
	turn(f, NULL);
	CHECK(c.n == 1, "a descriptor with events 0 is not polled");

	/* a kick: one call with revents 0, then none */
	CHECK(vbd_front_fd_kick(f, p[0]) == 0);
	CHECK(vbd_front_fd_kick(f, p[0]) == 0);
	CHECK(wakes(f) == 1, "two kicks before a turn wake once");
	turn(f, &kicked);
	CHECK(kicked && c.n == 2 && c.rev[1] == 0);
	turn(f, &kicked);
	CHECK(!kicked && c.n == 2);

	/* del */
	CHECK(vbd_front_fd_del(f, p[0]) == 0);
	CHECK(vbd_front_fd_del(f, p[0]) == -ENOENT);
	CHECK(vbd_front_fd_kick(f, p[0]) == -ENOENT);
	CHECK(turn(f, NULL) == 0);

	/* bad arguments */
	CHECK(vbd_front_fd_set(f, -1, POLLIN, cb, &c) == -EINVAL);
	CHECK(vbd_front_fd_set(f, p[0], POLLIN, NULL, &c) == -EINVAL);
	CHECK(vbd_front_fd_set(f, p[0], POLLHUP, cb, &c) == -EINVAL);
	CHECK(vbd_front_fd_set(NULL, p[0], POLLIN, cb, &c) == -EINVAL);
	close(p[0]);
	close(p[1]);
	dev_free(f);
}

/* Callbacks of one turn acting on the others. */
static void test_interplay(void)
{
	struct vbd_front *f = dev_new();
	struct calls a = {.del_fd = -1, .kick_fd = -1, .readd_fd = -1}, b = a, d = a;
	int fa[2], fb[2], fd[2];

	CHECK(pipe(fa) == 0 && pipe(fb) == 0 && pipe(fd) == 0);
	CHECK(vbd_front_fd_set(f, fa[0], POLLIN, cb, &a) == 0);
	CHECK(vbd_front_fd_set(f, fb[0], POLLIN, cb, &b) == 0);
	CHECK(vbd_front_fd_set(f, fd[0], POLLIN, cb, &d) == 0);

	/* a (ready) deletes b (ready too): b is not called */
	CHECK(write(fa[1], "x", 1) == 1 && write(fb[1], "x", 1) == 1);
	a.f = f;
	a.del_fd = fb[0];
	turn(f, NULL);
	CHECK(a.n == 1 && b.n == 0, "a %u b %u", a.n, b.n);
	a.del_fd = -1;

	/* a (ready) kicks d (not ready, in the same snapshot): d runs in
	 * this very turn, once */
	CHECK(write(fa[1], "x", 1) == 1);
	a.f = f;
	a.kick_fd = fd[0];
	turn(f, NULL);
	CHECK(a.n == 2 && d.n == 1 && d.rev[0] == 0, "a %u d %u", a.n, d.n);
	a.kick_fd = -1;
	turn(f, NULL);
	CHECK(d.n == 1, "the kick was used up");

	/* a (ready) replaces d (ready) by a new registration of the same
	 * fd: the old snapshot entry is not called; the next turn calls it */
	CHECK(write(fd[1], "x", 1) == 1 && write(fa[1], "x", 1) == 1);
	a.f = f;
	a.readd_fd = fd[0];
	a.readd_arg = &d;
	turn(f, NULL);
	CHECK(a.n == 3 && d.n == 1, "a %u d %u", a.n, d.n);
	a.readd_fd = -1;
	turn(f, NULL);
	CHECK(d.n == 2 && d.rev[1] == POLLIN);

	for (int i = 0; i < 2; i++) {
		close(fa[i]);
		close(fb[i]);
		close(fd[i]);
	}
	dev_free(f);
}

static void test_limit(void)
{
	struct vbd_front *f = dev_new();
	struct calls c = {.del_fd = -1, .kick_fd = -1, .readd_fd = -1};
	int fds[VBD_FRONT_MAX_APP_FDS + 1];

	for (unsigned i = 0; i <= VBD_FRONT_MAX_APP_FDS; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	for (unsigned i = 0; i < VBD_FRONT_MAX_APP_FDS; i++)
		CHECK(vbd_front_fd_set(f, fds[i], POLLIN, cb, &c) == 0);
	CHECK(vbd_front_fd_set(f, fds[VBD_FRONT_MAX_APP_FDS], POLLIN, cb, &c) == -ENOSPC);
	CHECK(vbd_front_fd_del(f, fds[3]) == 0);
	CHECK(vbd_front_fd_set(f, fds[VBD_FRONT_MAX_APP_FDS], POLLIN, cb, &c) == 0,
	      "a freed slot is reused");
	CHECK(vbd_front_fd_kick(f, fds[VBD_FRONT_MAX_APP_FDS - 1]) == 0,
	      "the entry moved into the freed slot is still found");
	CHECK(turn(f, NULL) == VBD_FRONT_MAX_APP_FDS && c.n == 1);
	for (unsigned i = 0; i <= VBD_FRONT_MAX_APP_FDS; i++)
		close(fds[i]);
	dev_free(f);
}

int main(void)
{
	test_register();
	test_interplay();
	test_limit();
	return check_done("front_appfd");
}
