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
	struct xs_dom *d;

	if (fd < 0 || domid > XS_MAX_DOMID || !s->loop)
		return -EINVAL;
	d = xs_dom_get(s, domid, true);
	if (!d)
		return -ENOMEM;
	/* on Xen a domU has one ring; here it may open a few sockets */
	if (domid != 0 && d->nconns >= XS_QUOTA_CONNS)
		return -EMFILE;
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
	if (!c->priv && c->dom->ntxns > XS_QUOTA_TRANSACTIONS)
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
	c->dom->ntxns++;
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
	c->dom->ntxns--;
	if (commit)
		err = xs_txn_commit(&r->s->tree, t, &events);
	xs_txn_free(t);
	if (err)
		return err;
	xs_watch_fire_list(r->s, events);
	return xs_req_reply_str(r, "OK");
}

/* WATCH or UNWATCH (path, token in v). */
static int watch_req(struct xs_req *r, const char **v,
		     int (*fn)(struct xs_conn *c, const char *path, const char *token))
{
	int err;

	if (!xs_wire_strings(r->body, r->len, v, 2))
		return EINVAL;
	err = fn(r->conn, v[0], v[1]);
	return err ? err : xs_req_reply_str(r, "OK");
}

/* One request of a connection: errno or 0 with the reply in r. */
static int serve(struct xs_req *r, const struct xsd_sockmsg *m, const char **v, bool *initial)
{
	int err;

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
			r->txn = find_txn(r->conn, m->tx_id);
			if (!r->txn) {
				err = ENOENT;
				break;
			}
		}
		err = xs_node_op(r);
		if (r->txn && r->txn->over) {
			/* it touched more nodes than a domU's transaction may;
			 * like C xenstored, the transaction can no longer commit */
			r->txn->over = false;
			r->txn->overflow = true;
			err = ENOSPC;
		}
		break;
	case XS_WATCH:
		err = watch_req(r, v, xs_watch_add);
		*initial = !err;
		break;
	case XS_UNWATCH:
		err = watch_req(r, v, xs_watch_del);
		break;
	case XS_RESET_WATCHES:
		xs_watch_drop_all(r->conn);
		xs_conn_drop_txns(r->conn);
		err = xs_req_reply_str(r, "OK");
		break;
	case XS_TRANSACTION_START:
		err = txn_start(r, m);
		break;
	case XS_TRANSACTION_END:
		err = txn_end(r, m);
		break;
	case XS_CONTROL:
	case XS_GET_DOMAIN_PATH:
	case XS_INTRODUCE:
	case XS_RELEASE:
	case XS_IS_DOMAIN_INTRODUCED:
	case XS_RESUME:
	case XS_SET_TARGET:
		err = xs_domain_op(r);
		break;
	default:
		err = EINVAL;
		break;
	}
	return err;
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

	c->dom->requests++;
	s->depth++;
	if (!c->priv && m->len > XS_XENBUS_PAYLOAD_MAX)
		err = E2BIG; /* a domU's xenbus device (cases 44, 291) */
	else
		err = serve(&r, m, v, &initial);
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
	if (!value && !perms)
		err = xs_op_rm(&r, abs); /* xs_server_rm */
	else
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
	return xs_server_write(s, path, NULL, NULL);
}

int xs_server_requests(struct xs_server *s, unsigned domid, uint64_t *out)
{
	struct xs_dom *d = xs_dom_get(s, domid, false);

	if (!d && domid != 0)
		return -ENOENT;
	*out = d ? d->requests : 0;
	return 0;
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

/* The topmost nodes owned by domid, in C xenstored's walk order (depth
 * first from "/", children in creation order, not below an owned node). */
static int owned_tops(struct xs_server *s, unsigned domid, char ***out, size_t *nout)
{
	char **stack = NULL, **tops = NULL;
	size_t ns = 0, cap_s = 0, nt = 0, cap_t = 0;
	int err = 0;

	*out = NULL;
	*nout = 0;
	stack = malloc(sizeof(*stack));
	if (!stack || !(stack[0] = strdup("/"))) {
		free(stack);
		return ENOMEM;
	}
	ns = cap_s = 1;
	while (ns && !err) {
		char *path = stack[--ns];
		const struct xs_node *n = xs_tree_get(&s->tree, path);
		size_t nc = 0, plen = strlen(path);

		if (!n) {
			free(path);
			continue;
		}
		if (strcmp(path, "/") && xs_node_owner(n) == domid) {
			if (nt == cap_t) {
				char **p =
				    realloc(tops, (cap_t = cap_t ? 2 * cap_t : 8) * sizeof(*p));
				if (!p) {
					free(path);
					err = ENOMEM;
					break;
				}
				tops = p;
			}
			tops[nt++] = path;
			continue;
		}
		for (uint32_t off = 0; off < n->childlen; off += strlen(n->children + off) + 1)
			nc++;
		if (ns + nc > cap_s) {
			char **p = realloc(stack, (cap_s = 2 * (ns + nc)) * sizeof(*p));
			if (!p) {
				free(path);
				err = ENOMEM;
				break;
			}
			stack = p;
		}
		/* pushed last child first, so the first child is walked first */
		memset(stack + ns, 0, nc * sizeof(*stack));
		ns += nc;
		for (uint32_t off = 0, i = 0; off < n->childlen; i++) {
			const char *name = n->children + off;
			char *c = malloc(plen + strlen(name) + 2);
			if (!c) {
				err = ENOMEM;
				break;
			}
			sprintf(c, "%s%s%s", path, plen > 1 ? "/" : "", name);
			stack[ns - 1 - i] = c;
			off += strlen(name) + 1;
		}
		free(path);
	}
	while (ns)
		free(stack[--ns]);
	free(stack);
	if (err) {
		while (nt)
			free(tops[--nt]);
		free(tops);
		return err;
	}
	*out = tops;
	*nout = nt;
	return 0;
}

/* C xenstored (4.17, XSA-419): a destroyed domain's nodes go, each with
 * its whole subtree, as an rm by dom0 would (the same watch events). */
static void remove_owned(struct xs_server *s, unsigned domid)
{
	struct xs_req r = tool_req(s);
	char **tops;
	size_t n;
	int err = owned_tops(s, domid, &tops, &n);

	if (err) {
		log_err("xenstore: dom%u released: looking for its nodes: %s", domid,
			strerror(err));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		err = xs_op_rm(&r, tops[i]);
		if (err)
			log_err("xenstore: dom%u released: removing %s: %s", domid, tops[i],
				strerror(err));
		else
			log_debug("xenstore: dom%u released: removed %s (its node)", domid,
				  tops[i]);
		free(r.rbuf);
		r.rbuf = NULL;
		free(tops[i]);
	}
	free(tops);
}

static void revoke_node(const char *key, void *val, void *arg)
{
	(void)key;
	xs_perms_revoke(&((struct xs_node *)val)->perms, *(unsigned *)arg);
}

static void revoke_copy(struct xs_node *n, void *arg)
{
	xs_perms_revoke(&n->perms, *(unsigned *)arg);
}

/* XSA-322: the ACL entries naming a released domain stop counting
 * (GET_PERMS still shows them); the special nodes lose them. */
static void revoke_entries(struct xs_server *s, unsigned domid)
{
	xs_hash_each(&s->tree.nodes, revoke_node, &domid);
	for (struct xs_conn *c = s->conns; c; c = c->next)
		for (struct xs_txn *t = c->txns; t; t = t->next)
			xs_txn_each_copy(t, revoke_copy, &domid);
	xs_perms_remove_dom(&s->special_intro, domid);
	xs_perms_remove_dom(&s->special_release, domid);
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
	if (domid) {
		remove_owned(s, domid);
		revoke_entries(s, domid);
		xs_tree_forget_owner(&s->tree, domid);
	}
	xs_watch_fire_special(s, "@releaseDomain");
	s->depth--;
	xs_server_reap(s);
}
