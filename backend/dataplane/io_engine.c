/* SPDX-License-Identifier: MIT */
/* Engine selection (and the wrappers around it), synchronous execution. */
#include "io_engine.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "vbdpool/log.h"

int vbd_io_run_sync(const struct vbd_backing *b, struct vbd_io *io)
{
	switch (io->op) {
	case VBD_IO_READ:
		return vbd_backing_readv(b, io->iov, io->iovcnt, io->off, 0);
	case VBD_IO_WRITE:
		return vbd_backing_writev(b, io->iov, io->iovcnt, io->off, 0);
	case VBD_IO_FLUSH:
		return vbd_backing_flush(b);
	case VBD_IO_DISCARD:
		return vbd_backing_discard(b, io->off, io->len);
	}
	return -EINVAL;
}

void *vbd_engine_alloc(size_t size, const struct vbd_engine_ops *ops, const struct vbd_backing *b,
		       const char *name)
{
	struct vbd_engine *e = calloc(1, size);

	if (e) {
		e->ops = ops;
		e->b = b;
		e->name = name;
	}
	return e;
}

static const char *const kind_names[] = {
    [VBD_ENGINE_AUTO] = "auto", [VBD_ENGINE_URING] = "uring",	[VBD_ENGINE_THREADS] = "threads",
    [VBD_ENGINE_NULL] = "null", [VBD_ENGINE_INLINE] = "inline",
};

int vbd_engine_kind_parse(const char *name, enum vbd_engine_kind *out)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (!strcmp(name, kind_names[i])) {
			*out = (enum vbd_engine_kind)i;
			return 0;
		}
	if (!strcmp(name, "io_uring")) {
		*out = VBD_ENGINE_URING;
		return 0;
	}
	return -EINVAL;
}

const char *vbd_engine_kind_name(enum vbd_engine_kind kind)
{
	return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "?";
}

int vbd_backing_in_memory(const struct vbd_backing *b)
{
	struct statfs st;

	if (b->fd < 0 || fstatfs(b->fd, &st) < 0)
		return 0;
	return st.f_type == TMPFS_MAGIC || st.f_type == RAMFS_MAGIC;
}

static struct vbd_engine *engine_create(enum vbd_engine_kind kind, const struct vbd_backing *b,
					unsigned depth)
{
	struct vbd_engine *e;

	if (b->fd < 0 || kind == VBD_ENGINE_NULL)
		return vbd_engine_null_create(b, depth);
	/* tmpfs has no non-blocking I/O: io_uring would hand every request to
	 * a worker thread (two context switches) for what is a memory copy */
	if (kind == VBD_ENGINE_AUTO)
		kind = vbd_backing_in_memory(b) ? VBD_ENGINE_INLINE : VBD_ENGINE_URING;
	if (kind == VBD_ENGINE_INLINE)
		return vbd_engine_inline_create(b, depth);
	if (kind == VBD_ENGINE_URING) {
		e = vbd_engine_uring_create(b, depth);
		if (e)
			return e;
		log_warn("io_uring setup failed (%s): using the preadv/pwritev thread pool",
			 strerror(errno));
	}
	return vbd_engine_threads_create(b, depth);
}

struct vbd_engine *vbd_engine_create(enum vbd_engine_kind kind, const struct vbd_backing *b,
				     unsigned depth, struct vbd_io_wrap *wrap)
{
	struct vbd_engine *e = engine_create(kind, b, depth);

	if (e && wrap && wrap->faults.n)
		e = vbd_engine_fault_wrap(e, &wrap->faults);
	if (e && wrap && (wrap->throttle.iops || wrap->throttle.bps))
		e = vbd_engine_throttle_wrap(e, &wrap->throttle);
	return e;
}
