/* SPDX-License-Identifier: MIT */
/*
 * Autoattach: `xl create guest.cfg` is enough.  A new guest domain whose
 * xl config is found in the guest-config directories (--guest-configs,
 * default /etc/xen; the file <dir>/<name>.cfg, named after the domain)
 * and carries a `vbdpool = [ ... ]` line gets those devices attached by
 * `vbdpoolctl attach --config FILE --domain DOMID`, run as a child: the
 * parsing (libxlutil, as xl) and the attach transaction stay the CLI's.
 * A guest that has left the domain list, or is dying, loses every
 * attachment it had (as `vbdpoolctl detach` removes one, without the
 * close hand-shake: nothing is left to answer it).  A rebooted guest is a
 * new domain of the same name: attached again from its file.
 *
 * What was done for a guest is noted in /vbdpool/autoattach/<domid>
 * ("attached FILE" or "error: FILE: why"): the marker that the domain was
 * handled (a restarted supervisor does not attach it twice) and the
 * administrator's view of a failure (also logged).  A domain that has
 * vbdpool devices when the service first looks at it (attached by hand,
 * or before the service ran) is left alone, and so is every hot attach
 * or detach later: the service acts once per domain, at its creation.
 * docs/tooling.md, "Attaching from the guest's xl config", says why the
 * file is looked up by name (what the real-Xen rig showed).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vbd_pool_acl.h"
#include "sv.h"
#include "vbdpool/grow.h"
#include "vbdpool/log.h"
#include "vbdpool/xs.h"

#define AA_NOTES    "/vbdpool/autoattach"
#define AA_NOTE	    "/vbdpool/autoattach/%u"
#define AA_CHILD_MS 10000 /* a vbdpool-ctl attach that takes longer is killed */
#define AA_OUT_MAX  1024  /* what of its output is kept for the note */
#define AA_MAX_DOMS 1024  /* as the view lists */

struct aa {
	char **dirs; /* guest-config directories */
	unsigned ndirs;
	char ctl[PATH_MAX]; /* vbdpoolctl */
	unsigned *handled;  /* domids looked at (sorted by insertion) */
	unsigned nh, hcap;
	unsigned long fp; /* fingerprint of the domain list last seen */
	bool first;	  /* the first look: domains already there */
	bool retry;	  /* a domain could not be looked at yet */
	bool warned_nodomctl;
};

static bool handled(const struct aa *a, unsigned domid)
{
	for (unsigned i = 0; i < a->nh; i++)
		if (a->handled[i] == domid)
			return true;
	return false;
}

static void mark(struct aa *a, unsigned domid)
{
	if (handled(a, domid))
		return;
	if (VBD_GROW(a->handled, a->nh, a->hcap, 32) < 0)
		return; /* looked at again next time; its note stops a repeat */
	a->handled[a->nh++] = domid;
}

/* Running (listed and not dying), dom0 excluded. */
static bool dom_alive(const struct sv_view *v, unsigned domid)
{
	for (int i = 0; i < v->ndoms; i++)
		if (v->doms[i].domid == domid)
			return v->doms[i].state != VBD_DOM_DYING;
	return false;
}

/* ---- cleanup ---------------------------------------------------------- */

static int run_ctl(const struct aa *a, const char *const argv[], char *out, size_t outlen);

struct gone_att {
	char vol[VBD_VOLUME_ID_MAX + 1];
	unsigned g, d;
};

/* The attachments whose guest the view does not list alive. */
static int gone_atts(struct sv *sv, const struct sv_view *v, struct gone_att **out, unsigned *n)
{
	char **vols, **atts, p[VBD_XS_PATH_MAX];
	unsigned nv, na, cap = 0;

	*out = NULL;
	*n = 0;
	if (vbd_xs_list(sv->xs, XBT_NULL, &vols, &nv, VBD_XS_VOLUMES))
		return 0;
	for (unsigned i = 0; i < nv; i++) {
		snprintf(p, sizeof(p), VBD_XS_ATTACHMENTS, vols[i]);
		if (!vbd_volume_id_valid(vols[i]) ||
		    vbd_xs_list(sv->xs, XBT_NULL, &atts, &na, "%s", p))
			continue;
		for (unsigned k = 0; k < na; k++) {
			unsigned g, d;
			char tail;

			if (sscanf(atts[k], "%u-%u%c", &g, &d, &tail) != 2 || dom_alive(v, g))
				continue;
			if (VBD_GROW(*out, *n, cap, 8) < 0)
				break; /* the rest next time */
			snprintf((*out)[*n].vol, sizeof((*out)[*n].vol), "%s", vols[i]);
			(*out)[*n].g = g;
			(*out)[*n].d = d;
			(*n)++;
		}
		free(atts);
	}
	free(vols);
	return 0;
}

/* Every attachment whose guest is not alive is removed, by `vbdpoolctl
 * detach DOMID VOL --devid D --force` (a dead guest is named by its domid;
 * --force: no close hand-shake, nothing is left to answer it).  The
 * domain list that decides is taken again after the attachments were
 * read: the view's may predate a guest created and attached by hand
 * since, and an attachment read before the list belongs to a domain
 * created before it. */
static void cleanup(struct sv *sv, const struct aa *a, const struct sv_view *v)
{
	struct vbd_dominfo *now = NULL;
	struct gone_att *ga;
	char **atts, p[VBD_XS_PATH_MAX];
	unsigned n, na;
	int nnow = -1;

	gone_atts(sv, v, &ga, &n);
	if (n && (now = calloc(AA_MAX_DOMS, sizeof(*now))))
		nnow = vbd_platform()->domctl->list(sv->domctl, now, AA_MAX_DOMS);
	for (unsigned i = 0; i < n && nnow >= 0 && nnow <= AA_MAX_DOMS; i++) {
		char gs[16], ds[16], out[AA_OUT_MAX];
		bool alive = false;
		int rc;

		for (int k = 0; k < nnow; k++)
			if (now[k].domid == ga[i].g)
				alive = now[k].state != VBD_DOM_DYING;
		if (alive)
			continue;
		snprintf(gs, sizeof(gs), "%u", ga[i].g);
		snprintf(ds, sizeof(ds), "%u", ga[i].d);
		rc = run_ctl(a,
			     (const char *const[]){a->ctl, "detach", gs, ga[i].vol, "--devid", ds,
						   "--force", NULL},
			     out, sizeof(out));
		if (rc)
			log_err("volume %s: detaching device %u of dom%u (gone): %s%s%s", ga[i].vol,
				ga[i].d, ga[i].g, rc < 0 ? strerror(-rc) : "failed",
				*out ? ": " : "", out);
		else
			log_info("volume %s: dom%u is gone: its device %u detached", ga[i].vol,
				 ga[i].g, ga[i].d);
	}
	free(now);
	free(ga);
	/* the notes of gone domains (a domid used again is a new guest) */
	if (vbd_xs_list(sv->xs, XBT_NULL, &atts, &na, AA_NOTES))
		return;
	for (unsigned k = 0; k < na; k++) {
		char *end;
		unsigned long id = strtoul(atts[k], &end, 10);

		if (*end || end == atts[k] || dom_alive(v, (unsigned)id))
			continue;
		snprintf(p, sizeof(p), AA_NOTES "/%s", atts[k]);
		vbd_xs_rm(sv->xs, XBT_NULL, p);
	}
	free(atts);
}

/* ---- attach ----------------------------------------------------------- */

/* Does the file have a vbdpool key (a line `vbdpool = ...`)?  Files
 * without one are other guests' configs: nothing to do, nothing to say.
 * 1, 0, or -errno. */
static int has_vbdpool_key(const char *file)
{
	FILE *f = fopen(file, "re");
	char line[512];
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *s = line + strspn(line, " \t");
		if (!strncmp(s, "vbdpool", 7)) {
			s += 7 + strspn(s + 7, " \t");
			found = *s == '=';
		}
	}
	fclose(f);
	return found;
}

/* The first <dir>/<name>.cfg that is a regular file, into out. */
static int find_config(const struct aa *a, const char *name, char *out, size_t len)
{
	for (unsigned i = 0; i < a->ndirs; i++) {
		struct stat st;
		if ((size_t)snprintf(out, len, "%s/%s.cfg", a->dirs[i], name) >= len)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
	}
	return -ENOENT;
}

/* Run vbdpoolctl (argv[0] is a->ctl); its output (the first outlen - 3
 * bytes, newlines as "; ") in out.  Its exit status, or -errno (cannot
 * start, killed after AA_CHILD_MS). */
static int run_ctl(const struct aa *a, const char *const argv[], char *out, size_t outlen)
{
	int pfd[2], status, rc = 0;
	size_t n = 0;
	int64_t deadline = sv_now_ms() + AA_CHILD_MS;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (pid == 0) {
		sigset_t none;
		/* the daemon blocks SIGTERM/SIGINT for its signalfd */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(a->ctl, (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", a->ctl, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int64_t left = deadline - sv_now_ms();
		char buf[256];
		ssize_t r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		r = read(pfd[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (n + 3 >= outlen) /* keep the start: it says what failed */
				break;
			if (buf[i] == '\n') {
				out[n++] = ';';
				out[n++] = ' ';
			} else {
				out[n++] = buf[i];
			}
		}
		out[n] = '\0';
	}
	close(pfd[0]);
	while (n >= 2 && out[n - 2] == ';' && out[n - 1] == ' ')
		out[n -= 2] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc)
		return rc;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int note(struct sv *sv, unsigned domid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int note(struct sv *sv, unsigned domid, const char *fmt, ...)
{
	char p[VBD_XS_PATH_MAX], val[AA_OUT_MAX + PATH_MAX + 64];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (vbd_xs_exists(sv->xs, XBT_NULL, AA_NOTES) <= 0 &&
	    (rc = vbd_pool_write(sv->xs, XBT_NULL, AA_NOTES, "", NULL)))
		return rc;
	snprintf(p, sizeof(p), AA_NOTE, domid);
	return vbd_pool_write(sv->xs, XBT_NULL, p, val, NULL);
}

/* Look at one running domain that was not handled yet.  0: handled (or
 * nothing to do); 1: look again later. */
static int look_at(struct sv *sv, struct aa *a, unsigned domid)
{
	char *name = NULL, file[PATH_MAX], out[AA_OUT_MAX], dom[16];
	char **devs;
	unsigned ndev;
	int rc;

	if (vbd_xs_exists(sv->xs, XBT_NULL, AA_NOTE, domid) > 0)
		return 0; /* handled before a restart */
	if (vbd_xs_list(sv->xs, XBT_NULL, &devs, &ndev, "/local/domain/%u/device/vbdpool", domid) ==
	    0) {
		free(devs);
		if (ndev > 0) {
			if (!a->first)
				log_info("dom%u has vbdpool devices already (attached by hand): "
					 "left alone",
					 domid);
			return 0;
		}
	}
	if (vbd_xs_read(sv->xs, XBT_NULL, &name, "/local/domain/%u/name", domid))
		return 1; /* the toolstack has not written it yet */
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		free(name);
		return 0;
	}
	if (find_config(a, name, file, sizeof(file))) {
		log_debug("dom%u (%s): no guest config: nothing to attach", domid, name);
		free(name);
		return 0;
	}
	rc = has_vbdpool_key(file);
	if (rc <= 0) {
		if (rc < 0)
			log_warn("dom%u (%s): %s: %s", domid, name, file, strerror(-rc));
		free(name);
		return 0;
	}
	snprintf(dom, sizeof(dom), "%u", domid);
	rc = run_ctl(
	    a, (const char *const[]){a->ctl, "attach", "--config", file, "--domain", dom, NULL},
	    out, sizeof(out));
	if (rc == 0) {
		log_info("dom%u (%s): attached from %s: %s", domid, name, file, out);
		rc = note(sv, domid, "attached %s", file);
	} else {
		const char *why = rc == -ETIMEDOUT ? "timed out" : rc < 0 ? strerror(-rc) : "";
		log_err("dom%u (%s): attaching from %s failed%s%s: %s", domid, name, file,
			*why ? ": " : "", why, out);
		rc = note(sv, domid, "error: %s%s%s", why, *why ? ": " : "", out);
	}
	if (rc)
		log_err("dom%u: writing %s/%u: %s", domid, AA_NOTES, domid, strerror(-rc));
	free(name);
	return 0;
}

/* The domain list's fingerprint: a tick does the work only when it
 * changed (or a domain waits for its name), never re-reading the pool
 * while nothing happens. */
static unsigned long fingerprint(const struct sv_view *v)
{
	unsigned long h = 1469598103UL;

	for (int i = 0; i < v->ndoms; i++)
		h = (h ^ (v->doms[i].domid * 8u + (unsigned)v->doms[i].state)) * 16777619UL;
	return h ^ (unsigned long)v->ndoms;
}

static int aa_check(struct sv *sv, struct aa *a, const struct sv_view *v)
{
	unsigned k = 0;

	if (v->ndoms < 0) {
		if (!a->warned_nodomctl)
			log_warn("no domain list: guests are not attached from their xl config");
		a->warned_nodomctl = true;
		return 0;
	}
	a->fp = fingerprint(v);
	a->retry = false;
	/* first the devices of guests that are gone (a rebooted guest's old
	 * incarnation may hold a volume its new one attaches) */
	cleanup(sv, a, v);
	for (int i = 0; i < v->ndoms; i++) {
		unsigned d = v->doms[i].domid;
		if (d == 0 || v->doms[i].state == VBD_DOM_DYING || handled(a, d))
			continue;
		if (look_at(sv, a, d))
			a->retry = true;
		else
			mark(a, d);
	}
	a->first = false;
	/* forget the domains that left */
	for (unsigned i = 0; i < a->nh; i++)
		if (dom_alive(v, a->handled[i]))
			a->handled[k++] = a->handled[i];
	a->nh = k;
	return 0;
}

static int aa_on_domains(struct sv *sv, void *priv, const struct sv_view *v)
{
	return priv ? aa_check(sv, priv, v) : 0;
}

static int aa_on_tick(struct sv *sv, void *priv, const struct sv_view *v)
{
	struct aa *a = priv;

	if (!a || (!a->retry && fingerprint(v) == a->fp))
		return 0;
	return aa_check(sv, a, v);
}

/* vbdpoolctl: --vbdpoolctl, else next to this program, else on PATH. */
static void find_ctl(struct aa *a, const char *given)
{
	char self[PATH_MAX];
	ssize_t n;

	if (given) {
		snprintf(a->ctl, sizeof(a->ctl), "%s", given);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(a->ctl, sizeof(a->ctl), "%s/vbdpoolctl", self) <
				sizeof(a->ctl) &&
			    access(a->ctl, X_OK) == 0)
				return;
		}
	}
	for (const char *p = getenv("PATH"); p && *p;) {
		size_t l = strcspn(p, ":");
		if (l &&
		    (size_t)snprintf(a->ctl, sizeof(a->ctl), "%.*s/vbdpoolctl", (int)l, p) <
			sizeof(a->ctl) &&
		    access(a->ctl, X_OK) == 0)
			return;
		p += l + (p[l] == ':');
	}
	snprintf(a->ctl, sizeof(a->ctl), "vbdpoolctl");
}

static void aa_fini(void *priv)
{
	struct aa *a = priv;

	if (!a)
		return;
	for (unsigned i = 0; i < a->ndirs; i++)
		free(a->dirs[i]);
	free(a->dirs);
	free(a->handled);
	free(a);
}

static int aa_init(struct sv *sv, void **priv)
{
	struct aa *a;
	const char *dirs = sv->guest_configs ? sv->guest_configs : SV_GUEST_CONFIGS;

	*priv = NULL;
	if (!*dirs) {
		log_info("attaching guests from their xl config: off (--guest-configs '')");
		return 0;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->first = true;
	for (const char *p = dirs; *p;) {
		size_t l = strcspn(p, ":");
		char **nd;
		if (l) {
			nd = realloc(a->dirs, (a->ndirs + 1) * sizeof(*nd));
			if (!nd || !(nd[a->ndirs] = strndup(p, l))) {
				if (nd)
					a->dirs = nd;
				aa_fini(a);
				return -ENOMEM;
			}
			a->dirs = nd;
			a->ndirs++;
		}
		p += l + (p[l] == ':');
	}
	find_ctl(a, sv->ctl_path);
	log_info("attaching guests from <dir>/<name>.cfg in %s with %s", dirs, a->ctl);
	*priv = a;
	return 0;
}

const struct sv_module sv_autoattach_module = {.name = "autoattach",
					       .init = aa_init,
					       .fini = aa_fini,
					       .on_domains = aa_on_domains,
					       .on_tick = aa_on_tick};
