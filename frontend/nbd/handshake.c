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
	nbd_put32(b + 10, VBDNBD_MAX_BLOCK);
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

static int opt_list(struct hs *h, uint32_t opt, uint32_t len)
{
	unsigned char b[4] = {0, 0, 0, 0}; /* one export, named "" */

	if (len)
		return opt_reply(h, opt, NBD_REP_ERR_INVALID, NULL, 0);
	if (opt_reply(h, opt, NBD_REP_SERVER, b, sizeof(b)) < 0)
		return -1;
	return opt_reply(h, opt, NBD_REP_ACK, NULL, 0);
}

/* NBD_OPT_EXPORT_NAME: no error reply exists; size, flags, padding. */
static int opt_export_name(struct hs *h)
{
	unsigned char b[10 + NBD_EXPORT_PAD_ZERO];
	size_t n = 10;

	memset(b, 0, sizeof(b));
	nbd_put64(b, h->s->size);
	nbd_put16(b + 8, h->s->tflags);
	if (!conn_no_zeroes(h->c))
		n += NBD_EXPORT_PAD_ZERO;
	return hs_write(h, b, n);
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

enum hs_result nbd_handshake(struct nbd_server *s, struct nbd_conn *c)
{
	struct hs h = {.s = s,
		       .c = c,
		       .fd = conn_fd(c),
		       .wfd = conn_wake_fd(c),
		       .deadline = sock_now_ms() + VBDNBD_HANDSHAKE_TIMEOUT_MS};
	unsigned char b[18], cf[4];
	unsigned char *data = NULL;
	enum hs_result res = HS_CLOSE;
	uint32_t cflags;

	nbd_put64(b, NBD_MAGIC);
	nbd_put64(b + 8, NBD_OPTS_MAGIC);
	nbd_put16(b + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if (hs_write(&h, b, 18) < 0 || hs_read(&h, cf, 4) < 0) {
		io_error(&h, "greeting");
		return HS_CLOSE;
	}
	cflags = nbd_get32(cf);
	if (cflags & ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
		log_warn("%s: unknown client flags 0x%08" PRIx32 ": dropping the connection",
			 conn_name(c), cflags);
		return HS_CLOSE;
	}
	h.fixed = cflags & NBD_FLAG_C_FIXED_NEWSTYLE;
	conn_set_no_zeroes(c, cflags & NBD_FLAG_C_NO_ZEROES);
	data = malloc(VBDNBD_MAX_OPTLEN);
	if (!data) {
		log_err("%s: out of memory", conn_name(c));
		return HS_CLOSE;
	}

	for (unsigned nopt = 0;; nopt++) {
		unsigned char oh[16];
		uint64_t magic;
		uint32_t opt, len;
		int rc;

		if (hs_read(&h, oh, sizeof(oh)) < 0) {
			io_error(&h, "reading an option");
			break;
		}
		magic = nbd_get64(oh);
		opt = nbd_get32(oh + 8);
		len = nbd_get32(oh + 12);
		if (magic != NBD_OPTS_MAGIC) {
			log_warn("%s: bad option magic 0x%016" PRIx64
				 ": not an NBD client, dropping it",
				 conn_name(c), magic);
			break;
		}
		if (len > VBDNBD_MAX_OPTLEN) {
			log_warn("%s: option %" PRIu32 " with %" PRIu32
				 " bytes of data (limit %u): dropping the connection",
				 conn_name(c), opt, len, VBDNBD_MAX_OPTLEN);
			break;
		}
		if (nopt >= VBDNBD_MAX_OPTS) {
			log_warn("%s: more than %u options: dropping the connection", conn_name(c),
				 VBDNBD_MAX_OPTS);
			break;
		}
		if (len && hs_read(&h, data, len) < 0) {
			io_error(&h, "reading option data");
			break;
		}
		log_debug("%s: option %" PRIu32 " (%" PRIu32 " bytes)", conn_name(c), opt, len);
		switch (opt) {
		case NBD_OPT_EXPORT_NAME:
			if (len > VBDNBD_MAX_NAME) {
				log_warn("%s: export name of %" PRIu32
					 " bytes: dropping the connection",
					 conn_name(c), len);
				rc = -1;
				errno = 0;
			} else {
				rc = opt_export_name(&h) < 0 ? -1 : 1;
			}
			break;
		case NBD_OPT_ABORT:
			if (h.fixed)
				(void)opt_reply(&h, opt, NBD_REP_ACK, NULL, 0);
			log_debug("%s: client aborted the handshake", conn_name(c));
			rc = -1;
			errno = 0;
			break;
		case NBD_OPT_LIST:
			rc = opt_list(&h, opt, len);
			break;
		case NBD_OPT_INFO:
		case NBD_OPT_GO:
			rc = opt_info_go(&h, opt, data, len);
			break;
		default:
			if (!h.fixed) {
				log_warn("%s: option %" PRIu32 " unsupported and the client is not "
					 "fixed newstyle: dropping it",
					 conn_name(c), opt);
				rc = -1;
				errno = 0;
			} else {
				rc = opt_reply(&h, opt, NBD_REP_ERR_UNSUP, NULL, 0);
			}
			break;
		}
		if (rc > 0) {
			res = HS_TRANSMIT;
			break;
		}
		if (rc < 0) {
			if (errno)
				io_error(&h, "replying to an option");
			break;
		}
	}
	free(data);
	return res;
}
