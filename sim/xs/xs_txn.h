/* SPDX-License-Identifier: MIT */
/*
 * Transactions as C xenstored does them: not snapshots.  A transaction
 * records, for every node it touches (reads included, missing nodes
 * included), the generation it saw on first access, and keeps private
 * copies of the records it changes.  Commit fails with EAGAIN if any
 * touched node changed meanwhile (first committer wins); otherwise the
 * copies replace the global records.  Watch events of a transaction are
 * queued and fired at commit only.
 *
 * struct xs_view is what every operation reads and writes through: the
 * global tree, or the tree seen through one transaction.
 */
#ifndef XENSIM_XS_TXN_H
#define XENSIM_XS_TXN_H

#include "xs_tree.h"
#include "xs_watch.h"

struct xs_txn {
	uint32_t id;
	struct xs_hash acc; /* path -> struct xs_acc */
	unsigned naccessed;
	struct xs_change *events, **ev_tail;
	struct {
		unsigned domid;
		int delta;
	} * owned;
	unsigned nowned;
	bool overflow; /* failed (too many accessed nodes): commit is EAGAIN */
	bool limited;  /* an unprivileged domain's: XS_QUOTA_TXN_NODES applies */
	bool over;     /* a node beyond that quota was accessed (ENOSPC) */
	struct xs_txn *next;
};

struct xs_view {
	struct xs_tree *tree;
	struct xs_txn *txn; /* NULL: the global tree */
};

struct xs_txn *xs_txn_new(uint32_t id);
void xs_txn_free(struct xs_txn *t);

/* The record for path as this view sees it, or NULL.  Valid until the next
 * put/del of the same path. */
const struct xs_node *xs_view_get(struct xs_view *v, const char *path);
/* Store a record (takes ownership).  0 or ENOMEM. */
int xs_view_put(struct xs_view *v, struct xs_node *n);
/* Remove one record (not its children).  0 or ENOMEM. */
int xs_view_del(struct xs_view *v, const char *path);
/* Nodes owned by domid as this view sees it (the quota count). */
unsigned xs_view_owned(struct xs_view *v, unsigned domid);
/* Queue a change's watch event (transaction) - the caller fires it
 * directly when there is no transaction. */
void xs_txn_queue_event(struct xs_txn *t, struct xs_change *c);

/* Calls fn on every record copy the transaction holds (to revoke a
 * released domain's ACL entries in them too). */
void xs_txn_each_copy(struct xs_txn *t, void (*fn)(struct xs_node *n, void *arg), void *arg);

/* 0 (applied; the queued events are handed to *events, caller fires and
 * frees them) or EAGAIN. */
int xs_txn_commit(struct xs_tree *tree, struct xs_txn *t, struct xs_change **events);

#endif
