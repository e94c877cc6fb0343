/* SPDX-License-Identifier: MIT */
/*
 * A standalone XenStore server for tests, without the rest of the
 * emulator: serves dom0 on one unix socket and each listed domU on its
 * own, with the toolstack nodes a domain gets (/local/domain/<id> n0,r<id>,
 * domid, name) and @introduceDomain.
 *
 *   xs_standalone DOM0_SOCKET [DOMID:SOCKET ...]
 *
 * Prints "ready" on stdout once listening; exits on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "simloop.h"
#include "xs_server.h"
#include "xs_local.h"

struct listener {
	int fd;
	unsigned domid;
	struct xs_server *s;
};

static void on_accept(void *arg, uint32_t events)
{
	struct listener *l = arg;
	int fd;

	(void)events;
	fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (xs_server_add_conn(l->s, fd, l->domid) < 0)
		close(fd);
}

static void on_signal(void *arg, uint32_t events)
{
	(void)events;
	simloop_stop(arg);
}

static int listen_on(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
		perror(path);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct simloop *loop = simloop_new();
	struct xs_server *s;
	struct listener *ls;
	sigset_t mask;
	int sfd;

	if (argc < 2 || !loop) {
		fprintf(stderr, "usage: %s DOM0_SOCKET [DOMID:SOCKET ...]\n", argv[0]);
		return 2;
	}
	s = xs_server_new(loop);
	ls = calloc(argc, sizeof(*ls));
	if (!s || !ls)
		return 1;
	xs_local_add_domain(s, 0, "Domain-0");
	for (int i = 1; i < argc; i++) {
		const char *path = argv[i];
		unsigned domid = 0;
		char *colon = strchr(argv[i], ':');

		if (i > 1) {
			if (!colon) {
				fprintf(stderr, "bad argument %s\n", argv[i]);
				return 2;
			}
			domid = strtoul(argv[i], NULL, 10);
			path = colon + 1;
			char name[32];
			snprintf(name, sizeof(name), "dom%u", domid);
			xs_local_add_domain(s, domid, name);
			if (domid)
				xs_server_introduce(s, domid);
		}
		ls[i].fd = listen_on(path);
		ls[i].domid = domid;
		ls[i].s = s;
		if (ls[i].fd < 0 || simloop_add(loop, ls[i].fd, EPOLLIN, on_accept, &ls[i]) < 0)
			return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0 || simloop_add(loop, sfd, EPOLLIN, on_signal, loop) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	simloop_run(loop);
	xs_server_free(s);
	for (int i = 1; i < argc; i++)
		close(ls[i].fd);
	simloop_free(loop);
	free(ls);
	close(sfd);
	return 0;
}
