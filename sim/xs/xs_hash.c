/* SPDX-License-Identifier: MIT */
#include "xs_hash.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

int xs_hash_init(struct xs_hash *h)
{
	h->nb = 64;
	h->n = 0;
	h->b = calloc(h->nb, sizeof(*h->b));
	return h->b ? 0 : -ENOMEM;
}

void xs_hash_destroy(struct xs_hash *h, void (*free_val)(void *))
{
	if (!h->b)
		return;
	for (size_t i = 0; i < h->nb; i++) {
		struct xs_hash_ent *e = h->b[i];
		while (e) {
			struct xs_hash_ent *n = e->next;
			if (free_val)
				free_val(e->val);
			free(e->key);
			free(e);
			e = n;
		}
	}
	free(h->b);
	h->b = NULL;
	h->nb = h->n = 0;
}

static struct xs_hash_ent **find(const struct xs_hash *h, const char *key)
{
	struct xs_hash_ent **pp = &h->b[hash_str(key) & (h->nb - 1)];
	while (*pp && strcmp((*pp)->key, key))
		pp = &(*pp)->next;
	return pp;
}

void *xs_hash_get(const struct xs_hash *h, const char *key)
{
	struct xs_hash_ent *e = *find(h, key);
	return e ? e->val : NULL;
}

static void grow(struct xs_hash *h)
{
	size_t nb = h->nb * 2;
	struct xs_hash_ent **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < h->nb; i++) {
		struct xs_hash_ent *e = h->b[i];
		while (e) {
			struct xs_hash_ent *n = e->next;
			size_t k = hash_str(e->key) & (nb - 1);
			e->next = b[k];
			b[k] = e;
			e = n;
		}
	}
	free(h->b);
	h->b = b;
	h->nb = nb;
}

int xs_hash_put(struct xs_hash *h, const char *key, void *val, void **old)
{
	struct xs_hash_ent **pp = find(h, key), *e;

	if (old)
		*old = NULL;
	if (*pp) {
		if (old)
			*old = (*pp)->val;
		(*pp)->val = val;
		return 0;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return -ENOMEM;
	}
	e->val = val;
	e->next = NULL;
	*pp = e;
	if (++h->n > h->nb * 2)
		grow(h);
	return 0;
}

void *xs_hash_del(struct xs_hash *h, const char *key)
{
	struct xs_hash_ent **pp = find(h, key), *e = *pp;
	void *val;

	if (!e)
		return NULL;
	*pp = e->next;
	val = e->val;
	free(e->key);
	free(e);
	h->n--;
	return val;
}

void xs_hash_each(const struct xs_hash *h, void (*fn)(const char *key, void *val, void *arg),
		  void *arg)
{
	for (size_t i = 0; i < h->nb; i++)
		for (struct xs_hash_ent *e = h->b[i]; e; e = e->next)
			fn(e->key, e->val, arg);
}
