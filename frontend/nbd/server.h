/* SPDX-License-Identifier: MIT */
/*
 * vbdpool-nbd: a native NBD server for one vbdpool device (docs/frontend.md,
 * "vbdpool-nbd").  Shared state of its modules:
 *
 *   main.c       arguments, the device, the listening socket, signals
 *   handshake.c  fixed newstyle option haggling (blocking, per connection)
 *   conn.c       transmission on the device's event thread: requests read
 *                and submitted, replies sent from the completion callback
 *   sockio.c     poll-based full reads / writes that a stop can interrupt
 */
#ifndef VBDNBD_SERVER_H
#define VBDNBD_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vbdpool/proto.h"

struct vbd_front;
struct nbd_conn;

struct nbd_server {
	struct vbd_front *dev;
	uint64_t size; /* bytes */
	unsigned devid;
	const char *volume;    /* the device's volume id */
	uint16_t tflags;       /* transmission flags */
	unsigned max_inflight; /* per connection: requests accepted, not yet replied */
	uint64_t budget;       /* per connection: their buffers (--conn-budget-mib) */
	uint32_t max_block;    /* largest READ / WRITE: min(budget, VBDNBD_MAX_BLOCK) */
	uint64_t idle_ms;      /* --idle-timeout (0: none) */
	int sndbuf;	       /* --sndbuf-kib in bytes: SO_SNDBUF of each connection (0: leave) */
	uint32_t zc_min;       /* --zero-copy-kib in bytes: smallest WRITE received in place */
	atomic_bool stopping;  /* SIGTERM/SIGINT: no new requests */
	atomic_bool closing_dev; /* set (under mu) before vbd_front_close: no more kicks */
	atomic_bool dev_closed;	 /* vbd_front_close returned: connections let go */
	/* live connections (for wake-ups at stop) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct nbd_conn *conns;
	unsigned nconns;
	unsigned long next_id;
	/* transmitting connections per event context: a new one goes to the
	 * context with the fewest (its queues are q % contexts == ctx) */
	unsigned ctx_conns[VBD_MAX_QUEUES];
};

/* ---- sockio.c ---------------------------------------------------------- */
/* Read / write exactly n bytes on a non-blocking socket, polling; a write
 * to wake_fd (an eventfd) with *stop set, or the deadline (vbd_now_ms()
 * time; < 0: none) interrupts them.  0 on success, -1 on EOF, error, stop
 * or deadline (errno: 0 for EOF, ESHUTDOWN for stop, ETIMEDOUT). */
int sock_read_full(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, void *buf,
		   size_t n);
int sock_write_full(int fd, int wake_fd, const atomic_bool *stop, int64_t deadline, const void *buf,
		    size_t n);

/* ---- handshake.c ------------------------------------------------------- */
enum hs_result { HS_TRANSMIT, HS_CLOSE };
/* Runs the handshake on c's socket; HS_TRANSMIT when the client chose the
 * export (NBD_OPT_GO / NBD_OPT_EXPORT_NAME), else HS_CLOSE (abort, error,
 * garbage: logged). */
enum hs_result nbd_handshake(struct nbd_server *s, struct nbd_conn *c);

/* ---- conn.c ------------------------------------------------------------ */
struct nbd_conn *conn_new(struct nbd_server *s, int fd, const char *peer);
/* The connection's thread body: handshake, then transmission on the
 * device's event thread while it waits, teardown.  Frees c. */
void *conn_thread(void *c);
int conn_fd(const struct nbd_conn *c);
int conn_wake_fd(const struct nbd_conn *c);
const char *conn_name(const struct nbd_conn *c);
void conn_set_no_zeroes(struct nbd_conn *c, bool on);
bool conn_no_zeroes(const struct nbd_conn *c);
/* Wakes the connection's thread (handshake: to stop; transmission: to pass
 * a stop on to the event loop). */
void conn_wake(struct nbd_conn *c);
/* Wakes every connection's thread (server stop). */
void conn_wake_all(struct nbd_server *s);

#endif
