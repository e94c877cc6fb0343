/* SPDX-License-Identifier: MIT */
/*
 * The emulator's XenStore: a node tree with Xen's permission model, watches,
 * transactions and domU quotas, served over stream sockets in the real
 * xs_wire.h protocol (so the real libxenstore and xenstore-* tools work).
 * Fidelity target: ../shared/design/xen-observed.txt (C xenstored, 4.17).
 *
 * The daemon core (xensimd.c) owns the sockets and the domains; it hands
 * every accepted connection here with the domain it stands for.
 */
#ifndef XENSIM_XS_SERVER_H
#define XENSIM_XS_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct simloop;
struct xs_server;

struct xs_server *xs_server_new(struct simloop *loop);
void xs_server_free(struct xs_server *s);

/* Take ownership of a connected stream socket whose requests act as
 * domain `domid` (0 = dom0, privileged, no quotas).  A domU's connections
 * share its quotas; -EMFILE once it has XS_QUOTA_CONNS of them.  On
 * failure the caller still owns (and closes) fd. */
int xs_server_add_conn(struct xs_server *s, int fd, unsigned domid);

/* Toolstack operations, done by the daemon itself with dom0's authority
 * (as libxl does through its own connection): watches fire as for any
 * dom0 write.  `perms` uses the xenstore-chmod string form, e.g.
 * "n0 r5" (owner 0, others none, dom5 read); NULL keeps inherited perms.
 * Return 0 or -errno. */
/* value and perms both NULL: the same as xs_server_rm. */
int xs_server_write(struct xs_server *s, const char *path, const char *value, const char *perms);
int xs_server_rm(struct xs_server *s, const char *path);
/* Reads a node into buf (NUL-terminated, truncated); -ENOENT if missing. */
int xs_server_read(struct xs_server *s, const char *path, char *buf, size_t len);

/* Domain lifecycle. introduce: the domain is introduced
 * (IS_DOMAIN_INTRODUCED true) and @introduceDomain fires.  release: the
 * domain is gone: its connections are closed, its watches and
 * transactions dropped; every node it owns is removed with its subtree
 * (watches fire as for an rm by dom0) and the ACL entries naming it stop
 * granting anything (still listed; removed from the special nodes' ACLs),
 * as C xenstored 4.17 does (XSA-419, XSA-322); its node quota is
 * forgotten, and @releaseDomain fires (to privileged watchers; domUs get
 * only their initial event, as observed on Xen). */
void xs_server_introduce(struct xs_server *s, unsigned domid);
void xs_server_release(struct xs_server *s, unsigned domid);

/* Requests (complete messages of any type, answered or refused) that
 * domain `domid`'s connections sent since the server started; kept after
 * the domain is released. -ENOENT for a domain XenStore never heard of
 * (neither introduced nor ever connected); dom0 always answers. */
int xs_server_requests(struct xs_server *s, unsigned domid, uint64_t *out);

#endif
