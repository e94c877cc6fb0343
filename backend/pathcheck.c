/* SPDX-License-Identifier: MIT */
/* The EIO policy and the path checker (docs/protocol.md "Storage failure"),
 * as dm-multipath and multipathd do it: an I/O error is first blamed on
 * the path, which a checker then probes with a small O_DIRECT read of
 * known places of the volume.
 *
 *  - the path works: the error is the storage's own (a bad range, every
 *    member sees it): the requests held for it are answered
 *    BLKIF_RSP_ERROR, that request only, and the member stays active;
 *  - the path does not work: the member becomes `failed` (failed-reason,
 *    failed-since), hands its queues off and the frontend re-posts the held
 *    requests to another member; the checker then probes every
 *    VBD_PATHCHK_MS and reinstates the member (`active`, it gets queues
 *    again through the balance) at the first probe that works.
 *
 * The probes run in a thread of their own: a path that hangs must stall
 * neither the control thread nor the heartbeat. */
#include "backd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/log.h"

#define PROBE_LEN 4096u

/* One probe: a read of PROBE_LEN bytes at the start, the middle and the end
 * of the volume, stopping at the first that works (a failed path fails
 * them all; a bad range of the storage fails at most some). 0 or -errno,
 * what: the last failure. */
static int probe(const struct vbd_backing *b, struct vbd_faults *faults, void *buf, char *what,
		 size_t wlen)
{
	uint64_t size = b->size, len = size < PROBE_LEN ? size : PROBE_LEN;
	uint64_t at[3] = {0, (size / 2) & ~(uint64_t)(PROBE_LEN - 1),
			  (size - len) & ~(uint64_t)(PROBE_LEN - 1)};
	int err = -EIO;

	snprintf(what, wlen, "no probe");
	for (unsigned i = 0; i < 3; i++) {
		ssize_t r;

		if (i && (at[i] == at[i - 1] || at[i] == at[0]))
			continue;
		if (faults->n && vbd_faults_probe_fails(faults, at[i], len)) { /* --fault */
			err = -EIO;
			snprintf(what, wlen,
				 "path check: read of %" PRIu64 " bytes at byte %" PRIu64
				 ": %s (injected)",
				 len, at[i], strerror(EIO));
			continue;
		}
		if (b->fd < 0)
			return 0; /* the null store */
		/* buffered (a single member's --buffered): not from the cache */
		if (!b->direct)
			posix_fadvise(b->fd, (off_t)at[i], (off_t)len, POSIX_FADV_DONTNEED);
		do
			r = pread(b->fd, buf, len, (off_t)at[i]);
		while (r < 0 && errno == EINTR);
		if (r >= 0)
			return 0; /* 0: past the end of a shorter file: it answered */
		err = -errno;
		snprintf(what, wlen,
			 "path check: read of %" PRIu64 " bytes at byte %" PRIu64 ": %s", len,
			 at[i], strerror(errno));
	}
	return err;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *checker(void *arg)
{
	struct vbd_volume *v = arg;
	struct vbd_pathchk *c = &v->chk;
	void *buf = NULL;
	char what[sizeof(c->what)];

	if (posix_memalign(&buf, PROBE_LEN, PROBE_LEN))
		buf = NULL;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		unsigned gen;
		int err;

		while (!c->stop && c->want == c->done) {
			if (!c->periodic) {
				pthread_cond_wait(&c->cond, &c->lock);
				continue;
			}
			uint64_t now = mono_ms();
			if (now >= c->next_ms)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (c->next_ms - now) * 1000000ull;
			ts.tv_sec += (time_t)(ns / 1000000000ull);
			ts.tv_nsec = (long)(ns % 1000000000ull);
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
		if (c->stop)
			break;
		gen = c->want;
		pthread_mutex_unlock(&c->lock);
		if (buf) {
			err = probe(&v->backing, &v->bd->cfg.wrap.faults, buf, what, sizeof(what));
		} else {
			err = -ENOMEM;
			snprintf(what, sizeof(what), "path check: no memory");
		}
		pthread_mutex_lock(&c->lock);
		c->done = gen;
		c->err = err;
		memcpy(c->what, what, sizeof(what));
		c->results++;
		c->next_ms = mono_ms() + VBD_PATHCHK_MS;
		pthread_mutex_unlock(&c->lock);
		if (v->bd->report_fd >= 0 && eventfd_write(v->bd->report_fd, 1) < 0)
			vol_warn(v, "path checker: cannot wake the control thread");
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	free(buf);
	return NULL;
}

static int path_start(struct vbd_volume *v)
{
	struct vbd_pathchk *c = &v->chk;
	pthread_condattr_t ca;
	int r;

	if (c->started)
		return 0;
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = pthread_create(&c->thr, NULL, checker, v);
	if (r) {
		vol_err(v, "cannot start the path checker: %s", strerror(r));
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		return -r;
	}
	c->started = 1;
	return 0;
}

void path_stop(struct vbd_volume *v)
{
	struct vbd_pathchk *c = &v->chk;

	if (!c->started)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thr, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	c->started = 0;
}

/* Ask for a check; returns the generation whose completion answers it. */
static unsigned path_request(struct vbd_volume *v)
{
	struct vbd_pathchk *c = &v->chk;
	unsigned gen;

	pthread_mutex_lock(&c->lock);
	gen = ++c->want;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return gen;
}

static void path_periodic(struct vbd_volume *v, int on)
{
	struct vbd_pathchk *c = &v->chk;

	pthread_mutex_lock(&c->lock);
	if (on && !c->periodic)
		c->next_ms = mono_ms() + VBD_PATHCHK_MS;
	c->periodic = on;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void path_clear_failed(struct vbd_volume *v, xs_transaction_t t)
{
	char path[VBD_XS_PATH_MAX];

	snprintf(path, sizeof(path), VBD_XS_MEMBER "/failed-reason", v->id, v->bd->me);
	xs_rm(v->bd->xs, t, path);
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/failed-since", v->id, v->bd->me);
	xs_rm(v->bd->xs, t, path);
}

static int reinstate_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct vbd_volume *v = arg;
	char path[VBD_XS_PATH_MAX];
	char *st;

	/* only from our own `failed`: the supervisor may have written dead or
	 * fenced meanwhile */
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/state", v->id, v->bd->me);
	st = vbd_xs_get(xs, t, "%s", path);
	if (!st || strcmp(st, vbd_member_state_name(VBD_MEMBER_FAILED))) {
		free(st);
		return 1;
	}
	free(st);
	path_clear_failed(v, t);
	return vbd_xs_write(xs, t, path, vbd_member_state_name(VBD_MEMBER_ACTIVE));
}

static void reinstate(struct vbd_volume *v)
{
	int r = vbd_xs_transact(v->bd->xs, reinstate_fn, v);

	if (r != 0) {
		if (r < 0)
			vol_warn(v, "cannot reinstate this member: %s", strerror(-r));
		return;
	}
	vol_info(v,
		 "member %u: path checker: the path works again: member "
		 "reinstated (active)",
		 v->bd->me);
	v->my_state = VBD_MEMBER_ACTIVE;
	hb_forget_latency(v);
	hb_publish(v);
	/* a queue we kept, as the only member left, serves normally again */
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++)
			if (a->qs[q].q && (vbdq_commands(a->qs[q].q) & VBDQ_CMD_FAILED))
				vbdq_command(a->qs[q].q, 0, VBDQ_CMD_FAILED);
	pool_refresh_members(v);
	v->dirty = 1;
}

static void fail_member(struct vbd_volume *v, const char *what)
{
	char reason[sizeof(v->chk.what) + 32];

	snprintf(reason, sizeof(reason), "EIO, then %s", what);
	vol_err(v,
		"backing returned EIO and the path does not work (%s): member "
		"failed, handing queues off",
		what);
	pool_refresh_members(v);
	if (own_fail_member(v, reason) < 0)
		pool_set_state(v, VBD_MEMBER_FAILED);
	pool_refresh_members(v);
}

void path_event(struct vbd_volume *v)
{
	struct vbd_pathchk *c = &v->chk;
	unsigned done;
	uint64_t results;
	int err, path_failed = 0;
	char what[sizeof(c->what)];

	if (!v->joined || !v->ready || v->bd->leaving)
		return;
	if (!c->started && path_start(v) < 0)
		return;
	pthread_mutex_lock(&c->lock);
	done = c->done;
	err = c->err;
	results = c->results;
	memcpy(what, c->what, sizeof(what));
	pthread_mutex_unlock(&c->lock);

	/* checks done: the held requests they answer for */
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned i = 0; i < a->nq; i++) {
			struct vbd_queue *q = a->qs[i].q;

			if (!q || !vbdq_eio_checked(q, done, !err))
				continue;
			if (err) {
				path_failed = 1;
				continue; /* held: re-posted by the frontend to the next owner */
			}
			vq_warn(v, a, i,
				"EIO, but the path works: those requests are tried once more (EIO "
				"again: a media error, answered to the guest for them only)");
		}
	if (results != c->seen) {
		c->seen = results;
		if (!err && v->my_state == VBD_MEMBER_FAILED)
			reinstate(v);
	}
	if (path_failed && v->my_state == VBD_MEMBER_ACTIVE)
		fail_member(v, what);

	/* new holds: have the path checked (a failed member's queues are
	 * handed off, or answer errors as the only member left) */
	if (v->my_state == VBD_MEMBER_ACTIVE) {
		unsigned gen = 0;

		for (struct vbd_attach *a = v->atts; a; a = a->next)
			for (unsigned i = 0; i < a->nq; i++) {
				struct vbd_queue *q = a->qs[i].q;

				if (!q || !(vbdq_status(q) & VBDQ_ST_EIO))
					continue;
				if (!gen)
					gen = path_request(v);
				vbdq_eio_take(q, gen);
			}
		if (gen)
			vol_warn(v, "backing returned EIO: checking the path");
	}
	path_periodic(v, v->my_state == VBD_MEMBER_FAILED);
}
