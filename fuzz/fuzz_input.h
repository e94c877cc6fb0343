/* SPDX-License-Identifier: MIT */
/* Reading a libFuzzer input as a stream of big-endian integers; past the
 * end it reads zeroes, so every input is a complete program. */
#ifndef VBDPOOL_FUZZ_INPUT_H
#define VBDPOOL_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A broken invariant aborts: that is the fuzzer's finding (unlike the unit
 * tests' counting CHECK of tests/lib/check.h). */
#define FUZZ_INVARIANT(cond)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = (v << 8) | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

#endif
