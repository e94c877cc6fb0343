/* SPDX-License-Identifier: MIT */
/* One owned queue (data path, like xen-blkback's blkif ring): the mapped
 * ring of one owner epoch, its bound event channel, persistent grants, an
 * I/O engine, and the data thread that serves it.
 *
 * The control thread creates a queue when it connects an epoch, steers it
 * with commands (drain, failed mode, stop) and reads its status bits; the
 * data thread reports status changes on the shared report eventfd. */
#ifndef VBD_BACKEND_QUEUE_H
#define VBD_BACKEND_QUEUE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "backing.h"
#include "grant_cache.h"
#include "io_engine.h"
#include "request.h"
#include "ring.h"
#include "stats.h"
#include "vbdpool/platform.h"
#include "vbdpool/proto.h"

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
};

/* commands (control -> data) */
enum {
	VBDQ_CMD_DRAIN = 1u << 0,  /* stop consuming; finish consumed requests */
	VBDQ_CMD_FAILED = 1u << 1, /* answer EIO (held ones too) with ERROR */
	/* (answer_upto below: answer the held requests up to a sequence) */
	VBDQ_CMD_STOP = 1u << 2, /* abandon: no more responses, exit */
};
/* status (data -> control) */
enum {
	VBDQ_ST_DRAINED = 1u << 0, /* unused: see vbdq_drained() */
	VBDQ_ST_HOSTILE = 1u << 1, /* ring indices overran: ring dropped */
	VBDQ_ST_EIO = 1u << 2,	   /* backing returned EIO: request(s) held */
				   /* (the control thread clears it when it takes
				      the held ones up; a later hold sets it again) */
	VBDQ_ST_EXITED = 1u << 3,
};

struct vbd_pending;

struct vbd_queue {
	struct vbdq_config cfg;
	uint64_t vol_sectors;
	struct vbd_evtchn *ev;
	int local_port;
	struct vbd_gnttab *gt;
	void *sring;
	struct vbd_ring ring;
	struct vbd_gcache gc;
	struct vbd_engine *eng;
	struct vbd_pending *pend, *free_list;
	unsigned inflight, held;
	struct blkif_request *batch;
	struct vbd_io **reaped;
	int wake_fd;
	int hostile;
	int gated; /* data thread: the lease had passed at the last look */
	int debug; /* log every response (VBD_LOG=debug) */
	_Atomic unsigned cmd, status;
	/* Each DRAIN command gets a new generation; the data thread records
	 * the generation it completed (nothing in flight under that DRAIN), so
	 * a drain completed before an un-drain never counts for the next. */
	_Atomic unsigned drain_gen, drained_gen;
	/* EIO policy (docs/protocol.md "Storage failure"): each request held
	 * for an EIO gets the next eio_seq; once the path checker found the
	 * path working (a media error), the control thread sets answer_upto
	 * and the data thread answers the held requests up to it with
	 * BLKIF_RSP_ERROR (answered_upto: data thread only). chk_seq/chk_gen:
	 * control thread only, the holds waiting for path check chk_gen. */
	_Atomic uint64_t eio_seq, answer_upto;
	uint64_t answered_upto;
	uint64_t chk_seq;
	unsigned chk_gen;
	int started;
	pthread_t thr;
	struct vbd_qstats stats;
};

/* Map the ring, bind the event channel, set up grants and the engine.
 * Returns 0 or -errno (nothing left mapped on failure). */
int vbdq_create(const struct vbdq_config *cfg, struct vbd_queue **out);
/* Start the data thread. */
int vbdq_start(struct vbd_queue *q);
/* Set/clear command bits and wake the data thread. */
void vbdq_command(struct vbd_queue *q, unsigned set, unsigned clear);
static inline unsigned vbdq_status(struct vbd_queue *q)
{
	return atomic_load(&q->status);
}
/* Has the current DRAIN command completed (nothing consumed in flight)? */
static inline int vbdq_drained(struct vbd_queue *q)
{
	return (atomic_load(&q->cmd) & VBDQ_CMD_DRAIN) &&
	       atomic_load(&q->drained_gen) == atomic_load(&q->drain_gen);
}
/* Stop (abandon), join the thread, wait for I/O in flight, unmap
 * everything, free. */
void vbdq_destroy(struct vbd_queue *q);

/* One non-blocking round of the data path (the thread's loop body; unit
 * tests call it directly). Returns how much work was done (0: idle). */
int vbdq_run_once(struct vbd_queue *q);

#endif
