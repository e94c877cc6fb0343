/* SPDX-License-Identifier: MIT */
/*
 * Domain-lifecycle checks (driven by tests/integration/xensim_lifecycle.sh;
 * nothing here is emulator-specific).  Roles meet under the XenStore
 * directory DIR:
 *
 *   victim   DIR PEER      (once DIR/go exists) shares a page with PEER and allocates two ports
 *                          for it, publishes them, then waits to be killed
 *   survivor DIR VICTIM    maps the page and binds one port; after the
 *                          victim died (DIR/killed): the page stays usable,
 *                          notify returns 0 and delivers nothing; after
 *                          unmapping (DIR/listed): the domain disappears,
 *                          bind gives ESRCH, map EINVAL
 *   release  DOMID PID     (dom0) watches @releaseDomain and
 *                          /local/domain/DOMID, SIGKILLs PID, and checks the
 *                          node goes first, then @releaseDomain, within
 *                          100 ms of the kill
 *   short    DIR PEER      shares a page with PEER, publishes it, exits
 *                          (its domain lives on)
 *   late     DIR G         maps that page once its granter exited: allowed
 *                          only briefly (deferred release); within 10 s
 *                          the ref must be ended (EINVAL)
 *   domu-watch DIR MS      (domU) watches @releaseDomain: only the initial
 *                          event may come; stops MS after DIR/killed exists
 *   perms PATH [ACL...]    sets PATH's ACL if given ("n0" "r5" ...), prints
 *                          what get_perms returns (for @releaseDomain too)
 *
 * The victim's nodes (C xenstored since 4.17, XSA-419: a destroyed
 * domain's nodes are removed with their subtrees, watches fire as for an
 * rm; XSA-322: ACL entries naming it stay listed): the victim creates
 * DIR/v and DIR/v/info (it owns them), the survivor creates DIR/v/sub
 * below them and DIR/s/keep with an entry for the victim, and watches
 * DIR/v/info and DIR/v/sub.  After the death both watches fire, all three
 * nodes are gone, DIR/s/keep still lists the entry.
 */
#include "vbdpool/platform.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "cases.h"
#include "rendezvous.h"

#define RELEASE_LIMIT_MS 100
#define WAIT_S		 60

static const struct vbd_platform *P;
static struct xs_handle *xs;
static const char *dir = "";

static void __attribute__((noreturn)) fatal(const char *what)
{
	case_fatal("%s: %s", what, strerror(errno));
}

static int wait_event(struct vbd_evtchn *h, int ms)
{
	return rv_wait_event(P, h, ms);
}

static int __attribute__((noreturn)) do_victim(vbd_domid_t peer)
{
	struct vbd_gntshr *gs = P->gntshr->open();
	struct vbd_evtchn *ev = P->evtchn->open();
	vbd_gref_t ref;
	char *page, buf[64];
	int p1, p2;

	if (!gs || !ev)
		fatal("open");
	rv_meet("go"); /* DIR is made accessible after this domain exists */
	page = P->gntshr->share_pages(gs, peer, 1, &ref, 1);
	p1 = P->evtchn->alloc_unbound(ev, peer);
	p2 = P->evtchn->alloc_unbound(ev, peer);
	if (!page || p1 < 0 || p2 < 0)
		fatal("share / alloc_unbound");
	strcpy(page, "victim-page");
	snprintf(buf, sizeof(buf), "%u %d %d", ref, p1, p2);
	rv_post("v/info", buf);
	for (;;)
		pause();
}

static const char *next_watch(int ms);

static char *dpath(const char *key)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return path;
}

/* "n0,r5" of a node, or "" (errno set) */
static const char *perms_of(const char *path)
{
	static char buf[256];
	struct xs_permissions *p;
	unsigned n, off = 0;

	buf[0] = '\0';
	p = xs_get_permissions(xs, XBT_NULL, path, &n);
	if (!p)
		return buf;
	for (unsigned i = 0; i < n && off < sizeof(buf) - 16; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%c%u", i ? "," : "",
				"nrwb"[p[i].perms & 3], p[i].id);
	free(p);
	return buf;
}

static unsigned self_domid(void)
{
	unsigned len, id;
	char *v = xs_read(xs, XBT_NULL, "domid", &len);

	if (!v)
		fatal("read domid");
	id = (unsigned)atoi(v);
	free(v);
	return id;
}

/* Survivor, before the kill: a node of its own below the victim's, one
 * with an ACL entry for the victim, watches on the victim's nodes. */
static void nodes_setup(vbd_domid_t victim)
{
	struct xs_permissions keep[2] = {{self_domid(), XS_PERM_NONE}, {victim, XS_PERM_READ}};
	char want[64];
	bool ok;

	ok = xs_write(xs, XBT_NULL, dpath("v/sub"), "s", 1);
	case_check(ok, "create a node below the victim's own node", "%s", strerror(errno));
	ok = xs_write(xs, XBT_NULL, dpath("s/keep"), "k", 1) &&
	     xs_set_permissions(xs, XBT_NULL, dpath("s/keep"), keep, 2);
	snprintf(want, sizeof(want), "n%u,r%u", keep[0].id, (unsigned)victim);
	case_check(ok && !strcmp(perms_of(dpath("s/keep")), want),
		   "own node with an ACL entry for the victim", "%s (%s)",
		   perms_of(dpath("s/keep")), strerror(errno));
	if (!xs_watch(xs, dpath("v/info"), "info") || !xs_watch(xs, dpath("v/sub"), "sub"))
		fatal("xs_watch");
	for (int seen = 0; seen < 2; seen++) /* the initial events */
		if (!next_watch(WAIT_S * 1000))
			fatal("initial watch events");
}

/* Survivor, after the kill (XSA-419, XSA-322). */
static void nodes_check(vbd_domid_t victim)
{
	char info[256], sub[256], want[64];
	bool got_info = false, got_sub = false;
	double end = (double)vbd_now_ms() + WAIT_S * 1000;
	const char *e;
	unsigned len;
	char *v;

	snprintf(info, sizeof(info), "%s", dpath("v/info"));
	snprintf(sub, sizeof(sub), "%s", dpath("v/sub"));
	while (!(got_info && got_sub) && (double)vbd_now_ms() < end &&
	       (e = next_watch((int)(end - (double)vbd_now_ms())))) {
		got_info |= !strcmp(e, info);
		got_sub |= !strcmp(e, sub);
	}
	case_check(got_info, "the watch on the victim's node fires when the domain goes", NULL);
	case_check(got_sub, "... and the one on the node below it another domain owns", NULL);
	errno = 0;
	v = xs_read(xs, XBT_NULL, info, &len);
	case_check(!v && errno == ENOENT, "the destroyed domain's node is gone", "%s",
		   v ? "still there" : strerror(errno));
	free(v);
	v = xs_read(xs, XBT_NULL, sub, &len);
	case_check(!v && errno == ENOENT, "... with its subtree (whoever owns the nodes)", "%s",
		   v ? "still there" : strerror(errno));
	free(v);
	v = xs_read(xs, XBT_NULL, dpath("go"), &len);
	case_check(v != NULL, "dom0's directory that granted it access stays", "%s",
		   strerror(errno));
	free(v);
	snprintf(want, sizeof(want), "n%u,r%u", self_domid(), (unsigned)victim);
	case_check(!strcmp(perms_of(dpath("s/keep")), want),
		   "get_perms still lists the dead domain's ACL entry", "%s",
		   perms_of(dpath("s/keep")));
}

static int do_survivor(vbd_domid_t victim)
{
	struct vbd_gnttab *gt = P->gnttab->open();
	struct vbd_evtchn *ev = P->evtchn->open();
	unsigned ref;
	int p1, p2, l, p, rc;
	char *page;
	double end;

	if (!gt || !ev)
		fatal("open");
	if (sscanf(rv_meet("v/info"), "%u %d %d", &ref, &p1, &p2) != 3)
		fatal("v/info");
	page = P->gnttab->map_refs(gt, 1, victim, &ref, PROT_READ | PROT_WRITE);
	case_check(page && !strcmp(page, "victim-page"), "map the victim's page", "%s",
		   page ? page : strerror(errno));
	l = P->evtchn->bind_interdomain(ev, victim, (vbd_port_t)p1);
	case_check(l > 0, "bind the victim's port", "rc=%d", l);
	if (!page || l <= 0)
		return 1;
	wait_event(ev, 2000); /* the bind's initial event */
	P->evtchn->unmask(ev, (vbd_port_t)l);
	nodes_setup(victim);
	rv_post("s/ready", "1");

	rv_meet("killed");
	p = wait_event(ev, 300);
	case_check(p < 0, "no event when the peer dies", "got %d", p);
	case_check(!strcmp(page, "victim-page"), "the dead domain's page stays readable", "%.20s",
		   page);
	strcpy(page + 64, "written-after-death");
	case_check(!strcmp(page + 64, "written-after-death"), "... and writable", NULL);
	rc = P->evtchn->notify(ev, (vbd_port_t)l);
	case_check(rc == 0, "notify the dead peer returns 0", "rc=%d", rc);
	p = wait_event(ev, 300);
	case_check(p < 0, "... and delivers nothing", "got %d", p);
	rc = P->evtchn->bind_interdomain(ev, victim, (vbd_port_t)p2);
	case_check(rc == -EINVAL, "bind the zombie's unbound port: EINVAL (its ports closed)",
		   "rc=%d", rc);
	{
		/* observed on Xen 4.17: nothing ends a dead domain's grants */
		char *again = P->gnttab->map_refs(gt, 1, victim, &ref, PROT_READ);

		case_check(again && !strcmp(again, "victim-page"), "the zombie's grant maps again",
			   "%s", again ? again : strerror(errno));
		if (again)
			P->gnttab->unmap(gt, again, 1);
	}
	nodes_check(victim);
	rv_post("s/checked", "1");

	rv_meet("listed");
	rc = P->gnttab->unmap(gt, page, 1);
	case_check(rc == 0, "unmap the dead domain's page", "rc=%d", rc);
	/* the zombie goes once the last foreign mapping is gone */
	end = (double)vbd_now_ms() + 2000;
	do {
		rc = P->evtchn->bind_interdomain(ev, victim, (vbd_port_t)p2);
		if (rc == -ESRCH)
			break;
		usleep(20000);
	} while ((double)vbd_now_ms() < end);
	case_check(rc == -ESRCH, "bind to the vanished domain: ESRCH", "rc=%d", rc);
	errno = 0;
	page = P->gnttab->map_refs(gt, 1, victim, &ref, PROT_READ);
	case_check(!page && errno == EINVAL, "map the vanished domain's ref: EINVAL", "%s",
		   page ? "mapped" : strerror(errno));
	rc = P->evtchn->unbind(ev, (vbd_port_t)l);
	case_check(rc == 0, "unbind the port that was bound to it", "rc=%d", rc);
	P->evtchn->close(ev);
	P->gnttab->close(gt);
	rv_post("s/done", "1");
	return case_failures ? 1 : 0;
}

static int __attribute__((noreturn)) do_short(vbd_domid_t peer)
{
	struct vbd_gntshr *gs = P->gntshr->open();
	vbd_gref_t ref;
	char *page, buf[32];

	if (!gs)
		fatal("open");
	page = P->gntshr->share_pages(gs, peer, 1, &ref, 1);
	if (!page)
		fatal("share");
	strcpy(page, "short-lived");
	snprintf(buf, sizeof(buf), "%u", ref);
	rv_post("short/ref", buf);
	fflush(stdout);
	_exit(0); /* without unsharing or closing anything */
}

static int do_late(vbd_domid_t g)
{
	struct vbd_gnttab *gt = P->gnttab->open();
	vbd_gref_t ref = (vbd_gref_t)atoi(rv_meet("short/ref"));
	double end = (double)vbd_now_ms() + 10000;
	char *page;

	if (!gt)
		fatal("open");
	rv_meet("short/exited");
	for (;;) {
		errno = 0;
		page = P->gnttab->map_refs(gt, 1, g, &ref, PROT_READ);
		if (!page || (double)vbd_now_ms() > end)
			break;
		P->gnttab->unmap(gt, page, 1);
		usleep(20000);
	}
	case_check(!page && errno == EINVAL,
		   "grants of a process that exited without unsharing end (its domain lives)", "%s",
		   page ? "still mappable" : strerror(errno));
	P->gnttab->close(gt);
	return case_failures ? 1 : 0;
}

/* Next watch event's path (static), or NULL after ms. */
static const char *next_watch(int ms)
{
	static char path[256];
	struct pollfd pfd = {.fd = xs_fileno(xs), .events = POLLIN};
	unsigned n;
	char **v;

	if (poll(&pfd, 1, ms) <= 0)
		return NULL;
	v = xs_read_watch(xs, &n);
	if (!v)
		return NULL;
	snprintf(path, sizeof(path), "%s", v[XS_WATCH_PATH]);
	free(v);
	return path;
}

static int do_release(unsigned domid, pid_t pid)
{
	char node[64];
	const char *e;
	double t0, t_node = -1, t_rel = -1;
	unsigned len;
	char *v;

	snprintf(node, sizeof(node), "/local/domain/%u", domid);
	if (!xs_watch(xs, "@releaseDomain", "rel") || !xs_watch(xs, node, "node"))
		fatal("xs_watch");
	/* initial events of both watches */
	for (int seen = 0; seen < 2;)
		if (next_watch(2000))
			seen++;
		else
			fatal("initial watch events");
	/* other domains' nodes may change meanwhile: drain */
	while (next_watch(50))
		;
	t0 = (double)vbd_now_ms();
	if (kill(pid, SIGKILL) < 0)
		fatal("kill");
	while (t_rel < 0 && (e = next_watch(2000))) {
		if (!strcmp(e, "@releaseDomain")) {
			t_rel = (double)vbd_now_ms() - t0;
		} else if (!strcmp(e, node) && t_node < 0) {
			v = xs_read(xs, XBT_NULL, node, &len);
			if (!v)
				t_node = (double)vbd_now_ms() - t0;
			free(v);
		}
	}
	printf("# node removed after %.1f ms, @releaseDomain after %.1f ms\n", t_node, t_rel);
	case_check(t_node >= 0, "/local/domain/<id> removed", NULL);
	case_check(t_rel >= 0 && t_rel >= t_node, "then @releaseDomain fires", "node %.1f rel %.1f",
		   t_node, t_rel);
	case_check(t_rel >= 0 && t_rel <= RELEASE_LIMIT_MS, "within 100 ms of the SIGKILL",
		   "%.1f ms", t_rel);
	v = xs_read(xs, XBT_NULL, node, &len);
	case_check(!v && errno == ENOENT, "node gone for dom0", "%s", v ? "still there" : "");
	free(v);
	return case_failures ? 1 : 0;
}

static int do_domu_watch(int ms)
{
	char killed[256];
	const char *e;
	int initial = 0, later = 0;
	double stop = -1;

	snprintf(killed, sizeof(killed), "%s/killed", dir);
	if (!xs_watch(xs, "@releaseDomain", "rel"))
		fatal("xs_watch");
	e = next_watch(2000);
	initial = e && !strcmp(e, "@releaseDomain");
	case_check(initial, "a domU watching @releaseDomain gets the initial event", NULL);
	rv_post("c/ready", "1");
	for (;;) {
		int left = stop < 0 ? 200 : (int)(stop - (double)vbd_now_ms());

		if (stop >= 0 && left <= 0)
			break;
		e = next_watch(left > 0 ? left : 0);
		if (e && !strcmp(e, "@releaseDomain"))
			later++;
		if (stop < 0) {
			unsigned len;
			char *v = xs_read(xs, XBT_NULL, killed, &len);

			if (v)
				stop = (double)vbd_now_ms() + ms;
			free(v);
		}
	}
	case_check(later == 0, "... and no event when another domain dies", "%d events", later);
	return case_failures ? 1 : 0;
}

static int do_perms(const char *path, int n, char **acl)
{
	struct xs_permissions p[16];

	if (n > 16)
		return 2;
	for (int i = 0; i < n; i++)
		if (!xs_strings_to_perms(&p[i], 1, acl[i])) {
			fprintf(stderr, "bad ACL entry '%s'\n", acl[i]);
			return 2;
		}
	if (n && !xs_set_permissions(xs, XBT_NULL, path, p, (unsigned)n)) {
		printf("FAIL set_perms %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("%s\n", perms_of(path));
	return 0;
}

/* the roles "ROLE DIR DOMID" */
static const struct {
	const char *name;
	int (*run)(vbd_domid_t peer);
} dir_roles[] = {
    {"victim", do_victim}, {"survivor", do_survivor}, {"short", do_short}, {"late", do_late}};

int main(int argc, char **argv)
{
	int rc = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3 || (argc < 4 && strcmp(argv[1], "perms"))) {
		fprintf(stderr, "usage: see the top of plat_lifecycle.c\n");
		return 2;
	}
	P = vbd_platform();
	xs = xs_open(0);
	if (!xs)
		fatal("xs_open");
	dir = argv[2]; /* DIR, for the roles that have one */
	rv_place = (struct rv_place){xs, dir, WAIT_S};
	for (size_t i = 0; i < sizeof(dir_roles) / sizeof(dir_roles[0]); i++)
		if (!strcmp(argv[1], dir_roles[i].name))
			rc = dir_roles[i].run((vbd_domid_t)atoi(argv[3]));
	if (!strcmp(argv[1], "release")) {
		rc = do_release((unsigned)atoi(argv[2]), (pid_t)atoi(argv[3]));
	} else if (!strcmp(argv[1], "perms")) {
		rc = do_perms(argv[2], argc - 3, argv + 3);
	} else if (!strcmp(argv[1], "domu-watch")) {
		rc = do_domu_watch(atoi(argv[3]));
	}
	xs_close(xs);
	return rc;
}
