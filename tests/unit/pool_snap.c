/* SPDX-License-Identifier: MIT */
/*
 * The typed pool snapshot (common/pool, vbdpool/pool_snap.h) against the
 * emulator's XenStore server in this process: a well-formed pool read
 * whole, per volume and inside a transaction; every malformed field marks
 * its entry invalid with a reason and leaves the typed value zero; missing
 * nodes are ABSENT; bad names are skipped; `what` reads only what it says.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>

#include "check.h"
#include "vbdpool/pool_snap.h"
#include "simloop.h"
#include "xs_server.h"

static struct simloop *loop;
static struct xs_server *srv;
static int lfd, stop_pipe[2];
static char dir[64], sock[128];

static void on_accept(void *arg, uint32_t ev)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	(void)arg;
	(void)ev;
	if (fd >= 0 && xs_server_add_conn(srv, fd, 0) < 0)
		close(fd);
}

static void on_stop(void *arg, uint32_t ev)
{
	(void)arg;
	(void)ev;
	simloop_stop(loop);
}

static void *run_loop(void *arg)
{
	(void)arg;
	simloop_run(loop);
	return NULL;
}

static void cleanup(void)
{
	unlink(sock);
	rmdir(dir);
}

/* A XenStore server in a thread, and a dom0 connection to it. */
static struct xs_handle *start(pthread_t *th)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct xs_handle *h;

	snprintf(dir, sizeof(dir), "/tmp/pool_snap_test.XXXXXX");
	if (!mkdtemp(dir) || pipe(stop_pipe))
		abort();
	snprintf(sock, sizeof(sock), "%s/xs", dir);
	atexit(cleanup);
	snprintf(a.sun_path, sizeof(a.sun_path), "%.100s", sock);
	loop = simloop_new();
	srv = loop ? xs_server_new(loop) : NULL;
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!srv || lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4) ||
	    simloop_add(loop, lfd, EPOLLIN, on_accept, NULL) ||
	    simloop_add(loop, stop_pipe[0], EPOLLIN, on_stop, NULL) ||
	    pthread_create(th, NULL, run_loop, NULL))
		abort();
	setenv("XENSTORED_PATH", sock, 1);
	h = xs_open(0);
	if (!h) {
		perror("xs_open");
		exit(1);
	}
	return h;
}

static void stop(struct xs_handle *h, pthread_t th)
{
	xs_close(h);
	if (write(stop_pipe[1], "x", 1) != 1)
		abort();
	pthread_join(th, NULL);
	xs_server_free(srv);
	simloop_free(loop);
	close(lfd);
}

static void put(struct xs_handle *h, const char *path, const char *val)
{
	if (!xs_write(h, XBT_NULL, path, val, strlen(val))) {
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

#define V1	"/vbdpool/volumes/vol1"
#define V2	"/vbdpool/volumes/vol2"
#define LONG_ID "a234567890123456789012345678901234567890123456789012345678901234b"

static void good_pool(struct xs_handle *h)
{
	put(h, "/vbdpool/supervisor/pid", "4242");
	put(h, "/vbdpool/supervisor/lease-ms", "1000");
	put(h, V1 "/size", "1048576");
	put(h, V1 "/sector-size", "512");
	put(h, V1 "/backing", "/dev/shared");
	put(h, V1 "/storage-id", "wwid:abc");
	put(h, V1 "/storage-size", "2097152");
	put(h, V1 "/members/1/state", "active");
	put(h, V1 "/members/1/heartbeat", "123456");
	put(h, V1 "/members/1/load",
	    "inflight=3 iops=100 bps=4096 lat-us=50 p99-us=90 queues=2 cost=100");
	put(h, V1 "/members/2/state", "failed");
	put(h, V1 "/members/2/failed-reason", "EIO, then path check");
	put(h, V1 "/members/2/failed-since", "1700000000000");
	put(h, V1 "/members/3", ""); /* nothing written yet */
	put(h, V1 "/attachments/5-0/num-queues", "2");
	put(h, V1 "/attachments/5-0/frontend", "/local/domain/5/device/vbdpool/0");
	put(h, V1 "/attachments/5-0/queue-0", "owner=1 epoch=3 state=connected");
	put(h, V1 "/attachments/5-0/queue-1", "owner=2 epoch=7 state=draining target=1");
	put(h, "/local/domain/5/device/vbdpool/0/state", "4");
}

static void bad_pool(struct xs_handle *h)
{
	put(h, V2 "/size", "1000"); /* not a multiple of 512 */
	put(h, V2 "/storage-size", "12x");
	put(h, V2 "/members/3/state", "zombie");
	put(h, V2 "/members/4/heartbeat", "-1");
	put(h, V2 "/members/5/load", "inflight=x");
	put(h, V2 "/members/6/failed-since", " 5");
	put(h, V2 "/members/7/state", "active");
	put(h, V2 "/members/7/heartbeat", "18446744073709551616"); /* 2^64 */
	put(h, V2 "/members/abc", "");
	put(h, V2 "/members/32752", ""); /* DOMID_FIRST_RESERVED */
	put(h, V2 "/members/1e3", "");
	put(h, V2 "/attachments/x-y", "");
	put(h, V2 "/attachments/6-1/num-queues", "65");
	put(h, V2 "/attachments/6-2/num-queues", "1");
	put(h, V2 "/attachments/6-2/frontend", "/local/domain/7/device/vbdpool/2");
	put(h, V2 "/attachments/6-3/num-queues", "2");
	put(h, V2 "/attachments/6-3/frontend", "/local/domain/6/device/vbdpool/3");
	put(h, V2 "/attachments/6-3/queue-0", "owner=1 epoch=x state=claimed");
	put(h, "/local/domain/6/device/vbdpool/3/state", "9");
	put(h, "/vbdpool/volumes/" LONG_ID "/size", "512"); /* 65 chars */
}

static const struct vbd_snap_vol *vol(const struct vbd_pool_snap *s, const char *id)
{
	for (unsigned i = 0; i < s->nv; i++)
		if (!strcmp(s->v[i].id, id))
			return &s->v[i];
	return NULL;
}

static const struct vbd_snap_att *att(const struct vbd_snap_vol *v, unsigned g, unsigned d)
{
	for (unsigned i = 0; v && i < v->na; i++)
		if (v->a[i].guest == g && v->a[i].devid == d)
			return &v->a[i];
	return NULL;
}

static int has_reason(const char *why, const char *part)
{
	return why && strstr(why, part) != NULL;
}

static void check_good_vol(const struct vbd_snap_vol *v)
{
	const struct vbd_snap_member *m1, *m2, *m3;
	const struct vbd_snap_att *a;

	CHECK(v != NULL);
	if (!v)
		return;
	CHECK(v->has_size == VBD_SNAP_OK && v->size == 1048576);
	CHECK(v->has_backing == VBD_SNAP_OK && !strcmp(v->backing, "/dev/shared"));
	CHECK(v->has_storage_id == VBD_SNAP_OK && !strcmp(v->storage_id, "wwid:abc"));
	CHECK(v->has_storage_size == VBD_SNAP_OK && v->storage_size == 2097152);
	CHECK(v->nm == 3 && v->na == 1 && v->skipped == 0 && !v->invalid[0], "%s", v->invalid);
	m1 = vbd_snap_member(v, 1);
	m2 = vbd_snap_member(v, 2);
	m3 = vbd_snap_member(v, 3);
	CHECK(m1 && m2 && m3 && !vbd_snap_member(v, 4));
	if (!m1 || !m2 || !m3)
		return;
	CHECK(m1->has_state == VBD_SNAP_OK && m1->state == VBD_MEMBER_ACTIVE);
	CHECK(!strcmp(m1->state_text, "active"));
	CHECK(m1->has_hb == VBD_SNAP_OK && m1->hb == 123456);
	CHECK(m1->has_load == VBD_SNAP_OK && m1->load.inflight == 3 && m1->load.cost == 100);
	CHECK(m1->has_failed_since == VBD_SNAP_ABSENT && !m1->failed_reason[0]);
	CHECK(!m1->invalid[0], "%s", m1->invalid);
	CHECK(m2->has_state == VBD_SNAP_OK && m2->state == VBD_MEMBER_FAILED);
	CHECK(!strcmp(m2->failed_reason, "EIO, then path check"));
	CHECK(m2->has_failed_since == VBD_SNAP_OK && m2->failed_since == 1700000000000ull);
	CHECK(m2->has_hb == VBD_SNAP_ABSENT && m2->has_load == VBD_SNAP_ABSENT);
	/* missing nodes: absent, not invalid */
	CHECK(m3->has_state == VBD_SNAP_ABSENT && !m3->state_text[0] &&
	      m3->has_hb == VBD_SNAP_ABSENT && m3->has_load == VBD_SNAP_ABSENT && !m3->invalid[0]);
	a = att(v, 5, 0);
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK(a->has_nq == VBD_SNAP_OK && a->nq == 2 && a->has_frontend == VBD_SNAP_OK);
	CHECK(a->has_fe_state == VBD_SNAP_OK && a->fe_state == 4);
	CHECK(a->q[0].has == VBD_SNAP_OK && a->q[0].rec.owner == 1 && a->q[0].rec.epoch == 3 &&
	      a->q[0].rec.state == VBD_Q_CONNECTED);
	CHECK(a->q[1].has == VBD_SNAP_OK && a->q[1].rec.state == VBD_Q_DRAINING &&
	      a->q[1].rec.target == 1 && a->q[1].rec.epoch == 7);
	CHECK(!a->invalid[0], "%s", a->invalid);
}

static void test_good(struct xs_handle *h)
{
	struct vbd_pool_snap s;
	struct vbd_snap_vol v;
	xs_transaction_t t;

	CHECK(vbd_pool_snap_read(h, XBT_NULL, NULL, VBD_SNAP_ALL, &s) == 0);
	CHECK(s.nv == 3 && s.skipped == 1, "nv %u skipped %u", s.nv, s.skipped);
	CHECK(s.has_sv_pid == VBD_SNAP_OK && s.sv_pid == 4242);
	CHECK(s.has_lease == VBD_SNAP_OK && s.lease_ms == 1000);
	check_good_vol(vol(&s, "vol1"));
	vbd_pool_snap_free(&s);

	/* per volume, inside the caller's transaction */
	t = xs_transaction_start(h);
	CHECK(t != XBT_NULL);
	CHECK(vbd_pool_snap_read(h, t, "vol1", VBD_SNAP_ALL, &s) == 0);
	CHECK(s.nv == 1);
	check_good_vol(vol(&s, "vol1"));
	vbd_pool_snap_free(&s);
	CHECK(vbd_snap_vol_read(h, t, "vol1", VBD_SNAP_ALL, &v) == 0);
	check_good_vol(&v);
	vbd_snap_vol_free(&v);
	xs_transaction_end(h, t, true);

	/* `what`: only the member states (no heartbeat, no attachments) */
	CHECK(vbd_snap_vol_read(h, XBT_NULL, "vol1", VBD_SNAP_M_STATE, &v) == 0);
	CHECK(v.nm == 3 && v.na == 0 && v.has_size == VBD_SNAP_ABSENT);
	CHECK(v.nm && v.m[0].has_hb == VBD_SNAP_ABSENT);
	CHECK(vbd_snap_member(&v, 1) && vbd_snap_member(&v, 1)->state == VBD_MEMBER_ACTIVE);
	vbd_snap_vol_free(&v);
}

static void test_bad(struct xs_handle *h)
{
	struct vbd_pool_snap s;
	const struct vbd_snap_vol *v;
	const struct vbd_snap_member *m;
	const struct vbd_snap_att *a;

	CHECK(vbd_pool_snap_read(h, XBT_NULL, "vol2", VBD_SNAP_ALL, &s) == 0);
	v = vol(&s, "vol2");
	CHECK(v != NULL);
	if (!v) {
		vbd_pool_snap_free(&s);
		return;
	}
	CHECK(v->has_size == VBD_SNAP_BAD && v->size == 0);
	CHECK(v->has_storage_size == VBD_SNAP_BAD && v->storage_size == 0);
	CHECK(has_reason(v->invalid, "size"), "'%s'", v->invalid);
	CHECK(v->skipped == 4, "skipped %u", v->skipped); /* abc, 32752, 1e3, x-y */
	CHECK(v->nm == 5, "nm %u", v->nm);
	m = vbd_snap_member(v, 3);
	CHECK(m && m->has_state == VBD_SNAP_BAD && m->state == 0 &&
	      has_reason(m->invalid, "zombie"));
	m = vbd_snap_member(v, 4);
	CHECK(m && m->has_hb == VBD_SNAP_BAD && m->hb == 0 && has_reason(m->invalid, "heartbeat"));
	m = vbd_snap_member(v, 5);
	CHECK(m && m->has_load == VBD_SNAP_BAD && m->load.inflight == 0 &&
	      has_reason(m->invalid, "load"));
	m = vbd_snap_member(v, 6);
	CHECK(m && m->has_failed_since == VBD_SNAP_BAD && has_reason(m->invalid, "failed-since"));
	m = vbd_snap_member(v, 7);
	CHECK(m && m->has_state == VBD_SNAP_OK && m->has_hb == VBD_SNAP_BAD && m->hb == 0);
	CHECK(v->na == 3, "na %u", v->na);
	a = att(v, 6, 1);
	CHECK(a && a->has_nq == VBD_SNAP_BAD && a->nq == 0 && has_reason(a->invalid, "num-queues"));
	a = att(v, 6, 2);
	CHECK(a && a->has_nq == VBD_SNAP_OK && a->has_frontend == VBD_SNAP_BAD &&
	      has_reason(a->invalid, "frontend") && a->q[0].has == VBD_SNAP_ABSENT);
	a = att(v, 6, 3);
	CHECK(a && a->q[0].has == VBD_SNAP_BAD && a->q[0].rec.epoch == 0 &&
	      !strcmp(a->q[0].raw, "owner=1 epoch=x state=claimed") &&
	      has_reason(a->invalid, "queue-0"));
	CHECK(a && a->q[1].has == VBD_SNAP_ABSENT);
	CHECK(a && a->has_fe_state == VBD_SNAP_BAD && a->fe_state == 0);
	vbd_pool_snap_free(&s);
}

static void test_missing(struct xs_handle *h)
{
	struct vbd_pool_snap s;
	struct vbd_snap_vol v;

	CHECK(vbd_pool_snap_read(h, XBT_NULL, NULL, VBD_SNAP_ALL, &s) == 0 && s.nv == 0);
	CHECK(s.has_sv_pid == VBD_SNAP_ABSENT && s.has_lease == VBD_SNAP_ABSENT);
	vbd_pool_snap_free(&s);
	CHECK(vbd_pool_snap_read(h, XBT_NULL, "vol1", VBD_SNAP_ALL, &s) == -ENOENT);
	put(h, "/vbdpool/volumes/empty", "");
	CHECK(vbd_snap_vol_read(h, XBT_NULL, "empty", VBD_SNAP_ALL, &v) == 0);
	CHECK(v.nm == 0 && v.na == 0 && v.has_size == VBD_SNAP_ABSENT && !v.invalid[0]);
	vbd_snap_vol_free(&v);
	CHECK(vbd_snap_vol_read(h, XBT_NULL, "nosuch", VBD_SNAP_MEMBERS, &v) == -ENOENT);
	CHECK(vbd_snap_vol_read(h, XBT_NULL, "nosuch", VBD_SNAP_VOLINFO, &v) == -ENOENT);
	CHECK(vbd_snap_vol_read(h, XBT_NULL, "a/b", VBD_SNAP_ALL, &v) == -EINVAL);
	CHECK(vbd_pool_snap_read(h, XBT_NULL, "", VBD_SNAP_ALL, &s) == -EINVAL);
}

static void test_names(void)
{
	unsigned g, d;

	CHECK(vbd_snap_parse_domid("0", &g) == 0 && g == 0);
	CHECK(vbd_snap_parse_domid("32751", &g) == 0 && g == 32751);
	CHECK(vbd_snap_parse_domid("32752", &g) == -EINVAL);
	CHECK(vbd_snap_parse_domid("", &g) == -EINVAL);
	CHECK(vbd_snap_parse_domid("-1", &g) == -EINVAL);
	CHECK(vbd_snap_parse_att("5-0", &g, &d) == 0 && g == 5 && d == 0);
	CHECK(vbd_snap_parse_att("5-4294967295", &g, &d) == 0 && d == 4294967295u);
	CHECK(vbd_snap_parse_att("5-4294967296", &g, &d) == -EINVAL);
	CHECK(vbd_snap_parse_att("-1", &g, &d) == -EINVAL);
	CHECK(vbd_snap_parse_att("5-", &g, &d) == -EINVAL);
	CHECK(vbd_snap_parse_att("5-1-2", &g, &d) == -EINVAL);
}

int main(void)
{
	pthread_t th;
	struct xs_handle *h = start(&th);

	test_names();
	test_missing(h);
	good_pool(h);
	bad_pool(h);
	test_good(h);
	test_bad(h);
	stop(h, th);
	return check_done("pool_snap");
}
