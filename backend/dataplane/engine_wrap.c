/* SPDX-License-Identifier: MIT */
/* The wrapper engines (engine_wrap.h): the same vbd_engine_ops, forwarding
 * to the engine below. A wrapper may finish an I/O itself (an injected
 * error) or hold it back until a time (a delay, or no budget left). Held
 * I/Os wait in FIFO order, so nothing overtakes an earlier request (a
 * flush never goes below before the writes submitted ahead of it), and the
 * data thread sleeps meanwhile: the wrapper's fd is an epoll set of the
 * engine below's fd and a timerfd armed for when the first held I/O may go. */
#include "io_engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vbdpool/clock.h"
#include "vbdpool/log.h"

struct wrap;
struct wrap_policy {
	const char *name;
	/* At submit: 0, or -errno to finish the I/O here with that error. */
	int (*admit)(struct wrap *w, struct vbd_io *io, uint64_t now);
	/* May the first held I/O go below now? 0, or when to look again. */
	uint64_t (*ready)(struct wrap *w, struct vbd_io *io, uint64_t now);
	/* counts the I/Os held (NULL: none) */
	_Atomic uint64_t *(*held_counter)(struct wrap *w);
};

struct wrap {
	struct vbd_engine e;
	struct vbd_engine *below;
	const struct wrap_policy *pol;
	void *arg; /* struct vbd_faults or struct vbd_throttle */
	struct vbd_io_list held, done;
	int tfd, epfd;
	char name[64];
};

static void arm(struct wrap *w, uint64_t at_ns)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(at_ns / 1000000000u),
					      .tv_nsec = (long)(at_ns % 1000000000u)}};

	if (timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("%s: timerfd_settime: %m", w->name);
}

static void hold(struct wrap *w, struct vbd_io *io)
{
	vbd_io_list_push(&w->held, io);
	if (w->pol->held_counter)
		atomic_fetch_add(w->pol->held_counter(w), 1);
}

static int wrap_submit(struct vbd_engine *e, struct vbd_io *io)
{
	struct wrap *w = (struct wrap *)e;
	uint64_t now = vbd_now_ns(), again;
	int r = w->pol->admit(w, io, now);

	if (r < 0) {
		io->res = r;
		vbd_io_list_push(&w->done, io);
		return 0;
	}
	if (w->held.head) { /* behind the ones already waiting */
		hold(w, io);
		return 0;
	}
	again = w->pol->ready(w, io, now);
	if (!again)
		return w->below->ops->submit(w->below, io);
	hold(w, io);
	arm(w, again);
	return 0;
}

/* Send the held I/Os that may go now below; arm the timer for the next. */
static void release(struct wrap *w)
{
	uint64_t now = vbd_now_ns(), junk;
	int sent = 0;

	if (read(w->tfd, &junk, sizeof(junk)) < 0) {
		/* EAGAIN: the timer has not fired */
	}
	while (w->held.head) {
		uint64_t again = w->pol->ready(w, w->held.head, now);
		struct vbd_io *io;
		int r;

		if (again) {
			arm(w, again);
			break;
		}
		io = vbd_io_list_pop(&w->held);
		r = w->below->ops->submit(w->below, io);
		if (r < 0) {
			io->res = r;
			vbd_io_list_push(&w->done, io);
		} else {
			sent++;
		}
	}
	if (sent && (sent = w->below->ops->commit(w->below)) < 0)
		log_warn("%s: submit: %s", w->name, strerror(-sent));
}

static int wrap_commit(struct vbd_engine *e)
{
	struct wrap *w = (struct wrap *)e;

	return w->below->ops->commit(w->below);
}

static int wrap_reap(struct vbd_engine *e, struct vbd_io **out, int max)
{
	struct wrap *w = (struct wrap *)e;
	int k;

	if (w->held.head)
		release(w);
	k = vbd_io_list_take(&w->done, out, max);
	return k + w->below->ops->reap(w->below, out + k, max - k);
}

static int wrap_fd(struct vbd_engine *e)
{
	return ((struct wrap *)e)->epfd;
}

static void wrap_destroy(struct vbd_engine *e)
{
	struct wrap *w = (struct wrap *)e;

	if (w->below)
		w->below->ops->destroy(w->below);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->tfd >= 0)
		close(w->tfd);
	free(w);
}

static const struct vbd_engine_ops wrap_ops = VBD_ENGINE_OPS(wrap);

static int watch(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return fd < 0 ? 0 : epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static struct vbd_engine *wrap_create(struct vbd_engine *below, const struct wrap_policy *pol,
				      void *arg)
{
	struct wrap *w;

	if (!below)
		return NULL;
	w = vbd_engine_alloc(sizeof(*w), &wrap_ops, below->b, NULL);
	if (!w) {
		below->ops->destroy(below);
		return NULL;
	}
	w->below = below;
	w->pol = pol;
	w->arg = arg;
	snprintf(w->name, sizeof(w->name), "%s+%s", pol->name, below->name);
	w->e.name = w->name;
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->tfd < 0 || w->epfd < 0 || watch(w->epfd, w->tfd) < 0 ||
	    watch(w->epfd, below->ops->fd(below)) < 0) {
		int err = errno;

		wrap_destroy(&w->e);
		errno = err;
		return NULL;
	}
	return &w->e;
}

/* ---- fault injection: EIO now, or a delay before the I/O goes below ---- */

static int fault_admit(struct wrap *w, struct vbd_io *io, uint64_t now)
{
	uint64_t delay_us;
	int r = vbd_faults_check(w->arg, io->op, io->off, io->len, &delay_us);

	io->wrap_ns = now + delay_us * 1000u;
	return r;
}

static uint64_t fault_ready(struct wrap *w, struct vbd_io *io, uint64_t now)
{
	(void)w;
	return io->wrap_ns <= now ? 0 : io->wrap_ns;
}

/* (the rules count what they delay and fail) */
static const struct wrap_policy fault_policy = {"fault", fault_admit, fault_ready, NULL};

struct vbd_engine *vbd_engine_fault_wrap(struct vbd_engine *below, struct vbd_faults *f)
{
	return wrap_create(below, &fault_policy, f);
}

/* ---- throttle: held until the member's token buckets have the budget --- */

static int throttle_admit(struct wrap *w, struct vbd_io *io, uint64_t now)
{
	(void)w;
	(void)io;
	(void)now;
	return 0;
}

static uint64_t throttle_ready(struct wrap *w, struct vbd_io *io, uint64_t now)
{
	int data = io->op == VBD_IO_READ || io->op == VBD_IO_WRITE;

	return vbd_throttle_take(w->arg, now, data ? io->len : 0);
}

static _Atomic uint64_t *throttle_held(struct wrap *w)
{
	return &((struct vbd_throttle *)w->arg)->held;
}

static const struct wrap_policy throttle_policy = {"throttle", throttle_admit, throttle_ready,
						   throttle_held};

struct vbd_engine *vbd_engine_throttle_wrap(struct vbd_engine *below, struct vbd_throttle *t)
{
	return wrap_create(below, &throttle_policy, t);
}

void vbd_io_wrap_report(struct vbd_io_wrap *w, int at_exit)
{
	struct vbd_throttle *t = &w->throttle;

	if (w->faults.n && !at_exit)
		log_warn("fault injection: %u rule(s) (--fault)", w->faults.n);
	if (w->faults.n && at_exit)
		log_info("fault injection: %llu I/Os failed, %llu delayed",
			 (unsigned long long)atomic_load(&w->faults.failed),
			 (unsigned long long)atomic_load(&w->faults.delayed));
	if ((t->iops || t->bps) && !at_exit)
		log_info("throttle: iops=%llu bps=%llu (0: no limit)", (unsigned long long)t->iops,
			 (unsigned long long)t->bps);
	if ((t->iops || t->bps) && at_exit)
		log_info("throttle: %llu requests, %llu held",
			 (unsigned long long)atomic_load(&t->passed),
			 (unsigned long long)atomic_load(&t->held));
}
