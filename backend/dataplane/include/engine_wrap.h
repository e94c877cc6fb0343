/* SPDX-License-Identifier: MIT */
/* What the I/O engine wrappers apply (docs/backend.md "Fault injection and
 * throttling"): fault rules (--fault, like QEMU's blkdebug) and the
 * member's path capacity (--throttle, a token bucket shared by all the
 * queues of this vbdpool-backd, like a QEMU throttle group). Plain state
 * and pure functions here; the wrapper engines are in engine_wrap.c. */
#ifndef VBD_BACKEND_ENGINE_WRAP_H
#define VBD_BACKEND_ENGINE_WRAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <vbdpool/io_op.h>

/* ---- fault rules ----------------------------------------------------------
 * RULE := KIND[:PARAM[,PARAM...]]
 *   eio                         the I/O fails with EIO
 *   delay:us=N                  the I/O starts N us later (held in the wrapper)
 *   fail-after:N  (or ios=N)    the first N matching I/Os pass, later ones fail
 *   bad-response:ios=N          the N+1st matching I/O is not done and is
 *                               answered with a response the frontend must
 *                               reject (a wrong operation byte): a member
 *                               breaking the ring protocol (once)
 * PARAM (any rule): sectors=A-B (only I/Os touching sectors A..B; a flush
 * touches none) and op=read|write|flush|discard|any (default any). */
#define VBD_MAX_FAULTS 16
enum vbd_fault_kind {
	VBD_FAULT_EIO,
	VBD_FAULT_DELAY,
	VBD_FAULT_FAIL_AFTER,
	VBD_FAULT_BAD_RESPONSE
};

struct vbd_fault_rule {
	enum vbd_fault_kind kind;
	unsigned ops;	      /* 1u << enum vbd_io_op it applies to */
	int ranged;	      /* sectors= given */
	uint64_t first, last; /* sectors= (last < first: the rule matches nothing) */
	uint64_t arg;	      /* delay: us; fail-after: the I/Os that pass */
};

struct vbd_faults {
	unsigned n;
	struct vbd_fault_rule rule[VBD_MAX_FAULTS];
	_Atomic uint64_t seen[VBD_MAX_FAULTS]; /* fail-after: matching I/Os so far */
	_Atomic uint64_t failed, delayed;      /* injected so far */
};

/* Appends one rule; 0, or -EINVAL with a message in err. */
int vbd_fault_parse(struct vbd_faults *f, const char *rule, char *err, size_t errlen);
/* The rules' verdict on one I/O (counted by fail-after and bad-response
 * rules): -EIO, -EBADMSG (answer it with a bad response, not done), or 0
 * with *delay_us (0: none). */
int vbd_faults_check(struct vbd_faults *f, enum vbd_io_op op, uint64_t off, uint64_t len,
		     uint64_t *delay_us);
/* Would a read of [off, off+len) fail (the path checker's probe)? Counts
 * nothing: a tripped fail-after rule fails it, an untripped one does not. */
int vbd_faults_probe_fails(struct vbd_faults *f, uint64_t off, uint64_t len);

/* ---- throttle: iops=N,bps=N ------------------------------------------------
 * One token bucket per limit (GCRA: the time at which the bucket is back
 * to full), with a burst of VBD_THROTTLE_BURST_NS worth of budget (at least
 * one request). Each request costs one I/O and, for reads and writes, its
 * length in bytes. */
#define VBD_THROTTLE_BURST_NS 100000000ull /* 100 ms */
struct vbd_throttle {
	_Atomic uint64_t iops, bps; /* 0: no limit; changed under lock */
	pthread_mutex_t lock;
	uint64_t tat[2];	       /* iops, bps: when the bucket is full again (ns) */
	_Atomic uint64_t passed, held; /* requests through; of them, held first */
};

/* Parses "iops=N,bps=N" (either or both, N > 0) into t (initialised);
 * 0, or -EINVAL with a message in err. */
int vbd_throttle_parse(struct vbd_throttle *t, const char *spec, char *err, size_t errlen);
void vbd_throttle_init(struct vbd_throttle *t, uint64_t iops, uint64_t bps);
void vbd_throttle_destroy(struct vbd_throttle *t);
/* Change the limits at run time (the buckets' state is kept). */
void vbd_throttle_set(struct vbd_throttle *t, uint64_t iops, uint64_t bps);
/* Re-reads PATH (one line "iops=N,bps=N", as --throttle) and sets the
 * limits; 0, or -errno (-EINVAL: bad content) with a message in err and
 * the limits unchanged. */
int vbd_throttle_reload(struct vbd_throttle *t, const char *path, char *err, size_t errlen);
/* Take the budget of one request of `bytes` at time `now` (ns): 0 (taken),
 * or the time at which to ask again (nothing taken). */
uint64_t vbd_throttle_take(struct vbd_throttle *t, uint64_t now, uint64_t bytes);

/* What a vbdpool-backd wraps its engines in (--fault, --throttle). */
struct vbd_io_wrap {
	struct vbd_faults faults;     /* n == 0: no fault wrapper */
	struct vbd_throttle throttle; /* iops == bps == 0: no throttle wrapper */
	const char *throttle_file;    /* --throttle-file: re-read on SIGHUP */
};

/* Logs what is configured (at_exit 0: a warning for fault injection) or
 * what it did (at_exit 1: "fault injection: N I/Os failed, N delayed",
 * "throttle: N requests, N held"); nothing when neither is configured. */
void vbd_io_wrap_report(struct vbd_io_wrap *w, int at_exit);

#endif
