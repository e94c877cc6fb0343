/* SPDX-License-Identifier: MIT */
/* xensimd: the emulated Xen host's daemon.  Owns the listening sockets,
 * the XenStore server, the domains; runs one epoll loop (simloop). */
#include "xensim.h"
#include "simloop.h"
#include "xs_server.h"
#include "vbdpool/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct sim *g_sim;

#define CHECK_INTERVAL_MS 50 /* backstop for domain-death detection */
#define DIR_CHECK_TICKS	  20 /* every second: does the host dir still exist? */

int sim_listen(const char *path, int type)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void xs0_accept_cb(void *arg, uint32_t ev)
{
	(void)arg;
	(void)ev;
	dom_xs_accept(g_sim->xs0_lfd, dom_find(0));
}

static void ctl_accept_cb(void *arg, uint32_t ev)
{
	(void)arg;
	(void)ev;
	ctl_accept();
}

void xensimd_reap(void)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p <= 0)
			break;
		log_debug("reaped %d status 0x%x", (int)p, st);
		dom_untrack(p);
		ctl_child_exited(p, st);
	}
	dom_check_all();
}

static void do_stop(void)
{
	if (g_sim->stopping)
		return;
	g_sim->stopping = true;
	log_info("stopping: killing all domains");
	dom_kill_all();
	simloop_stop(g_sim->loop);
}

static void sig_cb(void *arg, uint32_t ev)
{
	struct signalfd_siginfo si;

	(void)arg;
	(void)ev;
	while (read(g_sim->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		log_info("signal %u", si.ssi_signo);
		do_stop();
	}
	xensimd_reap();
}

static void check_timer(void *arg)
{
	static unsigned ticks;
	struct stat st;

	(void)arg;
	xensimd_reap();
	/* A host whose directory was removed can never be reached or stopped
	 * again (`xensim stop` finds it by its sockets): end it rather than
	 * leak its domains. */
	if (++ticks % DIR_CHECK_TICKS == 0 && stat(g_sim->dir, &st) < 0 && errno == ENOENT) {
		log_warn("host directory %s is gone: stopping", g_sim->dir);
		do_stop();
	}
	if (!g_sim->stopping)
		simloop_timer(g_sim->loop, CHECK_INTERVAL_MS, check_timer, NULL);
}

void xensimd_request_stop(void)
{
	do_stop();
}

int sim_listen_on(const char *dir, const char *name, int type, int *lfd,
		  void (*cb)(void *, uint32_t), void *arg)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*lfd = sim_listen(path, type);
	if (*lfd < 0)
		return *lfd;
	return simloop_add(g_sim->loop, *lfd, EPOLLIN, cb, arg);
}

static int setup(const char *dir)
{
	char path[PATH_MAX + 32];
	sigset_t ss;
	int rc;

	g_sim->ctl_lfd = g_sim->xs0_lfd = g_sim->sigfd = -1;
	snprintf(g_sim->dir, sizeof(g_sim->dir), "%s", dir);
	g_sim->next_domid = 1;
	g_sim->loop = simloop_new();
	if (!g_sim->loop)
		return -ENOMEM;
	g_sim->xs = xs_server_new(g_sim->loop);
	if (!g_sim->xs)
		return -ENOMEM;

	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	g_sim->sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	if (g_sim->sigfd < 0)
		return -errno;
	rc = simloop_add(g_sim->loop, g_sim->sigfd, EPOLLIN, sig_cb, NULL);
	if (rc < 0)
		return rc;

	snprintf(path, sizeof(path), "%s/dom", dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	rc = dom_setup_dom0();
	if (rc < 0)
		return rc;

	rc =
	    sim_listen_on(dir, "xenstored.sock", SOCK_STREAM, &g_sim->xs0_lfd, xs0_accept_cb, NULL);
	/* the control socket last: its presence means "ready" */
	if (rc >= 0)
		rc = sim_listen_on(dir, "ctl.sock", SOCK_SEQPACKET, &g_sim->ctl_lfd, ctl_accept_cb,
				   NULL);
	if (rc < 0)
		return rc;
	return simloop_timer(g_sim->loop, CHECK_INTERVAL_MS, check_timer, NULL);
}

static void unlink_in_dir(const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", g_sim->dir, name);
	unlink(path);
}

/* Every port and shared segment costs the daemon a descriptor: go as high
 * as allowed (beyond the hard limit when privileged). */
static void raise_nofile(void)
{
	struct rlimit r;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	unsigned long max = 0;

	getrlimit(RLIMIT_NOFILE, &g_sim->nofile);
	if (f) {
		if (fscanf(f, "%lu", &max) != 1)
			max = 0;
		fclose(f);
	}
	if (max > 0) {
		r.rlim_cur = r.rlim_max = max;
		if (setrlimit(RLIMIT_NOFILE, &r) == 0)
			return;
	}
	sim_raise_nofile();
}

int xensimd_main(const char *dir, int ready_fd)
{
	static struct sim sim;
	char pidbuf[32];
	int rc, n;

	g_sim = &sim;
	vbd_log_init("xensimd");
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	rc = setup(dir);
	if (rc < 0) {
		log_err("start-up failed: %s", strerror(-rc));
		return 1;
	}
	n = snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)getpid());
	{
		char path[PATH_MAX + 32];
		int fd;

		snprintf(path, sizeof(path), "%s/xensimd.pid", dir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, pidbuf, n) != n)
				log_warn("writing %s failed", path);
			close(fd);
		}
	}
	log_info("emulated Xen host ready in %s", dir);
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1)
			log_warn("could not signal readiness");
		close(ready_fd);
	}

	rc = simloop_run(g_sim->loop);
	if (rc < 0)
		log_err("event loop failed: %s", strerror(-rc));
	if (!g_sim->stopping)
		dom_kill_all();
	/* wait (bounded) for every domain process, so `stop` leaves nothing */
	for (int i = 0; i < 500; i++) {
		pid_t p;
		int st;

		/* exec'ed programs' CLIs learn how they ended (killed) */
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			ctl_child_exited(p, st);
		if (p < 0 && errno == ECHILD)
			break;
		usleep(10000);
	}
	unlink_in_dir("ctl.sock");
	unlink_in_dir("xenstored.sock");
	unlink_in_dir("xensimd.pid");
	log_info("stopped");
	return rc < 0 ? 1 : 0;
}
