/* SPDX-License-Identifier: MIT */
/*
 * The emulator's XenStore server (sim/xs) in a thread of the test process,
 * listening in a private temp dir, for unit tests of code that talks to
 * XenStore through libxenstore: xs_local_start points XENSTORED_PATH at it,
 * so every xs_open(0) after it is a dom0 connection to that server.
 */
#ifndef TESTS_XS_LOCAL_H
#define TESTS_XS_LOCAL_H

#include <xenstore.h>

/* Start the server (name: the temp dir's prefix) and return a dom0
 * connection to it; exits the test on failure.  Once per process. */
struct xs_handle *xs_local_start(const char *name);
/* Stop the server thread and free the server (close the connections
 * first).  The temp dir goes at exit. */
void xs_local_stop(void);

struct xs_server;
/* Creates /local/domain/DOMID and its domid node (and its name node unless
 * name is NULL) in server s, dom0's and readable by the domain, as the
 * emulator does; introducing the domain is the caller's. */
void xs_local_add_domain(struct xs_server *s, unsigned domid, const char *name);

#endif
