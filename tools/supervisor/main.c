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

#include "pool.h"
#include "sv.h"
#include "vbdpool/log.h"
#include "xsh.h"

static const struct sv_module *const modules[] = {
    &sv_death_module,
    /* &sv_fence_module: heartbeat ages -> pause/destroy -> fenced */
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vbdpool-supervisor [--scan-ms N]\n"
		"  dom0 daemon (foreground): records members whose domain is gone as\n"
		"  members/<m>/state = dead (where their nodes remain), then removes\n"
		"  them from their volumes and revokes their grants (as `vbdpoolctl\n"
		"  member remove`); publishes /vbdpool/supervisor/pid.\n"
		"  --scan-ms N  re-check members every N ms besides domain events\n"
		"               (default %d)\n"
		"  SIGTERM or SIGINT: remove the pid node and exit.\n",
		VBD_SUPERVISOR_SCAN_MS);
}

struct pid_args {
	long pid;
};

static int pid_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct pid_args *a = arg;
	char v[24];
	int rc = 0;

	if (!xsh_exists(h, t, VBD_XS_ROOT))
		rc = pool_write(h, t, VBD_XS_ROOT, "", NULL);
	if (!rc && a->pid < 0) {
		if (xsh_exists(h, t, VBD_XS_SUPERVISOR "/pid"))
			rc = xsh_rm(h, t, VBD_XS_SUPERVISOR "/pid");
		return rc;
	}
	if (!rc && !xsh_exists(h, t, VBD_XS_SUPERVISOR))
		rc = xsh_write(h, t, VBD_XS_SUPERVISOR, "");
	snprintf(v, sizeof(v), "%ld", a->pid);
	if (!rc)
		rc = xsh_write(h, t, VBD_XS_SUPERVISOR "/pid", v);
	/* n0 +M: every member of any volume reads it */
	if (!rc)
		rc = pool_sync_supervisor_acls(h, t);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	long scan_ms = VBD_SUPERVISOR_SCAN_MS;
	sigset_t mask;
	int sfd, rc, exit_code = 0, lost = 0;
	int64_t next_scan;

	vbd_log_init(argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--scan-ms") && i + 1 < argc) {
			char *end;
			scan_ms = strtol(argv[++i], &end, 10);
			if (*end || scan_ms < 10 || scan_ms > 60000) {
				fprintf(stderr,
					"vbdpool-supervisor: bad --scan-ms '%s' (10..60000)\n",
					argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "vbdpool-supervisor: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}

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
	rc = xsh_txn(sv.xs, pid_txn, &pa);
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
	log_info("supervising (pid %ld, platform %s, scan every %ld ms)", pa.pid,
		 vbd_platform()->name, scan_ms);
	run_modules(&sv, priv, 0);
	next_scan = now_ms() + scan_ms;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = xs_fileno(sv.xs), .events = POLLIN},
					{.fd = sfd, .events = POLLIN}};
		int64_t wait = next_scan - now_ms();
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
		if (now_ms() >= next_scan) {
			if (!xenstore_alive(&sv)) {
				log_err("lost the XenStore connection: exiting");
				exit_code = 1;
				lost = 1;
				break;
			}
			run_modules(&sv, priv, 1);
			next_scan = now_ms() + scan_ms;
		}
	}
out:
	if (!lost) {
		xs_unwatch(sv.xs, "@releaseDomain", "release");
		xs_unwatch(sv.xs, "@introduceDomain", "introduce");
		pa.pid = -1;
		rc = xsh_txn(sv.xs, pid_txn, &pa);
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
