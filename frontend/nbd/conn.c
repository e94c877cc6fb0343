/* SPDX-License-Identifier: MIT */
/*
 * One NBD connection.  Its thread runs the (blocking) handshake, then hands
 * the socket to the device's event thread (vbd_front_fd_set): from then on
 * that one thread reads requests and submits them, the library pushes them
 * to the owners once per wake-up, and the completion callback — on the same
 * thread — sends each reply with a non-blocking send.  A request crosses no
 * thread of this process between its arrival and its reply (docs/perf.md
 * "One event loop").  What a send leaves over (the client does not read
 * fast enough) is queued and sent when the socket is writable, so the
 * event thread never blocks on a client.  The connection's thread sleeps
 * meanwhile; it is woken to pass on a server stop, to time out a client
 * that does not read its last replies, and at the end to close and free.
 *
 * Bounds: at most max_inflight requests, and at most budget bytes of
 * their buffers (request payloads, replies not sent yet), between being
 * read and their reply leaving; a request that does not fit waits in the
 * read buffer and the connection's socket is not read until replies go
 * out (backpressure on this client only).  READ / WRITE larger than
 * max_block (at most the budget, advertised as the maximum block size) get
 * NBD_EINVAL.  A client that never reads its replies therefore costs a
 * bounded amount of memory and one sleeping thread, nothing else.  A
 * client that sends nothing for idle_ms while none of its requests is in
 * flight (submitted, or a reply not sent) is idle: its connection is
 * closed.
 *
 * Requests must be aligned to 512 bytes (advertised as the minimum block
 * size); others get NBD_EINVAL.  TRIM drops only the whole sectors inside
 * its range.  WRITE_ZEROES writes zeroes in 1 MiB pieces, one after the
 * other from the callback.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "server.h"
#include "vbdpool/clock.h"
#include "vbdpool/front.h"
#include "vbdpool/log.h"

#define RBUF_SIZE	 (128u * 1024) /* request headers and small payloads */
#define DIRECT_MIN	 (16u * 1024)  /* payload rest read straight into the request */
#define DRAIN_TIMEOUT_MS 10000	       /* after DISC / stop: replies not read by then are dropped */
#define ZERO_CHUNK	 (1u << 20)    /* WRITE_ZEROES piece */
#define SPARE_MIN	 DIRECT_MIN    /* request buffers this large are kept for reuse */
#define SPARE_MAX	 16	       /* at most this many per connection */
/* after a WRITE this large, the next header is read alone (BIG_WRITE) */
#define BIG_WRITE (64u * 1024)

static unsigned char zero_buf[ZERO_CHUNK];

struct nbd_req {
	struct nbd_conn *c;
	struct nbd_req *next; /* reply queue */
	uint16_t type, flags;
	uint64_t cookie, off;
	uint32_t len;
	uint32_t err;	    /* NBD error of the reply */
	uint64_t charge;    /* bytes counted in c->bytes */
	uint64_t done;	    /* WRITE_ZEROES: bytes written */
	bool flushed;	    /* TRIM + FUA: flush submitted */
	size_t sent, total; /* reply bytes sent / to send */
	size_t cap;	    /* payload bytes allocated (a spare may be larger) */
	/* WRITE received into granted pages (vbd_front_wbuf_get) instead of
	 * data: until it is submitted */
	struct vbd_front_wbuf *wb;
	const struct iovec *wiov;
	unsigned char hdr[NBD_REPLY_SIZE];
	unsigned char data[]; /* READ / WRITE payload */
};

enum rd_state { RD_HDR, RD_PAYLOAD, RD_DISCARD };

struct nbd_conn {
	struct nbd_server *s;
	struct nbd_conn *next; /* s->conns */
	int fd, efd;
	char name[80];
	bool no_zeroes;

	pthread_mutex_t mu; /* the fields below up to the reader's */
	struct nbd_req *oq_head, *oq_tail;
	unsigned inflight;    /* requests read whose reply has not left */
	uint64_t bytes;	      /* their payload buffers */
	bool dead;	      /* socket unusable: replies are dropped */
	bool wait_room;	      /* the loop waits for inflight to fall */
	bool wait_idle;	      /* the loop waits for inflight == 0 */
	uint64_t next_charge; /* buffers of the request header waiting for room */
	bool budget_logged;   /* said once that the client hit its budget */
	/* large request buffers kept for the next requests (spare_keep) */
	struct nbd_req *spare;
	unsigned nspare;
	uint64_t spare_bytes;
	_Atomic uint64_t last_active; /* vbd_now_ms of the last bytes read / inflight 0 */
	atomic_bool finished;	      /* the event loop let go of the connection */
	atomic_bool draining;	      /* stop_reading: the thread kicks the loop every second */

	/* the reader: the event thread (conn_event); the connection's thread
	 * only once the device is closed (drop) */
	enum rd_state rstate;
	struct nbd_req *cur; /* RD_PAYLOAD: request being filled */
	uint64_t need;	     /* payload bytes still to read / discard */
	unsigned char *rbuf;
	size_t rpos, rlen;
	bool stop_reading;
	bool short_read; /* the last recv did not fill what it was offered */
	/* the last request was a WRITE of BIG_WRITE or more: the next header
	 * is read alone, so that its payload goes straight to where it
	 * belongs instead of through the read buffer (a copy more) */
	bool big_writes;
	short armed;	  /* events asked of the event loop */
	int64_t deadline; /* stop_reading: replies not sent by then are dropped (-1: unset) */
	uint64_t nreqs, nerrs;
	int ctx; /* the event context serving it (s->ctx_conns), -1: none yet */
};

struct nbd_conn *conn_new(struct nbd_server *s, int fd, const char *peer)
{
	struct nbd_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->rbuf = malloc(RBUF_SIZE);
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!c->rbuf || c->efd < 0) {
		if (c->efd >= 0)
			close(c->efd);
		free(c->rbuf);
		free(c);
		return NULL;
	}
	c->s = s;
	c->fd = fd;
	c->deadline = -1;
	c->ctx = -1;
	atomic_store(&c->last_active, vbd_now_ms());
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_lock(&s->mu);
	snprintf(c->name, sizeof(c->name), "conn %lu (%s)", ++s->next_id, peer);
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
	pthread_mutex_unlock(&s->mu);
	return c;
}

int conn_fd(const struct nbd_conn *c)
{
	return c->fd;
}
int conn_wake_fd(const struct nbd_conn *c)
{
	return c->efd;
}
const char *conn_name(const struct nbd_conn *c)
{
	return c->name;
}
void conn_set_no_zeroes(struct nbd_conn *c, bool on)
{
	c->no_zeroes = on;
}
bool conn_no_zeroes(const struct nbd_conn *c)
{
	return c->no_zeroes;
}

void conn_wake(struct nbd_conn *c)
{
	uint64_t one = 1;

	if (write(c->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd: %s", c->name, strerror(errno));
}

/* Has the event loop run the connection's callback soon (any thread while
 * the device is open; nothing once the server closes it). */
static void conn_poke(struct nbd_conn *c)
{
	if (!atomic_load(&c->s->closing_dev))
		vbd_front_fd_kick(c->s->dev, c->fd);
}

void conn_wake_all(struct nbd_server *s)
{
	pthread_mutex_lock(&s->mu);
	for (struct nbd_conn *c = s->conns; c; c = c->next)
		conn_wake(c);
	pthread_mutex_unlock(&s->mu);
}

static uint32_t nbd_error(int err)
{
	switch (-err) {
	case 0:
		return 0;
	case EINVAL:
		return NBD_EINVAL;
	case ENOSPC:
		return NBD_ENOSPC;
	case ENOMEM:
		return NBD_ENOMEM;
	case EOPNOTSUPP:
		return NBD_ENOTSUP;
	case ESHUTDOWN:
	case ENODEV:
		return NBD_ESHUTDOWN;
	case EROFS: /* a read-only device (NBD_FLAG_READ_ONLY was sent) */
		return NBD_EPERM;
	default:
		return NBD_EIO;
	}
}

/* The next request (its buffers: next_charge) may be read.  Alone it
 * always fits (requests larger than the budget are refused, charge 0). */
static bool room_locked(const struct nbd_conn *c)
{
	return c->inflight == 0 ||
	       (c->inflight < c->s->max_inflight && c->bytes + c->next_charge <= c->s->budget);
}

/* Large request buffers are reused rather than freed: a freshly allocated
 * 1 MiB buffer comes from mmap or a trimmed heap once malloc's arena has
 * been churned by small requests, and its first touch then costs a page
 * fault and a zeroing per 4 KiB (bench/nbd.sh: 1 MiB reads after the
 * 4 KiB jobs ran a third slower, the event thread taking ~80 faults per
 * request).  A connection keeps at most SPARE_MAX of them.  Its payloads
 * in flight (c->bytes) plus its spares stay within its budget: a spare is
 * kept only if it fits, and a request that finds no spare of its size
 * frees spares until it fits; since a reused buffer is at most a quarter
 * larger than the payload it carries, a connection's buffers never take
 * more than 1.25 times its budget.  Caller holds c->mu. */
static bool spare_keep(struct nbd_conn *c, struct nbd_req *r)
{
	if (r->cap < SPARE_MIN || c->nspare >= SPARE_MAX ||
	    c->bytes + c->spare_bytes + r->cap > c->s->budget)
		return false;
	r->next = c->spare;
	c->spare = r;
	c->nspare++;
	c->spare_bytes += r->cap;
	return true;
}

/* Frees a list of requests linked by `next` (spares let go of). */
static void free_reqs(struct nbd_req *r)
{
	while (r) {
		struct nbd_req *next = r->next;

		free(r);
		r = next;
	}
}

/* A spare that fits `payload` (not wasting more than a quarter), or NULL
 * after freeing the spares that a new buffer of that size would push over
 * the budget. */
static struct nbd_req *spare_take(struct nbd_conn *c, size_t payload)
{
	struct nbd_req **pp, *r, *drop = NULL;

	pthread_mutex_lock(&c->mu);
	for (pp = &c->spare; (r = *pp); pp = &r->next) {
		if (r->cap >= payload && r->cap - payload <= payload / 4) {
			*pp = r->next;
			c->nspare--;
			c->spare_bytes -= r->cap;
			break;
		}
	}
	while (!r && c->spare && c->bytes + payload + c->spare_bytes > c->s->budget) {
		struct nbd_req *d = c->spare;

		c->spare = d->next;
		c->nspare--;
		c->spare_bytes -= d->cap;
		d->next = drop;
		drop = d;
	}
	pthread_mutex_unlock(&c->mu);
	free_reqs(drop);
	return r;
}

/* A request's reply left (or was dropped): forget it. */
static void release_locked(struct nbd_conn *c, struct nbd_req *r)
{
	c->inflight--;
	c->bytes -= r->charge;
	if (!spare_keep(c, r))
		free(r);
	if (c->inflight == 0) /* the idle timeout runs from now */
		atomic_store(&c->last_active, vbd_now_ms());
	if ((c->wait_room && room_locked(c)) || (c->wait_idle && c->inflight == 0)) {
		c->wait_room = c->wait_idle = false;
		conn_poke(c);
	}
}

#define SEND_IOV 64 /* iovecs per sendmsg: up to 32 replies sent at once */

/* Non-blocking sends of the queued replies, many per sendmsg: 0 (all sent,
 * or the socket is full), -1 on a socket error (errno). */
static int send_queued_locked(struct nbd_conn *c)
{
	while (c->oq_head) {
		struct iovec iov[SEND_IOV];
		size_t want = 0;
		int n = 0;
		ssize_t w;

		for (struct nbd_req *r = c->oq_head; r && n + 2 <= SEND_IOV; r = r->next) {
			if (r->sent < NBD_REPLY_SIZE) {
				iov[n++] =
				    (struct iovec){r->hdr + r->sent, NBD_REPLY_SIZE - r->sent};
				if (r->total > NBD_REPLY_SIZE)
					iov[n++] =
					    (struct iovec){r->data, r->total - NBD_REPLY_SIZE};
			} else {
				iov[n++] = (struct iovec){r->data + (r->sent - NBD_REPLY_SIZE),
							  r->total - r->sent};
			}
			want += r->total - r->sent;
		}
		w = sendmsg(c->fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = (size_t)n},
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		for (size_t left = (size_t)w; left;) {
			struct nbd_req *r = c->oq_head;
			size_t k = r->total - r->sent < left ? r->total - r->sent : left;

			r->sent += k;
			left -= k;
			if (r->sent < r->total)
				break;
			c->oq_head = r->next;
			if (!c->oq_head)
				c->oq_tail = NULL;
			release_locked(c, r);
		}
		if ((size_t)w < want) /* the socket is full */
			return 0;
	}
	return 0;
}

static void kill_locked(struct nbd_conn *c, const char *why)
{
	struct nbd_req *r;

	if (!c->dead && why)
		log_info("%s: %s: replies dropped", c->name, why);
	c->dead = true;
	while ((r = c->oq_head)) {
		c->oq_head = r->next;
		release_locked(c, r);
	}
	c->oq_tail = NULL;
}

/* Sends the queued replies that fit. */
static void drain_locked(struct nbd_conn *c)
{
	if (send_queued_locked(c) < 0)
		kill_locked(c, strerror(errno));
}

/* Queues r's reply; the connection's next turn on the event loop, in this
 * same wake-up when the reply comes from a completion, sends it with the
 * others (one sendmsg for a batch).  While the device closes (its loop
 * stopped), the reply is sent at once. */
static void reply(struct nbd_req *r, uint32_t err)
{
	struct nbd_conn *c = r->c;

	r->err = err;
	nbd_put32(r->hdr, NBD_SIMPLE_MAGIC);
	nbd_put32(r->hdr + 4, err);
	nbd_put64(r->hdr + 8, r->cookie);
	r->total = NBD_REPLY_SIZE + (r->type == NBD_CMD_READ && !err ? r->len : 0);
	r->sent = 0;
	r->next = NULL;
	pthread_mutex_lock(&c->mu);
	if (err)
		c->nerrs++;
	if (c->dead) {
		release_locked(c, r);
	} else {
		if (c->oq_head)
			c->oq_tail->next = r;
		else
			c->oq_head = r;
		c->oq_tail = r;
		if (atomic_load(&c->s->closing_dev))
			drain_locked(c);
		else
			conn_poke(c);
	}
	pthread_mutex_unlock(&c->mu);
}

static void io_done(void *arg, int err);
static void conn_event(void *arg, int fd, short revents);

/* vbd_front_submit unless the server is stopping.  Submits run on the
 * event thread (or in the callbacks vbd_front_close runs after joining
 * it), so none can race the device's close. */
static int submit(struct nbd_req *r, enum vbd_io_op op, unsigned flags, void *buf, uint64_t off,
		  uint64_t len)
{
	struct nbd_server *s = r->c->s;

	if (atomic_load(&s->stopping))
		return -ESHUTDOWN;
	return vbd_front_submit(s->dev, op, flags, buf, off, len, io_done, r);
}

static int submit_zeroes(struct nbd_req *r)
{
	uint64_t n = r->len - r->done;

	if (n > ZERO_CHUNK)
		n = ZERO_CHUNK;
	return submit(r, VBD_IO_WRITE, (r->flags & NBD_CMD_FLAG_FUA) ? VBD_IO_FUA : 0, zero_buf,
		      r->off + r->done, n);
}

/* Completion, on the event thread (or the thread closing the device). */
static void io_done(void *arg, int err)
{
	struct nbd_req *r = arg;

	if (!err && r->type == NBD_CMD_WRITE_ZEROES) {
		r->done += r->len - r->done > ZERO_CHUNK ? ZERO_CHUNK : r->len - r->done;
		if (r->done < r->len && (err = submit_zeroes(r)) == 0)
			return;
	}
	/* storage that cannot discard (the members answered EOPNOTSUPP, e.g. a
	 * shared disk without discard support, seen on real Xen): the data
	 * stays, which NBD's advisory trim allows */
	if (err == -EOPNOTSUPP && r->type == NBD_CMD_TRIM && !r->flushed)
		err = 0;
	if (!err && r->type == NBD_CMD_TRIM && (r->flags & NBD_CMD_FLAG_FUA) && !r->flushed) {
		r->flushed = true;
		if ((err = submit(r, VBD_IO_FLUSH, 0, NULL, 0, 0)) == 0)
			return;
	}
	if (err)
		log_debug("%s: request type %u at %" PRIu64 "+%" PRIu32 ": %s", r->c->name, r->type,
			  r->off, r->len, strerror(-err));
	reply(r, nbd_error(err));
}

/* A request of header h whose buffers count `payload` bytes, of which
 * `alloc` are allocated here (0: a write received into granted pages). */
static struct nbd_req *req_new(struct nbd_conn *c, const unsigned char *h, size_t payload,
			       size_t alloc)
{
	struct nbd_req *r = alloc >= SPARE_MIN ? spare_take(c, alloc) : NULL;
	size_t cap = r ? r->cap : alloc;

	if (!r && !(r = malloc(sizeof(*r) + alloc)))
		return NULL;
	*r = (struct nbd_req){.c = c,
			      .flags = nbd_get16(h + 4),
			      .type = nbd_get16(h + 6),
			      .cookie = nbd_get64(h + 8),
			      .off = nbd_get64(h + 16),
			      .len = nbd_get32(h + 24),
			      .charge = payload,
			      .cap = cap};
	pthread_mutex_lock(&c->mu);
	c->inflight++;
	c->bytes += payload;
	pthread_mutex_unlock(&c->mu);
	c->nreqs++;
	return r;
}

static void submit_or_fail(struct nbd_req *r, int rc)
{
	if (rc < 0)
		reply(r, nbd_error(rc));
}

/* Checks a request's range and flags: 0 or the NBD error to answer. */
static uint32_t check(const struct nbd_conn *c, uint16_t type, uint16_t flags, uint64_t off,
		      uint32_t len)
{
	uint16_t allowed = 0;
	bool aligned = type != NBD_CMD_TRIM;
	bool writes = type != NBD_CMD_READ;

	if (type == NBD_CMD_WRITE || type == NBD_CMD_TRIM)
		allowed = NBD_CMD_FLAG_FUA;
	else if (type == NBD_CMD_WRITE_ZEROES)
		allowed = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE;
	if (flags & ~allowed)
		return NBD_EINVAL;
	if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) && len > c->s->max_block)
		return NBD_EINVAL;
	if (aligned && (off % VBDNBD_MIN_BLOCK || len % VBDNBD_MIN_BLOCK))
		return NBD_EINVAL;
	if (off > c->s->size || len > c->s->size - off)
		return writes ? NBD_ENOSPC : NBD_EINVAL;
	return 0;
}

static bool has_payload(uint16_t type)
{
	return type == NBD_CMD_READ || type == NBD_CMD_WRITE;
}

static bool known_cmd(uint16_t type)
{
	return has_payload(type) || type == NBD_CMD_FLUSH || type == NBD_CMD_TRIM ||
	       type == NBD_CMD_WRITE_ZEROES;
}

/* The NBD error of the request in header h (0: serve it). */
static uint32_t header_error(const struct nbd_conn *c, const unsigned char *h)
{
	uint16_t type = nbd_get16(h + 6);
	bool ranged = type != NBD_CMD_FLUSH;

	if (!known_cmd(type))
		return NBD_EINVAL; /* a payload, if any, is then garbage */
	return check(c, type, nbd_get16(h + 4), ranged ? nbd_get64(h + 16) : 0,
		     ranged ? nbd_get32(h + 24) : 0);
}

/* The buffer bytes the request in header h holds until its reply left. */
static uint64_t header_charge(const struct nbd_conn *c, const unsigned char *h)
{
	return has_payload(nbd_get16(h + 6)) && !header_error(c, h) ? nbd_get32(h + 24) : 0;
}

/* Starts a request that passed its checks (r->len > 0 for READ / WRITE). */
static void start(struct nbd_conn *c, struct nbd_req *r)
{
	switch (r->type) {
	case NBD_CMD_READ:
		submit_or_fail(r, submit(r, VBD_IO_READ, 0, r->data, r->off, r->len));
		break;
	case NBD_CMD_WRITE:
		c->cur = r;
		c->need = r->len;
		c->rstate = RD_PAYLOAD;
		break;
	case NBD_CMD_FLUSH:
		submit_or_fail(r, submit(r, VBD_IO_FLUSH, 0, NULL, 0, 0));
		break;
	case NBD_CMD_TRIM: {
		/* advisory: only the whole sectors inside the range go */
		uint64_t a = (r->off + VBDNBD_MIN_BLOCK - 1) / VBDNBD_MIN_BLOCK * VBDNBD_MIN_BLOCK;
		uint64_t e = (r->off + r->len) / VBDNBD_MIN_BLOCK * VBDNBD_MIN_BLOCK;

		if (e > a) {
			submit_or_fail(r, submit(r, VBD_IO_DISCARD, 0, NULL, a, e - a));
		} else if (r->flags & NBD_CMD_FLAG_FUA) {
			r->flushed = true;
			submit_or_fail(r, submit(r, VBD_IO_FLUSH, 0, NULL, 0, 0));
		} else {
			reply(r, 0);
		}
		break;
	}
	case NBD_CMD_WRITE_ZEROES:
		submit_or_fail(r, submit_zeroes(r));
		break;
	}
}

/* A request header in h: 0, or -1 to drop the connection. */
static int request(struct nbd_conn *c, const unsigned char *h)
{
	uint32_t magic = nbd_get32(h), len = nbd_get32(h + 24), err;
	uint16_t flags = nbd_get16(h + 4), type = nbd_get16(h + 6);
	uint64_t off = nbd_get64(h + 16);
	struct nbd_req *r;
	struct vbd_front_wbuf *wb;
	const struct iovec *wiov;
	unsigned nwiov;

	if (magic != NBD_REQUEST_MAGIC) {
		log_warn("%s: bad request magic 0x%08" PRIx32 ": dropping the connection", c->name,
			 magic);
		return -1;
	}
	log_debug("%s: cmd %u flags 0x%x %" PRIu64 "+%" PRIu32, c->name, type, flags, off, len);
	if (type == NBD_CMD_DISC) {
		log_debug("%s: client disconnects", c->name);
		c->stop_reading = true;
		return 0;
	}
	err = header_error(c, h);
	c->big_writes = type == NBD_CMD_WRITE && !err && len >= BIG_WRITE;
	if (err && has_payload(type) && len > c->s->max_block)
		log_info("%s: %s of %" PRIu32 " bytes refused: larger than the maximum block "
			 "size, %" PRIu32 " bytes (the connection's budget, --conn-budget-mib)",
			 c->name, type == NBD_CMD_READ ? "read" : "write", len, c->s->max_block);
	if (!err && type == NBD_CMD_WRITE && len >= c->s->zc_min && len <= VBD_FRONT_WBUF_MAX &&
	    vbd_front_wbuf_get(c->s->dev, len, &wb, &wiov, &nwiov) == 0) {
		r = req_new(c, h, len, 0);
		if (!r) {
			vbd_front_wbuf_put(c->s->dev, wb);
			return -1;
		}
		r->wb = wb;
		r->wiov = wiov;
	} else {
		uint64_t charge = err ? 0 : header_charge(c, h);

		r = req_new(c, h, charge, charge);
		if (!r)
			return -1;
	}
	if (type == NBD_CMD_WRITE && err && len) {
		log_debug("%s: write %" PRIu64 "+%" PRIu32 " refused (%" PRIu32
			  "): discarding its payload",
			  c->name, off, len, err);
		r->err = err;
		c->cur = r;
		c->need = len;
		c->rstate = RD_DISCARD;
	} else if (err || (len == 0 && type != NBD_CMD_FLUSH && type != NBD_CMD_TRIM)) {
		reply(r, err);
	} else {
		start(c, r);
	}
	return 0;
}

/* A WRITE's payload is complete: submit it (or answer its error). */
static void payload_done(struct nbd_conn *c)
{
	struct nbd_req *r = c->cur;

	c->cur = NULL;
	c->rstate = RD_HDR;
	if (r->err) {
		reply(r, r->err);
		return;
	}
	if (r->wb) {
		struct vbd_front_wbuf *wb = r->wb;

		r->wb = NULL; /* the library's now, whatever happens */
		if (atomic_load(&c->s->stopping)) {
			vbd_front_wbuf_put(c->s->dev, wb);
			reply(r, nbd_error(-ESHUTDOWN));
			return;
		}
		submit_or_fail(r, vbd_front_wbuf_submit(
				      c->s->dev, wb, r->off,
				      (r->flags & NBD_CMD_FLAG_FUA) ? VBD_IO_FUA : 0, io_done, r));
		return;
	}
	submit_or_fail(r, submit(r, VBD_IO_WRITE, (r->flags & NBD_CMD_FLAG_FUA) ? VBD_IO_FUA : 0,
				 r->data, r->off, r->len));
}

/* n payload bytes from src into the current WRITE at its next position. */
static void payload_put(struct nbd_conn *c, const unsigned char *src, size_t n)
{
	struct nbd_req *r = c->cur;
	uint64_t pos = r->len - c->need;

	if (!r->wb) {
		memcpy(r->data + pos, src, n);
		return;
	}
	while (n) { /* granted pages */
		const struct iovec *v = &r->wiov[pos / VBD_FRONT_WBUF_PAGE];
		size_t in = (size_t)(pos % VBD_FRONT_WBUF_PAGE), k = v->iov_len - in;

		if (k > n)
			k = n;
		memcpy((char *)v->iov_base + in, src, k);
		src += k;
		pos += k;
		n -= k;
	}
}

/* recv of the current WRITE's payload rest straight into its buffer. */
static ssize_t payload_recv(struct nbd_conn *c)
{
	struct nbd_req *r = c->cur;
	uint64_t pos = r->len - c->need;
	struct iovec iov[VBD_FRONT_WBUF_MAX / VBD_FRONT_WBUF_PAGE];
	unsigned first, n = 0;

	if (!r->wb)
		return recv(c->fd, r->data + pos, c->need, MSG_DONTWAIT);
	first = (unsigned)(pos / VBD_FRONT_WBUF_PAGE);
	for (unsigned i = first; (uint64_t)i * VBD_FRONT_WBUF_PAGE < r->len; i++)
		iov[n++] = r->wiov[i];
	iov[0].iov_base = (char *)iov[0].iov_base + pos % VBD_FRONT_WBUF_PAGE;
	iov[0].iov_len -= pos % VBD_FRONT_WBUF_PAGE;
	return recvmsg(c->fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = n}, MSG_DONTWAIT);
}

/* No more requests from this client; a write whose payload is incomplete
 * is forgotten. */
static void stop_reading(struct nbd_conn *c)
{
	c->stop_reading = true;
	if (c->cur) {
		if (c->cur->wb) {
			vbd_front_wbuf_put(c->s->dev, c->cur->wb);
			c->cur->wb = NULL;
		}
		pthread_mutex_lock(&c->mu);
		release_locked(c, c->cur);
		pthread_mutex_unlock(&c->mu);
		c->cur = NULL;
		c->rstate = RD_HDR;
	}
}

/* Consumes what the read buffer holds: whole requests while there is room,
 * payload bytes.  -1: drop the connection. */
static int process(struct nbd_conn *c)
{
	while (!c->stop_reading && c->rpos < c->rlen) {
		size_t avail = c->rlen - c->rpos;

		if (c->rstate == RD_HDR) {
			bool room;

			if (avail < NBD_REQUEST_SIZE)
				break;
			pthread_mutex_lock(&c->mu);
			c->next_charge = header_charge(c, c->rbuf + c->rpos);
			room = room_locked(c);
			if (!room && !c->budget_logged && c->inflight < c->s->max_inflight) {
				c->budget_logged = true;
				log_info("%s: reached its budget of %" PRIu64 " MiB (request "
					 "payloads, unsent replies): not reading its requests "
					 "until replies drain",
					 c->name, c->s->budget >> 20);
			}
			pthread_mutex_unlock(&c->mu);
			if (!room)
				break;
			c->next_charge = 0;
			if (request(c, c->rbuf + c->rpos) < 0)
				return -1;
			c->rpos += NBD_REQUEST_SIZE;
		} else {
			size_t n = avail < c->need ? avail : (size_t)c->need;

			if (c->rstate == RD_PAYLOAD)
				payload_put(c, c->rbuf + c->rpos, n);
			c->rpos += n;
			c->need -= n;
			if (c->need == 0)
				payload_done(c);
		}
	}
	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
	} else if (c->rpos && c->rlen - c->rpos < NBD_REQUEST_SIZE) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	return 0;
}

/* One non-blocking read: into the current request when a large payload
 * rest is due, else into the read buffer.  >0 bytes, 0 nothing now, -1 EOF
 * or error (logged). */
static ssize_t fill(struct nbd_conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->rstate == RD_PAYLOAD && c->rpos == c->rlen && c->need >= DIRECT_MIN) {
			n = payload_recv(c);
			c->short_read = n > 0 && (uint64_t)n < c->need;
			if (n > 0) {
				c->need -= (uint64_t)n;
				if (c->need == 0)
					payload_done(c);
			}
		} else {
			size_t room = RBUF_SIZE - c->rlen;

			if (room == 0) /* a header straddles the end */
				return 0;
			if (c->big_writes && c->rstate == RD_HDR &&
			    c->rlen - c->rpos < NBD_REQUEST_SIZE &&
			    NBD_REQUEST_SIZE - (c->rlen - c->rpos) < room)
				room = NBD_REQUEST_SIZE - (c->rlen - c->rpos);
			n = recv(c->fd, c->rbuf + c->rlen, room, MSG_DONTWAIT);
			c->short_read = n > 0 && (size_t)n < room;
			if (n > 0)
				c->rlen += (size_t)n;
		}
		if (n > 0) {
			atomic_store(&c->last_active, vbd_now_ms());
			return n;
		}
		if (n == 0) {
			if (c->rstate != RD_HDR || c->rpos < c->rlen)
				log_warn(
				    "%s: client closed the connection in the middle of a request",
				    c->name);
			else
				log_debug("%s: client closed the connection", c->name);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		log_info("%s: read: %s", c->name, strerror(errno));
		return -1;
	}
}

/* Reads at most this many times per callback, so that one busy client
 * does not hold the event thread from the others. */
#define READS_PER_EVENT 16

/* Asks the event loop for `ev` on the socket if that changed. */
static void rearm(struct nbd_conn *c, short ev)
{
	int rc;

	if (ev == c->armed)
		return;
	rc = vbd_front_fd_set(c->s->dev, c->fd, ev, conn_event, c);
	if (rc < 0)
		log_err("%s: event loop: %s", c->name, strerror(-rc));
	else
		c->armed = ev;
}

/* The event loop is done with c: its thread closes and frees it. */
static void finish(struct nbd_conn *c)
{
	vbd_front_fd_del(c->s->dev, c->fd);
	/* under c->mu: its thread takes it before freeing c */
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->finished, true);
	conn_wake(c);
	pthread_mutex_unlock(&c->mu);
}

static void drop(struct nbd_conn *c, const char *why)
{
	pthread_mutex_lock(&c->mu);
	kill_locked(c, why);
	pthread_mutex_unlock(&c->mu);
	stop_reading(c);
}

/* Nothing in flight (a request whose payload is still coming is not) and
 * nothing read for idle_ms: logs it (once; the caller stops reading). */
static bool idle_locked(struct nbd_conn *c)
{
	uint64_t quiet;

	if (!c->s->idle_ms || c->stop_reading || c->inflight != (c->cur ? 1u : 0u))
		return false;
	quiet = vbd_now_ms() - atomic_load(&c->last_active);
	if (quiet < c->s->idle_ms)
		return false;
	log_info("%s: idle for %" PRIu64 " s (--idle-timeout %" PRIu64 "): closing the connection",
		 c->name, quiet / 1000, c->s->idle_ms / 1000);
	return true;
}

/* How long the connection's thread sleeps before it has the event loop
 * look again: until the idle timeout may expire, or at a stop every
 * second (the drain deadline); -1: until woken. */
static int thread_wait_ms(struct nbd_conn *c)
{
	uint64_t idle = c->s->idle_ms, since;

	if (atomic_load(&c->draining))
		return 1000;
	if (!idle)
		return -1;
	since = vbd_now_ms() - atomic_load(&c->last_active);
	/* past it but busy: look again a whole timeout later */
	return (int)(since < idle ? idle - since + 1 : idle);
}

/* The socket is ready (revents), or the connection was kicked (0): read
 * and submit what fits, send what is queued, and ask for what to wait for
 * next.  Event thread. */
static void conn_event(void *arg, int fd, short revents)
{
	struct nbd_conn *c = arg;
	struct nbd_server *s = c->s;
	bool try_read = true, want_in = false, want_out = false;
	unsigned reads = 0;

	(void)fd;
	if ((revents & (POLLERR | POLLHUP | POLLNVAL)) && !(revents & POLLIN))
		drop(c, "connection reset");
	for (;;) {
		if (process(c) < 0)
			drop(c, NULL);
		if (!c->stop_reading && atomic_load(&s->stopping)) {
			log_debug("%s: server stopping: no more requests", c->name);
			stop_reading(c);
		}
		if (c->stop_reading && c->deadline < 0)
			c->deadline = (int64_t)vbd_now_ms() + DRAIN_TIMEOUT_MS;

		pthread_mutex_lock(&c->mu);
		if (c->oq_head)
			drain_locked(c);
		if ((c->dead || idle_locked(c)) && !c->stop_reading) {
			pthread_mutex_unlock(&c->mu);
			stop_reading(c);
			continue;
		}
		if (c->stop_reading && c->oq_head && (int64_t)vbd_now_ms() >= c->deadline)
			kill_locked(c, "client did not read its replies in time");
		if (c->stop_reading && c->inflight == 0) {
			pthread_mutex_unlock(&c->mu);
			finish(c);
			return;
		}
		want_in = !c->stop_reading && (c->rstate != RD_HDR || room_locked(c));
		want_out = c->oq_head != NULL;
		c->wait_room = !c->stop_reading && !want_in;
		c->wait_idle = c->stop_reading;
		pthread_mutex_unlock(&c->mu);

		if (want_in && try_read && reads < READS_PER_EVENT) {
			ssize_t n = fill(c);

			reads++;
			if (n > 0) {
				/* a short read drained the socket: poll next */
				try_read = !c->short_read;
				continue;
			}
			if (n < 0) {
				stop_reading(c);
				continue;
			}
			try_read = false;
		}
		break;
	}
	/* a dead socket is not polled (it would report POLLHUP for ever):
	 * completions kick the connection until its last request is done */
	rearm(c, (short)((want_in ? POLLIN : 0) | (want_out ? POLLOUT : 0)));
	if (want_in && try_read) /* more to read: come back after the others */
		conn_poke(c);
	if (c->stop_reading && !atomic_load(&c->draining)) {
		atomic_store(&c->draining, true);
		conn_wake(c); /* its thread enforces the deadline */
	}
}

/* The event context with the fewest transmitting connections (s->mu
 * held): a client's requests go to that context's queues only, so several
 * clients (or one client's several connections, NBD multi-conn) spread
 * over the contexts as blk-mq spreads submitters over hardware queues. */
static unsigned least_used_ctx(const struct nbd_server *s)
{
	unsigned n = vbd_front_num_contexts(s->dev), best = 0;

	for (unsigned i = 1; i < n && i < VBD_MAX_QUEUES; i++)
		if (s->ctx_conns[i] < s->ctx_conns[best])
			best = i;
	return best;
}

/* Transmission: the event loop serves the connection; this thread waits
 * for it to let go, passing on stops and deadline checks. */
static void transmit(struct nbd_conn *c)
{
	struct nbd_server *s = c->s;
	int rc;

	/* set before the event loop can run conn_event (which rearms): a
	 * store after vbd_front_fd_set could overwrite what conn_event armed,
	 * leaving the cache and the loop's table apart (a socket never polled
	 * again, or POLLOUT polled for ever) */
	c->armed = POLLIN;
	/* under s->mu like the kicks below: once main.c set closing_dev the
	 * device may be gone (a handshake that ends that late is not served) */
	pthread_mutex_lock(&s->mu);
	if (atomic_load(&s->closing_dev)) {
		rc = -ESHUTDOWN;
	} else {
		unsigned ctx = least_used_ctx(s);

		rc = vbd_front_fd_set_ctx(s->dev, ctx, c->fd, POLLIN, conn_event, c);
		if (rc == 0) {
			c->ctx = (int)ctx;
			s->ctx_conns[ctx]++;
			log_info("%s: on context %u of %u (%u connection(s) there)", c->name, ctx,
				 vbd_front_num_contexts(s->dev), s->ctx_conns[ctx]);
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (rc < 0) {
		log_err("%s: cannot serve it: %s", c->name, strerror(-rc));
		return;
	}
	atomic_store(&c->last_active, vbd_now_ms()); /* transmission starts */
	for (;;) {
		struct pollfd p = {.fd = c->efd, .events = POLLIN};
		uint64_t v;

		if (poll(&p, 1, thread_wait_ms(c)) < 0 && errno != EINTR)
			log_warn("%s: poll: %s", c->name, strerror(errno));
		if ((p.revents & POLLIN) && read(c->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_warn("%s: eventfd: %s", c->name, strerror(errno));
		if (atomic_load(&c->finished)) {
			pthread_mutex_lock(&c->mu); /* finish() has let go */
			pthread_mutex_unlock(&c->mu);
			return;
		}
		if (atomic_load(&s->dev_closed)) {
			/* the device (and its event loop) is gone: what it
			 * failed was answered; drop the rest */
			drop(c, NULL);
			return;
		}
		pthread_mutex_lock(&s->mu);
		if (!atomic_load(&s->closing_dev))
			vbd_front_fd_kick(s->dev, c->fd);
		pthread_mutex_unlock(&s->mu);
	}
}

void *conn_thread(void *arg)
{
	struct nbd_conn *c = arg;
	struct nbd_server *s = c->s;

	pthread_setname_np(pthread_self(), "nbd-conn");
	if (nbd_handshake(s, c) == HS_TRANSMIT) {
		log_info("%s: serving the export", c->name);
		transmit(c);
		log_info("%s: closed after %" PRIu64 " requests (%" PRIu64 " errors)", c->name,
			 c->nreqs, c->nerrs);
	}
	pthread_mutex_lock(&s->mu);
	for (struct nbd_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->nconns--;
	if (c->ctx >= 0)
		s->ctx_conns[c->ctx]--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	close(c->fd);
	close(c->efd);
	free_reqs(c->spare);
	pthread_mutex_destroy(&c->mu);
	free(c->rbuf);
	free(c);
	return NULL;
}
