/* SPDX-License-Identifier: MIT */
/* Event-channel ping-pong between two domains through the active platform:
 * ping notifies, pong answers each event with a notify; ping measures the
 * round trip (waiting in poll() on the handle fd, as a backend does).
 *   evtchn_pingpong pong DIR PINGDOM
 *   evtchn_pingpong ping DIR PONGDOM [ROUNDS]
 * DIR: a XenStore directory both may write.  Prints p50/p99 round trip and
 * the implied one-way latency. */
#include "vbdpool/platform.h"
#include "xs_rendezvous.h"

#include <poll.h>

static const struct vbd_platform *P;

static int wait_port(struct vbd_evtchn *h)
{
	struct pollfd pfd = {.fd = P->evtchn->fd(h), .events = POLLIN};

	for (;;) {
		int p = P->evtchn->pending(h);

		if (p >= 0)
			return p;
		if (p != -EAGAIN)
			return p;
		if (poll(&pfd, 1, 5000) == 0)
			return -ETIMEDOUT;
	}
}

int main(int argc, char **argv)
{
	struct xs_handle *xs = xs_open(0);
	struct vbd_evtchn *h;
	char buf[64];
	int port, peer, rounds = argc > 4 ? atoi(argv[4]) : 20000;

	if (argc < 4 || !xs)
		return 2;
	P = vbd_platform();
	h = P->evtchn->open();
	if (!h)
		bench_die("evtchn open");
	peer = atoi(argv[3]);
	if (!strcmp(argv[1], "pong")) {
		port = P->evtchn->alloc_unbound(h, (vbd_domid_t)peer);
		if (port < 0)
			bench_die("alloc_unbound");
		snprintf(buf, sizeof(buf), "%d", port);
		rv_post(xs, argv[2], "pong-port", buf);
		for (;;) {
			int p = wait_port(h);

			if (p < 0)
				break; /* ping is done (timeout) */
			P->evtchn->unmask(h, (vbd_port_t)p);
			P->evtchn->notify(h, (vbd_port_t)p);
		}
		return 0;
	}
	{
		double *rtt = malloc(sizeof(double) * (size_t)rounds), t0, sum = 0;
		int warm = rounds / 10;

		port = atoi(rv_await(xs, argv[2], "pong-port", buf, sizeof(buf)));
		port = P->evtchn->bind_interdomain(h, (vbd_domid_t)peer, (vbd_port_t)port);
		if (port < 0 || !rtt)
			bench_die("bind_interdomain");
		wait_port(h); /* the bind's own event */
		P->evtchn->unmask(h, (vbd_port_t)port);
		for (int i = -warm; i < rounds; i++) {
			int p;

			t0 = bench_now_us();
			P->evtchn->notify(h, (vbd_port_t)port);
			p = wait_port(h);
			if (p != port)
				bench_die("lost an event");
			P->evtchn->unmask(h, (vbd_port_t)port);
			if (i >= 0) {
				rtt[i] = bench_now_us() - t0;
				sum += rtt[i];
			}
		}
		qsort(rtt, (size_t)rounds, sizeof(double), bench_cmp_double);
		printf("evtchn ping-pong (%s, %d rounds, poll() on the fd): round trip p50 %.1f us "
		       "p99 %.1f us mean %.1f us; one-way p50 %.1f us\n",
		       P->name, rounds, rtt[rounds / 2], rtt[rounds * 99 / 100], sum / rounds,
		       rtt[rounds / 2] / 2);
		free(rtt);
	}
	return 0;
}
