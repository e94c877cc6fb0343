/* SPDX-License-Identifier: MIT */
/* blkif request validation (see request.h and docs/protocol.md). */
#include "request.h"

#include <string.h>

static int refuse(struct vbd_req *r, int status, const char *why)
{
	r->why = why;
	return status;
}

/* Checks segments r->seg[0..nsegs) and the sector range; sets nr_sectors. */
static int check_segs(struct vbd_req *r, uint64_t vol_sectors)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < r->nsegs; i++) {
		const struct vbd_seg *s = &r->seg[i];
		if (s->first_sect > s->last_sect ||
		    s->last_sect >= VBD_PAGE_SIZE / VBD_SECTOR_SIZE) {
			return refuse(r, BLKIF_RSP_ERROR, "segment sectors outside its page");
		}
		total += (uint64_t)(s->last_sect - s->first_sect + 1);
	}
	if (r->sector > vol_sectors || total > vol_sectors - r->sector) {
		return refuse(r, BLKIF_RSP_ERROR, "sectors past the volume's end");
	}
	r->nr_sectors = total;
	return BLKIF_RSP_OKAY;
}

int vbd_req_parse(const struct blkif_request *raw, uint64_t vol_sectors, struct vbd_req *out)
{
	out->id = raw->id;
	out->ring_op = raw->operation;
	out->op = raw->operation;
	out->indirect = 0;
	out->n_indirect = 0;
	out->nsegs = 0;
	out->sector = 0;
	out->nr_sectors = 0;
	out->why = NULL;

	switch (raw->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (raw->nr_segments == 0 || raw->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return refuse(out, BLKIF_RSP_ERROR, "segment count 0 or above 11");
		out->nsegs = raw->nr_segments;
		out->sector = raw->sector_number;
		for (unsigned i = 0; i < out->nsegs; i++) {
			out->seg[i].gref = raw->seg[i].gref;
			out->seg[i].first_sect = raw->seg[i].first_sect;
			out->seg[i].last_sect = raw->seg[i].last_sect;
		}
		return check_segs(out, vol_sectors);

	case BLKIF_OP_FLUSH_DISKCACHE:
		/* Protocol v1: a flush carries no data (FUA = write + flush). */
		if (raw->nr_segments != 0)
			return refuse(out, BLKIF_RSP_ERROR, "flush with segments");
		return BLKIF_RSP_OKAY;

	case BLKIF_OP_DISCARD: {
		struct blkif_request_discard d;
		memcpy(&d, raw, sizeof(d));
		if (d.flag & BLKIF_DISCARD_SECURE)
			return refuse(out, BLKIF_RSP_EOPNOTSUPP, /* no feature-discard-secure */
				      "secure discard");
		out->sector = d.sector_number;
		out->nr_sectors = d.nr_sectors;
		if (d.sector_number > vol_sectors || d.nr_sectors > vol_sectors - d.sector_number)
			return refuse(out, BLKIF_RSP_ERROR, "discard past the volume's end");
		return BLKIF_RSP_OKAY;
	}

	case BLKIF_OP_INDIRECT: {
		struct blkif_request_indirect ind;
		memcpy(&ind, raw, sizeof(ind));
		out->indirect = 1;
		if (ind.indirect_op != BLKIF_OP_READ && ind.indirect_op != BLKIF_OP_WRITE)
			return refuse(out, BLKIF_RSP_ERROR, "indirect operation not read or write");
		out->op = ind.indirect_op;
		if (ind.nr_segments == 0 || ind.nr_segments > VBD_MAX_INDIRECT_SEGS)
			return refuse(out, BLKIF_RSP_ERROR,
				      "indirect segment count 0 or too large");
		out->nsegs = ind.nr_segments;
		out->sector = ind.sector_number;
		out->n_indirect = (uint8_t)vbd_indirect_pages(ind.nr_segments);
		if (out->n_indirect > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
			return refuse(out, BLKIF_RSP_ERROR, "too many indirect pages");
		memcpy(out->indirect_grefs, ind.indirect_grefs, sizeof(out->indirect_grefs));
		return BLKIF_RSP_OKAY;
	}

	default: /* WRITE_BARRIER, RESERVED_1 and unknown operations */
		return refuse(out, BLKIF_RSP_EOPNOTSUPP, "operation not supported");
	}
}

int vbd_req_load_indirect(struct vbd_req *r, const void *const *pages, uint64_t vol_sectors)
{
	for (unsigned i = 0; i < r->nsegs; i++) {
		const volatile struct blkif_request_segment *page =
		    pages[i / VBD_SEGS_PER_INDIRECT_PAGE];
		const volatile struct blkif_request_segment *s =
		    &page[i % VBD_SEGS_PER_INDIRECT_PAGE];
		/* each field is read once (volatile), then only the copy is used */
		r->seg[i].gref = s->gref;
		r->seg[i].first_sect = s->first_sect;
		r->seg[i].last_sect = s->last_sect;
	}
	return check_segs(r, vol_sectors);
}

uint8_t vbd_req_rsp_op(const struct vbd_req *r)
{
	if (r->ring_op == BLKIF_OP_INDIRECT && (r->op == BLKIF_OP_READ || r->op == BLKIF_OP_WRITE))
		return r->op;
	return r->ring_op;
}
