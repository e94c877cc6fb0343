/* SPDX-License-Identifier: MIT */
/* Validation of blkif requests. Works only on private copies: the ring
 * slot is copied out first (ring.c), indirect segments are copied out of
 * their pages before any check (no double fetch, cf. XSA-155). */
#ifndef VBD_BACKEND_REQUEST_H
#define VBD_BACKEND_REQUEST_H

#include <stdint.h>

#include "vbdpool/blkif.h"
#include "vbdpool/proto.h"

struct vbd_seg {
	vbd_gref_t gref;
	uint8_t first_sect, last_sect;
};

struct vbd_req {
	uint64_t id;
	uint8_t ring_op;  /* operation as posted */
	uint8_t op;	  /* READ, WRITE, FLUSH_DISKCACHE or DISCARD */
	uint8_t indirect; /* segments come from indirect pages */
	uint8_t n_indirect;
	uint16_t nsegs;
	uint64_t sector;
	uint64_t nr_sectors; /* data sectors (r/w: sum of segments) */
	const char *why;     /* what was wrong, when parsing refused it */
	vbd_gref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct vbd_seg seg[VBD_MAX_INDIRECT_SEGS];
};

/* Step 1: parse and check the private copy of a ring slot against a volume
 * of `vol_sectors` sectors. Returns BLKIF_RSP_OKAY, BLKIF_RSP_ERROR or
 * BLKIF_RSP_EOPNOTSUPP. out->id and the response op are always set.
 * An indirect request returns OKAY with out->indirect set: its segments
 * still have to be loaded with vbd_req_load_indirect(). */
int vbd_req_parse(const struct blkif_request *raw, uint64_t vol_sectors, struct vbd_req *out);

/* Step 2 (indirect only): copy the segments out of the mapped indirect
 * pages (pages[i] for i < out->n_indirect), then check them. Returns
 * BLKIF_RSP_OKAY or BLKIF_RSP_ERROR. */
int vbd_req_load_indirect(struct vbd_req *r, const void *const *pages, uint64_t vol_sectors);

/* The operation to echo in the response (for indirect requests the inner
 * read/write op, as Linux blkback does). */
uint8_t vbd_req_rsp_op(const struct vbd_req *r);

#endif
