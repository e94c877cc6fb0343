/* SPDX-License-Identifier: MIT */
#include "vbdpool/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "vbdpool";
static int log_level = -1;

static int level_from_env(void)
{
	const char *s = getenv("VBD_LOG");
	if (!s)
		return VBD_LOG_INFO;
	if (!strcmp(s, "error"))
		return VBD_LOG_ERROR;
	if (!strcmp(s, "warn"))
		return VBD_LOG_WARN;
	if (!strcmp(s, "debug"))
		return VBD_LOG_DEBUG;
	return VBD_LOG_INFO;
}

void vbd_log_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');
	log_prog = slash ? slash + 1 : prog;
	log_level = level_from_env();
}

int vbd_log_enabled(enum vbd_log_level lvl)
{
	if (log_level < 0)
		log_level = level_from_env();
	return (int)lvl <= log_level;
}

static void vlog(enum vbd_log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vlog(enum vbd_log_level lvl, const char *fmt, va_list ap)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	char buf[1024];
	struct timespec ts;
	int n;

	if (!vbd_log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, sizeof(buf), "%ld.%03ld %s[%d] %s: ", (long)ts.tv_sec % 100000,
		     ts.tv_nsec / 1000000, log_prog, (int)getpid(), names[lvl]);
	if (n > 0 && (size_t)n < sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* one write() per line so lines from threads and processes don't mix */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void vbd_log(enum vbd_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

int vbd_log_once(struct vbd_log_once *o, enum vbd_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (!vbd_log_once_mark(o))
		return 0;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
	return 1;
}

int vbd_log_once_mark(struct vbd_log_once *o)
{
	if (o->done)
		return 0;
	o->done = 1;
	return 1;
}

int vbd_log_once_reset(struct vbd_log_once *o)
{
	int was = o->done;

	o->done = 0;
	return was;
}
