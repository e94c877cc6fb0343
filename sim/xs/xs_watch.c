/* SPDX-License-Identifier: MIT */
#include "xs_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

struct xs_change *xs_change_new(const char *path, bool exact, const struct xs_perms *perms,
				const struct xs_perms *old_perms, const struct xs_perms *parent)
{
	struct xs_change *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->path = strdup(path);
	c->exact = exact;
	if (!c->path || (perms && xs_perms_copy(&c->perms, perms)) ||
	    (old_perms && xs_perms_copy(&c->old_perms, old_perms)) ||
	    (parent && xs_perms_copy(&c->parent, parent))) {
		xs_change_free_list(c);
		return NULL;
	}
	return c;
}

void xs_change_free_list(struct xs_change *c)
{
	while (c) {
		struct xs_change *n = c->next;
		free(c->path);
		xs_perms_free(&c->perms);
		xs_perms_free(&c->old_perms);
		xs_perms_free(&c->parent);
		free(c);
		c = n;
	}
}

static void send_event(struct xs_conn *c, const char *path, const char *token)
{
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	char *buf = malloc(pl + tl);

	if (!buf)
		return;
	memcpy(buf, path, pl);
	memcpy(buf + pl, token, tl);
	xs_conn_send(c, XS_WATCH_EVENT, 0, 0, buf, pl + tl);
	free(buf);
}

static bool special(const char *p)
{
	return p[0] == '@';
}

int xs_watch_add(struct xs_conn *c, const char *path, const char *token)
{
	char abs[XS_ABS_PATH_MAX + 64];
	bool relative = false;
	struct xs_watch *w;
	struct xs_dom *d;

	if (special(path)) {
		if (strlen(path) > XS_PATH_MAX)
			return EINVAL;
		strcpy(abs, path);
	} else if (xs_path_canon(c->domid, path, abs, sizeof(abs), &relative)) {
		return EINVAL;
	}
	/* dom0's socket: a duplicate is EEXIST; a domU (Linux's xenbus
	 * device, cases 180-181) gets OK and the event twice */
	for (w = c->watches; w && c->priv; w = w->next)
		if (!strcmp(w->abs, abs) && !strcmp(w->token, token))
			return EEXIST;
	d = xs_dom_get(c->s, c->domid, true);
	if (!d)
		return ENOMEM;
	/* C xenstored refuses only once the count is over the quota, so a
	 * domain gets one more (as with transactions: 10 -> 11). */
	if (!c->priv && d->nwatches > XS_QUOTA_WATCHES)
		return E2BIG;
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->path = strdup(path);
	w->abs = strdup(abs);
	w->token = strdup(token);
	w->relative = relative;
	if (!w->path || !w->abs || !w->token) {
		free(w->path);
		free(w->abs);
		free(w->token);
		free(w);
		return ENOMEM;
	}
	/* keep registration order: events go out in it */
	struct xs_watch **pp = &c->watches;
	while (*pp)
		pp = &(*pp)->next;
	*pp = w;
	d->nwatches++;
	return 0;
}

void xs_watch_initial(struct xs_conn *c, const char *path, const char *token)
{
	send_event(c, path, token);
}

static void watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->abs);
	free(w->token);
	free(w);
}

static void dom_unwatch(struct xs_conn *c)
{
	struct xs_dom *d = xs_dom_get(c->s, c->domid, false);
	if (d && d->nwatches)
		d->nwatches--;
}

int xs_watch_del(struct xs_conn *c, const char *path, const char *token)
{
	char abs[XS_ABS_PATH_MAX + 64];

	if (special(path)) {
		if (strlen(path) > XS_PATH_MAX)
			return EINVAL;
		strcpy(abs, path);
	} else if (xs_path_canon(c->domid, path, abs, sizeof(abs), NULL)) {
		return EINVAL;
	}
	for (struct xs_watch **pp = &c->watches; *pp; pp = &(*pp)->next) {
		struct xs_watch *w = *pp;
		if (!strcmp(w->abs, abs) && !strcmp(w->token, token)) {
			*pp = w->next;
			watch_free(w);
			dom_unwatch(c);
			return 0;
		}
	}
	/* unknown: ENOENT on dom0's socket, OK through a domU's xenbus
	 * device (cases 184-185) */
	return c->priv ? ENOENT : 0;
}

void xs_watch_drop_all(struct xs_conn *c)
{
	struct xs_watch *next;

	for (struct xs_watch *w = c->watches; w; w = next) {
		next = w->next;
		watch_free(w);
		dom_unwatch(c);
	}
	c->watches = NULL;
}

static bool readable(const struct xs_perms *p, const struct xs_conn *c)
{
	return p->num && (xs_perm_for(p, c->domid, c->priv) & XS_PERM_READ);
}

static bool permitted(const struct xs_conn *c, const struct xs_change *ch)
{
	if (c->priv)
		return true;
	return readable(&ch->old_perms, c) || readable(&ch->perms, c) || readable(&ch->parent, c);
}

/* The event path a watch gets: relative watches see relative paths. */
static const char *event_path(const struct xs_conn *c, const struct xs_watch *w, const char *path,
			      char *buf, size_t len)
{
	int n;

	if (!w->relative)
		return path;
	n = snprintf(buf, len, "/local/domain/%u/", c->domid);
	if (n > 0 && (size_t)n < len && !strncmp(path, buf, n))
		return path + n;
	return path;
}

void xs_watch_fire(struct xs_server *s, const struct xs_change *ch)
{
	char pre[64];

	for (struct xs_conn *c = s->conns; c; c = c->next) {
		bool checked = false, ok = false;

		if (c->dead)
			continue;
		for (struct xs_watch *w = c->watches; w; w = w->next) {
			const char *p;

			if (ch->exact ? strcmp(ch->path, w->abs)
				      : !xs_path_is_child(ch->path, w->abs))
				continue;
			p = event_path(c, w, ch->path, pre, sizeof(pre));
			if (!checked) {
				ok = permitted(c, ch);
				checked = true;
			}
			if (ok)
				send_event(c, p, w->token);
			if (c->dead)
				break; /* dropped (output quota): its watches are freed */
		}
	}
}

void xs_watch_fire_list(struct xs_server *s, struct xs_change *list)
{
	for (struct xs_change *c = list; c; c = c->next)
		xs_watch_fire(s, c);
	xs_change_free_list(list);
}

void xs_watch_fire_special(struct xs_server *s, const char *name)
{
	const struct xs_perms *sp =
	    !strcmp(name, "@introduceDomain") ? &s->special_intro : &s->special_release;

	for (struct xs_conn *c = s->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (!c->priv && !readable(sp, c))
			continue;
		for (struct xs_watch *w = c->watches; w; w = w->next) {
			if (!strcmp(w->abs, name))
				send_event(c, w->path, w->token);
			if (c->dead)
				break; /* dropped: its watches are freed */
		}
	}
}
