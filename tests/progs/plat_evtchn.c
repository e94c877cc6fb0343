/* SPDX-License-Identifier: MIT */
/*
 * Event-channel mask/pending/readiness semantics through the active
 * platform, in one domain (loopback channels to itself):
 *
 *   plat_evtchn [ROUNDS]     run in an emulated domain (XENSIM_DOMID set)
 *
 * Pins what callers rely on, for handles with one port (the data path:
 * one handle per ring) and with several: the handle's fd polls readable
 * exactly while an unmasked port has an event; pending() returns a port
 * once and it stays masked until unmask(); notifies while masked, and
 * notifies before pending(), coalesce into one event; an event that
 * arrives while masked is not lost at unmask(); unbinding a masked port
 * leaves the others working.  Readiness is checked with poll() timeout 0
 * right after synchronous notifies: no timing involved.  Then threads
 * ping-pong ROUNDS events between two handles while a third thread
 * notifies on the same handle the first one waits on (no lost wake-up:
 * every wait has a generous bound, 30 s, for a hang to show as a failure).
 *
 * Prints "ok N what" / "FAIL N what" per case; exit 0 if all passed.
 */
#include "vbdpool/platform.h"
#include "sim_hyp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"

#define HANG_MS 30000

static const struct vbd_platform *P;
static const struct vbd_evtchn_ops *E;
static vbd_domid_t self;

static void fatal(const char *what)
{
	case_fatal("%s: %s", what, strerror(errno));
}

/* Does the handle's fd poll readable right now? */
static bool readable(struct vbd_evtchn *h)
{
	struct pollfd pfd = {.fd = E->fd(h), .events = POLLIN};

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static struct vbd_evtchn *open_h(void)
{
	struct vbd_evtchn *h = E->open();

	if (!h)
		fatal("evtchn open");
	return h;
}

/* A loopback channel: a in ha (allocated), b in hb (bound to a; b starts
 * with the bind's own event pending). */
static void channel(struct vbd_evtchn *ha, int *a, struct vbd_evtchn *hb, int *b)
{
	*a = E->alloc_unbound(ha, self);
	if (*a < 0)
		fatal("alloc_unbound");
	*b = E->bind_interdomain(hb, self, (vbd_port_t)*a);
	if (*b < 0)
		fatal("bind_interdomain");
}

static void single_port(void)
{
	struct vbd_evtchn *ha = open_h(), *hb = open_h(), *h0 = open_h();
	int a, b, p, rc;

	case_check(E->pending(h0) == -EAGAIN && !readable(h0),
		   "a handle without ports: nothing pending, fd not readable", NULL);
	E->close(h0);

	channel(ha, &a, hb, &b);
	case_check(!readable(ha), "allocating a port raises no event", NULL);
	case_check(readable(hb), "the bound port starts pending: fd readable", NULL);
	p = E->pending(hb);
	case_check(p == b, "pending() returns the bound port", "got %d, want %d", p, b);
	case_check(!readable(hb), "after pending() the fd is not readable", NULL);
	p = E->pending(hb);
	case_check(p == -EAGAIN, "pending() again: nothing (masked, no new event)", "got %d", p);

	/* notifies while masked, pending() called in between */
	rc = E->notify(ha, (vbd_port_t)a) | E->notify(ha, (vbd_port_t)a) |
	     E->notify(ha, (vbd_port_t)a);
	case_check(rc == 0, "three notifies while masked", "rc=%d", rc);
	p = E->pending(hb);
	case_check(p == -EAGAIN, "pending() does not return a masked port", "got %d", p);
	case_check(!readable(hb), "after that pending() the fd is not readable (masked port)",
		   NULL);
	rc = E->notify(ha, (vbd_port_t)a);
	case_check(rc == 0 && !readable(hb), "a further notify while masked: fd still not readable",
		   "rc=%d", rc);
	E->unmask(hb, (vbd_port_t)b);
	case_check(readable(hb), "unmask with an event pending: fd readable", NULL);
	p = E->pending(hb);
	case_check(p == b, "the masked notifies arrive after unmask", "got %d", p);
	E->unmask(hb, (vbd_port_t)b);
	p = E->pending(hb);
	case_check(p == -EAGAIN && !readable(hb), "... coalesced into exactly one event", "got %d",
		   p);

	/* notifies while masked, no pending() before unmask (the data path) */
	rc = E->notify(ha, (vbd_port_t)a);
	p = E->pending(hb);
	case_check(rc == 0 && p == b, "notify, pending", "rc=%d p=%d", rc, p);
	E->notify(ha, (vbd_port_t)a);
	E->notify(ha, (vbd_port_t)a);
	E->unmask(hb, (vbd_port_t)b);
	case_check(readable(hb),
		   "notifies between pending() and unmask(): fd readable after unmask", NULL);
	p = E->pending(hb);
	case_check(p == b, "... one event", "got %d", p);
	E->unmask(hb, (vbd_port_t)b);
	case_check(E->pending(hb) == -EAGAIN && !readable(hb), "... only one", NULL);

	/* notifies while unmasked coalesce too */
	E->notify(ha, (vbd_port_t)a);
	E->notify(ha, (vbd_port_t)a);
	case_check(readable(hb), "notifies to an unmasked port: fd readable", NULL);
	p = E->pending(hb);
	case_check(p == b, "... pending() returns it", "got %d", p);
	E->unmask(hb, (vbd_port_t)b);
	case_check(E->pending(hb) == -EAGAIN && !readable(hb), "... once", NULL);

	/* unmask of a port that is not masked changes nothing */
	rc = E->unmask(hb, (vbd_port_t)b);
	case_check(rc == 0 && !readable(hb) && E->pending(hb) == -EAGAIN,
		   "unmask of an unmasked port without event: no event", "rc=%d", rc);
	E->notify(ha, (vbd_port_t)a);
	E->unmask(hb, (vbd_port_t)b);
	p = E->pending(hb);
	case_check(p == b, "unmask of an unmasked port with an event: still one event", "got %d",
		   p);
	E->unmask(hb, (vbd_port_t)b);
	E->unmask(hb, (vbd_port_t)b);
	case_check(E->pending(hb) == -EAGAIN && !readable(hb), "double unmask: no extra event",
		   NULL);

	/* the other direction */
	rc = E->notify(hb, (vbd_port_t)b);
	case_check(rc == 0 && readable(ha), "notify back: the allocating side's fd readable",
		   "rc=%d", rc);
	p = E->pending(ha);
	case_check(p == a, "... pending() returns its port", "got %d", p);
	E->unmask(ha, (vbd_port_t)a);

	/* unbind a masked port with an event pending */
	E->notify(ha, (vbd_port_t)a);
	p = E->pending(hb);
	E->notify(ha, (vbd_port_t)a);
	E->pending(hb); /* disarms */
	rc = E->unbind(hb, (vbd_port_t)b);
	case_check(p == b && rc == 0, "unbind a masked port with an event pending", "p=%d rc=%d", p,
		   rc);
	case_check(!readable(hb) && E->pending(hb) == -EAGAIN, "... the handle has nothing pending",
		   NULL);
	rc = E->unmask(hb, (vbd_port_t)b);
	case_check(rc == 0, "unmask of an unbound port: 0", "rc=%d", rc);
	rc = E->notify(ha, (vbd_port_t)a);
	case_check(rc == 0, "notify a port whose peer unbound: 0 (delivered nowhere)", "rc=%d", rc);
	E->close(ha);
	E->close(hb);
}

static void multi_port(void)
{
	struct vbd_evtchn *hc = open_h(), *hd = open_h();
	int c1, c2, c3, d1, d2, d3, p, q;

	channel(hc, &c1, hd, &d1);
	channel(hc, &c2, hd, &d2);
	p = E->pending(hd);
	q = E->pending(hd);
	case_check(((p == d1 && q == d2) || (p == d2 && q == d1)) && E->pending(hd) == -EAGAIN,
		   "two ports: both binds' events, once each", "got %d %d", p, q);
	case_check(!readable(hd), "... then the fd is not readable", NULL);
	E->unmask(hd, (vbd_port_t)d2);

	/* d1 masked, d2 unmasked: a notify to each */
	E->notify(hc, (vbd_port_t)c1);
	E->notify(hc, (vbd_port_t)c2);
	p = E->pending(hd);
	case_check(p == d2, "one port masked: only the other's event", "got %d", p);
	case_check(E->pending(hd) == -EAGAIN && !readable(hd),
		   "... nothing more, fd not readable (the masked one waits)", NULL);
	E->unmask(hd, (vbd_port_t)d2);
	case_check(!readable(hd), "unmask of the port without event: fd still not readable", NULL);
	E->unmask(hd, (vbd_port_t)d1);
	case_check(readable(hd), "unmask of the masked port: its event, fd readable", NULL);
	p = E->pending(hd);
	case_check(p == d1 && E->pending(hd) == -EAGAIN, "... pending() returns it, once", "got %d",
		   p);

	/* a third port while d1 is masked, then drop to one port */
	channel(hc, &c3, hd, &d3);
	p = E->pending(hd);
	case_check(p == d3, "a third port's bind event while another is masked", "got %d", p);
	E->unmask(hd, (vbd_port_t)d3);
	E->notify(hc, (vbd_port_t)c1);
	case_check(E->pending(hd) == -EAGAIN, "notify to the masked port: nothing", NULL);
	case_check(E->unbind(hd, (vbd_port_t)d1) == 0 && E->unbind(hd, (vbd_port_t)d3) == 0,
		   "unbind the masked port and the third", NULL);
	case_check(!readable(hd) && E->pending(hd) == -EAGAIN, "... nothing pending", NULL);
	E->notify(hc, (vbd_port_t)c2);
	p = E->pending(hd);
	case_check(p == d2, "the remaining port still gets events", "got %d", p);
	E->notify(hc, (vbd_port_t)c2);
	case_check(E->pending(hd) == -EAGAIN && !readable(hd), "... and is masked after pending()",
		   NULL);
	E->unmask(hd, (vbd_port_t)d2);
	p = E->pending(hd);
	case_check(p == d2, "... its masked notify arrives after unmask", "got %d", p);
	E->close(hc);
	E->close(hd);
}

/* ---- threads ------------------------------------------------------------- */

struct side {
	struct vbd_evtchn *h;
	int port;
	long rounds;
	volatile bool stop;
	int err;
};

/* Waits for the next event on s->h (poll, pending, unmask); -1 on a hang. */
static int wait_one(struct side *s)
{
	struct pollfd pfd = {.fd = E->fd(s->h), .events = POLLIN};

	for (;;) {
		int p = E->pending(s->h);

		if (p >= 0) {
			E->unmask(s->h, (vbd_port_t)p);
			return p;
		}
		if (s->stop)
			return -1;
		if (poll(&pfd, 1, HANG_MS) == 0)
			return -1;
	}
}

static void *echo(void *arg)
{
	struct side *s = arg;

	while (!s->stop) {
		if (wait_one(s) < 0) {
			s->err = s->stop ? 0 : -ETIMEDOUT;
			break;
		}
		E->notify(s->h, (vbd_port_t)s->port);
	}
	return NULL;
}

static void *hammer(void *arg)
{
	struct side *s = arg;

	while (!s->stop)
		if (E->notify(s->h, (vbd_port_t)s->port) < 0)
			s->err = -EIO;
	return NULL;
}

static void threads(long rounds)
{
	struct vbd_evtchn *ha = open_h(), *hb = open_h();
	struct side pinger, ponger, noise;
	pthread_t tp, tn;
	long got = 0;
	int a, b;

	channel(ha, &a, hb, &b);
	pinger = (struct side){.h = ha, .port = a};
	ponger = (struct side){.h = hb, .port = b};
	noise = (struct side){.h = ha, .port = a};
	pthread_create(&tp, NULL, echo, &ponger);
	pthread_create(&tn, NULL, hammer, &noise);
	for (long i = 0; i < rounds; i++) {
		E->notify(ha, (vbd_port_t)a);
		if (wait_one(&pinger) != a)
			break;
		got++;
	}
	noise.stop = true;
	pthread_join(tn, NULL);
	ponger.stop = true;
	E->notify(ha, (vbd_port_t)a); /* wake the echo thread */
	pthread_join(tp, NULL);
	case_check(got == rounds && ponger.err == 0 && noise.err == 0,
		   "threads: ping-pong with a concurrent notifier on the waiting handle, no lost "
		   "wake-up",
		   "%ld of %ld rounds, echo err %d, notifier err %d", got, rounds, ponger.err,
		   noise.err);
	E->close(ha);
	E->close(hb);
}

int main(int argc, char **argv)
{
	const char *d = getenv(SIM_ENV_DOMID);
	long rounds = argc > 1 ? atol(argv[1]) : 20000;

	if (!d) {
		fprintf(stderr, "run me in an emulated domain\n");
		return 1;
	}
	self = (vbd_domid_t)atoi(d);
	P = vbd_platform();
	E = P->evtchn;
	single_port();
	multi_port();
	threads(rounds);
	printf("%d cases, %d failed\n", case_count, case_failures);
	return case_failures ? 1 : 0;
}
