/* SPDX-License-Identifier: MIT */
/* The inline engine (io_engine.h, VBD_ENGINE_INLINE): I/Os of up to
 * VBD_INLINE_MAX_BYTES run at submit, in the data thread; larger reads and
 * writes go to an io_uring engine, so that its workers copy several of them
 * in parallel (without io_uring every I/O runs inline). */
#include "io_engine.h"

#include <errno.h>
#include <stdlib.h>

struct inline_engine {
	struct vbd_engine e;
	struct vbd_io_list done;
	struct vbd_engine *big; /* io_uring for large I/Os, or NULL */
};

static int inline_submit(struct vbd_engine *e, struct vbd_io *io)
{
	struct inline_engine *n = (struct inline_engine *)e;

	if (n->big && io->len > VBD_INLINE_MAX_BYTES &&
	    (io->op == VBD_IO_READ || io->op == VBD_IO_WRITE))
		return n->big->ops->submit(n->big, io);
	io->res = vbd_io_run_sync(e->b, io);
	vbd_io_list_push(&n->done, io);
	return 0;
}

static int inline_commit(struct vbd_engine *e)
{
	struct inline_engine *n = (struct inline_engine *)e;

	return n->big ? n->big->ops->commit(n->big) : 0;
}

static int inline_reap(struct vbd_engine *e, struct vbd_io **out, int max)
{
	struct inline_engine *n = (struct inline_engine *)e;
	int k = vbd_io_list_take(&n->done, out, max);

	if (n->big && k < max)
		k += n->big->ops->reap(n->big, out + k, max - k);
	return k;
}

static int inline_fd(struct vbd_engine *e)
{
	struct inline_engine *n = (struct inline_engine *)e;

	return n->big ? n->big->ops->fd(n->big) : -1;
}

static void inline_destroy(struct vbd_engine *e)
{
	struct inline_engine *n = (struct inline_engine *)e;

	if (n->big)
		n->big->ops->destroy(n->big);
	free(e);
}

static const struct vbd_engine_ops inline_ops = VBD_ENGINE_OPS(inline);

struct vbd_engine *vbd_engine_inline_create(const struct vbd_backing *b, unsigned depth)
{
	struct inline_engine *n;

	if (b->fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	n = vbd_engine_alloc(sizeof(*n), &inline_ops, b, "inline");
	if (n) {
		n->big = vbd_engine_uring_create(b, depth);
		if (n->big)
			n->e.name = "inline+io_uring";
	}
	return n ? &n->e : NULL;
}
