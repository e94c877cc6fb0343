/* SPDX-License-Identifier: MIT */
/*
 * front_wbuf: zero-copy write buffers (vbd_front_wbuf_*) across take-overs,
 * run in a guest by tests/integration/front_wbuf.sh.  One context; two
 * 1 MiB buffers per queue (as many as a ring's pool lends beside a
 * request's worth: a third is refused, a 4 KiB one not), each filled with
 * its own pattern on the event thread:
 *   round 1: `ACT pause A` stops member A (queue 0's owner), the buffers
 *     are submitted (A's stay in flight), `ACT kill A` destroys A's
 *     domain: its requests are re-posted to the new owners, copied from
 *     the retired ring's pages;
 *   round 2: buffers taken and filled, `ACT kill B` destroys member B
 *     (queue 0's owner now), then they are submitted: the ones of B's
 *     rings were never posted and are copied from its retired ring;
 *   every write must succeed and read back as written (vbd_front_pread);
 *   finally a buffer is taken, the device closed, the buffer put after
 *   the close (the device's memory goes with it; freed by the close
 *   instead, the put would be a use after free: ASan).
 * Prints "front_wbuf: PASS rounds=2 ..." or FAIL lines; exit 0 / 1.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/front.h"
#include "vbdpool/proto.h"

#define MIB (1024u * 1024)

static struct vbd_front *dev;
static int efd;
static unsigned nbufs;
static struct vbd_front_wbuf *bufs[2 * VBD_MAX_QUEUES];
static const struct iovec *iovs[2 * VBD_MAX_QUEUES];
static unsigned round_no;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static enum { ST_NONE, ST_GET, ST_SUBMIT, ST_GET_ONE } step;
static int step_rc = 1; /* 1: running */
static unsigned done, failed;

static void fail(const char *what, int rc)
{
	printf("front_wbuf: FAIL %s: %s\n", what, rc ? strerror(-rc) : "");
	fflush(stdout);
	exit(1);
}

static unsigned char pattern(unsigned rnd, unsigned i, uint64_t k)
{
	return (unsigned char)(k * 131 + i * 17 + rnd * 59 + (k >> 12));
}

static void io_cb(void *arg, int err)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	done++;
	if (err) {
		failed++;
		printf("front_wbuf: write failed: %s\n", strerror(-err));
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* The steps run on the device's event thread (the buffers' rule). */
static void on_event(void *arg, int fd, short revents)
{
	uint64_t v;
	int rc = 0;

	(void)arg;
	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	if (step == ST_GET || step == ST_GET_ONE) {
		unsigned want = step == ST_GET_ONE ? 1 : 2 * vbd_front_num_queues(dev);

		for (nbufs = 0; nbufs < want; nbufs++) {
			unsigned niov;

			rc = vbd_front_wbuf_get(dev, MIB, &bufs[nbufs], &iovs[nbufs], &niov);
			if (rc < 0)
				break;
			if (niov != MIB / 4096) {
				rc = -EPROTO;
				break;
			}
			for (unsigned p = 0; p < niov; p++)
				for (uint64_t k = 0; k < iovs[nbufs][p].iov_len; k++)
					((unsigned char *)iovs[nbufs][p].iov_base)[k] =
					    pattern(round_no, nbufs, p * 4096 + k);
		}
		/* one more finds no room: every ring holds two already, and
		 * keeps a request's worth of pages for vbd_front_submit */
		if (rc == 0 && step == ST_GET) {
			struct vbd_front_wbuf *x;
			const struct iovec *xi;
			unsigned xn;

			if (vbd_front_wbuf_get(dev, MIB, &x, &xi, &xn) != -EAGAIN)
				rc = -EEXIST;
			else if (vbd_front_wbuf_get(dev, 4096, &x, &xi, &xn) == 0)
				vbd_front_wbuf_put(dev, x); /* a small one still fits */
			else
				rc = -ENOSPC;
		}
	} else if (step == ST_SUBMIT) {
		for (unsigned i = 0; i < nbufs && rc == 0; i++)
			rc = vbd_front_wbuf_submit(dev, bufs[i], (uint64_t)i * MIB, 0, io_cb, NULL);
	}
	pthread_mutex_lock(&mu);
	step_rc = rc;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void run_step(int s, const char *what)
{
	uint64_t one = 1;

	pthread_mutex_lock(&mu);
	step = s;
	step_rc = 1;
	pthread_mutex_unlock(&mu);
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		fail("eventfd", -errno);
	pthread_mutex_lock(&mu);
	while (step_rc == 1)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	if (step_rc)
		fail(what, step_rc);
}

static const char *act = "true";

static void run_act(const char *what, unsigned dom)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "%s %s %u", act, what, dom);
	printf("front_wbuf: %s\n", cmd);
	fflush(stdout);
	if (system(cmd) != 0)
		fail(cmd, 0);
}

static unsigned owner_of_q0(void)
{
	struct vbd_front_stats st;

	vbd_front_get_stats(dev, &st);
	return st.q[0].owner;
}

/* Every queue connected to a member other than `gone` (up to 20 s). */
static void wait_taken_over(unsigned gone)
{
	struct vbd_front_stats st;

	for (int i = 0; i < 200; i++) {
		bool ok = true;

		vbd_front_get_stats(dev, &st);
		for (unsigned q = 0; q < st.num_queues; q++)
			ok = ok && st.q[q].connected && st.q[q].owner != gone;
		if (ok)
			return;
		usleep(100000);
	}
	fail("no take-over of the destroyed member's queues", 0);
}

static void wait_done(unsigned n)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	pthread_mutex_lock(&mu);
	while (done < n)
		if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&mu);
	if (done < n)
		fail("writes not answered in 30 s", 0);
	if (failed)
		fail("writes failed", -EIO);
}

static void verify(unsigned rnd, unsigned n)
{
	unsigned char *b = malloc(MIB);

	if (!b)
		fail("malloc", -ENOMEM);
	for (unsigned i = 0; i < n; i++) {
		int rc = vbd_front_pread(dev, b, MIB, (uint64_t)i * MIB);

		if (rc < 0)
			fail("read back", rc);
		for (uint64_t k = 0; k < MIB; k++)
			if (b[k] != pattern(rnd, i, k)) {
				printf("front_wbuf: FAIL round %u buffer %u: byte %llu is %u, "
				       "written %u\n",
				       rnd, i, (unsigned long long)k, b[k], pattern(rnd, i, k));
				exit(1);
			}
	}
	free(b);
}

int main(int argc, char **argv)
{
	unsigned dom_a, dom_b, total = 0;
	static const struct option lo[] = {{"act", 1, 0, 'a'}, {0, 0, 0, 0}};
	struct vbd_front_opts o;
	struct vbd_front_stats st;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c != 'a') {
			fprintf(stderr,
				"usage: front_wbuf --act SCRIPT (SCRIPT pause|kill DOMID)\n");
			return 2;
		}
		act = optarg;
	}
	vbd_front_opts_init(&o, 0);
	if ((rc = vbd_front_open_ctx(&o, 1, &dev)) < 0)
		fail("open", rc);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0 || (rc = vbd_front_fd_set(dev, efd, POLLIN, on_event, NULL)) < 0)
		fail("fd_set", efd < 0 ? -errno : rc);
	wait_taken_over(~0u); /* every queue connected */
	if (2 * vbd_front_num_queues(dev) * MIB > vbd_front_size(dev))
		fail("device too small", -ENOSPC);

	/* round 1: in flight at A when A dies */
	round_no = 1;
	dom_a = owner_of_q0();
	run_step(ST_GET, "round 1: taking two buffers per queue");
	run_act("pause", dom_a);
	run_step(ST_SUBMIT, "round 1: submitting");
	total += nbufs;
	usleep(300000); /* the other members answer theirs */
	run_act("kill", dom_a);
	wait_taken_over(dom_a);
	wait_done(total);
	verify(1, nbufs);

	/* round 2: B dies between filling and submitting */
	round_no = 2;
	dom_b = owner_of_q0();
	run_step(ST_GET, "round 2: taking two buffers per queue");
	run_act("kill", dom_b);
	wait_taken_over(dom_b);
	run_step(ST_SUBMIT, "round 2: submitting");
	total += nbufs;
	wait_done(total);
	verify(2, nbufs);

	vbd_front_get_stats(dev, &st);
	printf("front_wbuf: rounds done: writes=%u reposted=%llu errors=%llu\n", total,
	       (unsigned long long)st.reposted, (unsigned long long)st.errors);
	if (st.reposted == 0)
		fail("round 1 re-posted nothing (member A answered before it died?)", 0);

	/* a buffer outlives the device */
	run_step(ST_GET_ONE, "taking a buffer before the close");
	vbd_front_fd_del(dev, efd);
	vbd_front_close(dev);
	vbd_front_wbuf_put(dev, bufs[0]);
	close(efd);
	printf("front_wbuf: PASS rounds=2 writes=%u reposted=%llu\n", total,
	       (unsigned long long)st.reposted);
	return 0;
}
