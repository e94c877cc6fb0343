/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the backend's data path (backend/dataplane/queue.c, ring.c,
 * request.c, grant_cache.c, the null and inline engines) against a hostile
 * frontend.  The harness is the frontend: the input is a small program that
 * writes request slots (raw bytes or shaped ones), req_prod values (honest,
 * stale, far ahead), scribbles over any byte of the shared ring, fills data
 * and indirect pages, injects EIO and steers the queue (drain, failed mode,
 * stop); RUN calls vbdq_run_once() like the queue's data thread does.
 *
 * Grants go through a fake gnttab (struct vbd_platform, as in
 * tests/unit/backend_request.c): refs 0..15 are the ring pages (a single-ref
 * map of one aliases the ring, as on Xen), refs 16..47 data pages, ref 47
 * granted read-only (mapped PROT_READ, so a backend write into it faults),
 * anything else fails.  Every data mapping is a fresh heap copy freed at
 * unmap, so ASan catches a page used after its (transient) unmap or an
 * access past a page.
 *
 * Invariants after each RUN: no more than a ring of requests consumed and
 * outstanding; every response answers a request consumed and not answered
 * yet, once, with the op the protocol says and a status the request
 * deserves (an independent model of the checks in docs/protocol.md);
 * consumed == answered + held; responses are published unless the ring was
 * found hostile, and nothing is published after that.  At the end failed
 * mode answers everything held, destroy leaves no mapping and no leak.
 *
 * Input (integers big-endian; missing bytes read as 0): order % 5,
 * max_grants % 40 (0: the default), flags (bit 0: inline engine on a
 * memfd; high nibble 15/14: the ring / event channel cannot be set up),
 * volume size in bytes (8), then commands, byte % 12:
 *   0 n: 1+n%8 raw request slots (112 bytes each), not published
 *   1 n: 1+n%16 shaped requests (see shaped_request()), published
 *   2: publish req_prod        3 v32: req_prod = v     4 d8: req_prod += d
 *   5: RUN                     6 page off16 n bytes: write a data page
 *   7 page n16 base step sect: fill an indirect page with segments
 *   8 c: set/clear DRAIN, FAILED (c & 0xf0 == 0xf0: STOP)
 *   9 first16 last16: EIO range   10 off24 n bytes: scribble on the ring
 *  11: re-arm req_event (RING_FINAL_CHECK_FOR_REQUESTS), RUN if more
 * fuzz/backend_seeds.py writes the seeds in fuzz/corpus-backend/.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "queue.h"
#include "vbdpool/log.h"
#include "fuzz_input.h"

#define CHECK(cond) FUZZ_INVARIANT(cond)

#define GUEST	  5
#define PORT	  17
#define LPORT	  3
#define RING_REFS (1u << VBD_MAX_RING_PAGE_ORDER) /* refs 0..15 */
#define DATA_REF0 RING_REFS
#define NDATA	  32
#define RO_REF	  (DATA_REF0 + NDATA - 1)
#define PG	  VBD_PAGE_SIZE
/* a ring's worth of requests may hold all their segments mapped at once */
#define MAXMAP		 ((1u << (VBD_MAX_RING_PAGE_ORDER + 5)) * (VBD_MAX_INDIRECT_SEGS + 1) + 1024)
#define HBUCKETS	 (1u << 16)
#define INLINE_MAX_BYTES (4u << 20)

/* ---- the fake grant table ---------------------------------------------- */
struct mapping {
	void *addr;
	int count;
	vbd_gref_t ref;
	uint8_t kind;	  /* 0 free, 1 ring, 2 ring alias, 3 heap copy, 4 read-only mmap */
	int hnext;	  /* hash chain by address */
	int lprev, lnext; /* the list of live mappings */
};
static struct mapping maps[MAXMAP];
static int freestk[MAXMAP], nfree;
static int hbucket[HBUCKETS];
static int live_head = -1;
static unsigned nmaps_live;
static uint8_t *ring_mem;     /* the shared ring, 2^order pages */
static unsigned ring_pages;   /* pages granted as ring */
static uint8_t *fpage[NDATA]; /* the frontend's data pages */

static unsigned hash_addr(const void *a)
{
	return (unsigned)(((uint64_t)(uintptr_t)a * 0x9e3779b97f4a7c15ull) >> 48) & (HBUCKETS - 1);
}

static void maps_init(void)
{
	for (unsigned i = 0; i < MAXMAP; i++)
		freestk[i] = (int)(MAXMAP - 1 - i);
	nfree = MAXMAP;
	for (unsigned i = 0; i < HBUCKETS; i++)
		hbucket[i] = -1;
}

/* Records a mapping at `addr` (set before the call). */
static struct mapping *add_mapping(void *addr, int count, vbd_gref_t ref, uint8_t kind)
{
	CHECK(nfree > 0);
	int i = freestk[--nfree];
	struct mapping *m = &maps[i];
	unsigned h = hash_addr(addr);

	*m = (struct mapping){addr, count, ref, kind, hbucket[h], -1, live_head};
	hbucket[h] = i;
	if (live_head >= 0)
		maps[live_head].lprev = i;
	live_head = i;
	nmaps_live++;
	return m;
}

static void del_mapping(int i)
{
	struct mapping *m = &maps[i];
	int *pp = &hbucket[hash_addr(m->addr)];

	while (*pp != i)
		pp = &maps[*pp].hnext;
	*pp = m->hnext;
	if (m->lprev >= 0)
		maps[m->lprev].lnext = m->lnext;
	else
		live_head = m->lnext;
	if (m->lnext >= 0)
		maps[m->lnext].lprev = m->lprev;
	m->kind = 0;
	freestk[nfree++] = i;
	nmaps_live--;
}

static struct vbd_gnttab *fgt_open(void)
{
	return (struct vbd_gnttab *)&maps;
}
static void fgt_close(struct vbd_gnttab *h)
{
	CHECK(h == (struct vbd_gnttab *)&maps);
}
static void *fgt_map(struct vbd_gnttab *h, int count, vbd_domid_t dom, const vbd_gref_t *refs,
		     int prot)
{
	void *addr;

	CHECK(h == (struct vbd_gnttab *)&maps);
	CHECK(count >= 1 && count <= (int)RING_REFS);
	if (dom != GUEST)
		goto bad;
	if (count > 1 || refs[0] < RING_REFS) { /* ring pages */
		for (int i = 0; i < count; i++)
			if (refs[i] != refs[0] + (vbd_gref_t)i || refs[i] >= ring_pages)
				goto bad;
		addr = ring_mem + (size_t)refs[0] * PG;
		add_mapping(addr, count, refs[0],
			    (uint8_t)(count == (int)ring_pages && !refs[0] ? 1 : 2));
		return addr;
	}
	if (refs[0] < DATA_REF0 || refs[0] >= DATA_REF0 + NDATA)
		goto bad;
	if (refs[0] == RO_REF && (prot & PROT_WRITE))
		goto bad;
	if (refs[0] == RO_REF) {
		addr = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(addr != MAP_FAILED);
		memcpy(addr, fpage[refs[0] - DATA_REF0], PG);
		CHECK(mprotect(addr, PG, PROT_READ) == 0);
		add_mapping(addr, 1, refs[0], 4);
	} else {
		addr = malloc(PG);
		CHECK(addr);
		memcpy(addr, fpage[refs[0] - DATA_REF0], PG);
		add_mapping(addr, 1, refs[0], 3);
	}
	return addr;
bad:
	errno = EINVAL;
	return NULL;
}
static int fgt_unmap(struct vbd_gnttab *h, void *addr, int count)
{
	int found = -1;

	CHECK(h == (struct vbd_gnttab *)&maps);
	/* the ring and a single-page alias of its first page share an address */
	for (int i = hbucket[hash_addr(addr)]; i >= 0; i = maps[i].hnext)
		if (maps[i].addr == addr) {
			found = i;
			if (maps[i].count == count)
				break;
		}
	if (found < 0)
		fprintf(stderr, "unmap of %p: not mapped\n", addr);
	CHECK(found >= 0);
	struct mapping *m = &maps[found];
	if (m->count != count)
		fprintf(stderr, "unmap of %p, %d pages: mapped ref %u, %d pages\n", addr, count,
			m->ref, m->count);
	CHECK(m->count == count);
	if (m->kind == 3)
		free(m->addr);
	else if (m->kind == 4)
		munmap(m->addr, PG);
	del_mapping(found);
	return 0;
}
static const struct vbd_gnttab_ops fake_gt = {fgt_open, fgt_close, fgt_map, fgt_unmap};

/* The frontend writes its data page: every live mapping sees it. */
static void page_write(unsigned idx, unsigned off, const uint8_t *src, unsigned len)
{
	vbd_gref_t ref = DATA_REF0 + idx;

	memcpy(fpage[idx] + off, src, len);
	for (int i = live_head; i >= 0; i = maps[i].lnext) {
		struct mapping *m = &maps[i];
		if ((m->kind != 3 && m->kind != 4) || m->ref != ref)
			continue;
		if (m->kind == 4)
			CHECK(mprotect(m->addr, PG, PROT_READ | PROT_WRITE) == 0);
		memcpy((uint8_t *)m->addr + off, src, len);
		if (m->kind == 4)
			CHECK(mprotect(m->addr, PG, PROT_READ) == 0);
	}
}

/* the queue binds GUEST's PORT as LPORT */
#define FAKE_EVTCHN_INIT                                                                           \
	{                                                                                          \
		.remote = GUEST, .remote_port = PORT, .local = LPORT, .fd = -1                     \
	}
#include "fake_evtchn.h"

static const struct vbd_platform fake_plat = {
    .name = "fuzz", .evtchn = &fake_ev, .gnttab = &fake_gt};

/* ---- input ------------------------------------------------------------- */

static void take_bytes(struct input *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

/* ---- the model: what each request deserves ---------------------------- */
struct expect {
	uint64_t id;
	uint8_t op;	/* the response op */
	int16_t status; /* what it deserves, or 99: cannot say */
};
static struct expect outst[1u << (VBD_MAX_RING_PAGE_ORDER + 5)];
static unsigned noutst;
static int model_lost;	     /* the backend wrote into the ring page: stop matching */
static int relaxed;	     /* EIO injected: OKAY may turn into ERROR */
static uint8_t dirty[NDATA]; /* the backend may have written its mapping */
static uint64_t vol_sectors;
static int trace; /* BACKEND_FUZZ_TRACE=1: print every response */

static int mappable(vbd_gref_t ref, int need_write)
{
	if (ref < ring_pages)
		return 1;
	if (ref < DATA_REF0 || ref >= DATA_REF0 + NDATA)
		return 0;
	return !(need_write && ref == RO_REF);
}

/* Status for segments seg[0..n) of a read/write; marks what it writes. */
static int16_t model_segs(const struct blkif_request_segment *seg, unsigned n, uint8_t op,
			  uint64_t sector, int *ring_written)
{
	uint64_t total = 0;
	int bad = 0;

	for (unsigned i = 0; i < n; i++) {
		if (seg[i].first_sect > seg[i].last_sect || seg[i].last_sect >= PG / 512)
			bad = 1;
		else
			total += (uint64_t)(seg[i].last_sect - seg[i].first_sect + 1);
	}
	if (bad || sector > vol_sectors || total > vol_sectors - sector)
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0; i < n; i++)
		if (!mappable(seg[i].gref, op == BLKIF_OP_READ))
			return BLKIF_RSP_ERROR;
	if (op == BLKIF_OP_READ)
		for (unsigned i = 0; i < n; i++) {
			if (seg[i].gref < ring_pages)
				*ring_written = 1;
			else
				dirty[seg[i].gref - DATA_REF0] = 1;
		}
	return BLKIF_RSP_OKAY;
}

static struct expect model(const struct blkif_request *raw, int *ring_written)
{
	struct expect e = {raw->id, raw->operation, BLKIF_RSP_EOPNOTSUPP};

	switch (raw->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (raw->nr_segments == 0 || raw->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			e.status = BLKIF_RSP_ERROR;
		else
			e.status = model_segs(raw->seg, raw->nr_segments, raw->operation,
					      raw->sector_number, ring_written);
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		e.status = raw->nr_segments ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY;
		break;
	case BLKIF_OP_DISCARD: {
		const struct blkif_request_discard *d = (const void *)raw;
		if (d->flag & BLKIF_DISCARD_SECURE)
			e.status = BLKIF_RSP_EOPNOTSUPP;
		else if (d->sector_number > vol_sectors ||
			 d->nr_sectors > vol_sectors - d->sector_number)
			e.status = BLKIF_RSP_ERROR;
		else
			e.status = BLKIF_RSP_OKAY;
		break;
	}
	case BLKIF_OP_INDIRECT: {
		const struct blkif_request_indirect *ind = (const void *)raw;
		vbd_gref_t iref = ind->indirect_grefs[0];
		if (ind->indirect_op != BLKIF_OP_READ && ind->indirect_op != BLKIF_OP_WRITE) {
			e.status = BLKIF_RSP_ERROR;
			break;
		}
		e.op = ind->indirect_op;
		if (ind->nr_segments == 0 || ind->nr_segments > VBD_MAX_INDIRECT_SEGS ||
		    !mappable(iref, 0)) {
			e.status = BLKIF_RSP_ERROR;
			break;
		}
		if (iref < ring_pages || dirty[iref - DATA_REF0]) {
			/* its contents are not the frontend's to know: it may
			 * name any page, and a read writes them */
			e.status = 99;
			if (ind->indirect_op == BLKIF_OP_READ) {
				*ring_written = 1;
				memset(dirty, 1, sizeof(dirty));
			}
			break;
		}
		e.status = model_segs((const struct blkif_request_segment *)fpage[iref - DATA_REF0],
				      ind->nr_segments, ind->indirect_op, ind->sector_number,
				      ring_written);
		break;
	}
	default:
		break;
	}
	return e;
}

/* ---- one input --------------------------------------------------------- */
static int memfd = -1;
static struct vbd_backing inline_backing;
/* every engine is wrapped in one fault rule (an EIO range), switched on by
 * the input (a rule whose last sector is before its first matches nothing) */
static struct vbd_io_wrap fuzz_wrap;
static uint8_t *snap;

static void run(struct vbd_queue *q)
{
	blkif_sring_t *sr = (blkif_sring_t *)ring_mem;
	unsigned slots = q->ring.slots;
	RING_IDX cons0 = q->ring.br.req_cons, pvt0 = q->ring.br.rsp_prod_pvt;
	RING_IDX rsp_prod0 = sr->rsp_prod, req_prod0 = sr->req_prod;
	RING_IDX req_event0 = sr->req_event, rsp_event0 = sr->rsp_event;
	int hostile0 = q->hostile, ring_written = 0;
	unsigned cmd = atomic_load(&q->cmd);

	memcpy(snap, sr->ring, (size_t)slots * sizeof(sr->ring[0]));
	vbdq_run_once(q);
	if (q->hostile) /* found now or before: nothing consumed, nothing published */
		CHECK(q->ring.br.req_cons == cons0 && sr->rsp_prod == rsp_prod0);
	/* nothing consumed that the frontend did not publish (a req_prod more
	 * than a ring ahead, or behind what was consumed, is hostile) */
	CHECK((RING_IDX)(q->ring.br.req_cons - cons0) <= (RING_IDX)(req_prod0 - cons0));
	if ((RING_IDX)(req_prod0 - cons0) > slots)
		CHECK(q->ring.br.req_cons == cons0);
	/* an engine that completes asynchronously: run until it has answered
	 * (nothing new is taken: req_prod stays where it was) */
	while (q->inflight && !(atomic_load(&q->cmd) & VBDQ_CMD_STOP)) {
		struct pollfd pfd = {.fd = q->eng->ops->fd(q->eng), .events = POLLIN};
		if (pfd.fd >= 0)
			poll(&pfd, 1, 100);
		vbdq_run_once(q);
	}

	RING_IDX cons = q->ring.br.req_cons, pvt = q->ring.br.rsp_prod_pvt;
	CHECK(q->inflight == 0);
	CHECK((RING_IDX)(cons - cons0) <= slots);
	CHECK((RING_IDX)(cons - pvt) <= slots);
	CHECK((RING_IDX)(pvt - pvt0) <= (RING_IDX)(cons - pvt0));
	CHECK(vbd_ring_outstanding(&q->ring) == q->held);
	/* the ring and the persistent grants stay mapped; per-request ones went */
	CHECK(nmaps_live == 1 + q->gc.count);
	if (hostile0 || (cmd & VBDQ_CMD_STOP)) {
		CHECK(cons == cons0);
		CHECK(sr->rsp_prod == rsp_prod0);
	}
	if (cmd & VBDQ_CMD_DRAIN)
		CHECK(cons == cons0);

	for (RING_IDX i = cons0; i != cons; i++) {
		const struct blkif_request *raw =
		    &((union blkif_sring_entry *)snap)[i & (slots - 1)].req;
		struct expect e = model(raw, &ring_written);
		if (trace)
			fprintf(stderr, "  took id %#llx op %u nsegs %u: deserves %d%s\n",
				(unsigned long long)raw->id, raw->operation, raw->nr_segments,
				e.status, ring_written ? " (ring written)" : "");
		if (!model_lost) {
			/* consumed and unanswered never exceed a ring */
			CHECK(noutst < sizeof(outst) / sizeof(outst[0]));
			outst[noutst++] = e;
		}
	}
	if (ring_written) {
		model_lost = 1;
		noutst = 0;
	} else { /* the backend wrote its answers and nothing else */
		const size_t esz = sizeof(sr->ring[0]), rsz = sizeof(blkif_response_t);
		CHECK(sr->req_prod == req_prod0 && sr->req_event == req_event0 &&
		      sr->rsp_event == rsp_event0);
		for (unsigned k = 0; k < slots; k++) {
			size_t j = (pvt0 + k) & (slots - 1);
			const uint8_t *now = (const uint8_t *)&sr->ring[j], *was = snap + j * esz;
			if (k < (RING_IDX)(pvt - pvt0)) /* an answer: the rest of the slot stays */
				CHECK(!memcmp(now + rsz, was + rsz, esz - rsz));
			else
				CHECK(!memcmp(now, was, esz));
		}
	}
	if (trace)
		fprintf(
		    stderr,
		    "run: consumed %u, answered %u, held %u, hostile %d%s (req_prod %u cons %u)\n",
		    cons - cons0, pvt - pvt0, q->held, q->hostile, model_lost ? " (lost)" : "",
		    sr->req_prod, cons);
	if (!model_lost) {
		for (RING_IDX i = pvt0; i != pvt; i++) {
			const blkif_response_t *rsp = RING_GET_RESPONSE(&q->ring.br, i);
			unsigned k;
			if (trace)
				fprintf(stderr, "  id %#llx op %u status %d\n",
					(unsigned long long)rsp->id, rsp->operation, rsp->status);
			CHECK(rsp->status == BLKIF_RSP_OKAY || rsp->status == BLKIF_RSP_ERROR ||
			      rsp->status == BLKIF_RSP_EOPNOTSUPP);
			/* ids may repeat: prefer an exact status, then an EIO turned
			 * into ERROR, then a request whose answer cannot be known */
			k = noutst;
			for (int pass = 0; pass < 3 && k == noutst; pass++)
				for (k = 0; k < noutst; k++) {
					const struct expect *e = &outst[k];
					if (e->id != rsp->id || e->op != rsp->operation)
						continue;
					if (pass == 0	? e->status == rsp->status
					    : pass == 1 ? relaxed && e->status == BLKIF_RSP_OKAY &&
							      rsp->status == BLKIF_RSP_ERROR
							: e->status == 99)
						break;
				}
			if (k == noutst)
				fprintf(stderr,
					"response id %#llx op %u status %d: no request "
					"deserves it\n",
					(unsigned long long)rsp->id, rsp->operation, rsp->status);
			CHECK(k < noutst);
			outst[k] = outst[--noutst];
		}
		CHECK(noutst == q->held);
		if (!relaxed)
			CHECK(q->held == 0);
	}
	if (!q->hostile && !(cmd & VBDQ_CMD_STOP) && !model_lost)
		CHECK(sr->rsp_prod == pvt); /* published */
}

static void shaped_request(struct input *in, struct blkif_request *r, uint64_t id)
{
	static const uint8_t ops[] = {BLKIF_OP_READ,	BLKIF_OP_WRITE,	   BLKIF_OP_FLUSH_DISKCACHE,
				      BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT, BLKIF_OP_WRITE_BARRIER};
	uint8_t kind = (uint8_t)take(in, 1);

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->operation = ops[kind % sizeof(ops)];
	if (r->operation == BLKIF_OP_INDIRECT) {
		struct blkif_request_indirect *ind = (void *)r;
		ind->indirect_op = (uint8_t)(take(in, 1) % 3);
		ind->nr_segments = (uint16_t)(take(in, 2) % (VBD_MAX_INDIRECT_SEGS + 8));
		ind->sector_number = take(in, 2);
		ind->indirect_grefs[0] = DATA_REF0 + (vbd_gref_t)(take(in, 1) % (NDATA + 2));
	} else if (r->operation == BLKIF_OP_DISCARD) {
		struct blkif_request_discard *d = (void *)r;
		d->flag = (uint8_t)(take(in, 1) & 1);
		d->sector_number = take(in, 2);
		d->nr_sectors = take(in, 2);
	} else {
		r->nr_segments = (uint8_t)(take(in, 1) % (BLKIF_MAX_SEGMENTS_PER_REQUEST + 2));
		r->sector_number = take(in, 2);
		for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
			uint8_t s = (uint8_t)take(in, 1);
			r->seg[i].gref = DATA_REF0 + (vbd_gref_t)(take(in, 1) % (NDATA + 2));
			r->seg[i].first_sect = s >> 4;
			r->seg[i].last_sect = s & 15;
		}
	}
}

static void fill_indirect(struct input *in)
{
	unsigned idx = (unsigned)take(in, 1) % NDATA;
	unsigned n = (unsigned)take(in, 2) % (VBD_SEGS_PER_INDIRECT_PAGE + 1);
	unsigned base = (unsigned)take(in, 1), step = (unsigned)take(in, 1);
	uint8_t sect = (uint8_t)take(in, 1);
	struct blkif_request_segment segs[VBD_SEGS_PER_INDIRECT_PAGE];

	memset(segs, 0, sizeof(segs));
	for (unsigned i = 0; i < n; i++)
		segs[i] = (struct blkif_request_segment){.gref = DATA_REF0 +
								 (base + i * step) % (NDATA + 2),
							 .first_sect = (uint8_t)(sect >> 4),
							 .last_sect = (uint8_t)(sect & 15)};
	if (n && (sect & 0x88) == 0x88) /* one bad apple */
		segs[base % n].last_sect = 8;
	page_write(idx, 0, (const uint8_t *)segs, PG); /* the whole page: known again */
	dirty[idx] = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];

	(void)argc;
	(void)argv;
	setenv("VBD_LOG", "error", 1); /* every bad request is logged: keep quiet */
	vbd_log_init("backend_ring_fuzz");
	trace = getenv("BACKEND_FUZZ_TRACE") != NULL;
	for (unsigned i = 0; i < NDATA; i++) {
		fpage[i] = malloc(PG);
		CHECK(fpage[i]);
	}
	maps_init();
	snap = malloc((size_t)RING_REFS * PG);
	CHECK(snap);
	memfd = memfd_create("vbd-fuzz-backing", MFD_CLOEXEC);
	CHECK(memfd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	CHECK(vbd_backing_open(&inline_backing, path, 0, 1) == 0);
	{
		char err[128];

		CHECK(vbd_fault_parse(&fuzz_wrap.faults, "eio:sectors=1-2", err, sizeof(err)) == 0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct input in = {buf, len};
	struct vbdq_config cfg;
	struct vbd_backing backing;
	struct vbd_queue *q;
	unsigned order = (unsigned)take(&in, 1) % (VBD_MAX_RING_PAGE_ORDER + 1);
	unsigned grants = (unsigned)take(&in, 1) % (NDATA + 8);
	unsigned flags = (unsigned)take(&in, 1);
	uint64_t size = take(&in, 8);
	int r;

	CHECK(nmaps_live == 0); /* the last input unmapped everything */
	noutst = 0;
	model_lost = relaxed = 0;
	memset(dirty, 0, sizeof(dirty));
	for (unsigned i = 0; i < NDATA; i++)
		memset(fpage[i], 0, PG);
	ring_pages = 1u << order;
	ring_mem = calloc(ring_pages, PG);
	CHECK(ring_mem);

	if (flags & 1) { /* the inline engine on a memory file */
		backing = inline_backing;
		size %= INLINE_MAX_BYTES + 1;
		CHECK(ftruncate(memfd, 0) == 0);
	} else {
		CHECK(vbd_backing_open(&backing, NULL, 0, 0) == 0);
	}
	backing.size = size;
	vol_sectors = size / VBD_SECTOR_SIZE;

	memset(&cfg, 0, sizeof(cfg));
	cfg.guest = GUEST;
	cfg.devid = 1;
	cfg.epoch = 1;
	cfg.order = order;
	for (unsigned i = 0; i < ring_pages; i++)
		cfg.ring_refs[i] = i;
	cfg.remote_port = PORT;
	cfg.backing = &backing;
	cfg.engine = flags & 1 ? VBD_ENGINE_INLINE : VBD_ENGINE_NULL;
	cfg.wrap = &fuzz_wrap;
	fuzz_wrap.faults.rule[0].first = 1; /* off */
	fuzz_wrap.faults.rule[0].last = 0;
	cfg.plat = &fake_plat;
	cfg.report_fd = -1;
	cfg.max_grants = grants;
	if ((flags >> 4) == 15) /* a ring that cannot be mapped */
		cfg.ring_refs[ring_pages - 1] = 9999;
	if ((flags >> 4) == 14) /* an event channel that cannot be bound */
		cfg.remote_port = PORT + 1;

	blkif_sring_t *sr = (blkif_sring_t *)ring_mem;
	SHARED_RING_INIT(sr);
	r = vbdq_create(&cfg, &q);
	if (r < 0) {
		CHECK((flags >> 4) >= 14);
		CHECK(nmaps_live == 0);
		free(ring_mem);
		return 0;
	}
	CHECK((flags >> 4) < 14);

	RING_IDX prod = 0;
	uint64_t next_id = 1;
	size_t ring_bytes = (size_t)ring_pages * PG;
	for (unsigned steps = 0; in.n && steps < 512; steps++) {
		switch (take(&in, 1) % 12) {
		case 0: { /* raw request slots */
			unsigned n = 1 + (unsigned)take(&in, 1) % 8;
			for (unsigned k = 0; k < n; k++) {
				struct blkif_request req;
				take_bytes(&in, &req, sizeof(req));
				memcpy(RING_GET_REQUEST(&q->ring.br, prod), &req, sizeof(req));
				prod++;
			}
			break;
		}
		case 1: { /* shaped request slots */
			unsigned n = 1 + (unsigned)take(&in, 1) % 16;
			for (unsigned k = 0; k < n; k++) {
				struct blkif_request req;
				shaped_request(&in, &req, next_id++);
				memcpy(RING_GET_REQUEST(&q->ring.br, prod), &req, sizeof(req));
				prod++;
			}
			sr->req_prod = prod;
			break;
		}
		case 2: /* publish */
			sr->req_prod = prod;
			break;
		case 3: /* any req_prod */
			prod = (RING_IDX)take(&in, 4);
			sr->req_prod = prod;
			break;
		case 4: /* req_prod nudged (behind what was consumed, or ahead) */
			sr->req_prod += (RING_IDX)(int8_t)take(&in, 1);
			break;
		case 5:
			run(q);
			break;
		case 6: { /* raw bytes into a data page */
			unsigned idx = (unsigned)take(&in, 1) % NDATA;
			unsigned off = (unsigned)take(&in, 2) % PG;
			unsigned n = (unsigned)take(&in, 1);
			uint8_t tmp[256];
			if (n > PG - off)
				n = PG - off;
			take_bytes(&in, tmp, n);
			page_write(idx, off, tmp, n);
			break;
		}
		case 7:
			fill_indirect(&in);
			break;
		case 8: { /* control thread commands */
			unsigned c = (unsigned)take(&in, 1);
			unsigned set = c & (VBDQ_CMD_DRAIN | VBDQ_CMD_FAILED);
			unsigned clr = (c >> 2) & (VBDQ_CMD_DRAIN | VBDQ_CMD_FAILED);
			if ((c & 0xf0) == 0xf0)
				set |= VBDQ_CMD_STOP;
			vbdq_command(q, set, clr & ~set);
			break;
		}
		case 9: /* EIO on a sector range */
			fuzz_wrap.faults.rule[0].first = take(&in, 2);
			fuzz_wrap.faults.rule[0].last = take(&in, 2);
			if (fuzz_wrap.faults.rule[0].last >= fuzz_wrap.faults.rule[0].first)
				relaxed = 1;
			break;
		case 10: { /* scribble anywhere on the ring (indices, consumed slots, answers) */
			size_t off = (size_t)take(&in, 3) % ring_bytes;
			size_t n = (size_t)take(&in, 1) % 64;
			uint8_t tmp[64];
			if (n > ring_bytes - off)
				n = ring_bytes - off;
			take_bytes(&in, tmp, n);
			memcpy(ring_mem + off, tmp, n);
			/* the answers in flight may be gone: only the counts stay checkable */
			model_lost = 1;
			noutst = 0;
			break;
		}
		case 11:
			if (!q->hostile &&
			    !(atomic_load(&q->cmd) & (VBDQ_CMD_DRAIN | VBDQ_CMD_STOP)) &&
			    vbd_ring_final_check(&q->ring))
				run(q);
			break;
		}
	}
	run(q);
	/* failed mode answers everything held */
	vbdq_command(q, VBDQ_CMD_FAILED, VBDQ_CMD_DRAIN);
	run(q);
	if (!(atomic_load(&q->cmd) & VBDQ_CMD_STOP)) {
		CHECK(q->held == 0);
		CHECK(vbd_ring_outstanding(&q->ring) == 0);
		if (!model_lost)
			CHECK(noutst == 0);
	}
	CHECK(q->gc.count <= (grants ? grants : VBD_MAX_PERSISTENT_GRANTS));
	vbdq_destroy(q);
	CHECK(nmaps_live == 0);
	free(ring_mem);
	return 0;
}
