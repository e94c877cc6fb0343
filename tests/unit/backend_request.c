/* SPDX-License-Identifier: MIT */
/* Backend data path against synthetic rings in local memory (no emulator):
 * every bad-request class gets the right response, good requests move the
 * right bytes, EIO is held then answered in failed mode, a hostile ring is
 * dropped, and a draining queue stops consuming. Runs with each engine. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <poll.h>
#include <unistd.h>

#include "check.h"
#include "queue.h"
#include "vbdpool/log.h"
#include "vbdpool/clock.h"

#define NPAGES	  64 /* refs 0..63 map; ring = ref 0 */
#define RO_REF	  40 /* granted read-only */
#define BAD_REF	  9999
#define VOL_BYTES (1u << 20) /* 2048 sectors */
#define VOL_SECT  (VOL_BYTES / 512)

/* ---- fake platform: grant refs are indexes into pages[] ---------------- */
static uint8_t *pages;
static int live_maps;
static int map_calls;

static struct vbd_gnttab *fgt_open(void)
{
	return (struct vbd_gnttab *)&pages;
}
static void fgt_close(struct vbd_gnttab *h)
{
	(void)h;
}
static void *fgt_map(struct vbd_gnttab *h, int count, vbd_domid_t dom, const vbd_gref_t *refs,
		     int prot)
{
	(void)h;
	map_calls++;
	if (dom != 5)
		goto bad;
	for (int i = 0; i < count; i++) {
		if (refs[i] >= NPAGES || refs[i] != refs[0] + (vbd_gref_t)i)
			goto bad;
		if (refs[i] == RO_REF && (prot & PROT_WRITE))
			goto bad;
	}
	live_maps += count;
	return pages + (size_t)refs[0] * 4096;
bad:
	errno = EINVAL;
	return NULL;
}
static int fgt_unmap(struct vbd_gnttab *h, void *addr, int count)
{
	(void)h;
	(void)addr;
	live_maps -= count;
	return 0;
}
static const struct vbd_gnttab_ops fake_gt = {fgt_open, fgt_close, fgt_map, fgt_unmap};

/* the queue binds guest 5's port 17 as port 3; fd set to an eventfd */
#define FAKE_EVTCHN_INIT                                                                           \
	{                                                                                          \
		.remote = 5, .remote_port = 17, .local = 3, .fd = -1                               \
	}
#include "fake_evtchn.h"

static const struct vbd_platform fake_plat = {
    .name = "fake", .evtchn = &fake_ev, .gnttab = &fake_gt};

/* ---- the frontend side of the synthetic ring ---------------------------- */
static blkif_front_ring_t fr;
static struct vbd_queue *q;
static struct vbd_backing backing;
/* every queue's engine is wrapped in one fault rule, switched on and off by
 * set_eio() (a rule whose last sector is before its first matches nothing) */
static struct vbd_io_wrap wrap;

static void set_eio(uint64_t first, uint64_t last)
{
	wrap.faults.rule[0].first = first;
	wrap.faults.rule[0].last = last;
}

static void post(const void *req)
{
	memcpy(RING_GET_REQUEST(&fr, fr.req_prod_pvt), req, sizeof(struct blkif_request));
	fr.req_prod_pvt++;
	RING_PUSH_REQUESTS(&fr);
}

/* Run the data path until a response arrives (or the queue goes idle with
 * nothing in flight: then there is none). */
static int get_response(struct blkif_response *out)
{
	for (int spins = 0; spins < 100000; spins++) {
		if (RING_HAS_UNCONSUMED_RESPONSES(&fr)) {
			*out = *RING_GET_RESPONSE(&fr, fr.rsp_cons);
			fr.rsp_cons++;
			return 1;
		}
		if (!vbdq_run_once(q) && q->inflight == 0 && !RING_HAS_UNCONSUMED_RESPONSES(&fr))
			return 0;
		if (q->inflight) {
			struct pollfd p = {.fd = q->eng->ops->fd(q->eng), .events = POLLIN};
			if (p.fd >= 0)
				poll(&p, 1, 1000);
		}
	}
	return 0;
}

static int16_t do_req(const void *req, uint64_t id, uint8_t want_op)
{
	struct blkif_response rsp;

	post(req);
	if (!get_response(&rsp)) {
		check_failf("FAIL: no response for request %#llx\n", (unsigned long long)id);
		return 99;
	}
	CHECK(rsp.id == id, "response id %#llx, want %#llx", (unsigned long long)rsp.id,
	      (unsigned long long)id);
	CHECK(rsp.operation == want_op, "response op %u, want %u", rsp.operation, want_op);
	return rsp.status;
}

static struct blkif_request rw(uint8_t op, uint64_t id, uint64_t sector, int nsegs, vbd_gref_t ref0)
{
	struct blkif_request r;

	memset(&r, 0, sizeof(r));
	r.operation = op;
	r.id = id;
	r.nr_segments = (uint8_t)nsegs;
	r.sector_number = sector;
	for (int i = 0; i < nsegs && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		r.seg[i].gref = ref0 + (vbd_gref_t)i;
		r.seg[i].first_sect = 0;
		r.seg[i].last_sect = 7;
	}
	return r;
}

static struct blkif_request indirect(uint8_t op, uint64_t id, uint64_t sector, int nsegs,
				     vbd_gref_t ind_ref)
{
	struct blkif_request r;
	struct blkif_request_indirect *ind = (struct blkif_request_indirect *)&r;

	memset(&r, 0, sizeof(r));
	ind->operation = BLKIF_OP_INDIRECT;
	ind->indirect_op = op;
	ind->id = id;
	ind->nr_segments = (uint16_t)nsegs;
	ind->sector_number = sector;
	ind->indirect_grefs[0] = ind_ref;
	return r;
}

static void fill(vbd_gref_t ref, uint8_t v)
{
	memset(pages + (size_t)ref * 4096, v, 4096);
}

static int page_is(vbd_gref_t ref, uint8_t v)
{
	const uint8_t *p = pages + (size_t)ref * 4096;
	for (int i = 0; i < 4096; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static unsigned setup_poll_us; /* the next queue's polling window (0: none) */

static void setup_queue(enum vbd_engine_kind kind, const char *file)
{
	struct vbdq_config cfg;
	blkif_sring_t *sring = (blkif_sring_t *)pages;
	int r;

	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&fr, sring, 4096);
	memset(&cfg, 0, sizeof(cfg));
	cfg.guest = 5;
	cfg.devid = 1;
	cfg.qidx = 0;
	cfg.epoch = 1;
	cfg.order = 0;
	cfg.ring_refs[0] = 0;
	cfg.remote_port = 17;
	cfg.backing = &backing;
	cfg.engine = kind;
	cfg.wrap = &wrap;
	cfg.plat = &fake_plat;
	cfg.report_fd = -1;
	cfg.max_grants = 8; /* small: exercise transient mappings too */
	cfg.poll_us = setup_poll_us;
	r = vbd_backing_open(&backing, file, VOL_BYTES, 0);
	if (r == -EINVAL) /* no O_DIRECT on this file system */
		r = vbd_backing_open(&backing, file, VOL_BYTES, 1);
	CHECK(r == 0, "backing open: %s", strerror(-r));
	r = vbdq_create(&cfg, &q);
	CHECK(r == 0, "vbdq_create: %s", strerror(-r));
	if (r)
		exit(1);
	CHECK(!strncmp(q->eng->name, "fault+", 6), "engine %s is not wrapped", q->eng->name);
}

static void teardown_queue(void)
{
	vbdq_destroy(q);
	q = NULL;
	vbd_backing_close(&backing);
	CHECK(live_maps == 0, "%d grant mappings left after destroy", live_maps);
}

static void test_bad_requests(void)
{
	struct blkif_request r;
	struct blkif_request_discard *d = (struct blkif_request_discard *)&r;
	struct blkif_request_segment *ind_page = (void *)(pages + 30 * 4096);

	/* read/write segment counts */
	r = rw(BLKIF_OP_READ, 0x100, 0, 0, 1);
	CHECK(do_req(&r, 0x100, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "0 segments");
	r = rw(BLKIF_OP_WRITE, 0x101, 0, 11, 1);
	r.nr_segments = 12;
	CHECK(do_req(&r, 0x101, BLKIF_OP_WRITE) == BLKIF_RSP_ERROR, "12 direct segments");
	/* segment sectors */
	r = rw(BLKIF_OP_READ, 0x102, 0, 1, 1);
	r.seg[0].first_sect = 5;
	r.seg[0].last_sect = 4;
	CHECK(do_req(&r, 0x102, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "first > last");
	r = rw(BLKIF_OP_READ, 0x103, 0, 1, 1);
	r.seg[0].last_sect = 8;
	CHECK(do_req(&r, 0x103, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "last_sect 8");
	/* sector range */
	r = rw(BLKIF_OP_READ, 0x104, VOL_SECT - 7, 1, 1);
	CHECK(do_req(&r, 0x104, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "past the end");
	r = rw(BLKIF_OP_WRITE, 0x105, UINT64_MAX - 3, 1, 1);
	CHECK(do_req(&r, 0x105, BLKIF_OP_WRITE) == BLKIF_RSP_ERROR, "sector overflow");
	r = rw(BLKIF_OP_READ, 0x106, VOL_SECT - 8, 1, 1);
	CHECK(do_req(&r, 0x106, BLKIF_OP_READ) == BLKIF_RSP_OKAY, "last 8 sectors");
	/* grant refs */
	r = rw(BLKIF_OP_READ, 0x107, 0, 2, 1);
	r.seg[1].gref = BAD_REF;
	CHECK(do_req(&r, 0x107, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "bad gref");
	r = rw(BLKIF_OP_READ, 0x108, 0, 1, RO_REF);
	CHECK(do_req(&r, 0x108, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "read into a read-only grant");
	r = rw(BLKIF_OP_WRITE, 0x109, 0, 1, RO_REF);
	CHECK(do_req(&r, 0x109, BLKIF_OP_WRITE) == BLKIF_RSP_OKAY, "write from a read-only grant");
	/* operations */
	r = rw(42, 0x10a, 0, 1, 1);
	CHECK(do_req(&r, 0x10a, 42) == BLKIF_RSP_EOPNOTSUPP, "unknown op");
	r = rw(BLKIF_OP_WRITE_BARRIER, 0x10b, 0, 1, 1);
	CHECK(do_req(&r, 0x10b, BLKIF_OP_WRITE_BARRIER) == BLKIF_RSP_EOPNOTSUPP, "barrier");
	r = rw(BLKIF_OP_RESERVED_1, 0x10c, 0, 1, 1);
	CHECK(do_req(&r, 0x10c, BLKIF_OP_RESERVED_1) == BLKIF_RSP_EOPNOTSUPP, "reserved op");
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 0x10d, 0, 1, 1);
	CHECK(do_req(&r, 0x10d, BLKIF_OP_FLUSH_DISKCACHE) == BLKIF_RSP_ERROR, "flush with data");
	/* discard */
	memset(&r, 0, sizeof(r));
	d->operation = BLKIF_OP_DISCARD;
	d->id = 0x10e;
	d->sector_number = VOL_SECT - 8;
	d->nr_sectors = 9;
	CHECK(do_req(&r, 0x10e, BLKIF_OP_DISCARD) == BLKIF_RSP_ERROR, "discard past the end");
	d->id = 0x10f;
	d->nr_sectors = 8;
	d->flag = BLKIF_DISCARD_SECURE;
	CHECK(do_req(&r, 0x10f, BLKIF_OP_DISCARD) == BLKIF_RSP_EOPNOTSUPP, "secure discard");
	/* indirect */
	r = indirect(BLKIF_OP_READ, 0x110, 0, 0, 30);
	CHECK(do_req(&r, 0x110, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "indirect 0 segments");
	r = indirect(BLKIF_OP_READ, 0x111, 0, VBD_MAX_INDIRECT_SEGS + 1, 30);
	CHECK(do_req(&r, 0x111, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "indirect 257 segments");
	r = indirect(BLKIF_OP_FLUSH_DISKCACHE, 0x112, 0, 1, 30);
	CHECK(do_req(&r, 0x112, BLKIF_OP_INDIRECT) == BLKIF_RSP_ERROR, "indirect flush");
	r = indirect(BLKIF_OP_READ, 0x113, 0, 1, BAD_REF);
	CHECK(do_req(&r, 0x113, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "bad indirect gref");
	memset(ind_page, 0, 4096);
	for (int i = 0; i < 4; i++)
		ind_page[i] = (struct blkif_request_segment){
		    .gref = 1 + (vbd_gref_t)i, .first_sect = 0, .last_sect = 7};
	ind_page[2].last_sect = 9;
	r = indirect(BLKIF_OP_READ, 0x114, 0, 4, 30);
	CHECK(do_req(&r, 0x114, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "bad indirect segment");
	ind_page[2].last_sect = 7;
	ind_page[3].gref = BAD_REF;
	r = indirect(BLKIF_OP_WRITE, 0x115, 0, 4, 30);
	CHECK(do_req(&r, 0x115, BLKIF_OP_WRITE) == BLKIF_RSP_ERROR, "bad gref in indirect page");
	ind_page[3].gref = 4;
	r = indirect(BLKIF_OP_WRITE, 0x116, VOL_SECT - 31, 4, 30);
	CHECK(do_req(&r, 0x116, BLKIF_OP_WRITE) == BLKIF_RSP_ERROR, "indirect past the end");
	CHECK(q->inflight == 0, "nothing in flight after bad requests");
}

static void test_good_requests(void)
{
	struct blkif_request r;
	struct blkif_request_discard *d = (struct blkif_request_discard *)&r;
	struct blkif_request_segment *ind_page = (void *)(pages + 31 * 4096);
	int null = backing.fd < 0;

	/* direct write of 3 pages at sector 16, read back into other pages */
	fill(1, 0xa1);
	fill(2, 0xa2);
	fill(3, 0xa3);
	r = rw(BLKIF_OP_WRITE, 0x200, 16, 3, 1);
	CHECK(do_req(&r, 0x200, BLKIF_OP_WRITE) == BLKIF_RSP_OKAY, "write");
	fill(11, 0);
	fill(12, 0);
	fill(13, 0);
	r = rw(BLKIF_OP_READ, 0x201, 16, 3, 11);
	CHECK(do_req(&r, 0x201, BLKIF_OP_READ) == BLKIF_RSP_OKAY, "read");
	if (!null)
		CHECK(page_is(11, 0xa1) && page_is(12, 0xa2) && page_is(13, 0xa3),
		      "read back what was written");
	else
		CHECK(page_is(11, 0) && page_is(12, 0), "null store reads zeroes");
	/* partial segment: sectors 2..3 of a page */
	fill(14, 0x55);
	r = rw(BLKIF_OP_WRITE, 0x202, 100, 1, 14);
	r.seg[0].first_sect = 2;
	r.seg[0].last_sect = 3;
	CHECK(do_req(&r, 0x202, BLKIF_OP_WRITE) == BLKIF_RSP_OKAY, "partial write");
	/* flush */
	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_FLUSH_DISKCACHE;
	r.id = 0x203;
	CHECK(do_req(&r, 0x203, BLKIF_OP_FLUSH_DISKCACHE) == BLKIF_RSP_OKAY, "flush");
	/* indirect write of 20 segments (refs 1..20), then indirect read into 41..60 */
	memset(ind_page, 0, 4096);
	for (int i = 0; i < 20; i++) {
		fill(1 + (vbd_gref_t)i, (uint8_t)(0x10 + i));
		ind_page[i] = (struct blkif_request_segment){
		    .gref = 1 + (vbd_gref_t)i, .first_sect = 0, .last_sect = 7};
	}
	r = indirect(BLKIF_OP_WRITE, 0x204, 512, 20, 31);
	CHECK(do_req(&r, 0x204, BLKIF_OP_WRITE) == BLKIF_RSP_OKAY, "indirect write");
	for (int i = 0; i < 20; i++) {
		fill(41 + (vbd_gref_t)i, 0xee);
		ind_page[i].gref = 41 + (vbd_gref_t)i;
	}
	r = indirect(BLKIF_OP_READ, 0x205, 512, 20, 31);
	CHECK(do_req(&r, 0x205, BLKIF_OP_READ) == BLKIF_RSP_OKAY, "indirect read");
	if (!null)
		for (int i = 0; i < 20; i++)
			CHECK(page_is(41 + (vbd_gref_t)i, (uint8_t)(0x10 + i)),
			      "indirect segment %d read back", i);
	/* discard then read: zeroes (files punch holes) */
	memset(&r, 0, sizeof(r));
	d->operation = BLKIF_OP_DISCARD;
	d->id = 0x206;
	d->sector_number = 512;
	d->nr_sectors = 8;
	CHECK(do_req(&r, 0x206, BLKIF_OP_DISCARD) == BLKIF_RSP_OKAY, "discard");
	fill(41, 0xee);
	r = rw(BLKIF_OP_READ, 0x207, 512, 1, 41);
	CHECK(do_req(&r, 0x207, BLKIF_OP_READ) == BLKIF_RSP_OKAY, "read after discard");
	CHECK(page_is(41, 0), "discarded range reads zeroes");
	/* persistent grants: refs are mapped once */
	map_calls = 0;
	for (int i = 0; i < 10; i++) {
		r = rw(BLKIF_OP_READ, 0x300 + (uint64_t)i, 0, 2, 1);
		CHECK(do_req(&r, 0x300 + (uint64_t)i, BLKIF_OP_READ) == BLKIF_RSP_OKAY, "reuse");
	}
	CHECK(map_calls == 0, "persistent refs remapped %d times", map_calls);
	CHECK(q->gc.count <= 8, "grant cache over its limit: %u", q->gc.count);
	CHECK(q->gc.transient > 0, "beyond the limit refs are mapped per request");
}

static void test_eio(void)
{
	struct blkif_request r;
	struct blkif_response rsp;

	set_eio(1000, 1007);
	r = rw(BLKIF_OP_WRITE, 0x400, 1000, 1, 1);
	post(&r);
	CHECK(!get_response(&rsp), "EIO must not be answered while the member can hand off");
	CHECK(vbdq_status(q) & VBDQ_ST_EIO, "EIO reported to the control thread");
	CHECK(q->held == 1, "request held");
	/* other requests still served */
	r = rw(BLKIF_OP_READ, 0x401, 0, 1, 1);
	CHECK(do_req(&r, 0x401, BLKIF_OP_READ) == BLKIF_RSP_OKAY, "others keep being served");
	/* the path works: the control thread has the holds up to the sequence
	 * it took up tried once more, and only those; held again (EIO again:
	 * a media error), the next verdict answers them with ERROR */
	{
		uint64_t upto = atomic_load(&q->eio_seq);

		r = rw(BLKIF_OP_READ, 0x403, 1002, 1, 1);
		post(&r);
		CHECK(!get_response(&rsp) && q->held == 2, "a second request held");
		atomic_store(&q->answer_upto, upto);
		CHECK(!get_response(&rsp) && q->held == 2,
		      "the first tried once more, held again; the later one untouched");
		atomic_store(&q->answer_upto, atomic_load(&q->eio_seq));
		CHECK(get_response(&rsp) && rsp.id == 0x400 && rsp.status == BLKIF_RSP_ERROR,
		      "media error: EIO again after the retry, answered with ERROR");
		CHECK(!get_response(&rsp) && q->held == 1, "the later one tried once more, held");
		atomic_store(&q->answer_upto, atomic_load(&q->eio_seq));
		CHECK(get_response(&rsp) && rsp.id == 0x403 && rsp.status == BLKIF_RSP_ERROR,
		      "then the later one, once taken up again");
		CHECK(q->held == 0, "nothing held");
	}
	/* a path that failed for a moment: EIO, held; the path works again
	 * before the check (the rule is off): the retry succeeds, no error */
	r = rw(BLKIF_OP_WRITE, 0x404, 1000, 1, 1);
	post(&r);
	CHECK(!get_response(&rsp) && q->held == 1, "held");
	set_eio(1, 0);
	atomic_store(&q->answer_upto, atomic_load(&q->eio_seq));
	CHECK(get_response(&rsp) && rsp.id == 0x404 && rsp.status == BLKIF_RSP_OKAY,
	      "a transient EIO: the retry answers OKAY (status %d)", rsp.status);
	CHECK(q->held == 0, "nothing held");
	set_eio(1000, 1007);
	r = rw(BLKIF_OP_WRITE, 0x400, 1000, 1, 1);
	post(&r);
	CHECK(!get_response(&rsp) && q->held == 1, "held again");
	/* no other member: failed mode answers ERROR */
	vbdq_command(q, VBDQ_CMD_FAILED, 0);
	CHECK(get_response(&rsp) && rsp.id == 0x400 && rsp.status == BLKIF_RSP_ERROR,
	      "held request answered with ERROR in failed mode");
	r = rw(BLKIF_OP_READ, 0x402, 1004, 1, 1);
	CHECK(do_req(&r, 0x402, BLKIF_OP_READ) == BLKIF_RSP_ERROR, "failed mode: EIO -> ERROR");
	vbdq_command(q, 0, VBDQ_CMD_FAILED);
	set_eio(1, 0);
}

static void test_drain(void)
{
	struct blkif_request r;
	struct blkif_response rsp;

	vbdq_command(q, VBDQ_CMD_DRAIN, 0);
	r = rw(BLKIF_OP_READ, 0x500, 0, 1, 1);
	post(&r);
	CHECK(!get_response(&rsp), "a draining queue consumes nothing new");
	CHECK(vbdq_drained(q), "drained reported");
	vbdq_command(q, 0, VBDQ_CMD_DRAIN);
	CHECK(!vbdq_drained(q), "undrain clears drained");
	CHECK(get_response(&rsp) && rsp.id == 0x500 && rsp.status == 0,
	      "after undrain the request is served");
	/* a drain completed earlier never counts for the next one */
	vbdq_command(q, VBDQ_CMD_DRAIN, 0);
	CHECK(!vbdq_drained(q), "a new drain starts undrained");
	vbdq_run_once(q);
	CHECK(vbdq_drained(q), "and completes once nothing is in flight");
	vbdq_command(q, 0, VBDQ_CMD_DRAIN);
}

static void test_hostile(void)
{
	struct blkif_request r = rw(BLKIF_OP_READ, 0x600, 0, 1, 1);
	struct blkif_response rsp;
	RING_IDX before = fr.sring->rsp_prod;

	post(&r);
	fr.sring->req_prod += RING_SIZE(&fr) + 3; /* overrun */
	CHECK(!get_response(&rsp), "no response on a hostile ring");
	CHECK(vbdq_status(q) & VBDQ_ST_HOSTILE, "hostile ring reported");
	CHECK(fr.sring->rsp_prod == before, "nothing written to a hostile ring");
	CHECK(vbdq_run_once(q) == 0, "a dropped ring is not served");
}

static void test_backwards(void)
{
	struct blkif_request r = rw(BLKIF_OP_READ, 0x650, 0, 1, 1);
	struct blkif_request r2 = rw(BLKIF_OP_READ, 0x651, 0, 1, 1);
	struct blkif_response rsp;

	/* one request in flight (held by EIO) keeps rsp_prod_pvt behind */
	set_eio(0, 7);
	post(&r);
	CHECK(!get_response(&rsp), "held");
	post(&r2);
	get_response(&rsp);
	fr.sring->req_prod -= 1; /* behind what was consumed, ahead of the answers */
	CHECK(!get_response(&rsp), "no response on a ring whose req_prod moved back");
	CHECK(vbdq_status(q) & VBDQ_ST_HOSTILE, "req_prod moving back is hostile");
	set_eio(1, 0);
}

static void test_ring_full(void)
{
	/* a frontend that posts exactly a ring's worth is fine */
	struct blkif_response rsp;
	unsigned n = RING_SIZE(&fr), got = 0;

	for (unsigned i = 0; i < n; i++) {
		struct blkif_request r = rw(BLKIF_OP_READ, 0x700 + i, 8 * i, 1, 1 + (i % 8));
		memcpy(RING_GET_REQUEST(&fr, fr.req_prod_pvt), &r, sizeof(r));
		fr.req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(&fr);
	while (got < n && get_response(&rsp)) {
		CHECK(rsp.status == BLKIF_RSP_OKAY, "full ring request %#llx failed",
		      (unsigned long long)rsp.id);
		got++;
	}
	CHECK(got == n, "full ring: %u of %u answered", got, n);
	CHECK(!(vbdq_status(q) & VBDQ_ST_HOSTILE), "a full ring is not hostile");
}

/* Random requests: each gets exactly one well-formed answer, nothing
 * crashes (run under ASan/UBSan by make check). */
static void test_random(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	unsigned answered = 0, okay = 0;
#define RND() (rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17, rng)

	for (unsigned i = 0; i < 3000; i++) {
		struct blkif_request r;
		struct blkif_response rsp;
		uint8_t *raw = (uint8_t *)&r;
		struct blkif_request_segment *ind = (void *)(pages + 30 * 4096);

		for (unsigned k = 0; k < sizeof(r); k++)
			raw[k] = (uint8_t)RND();
		r.id = 0x10000 + i;
		switch (RND() % 4) { /* mostly plausible operations */
		case 0:
			r.operation = (uint8_t)(RND() % 8);
			break;
		default:
			r.operation = (uint8_t)(RND() % 2 ? BLKIF_OP_INDIRECT : RND() % 2);
		}
		r.nr_segments = (uint8_t)(RND() % 14);
		r.sector_number = RND() % 3 ? RND() % (VOL_SECT + 64) : RND();
		for (unsigned k = 0; k < BLKIF_MAX_SEGMENTS_PER_REQUEST; k++) {
			r.seg[k].gref = 1 + (vbd_gref_t)(RND() % (NPAGES + 4)); /* never the ring */
			r.seg[k].first_sect = (uint8_t)(RND() % 9);
			r.seg[k].last_sect = (uint8_t)(RND() % 9);
		}
		if (r.operation == BLKIF_OP_INDIRECT) {
			struct blkif_request_indirect *h = (void *)&r;
			h->indirect_op = (uint8_t)(RND() % 3);
			h->nr_segments = (uint16_t)(RND() % 300);
			h->sector_number = RND() % (VOL_SECT + 64);
			h->indirect_grefs[0] = RND() % 8 ? 30 : (vbd_gref_t)RND();
			for (unsigned k = 0; k < 512; k++) {
				ind[k].gref = 1 + (vbd_gref_t)(RND() % (NPAGES + 4));
				ind[k].first_sect = (uint8_t)(RND() % 9);
				ind[k].last_sect = (uint8_t)(RND() % 9);
			}
			ind[0].gref = 1 + (vbd_gref_t)(RND() % 29); /* keep page 30 unchanged */
			for (unsigned k = 0; k < 512; k++)
				if (ind[k].gref == 30)
					ind[k].gref = 31;
		}
		post(&r);
		if (!get_response(&rsp)) {
			check_failf("FAIL: random request %u (op %u) not answered\n", i,
				    r.operation);
			return;
		}
		CHECK(rsp.id == r.id, "random request %u: answer id %#llx", i,
		      (unsigned long long)rsp.id);
		CHECK(rsp.status == BLKIF_RSP_OKAY || rsp.status == BLKIF_RSP_ERROR ||
			  rsp.status == BLKIF_RSP_EOPNOTSUPP,
		      "random request %u: status %d", i, rsp.status);
		answered++;
		okay += rsp.status == BLKIF_RSP_OKAY;
	}
	printf("random: %u answered, %u okay\n", answered, okay);
	CHECK(!(vbdq_status(q) & VBDQ_ST_HOSTILE), "random requests are not a hostile ring");
	CHECK(answered == 3000, "answered %u", answered);
#undef RND
}

/* The inline engine reaps its io_uring after every batch; with nothing
 * outstanding there that costs no system call, so the completion eventfd
 * must be left clear once the last large I/O is reaped (a signal that
 * lands after the reap's read would otherwise leave it readable for ever:
 * the data thread's poll would spin).  Reaps one at a time, spinning, so
 * that completions race the reaps. */
static void test_inline_idle(const char *file)
{
	enum { BIG = 128 * 1024, ROUNDS = 4000 };
	static char buf[BIG];
	struct iovec iov = {buf, BIG}, small = {buf, 4096};
	struct vbd_io io[3], *out[3];
	struct vbd_engine *e;
	int stale = 0, lost = 0, r = vbd_backing_open(&backing, file, VOL_BYTES, 1);

	CHECK(r == 0, "backing open: %s", strerror(-r));
	e = vbd_engine_create(VBD_ENGINE_INLINE, &backing, 32, NULL);
	CHECK(e && !strcmp(e->name, "inline+io_uring"), "engine %s", e ? e->name : "none");
	if (!e) {
		vbd_backing_close(&backing);
		return;
	}
	for (int round = 0; round < ROUNDS; round++) {
		int got = 0;

		for (int i = 0; i < 3; i++) {
			io[i] = (struct vbd_io){.op = VBD_IO_WRITE,
						.iov = i == 2 ? &small : &iov,
						.iovcnt = 1,
						.off = (uint64_t)(round % 4 * 2 + i) * BIG,
						.len = i == 2 ? 4096 : BIG,
						.res = 1};
			CHECK(e->ops->submit(e, &io[i]) == 0, "submit %d", i);
		}
		CHECK(e->ops->commit(e) == 0, "commit");
		for (long spins = 0; got < 3 && spins < 50000000; spins++)
			got += e->ops->reap(e, out + got, 1);
		if (got < 3) {
			lost++;
			break;
		}
		/* the kernel may signal the last completion just after its CQE
		 * was reaped: one more reap (nothing outstanding) must leave
		 * the eventfd clear, so the data thread does not spin on it */
		if (poll(&(struct pollfd){.fd = e->ops->fd(e), .events = POLLIN}, 1, 0) != 0 &&
		    (e->ops->reap(e, out, 3) != 0 ||
		     poll(&(struct pollfd){.fd = e->ops->fd(e), .events = POLLIN}, 1, 0) != 0))
			stale++;
		for (int i = 0; i < 3; i++)
			CHECK(io[i].res == 0, "round %d: write %d: %d", round, i, io[i].res);
	}
	CHECK(!lost, "every write completes");
	CHECK(stale == 0, "completion eventfd readable with nothing outstanding in %d of %d rounds",
	      stale, ROUNDS);
	CHECK(e->ops->reap(e, out, 3) == 0, "nothing more to reap");
	e->ops->destroy(e);
	vbd_backing_close(&backing);
}

/* The data thread polls the ring before it sleeps without asking for an
 * event (the frontend does not notify a member that looks anyway), and
 * asks for one (req_event) before it sleeps: a request pushed to a
 * sleeping member must request a notify and be answered.  Half the
 * rounds push at once after the last response (the member is likely
 * polling), half once the member asked for an event. */
static void test_thread_wakeup(const char *file)
{
	enum { ROUNDS = 60 };
	blkif_sring_t *sring = (blkif_sring_t *)pages;
	int answered = 0, armed = 0;

	setup_poll_us = 50;
	setup_queue(VBD_ENGINE_INLINE, file);
	setup_poll_us = 0;
	CHECK(vbdq_start(q) == 0, "data thread");
	for (int i = 0; i < ROUNDS; i++) {
		struct blkif_request r =
		    rw(BLKIF_OP_WRITE, 0x900 + (uint64_t)i, (uint64_t)i * 8, 1, 1);
		uint64_t junk;
		int notify, got = 0;

		if (i % 2) { /* wait until the member asked for an event */
			for (int t = 0;
			     t < 5000 && __atomic_load_n(&sring->req_event, __ATOMIC_ACQUIRE) !=
					     fr.req_prod_pvt + 1;
			     t++)
				usleep(1000);
			armed += __atomic_load_n(&sring->req_event, __ATOMIC_ACQUIRE) ==
				 fr.req_prod_pvt + 1;
		}
		if (read(fake_evtchn.fd, &junk, sizeof(junk)) < 0) {
			/* EAGAIN: clear already */
		}
		memcpy(RING_GET_REQUEST(&fr, fr.req_prod_pvt), &r, sizeof(r));
		fr.req_prod_pvt++;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fr, notify);
		if (notify && eventfd_write(fake_evtchn.fd, 1) < 0)
			check_failf("FAIL: notify: %s\n", strerror(errno));
		for (int t = 0; t < 5000 && !got; t++) {
			if (RING_HAS_UNCONSUMED_RESPONSES(&fr)) {
				CHECK(RING_GET_RESPONSE(&fr, fr.rsp_cons)->id == r.id,
				      "round %d id", i);
				fr.rsp_cons++;
				got = 1;
			} else {
				usleep(1000);
			}
		}
		answered += got;
		if (!got)
			break;
	}
	CHECK(armed == ROUNDS / 2,
	      "the member asked for an event before sleeping in %d of %d "
	      "idle rounds",
	      armed, ROUNDS / 2);
	CHECK(answered == ROUNDS, "%d of %d requests answered by the data thread", answered,
	      ROUNDS);
	teardown_queue();
}

/* Flushes share fdatasyncs.  Flush F1 goes to the engine (each engine
 * flush takes 20 ms: fault rule 1); a write W completes and F2..F8 arrive
 * while F1 runs.  F1 started before W completed, so it must not answer
 * F2..F8: they wait for one more engine flush, which answers all seven.
 * Then four flushes in one batch with every engine flush failing (rule
 * 2): the first runs and fails; the three parked behind it go to the
 * engine as one, which fails too; all four are held (EIO policy), and
 * failed mode answers them. */
static struct blkif_request flush_req(uint64_t id)
{
	struct blkif_request r;

	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_FLUSH_DISKCACHE;
	r.id = id;
	return r;
}

static void test_flush_merge(void)
{
	struct blkif_request r;
	struct blkif_response rsp;
	uint64_t delayed0 = atomic_load(&wrap.faults.delayed), merged0 = q->flushes_merged;
	uint64_t failed0 = atomic_load(&wrap.faults.failed);
	unsigned answered = 0, flushes_before_f1 = 0;
	int f1_seen = 0, w_ok = 0;

	wrap.faults.rule[1].ops = 1u << VBD_IO_FLUSH;
	r = flush_req(0xa00);
	post(&r);
	vbdq_run_once(q);
	CHECK(q->flush_cur != NULL, "the first flush is in the engine");
	/* the member's watch for a hanging path sees it (heartbeat.c) */
	CHECK(vbdq_io_waiting_since(q) != 0 && vbdq_io_waiting_since(q) <= vbd_now_ns(),
	      "a request in the engine: waiting since %llu",
	      (unsigned long long)vbdq_io_waiting_since(q));
	r = rw(BLKIF_OP_WRITE, 0xa01, 16, 1, 1);
	post(&r);
	for (uint64_t id = 0xa02; id <= 0xa08; id++) {
		r = flush_req(id);
		post(&r);
	}
	while (answered < 9 && get_response(&rsp)) {
		answered++;
		if (rsp.id == 0xa00)
			f1_seen = 1;
		else if (rsp.id == 0xa01)
			w_ok = rsp.status == BLKIF_RSP_OKAY;
		else if (!f1_seen)
			flushes_before_f1++;
		CHECK(rsp.status == BLKIF_RSP_OKAY, "request %#llx: status %d",
		      (unsigned long long)rsp.id, rsp.status);
	}
	CHECK(answered == 9 && f1_seen && w_ok, "all nine answered (%u)", answered);
	CHECK(vbdq_io_waiting_since(q) == 0, "nothing in the engine, yet waiting since %llu",
	      (unsigned long long)vbdq_io_waiting_since(q));
	CHECK(flushes_before_f1 == 0, "%u later flush(es) answered before the first finished",
	      flushes_before_f1);
	CHECK(atomic_load(&wrap.faults.delayed) - delayed0 == 2,
	      "8 flushes took %llu engine flushes, want 2",
	      (unsigned long long)(atomic_load(&wrap.faults.delayed) - delayed0));
	CHECK(q->flushes_merged - merged0 == 6, "%llu flushes merged, want 6",
	      (unsigned long long)(q->flushes_merged - merged0));
	wrap.faults.rule[1].ops = 0;

	/* a failing flush: its riders share its EIO */
	wrap.faults.rule[2].ops = 1u << VBD_IO_FLUSH;
	wrap.faults.rule[1].ops = 1u << VBD_IO_FLUSH;  /* (an EIO rule wins: no delay) */
	for (uint64_t id = 0xa10; id <= 0xa13; id++) { /* one batch: 0xa10 runs, 3 park */
		r = flush_req(id);
		post(&r);
	}
	CHECK(!get_response(&rsp), "a failed flush is held, not answered");
	CHECK(q->held == 4, "the flush and the three parked behind it held (%u)", q->held);
	CHECK(vbdq_io_waiting_since(q) == 0, "held requests are not in the engine (since %llu)",
	      (unsigned long long)vbdq_io_waiting_since(q));
	CHECK(atomic_load(&wrap.faults.failed) - failed0 == 2,
	      "4 flushes took %llu engine flushes, want 2",
	      (unsigned long long)(atomic_load(&wrap.faults.failed) - failed0));
	vbdq_command(q, VBDQ_CMD_FAILED, 0);
	answered = 0;
	while (get_response(&rsp)) {
		CHECK(rsp.status == BLKIF_RSP_ERROR, "held flush %#llx answered %d",
		      (unsigned long long)rsp.id, rsp.status);
		answered++;
	}
	CHECK(answered == 4, "failed mode answered %u of 4 flushes", answered);
	vbdq_command(q, 0, VBDQ_CMD_FAILED);
	wrap.faults.rule[1].ops = 0;
	wrap.faults.rule[2].ops = 0;
}

static void run_suite(enum vbd_engine_kind kind, const char *file, const char *name)
{
	int before = check_failures;

	if (!strcmp(name, "null")) { /* a fresh queue for the req_prod-backwards case */
		setup_queue(kind, file);
		test_backwards();
		teardown_queue();
	}
	setup_queue(kind, file);
	test_bad_requests();
	test_good_requests();
	test_ring_full();
	test_random();
	test_eio();
	test_flush_merge();
	test_drain();
	test_hostile();
	teardown_queue();
	printf("%s: %s\n", name, check_failures == before ? "ok" : "FAILED");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], file[300];
	int fd;

	snprintf(dir, sizeof(dir), "%s/vbd-breq.XXXXXX", tmp && *tmp ? tmp : "/tmp");

	vbd_log_init("backend_request");
	pages = mmap(NULL, (size_t)NPAGES * 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fake_evtchn.fd = eventfd(0, EFD_NONBLOCK);
	if (pages == MAP_FAILED || fake_evtchn.fd < 0 || !mkdtemp(dir))
		return 1;
	snprintf(file, sizeof(file), "%s/disk", dir);
	fd = open(file, O_CREAT | O_RDWR, 0600);
	if (fd < 0 || ftruncate(fd, VOL_BYTES) < 0)
		return 1;
	close(fd);

	{
		char err[128];
		int r = vbd_fault_parse(&wrap.faults, "eio:sectors=1-2", err, sizeof(err));

		CHECK(r == 0, "fault rule: %s", err);
		set_eio(1, 0); /* off */
		/* rules 1 and 2, test_flush_merge's: switched on by their ops */
		r = vbd_fault_parse(&wrap.faults, "delay:us=20000,op=flush", err, sizeof(err));
		CHECK(r == 0, "fault rule: %s", err);
		r = vbd_fault_parse(&wrap.faults, "eio:op=flush", err, sizeof(err));
		CHECK(r == 0, "fault rule: %s", err);
		wrap.faults.rule[1].ops = 0;
		wrap.faults.rule[2].ops = 0;
	}
	run_suite(VBD_ENGINE_URING, file, "io_uring");
	run_suite(VBD_ENGINE_THREADS, file, "threads");
	run_suite(VBD_ENGINE_INLINE, file, "inline");
	run_suite(VBD_ENGINE_NULL, NULL, "null");
	test_inline_idle(file);
	test_thread_wakeup(file);

	/* io_uring that cannot be set up (a depth it refuses) falls back to the
	 * thread pool; and with no wrap there is no wrapper */
	{
		struct vbd_engine *e;
		int r = vbd_backing_open(&backing, file, VOL_BYTES, 1);

		CHECK(r == 0, "backing open: %s", strerror(-r));
		e = vbd_engine_create(VBD_ENGINE_URING, &backing, 1u << 20, NULL);
		CHECK(e && !strcmp(e->name, "threads"), "fallback engine is %s",
		      e ? e->name : "none");
		if (e)
			e->ops->destroy(e);
		vbd_backing_close(&backing);
	}

	unlink(file);
	rmdir(dir);
	return check_done("backend_request");
}
