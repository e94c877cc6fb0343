/* SPDX-License-Identifier: MIT */
/* The project's version: the one place it is written.  Every program's
 * --version prints it (help2man reads it for the man pages, install/) and
 * install/module.mk reads it for vbdpool-front.pc. */
#ifndef VBDPOOL_VERSION_H
#define VBDPOOL_VERSION_H

#include <stdio.h>

#define VBDPOOL_VERSION "0.1.0"

/* `PROG --version`: one line on stdout, "PROG (vbdpool) VERSION". */
static inline int vbd_print_version(const char *prog)
{
	printf("%s (vbdpool) %s\n", prog, VBDPOOL_VERSION);
	return 0;
}

#endif
