/* SPDX-License-Identifier: MIT */
/* The I/O engines a queue submits backing-store operations to. Each queue
 * has its own engine, driven by the queue's data thread: submit() queues,
 * commit() starts what was queued, reap() returns finished I/Os. */
#ifndef VBD_BACKEND_IO_ENGINE_H
#define VBD_BACKEND_IO_ENGINE_H

#include <stdint.h>
#include <sys/uio.h>

#include "backing.h"
#include <vbdpool/io_op.h>

struct vbd_io {
	enum vbd_io_op op;
	const struct iovec *iov;
	int iovcnt;
	uint64_t off, len;
	int res;	     /* filled on completion: 0 or -errno (short transfers are
				finished by the engine) */
	struct vbd_io *next; /* engine-private list link */
};

/* INLINE runs each I/O of up to VBD_INLINE_MAX_BYTES synchronously in the
 * data thread at submit (larger ones go to io_uring, whose workers copy
 * several in parallel): chosen instead of URING for a memory-backed backing
 * (tmpfs, ramfs), where an I/O is a memory copy that never waits for a
 * device, but io_uring cannot do it without handing it to a worker thread
 * (no RWF_NOWAIT support): two context switches per request. */
#define VBD_INLINE_MAX_BYTES (64u * 1024)
enum vbd_engine_kind { VBD_ENGINE_URING, VBD_ENGINE_THREADS, VBD_ENGINE_NULL, VBD_ENGINE_INLINE };

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

struct vbd_engine {
	const struct vbd_engine_ops *ops;
	const struct vbd_backing *b;
	const char *name;
};

/* depth: the most I/Os in flight at once. A URING engine that cannot be
 * set up falls back to THREADS (logged). The null store always gets NULL. */
struct vbd_engine *vbd_engine_create(enum vbd_engine_kind kind, const struct vbd_backing *b,
				     unsigned depth);

struct vbd_engine *vbd_engine_uring_create(const struct vbd_backing *b, unsigned depth);
struct vbd_engine *vbd_engine_threads_create(const struct vbd_backing *b, unsigned depth);
struct vbd_engine *vbd_engine_null_create(const struct vbd_backing *b, unsigned depth);
struct vbd_engine *vbd_engine_inline_create(const struct vbd_backing *b, unsigned depth);

/* Is the backing a file in memory (tmpfs, ramfs)? */
int vbd_backing_in_memory(const struct vbd_backing *b);

/* Run one I/O synchronously (threads engine, fallbacks). */
int vbd_io_run_sync(const struct vbd_backing *b, struct vbd_io *io);

#endif
