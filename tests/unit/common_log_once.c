/* SPDX-License-Identifier: MIT */
/* Unit tests of the log-once helper (vbdpool/log.h): a persisting
 * condition is logged once until it is reset, VBD_LOG_ONCE evaluates the
 * wrapped call only the first time, a reset says whether it had logged
 * (for "... again" messages), and a message below the log level still
 * counts as said.  The lines are read back from stderr (a temp file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vbdpool/log.h"

static FILE *cap;
static int saved_err = -1;

static void capture(void)
{
	cap = tmpfile();
	fflush(stderr);
	saved_err = dup(2);
	dup2(fileno(cap), 2);
}

/* lines logged since capture() that contain `needle` */
static int lines_with(const char *needle)
{
	char line[512];
	int n = 0;

	fflush(stderr);
	rewind(cap);
	while (fgets(line, sizeof(line), cap))
		n += strstr(line, needle) != NULL;
	return n;
}

static int evaluated;
static int counted(void)
{
	return ++evaluated;
}

int main(void)
{
	struct vbd_log_once o = {0}, quiet = {0};
	int rc;

	vbd_log_init("log_once_test");
	capture();
	CHECK(vbd_log_once(&o, VBD_LOG_WARN, "disk %s missing", "d1") == 1, "the first logs");
	for (int i = 0; i < 5; i++)
		CHECK(vbd_log_once(&o, VBD_LOG_WARN, "disk %s missing", "d1") == 0, "then not");
	CHECK(lines_with("disk d1 missing") == 1, "one line: %d", lines_with("disk d1 missing"));

	CHECK(vbd_log_once_reset(&o) == 1, "the reset says it had logged");
	CHECK(vbd_log_once_reset(&o) == 0, "a second reset: nothing was logged since");
	CHECK(vbd_log_once(&o, VBD_LOG_WARN, "disk %s missing", "d1") == 1, "logs again after it");
	CHECK(lines_with("disk d1 missing") == 2);

	/* VBD_LOG_ONCE: the wrapped call (its arguments too) runs once */
	vbd_log_once_reset(&o);
	for (int i = 0; i < 3; i++) {
		rc = VBD_LOG_ONCE(&o, log_err("member %d not a member", counted()));
		CHECK(rc == (i == 0), "VBD_LOG_ONCE ran: %d at %d", rc, i);
	}
	CHECK(evaluated == 1, "the call was evaluated %d times", evaluated);
	CHECK(lines_with("member 1 not a member") == 1);

	/* below the level: not printed, but said (no flood once enabled) */
	CHECK(vbd_log_once(&quiet, VBD_LOG_DEBUG, "a debug line %d", 7) == 1);
	CHECK(vbd_log_once(&quiet, VBD_LOG_DEBUG, "a debug line %d", 7) == 0);
	CHECK(!vbd_log_enabled(VBD_LOG_DEBUG) || lines_with("a debug line 7") == 1);
	CHECK(vbd_log_once_mark(&quiet) == 0, "marking a said condition: 0");

	fflush(stderr);
	dup2(saved_err, 2);
	return check_done("common_log_once");
}
