/* SPDX-License-Identifier: MIT */
/*
 * A small synchronous NBD client for test programs (one request in flight
 * per connection): fixed-newstyle handshake with NBD_OPT_GO (falling back
 * to NBD_OPT_EXPORT_NAME), simple replies, READ / WRITE (+FUA) / FLUSH /
 * TRIM / DISC.  Written from the NBD protocol document (proto.md of the
 * nbd project); no structured replies, no TLS.
 *
 * Functions return 0 or -errno; an NBD error reply comes back as the
 * negated errno the server sent (EIO, EINVAL, ...).
 */
#ifndef VBD_TEST_NBD_CLIENT_H
#define VBD_TEST_NBD_CLIENT_H

#include <stdint.h>

struct nbdc {
	int fd;
	uint64_t size;	 /* export size in bytes */
	uint16_t tflags; /* transmission flags */
	uint64_t cookie; /* next request's handle */
	char err[160];	 /* last failure, for messages */
};

/* Connects to the Unix socket PATH and negotiates the default export. */
int nbdc_connect_unix(struct nbdc *c, const char *path);
int nbdc_pread(struct nbdc *c, void *buf, uint32_t len, uint64_t off);
int nbdc_pwrite(struct nbdc *c, const void *buf, uint32_t len, uint64_t off, int fua);
int nbdc_flush(struct nbdc *c);
int nbdc_trim(struct nbdc *c, uint32_t len, uint64_t off);
/* Pipelining: nbdc_send_read sends a READ without waiting for its reply;
 * nbdc_recv_read reads the next reply, whichever READ of len bytes it
 * answers (the server may answer out of order). */
int nbdc_send_read(struct nbdc *c, uint32_t len, uint64_t off);
int nbdc_recv_read(struct nbdc *c, void *buf, uint32_t len);
/* Sends NBD_CMD_DISC and closes. Safe on a closed client. */
void nbdc_close(struct nbdc *c);

#endif
