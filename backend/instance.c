/* SPDX-License-Identifier: MIT */
/* One vbdpool-backd per volume per domain. Two daemons serving the same
 * volume in one domain would both act as the same member (claiming, failing
 * to bind the event channels the other bound, releasing, claiming again).
 * The guard lives in XenStore, under the member's own node, because the
 * processes of a driver domain share nothing else we can rely on (and in
 * the emulator every domain's processes share one host):
 *
 *   members/<me>/instance = "<pid>-<random>"  written by the daemon serving
 *                                              the volume in this domain
 *
 * Before joining, a daemon reads the instance token, the heartbeat and the
 * member state. A token that is not its own, of a member that is not
 * dead/fenced, means another daemon may be alive: it watches the heartbeat
 * (rewritten every VBD_HEARTBEAT_MS by a live daemon) and the token for
 * VBD_INST_WATCH_MS; if either changes, it refuses the volume. Otherwise the
 * predecessor is dead and it swaps the token for its own in a transaction
 * that checks the token is still the one it watched, so that of two daemons
 * starting at once only one wins. A running daemon re-reads its token on
 * every reconcile (control path only) and, should another instance have
 * replaced it, stops serving the volume without writing any record. */
#include "backd.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "vbdpool/log.h"

#define INST_POLL_MS 50

static int read_opt(struct xs_handle *xs, xs_transaction_t t, char *out, size_t n, const char *fmt,
		    const char *vol, unsigned me)
{
	char *s = vbd_xs_get(xs, t, fmt, vol, me);

	out[0] = 0;
	if (!s)
		return errno == ENOENT ? 0 : -errno;
	snprintf(out, n, "%s", s);
	free(s);
	return 1;
}

static void make_token(struct vbd_volume *v)
{
	uint64_t rnd = 0;

	if (v->inst_token[0])
		return;
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		rnd = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 16;
	}
	snprintf(v->inst_token, sizeof(v->inst_token), "%ld-%016" PRIx64, (long)getpid(), rnd);
}

/* What a volume's member node looked like before the wait. */
struct inst_seen {
	int member;	   /* members/<me> readable */
	int tok_ok, hb_ok; /* token / heartbeat present */
	int state_ok;	   /* state present and parsed */
	enum vbd_member_state state;
	char tok[VBD_INST_TOKEN_MAX];
	char hb[32];
};

static int look(struct vbd_volume *v, struct inst_seen *s)
{
	struct backd *bd = v->bd;
	char st[32];
	char *node;
	int r;

	memset(s, 0, sizeof(*s));
	node = vbd_xs_get(bd->xs, XBT_NULL, VBD_XS_MEMBER, v->id, bd->me);
	if (!node)
		return -errno;
	free(node);
	s->member = 1;
	r = read_opt(bd->xs, XBT_NULL, s->tok, sizeof(s->tok), VBD_XS_MEMBER "/instance", v->id,
		     bd->me);
	if (r < 0)
		return r;
	s->tok_ok = r;
	r = hb_read(v, bd->xs, s->hb, sizeof(s->hb));
	if (r < 0)
		return r;
	s->hb_ok = r;
	r = read_opt(bd->xs, XBT_NULL, st, sizeof(st), VBD_XS_MEMBER "/state", v->id, bd->me);
	if (r < 0)
		return r;
	s->state_ok = r && vbd_member_state_parse(st, &s->state) == 0;
	return 0;
}

/* The token's process ("<pid>-<random>") no longer exists in this domain
 * (its daemons share one kernel). The heartbeat is the domain's, shared by
 * every daemon of the domain (several with --volume): it advancing says
 * only that one of them lives. */
static int token_pid_gone(const char *tok)
{
	char *end;
	long pid = strtol(tok, &end, 10);

	if (pid <= 0 || *end != '-')
		return 0; /* not ours to judge: the heartbeat decides */
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Another daemon may be alive: a token not ours, of a member not declared
 * dead or fenced (a dead/fenced one that still runs finds its token
 * replaced and stops). */
static int needs_watch(const struct vbd_volume *v, const struct inst_seen *s)
{
	if (!s->tok_ok || !strcmp(s->tok, v->inst_token))
		return 0;
	return !(s->state_ok && (s->state == VBD_MEMBER_DEAD || s->state == VBD_MEMBER_FENCED));
}

struct swap_arg {
	struct vbd_volume *v;
	const struct inst_seen *seen; /* NULL: expect no token */
	char found[VBD_INST_TOKEN_MAX];
};

static int swap_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct swap_arg *a = arg;
	struct vbd_volume *v = a->v;
	char path[VBD_XS_PATH_MAX];
	int r;

	r = read_opt(xs, t, a->found, sizeof(a->found), VBD_XS_MEMBER "/instance", v->id,
		     v->bd->me);
	if (r < 0)
		return r;
	if (r && !strcmp(a->found, v->inst_token))
		return 1; /* already ours */
	if (r != (a->seen && a->seen->tok_ok) || (r && strcmp(a->found, a->seen->tok)))
		return -EEXIST; /* another instance got there first */
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/instance", v->id, v->bd->me);
	return vbd_xs_write(xs, t, path, v->inst_token);
}

static void refuse(struct vbd_volume *v, const char *why)
{
	vol_err(v,
		"another vbdpool-backd is serving volume %s in this domain (%s); "
		"refusing to start",
		v->id, why);
	v->superseded = 1;
}

static int swap_in(struct vbd_volume *v, const struct inst_seen *seen)
{
	struct swap_arg a = {.v = v, .seen = seen};
	int r = vbd_xs_transact(v->bd->xs, swap_fn, &a);

	if (r >= 0) {
		v->inst_held = 1;
		return 0;
	}
	if (r == -EEXIST) {
		char why[VBD_INST_TOKEN_MAX + 64];

		snprintf(why, sizeof(why), "instance %s started at the same time", a.found);
		refuse(v, why);
		return r;
	}
	vol_warn(v, "cannot write this daemon's instance token: %s", strerror(-r));
	return r;
}

int inst_acquire_all(struct backd *bd, struct vbd_volume **vs, unsigned n)
{
	struct inst_seen *seen;
	int *watch, nwatch = 0, rc = 0;

	if (!n)
		return 0;
	seen = calloc(n, sizeof(*seen));
	watch = calloc(n, sizeof(*watch));
	if (!seen || !watch) {
		free(seen);
		free(watch);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		int r;

		make_token(vs[i]);
		watch[i] = 0;
		r = look(vs[i], &seen[i]);
		if (r < 0) {
			rc = rc ? rc : r; /* not a member (yet): joins later */
			continue;
		}
		if (seen[i].tok_ok && !strcmp(seen[i].tok, vs[i]->inst_token)) {
			vs[i]->inst_held = 1;
			continue;
		}
		watch[i] = needs_watch(vs[i], &seen[i]);
		nwatch += watch[i];
		if (watch[i])
			vol_info(vs[i],
				 "member %u has instance %s: checking its heartbeat for "
				 "%d ms",
				 bd->me, seen[i].tok, VBD_INST_WATCH_MS);
	}
	for (uint64_t end = backd_now_ms() + VBD_INST_WATCH_MS; nwatch && backd_now_ms() < end;) {
		usleep(INST_POLL_MS * 1000);
		for (unsigned i = 0; i < n; i++) {
			struct inst_seen now;

			if (!watch[i] || look(vs[i], &now) < 0)
				continue;
			if ((now.hb_ok != seen[i].hb_ok || strcmp(now.hb, seen[i].hb)) &&
			    !token_pid_gone(seen[i].tok)) {
				refuse(vs[i], "heartbeat advancing");
			} else if (now.hb_ok != seen[i].hb_ok || strcmp(now.hb, seen[i].hb)) {
				/* the domain's heartbeat is another daemon's here
				 * (--volume): the token's process is gone */
				seen[i].hb_ok = now.hb_ok;
				memcpy(seen[i].hb, now.hb, sizeof(seen[i].hb));
				continue;
			} else if (now.tok_ok != seen[i].tok_ok || strcmp(now.tok, seen[i].tok))
				refuse(vs[i], "its instance token changed");
			else
				continue;
			watch[i] = 0;
			nwatch--;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct vbd_volume *v = vs[i];
		int r;

		if (v->superseded) {
			rc = -EEXIST;
			continue;
		}
		if (v->inst_held || !seen[i].member)
			continue;
		if (watch[i])
			vol_info(v, "instance %s gone (heartbeat stopped): taking over as %s",
				 seen[i].tok, v->inst_token);
		r = swap_in(v, &seen[i]);
		if (r == -EEXIST || !rc)
			rc = r;
	}
	free(seen);
	free(watch);
	return rc;
}

int inst_acquire(struct vbd_volume *v)
{
	if (v->superseded)
		return -EEXIST;
	return inst_acquire_all(v->bd, &v, 1);
}

int inst_check(struct vbd_volume *v)
{
	struct backd *bd = v->bd;
	char tok[VBD_INST_TOKEN_MAX];
	int r;

	if (v->superseded)
		return -EEXIST;
	if (!v->inst_held)
		return 0;
	r = read_opt(bd->xs, XBT_NULL, tok, sizeof(tok), VBD_XS_MEMBER "/instance", v->id, bd->me);
	if (r < 0 || (r && !strcmp(tok, v->inst_token)))
		return 0; /* ours, or unreadable: removed from the pool (reconcile sees it) */
	if (!r) {
		/* our token vanished under us (dom0 rewrote the member node):
		 * write it again unless another instance did meanwhile */
		struct swap_arg a = {.v = v};

		r = vbd_xs_transact(bd->xs, swap_fn, &a);
		if (r != -EEXIST)
			return 0;
		snprintf(tok, sizeof(tok), "%s", a.found);
	}
	vol_err(v,
		"another vbdpool-backd (instance %s) took over volume %s in this "
		"domain: this one (instance %s) stops serving it, writing no record",
		tok, v->id, v->inst_token);
	while (v->atts) {
		struct vbd_attach *a = v->atts;

		v->atts = a->next;
		pool_drop_attachment(v, a);
	}
	v->joined = 0;
	v->inst_held = 0;
	v->superseded = 1;
	return -EEXIST;
}

int inst_none_left(struct backd *bd)
{
	if (!bd->nvols)
		return 0; /* nothing to serve yet (no --volume: waiting for one) */
	for (unsigned i = 0; i < bd->nvols; i++)
		if (!bd->vols[i]->superseded)
			return 0;
	return 1;
}

static int drop_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct vbd_volume *v = arg;
	char tok[VBD_INST_TOKEN_MAX], path[VBD_XS_PATH_MAX];
	int r;

	r = read_opt(xs, t, tok, sizeof(tok), VBD_XS_MEMBER "/instance", v->id, v->bd->me);
	if (r <= 0 || strcmp(tok, v->inst_token))
		return 1; /* not ours (any more) */
	snprintf(path, sizeof(path), VBD_XS_MEMBER "/instance", v->id, v->bd->me);
	return xs_rm(xs, t, path) ? 0 : -errno;
}

void inst_release_all(struct backd *bd)
{
	for (unsigned i = 0; i < bd->nvols; i++) {
		struct vbd_volume *v = bd->vols[i];

		if (v->inst_held && !v->superseded)
			vbd_xs_transact(bd->xs, drop_fn, v);
		v->inst_held = 0;
	}
}
