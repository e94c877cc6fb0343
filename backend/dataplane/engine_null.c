/* SPDX-License-Identifier: MIT */
/* The null engine (--null, --engine null): reads return zeroes, writes are
 * discarded; every I/O completes at submit. */
#include "io_engine.h"

#include <stdlib.h>

struct null_engine {
	struct vbd_engine e;
	struct vbd_io_list done;
};

static int null_submit(struct vbd_engine *e, struct vbd_io *io)
{
	if (io->op == VBD_IO_READ)
		vbd_iov_zero_from(io->iov, io->iovcnt, 0);
	io->res = 0;
	vbd_io_list_push(&((struct null_engine *)e)->done, io);
	return 0;
}

static int null_commit(struct vbd_engine *e)
{
	(void)e;
	return 0;
}

static int null_reap(struct vbd_engine *e, struct vbd_io **out, int max)
{
	return vbd_io_list_take(&((struct null_engine *)e)->done, out, max);
}

static int null_fd(struct vbd_engine *e)
{
	(void)e;
	return -1;
}

static void null_destroy(struct vbd_engine *e)
{
	free(e);
}

static const struct vbd_engine_ops null_ops = VBD_ENGINE_OPS(null);

struct vbd_engine *vbd_engine_null_create(const struct vbd_backing *b, unsigned depth)
{
	(void)depth;
	return vbd_engine_alloc(sizeof(struct null_engine), &null_ops, b, "null");
}
