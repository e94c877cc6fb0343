/* SPDX-License-Identifier: MIT */
/*
 * hostile_front: a misbehaving guest for backend tests.  Runs as a guest
 * domain on the emulated host against a device dom0 attached with at least
 * four queues (`vbdpoolctl attach G VOL --devid D --queues 4`).  It does not
 * use libvbdpool-front: it writes the frontend nodes itself, builds one ring
 * per queue for the owner that claimed it, and then:
 *
 *   queue 0: posts one malformed request of every class docs/protocol.md
 *            lists and checks each gets BLKIF_RSP_ERROR / EOPNOTSUPP
 *            (plus good requests in between, checked byte for byte);
 *   queue 1: a correct write + read-back, before and after the attack;
 *   queue 0: overruns req_prod by more than the ring size and checks the
 *            owner answers nothing on that ring and gives the queue up
 *            (the ownership record leaves owner=<m> epoch=<e>);
 *   queue 2: moves req_prod back behind what was consumed: same check;
 *   queue 1: still served after each attack;
 *   queue 3: its directory holds nonsense (ring-page-order 9, event
 *            channel "x"): the owner gives it up instead of connecting.
 *
 *   hostile_front [--devid N] [--timeout S]
 *   hostile_front --read-only [--devid N] [--timeout S]
 *
 * --read-only: the device is attached read-only (`attach --read-only`,
 * one queue is enough).  The guest first rewrites its own copy of the
 * mode (frontend directory, which it owns) to "w" and checks it cannot
 * write the attachment's; then on queue 0 every write (direct, indirect,
 * FUA-style write + flush) and discard must get BLKIF_RSP_ERROR while
 * reads and flushes are served (reads see what the backing held: the
 * pattern byte --fill, default 0xa5, that the test wrote there), and a
 * read after the refused writes still sees the pattern.
 *
 * Prints "hostile_front: PASS ..." and exits 0, or explains and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "vbdpool/blkif.h"
#include "vbdpool/platform.h"
#include "vbdpool/proto.h"

#define NDATA	16	    /* writable data pages per queue */
#define P_RO	NDATA	    /* a page granted read-only */
#define P_IND	(NDATA + 1) /* an indirect-segment page */
#define P_OTHER (NDATA + 2) /* a page granted to another domain (dom0) */
#define NPAGES	(NDATA + 3)

struct hq {
	unsigned q, owner;
	uint64_t epoch;
	void *ring_page;
	blkif_front_ring_t fr;
	int port;
	char *pages[NPAGES];
	vbd_gref_t refs[NPAGES];
};

static struct xs_handle *xs;
static const struct vbd_platform *plat;
static struct vbd_gntshr *gs;
static struct vbd_evtchn *ev;
static unsigned me, devid, nq;
static char fe[128], pool[256];
static int timeout_s = 30, failures, fill = 0xa5;
static uint64_t next_id = 1;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "hostile_front: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static void die(const char *what)
{
	fprintf(stderr, "hostile_front: FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *xread(const char *fmt, ...)
{
	char path[256];
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(xs, XBT_NULL, path, &len);
}

static int read_rec(unsigned q, struct vbd_queue_rec *r)
{
	char *s = xread("%s/queue-%u", pool, q);
	int e = s ? vbd_queue_rec_parse(s, r) : -errno;

	free(s);
	return e;
}

/* Wait for queue q's record to satisfy `want` (bounded by --timeout). */
static int wait_rec(unsigned q, struct vbd_queue_rec *r,
		    int (*want)(const struct vbd_queue_rec *, const struct hq *),
		    const struct hq *h)
{
	double end = now_s() + timeout_s;

	while (now_s() < end) {
		if (read_rec(q, r) == 0 && want(r, h))
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static int is_claimed(const struct vbd_queue_rec *r, const struct hq *h)
{
	(void)h;
	return r->owner != VBD_DOMID_NONE && r->state == VBD_Q_CLAIMED;
}

static int is_connected(const struct vbd_queue_rec *r, const struct hq *h)
{
	return r->owner == h->owner && r->epoch == h->epoch && r->state == VBD_Q_CONNECTED;
}

static int moved_away(const struct vbd_queue_rec *r, const struct hq *h)
{
	return r->owner != h->owner || r->epoch != h->epoch;
}

static void xwrite(xs_transaction_t t, const char *path, const char *fmt, ...)
{
	char val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (!xs_write(xs, t, path, val, (unsigned)strlen(val)))
		die(path);
}

/* Build queue q's ring for the owner that claimed it and publish it.
 * bad = 1: publish nonsense (ring-page-order 9, event channel "x") and
 * check the owner gives the queue up instead of connecting. */
static void publish_queue(struct hq *h, unsigned q, int bad)
{
	struct vbd_queue_rec r;
	char *data, *ro, *other, path[256];
	vbd_gref_t ref;

	h->q = q;
	if (wait_rec(q, &r, is_claimed, h) < 0)
		die("no member claimed the queue");
	h->owner = r.owner;
	h->epoch = r.epoch;
	h->ring_page = plat->gntshr->share_pages(gs, (vbd_domid_t)h->owner, 1, &ref, 1);
	if (!h->ring_page)
		die("share ring page");
	SHARED_RING_INIT((blkif_sring_t *)h->ring_page);
	FRONT_RING_INIT(&h->fr, (blkif_sring_t *)h->ring_page, VBD_PAGE_SIZE);
	data = plat->gntshr->share_pages(gs, (vbd_domid_t)h->owner, NDATA + 1, h->refs, 1);
	/* the indirect page is the last one of the writable batch: its ref
	 * first, before the read-only page's takes that slot (refs[P_RO]) */
	h->refs[P_IND] = h->refs[NDATA];
	ro = plat->gntshr->share_pages(gs, (vbd_domid_t)h->owner, 1, &h->refs[P_RO], 0);
	other = plat->gntshr->share_pages(gs, 0, 1, &h->refs[P_OTHER], 1);
	if (!data || !ro || !other)
		die("share data pages");
	for (unsigned i = 0; i < NDATA; i++)
		h->pages[i] = data + (size_t)i * VBD_PAGE_SIZE;
	h->pages[P_IND] = data + (size_t)NDATA * VBD_PAGE_SIZE;
	h->pages[P_RO] = ro;
	h->pages[P_OTHER] = other;
	h->port = plat->evtchn->alloc_unbound(ev, (vbd_domid_t)h->owner);
	if (h->port < 0) {
		errno = -h->port;
		die("alloc_unbound");
	}
	for (;;) {
		xs_transaction_t t = xs_transaction_start(xs);
		if (t == XBT_NULL)
			die("transaction");
#define QW(key, ...)                                                                               \
	do {                                                                                       \
		snprintf(path, sizeof(path), "%s/queue-%u/" key, fe, q);                           \
		xwrite(t, path, __VA_ARGS__);                                                      \
	} while (0)
		QW("owner", "%u", h->owner);
		QW("epoch", "%" PRIu64, h->epoch);
		QW("ring-page-order", "%s", bad ? "9" : "0");
		QW("ring-ref0", "%u", ref);
		QW("event-channel", bad ? "x%d" : "%d", h->port);
		QW("protocol", "x86_64-abi");
#undef QW
		if (xs_transaction_end(xs, t, false))
			break;
		if (errno != EAGAIN)
			die("transaction end");
	}
	if (bad) {
		if (wait_rec(q, &r, moved_away, h) < 0)
			fail("the owner kept queue %u with a malformed queue directory", q);
		else
			printf("hostile_front: ok: queue %u with a malformed directory given up "
			       "(record now owner=%u epoch %" PRIu64 " state %s)\n",
			       q, r.owner, r.epoch, vbd_queue_state_name(r.state));
		return;
	}
	if (wait_rec(q, &r, is_connected, h) < 0)
		die("the owner did not connect the ring");
	printf("hostile_front: queue %u connected to dom%u epoch %" PRIu64 "\n", q, h->owner,
	       h->epoch);
}

static void push(struct hq *h)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&h->fr, notify);
	(void)notify; /* always notify: a hostile guest does what it likes */
	plat->evtchn->notify(ev, (vbd_port_t)h->port);
}

static void post_raw(struct hq *h, const void *req)
{
	memcpy(RING_GET_REQUEST(&h->fr, h->fr.req_prod_pvt), req, sizeof(struct blkif_request));
	h->fr.req_prod_pvt++;
	push(h);
}

static void ack_events(void)
{
	int p;

	while ((p = plat->evtchn->pending(ev)) >= 0)
		plat->evtchn->unmask(ev, (vbd_port_t)p);
}

/* Wait up to `secs` for one response on h's ring. 1 = got one. */
static int wait_response(struct hq *h, struct blkif_response *out, double secs)
{
	double end = now_s() + secs;

	for (;;) {
		struct pollfd pfd = {.fd = plat->evtchn->fd(ev), .events = POLLIN};
		RING_IDX rp = h->fr.sring->rsp_prod;

		xen_rmb();
		if (h->fr.rsp_cons != rp) {
			memcpy(out, RING_GET_RESPONSE(&h->fr, h->fr.rsp_cons), sizeof(*out));
			h->fr.rsp_cons++;
			return 1;
		}
		if (now_s() >= end)
			return 0;
		/* re-check every 50 ms even without an event: a backend that
		 * skipped a notification must still be seen answering */
		if (poll(&pfd, 1, 50) > 0)
			ack_events();
	}
}

static void expect(struct hq *h, const void *req, uint8_t op, int16_t status, const char *what)
{
	const struct blkif_request *r = req;
	struct blkif_response rsp;

	post_raw(h, req);
	if (!wait_response(h, &rsp, timeout_s)) {
		fail("%s: no response", what);
		return;
	}
	if (rsp.id != r->id || rsp.operation != op || rsp.status != status)
		fail("%s: response id %#" PRIx64 " op %u status %d, want id %#" PRIx64
		     " op %u status %d",
		     what, rsp.id, rsp.operation, rsp.status, r->id, op, status);
	else
		printf("hostile_front: ok: %s -> %d\n", what, status);
}

static struct blkif_request rw(struct hq *h, uint8_t op, uint64_t sector, int nsegs, int page0)
{
	struct blkif_request r;

	memset(&r, 0, sizeof(r));
	r.operation = op;
	r.id = next_id++;
	r.nr_segments = (uint8_t)nsegs;
	r.sector_number = sector;
	for (int i = 0; i < nsegs && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		r.seg[i].gref = h->refs[page0 + i];
		r.seg[i].first_sect = 0;
		r.seg[i].last_sect = 7;
	}
	return r;
}

static struct blkif_request indirect(struct hq *h, uint8_t op, uint64_t sector, int nsegs)
{
	struct blkif_request r;
	struct blkif_request_indirect *ind = (void *)&r;

	memset(&r, 0, sizeof(r));
	ind->operation = BLKIF_OP_INDIRECT;
	ind->indirect_op = op;
	ind->id = next_id++;
	ind->nr_segments = (uint16_t)nsegs;
	ind->sector_number = sector;
	ind->indirect_grefs[0] = h->refs[P_IND];
	return r;
}

/* Write a pattern to `sector` through page 0..1 and read it back via 2..3. */
static void good_io(struct hq *h, uint64_t sector, uint8_t seed, const char *what)
{
	struct blkif_request r;
	char label[128];

	for (int i = 0; i < 2; i++)
		memset(h->pages[i], seed + i, VBD_PAGE_SIZE);
	r = rw(h, BLKIF_OP_WRITE, sector, 2, 0);
	snprintf(label, sizeof(label), "%s: write", what);
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_OKAY, label);
	memset(h->pages[2], 0, VBD_PAGE_SIZE);
	memset(h->pages[3], 0, VBD_PAGE_SIZE);
	r = rw(h, BLKIF_OP_READ, sector, 2, 2);
	snprintf(label, sizeof(label), "%s: read", what);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_OKAY, label);
	for (int i = 0; i < 2; i++)
		for (unsigned k = 0; k < VBD_PAGE_SIZE; k++)
			if ((uint8_t)h->pages[2 + i][k] != (uint8_t)(seed + i)) {
				fail("%s: read back byte %u of page %d is %#x, want %#x", what, k,
				     i, (uint8_t)h->pages[2 + i][k], (uint8_t)(seed + i));
				return;
			}
}

static void bad_requests(struct hq *h, uint64_t vol_sectors)
{
	struct blkif_request r;
	struct blkif_request_discard *d = (void *)&r;
	struct blkif_request_segment *segs = (void *)h->pages[P_IND];

	r = rw(h, BLKIF_OP_READ, 0, 0, 0);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "read with 0 segments");
	r = rw(h, BLKIF_OP_WRITE, 0, 11, 0);
	r.nr_segments = 12;
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_ERROR, "write with 12 direct segments");
	r = rw(h, BLKIF_OP_WRITE, 0, 1, 0);
	r.nr_segments = 255;
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_ERROR, "write with 255 direct segments");
	r = rw(h, BLKIF_OP_READ, 0, 1, 0);
	r.seg[0].first_sect = 6;
	r.seg[0].last_sect = 2;
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "first_sect > last_sect");
	r = rw(h, BLKIF_OP_READ, 0, 1, 0);
	r.seg[0].last_sect = 8;
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "last_sect 8");
	r = rw(h, BLKIF_OP_READ, vol_sectors - 4, 1, 0);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "read past the end");
	r = rw(h, BLKIF_OP_WRITE, UINT64_MAX - 2, 1, 0);
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_ERROR, "sector overflow");
	r = rw(h, BLKIF_OP_READ, 0, 1, 0);
	r.seg[0].gref = 0x7ffffff0;
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "unknown grant ref");
	r = rw(h, BLKIF_OP_READ, 0, 1, P_OTHER);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "grant ref of another domain");
	r = rw(h, BLKIF_OP_READ, 0, 1, P_RO);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "read into a read-only grant");
	r = rw(h, 0x42, 0, 1, 0);
	expect(h, &r, 0x42, BLKIF_RSP_EOPNOTSUPP, "unknown operation");
	r = rw(h, BLKIF_OP_WRITE_BARRIER, 0, 1, 0);
	expect(h, &r, BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_EOPNOTSUPP, "write barrier");
	r = rw(h, BLKIF_OP_FLUSH_DISKCACHE, 0, 1, 0);
	expect(h, &r, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_RSP_ERROR, "flush carrying segments");
	memset(&r, 0, sizeof(r));
	d->operation = BLKIF_OP_DISCARD;
	d->id = next_id++;
	d->sector_number = vol_sectors - 1;
	d->nr_sectors = 2;
	expect(h, &r, BLKIF_OP_DISCARD, BLKIF_RSP_ERROR, "discard past the end");
	r = indirect(h, BLKIF_OP_READ, 0, 0);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "indirect with 0 segments");
	r = indirect(h, BLKIF_OP_WRITE, 0, VBD_MAX_INDIRECT_SEGS + 1);
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_ERROR, "indirect with 257 segments");
	r = indirect(h, BLKIF_OP_DISCARD, 0, 1);
	expect(h, &r, BLKIF_OP_INDIRECT, BLKIF_RSP_ERROR, "indirect discard");
	r = indirect(h, BLKIF_OP_READ, 0, 1);
	((struct blkif_request_indirect *)&r)->indirect_grefs[0] = 0x7ffffff1;
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "indirect page ref that does not map");
	memset(segs, 0, VBD_PAGE_SIZE);
	for (int i = 0; i < 3; i++)
		segs[i] = (struct blkif_request_segment){.gref = h->refs[i], .last_sect = 7};
	segs[1].first_sect = 7;
	segs[1].last_sect = 1;
	r = indirect(h, BLKIF_OP_WRITE, 0, 3);
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_ERROR, "bad segment in the indirect page");
	segs[1] = (struct blkif_request_segment){.gref = 0x7ffffff2, .last_sect = 7};
	r = indirect(h, BLKIF_OP_READ, 0, 3);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "bad grant in the indirect page");
	segs[1] = (struct blkif_request_segment){.gref = h->refs[1], .last_sect = 7};
	r = indirect(h, BLKIF_OP_READ, vol_sectors - 8, 3);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_ERROR, "indirect past the end");
	/* the ring still works after all that */
	good_io(h, 64, 0x30, "queue 0 after bad requests");
	/* garbage in the frontend-owned event index does not stop service */
	h->fr.sring->rsp_event = 0xdeadbeef;
	good_io(h, 72, 0x40, "queue 0 with a garbage rsp_event");
}

/* backwards = 0: req_prod runs more than the ring size ahead;
 * backwards = 1: req_prod moves back behind what the owner consumed. */
static void attack(struct hq *h, int backwards)
{
	struct blkif_request r = rw(h, BLKIF_OP_READ, 0, 1, 0);
	struct blkif_response rsp;
	struct vbd_queue_rec rec;
	RING_IDX rsp_before = h->fr.sring->rsp_prod;

	memcpy(RING_GET_REQUEST(&h->fr, h->fr.req_prod_pvt), &r, sizeof(r));
	if (backwards)
		h->fr.req_prod_pvt -= 3;
	else
		h->fr.req_prod_pvt += RING_SIZE(&h->fr) + 5; /* more than the ring holds */
	push(h);
	printf("hostile_front: queue %u: req_prod %s to %u (ring of %u)\n", h->q,
	       backwards ? "moved back" : "overrun", h->fr.req_prod_pvt, RING_SIZE(&h->fr));
	if (wait_rec(h->q, &rec, moved_away, h) < 0) {
		fail("the owner kept queue %u after a req_prod overrun", h->q);
		return;
	}
	printf("hostile_front: ok: queue %u given up by dom%u (record now owner=%s%u epoch "
	       "%" PRIu64 " state %s)\n",
	       h->q, h->owner, rec.owner == VBD_DOMID_NONE ? "none/" : "", rec.owner, rec.epoch,
	       vbd_queue_state_name(rec.state));
	if (wait_response(h, &rsp, 0.2) || h->fr.sring->rsp_prod != rsp_before)
		fail("the owner answered on a hostile ring");
	else
		printf("hostile_front: ok: nothing answered on the hostile ring\n");
}

/* Read `sector` (2 pages, into pages 2..3) and check every byte is the
 * backing's pattern. */
static void read_pattern(struct hq *h, uint64_t sector, const char *what)
{
	struct blkif_request r = rw(h, BLKIF_OP_READ, sector, 2, 2);

	memset(h->pages[2], 0, 2 * VBD_PAGE_SIZE);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_OKAY, what);
	for (unsigned k = 0; k < 2 * VBD_PAGE_SIZE; k++)
		if ((uint8_t)h->pages[2][k] != (uint8_t)fill) {
			fail("%s: byte %u is %#x, want the backing's %#x", what, k,
			     (uint8_t)h->pages[2][k], (uint8_t)fill);
			return;
		}
}

/* The device is attached read-only: writes and discards refused on the
 * ring, however posted; reads and flushes served; the backing unchanged. */
static void read_only_attack(struct hq *h, uint64_t vol_sectors)
{
	struct blkif_request r;
	struct blkif_request_discard *d = (void *)&r;
	struct blkif_request_segment *segs = (void *)h->pages[P_IND];
	char path[sizeof(pool) + 8];

	/* the guest owns its copy of the mode: rewriting it changes nothing */
	snprintf(path, sizeof(path), "%s/mode", fe);
	xwrite(XBT_NULL, path, "w");
	snprintf(path, sizeof(path), "%s/mode", pool);
	if (xs_write(xs, XBT_NULL, path, "w", 1))
		fail("the guest could write its attachment's mode");
	else
		printf("hostile_front: ok: the attachment's mode is not writable (%s)\n",
		       strerror(errno));

	read_pattern(h, 0, "read-only: read");
	for (int i = 0; i < 2; i++)
		memset(h->pages[i], 0x5a, VBD_PAGE_SIZE);
	r = rw(h, BLKIF_OP_WRITE, 0, 2, 0);
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_ERROR, "read-only: write");
	r = rw(h, BLKIF_OP_WRITE, vol_sectors - 8, 1, 0);
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_ERROR, "read-only: write of the last page");
	memset(segs, 0, VBD_PAGE_SIZE);
	for (int i = 0; i < 2; i++)
		segs[i] = (struct blkif_request_segment){.gref = h->refs[i], .last_sect = 7};
	r = indirect(h, BLKIF_OP_WRITE, 8, 2);
	expect(h, &r, BLKIF_OP_WRITE, BLKIF_RSP_ERROR, "read-only: indirect write");
	memset(&r, 0, sizeof(r));
	d->operation = BLKIF_OP_DISCARD;
	d->id = next_id++;
	d->sector_number = 0;
	d->nr_sectors = 16;
	expect(h, &r, BLKIF_OP_DISCARD, BLKIF_RSP_ERROR, "read-only: discard");
	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_FLUSH_DISKCACHE;
	r.id = next_id++;
	expect(h, &r, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_RSP_OKAY, "read-only: flush");
	read_pattern(h, 0, "read-only: read after the refused writes");
	read_pattern(h, 8, "read-only: read where the indirect write aimed");
	r = indirect(h, BLKIF_OP_READ, 16, 2);
	expect(h, &r, BLKIF_OP_READ, BLKIF_RSP_OKAY, "read-only: indirect read");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"devid", required_argument, NULL, 'd'},
					     {"timeout", required_argument, NULL, 't'},
					     {"read-only", no_argument, NULL, 'r'},
					     {"fill", required_argument, NULL, 'f'},
					     {NULL, 0, NULL, 0}};
	struct hq *h;
	char *s;
	uint64_t size;
	int c, read_only = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "d:t:rf:", opts, NULL)) != -1) {
		if (c == 'd')
			devid = (unsigned)atoi(optarg);
		else if (c == 't')
			timeout_s = atoi(optarg);
		else if (c == 'r')
			read_only = 1;
		else if (c == 'f')
			fill = (int)strtol(optarg, NULL, 0);
		else
			return 2;
	}
	plat = vbd_platform();
	xs = xs_open(0);
	if (!xs)
		die("xs_open");
	if (!(s = xread("domid")))
		die("read domid");
	me = (unsigned)atoi(s);
	free(s);
	snprintf(fe, sizeof(fe), VBD_XS_FRONTEND, me, devid);
	if (!(s = xread("%s/pool", fe)))
		die("read the device's pool path");
	snprintf(pool, sizeof(pool), "%s", s);
	free(s);
	if (!(s = xread("%s/num-queues", fe)))
		die("read num-queues");
	nq = (unsigned)atoi(s);
	free(s);
	if (!(s = xread("%s/volume", fe)))
		die("read volume");
	{
		char *sz = xread(VBD_XS_VOLUME "/size", s);
		if (!sz)
			die("read the volume size");
		size = strtoull(sz, NULL, 10);
		free(sz);
	}
	free(s);
	if (nq < (read_only ? 1u : 4u)) {
		fprintf(stderr, "hostile_front: needs a device with %d+ queues\n",
			read_only ? 1 : 4);
		return 2;
	}
	gs = plat->gntshr->open();
	ev = plat->evtchn->open();
	if (!gs || !ev)
		die("platform open");
	{
		char path[256];
		snprintf(path, sizeof(path), "%s/state", fe);
		xwrite(XBT_NULL, path, "3");
	}
	h = calloc(4, sizeof(*h));
	if (!h)
		die("calloc");
	if (read_only) {
		publish_queue(&h[0], 0, 0);
		read_only_attack(&h[0], size / VBD_SECTOR_SIZE);
		goto out;
	}
	for (unsigned q = 0; q < 3; q++)
		publish_queue(&h[q], q, 0);
	publish_queue(&h[3], 3, 1);

	good_io(&h[1], 8, 0x10, "queue 1 before");
	good_io(&h[0], 16, 0x20, "queue 0 before");
	bad_requests(&h[0], size / VBD_SECTOR_SIZE);
	good_io(&h[2], 32, 0x60, "queue 2 before");
	attack(&h[0], 0);
	good_io(&h[1], 24, 0x50, "queue 1 after the attack on queue 0");
	attack(&h[2], 1);
	good_io(&h[1], 40, 0x70, "queue 1 after the attack on queue 2");
out:
	free(h); /* the pages and ports go with the process */
	plat->evtchn->close(ev);
	plat->gntshr->close(gs);
	xs_close(xs);
	if (failures) {
		printf("hostile_front: FAIL (%d failures)\n", failures);
		return 1;
	}
	printf("hostile_front: PASS\n");
	return 0;
}
