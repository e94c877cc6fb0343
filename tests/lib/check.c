/* SPDX-License-Identifier: MIT */
/* See check.h. */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>

int check_failures;
int check_count;
int check_verbose;

void check_pass_(const char *cond)
{
	check_count++;
	if (check_verbose)
		printf("ok   %s\n", cond);
}

void check_fail_(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	check_count++;
	check_failures++;
	fflush(stdout);
	fprintf(stderr, "FAIL %s:%d: %s", file, line, cond);
	/* fmt is " " plus the caller's message, or just " " without one */
	if (fmt[0] && fmt[1]) {
		fputc(':', stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
}

void check_failf(const char *fmt, ...)
{
	va_list ap;

	check_failures++;
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int check_done(const char *name)
{
	if (check_failures) {
		fflush(stdout);
		fprintf(stderr, "%s: %d failure(s), %d checks\n", name, check_failures,
			check_count);
		return 1;
	}
	printf("%s: ok (%d checks)\n", name, check_count);
	return 0;
}
