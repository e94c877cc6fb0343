/* SPDX-License-Identifier: MIT */
/* The data plane of one owned queue, sealed (like QEMU's
 * XenBlockDataPlane): the mapped ring of one owner epoch, its bound event
 * channel, persistent grants, an I/O engine on the backing, and the data
 * thread that serves them. The control path (pool, ownership records,
 * connect, balance, heartbeat, path checker, control) sees only this
 * interface; struct vbd_queue is defined in queue.h, which only the data
 * plane's own files (queue.c ring.c request.c grant_cache.c, the engines)
 * and its unit test and fuzzer include.
 *
 * The control thread creates a queue when it connects an epoch, steers it
 * with command bits (drain, failed mode, stop) and reads its status bits;
 * the data thread reports status changes on the shared report eventfd.
 * Nothing here is called per request. */
#ifndef VBD_BACKEND_DATAPLANE_H
#define VBD_BACKEND_DATAPLANE_H

#include <stdint.h>

#include "backing.h"
#include "io_engine.h"
#include "stats.h"
#include "vbdpool/platform.h"
#include "vbdpool/proto.h"

struct vbd_queue; /* opaque */

struct vbdq_config {
	vbd_domid_t guest;
	uint32_t devid, qidx;
	uint64_t epoch;
	unsigned order; /* ring-page-order */
	vbd_gref_t ring_refs[1u << VBD_MAX_RING_PAGE_ORDER];
	vbd_port_t remote_port;
	const struct vbd_backing *backing;
	enum vbd_engine_kind engine;
	struct vbd_io_wrap *wrap; /* --fault, --throttle (engine_wrap.h), or NULL */
	const struct vbd_platform *plat;
	int report_fd; /* eventfd the control thread polls, or -1 */
	unsigned max_grants;
	unsigned poll_us; /* adaptive polling window, at most (0: never) */
	/* the member's own lease (self-fencing): while *lease_until_ns is not
	 * 0 and has passed (CLOCK_MONOTONIC), take no new request from the
	 * ring; the control thread renews it after each heartbeat that found
	 * the member neither fenced nor dead. NULL: no lease. */
	const _Atomic uint64_t *lease_until_ns;
	/* a read-only attachment (its `mode` in the pool area, dom0's): every
	 * write and discard is answered BLKIF_RSP_ERROR, alone */
	int read_only;
};

/* commands (control -> data) */
enum {
	VBDQ_CMD_DRAIN = 1u << 0,  /* stop consuming; finish consumed requests */
	VBDQ_CMD_FAILED = 1u << 1, /* answer EIO (held ones too) with ERROR */
	/* (vbdq_eio_checked: answer the held requests up to a sequence) */
	VBDQ_CMD_STOP = 1u << 2, /* abandon: no more responses, exit */
};
/* status (data -> control) */
enum {
	VBDQ_ST_DRAINED = 1u << 0, /* unused: see vbdq_drained() */
	VBDQ_ST_HOSTILE = 1u << 1, /* ring indices overran: ring dropped */
	VBDQ_ST_EIO = 1u << 2,	   /* backing returned EIO: request(s) held */
				   /* (vbdq_eio_take clears it when the control
				      thread takes the held ones up; a later hold
				      sets it again) */
	VBDQ_ST_EXITED = 1u << 3,
};

/* Map the ring, bind the event channel, set up grants and the engine.
 * Returns 0 or -errno (nothing left mapped on failure). */
int vbdq_create(const struct vbdq_config *cfg, struct vbd_queue **out);
/* Start the data thread. */
int vbdq_start(struct vbd_queue *q);
/* Set/clear command bits and wake the data thread. */
void vbdq_command(struct vbd_queue *q, unsigned set, unsigned clear);
/* DRAIN, unless it is set already (a drain in progress keeps its
 * generation). */
void vbdq_drain(struct vbd_queue *q);
/* The command bits now set. */
unsigned vbdq_commands(const struct vbd_queue *q);
unsigned vbdq_status(const struct vbd_queue *q);
/* Has the current DRAIN command completed (nothing consumed in flight)? */
int vbdq_drained(const struct vbd_queue *q);
/* Stop (abandon), join the thread, wait for I/O in flight, unmap
 * everything, free. */
void vbdq_destroy(struct vbd_queue *q);

/* What the queue was created with (its ring, its epoch). */
const struct vbdq_config *vbdq_config(const struct vbd_queue *q);
uint64_t vbdq_epoch(const struct vbd_queue *q);
/* Adds the queue's counters (ops, bytes, latencies, in flight) to snap. */
void vbdq_stats_add(const struct vbd_queue *q, struct vbd_stats_snap *snap);
/* When (CLOCK_MONOTONIC ns) the oldest request now in the queue's engine
 * arrived; 0 when none is in it.  Any thread (the member's watch for a
 * storage path that hangs). */
uint64_t vbdq_io_waiting_since(const struct vbd_queue *q);

/* The EIO policy (docs/protocol.md "Storage failure"), control thread
 * only. vbdq_eio_take: if the queue holds requests for an EIO not taken up
 * yet (VBDQ_ST_EIO), clears the bit and notes that the holds so far wait
 * for path check `gen`; returns 1, else 0. vbdq_eio_checked: once path
 * check `done` (or a later one) has completed: returns 1 if the queue was
 * waiting for it (and, when the path works, has the data thread answer
 * those held requests BLKIF_RSP_ERROR: a media error), else 0. */
int vbdq_eio_take(struct vbd_queue *q, unsigned gen);
int vbdq_eio_checked(struct vbd_queue *q, unsigned done, int path_works);

#endif
