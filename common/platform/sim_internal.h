/* SPDX-License-Identifier: MIT */
/* Shared by the sim platform's modules (common/platform/sim_*.c). */
#ifndef VBDPOOL_SIM_INTERNAL_H
#define VBDPOOL_SIM_INTERNAL_H

#include "ops_table.h"
#include "sim_hyp.h"

#include <pthread.h>
#include <stddef.h>

/* Connects to $XENSIM_HYP and opens a handle of `kind`; returns the socket
 * or -errno.  *fd_out receives the descriptor the reply carries (if any
 * is expected; pass NULL otherwise). */
int sim_hyp_open(int kind, unsigned *domid, int *fd_out);
/* One request/reply; returns the reply's rc (or -errno on I/O failure).
 * Received descriptors are closed when rc < 0. */
int sim_hyp_call(int sock, struct sim_hyp_msg *m, const void *p, size_t len, void *rbuf,
		 size_t rcap, int *fds, int *nfds);

/* What every sim handle begins with: its hypercall connection and the
 * lock that keeps one request/reply at a time on it. */
struct sim_conn {
	int sock;
	pthread_mutex_t lock;
};

/* Allocates a zeroed handle of `size` bytes whose first member is a struct
 * sim_conn, opens its connection as `kind` (fd_out as for sim_hyp_open)
 * and initialises its lock.  NULL with errno set on failure. */
void *sim_conn_new(size_t size, int kind, int *fd_out);
/* Closes a handle from sim_conn_new (NULL is ignored): closes its
 * connection (the daemon then releases what the handle held), calls
 * drop(h) if given to release what the handle holds here, destroys the
 * lock and frees it. */
void sim_conn_close(void *h, void (*drop)(void *h));

/* Defines `static TYPE *sim_open(void)` and `static void sim_close(TYPE *)`
 * for a handle TYPE whose first member is its struct sim_conn, connected
 * as KIND; close drops the local side with DROP (NULL: nothing to drop). */
#define SIM_DEFINE_HANDLE(type, kind, drop)                                                        \
	_Static_assert(offsetof(type, conn) == 0, "sim_conn_new allocates it");                    \
	static type *sim_open(void)                                                                \
	{                                                                                          \
		return sim_conn_new(sizeof(type), kind, NULL);                                     \
	}                                                                                          \
	static void sim_close(type *h)                                                             \
	{                                                                                          \
		sim_conn_close(h, drop);                                                           \
	}

extern const struct vbd_evtchn_ops sim_evtchn_ops;
extern const struct vbd_gntshr_ops sim_gntshr_ops;
extern const struct vbd_gnttab_ops sim_gnttab_ops;
extern const struct vbd_domctl_ops sim_domctl_ops;

#endif
