/* SPDX-License-Identifier: MIT */
/*
 * vbdpool-supervisor: dom0 daemon, runs in the foreground.  Publishes
 * /vbdpool/supervisor/pid, watches @releaseDomain and @introduceDomain,
 * and runs the modules (sv.h) on each event and every scan tick.
 * SIGTERM/SIGINT: removes the pid node and exits 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "vbd_pool_acl.h"
#include "sv.h"
#include "vbdpool/log.h"
#include "vbdpool/version.h"
#include "vbdpool/xs.h"

static const struct sv_module *const modules[] = {
    &sv_fence_module,	   /* heartbeat ages -> destroy/pause -> fenced */
    &sv_death_module,	   /* domain gone -> dead, grants revoked */
    &sv_drain_module,	   /* taken over -> drained/<m> once its I/O is over */
    &sv_autoattach_module, /* new guest -> attached from its xl config; gone -> detached */
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vbdpool-supervisor [--lease-ms N] [--fence destroy|pause|off]\n"
		"                          [--storage-timeout-ms N] [--scan-ms N]\n"
		"                          [--guest-configs DIR[:DIR...]] [--vbdpoolctl PATH]\n"
		"       vbdpool-supervisor --help | --version\n"
		"  dom0 daemon (foreground):\n"
		"  - fences a member whose heartbeat has not changed for the lease:\n"
		"    destroys (or pauses) its domain, and only then writes\n"
		"    members/<m>/state = fenced (the others take its queues);\n"
		"  - records members whose domain is gone as state = dead (where their\n"
		"    nodes remain), then removes them from their volumes and revokes\n"
		"    their grants (as `vbdpoolctl member remove`);\n"
		"  - writes /vbdpool/volumes/<v>/drained/<m> once such a member's I/O\n"
		"    can no longer land (its domain gone from the domain list, or the\n"
		"    storage timeout after a pause): guests hold newer overlapping\n"
		"    writes until then;\n"
		"  - attaches a new guest's vbdpool devices from its xl config, the file\n"
		"    <dir>/<name>.cfg (name: the domain's) with a `vbdpool = [...]` line,\n"
		"    by `vbdpoolctl attach --config FILE --domain DOMID` (noted in\n"
		"    /vbdpool/autoattach/<domid>: \"attached FILE\" or \"error: ...\");\n"
		"    removes every attachment of a guest that is gone or dying;\n"
		"  - publishes /vbdpool/supervisor/{pid,lease-ms}.\n"
		"  --lease-ms N            heartbeat lease (default %d; 100..600000)\n"
		"  --fence destroy|pause|off  how to stop a member whose lease expired\n"
		"                          (default destroy: see docs/protocol.md)\n"
		"  --storage-timeout-ms N  how long a paused (or, without domain\n"
		"                          control, dead) member's I/O may still land\n"
		"                          (default %d)\n"
		"  --scan-ms N             re-check members every N ms besides domain\n"
		"                          events (default %d, at most a quarter lease)\n"
		"  --guest-configs DIR[:DIR...]  where guests' xl configs are looked up\n"
		"                          (default %s; '' turns attaching off)\n"
		"  --vbdpoolctl PATH       the vbdpoolctl to run (default: the one next to\n"
		"                          this program, else on PATH)\n"
		"  SIGTERM or SIGINT: remove the pid node and exit.\n",
		VBD_LEASE_MS, VBD_STORAGE_TIMEOUT_MS, VBD_SUPERVISOR_SCAN_MS, SV_GUEST_CONFIGS);
}

struct pid_args {
	long pid;
	long lease_ms;
};

/* indexed by enum sv_fence_policy */
static const char *const fence_names[] = {"destroy", "pause", "off"};

const char *sv_fence_name(enum sv_fence_policy p)
{
	return (unsigned)p < sizeof(fence_names) / sizeof(fence_names[0]) ? fence_names[p]
									  : "destroy";
}

static int pid_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct pid_args *a = arg;
	char v[24];
	int rc = 0;

	if (vbd_xs_exists(h, t, VBD_XS_ROOT) <= 0)
		rc = vbd_pool_write(h, t, VBD_XS_ROOT, "", NULL);
	if (!rc && a->pid < 0) {
		if (vbd_xs_exists(h, t, "%s", VBD_XS_SUPERVISOR "/pid") > 0)
			rc = vbd_xs_rm(h, t, VBD_XS_SUPERVISOR "/pid");
		if (!rc && vbd_xs_exists(h, t, VBD_XS_LEASE) > 0)
			rc = vbd_xs_rm(h, t, VBD_XS_LEASE);
		return rc;
	}
	if (!rc && vbd_xs_exists(h, t, VBD_XS_SUPERVISOR) <= 0)
		rc = vbd_xs_write(h, t, VBD_XS_SUPERVISOR, "");
	snprintf(v, sizeof(v), "%ld", a->pid);
	if (!rc)
		rc = vbd_xs_write(h, t, VBD_XS_SUPERVISOR "/pid", v);
	/* members beat at least 4 times per lease (heartbeat.c) */
	snprintf(v, sizeof(v), "%ld", a->lease_ms);
	if (!rc)
		rc = vbd_xs_write(h, t, VBD_XS_LEASE, v);
	/* n0 +M: every member of any volume reads it */
	if (!rc)
		rc = vbd_pool_sync_supervisor_acls(h, t);
	return rc;
}

/* A read that fails with anything but "no such node" means the daemon is
 * gone (xenstored stopped, emulated host stopped): nothing to supervise. */
static int xenstore_alive(struct sv *sv)
{
	unsigned len;
	char *v = xs_read(sv->xs, XBT_NULL, VBD_XS_SUPERVISOR "/pid", &len);

	if (v) {
		free(v);
		return 1;
	}
	return errno == ENOENT || errno == EACCES;
}

static void run_modules(struct sv *sv, void **priv, int tick)
{
	struct sv_view v;
	int rc = sv_view_build(sv, &v);

	if (rc) {
		log_err("reading the pool: %s", strerror(-rc));
		return;
	}
	for (size_t i = 0; i < NMODULES; i++) {
		int (*fn)(struct sv *, void *, const struct sv_view *) =
		    tick ? modules[i]->on_tick : modules[i]->on_domains;
		if (fn && fn(sv, priv[i], &v) < 0)
			log_err("module %s failed", modules[i]->name);
	}
	sv_view_free(&v);
}

/* The command line. */
struct sv_conf {
	long lease_ms, storage_ms, scan_ms;
	enum sv_fence_policy fence;
	const char *guest_configs, *ctl_path;
};

struct sv_opt {
	const char *name;
	int (*parse)(const struct sv_opt *o, const char *arg, struct sv_conf *c);
	long lo, hi;  /* a number's range */
	size_t field; /* offset of the number in struct sv_conf */
};

static int opt_num(const struct sv_opt *o, const char *arg, struct sv_conf *c)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < o->lo || v > o->hi) {
		fprintf(stderr, "vbdpool-supervisor: bad %s '%s' (%ld..%ld)\n", o->name, arg, o->lo,
			o->hi);
		return -1;
	}
	*(long *)((char *)c + o->field) = v;
	return 0;
}

static int opt_fence(const struct sv_opt *o, const char *arg, struct sv_conf *c)
{
	for (size_t i = 0; i < sizeof(fence_names) / sizeof(fence_names[0]); i++)
		if (!strcmp(arg, fence_names[i])) {
			c->fence = (enum sv_fence_policy)i;
			return 0;
		}
	fprintf(stderr, "vbdpool-supervisor: bad %s '%s' (destroy, pause or off)\n", o->name, arg);
	return -1;
}

static int opt_str(const struct sv_opt *o, const char *arg, struct sv_conf *c)
{
	*(const char **)((char *)c + o->field) = arg;
	return 0;
}

static const struct sv_opt options[] = {
    {"--scan-ms", opt_num, 10, 60000, offsetof(struct sv_conf, scan_ms)},
    {"--lease-ms", opt_num, 100, 600000, offsetof(struct sv_conf, lease_ms)},
    {"--storage-timeout-ms", opt_num, 0, 3600000, offsetof(struct sv_conf, storage_ms)},
    {"--fence", opt_fence, 0, 0, 0},
    {"--guest-configs", opt_str, 0, 0, offsetof(struct sv_conf, guest_configs)},
    {"--vbdpoolctl", opt_str, 0, 0, offsetof(struct sv_conf, ctl_path)},
};

/* -1: run with *c; otherwise the exit status (help, version, bad usage). */
static int parse_args(int argc, char **argv, struct sv_conf *c)
{
	for (int i = 1; i < argc; i++) {
		const struct sv_opt *o = NULL;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version"))
			return vbd_print_version("vbdpool-supervisor");
		for (size_t k = 0; k < sizeof(options) / sizeof(options[0]) && !o; k++)
			if (!strcmp(argv[i], options[k].name) && i + 1 < argc)
				o = &options[k];
		if (!o) {
			fprintf(stderr, "vbdpool-supervisor: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
		if (o->parse(o, argv[++i], c))
			return 2;
	}
	return -1;
}

/* The daemon's state from setup to teardown. */
struct daemon {
	struct sv sv;
	void *priv[NMODULES];
	unsigned ninit; /* modules initialised */
	struct pid_args pa;
	long scan_ms;
	int sfd;
	int published; /* the pid node is ours to remove */
	int lost;      /* XenStore went away: nothing to remove */
};

/* SIGTERM/SIGINT as a descriptor, XenStore, domain control.  0 or 1. */
static int open_handles(struct daemon *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (d->sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return 1;
	}
	d->sv.xs = xs_open(0);
	if (!d->sv.xs) {
		log_err("cannot connect to XenStore: %s", strerror(errno));
		return 1;
	}
	d->sv.domctl = vbd_platform()->domctl->open();
	if (!d->sv.domctl)
		log_warn("no domain control (%s): judging deaths from XenStore alone",
			 strerror(errno));
	return 0;
}

/* The handles, the modules, the pid node and the domain watches.  0, or
 * 1 (logged). */
static int setup(struct daemon *d, const struct sv_conf *c)
{
	int rc;

	d->sv.lease_ms = c->lease_ms;
	d->sv.storage_timeout_ms = c->storage_ms;
	d->sv.fence = c->fence;
	d->sv.guest_configs = c->guest_configs;
	d->sv.ctl_path = c->ctl_path;
	d->pa = (struct pid_args){.pid = getpid(), .lease_ms = c->lease_ms};
	/* an expired lease is seen within 1/4 of it */
	d->scan_ms = c->scan_ms > c->lease_ms / 4 ? c->lease_ms / 4 : c->scan_ms;
	if (open_handles(d))
		return 1;
	for (; d->ninit < NMODULES; d->ninit++) {
		const struct sv_module *m = modules[d->ninit];
		if (m->init && (rc = m->init(&d->sv, &d->priv[d->ninit])) < 0) {
			log_err("module %s: %s", m->name, strerror(-rc));
			return 1;
		}
	}
	rc = vbd_xs_transact(d->sv.xs, pid_txn, &d->pa);
	if (rc) {
		log_err("writing %s/pid: %s", VBD_XS_SUPERVISOR, strerror(-rc));
		return 1;
	}
	d->published = 1;
	/* Both fire once at once (the initial event): that is the first scan. */
	if (!xs_watch(d->sv.xs, "@releaseDomain", "release") ||
	    !xs_watch(d->sv.xs, "@introduceDomain", "introduce")) {
		log_err("watching domain events: %s", strerror(errno));
		return 1;
	}
	/* The pool: a change there (members, states, ACLs, records) makes the
	 * next view read it all again; ticks in between re-read heartbeats
	 * only (sv.h, struct sv_pool_cache). */
	if (!xs_watch(d->sv.xs, VBD_XS_VOLUMES, SV_WATCH_POOL) ||
	    !xs_watch(d->sv.xs, VBD_XS_SUPERVISOR, SV_WATCH_POOL)) {
		log_err("watching %s: %s", VBD_XS_VOLUMES, strerror(errno));
		return 1;
	}
	log_info("supervising (pid %ld, platform %s, scan every %ld ms, lease %ld ms, fence %s, "
		 "storage timeout %ld ms)",
		 d->pa.pid, vbd_platform()->name, d->scan_ms, c->lease_ms, sv_fence_name(c->fence),
		 c->storage_ms);
	return 0;
}

/* Drain every queued watch event, then look once. */
static void on_watch_events(struct daemon *d)
{
	char **ev;
	int events = 0;

	while ((ev = xs_check_watch(d->sv.xs))) {
		if (!strcmp(ev[XS_WATCH_TOKEN], SV_WATCH_POOL)) {
			/* a member's load is nothing the pool cache keeps:
			 * re-reading the pool for it cost, under I/O, what the
			 * cache saves when idle (test sv_idle_cost) */
			if (!vbd_member_load_path(ev[XS_WATCH_PATH]))
				sv_pool_changed(&d->sv); /* read at the next view */
		} else {
			events++;
			log_debug("watch %s", ev[XS_WATCH_PATH]);
		}
		free(ev);
	}
	if (events)
		run_modules(&d->sv, d->priv, 0);
}

/* The scan tick; returns when the next one is due, or -1: XenStore is
 * gone. */
static int64_t on_scan(struct daemon *d)
{
	if (!xenstore_alive(&d->sv)) {
		log_err("lost the XenStore connection: exiting");
		d->lost = 1;
		return -1;
	}
	run_modules(&d->sv, d->priv, 1);
	/* a dying domain leaves the domain list without a XenStore event:
	 * look often while a guest may be holding writes for its drain
	 * signal */
	return sv_now_ms() + (sv_drain_waiting(&d->sv) ? SV_DRAIN_POLL_MS : d->scan_ms);
}

/* Until a signal (exit status 0) or an error (1). */
static int loop(struct daemon *d)
{
	int64_t next_scan;

	run_modules(&d->sv, d->priv, 0);
	next_scan = sv_now_ms() + d->scan_ms;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = xs_fileno(d->sv.xs), .events = POLLIN},
					{.fd = d->sfd, .events = POLLIN}};
		int64_t wait = next_scan - sv_now_ms();
		int n = poll(pfd, 2, wait < 0 ? 0 : (int)wait);

		if (n < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return 1;
		}
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(d->sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: exiting", si.ssi_signo);
			return 0;
		}
		if (n > 0 && (pfd[0].revents & POLLIN))
			on_watch_events(d);
		if (sv_now_ms() >= next_scan && (next_scan = on_scan(d)) < 0)
			return 1;
	}
}

/* Withdraw the pid node (unless XenStore is gone) and release everything
 * setup acquired. */
static void teardown(struct daemon *d)
{
	if (d->published && !d->lost) {
		int rc;
		xs_unwatch(d->sv.xs, "@releaseDomain", "release");
		xs_unwatch(d->sv.xs, "@introduceDomain", "introduce");
		xs_unwatch(d->sv.xs, VBD_XS_VOLUMES, SV_WATCH_POOL);
		xs_unwatch(d->sv.xs, VBD_XS_SUPERVISOR, SV_WATCH_POOL);
		d->pa.pid = -1;
		rc = vbd_xs_transact(d->sv.xs, pid_txn, &d->pa);
		if (rc)
			log_warn("removing %s/pid: %s", VBD_XS_SUPERVISOR, strerror(-rc));
	}
	while (d->ninit > 0)
		if (modules[--d->ninit]->fini)
			modules[d->ninit]->fini(d->priv[d->ninit]);
	if (d->sv.domctl)
		vbd_platform()->domctl->close(d->sv.domctl);
	sv_pool_cache_free(&d->sv);
	if (d->sv.xs)
		xs_close(d->sv.xs);
	if (d->sfd >= 0)
		close(d->sfd);
}

int main(int argc, char **argv)
{
	struct sv_conf conf = {.lease_ms = VBD_LEASE_MS,
			       .storage_ms = VBD_STORAGE_TIMEOUT_MS,
			       .scan_ms = VBD_SUPERVISOR_SCAN_MS,
			       .fence = SV_FENCE_DESTROY};
	struct daemon d = {.sfd = -1};
	int rc;

	vbd_log_init(argv[0]);
	rc = parse_args(argc, argv, &conf);
	if (rc >= 0)
		return rc;
	rc = setup(&d, &conf);
	if (!rc)
		rc = loop(&d);
	teardown(&d);
	return rc;
}
