/* SPDX-License-Identifier: MIT */
/* An in-process XenStore server for unit tests (see xs_local.h). */
#include "xs_local.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "simloop.h"
#include "xs_server.h"

static struct simloop *loop;
static struct xs_server *srv;
static pthread_t loop_th;
static int lfd = -1, stop_pipe[2];
static char dir[64], sock[96];

static void on_accept(void *arg, uint32_t ev)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	(void)arg, (void)ev;
	if (fd >= 0 && xs_server_add_conn(srv, fd, 0) < 0)
		close(fd);
}

static void on_stop(void *arg, uint32_t ev)
{
	(void)arg, (void)ev;
	simloop_stop(loop);
}

static void *loop_thread(void *arg)
{
	(void)arg;
	simloop_run(loop);
	return NULL;
}

static void cleanup(void)
{
	unlink(sock);
	rmdir(dir);
}

struct xs_handle *xs_local_start(const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct xs_handle *h;

	snprintf(dir, sizeof(dir), "/tmp/%.40s.XXXXXX", name);
	if (!mkdtemp(dir) || pipe(stop_pipe))
		abort();
	snprintf(sock, sizeof(sock), "%s/xs", dir);
	atexit(cleanup);
	loop = simloop_new();
	srv = loop ? xs_server_new(loop) : NULL;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!srv || lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 8) ||
	    simloop_add(loop, lfd, EPOLLIN, on_accept, NULL) ||
	    simloop_add(loop, stop_pipe[0], EPOLLIN, on_stop, NULL) ||
	    pthread_create(&loop_th, NULL, loop_thread, NULL))
		abort();
	setenv("XENSTORED_PATH", sock, 1);
	h = xs_open(0);
	if (!h) {
		fprintf(stderr, "xs_open: %s\n", strerror(errno));
		exit(1);
	}
	return h;
}

void xs_local_stop(void)
{
	if (write(stop_pipe[1], "x", 1) != 1)
		abort();
	pthread_join(loop_th, NULL);
	xs_server_free(srv);
	simloop_free(loop);
	close(lfd);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
}

void xs_local_add_domain(struct xs_server *s, unsigned domid, const char *name)
{
	char path[64], perms[32], val[16];

	if (domid)
		snprintf(perms, sizeof(perms), "n0 r%u", domid);
	else
		strcpy(perms, "n0");
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	xs_server_write(s, path, "", perms);
	snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
	snprintf(val, sizeof(val), "%u", domid);
	xs_server_write(s, path, val, perms);
	if (name) {
		snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
		xs_server_write(s, path, name, perms);
	}
}
