/* SPDX-License-Identifier: MIT */
/*
 * xensim: the emulated Xen host's command line (the only main() here).
 *
 *   xensim start   --dir DIR
 *   xensim stop    --dir DIR
 *   xensim create  --dir DIR --name NAME [--console FILE] [--paused] -- CMD...
 *   xensim exec    --dir DIR --domid N -- CMD [ARGS...]
 *   xensim list    --dir DIR [DOMID]
 *   xensim stats   --dir DIR --domid N
 *   xensim pause|unpause|destroy --dir DIR DOMID
 */
#include "xensim.h"
#include "vbdpool/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct opts {
	const char *cmd;
	char dir[PATH_MAX];
	const char *name, *console;
	bool paused;
	long domid;
	char **argv;	 /* after "--" */
	const char *pos; /* positional DOMID */
};

static int usage(void)
{
	fprintf(stderr,
		"usage: xensim start|stop --dir DIR\n"
		"       xensim create --dir DIR --name NAME [--console FILE] [--paused] -- CMD...\n"
		"       xensim exec --dir DIR --domid N -- CMD [ARGS...]\n"
		"       xensim list --dir DIR [DOMID]\n"
		"       xensim stats --dir DIR --domid N\n"
		"       xensim pause|unpause|destroy --dir DIR DOMID\n"
		"\n"
		"An emulated Xen host rooted at DIR (see sim/xensim.h):\n"
		"  start    start the daemon (log: DIR/xensimd.log); dom0's XenStore is\n"
		"           DIR/xenstored.sock\n"
		"  create   new domain (next domid), /local/domain/<id> written as libxl\n"
		"           does, CMD started in it in the background (output to\n"
		"           DIR/dom/<id>/console.log or FILE); prints the domid;\n"
		"           --paused: it starts paused (xl create -p)\n"
		"  exec     run CMD as domain N (N = 0: dom0) and exit with its status;\n"
		"           SIGINT/SIGTERM/SIGHUP are forwarded.  Env: XENSTORED_PATH,\n"
		"           XENSIM_HYP, XENSIM_DOMID, XENSIM_DIR\n"
		"  stats    what the emulated xenstored counted for domain N (0: dom0),\n"
		"           one key=value a line: xs-requests=<messages its connections\n"
		"           sent since the host started, of any type, refused ones too>\n"
		"  pause    SIGSTOP the domain's processes; unpause: SIGCONT\n"
		"  destroy  SIGKILL them; the domain dies at once\n"
		"  stop     end the daemon and every domain started under DIR\n"
		"A domain is a process group: it dies when its last process exits.\n"
		"A dead domain (its XenStore home removed, @releaseDomain fired) stays\n"
		"listed as dying while a process of it has not exited yet (blocked in\n"
		"the kernel, e.g. on I/O: SIGKILL waits for it) or another domain maps\n"
		"its pages; its domid is not reused meanwhile.\n"
		"Domain processes must not leave their process group (setsid/setpgid):\n"
		"such a process no longer keeps the domain alive nor is paused or killed\n"
		"with it.\n");
	return 2;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xensim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static long parse_domid(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > SIM_MAX_DOMID)
		die("bad domid '%s'", s);
	return v;
}

static void sock_path(char *buf, size_t len, const struct opts *o, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", o->dir, name) >= len)
		die("path too long");
}

static int ctl_connect(const struct opts *o)
{
	char path[PATH_MAX + 32];

	sock_path(path, sizeof(path), o, "ctl.sock");
	return sim_msg_connect(path);
}

static int ctl_call(int fd, struct sim_hyp_msg *m, const void *p, size_t len, const int *fds,
		    int nfds, void *rbuf, size_t rcap)
{
	uint32_t op = m->op;
	int rc = sim_msg_send(fd, m, p, len, fds, nfds);

	if (rc < 0)
		return rc;
	do {
		rc = sim_msg_recv(fd, m, rbuf, rcap, NULL, NULL);
	} while (rc >= 0 && m->op != op);
	if (rc < 0)
		return rc;
	return m->rc;
}

static int connect_or_die(const struct opts *o)
{
	int fd = ctl_connect(o);

	if (fd < 0)
		die("no emulated host running in %s: %s", o->dir, strerror(-fd));
	return fd;
}

/* ---- start / stop ---------------------------------------------------- */

static int cmd_start(const struct opts *o)
{
	struct pollfd pfd;
	int p[2], fd, logfd;
	char c;
	pid_t pid;

	fd = ctl_connect(o);
	if (fd >= 0) {
		close(fd);
		die("an emulated host is already running in %s", o->dir);
	}
	/* the longest socket path must fit a sockaddr_un */
	if (strlen(o->dir) + sizeof("/dom/32751/xenstore.sock") >
	    sizeof(((struct sockaddr_un *)0)->sun_path))
		die("%s: path too long for Unix sockets (at most %zu characters)", o->dir,
		    sizeof(((struct sockaddr_un *)0)->sun_path) -
			sizeof("/dom/32751/xenstore.sock"));
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		char log[PATH_MAX + 32];
		int nullfd = open("/dev/null", O_RDWR);

		close(p[0]);
		setsid();
		sock_path(log, sizeof(log), o, "xensimd.log");
		logfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (nullfd < 0 || logfd < 0)
			_exit(1);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (nullfd > 2)
			close(nullfd);
		if (logfd > 2)
			close(logfd);
		_exit(xensimd_main(o->dir, p[1]));
	}
	close(p[1]);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	if (poll(&pfd, 1, 20000) == 1 && read(p[0], &c, 1) == 1 && c == 'R')
		return 0;
	die("the emulator did not start (see %s/xensimd.log)", o->dir);
}

static pid_t read_pidfile(const struct opts *o)
{
	char path[PATH_MAX + 32], buf[32] = "";
	int fd;

	sock_path(path, sizeof(path), o, "xensimd.pid");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return (pid_t)atoi(buf);
}

static int cmd_stop(const struct opts *o)
{
	struct sim_hyp_msg m = {.op = SIM_OP_CTL_STOP};
	pid_t pid = read_pidfile(o);
	int fd = ctl_connect(o), rc;

	if (fd < 0) {
		if (pid > 0 && kill(pid, 0) == 0) {
			/* daemon alive but not answering: end it */
			kill(pid, SIGTERM);
		} else {
			return 0; /* nothing running */
		}
	} else {
		rc = ctl_call(fd, &m, NULL, 0, NULL, 0, NULL, 0);
		if (rc < 0)
			fprintf(stderr, "xensim: stop: %s\n", strerror(-rc));
		/* the daemon closes the socket when it exits */
		while (sim_msg_recv(fd, &m, NULL, 0, NULL, NULL) >= 0)
			;
		close(fd);
	}
	for (int i = 0; pid > 0 && i < 1000 && kill(pid, 0) == 0; i++) {
		char path[64], st[512];
		int sfd, n;

		/* our own child's zombie (start in the same process) counts as gone */
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		sfd = open(path, O_RDONLY);
		if (sfd < 0)
			break;
		n = (int)read(sfd, st, sizeof(st) - 1);
		close(sfd);
		if (n > 0) {
			char *rp;

			st[n] = 0;
			rp = strrchr(st, ')');
			if (rp && rp[1] == ' ' && rp[2] == 'Z')
				break;
		}
		if (i == 500)
			kill(pid, SIGKILL);
		usleep(10000);
	}
	return 0;
}

/* ---- create / exec --------------------------------------------------- */

/* Appends NUL-terminated strings; dies when the message would not fit. */
static size_t pack(char *buf, size_t off, const char *s)
{
	size_t n = strlen(s) + 1;

	if (off + n > SIM_HYP_MAX_MSG - sizeof(struct sim_hyp_msg))
		die("command line and environment too large");
	memcpy(buf + off, s, n);
	return off + n;
}

static size_t pack_cmd(char *buf, size_t off, char **argv, uint32_t *argc, uint32_t *envc)
{
	*argc = *envc = 0;
	for (char **a = argv; *a; a++, (*argc)++)
		off = pack(buf, off, *a);
	for (char **e = environ; e && *e; e++, (*envc)++)
		off = pack(buf, off, *e);
	return off;
}

static int cmd_create(const struct opts *o)
{
	static char buf[SIM_HYP_MAX_MSG];
	struct sim_hyp_msg m = {.op = SIM_OP_CTL_CREATE};
	char cwd[PATH_MAX], con[PATH_MAX] = "";
	size_t off = 0;
	int fd, rc;

	if (!o->name || !o->argv || !o->argv[0])
		return usage();
	if (!getcwd(cwd, sizeof(cwd)))
		die("getcwd: %s", strerror(errno));
	if (o->console && !realpath(o->console, con)) {
		/* the file may not exist yet: make the path absolute */
		if (o->console[0] == '/')
			snprintf(con, sizeof(con), "%s", o->console);
		else if ((size_t)snprintf(con, sizeof(con), "%s/%s", cwd, o->console) >=
			 sizeof(con))
			die("path too long");
	}
	off = pack(buf, off, o->name);
	off = pack(buf, off, con);
	off = pack(buf, off, cwd);
	off = pack_cmd(buf, off, o->argv, &m.a, &m.b);
	m.c = o->paused ? 1 : 0;
	fd = connect_or_die(o);
	rc = ctl_call(fd, &m, buf, off, NULL, 0, NULL, 0);
	if (rc < 0)
		die("create %s: %s", o->name, strerror(-rc));
	printf("%u\n", m.a);
	return 0;
}

static int sigpipe_w = -1;

static void on_signal(int sig)
{
	unsigned char s = (unsigned char)sig;
	int e = errno;

	if (write(sigpipe_w, &s, 1) < 0)
		errno = e;
	errno = e;
}

static int exec_dom0(const struct opts *o)
{
	char v[PATH_MAX + 64];

	sock_path(v, sizeof(v), o, "xenstored.sock");
	setenv(SIM_ENV_XSPATH, v, 1);
	sock_path(v, sizeof(v), o, "dom/0/hyp.sock");
	setenv(SIM_ENV_HYP, v, 1);
	setenv(SIM_ENV_DOMID, "0", 1);
	setenv(SIM_ENV_DIR, o->dir, 1);
	signal(SIGPIPE, SIG_DFL);
	execvp(o->argv[0], o->argv);
	fprintf(stderr, "xensim: exec %s: %s\n", o->argv[0], strerror(errno));
	return 127;
}

static int cmd_exec(const struct opts *o)
{
	static char buf[SIM_HYP_MAX_MSG];
	struct sim_hyp_msg m = {.op = SIM_OP_CTL_EXEC};
	const int stdfds[3] = {0, 1, 2};
	struct sigaction sa = {.sa_handler = on_signal};
	char cwd[PATH_MAX];
	size_t off = 0;
	int fd, rc, sp[2], fds[3];

	if (o->domid < 0 || !o->argv || !o->argv[0])
		return usage();
	if (o->domid == 0)
		return exec_dom0(o);
	if (!getcwd(cwd, sizeof(cwd)))
		die("getcwd: %s", strerror(errno));
	off = pack(buf, off, cwd);
	off = pack_cmd(buf, off, o->argv, &m.b, &m.c);
	m.a = (uint32_t)o->domid;
	/* closed standard descriptors are passed as /dev/null */
	for (int i = 0; i < 3; i++) {
		fds[i] = fcntl(stdfds[i], F_GETFD) < 0 ? open("/dev/null", O_RDWR | O_CLOEXEC)
						       : stdfds[i];
		if (fds[i] < 0)
			die("/dev/null: %s", strerror(errno));
	}
	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe: %s", strerror(errno));
	sigpipe_w = sp[1];
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	fd = connect_or_die(o);
	rc = ctl_call(fd, &m, buf, off, fds, 3, NULL, 0);
	if (rc < 0)
		die("exec in dom%ld: %s", o->domid, strerror(-rc));
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = sp[0], .events = POLLIN}};
		unsigned char s;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		while (read(sp[0], &s, 1) == 1) {
			struct sim_hyp_msg sig = {.op = SIM_OP_CTL_SIGNAL, .a = s};

			sim_msg_send(fd, &sig, NULL, 0, NULL, 0);
		}
		if (p[0].revents) {
			rc = sim_msg_recv(fd, &m, NULL, 0, NULL, NULL);
			if (rc < 0)
				die("lost the emulator while dom%ld ran %s", o->domid, o->argv[0]);
			if (m.op != SIM_OP_CTL_EXIT)
				continue;
			if (WIFEXITED((int)m.a))
				return WEXITSTATUS((int)m.a);
			if (WIFSIGNALED((int)m.a))
				return 128 + WTERMSIG((int)m.a);
			return 1;
		}
	}
}

/* ---- list / pause / unpause / destroy -------------------------------- */

static const char *state_name(uint32_t s)
{
	switch (s) {
	case VBD_DOM_RUNNING:
		return "running";
	case VBD_DOM_PAUSED:
		return "paused";
	case VBD_DOM_DYING:
		return "dying";
	}
	return "?";
}

static int cmd_list(const struct opts *o)
{
	static struct sim_dominfo info[512];
	struct sim_hyp_msg m = {.op = SIM_OP_DOM_LIST};
	long only = o->pos ? parse_domid(o->pos) : -1;
	int fd = connect_or_die(o), rc, n, shown = 0;

	rc = ctl_call(fd, &m, NULL, 0, NULL, 0, info, sizeof(info));
	if (rc < 0)
		die("list: %s", strerror(-rc));
	n = m.len / sizeof(info[0]);
	printf("%-32s %5s %-8s %s\n", "Name", "ID", "State", "PGID");
	for (int i = 0; i < n; i++) {
		if (only >= 0 && info[i].domid != only)
			continue;
		printf("%-32s %5u %-8s %d\n", info[i].name, info[i].domid,
		       state_name(info[i].state), info[i].pgid);
		shown++;
	}
	if (only >= 0 && !shown) {
		fprintf(stderr, "xensim: no domain %ld\n", only);
		return 1;
	}
	return 0;
}

static int cmd_stats(const struct opts *o)
{
	struct sim_hyp_msg m = {.op = SIM_OP_CTL_XS_STATS};
	struct sim_xs_stats st = {0};
	int fd, rc;

	if (o->domid < 0 || o->pos)
		return usage();
	m.a = (uint32_t)o->domid;
	fd = connect_or_die(o);
	rc = ctl_call(fd, &m, NULL, 0, NULL, 0, &st, sizeof(st));
	if (rc == -ENOENT)
		die("stats: XenStore never heard of domain %ld", o->domid);
	if (rc < 0)
		die("stats: %s", strerror(-rc));
	if (m.len != sizeof(st))
		die("stats: short reply (%u bytes)", m.len);
	printf("xs-requests=%llu\n", (unsigned long long)st.requests);
	return 0;
}

static int cmd_domctl(const struct opts *o, uint32_t op)
{
	struct sim_hyp_msg m = {.op = op};
	int fd, rc;

	if (!o->pos)
		return usage();
	m.a = (uint32_t)parse_domid(o->pos);
	fd = connect_or_die(o);
	rc = ctl_call(fd, &m, NULL, 0, NULL, 0, NULL, 0);
	if (rc < 0)
		die("%s %u: %s", o->cmd, m.a, strerror(-rc));
	return 0;
}

static void parse(int argc, char **argv, struct opts *o)
{
	const char *dir = NULL;

	o->domid = -1;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			o->argv = argv + i + 1;
			break;
		} else if (!strcmp(a, "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(a, "--name") && i + 1 < argc) {
			o->name = argv[++i];
		} else if (!strcmp(a, "--console") && i + 1 < argc) {
			o->console = argv[++i];
		} else if (!strcmp(a, "--paused")) {
			o->paused = true;
		} else if (!strcmp(a, "--domid") && i + 1 < argc) {
			o->domid = parse_domid(argv[++i]);
		} else if (a[0] != '-' && !o->pos) {
			o->pos = a;
		} else {
			exit(usage());
		}
	}
	if (!dir)
		exit(usage());
	if (!strcmp(o->cmd, "start"))
		mkdir(dir, 0755);
	if (!realpath(dir, o->dir))
		die("%s: %s", dir, strerror(errno));
}

static const struct {
	const char *name;
	int (*fn)(const struct opts *o);
	uint32_t op; /* a domctl command: cmd_domctl with it */
} cmds[] = {
    {"start", cmd_start, 0},
    {"stop", cmd_stop, 0},
    {"create", cmd_create, 0},
    {"exec", cmd_exec, 0},
    {"list", cmd_list, 0},
    {"stats", cmd_stats, 0},
    {"pause", NULL, SIM_OP_DOM_PAUSE},
    {"unpause", NULL, SIM_OP_DOM_UNPAUSE},
    {"destroy", NULL, SIM_OP_DOM_DESTROY},
};

int main(int argc, char **argv)
{
	struct opts o = {0};

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help"))
		return usage() - 2;
	o.cmd = argv[1];
	vbd_log_init("xensim");
	signal(SIGPIPE, SIG_IGN);
	parse(argc, argv, &o);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(o.cmd, cmds[i].name))
			return cmds[i].op ? cmd_domctl(&o, cmds[i].op) : cmds[i].fn(&o);
	return usage();
}
