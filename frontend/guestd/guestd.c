/* SPDX-License-Identifier: MIT */
/*
 * vbdpool-guestd: gives the guest a block device for each vbdpool device
 * dom0 attaches (docs/frontend.md "vbdpool-guestd").  It watches the
 * guest's device/vbdpool/, runs one `vbdpool-nbd --hold-detach 1` per
 * device on a private Unix socket (<run-dir>/nbd-<devid>.sock), connects
 * it to the kernel's NBD client (nbd-client -u SOCK /dev/nbdN) and links
 * <root>/dev/vbdpool/<devid> to /dev/nbdN (--no-kernel, or no /dev/nbd0:
 * to the socket).  dom0's detach (state 5) waits while the device is in
 * use (logged, device/vbdpool/<d>/busy says why), then the kernel device
 * is disconnected and the export stopped, which writes state 6.  The
 * exports outlive the agent: a restarted agent adopts them
 * (<run-dir>/nbd-<devid>.pid, .dev).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "guestd.h"
#include "vbdpool/clock.h"
#include "vbdpool/log.h"
#include "vbdpool/parse_num.h"
#include "vbdpool/version.h"
#include "vbdpool/xs.h"

#define DEVDIR	    "device/vbdpool"
#define WATCH_TOKEN "vbdguestd"
#define MAX_DEVS    256
#define MAX_NBD	    4096
#define TICK_MS	    500	  /* socket readiness, busy re-checks, adopted exports */
#define BACKOFF_MAX 30000 /* ms between restarts of an export that keeps dying */

extern char **environ;

enum dev_state {
	DS_IDLE,     /* not exported (yet) */
	DS_RUNNING,  /* vbdpool-nbd runs */
	DS_FAILED,   /* vbdpool-nbd refused the directory: wait for it to change */
	DS_STOPPING, /* SIGTERM sent: the detach finishes when it exits */
	DS_DONE,     /* detached: nothing until dom0 removes the directory */
};

struct dev {
	unsigned devid;
	enum dev_state st;
	bool present, ready, adopted, removed;
	bool closing; /* dom0 wrote state 5 */
	pid_t pid;
	int kidx;	     /* /dev/nbd<kidx>, -1: none */
	char sig[512];	     /* the directory a failed start saw */
	char busy[256];	     /* what we wrote to busy ("" none) */
	uint64_t restart_at; /* vbd_now_ms(); 0: not waiting */
	unsigned backoff_ms;
};

static struct gd_cfg cfg = {
    .root = "/", .run_dir = "/run/vbdpool-guestd", .nbd_client = "nbd-client", .kernel = true};
static struct dev devs[MAX_DEVS];
static unsigned ndevs;
static struct xs_handle *xs;
static char bad_names[1024]; /* names under device/vbdpool reported once */

/* ---- paths ------------------------------------------------------------------ */

static void run_path(char *buf, size_t len, const struct dev *d, const char *ext)
{
	snprintf(buf, len, "%s/nbd-%u.%s", cfg.run_dir, d->devid, ext);
}

static void link_path(char *buf, size_t len, const struct dev *d)
{
	snprintf(buf, len, "%s/dev/vbdpool/%u", cfg.root, d->devid);
}

static int mkdirs(const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* <root>/dev/vbdpool/<devid> -> target, replaced atomically */
static void make_link(struct dev *d, const char *target)
{
	char l[PATH_MAX], tmp[PATH_MAX + 8], dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/dev/vbdpool", cfg.root);
	link_path(l, sizeof(l), d);
	snprintf(tmp, sizeof(tmp), "%s.new", l);
	unlink(tmp);
	if (mkdirs(dir) < 0 || symlink(target, tmp) < 0 || rename(tmp, l) < 0)
		log_err("device %u: cannot link %s -> %s: %s", d->devid, l, target,
			strerror(errno));
}

static void drop_link(struct dev *d)
{
	char l[PATH_MAX];

	link_path(l, sizeof(l), d);
	unlink(l);
}

static void write_file(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	if (!f) {
		log_warn("%s: %s", path, strerror(errno));
		return;
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static int read_num_file(const char *path, uint64_t max, uint64_t *out)
{
	char b[32] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(b, sizeof(b), f))
		b[0] = 0;
	fclose(f);
	b[strcspn(b, "\n")] = 0;
	return vbd_parse_u64(b, max, out);
}

/* ---- XenStore ---------------------------------------------------------------- */

static int read_state(const struct dev *d, uint64_t *st)
{
	return vbd_xs_read_u64(xs, XBT_NULL, 6, st, DEVDIR "/%u/state", d->devid);
}

/* The values vbdpool-nbd checks: when a refused directory changes, retry. */
static void dir_sig(const struct dev *d, char *sig, size_t len)
{
	static const char *const keys[] = {"volume", "pool", "num-queues"};
	size_t off = 0;

	sig[0] = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && off < len; i++) {
		char *v = NULL;
		vbd_xs_read(xs, XBT_NULL, &v, DEVDIR "/%u/%s", d->devid, keys[i]);
		off += (size_t)snprintf(sig + off, len - off, "%s=%s;", keys[i], v ? v : "-");
		free(v);
	}
}

static void set_busy(struct dev *d, const char *why)
{
	char p[VBD_XS_PATH_MAX];

	if (!strcmp(d->busy, why))
		return;
	snprintf(p, sizeof(p), DEVDIR "/%u/busy", d->devid);
	if (*why)
		vbd_xs_write(xs, XBT_NULL, p, why);
	else if (vbd_xs_exists(xs, XBT_NULL, "%s", p) > 0)
		vbd_xs_rm(xs, XBT_NULL, p);
	snprintf(d->busy, sizeof(d->busy), "%s", why);
}

/* ---- the export (vbdpool-nbd) -------------------------------------------------- */

static void start_export(struct dev *d)
{
	char sock[PATH_MAX], pidf[PATH_MAX], devid[16];
	char *argv[] = {(char *)cfg.server, "--devid", devid,		"--socket", sock,
			"--idle-timeout",   "0",       "--hold-detach", "1",	    NULL};
	posix_spawnattr_t at;
	sigset_t none;
	int rc;

	snprintf(devid, sizeof(devid), "%u", d->devid);
	run_path(sock, sizeof(sock), d, "sock");
	run_path(pidf, sizeof(pidf), d, "pid");
	sigemptyset(&none);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawnp(&d->pid, cfg.server, NULL, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	if (rc) {
		log_err("device %u: cannot run %s: %s", d->devid, cfg.server, strerror(rc));
		d->st = DS_FAILED;
		dir_sig(d, d->sig, sizeof(d->sig));
		return;
	}
	write_file(pidf, "%d\n", (int)d->pid);
	d->st = DS_RUNNING;
	d->ready = d->adopted = false;
	log_info("device %u: exporting it (vbdpool-nbd pid %d, %s)", d->devid, (int)d->pid, sock);
}

/* An export of an earlier agent: its pid file names a vbdpool-nbd still
 * serving this device on our socket. */
static bool adopt_export(struct dev *d)
{
	char pidf[PATH_MAX], sock[PATH_MAX], p[64], cmd[PATH_MAX * 2];
	uint64_t pid, idx;
	ssize_t n;
	int fd;

	run_path(pidf, sizeof(pidf), d, "pid");
	run_path(sock, sizeof(sock), d, "sock");
	if (read_num_file(pidf, INT32_MAX, &pid) < 0 || pid < 2)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	snprintf(p, sizeof(p), "--devid %u ", d->devid);
	if (!strstr(cmd, "vbdpool-nbd") || !strstr(cmd, p) || !strstr(cmd, sock))
		return false;
	d->pid = (pid_t)pid;
	d->st = DS_RUNNING;
	d->adopted = true;
	d->ready = false;
	run_path(pidf, sizeof(pidf), d, "dev");
	if (cfg.kernel && read_num_file(pidf, MAX_NBD - 1, &idx) == 0)
		d->kidx = (int)idx;
	log_info("device %u: adopted its running export (vbdpool-nbd pid %d)", d->devid, d->pid);
	return true;
}

static bool adopted_alive(const struct dev *d)
{
	char p[64], s[256] = "";
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)d->pid);
	f = fopen(p, "r");
	if (!f)
		return false;
	if (!fgets(s, sizeof(s), f))
		s[0] = 0;
	fclose(f);
	const char *rp = strrchr(s, ')');
	return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static void kernel_taken(unsigned char *taken)
{
	memset(taken, 0, MAX_NBD / 8);
	for (unsigned i = 0; i < ndevs; i++)
		if (devs[i].kidx >= 0)
			taken[devs[i].kidx / 8] |= (unsigned char)(1u << (devs[i].kidx % 8));
}

/* The export answers: link it, connect the kernel's client. */
static void export_ready(struct dev *d)
{
	char sock[PATH_MAX], devf[PATH_MAX], target[32];
	unsigned char taken[MAX_NBD / 8];

	run_path(sock, sizeof(sock), d, "sock");
	d->ready = true;
	d->backoff_ms = 0;
	if (!cfg.kernel) {
		make_link(d, sock);
		log_info("device %u: ready on %s (no kernel NBD client: export only)", d->devid,
			 sock);
		return;
	}
	if (d->kidx >= 0 && gd_kernel_connected(d->kidx)) {
		log_info("device %u: /dev/nbd%d still connected", d->devid, d->kidx);
	} else {
		if (d->kidx < 0) {
			kernel_taken(taken);
			d->kidx = gd_kernel_free_index(taken, MAX_NBD);
		}
		if (d->kidx < 0) {
			log_err("device %u: no free /dev/nbdN (nbd nbds_max)", d->devid);
			return;
		}
		if (gd_kernel_connect(&cfg, sock, d->kidx) < 0) {
			d->kidx = -1;
			return;
		}
		run_path(devf, sizeof(devf), d, "dev");
		write_file(devf, "%d\n", d->kidx);
	}
	snprintf(target, sizeof(target), "/dev/nbd%d", d->kidx);
	make_link(d, target);
	log_info("device %u: ready as %s", d->devid, target);
}

static void stop_export(struct dev *d, const char *why)
{
	char devf[PATH_MAX];

	if (d->kidx >= 0) {
		if (gd_kernel_connected(d->kidx))
			gd_kernel_disconnect(&cfg, d->kidx);
		run_path(devf, sizeof(devf), d, "dev");
		unlink(devf);
		d->kidx = -1;
	}
	drop_link(d);
	if (d->st == DS_RUNNING) {
		log_info("device %u: %s: stopping its export (pid %d)", d->devid, why, d->pid);
		kill(d->pid, SIGTERM);
		d->st = DS_STOPPING;
	}
}

/* The export ended (exit status st, or -1: an adopted one vanished). */
static void export_ended(struct dev *d, int st)
{
	char pidf[PATH_MAX];
	bool failed_start = !d->ready && st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0;

	run_path(pidf, sizeof(pidf), d, "pid");
	unlink(pidf);
	d->pid = 0;
	if (d->st == DS_STOPPING) {
		log_info("device %u: export stopped%s", d->devid,
			 d->removed ? "" : "; detached (state 6)");
		d->st = DS_DONE;
		return;
	}
	if (d->kidx >= 0) { /* its socket is gone: the kernel device is dead */
		gd_kernel_disconnect(&cfg, d->kidx);
		d->kidx = -1;
	}
	drop_link(d);
	if (failed_start) {
		d->st = DS_FAILED;
		dir_sig(d, d->sig, sizeof(d->sig));
		log_err("device %u: vbdpool-nbd refused it (exit %d, its reason above): "
			"skipped until device/vbdpool/%u changes",
			d->devid, WEXITSTATUS(st), d->devid);
		return;
	}
	d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : 1000;
	if (d->backoff_ms > BACKOFF_MAX)
		d->backoff_ms = BACKOFF_MAX;
	d->st = DS_IDLE;
	d->restart_at = vbd_now_ms() + d->backoff_ms;
	if (st < 0)
		log_warn("device %u: its export (pid) is gone; restarting it in %u ms", d->devid,
			 d->backoff_ms);
	else
		log_warn("device %u: vbdpool-nbd ended (%s %d); restarting it in %u ms", d->devid,
			 WIFEXITED(st) ? "exit" : "signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), d->backoff_ms);
}

/* ---- detach: state 5 ----------------------------------------------------------- */

static void handle_closing(struct dev *d)
{
	char why[256] = "", sock[PATH_MAX];
	int rc, fd = -1;

	if (d->st == DS_STOPPING || d->st == DS_DONE)
		return;
	if (d->st != DS_RUNNING) {
		/* nothing of ours holds it: let the detach finish */
		char p[VBD_XS_PATH_MAX];
		snprintf(p, sizeof(p), DEVDIR "/%u/state", d->devid);
		log_info("device %u: dom0 detaches it; not exported: closed", d->devid);
		vbd_xs_printf(xs, XBT_NULL, p, "%d", XenbusStateClosed);
		d->st = DS_DONE;
		return;
	}
	if (!d->ready)
		return; /* decide once the export is up */
	run_path(sock, sizeof(sock), d, "sock");
	rc = gd_in_use(cfg.kernel ? d->kidx : -1, sock, why, sizeof(why), &fd);
	if (rc < 0)
		snprintf(why, sizeof(why), "cannot tell whether it is in use: %s", strerror(-rc));
	if (rc != 0) {
		if (strcmp(d->busy, why))
			log_warn(
			    "device %u: dom0 detaches it, but it is in use (%s): not detaching "
			    "until it is released",
			    d->devid, why);
		set_busy(d, why);
		return;
	}
	log_info("device %u: dom0 detaches it and it is not in use", d->devid);
	set_busy(d, "");
	stop_export(d, "detached");
	if (fd >= 0)
		close(fd);
}

/* ---- the device table ------------------------------------------------------------ */

static struct dev *find_dev(unsigned devid, bool create)
{
	for (unsigned i = 0; i < ndevs; i++)
		if (devs[i].devid == devid)
			return &devs[i];
	if (!create)
		return NULL;
	if (ndevs == MAX_DEVS) {
		log_err("device %u: more than %d devices: skipped", devid, MAX_DEVS);
		return NULL;
	}
	devs[ndevs] = (struct dev){.devid = devid, .kidx = -1};
	return &devs[ndevs++];
}

static void drop_dev(struct dev *d)
{
	drop_link(d);
	*d = devs[--ndevs];
}

/* A name under device/vbdpool that is no device id: said once. */
static void bad_name(const char *name)
{
	char key[80];

	snprintf(key, sizeof(key), "/%.64s/", name);
	if (strstr(bad_names, key))
		return;
	log_err(DEVDIR "/%s: not a device id: skipped", name);
	if (strlen(bad_names) + strlen(key) < sizeof(bad_names))
		strcat(bad_names, key);
}

/* One device present in XenStore: export it, or follow dom0's detach. */
static void process_dev(struct dev *d)
{
	uint64_t st = 0;
	char sig[sizeof(d->sig)];

	d->closing = read_state(d, &st) == 0 && st == XenbusStateClosing;
	if (d->closing) {
		handle_closing(d);
		return;
	}
	if (d->busy[0]) {
		log_info("device %u: the detach was withdrawn (state %u)", d->devid, (unsigned)st);
		set_busy(d, "");
	}
	switch (d->st) {
	case DS_FAILED:
		dir_sig(d, sig, sizeof(sig));
		if (!strcmp(sig, d->sig))
			return;
		log_info("device %u: its directory changed: trying again", d->devid);
		d->st = DS_IDLE;
		/* fall through */
	case DS_IDLE:
		if (d->restart_at && vbd_now_ms() < d->restart_at)
			return;
		d->restart_at = 0;
		if (!adopt_export(d))
			start_export(d);
		return;
	case DS_DONE:
		/* removed and attached again between two looks (state 1 again) */
		if (st != XenbusStateInitialising)
			return;
		log_info("device %u: attached again", d->devid);
		*d = (struct dev){.devid = d->devid, .kidx = -1, .present = true};
		start_export(d);
		return;
	case DS_RUNNING:
	case DS_STOPPING:
		return;
	}
}

static void scan(void)
{
	char **names = NULL;
	unsigned n = 0;
	int rc = vbd_xs_list(xs, XBT_NULL, &names, &n, DEVDIR);

	if (rc < 0 && rc != -ENOENT) {
		log_warn(DEVDIR ": %s", strerror(-rc));
		return;
	}
	for (unsigned i = 0; i < ndevs; i++)
		devs[i].present = false;
	for (unsigned i = 0; i < n; i++) {
		uint64_t id;
		struct dev *d;
		if (vbd_parse_u64(names[i], 0x7fffffff, &id) < 0) {
			bad_name(names[i]);
			continue;
		}
		if ((d = find_dev((unsigned)id, true)))
			d->present = true;
	}
	free(names);
	for (unsigned i = 0; i < ndevs;) {
		struct dev *d = &devs[i];
		if (d->present) {
			process_dev(d);
		} else if (d->st == DS_RUNNING || d->st == DS_STOPPING) {
			if (!d->removed)
				log_info("device %u: removed by dom0", d->devid);
			d->removed = true;
			set_busy(d, "");
			d->busy[0] = 0;
			stop_export(d, "removed by dom0");
		} else {
			drop_dev(d);
			continue;
		}
		i++;
	}
}

/* ---- the loop -------------------------------------------------------------------- */

static void reap(void)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (unsigned i = 0; i < ndevs; i++)
			if (devs[i].pid == pid && !devs[i].adopted)
				export_ended(&devs[i], st);
}

static bool sock_answers(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void tick(void)
{
	char sock[PATH_MAX];
	uint64_t now = vbd_now_ms();

	for (unsigned i = 0; i < ndevs;) {
		struct dev *d = &devs[i];
		if (d->adopted && (d->st == DS_RUNNING || d->st == DS_STOPPING) &&
		    !adopted_alive(d))
			export_ended(d, d->st == DS_STOPPING ? 0 : -1);
		if (d->removed && d->st == DS_DONE) {
			drop_dev(d);
			continue;
		}
		if (d->st == DS_RUNNING && !d->ready) {
			run_path(sock, sizeof(sock), d, "sock");
			if (sock_answers(sock))
				export_ready(d);
		}
		/* a detach waiting for the device, a restart due */
		if ((d->st == DS_RUNNING && d->ready && d->closing) ||
		    (d->st == DS_IDLE && d->restart_at && now >= d->restart_at))
			process_dev(d);
		i++;
	}
}

/* Coalesced watch events: 1 when one may change what we do (a device
 * directory, its state or the values the export checks). */
static bool relevant(const char *path)
{
	const char *p = strstr(path, DEVDIR);
	static const char *const keys[] = {"state", "volume", "pool", "num-queues"};

	if (!p)
		return false;
	p += strlen(DEVDIR);
	if (!*p)
		return true;
	p = strchr(p + 1, '/');
	if (!p)
		return true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(p + 1, keys[i]))
			return true;
	return false;
}

static bool drain_watch(void)
{
	bool any = false;
	struct pollfd p = {.fd = xs_fileno(xs), .events = POLLIN};

	do {
		unsigned num;
		char **ev = xs_read_watch(xs, &num);
		if (!ev)
			break;
		any |= relevant(ev[XS_WATCH_PATH]);
		free(ev);
	} while (poll(&p, 1, 0) > 0);
	return any;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vbdpool-guestd [--root DIR] [--run-dir DIR] [--no-kernel]\n"
		"                      [--server PATH] [--nbd-client PATH]\n"
		"       vbdpool-guestd --help | --version\n"
		"Gives this guest a block device for each vbdpool device dom0 attaches\n"
		"(device/vbdpool/<devid>): one vbdpool-nbd per device on a Unix socket,\n"
		"connected to the kernel's NBD client (nbd-client), linked as\n"
		"<root>/dev/vbdpool/<devid>.  dom0's detach waits while the device is in\n"
		"use (mounted, held, open exclusively; device/vbdpool/<devid>/busy says why).\n"
		"  --root DIR         where dev/vbdpool/ is made (default /)\n"
		"  --run-dir DIR      sockets and state of the exports (default\n"
		"                     /run/vbdpool-guestd); exports outlive the agent and a\n"
		"                     restarted one adopts them from there\n"
		"  --no-kernel        exports only, no /dev/nbdN (the default when /dev/nbd0\n"
		"                     is missing: modprobe nbd); <root>/dev/vbdpool/<devid> then\n"
		"                     links to the socket and \"in use\" means an NBD client\n"
		"                     is connected to it\n"
		"  --server PATH      vbdpool-nbd (default: next to this program, else PATH)\n"
		"  --nbd-client PATH  the kernel NBD client tool (default nbd-client)\n"
		"Log level: VBD_LOG=error|warn|info|debug.\n");
}

/* 0: run, 1: --help/--version done, 2: bad usage (said). */
static int parse_args(int argc, char **argv, bool *no_kernel)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = !strcmp(a, "--root")	 ? &cfg.root
				    : !strcmp(a, "--run-dir")	 ? &cfg.run_dir
				    : !strcmp(a, "--server")	 ? &cfg.server
				    : !strcmp(a, "--nbd-client") ? &cfg.nbd_client
								 : NULL;
		if (slot) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr, "vbdpool-guestd: %s needs a value\n", a);
				return 2;
			}
			*slot = argv[++i];
		} else if (!strcmp(a, "--no-kernel")) {
			*no_kernel = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		} else if (!strcmp(a, "--version")) {
			vbd_print_version("vbdpool-guestd");
			return 1;
		} else {
			fprintf(stderr, "vbdpool-guestd: unknown argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	return 0;
}

/* vbdpool-nbd next to us (an installed or built tree), else from PATH */
static const char *default_server(void)
{
	static char p[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", p, sizeof(p) - 16);
	char *slash;

	if (n > 0) {
		p[n] = 0;
		if ((slash = strrchr(p, '/'))) {
			strcpy(slash + 1, "vbdpool-nbd");
			if (access(p, X_OK) == 0)
				return p;
		}
	}
	return "vbdpool-nbd";
}

static int setup(bool no_kernel, int *sfd)
{
	sigset_t set;
	int rc;

	if (!cfg.server)
		cfg.server = default_server();
	cfg.kernel = !no_kernel;
	if (cfg.kernel && access("/dev/nbd0", F_OK) != 0) {
		log_warn("no kernel NBD client (/dev/nbd0 missing: modprobe nbd): exports only, "
			 "no /dev/nbdN");
		cfg.kernel = false;
	}
	if (strlen(cfg.run_dir) + sizeof("/nbd-2147483647.sock") >
	    sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_err("--run-dir %s: too long for a Unix socket path", cfg.run_dir);
		return -1;
	}
	if ((rc = mkdirs(cfg.run_dir)) < 0) {
		log_err("--run-dir %s: %s", cfg.run_dir, strerror(-rc));
		return -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	*sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return -1;
	}
	xs = xs_open(0);
	if (!xs) {
		log_err("cannot open XenStore: %s", strerror(errno));
		return -1;
	}
	if (!xs_watch(xs, DEVDIR, WATCH_TOKEN)) {
		log_err("cannot watch " DEVDIR ": %s", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool no_kernel = false, stop = false;
	int rc, sfd = -1;

	vbd_log_init("vbdpool-guestd");
	rc = parse_args(argc, argv, &no_kernel);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (setup(no_kernel, &sfd) < 0)
		return 1;
	log_info("watching " DEVDIR " (exports in %s, links in %s/dev/vbdpool, %s)", cfg.run_dir,
		 strcmp(cfg.root, "/") ? cfg.root : "",
		 cfg.kernel ? "kernel NBD client" : "no kernel");
	scan();
	while (!stop) {
		struct pollfd p[2] = {{.fd = xs_fileno(xs), .events = POLLIN},
				      {.fd = sfd, .events = POLLIN}};
		bool rescan = false;

		if (poll(p, 2, TICK_MS) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGCHLD)
					stop = true;
		}
		if (p[0].revents & POLLIN)
			rescan = drain_watch();
		reap();
		if (rescan)
			scan();
		tick();
	}
	unsigned live = 0;
	for (unsigned i = 0; i < ndevs; i++)
		live += devs[i].st == DS_RUNNING || devs[i].st == DS_STOPPING;
	log_info("stopping; %u export(s) keep running (a restarted vbdpool-guestd adopts them)",
		 live);
	xs_close(xs);
	return 0;
}
