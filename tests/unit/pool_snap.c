/* SPDX-License-Identifier: MIT */
/*
 * The typed pool snapshot (common/pool, vbdpool/pool_snap.h) against the
 * emulator's XenStore server in this process: a well-formed pool read
 * whole, per volume and inside a transaction; every malformed field marks
 * its entry invalid with a reason and leaves the typed value zero; missing
 * nodes are ABSENT; bad names are skipped; `what` reads only what it says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "check.h"
#include "vbdpool/pool_snap.h"
#include "xs_local.h"

static void put(struct xs_handle *h, const char *path, const char *val)
{
	if (!xs_write(h, XBT_NULL, path, val, strlen(val))) {
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* The nodes of a test pool, written as dom0 in this order. */
struct node {
	const char *path, *val;
};

static void put_all(struct xs_handle *h, const struct node *n, size_t count)
{
	for (size_t i = 0; i < count; i++)
		put(h, n[i].path, n[i].val);
}
#define PUT_ALL(h, nodes) put_all(h, nodes, sizeof(nodes) / sizeof(nodes[0]))

#define V1	"/vbdpool/volumes/vol1"
#define V2	"/vbdpool/volumes/vol2"
#define LONG_ID "a234567890123456789012345678901234567890123456789012345678901234b"

static const struct node good_pool[] = {
    {"/vbdpool/supervisor/pid", "4242"},
    {"/vbdpool/supervisor/lease-ms", "1000"},
    {V1 "/size", "1048576"},
    {V1 "/sector-size", "512"},
    {V1 "/backing", "/dev/shared"},
    {V1 "/storage-id", "wwid:abc"},
    {V1 "/storage-size", "2097152"},
    {V1 "/members/1/state", "active"},
    {V1 "/members/1/heartbeat", "123456"},
    {V1 "/members/1/load", "inflight=3 iops=100 bps=4096 lat-us=50 p99-us=90 queues=2 cost=100"},
    {V1 "/members/2/state", "failed"},
    {V1 "/members/2/failed-reason", "EIO, then path check"},
    {V1 "/members/2/failed-since", "1700000000000"},
    {V1 "/members/3", ""}, /* nothing written yet */
    {V1 "/attachments/5-0/num-queues", "2"},
    {V1 "/attachments/5-0/frontend", "/local/domain/5/device/vbdpool/0"},
    {V1 "/attachments/5-0/queue-0", "owner=1 epoch=3 state=connected"},
    {V1 "/attachments/5-0/queue-1", "owner=2 epoch=7 state=draining target=1"},
    {"/local/domain/5/device/vbdpool/0/state", "4"},
};

static const struct node bad_pool[] = {
    {V2 "/size", "1000"}, /* not a multiple of 512 */
    {V2 "/storage-size", "12x"},
    {V2 "/members/3/state", "zombie"},
    {V2 "/members/4/heartbeat", "-1"},
    {V2 "/members/5/load", "inflight=x"},
    {V2 "/members/6/failed-since", " 5"},
    {V2 "/members/7/state", "active"},
    {V2 "/members/7/heartbeat", "18446744073709551616"}, /* 2^64 */
    {V2 "/members/abc", ""},
    {V2 "/members/32752", ""}, /* DOMID_FIRST_RESERVED */
    {V2 "/members/1e3", ""},
    {V2 "/attachments/x-y", ""},
    {V2 "/attachments/6-1/num-queues", "65"},
    {V2 "/attachments/6-2/num-queues", "1"},
    {V2 "/attachments/6-2/frontend", "/local/domain/7/device/vbdpool/2"},
    {V2 "/attachments/6-3/num-queues", "2"},
    {V2 "/attachments/6-3/frontend", "/local/domain/6/device/vbdpool/3"},
    {V2 "/attachments/6-3/queue-0", "owner=1 epoch=x state=claimed"},
    {"/local/domain/6/device/vbdpool/3/state", "9"},
    {"/vbdpool/volumes/" LONG_ID "/size", "512"}, /* 65 chars */
};

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
	struct xs_handle *h = xs_local_start("pool_snap_test");

	test_names();
	test_missing(h);
	PUT_ALL(h, good_pool);
	PUT_ALL(h, bad_pool);
	test_good(h);
	test_bad(h);
	xs_close(h);
	xs_local_stop();
	return check_done("pool_snap");
}
