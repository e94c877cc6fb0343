/* SPDX-License-Identifier: MIT */
/* Synchronous wrappers over vbd_front_submit: submit, then wait on a
 * semaphore the completion callback posts. */
#include <errno.h>
#include <semaphore.h>
#include <stdbool.h>

#include "internal.h"

struct sync_wait {
	sem_t sem;
	int err;
};

static void sync_cb(void *arg, int err)
{
	struct sync_wait *w = arg;

	w->err = err;
	sem_post(&w->sem);
}

static int sync_io(struct vbd_front *f, enum vbd_io_op op, unsigned flags, void *buf, uint64_t len,
		   uint64_t offset)
{
	struct sync_wait w = {.err = 0};
	int rc;

	/* The event thread completes requests: waiting there would deadlock. */
	if (vbd_front_on_event_thread(f))
		return -EDEADLK;
	if (sem_init(&w.sem, 0, 0) < 0)
		return -errno;
	rc = vbd_front_submit(f, op, flags, buf, offset, len, sync_cb, &w);
	if (rc == 0) {
		while (sem_wait(&w.sem) < 0 && errno == EINTR)
			;
		rc = w.err;
	}
	sem_destroy(&w.sem);
	return rc;
}

int vbd_front_pread(struct vbd_front *f, void *buf, uint64_t len, uint64_t offset)
{
	return sync_io(f, VBD_IO_READ, 0, buf, len, offset);
}

int vbd_front_pwrite(struct vbd_front *f, const void *buf, uint64_t len, uint64_t offset,
		     unsigned flags)
{
	return sync_io(f, VBD_IO_WRITE, flags, (void *)buf, len, offset);
}

int vbd_front_flush(struct vbd_front *f)
{
	return sync_io(f, VBD_IO_FLUSH, 0, NULL, 0, 0);
}

int vbd_front_discard(struct vbd_front *f, uint64_t offset, uint64_t len)
{
	return sync_io(f, VBD_IO_DISCARD, 0, NULL, len, offset);
}
