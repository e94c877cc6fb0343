/* SPDX-License-Identifier: MIT */
/* The I/O engines a queue submits backing-store operations to. Each queue
 * has its own engine, driven by the queue's data thread: submit() queues,
 * commit() starts what was queued, reap() returns finished I/Os.
 *
 * Engines: io_uring (io_uring.c), a thread pool (io_threads.c), inline
 * (engine_inline.c) and null (engine_null.c). Wrappers (engine_wrap.c,
 * like QEMU's blkdebug and throttle groups) implement the same ops and
 * forward to the engine below: fault injection (--fault) and the member's
 * path capacity (--throttle). Without those options there is no wrapper. */
#ifndef VBD_BACKEND_IO_ENGINE_H
#define VBD_BACKEND_IO_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backing.h"
#include "engine_wrap.h"
#include <vbdpool/io_op.h>

struct vbd_io {
	enum vbd_io_op op;
	const struct iovec *iov;
	int iovcnt;
	uint64_t off, len;
	int res;	     /* filled on completion: 0 or -errno (short transfers are
				finished by the engine) */
	uint64_t wrap_ns;    /* wrapper-private: when it may go below (CLOCK_MONOTONIC) */
	struct vbd_io *next; /* engine-private list link */
};

/* A FIFO of I/Os linked through vbd_io.next (one owner at a time). */
struct vbd_io_list {
	struct vbd_io *head, *tail;
};

static inline void vbd_io_list_push(struct vbd_io_list *l, struct vbd_io *io)
{
	io->next = NULL;
	if (l->tail)
		l->tail->next = io;
	else
		l->head = io;
	l->tail = io;
}

static inline struct vbd_io *vbd_io_list_pop(struct vbd_io_list *l)
{
	struct vbd_io *io = l->head;

	if (io) {
		l->head = io->next;
		if (!l->head)
			l->tail = NULL;
	}
	return io;
}

/* Moves up to max I/Os from the head of l into out[]; returns how many. */
static inline int vbd_io_list_take(struct vbd_io_list *l, struct vbd_io **out, int max)
{
	int k = 0;

	while (k < max && l->head)
		out[k++] = vbd_io_list_pop(l);
	return k;
}

/* INLINE runs each I/O of up to VBD_INLINE_MAX_BYTES synchronously in the
 * data thread at submit (larger ones go to io_uring, whose workers copy
 * several in parallel): chosen instead of URING for a memory-backed backing
 * (tmpfs, ramfs), where an I/O is a memory copy that never waits for a
 * device, but io_uring cannot do it without handing it to a worker thread
 * (no RWF_NOWAIT support): two context switches per request.
 * AUTO (the default): URING, or INLINE for a memory-backed backing. */
#define VBD_INLINE_MAX_BYTES (64u * 1024)
enum vbd_engine_kind {
	VBD_ENGINE_AUTO,
	VBD_ENGINE_URING,
	VBD_ENGINE_THREADS,
	VBD_ENGINE_NULL,
	VBD_ENGINE_INLINE,
};

/* --engine NAME (auto, uring, threads, inline, null): 0 or -EINVAL. */
int vbd_engine_kind_parse(const char *name, enum vbd_engine_kind *out);
const char *vbd_engine_kind_name(enum vbd_engine_kind kind);

struct vbd_engine;
struct vbd_engine_ops {
	int (*submit)(struct vbd_engine *e, struct vbd_io *io);
	int (*commit)(struct vbd_engine *e);
	/* Up to max finished I/Os into out[]; never blocks. */
	int (*reap)(struct vbd_engine *e, struct vbd_io **out, int max);
	/* fd readable when completions may be ready, or -1 (reap after submit). */
	int (*fd)(struct vbd_engine *e);
	void (*destroy)(struct vbd_engine *e);
};

/* The ops table of an engine whose functions are PREFIX_submit, ... */
#define VBD_ENGINE_OPS(p)                                                                          \
	{                                                                                          \
		.submit = p##_submit, .commit = p##_commit, .reap = p##_reap, .fd = p##_fd,        \
		.destroy = p##_destroy                                                             \
	}

struct vbd_engine {
	const struct vbd_engine_ops *ops;
	const struct vbd_backing *b;
	const char *name;
};

/* calloc(size) of an engine struct whose first member is struct
 * vbd_engine, that member filled in; NULL (errno) on failure. */
void *vbd_engine_alloc(size_t size, const struct vbd_engine_ops *ops, const struct vbd_backing *b,
		       const char *name);

/* depth: the most I/Os in flight at once. A URING engine that cannot be
 * set up falls back to THREADS (logged). The null store always gets NULL.
 * wrap (NULL: none): the fault rules and throttle the engine is wrapped in
 * (no wrapper for an empty rule set or an unlimited throttle). */
struct vbd_engine *vbd_engine_create(enum vbd_engine_kind kind, const struct vbd_backing *b,
				     unsigned depth, struct vbd_io_wrap *wrap);

struct vbd_engine *vbd_engine_uring_create(const struct vbd_backing *b, unsigned depth);
struct vbd_engine *vbd_engine_threads_create(const struct vbd_backing *b, unsigned depth);
struct vbd_engine *vbd_engine_null_create(const struct vbd_backing *b, unsigned depth);
struct vbd_engine *vbd_engine_inline_create(const struct vbd_backing *b, unsigned depth);
/* Wrappers (engine_wrap.c): on failure `below` is destroyed and NULL
 * returned. */
struct vbd_engine *vbd_engine_fault_wrap(struct vbd_engine *below, struct vbd_faults *f);
struct vbd_engine *vbd_engine_throttle_wrap(struct vbd_engine *below, struct vbd_throttle *t);

/* Is the backing a file in memory (tmpfs, ramfs)? */
int vbd_backing_in_memory(const struct vbd_backing *b);

/* Run one I/O synchronously (threads engine, fallbacks). */
int vbd_io_run_sync(const struct vbd_backing *b, struct vbd_io *io);

#endif
