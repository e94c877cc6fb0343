/* SPDX-License-Identifier: MIT */
/* A small string-keyed hash map (chained, grows), used for the node store
 * and for a transaction's accessed-node set. */
#ifndef XENSIM_XS_HASH_H
#define XENSIM_XS_HASH_H

#include <stddef.h>

struct xs_hash_ent {
	char *key;
	void *val;
	struct xs_hash_ent *next;
};

struct xs_hash {
	struct xs_hash_ent **b;
	size_t nb, n;
};

int xs_hash_init(struct xs_hash *h);
/* Frees the map; calls free_val on every value if non-NULL. */
void xs_hash_destroy(struct xs_hash *h, void (*free_val)(void *));
void *xs_hash_get(const struct xs_hash *h, const char *key);
/* Inserts or replaces; the key is copied.  Returns 0 or -ENOMEM.  A
 * replaced value is stored in *old (if old is non-NULL). */
int xs_hash_put(struct xs_hash *h, const char *key, void *val, void **old);
/* Removes a key; returns its value or NULL. */
void *xs_hash_del(struct xs_hash *h, const char *key);
/* Calls fn for every entry (no modification of h inside fn). */
void xs_hash_each(const struct xs_hash *h, void (*fn)(const char *key, void *val, void *arg),
		  void *arg);

#endif
