/* SPDX-License-Identifier: MIT */
/* Unit test: the emulated host's message framing and descriptor passing
 * (common/platform/sim_msg.c) and platform selection (select.c). */
#include "vbdpool/platform.h"
#include "sim_hyp.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
}

static void test_roundtrip(void)
{
	struct sim_hyp_msg m = {.op = SIM_OP_GNT_MAP, .rc = -EINVAL, .a = 1, .b = 2, .c = 3}, r;
	int sv[2], fds[3], got[4], n = 4, len;
	char payload[100], buf[200];
	struct stat a, b;

	pair(sv);
	for (int i = 0; i < 3; i++)
		fds[i] = dup(0);
	memset(payload, 'p', sizeof(payload));
	CHECK(sim_msg_send(sv[0], &m, payload, sizeof(payload), fds, 3) == 0, "send");
	len = sim_msg_recv(sv[1], &r, buf, sizeof(buf), got, &n);
	CHECK(len == 100 && !memcmp(buf, payload, 100), "len %d", len);
	CHECK(r.op == SIM_OP_GNT_MAP && r.rc == -EINVAL && r.a == 1 && r.b == 2 && r.c == 3,
	      "header");
	CHECK(n == 3, "n %d", n);
	for (int i = 0; i < n && i < 3; i++) {
		CHECK(fstat(got[i], &a) == 0 && fstat(fds[i], &b) == 0 && a.st_ino == b.st_ino,
		      "fd %d", i);
		close(got[i]);
		close(fds[i]);
	}
	close(sv[0]);
	close(sv[1]);
}

static void test_errors(void)
{
	struct sim_hyp_msg m = {.op = 1}, r;
	int sv[2], fds[SIM_HYP_MAX_FDS + 1], got[2], n, before, rc;
	char buf[8];

	pair(sv);
	for (int i = 0; i <= SIM_HYP_MAX_FDS; i++)
		fds[i] = 0;
	CHECK(sim_msg_send(sv[0], &m, NULL, 0, fds, SIM_HYP_MAX_FDS + 1) == -EMSGSIZE,
	      "too many fds");
	CHECK(sim_msg_send(sv[0], &m, buf, SIM_HYP_MAX_MSG, NULL, 0) == -EMSGSIZE, "too long");

	/* payload larger than the receiver's buffer: error, descriptors closed */
	before = open_fds();
	fds[0] = dup(0);
	fds[1] = dup(0);
	{
		char big[64] = {0};

		CHECK(sim_msg_send(sv[0], &m, big, sizeof(big), fds, 2) == 0, "send big");
	}
	close(fds[0]);
	close(fds[1]);
	n = 2;
	rc = sim_msg_recv(sv[1], &r, buf, sizeof(buf), got, &n);
	CHECK(rc == -EMSGSIZE && n == 0, "rc %d n %d", rc, n);
	CHECK(open_fds() == before, "leaked descriptors: %d -> %d", before, open_fds());

	/* more descriptors than the receiver accepts */
	fds[0] = dup(0);
	fds[1] = dup(0);
	CHECK(sim_msg_send(sv[0], &m, NULL, 0, fds, 2) == 0, "send 2 fds");
	close(fds[0]);
	close(fds[1]);
	n = 1;
	rc = sim_msg_recv(sv[1], &r, NULL, 0, got, &n);
	CHECK(rc == -EMSGSIZE && n == 0, "rc %d n %d", rc, n);
	CHECK(open_fds() == before, "leaked descriptors: %d -> %d", before, open_fds());

	/* a message shorter than the header */
	CHECK(send(sv[0], "abc", 3, 0) == 3, "raw send");
	rc = sim_msg_recv(sv[1], &r, buf, sizeof(buf), NULL, NULL);
	CHECK(rc == -EPROTO, "short: rc %d", rc);

	close(sv[0]);
	rc = sim_msg_recv(sv[1], &r, buf, sizeof(buf), NULL, NULL);
	CHECK(rc == -ECONNRESET, "EOF: rc %d", rc);
	close(sv[1]);
	CHECK(sim_msg_connect("/nonexistent/dir/sock") == -ENOENT, "connect");
}

static void test_select(void)
{
	unsetenv("VBD_PLATFORM");
	unsetenv(SIM_ENV_HYP);
	CHECK(!strcmp(vbd_platform()->name, "xen"), "default %s", vbd_platform()->name);
	setenv(SIM_ENV_HYP, "/nonexistent/hyp.sock", 1);
	CHECK(!strcmp(vbd_platform()->name, "sim"), "XENSIM_HYP %s", vbd_platform()->name);
	setenv("VBD_PLATFORM", "xen", 1);
	CHECK(!strcmp(vbd_platform()->name, "xen"), "forced %s", vbd_platform()->name);
	unsetenv("VBD_PLATFORM");
	errno = 0;
	CHECK(vbd_platform_sim.evtchn->open() == NULL && errno == ENOENT, "no daemon: %s",
	      strerror(errno));
	unsetenv(SIM_ENV_HYP);
	errno = 0;
	CHECK(vbd_platform_sim.gnttab->open() == NULL && errno == ENOENT, "no env: %s",
	      strerror(errno));
}

int main(void)
{
	check_verbose = 1;
	test_roundtrip();
	test_errors();
	test_select();
	return check_done("platform_msg");
}
