/* SPDX-License-Identifier: MIT */
/*
 * Watches: registration per connection (duplicate EEXIST, unknown unwatch
 * ENOENT, per-domain quota), the initial event, and delivery of changes as
 * C xenstored does: a change of node N fires the watches at or above N with
 * N's path; a removal also fires, for every removed descendant D, the
 * watches set exactly on D ("exact" changes).  Relative watches get
 * relative paths.  For an unprivileged watcher an event is dropped
 * unless the node (before or after the change) or its parent is readable.
 * @introduceDomain/@releaseDomain reach privileged watchers and those
 * granted read on the special node.
 */
#ifndef XENSIM_XS_WATCH_H
#define XENSIM_XS_WATCH_H

#include <stdbool.h>

#include "xs_tree.h"

struct xs_conn;
struct xs_server;

struct xs_watch {
	char *path; /* as registered (relative or absolute or @special) */
	char *abs;  /* canonical */
	char *token;
	bool relative;
	struct xs_watch *next;
};

/* One change of the tree, with the ACLs that decide who may see it. */
struct xs_change {
	char *path;
	bool exact;		   /* only watches on exactly this path */
	struct xs_perms perms;	   /* the node's (after a change, before a removal) */
	struct xs_perms old_perms; /* set_perms: the previous ACL (num 0: none) */
	struct xs_perms parent;	   /* the parent's (num 0: none) */
	struct xs_change *next;
};

struct xs_change *xs_change_new(const char *path, bool exact, const struct xs_perms *perms,
				const struct xs_perms *old_perms, const struct xs_perms *parent);
void xs_change_free_list(struct xs_change *c);

/* Register (errno: EINVAL bad path, EEXIST duplicate, E2BIG quota).  The
 * caller sends the reply and then xs_watch_initial(). */
int xs_watch_add(struct xs_conn *c, const char *path, const char *token);
void xs_watch_initial(struct xs_conn *c, const char *path, const char *token);
int xs_watch_del(struct xs_conn *c, const char *path, const char *token);
void xs_watch_drop_all(struct xs_conn *c);

void xs_watch_fire(struct xs_server *s, const struct xs_change *ch);
void xs_watch_fire_list(struct xs_server *s, struct xs_change *list); /* fires + frees */
void xs_watch_fire_special(struct xs_server *s, const char *name);

#endif
