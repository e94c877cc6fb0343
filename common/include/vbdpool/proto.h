/* SPDX-License-Identifier: MIT */
/*
 * vbdpool protocol v1: XenStore names, the queue-ownership record, and the
 * defaults every component shares.  The normative text is
 * xenstore-schema/vbdpool-paths.md and docs/protocol.md; keep them in step.
 */
#ifndef VBDPOOL_PROTO_H
#define VBDPOOL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define VBD_PROTO_VERSION 1

/* ---- XenStore paths (printf formats) --------------------------------- */
#define VBD_XS_ROOT	      "/vbdpool"
#define VBD_XS_VOLUMES	      "/vbdpool/volumes"
#define VBD_XS_VOLUME	      "/vbdpool/volumes/%s"		      /* vol */
#define VBD_XS_MEMBERS	      "/vbdpool/volumes/%s/members"	      /* vol */
#define VBD_XS_MEMBER	      "/vbdpool/volumes/%s/members/%u"	      /* vol, domid */
#define VBD_XS_ATTACHMENTS    "/vbdpool/volumes/%s/attachments"	      /* vol */
#define VBD_XS_ATTACHMENT     "/vbdpool/volumes/%s/attachments/%u-%u" /* vol, guest, devid */
#define VBD_XS_QUEUE_REC      "/vbdpool/volumes/%s/attachments/%u-%u/queue-%u"
#define VBD_XS_FRONTEND	      "/local/domain/%u/device/vbdpool/%u" /* guest, devid */
#define VBD_XS_FRONTEND_QUEUE "/local/domain/%u/device/vbdpool/%u/queue-%u"
#define VBD_XS_DRAINED	      "/vbdpool/volumes/%s/drained" /* vol; /<domid> */
#define VBD_XS_SUPERVISOR     "/vbdpool/supervisor"
#define VBD_XS_LEASE	      "/vbdpool/supervisor/lease-ms"
/* the per-domain index dom0 keeps beside members/<m>: one empty node per
 * volume the domain is a member of (a member watches only its own) */
#define VBD_XS_MEMBERS_OF    "/vbdpool/members-of"
#define VBD_XS_MEMBER_OF_DOM "/vbdpool/members-of/%u"	 /* domid */
#define VBD_XS_MEMBER_OF     "/vbdpool/members-of/%u/%s" /* domid, vol */
/* a member domain's own node (dom0 creates it with the index, owned by the
 * member): its one heartbeat for every volume it serves */
#define VBD_XS_DOMAINS	 "/vbdpool/domains"
#define VBD_XS_DOMAIN	 "/vbdpool/domains/%u"		 /* domid */
#define VBD_XS_DOMAIN_HB "/vbdpool/domains/%u/heartbeat" /* domid */

/* ---- limits and defaults (the one place for each tunable) ------------ */
#define VBD_MAX_QUEUES		64
#define VBD_DEFAULT_QUEUES	4
#define VBD_MAX_RING_PAGE_ORDER 4 /* up to 16 ring pages */
#define VBD_DEFAULT_RING_ORDER	0
#define VBD_MAX_INDIRECT_SEGS	256 /* 1 MiB of 4 KiB segments per request */
#define VBD_SECTOR_SIZE		512
#define VBD_HEARTBEAT_MS	500
#define VBD_BALANCE_MS		500
#define VBD_VOLUME_ID_MAX	64 /* [A-Za-z0-9_-]{1,64} */
/* frontend (libvbdpool-front) */
#define VBD_FRONT_GRANT_CHUNK 64 /* data pages granted per share call */
/* persistent-grant pages per ring: no more than a member keeps mapped per
 * queue (VBD_MAX_PERSISTENT_GRANTS), else it maps and unmaps per request */
#define VBD_FRONT_MAX_POOL_PAGES VBD_MAX_PERSISTENT_GRANTS
#define VBD_FRONT_GRANT_BUDGET                                                                     \
	16384			      /* all rings of a device: half a default                     \
					 grant table (32768 refs) */
#define VBD_FRONT_CLOSE_WAIT_MS 10000 /* vbd_front_close waits for in-flight I/O */
#define VBD_FRONT_DRAIN_TIMEOUT_MS                                                                 \
	30000 /* writes overlapping a lost member's in-flight writes wait for                      \
		 drained/<m> at most this long (the storage timeout) */
#define VBD_FRONT_STALL_WARN_MS 5000 /* log when I/O is outstanding and nothing answers */
#define VBD_FRONT_RETRY_MS	500  /* retry a failed ring build / record read */
#define VBD_FRONT_STICKY	64   /* SQF ties stay on a queue for this many requests */
/* Adaptive polling windows, at most (vbdpool/apoll.h; docs/perf.md) */
#define VBD_FRONT_POLL_US 100 /* frontend event thread (vbd_front_opts.poll_us) */
#define VBD_BACKD_POLL_US 100 /* a member's queue threads (vbdpool-backd --poll-us) */
/* a member with a storage request outstanding this long publishes
 * members/<me>/io-stuck (vbdpool-backd --io-timeout-ms; the supervisor's
 * storage timeout by default) */
#define VBD_IO_TIMEOUT_MS 30000
#define VBD_FRONT_QUEUE_BATCH                                                                      \
	8 /* new requests stay on the last queue while it                                          \
	     has fewer in flight (owner wakes per batch) */

/* backend (vbdpool-backd) */
#define VBD_DEFAULT_COST	  100	/* members/<m>/load cost= (--cost) */
#define VBD_MAX_VOLUMES		  16	/* --volume options per backd */
#define VBD_MAX_PERSISTENT_GRANTS 1024	/* mapped refs cached per queue epoch */
#define VBD_IO_THREADS		  4	/* workers per queue, thread engine */
#define VBD_CLAIM_GRACE_MS	  1000	/* claim beyond the fair share after */
#define VBD_LEAVE_TIMEOUT_MS	  10000 /* SIGTERM: hand-offs wait this long */
#define VBD_SLOW_FACTOR		  2	/* "slow": mean latency > 2 x median */
#define VBD_SLOW_MIN_US		  1000	/*        and at least 1 ms */
#define VBD_SLOW_SHED_MS	  1000	/* a slow member sheds 1 queue/s */
#define VBD_SLOW_PROBE_MS	  30000 /* an idle member's latency is kept this long */

/* dom0 tools (vbdpoolctl, vbdpool-supervisor) */
#define VBD_DETACH_TIMEOUT_MS  10000 /* detach waits this long for Closed */
#define VBD_LEASE_MS	       1000  /* supervisor: heartbeat unchanged this long -> fence */
#define VBD_STORAGE_TIMEOUT_MS 30000 /* I/O of a stopped domain may land this long */
#define VBD_SUPERVISOR_SCAN_MS                                                                     \
	500 /* supervisor re-checks members this often                                             \
	       (besides @releaseDomain events) */

/* ---- member state (members/<domid>/state) ----------------------------- */
enum vbd_member_state {
	VBD_MEMBER_JOINING,
	VBD_MEMBER_ACTIVE,
	VBD_MEMBER_LEAVING,  /* SIGTERM: handing its queues off */
	VBD_MEMBER_FAILED,   /* storage path failed: takes no queues */
	VBD_MEMBER_DEAD,     /* written by the dom0 supervisor */
	VBD_MEMBER_FENCED,   /* written by the dom0 supervisor */
	VBD_MEMBER_MISMATCH, /* its backing is not the volume's storage (or not
				O_DIRECT in a multi-member volume): serves nothing */
	VBD_MEMBER__COUNT,
};
const char *vbd_member_state_name(enum vbd_member_state s);
int vbd_member_state_parse(const char *s, enum vbd_member_state *out);
/* May this member be given queues? */
static inline int vbd_member_can_serve(enum vbd_member_state s)
{
	return s == VBD_MEMBER_ACTIVE;
}

/* ---- the queue-ownership record (attachments/<g>-<d>/queue-<q>) ------ */
enum vbd_queue_state {
	VBD_Q_UNOWNED,	 /* owner = none */
	VBD_Q_CLAIMED,	 /* owner claimed epoch; waits for the frontend's ring */
	VBD_Q_CONNECTED, /* owner mapped the ring of this epoch and serves it */
	VBD_Q_DRAINING,	 /* owner hands off to `target`: frontend posts no new
			    requests; owner finishes consumed ones, then writes
			    owner=target epoch+1 state=claimed */
	VBD_Q__COUNT,
};
#define VBD_DOMID_NONE 0xffffu

struct vbd_queue_rec {
	uint32_t owner; /* domid or VBD_DOMID_NONE */
	uint64_t epoch; /* +1 on every change of owner */
	enum vbd_queue_state state;
	uint32_t target; /* DRAINING only; else VBD_DOMID_NONE */
};
/* Text form: "owner=<id|none> epoch=<n> state=<name>[ target=<id>]".
 * format returns the length written (like snprintf); parse returns 0 or
 * -EINVAL for any malformed or inconsistent record (never trusts it). */
int vbd_queue_rec_format(const struct vbd_queue_rec *r, char *buf, size_t len);
int vbd_queue_rec_parse(const char *s, struct vbd_queue_rec *out);
const char *vbd_queue_state_name(enum vbd_queue_state s);

/* ---- attachment access (attachments/<g>-<d>/mode, .../shared) -------- */
/* `mode`: "r" (read-only: members answer writes and discards with
 * BLKIF_RSP_ERROR) or "w"; dom0 writes it at attach, in the attachment
 * (read by members and the guest, written by no one else) and, for the
 * guest's information as blkback does, in the frontend directory.  No
 * node: "w" (attached before modes existed).  `shared`: "1" when the
 * attachment was made with --shared (others may be read-write), else "0".
 * parse: 0 with *read_only / *shared set, or -EINVAL. */
#define VBD_MODE_RO "r"
#define VBD_MODE_RW "w"
int vbd_att_mode_parse(const char *s, int *read_only);
int vbd_att_shared_parse(const char *s, int *shared);

/* ---- member load (members/<domid>/load) ------------------------------ */
struct vbd_member_load {
	uint64_t inflight, iops, bytes_per_s, lat_us, p99_us, queues, cost;
};
/* "inflight=N iops=N bps=N lat-us=N p99-us=N queues=N cost=N" */
int vbd_member_load_format(const struct vbd_member_load *l, char *buf, size_t len);
int vbd_member_load_parse(const char *s, struct vbd_member_load *out);
/* Is `path` a member's load node, VBD_XS_VOLUMES/<vol>/members/<m>/load?
 * Members rewrite it about once a second per volume under I/O; watchers
 * that keep nothing of it (the supervisor) or only the loads (a member's
 * balancer) need not re-read the rest of the volume for it. */
int vbd_member_load_path(const char *path);

/* Volume ids: [A-Za-z0-9_-]{1,64} (a XenStore node name). */
int vbd_volume_id_valid(const char *id);

#endif
