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
	struct vbd_io_list todo; /* submitted, not committed */
	struct vbd_io_list work; /* for the workers */
	struct vbd_io_list done;
	int efd;
	int stop;
	int nthreads;
	pthread_t thr[VBD_IO_THREADS];
};

static void *worker(void *arg)
{
	struct threads_engine *te = arg;

	pthread_mutex_lock(&te->lock);
	for (;;) {
		struct vbd_io *io;
		while (!te->work.head && !te->stop)
			pthread_cond_wait(&te->cond, &te->lock);
		io = vbd_io_list_pop(&te->work);
		if (!io)
			break;
		pthread_mutex_unlock(&te->lock);
		io->res = vbd_io_run_sync(te->e.b, io);
		pthread_mutex_lock(&te->lock);
		vbd_io_list_push(&te->done, io);
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
	vbd_io_list_push(&te->todo, io);
	return 0;
}

static int threads_commit(struct vbd_engine *e)
{
	struct threads_engine *te = (struct threads_engine *)e;

	if (!te->todo.head)
		return 0;
	pthread_mutex_lock(&te->lock);
	if (te->work.tail)
		te->work.tail->next = te->todo.head;
	else
		te->work.head = te->todo.head;
	te->work.tail = te->todo.tail;
	te->todo.head = te->todo.tail = NULL;
	pthread_cond_broadcast(&te->cond);
	pthread_mutex_unlock(&te->lock);
	return 0;
}

static int threads_reap(struct vbd_engine *e, struct vbd_io **out, int max)
{
	struct threads_engine *te = (struct threads_engine *)e;
	eventfd_t junk;
	int k;

	if (eventfd_read(te->efd, &junk) < 0) {
		/* EAGAIN: nothing new signalled */
	}
	pthread_mutex_lock(&te->lock);
	k = vbd_io_list_take(&te->done, out, max);
	if (te->done.head && eventfd_write(te->efd, 1) < 0) { /* more left: stay readable */
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

static const struct vbd_engine_ops threads_ops = VBD_ENGINE_OPS(threads);

struct vbd_engine *vbd_engine_threads_create(const struct vbd_backing *b, unsigned depth)
{
	struct threads_engine *te = vbd_engine_alloc(sizeof(*te), &threads_ops, b, "threads");

	(void)depth;
	if (!te)
		return NULL;
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
