/* SPDX-License-Identifier: MIT */
#include "nbd_client.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define NBDMAGIC	   0x4e42444d41474943ull /* "NBDMAGIC" */
#define IHAVEOPT	   0x49484156454f5054ull /* "IHAVEOPT" */
#define OPT_REPLY_MAGIC	   0x0003e889045565a9ull
#define REQUEST_MAGIC	   0x25609513u
#define SIMPLE_REPLY_MAGIC 0x67446698u

#define FLAG_FIXED_NEWSTYLE 1u
#define FLAG_NO_ZEROES	    2u
#define OPT_EXPORT_NAME	    1u
#define OPT_GO		    7u
#define REP_ACK		    1u
#define REP_INFO	    3u
#define REP_ERR_UNSUP	    (0x80000000u | 1u)
#define INFO_EXPORT	    0u

#define CMD_READ     0u
#define CMD_WRITE    1u
#define CMD_DISC     2u
#define CMD_FLUSH    3u
#define CMD_TRIM     4u
#define CMD_FLAG_FUA 1u

static int fail(struct nbdc *c, int rc, const char *what)
{
	snprintf(c->err, sizeof(c->err), "nbd: %s: %s", what, strerror(-rc));
	return rc;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_iov(int fd, struct iovec *iov, int n)
{
	while (n) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	struct iovec v = {(void *)buf, len};

	return write_iov(fd, &v, 1);
}

static int send_opt(struct nbdc *c, uint32_t opt, const void *data, uint32_t len)
{
	struct __attribute__((packed)) {
		uint64_t magic;
		uint32_t opt, len;
	} h = {htobe64(IHAVEOPT), htobe32(opt), htobe32(len)};
	struct iovec v[2] = {{&h, sizeof(h)}, {(void *)data, len}};

	return write_iov(c->fd, v, len ? 2 : 1);
}

/* NBD_OPT_GO on the default export: 1 done, 0 server lacks GO, -errno. */
static int opt_go(struct nbdc *c)
{
	unsigned char req[6] = {0}; /* name length 0, no name, 0 info requests */
	int rc = send_opt(c, OPT_GO, req, sizeof(req));

	for (int replies = 0; !rc && replies < 64; replies++) {
		struct __attribute__((packed)) {
			uint64_t magic;
			uint32_t opt, type, len;
		} r;
		unsigned char data[256];

		rc = read_all(c->fd, &r, sizeof(r));
		if (rc)
			break;
		r.type = be32toh(r.type);
		r.len = be32toh(r.len);
		if (be64toh(r.magic) != OPT_REPLY_MAGIC || be32toh(r.opt) != OPT_GO)
			return fail(c, -EPROTO, "bad option reply");
		if (r.len > sizeof(data))
			return fail(c, -EPROTO, "option reply too long");
		rc = read_all(c->fd, data, r.len);
		if (rc)
			break;
		if (r.type == REP_ACK)
			return c->size ? 1
				       : fail(c, -EPROTO, "GO acknowledged without export info");
		if (r.type == REP_ERR_UNSUP)
			return 0;
		if (r.type & 0x80000000u)
			return fail(c, -EIO, "server refused NBD_OPT_GO");
		if (r.type == REP_INFO && r.len >= 12 && data[0] == 0 && data[1] == INFO_EXPORT) {
			uint64_t sz;
			uint16_t fl;

			memcpy(&sz, data + 2, 8);
			memcpy(&fl, data + 10, 2);
			c->size = be64toh(sz);
			c->tflags = be16toh(fl);
		}
	}
	return rc ? fail(c, rc, "NBD_OPT_GO") : fail(c, -EPROTO, "too many option replies");
}

int nbdc_connect_unix(struct nbdc *c, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct __attribute__((packed)) {
		uint64_t magic, opt;
		uint16_t flags;
	} g;
	uint32_t cflags;
	int rc;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(a.sun_path))
		return fail(c, -ENAMETOOLONG, path);
	strcpy(a.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail(c, -errno, "socket");
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a))) {
		rc = fail(c, -errno, path);
		goto out;
	}
	rc = read_all(c->fd, &g, sizeof(g));
	if (rc) {
		fail(c, rc, "greeting");
		goto out;
	}
	if (be64toh(g.magic) != NBDMAGIC || be64toh(g.opt) != IHAVEOPT ||
	    !(be16toh(g.flags) & FLAG_FIXED_NEWSTYLE)) {
		rc = fail(c, -EPROTO, "not a fixed-newstyle NBD server");
		goto out;
	}
	cflags = htobe32(FLAG_FIXED_NEWSTYLE | (be16toh(g.flags) & FLAG_NO_ZEROES));
	rc = write_all(c->fd, &cflags, sizeof(cflags));
	if (!rc)
		rc = opt_go(c);
	if (rc == 0) { /* old server: NBD_OPT_EXPORT_NAME "" */
		unsigned char tail[10 + 124];
		size_t tl = (be16toh(g.flags) & FLAG_NO_ZEROES) ? 10 : sizeof(tail);
		uint64_t sz;
		uint16_t fl;

		rc = send_opt(c, OPT_EXPORT_NAME, NULL, 0);
		if (!rc)
			rc = read_all(c->fd, tail, tl);
		if (rc) {
			fail(c, rc, "NBD_OPT_EXPORT_NAME");
			goto out;
		}
		memcpy(&sz, tail, 8);
		memcpy(&fl, tail + 8, 2);
		c->size = be64toh(sz);
		c->tflags = be16toh(fl);
	}
	if (rc < 0)
		goto out;
	return 0;
out:
	close(c->fd);
	c->fd = -1;
	return rc;
}

static int send_request(struct nbdc *c, uint16_t type, uint16_t flags, uint64_t off, uint32_t len,
			const void *wbuf)
{
	struct __attribute__((packed)) {
		uint32_t magic;
		uint16_t flags, type;
		uint64_t cookie, off;
		uint32_t len;
	} q = {htobe32(REQUEST_MAGIC), htobe16(flags), htobe16(type),
	       htobe64(++c->cookie),   htobe64(off),   htobe32(len)};
	struct iovec v[2] = {{&q, sizeof(q)}, {(void *)wbuf, wbuf ? len : 0}};
	int rc;

	if (c->fd < 0)
		return fail(c, -ENOTCONN, "request on a closed connection");
	rc = write_iov(c->fd, v, wbuf ? 2 : 1);
	return rc ? fail(c, rc, "request") : 0;
}

/* The next reply, to request `cookie` (0: any); a READ's len bytes into
 * rbuf (when no error). */
static int recv_reply(struct nbdc *c, uint64_t cookie, void *rbuf, uint32_t len)
{
	struct __attribute__((packed)) {
		uint32_t magic, error;
		uint64_t cookie;
	} r;
	int rc = read_all(c->fd, &r, sizeof(r));

	if (rc)
		return fail(c, rc, "reply");
	if (be32toh(r.magic) != SIMPLE_REPLY_MAGIC || (cookie && be64toh(r.cookie) != cookie))
		return fail(c, -EPROTO, "bad reply header");
	if (r.error) {
		snprintf(c->err, sizeof(c->err), "nbd: server error %u", be32toh(r.error));
		return -(int)be32toh(r.error);
	}
	if (rbuf) {
		rc = read_all(c->fd, rbuf, len);
		if (rc)
			return fail(c, rc, "read payload");
	}
	return 0;
}

static int request(struct nbdc *c, uint16_t type, uint16_t flags, uint64_t off, uint32_t len,
		   const void *wbuf, void *rbuf)
{
	int rc = send_request(c, type, flags, off, len, wbuf);

	return rc ? rc : recv_reply(c, c->cookie, rbuf, len);
}

int nbdc_send_read(struct nbdc *c, uint32_t len, uint64_t off)
{
	return send_request(c, CMD_READ, 0, off, len, NULL);
}

int nbdc_recv_read(struct nbdc *c, void *buf, uint32_t len)
{
	return recv_reply(c, 0, buf, len);
}

int nbdc_pread(struct nbdc *c, void *buf, uint32_t len, uint64_t off)
{
	return request(c, CMD_READ, 0, off, len, NULL, buf);
}

int nbdc_pwrite(struct nbdc *c, const void *buf, uint32_t len, uint64_t off, int fua)
{
	return request(c, CMD_WRITE, fua ? CMD_FLAG_FUA : 0, off, len, buf, NULL);
}

int nbdc_flush(struct nbdc *c)
{
	return request(c, CMD_FLUSH, 0, 0, 0, NULL, NULL);
}

int nbdc_trim(struct nbdc *c, uint32_t len, uint64_t off)
{
	return request(c, CMD_TRIM, 0, off, len, NULL, NULL);
}

void nbdc_close(struct nbdc *c)
{
	if (c->fd < 0)
		return;
	struct __attribute__((packed)) {
		uint32_t magic;
		uint16_t flags, type;
		uint64_t cookie, off;
		uint32_t len;
	} q = {htobe32(REQUEST_MAGIC), 0, htobe16(CMD_DISC), htobe64(++c->cookie), 0, 0};
	(void)write_all(c->fd, &q, sizeof(q));
	close(c->fd);
	c->fd = -1;
}
