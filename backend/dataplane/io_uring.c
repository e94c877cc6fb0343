/* SPDX-License-Identifier: MIT */
/* io_uring engine (liburing): one ring per queue, completions signalled on
 * an eventfd the data thread polls next to its event channel. */
#include "io_engine.h"

#include <errno.h>
#include <linux/falloc.h>
#include <liburing.h>
#include <stdlib.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct uring_engine {
	struct vbd_engine e;
	struct io_uring ring;
	int efd;
	unsigned out;		 /* I/Os prepared or in the kernel, not reaped */
	struct vbd_io_list done; /* completed synchronously */
	bool late;		 /* the last reap emptied it: one more clear due */
};

static int uring_submit(struct vbd_engine *e, struct vbd_io *io)
{
	struct uring_engine *u = (struct uring_engine *)e;
	struct io_uring_sqe *sqe;
	int fd = e->b->fd;

	if (io->op == VBD_IO_DISCARD && e->b->is_blkdev) {
		/* BLKDISCARD is an ioctl: run it here (discards are rare). */
		io->res = vbd_io_run_sync(e->b, io);
		vbd_io_list_push(&u->done, io);
		return 0;
	}
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		int r = io_uring_submit(&u->ring);
		if (r < 0)
			return r;
		sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			return -EBUSY;
	}
	switch (io->op) {
	case VBD_IO_READ:
		io_uring_prep_readv(sqe, fd, io->iov, (unsigned)io->iovcnt, io->off);
		break;
	case VBD_IO_WRITE:
		io_uring_prep_writev(sqe, fd, io->iov, (unsigned)io->iovcnt, io->off);
		break;
	case VBD_IO_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case VBD_IO_DISCARD:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					io->off, io->len);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	u->out++;
	return 0;
}

static int uring_commit(struct vbd_engine *e)
{
	struct uring_engine *u = (struct uring_engine *)e;
	int r;

	/* nothing prepared (the inline engine commits for every batch, its
	 * small I/Os never come here): no system call */
	if (!io_uring_sq_ready(&u->ring))
		return 0;
	r = io_uring_submit(&u->ring);
	return r < 0 ? r : 0;
}

static void finish(struct uring_engine *u, struct vbd_io *io, int res)
{
	if (res < 0) {
		io->res = res;
		return;
	}
	io->res = 0;
	if ((io->op == VBD_IO_READ || io->op == VBD_IO_WRITE) && (uint64_t)res < io->len) {
		/* short transfer: finish it synchronously (EOF of a shorter
		 * file reads as zeroes) */
		io->res =
		    io->op == VBD_IO_READ
			? vbd_backing_readv(u->e.b, io->iov, io->iovcnt, io->off, (uint64_t)res)
			: vbd_backing_writev(u->e.b, io->iov, io->iovcnt, io->off, (uint64_t)res);
	}
}

static int uring_reap(struct vbd_engine *e, struct vbd_io **out, int max)
{
	struct uring_engine *u = (struct uring_engine *)e;
	struct io_uring_cqe *cqe;
	uint64_t junk;
	int k = vbd_io_list_take(&u->done, out, max);

	/* Nothing outstanding: no system call (the inline engine reaps its
	 * io_uring after every batch of small I/Os that never went there). */
	if (!u->out) {
		/* the kernel signals the eventfd just after it posts a CQE, so
		 * the last completion's signal can come after the clear below:
		 * the next reap clears once more (else the data thread's poll
		 * would find it readable until the next I/O) */
		if (u->late && read(u->efd, &junk, sizeof(junk)) < 0) {
			/* EAGAIN: already clear */
		}
		u->late = false;
		return k;
	}
	if (read(u->efd, &junk, sizeof(junk)) < 0) {
		/* EAGAIN: nothing signalled; the CQ may still hold entries */
	}
	while (k < max && io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct vbd_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		u->out--;
		if (res == -EAGAIN || res == -EINTR) { /* retry synchronously */
			io->res = vbd_io_run_sync(e->b, io);
		} else {
			finish(u, io, res);
		}
		out[k++] = io;
	}
	/* The last completion may have signalled the eventfd after the read
	 * above; nothing can signal it now: clear it, or the data thread's
	 * poll would keep finding it readable while reaps skip the read. */
	if (!u->out && read(u->efd, &junk, sizeof(junk)) < 0) {
		/* EAGAIN: already clear */
	}
	u->late = !u->out;
	return k;
}

static int uring_fd(struct vbd_engine *e)
{
	return ((struct uring_engine *)e)->efd;
}

static void uring_destroy(struct vbd_engine *e)
{
	struct uring_engine *u = (struct uring_engine *)e;

	io_uring_queue_exit(&u->ring);
	close(u->efd);
	free(u);
}

static const struct vbd_engine_ops uring_ops = VBD_ENGINE_OPS(uring);

struct vbd_engine *vbd_engine_uring_create(const struct vbd_backing *b, unsigned depth)
{
	struct uring_engine *u = vbd_engine_alloc(sizeof(*u), &uring_ops, b, "io_uring");
	int r;

	if (!u)
		return NULL;
	r = io_uring_queue_init(depth < 8 ? 8 : depth, &u->ring, 0);
	if (r < 0) {
		free(u);
		errno = -r;
		return NULL;
	}
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->efd < 0 || io_uring_register_eventfd(&u->ring, u->efd) < 0) {
		int e = u->efd < 0 ? errno : EINVAL;
		if (u->efd >= 0)
			close(u->efd);
		io_uring_queue_exit(&u->ring);
		free(u);
		errno = e;
		return NULL;
	}
	return &u->e;
}
