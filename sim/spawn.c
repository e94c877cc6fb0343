/* SPDX-License-Identifier: MIT */
/* Starting a program inside a domain: fork, join (or found) the domain's
 * process group, take the domain's identity from the environment, exec.
 * An exec failure is reported back through a close-on-exec pipe. */
#include "xensim.h"
#include "vbdpool/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const sim_vars[] = {SIM_ENV_XSPATH, SIM_ENV_HYP, SIM_ENV_DOMID, SIM_ENV_DIR};

static bool is_sim_var(const char *e)
{
	for (size_t i = 0; i < sizeof(sim_vars) / sizeof(sim_vars[0]); i++) {
		size_t n = strlen(sim_vars[i]);

		if (!strncmp(e, sim_vars[i], n) && e[n] == '=')
			return true;
	}
	return false;
}

/* envp minus our variables plus the domain's identity (malloc'ed). */
static char **domain_env(unsigned domid, char *const *envp, char *store, size_t storelen)
{
	size_t n = 0, k = 0;
	char **env;
	int off = 0;

	while (envp && envp[n])
		n++;
	env = calloc(n + 5, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!is_sim_var(envp[i]))
			env[k++] = envp[i];
	env[k++] = store + off;
	if (domid == 0)
		off += snprintf(store + off, storelen - off, "%s=%s/xenstored.sock", SIM_ENV_XSPATH,
				g_sim->dir) +
		       1;
	else
		off += snprintf(store + off, storelen - off, "%s=%s/dom/%u/xenstore.sock",
				SIM_ENV_XSPATH, g_sim->dir, domid) +
		       1;
	env[k++] = store + off;
	off += snprintf(store + off, storelen - off, "%s=%s/dom/%u/hyp.sock", SIM_ENV_HYP,
			g_sim->dir, domid) +
	       1;
	env[k++] = store + off;
	off += snprintf(store + off, storelen - off, "%s=%u", SIM_ENV_DOMID, domid) + 1;
	env[k++] = store + off;
	snprintf(store + off, storelen - off, "%s=%s", SIM_ENV_DIR, g_sim->dir);
	env[k] = NULL;
	return env;
}

static void __attribute__((noreturn)) child(const struct spawn_req *r, char **env, int errfd)
{
	int fds[3] = {r->fds[0], r->fds[1], r->fds[2]};
	sigset_t ss;
	int e;

	sigemptyset(&ss);
	sigprocmask(SIG_SETMASK, &ss, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	if (setpgid(0, r->pgid) < 0)
		goto fail;
	setrlimit(RLIMIT_NOFILE, &g_sim->nofile);
	/* what the emulator started dies with it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0; i < 3; i++) {
		int fd = fds[i];

		if (fd < 0)
			continue;
		/* move out of 0..2 first so dup2 order cannot clobber */
		if (fd < 3) {
			fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			if (fd < 0)
				goto fail;
		}
		fds[i] = fd;
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			goto fail;
	if (errfd < 3)
		goto fail;
	/* close everything else except the error pipe (close-on-exec) */
	if (errfd > 3)
		syscall(SYS_close_range, 3, errfd - 1, 0);
	syscall(SYS_close_range, errfd + 1, ~0U, 0);
	if (r->cwd && *r->cwd && chdir(r->cwd) < 0)
		goto fail;
	/* paused domain: wait for SIGCONT, holding nothing of the daemon's */
	if (r->stopped)
		raise(SIGSTOP);
	environ = env;
	execvp(r->argv[0], r->argv);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

pid_t spawn_in_domain(const struct spawn_req *r)
{
	char store[3 * PATH_MAX + 128];
	char **env;
	int pfd[2], e = 0, st;
	ssize_t n;
	pid_t pid;

	if (!r->argv || !r->argv[0])
		return -EINVAL;
	env = domain_env(r->domid, r->envp, store, sizeof(store));
	if (!env)
		return -ENOMEM;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		e = errno;
		free(env);
		return -e;
	}
	/* keep the error pipe away from 0..2 */
	if (pfd[1] < 3) {
		int nfd = fcntl(pfd[1], F_DUPFD_CLOEXEC, 3);

		close(pfd[1]);
		pfd[1] = nfd;
	}
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(pfd[0]);
		close(pfd[1]);
		free(env);
		return -e;
	}
	if (pid == 0)
		child(r, env, pfd[1]);
	close(pfd[1]);
	free(env);
	setpgid(pid, r->pgid ? r->pgid : pid); /* either side may win the race */
	if (r->stopped) {
		/* it stops itself just before exec (or fails before that) */
		while (waitpid(pid, &st, WUNTRACED) < 0 && errno == EINTR)
			;
		if (WIFSTOPPED(st)) {
			close(pfd[0]);
			dom_track(pid, r->domid);
			log_debug("dom%u: %s is pid %d, stopped", r->domid, r->argv[0], (int)pid);
			return pid;
		}
		/* it exited and was reaped here; the reason is in the pipe */
	}
	do
		n = read(pfd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == sizeof(e)) {
		/* the child exits 127; the SIGCHLD handler reaps it */
		log_info("dom%u: cannot run %s: %s", r->domid, r->argv[0], strerror(e));
		return -e;
	}
	if (r->stopped)
		return -ECHILD;
	dom_track(pid, r->domid);
	log_debug("dom%u: started %s as pid %d", r->domid, r->argv[0], (int)pid);
	return pid;
}
