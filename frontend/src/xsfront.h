/* SPDX-License-Identifier: MIT */
/* Control path of a device: everything the frontend reads from and writes
 * to XenStore (docs/protocol.md, xenstore-schema/vbdpool-paths.md).  Only
 * the device's event thread (and open/close around it) calls these. */
#ifndef VBDFRONT_XSFRONT_H
#define VBDFRONT_XSFRONT_H

#include <stdint.h>

#include "vbdpool/platform.h"
#include "vbdpool/proto.h"

struct xs_handle;

struct vbdf_xsf {
	struct xs_handle *xs;
	unsigned me, devid, nq;
	char fe[96];	/* /local/domain/<me>/device/vbdpool/<devid> */
	char pool[192]; /* /vbdpool/volumes/<vol>/attachments/<me>-<devid> */
	char volume[VBD_VOLUME_ID_MAX + 1];
	uint64_t size;
	int read_only; /* the device directory's mode is r (as blkfront reads it) */
	int watching;
};

/* Reads the device directory and the volume's size; checks every value.
 * want_volume (may be NULL) must match the device's volume. */
int vbdf_xsf_open(struct vbdf_xsf *x, unsigned devid, const char *want_volume);
void vbdf_xsf_close(struct vbdf_xsf *x);

/* xenbus state of the device (device/vbdpool/<d>/state). */
int vbdf_xsf_set_state(struct vbdf_xsf *x, int state);
int vbdf_xsf_get_state(struct vbdf_xsf *x, int *state);

/* Watches every queue's ownership record, the device state and the
 * volume's drained/ directory; the
 * initial events fire at once.  Readable fd while events wait. */
int vbdf_xsf_watch(struct vbdf_xsf *x);
int vbdf_xsf_fd(struct vbdf_xsf *x);

enum vbdf_xsf_event { VBDF_XSF_NONE, VBDF_XSF_QUEUE, VBDF_XSF_STATE, VBDF_XSF_DRAINED };
/* Next pending watch event (non-blocking); VBDF_XSF_NONE when none. */
enum vbdf_xsf_event vbdf_xsf_next_event(struct vbdf_xsf *x, unsigned *q);

/* The ownership record of queue q: 0, -ENOENT when the attachment is gone,
 * -EINVAL when malformed (never trusted), other -errno. */
int vbdf_xsf_read_record(struct vbdf_xsf *x, unsigned q, struct vbd_queue_rec *rec);

/* Is domid a member of the device's volume (members/<domid> exists)?
 * 1 yes, 0 no, -errno when it cannot be read. */
int vbdf_xsf_is_member(struct vbdf_xsf *x, unsigned domid);

/* Did the pool take domid's queues without a hand-off?  1 when its member
 * state is dead or fenced, it is no longer a member, or that cannot be
 * read (assume the worst); 0 when it is a member in any other state (it
 * handed off or released itself, having finished what it consumed). */
int vbdf_xsf_member_lost(struct vbdf_xsf *x, unsigned domid);
/* Has the supervisor written drained/<domid> (its I/O can no longer land)? */
int vbdf_xsf_drained(struct vbdf_xsf *x, unsigned domid);

struct vbdf_ring_info {
	vbd_domid_t owner;
	uint64_t epoch;
	unsigned order;
	const vbd_gref_t *refs; /* 2^order */
	unsigned port;
};
/* Replaces device/vbdpool/<d>/queue-<q>/ with the ring of a new owner
 * epoch, in one transaction (retried on EAGAIN). */
int vbdf_xsf_publish_ring(struct vbdf_xsf *x, unsigned q, const struct vbdf_ring_info *ri);
/* queue-<q>/abandoned = epoch: the ring of that epoch broke the protocol
 * and is no longer read; its owner gives the queue up (docs/protocol.md). */
int vbdf_xsf_set_abandoned(struct vbdf_xsf *x, unsigned q, uint64_t epoch);

#endif
