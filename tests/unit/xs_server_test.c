/* SPDX-License-Identifier: MIT */
/*
 * The emulator's XenStore server against the real libxenstore, as dom0 and
 * as domUs (one socket per identity), pinning what C xenstored answered on
 * Xen 4.17 (../shared/design/xen-observed.txt: case numbers below).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>

#include "check.h"
#include "simloop.h"
#include "xs_server.h"
#include "xs_local.h"

/* expect an errno (0 = success) */
#define ERR(expr, want)                                                                            \
	do {                                                                                       \
		int got_ = (expr);                                                                 \
		CHECK(got_ == (want), "%s: got %s, want %s", #expr, ename(got_), ename(want));     \
	} while (0)

#define STR(expr, want)                                                                            \
	do {                                                                                       \
		const char *got_ = (expr);                                                         \
		CHECK(!strcmp(got_, (want)), "%s: got \"%s\", want \"%s\"", #expr, got_, (want));  \
	} while (0)

static const char *ename(int e)
{
	static char buf[8][32];
	static int k;
	const char *n;

	switch (e) {
	case 0:
		return "ok";
	case EINVAL:
		return "EINVAL";
	case EACCES:
		return "EACCES";
	case ENOENT:
		return "ENOENT";
	case EEXIST:
		return "EEXIST";
	case EPERM:
		return "EPERM";
	case ENOSPC:
		return "ENOSPC";
	case E2BIG:
		return "E2BIG";
	case EAGAIN:
		return "EAGAIN";
	case EBUSY:
		return "EBUSY";
	case EBADF:
		return "EBADF";
	default:
		n = strerror(e);
	}
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%d(%s)", e, n);
	return buf[k];
}

/* ---- the server, in a thread ------------------------------------------- */

enum { CMD_STOP = 1, CMD_INTRODUCE, CMD_RELEASE, CMD_REQUESTS };
struct cmd {
	int op;
	unsigned domid;
};

static struct simloop *loop;
static struct xs_server *srv;
static int cmd_pipe[2], done_pipe[2];
static char dir[256];
static uint64_t requests; /* CMD_REQUESTS: xs_server_requests() */
static int requests_rc;

struct listener {
	int fd;
	unsigned domid;
};
static struct listener lst[3];
static pthread_t loop_th;

static void on_accept(void *arg, uint32_t ev)
{
	struct listener *l = arg;
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	(void)ev;
	if (fd >= 0 && xs_server_add_conn(srv, fd, l->domid) < 0)
		close(fd);
}

static void on_cmd(void *arg, uint32_t ev)
{
	struct cmd c;
	char ok = 1;
	(void)arg;
	(void)ev;
	if (read(cmd_pipe[0], &c, sizeof(c)) != sizeof(c))
		return;
	switch (c.op) {
	case CMD_STOP:
		simloop_stop(loop);
		break;
	case CMD_INTRODUCE:
		xs_server_introduce(srv, c.domid);
		break;
	case CMD_RELEASE: {
		char p[64];
		snprintf(p, sizeof(p), "/local/domain/%u", c.domid);
		xs_server_rm(srv, p);
		xs_server_release(srv, c.domid);
	} break;
	case CMD_REQUESTS:
		requests_rc = xs_server_requests(srv, c.domid, &requests);
		break;
	}
	if (write(done_pipe[1], &ok, 1) != 1)
		abort();
}

static void server_cmd(int op, unsigned domid)
{
	struct cmd c = {op, domid};
	char ok;
	if (write(cmd_pipe[1], &c, sizeof(c)) != sizeof(c) || read(done_pipe[0], &ok, 1) != 1)
		abort();
}

static void *loop_thread(void *arg)
{
	(void)arg;
	simloop_run(loop);
	return NULL;
}

static char *sock_path(unsigned domid)
{
	static char p[3][100];
	int i = domid == 0 ? 0 : domid == 5 ? 1 : 2;
	snprintf(p[i], sizeof(p[i]), "%.80s/xs%u", dir, domid);
	return p[i];
}

/* the private directory goes away however the test ends */
static void remove_dir(void)
{
	static const unsigned ids[3] = {0, 5, 6};
	for (int i = 0; i < 3; i++)
		unlink(sock_path(ids[i]));
	rmdir(dir);
}

static void start_server(void)
{
	static const unsigned ids[3] = {0, 5, 6};
	snprintf(dir, sizeof(dir), "/tmp/xs_server_test.XXXXXX");
	if (!mkdtemp(dir) || pipe(cmd_pipe) || pipe(done_pipe))
		abort();
	atexit(remove_dir);
	loop = simloop_new();
	srv = xs_server_new(loop);
	if (!loop || !srv)
		abort();
	for (int i = 0; i < 3; i++) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%.100s", sock_path(ids[i]));
		lst[i].domid = ids[i];
		lst[i].fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lst[i].fd < 0 || bind(lst[i].fd, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(lst[i].fd, 16) ||
		    simloop_add(loop, lst[i].fd, EPOLLIN, on_accept, &lst[i]))
			abort();
		xs_local_add_domain(srv, ids[i], NULL);
		if (ids[i])
			xs_server_introduce(srv, ids[i]);
	}
	simloop_add(loop, cmd_pipe[0], EPOLLIN, on_cmd, NULL);
	if (pthread_create(&loop_th, NULL, loop_thread, NULL))
		abort();
}

static void stop_server(void)
{
	server_cmd(CMD_STOP, 0);
	pthread_join(loop_th, NULL);
	xs_server_free(srv);
	simloop_free(loop);
	for (int i = 0; i < 3; i++) {
		close(lst[i].fd);
		unlink(sock_path(lst[i].domid));
	}
	rmdir(dir);
}

static struct xs_handle *open_as(unsigned domid)
{
	struct xs_handle *h;
	setenv("XENSTORED_PATH", sock_path(domid), 1);
	h = xs_open(0);
	if (!h) {
		fprintf(stderr, "xs_open as dom%u failed: %s\n", domid, strerror(errno));
		exit(1);
	}
	return h;
}

/* ---- helpers ------------------------------------------------------------ */

static int wr_t(struct xs_handle *h, xs_transaction_t t, const char *p, const char *v)
{
	return xs_write(h, t, p, v, strlen(v)) ? 0 : errno;
}
static int wrn(struct xs_handle *h, const char *p, size_t n)
{
	char *v = malloc(n + 1);
	int e;
	memset(v, 'v', n);
	e = xs_write(h, XBT_NULL, p, v, n) ? 0 : errno;
	free(v);
	return e;
}
static int mk(struct xs_handle *h, const char *p)
{
	return xs_mkdir(h, XBT_NULL, p) ? 0 : errno;
}
static int rm_t(struct xs_handle *h, xs_transaction_t t, const char *p)
{
	return xs_rm(h, t, p) ? 0 : errno;
}

/* The helpers below return their results as text in a ring of buffers:
 * each stays valid for the next RESULTS - 1 calls. */
#define RESULTS	   8
#define RESULT_CAP 8192

/* The next result buffer, emptied. */
static char *result(void)
{
	static char buf[RESULTS][RESULT_CAP];
	static int k;

	k = (k + 1) % RESULTS;
	buf[k][0] = 0;
	return buf[k];
}

/* "<ERRNAME>" of errno, the result of a failed call. */
static const char *result_errno(char *b)
{
	snprintf(b, RESULT_CAP, "<%s>", ename(errno));
	return b;
}

/* value, or "<ERRNAME>" */
static const char *rd_t(struct xs_handle *h, xs_transaction_t t, const char *p)
{
	char *b = result();
	unsigned len;
	char *v = xs_read(h, t, p, &len);

	if (!v)
		return result_errno(b);
	snprintf(b, RESULT_CAP, "%.4100s", v);
	free(v);
	return b;
}

/* "a,b,c", or "<ERRNAME>" */
static const char *ls_t(struct xs_handle *h, xs_transaction_t t, const char *p)
{
	char *b = result();
	unsigned n;
	char **d = xs_directory(h, t, p, &n);

	if (!d)
		return result_errno(b);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			strcat(b, ",");
		strncat(b, d[i], RESULT_CAP - strlen(b) - 2);
	}
	free(d);
	return b;
}

/* "n0,r5", or "<ERRNAME>" */
static const char *gp_t(struct xs_handle *h, xs_transaction_t t, const char *p)
{
	char *b = result();
	unsigned n;
	struct xs_permissions *ps = xs_get_permissions(h, t, p, &n);

	if (!ps)
		return result_errno(b);
	for (unsigned i = 0; i < n && strlen(b) < 200; i++) {
		const char *l = "nrwb";

		snprintf(b + strlen(b), RESULT_CAP - strlen(b), "%s%c%u", i ? "," : "",
			 l[ps[i].perms & 3], ps[i].id);
	}
	free(ps);
	return b;
}

/* "n0,r5" */
static int sp_t(struct xs_handle *h, xs_transaction_t t, const char *p, const char *spec)
{
	struct xs_permissions ps[16];
	unsigned n = 0;
	char s[256], *tok, *save;
	snprintf(s, sizeof(s), "%s", spec);
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		ps[n].id = atoi(tok + 1);
		ps[n].perms = tok[0] == 'r'   ? XS_PERM_READ
			      : tok[0] == 'w' ? XS_PERM_WRITE
			      : tok[0] == 'b' ? XS_PERM_READ | XS_PERM_WRITE
					      : XS_PERM_NONE;
		n++;
	}
	return xs_set_permissions(h, t, p, ps, n) ? 0 : errno;
}

static int watch(struct xs_handle *h, const char *p, const char *tok)
{
	return xs_watch(h, p, tok) ? 0 : errno;
}

/* All events pending on h, as "path|token,path|token". A round trip on h
 * first: the server sends events before later replies. */
static const char *events(struct xs_handle *h)
{
	char *b = result();
	char **w;

	free(xs_get_domain_path(h, 0));
	while ((w = xs_check_watch(h))) {
		if (b[0])
			strcat(b, ",");
		strncat(b, w[XS_WATCH_PATH], 1000);
		strcat(b, "|");
		strncat(b, w[XS_WATCH_TOKEN], 100);
		free(w);
		if (strlen(b) > 2500)
			break;
	}
	return b;
}

static int commit(struct xs_handle *h, xs_transaction_t t)
{
	return xs_transaction_end(h, t, false) ? 0 : errno;
}

/* The same outside a transaction. */
#define wr(h, p, v)    wr_t(h, XBT_NULL, p, v)
#define rm(h, p)       rm_t(h, XBT_NULL, p)
#define sp(h, p, spec) sp_t(h, XBT_NULL, p, spec)
#define rd(h, p)       rd_t(h, XBT_NULL, p)
#define ls(h, p)       ls_t(h, XBT_NULL, p)
#define gp(h, p)       gp_t(h, XBT_NULL, p)

/* ---- tests ------------------------------------------------------------- */

static struct xs_handle *d0, *d0b, *u5, *u6;

static void test_basic(void)
{
	ERR(mk(d0, "/t/b"), 0);
	ERR(wr(d0, "/t/b/a", "hello"), 0);
	STR(rd(d0, "/t/b/a"), "hello");
	STR(rd(d0, "/t/b/missing"), "<ENOENT>");
	ERR(wr(d0, "/t/b/p1/p2/leaf", "x"), 0);
	STR(rd(d0, "/t/b/p1"), "");
	STR(gp(d0, "/t/b/p1"), "n0");
	STR(ls(d0, "/t/b"), "a,p1");
	STR(ls(d0, "/t/b/a"), "");
	STR(ls(d0, "/t/b/nope"), "<ENOENT>");
	ERR(mk(d0, "/t/b/a"), 0); /* existing: keeps value */
	STR(rd(d0, "/t/b/a"), "hello");
	ERR(rm(d0, "/t/b/zzz"), 0);	     /* 24 */
	ERR(rm(d0, "/t/b/zzz/yyy"), ENOENT); /* 25 */
	ERR(rm(d0, "/t/b/p1"), 0);
	STR(rd(d0, "/t/b/p1/p2/leaf"), "<ENOENT>");
	ERR(wr(d0, "/t/b/o/c", ""), 0);
	ERR(wr(d0, "/t/b/o/a", ""), 0);
	ERR(wr(d0, "/t/b/o/b", ""), 0);
	STR(ls(d0, "/t/b/o"), "c,a,b"); /* 29 */
	ERR(rm(d0, "/t/b/o/a"), 0);
	ERR(wr(d0, "/t/b/o/a", ""), 0);
	STR(ls(d0, "/t/b/o"), "c,b,a"); /* 30 */
	/* embedded NUL (31, 32) */
	CHECK(xs_write(d0, XBT_NULL, "/t/b/nul", "a\0b", 3), "write a\\0b");
	unsigned len = 0;
	char *v = xs_read(d0, XBT_NULL, "/t/b/nul", &len);
	CHECK(v && len == 3 && !memcmp(v, "a\0b", 3), "read a\\0b len %u", len);
	free(v);
	ERR(rm(d0, "/"), EINVAL); /* 320 */
	STR(rd(d0, "/local"), "");
	STR(rd(d0, "domid"), "0"); /* relative, 71 */
	STR(rd(u5, "domid"), "5");
	ERR(wr(u5, "data/rel/x", "rel"), EACCES); /* home is n0,r5 */
}

static void test_paths(void)
{
	char p[4200];
	ERR(wr(d0, "/t/b/a b", "x"), EINVAL);
	ERR(wr(d0, "/t/b//x", "x"), EINVAL);
	ERR(wr(d0, "/t/b/x/", "x"), EINVAL);
	ERR(wr(d0, "/t/b/\xc3\xa9", "x"), EINVAL);
	ERR(wr(d0, "/t/b/a.b", "x"), EINVAL);
	ERR(wr(d0, "/t/b/a:b", "x"), EINVAL);
	ERR(wr(d0, "/t/b/A-Z_0@9", "x"), 0);
	/* byte scan of name characters (64) */
	char accepted[300] = "", name[32];
	for (int c = 1; c < 256; c++) {
		if (c == '/')
			continue;
		snprintf(name, sizeof(name), "/t/scan/x%cx", c);
		int e = wr(d0, name, "");
		if (!e) {
			size_t l = strlen(accepted);
			accepted[l] = (char)c;
			accepted[l + 1] = 0;
		} else {
			CHECK(e == EINVAL, "byte %02x: %s", c, ename(e));
		}
	}
	STR(accepted, "-0123456789@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");
	ERR(rm(d0, "/t/scan"), 0);
	STR(rd(d0, ""), "<EINVAL>");
	STR(rd(d0, "@foo"), "<EINVAL>");
	ERR(wr(d0, "@foo", "x"), EINVAL);
	STR(rd(d0, "/local/domain/0/"), "<EINVAL>");
	/* 2048 chars absolute ok, 2049 EINVAL, also for dom0 (49-53) */
	strcpy(p, "/t/l/");
	while (strlen(p) < 2048)
		strcat(p, strlen(p) % 64 ? "x" : "/x");
	p[2048] = 0;
	ERR(wr(d0, p, "x"), 0);
	STR(rd(d0, p), "x");
	strcat(p, "y");
	ERR(wr(d0, p, "x"), EINVAL);
	/* a domU: its /local/domain/5/ prefix is not counted (58, 59) */
	ERR(sp(d0, "/local/domain/5", "n5"), 0);
	strcpy(p, "/local/domain/5/");
	while (strlen(p) < 16 + 2048)
		strcat(p, strlen(p) % 64 ? "x" : "/x");
	p[16 + 2048] = 0;
	ERR(wr(u5, p, "x"), 0);
	strcat(p, "y");
	ERR(wr(u5, p, "x"), EINVAL);
	ERR(sp(d0, "/local/domain/5", "n0,r5"), 0);
	ERR(rm(d0, "/t/l"), 0);
	/* 1000 levels created by one write, removed by one rm */
	strcpy(p, "/t/deep");
	while (strlen(p) < 2040)
		strcat(p, "/a");
	ERR(wr(d0, p, "deep"), 0);
	STR(rd(d0, p), "deep");
	p[strlen(p) - 20] = 0;
	STR(ls(d0, p), "a");
	ERR(rm(d0, "/t/deep"), 0);
	STR(rd(d0, "/t/deep/a"), "<ENOENT>");
}

/* dom0 builds U=/t/u like the probe's /xsprobe/u (100-159, 210-219) */
static void test_perms(void)
{
	ERR(wr(d0, "/t/u", "u"), 0);
	ERR(sp(d0, "/t", "n0"), 0);
	ERR(sp(d0, "/t/u", "n0,r5"), 0);
	static const char *const kids[][2] = {
	    {"noacl", "n0"},   {"racl", "n0,r5"}, {"wacl", "n0,w5"}, {"wacl2", "n0,w5"},
	    {"bacl", "n0,b5"}, {"pubr", "r0"},	  {"pubw", "w0"},    {"owned", "n5"},
	    {"owned2", "n5"},  {"deny", "r0,n5"},
	};
	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/t/u/%s", kids[i][0]);
		ERR(wr(d0, p, kids[i][0][0] == 'b' ? "b" : kids[i][0][0] == 'r' ? "r" : "o"), 0);
		ERR(sp(d0, p, kids[i][1]), 0);
	}
	ERR(wr(d0, "/t/u/noacl/rchild", "rc"), 0);
	ERR(sp(d0, "/t/u/noacl/rchild", "n0,r5"), 0);
	ERR(wr(d0, "/t/u/racl/hidden", "h"), 0);
	ERR(sp(d0, "/t/u/racl/hidden", "n0"), 0);

	STR(rd(u5, "/t"), "<EACCES>");						       /* 100 */
	STR(rd(u5, "/t/u"), "u");						       /* 101 */
	STR(ls(u5, "/t/u"), "noacl,racl,wacl,wacl2,bacl,pubr,pubw,owned,owned2,deny"); /* 102 */
	STR(rd(u5, "/t/u/noacl"), "<EACCES>");					       /* 103 */
	ERR(wr(u5, "/t/u/noacl", "x"), EACCES);					       /* 104 */
	ERR(mk(u5, "/t/u/noacl/x"), EACCES);					       /* 105 */
	ERR(rm(u5, "/t/u/noacl"), EACCES);					       /* 106 */
	ERR(sp(u5, "/t/u/noacl", "n0"), EACCES);				       /* 107 */
	STR(gp(u5, "/t/u/noacl"), "<EACCES>");					       /* 108 */
	STR(ls(u5, "/t/u/noacl"), "<EACCES>");					       /* 109 */
	STR(rd(u5, "/t/u/noacl/missing"), "<EACCES>");				       /* 110 */
	STR(rd(u5, "/t/u/noacl/rchild"), "rc");					       /* 111 */
	STR(rd(u5, "/t/u/racl"), "r");						       /* 112 */
	ERR(wr(u5, "/t/u/racl", "x"), EACCES);					       /* 113 */
	STR(ls(u5, "/t/u/racl"), "hidden");					       /* 114 */
	STR(rd(u5, "/t/u/racl/hidden"), "<EACCES>");				       /* 115 */
	STR(rd(u5, "/t/u/racl/missing"), "<ENOENT>");				       /* 116 */
	STR(gp(u5, "/t/u/racl"), "n0,r5");					       /* 117 */
	STR(rd(u5, "/t/u/wacl"), "<EACCES>");					       /* 118 */
	ERR(wr(u5, "/t/u/wacl", "w"), 0);					       /* 119 */
	ERR(wr(u5, "/t/u/wacl/newc", "c"), 0);					       /* 120 */
	STR(gp(u5, "/t/u/wacl/newc"), "n5,w5");					       /* 121 */
	ERR(sp(u5, "/t/u/wacl", "n0,w5"), EACCES);				       /* 122 */
	STR(gp(u5, "/t/u/wacl"), "<EACCES>");					       /* 123 */
	STR(rd(u5, "/t/u/bacl"), "b");						       /* 124 */
	ERR(wr(u5, "/t/u/bacl", "b"), 0);					       /* 125 */
	ERR(sp(u5, "/t/u/bacl", "n0,b5"), EACCES);				       /* 126 */
	ERR(wr(u5, "/t/u/bacl/c", ""), 0);					       /* 127 */
	STR(gp(u5, "/t/u/bacl/c"), "n5,b5");					       /* 128 */
	STR(rd(u5, "/t/u/pubr"), "o");						       /* 129 */
	ERR(wr(u5, "/t/u/pubr", "x"), EACCES);					       /* 130 */
	STR(rd(u5, "/t/u/pubw"), "<EACCES>");					       /* 131 */
	ERR(wr(u5, "/t/u/pubw", "x"), 0);					       /* 132 */
	STR(rd(u5, "/t/u/owned"), "o");						       /* 133 */
	ERR(wr(u5, "/t/u/owned", "o"), 0);					       /* 134 */
	ERR(sp(u5, "/t/u/owned", "n5,r0,r6"), 0);				       /* 135 */
	STR(gp(u5, "/t/u/owned"), "n5,r0,r6");					       /* 136 */
	ERR(sp(u5, "/t/u/owned", "n0,r5"), EPERM);				       /* 137 */
	ERR(sp(u5, "/t/u/owned", "n6,r5"), EPERM);				       /* 138 */
	ERR(wr(u5, "/t/u/owned/c", ""), 0);					       /* 139 */
	STR(gp(u5, "/t/u/owned/c"), "n5,r0,r6");				       /* 140 */
	STR(rd(u6, "/t/u/owned/c"), "");		      /* r6 inherited */
	ERR(rm(u5, "/t/u/owned2"), 0);			      /* 141 */
	ERR(rm(u5, "/t/u/wacl2"), 0);			      /* 142 */
	ERR(wr(u5, "/t/u/newnode", "x"), EACCES);	      /* 143 */
	ERR(wr(u5, "/newtop", "x"), EACCES);		      /* 144 */
	ERR(wr(u5, "/local/domain/0/x", "x"), EACCES);	      /* 145 */
	STR(rd(u5, "/local/domain/0"), "<EACCES>");	      /* 146 */
	STR(rd(u5, "/local/domain/6/domid"), "<EACCES>");     /* 148 */
	STR(ls(u5, "/local/domain/6"), "<EACCES>");	      /* 149 */
	STR(rd(u5, "/local/domain/5"), "");		      /* 152 */
	ERR(wr(u5, "/local/domain/5", "x"), EACCES);	      /* 153 */
	ERR(wr(u5, "/local/domain/5/newchild", "x"), EACCES); /* 154 */
	STR(ls(u5, "/local"), "<EACCES>");		      /* 155 */
	STR(gp(u5, "/local/domain/5"), "n0,r5");	      /* 78 */
	STR(rd(u5, "/"), "<EACCES>");			      /* 33 */
	ERR(wr(u5, "/", "x"), EACCES);			      /* 72 */
	ERR(rm(u5, "/"), EACCES);			      /* 73 */
	ERR(sp(u5, "/t/u/wacl/newc", "n0,w5"), EPERM);	      /* 157 */
	ERR(rm(u5, "/t/u/wacl/newc"), 0);		      /* 158 */
	STR(rd(u5, "../x"), "<EINVAL>");		      /* 159 */
	ERR(mk(u5, "/t/u/racl"), EACCES);		      /* 210 */
	/* missing nodes: ENOENT only if the nearest ancestor grants the right */
	ERR(rm(u5, "/t/u/racl/missing"), EACCES);
	ERR(rm(u5, "/t/u/wacl/missing"), 0);
	ERR(sp(u5, "/t/u/wacl/missing", "n5"), ENOENT);
	ERR(sp(u5, "/t/u/racl/missing", "n5"), EACCES);
	ERR(rm(u5, "/t/u/racl"), EACCES);	/* 211 */
	ERR(mk(u5, "/t/u/wacl/newdir"), 0);	/* 212 */
	ERR(mk(u5, "/t/u/wacl"), 0);		/* 213 */
	ERR(rm(u5, "/t/u/bacl/c"), 0);		/* 214 */
	ERR(rm(u5, "/t/u/bacl"), 0);		/* 215 */
	STR(gp(u5, "/t/u/pubr"), "r0");		/* 216 */
	ERR(sp(u5, "/t/u/pubw", "w0"), EACCES); /* 217 */
	STR(rd(u5, "/t/u/deny"), "<EACCES>");	/* 218 */
	ERR(wr(u5, "/t/u/deny", "x"), EACCES);	/* 219 */
	STR(rd(u6, "/t/u/deny"), "o");		/* others: r */
	/* transaction: denial inside, commit ok (150, 151) */
	xs_transaction_t t = xs_transaction_start(u5);
	ERR(wr_t(u5, t, "/t/u/noacl", "x"), EACCES);
	ERR(commit(u5, t), 0);

	/* domU ACL rules: nonexistent domain ok, 5 entries max, no zero (92-96) */
	ERR(sp(d0, "/local/domain/5/data", "n5"), ENOENT);
	ERR(wr(d0, "/local/domain/5/data", ""), 0);
	ERR(sp(d0, "/local/domain/5/data", "n5"), 0);
	ERR(wr(u5, "data/sp", "x"), 0);
	STR(gp(u5, "data/sp"), "n5");
	ERR(sp(u5, "data/sp", "n5,r9999"), 0);
	STR(gp(u5, "data/sp"), "n5,r9999");
	ERR(sp(u5, "data/sp", "n5,r1,r2,r3,r4"), 0);
	ERR(sp(u5, "data/sp", "n5,r1,r2,r3,r4,r6"), ENOSPC);
	ERR(sp(d0, "/t/u/pubr", "r0,r1,r2,r3,r4,r6,r7,r8,r9,r10,r11,r12"), 0);
	ERR(sp(u5, "data/nope", "n5"), ENOENT);
	ERR(sp(u5, "data/sp", ""), EINVAL);
	ERR(sp(u5, "data/sp", "b5"), 0);
	STR(gp(u5, "data/sp"), "b5");
	/* dom0 creating under a domU-owned node keeps the owner (90, 91) */
	ERR(sp(d0, "/t/inh", "n2,r3,w0"), ENOENT);
	ERR(wr(d0, "/t/inh", ""), 0);
	ERR(sp(d0, "/t/inh", "n2,r3,w0"), 0);
	ERR(wr(d0, "/t/inh/c/d", ""), 0);
	STR(gp(d0, "/t/inh/c"), "n2,r3,w0");
	STR(gp(d0, "/t/inh/c/d"), "n2,r3,w0");
	/* domU-created implicit parents are owned by it */
	ERR(wr(u5, "data/p1/p2/leaf", "x"), 0);
	STR(gp(u5, "data/p1"), "n5");
	STR(gp(u5, "data/p1/p2/leaf"), "n5");
	STR(rd(u6, "/local/domain/5/data/p1"), "<EACCES>");
}

static void test_watches(void)
{
	ERR(wr(d0, "/t/w/w1", "a"), 0);
	ERR(watch(d0, "/t/w/w1", "t1"), 0);
	STR(events(d0), "/t/w/w1|t1"); /* 160 initial */
	ERR(wr(d0, "/t/w/w1", "a"), 0);
	STR(events(d0), "/t/w/w1|t1"); /* 161 */
	ERR(wr(d0b, "/t/w/w1/c/x/y", "a"), 0);
	STR(events(d0), "/t/w/w1/c/x/y|t1"); /* 163 */
	ERR(sp(d0, "/t/w/w1", "n0"), 0);
	STR(events(d0), "/t/w/w1|t1"); /* 165 */
	ERR(mk(d0, "/t/w/w1"), 0);
	STR(events(d0), ""); /* 166 */
	ERR(mk(d0, "/t/w/w1/m"), 0);
	STR(events(d0), "/t/w/w1/m|t1"); /* 167 */
	ERR(rm(d0, "/t/w/w1/c"), 0);
	STR(events(d0), "/t/w/w1/c|t1"); /* 168 */
	ERR(rm(d0, "/t/w/w1/zz"), 0);
	STR(events(d0), ""); /* 171 */
	ERR(rm(d0, "/t/w/w1"), 0);
	STR(events(d0), "/t/w/w1|t1"); /* 169 */
	ERR(watch(d0, "/t/w/w3/a/b", "t3"), 0);
	STR(events(d0), "/t/w/w3/a/b|t3"); /* 172 */
	ERR(wr(d0, "/t/w/w3/a/b/c", ""), 0);
	STR(events(d0), "/t/w/w3/a/b/c|t3");
	ERR(rm(d0, "/t/w/w3"), 0);
	STR(events(d0), "/t/w/w3/a/b|t3"); /* 174: watch below the removed node */
	/* only watches exactly on removed descendants fire, not ones below
	 * that never existed */
	ERR(wr(d0, "/t/w/w7/a", ""), 0);
	ERR(watch(d0, "/t/w/w7/a/zz", "t7"), 0);
	ERR(watch(d0, "/t/w/w7/a", "t7"), 0);
	STR(events(d0), "/t/w/w7/a/zz|t7,/t/w/w7/a|t7");
	ERR(rm(d0, "/t/w/w7"), 0);
	STR(events(d0), "/t/w/w7/a|t7");
	ERR(watch(d0, "/t/w/w3", "t3"), 0);
	events(d0);
	ERR(wr(d0, "/t/w/w3/x", ""), 0);
	STR(events(d0), "/t/w/w3/x|t3");	 /* only the new watch: b is not below */
	ERR(watch(d0, "/t/w/w3", "t3"), EEXIST); /* 180 */
	ERR(xs_unwatch(d0, "/t/w/w3", "t3") ? 0 : errno, 0);
	ERR(xs_unwatch(d0, "/t/w/w3", "t3") ? 0 : errno, ENOENT);   /* 184 */
	ERR(xs_unwatch(d0, "/t/w/never", "x") ? 0 : errno, ENOENT); /* 185 */
	ERR(watch(d0, "/t/w/a b", "x"), EINVAL);		    /* 186 */
	ERR(watch(d0, "", "x"), EINVAL);			    /* 199 */
	ERR(watch(d0, "@bogus", "tb"), 0);
	STR(events(d0), "@bogus|tb"); /* 187 */
	ERR(watch(d0, "/t/w/w4", "tA"), 0);
	ERR(watch(d0, "/t/w/w4", "tB"), 0);
	STR(events(d0), "/t/w/w4|tA,/t/w/w4|tB"); /* 178 */
	ERR(wr(d0b, "/t/w/w4", "1"), 0);
	ERR(wr(d0b, "/t/w/w4", "1"), 0);
	STR(events(d0), "/t/w/w4|tA,/t/w/w4|tB,/t/w/w4|tA,/t/w/w4|tB"); /* 164, 179 */
	ERR(watch(d0, "/t/w/w6", ""), 0);
	STR(events(d0), "/t/w/w6|"); /* 198 */
	ERR(wr(d0, "/t/w/w6/a/b/c/d", ""), 0);
	STR(events(d0), "/t/w/w6/a/b/c/d|"); /* 193 */
	ERR(rm(d0, "/t/w/w6/a"), 0);
	STR(events(d0), "/t/w/w6/a|"); /* 194 */

	/* transaction events at commit only, none on abort (188-190) */
	xs_transaction_t t = xs_transaction_start(d0b);
	ERR(wr_t(d0b, t, "/t/w/w4", "t"), 0);
	STR(events(d0), "");
	ERR(commit(d0b, t), 0);
	STR(events(d0), "/t/w/w4|tA,/t/w/w4|tB");
	t = xs_transaction_start(d0b);
	ERR(wr_t(d0b, t, "/t/w/w4", "t"), 0);
	CHECK(xs_transaction_end(d0b, t, true), "abort");
	STR(events(d0), "");

	/* one event per changed node, in the order of first access */
	ERR(wr(d0, "/t/w/w4/y", ""), 0);
	events(d0);
	t = xs_transaction_start(d0b);
	STR(rd_t(d0b, t, "/t/w/w4/y"), "");
	ERR(wr_t(d0b, t, "/t/w/w4/x", "1"), 0);
	ERR(wr_t(d0b, t, "/t/w/w4/x", "2"), 0);
	ERR(wr_t(d0b, t, "/t/w/w4/y", "3"), 0);
	ERR(commit(d0b, t), 0);
	STR(events(d0), "/t/w/w4/y|tA,/t/w/w4/y|tB,/t/w/w4/x|tA,/t/w/w4/x|tB");
	ERR(rm(d0, "/t/w/w4/x"), 0);
	ERR(rm(d0, "/t/w/w4/y"), 0);
	events(d0);
	/* relative watches of a domU (175-177) */
	ERR(watch(u5, "data/rel/w", "tr"), 0);
	STR(events(u5), "data/rel/w|tr");
	ERR(wr(d0, "/local/domain/5/data/rel/w", "1"), 0);
	STR(events(u5), "data/rel/w|tr");
	ERR(wr(u5, "data/rel/w/child", "1"), 0);
	STR(events(u5), "data/rel/w/child|tr");

	/* filtering for a domU: node or parent readable (200-209) */
	ERR(watch(u5, "/t/u/noacl/child", "t200"), 0);
	STR(events(u5), "/t/u/noacl/child|t200"); /* 200: initial always */
	ERR(wr(d0, "/t/u/noacl/child", "x"), 0);
	STR(events(u5), ""); /* 201 */
	ERR(rm(d0, "/t/u/noacl/child"), 0);
	STR(events(u5), ""); /* 202 */
	ERR(watch(u5, "/t/u/noacl", "t203"), 0);
	STR(events(u5), "/t/u/noacl|t203");
	ERR(wr(d0, "/t/u/noacl", "x"), 0);
	STR(events(u5), "/t/u/noacl|t203"); /* 204: parent readable */
	ERR(wr(d0, "/t/u/noacl/child", "x"), 0);
	STR(events(u5), ""); /* 205 */
	ERR(wr(d0, "/t/u/noacl/rchild", "x"), 0);
	STR(events(u5), "/t/u/noacl/rchild|t203"); /* 206 */
	ERR(watch(u5, "/t/u/racl", "t207"), 0);
	events(u5);
	ERR(wr(d0, "/t/u/racl/hidden", "x"), 0);
	STR(events(u5), "/t/u/racl/hidden|t207"); /* 207 */
	ERR(watch(u5, "/local/domain/0/xx", "t208"), 0);
	STR(events(u5), "/local/domain/0/xx|t208"); /* 208 */
	ERR(wr(d0, "/local/domain/0/xx", "1"), 0);
	STR(events(u5), ""); /* 209 */
	ERR(sp(d0, "/local/domain/0/xx", "n0,r5"), 0);
	STR(events(u5), "/local/domain/0/xx|t208");
	ERR(wr(d0, "/local/domain/0/xx", "2"), 0);
	STR(events(u5), "/local/domain/0/xx|t208");
	ERR(rm(d0, "/local/domain/0/xx"), 0);
	STR(events(u5), "/local/domain/0/xx|t208");

	/* special watches: initial for everyone, events for dom0 only (195-197) */
	ERR(watch(u5, "@introduceDomain", "tI"), 0);
	ERR(watch(u5, "@releaseDomain", "tR"), 0);
	STR(events(u5), "@introduceDomain|tI,@releaseDomain|tR");
	ERR(watch(d0, "@introduceDomain", "tI"), 0);
	ERR(watch(d0, "@releaseDomain", "tR"), 0);
	STR(events(d0), "@introduceDomain|tI,@releaseDomain|tR");
	server_cmd(CMD_INTRODUCE, 7);
	STR(events(d0), "@introduceDomain|tI");
	STR(events(u5), "");
	CHECK(xs_is_domain_introduced(d0, 7), "7 introduced");
	server_cmd(CMD_RELEASE, 7);
	STR(events(d0), "@releaseDomain|tR");
	STR(events(u5), "");
	CHECK(!xs_is_domain_introduced(d0, 7), "7 released");
	/* dom0 may grant read on the special node */
	ERR(sp(d0, "@releaseDomain", "n0,r5"), 0);
	STR(gp(d0, "@releaseDomain"), "n0,r5");
	server_cmd(CMD_RELEASE, 7);
	STR(events(u5), "@releaseDomain|tR");
	ERR(sp(d0, "@releaseDomain", "n0"), 0);
	STR(events(d0), "@releaseDomain|tR");
}

static void test_transactions(void)
{
	xs_transaction_t t, t2;

	ERR(wr(d0, "/t/x/X", "x0"), 0);
	t = xs_transaction_start(d0);
	CHECK(t != XBT_NULL, "start");
	ERR(commit(d0, t), 0); /* 220 */
	t = xs_transaction_start(d0);
	ERR(wr_t(d0, t, "/t/x/n1", "n1"), 0);
	STR(rd_t(d0, t, "/t/x/n1"), "n1");
	STR(rd(d0, "/t/x/n1"), "<ENOENT>");
	ERR(commit(d0, t), 0);
	STR(rd(d0, "/t/x/n1"), "n1"); /* 226 */
	t = xs_transaction_start(d0);
	ERR(wr_t(d0, t, "/t/x/X", "x-t"), 0);
	ERR(wr(d0b, "/t/x/X", "x-plain"), 0);
	ERR(commit(d0, t), EAGAIN); /* 227 */
	STR(rd(d0, "/t/x/X"), "x-plain");
	t = xs_transaction_start(d0);
	t2 = xs_transaction_start(d0b);
	ERR(wr_t(d0, t, "/t/x/X", "x-t1"), 0);
	ERR(wr_t(d0b, t2, "/t/x/X", "x-t2"), 0);
	ERR(commit(d0, t), 0);
	ERR(commit(d0b, t2), EAGAIN); /* 230 */
	STR(rd(d0, "/t/x/X"), "x-t1");
	t = xs_transaction_start(d0);
	STR(rd_t(d0, t, "/t/x/X"), "x-t1");
	ERR(wr(d0b, "/t/x/X", "x-t1"), 0);
	ERR(commit(d0, t), EAGAIN); /* 232, 256: identical value */
	ERR(wr(d0, "/t/x/Y", "y"), 0);
	t = xs_transaction_start(d0);
	STR(rd_t(d0, t, "/t/x/X"), "x-t1");
	ERR(wr(d0b, "/t/x/Y", "y2"), 0);
	ERR(commit(d0, t), 0); /* 233 */
	ERR(mk(d0, "/t/x/s"), 0);
	t = xs_transaction_start(d0);
	t2 = xs_transaction_start(d0b);
	ERR(wr_t(d0, t, "/t/x/s/a", ""), 0);
	ERR(wr_t(d0b, t2, "/t/x/s/b", ""), 0);
	ERR(commit(d0, t), 0);
	ERR(commit(d0b, t2), EAGAIN); /* 235 */
	STR(ls(d0, "/t/x/s"), "a");
	ERR(wr(d0, "/t/x/e/a", ""), 0);
	ERR(wr(d0, "/t/x/e/b", ""), 0);
	t = xs_transaction_start(d0);
	t2 = xs_transaction_start(d0b);
	ERR(wr_t(d0, t, "/t/x/e/a", "1"), 0);
	ERR(wr_t(d0b, t2, "/t/x/e/b", "1"), 0);
	ERR(commit(d0, t), 0);
	ERR(commit(d0b, t2), 0); /* 238 */
	ERR(wr(d0, "/t/x/r/c", "c"), 0);
	t = xs_transaction_start(d0);
	ERR(rm_t(d0, t, "/t/x/r"), 0);
	STR(rd_t(d0, t, "/t/x/r"), "<ENOENT>");
	STR(rd(d0, "/t/x/r/c"), "c");
	ERR(commit(d0, t), 0);
	STR(rd(d0, "/t/x/r"), "<ENOENT>"); /* 243 */
	/* a node read in a transaction, its parent removed outside it (as a
	 * released domain's nodes are): the transaction's rm of the node
	 * cannot read the parent (C xenstored's rm_node: EINVAL), and the
	 * transaction conflicts.  The emulator crashed here (bench/chaos.sh,
	 * 2026-12-05: vbdpoolctl member remove beside a domain's release). */
	ERR(wr(d0, "/t/x/g/c", "c"), 0);
	t = xs_transaction_start(d0);
	STR(rd_t(d0, t, "/t/x/g/c"), "c");
	ERR(rm(d0b, "/t/x/g"), 0);
	ERR(rm_t(d0, t, "/t/x/g/c"), EINVAL);
	ERR(commit(d0, t), EAGAIN);
	STR(rd(d0, "/t/x/g"), "<ENOENT>");
	ERR(wr(d0, "/t/x/d/c1", ""), 0);
	t = xs_transaction_start(d0);
	STR(ls_t(d0, t, "/t/x/d"), "c1");
	ERR(wr(d0b, "/t/x/d/c2", ""), 0);
	ERR(commit(d0, t), EAGAIN); /* 246 */
	t = xs_transaction_start(d0);
	STR(ls_t(d0, t, "/t/x/d"), "c1,c2");
	ERR(wr(d0b, "/t/x/d/c1", "v"), 0);
	ERR(commit(d0, t), 0); /* 247 */
	t = xs_transaction_start(d0);
	ERR(wr(d0b, "/t/x/X", "after"), 0);
	STR(rd_t(d0, t, "/t/x/X"), "after");
	ERR(commit(d0, t), 0); /* 248: not a snapshot */
	t = xs_transaction_start(d0);
	STR(rd_t(d0, t, "/t/x/miss"), "<ENOENT>");
	ERR(wr(d0b, "/t/x/miss", ""), 0);
	ERR(commit(d0, t), EAGAIN); /* 249 */
	ERR(commit(d0, t), ENOENT); /* 250 */
	STR(rd_t(d0, t, "/t/x/X"), "<ENOENT>");
	STR(rd_t(d0, 12345, "/t/x/X"), "<ENOENT>");
	ERR(wr_t(d0, 12345, "/t/x/X", ""), ENOENT);
	t = xs_transaction_start(d0);
	ERR(wr_t(d0, t, "/t/x/gone", "1"), 0);
	ERR(wr(d0b, "/t/x/gone", "0"), 0);
	ERR(rm(d0b, "/t/x/gone"), 0);
	ERR(commit(d0, t), EAGAIN); /* 252 */
	t = xs_transaction_start(d0);
	STR(gp_t(d0, t, "/t/x/X"), "n0");
	ERR(sp(d0b, "/t/x/X", "n0,r5"), 0);
	ERR(commit(d0, t), EAGAIN); /* 257 */
	ERR(mk(d0, "/t/x/par"), 0);
	t = xs_transaction_start(d0);
	ERR(wr_t(d0, t, "/t/x/par/kid", ""), 0);
	ERR(rm(d0b, "/t/x/par"), 0);
	ERR(commit(d0, t), EAGAIN); /* 258 */
	STR(rd(d0, "/t/x/par/kid"), "<ENOENT>");
	t = xs_transaction_start(d0);
	ERR(wr(d0b, "/t/x/X", "plain"), 0);
	ERR(wr_t(d0, t, "/t/x/X", "x-t"), 0);
	ERR(commit(d0, t), 0); /* 260 */
	STR(rd(d0, "/t/x/X"), "x-t");
	/* the test-xenstore "ta err" pattern: the first access copies */
	t = xs_transaction_start(d0);
	STR(rd_t(d0, t, "/t/x/X"), "x-t");
	ERR(wr(d0b, "/t/x/X", "b"), 0);
	STR(rd_t(d0, t, "/t/x/X"), "x-t");
	ERR(commit(d0, t), EAGAIN);
	/* mkdir + set_perms + get_perms inside (255) */
	t = xs_transaction_start(u5);
	ERR(xs_mkdir(u5, t, "data/tp") ? 0 : errno, 0);
	ERR(sp_t(u5, t, "data/tp", "n5,r0"), 0);
	STR(gp_t(u5, t, "data/tp"), "n5,r0");
	STR(gp(u5, "data/tp"), "<ENOENT>");
	ERR(commit(u5, t), 0);
	STR(gp(u5, "data/tp"), "n5,r0");
	/* a domU: 11 open transactions succeed, the 12th is ENOSPC (259) */
	xs_transaction_t ts[12];
	int opened = 0, err = 0;
	for (int i = 0; i < 12; i++) {
		ts[i] = xs_transaction_start(u5);
		if (ts[i] == XBT_NULL) {
			err = errno;
			break;
		}
		opened++;
	}
	CHECK(opened == 11 && err == ENOSPC, "opened %d, err %s", opened, ename(err));
	for (int i = 0; i < opened; i++)
		CHECK(xs_transaction_end(u5, ts[i], true), "abort %d", i);
	/* dom0: no limit */
	xs_transaction_t big[40];
	opened = 0;
	for (int i = 0; i < 40; i++)
		if ((big[i] = xs_transaction_start(d0)) != XBT_NULL)
			opened++;
	CHECK(opened == 40, "dom0 opened %d", opened);
	for (int i = 0; i < opened; i++)
		xs_transaction_end(d0, big[i], true);
}

static void test_quotas(void)
{
	char p[128];
	int i, err = 0;

	/* node size: 24 + 8 * perms + value + children >= 2048 (46, 287-290) */
	ERR(wrn(u5, "data/bs", 2015), 0);
	ERR(wrn(u5, "data/bs", 2016), ENOSPC);
	ERR(wrn(d0, "/t/bs", 4000), 0);
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "data/ns/c%018d", i); /* 19 chars + NUL */
		err = wr(u5, p, "");
		if (err)
			break;
	}
	CHECK(i == 100 && err == ENOSPC, "children %d err %s", i, ename(err));
	unsigned n = 0;
	char **d = xs_directory(u5, XBT_NULL, "data/ns", &n);
	CHECK(d && n == 100, "directory count %u", n);
	free(d);
	ERR(rm(u5, "data/ns"), 0);
	/* dom0: 300 children with 20-char names, needs DIRECTORY_PART (288) */
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "/t/many/c%019d", i);
		if (wr(d0, p, ""))
			break;
	}
	CHECK(i == 300, "dom0 children %d", i);
	d = xs_directory(d0, XBT_NULL, "/t/many", &n);
	CHECK(d && n == 300 && !strcmp(d[299], "c0000000000000000299"), "dir part count %u", n);
	free(d);
	xs_transaction_t tl = xs_transaction_start(d0);
	ERR(wr_t(d0, tl, "/t/many/zlast", ""), 0);
	d = xs_directory(d0, tl, "/t/many", &n);
	CHECK(d && n == 301 && !strcmp(d[300], "zlast"), "dir part in transaction: %u", n);
	free(d);
	CHECK(xs_transaction_end(d0, tl, true), "abort");
	/* 1000 nodes per domain (282-285) */
	for (i = 0; i < 1500; i++) {
		snprintf(p, sizeof(p), "data/q/p%d/n%d", i / 40, i);
		err = wr(u5, p, "");
		if (err)
			break;
	}
	CHECK(err == ENOSPC && i > 900 && i < 1000, "nodes %d err %s", i, ename(err));
	ERR(wr(u5, "data/q/p0/n0", "over"), 0);
	ERR(mk(u5, "data/q/new"), ENOSPC);
	xs_transaction_t t = xs_transaction_start(u5);
	ERR(wr_t(u5, t, "data/q/tnew", ""), ENOSPC);
	ERR(commit(u5, t), 0);
	STR(rd(u5, "data/q/tnew"), "<ENOENT>");
	ERR(rm(u5, "data/q"), 0);
	ERR(wr(u5, "data/q/again", ""), 0);
	ERR(rm(u5, "data/q"), 0);
	/* a domU transaction may access 1024 nodes */
	for (i = 0; i < 30; i++) {
		snprintf(p, sizeof(p), "data/tq/p%d", i);
		ERR(wr(u5, p, ""), 0);
	}
	t = xs_transaction_start(u5);
	for (i = 0; i < 1100; i++) {
		snprintf(p, sizeof(p), "data/tq/p%d/n%d", i % 30, i);
		const char *v = rd_t(u5, t, p);
		if (strcmp(v, "<ENOENT>")) {
			STR(v, "<ENOSPC>");
			break;
		}
	}
	STR(rd_t(u5, t, "data/tq/p0/n999999"), "<ENOSPC>");
	STR(rd_t(u5, t, "data/tq/p0/n0"), "<ENOENT>"); /* already accessed */
	CHECK(i > 900 && i < 1024, "transaction accessed %d", i);
	ERR(commit(u5, t), EAGAIN);
	ERR(rm(u5, "data/tq"), 0);
	/* watches: over 128 per domain E2BIG, as C xenstored counts (280: 123
	 * user watches + the domU kernel's 6) */
	struct xs_handle *w = open_as(6);
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "/t/wq%d", i);
		err = watch(w, p, "q");
		if (err)
			break;
	}
	CHECK(i == 129 && err == E2BIG, "watches %d err %s", i, ename(err));
	xs_close(w);
	w = open_as(6);
	ERR(watch(w, "/t/wq0", "q"), 0); /* 281: freed with the handle */
	xs_close(w);
	w = open_as(0);
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "/t/wq%d", i);
		if (watch(w, p, "q"))
			break;
	}
	CHECK(i == 300, "dom0 watches %d", i);
	xs_close(w);
}

static void test_domains(void)
{
	char *p;
	unsigned len;

	p = xs_get_domain_path(u5, 9999);
	STR(p ? p : "(null)", "/local/domain/9999");
	free(p);
	p = xs_get_domain_path(u5, 5);
	STR(p ? p : "(null)", "/local/domain/5");
	free(p);
	CHECK(xs_is_domain_introduced(d0, 0), "dom0 introduced");
	CHECK(xs_is_domain_introduced(d0, 5), "dom5 introduced");
	CHECK(!xs_is_domain_introduced(d0, 9999), "9999 not introduced");
	errno = 0;
	CHECK(!xs_is_domain_introduced(u5, 5) && errno == EACCES, "domU: %s", ename(errno));
	ERR(xs_release_domain(d0, 9999) ? 0 : errno, ENOENT);
	ERR(xs_release_domain(u5, 9999) ? 0 : errno, EACCES);
	ERR(xs_introduce_domain(d0, 9999, 0, 0) ? 0 : errno, EINVAL);
	ERR(xs_resume_domain(d0, 9999) ? 0 : errno, ENOENT);
	ERR(xs_set_target(d0, 9999, 0) ? 0 : errno, ENOENT);
	p = xs_control_command(d0, "quota", NULL, 0);
	CHECK(p && strstr(p, "node-size        :     2048"), "quota: %s", p ? p : ename(errno));
	free(p);
	p = xs_control_command(u5, "quota", NULL, 0);
	CHECK(!p && errno == EACCES, "domU control: %s", ename(errno));
	(void)len;
}

/* raw protocol abuse on one socket must not disturb others */
static int raw_connect(unsigned domid)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%.100s", sock_path(domid));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		abort();
	return fd;
}

struct hdr {
	uint32_t type, req_id, tx_id, len;
};

static int raw_reply(int fd, struct hdr *h, char *body)
{
	struct pollfd pf = {fd, POLLIN, 0};
	size_t got = 0;
	if (poll(&pf, 1, 2000) != 1)
		return -1;
	while (got < sizeof(*h)) {
		ssize_t n = read(fd, (char *)h + got, sizeof(*h) - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	got = 0;
	while (got < h->len) {
		ssize_t n = read(fd, body + got, h->len - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	body[h->len] = 0;
	return 0;
}

static size_t msg(char *buf, uint32_t type, uint32_t req, const char *body, uint32_t len)
{
	struct hdr h = {type, req, 0, len};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, len);
	return sizeof(h) + len;
}

static void test_malformed(void)
{
	struct hdr h;
	char body[5000];
	int fd = raw_connect(5);

	/* unknown type: error reply, connection stays */
	struct hdr q = {999, 7, 0, 0};
	CHECK(write(fd, &q, sizeof(q)) == sizeof(q), "write");
	CHECK(raw_reply(fd, &h, body) == 0 && h.type == XS_ERROR && h.req_id == 7 &&
		  !strcmp(body, "EINVAL"),
	      "unknown type: type %u body %s", h.type, body);
	/* missing NUL */
	char buf[64];
	size_t n = msg(buf, XS_READ, 8, "domi", 4);
	CHECK(write(fd, buf, n) == (ssize_t)n, "write");
	CHECK(raw_reply(fd, &h, body) == 0 && h.type == XS_ERROR && !strcmp(body, "EINVAL"),
	      "no NUL: %u %s", h.type, body);
	/* byte-by-byte request */
	n = msg(buf, XS_READ, 9, "domid", 6);
	for (size_t i = 0; i < n; i++) {
		CHECK(write(fd, buf + i, 1) == 1, "write");
		usleep(200);
	}
	CHECK(raw_reply(fd, &h, body) == 0 && h.type == XS_READ && h.req_id == 9 &&
		  !strcmp(body, "5"),
	      "partial: %u %s", h.type, body);
	/* two requests in one write */
	n = msg(buf, XS_READ, 10, "domid", 6);
	n += msg(buf + n, XS_READ, 11, "domid", 6);
	CHECK(write(fd, buf, n) == (ssize_t)n, "write");
	CHECK(raw_reply(fd, &h, body) == 0 && h.req_id == 10, "first of two");
	CHECK(raw_reply(fd, &h, body) == 0 && h.req_id == 11, "second of two");
	/* WATCH with one string, TRANSACTION_END without a transaction */
	n = msg(buf, XS_WATCH, 12, "/x", 3);
	CHECK(write(fd, buf, n) == (ssize_t)n, "write");
	CHECK(raw_reply(fd, &h, body) == 0 && !strcmp(body, "EINVAL"), "watch 1 arg: %s", body);
	n = msg(buf, XS_TRANSACTION_END, 13, "T", 2);
	CHECK(write(fd, buf, n) == (ssize_t)n, "write");
	CHECK(raw_reply(fd, &h, body) == 0 && !strcmp(body, "ENOENT"), "end no txn: %s", body);
	/* huge length: dropped */
	struct hdr big = {XS_READ, 12, 0, 100000};
	CHECK(write(fd, &big, sizeof(big)) == sizeof(big), "write");
	CHECK(raw_reply(fd, &h, body) != 0, "huge len must close");
	close(fd);
	/* everyone else unaffected */
	STR(rd(u5, "domid"), "5");
	STR(rd(d0, "domid"), "0");
}

/* a peer that never reads its replies is dropped, nobody else waits */
static void test_slow_reader(void)
{
	char buf[64];
	int fd = raw_connect(0), n = 0;
	size_t len = msg(buf, XS_READ, 1, "/t/bs", 6);

	/* 6000 replies of 4000 bytes: more than the server keeps queued */
	for (int i = 0; i < 6000; i++) {
		if (write(fd, buf, len) != (ssize_t)len)
			break;
		if (i % 500 == 0)
			STR(rd(d0b, "domid"), "0");
	}
	STR(rd(d0, "domid"), "0");
	/* drain what was sent until the server closed the connection */
	bool closed = false;
	for (;;) {
		char big[65536];
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, 3000) != 1)
			break;
		ssize_t k = read(fd, big, sizeof(big));
		if (k <= 0) {
			closed = true;
			break;
		}
		n += k;
	}
	CHECK(closed && n < 6000 * 4016, "closed %d after %d bytes", closed, n);
	close(fd);
	STR(rd(u5, "domid"), "5");
}

/* the request counter (xensim stats): every message a domain sends counts
 * for that domain, refused ones too; events sent to it do not */
static uint64_t requests_of(unsigned domid)
{
	server_cmd(CMD_REQUESTS, domid);
	CHECK(requests_rc == 0, "xs_server_requests(%u): %d", domid, requests_rc);
	return requests;
}

static void test_request_counter(void)
{
	uint64_t a0 = requests_of(0), a5 = requests_of(5), a6 = requests_of(6), n;
	xs_transaction_t t;

	STR(rd(u5, "domid"), "5");
	STR(rd(u5, "nonexistent"), "<ENOENT>");
	ERR(watch(u5, "domid", "cnt"), 0);
	STR(events(u5), "domid|cnt");
	ERR(wr(d0, "/local/domain/5/domid", "5"), 0); /* an event for u5 */
	STR(events(u5), "domid|cnt");
	CHECK(xs_unwatch(u5, "domid", "cnt"), "unwatch");
	t = xs_transaction_start(u5);
	CHECK(t != XBT_NULL && xs_transaction_end(u5, t, true), "transaction");
	n = requests_of(5) - a5;
	CHECK(n == 8, "dom5 sent 8 requests (events() makes one), counted %llu",
	      (unsigned long long)n);
	n = requests_of(0) - a0;
	CHECK(n == 1, "dom0 sent 1 request, counted %llu", (unsigned long long)n);
	CHECK(requests_of(6) == a6, "dom6 sent nothing");
	server_cmd(CMD_REQUESTS, 77);
	CHECK(requests_rc == -ENOENT, "a domain never seen: %d", requests_rc);
}

/* release: the domain's connections close, dom0 hears @releaseDomain */
static void test_release(void)
{
	ERR(watch(u6, "domid", "r6"), 0);
	STR(events(u6), "domid|r6");
	ERR(watch(d0, "/local/domain/6", "gone"), 0);
	events(d0);
	server_cmd(CMD_RELEASE, 6);
	STR(events(d0), "/local/domain/6|gone,@releaseDomain|tR");
	CHECK(!xs_is_domain_introduced(d0, 6), "6 released");
	const char *v = rd(u6, "/t/u/deny");
	CHECK(!strcmp(v, "<EBADF>") || !strcmp(v, "<32(Broken pipe)>") ||
		  !strcmp(v, "<104(Connection reset by peer)>"),
	      "connection of a released domain: %s", v);
	STR(rd(d0, "/local/domain/6/domid"), "<ENOENT>");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	start_server();
	d0 = open_as(0);
	d0b = open_as(0);
	u5 = open_as(5);
	u6 = open_as(6);

	test_basic();
	test_paths();
	test_perms();
	test_watches();
	test_transactions();
	test_quotas();
	test_domains();
	test_malformed();
	test_slow_reader();
	test_request_counter();
	test_release();

	xs_close(d0);
	xs_close(d0b);
	xs_close(u5);
	xs_close(u6);
	stop_server();
	return check_done("xs_server_test");
}
