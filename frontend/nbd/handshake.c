/* SPDX-License-Identifier: MIT */
/*
 * The fixed newstyle handshake: NBD_OPT_GO / NBD_OPT_INFO (export size and
 * flags, block sizes), NBD_OPT_EXPORT_NAME, NBD_OPT_LIST, NBD_OPT_ABORT;
 * every other option is answered NBD_REP_ERR_UNSUP (structured replies
 * included: clients then use simple replies).  The one export answers to
 * any name.  Garbage (bad magic, oversized option data, unknown client
 * flags, too many options) is logged and the connection dropped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbd_proto.h"
#include "server.h"
#include "vbdpool/clock.h"
#include "vbdpool/log.h"

/* A client must finish the handshake within this (a stalled one would
 * otherwise keep one of the MAX_CONNS connection slots forever). */
#ifndef VBDNBD_HANDSHAKE_TIMEOUT_MS
#define VBDNBD_HANDSHAKE_TIMEOUT_MS 30000
#endif

struct hs {
	struct nbd_server *s;
	struct nbd_conn *c;
	int fd, wfd;
	int64_t deadline;
	bool fixed;
};

static int hs_read(struct hs *h, void *buf, size_t n)
{
	return sock_read_full(h->fd, h->wfd, &h->s->stopping, h->deadline, buf, n);
}

static int hs_write(struct hs *h, const void *buf, size_t n)
{
	return sock_write_full(h->fd, h->wfd, &h->s->stopping, h->deadline, buf, n);
}

static int opt_reply(struct hs *h, uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
	unsigned char hdr[20];

	nbd_put64(hdr, NBD_REP_MAGIC);
	nbd_put32(hdr + 8, opt);
	nbd_put32(hdr + 12, type);
	nbd_put32(hdr + 16, len);
	if (hs_write(h, hdr, sizeof(hdr)) < 0)
		return -1;
	return len ? hs_write(h, data, len) : 0;
}

static int info_export(struct hs *h, uint32_t opt)
{
	unsigned char b[12];

	nbd_put16(b, NBD_INFO_EXPORT);
	nbd_put64(b + 2, h->s->size);
	nbd_put16(b + 10, h->s->tflags);
	return opt_reply(h, opt, NBD_REP_INFO, b, sizeof(b));
}

static int info_block_size(struct hs *h, uint32_t opt)
{
	unsigned char b[14];

	nbd_put16(b, NBD_INFO_BLOCK_SIZE);
	nbd_put32(b + 2, VBDNBD_MIN_BLOCK);
	nbd_put32(b + 6, VBDNBD_PREF_BLOCK);
	nbd_put32(b + 10, h->s->max_block);
	return opt_reply(h, opt, NBD_REP_INFO, b, sizeof(b));
}

static int info_name(struct hs *h, uint32_t opt, const unsigned char *name, uint32_t nlen)
{
	unsigned char b[2 + VBDNBD_MAX_NAME];

	nbd_put16(b, NBD_INFO_NAME);
	memcpy(b + 2, name, nlen);
	return opt_reply(h, opt, NBD_REP_INFO, b, 2 + nlen);
}

static int info_description(struct hs *h, uint32_t opt)
{
	char d[160];
	unsigned char b[2 + sizeof(d)];
	int n = snprintf(d, sizeof(d), "vbdpool device %u (volume %s)", h->s->devid,
			 h->s->volume ? h->s->volume : "?");

	if (n < 0 || (size_t)n >= sizeof(d))
		n = (int)strlen(d);
	nbd_put16(b, NBD_INFO_DESCRIPTION);
	memcpy(b + 2, d, (size_t)n);
	return opt_reply(h, opt, NBD_REP_INFO, b, 2 + (uint32_t)n);
}

/* NBD_OPT_INFO / NBD_OPT_GO: 1 = GO succeeded (transmission), 0 = go on
 * haggling, -1 = drop. */
static int opt_info_go(struct hs *h, uint32_t opt, const unsigned char *d, uint32_t len)
{
	uint32_t nlen;
	uint16_t nreq;
	bool want_name = false, want_desc = false;

	if (len < 6 || (nlen = nbd_get32(d)) > len - 6 || nlen > VBDNBD_MAX_NAME)
		return opt_reply(h, opt, NBD_REP_ERR_INVALID, NULL, 0);
	nreq = nbd_get16(d + 4 + nlen);
	if ((uint64_t)len != 6ull + nlen + 2ull * nreq)
		return opt_reply(h, opt, NBD_REP_ERR_INVALID, NULL, 0);
	for (unsigned i = 0; i < nreq; i++) {
		uint16_t t = nbd_get16(d + 6 + nlen + 2 * i);

		want_name |= t == NBD_INFO_NAME;
		want_desc |= t == NBD_INFO_DESCRIPTION;
	}
	/* Block sizes go out whether asked for or not (the spec allows it):
	 * this server refuses requests not aligned to 512 bytes. */
	if (info_export(h, opt) < 0 || info_block_size(h, opt) < 0 ||
	    (want_name && info_name(h, opt, d + 4, nlen) < 0) ||
	    (want_desc && info_description(h, opt) < 0) ||
	    opt_reply(h, opt, NBD_REP_ACK, NULL, 0) < 0)
		return -1;
	return opt == NBD_OPT_GO ? 1 : 0;
}

static int opt_list(struct hs *h, uint32_t opt, const unsigned char *d, uint32_t len)
{
	unsigned char b[4] = {0, 0, 0, 0}; /* one export, named "" */

	(void)d;
	if (len)
		return opt_reply(h, opt, NBD_REP_ERR_INVALID, NULL, 0);
	if (opt_reply(h, opt, NBD_REP_SERVER, b, sizeof(b)) < 0)
		return -1;
	return opt_reply(h, opt, NBD_REP_ACK, NULL, 0);
}

/* NBD_OPT_EXPORT_NAME: no error reply exists; size, flags, padding. */
static int opt_export_name(struct hs *h, uint32_t opt, const unsigned char *d, uint32_t len)
{
	unsigned char b[10 + NBD_EXPORT_PAD_ZERO];
	size_t n = 10;

	(void)opt, (void)d;
	if (len > VBDNBD_MAX_NAME) {
		log_warn("%s: export name of %" PRIu32 " bytes: dropping the connection",
			 conn_name(h->c), len);
		errno = 0;
		return -1;
	}
	memset(b, 0, sizeof(b));
	nbd_put64(b, h->s->size);
	nbd_put16(b + 8, h->s->tflags);
	if (!conn_no_zeroes(h->c))
		n += NBD_EXPORT_PAD_ZERO;
	return hs_write(h, b, n) < 0 ? -1 : 1;
}

static int opt_abort(struct hs *h, uint32_t opt, const unsigned char *d, uint32_t len)
{
	(void)d, (void)len;
	if (h->fixed)
		(void)opt_reply(h, opt, NBD_REP_ACK, NULL, 0);
	log_debug("%s: client aborted the handshake", conn_name(h->c));
	errno = 0;
	return -1;
}

static int opt_unsupported(struct hs *h, uint32_t opt, const unsigned char *d, uint32_t len)
{
	(void)d, (void)len;
	if (h->fixed)
		return opt_reply(h, opt, NBD_REP_ERR_UNSUP, NULL, 0);
	log_warn("%s: option %" PRIu32 " unsupported and the client is not fixed newstyle: "
		 "dropping it",
		 conn_name(h->c), opt);
	errno = 0;
	return -1;
}

static void io_error(struct hs *h, const char *what)
{
	if (errno == ESHUTDOWN)
		log_debug("%s: server stopping during the handshake", conn_name(h->c));
	else if (errno == ETIMEDOUT)
		log_warn("%s: handshake not finished within %d s (%s): dropping the connection",
			 conn_name(h->c), VBDNBD_HANDSHAKE_TIMEOUT_MS / 1000, what);
	else if (errno == 0 || errno == EPIPE || errno == ECONNRESET)
		log_info("%s: client closed the connection during the handshake (%s)",
			 conn_name(h->c), what);
	else
		log_warn("%s: handshake %s: %s", conn_name(h->c), what, strerror(errno));
}

/* An option's handler: 1 = transmission, 0 = go on haggling, -1 = drop
 * (errno 0: said why, else an I/O error to log). */
typedef int (*opt_fn)(struct hs *h, uint32_t opt, const unsigned char *d, uint32_t len);
static const struct {
	uint32_t opt;
	opt_fn fn;
} opt_handlers[] = {
    {NBD_OPT_EXPORT_NAME, opt_export_name},
    {NBD_OPT_ABORT, opt_abort},
    {NBD_OPT_LIST, opt_list},
    {NBD_OPT_INFO, opt_info_go},
    {NBD_OPT_GO, opt_info_go},
};

static opt_fn opt_handler(uint32_t opt)
{
	for (size_t i = 0; i < sizeof(opt_handlers) / sizeof(opt_handlers[0]); i++)
		if (opt_handlers[i].opt == opt)
			return opt_handlers[i].fn;
	return opt_unsupported;
}

/* The greeting and the client's flags: 0, or -1 (logged). */
static int greet(struct hs *h)
{
	unsigned char b[18], cf[4];
	uint32_t cflags;

	nbd_put64(b, NBD_MAGIC);
	nbd_put64(b + 8, NBD_OPTS_MAGIC);
	nbd_put16(b + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if (hs_write(h, b, 18) < 0 || hs_read(h, cf, 4) < 0) {
		io_error(h, "greeting");
		return -1;
	}
	cflags = nbd_get32(cf);
	if (cflags & ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
		log_warn("%s: unknown client flags 0x%08" PRIx32 ": dropping the connection",
			 conn_name(h->c), cflags);
		return -1;
	}
	h->fixed = cflags & NBD_FLAG_C_FIXED_NEWSTYLE;
	conn_set_no_zeroes(h->c, cflags & NBD_FLAG_C_NO_ZEROES);
	return 0;
}

/* Option number nopt of the handshake, its data into data: 0, or -1
 * (logged). */
static int read_option(struct hs *h, unsigned nopt, uint32_t *opt, unsigned char *data,
		       uint32_t *len)
{
	unsigned char oh[16];
	uint64_t magic;

	if (hs_read(h, oh, sizeof(oh)) < 0) {
		io_error(h, "reading an option");
		return -1;
	}
	magic = nbd_get64(oh);
	*opt = nbd_get32(oh + 8);
	*len = nbd_get32(oh + 12);
	if (magic != NBD_OPTS_MAGIC) {
		log_warn("%s: bad option magic 0x%016" PRIx64 ": not an NBD client, dropping it",
			 conn_name(h->c), magic);
		return -1;
	}
	if (*len > VBDNBD_MAX_OPTLEN) {
		log_warn("%s: option %" PRIu32 " with %" PRIu32
			 " bytes of data (limit %u): dropping the connection",
			 conn_name(h->c), *opt, *len, VBDNBD_MAX_OPTLEN);
		return -1;
	}
	if (nopt >= VBDNBD_MAX_OPTS) {
		log_warn("%s: more than %u options: dropping the connection", conn_name(h->c),
			 VBDNBD_MAX_OPTS);
		return -1;
	}
	if (*len && hs_read(h, data, *len) < 0) {
		io_error(h, "reading option data");
		return -1;
	}
	log_debug("%s: option %" PRIu32 " (%" PRIu32 " bytes)", conn_name(h->c), *opt, *len);
	return 0;
}

enum hs_result nbd_handshake(struct nbd_server *s, struct nbd_conn *c)
{
	struct hs h = {.s = s,
		       .c = c,
		       .fd = conn_fd(c),
		       .wfd = conn_wake_fd(c),
		       .deadline = (int64_t)vbd_now_ms() + VBDNBD_HANDSHAKE_TIMEOUT_MS};
	unsigned char *data;
	int rc = -1;

	if (greet(&h) < 0)
		return HS_CLOSE;
	data = malloc(VBDNBD_MAX_OPTLEN);
	if (!data) {
		log_err("%s: out of memory", conn_name(c));
		return HS_CLOSE;
	}
	for (unsigned nopt = 0;; nopt++) {
		uint32_t opt, len;

		if (read_option(&h, nopt, &opt, data, &len) < 0) {
			rc = -1;
			break;
		}
		rc = opt_handler(opt)(&h, opt, data, len);
		if (rc < 0 && errno)
			io_error(&h, "replying to an option");
		if (rc != 0)
			break;
	}
	free(data);
	return rc > 0 ? HS_TRANSMIT : HS_CLOSE;
}
