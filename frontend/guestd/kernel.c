/* SPDX-License-Identifier: MIT */
/* vbdpool-guestd: the kernel's NBD client (nbd-client from Debian's
 * nbd-client package) and the "in use" checks a detach waits on. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guestd.h"
#include "vbdpool/log.h"

extern char **environ;

int gd_run(char *const argv[])
{
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid;
	int rc, st;

	/* our signals are blocked for the signalfd: not the child's */
	sigemptyset(&none);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawnp(&pid, argv[0], NULL, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	if (rc) {
		log_err("cannot run %s: %s", argv[0], strerror(rc));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool gd_kernel_connected(int idx)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/block/nbd%d/pid", idx);
	return access(p, F_OK) == 0;
}

int gd_kernel_free_index(const unsigned char *taken, size_t ntaken)
{
	char p[64];

	for (int i = 0; i < 4096; i++) {
		snprintf(p, sizeof(p), "/sys/block/nbd%d", i);
		if (access(p, F_OK) != 0)
			return -1;
		if ((size_t)i < ntaken && (taken[i / 8] & (1u << (i % 8))))
			continue;
		if (!gd_kernel_connected(i))
			return i;
	}
	return -1;
}

int gd_kernel_connect(const struct gd_cfg *c, const char *sock, int idx)
{
	char dev[32];
	/* -b 4096: the export's preferred block size; -N: any name works */
	char *argv[] = {
	    (char *)c->nbd_client, "-u", (char *)sock, dev, "-b", "4096", "-N", "vbdpool", NULL};
	int rc;

	snprintf(dev, sizeof(dev), "/dev/nbd%d", idx);
	rc = gd_run(argv);
	if (rc != 0) {
		log_err("%s -u %s %s failed (status %d)", c->nbd_client, sock, dev, rc);
		return -1;
	}
	return 0;
}

int gd_kernel_disconnect(const struct gd_cfg *c, int idx)
{
	char dev[32];
	char *argv[] = {(char *)c->nbd_client, "-d", dev, NULL};
	int rc;

	snprintf(dev, sizeof(dev), "/dev/nbd%d", idx);
	rc = gd_run(argv);
	if (rc != 0) {
		log_err("%s -d %s failed (status %d)", c->nbd_client, dev, rc);
		return -1;
	}
	return 0;
}

int gd_unix_clients(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[PATH_MAX + 128];
	int n = 0;

	if (!f)
		return -errno;
	/* Num RefCount Protocol Flags Type St Inode Path: the server's end of
	 * an accepted connection carries the listening socket's path, state
	 * 03 (connected); the listener itself is 01. */
	while (fgets(line, sizeof(line), f)) {
		char p[PATH_MAX];
		unsigned st;

		if (sscanf(line, "%*s %*s %*s %*s %*s %x %*s %4095s", &st, p) == 2 && st == 3 &&
		    strcmp(p, path) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* /dev/nbdN or one of its partitions (nbdNpK) */
static bool is_our_dev(const char *name, int idx)
{
	char base[32];
	size_t l;

	l = (size_t)snprintf(base, sizeof(base), "nbd%d", idx);
	if (strncmp(name, base, l))
		return false;
	return name[l] == 0 || name[l] == 'p';
}

static int mounted_on(int idx, char *why, size_t whylen)
{
	FILE *f = fopen("/proc/mounts", "r");
	char src[PATH_MAX], mnt[PATH_MAX], real[PATH_MAX];

	if (!f)
		return -errno;
	while (fscanf(f, "%4095s %4095s %*[^\n]", src, mnt) == 2) {
		const char *s = src;
		if (src[0] == '/' && realpath(src, real))
			s = real;
		if (!strncmp(s, "/dev/", 5) && is_our_dev(s + 5, idx)) {
			snprintf(why, whylen, "%s mounted on %s", s, mnt);
			fclose(f);
			return 1;
		}
	}
	fclose(f);
	return 0;
}

static int held_by(int idx, char *why, size_t whylen)
{
	char p[64];
	struct dirent *e;
	DIR *d;

	snprintf(p, sizeof(p), "/sys/block/nbd%d/holders", idx);
	d = opendir(p);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(why, whylen, "/dev/nbd%d held by %s", idx, e->d_name);
		closedir(d);
		return 1;
	}
	closedir(d);
	return 0;
}

int gd_in_use(int idx, const char *sock, char *why, size_t whylen, int *excl_fd)
{
	char dev[32];
	int rc, n;

	*excl_fd = -1;
	if (idx < 0) {
		n = gd_unix_clients(sock);
		if (n > 0)
			snprintf(why, whylen, "%d NBD client(s) connected to %s", n, sock);
		return n > 0 ? 1 : n;
	}
	if ((rc = held_by(idx, why, whylen)) || (rc = mounted_on(idx, why, whylen)))
		return rc;
	/* an exclusive opener (a filesystem being mounted, mkfs, LVM) */
	snprintf(dev, sizeof(dev), "/dev/nbd%d", idx);
	*excl_fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (*excl_fd < 0 && errno == EBUSY) {
		snprintf(why, whylen, "%s open exclusively by another program", dev);
		return 1;
	}
	return 0;
}
