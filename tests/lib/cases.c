/* SPDX-License-Identifier: MIT */
#include "cases.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *case_role;
int case_count, case_failures;

static const char *role_prefix(char *buf, size_t len)
{
	if (case_role)
		snprintf(buf, len, "%s: ", case_role);
	else
		buf[0] = '\0';
	return buf;
}

void case_check(bool ok, const char *what, const char *fmt, ...)
{
	char why[256] = "", role[64];
	va_list ap;

	case_count++;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	role_prefix(role, sizeof(role));
	if (ok) {
		printf("ok %d %s%s\n", case_count, role, what);
	} else {
		case_failures++;
		printf("FAIL %d %s%s: %s\n", case_count, role, what, why);
	}
	fflush(stdout);
}

void case_fatal(const char *fmt, ...)
{
	char role[64];
	va_list ap;

	printf("FAIL %sfatal: ", role_prefix(role, sizeof(role)));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}
