/* SPDX-License-Identifier: MIT */
#include "simloop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/clock.h"

struct reg {
	int fd;
	bool dead;
	simloop_cb cb;
	void *arg;
	struct reg *next; /* all registrations */
};

struct timer {
	uint64_t due_ms;
	void (*fn)(void *);
	void *arg;
	struct timer *next;
};

struct simloop {
	int epfd;
	bool stop;
	struct reg *regs;
	struct timer *timers;
};

struct simloop *simloop_new(void)
{
	struct simloop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void reap_dead(struct simloop *l)
{
	struct reg **pp = &l->regs;
	while (*pp) {
		struct reg *r = *pp;
		if (r->dead) {
			*pp = r->next;
			free(r);
		} else {
			pp = &r->next;
		}
	}
}

void simloop_free(struct simloop *l)
{
	if (!l)
		return;
	for (struct reg *r = l->regs; r; r = r->next)
		r->dead = true;
	reap_dead(l);
	while (l->timers) {
		struct timer *t = l->timers;
		l->timers = t->next;
		free(t);
	}
	close(l->epfd);
	free(l);
}

static struct reg *find(struct simloop *l, int fd)
{
	for (struct reg *r = l->regs; r; r = r->next)
		if (!r->dead && r->fd == fd)
			return r;
	return NULL;
}

int simloop_add(struct simloop *l, int fd, uint32_t events, simloop_cb cb, void *arg)
{
	struct reg *r = calloc(1, sizeof(*r));
	struct epoll_event ev = {.events = events};

	if (!r)
		return -ENOMEM;
	r->fd = fd;
	r->cb = cb;
	r->arg = arg;
	ev.data.ptr = r;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(r);
		return -e;
	}
	r->next = l->regs;
	l->regs = r;
	return 0;
}

int simloop_mod(struct simloop *l, int fd, uint32_t events)
{
	struct reg *r = find(l, fd);
	struct epoll_event ev = {.events = events};

	if (!r)
		return -ENOENT;
	ev.data.ptr = r;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int simloop_del(struct simloop *l, int fd)
{
	struct reg *r = find(l, fd);

	if (!r)
		return -ENOENT;
	r->dead = true;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	return 0;
}

int simloop_timer(struct simloop *l, unsigned ms, void (*fn)(void *arg), void *arg)
{
	struct timer *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->due_ms = vbd_now_ms() + ms;
	t->fn = fn;
	t->arg = arg;
	t->next = l->timers;
	l->timers = t;
	return 0;
}

static int next_timeout(struct simloop *l)
{
	uint64_t now = vbd_now_ms(), best = UINT64_MAX;
	for (struct timer *t = l->timers; t; t = t->next)
		if (t->due_ms < best)
			best = t->due_ms;
	if (best == UINT64_MAX)
		return -1;
	return best <= now ? 0 : (int)(best - now);
}

static void run_timers(struct simloop *l)
{
	uint64_t now = vbd_now_ms();
	struct timer **pp = &l->timers;
	struct timer *due = NULL;

	while (*pp) {
		struct timer *t = *pp;
		if (t->due_ms <= now) {
			*pp = t->next;
			t->next = due;
			due = t;
		} else {
			pp = &t->next;
		}
	}
	while (due) {
		struct timer *t = due;
		due = t->next;
		t->fn(t->arg);
		free(t);
	}
}

int simloop_run(struct simloop *l)
{
	struct epoll_event evs[64];

	l->stop = false;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 64, next_timeout(l));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct reg *r = evs[i].data.ptr;
			if (!r->dead)
				r->cb(r->arg, evs[i].events);
		}
		reap_dead(l);
		run_timers(l);
	}
	return 0;
}

void simloop_stop(struct simloop *l)
{
	l->stop = true;
}
