/* SPDX-License-Identifier: MIT */
/*
 * One typed snapshot of the pool area (/vbdpool, xenstore-schema/
 * vbdpool-paths.md): volumes, their members, attachments and queue
 * records, and the supervisor's nodes.  The backend, the supervisor and
 * `vbdpoolctl` all read the pool through it (docs/tooling.md, "The pool
 * snapshot").
 *
 * Every value is validated as the schema defines it.  A node that is
 * missing is VBD_SNAP_ABSENT; one that is there but malformed is
 * VBD_SNAP_BAD, its typed value left zero (never trusted), and the entry
 * (member, attachment, queue, volume) carries the first reason in
 * `invalid`.  Children whose names are not what the schema allows (a
 * member that is no domid, an attachment not `<g>-<d>`) are left out and
 * counted in the volume's `skipped`.
 *
 * Reads go through the common XenStore library (vbdpool/xs.h), inside the
 * caller's transaction t or with XBT_NULL; `what` (VBD_SNAP_* below) says
 * which nodes to read, so a caller pays only for what it uses.
 */
#ifndef VBDPOOL_POOL_SNAP_H
#define VBDPOOL_POOL_SNAP_H

#include <stdint.h>
#include <xenstore.h>

#include "vbdpool/iostat.h"
#include "vbdpool/proto.h"

enum vbd_snap_has {
	VBD_SNAP_ABSENT = 0, /* the node is not there */
	VBD_SNAP_OK,	     /* there and well-formed: the typed value holds */
	VBD_SNAP_BAD,	     /* there but malformed: the typed value is zero */
};

/* What to read (or together).  Each member/attachment field flag implies
 * the list it belongs to. */
#define VBD_SNAP_VOLINFO    0x001u /* size, sector-size, backing, storage-id/-size */
#define VBD_SNAP_MEMBERS    0x002u /* the members/ list */
#define VBD_SNAP_M_STATE    0x004u
#define VBD_SNAP_M_HB	    0x008u /* heartbeat */
#define VBD_SNAP_M_LOAD	    0x010u
#define VBD_SNAP_M_FAILED   0x020u /* failed-reason, failed-since */
#define VBD_SNAP_ATTS	    0x040u /* the attachments/ list */
#define VBD_SNAP_A_INFO	    0x080u /* num-queues, frontend */
#define VBD_SNAP_A_QUEUES   0x100u /* queue-<q> records (implies A_INFO) */
#define VBD_SNAP_A_FESTATE  0x200u /* the frontend's xenbus state */
#define VBD_SNAP_SUPERVISOR 0x400u /* supervisor pid, lease-ms */
#define VBD_SNAP_A_MODE	    0x800u /* mode, shared */
#define VBD_SNAP_ALL	    0xfffu

/* members/<m>/stats/<g>-<d>, which a member writes only while `vbdpoolctl
 * top` asks (vbdpool/iostat.h); not in VBD_SNAP_ALL */
#define VBD_SNAP_M_STATS 0x1000u
/* members/<m>/io-stuck (the supervisor's fence); not in VBD_SNAP_ALL */
#define VBD_SNAP_M_STUCK 0x2000u

#define VBD_SNAP_REASON_MAX 128

/* M_STATS: one attachment's statistics as one member counted them */
struct vbd_snap_stat {
	unsigned guest, devid;
	enum vbd_snap_has has;
	struct vbd_iostat st; /* zero unless has is OK */
};

struct vbd_snap_member {
	unsigned domid;
	enum vbd_snap_has has_state, has_hb, has_load, has_failed_since, has_io_stuck;
	enum vbd_member_state state;
	char state_text[24]; /* as written (cut), "" when absent: for display */
	uint64_t hb;	     /* heartbeat: ms of the member's monotonic clock */
	struct vbd_member_load load;
	uint64_t failed_since;		   /* ms of the member's wall clock */
	uint64_t io_stuck_ms;		   /* M_STUCK: how long its I/O hung when it said so */
	char failed_reason[200];	   /* "" when absent */
	char invalid[VBD_SNAP_REASON_MAX]; /* "" or the first malformed field */
	struct vbd_snap_stat *stats;	   /* M_STATS, in XenStore's order */
	unsigned nstats;
};

struct vbd_snap_queue {
	enum vbd_snap_has has;
	struct vbd_queue_rec rec;
	char raw[160]; /* as written (cut), for display of a bad record */
};

struct vbd_snap_att {
	unsigned guest, devid;
	enum vbd_snap_has has_nq, has_frontend, has_fe_state;
	unsigned nq;  /* 1..VBD_MAX_QUEUES when has_nq is OK */
	int fe_state; /* xenbus state 0..8 */
	/* A_MODE: mode (absent: read-write) and shared (absent: not) */
	enum vbd_snap_has has_mode, has_shared;
	int read_only, shared;
	/* frontend: OK only when it is VBD_XS_FRONTEND of guest, devid */
	struct vbd_snap_queue q[VBD_MAX_QUEUES];
	char invalid[VBD_SNAP_REASON_MAX];
};

struct vbd_snap_vol {
	char id[VBD_VOLUME_ID_MAX + 1];
	enum vbd_snap_has has_size, has_backing, has_storage_id, has_storage_size;
	uint64_t size; /* bytes, a positive multiple of 512 */
	uint64_t storage_size;
	char backing[256];
	char storage_id[256];
	struct vbd_snap_member *m; /* in XenStore's order */
	unsigned nm;
	struct vbd_snap_att *a; /* in XenStore's order */
	unsigned na;
	unsigned skipped; /* children of members/ or attachments/ with bad names */
	char invalid[VBD_SNAP_REASON_MAX];
};

struct vbd_pool_snap {
	struct vbd_snap_vol *v;
	unsigned nv;
	unsigned skipped; /* volumes with an invalid id */
	enum vbd_snap_has has_sv_pid, has_lease;
	uint64_t sv_pid, lease_ms;
};

/* The whole pool (only: just that volume, -ENOENT when it is not there;
 * -EINVAL when `only` is no valid volume id).  No /vbdpool/volumes is an
 * empty pool.  0 or -errno (an error reading a list other than ENOENT). */
int vbd_pool_snap_read(struct xs_handle *xs, xs_transaction_t t, const char *only, unsigned what,
		       struct vbd_pool_snap *s);
void vbd_pool_snap_free(struct vbd_pool_snap *s);

/* One volume: -EINVAL bad id, -ENOENT no such volume, or an error reading
 * its members/ or attachments/ list (other than ENOENT). */
int vbd_snap_vol_read(struct xs_handle *xs, xs_transaction_t t, const char *id, unsigned what,
		      struct vbd_snap_vol *v);
void vbd_snap_vol_free(struct vbd_snap_vol *v);

/* One attachment's num-queues/frontend (A_INFO), records (A_QUEUES),
 * frontend state (A_FESTATE) and mode/shared (A_MODE); other flags are
 * ignored. */
void vbd_snap_att_read(struct xs_handle *xs, xs_transaction_t t, const char *vol, unsigned what,
		       struct vbd_snap_att *a);

/* Strict name parsers: a member domid (digits, < 0x7ff0) and an
 * attachment "<g>-<d>" (g a domid, d <= UINT32_MAX).  0 or -EINVAL. */
int vbd_snap_parse_domid(const char *s, unsigned *domid);
int vbd_snap_parse_att(const char *s, unsigned *guest, unsigned *devid);

/* The member domid of v, or NULL. */
const struct vbd_snap_member *vbd_snap_member(const struct vbd_snap_vol *v, unsigned domid);

#endif
