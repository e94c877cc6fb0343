/* SPDX-License-Identifier: MIT */
/* The xs_wire.h protocol: message framing limits, argument splitting,
 * Xen's error names. */
#ifndef XENSIM_XS_WIRE_H
#define XENSIM_XS_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

#define XS_HDR_LEN sizeof(struct xsd_sockmsg)
/* Linux's xenbus device (how a domU reaches XenStore) takes a request of
 * at most 4096 bytes, header included: larger payloads are E2BIG for a
 * domU (xen-observed.txt cases 44, 291); dom0's socket takes 4096. */
#define XS_XENBUS_PAYLOAD_MAX (XENSTORE_PAYLOAD_MAX - (int)XS_HDR_LEN)

/* Xen's name for an errno ("EACCES"); EIO for anything Xen has no name for. */
const char *xs_wire_errname(int err);
/* Is the header acceptable (payload within XENSTORE_PAYLOAD_MAX)? */
bool xs_wire_header_ok(const struct xsd_sockmsg *m);
/* Number of NUL-terminated strings in body (count of NULs). */
unsigned xs_wire_count_strings(const char *body, uint32_t len);
/* Body is exactly one NUL-terminated string: returns it, else NULL. */
const char *xs_wire_onearg(const char *body, uint32_t len);
/* Splits a body of exactly n NUL-terminated strings into v; false if the
 * body is not exactly that. */
bool xs_wire_strings(const char *body, uint32_t len, const char **v, unsigned n);
const char *xs_wire_typename(uint32_t type);

#endif
