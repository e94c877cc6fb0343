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
#include "vbdpool/log.h"

/* A queue stops: its counters go on counting in the volume's load (the
 * retired ones' in-flight count is not used: hb_publish takes it afresh). */
void hb_retire_queue(struct vbd_volume *v, struct vbd_queue *q)
{
	vbdq_stats_add(q, &v->hb.retired);
	statpub_retire(v, q); /* and in its attachment's, for vbdpoolctl top */
}

/* Self-fencing (docs/protocol.md): after a heartbeat written at t0, and
 * the member's state read back as neither fenced nor dead, the data
 * threads may take new requests until t0 + 3/4 of the lease: the
 * supervisor fences only after a whole lease without a heartbeat change,
 * so a member that was paused past that stops before anything else. */
static void renew_lease(struct vbd_volume *v, struct xs_handle *xs, uint64_t t0)
{
	struct backd *bd = v->bd;
	char path[VBD_XS_PATH_MAX], *st;
	unsigned lease = __atomic_load_n(&bd->lease_ms, __ATOMIC_RELAXED);
	int ok;

	if (!lease) { /* no supervisor: nobody fences, nothing to gate */
		atomic_store_explicit(&v->lease_until_ns, 0, memory_order_release);
		return;
	}
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/state", v->id, bd->me);
	st = vbd_xs_get(xs, XBT_NULL, path);
	ok = st && strcmp(st, "fenced") && strcmp(st, "dead");
	free(st);
	if (ok)
		atomic_store_explicit(&v->lease_until_ns, t0 + (uint64_t)lease * 750000u,
				      memory_order_release);
	else if (bd->report_fd >= 0)
		eventfd_write(bd->report_fd, 1); /* the control thread reconciles */
}

void hb_beat(struct vbd_volume *v, struct xs_handle *xs)
{
	char path[VBD_XS_PATH_MAX], buf[24];
	uint64_t t0 = vbd_now_ns(); /* before the write the lease rests on */

	snprintf(path, sizeof(path), VBD_XS_MEMBER "/heartbeat", v->id, v->bd->me);
	snprintf(buf, sizeof(buf), "%" PRIu64, backd_now_ms());
	if (vbd_xs_write(xs, XBT_NULL, path, buf) < 0)
		log_warn("volume %s: cannot write heartbeat", v->id);
	else
		renew_lease(v, xs, t0);
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

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&bd->vols_lock);
		for (unsigned i = 0; i < bd->nvols; i++)
			if (__atomic_load_n(&bd->vols[i]->joined, __ATOMIC_ACQUIRE) &&
			    !__atomic_load_n(&bd->beat_stop, __ATOMIC_ACQUIRE))
				hb_beat(bd->vols[i], bd->beat_xs);
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

	snprintf(path, sizeof(path), VBD_XS_MEMBER "/load", v->id, bd->me);
	vbd_member_load_format(l, buf, sizeof(buf));
	if (vbd_xs_write(bd->xs, XBT_NULL, path, buf) < 0)
		log_warn("volume %s: cannot write load", v->id);
}

void hb_withdraw(struct vbd_volume *v)
{
	char path[VBD_XS_PATH_MAX];

	snprintf(path, sizeof(path), VBD_XS_MEMBER "/heartbeat", v->id, v->bd->me);
	if (!xs_rm(v->bd->xs, XBT_NULL, path) && errno != ENOENT)
		log_warn("volume %s: cannot remove the heartbeat: %s", v->id, strerror(errno));
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
