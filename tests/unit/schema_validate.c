/* SPDX-License-Identifier: MIT */
/* Unit tests: the schema parser, ACL helpers and the tree validator, on an
 * in-memory tree (no XenStore needed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vbd_acl.h"
#include "vbd_schema.h"
#include "vbd_tree.h"
#include "vbd_validate.h"

struct report {
	int n;
	char all[8192];
};

static void collect(void *arg, const char *path, const char *msg)
{
	struct report *r = arg;
	size_t off = strlen(r->all);
	r->n++;
	snprintf(r->all + off, sizeof(r->all) - off, "%s: %s\n", path, msg);
}

static void set_node(struct vbd_memtree *t, const char *p, const char *v, const char *a)
{
	if (vbd_memtree_set(t, p, v, a)) {
		check_failf("cannot set %s\n", p);
	}
}
#define SET set_node

/* A tree exactly as vbdpoolctl + members + the frontend leave it: volume
 * v1 with members 3 and 4, guest 5 attached as device 0 with 2 queues. */
static struct vbd_memtree *good_tree(void)
{
	struct vbd_memtree *t = vbd_memtree_new();
	const char *V = "/vbdpool/volumes/v1";
	const char *A = "/vbdpool/volumes/v1/attachments/5-0";
	const char *F = "/local/domain/5/device/vbdpool/0";
	char p[256];

	SET(t, "/vbdpool", "", "n0");
	SET(t, "/vbdpool/volumes", "", "n0");
	SET(t, V, "", "n0 r3 r4 r5");
	snprintf(p, sizeof(p), "%s/backing", V), SET(t, p, "/srv/v1.img", "n0 r3 r4");
	snprintf(p, sizeof(p), "%s/size", V), SET(t, p, "1048576", "n0 r3 r4 r5");
	snprintf(p, sizeof(p), "%s/sector-size", V), SET(t, p, "512", "n0 r3 r4 r5");
	snprintf(p, sizeof(p), "%s/members", V), SET(t, p, "", "n0 r3 r4 r5");
	for (int m = 3; m <= 4; m++) {
		char acl[8];
		snprintf(acl, sizeof(acl), "r%d", m);
		snprintf(p, sizeof(p), "%s/members/%d", V, m), SET(t, p, "", acl);
		snprintf(p, sizeof(p), "%s/members/%d/state", V, m), SET(t, p, "active", acl);
		snprintf(p, sizeof(p), "%s/members/%d/heartbeat", V, m), SET(t, p, "123456", acl);
		snprintf(p, sizeof(p), "%s/members/%d/load", V, m);
		SET(t, p, "inflight=1 iops=2 bps=3 lat-us=4 p99-us=5 queues=1 cost=100", acl);
		snprintf(p, sizeof(p), "%s/members/%d/features", V, m);
		SET(t, p, "flush discard indirect=256 persistent", acl);
	}
	snprintf(p, sizeof(p), "%s/attachments", V), SET(t, p, "", "n0 b3 b4 r5");
	SET(t, A, "", "n0 b3 b4 r5");
	snprintf(p, sizeof(p), "%s/frontend", A), SET(t, p, F, "n0 b3 b4 r5");
	snprintf(p, sizeof(p), "%s/num-queues", A), SET(t, p, "2", "n0 b3 b4 r5");
	snprintf(p, sizeof(p), "%s/queue-0", A);
	SET(t, p, "owner=3 epoch=1 state=connected", "n0 b3 b4 r5");
	snprintf(p, sizeof(p), "%s/queue-1", A);
	SET(t, p, "owner=4 epoch=3 state=draining target=3", "n0 b3 b4 r5");
	SET(t, "/vbdpool/supervisor", "", "n0 r3 r4");
	SET(t, "/vbdpool/supervisor/pid", "42", "n0 r3 r4");

	SET(t, "/local/domain/5", "", "n5");
	SET(t, "/local/domain/5/device", "", "n0 r5");
	SET(t, "/local/domain/5/device/vbdpool", "", "n0 r5");
	SET(t, F, "", "n5 r3 r4");
	snprintf(p, sizeof(p), "%s/volume", F), SET(t, p, "v1", NULL);
	snprintf(p, sizeof(p), "%s/pool", F), SET(t, p, A, NULL);
	snprintf(p, sizeof(p), "%s/num-queues", F), SET(t, p, "2", NULL);
	snprintf(p, sizeof(p), "%s/state", F), SET(t, p, "4", NULL);
	const char *keys[][2] = {{"owner", "3"},	   {"epoch", "1"},
				 {"ring-page-order", "0"}, {"ring-ref0", "8"},
				 {"event-channel", "5"},   {"protocol", "x86_64-abi"}};
	for (int q = 0; q < 2; q++) {
		snprintf(p, sizeof(p), "%s/queue-%d", F, q), SET(t, p, "", NULL);
		for (unsigned k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			snprintf(p, sizeof(p), "%s/queue-%d/%s", F, q, keys[k][0]);
			SET(t, p, keys[k][1], NULL);
		}
	}
	/* a domain with no vbdpool devices and a non-vbdpool device */
	SET(t, "/local/domain/3/device/vif/0/state", "4", "n3");
	return t;
}

static struct report validate(struct vbd_memtree *t)
{
	struct report r = {0};
	struct vbd_tree view = vbd_memtree_view(t);
	int rc = vbd_validate(vbd_schema_builtin(), &view, collect, &r);

	CHECK(rc == r.n);
	return r;
}

/* Apply one mutation to a good tree and expect a violation mentioning
 * `path` and `what`. */
static void expect_violation(const char *name, void (*mutate)(struct vbd_memtree *),
			     const char *path, const char *what)
{
	struct vbd_memtree *t = good_tree();
	struct report r;
	char needle[512];

	mutate(t);
	r = validate(t);
	snprintf(needle, sizeof(needle), "%s: ", path);
	if (r.n == 0 || !strstr(r.all, needle) || !strstr(r.all, what)) {
		check_failf("case %s: expected '%s' at %s, got %d:\n%s", name, what, path, r.n,
			    r.all);
	} else {
		printf("ok %s (%d violation%s)\n", name, r.n, r.n == 1 ? "" : "s");
	}
	vbd_memtree_free(t);
}

#define QREC1 "/vbdpool/volumes/v1/attachments/5-0/queue-1"

static void m_wrong_acl(struct vbd_memtree *t)
{
	SET(t, "/vbdpool/volumes/v1/attachments/5-0/queue-0", "owner=3 epoch=1 state=connected",
	    "n0 b3 r4 r5");
}
static void m_guest_writable(struct vbd_memtree *t)
{
	SET(t, QREC1, "owner=4 epoch=3 state=draining target=3", "n0 b3 b4 b5");
}
static void m_everyone_writable(struct vbd_memtree *t)
{
	SET(t, "/vbdpool/volumes/v1/size", "1048576", "w0 r3 r4 r5");
}
static void m_bad_rec(struct vbd_memtree *t)
{
	SET(t, QREC1, "owner=none epoch=0 state=claimed", NULL);
}
static void m_garbage_rec(struct vbd_memtree *t)
{
	SET(t, QREC1, "owner=3 epoch=-1 state=connected", NULL);
}
static void m_owner_not_member(struct vbd_memtree *t)
{
	SET(t, QREC1, "owner=9 epoch=4 state=claimed", NULL);
}
static void m_owned_epoch0(struct vbd_memtree *t)
{
	SET(t, QREC1, "owner=3 epoch=0 state=claimed", NULL);
}
static void m_unknown_node(struct vbd_memtree *t)
{
	SET(t, "/vbdpool/volumes/v1/junk", "x", "n0");
}
static void m_unknown_frontend_node(struct vbd_memtree *t)
{
	SET(t, "/local/domain/5/device/vbdpool/0/queue-0/extra", "1", NULL);
}
static void m_bad_size(struct vbd_memtree *t)
{
	SET(t, "/vbdpool/volumes/v1/size", "1000", NULL);
}
static void m_bad_state(struct vbd_memtree *t)
{
	SET(t, "/vbdpool/volumes/v1/members/4/state", "zombie", NULL);
}
static void m_bad_load(struct vbd_memtree *t)
{
	SET(t, "/vbdpool/volumes/v1/members/4/load", "inflight=1", NULL);
}
static void m_missing_queue(struct vbd_memtree *t)
{
	vbd_memtree_rm(t, QREC1);
}
static void m_extra_queue(struct vbd_memtree *t)
{
	SET(t, "/vbdpool/volumes/v1/attachments/5-0/queue-2", "owner=none epoch=0 state=unowned",
	    NULL);
}
static void m_orphan_frontend(struct vbd_memtree *t)
{
	SET(t, "/local/domain/6/device/vbdpool", "", "n0 r6");
	SET(t, "/local/domain/6/device/vbdpool/1", "", "n6");
}
static void m_member_acl_stale(struct vbd_memtree *t)
{
	/* member 7 added without updating the volume's ACLs */
	SET(t, "/vbdpool/volumes/v1/members/7", "", "r7");
}
static void m_frontend_readable_by_all(struct vbd_memtree *t)
{
	SET(t, "/local/domain/5/device/vbdpool/0/queue-1/ring-ref0", "9", "r5");
}
static void m_wrong_pool_link(struct vbd_memtree *t)
{
	SET(t, "/local/domain/5/device/vbdpool/0/pool", "/vbdpool/volumes/v2/attachments/5-0",
	    NULL);
}
static void m_missing_frontend(struct vbd_memtree *t)
{
	vbd_memtree_rm(t, "/local/domain/5/device/vbdpool/0");
}
static void m_bad_placeholder(struct vbd_memtree *t)
{
	SET(t, "/vbdpool/volumes/v1/members/03", "", "r3");
}

static void test_acl(void)
{
	struct vbd_acl a, b;
	char buf[64];

	CHECK(vbd_acl_parse("n0 r5 r3 r5", &a) == 0);
	CHECK(vbd_acl_parse("n0 r3 r5", &b) == 0);
	CHECK(vbd_acl_equal(&a, &b));
	CHECK(vbd_acl_parse("n0 r3 w5", &b) == 0);
	CHECK(!vbd_acl_equal(&a, &b));
	CHECK(vbd_acl_parse("n0 b3 r0", &a) == 0); /* the owner's entry means nothing */
	CHECK(vbd_acl_parse("n0 b3", &b) == 0);
	CHECK(vbd_acl_equal(&a, &b));
	CHECK(vbd_acl_perm_of(&b, 3) == VBD_PERM_BOTH);
	CHECK(vbd_acl_perm_of(&b, 9) == VBD_PERM_NONE);
	CHECK(vbd_acl_parse("", &a) != 0);
	CHECK(vbd_acl_parse("x1", &a) != 0);
	CHECK(vbd_acl_parse("r", &a) != 0);
	CHECK(vbd_acl_parse("r70000", &a) != 0);
	CHECK(vbd_acl_parse("r1x", &a) != 0);
	CHECK(vbd_acl_parse("n5 r3 b4", &a) == 0);
	CHECK(vbd_acl_format(&a, buf, sizeof(buf)) == 8 && !strcmp(buf, "n5 r3 b4"));
}

static void test_schema(void)
{
	const struct vbd_schema *s = vbd_schema_builtin();
	struct vbd_schema bad;
	struct vbd_bind b;
	struct vbd_acl acl, want;
	char err[128];
	uint16_t members[] = {3, 4}, guests[] = {5};
	struct vbd_acl_ctx ctx = {members, 2, guests, 1};

	CHECK(s->nrules > 20);
	CHECK(vbd_schema_match(s, "/vbdpool/volumes/abc/attachments/5-2/queue-3", &b));
	CHECK(!strcmp(b.vol, "abc") && b.g == 5 && b.d == 2 && b.q == 3 && b.m == -1);
	CHECK(vbd_schema_match(s, "/local/domain/7/device/vbdpool/1/queue-0/ring-ref15", &b));
	CHECK(b.g == 7 && b.d == 1 && b.q == 0 && b.i == 15);
	CHECK(!vbd_schema_match(s, "/local/domain/7/device/vbdpool/1/queue-0/ring-ref16", &b));
	CHECK(!vbd_schema_match(s, "/vbdpool/volumes/abc/attachments/5-2/queue-64", &b));
	CHECK(!vbd_schema_match(s, "/vbdpool/volumes/a.b", &b));
	CHECK(!vbd_schema_match(s, "/vbdpool/volumes/abc/members/-1", &b));
	CHECK(!vbd_schema_match(s, "/vbdpool/volumes/abc/attachments/5-x", &b));

	CHECK(vbd_schema_acl_for(s, "/vbdpool/volumes/abc/attachments/5-2/queue-3", &ctx, &acl) ==
	      0);
	CHECK(vbd_acl_parse("n0 b3 b4 r5", &want) == 0 && vbd_acl_equal(&acl, &want));
	CHECK(vbd_schema_acl_for(s, "/vbdpool/volumes/abc", &ctx, &acl) == 0);
	CHECK(vbd_acl_parse("n0 r3 r4 r5", &want) == 0 && vbd_acl_equal(&acl, &want));
	CHECK(vbd_schema_acl_for(s, "/vbdpool/volumes/abc/backing", &ctx, &acl) == 0);
	CHECK(vbd_acl_parse("n0 r3 r4", &want) == 0 && vbd_acl_equal(&acl, &want));
	CHECK(vbd_schema_acl_for(s, "/vbdpool/volumes/abc/members/4/load", &ctx, &acl) == 0);
	CHECK(vbd_acl_parse("r4", &want) == 0 && vbd_acl_equal(&acl, &want));
	CHECK(vbd_schema_acl_for(s, "/local/domain/9/device/vbdpool/0/state", &ctx, &acl) == 0);
	CHECK(vbd_acl_parse("n9 r3 r4", &want) == 0 && vbd_acl_equal(&acl, &want));
	CHECK(vbd_schema_acl_for(s, "/vbdpool/nothing", &ctx, &acl) < 0);

	CHECK(vbd_schema_parse("/a empty n0\n/b nosuchtype n0\n", &bad, err, sizeof(err)) != 0);
	CHECK(strstr(err, "line 2") != NULL);
	CHECK(vbd_schema_parse("/a empty +M\n", &bad, err, sizeof(err)) != 0);
	CHECK(vbd_schema_parse("/a int:5:1 n0\n", &bad, err, sizeof(err)) != 0);
	CHECK(vbd_schema_parse("/a empty\n", &bad, err, sizeof(err)) != 0);
	CHECK(vbd_schema_parse("# c\n\n/a int:1:9 n0 r{m}\n", &bad, err, sizeof(err)) == 0);
	CHECK(bad.nrules == 1 && bad.rules[0].has_range && bad.rules[0].hi == 9);
	vbd_schema_free(&bad);
}

int main(void)
{
	struct vbd_memtree *t;
	struct report r;

	test_acl();
	test_schema();

	t = good_tree();
	r = validate(t);
	if (r.n) {
		check_failf("good tree: %d violations:\n%s", r.n, r.all);
	}
	vbd_memtree_free(t);
	/* an empty XenStore is valid too */
	t = vbd_memtree_new();
	r = validate(t);
	CHECK(r.n == 0);
	vbd_memtree_free(t);

	/* one mutation of the good tree each: the violation it must cause */
	static const struct {
		const char *name;
		void (*mutate)(struct vbd_memtree *);
		const char *path, *what;
	} bad[] = {
	    {"wrong-acl", m_wrong_acl, "/vbdpool/volumes/v1/attachments/5-0/queue-0",
	     "permissions 'n0 b3 r4 r5', expected 'n0 b3 b4 r5'"},
	    {"guest-writable", m_guest_writable, QREC1, "writable by guest 5"},
	    {"everyone-writable", m_everyone_writable, "/vbdpool/volumes/v1/size",
	     "writable by every domain"},
	    {"bad-record", m_bad_rec, QREC1, "malformed ownership record"},
	    {"garbage-record", m_garbage_rec, QREC1, "malformed ownership record"},
	    {"owner-not-member", m_owner_not_member, QREC1, "not a member"},
	    {"owned-epoch-0", m_owned_epoch0, QREC1, "epoch 0"},
	    {"unknown-node", m_unknown_node, "/vbdpool/volumes/v1/junk", "unknown node"},
	    {"unknown-frontend-node", m_unknown_frontend_node,
	     "/local/domain/5/device/vbdpool/0/queue-0/extra", "unknown node"},
	    {"bad-size", m_bad_size, "/vbdpool/volumes/v1/size", "multiple of 512"},
	    {"bad-member-state", m_bad_state, "/vbdpool/volumes/v1/members/4/state", "not one of"},
	    {"bad-load", m_bad_load, "/vbdpool/volumes/v1/members/4/load", "malformed load"},
	    {"missing-queue", m_missing_queue, QREC1, "missing"},
	    {"extra-queue", m_extra_queue, "/vbdpool/volumes/v1/attachments/5-0/queue-2",
	     "beyond num-queues"},
	    {"orphan-frontend", m_orphan_frontend, "/local/domain/6/device/vbdpool/1",
	     "without an attachment"},
	    {"member-acl-stale", m_member_acl_stale, "/vbdpool/volumes/v1",
	     "expected 'n0 r3 r4 r5 r7'"},
	    {"frontend-acl", m_frontend_readable_by_all,
	     "/local/domain/5/device/vbdpool/0/queue-1/ring-ref0", "permissions"},
	    {"wrong-pool-link", m_wrong_pool_link, "/local/domain/5/device/vbdpool/0/pool",
	     "is not the attachment"},
	    {"missing-frontend", m_missing_frontend, "/local/domain/5/device/vbdpool/0", "missing"},
	    {"non-canonical-domid", m_bad_placeholder, "/vbdpool/volumes/v1/members/03",
	     "unknown node"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_violation(bad[i].name, bad[i].mutate, bad[i].path, bad[i].what);

	return check_done("schema_validate");
}
