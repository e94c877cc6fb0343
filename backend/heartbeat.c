/* SPDX-License-Identifier: MIT */
/* Heartbeat and load publishing: members/<me>/heartbeat from its own
 * thread (and the member's own lease, self-fencing), members/<me>/load
 * every round from the control thread, computed from the data threads'
 * counters. */
#include "backd.h"

#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "statpub.h"
#include "vbdpool/clock.h"
#include "vbdpool/grow.h"
#include "vbdpool/log.h"

int hb_watch_queue(struct vbd_volume *v, struct vbd_queue *q)
{
	int r;

	pthread_mutex_lock(&v->ioq_lock);
	r = VBD_GROW(v->ioq, v->nioq, v->ioq_cap, 16);
	if (!r)
		v->ioq[v->nioq++] = q;
	pthread_mutex_unlock(&v->ioq_lock);
	return r;
}

/* A queue stops: its counters go on counting in the volume's load (the
 * retired ones' in-flight count is not used: hb_publish takes it afresh),
 * and the heartbeat thread looks at it no more (before it is freed). */
void hb_retire_queue(struct vbd_volume *v, struct vbd_queue *q)
{
	vbdq_stats_add(q, &v->hb.retired);
	statpub_retire(v, q); /* and in its attachment's, for vbdpoolctl top */
	pthread_mutex_lock(&v->ioq_lock);
	for (unsigned i = 0; i < v->nioq; i++)
		if (v->ioq[i] == q) {
			v->ioq[i] = v->ioq[--v->nioq];
			break;
		}
	pthread_mutex_unlock(&v->ioq_lock);
}

/* A storage path that hangs (docs/protocol.md "Storage that hangs"): a
 * request in a queue's engine for --io-timeout-ms.  The heartbeat goes on
 * (this domain is alive), but the guest's requests on our queues would
 * wait for ever: members/<me>/io-stuck says so, and the supervisor fences
 * this domain when another member can serve.  The node goes when no
 * request is that old any more.  Heartbeat thread, on its own connection. */
static void watch_stuck(struct vbd_volume *v, struct xs_handle *xs, uint64_t now)
{
	unsigned limit = v->bd->cfg.io_timeout_ms;
	char path[VBD_XS_PATH_MAX], buf[24];
	uint64_t oldest = 0, age_ms;

	pthread_mutex_lock(&v->ioq_lock);
	for (unsigned i = 0; i < v->nioq && limit; i++) {
		uint64_t s = vbdq_io_waiting_since(v->ioq[i]);
		if (s && (!oldest || s < oldest))
			oldest = s;
	}
	pthread_mutex_unlock(&v->ioq_lock);
	age_ms = oldest && now > oldest ? (now - oldest) / 1000000u : 0;
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/io-stuck", v->id, v->bd->me);
	if (limit && age_ms >= limit && v->stuck_pub != 1) {
		snprintf(buf, sizeof(buf), "%" PRIu64, age_ms);
		if (vbd_xs_write(xs, XBT_NULL, path, buf) < 0) {
			vol_warn(v, "cannot write io-stuck");
			return;
		}
		v->stuck_pub = 1;
		vol_err(v,
			"a storage request outstanding for %" PRIu64 " ms (--io-timeout-ms %u): "
			"the path hangs; io-stuck published, for the supervisor to fence this "
			"domain if another member can serve",
			age_ms, limit);
	} else if ((!limit || age_ms < limit) && v->stuck_pub) {
		if (!xs_rm(xs, XBT_NULL, path) && errno != ENOENT) {
			vol_warn(v, "cannot remove io-stuck: %s", strerror(errno));
			return;
		}
		if (v->stuck_pub == 1)
			vol_info(v, "storage requests complete again: io-stuck withdrawn");
		v->stuck_pub = 0;
	}
}

/* Self-fencing (docs/protocol.md): after a heartbeat written at t0, and
 * the member's state read back as neither fenced nor dead, the data
 * threads may take new requests until t0 + 3/4 of the lease: the
 * supervisor fences only after a whole lease without a heartbeat change,
 * so a member that was paused past that stops before anything else.
 * lease_ok: 1 the state was read back fine, 0 not (no renewal). */
static void set_lease(struct vbd_volume *v, uint64_t t0, int lease_ok)
{
	struct backd *bd = v->bd;
	unsigned lease = __atomic_load_n(&bd->lease_ms, __ATOMIC_RELAXED);

	if (!lease) /* no supervisor: nobody fences, nothing to gate */
		atomic_store_explicit(&v->lease_until_ns, 0, memory_order_release);
	else if (lease_ok)
		atomic_store_explicit(&v->lease_until_ns, t0 + (uint64_t)lease * 750000u,
				      memory_order_release);
	else if (bd->report_fd >= 0)
		eventfd_write(bd->report_fd, 1); /* the control thread reconciles */
}

/* Is the member's state in v, read through xs, neither fenced nor dead?
 * (Only read while a supervisor publishes a lease.) */
static int state_ok(struct vbd_volume *v, struct xs_handle *xs)
{
	char path[VBD_XS_PATH_MAX], *st;
	int ok;

	if (!__atomic_load_n(&v->bd->lease_ms, __ATOMIC_RELAXED))
		return 1;
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/state", v->id, v->bd->me);
	st = vbd_xs_get(xs, XBT_NULL, path);
	ok = st && strcmp(st, "fenced") && strcmp(st, "dead");
	free(st);
	return ok;
}

/* The domain's one heartbeat (/vbdpool/domains/<me>/heartbeat): 0, or
 * -errno when it cannot be written (no such node: a member added by an
 * older vbdpoolctl, which made none). */
static int beat_domain(struct backd *bd, struct xs_handle *xs)
{
	char path[VBD_XS_PATH_MAX], buf[24];

	/* a member cannot create /vbdpool/domains/<me> (dom0's /vbdpool/domains
	 * is n0): without it this write is refused (EACCES) */
	snprintf(path, sizeof(path), VBD_XS_DOMAIN_HB, bd->me);
	snprintf(buf, sizeof(buf), "%" PRIu64, backd_now_ms());
	return vbd_xs_write(xs, XBT_NULL, path, buf);
}

/* The volume's own heartbeat (members/<me>/heartbeat), for a domain
 * without its node. */
static void beat_volume(struct vbd_volume *v, struct xs_handle *xs, uint64_t t0)
{
	char path[VBD_XS_PATH_MAX], buf[24];

	snprintf(path, sizeof(path), VBD_XS_MEMBER "/heartbeat", v->id, v->bd->me);
	snprintf(buf, sizeof(buf), "%" PRIu64, backd_now_ms());
	if (vbd_xs_write(xs, XBT_NULL, path, buf) < 0)
		vol_warn(v, "cannot write heartbeat");
	else
		set_lease(v, t0, state_ok(v, xs));
}

void hb_beat(struct vbd_volume *v, struct xs_handle *xs)
{
	uint64_t t0 = vbd_now_ns(); /* before the write the lease rests on */

	if (beat_domain(v->bd, xs) == 0)
		set_lease(v, t0, state_ok(v, xs));
	else
		beat_volume(v, xs, t0);
}

/* One beat of the heartbeat thread: one write for the domain and one
 * state read (in the first joined volume: the supervisor writes a verdict,
 * fenced or dead, in every volume of the domain in one transaction), then
 * every joined volume's lease; without the domain's node, one beat per
 * volume as before. Under vols_lock. */
static void beat_all(struct backd *bd, struct xs_handle *xs)
{
	uint64_t t0 = vbd_now_ns();
	int ok = -1;

	if (beat_domain(bd, xs) < 0) {
		for (unsigned i = 0; i < bd->nvols; i++)
			if (__atomic_load_n(&bd->vols[i]->joined, __ATOMIC_ACQUIRE) &&
			    !__atomic_load_n(&bd->beat_stop, __ATOMIC_ACQUIRE)) {
				beat_volume(bd->vols[i], xs, t0);
				watch_stuck(bd->vols[i], xs, t0);
			}
		return;
	}
	bd->beat_domain = 1;
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = bd->vols[i];

		if (!__atomic_load_n(&v->joined, __ATOMIC_ACQUIRE))
			continue;
		if (ok < 0)
			ok = state_ok(v, xs);
		set_lease(v, t0, ok);
		watch_stuck(v, xs, t0);
	}
}

/* The heartbeat's own thread and XenStore connection: a control thread
 * busy with a takeover (claims, connects, transactions retried under
 * contention) must neither look hung to the supervisor nor let the data
 * threads' lease run out. */
static void *beat_thread(void *arg)
{
	struct backd *bd = arg;

	while (!__atomic_load_n(&bd->beat_stop, __ATOMIC_ACQUIRE)) {
		unsigned ms = __atomic_load_n(&bd->hb_ms, __ATOMIC_RELAXED);
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
		int any = 0;

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&bd->vols_lock);
		for (unsigned i = 0; i < bd->nvols && !any; i++)
			any = __atomic_load_n(&bd->vols[i]->joined, __ATOMIC_ACQUIRE);
		if (any && !__atomic_load_n(&bd->beat_stop, __ATOMIC_ACQUIRE))
			beat_all(bd, bd->beat_xs);
		pthread_mutex_unlock(&bd->vols_lock);
	}
	return NULL;
}

int hb_start(struct backd *bd)
{
	int r;

	bd->beat_xs = xs_open(0);
	if (!bd->beat_xs)
		return -errno;
	r = pthread_create(&bd->beat_thr, NULL, beat_thread, bd);
	if (r) {
		xs_close(bd->beat_xs);
		bd->beat_xs = NULL;
		return -r;
	}
	bd->beat_started = 1;
	return 0;
}

void hb_stop(struct backd *bd)
{
	if (!bd->beat_started)
		return;
	__atomic_store_n(&bd->beat_stop, 1, __ATOMIC_RELEASE);
	pthread_join(bd->beat_thr, NULL);
	xs_close(bd->beat_xs);
	bd->beat_xs = NULL;
	bd->beat_started = 0;
}

void hb_forget_latency(struct vbd_volume *v)
{
	v->hb.my_load.lat_us = 0;
	v->hb.my_load.p99_us = 0;
	v->hb.last_io_ms = 0;
	v->hb.last_ms = 0; /* the next publish starts a new window */
}

void hb_publish(struct vbd_volume *v)
{
	struct backd *bd = v->bd;
	struct vbd_stats_snap now = v->hb.retired;
	struct vbd_member_load *l = &v->hb.my_load;
	char path[VBD_XS_PATH_MAX], buf[256];
	uint64_t ms = backd_now_ms(), dt, dops;
	unsigned queues = 0;

	now.inflight = 0;
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++)
			if (a->qs[q].q) {
				vbdq_stats_add(a->qs[q].q, &now);
				queues++;
			}
	dt = v->hb.last_ms && ms > v->hb.last_ms ? ms - v->hb.last_ms : 0;
	dops = now.ops - v->hb.last.ops;
	l->inflight = now.inflight;
	l->queues = queues;
	l->cost = bd->cfg.cost;
	if (dt) {
		l->iops = dops * 1000 / dt;
		l->bytes_per_s = (now.bytes - v->hb.last.bytes) * 1000 / dt;
		if (dops) {
			l->lat_us = (now.lat_us_sum - v->hb.last.lat_us_sum) / dops;
			l->p99_us = vbd_stats_percentile(&now, &v->hb.last, 99);
			v->hb.last_io_ms = ms;
		} else if (ms - v->hb.last_io_ms >= VBD_SLOW_PROBE_MS) {
			/* idle: keep the last figures for a while, so that a member
			 * that shed its queues for being slow is not given them back
			 * at once (balance.c); then forget them (it may probe again) */
			l->lat_us = 0;
			l->p99_us = 0;
		}
	}
	v->hb.last = now;
	v->hb.last_ms = ms;

	/* on change only: an idle member's load stays the same, and every
	 * write wakes each member watching the volume */
	vbd_member_load_format(l, buf, sizeof(buf));
	if (!strcmp(buf, v->hb.written))
		return;
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/load", v->id, bd->me);
	if (vbd_xs_write(bd->xs, XBT_NULL, path, buf) < 0)
		vol_warn(v, "cannot write load");
	else
		snprintf(v->hb.written, sizeof(v->hb.written), "%s", buf);
}

void hb_withdraw(struct vbd_volume *v)
{
	char path[VBD_XS_PATH_MAX];

	if (v->bd->beat_domain)
		return; /* hb_withdraw_domain */
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/heartbeat", v->id, v->bd->me);
	if (!xs_rm(v->bd->xs, XBT_NULL, path) && errno != ENOENT)
		vol_warn(v, "cannot remove the heartbeat: %s", strerror(errno));
}

void hb_withdraw_domain(struct backd *bd)
{
	char path[VBD_XS_PATH_MAX];

	if (!bd->beat_domain)
		return;
	snprintf(path, sizeof(path), VBD_XS_DOMAIN_HB, bd->me);
	if (!xs_rm(bd->xs, XBT_NULL, path) && errno != ENOENT)
		log_warn("cannot remove the heartbeat %s: %s", path, strerror(errno));
}

int hb_read(struct vbd_volume *v, struct xs_handle *xs, char *out, size_t n)
{
	char *s;

	out[0] = 0;
	s = vbd_xs_get(xs, XBT_NULL, VBD_XS_DOMAIN_HB, v->bd->me);
	if (!s && errno == ENOENT)
		s = vbd_xs_get(xs, XBT_NULL, VBD_XS_MEMBER "/heartbeat", v->id, v->bd->me);
	if (!s)
		return errno == ENOENT ? 0 : -errno;
	snprintf(out, n, "%s", s);
	free(s);
	return 1;
}

unsigned hb_period_ms(struct backd *bd)
{
	char *s = vbd_xs_get(bd->xs, XBT_NULL, VBD_XS_LEASE);
	uint64_t lease = VBD_LEASE_MS;
	unsigned ms;

	if (s && vbd_parse_u64(s, 600000, &lease) < 0)
		lease = VBD_LEASE_MS;
	/* no supervisor publishing a lease: nobody fences, nothing to gate */
	__atomic_store_n(&bd->lease_ms, s ? (unsigned)lease : 0, __ATOMIC_RELAXED);
	free(s);
	ms = (unsigned)(lease / 4);
	if (ms > VBD_HEARTBEAT_MS)
		ms = VBD_HEARTBEAT_MS;
	return ms < 25 ? 25 : ms;
}
