/* SPDX-License-Identifier: MIT */
/*
 * front_kick_signal: kicks of application descriptors (vbd_front_fd_kick)
 * are not lost when a signal interrupts the device's event thread.
 *
 *   front_kick_signal DEVID [SECONDS]
 *
 * Two descriptors on the event thread: Y (events 0: only kicks run it),
 * registered first, and X (an eventfd, POLLIN).  X's callback kicks Y from
 * the event thread — after Y's place in that turn, so the kick is taken in
 * the next turn, from the snapshot, with a poll timeout of 0.  This thread
 * makes X readable and waits for Y's callback, over and over, while
 * another thread sends SIGUSR1 (a handler that does nothing, as any
 * application may have) to the event thread as fast as it can.  A kick
 * collected for a turn whose poll a signal interrupts must still run; a
 * lost one leaves Y never called (fails after 2 s).
 *
 * Prints "front_kick_signal: ok (N checks)" and exits 0, or 1.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "vbdpool/clock.h"
#include "vbdpool/front.h"

static struct vbd_front *dev;
static int xfd, yfd;
static atomic_uint ycalls;
static atomic_bool stop;
static atomic_ulong signals;
static pid_t event_tid;

static void on_usr1(int sig)
{
	(void)sig;
}

static void y_cb(void *arg, int fd, short revents)
{
	(void)arg, (void)fd, (void)revents;
	atomic_fetch_add(&ycalls, 1);
}

static void x_cb(void *arg, int fd, short revents)
{
	uint64_t v;

	(void)arg, (void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		check_failf("read x: %s\n", strerror(errno));
	CHECK(vbd_front_fd_kick(dev, yfd) == 0);
}

static void *blaster(void *arg)
{
	pid_t pid = getpid();

	(void)arg;
	while (!atomic_load(&stop)) {
		if (syscall(SYS_tgkill, pid, event_tid, SIGUSR1) == 0)
			atomic_fetch_add(&signals, 1);
	}
	return NULL;
}

/* The library's event thread, by its name. */
static pid_t find_event_thread(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	pid_t tid = 0;

	while (d && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "vbdf-event", 10))
			tid = (pid_t)atoi(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return tid;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	struct vbd_front_opts o;
	unsigned seconds = argc > 2 ? (unsigned)atoi(argv[2]) : 5, i;
	uint64_t end;
	sigset_t usr1;
	pthread_t t;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: front_kick_signal DEVID [SECONDS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: poll is never restarted anyway */
	vbd_front_opts_init(&o, (unsigned)atoi(argv[1]));
	rc = vbd_front_open(&o, &dev);
	if (rc < 0) {
		printf("front_kick_signal: FAIL attach: %s\n", strerror(-rc));
		return 1;
	}
	/* only the event thread takes the signals */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	usleep(500 * 1000); /* the first XenStore events are handled */
	event_tid = find_event_thread();
	CHECK(event_tid > 0, "the event thread (vbdf-event) is found");
	xfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	yfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(xfd >= 0 && yfd >= 0);
	CHECK(vbd_front_fd_set(dev, yfd, 0, y_cb, NULL) == 0);
	CHECK(vbd_front_fd_set(dev, xfd, POLLIN, x_cb, NULL) == 0);
	if (event_tid <= 0 || check_failures)
		return check_done("front_kick_signal");
	pthread_create(&t, NULL, blaster, NULL);

	end = vbd_now_ms() + (uint64_t)seconds * 1000;
	for (i = 1; vbd_now_ms() < end; i++) {
		uint64_t one = 1;
		uint64_t dl;

		if (write(xfd, &one, sizeof(one)) != sizeof(one)) {
			check_failf("write x: %s\n", strerror(errno));
			break;
		}
		dl = vbd_now_ms() + 2000;
		while (atomic_load(&ycalls) < i && vbd_now_ms() < dl)
			sched_yield();
		if (atomic_load(&ycalls) < i) {
			check_failf("kick %u lost: Y's callback not called within 2 s (%lu signals "
				    "sent)\n",
				    i, atomic_load(&signals));
			break;
		}
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	printf("front_kick_signal: %u kicks, %u callbacks, %lu signals to the event thread\n",
	       i - 1, atomic_load(&ycalls), atomic_load(&signals));
	vbd_front_fd_del(dev, xfd);
	vbd_front_fd_del(dev, yfd);
	vbd_front_close(dev);
	close(xfd);
	close(yfd);
	return check_done("front_kick_signal");
}
