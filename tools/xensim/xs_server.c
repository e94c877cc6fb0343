/* SPDX-License-Identifier: MIT */
/*
 * The XenStore server glue: lifecycle, request dispatch (with the
 * connection-level requests: transactions, watches), and the toolstack
 * API of xs_server.h.
 */
#include "xs_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/log.h"
#include "xs_core.h"

int xs_req_reply(struct xs_req *r, const void *data, size_t len)
{
	if (len > XENSTORE_PAYLOAD_MAX)
		return E2BIG;
	free(r->rbuf);
	r->rbuf = malloc(len ? len : 1);
	if (!r->rbuf)
		return ENOMEM;
	if (len)
		memcpy(r->rbuf, data, len);
	r->rlen = len;
	return 0;
}

int xs_req_reply_str(struct xs_req *r, const char *s)
{
	return xs_req_reply(r, s, strlen(s) + 1);
}

static struct xs_perms default_special(void)
{
	struct xs_perms p = {1, calloc(1, sizeof(struct xs_perm))};
	return p;
}

struct xs_server *xs_server_new(struct simloop *loop)
{
	struct xs_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->loop = loop;
	s->next_txid = 1;
	s->special_intro = default_special();
	s->special_release = default_special();
	if (!s->special_intro.p || !s->special_release.p || xs_tree_init(&s->tree)) {
		xs_perms_free(&s->special_intro);
		xs_perms_free(&s->special_release);
		free(s);
		return NULL;
	}
	return s;
}

void xs_server_free(struct xs_server *s)
{
	if (!s)
		return;
	while (s->conns) {
		struct xs_conn *c = s->conns;
		s->conns = c->next;
		xs_conn_free(c);
	}
	xs_dom_free_all(s);
	xs_tree_destroy(&s->tree);
	xs_perms_free(&s->special_intro);
	xs_perms_free(&s->special_release);
	free(s);
}

int xs_server_add_conn(struct xs_server *s, int fd, unsigned domid)
{
	if (fd < 0 || domid > XS_MAX_DOMID || !s->loop)
		return -EINVAL;
	return xs_conn_new(s, fd, domid) ? 0 : -ENOMEM;
}

/* ---- connection-level requests ----------------------------------------- */

static struct xs_txn *find_txn(struct xs_conn *c, uint32_t id)
{
	for (struct xs_txn *t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static bool txid_used(struct xs_server *s, uint32_t id)
{
	for (struct xs_conn *c = s->conns; c; c = c->next)
		if (find_txn(c, id))
			return true;
	return false;
}

static int txn_start(struct xs_req *r, const struct xsd_sockmsg *m)
{
	struct xs_conn *c = r->conn;
	struct xs_txn *t;
	char buf[16];
	uint32_t id;

	if (m->tx_id)
		return find_txn(c, m->tx_id) ? EBUSY : ENOENT;
	if (!c->priv && c->ntxns > XS_QUOTA_TRANSACTIONS)
		return ENOSPC;
	do {
		id = r->s->next_txid++;
	} while (id == 0 || txid_used(r->s, id));
	t = xs_txn_new(id);
	if (!t)
		return ENOMEM;
	t->limited = !c->priv;
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	snprintf(buf, sizeof(buf), "%u", id);
	return xs_req_reply_str(r, buf);
}

static int txn_end(struct xs_req *r, const struct xsd_sockmsg *m)
{
	struct xs_conn *c = r->conn;
	const char *arg = xs_wire_onearg(r->body, r->len);
	struct xs_change *events = NULL;
	struct xs_txn *t;
	bool commit;
	int err = 0;

	/* an unknown id fails before the request is looked at, no id after */
	t = m->tx_id ? find_txn(c, m->tx_id) : NULL;
	if (m->tx_id && !t)
		return ENOENT;
	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	if (!t)
		return ENOENT;
	commit = !strcmp(arg, "T");
	for (struct xs_txn **pp = &c->txns; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	c->ntxns--;
	if (commit)
		err = xs_txn_commit(&r->s->tree, t, &events);
	xs_txn_free(t);
	if (err)
		return err;
	xs_watch_fire_list(r->s, events);
	return xs_req_reply_str(r, "OK");
}

static void drop_conn_state(struct xs_conn *c)
{
	xs_watch_drop_all(c);
	while (c->txns) {
		struct xs_txn *t = c->txns;
		c->txns = t->next;
		xs_txn_free(t);
	}
	c->ntxns = 0;
}

void xs_server_dispatch(struct xs_conn *c, const struct xsd_sockmsg *m, const char *body)
{
	struct xs_server *s = c->s;
	struct xs_req r = {
	    .s = s,
	    .conn = c,
	    .domid = c->domid,
	    .priv = c->priv,
	    .type = m->type,
	    .body = body,
	    .len = m->len,
	};
	const char *v[2] = {NULL, NULL};
	bool initial = false;
	int err;

	s->depth++;
	switch (m->type) {
	case XS_READ:
	case XS_WRITE:
	case XS_MKDIR:
	case XS_RM:
	case XS_DIRECTORY:
	case XS_DIRECTORY_PART:
	case XS_GET_PERMS:
	case XS_SET_PERMS:
		if (m->tx_id) {
			r.txn = find_txn(c, m->tx_id);
			if (!r.txn) {
				err = ENOENT;
				break;
			}
		}
		err = xs_node_op(&r);
		if (r.txn && r.txn->over) {
			/* it touched more nodes than a domU's transaction may;
			 * like C xenstored, the transaction can no longer commit */
			r.txn->over = false;
			r.txn->overflow = true;
			err = ENOSPC;
		}
		break;
	case XS_WATCH:
		if (!xs_wire_strings(body, m->len, v, 2)) {
			err = EINVAL;
			break;
		}
		err = xs_watch_add(c, v[0], v[1]);
		if (!err)
			err = xs_req_reply_str(&r, "OK");
		initial = !err;
		break;
	case XS_UNWATCH:
		if (!xs_wire_strings(body, m->len, v, 2)) {
			err = EINVAL;
			break;
		}
		err = xs_watch_del(c, v[0], v[1]);
		if (!err)
			err = xs_req_reply_str(&r, "OK");
		break;
	case XS_RESET_WATCHES:
		drop_conn_state(c);
		err = xs_req_reply_str(&r, "OK");
		break;
	case XS_TRANSACTION_START:
		err = txn_start(&r, m);
		break;
	case XS_TRANSACTION_END:
		err = txn_end(&r, m);
		break;
	case XS_CONTROL:
	case XS_GET_DOMAIN_PATH:
	case XS_INTRODUCE:
	case XS_RELEASE:
	case XS_IS_DOMAIN_INTRODUCED:
	case XS_RESUME:
	case XS_SET_TARGET:
		err = xs_domain_op(&r);
		break;
	default:
		err = EINVAL;
		break;
	}
	if (c->fd >= 0 && vbd_log_enabled(VBD_LOG_DEBUG))
		log_debug("xenstore: dom%u %s %.80s tx=%u -> %s", c->domid,
			  xs_wire_typename(m->type), m->len && !body[m->len - 1] ? body : "",
			  m->tx_id, err ? xs_wire_errname(err) : "OK");
	if (err)
		xs_conn_send_error(c, m, err);
	else
		xs_conn_send(c, m->type, m->req_id, m->tx_id, r.rbuf, r.rlen);
	if (initial)
		xs_watch_initial(c, v[0], v[1]);
	free(r.rbuf);
	s->depth--;
}

/* ---- toolstack API ------------------------------------------------------ */

static struct xs_req tool_req(struct xs_server *s)
{
	struct xs_req r = {.s = s, .domid = 0, .priv = true};
	return r;
}

/* "n0 r5" / "n0,r5" -> perms */
static int parse_perm_list(const char *str, struct xs_perms *out)
{
	char buf[1024];
	size_t n = 0, len = 0;
	unsigned cnt = 0;

	for (const char *p = str; *p; p++) {
		if (*p == ' ' || *p == ',' || *p == '\t') {
			if (n) {
				if (len + 1 >= sizeof(buf))
					return EINVAL;
				buf[len++] = 0;
				cnt++;
				n = 0;
			}
			continue;
		}
		if (len + 2 >= sizeof(buf))
			return EINVAL;
		buf[len++] = *p;
		n++;
	}
	if (n) {
		buf[len++] = 0;
		cnt++;
	}
	if (!cnt)
		return EINVAL;
	return xs_perms_parse(out, buf, len, cnt);
}

int xs_server_write(struct xs_server *s, const char *path, const char *value, const char *perms)
{
	struct xs_req r = tool_req(s);
	char abs[XS_ABS_PATH_MAX + 64];
	int err;

	if (xs_path_canon(0, path, abs, sizeof(abs), NULL) || abs[0] != '/')
		return -EINVAL;
	s->depth++;
	err = xs_op_write(&r, abs, value ? value : "", value ? strlen(value) : 0, false);
	if (!err && perms) {
		struct xs_perms p;
		err = parse_perm_list(perms, &p);
		if (!err) {
			err = xs_op_set_perms(&r, abs, &p);
			xs_perms_free(&p);
		}
	}
	s->depth--;
	xs_server_reap(s);
	return -err;
}

int xs_server_rm(struct xs_server *s, const char *path)
{
	struct xs_req r = tool_req(s);
	char abs[XS_ABS_PATH_MAX + 64];
	int err;

	if (xs_path_canon(0, path, abs, sizeof(abs), NULL) || abs[0] != '/')
		return -EINVAL;
	s->depth++;
	err = xs_op_rm(&r, abs);
	s->depth--;
	xs_server_reap(s);
	return -err;
}

int xs_server_read(struct xs_server *s, const char *path, char *buf, size_t len)
{
	char abs[XS_ABS_PATH_MAX + 64];
	const struct xs_node *n;
	size_t l;

	if (xs_path_canon(0, path, abs, sizeof(abs), NULL) || abs[0] != '/')
		return -EINVAL;
	n = xs_tree_get(&s->tree, abs);
	if (!n)
		return -ENOENT;
	if (len) {
		l = n->vlen < len - 1 ? n->vlen : len - 1;
		memcpy(buf, n->value, l);
		buf[l] = 0;
	}
	return 0;
}

void xs_server_introduce(struct xs_server *s, unsigned domid)
{
	struct xs_dom *d = xs_dom_get(s, domid, true);

	if (d)
		d->introduced = true;
	s->depth++;
	xs_watch_fire_special(s, "@introduceDomain");
	s->depth--;
	xs_server_reap(s);
}

void xs_server_release(struct xs_server *s, unsigned domid)
{
	struct xs_dom *d = xs_dom_get(s, domid, false);

	s->depth++;
	for (struct xs_conn *c = s->conns; c; c = c->next)
		if (c->domid == domid && !c->dead)
			xs_conn_close(c);
	if (d) {
		d->introduced = false;
		d->nwatches = 0;
	}
	if (domid)
		xs_tree_forget_owner(&s->tree, domid);
	xs_watch_fire_special(s, "@releaseDomain");
	s->depth--;
	xs_server_reap(s);
}
