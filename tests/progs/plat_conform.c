/* SPDX-License-Identifier: MIT */
/*
 * Platform conformance suite: the same cases against whichever platform
 * is active (vbd_platform(): the emulated host, or real Xen with
 * VBD_PLATFORM=xen).  Expected results are what Xen 4.17 answered
 * (../shared/design/xen-observed.txt, gtprobe).  Nothing here is specific
 * to the emulator: roles run in separate domains and meet in XenStore.
 *
 *   plat_conform setup   DIR G M W   (dom0) create DIR, writable by G, M, W
 *   plat_conform granter DIR M W     (in G) shares pages, allocates ports
 *   plat_conform mapper  DIR G W     (in M) maps, binds, notifies
 *   plat_conform wrong   DIR G       (in W) a third domain: must be refused
 *
 * Each role prints "ok N what" / "FAIL N what: why" and exits 0 only if
 * all its cases passed.  DIR is an absolute XenStore path.
 */
#include "vbdpool/platform.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "cases.h"
#include "rendezvous.h"

#define WAIT_S	      60   /* for the other role to reach a step */
#define EVENT_MS      2000 /* an event must arrive within */
#define QUIET_MS      300  /* no event may arrive within */
#define ENDED_WAIT_MS 10000
#define BAD_PORT      4000
/* a port no handle here owns, inside Linux evtchn's first 1024-port page */
#define UNOWNED_LOW_PORT 1000
#define BAD_DOMID	 9999
#define BAD_REF		 1000000
#define MANY		 300 /* single-page shares mapped in one batch */
#define MANY_PER_KEY	 50

static const struct vbd_platform *P;
static struct xs_handle *xs;
static const char *dir;
static const char *role;

/* ---- event helpers ----------------------------------------------------- */

/* Next pending port within ms (poll() on the handle's fd), or -1. */
static int wait_event(struct vbd_evtchn *h, int ms)
{
	return rv_wait_event(P, h, ms);
}

/* Tells the peer this role is past `done` (DIR/done = 1), then waits until
 * it is past `next`. */
static void step(const char *done, const char *next)
{
	rv_post(done, "1");
	rv_meet(next);
}

/* One case: an event on `port` within EVENT_MS (then unmasked if `unmask`). */
static void expect_event(struct vbd_evtchn *ev, int port, bool unmask, const char *what)
{
	int p = wait_event(ev, EVENT_MS);

	case_check(p == port, what, "got %d", p);
	if (unmask)
		P->evtchn->unmask(ev, (vbd_port_t)port);
}

/* One case: no event within QUIET_MS. */
static void expect_quiet(struct vbd_evtchn *ev, const char *what)
{
	int p = wait_event(ev, QUIET_MS);

	case_check(p < 0, what, "got %d", p);
}

/* One case: a call returned `want`. */
static void expect_rc(int rc, int want, const char *what)
{
	case_check(rc == want, what, "rc=%d", rc);
}

/* ---- roles --------------------------------------------------------------- */

static int do_setup(char **argv)
{
	struct xs_permissions perms[4] = {{.id = 0, .perms = XS_PERM_NONE}};

	for (int i = 0; i < 3; i++) {
		perms[i + 1].id = (unsigned)atoi(argv[i]);
		perms[i + 1].perms = XS_PERM_READ | XS_PERM_WRITE;
	}
	xs_rm(xs, XBT_NULL, dir);
	if (!xs_write(xs, XBT_NULL, dir, "", 0) || !xs_set_permissions(xs, XBT_NULL, dir, perms, 4))
		case_fatal("creating %s: %s", dir, strerror(errno));
	return 0;
}

static void fill(void *page, const char *s)
{
	memset(page, 0, VBD_PAGE_SIZE);
	strcpy(page, s);
}

static int do_granter(char **argv)
{
	vbd_domid_t m = (vbd_domid_t)atoi(argv[0]), w = (vbd_domid_t)atoi(argv[1]);
	struct vbd_gntshr *gs = P->gntshr->open();
	struct vbd_evtchn *ev = P->evtchn->open();
	vbd_gref_t rw, ro, mp[3], e, wt, nref[8];
	char *prw, *pro, *pm, *pe, *pw, *pn;
	int port, pt, rc;

	if (!gs || !ev)
		case_fatal("opening handles: %s", strerror(errno));
	port = P->evtchn->alloc_unbound(ev, m);
	pt = P->evtchn->alloc_unbound(ev, w);
	case_check(port > 0 && pt > 0, "alloc_unbound for the mapper and the third domain", "%d %d",
		   port, pt);
	prw = P->gntshr->share_pages(gs, m, 1, &rw, 1);
	pro = P->gntshr->share_pages(gs, m, 1, &ro, 0);
	pm = P->gntshr->share_pages(gs, m, 3, mp, 1);
	pe = P->gntshr->share_pages(gs, m, 1, &e, 1);
	pw = P->gntshr->share_pages(gs, w, 1, &wt, 1);
	case_check(prw && pro && pm && pe && pw, "share pages (RW, RO, 3 in one call, to W)", "%s",
		   strerror(errno));
	if (!prw || !pro || !pm || !pe || !pw)
		case_fatal("cannot share");
	fill(prw, "RW-from-G");
	fill(pro, "RO-from-G");
	for (int i = 0; i < 3; i++) {
		char s[16];

		snprintf(s, sizeof(s), "P%d-from-G", i);
		fill(pm + i * VBD_PAGE_SIZE, s);
	}
	fill(pe, "E-from-G");
	fill(pw, "for-W");
	/* many separate shares, to be mapped in one batch */
	{
		static char *many[MANY];
		vbd_gref_t mref[MANY];
		char v[128];
		bool ok = true;

		for (int i = 0; i < MANY && ok; i++) {
			char s[16];

			many[i] = P->gntshr->share_pages(gs, m, 1, &mref[i], 1);
			ok = many[i] != NULL;
			if (ok) {
				snprintf(s, sizeof(s), "S%d", i);
				fill(many[i], s);
			}
		}
		case_check(ok, "share 300 single pages", "%s", strerror(errno));
		for (int k = 0; ok && k < MANY / MANY_PER_KEY; k++) {
			char key[32], val[MANY_PER_KEY * 12] = "";
			int off = 0;

			for (int i = 0; i < MANY_PER_KEY; i++)
				off += snprintf(val + off, sizeof(val) - off, "%u ",
						mref[k * MANY_PER_KEY + i]);
			snprintf(key, sizeof(key), "g/many%d", k);
			rv_post(key, val);
		}
		snprintf(v, sizeof(v), "%u %u %u %u %u %u %u", rw, ro, mp[0], mp[1], mp[2], e, wt);
		rv_post("g/refs", v);
		snprintf(v, sizeof(v), "%d %d", port, pt);
		rv_post("g/ports", v);
		rv_meet("m/mapped");
		rc = 0;
		for (int i = 0; ok && i < MANY; i++) {
			char s[16];

			snprintf(s, sizeof(s), "M%d", i);
			rc |= strcmp(many[i], s) != 0;
			P->gntshr->unshare(gs, many[i], 1);
		}
		case_check(ok && rc == 0, "granter sees the writes through the 300-page batch map",
			   NULL);
	}

	case_check(!strcmp(prw, "RW-written-by-M"), "granter sees the mapper's write (RW share)",
		   "%.20s", prw);
	case_check(!strcmp(pro, "RO-from-G"), "RO page unchanged by the mapper", "%.20s", pro);

	rv_meet("m/e-mapped");
	expect_rc(P->gntshr->unshare(gs, pe, 1), 0,
		  "unshare while the peer maps the page returns 0");
	/* fresh pages: if the ended page's storage were reused, the mapper
	 * would see this pattern */
	pn = P->gntshr->share_pages(gs, m, 8, nref, 1);
	if (pn)
		memset(pn, 'X', 8 * VBD_PAGE_SIZE);
	step("g/e-unshared", "m/e-done");
	if (pn)
		P->gntshr->unshare(gs, pn, 8);

	/* events */
	rv_meet("m/bound");
	expect_event(ev, port, true, "event mapper->granter via poll() on the handle fd");
	expect_rc(P->evtchn->notify(ev, (vbd_port_t)port), 0, "notify granter->mapper");
	step("g/notified", "m/got");

	/* coalescing */
	step("g/coalesce-ready", "m/n1");
	expect_event(ev, port, false, "first notify arrives (left masked)");
	step("g/masked", "m/n3");
	expect_quiet(ev, "no event while masked");
	P->evtchn->unmask(ev, (vbd_port_t)port);
	expect_event(ev, port, true, "one event after unmask");
	expect_quiet(ev, "notifies while masked coalesced into exactly one");
	rv_post("g/coalesce-done", "1");

	/* peer unbound */
	rv_meet("m/unbound");
	expect_rc(P->evtchn->notify(ev, (vbd_port_t)port), 0,
		  "notify after the peer unbound returns 0");
	step("g/notified-unbound", "m/rebound");
	expect_rc(P->evtchn->notify(ev, (vbd_port_t)port), 0, "notify after the peer re-bound");
	step("g/notified2", "m/got2");

	/* own errors */
	expect_rc(P->evtchn->notify(ev, BAD_PORT), -ENOTCONN,
		  "notify a port this handle does not own: ENOTCONN");
	expect_rc(P->evtchn->unbind(ev, (vbd_port_t)pt), 0, "unbind the third domain's port");
	expect_rc(P->evtchn->unbind(ev, (vbd_port_t)port), 0, "unbind");
	expect_rc(P->evtchn->notify(ev, (vbd_port_t)port), -ENOTCONN,
		  "notify after own unbind: ENOTCONN");
	expect_rc(P->evtchn->unbind(ev, (vbd_port_t)port), -ENOTCONN, "unbind again: ENOTCONN");

	rv_meet("w/done");
	expect_rc(P->gntshr->unshare(gs, prw, 1) | P->gntshr->unshare(gs, pro, 1) |
		      P->gntshr->unshare(gs, pm, 3) | P->gntshr->unshare(gs, pw, 1),
		  0, "unshare the rest after the peers unmapped");
	P->gntshr->close(gs);
	P->evtchn->close(ev);
	rv_post("g/done", "1");
	return 0;
}

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_code;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_code = sig == SIGSEGV ? si->si_code : -sig;
	siglongjmp(fault_jmp, 1);
}

/* Touches `page` in this process (a write if `write`, else a read) and
 * returns 0 if that worked, else the SIGSEGV si_code (SEGV_MAPERR,
 * SEGV_ACCERR) or -signal for SIGBUS.  Done in the mapping process
 * itself: gntdev mappings are not inherited by fork (real-Xen rig). */
static int touch_page(volatile char *page, int write)
{
	struct sigaction sa = {.sa_sigaction = segv_handler, .sa_flags = SA_SIGINFO}, o1, o2;
	int rc = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &o1);
	sigaction(SIGBUS, &sa, &o2);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		if (write)
			page[0] = page[0];
		else
			(void)page[0];
	} else {
		rc = fault_code;
	}
	sigaction(SIGSEGV, &o1, NULL);
	sigaction(SIGBUS, &o2, NULL);
	return rc;
}

/* Reads `page` in a forked child: 0 if it could, 11 if it took SIGSEGV. */
static int read_in_child(volatile char *page)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		(void)page[0];
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	if (WIFSIGNALED(st))
		return WTERMSIG(st) == SIGSEGV ? 11 : 100 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static void *map1(struct vbd_gnttab *gt, vbd_domid_t d, vbd_gref_t ref, int prot)
{
	return P->gnttab->map_refs(gt, 1, d, &ref, prot);
}

/* One case: mapping `ref` granted by `dom` is refused with EINVAL. */
static void expect_no_map(struct vbd_gnttab *gt, vbd_domid_t dom, vbd_gref_t ref, int prot,
			  const char *what)
{
	void *c;

	errno = 0;
	c = map1(gt, dom, ref, prot);
	case_check(!c && errno == EINVAL, what, "%s", c ? "mapped" : strerror(errno));
}

/* What the granter published: its refs (g/refs) and ports (g/ports). */
static void read_grants(unsigned r[7], int *port, int *pt)
{
	if (sscanf(rv_meet("g/refs"), "%u %u %u %u %u %u %u", &r[0], &r[1], &r[2], &r[3], &r[4],
		   &r[5], &r[6]) != 7 ||
	    sscanf(rv_meet("g/ports"), "%d %d", port, pt) != 2)
		case_fatal("bad rendezvous data");
}

#define RW (PROT_READ | PROT_WRITE)

static int do_mapper(char **argv)
{
	vbd_domid_t g = (vbd_domid_t)atoi(argv[0]), w = (vbd_domid_t)atoi(argv[1]);
	unsigned r[7];
	int port, pt, rc, l, l2, st;
	struct vbd_gnttab *gt = P->gnttab->open();
	struct vbd_evtchn *ev = P->evtchn->open();
	char *a, *b, *c, *pe;
	vbd_gref_t batch[3];
	uint64_t end;

	if (!gt || !ev)
		case_fatal("opening handles: %s", strerror(errno));
	read_grants(r, &port, &pt);

	a = map1(gt, g, r[0], RW);
	case_check(a && !strcmp(a, "RW-from-G"), "map an RW grant read-write", "%s",
		   a ? a : strerror(errno));
	if (a)
		strcpy(a, "RW-written-by-M");
	b = map1(gt, g, r[1], PROT_READ);
	case_check(b && !strcmp(b, "RO-from-G"), "map an RO grant read-only", "%s",
		   b ? b : strerror(errno));
	expect_no_map(gt, g, r[1], RW, "map an RO grant writable: EINVAL");
	if (b) {
		st = touch_page(b, 1);
		case_check(st == SEGV_ACCERR,
			   "writing a read-only mapping raises SIGSEGV (SEGV_ACCERR)",
			   "si_code/-signal %d", st);
		st = read_in_child(b);
		case_check(st == 11, "a forked child does not inherit a grant mapping (SIGSEGV)",
			   "child result %d", st);
	}
	for (int i = 0; i < 3; i++)
		batch[i] = r[2 + i];
	c = P->gnttab->map_refs(gt, 3, g, batch, RW);
	case_check(c && !strcmp(c, "P0-from-G") && !strcmp(c + VBD_PAGE_SIZE, "P1-from-G") &&
		       !strcmp(c + 2 * VBD_PAGE_SIZE, "P2-from-G"),
		   "map 3 refs in one batch", "%s", c ? c : strerror(errno));
	if (c)
		P->gnttab->unmap(gt, c, 3);
	batch[1] = BAD_REF;
	errno = 0;
	c = P->gnttab->map_refs(gt, 3, g, batch, RW);
	case_check(!c && errno == EINVAL, "a batch with one bad ref fails whole: EINVAL", "%s",
		   strerror(errno));
	expect_no_map(gt, g, r[6], PROT_READ, "map a ref granted to another domain: EINVAL");
	expect_no_map(gt, w, r[0], PROT_READ, "map naming the wrong granter: EINVAL");
	expect_no_map(gt, BAD_DOMID, r[0], PROT_READ, "map naming a nonexistent granter: EINVAL");
	expect_no_map(gt, g, r[0] + 5000, PROT_READ, "map an unused ref: EINVAL");
	if (a)
		case_check(P->gnttab->unmap(gt, a, 1) == 0, "unmap", NULL);
	if (b)
		P->gnttab->unmap(gt, b, 1);
	expect_rc(P->gnttab->unmap(gt, &rc, 1), -EINVAL,
		  "unmap an address that is not mapped: EINVAL");
	{
		vbd_gref_t mref[MANY];
		char *many;
		int bad = -1;

		for (int k = 0; k < MANY / MANY_PER_KEY; k++) {
			char key[32];
			const char *v;

			snprintf(key, sizeof(key), "g/many%d", k);
			v = rv_meet(key);
			for (int i = 0; i < MANY_PER_KEY; i++) {
				char *end;

				mref[k * MANY_PER_KEY + i] = (vbd_gref_t)strtoul(v, &end, 10);
				v = end;
			}
		}
		many = P->gnttab->map_refs(gt, MANY, g, mref, RW);
		for (int i = 0; many && i < MANY && bad < 0; i++) {
			char s[16];

			snprintf(s, sizeof(s), "S%d", i);
			if (strcmp(many + (size_t)i * VBD_PAGE_SIZE, s))
				bad = i;
			snprintf(s, sizeof(s), "M%d", i);
			strcpy(many + (size_t)i * VBD_PAGE_SIZE, s);
		}
		case_check(many && bad < 0, "map 300 separately shared pages in one batch",
			   "%s page %d", many ? "bad content at" : strerror(errno), bad);
		if (many)
			case_check(P->gnttab->unmap(gt, many, MANY) == 0,
				   "unmap the 300-page batch", NULL);
	}
	rv_post("m/mapped", "1");

	/* unshare while mapped */
	pe = map1(gt, g, r[5], RW);
	case_check(pe && !strcmp(pe, "E-from-G"), "map E", "%s", pe ? pe : strerror(errno));
	if (!pe)
		case_fatal("cannot continue");
	step("m/e-mapped", "g/e-unshared");
	case_check(!strcmp(pe, "E-from-G"), "after unshare the mapper still reads the page",
		   "%.20s", pe);
	strcpy(pe + 100, "E-written-after-unshare");
	usleep(200000);
	case_check(!strcmp(pe, "E-from-G") && !strcmp(pe + 100, "E-written-after-unshare"),
		   "... and writes it; its storage is not reused meanwhile", "%.20s", pe);
	expect_rc(P->gnttab->unmap(gt, pe, 1), 0, "unmap the ended grant");
	/* Xen defers the release (observed: a map right after unmap still
	 * works, 3 s later it fails): poll until it fails */
	end = vbd_now_ms() + ENDED_WAIT_MS;
	for (;;) {
		errno = 0;
		pe = map1(gt, g, r[5], PROT_READ);
		if (!pe || vbd_now_ms() > end)
			break;
		P->gnttab->unmap(gt, pe, 1);
		usleep(100000);
	}
	case_check(!pe && errno == EINVAL, "a later map of the ended ref fails: EINVAL", "%s",
		   pe ? "still mappable" : strerror(errno));
	rv_post("m/e-done", "1");

	/* events */
	l = P->evtchn->bind_interdomain(ev, g, (vbd_port_t)port);
	case_check(l > 0, "bind_interdomain", "rc=%d", l);
	if (l <= 0)
		case_fatal("cannot continue");
	expect_event(ev, l, true, "the new local port has one pending event at once");
	expect_rc(P->evtchn->bind_interdomain(ev, g, (vbd_port_t)port), -EINVAL,
		  "bind a bound port: EINVAL");
	expect_rc(P->evtchn->bind_interdomain(ev, g, (vbd_port_t)pt), -EINVAL,
		  "bind a port allocated for another domain: EINVAL");
	expect_rc(P->evtchn->bind_interdomain(ev, g, BAD_PORT), -EINVAL,
		  "bind an unallocated port: EINVAL");
	expect_rc(P->evtchn->bind_interdomain(ev, BAD_DOMID, 1), -ESRCH,
		  "bind to a nonexistent domain: ESRCH");
	expect_rc(P->evtchn->notify(ev, BAD_PORT), -ENOTCONN, "notify a port not owned: ENOTCONN");
	expect_rc(P->evtchn->unbind(ev, UNOWNED_LOW_PORT), -ENOTCONN,
		  "unbind a port not owned (< 1024): ENOTCONN");
	expect_rc(P->evtchn->unbind(ev, BAD_PORT), -EINVAL,
		  "unbind a port not owned (>= 1024): EINVAL");
	expect_rc(P->evtchn->notify(ev, (vbd_port_t)l), 0, "notify mapper->granter");
	step("m/bound", "g/notified");
	expect_event(ev, l, true, "event granter->mapper via poll() on the handle fd");
	rv_post("m/got", "1");

	rv_meet("g/coalesce-ready");
	P->evtchn->notify(ev, (vbd_port_t)l);
	step("m/n1", "g/masked");
	expect_rc(P->evtchn->notify(ev, (vbd_port_t)l) | P->evtchn->notify(ev, (vbd_port_t)l) |
		      P->evtchn->notify(ev, (vbd_port_t)l),
		  0, "three notifies while the peer keeps the port masked");
	step("m/n3", "g/coalesce-done");

	expect_rc(P->evtchn->unbind(ev, (vbd_port_t)l), 0, "unbind the local port");
	step("m/unbound", "g/notified-unbound");
	expect_quiet(ev, "nothing delivered after unbinding");
	l2 = P->evtchn->bind_interdomain(ev, g, (vbd_port_t)port);
	case_check(l2 > 0, "bind the same remote port again", "rc=%d", l2);
	if (l2 <= 0)
		case_fatal("cannot continue");
	expect_event(ev, l2, true, "re-bound port has one pending event");
	step("m/rebound", "g/notified2");
	expect_event(ev, l2, true, "event after re-bind");
	P->evtchn->unbind(ev, (vbd_port_t)l2);
	step("m/got2", "g/done");
	P->gnttab->close(gt);
	P->evtchn->close(ev);
	return 0;
}

static int do_wrong(char **argv)
{
	vbd_domid_t g = (vbd_domid_t)atoi(argv[0]);
	struct vbd_gnttab *gt = P->gnttab->open();
	struct vbd_evtchn *ev = P->evtchn->open();
	unsigned r[7];
	int port, pt;
	char *a;

	if (!gt || !ev)
		case_fatal("opening handles: %s", strerror(errno));
	read_grants(r, &port, &pt);
	expect_no_map(gt, g, r[0], PROT_READ, "the wrong domain cannot map the page: EINVAL");
	expect_no_map(gt, g, r[1], PROT_READ, "... nor the read-only one: EINVAL");
	a = map1(gt, g, r[6], RW);
	case_check(a && !strcmp(a, "for-W"), "it maps what was granted to it", "%s",
		   a ? a : strerror(errno));
	if (a)
		P->gnttab->unmap(gt, a, 1);
	expect_rc(P->evtchn->bind_interdomain(ev, g, (vbd_port_t)port), -EINVAL,
		  "binding a port reserved for another domain: EINVAL");
	P->gnttab->close(gt);
	P->evtchn->close(ev);
	rv_post("w/done", "1");
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: plat_conform setup|granter|mapper|wrong DIR ARGS...\n");
		return 2;
	}
	role = argv[1];
	case_role = role;
	dir = argv[2];
	P = vbd_platform();
	xs = xs_open(0);
	if (!xs)
		case_fatal("xs_open: %s", strerror(errno));
	rv_place = (struct rv_place){xs, dir, WAIT_S};
	printf("# %s on platform %s\n", role, P->name);
	if (!strcmp(role, "setup") && argc == 6)
		rc = do_setup(argv + 3);
	else if (!strcmp(role, "granter") && argc == 5)
		rc = do_granter(argv + 3);
	else if (!strcmp(role, "mapper") && argc == 5)
		rc = do_mapper(argv + 3);
	else if (!strcmp(role, "wrong") && argc == 4)
		rc = do_wrong(argv + 3);
	else
		case_fatal("bad arguments");
	xs_close(xs);
	printf("# %s: %d cases, %d failed\n", role, case_count, case_failures);
	return rc || case_failures ? 1 : 0;
}
