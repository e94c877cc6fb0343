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
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

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
static int failures, cases;

static void check(bool ok, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void check(bool ok, const char *what, const char *fmt, ...)
{
	char why[256] = "";
	va_list ap;

	cases++;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (ok) {
		printf("ok %d %s: %s\n", cases, role, what);
	} else {
		failures++;
		printf("FAIL %d %s: %s: %s\n", cases, role, what, why);
	}
	fflush(stdout);
}

static void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fatal(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: fatal: ", role);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

/* ---- XenStore rendezvous --------------------------------------------- */

static void post(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void post(const char *key, const char *fmt, ...)
{
	char path[256], val[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (!xs_write(xs, XBT_NULL, path, val, strlen(val)))
		fatal("xs_write %s: %s", path, strerror(errno));
}

/* Waits for DIR/key to exist; returns its value (static buffer). */
static const char *await(const char *key)
{
	char path[256];
	const char *v;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	v = rv_await(xs, path, WAIT_S);
	if (!v)
		fatal("timed out waiting for %s", path);
	return v;
}

/* ---- event helpers ----------------------------------------------------- */

/* Next pending port within ms (poll() on the handle's fd), or -1. */
static int wait_event(struct vbd_evtchn *h, int ms)
{
	return rv_wait_event(P, h, ms);
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
		fatal("creating %s: %s", dir, strerror(errno));
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
	int port, pt, rc, p;

	if (!gs || !ev)
		fatal("opening handles: %s", strerror(errno));
	port = P->evtchn->alloc_unbound(ev, m);
	pt = P->evtchn->alloc_unbound(ev, w);
	check(port > 0 && pt > 0, "alloc_unbound for the mapper and the third domain", "%d %d",
	      port, pt);
	prw = P->gntshr->share_pages(gs, m, 1, &rw, 1);
	pro = P->gntshr->share_pages(gs, m, 1, &ro, 0);
	pm = P->gntshr->share_pages(gs, m, 3, mp, 1);
	pe = P->gntshr->share_pages(gs, m, 1, &e, 1);
	pw = P->gntshr->share_pages(gs, w, 1, &wt, 1);
	check(prw && pro && pm && pe && pw, "share pages (RW, RO, 3 in one call, to W)", "%s",
	      strerror(errno));
	if (!prw || !pro || !pm || !pe || !pw)
		fatal("cannot share");
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
		check(ok, "share 300 single pages", "%s", strerror(errno));
		for (int k = 0; ok && k < MANY / MANY_PER_KEY; k++) {
			char key[32], val[MANY_PER_KEY * 12] = "";
			int off = 0;

			for (int i = 0; i < MANY_PER_KEY; i++)
				off += snprintf(val + off, sizeof(val) - off, "%u ",
						mref[k * MANY_PER_KEY + i]);
			snprintf(key, sizeof(key), "g/many%d", k);
			post(key, "%s", val);
		}
		post("g/refs", "%u %u %u %u %u %u %u", rw, ro, mp[0], mp[1], mp[2], e, wt);
		post("g/ports", "%d %d", port, pt);
		await("m/mapped");
		rc = 0;
		for (int i = 0; ok && i < MANY; i++) {
			char s[16];

			snprintf(s, sizeof(s), "M%d", i);
			rc |= strcmp(many[i], s) != 0;
			P->gntshr->unshare(gs, many[i], 1);
		}
		check(ok && rc == 0, "granter sees the writes through the 300-page batch map",
		      NULL);
	}

	check(!strcmp(prw, "RW-written-by-M"), "granter sees the mapper's write (RW share)",
	      "%.20s", prw);
	check(!strcmp(pro, "RO-from-G"), "RO page unchanged by the mapper", "%.20s", pro);

	await("m/e-mapped");
	rc = P->gntshr->unshare(gs, pe, 1);
	check(rc == 0, "unshare while the peer maps the page returns 0", "rc=%d", rc);
	/* fresh pages: if the ended page's storage were reused, the mapper
	 * would see this pattern */
	pn = P->gntshr->share_pages(gs, m, 8, nref, 1);
	if (pn)
		memset(pn, 'X', 8 * VBD_PAGE_SIZE);
	post("g/e-unshared", "1");
	await("m/e-done");
	if (pn)
		P->gntshr->unshare(gs, pn, 8);

	/* events */
	await("m/bound");
	p = wait_event(ev, EVENT_MS);
	check(p == port, "event mapper->granter via poll() on the handle fd", "got %d", p);
	P->evtchn->unmask(ev, (vbd_port_t)port);
	rc = P->evtchn->notify(ev, (vbd_port_t)port);
	check(rc == 0, "notify granter->mapper", "rc=%d", rc);
	post("g/notified", "1");
	await("m/got");

	/* coalescing */
	post("g/coalesce-ready", "1");
	await("m/n1");
	p = wait_event(ev, EVENT_MS);
	check(p == port, "first notify arrives (left masked)", "got %d", p);
	post("g/masked", "1");
	await("m/n3");
	p = wait_event(ev, QUIET_MS);
	check(p < 0, "no event while masked", "got %d", p);
	P->evtchn->unmask(ev, (vbd_port_t)port);
	p = wait_event(ev, EVENT_MS);
	check(p == port, "one event after unmask", "got %d", p);
	P->evtchn->unmask(ev, (vbd_port_t)port);
	p = wait_event(ev, QUIET_MS);
	check(p < 0, "notifies while masked coalesced into exactly one", "second event %d", p);
	post("g/coalesce-done", "1");

	/* peer unbound */
	await("m/unbound");
	rc = P->evtchn->notify(ev, (vbd_port_t)port);
	check(rc == 0, "notify after the peer unbound returns 0", "rc=%d", rc);
	post("g/notified-unbound", "1");
	await("m/rebound");
	rc = P->evtchn->notify(ev, (vbd_port_t)port);
	check(rc == 0, "notify after the peer re-bound", "rc=%d", rc);
	post("g/notified2", "1");
	await("m/got2");

	/* own errors */
	rc = P->evtchn->notify(ev, BAD_PORT);
	check(rc == -ENOTCONN, "notify a port this handle does not own: ENOTCONN", "rc=%d", rc);
	rc = P->evtchn->unbind(ev, (vbd_port_t)pt);
	check(rc == 0, "unbind the third domain's port", "rc=%d", rc);
	rc = P->evtchn->unbind(ev, (vbd_port_t)port);
	check(rc == 0, "unbind", "rc=%d", rc);
	rc = P->evtchn->notify(ev, (vbd_port_t)port);
	check(rc == -ENOTCONN, "notify after own unbind: ENOTCONN", "rc=%d", rc);
	rc = P->evtchn->unbind(ev, (vbd_port_t)port);
	check(rc == -ENOTCONN, "unbind again: ENOTCONN", "rc=%d", rc);

	await("w/done");
	rc = P->gntshr->unshare(gs, prw, 1) | P->gntshr->unshare(gs, pro, 1) |
	     P->gntshr->unshare(gs, pm, 3) | P->gntshr->unshare(gs, pw, 1);
	check(rc == 0, "unshare the rest after the peers unmapped", "rc=%d", rc);
	P->gntshr->close(gs);
	P->evtchn->close(ev);
	post("g/done", "1");
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

#define RW (PROT_READ | PROT_WRITE)

static int do_mapper(char **argv)
{
	vbd_domid_t g = (vbd_domid_t)atoi(argv[0]), w = (vbd_domid_t)atoi(argv[1]);
	unsigned r[7];
	int port, pt, rc, l, l2, p, st;
	struct vbd_gnttab *gt = P->gnttab->open();
	struct vbd_evtchn *ev = P->evtchn->open();
	char *a, *b, *c, *pe;
	vbd_gref_t batch[3];
	uint64_t end;

	if (!gt || !ev)
		fatal("opening handles: %s", strerror(errno));
	if (sscanf(await("g/refs"), "%u %u %u %u %u %u %u", &r[0], &r[1], &r[2], &r[3], &r[4],
		   &r[5], &r[6]) != 7 ||
	    sscanf(await("g/ports"), "%d %d", &port, &pt) != 2)
		fatal("bad rendezvous data");

	a = map1(gt, g, r[0], RW);
	check(a && !strcmp(a, "RW-from-G"), "map an RW grant read-write", "%s",
	      a ? a : strerror(errno));
	if (a)
		strcpy(a, "RW-written-by-M");
	b = map1(gt, g, r[1], PROT_READ);
	check(b && !strcmp(b, "RO-from-G"), "map an RO grant read-only", "%s",
	      b ? b : strerror(errno));
	errno = 0;
	c = map1(gt, g, r[1], RW);
	check(!c && errno == EINVAL, "map an RO grant writable: EINVAL", "%p %s", (void *)c,
	      strerror(errno));
	if (b) {
		st = touch_page(b, 1);
		check(st == SEGV_ACCERR, "writing a read-only mapping raises SIGSEGV (SEGV_ACCERR)",
		      "si_code/-signal %d", st);
		st = read_in_child(b);
		check(st == 11, "a forked child does not inherit a grant mapping (SIGSEGV)",
		      "child result %d", st);
	}
	for (int i = 0; i < 3; i++)
		batch[i] = r[2 + i];
	c = P->gnttab->map_refs(gt, 3, g, batch, RW);
	check(c && !strcmp(c, "P0-from-G") && !strcmp(c + VBD_PAGE_SIZE, "P1-from-G") &&
		  !strcmp(c + 2 * VBD_PAGE_SIZE, "P2-from-G"),
	      "map 3 refs in one batch", "%s", c ? c : strerror(errno));
	if (c)
		P->gnttab->unmap(gt, c, 3);
	batch[1] = BAD_REF;
	errno = 0;
	c = P->gnttab->map_refs(gt, 3, g, batch, RW);
	check(!c && errno == EINVAL, "a batch with one bad ref fails whole: EINVAL", "%s",
	      strerror(errno));
	errno = 0;
	c = map1(gt, g, r[6], PROT_READ);
	check(!c && errno == EINVAL, "map a ref granted to another domain: EINVAL", "%s",
	      strerror(errno));
	errno = 0;
	c = map1(gt, w, r[0], PROT_READ);
	check(!c && errno == EINVAL, "map naming the wrong granter: EINVAL", "%s", strerror(errno));
	errno = 0;
	c = map1(gt, BAD_DOMID, r[0], PROT_READ);
	check(!c && errno == EINVAL, "map naming a nonexistent granter: EINVAL", "%s",
	      strerror(errno));
	errno = 0;
	c = map1(gt, g, r[0] + 5000, PROT_READ);
	check(!c && errno == EINVAL, "map an unused ref: EINVAL", "%s", strerror(errno));
	if (a)
		check(P->gnttab->unmap(gt, a, 1) == 0, "unmap", NULL);
	if (b)
		P->gnttab->unmap(gt, b, 1);
	rc = P->gnttab->unmap(gt, &rc, 1);
	check(rc == -EINVAL, "unmap an address that is not mapped: EINVAL", "rc=%d", rc);
	{
		vbd_gref_t mref[MANY];
		char *many;
		int bad = -1;

		for (int k = 0; k < MANY / MANY_PER_KEY; k++) {
			char key[32];
			const char *v;

			snprintf(key, sizeof(key), "g/many%d", k);
			v = await(key);
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
		check(many && bad < 0, "map 300 separately shared pages in one batch", "%s page %d",
		      many ? "bad content at" : strerror(errno), bad);
		if (many)
			check(P->gnttab->unmap(gt, many, MANY) == 0, "unmap the 300-page batch",
			      NULL);
	}
	post("m/mapped", "1");

	/* unshare while mapped */
	pe = map1(gt, g, r[5], RW);
	check(pe && !strcmp(pe, "E-from-G"), "map E", "%s", pe ? pe : strerror(errno));
	if (!pe)
		fatal("cannot continue");
	post("m/e-mapped", "1");
	await("g/e-unshared");
	check(!strcmp(pe, "E-from-G"), "after unshare the mapper still reads the page", "%.20s",
	      pe);
	strcpy(pe + 100, "E-written-after-unshare");
	usleep(200000);
	check(!strcmp(pe, "E-from-G") && !strcmp(pe + 100, "E-written-after-unshare"),
	      "... and writes it; its storage is not reused meanwhile", "%.20s", pe);
	rc = P->gnttab->unmap(gt, pe, 1);
	check(rc == 0, "unmap the ended grant", "rc=%d", rc);
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
	check(!pe && errno == EINVAL, "a later map of the ended ref fails: EINVAL", "%s",
	      pe ? "still mappable" : strerror(errno));
	post("m/e-done", "1");

	/* events */
	l = P->evtchn->bind_interdomain(ev, g, (vbd_port_t)port);
	check(l > 0, "bind_interdomain", "rc=%d", l);
	if (l <= 0)
		fatal("cannot continue");
	p = wait_event(ev, EVENT_MS);
	check(p == l, "the new local port has one pending event at once", "got %d", p);
	P->evtchn->unmask(ev, (vbd_port_t)l);
	rc = P->evtchn->bind_interdomain(ev, g, (vbd_port_t)port);
	check(rc == -EINVAL, "bind a bound port: EINVAL", "rc=%d", rc);
	rc = P->evtchn->bind_interdomain(ev, g, (vbd_port_t)pt);
	check(rc == -EINVAL, "bind a port allocated for another domain: EINVAL", "rc=%d", rc);
	rc = P->evtchn->bind_interdomain(ev, g, BAD_PORT);
	check(rc == -EINVAL, "bind an unallocated port: EINVAL", "rc=%d", rc);
	rc = P->evtchn->bind_interdomain(ev, BAD_DOMID, 1);
	check(rc == -ESRCH, "bind to a nonexistent domain: ESRCH", "rc=%d", rc);
	rc = P->evtchn->notify(ev, BAD_PORT);
	check(rc == -ENOTCONN, "notify a port not owned: ENOTCONN", "rc=%d", rc);
	rc = P->evtchn->unbind(ev, UNOWNED_LOW_PORT);
	check(rc == -ENOTCONN, "unbind a port not owned (< 1024): ENOTCONN", "rc=%d", rc);
	rc = P->evtchn->unbind(ev, BAD_PORT);
	check(rc == -EINVAL, "unbind a port not owned (>= 1024): EINVAL", "rc=%d", rc);
	rc = P->evtchn->notify(ev, (vbd_port_t)l);
	check(rc == 0, "notify mapper->granter", "rc=%d", rc);
	post("m/bound", "1");
	await("g/notified");
	p = wait_event(ev, EVENT_MS);
	check(p == l, "event granter->mapper via poll() on the handle fd", "got %d", p);
	P->evtchn->unmask(ev, (vbd_port_t)l);
	post("m/got", "1");

	await("g/coalesce-ready");
	P->evtchn->notify(ev, (vbd_port_t)l);
	post("m/n1", "1");
	await("g/masked");
	rc = P->evtchn->notify(ev, (vbd_port_t)l) | P->evtchn->notify(ev, (vbd_port_t)l) |
	     P->evtchn->notify(ev, (vbd_port_t)l);
	check(rc == 0, "three notifies while the peer keeps the port masked", "rc=%d", rc);
	post("m/n3", "1");
	await("g/coalesce-done");

	rc = P->evtchn->unbind(ev, (vbd_port_t)l);
	check(rc == 0, "unbind the local port", "rc=%d", rc);
	post("m/unbound", "1");
	await("g/notified-unbound");
	p = wait_event(ev, QUIET_MS);
	check(p < 0, "nothing delivered after unbinding", "got %d", p);
	l2 = P->evtchn->bind_interdomain(ev, g, (vbd_port_t)port);
	check(l2 > 0, "bind the same remote port again", "rc=%d", l2);
	if (l2 <= 0)
		fatal("cannot continue");
	p = wait_event(ev, EVENT_MS);
	check(p == l2, "re-bound port has one pending event", "got %d", p);
	P->evtchn->unmask(ev, (vbd_port_t)l2);
	post("m/rebound", "1");
	await("g/notified2");
	p = wait_event(ev, EVENT_MS);
	check(p == l2, "event after re-bind", "got %d", p);
	P->evtchn->unmask(ev, (vbd_port_t)l2);
	P->evtchn->unbind(ev, (vbd_port_t)l2);
	post("m/got2", "1");
	await("g/done");
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
	int port, pt, rc;
	char *a;

	if (!gt || !ev)
		fatal("opening handles: %s", strerror(errno));
	if (sscanf(await("g/refs"), "%u %u %u %u %u %u %u", &r[0], &r[1], &r[2], &r[3], &r[4],
		   &r[5], &r[6]) != 7 ||
	    sscanf(await("g/ports"), "%d %d", &port, &pt) != 2)
		fatal("bad rendezvous data");
	errno = 0;
	a = map1(gt, g, r[0], PROT_READ);
	check(!a && errno == EINVAL, "the wrong domain cannot map the page: EINVAL", "%s",
	      a ? "mapped" : strerror(errno));
	errno = 0;
	a = map1(gt, g, r[1], PROT_READ);
	check(!a && errno == EINVAL, "... nor the read-only one: EINVAL", "%s",
	      a ? "mapped" : strerror(errno));
	a = map1(gt, g, r[6], RW);
	check(a && !strcmp(a, "for-W"), "it maps what was granted to it", "%s",
	      a ? a : strerror(errno));
	if (a)
		P->gnttab->unmap(gt, a, 1);
	rc = P->evtchn->bind_interdomain(ev, g, (vbd_port_t)port);
	check(rc == -EINVAL, "binding a port reserved for another domain: EINVAL", "rc=%d", rc);
	P->gnttab->close(gt);
	P->evtchn->close(ev);
	post("w/done", "1");
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
	dir = argv[2];
	P = vbd_platform();
	xs = xs_open(0);
	if (!xs)
		fatal("xs_open: %s", strerror(errno));
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
		fatal("bad arguments");
	xs_close(xs);
	printf("# %s: %d cases, %d failed\n", role, cases, failures);
	return rc || failures ? 1 : 0;
}
