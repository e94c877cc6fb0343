/* SPDX-License-Identifier: MIT */
/* Engine selection, the null engine, and synchronous execution. */
#include "io_engine.h"

#include <errno.h>
#include <stdlib.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "vbdpool/log.h"

int vbd_io_run_sync(const struct vbd_backing *b, struct vbd_io *io)
{
	if (b->delay_us)
		usleep(b->delay_us);
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

/* ---- null engine: reads return zeroes, writes are discarded ---------- */
/* ---- inline engine: small I/Os run at submit, in the data thread; large
 * ones (more than VBD_INLINE_MAX_BYTES) go to an io_uring engine, so that
 * several of them are copied in parallel by its workers ----------------- */
struct null_engine {
	struct vbd_engine e;
	struct vbd_io *head, *tail;
	struct vbd_engine *big; /* inline engine: io_uring for large I/Os, or NULL */
};

static int null_submit(struct vbd_engine *e, struct vbd_io *io)
{
	struct null_engine *n = (struct null_engine *)e;

	if (e->b->fd >= 0) { /* inline */
		if (n->big && io->len > VBD_INLINE_MAX_BYTES &&
		    (io->op == VBD_IO_READ || io->op == VBD_IO_WRITE))
			return n->big->ops->submit(n->big, io);
		io->res = vbd_io_run_sync(e->b, io);
	} else {
		if (io->op == VBD_IO_READ)
			vbd_iov_zero_from(io->iov, io->iovcnt, 0);
		io->res = 0;
	}
	io->next = NULL;
	if (n->tail)
		n->tail->next = io;
	else
		n->head = io;
	n->tail = io;
	return 0;
}

static int null_commit(struct vbd_engine *e)
{
	struct null_engine *n = (struct null_engine *)e;

	return n->big ? n->big->ops->commit(n->big) : 0;
}

static int null_reap(struct vbd_engine *e, struct vbd_io **out, int max)
{
	struct null_engine *n = (struct null_engine *)e;
	int k = 0;

	while (n->head && k < max) {
		out[k++] = n->head;
		n->head = n->head->next;
	}
	if (!n->head)
		n->tail = NULL;
	if (n->big && k < max)
		k += n->big->ops->reap(n->big, out + k, max - k);
	return k;
}

static int null_fd(struct vbd_engine *e)
{
	struct null_engine *n = (struct null_engine *)e;

	return n->big ? n->big->ops->fd(n->big) : -1;
}

static void null_destroy(struct vbd_engine *e)
{
	struct null_engine *n = (struct null_engine *)e;

	if (n->big)
		n->big->ops->destroy(n->big);
	free(e);
}

static const struct vbd_engine_ops null_ops = {
    .submit = null_submit,
    .commit = null_commit,
    .reap = null_reap,
    .fd = null_fd,
    .destroy = null_destroy,
};

struct vbd_engine *vbd_engine_null_create(const struct vbd_backing *b, unsigned depth)
{
	struct null_engine *n = calloc(1, sizeof(*n));

	(void)depth;
	if (!n)
		return NULL;
	n->e.ops = &null_ops;
	n->e.b = b;
	n->e.name = "null";
	return &n->e;
}

struct vbd_engine *vbd_engine_inline_create(const struct vbd_backing *b, unsigned depth)
{
	struct vbd_engine *e;

	if (b->fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	e = vbd_engine_null_create(b, depth);
	if (e) {
		/* without io_uring every I/O runs inline */
		((struct null_engine *)e)->big = vbd_engine_uring_create(b, depth);
		e->name = ((struct null_engine *)e)->big ? "inline+io_uring" : "inline";
	}
	return e;
}

int vbd_backing_in_memory(const struct vbd_backing *b)
{
	struct statfs st;

	if (b->fd < 0 || fstatfs(b->fd, &st) < 0)
		return 0;
	return st.f_type == TMPFS_MAGIC || st.f_type == RAMFS_MAGIC;
}

struct vbd_engine *vbd_engine_create(enum vbd_engine_kind kind, const struct vbd_backing *b,
				     unsigned depth)
{
	struct vbd_engine *e;

	if (b->delay_us)
		kind = VBD_ENGINE_THREADS; /* only its workers can sleep per I/O */
	if (b->fd < 0 || kind == VBD_ENGINE_NULL)
		return vbd_engine_null_create(b, depth);
	/* tmpfs has no non-blocking I/O: io_uring would hand every request to
	 * a worker thread (two context switches) for what is a memory copy.
	 * (VBD_NO_URING, for tests, forces the thread pool here too.) */
	if (kind == VBD_ENGINE_INLINE ||
	    (kind == VBD_ENGINE_URING && vbd_backing_in_memory(b) && !getenv("VBD_NO_URING")))
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
