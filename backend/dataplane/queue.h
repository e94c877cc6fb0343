/* SPDX-License-Identifier: MIT */
/* The data plane's private header: one owned queue (like xen-blkback's
 * blkif ring). The control path uses dataplane.h only; this is for the
 * data plane's own files and for its unit test and fuzzer, which drive a
 * queue round by round (vbdq_run_once) and look inside it. */
#ifndef VBD_BACKEND_QUEUE_H
#define VBD_BACKEND_QUEUE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dataplane.h"
#include "vbdpool/log.h"
#include "grant_cache.h"
#include "request.h"
#include "ring.h"

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
	/* Flushes (FLUSH_DISKCACHE) share fdatasyncs: flush_cur is the one in
	 * the engine, flush_riders the requests its result answers (they were
	 * parked when it was submitted), flush_next the ones that arrived
	 * while it ran: a flush that started before they arrived need not
	 * cover writes they must cover, so they all wait for the next one.
	 * flushes_merged counts requests answered by another's flush. */
	struct vbd_pending *flush_cur, *flush_riders, *flush_next;
	uint64_t flushes_merged;
	/* the arrival (ns, CLOCK_MONOTONIC) of the oldest request in the
	 * engine, 0: none; data thread writes, the member's watch for a
	 * hanging storage path reads (vbdq_io_waiting_since) */
	_Atomic uint64_t io_since;
	uint64_t *eng_t0; /* per pending slot: its arrival while in the engine, else 0 */
	struct blkif_request *batch;
	struct vbd_io **reaped;
	int wake_fd;
	int hostile;
	int gated;		    /* data thread: the lease had passed at the last look */
	int debug;		    /* log every response (VBD_LOG=debug) */
	struct vbd_log_once ro_log; /* a write refused on a read-only attachment (data thread) */
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
	uint64_t chk_seq; /* vbdq_eio_take / vbdq_eio_checked */
	unsigned chk_gen;
	int started;
	pthread_t thr;
	struct vbd_qstats stats;
};

/* The data plane's per-queue log helper (the control path's vq_log, which
 * it cannot include): every message about a queue starts with
 * "guest <g> dev <d> queue <q> epoch <e>: ", from its configuration `c`
 * (evaluated more than once). As Linux's pr_fmt: the prefix is joined to
 * the message, a string literal, so vbd_log's format check covers both. */
#define vbdq_log(lvl, c, fmt, ...)                                                                 \
	vbd_log(lvl, "guest %u dev %u queue %u epoch %llu: " fmt, (unsigned)(c)->guest,            \
		(unsigned)(c)->devid, (unsigned)(c)->qidx, (unsigned long long)(c)->epoch,         \
		##__VA_ARGS__)
#define vbdq_err(c, ...)   vbdq_log(VBD_LOG_ERROR, c, __VA_ARGS__)
#define vbdq_warn(c, ...)  vbdq_log(VBD_LOG_WARN, c, __VA_ARGS__)
#define vbdq_info(c, ...)  vbdq_log(VBD_LOG_INFO, c, __VA_ARGS__)
#define vbdq_debug(c, ...) vbdq_log(VBD_LOG_DEBUG, c, __VA_ARGS__)

/* One non-blocking round of the data path (the thread's loop body; unit
 * tests call it directly). Returns how much work was done (0: idle). */
int vbdq_run_once(struct vbd_queue *q);

#endif
