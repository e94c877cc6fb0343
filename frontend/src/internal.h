/* SPDX-License-Identifier: MIT */
/* libvbdpool-front internals shared by its modules: the request objects
 * (an application I/O split into blkif requests) and the device. */
#ifndef VBDFRONT_INTERNAL_H
#define VBDFRONT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vbdpool/blkif.h"
#include "vbdpool/front.h"
#include "vbdpool/proto.h"

struct vbd_front;
struct vbdf_ctx;
struct vbdf_ring;

/* One blkif request of an application I/O. */
struct vbdf_part {
	struct vbdf_io *io;
	struct vbdf_part *next; /* on the pending FIFO or a queue's bound list */
	uint8_t op;		/* BLKIF_OP_READ / WRITE / FLUSH_DISKCACHE / DISCARD */
	bool heap;		/* allocated on its own (FUA flush), freed when done */
	int q;			/* queue it is posted on / bound to; -1: any */
	uint64_t sector;
	uint64_t nsect;		   /* read/write/discard: sectors */
	char *data;		   /* read/write: this part's bytes in the caller's buffer */
	struct vbd_front_wbuf *wb; /* write: its bytes in granted pages instead (wbuf.c) */
	uint64_t fseq, fmask; /* flush: f->wseq when bound, the queues of its owner it covers */
};

/* A zero-copy write buffer (vbd_front_wbuf_get): pages of one ring's pool
 * (lock held for every field but iov). */
struct vbd_front_wbuf {
	struct vbdf_ring *r;  /* the ring whose pool holds the pages (r->zrefs) */
	struct vbdf_ctx *ctx; /* the context that took it: its queues, its thread */
	uint64_t len;
	unsigned npages; /* data and indirect pages (vbdf_ring_req_pages) */
	bool submitted;	 /* counted out of r->wb_pages */
	bool given;	 /* the pages went to a request slot of r (freed with it) */
	uint32_t pages[VBD_MAX_INDIRECT_SEGS + BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct iovec iov[VBD_MAX_INDIRECT_SEGS];
};

/* One application I/O (vbd_front_submit). */
struct vbdf_io {
	struct vbd_front *f;
	struct vbdf_ctx *ctx; /* its context: its queues, its callback's thread */
	enum vbd_io_op op;
	unsigned flags;
	vbd_front_cb cb;
	void *arg;
	unsigned left; /* parts of the current phase not answered yet */
	int err;       /* first error */
	bool flush_phase;
	uint64_t qmask; /* queues that took write parts (the FUA flush goes there) */
	struct vbdf_io *done_next;
	unsigned nparts;
	struct vbdf_part parts[];
};

/* Is the calling thread one of f's event threads (contexts)? (front.c) */
bool vbd_front_on_event_thread(const struct vbd_front *f);

#endif
