/* SPDX-License-Identifier: MIT */
/* Thread-pool engine (fallback when io_uring is unavailable): workers run
 * preadv/pwritev/fdatasync/fallocate; completions come back on an eventfd. */
#include "io_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vbdpool/proto.h"

struct threads_engine {
	struct vbd_engine e;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vbd_io *todo_head, *todo_tail; /* submitted, not committed */
	struct vbd_io *work_head, *work_tail; /* for the workers */
	struct vbd_io *done_head, *done_tail;
	int efd;
	int stop;
	int nthreads;
	pthread_t thr[VBD_IO_THREADS];
};

static void list_push(struct vbd_io **h, struct vbd_io **t, struct vbd_io *io)
{
	io->next = NULL;
	if (*t)
		(*t)->next = io;
	else
		*h = io;
	*t = io;
}

static void *worker(void *arg)
{
	struct threads_engine *te = arg;

	pthread_mutex_lock(&te->lock);
	for (;;) {
		struct vbd_io *io;
		while (!te->work_head && !te->stop)
			pthread_cond_wait(&te->cond, &te->lock);
		if (!te->work_head)
			break;
		io = te->work_head;
		te->work_head = io->next;
		if (!te->work_head)
			te->work_tail = NULL;
		pthread_mutex_unlock(&te->lock);
		io->res = vbd_io_run_sync(te->e.b, io);
		pthread_mutex_lock(&te->lock);
		list_push(&te->done_head, &te->done_tail, io);
		if (eventfd_write(te->efd, 1) < 0) {
			/* cannot fail for a counter below the max */
		}
	}
	pthread_mutex_unlock(&te->lock);
	return NULL;
}

static int threads_submit(struct vbd_engine *e, struct vbd_io *io)
{
	struct threads_engine *te = (struct threads_engine *)e;

	/* only the data thread touches the todo list */
	list_push(&te->todo_head, &te->todo_tail, io);
	return 0;
}

static int threads_commit(struct vbd_engine *e)
{
	struct threads_engine *te = (struct threads_engine *)e;

	if (!te->todo_head)
		return 0;
	pthread_mutex_lock(&te->lock);
	if (te->work_tail)
		te->work_tail->next = te->todo_head;
	else
		te->work_head = te->todo_head;
	te->work_tail = te->todo_tail;
	te->todo_head = te->todo_tail = NULL;
	pthread_cond_broadcast(&te->cond);
	pthread_mutex_unlock(&te->lock);
	return 0;
}

static int threads_reap(struct vbd_engine *e, struct vbd_io **out, int max)
{
	struct threads_engine *te = (struct threads_engine *)e;
	eventfd_t junk;
	int k = 0;

	if (eventfd_read(te->efd, &junk) < 0) {
		/* EAGAIN: nothing new signalled */
	}
	pthread_mutex_lock(&te->lock);
	while (te->done_head && k < max) {
		out[k++] = te->done_head;
		te->done_head = te->done_head->next;
	}
	if (!te->done_head)
		te->done_tail = NULL;
	else if (eventfd_write(te->efd, 1) < 0) { /* more left: stay readable */
	}
	pthread_mutex_unlock(&te->lock);
	return k;
}

static int threads_fd(struct vbd_engine *e)
{
	return ((struct threads_engine *)e)->efd;
}

static void threads_destroy(struct vbd_engine *e)
{
	struct threads_engine *te = (struct threads_engine *)e;

	pthread_mutex_lock(&te->lock);
	te->stop = 1;
	pthread_cond_broadcast(&te->cond);
	pthread_mutex_unlock(&te->lock);
	for (int i = 0; i < te->nthreads; i++)
		pthread_join(te->thr[i], NULL);
	close(te->efd);
	pthread_mutex_destroy(&te->lock);
	pthread_cond_destroy(&te->cond);
	free(te);
}

static const struct vbd_engine_ops threads_ops = {
    .submit = threads_submit,
    .commit = threads_commit,
    .reap = threads_reap,
    .fd = threads_fd,
    .destroy = threads_destroy,
};

struct vbd_engine *vbd_engine_threads_create(const struct vbd_backing *b, unsigned depth)
{
	struct threads_engine *te = calloc(1, sizeof(*te));

	(void)depth;
	if (!te)
		return NULL;
	te->e.ops = &threads_ops;
	te->e.b = b;
	te->e.name = "threads";
	pthread_mutex_init(&te->lock, NULL);
	pthread_cond_init(&te->cond, NULL);
	te->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (te->efd < 0)
		goto fail;
	for (int i = 0; i < VBD_IO_THREADS; i++) {
		if (pthread_create(&te->thr[i], NULL, worker, te) != 0)
			break;
		te->nthreads++;
	}
	if (te->nthreads == 0)
		goto fail;
	return &te->e;
fail:
	if (te->efd >= 0)
		close(te->efd);
	pthread_mutex_destroy(&te->lock);
	pthread_cond_destroy(&te->cond);
	free(te);
	return NULL;
}
