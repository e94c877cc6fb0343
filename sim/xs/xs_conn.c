/* SPDX-License-Identifier: MIT */
/*
 * Connections: nonblocking stream sockets with a message reassembly buffer
 * (partial reads) and an output queue (partial writes), one identity
 * (domid) each.  A peer that breaks the framing (payload over
 * XENSTORE_PAYLOAD_MAX) is dropped, as C xenstored does; nobody else is
 * affected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "simloop.h"
#include "vbdpool/log.h"
#include "xs_core.h"

static void conn_cb(void *arg, uint32_t events);

struct xs_conn *xs_conn_new(struct xs_server *s, int fd, unsigned domid)
{
	struct xs_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->s = s;
	c->fd = fd;
	c->domid = domid;
	c->priv = domid == 0;
	c->dom = xs_dom_get(s, domid, true);
	if (!c->dom) {
		free(c);
		return NULL;
	}
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    simloop_add(s->loop, fd, EPOLLIN, conn_cb, c) < 0) {
			free(c);
			return NULL;
		}
	}
	c->next = s->conns;
	s->conns = c;
	c->dom->nconns++;
	return c;
}

void xs_conn_drop_txns(struct xs_conn *c)
{
	struct xs_txn *next;

	for (struct xs_txn *t = c->txns; t; t = next) {
		next = t->next;
		xs_txn_free(t);
		c->dom->ntxns--;
	}
	c->txns = NULL;
}

static void update_events(struct xs_conn *c)
{
	simloop_mod(c->s->loop, c->fd, (c->stalled ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0));
}

/* Its queued replies are written (or dropped): they no longer count against
 * the domain's outstanding quota; the domain's stalled connections are read
 * again once it is under the quota. */
static void replies_gone(struct xs_conn *c)
{
	struct xs_dom *d = c->dom;

	d->outstanding -= c->outstanding;
	c->outstanding = 0;
	if (d->outstanding >= XS_QUOTA_OUTSTANDING)
		return;
	for (struct xs_conn *o = c->s->conns; o; o = o->next) {
		if (o->dom == d && o->stalled && !o->dead) {
			o->stalled = false;
			update_events(o);
		}
	}
}

static void out_consumed(struct xs_conn *c, size_t n)
{
	c->out_off += n;
	c->dom->out_bytes -= n;
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		replies_gone(c);
	}
}

void xs_conn_close(struct xs_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->fd >= 0) {
		simloop_del(c->s->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	xs_watch_drop_all(c);
	xs_conn_drop_txns(c);
	out_consumed(c, c->out_len - c->out_off);
	c->dom->nconns--;
}

void xs_conn_free(struct xs_conn *c)
{
	xs_conn_close(c);
	free(c->out);
	free(c);
}

void xs_server_reap(struct xs_server *s)
{
	if (s->depth)
		return;
	for (struct xs_conn **pp = &s->conns; *pp;) {
		struct xs_conn *c = *pp;
		if (c->dead && !c->busy) {
			*pp = c->next;
			xs_conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

static void want_out(struct xs_conn *c, bool on)
{
	if (c->fd < 0 || c->want_out == on)
		return;
	c->want_out = on;
	update_events(c);
}

static void flush(struct xs_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK)
			n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				want_out(c, true);
				return;
			}
			xs_conn_close(c);
			return;
		}
		out_consumed(c, n);
	}
	want_out(c, false);
}

/* Would queuing n more bytes exceed what c may hold for a peer that does
 * not read?  dom0: XS_CONN_OUT_MAX per connection; a domU: its memory quota
 * for all its connections together. */
static bool out_over(const struct xs_conn *c, size_t n)
{
	if (c->priv)
		return c->out_len - c->out_off + n > XS_CONN_OUT_MAX;
	return c->dom->out_bytes + n > XS_QUOTA_MEMORY;
}

void xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *data, size_t len)
{
	struct xsd_sockmsg h = {type, req_id, tx_id, (uint32_t)len};
	size_t need;

	if (c->dead || c->fd < 0)
		return;
	if (len > XENSTORE_PAYLOAD_MAX) {
		xs_conn_send(c, XS_ERROR, req_id, tx_id, "E2BIG", 6);
		return;
	}
	need = c->out_len + sizeof(h) + len;
	if (out_over(c, sizeof(h) + len)) {
		log_warn("xenstore: dom%u connection stopped reading (%zu bytes queued, %zu for "
			 "the domain): dropped",
			 c->domid, c->out_len - c->out_off, c->dom->out_bytes);
		xs_conn_close(c);
		return;
	}
	if (need > c->out_cap) {
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
			need = c->out_len + sizeof(h) + len;
		}
		if (need > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 8192;
			while (cap < need)
				cap *= 2;
			char *p = realloc(c->out, cap);
			if (!p) {
				xs_conn_close(c);
				return;
			}
			c->out = p;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, &h, sizeof(h));
	if (len)
		memcpy(c->out + c->out_len + sizeof(h), data, len);
	c->out_len += sizeof(h) + len;
	c->dom->out_bytes += sizeof(h) + len;
	if (type != XS_WATCH_EVENT) {
		c->outstanding++;
		c->dom->outstanding++;
	}
	if (!c->want_out)
		flush(c);
}

void xs_conn_send_error(struct xs_conn *c, const struct xsd_sockmsg *req, int err)
{
	const char *name = xs_wire_errname(err);
	xs_conn_send(c, XS_ERROR, req->req_id, req->tx_id, name, strlen(name) + 1);
}

/* Moves input into dst until it holds want bytes: is it complete? */
static bool take(void *dst, size_t *got, size_t want, const uint8_t **data, size_t *len)
{
	size_t k = want - *got < *len ? want - *got : *len;

	memcpy((char *)dst + *got, *data, k);
	*got += k;
	*data += k;
	*len -= k;
	return *got == want;
}

void xs_conn_feed(struct xs_conn *c, const uint8_t *data, size_t len)
{
	while (len && !c->dead) {
		if (c->hdr_got < XS_HDR_LEN) {
			if (!take(c->hdr, &c->hdr_got, XS_HDR_LEN, &data, &len))
				return;
			memcpy(&c->msg, c->hdr, XS_HDR_LEN);
			c->body_got = 0;
			if (!xs_wire_header_ok(&c->msg)) {
				if (c->fd >= 0)
					log_warn("xenstore: dom%u sent a %u-byte payload (max %d): "
						 "connection dropped",
						 c->domid, c->msg.len, XENSTORE_PAYLOAD_MAX);
				xs_conn_close(c);
				return;
			}
		}
		if (!take(c->body, &c->body_got, c->msg.len, &data, &len))
			return;
		c->body[c->body_got] = 0; /* a guard; lengths are still checked */
		c->hdr_got = 0;
		xs_server_dispatch(c, &c->msg, c->body);
	}
}

static void conn_cb(void *arg, uint32_t events)
{
	struct xs_conn *c = arg;
	struct xs_server *s = c->s;
	uint8_t buf[16384];

	c->busy = true;
	if (events & EPOLLOUT)
		flush(c);
	if (!c->dead && !c->priv && c->dom->outstanding >= XS_QUOTA_OUTSTANDING) {
		/* C xenstored reads no more requests of a domain whose replies
		 * are not taken; a peer gone meanwhile is closed */
		if (events & (EPOLLHUP | EPOLLERR))
			xs_conn_close(c);
		else if (!c->stalled) {
			c->stalled = true;
			update_events(c);
		}
	} else if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n > 0)
			xs_conn_feed(c, buf, n);
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			xs_conn_close(c);
	}
	c->busy = false;
	xs_server_reap(s);
}
