/* SPDX-License-Identifier: MIT */
/* The XenStore server's fuzzing entry points (xs_fuzz.c): linked only into
 * the fuzz target (fuzz/xs_wire_fuzz.c), not into libxsserver or xensim. */
#ifndef XENSIM_XS_FUZZ_H
#define XENSIM_XS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Feed raw bytes of one connection's input as domain `domid`; replies are
 * discarded. Never crashes on any input. */
void xs_server_fuzz_input(const uint8_t *data, size_t len, unsigned domid);
/* The same for several connections and the toolstack at once, so watch
 * events, permission filtering and transaction conflicts cross between
 * them: data is a sequence of chunks {u8 target, u16 length (LE), bytes}.
 * target % 4: 0 dom0's connection, 1 dom1's, 2 dom2's (re-opened after a
 * release), 3 a toolstack call chosen by the chunk's first byte. */
void xs_server_fuzz_multi(const uint8_t *data, size_t len);

#endif
