/* SPDX-License-Identifier: MIT */
/*
 * Wire protocol between the emulated Xen host (sim/, "xensimd") and
 * its clients: the sim platform (common/platform/sim_*.c) over a domain's
 * "hypercall" socket, and the xensim CLI over the daemon's control socket.
 *
 * Both are SOCK_SEQPACKET Unix sockets: one message = one struct
 * sim_hyp_msg header followed by `len` payload bytes, optionally carrying
 * file descriptors (SCM_RIGHTS, at most SIM_HYP_MAX_FDS per message).
 * Every request gets exactly one reply (op echoed, rc = 0 or -errno);
 * a reply that must carry more descriptors is followed by SIM_OP_MORE_FDS
 * messages.  The only unsolicited message is SIM_OP_CTL_EXIT on the
 * control socket.
 *
 * One hypercall connection = one handle (event channel, grant sharing,
 * grant mapping or domain control), chosen by its first request
 * (SIM_OP_OPEN).  The socket it connected to decides its domain; closing
 * the connection releases everything the handle held, as closing
 * /dev/xen/evtchn, gntalloc or gntdev does.
 *
 * Layout of a host directory DIR (see sim/xensim.h):
 *   DIR/xenstored.sock        dom0's XenStore socket (privileged)
 *   DIR/ctl.sock              control socket (xensim CLI)
 *   DIR/dom/N/xenstore.sock   domain N's XenStore socket (N >= 1)
 *   DIR/dom/N/hyp.sock        domain N's hypercall socket (also N = 0)
 *   DIR/dom/N/console.log     default stdout/stderr of `xensim create`
 *   DIR/xensimd.log, DIR/xensimd.pid
 */
#ifndef VBDPOOL_SIM_HYP_H
#define VBDPOOL_SIM_HYP_H

#include <stddef.h>
#include <stdint.h>

#define SIM_HYP_MAX_FDS	     250   /* descriptors per message */
#define SIM_HYP_MAX_MSG	     65536 /* bytes per message, header included */
#define SIM_HYP_MAX_BATCH    4096  /* pages per share or map call */
#define SIM_EVTCHN_MAX_PORTS 4096  /* per domain, as the 2-level ABI */
#define SIM_GNT_MAX_REFS     32768 /* per domain: 64 v1 grant frames */
#define SIM_GNT_FIRST_REF    8	   /* refs 0-7 are reserved on Xen */
#define SIM_MAX_DOMID	     32751 /* DOMID_FIRST_RESERVED - 1 */
#define SIM_DOMNAME_MAX	     64

/* Environment set for processes running in an emulated domain. */
#define SIM_ENV_HYP    "XENSIM_HYP"
#define SIM_ENV_DOMID  "XENSIM_DOMID"
#define SIM_ENV_DIR    "XENSIM_DIR"
#define SIM_ENV_XSPATH "XENSTORED_PATH"

enum sim_hyp_kind {
	SIM_KIND_EVTCHN = 1,
	SIM_KIND_GNTSHR = 2,
	SIM_KIND_GNTTAB = 3,
	SIM_KIND_DOMCTL = 4,
};

enum sim_hyp_op {
	/* a = kind.  Reply: a = own domid; for EVTCHN one fd: the domain's
	 * port status page (read-only, SIM_EVTCHN_MAX_PORTS uint32 generation
	 * words, bumped whenever a port's binding changes). */
	SIM_OP_OPEN = 1,
	/* a = remote domid.  Reply: a = port, b = generation, fd = the port's
	 * eventfd (readable = pending). */
	SIM_OP_EVT_ALLOC = 2,
	/* a = remote domid, b = remote port.  Reply: a = port, b = generation,
	 * fds = [the new port's eventfd (already signalled once), the remote
	 * port's eventfd (to notify)]. */
	SIM_OP_EVT_BIND = 3,
	SIM_OP_EVT_UNBIND = 4, /* a = port */
	/* a = port.  Reply: b = generation, fd = the peer's eventfd if bound,
	 * none if the peer is gone (notify then delivers nothing). */
	SIM_OP_EVT_PEER = 5,
	/* a = grantee, b = count, c = writable.  Reply: payload = count refs
	 * (uint32), fd = a sealed memfd of count pages (page i = refs[i]). */
	SIM_OP_GNT_SHARE = 6,
	SIM_OP_GNT_UNSHARE = 7, /* payload = refs (uint32) */
	/* a = granter, b = writable, payload = refs.  Reply: a = map id,
	 * b = number of fds in total, payload = struct sim_gnt_page per ref,
	 * fds in this reply and SIM_OP_MORE_FDS messages. */
	SIM_OP_GNT_MAP = 8,
	SIM_OP_GNT_UNMAP = 9, /* a = map id */
	/* Reply: a = number of domains, payload = struct sim_dominfo[]. */
	SIM_OP_DOM_LIST = 10,
	SIM_OP_DOM_PAUSE = 11,	 /* a = domid */
	SIM_OP_DOM_UNPAUSE = 12, /* a = domid */
	SIM_OP_DOM_DESTROY = 13, /* a = domid */
	SIM_OP_MORE_FDS = 14,

	/* Control socket (xensim CLI) only. */
	/* a = argc, b = envc, c = 1 to create paused; payload: name, console
	 * path ("" = default), cwd, argv..., env... (NUL-terminated strings).
	 * Reply: a = domid. */
	SIM_OP_CTL_CREATE = 32,
	/* a = domid, b = argc, c = envc; payload: cwd, argv..., env...;
	 * fds = stdin, stdout, stderr.  Reply: a = pid; later SIM_OP_CTL_EXIT
	 * with a = wait status. */
	SIM_OP_CTL_EXEC = 33,
	SIM_OP_CTL_SIGNAL = 34, /* a = signal, to this connection's exec child */
	SIM_OP_CTL_EXIT = 35,
	SIM_OP_CTL_STOP = 36, /* kill every domain, exit; the reply precedes EOF */
	SIM_OP_CTL_PING = 37,
	/* a = domid.  Reply: payload = struct sim_xs_stats; -ENOENT for a
	 * domain XenStore never heard of. */
	SIM_OP_CTL_XS_STATS = 38,
};

/* What the emulated xenstored counted for one domain (xensim stats). */
struct sim_xs_stats {
	uint64_t requests; /* messages its connections sent, since the host started */
};

struct sim_hyp_msg {
	uint32_t op;
	int32_t rc; /* replies: 0 or -errno */
	uint32_t a, b, c;
	uint32_t len; /* payload bytes after this header */
};

struct sim_gnt_page {
	uint32_t fd_index; /* index into the reply's descriptors */
	uint32_t page;	   /* page offset inside that file */
};

struct sim_dominfo {
	uint32_t domid;
	uint32_t state; /* enum vbd_domstate */
	int32_t pgid;	/* process group (0 for dom0 and dead domains) */
	char name[SIM_DOMNAME_MAX];
};

/* Message I/O (common/platform/sim_msg.c).  send: returns 0 or -errno.
 * recv: returns the payload length (>= 0) or -errno (-ECONNRESET on EOF);
 * received descriptors are close-on-exec; *nfds (in: capacity, out:
 * received). A message that does not fit is an error (-EMSGSIZE) and its
 * descriptors are closed. */
int sim_msg_send(int sock, const struct sim_hyp_msg *h, const void *payload, size_t len,
		 const int *fds, int nfds);
int sim_msg_recv(int sock, struct sim_hyp_msg *h, void *payload, size_t cap, int *fds, int *nfds);
/* Connects a SOCK_SEQPACKET socket to `path`; returns the fd or -errno. */
int sim_msg_connect(const char *path);
/* Raise RLIMIT_NOFILE to its hard limit (once per process). */
void sim_raise_nofile(void);

#endif
