/* SPDX-License-Identifier: MIT */
/*
 * Domain control through the active platform (libxenctrl semantics).
 *   plat_domctl dom0 DOMID   list shows DOMID running; pause -> paused;
 *                            unpause -> running; destroy -> dying or gone;
 *                            unknown domain -> ESRCH
 *   plat_domctl domu         every call is refused (EPERM/EACCES)
 */
#include "vbdpool/platform.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXDOM 256

static const struct vbd_platform *P;
static int failures;

static void check(bool ok, const char *what, int rc)
{
	printf("%s %s (rc=%d)\n", ok ? "ok" : "FAIL", what, rc);
	failures += !ok;
}

/* state of domid, or -1 if not listed */
static int state_of(struct vbd_domctl *h, unsigned domid, int *n)
{
	static struct vbd_dominfo info[MAXDOM];

	*n = P->domctl->list(h, info, MAXDOM);
	for (int i = 0; i < *n && i < MAXDOM; i++)
		if (info[i].domid == domid)
			return (int)info[i].state;
	return -1;
}

int main(int argc, char **argv)
{
	struct vbd_domctl *h;
	int rc, n, st;

	if (argc < 2)
		return 2;
	P = vbd_platform();
	h = P->domctl->open();
	if (!h) {
		/* on Xen a domU may not even open privcmd */
		bool ok = !strcmp(argv[1], "domu") && (errno == EPERM || errno == EACCES);

		printf("%s open: %s\n", ok ? "ok" : "FAIL", strerror(errno));
		return ok ? 0 : 1;
	}
	if (!strcmp(argv[1], "domu")) {
		struct vbd_dominfo info[4];

		rc = P->domctl->list(h, info, 4);
		check(rc == -EPERM || rc == -EACCES, "a domU cannot list domains", rc);
		rc = P->domctl->pause(h, 0);
		check(rc == -EPERM || rc == -EACCES, "a domU cannot pause", rc);
		rc = P->domctl->destroy(h, 0);
		check(rc == -EPERM || rc == -EACCES, "a domU cannot destroy", rc);
	} else if (!strcmp(argv[1], "dom0") && argc > 2) {
		unsigned d = (unsigned)atoi(argv[2]);

		st = state_of(h, 0, &n);
		check(n >= 2 && st == VBD_DOM_RUNNING, "list shows dom0 running", n);
		st = state_of(h, d, &n);
		check(st == VBD_DOM_RUNNING, "list shows the domain running", st);
		rc = P->domctl->pause(h, (vbd_domid_t)d);
		st = state_of(h, d, &n);
		check(rc == 0 && st == VBD_DOM_PAUSED, "pause -> paused", st);
		rc = P->domctl->unpause(h, (vbd_domid_t)d);
		st = state_of(h, d, &n);
		check(rc == 0 && st == VBD_DOM_RUNNING, "unpause -> running", st);
		rc = P->domctl->pause(h, 9999);
		check(rc == -ESRCH, "pause an unknown domain: ESRCH", rc);
		rc = P->domctl->destroy(h, (vbd_domid_t)d);
		check(rc == 0, "destroy", rc);
		for (int i = 0; i < 100; i++) {
			st = state_of(h, d, &n);
			if (st < 0)
				break;
			usleep(20000);
		}
		check(st < 0, "destroyed domain disappears", st);
	} else {
		return 2;
	}
	P->domctl->close(h);
	return failures ? 1 : 0;
}
