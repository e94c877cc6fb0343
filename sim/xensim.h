/* SPDX-License-Identifier: MIT */
/*
 * The emulated Xen host's daemon (xensimd): shared state of its modules.
 *
 *   xensimd.c  daemon main: sockets, signals, start/stop
 *   domains.c  domain records, creation as libxl does, death, zombies
 *   spawn.c    running programs inside a domain's process group
 *   hyp.c      hypercall connections: framing and dispatch
 *   evtchn.c   event channels (per-domain port tables)
 *   gnttab.c   grant tables (memfd-backed pages)
 *   domctl.c   list / pause / unpause / destroy
 *   ctl.c      the control socket the CLI talks to
 *   cli.c      the `xensim` command line (the only main())
 *
 * A domain is a process group.  The daemon is a child subreaper, so every
 * process of every domain ends up reaped here; after each reap (and on a
 * periodic timer) a domain whose group is empty (kill(-pgid, 0) fails with
 * ESRCH) has died.  Domain processes must therefore not leave their
 * process group (setpgid/setsid): such a process no longer keeps its
 * domain alive and is not killed by pause/destroy.  Its identity on the
 * sockets does not change, though: that is decided by ancestry (a process
 * below the daemon belongs to the domain the daemon started its ancestor
 * into, and never gets dom0's rights).
 *
 * Where the emulation differs from Xen 4.17 (xen-observed.txt):
 *  - grant pages of one share call live in one memfd; a mapper receives
 *    that file (read-only for PROT_READ maps) and maps only the pages it
 *    asked for, but a hostile mapper that kept the descriptor could map the
 *    call's sibling pages (same grantee, same access) or keep access after
 *    its unmap;
 *  - no grant copy, no unmap notifications (not in the platform interface);
 *    refs are allocated round-robin, not lowest-free;
 *  - ended grants become unmappable at once after unshare (Xen: the release
 *    is deferred ~3 s); grants of a handle closed without unshare end ~20 ms
 *    later unless the domain died (then they last as long as the zombie);
 *  - a domain dies the moment its last process is reaped (or on destroy);
 *    there is no separate shutdown state: one @releaseDomain, after the
 *    removal of /local/domain/<id> (xl destroy order), also for a
 *    "poweroff".  It stays listed as dying (its domid not reused) until
 *    every process of its group has exited (zombies aside) and no other
 *    domain maps its pages: a process blocked in the kernel (say on a FUSE
 *    request its daemon holds) outlives SIGKILL, as in-flight I/O holds a
 *    dying Xen domain;
 *  - pause is SIGSTOP: a process can be resumed behind the daemon's back
 *    with SIGCONT and `list` would still say paused;
 *  - event channel ports are numbered from 1 per domain (Xen reserves some
 *    low ports); no VIRQs, no IPIs;
 *  - the control socket trusts the host's processes (same uid): any local
 *    process outside the daemon's tree can create/destroy domains, as
 *    anyone with dom0 access could (a domain's processes are refused).
 */
#ifndef XENSIM_XENSIM_H
#define XENSIM_XENSIM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "vbdpool/platform.h"
#include "sim_hyp.h"

struct simloop;
struct xs_server;
struct hconn;
struct gent;

struct port {
	uint8_t state; /* PORT_* */
	struct hconn *owner;
	uint16_t rdom;	/* remote domain (unbound: who may bind) */
	uint32_t rport; /* bound: remote port */
	int efd;	/* eventfd: readable = pending on this port */
};

enum { PORT_FREE = 0, PORT_UNBOUND = 1, PORT_BOUND = 2 };

struct dom {
	unsigned id;
	char name[SIM_DOMNAME_MAX];
	pid_t pgid; /* 0 for dom0 */
	enum vbd_domstate state;
	int xs_lfd, hyp_lfd;	  /* listening sockets, -1 if none */
	char path[PATH_MAX + 32]; /* DIR/dom/N */
	struct hconn *conns;
	/* event channels */
	struct port *ports;
	uint32_t *status; /* shared generation words (memfd) */
	int status_fd;
	/* grant tables */
	struct gent **gnt;
	unsigned gnt_next;
	unsigned long foreign_maps; /* live maps of this domain's grants */
	/* dying: its process group while a process of it has not exited
	 * (e.g. blocked in the kernel on I/O that holds it), else 0 */
	pid_t dying_pgid;
	bool busy; /* being torn down: not freed meanwhile */
	struct dom *next;
};

struct hconn {
	int fd;
	struct dom *dom;
	int kind; /* enum sim_hyp_kind, 0 before OPEN */
	struct gmap *maps;
	bool broken; /* a reply could not be sent: closed after dispatch */
	struct hconn *next;
};

struct sim {
	struct simloop *loop;
	struct xs_server *xs;
	char dir[PATH_MAX];
	int ctl_lfd, xs0_lfd, sigfd;
	struct dom *doms;
	unsigned next_domid;
	bool stopping;
	struct rlimit nofile; /* as started: restored for domain processes */
};

extern struct sim *g_sim;

/* xensimd.c */
int xensimd_main(const char *dir, int ready_fd);
int sim_listen(const char *path, int type);
/* dir/name listening (type) in the loop, accepted by cb(arg): 0 or -errno */
int sim_listen_on(const char *dir, const char *name, int type, int *lfd,
		  void (*cb)(void *, uint32_t), void *arg);
void xensimd_request_stop(void);
void xensimd_reap(void); /* reap children, then let empty domains die */

/* domains.c */
struct dom *dom_find(unsigned id); /* including dying (zombie) domains */
struct dom *dom_find_live(unsigned id);
int dom_setup_dom0(void);
/* Creates the domain record and its sockets and XenStore home; the caller
 * spawns its first process and then calls dom_started(). */
int dom_create(const char *name, struct dom **out);
void dom_started(struct dom *d, pid_t pgid);
/* after reaping: domains whose group is empty die; dying domains whose
 * processes have all exited (and nothing maps their pages) are gone */
void dom_check_all(void);
void dom_die(struct dom *d);
/* dying, every process exited and no foreign maps left: free it */
void dom_maybe_free(struct dom *d);
/* Processes of process group pgid whose state (/proc/<pid>/stat) is not
 * one of `skip`; -errno if /proc cannot be read. */
int sim_pgrp_count(pid_t pgid, const char *skip);
void dom_kill_all(void);
/* May the peer of connected socket fd act as domain d?  Not if it is a
 * process of another domain, nor one the daemon cannot place (identity is
 * by ancestry: see dom_of_pid); the host's processes (outside the daemon's
 * tree: dom0) may use any socket. */
bool dom_peer_ok(int fd, const struct dom *d);
/* Accepts XenStore connections on lfd for domain d (dom_peer_ok). */
void dom_xs_accept(int lfd, const struct dom *d);
/* Processes spawned into a domain, until reaped (identity by ancestry). */
void dom_track(pid_t pid, unsigned domid);
void dom_untrack(pid_t pid);

/* spawn.c: fork + exec into process group pgid (0 = new group).  Returns
 * the pid or -errno (exec failure is reported synchronously, except for a
 * stopped start: then the program exits 127 once resumed). */
struct spawn_req {
	unsigned domid;
	pid_t pgid;
	const char *cwd;
	char *const *argv;
	char *const *envp;
	int fds[3];
	bool stopped; /* the domain is paused: start stopped (SIGSTOP) */
};
pid_t spawn_in_domain(const struct spawn_req *r);

/* hyp.c */
void hyp_accept(struct dom *d);
void hyp_close(struct hconn *c);
int hyp_reply(struct hconn *c, uint32_t op, int rc, uint32_t a, uint32_t b, const void *payload,
	      size_t len, const int *fds, int nfds);

/* evtchn.c */
int evt_dom_init(struct dom *d);
void evt_dom_fini(struct dom *d);
void evt_request(struct hconn *c, const struct sim_hyp_msg *m);
void evt_release(struct hconn *c);
void evt_close_dom(struct dom *d);

/* gnttab.c */
void gnt_request(struct hconn *c, const struct sim_hyp_msg *m, const void *payload);
void gnt_release(struct hconn *c);
void gnt_dom_fini(struct dom *d); /* frees whatever is left of the table */

/* domctl.c */
int domctl_list(struct sim_dominfo *out, int max);
int domctl_pause(unsigned domid);
int domctl_unpause(unsigned domid);
int domctl_destroy(unsigned domid);
void domctl_request(struct hconn *c, const struct sim_hyp_msg *m);

/* ctl.c */
void ctl_accept(void);
void ctl_child_exited(pid_t pid, int status);

#endif
