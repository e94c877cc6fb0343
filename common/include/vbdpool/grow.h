/* SPDX-License-Identifier: MIT */
/* The one growable-array step: room for one more element, capacity doubled
 * (from `first`) when full.  VBD_GROW(arr, n, cap, first) for a pointer
 * `arr` holding n of cap elements; 0, or -ENOMEM with the array unchanged. */
#ifndef VBDPOOL_GROW_H
#define VBDPOOL_GROW_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static inline int vbd_grow(void *arrp, unsigned n, unsigned *cap, size_t size, unsigned first)
{
	unsigned c = *cap ? *cap * 2 : first;
	void *old, *nv;

	if (n < *cap)
		return 0;
	memcpy(&old, arrp, sizeof(old));
	nv = realloc(old, (size_t)c * size);
	if (!nv)
		return -ENOMEM;
	memcpy(arrp, &nv, sizeof(nv));
	*cap = c;
	return 0;
}

#define VBD_GROW(arr, n, cap, first) vbd_grow(&(arr), (n), &(cap), sizeof(*(arr)), (first))

#endif
