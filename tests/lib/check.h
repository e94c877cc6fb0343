/* SPDX-License-Identifier: MIT */
/* The unit tests' one assertion helper.  A failed CHECK is reported with its
 * file, line and condition (and an optional printf-style message) and
 * counted; the test goes on, and main() ends with `return check_done(name);`.
 *
 *   CHECK(x == 3);
 *   CHECK(rc == 0, "open %s: %d", path, rc);   message args are evaluated
 *                                              only when the check fails
 *   check_failf("case %s: ...\n", name);        a failure found by hand
 */
#ifndef VBD_TEST_CHECK_H
#define VBD_TEST_CHECK_H

extern int check_failures; /* failed checks plus check_failf() calls */
extern int check_count;	   /* CHECKs evaluated */
extern int check_verbose;  /* nonzero: print "ok   <cond>" for each passing CHECK */

/* The message, if any, must start with a string literal. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond)                                                                          \
			check_pass_(#cond);                                                        \
		else                                                                               \
			check_fail_(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                   \
	} while (0)

void check_pass_(const char *cond);
void check_fail_(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Counts a failure the test detected itself; prints fmt to stderr as is. */
void check_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "NAME: ok (N checks)" or "NAME: F failure(s) in N checks";
 * returns main()'s exit status (0 pass, 1 fail). */
int check_done(const char *name);

#endif
