/* SPDX-License-Identifier: MIT */
/* The control thread (like xen-blkback's xenbus.c): XenStore watches, the
 * heartbeat/balance timer, reports from the data threads and SIGTERM, all
 * folded into level-triggered reconciliation of each volume. */
#include "backd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vbdpool/log.h"

static void reconcile(struct vbd_volume *v)
{
	struct backd *bd = v->bd;
	struct vbd_member *m;

	v->dirty = 0;
	if (inst_check(v) < 0)
		return; /* another vbdpool-backd serves it in this domain */
	if (!v->joined) {
		/* a non-member may not even read the volume: check first */
		if (bd->leaving || pool_check_member(v) < 0)
			return;
		if (!v->ready && pool_volume_setup(v) < 0)
			return;
		if (inst_acquire(v) < 0 || pool_join(v) < 0)
			return;
	}
	{
		char *node = vbd_xs_get(bd->xs, XBT_NULL, VBD_XS_MEMBER, v->id, bd->me);
		int gone = !node && (errno == ENOENT || errno == EACCES);

		free(node);
		if (!gone && pool_refresh_members(v) < 0)
			return;
		m = gone ? NULL : pool_member(v, bd->me);
	}
	if (!m) {
		/* dom0 removed us from the pool: stop serving the volume (we may
		 * no longer write its records; the others claim our queues) */
		log_warn("volume %s: domain %u was removed from the pool: not serving it", v->id,
			 bd->me);
		for (struct vbd_attach *a = v->atts; a; a = a->next)
			for (unsigned q = 0; q < a->nq; q++)
				own_stop_queue(v, &a->qs[q], "removed from the pool");
		v->joined = 0;
		v->logged_not_member = 0;
		/* the volume may come back with another backing */
		path_stop(v);
		vbd_backing_close(&v->backing);
		v->ready = 0;
		v->logged_setup = 0;
		return;
	}
	if (m->state_ok && m->state == VBD_MEMBER_FENCED) {
		/* The supervisor stopped our domain (paused: we were resumed) and
		 * the others took our queues.  Submit nothing more, drop every
		 * mapping, and exit: a fenced member comes back only as a new
		 * one, after the admin's `vbdpoolctl member unfence`. */
		log_err("volume %s: this member was fenced by the supervisor: dropping every "
			"queue and exiting (run `vbdpoolctl member unfence %s %u` in dom0 once it "
			"is safe, then start vbdpool-backd again)",
			v->id, v->id, bd->me);
		for (struct vbd_attach *a = v->atts; a; a = a->next)
			for (unsigned q = 0; q < a->nq; q++)
				own_stop_queue(v, &a->qs[q], "fenced by the supervisor");
		v->joined = 0;
		bd->fenced = 1;
		return;
	}
	if (m->state_ok && m->state == VBD_MEMBER_DEAD) {
		/* The supervisor declared us gone (we were paused and resumed,
		 * or it erred): the others take our queues over. Drop every
		 * mapping first, waiting for our I/O in flight, so that nothing
		 * of ours lands later; then join again as a new member. */
		log_err("volume %s: the supervisor marked this member %s: dropping every queue "
			"and joining again",
			v->id, vbd_member_state_name(m->state));
		for (struct vbd_attach *a = v->atts; a; a = a->next)
			for (unsigned q = 0; q < a->nq; q++)
				own_stop_queue(v, &a->qs[q], "declared dead by the supervisor");
		v->joined = 0;
		if (bd->leaving || pool_join(v) < 0)
			return;
	}
	if (storage_check_buffered(v) < 0)
		return; /* no O_DIRECT, and no longer the only member: mismatch */
	if (pool_refresh_attachments(v) < 0)
		return;
	for (struct vbd_attach *a = v->atts; a; a = a->next) {
		own_reconcile_attachment(v, a);
		pool_watch_queues(v, a);
	}
}

/* Frontend events (after reconcile, so the records are as fresh as the
 * events): only the queues they flagged, and only those we own. */
static void frontend_changed(struct vbd_volume *v)
{
	v->fe_dirty = 0;
	for (struct vbd_attach *a = v->atts; a; a = a->next) {
		if (!a->fe_dirty)
			continue;
		a->fe_dirty = 0;
		for (unsigned q = 0; q < a->nq; q++)
			if (a->qs[q].fe_changed) {
				a->qs[q].fe_changed = 0;
				own_frontend_changed(v, a, q);
			}
		pool_watch_queues(v, a);
	}
}

/* A data thread reported EIO, or the path checker a result: the EIO
 * policy (pathcheck.c: media error or path failure, reinstatement). */
static void check_storage(struct vbd_volume *v)
{
	path_event(v);
}

static int owns_anything(struct vbd_volume *v)
{
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++) {
			struct vbd_qslot *s = &a->qs[q];
			if (s->q)
				return 1;
			if (s->rec_ok && s->rec.owner == v->bd->me && s->rec.state != VBD_Q_UNOWNED)
				return 1;
		}
	return 0;
}

static void begin_leave(struct backd *bd)
{
	if (bd->leaving)
		return;
	log_info("leaving: handing every queue off");
	bd->leaving = 1;
	bd->leave_deadline = backd_now_ms() + VBD_LEAVE_TIMEOUT_MS;
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = &bd->vols[i];
		if (v->joined)
			pool_set_state(v, VBD_MEMBER_LEAVING);
		v->dirty = 1;
	}
}

/* Deadline passed: stop what is left and give the records back. */
static void force_release(struct backd *bd)
{
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = &bd->vols[i];
		for (struct vbd_attach *a = v->atts; a; a = a->next)
			for (unsigned q = 0; q < a->nq; q++) {
				struct vbd_qslot *s = &a->qs[q];
				if (s->rec_ok && s->rec.owner == bd->me)
					own_release(v, a, q);
				own_stop_queue(v, s, "leave deadline");
			}
	}
}

static int is_noise(const char *path)
{
	size_t n = strlen(path);
	return (n > 10 && !strcmp(path + n - 10, "/heartbeat")) ||
	       (n > 5 && !strcmp(path + n - 5, "/load"));
}

static void handle_watches(struct backd *bd)
{
	char **ev;

	while ((ev = xs_check_watch(bd->xs))) {
		const char *tok = ev[XS_WATCH_TOKEN];
		unsigned idx;

		if ((tok[0] == 'v' || tok[0] == 'f') && tok[1] == ':' &&
		    sscanf(tok + 2, "%u", &idx) == 1 && idx < bd->nvols) {
			struct vbd_volume *v = &bd->vols[idx];
			/* a frontend event concerns one queue (or none), never
			 * the whole volume */
			if (tok[0] == 'f')
				pool_frontend_event(v, ev[XS_WATCH_PATH]);
			else if (!is_noise(ev[XS_WATCH_PATH]))
				v->dirty = 1;
		}
		free(ev);
	}
}

int control_run(struct backd *bd)
{
	struct itimerspec its = {0};
	struct pollfd pfd[4];
	sigset_t sigs;
	int tfd, sfd, rc = 0;
	uint64_t next_bal = backd_now_ms() + VBD_BALANCE_MS;
	unsigned lease_rounds = 0;

	/* the heartbeat beats at least 4 times per supervisor lease; balance
	 * and the periodic reconcile keep their VBD_BALANCE_MS round */
	__atomic_store_n(&bd->hb_ms, hb_period_ms(bd), __ATOMIC_RELAXED);
	its.it_interval = (struct timespec){.tv_sec = bd->hb_ms / 1000,
					    .tv_nsec = (long)(bd->hb_ms % 1000) * 1000000L};
	its.it_value = its.it_interval;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
		log_err("cannot set up the control loop: %s", strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = &bd->vols[i];
		char path[VBD_XS_PATH_MAX], token[32];

		snprintf(path, sizeof(path), VBD_XS_VOLUME, v->id);
		snprintf(token, sizeof(token), "v:%u", i);
		if (!xs_watch(bd->xs, path, token)) {
			log_err("volume %s: cannot watch %s: %s", v->id, path, strerror(errno));
			rc = 1;
		}
		v->dirty = 1;
	}
	{
		int hr = hb_start(bd);

		if (hr < 0) {
			log_err("cannot start the heartbeat thread: %s", strerror(-hr));
			close(tfd);
			close(sfd);
			return 1;
		}
	}
	pfd[0] = (struct pollfd){.fd = xs_fileno(bd->xs), .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = bd->report_fd, .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = tfd, .events = POLLIN};
	pfd[3] = (struct pollfd){.fd = sfd, .events = POLLIN};

	for (;;) {
		for (unsigned i = 0; i < bd->nvols; i++)
			if (bd->vols[i].dirty)
				reconcile(&bd->vols[i]);
		if (bd->fenced) {
			rc = 3;
			break;
		}
		for (unsigned i = 0; i < bd->nvols; i++)
			if (bd->vols[i].fe_dirty)
				frontend_changed(&bd->vols[i]);
		if (inst_none_left(bd)) {
			log_err("another vbdpool-backd serves every volume of this one: exiting");
			rc = 1;
			break;
		}
		if (bd->leaving) {
			int owned = 0;
			for (unsigned i = 0; i < bd->nvols; i++)
				owned |= owns_anything(&bd->vols[i]);
			if (!owned) {
				log_info("left: no queues owned");
				break;
			}
			if (backd_now_ms() >= bd->leave_deadline) {
				log_warn("leave deadline passed: releasing what is left");
				force_release(bd);
				break;
			}
		}
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			rc = 1;
			break;
		}
		if (pfd[0].revents & POLLIN)
			handle_watches(bd);
		if (pfd[0].revents & (POLLHUP | POLLERR)) {
			log_err("lost the XenStore connection");
			rc = 1;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			eventfd_t junk;
			if (eventfd_read(bd->report_fd, &junk) == 0)
				for (unsigned i = 0; i < bd->nvols; i++) {
					check_storage(&bd->vols[i]);
					bd->vols[i].dirty = 1;
				}
		}
		if (pfd[2].revents & POLLIN) {
			uint64_t ticks;
			if (read(tfd, &ticks, sizeof(ticks)) < 0) {
				/* EAGAIN: spurious */
			}
			int round = backd_now_ms() >= next_bal;

			for (unsigned i = 0; i < bd->nvols; i++) {
				struct vbd_volume *v = &bd->vols[i];
				if (v->joined)
					hb_publish(v);
				if (round)
					v->dirty = 1;
			}
			if (round) {
				next_bal = backd_now_ms() + VBD_BALANCE_MS - bd->hb_ms / 2;
				bal_round(bd);
				/* a supervisor started (or restarted with another
				 * lease) after us: beat and gate by its lease */
				unsigned hb = ++lease_rounds % 8 ? bd->hb_ms : hb_period_ms(bd);

				if (hb != bd->hb_ms) {
					__atomic_store_n(&bd->hb_ms, hb, __ATOMIC_RELAXED);
					its.it_interval = (struct timespec){
					    .tv_sec = bd->hb_ms / 1000,
					    .tv_nsec = (long)(bd->hb_ms % 1000) * 1000000L};
					its.it_value = its.it_interval;
					timerfd_settime(tfd, 0, &its, NULL);
					log_info("supervisor lease %u ms: heartbeat every %u ms",
						 bd->lease_ms, bd->hb_ms);
				}
			}
		}
		if (pfd[3].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				log_info("signal %u", si.ssi_signo);
			begin_leave(bd);
		}
	}
	hb_stop(bd); /* no beat after this: a clean stop withdraws it below */
	/* shut down: nothing left running */
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = &bd->vols[i];
		if (bd->leaving && v->joined && rc == 0)
			hb_withdraw(v); /* a clean stop, not a hang: nothing to fence */
		while (v->atts) {
			struct vbd_attach *a = v->atts;
			v->atts = a->next;
			pool_drop_attachment(v, a);
		}
		path_stop(v);
		vbd_backing_close(&v->backing);
		free(v->members);
		v->members = NULL;
	}
	close(tfd);
	close(sfd);
	return rc;
}
