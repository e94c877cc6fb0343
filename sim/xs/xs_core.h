/* SPDX-License-Identifier: MIT */
/* Shared state of the XenStore server modules (not for the daemon core:
 * it uses xs_server.h). */
#ifndef XENSIM_XS_CORE_H
#define XENSIM_XS_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "xs_server.h"
#include "xs_tree.h"
#include "xs_txn.h"
#include "xs_watch.h"
#include "xs_wire.h"

/* Output dom0's connection may hold for a peer that does not read before
 * it is dropped; a domU's connections together get XS_QUOTA_MEMORY. */
#define XS_CONN_OUT_MAX (16u << 20)

struct xs_conn {
	struct xs_server *s;
	int fd; /* -1: no socket (fuzzing, the toolstack's own requests) */
	unsigned domid;
	bool priv;
	bool dead, busy;
	/* input: one message at a time */
	uint8_t hdr[XS_HDR_LEN];
	size_t hdr_got;
	struct xsd_sockmsg msg;
	char body[XENSTORE_PAYLOAD_MAX + 1];
	size_t body_got;
	/* output */
	char *out;
	size_t out_off, out_len, out_cap;
	bool want_out;
	unsigned outstanding; /* replies in out (counted until it is empty) */
	bool stalled;	      /* not read: its domain's outstanding quota */
	struct xs_watch *watches;
	struct xs_txn *txns;
	struct xs_dom *dom; /* its domain's quota state */
	struct xs_conn *next;
};

/* Per domain, as on Xen where a domU has one ring connection: whatever
 * number of sockets it opens, they share these counts and quotas. */
struct xs_dom {
	unsigned domid;
	bool introduced;
	unsigned nconns;      /* open connections (XS_QUOTA_CONNS) */
	unsigned nwatches;    /* XS_QUOTA_WATCHES */
	unsigned ntxns;	      /* open transactions (XS_QUOTA_TRANSACTIONS) */
	unsigned outstanding; /* replies not yet written (XS_QUOTA_OUTSTANDING) */
	size_t out_bytes;     /* output queued for it (XS_QUOTA_MEMORY) */
	uint64_t requests;    /* messages its connections sent (never reset) */
	struct xs_dom *next;
};

struct xs_server {
	struct simloop *loop;
	struct xs_tree tree;
	struct xs_conn *conns;
	struct xs_dom *doms;
	struct xs_perms special_intro, special_release;
	uint32_t next_txid;
	int depth; /* nested entry guard for reaping */
};

/* One request being served. */
struct xs_req {
	struct xs_server *s;
	struct xs_conn *conn; /* may be NULL (toolstack calls) */
	unsigned domid;
	bool priv;
	struct xs_txn *txn;
	uint32_t type;
	const char *body;
	uint32_t len;
	/* reply */
	char *rbuf;
	size_t rlen;
	size_t rcap;
};

/* reply helpers (xs_server.c) */
int xs_req_reply(struct xs_req *r, const void *data, size_t len);
int xs_req_reply_str(struct xs_req *r, const char *s); /* with its NUL */

/* xs_domain.c */
struct xs_dom *xs_dom_get(struct xs_server *s, unsigned domid, bool create);
int xs_domain_op(struct xs_req *r); /* GET_DOMAIN_PATH, INTRODUCE, ... CONTROL */
void xs_dom_free_all(struct xs_server *s);

/* xs_ops.c: node operations, errno or 0 with the reply in r */
int xs_node_op(struct xs_req *r);
int xs_op_write(struct xs_req *r, const char *path, const char *val, uint32_t vlen, bool mkdir);
int xs_op_rm(struct xs_req *r, const char *path);
int xs_op_set_perms(struct xs_req *r, const char *path, const struct xs_perms *perms);

/* xs_conn.c */
struct xs_conn *xs_conn_new(struct xs_server *s, int fd, unsigned domid);
void xs_conn_feed(struct xs_conn *c, const uint8_t *data, size_t len);
void xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *data, size_t len);
void xs_conn_send_error(struct xs_conn *c, const struct xsd_sockmsg *req, int err);
void xs_conn_close(struct xs_conn *c);
void xs_conn_drop_txns(struct xs_conn *c);
void xs_conn_free(struct xs_conn *c);
void xs_server_reap(struct xs_server *s);

/* xs_server.c: one complete message of a connection */
void xs_server_dispatch(struct xs_conn *c, const struct xsd_sockmsg *m, const char *body);

#endif
