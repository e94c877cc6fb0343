/* SPDX-License-Identifier: MIT */
/* Strict number parsing for values read from XenStore and the wire. */
#ifndef VBDPOOL_PARSE_NUM_H
#define VBDPOOL_PARSE_NUM_H

#include <stdint.h>

/* Parses s as a decimal number made of digits only (no sign, space or
 * prefix; leading zeros allowed) that is at most max.  Returns 0 and sets
 * *out, or -EINVAL (s NULL, empty, not all digits, overflow or > max). */
int vbd_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
