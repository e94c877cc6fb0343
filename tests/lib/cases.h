/* SPDX-License-Identifier: MIT */
/* Per-case verdict lines of the test programs that run inside emulated
 * domains (tests/progs/plat_*): "ok N [ROLE: ]WHAT" or "FAIL N [ROLE: ]WHAT:
 * WHY", flushed at once (a script collects several domains' outputs and
 * counts the lines). */
#ifndef VBD_TEST_CASES_H
#define VBD_TEST_CASES_H

#include <stdbool.h>

extern const char *case_role; /* when set, printed before each case */
extern int case_count;	      /* cases so far */
extern int case_failures;     /* ... of which failed */

/* One case: `what` passed if ok, else failed because of fmt (may be NULL). */
void case_check(bool ok, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints "FAIL [ROLE: ]fatal: MESSAGE" and exits 1. */
void case_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
