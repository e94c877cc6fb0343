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

#include "statpub.h"
#include "vbdpool/log.h"

/* Stop serving every queue of the volume (waiting for I/O in flight). */
static void stop_all_queues(struct vbd_volume *v, const char *why)
{
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++)
			own_stop_queue(v, &a->qs[q], why);
}

/* Not joined yet: join (0), or not now (-errno). */
static int ensure_joined(struct vbd_volume *v)
{
	struct backd *bd = v->bd;
	int r;

	if (v->joined)
		return 0;
	/* a non-member may not even read the volume: check first */
	if (bd->leaving)
		return -ESHUTDOWN;
	if ((r = pool_check_member(v)) < 0)
		return r;
	if (!v->ready && (r = pool_volume_setup(v)) < 0)
		return r;
	if ((r = inst_acquire(v)) < 0)
		return r;
	return pool_join(v);
}

/* Our own member entry after a refresh: 0 (*m set), -ENOENT (dom0
 * removed us from the pool) or another -errno. */
static int refresh_me(struct vbd_volume *v, struct vbd_member **m)
{
	struct backd *bd = v->bd;
	char *node = vbd_xs_get(bd->xs, XBT_NULL, VBD_XS_MEMBER, v->id, bd->me);
	int gone = !node && (errno == ENOENT || errno == EACCES);

	free(node);
	if (gone)
		return -ENOENT;
	if (pool_refresh_members(v) < 0)
		return -EAGAIN; /* cannot tell now */
	*m = pool_member(v, bd->me);
	return *m ? 0 : -ENOENT;
}

/* dom0 removed us from the pool: stop serving the volume (we may no longer
 * write its records; the others claim our queues). */
static void removed_from_pool(struct vbd_volume *v)
{
	vol_warn(v, "domain %u was removed from the pool: not serving it", v->bd->me);
	stop_all_queues(v, "removed from the pool");
	v->joined = 0;
	vbd_log_once_reset(&v->not_member_log);
	/* the volume may come back with another backing */
	path_stop(v);
	vbd_backing_close(&v->backing);
	v->ready = 0;
	vbd_log_once_reset(&v->setup_log);
}

/* The supervisor fenced or declared us dead. 0: go on reconciling (joined
 * again), or -errno: stop here. */
static int declared_gone(struct vbd_volume *v, enum vbd_member_state st)
{
	struct backd *bd = v->bd;

	if (st == VBD_MEMBER_FENCED) {
		/* The supervisor stopped our domain (paused: we were resumed) and
		 * the others took our queues.  Submit nothing more, drop every
		 * mapping, and exit: a fenced member comes back only as a new
		 * one, after the admin's `vbdpoolctl member unfence`. */
		vol_err(v,
			"this member was fenced by the supervisor: dropping every "
			"queue and exiting (run `vbdpoolctl member unfence %s %u` in dom0 once it "
			"is safe, then start vbdpool-backd again)",
			v->id, bd->me);
		stop_all_queues(v, "fenced by the supervisor");
		v->joined = 0;
		bd->fenced = 1;
		return -ESHUTDOWN;
	}
	/* The supervisor declared us gone (we were paused and resumed, or it
	 * erred): the others take our queues over. Drop every mapping first,
	 * waiting for our I/O in flight, so that nothing of ours lands later;
	 * then join again as a new member. */
	vol_err(v,
		"the supervisor marked this member %s: dropping every queue "
		"and joining again",
		vbd_member_state_name(st));
	stop_all_queues(v, "declared dead by the supervisor");
	v->joined = 0;
	if (bd->leaving)
		return -ESHUTDOWN;
	return pool_join(v);
}

static void reconcile(struct vbd_volume *v)
{
	struct vbd_member *m = NULL;
	int r;

	v->dirty = 0;
	if (inst_check(v) < 0)
		return; /* another vbdpool-backd serves it in this domain */
	if (ensure_joined(v) < 0)
		return;
	r = refresh_me(v, &m);
	if (r == -ENOENT) {
		removed_from_pool(v);
		return;
	}
	if (r < 0)
		return;
	if (m->state_ok && (m->state == VBD_MEMBER_FENCED || m->state == VBD_MEMBER_DEAD) &&
	    declared_gone(v, m->state) < 0)
		return;
	if (storage_check_buffered(v) < 0)
		return; /* no O_DIRECT, and no longer the only member: mismatch */
	if (pool_refresh_attachments(v) < 0)
		return;
	for (struct vbd_attach *a = v->atts; a; a = a->next) {
		policy_reconcile_attachment(v, a);
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
				conn_frontend_changed(v, a, q);
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
		struct vbd_volume *v = bd->vols[i];
		if (v->joined)
			pool_set_state(v, VBD_MEMBER_LEAVING);
		v->dirty = 1;
	}
}

/* Deadline passed: stop what is left and give the records back. */
static void force_release(struct backd *bd)
{
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = bd->vols[i];
		for (struct vbd_attach *a = v->atts; a; a = a->next)
			for (unsigned q = 0; q < a->nq; q++) {
				struct vbd_qslot *s = &a->qs[q];
				if (s->rec_ok && s->rec.owner == bd->me)
					own_release(v, a, q);
				own_stop_queue(v, s, "leave deadline");
			}
	}
}

static int is_heartbeat(const char *path)
{
	size_t n = strlen(path);
	return n > 10 && !strcmp(path + n - 10, "/heartbeat");
}

static struct vbd_volume *volume_of_path(struct backd *bd, const char *path);
static void volume_event(struct vbd_volume *v, const char *path);

/* A frontend event (the one watch on /local/domain): it concerns one queue
 * (or none) of the attachment whose frontend directory it is under, never
 * the whole volume. */
static void frontend_event(struct backd *bd, const char *path)
{
	for (unsigned i = 0; i < bd->nvols; i++)
		if (pool_frontend_event(bd->vols[i], path))
			return;
}

static void handle_watches(struct backd *bd)
{
	char **ev;

	while ((ev = xs_check_watch(bd->xs))) {
		const char *tok = ev[XS_WATCH_TOKEN], *path = ev[XS_WATCH_PATH];
		struct vbd_volume *v;
		unsigned idx;

		if (tok[0] == 'i' && !tok[1])
			bd->idx_dirty = 1;
		else if (!strcmp(tok, STATPUB_TOKEN))
			statpub_event(bd); /* vbdpoolctl top asks */
		else if (tok[0] == 'V' && !tok[1] && (v = volume_of_path(bd, path)))
			volume_event(v, path);
		else if (tok[0] == 'F' && !tok[1])
			frontend_event(bd, path);
		else if (tok[0] == 'f' && tok[1] == ':' && sscanf(tok + 2, "%u", &idx) == 1 &&
			 idx < bd->nvols)
			pool_frontend_event(bd->vols[idx], path); /* a watch of its own */
		free(ev);
	}
}

/* The control loop's descriptors and timers. */
struct ctl {
	struct backd *bd;
	int tfd, sfd;
	struct itimerspec its;
	uint64_t next_bal;
	unsigned lease_rounds;
	struct pollfd pfd[4];
};

enum { PFD_XS, PFD_REPORT, PFD_TIMER, PFD_SIGNAL };

/* The timer ticks every heartbeat period (bd->hb_ms). */
static int ctl_arm_timer(struct ctl *c)
{
	unsigned ms = c->bd->hb_ms;

	c->its.it_interval =
	    (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	c->its.it_value = c->its.it_interval;
	return timerfd_settime(c->tfd, 0, &c->its, NULL) < 0 ? -errno : 0;
}

/* A volume to reconcile as soon as the loop runs (its events come through
 * the one watch on /vbdpool/volumes). */
static int ctl_watch_volume(struct backd *bd, struct vbd_volume *v)
{
	(void)bd;
	v->vol_watching = 1;
	v->dirty = 1;
	return 0;
}

/* One watch for every volume (/vbdpool/volumes), one for every frontend
 * (/local/domain): xenstored sends an event only for a node this domain
 * may read, so they bring the events of its volumes and of their guests'
 * frontend directories, in O(1) watches whatever the number of devices
 * (Xen's default quota is 128 watches per domain). With no --volume also
 * this domain's index of volumes (/vbdpool/members-of/<me>). */
static int ctl_watch_volumes(struct backd *bd)
{
	int rc = 0;

	if (!xs_watch(bd->xs, VBD_XS_VOLUMES, "V")) {
		log_err("cannot watch %s: %s", VBD_XS_VOLUMES, strerror(errno));
		rc = -errno;
	}
	if (xs_watch(bd->xs, "/local/domain", "F"))
		bd->fe_watch_all = 1;
	else
		log_warn("cannot watch /local/domain: %s: watching each frontend instead",
			 strerror(errno));
	if (bd->all) {
		char path[VBD_XS_PATH_MAX];

		snprintf(path, sizeof(path), VBD_XS_MEMBER_OF_DOM, bd->me);
		if (!xs_watch(bd->xs, path, "i")) {
			log_err("cannot watch %s: %s (`member add` of this domain goes unnoticed)",
				path, strerror(errno));
			rc = -errno;
		} else {
			bd->idx_watching = 1;
		}
	}
	for (unsigned i = 0; i < bd->nvols; i++)
		ctl_watch_volume(bd, bd->vols[i]);
	return rc;
}

/* The volume an event under /vbdpool/volumes/<id> concerns (NULL: none we
 * serve). */
static struct vbd_volume *volume_of_path(struct backd *bd, const char *path)
{
	static const char pre[] = VBD_XS_VOLUMES "/";
	char id[VBD_VOLUME_ID_MAX + 1];
	const char *p = path + sizeof(pre) - 1, *e;

	if (strncmp(path, pre, sizeof(pre) - 1))
		return NULL;
	e = strchr(p, '/');
	if (!e)
		e = p + strlen(p);
	if (e == p || (size_t)(e - p) > VBD_VOLUME_ID_MAX)
		return NULL;
	memcpy(id, p, (size_t)(e - p));
	id[e - p] = 0;
	return pool_find_volume(bd, id);
}

/* A volume event: the whole volume is reconciled, except for heartbeats
 * (nothing to do) and loads (read before the next balance round). */
static void volume_event(struct vbd_volume *v, const char *path)
{
	if (vbd_member_load_path(path))
		v->loads_dirty = 1;
	else if (!is_heartbeat(path) && !statpub_is_stats_path(path))
		v->dirty = 1;
}

/* This domain's index changed: serve (and watch) the volumes new in it.
 * A volume dropped from it is seen on its own watch (members/<me> gone). */
static void ctl_index_changed(struct backd *bd)
{
	unsigned before = bd->nvols;
	int r;

	bd->idx_dirty = 0;
	r = pool_index_scan(bd, NULL);
	if (r < 0)
		log_warn("cannot list this domain's volumes: %s", strerror(-r));
	for (unsigned i = before; i < bd->nvols; i++)
		ctl_watch_volume(bd, bd->vols[i]);
}

/* The signalfd, the timer, the watches and the heartbeat thread. 0, or
 * -errno with nothing left open; *rc is BACKD_EXIT_ERROR if a watch failed. */
static int ctl_setup(struct ctl *c, struct backd *bd, int *rc)
{
	sigset_t sigs;
	int r;

	memset(c, 0, sizeof(*c));
	c->bd = bd;
	c->next_bal = backd_now_ms() + VBD_BALANCE_MS;
	/* the heartbeat beats at least 4 times per supervisor lease; balance
	 * and the periodic reconcile keep their VBD_BALANCE_MS round */
	__atomic_store_n(&bd->hb_ms, hb_period_ms(bd), __ATOMIC_RELAXED);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	c->sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->sfd < 0 || c->tfd < 0 || ctl_arm_timer(c) < 0) {
		log_err("cannot set up the control loop: %s", strerror(errno));
		return -errno; /* (the process exits: nothing to close) */
	}
	if (ctl_watch_volumes(bd) < 0)
		*rc = BACKD_EXIT_ERROR;
	statpub_watch(bd); /* (without it, top shows nothing of this member) */
	r = hb_start(bd);
	if (r < 0) {
		log_err("cannot start the heartbeat thread: %s", strerror(-r));
		close(c->tfd);
		close(c->sfd);
		return r;
	}
	c->pfd[PFD_XS] = (struct pollfd){.fd = xs_fileno(bd->xs), .events = POLLIN};
	c->pfd[PFD_REPORT] = (struct pollfd){.fd = bd->report_fd, .events = POLLIN};
	c->pfd[PFD_TIMER] = (struct pollfd){.fd = c->tfd, .events = POLLIN};
	c->pfd[PFD_SIGNAL] = (struct pollfd){.fd = c->sfd, .events = POLLIN};
	return 0;
}

/* Reconcile what is dirty; then, is the loop done? -EAGAIN: go on;
 * else the exit status. */
static int ctl_reconcile(struct backd *bd)
{
	if (bd->idx_dirty)
		ctl_index_changed(bd);
	for (unsigned i = 0; i < bd->nvols; i++)
		if (bd->vols[i]->dirty)
			reconcile(bd->vols[i]);
	if (bd->fenced)
		return BACKD_EXIT_FENCED;
	for (unsigned i = 0; i < bd->nvols; i++)
		if (bd->vols[i]->fe_dirty)
			frontend_changed(bd->vols[i]);
	if (inst_none_left(bd)) {
		log_err("another vbdpool-backd serves every volume of this one: exiting");
		return BACKD_EXIT_ERROR;
	}
	if (bd->leaving) {
		int owned = 0;
		for (unsigned i = 0; i < bd->nvols; i++)
			owned |= owns_anything(bd->vols[i]);
		if (!owned) {
			log_info("left: no queues owned");
			return BACKD_EXIT_OK;
		}
		if (backd_now_ms() >= bd->leave_deadline) {
			log_warn("leave deadline passed: releasing what is left");
			force_release(bd);
			return BACKD_EXIT_OK;
		}
	}
	return -EAGAIN;
}

/* The data threads or the path checker reported: the EIO policy, then a
 * reconcile of every volume. */
static void ctl_on_report(struct backd *bd)
{
	eventfd_t junk;

	if (eventfd_read(bd->report_fd, &junk) == 0)
		for (unsigned i = 0; i < bd->nvols; i++) {
			check_storage(bd->vols[i]);
			bd->vols[i]->dirty = 1;
		}
}

/* Every 8 rounds: a supervisor started (or restarted with another lease)
 * after us: beat and gate by its lease. */
static void ctl_check_lease(struct ctl *c)
{
	struct backd *bd = c->bd;
	unsigned hb = ++c->lease_rounds % 8 ? bd->hb_ms : hb_period_ms(bd);

	if (hb == bd->hb_ms)
		return;
	__atomic_store_n(&bd->hb_ms, hb, __ATOMIC_RELAXED);
	ctl_arm_timer(c);
	log_info("supervisor lease %u ms: heartbeat every %u ms", bd->lease_ms, bd->hb_ms);
}

/* Timer tick: load published (when it changed); every VBD_BALANCE_MS a
 * balance round and a reconcile of the volumes that wait for time. */
static void ctl_on_timer(struct ctl *c)
{
	struct backd *bd = c->bd;
	uint64_t ticks;
	int round;

	if (read(c->tfd, &ticks, sizeof(ticks)) < 0) {
		/* EAGAIN: spurious */
	}
	round = backd_now_ms() >= c->next_bal;
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = bd->vols[i];
		if (v->joined)
			hb_publish(v); /* written when it changed */
		if (!round)
			continue;
		/* event-driven: a settled volume is reconciled on its watches
		 * only; a round re-reads only what waits for time, and the
		 * members' loads only when one changed */
		if (policy_wants_round(v))
			v->dirty = 1;
		else if (v->loads_dirty && v->joined && pool_refresh_members(v) == 0)
			v->loads_dirty = 0;
	}
	if (!round)
		return;
	c->next_bal = backd_now_ms() + VBD_BALANCE_MS - bd->hb_ms / 2;
	bal_round(bd);
	ctl_check_lease(c);
}

static void ctl_on_signal(struct ctl *c)
{
	struct signalfd_siginfo si;

	if (read(c->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		log_info("signal %u", si.ssi_signo);
	begin_leave(c->bd);
}

/* One wait and what it brought. -EAGAIN: go on; else the exit status. */
static int ctl_wait(struct ctl *c)
{
	struct pollfd *pfd = c->pfd;

	if (poll(pfd, 4, -1) < 0) {
		if (errno == EINTR)
			return -EAGAIN;
		log_err("poll: %s", strerror(errno));
		return BACKD_EXIT_ERROR;
	}
	if (pfd[PFD_XS].revents & POLLIN)
		handle_watches(c->bd);
	if (pfd[PFD_XS].revents & (POLLHUP | POLLERR)) {
		log_err("lost the XenStore connection");
		return BACKD_EXIT_ERROR;
	}
	if (pfd[PFD_REPORT].revents & POLLIN)
		ctl_on_report(c->bd);
	if (pfd[PFD_TIMER].revents & POLLIN)
		ctl_on_timer(c);
	if (pfd[PFD_SIGNAL].revents & POLLIN)
		ctl_on_signal(c);
	return -EAGAIN;
}

/* Nothing left running: the heartbeat thread, attachments, path checkers,
 * backings. */
static void ctl_shutdown(struct ctl *c, int rc)
{
	struct backd *bd = c->bd;

	hb_stop(bd); /* no beat after this: a clean stop withdraws it below */
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = bd->vols[i];
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
		bal_free(v);
	}
	if (bd->leaving && rc == 0)
		hb_withdraw_domain(bd);
	statpub_free();
	close(c->tfd);
	close(c->sfd);
}

int control_run(struct backd *bd)
{
	struct ctl c;
	int rc = BACKD_EXIT_OK, r;

	if (ctl_setup(&c, bd, &rc) < 0)
		return BACKD_EXIT_ERROR;
	for (;;) {
		r = ctl_reconcile(bd);
		if (r == -EAGAIN)
			r = ctl_wait(&c);
		if (r != -EAGAIN)
			break;
	}
	/* a failed watch at the start makes even a clean exit an error */
	if (r != BACKD_EXIT_OK || rc == BACKD_EXIT_OK)
		rc = r;
	ctl_shutdown(&c, rc);
	return rc;
}
