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
#include "vbd_acl.h"
#include "vbdpool/xs.h"

static const struct sv_module *const modules[] = {
    &sv_fence_module, /* heartbeat ages -> destroy/pause -> fenced */
    &sv_death_module, /* domain gone -> dead, grants revoked */
    &sv_drain_module, /* taken over -> drained/<m> once its I/O is over */
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vbdpool-supervisor [--lease-ms N] [--fence destroy|pause|off]\n"
		"                          [--storage-timeout-ms N] [--scan-ms N]\n"
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
		"  - publishes /vbdpool/supervisor/{pid,lease-ms}.\n"
		"  --lease-ms N            heartbeat lease (default %d; 100..600000)\n"
		"  --fence destroy|pause|off  how to stop a member whose lease expired\n"
		"                          (default destroy: see docs/protocol.md)\n"
		"  --storage-timeout-ms N  how long a paused (or, without domain\n"
		"                          control, dead) member's I/O may still land\n"
		"                          (default %d)\n"
		"  --scan-ms N             re-check members every N ms besides domain\n"
		"                          events (default %d, at most a quarter lease)\n"
		"  SIGTERM or SIGINT: remove the pid node and exit.\n",
		VBD_LEASE_MS, VBD_STORAGE_TIMEOUT_MS, VBD_SUPERVISOR_SCAN_MS);
}

struct pid_args {
	long pid;
	long lease_ms;
};

const char *sv_fence_name(enum sv_fence_policy p)
{
	return p == SV_FENCE_PAUSE ? "pause" : p == SV_FENCE_OFF ? "off" : "destroy";
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

static int num_arg(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "vbdpool-supervisor: bad %s '%s' (%ld..%ld)\n", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
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

int main(int argc, char **argv)
{
	struct sv sv = {0};
	void *priv[NMODULES] = {0};
	struct pid_args pa = {.pid = getpid()};
	long scan_ms = VBD_SUPERVISOR_SCAN_MS, lease_ms = VBD_LEASE_MS;
	long storage_ms = VBD_STORAGE_TIMEOUT_MS;
	sigset_t mask;
	int sfd, rc, exit_code = 0, lost = 0;
	int64_t next_scan;

	vbd_log_init(argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			return vbd_print_version("vbdpool-supervisor");
		} else if (!strcmp(argv[i], "--scan-ms") && i + 1 < argc) {
			if (num_arg("--scan-ms", argv[++i], 10, 60000, &scan_ms))
				return 2;
		} else if (!strcmp(argv[i], "--lease-ms") && i + 1 < argc) {
			if (num_arg("--lease-ms", argv[++i], 100, 600000, &lease_ms))
				return 2;
		} else if (!strcmp(argv[i], "--storage-timeout-ms") && i + 1 < argc) {
			if (num_arg("--storage-timeout-ms", argv[++i], 0, 3600000, &storage_ms))
				return 2;
		} else if (!strcmp(argv[i], "--fence") && i + 1 < argc) {
			const char *pol = argv[++i];
			if (!strcmp(pol, "destroy"))
				sv.fence = SV_FENCE_DESTROY;
			else if (!strcmp(pol, "pause"))
				sv.fence = SV_FENCE_PAUSE;
			else if (!strcmp(pol, "off"))
				sv.fence = SV_FENCE_OFF;
			else {
				fprintf(stderr,
					"vbdpool-supervisor: bad --fence '%s' (destroy, pause or "
					"off)\n",
					pol);
				return 2;
			}
		} else {
			fprintf(stderr, "vbdpool-supervisor: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}

	sv.lease_ms = lease_ms;
	sv.storage_timeout_ms = storage_ms;
	pa.lease_ms = lease_ms;
	if (scan_ms > lease_ms / 4)
		scan_ms = lease_ms / 4; /* an expired lease is seen within 1/4 of it */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return 1;
	}
	sv.xs = xs_open(0);
	if (!sv.xs) {
		log_err("cannot connect to XenStore: %s", strerror(errno));
		return 1;
	}
	sv.domctl = vbd_platform()->domctl->open();
	if (!sv.domctl)
		log_warn("no domain control (%s): judging deaths from XenStore alone",
			 strerror(errno));
	for (size_t i = 0; i < NMODULES; i++)
		if (modules[i]->init && (rc = modules[i]->init(&sv, &priv[i])) < 0) {
			log_err("module %s: %s", modules[i]->name, strerror(-rc));
			return 1;
		}
	rc = vbd_xs_transact(sv.xs, pid_txn, &pa);
	if (rc) {
		log_err("writing %s/pid: %s", VBD_XS_SUPERVISOR, strerror(-rc));
		return 1;
	}
	/* Both fire once at once (the initial event): that is the first scan. */
	if (!xs_watch(sv.xs, "@releaseDomain", "release") ||
	    !xs_watch(sv.xs, "@introduceDomain", "introduce")) {
		log_err("watching domain events: %s", strerror(errno));
		exit_code = 1;
		goto out;
	}
	log_info("supervising (pid %ld, platform %s, scan every %ld ms, lease %ld ms, fence %s, "
		 "storage timeout %ld ms)",
		 pa.pid, vbd_platform()->name, scan_ms, lease_ms, sv_fence_name(sv.fence),
		 storage_ms);
	run_modules(&sv, priv, 0);
	next_scan = sv_now_ms() + scan_ms;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = xs_fileno(sv.xs), .events = POLLIN},
					{.fd = sfd, .events = POLLIN}};
		int64_t wait = next_scan - sv_now_ms();
		int n = poll(pfd, 2, wait < 0 ? 0 : (int)wait);

		if (n < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			exit_code = 1;
			break;
		}
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: exiting", si.ssi_signo);
			break;
		}
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			char **ev;
			int events = 0;
			/* drain every queued event, then look once */
			while ((ev = xs_check_watch(sv.xs))) {
				events++;
				log_debug("watch %s", ev[XS_WATCH_PATH]);
				free(ev);
			}
			if (events)
				run_modules(&sv, priv, 0);
		}
		if (sv_now_ms() >= next_scan) {
			if (!xenstore_alive(&sv)) {
				log_err("lost the XenStore connection: exiting");
				exit_code = 1;
				lost = 1;
				break;
			}
			run_modules(&sv, priv, 1);
			/* a dying domain leaves the domain list without a
			 * XenStore event: look often while a guest may be
			 * holding writes for its drain signal */
			next_scan =
			    sv_now_ms() + (sv_drain_waiting(&sv) ? SV_DRAIN_POLL_MS : scan_ms);
		}
	}
out:
	if (!lost) {
		xs_unwatch(sv.xs, "@releaseDomain", "release");
		xs_unwatch(sv.xs, "@introduceDomain", "introduce");
		pa.pid = -1;
		rc = vbd_xs_transact(sv.xs, pid_txn, &pa);
		if (rc)
			log_warn("removing %s/pid: %s", VBD_XS_SUPERVISOR, strerror(-rc));
	}
	for (size_t i = 0; i < NMODULES; i++)
		if (modules[i]->fini)
			modules[i]->fini(priv[i]);
	if (sv.domctl)
		vbd_platform()->domctl->close(sv.domctl);
	xs_close(sv.xs);
	close(sfd);
	return exit_code;
}
