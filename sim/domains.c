/* SPDX-License-Identifier: MIT */
/* Domain records: creation (XenStore home written as libxl does), death
 * detection by process group, tear-down, and dying domains that linger
 * while other domains still map their pages (as observed on Xen 4.17) or
 * a process of theirs has not exited yet (blocked in the kernel: the
 * emulator's form of in-flight I/O holding a dying domain). */
#include "xensim.h"
#include "simloop.h"
#include "xs_server.h"
#include "vbdpool/log.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct dom *dom_find(unsigned id)
{
	for (struct dom *d = g_sim->doms; d; d = d->next)
		if (d->id == id)
			return d;
	return NULL;
}

struct dom *dom_find_live(unsigned id)
{
	struct dom *d = dom_find(id);

	return d && d->state != VBD_DOM_DYING ? d : NULL;
}

/* The processes the daemon started into a domain (its direct children),
 * until reaped: the root of every domain process's ancestry. */
static struct spawned {
	pid_t pid;
	unsigned domid;
} * spawned;
static size_t nspawned, spawned_cap;

void dom_track(pid_t pid, unsigned domid)
{
	if (nspawned == spawned_cap) {
		size_t cap = spawned_cap ? 2 * spawned_cap : 16;
		struct spawned *p = realloc(spawned, cap * sizeof(*p));

		if (!p) {
			log_err("dom%u: cannot record pid %d: its connections will be refused",
				domid, (int)pid);
			return;
		}
		spawned = p;
		spawned_cap = cap;
	}
	spawned[nspawned++] = (struct spawned){pid, domid};
}

void dom_untrack(pid_t pid)
{
	for (size_t i = 0; i < nspawned; i++)
		if (spawned[i].pid == pid) {
			spawned[i] = spawned[--nspawned];
			return;
		}
}

static struct dom *dom_by_pgid(pid_t pg)
{
	for (struct dom *o = g_sim->doms; o; o = o->next)
		if ((o->pgid > 0 && o->pgid == pg) || (o->dying_pgid > 0 && o->dying_pgid == pg))
			return o;
	return NULL;
}

/* ppid and process group of pid from /proc/<pid>/stat; -1 if gone. */
static int proc_parent(pid_t pid, pid_t *ppid, pid_t *pgrp)
{
	char path[64], buf[512], *p;
	long pp, pg;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = 0;
	p = strrchr(buf, ')'); /* comm may hold ')' */
	if (!p || sscanf(p + 1, " %*c %ld %ld", &pp, &pg) != 2)
		return -1;
	*ppid = (pid_t)pp;
	*pgrp = (pid_t)pg;
	return 0;
}

/* Which domain pid belongs to.  The daemon starts every domain process
 * (and nothing else) and is a child subreaper, so a process whose
 * ancestry reaches the daemon is a domain's: the one the daemon started
 * its ancestor into (dom_track), whatever process group it moved to
 * (setsid, setpgid); an orphan re-parented to the daemon is placed by its
 * process group, if that is a domain's.  A process outside the daemon's
 * tree is the host's: dom0 (the CLI runs dom0's programs in place).
 * Returns 0 with *out (NULL: dom0's) or -ESRCH: cannot be placed. */
static int dom_of_pid(pid_t pid, struct dom **out)
{
	pid_t self = getpid(), ppid, pgrp, p = pid;
	struct dom *by_pgrp;

	*out = NULL;
	for (int depth = 0; depth < 4096; depth++) {
		if (proc_parent(p, &ppid, &pgrp) < 0)
			return -ESRCH; /* gone (or went) meanwhile */
		if (ppid == self) {
			by_pgrp = dom_by_pgid(pgrp);
			for (size_t i = 0; i < nspawned; i++)
				if (spawned[i].pid == p)
					by_pgrp = dom_find(spawned[i].domid);
			*out = by_pgrp;
			return by_pgrp ? 0 : -ESRCH;
		}
		if (ppid <= 1)
			return 0; /* not below the daemon: the host's */
		p = ppid;
	}
	return -ESRCH;
}

bool dom_peer_ok(int fd, const struct dom *d)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	struct dom *o;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return false;
	if (dom_of_pid(uc.pid, &o) < 0) {
		log_warn("dom%u: refused a connection from pid %d (of no domain it can place)",
			 d->id, (int)uc.pid);
		return false;
	}
	/* the host's processes (dom0's tools, tests) may use any socket; a
	 * domain's process only its own */
	if (!o || o == d)
		return true;
	log_warn("dom%u: refused a connection from pid %d of dom%u", d->id, (int)uc.pid, o->id);
	return false;
}

void dom_xs_accept(int lfd, const struct dom *d)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		int rc;

		if (fd < 0)
			return;
		if (!dom_peer_ok(fd, d)) {
			close(fd);
			continue;
		}
		rc = xs_server_add_conn(g_sim->xs, fd, d->id);
		if (rc < 0) {
			log_warn("xenstore: dom%u connection refused: %s", d->id,
				 rc == -EMFILE ? "the domain has too many" : strerror(-rc));
			close(fd);
		}
	}
}

static void xs_accept_cb(void *arg, uint32_t ev)
{
	struct dom *d = arg;

	(void)ev;
	dom_xs_accept(d->xs_lfd, d);
}

static void hyp_accept_cb(void *arg, uint32_t ev)
{
	(void)ev;
	hyp_accept(arg);
}

static int open_sockets(struct dom *d)
{
	int rc;

	if (mkdir(d->path, 0755) < 0 && errno != EEXIST)
		return -errno;
	rc = sim_listen_on(d->path, "hyp.sock", SOCK_SEQPACKET, &d->hyp_lfd, hyp_accept_cb, d);
	if (rc < 0 || d->id == 0)
		return rc;
	return sim_listen_on(d->path, "xenstore.sock", SOCK_STREAM, &d->xs_lfd, xs_accept_cb, d);
}

static void close_listener(struct dom *d, int *lfd, const char *name)
{
	char path[PATH_MAX + 64];

	if (*lfd < 0)
		return;
	simloop_del(g_sim->loop, *lfd);
	close(*lfd);
	*lfd = -1;
	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	unlink(path);
}

static void close_sockets(struct dom *d)
{
	close_listener(d, &d->hyp_lfd, "hyp.sock");
	close_listener(d, &d->xs_lfd, "xenstore.sock");
}

static struct dom *dom_alloc(unsigned id, const char *name)
{
	struct dom *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->id = id;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->xs_lfd = d->hyp_lfd = d->status_fd = -1;
	d->gnt_next = SIM_GNT_FIRST_REF;
	snprintf(d->path, sizeof(d->path), "%s/dom/%u", g_sim->dir, id);
	d->gnt = calloc(SIM_GNT_MAX_REFS, sizeof(*d->gnt));
	if (!d->gnt || evt_dom_init(d) < 0) {
		free(d->gnt);
		free(d);
		return NULL;
	}
	return d;
}

static void dom_free(struct dom *d)
{
	struct dom **pp;

	for (pp = &g_sim->doms; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	close_sockets(d);
	evt_dom_fini(d);
	gnt_dom_fini(d);
	free(d);
}

static void xs_write(const char *path, const char *value, const char *perms)
{
	int rc = xs_server_write(g_sim->xs, path, value, perms);

	if (rc < 0)
		log_warn("xenstore write %s: %s", path, strerror(-rc));
}

/* A new domain with its sockets, on the host's list; -errno on failure. */
static int dom_add(unsigned id, const char *name, struct dom **out)
{
	struct dom *d = dom_alloc(id, name);
	int rc;

	if (!d)
		return -ENOMEM;
	rc = open_sockets(d);
	if (rc < 0) {
		dom_free(d);
		return rc;
	}
	d->next = g_sim->doms;
	g_sim->doms = d;
	*out = d;
	return 0;
}

int dom_setup_dom0(void)
{
	struct dom *d;
	int rc = dom_add(0, "Domain-0", &d);

	if (rc < 0)
		return rc;
	xs_write("/local/domain/0/name", "Domain-0", NULL);
	xs_write("/local/domain/0/domid", "0", NULL);
	return 0;
}

static unsigned alloc_domid(void)
{
	for (unsigned i = 0; i < SIM_MAX_DOMID; i++) {
		unsigned id = g_sim->next_domid;

		g_sim->next_domid = id >= SIM_MAX_DOMID ? 1 : id + 1;
		if (!dom_find(id))
			return id;
	}
	return 0;
}

static bool name_ok(const char *name)
{
	if (!*name || strlen(name) >= SIM_DOMNAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (*p <= ' ' || *p == '/' || (unsigned char)*p >= 127)
			return false;
	return true;
}

/* /local/domain/<id> and its children, as libxl writes them. */
static void write_home(struct dom *d)
{
	static const char *const owned[] = {"device",  "data", "control", "drivers",
					    "feature", "attr", "error"};
	char p[128], v[64], ro[32], rw[32];

	snprintf(ro, sizeof(ro), "n0 r%u", d->id);
	snprintf(rw, sizeof(rw), "n%u", d->id);
	snprintf(p, sizeof(p), "/local/domain/%u", d->id);
	xs_write(p, "", ro);
	snprintf(p, sizeof(p), "/local/domain/%u/vm", d->id);
	snprintf(v, sizeof(v), "/vm/%08x-0000-4000-8000-%012x", d->id, d->id);
	xs_write(p, v, ro);
	snprintf(p, sizeof(p), "/local/domain/%u/name", d->id);
	xs_write(p, d->name, ro);
	snprintf(p, sizeof(p), "/local/domain/%u/domid", d->id);
	snprintf(v, sizeof(v), "%u", d->id);
	xs_write(p, v, ro);
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		snprintf(p, sizeof(p), "/local/domain/%u/%s", d->id, owned[i]);
		xs_write(p, "", rw);
	}
	snprintf(p, sizeof(p), "/local/domain/%u/control/shutdown", d->id);
	xs_write(p, "", rw);
}

int dom_create(const char *name, struct dom **out)
{
	struct dom *d;
	unsigned id;
	int rc;

	if (!name_ok(name))
		return -EINVAL;
	for (d = g_sim->doms; d; d = d->next)
		if (d->state != VBD_DOM_DYING && !strcmp(d->name, name))
			return -EEXIST;
	id = alloc_domid();
	if (!id)
		return -ENOSPC;
	rc = dom_add(id, name, &d);
	if (rc < 0)
		return rc;
	write_home(d);
	xs_server_introduce(g_sim->xs, id);
	log_info("dom%u (%s) created", id, name);
	*out = d;
	return 0;
}

void dom_started(struct dom *d, pid_t pgid)
{
	d->pgid = pgid;
	log_info("dom%u (%s) running, process group %d", d->id, d->name, (int)pgid);
}

/* A process whose leader exited (a zombie) may still have threads: the
 * kernel's io_uring workers (iou-wrk) of a killed process finish the I/O
 * they are blocked in (a write held by the storage) after the leader is
 * gone.  Does any thread of pid have a state not in skip? */
static bool task_live(const char *pid, const char *skip)
{
	char path[600];
	struct dirent *e;
	bool live = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!live && (e = readdir(dir))) {
		char buf[512], *p, st;
		FILE *f;
		size_t len;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/stat", pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = 0;
		p = strrchr(buf, ')');
		live = p && sscanf(p + 1, " %c", &st) == 1 && !strchr(skip, st);
	}
	closedir(dir);
	return live;
}

int sim_pgrp_count(pid_t pgid, const char *skip)
{
	DIR *dir = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		char path[300], buf[512], *p, st;
		long ppid, pgrp;
		FILE *f;
		size_t len;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue; /* exited meanwhile */
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = 0;
		/* "pid (comm) state ppid pgrp ...": comm may hold ')' */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %c %ld %ld", &st, &ppid, &pgrp) == 3 && pgrp == pgid &&
		    (!strchr(skip, st) || task_live(e->d_name, skip)))
			n++;
	}
	closedir(dir);
	return n;
}

/* Has every process of the dying domain exited?  Zombies hold nothing.
 * Processes may have been reparented away from the daemon, so this looks
 * at the process group, not at what waitpid reaped. */
static bool dying_procs_gone(struct dom *d)
{
	int n;

	if (d->dying_pgid <= 0)
		return true;
	if (kill(-d->dying_pgid, 0) < 0 && errno == ESRCH)
		n = 0;
	else
		n = sim_pgrp_count(d->dying_pgid, "ZX");
	if (n < 0) /* cannot tell from /proc: the group must be empty */
		n = 1;
	if (n > 0)
		return false;
	log_debug("dom%u (%s): every process of the dying domain has exited", d->id, d->name);
	d->dying_pgid = 0;
	return true;
}

void dom_maybe_free(struct dom *d)
{
	if (d->state == VBD_DOM_DYING && d->foreign_maps == 0 && !d->busy && dying_procs_gone(d)) {
		log_info("dom%u (%s) gone", d->id, d->name);
		dom_free(d);
	}
}

void dom_die(struct dom *d)
{
	char p[64];

	if (d->id == 0 || d->state == VBD_DOM_DYING)
		return;
	d->state = VBD_DOM_DYING;
	d->busy = true;
	if (d->pgid > 0)
		kill(-d->pgid, SIGKILL); /* stragglers, if any */
	/* listed as dying until they have exited (dom_check_all) */
	d->dying_pgid = d->pgid;
	d->pgid = 0;
	close_sockets(d);
	while (d->conns)
		hyp_close(d->conns);
	evt_close_dom(d);
	snprintf(p, sizeof(p), "/local/domain/%u", d->id);
	xs_server_rm(g_sim->xs, p);
	xs_server_release(g_sim->xs, d->id);
	log_info("dom%u (%s) died%s", d->id, d->name,
		 d->foreign_maps ? " (dying while its pages are mapped)" : "");
	d->busy = false;
	dom_maybe_free(d);
}

void dom_check_all(void)
{
	bool again = true;

	/* dom_die() and dom_maybe_free() free domains: rescan after each */
	while (again) {
		again = false;
		for (struct dom *d = g_sim->doms; d; d = d->next) {
			if (d->id == 0)
				continue;
			if (d->state == VBD_DOM_DYING) {
				if (d->dying_pgid > 0 && !d->busy && dying_procs_gone(d)) {
					dom_maybe_free(d);
					again = true;
					break;
				}
				continue;
			}
			if (d->pgid > 0 && kill(-d->pgid, 0) < 0 && errno == ESRCH) {
				dom_die(d);
				again = true;
				break;
			}
		}
	}
}

void dom_kill_all(void)
{
	for (struct dom *d = g_sim->doms; d; d = d->next) {
		if (d->pgid > 0 && d->state != VBD_DOM_DYING)
			kill(-d->pgid, SIGKILL);
		if (d->dying_pgid > 0)
			kill(-d->dying_pgid, SIGKILL);
	}
}
