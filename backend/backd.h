/* SPDX-License-Identifier: MIT */
/* vbdpool-backd shared state (like xen-blkback's common.h). The control
 * thread owns everything here; data threads only see their vbd_queue. */
#ifndef VBD_BACKEND_BACKD_H
#define VBD_BACKEND_BACKD_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <xenstore.h>

#include "backing.h"
#include "blog.h"
#include "vbdpool/clock.h"
#include "vbdpool/parse_num.h"
#include "vbdpool/xs.h"
#include "io_engine.h"
#include "dataplane.h"
#include "stats.h"
#include "vbdpool/proto.h"

/* instance.c (below): members/<me>/instance holds "<pid>-<random hex>" */
#define VBD_INST_TOKEN_MAX 48
#define VBD_INST_WATCH_MS  (3 * VBD_HEARTBEAT_MS)

struct backd_config {
	const char **volumes; /* --volume: serve only these; none: every volume
				 this domain is a member of (/vbdpool/members-of) */
	unsigned nvolumes;
	uint64_t cost;
	enum vbd_engine_kind engine;
	int buffered;
	int null_store;
	unsigned poll_us;	 /* --poll-us */
	struct vbd_io_wrap wrap; /* --fault, --throttle: what every engine is wrapped in */
	int no_balance;		 /* --no-balance: no hand-off for balance (bal_round) */
	unsigned io_timeout_ms;	 /* --io-timeout-ms: stuck storage I/O (0: not watched) */
};

/* One queue of an attachment, as this member sees it. */
struct vbd_qslot {
	struct vbd_queue_rec rec; /* last record read */
	int rec_ok;
	struct vbd_queue *q;		 /* our data path for rec.epoch, if we serve it */
	uint64_t claimable_since;	 /* ms; 0 = not claimable */
	uint64_t bad_ring_epoch;	 /* epoch whose ring failed to map (+1), 0 none */
	int banned;			 /* its ring was hostile or unusable at banned_epoch: */
	uint64_t banned_epoch;		 /* not claimed again until the record moves past
					    that epoch or names another domain */
	int releasing;			 /* draining locally, then release (no target) */
	uint64_t avoid_until;		 /* ms: not claimed before (its ring was abandoned) */
	struct vbd_log_once rec_bad_log; /* "malformed ownership record" */
	int fe_watching; /* the frontend's queue-<q>, while we own it: 1 watched, -1 failed */
	int fe_changed;	 /* it (or the frontend state) changed since we looked */
};

struct vbd_attach {
	struct vbd_attach *next;
	unsigned guest, devid, nq;
	char fe[VBD_XS_PATH_MAX]; /* frontend directory */
	int watching, seen;	  /* watching: its `state` (queues: qs[].fe_watching) */
	int fe_dirty;		  /* some qs[].fe_changed is set */
	struct vbd_qslot qs[VBD_MAX_QUEUES];
};

struct vbd_member {
	unsigned domid;
	int state_ok, load_ok;
	enum vbd_member_state state;
	struct vbd_member_load load;
};

/* pathcheck.c: the path checker of a volume's backing (like multipathd's
 * directio checker), a thread of its own so that a stuck path never stalls
 * the control thread. Fields under `lock` unless said otherwise. */
#define VBD_PATHCHK_MS 1000 /* a failed member probes its path this often */
struct vbd_pathchk {
	pthread_t thr;
	int started; /* control thread */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned want, done; /* check generations asked for / begun and done */
	int periodic, stop;
	uint64_t next_ms; /* next periodic probe */
	uint64_t results; /* probes completed */
	int err;	  /* the last probe: 0 (the path works) or -errno */
	char what[160];	  /* the last probe's failure */
	uint64_t seen;	  /* control thread: results taken up */
};

/* heartbeat.c's load publishing: what members/<me>/load is computed from */
struct hb_load {
	struct vbd_stats_snap retired, last; /* stopped queues' counters; last round */
	uint64_t last_ms, last_io_ms;
	struct vbd_member_load my_load;
	char written[256]; /* the load last written: written again only when it differs */
};

struct backd;
struct vbd_balance; /* balance.c */

struct vbd_volume {
	struct backd *bd;
	unsigned idx;
	char id[VBD_VOLUME_ID_MAX + 1];
	int ready;  /* backing opened */
	int joined; /* we wrote our member state */
	enum vbd_member_state my_state;
	struct vbd_backing backing;
	uint64_t size;
	struct vbd_member *members;
	unsigned nmembers;
	struct vbd_attach *atts;
	int dirty;
	int vol_watching; /* control.c: watching /vbdpool/volumes/<id> */
	int loads_dirty;  /* another member's load changed: refresh before balancing */
	int fe_dirty;	  /* some attachment's fe_dirty is set */
	struct vbd_log_once not_member_log; /* pool_check_member's "not a member" */
	struct vbd_log_once setup_log;	    /* pool_volume_setup's failures */
	int refused;			    /* storage.c: not the volume's storage, or buffered with
					       other members: state mismatch until restarted */
	struct hb_load hb;		    /* heartbeat.c's */
	struct vbd_balance *bal;	    /* balance.c's (made by its first round) */
	/* instance.c: one daemon per volume per domain */
	char inst_token[VBD_INST_TOKEN_MAX]; /* our members/<me>/instance */
	int inst_held;			     /* the node holds our token */
	int superseded;			     /* another daemon serves it here: we never will */
	/* self-fencing (heartbeat.c): the data threads take no new request
	 * once this has passed (0: no lease, no supervisor publishing one) */
	_Atomic uint64_t lease_until_ns;
	struct vbd_pathchk chk; /* pathcheck.c */
	/* heartbeat.c: the queues serving now (registered by the control
	 * thread, read by the heartbeat thread under ioq_lock), watched for
	 * storage I/O that hangs; stuck_pub: members/<me>/io-stuck written
	 * (1), not (0), or not known yet (-1: an earlier daemon of this
	 * domain may have left one); heartbeat thread only */
	pthread_mutex_t ioq_lock;
	struct vbd_queue **ioq;
	unsigned nioq, ioq_cap;
	int stuck_pub;
};

struct backd {
	struct xs_handle *xs;
	unsigned me;
	struct backd_config cfg;
	/* the volumes served, each allocated once and kept (data threads
	 * point into them) until exit; vols[i]->idx == i. The array grows
	 * (control thread) under vols_lock, which the heartbeat thread takes
	 * to walk it. */
	struct vbd_volume **vols;
	unsigned nvols, vols_cap;
	pthread_mutex_t vols_lock;
	int all;	  /* no --volume: the domain's index decides */
	int idx_watching; /* watching /vbdpool/members-of/<me> */
	int idx_dirty;	  /* ... and it changed */
	/* control.c: one watch on /vbdpool/volumes for every volume and one on
	 * /local/domain for every frontend (events come only for what this
	 * domain may read: its volumes and their guests' frontends), instead
	 * of one per volume, attachment and queue (Xen's default quota is 128
	 * watches per domain) */
	int fe_watch_all;
	int report_fd;
	int leaving;
	uint64_t leave_deadline;
	int fenced;	   /* the supervisor fenced this member: exit, serve nothing */
	unsigned hb_ms;	   /* heartbeat period: min(VBD_HEARTBEAT_MS, lease / 4) */
	unsigned lease_ms; /* the supervisor's lease, 0 when none is published */
	/* heartbeat.c: the heartbeat thread and its own XenStore connection */
	struct xs_handle *beat_xs;
	pthread_t beat_thr;
	int beat_started, beat_stop;
	int beat_domain; /* beats in /vbdpool/domains/<me> (else per volume) */
};

/* the one clock (vbdpool/clock.h) under the backend's old name */
#define backd_now_ms vbd_now_ms

/* pool.c: volumes, membership, attachments (control path) */
/* The volume named id (NULL: not served yet). */
struct vbd_volume *pool_find_volume(struct backd *bd, const char *id);
/* A new volume to serve (dirty, not joined): its entry, or NULL (ENOMEM). */
struct vbd_volume *pool_add_volume(struct backd *bd, const char *id);
/* No --volume: the volumes listed in /vbdpool/members-of/<me> that are
 * not served yet are added (each to join). Returns how many were added,
 * or -errno; *added (may be NULL) gets them for the instance check. */
int pool_index_scan(struct backd *bd, struct vbd_volume ***added);
int pool_volume_setup(struct vbd_volume *v);
int pool_refresh_members(struct vbd_volume *v);
struct vbd_member *pool_member(struct vbd_volume *v, unsigned domid);
int pool_check_member(struct vbd_volume *v);
int pool_join(struct vbd_volume *v);
int pool_set_state(struct vbd_volume *v, enum vbd_member_state s);
int pool_refresh_attachments(struct vbd_volume *v);
void pool_drop_attachment(struct vbd_volume *v, struct vbd_attach *a);
/* Watch the frontend's queue-<q> of exactly the queues we own or serve. */
void pool_watch_queues(struct vbd_volume *v, struct vbd_attach *a);
/* A watch event under a frontend directory: flags what it concerns (the
 * `state` node: every queue; queue-<q> or one of its ring nodes: that
 * queue); anything else is ignored. Returns 1 if something was flagged. */
int pool_frontend_event(struct vbd_volume *v, const char *path);

/* storage.c: storage identity (docs/protocol.md "Storage identity").
 * storage_verify: before joining, is the backing just opened at `path` the
 * volume's storage (and O_DIRECT, or the only member)? 0, or < 0 having
 * written state mismatch. storage_check_buffered: after each membership
 * refresh, a member serving without O_DIRECT stops when others appear. */
int storage_verify(struct vbd_volume *v, const char *path);
int storage_check_buffered(struct vbd_volume *v);

/* ownership.c: queue-record transitions, each in one XenStore transaction.
 * Each returns 0 (written; s->rec is the new record), OWN_PRECOND (the
 * record is not what the transition expects: nothing written, s->rec is
 * what was found), OWN_NO_TARGET (the member to hand to is not active:
 * nothing written) or another -errno (XenStore). */
enum own_result {
	OWN_PRECOND = -ECANCELED,
	OWN_NO_TARGET = -EHOSTDOWN,
};
int own_read_rec(struct vbd_volume *v, struct vbd_attach *a, unsigned q, struct vbd_queue_rec *r);
int own_claimable(struct vbd_volume *v, const struct vbd_queue_rec *r);
int own_claim(struct vbd_volume *v, struct vbd_attach *a, unsigned q);
int own_start_handoff(struct vbd_volume *v, struct vbd_attach *a, unsigned q, unsigned target);
int own_pass(struct vbd_volume *v, struct vbd_attach *a, unsigned q, unsigned target);
int own_release(struct vbd_volume *v, struct vbd_attach *a, unsigned q);
int own_reclaim(struct vbd_volume *v, struct vbd_attach *a, unsigned q);
int own_set_connected(struct vbd_volume *v, struct vbd_attach *a, unsigned q);
/* reason: members/<me>/failed-reason (failed-since: now, wall clock ms) */
int own_fail_member(struct vbd_volume *v, const char *reason);

/* connect.c: the frontend's side of a queue we own (like blkback's
 * connect_ring). conn_connect: map the ring the frontend publishes for the
 * record's epoch and start the data plane, then write `connected`; 0,
 * -EAGAIN (not published yet) or -errno (a ring nobody can use is released
 * and banned at that epoch). own_stop_queue: stop serving (the data plane
 * destroyed, its counters retired into the volume's load). */
int conn_connect(struct vbd_volume *v, struct vbd_attach *a, unsigned q);
void own_stop_queue(struct vbd_volume *v, struct vbd_qslot *s, const char *why);
/* The frontend changed queue-<q> (or wrote its state): if we own the queue,
 * check the ring it publishes (or connect a claimed queue); else nothing. */
void conn_frontend_changed(struct vbd_volume *v, struct vbd_attach *a, unsigned q);

/* policy.c: per-queue reconciliation (claim, connect, hand off, release) */
void policy_reconcile_attachment(struct vbd_volume *v, struct vbd_attach *a);
/* Does the volume need a reconcile on the next round although nothing
 * changed in XenStore (a claim waiting for its grace period, a queue of
 * ours not connected yet or being handed off or released, a member that
 * is not active)? A settled volume is reconciled only on its watches. */
int policy_wants_round(const struct vbd_volume *v);

/* balance.c: who should serve what. Damping of the slow rule (a round is
 * VBD_BALANCE_MS): a member sheds for being slow once judged slow for
 * VBD_BAL_SLOW_ROUNDS settled rounds in a row, not within
 * VBD_BAL_MOVED_HOLD_MS of a hand-off or a join nor VBD_BAL_SETTLE_MS of a
 * takeover or a member's loss, and never a queue that changed hands within
 * VBD_BAL_FRESH_MS. */
#define VBD_BAL_SLOW_ROUNDS   3
#define VBD_BAL_MOVED_HOLD_MS 2000
#define VBD_BAL_SETTLE_MS     5000
#define VBD_BAL_FRESH_MS      5000
struct bal_move {
	struct vbd_attach *a;
	unsigned q, target;
	int slow; /* 1: the slow rule, 0: the count rule */
};
unsigned bal_fair_share(unsigned nq, unsigned active);
/* Fair share of attachment queues for the members that are active and not
 * slow (all active members if every one is slow). */
unsigned bal_share(struct vbd_volume *v, unsigned nq);
unsigned bal_count_owned(const struct vbd_attach *a, unsigned domid);
/* Best member to hand a queue of `a` to (not me), or VBD_DOMID_NONE. */
unsigned bal_pick_target(struct vbd_volume *v, const struct vbd_attach *a);
int bal_member_slow(struct vbd_volume *v, unsigned domid);
/* Per-request service estimate of a load: the mean latency, or the mean
 * time between completions when requests overlapped (Little's law). */
uint64_t bal_service_us(const struct vbd_member_load *l);
/* Once per round, before bal_decide: notes hand-offs, takeovers and
 * membership changes, and counts the rounds this member was judged slow. */
void bal_observe(struct vbd_volume *v, uint64_t now);
/* The hand-off this round should start, if any (1, *m filled in). */
int bal_decide(struct vbd_volume *v, uint64_t now, struct bal_move *m);
void bal_round(struct backd *bd);
/* The rounds in a row this member was judged slow (bal_observe). */
unsigned bal_slow_rounds(const struct vbd_volume *v);
/* A queue was handed off for being slow at `now`: count again. */
void bal_shed_done(struct vbd_volume *v, uint64_t now);
/* Forget the volume's balance memory (at shutdown). */
void bal_free(struct vbd_volume *v);

/* heartbeat.c: heartbeat, load and features */
void hb_publish(struct vbd_volume *v); /* members/<me>/load */
/* The path came back (pathcheck.c reinstate): the latency kept from the
 * failed path's requests (kept while idle, so a slow member is not given
 * its queues back at once) says nothing of the path now: forget it, or
 * the others avoid the reinstated member as slow for VBD_SLOW_PROBE_MS. */
void hb_forget_latency(struct vbd_volume *v);
/* members/<me>/heartbeat now, through xs, then the member's own lease
 * renewed if its state is neither fenced nor dead (self-fencing). */
void hb_beat(struct vbd_volume *v, struct xs_handle *xs);
/* The heartbeat thread: every bd->hb_ms one beat for the domain
 * (/vbdpool/domains/<me>/heartbeat; per joined volume where dom0 made no
 * such node) and the leases of the joined volumes renewed, on a XenStore
 * connection of its own. 0 or -errno. */
int hb_start(struct backd *bd);
void hb_stop(struct backd *bd);
/* A clean stop (every queue handed off): remove members/<me>/heartbeat,
 * so the supervisor does not take the silence for a hang. */
void hb_withdraw(struct vbd_volume *v);
/* ... the domain's one heartbeat, when it beats there (after the last volume). */
void hb_withdraw_domain(struct backd *bd);
/* The heartbeat another daemon of this domain would advance for v: the
 * domain's, else the volume's. 1 (out set), 0 none, or -errno. */
int hb_read(struct vbd_volume *v, struct xs_handle *xs, char *out, size_t n);
/* The heartbeat period for the supervisor's lease (/vbdpool/supervisor/
 * lease-ms, VBD_LEASE_MS when absent): at least 4 beats per lease. */
unsigned hb_period_ms(struct backd *bd);
/* A queue starts serving (after vbdq_start): its engine is watched for
 * I/O that hangs (--io-timeout-ms).  0 or -ENOMEM (then not watched). */
int hb_watch_queue(struct vbd_volume *v, struct vbd_queue *q);
/* A queue stops (before vbdq_destroy): its counters go into the volume's
 * load, and it is watched no more. */
void hb_retire_queue(struct vbd_volume *v, struct vbd_queue *q);

/* instance.c: one vbdpool-backd per volume per domain (members/<me>/instance).
 * inst_acquire_all: before joining; waits up to VBD_INST_WATCH_MS for a
 * predecessor's heartbeat when its token is there; 0, -EEXIST when another
 * live daemon serves one of them (logged, that volume superseded), or
 * another -errno (e.g. not a member yet: try again later). inst_check: on
 * every reconcile; -EEXIST once another instance took the volume (its
 * queues dropped without writing records). inst_none_left: every volume
 * superseded. inst_release_all: at a clean exit, removes our tokens. */
int inst_acquire_all(struct backd *bd, struct vbd_volume **vs, unsigned n);
int inst_acquire(struct vbd_volume *v);
int inst_check(struct vbd_volume *v);
int inst_none_left(struct backd *bd);
void inst_release_all(struct backd *bd);

/* pathcheck.c: the EIO policy (docs/protocol.md "Storage failure").
 * path_event: on every report from the data threads or the checker: takes
 * up queues that held requests for an EIO and has the path checked; then a
 * working path answers them as media errors, a failed one fails the member;
 * a failed member is reinstated once its periodic probe works again.
 * path_stop: before the backing is closed (joins the checker thread).
 * path_clear_failed: removes members/<me>/failed-reason and failed-since. */
void path_event(struct vbd_volume *v);
void path_stop(struct vbd_volume *v);
void path_clear_failed(struct vbd_volume *v, xs_transaction_t t);

/* control.c: the control thread's loop; returns the process's exit status */
enum backd_exit {
	BACKD_EXIT_OK = 0,
	BACKD_EXIT_ERROR = 1,
	BACKD_EXIT_FENCED = 3, /* the supervisor fenced this member */
};
int control_run(struct backd *bd);

#endif
