/* SPDX-License-Identifier: MIT */
/*
 * Application descriptors on the contexts' threads (vbd_front_fd_set): a
 * table of watched fds, each with the context that polls it, under their
 * own lock (not the device lock, which every request takes), snapshotted
 * into that context's poll set each turn.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "vbdpool/log.h"
#include "device.h"

static struct vbdf_appfd *find_locked(struct vbd_front *f, int fd)
{
	for (unsigned i = 0; i < f->nafd; i++)
		if (f->afd[i].fd == fd)
			return &f->afd[i];
	return NULL;
}

/* A change made off the context's thread must reach its next poll. */
static void wake_loop(struct vbd_front *f, unsigned ctx)
{
	vbdf_ctx_wake(&f->ctx[ctx]);
}

/* ctx < 0: where fd is watched already, else context 0. */
static int set_fd(struct vbd_front *f, int ctx, int fd, short events, vbd_front_fd_cb cb, void *arg)
{
	struct vbdf_appfd *a;
	unsigned at;

	if (!f || fd < 0 || !cb || (events & ~(POLLIN | POLLOUT)) ||
	    (ctx >= 0 && (unsigned)ctx >= f->nctx))
		return -EINVAL;
	pthread_mutex_lock(&f->afd_lock);
	a = find_locked(f, fd);
	if (!a) {
		if (f->nafd == VBD_FRONT_MAX_APP_FDS) {
			pthread_mutex_unlock(&f->afd_lock);
			return -ENOSPC;
		}
		a = &f->afd[f->nafd++];
		*a = (struct vbdf_appfd){
		    .fd = fd, .ctx = ctx < 0 ? 0 : (unsigned)ctx, .serial = ++f->afd_serial};
	} else if (ctx >= 0 && a->ctx != (unsigned)ctx) {
		pthread_mutex_unlock(&f->afd_lock);
		return -EBUSY; /* watched by another context */
	} else if (a->events == events && a->cb == cb && a->arg == arg) {
		pthread_mutex_unlock(&f->afd_lock);
		return 0; /* nothing changes: no wake-up */
	}
	a->events = events;
	a->cb = cb;
	a->arg = arg;
	at = a->ctx;
	pthread_mutex_unlock(&f->afd_lock);
	wake_loop(f, at);
	return 0;
}

int vbd_front_fd_set(struct vbd_front *f, int fd, short events, vbd_front_fd_cb cb, void *arg)
{
	return set_fd(f, -1, fd, events, cb, arg);
}

int vbd_front_fd_set_ctx(struct vbd_front *f, unsigned ctx, int fd, short events,
			 vbd_front_fd_cb cb, void *arg)
{
	if (f && ctx >= f->nctx)
		return -EINVAL;
	return set_fd(f, (int)ctx, fd, events, cb, arg);
}

int vbd_front_fd_kick(struct vbd_front *f, int fd)
{
	struct vbdf_appfd *a;
	unsigned at;
	bool was;

	pthread_mutex_lock(&f->afd_lock);
	a = find_locked(f, fd);
	if (!a) {
		pthread_mutex_unlock(&f->afd_lock);
		return -ENOENT;
	}
	was = a->kicked;
	a->kicked = true;
	at = a->ctx;
	pthread_mutex_unlock(&f->afd_lock);
	if (!was)
		wake_loop(f, at);
	return 0;
}

int vbd_front_fd_del(struct vbd_front *f, int fd)
{
	struct vbdf_appfd *a;

	pthread_mutex_lock(&f->afd_lock);
	a = find_locked(f, fd);
	if (!a) {
		pthread_mutex_unlock(&f->afd_lock);
		return -ENOENT;
	}
	*a = f->afd[--f->nafd];
	pthread_mutex_unlock(&f->afd_lock);
	return 0;
}

unsigned vbdf_appfd_collect(struct vbd_front *f, unsigned ctx, struct pollfd *pfd,
			    struct vbdf_appfd *snap, bool *kicked)
{
	unsigned n = 0;

	pthread_mutex_lock(&f->afd_lock);
	for (unsigned i = 0; i < f->nafd; i++) {
		if (f->afd[i].ctx != ctx)
			continue;
		snap[n] = f->afd[i];
		*kicked |= f->afd[i].kicked;
		f->afd[i].kicked = false;
		pfd[n] = (struct pollfd){.fd = snap[n].events ? snap[n].fd : -1,
					 .events = snap[n].events};
		n++;
	}
	pthread_mutex_unlock(&f->afd_lock);
	return n;
}

void vbdf_appfd_run(struct vbd_front *f, const struct vbdf_appfd *snap, const struct pollfd *pfd,
		    unsigned n, bool polled)
{
	for (unsigned i = 0; i < n; i++) {
		short rev = polled ? pfd[i].revents : 0;
		struct vbdf_appfd *a;
		vbd_front_fd_cb cb;
		void *arg;
		bool kicked;

		/* an earlier callback may have dropped or replaced it; a kick
		 * since the snapshot (the completions just run, replies to
		 * send) is taken now rather than in another turn */
		pthread_mutex_lock(&f->afd_lock);
		a = find_locked(f, snap[i].fd);
		if (!a || a->serial != snap[i].serial) {
			pthread_mutex_unlock(&f->afd_lock);
			continue;
		}
		kicked = a->kicked;
		if (!rev && !snap[i].kicked && !kicked) {
			pthread_mutex_unlock(&f->afd_lock);
			continue;
		}
		a->kicked = false;
		cb = a->cb;
		arg = a->arg;
		pthread_mutex_unlock(&f->afd_lock);
		cb(arg, snap[i].fd, rev);
	}
}
