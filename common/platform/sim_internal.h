/* SPDX-License-Identifier: MIT */
/* Shared by the sim platform's modules (common/platform/sim_*.c). */
#ifndef VBDPOOL_SIM_INTERNAL_H
#define VBDPOOL_SIM_INTERNAL_H

#include "vbdpool/platform.h"
#include "vbdpool/sim_hyp.h"

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
/* Destroys the lock and frees a handle from sim_conn_new; the caller has
 * closed its socket. */
void sim_conn_free(void *h);

extern const struct vbd_evtchn_ops sim_evtchn_ops;
extern const struct vbd_gntshr_ops sim_gntshr_ops;
extern const struct vbd_gnttab_ops sim_gnttab_ops;
extern const struct vbd_domctl_ops sim_domctl_ops;

#endif
