/* SPDX-License-Identifier: MIT */
/*
 * Grant tables.  A share call gets one sealed memfd holding its pages
 * (page i = refs[i]); the granter maps it, mappers get the same file
 * (re-opened read-only for read-only maps) and map single pages of it.
 * The daemon counts maps per ref and per mapping connection, so an ended
 * ref (unshare, or its granter's handle closed) lives on - unusable for
 * new maps, its storage not reused - until the last mapper unmaps or
 * closes its handle, as the Linux drivers defer it on Xen.
 *
 * When a granting handle closes without unsharing (its process exited),
 * its grants are orphaned: if the domain lives on they end shortly after
 * (Linux gntalloc ends them on release, deferred); if the domain died they
 * stay mappable until the zombie is gone - nothing runs in a dead domain
 * to end them (observed on Xen 4.17: survivors can even map a destroyed
 * domain's grant again while it is a zombie).
 *
 * Every failed map is EINVAL (wrong grantee, unused / ended / out of
 * range ref, unknown granter, write map of a read-only grant), and a
 * batch with one bad ref fails whole (observed on Xen 4.17).
 */
#include "xensim.h"
#include "simloop.h"
#include "vbdpool/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct gseg {
	int fd, ro_fd;
	unsigned live; /* refs not yet freed */
	uint64_t mark; /* map serial that last indexed it */
	uint32_t idx;
};

struct gent {
	struct gseg *seg;
	uint32_t page;
	uint32_t ref;
	uint16_t grantee;
	bool writable, ended;
	bool orphan; /* its handle closed; ended unless the domain died */
	unsigned maps;
	struct hconn *owner; /* the sharing handle, NULL once ended */
};

struct gmap {
	uint32_t id;
	unsigned n;
	struct dom *gd; /* granter */
	struct gmap *next;
	struct gent *ents[];
};

static uint64_t map_serial;

static void gent_free(struct dom *gd, struct gent *e)
{
	struct gseg *s = e->seg;

	gd->gnt[e->ref] = NULL;
	free(e);
	if (--s->live == 0) {
		close(s->fd);
		if (s->ro_fd >= 0)
			close(s->ro_fd);
		free(s);
	}
}

static void gent_end(struct dom *gd, struct gent *e)
{
	e->ended = true;
	e->owner = NULL;
	if (e->maps == 0)
		gent_free(gd, e);
}

static int new_segment(unsigned count, struct gseg **out)
{
	struct gseg *s = calloc(1, sizeof(*s));
	int fd, e;

	if (!s)
		return -ENOMEM;
	fd = memfd_create("xensim-grant", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto fail;
	if (ftruncate(fd, (off_t)count * VBD_PAGE_SIZE) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	s->fd = fd;
	s->ro_fd = -1;
	*out = s;
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	free(s);
	return -e;
}

static void do_share(struct hconn *c, const struct sim_hyp_msg *m)
{
	static uint32_t refs[SIM_HYP_MAX_BATCH];
	struct dom *d = c->dom;
	unsigned count = m->b, found = 0, r = d->gnt_next;
	struct gseg *s = NULL;
	int rc;

	if (count < 1 || count > SIM_HYP_MAX_BATCH || m->a > 0xffff) {
		hyp_reply(c, m->op, -EINVAL, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	/* round-robin over the table, so ended refs are not reused soon */
	for (unsigned i = 0; i < SIM_GNT_MAX_REFS - SIM_GNT_FIRST_REF && found < count; i++) {
		if (r >= SIM_GNT_MAX_REFS)
			r = SIM_GNT_FIRST_REF;
		if (!d->gnt[r])
			refs[found++] = r;
		r++;
	}
	if (found < count) {
		hyp_reply(c, m->op, -ENOSPC, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	rc = new_segment(count, &s);
	if (rc < 0) {
		hyp_reply(c, m->op, rc, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		struct gent *e = calloc(1, sizeof(*e));

		if (!e) {
			for (unsigned j = 0; j < i; j++)
				gent_end(d, d->gnt[refs[j]]);
			if (i == 0) {
				close(s->fd);
				free(s);
			}
			hyp_reply(c, m->op, -ENOMEM, 0, 0, NULL, 0, NULL, 0);
			return;
		}
		*e = (struct gent){.seg = s,
				   .page = i,
				   .ref = refs[i],
				   .grantee = (uint16_t)m->a,
				   .writable = m->c != 0,
				   .owner = c};
		d->gnt[refs[i]] = e;
		s->live++;
	}
	d->gnt_next = r;
	if (hyp_reply(c, m->op, 0, count, 0, refs, count * sizeof(uint32_t), &s->fd, 1) < 0) {
		for (unsigned i = 0; i < count; i++)
			gent_end(d, d->gnt[refs[i]]);
	}
}

static void do_unshare(struct hconn *c, const struct sim_hyp_msg *m, const uint32_t *refs)
{
	struct dom *d = c->dom;
	unsigned n = m->len / sizeof(uint32_t);

	for (unsigned i = 0; i < n; i++) {
		struct gent *e = refs[i] < SIM_GNT_MAX_REFS ? d->gnt[refs[i]] : NULL;

		if (e && e->owner == c && !e->ended)
			gent_end(d, e);
	}
	hyp_reply(c, m->op, 0, 0, 0, NULL, 0, NULL, 0);
}

static void gmap_release(struct gmap *g)
{
	struct dom *gd = g->gd;

	for (unsigned i = 0; i < g->n; i++) {
		struct gent *e = g->ents[i];

		if (--e->maps == 0 && e->ended)
			gent_free(gd, e);
	}
	gd->foreign_maps -= g->n;
	free(g);
	dom_maybe_free(gd);
}

static int ro_fd(struct gseg *s)
{
	char path[64];

	if (s->ro_fd < 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", s->fd);
		s->ro_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->ro_fd < 0)
			return -errno;
	}
	return s->ro_fd;
}

static void do_map(struct hconn *c, const struct sim_hyp_msg *m, const uint32_t *refs)
{
	static struct sim_gnt_page pages[SIM_HYP_MAX_BATCH];
	static int fds[SIM_HYP_MAX_BATCH];
	static uint32_t map_id;
	unsigned n = m->len / sizeof(uint32_t), nf = 0;
	bool wr = m->b != 0;
	struct dom *gd = dom_find(m->a);
	struct gmap *g;

	if (n < 1 || n > SIM_HYP_MAX_BATCH || !gd)
		goto einval;
	for (unsigned i = 0; i < n; i++) {
		struct gent *e = refs[i] < SIM_GNT_MAX_REFS ? gd->gnt[refs[i]] : NULL;

		if (!e || e->ended || e->grantee != c->dom->id || (wr && !e->writable))
			goto einval;
	}
	g = calloc(1, sizeof(*g) + n * sizeof(g->ents[0]));
	if (!g) {
		hyp_reply(c, m->op, -ENOMEM, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	map_serial++;
	for (unsigned i = 0; i < n; i++) {
		struct gent *e = gd->gnt[refs[i]];
		struct gseg *s = e->seg;

		if (s->mark != map_serial) {
			int fd = wr ? s->fd : ro_fd(s);

			if (fd < 0) {
				free(g);
				hyp_reply(c, m->op, fd, 0, 0, NULL, 0, NULL, 0);
				return;
			}
			s->mark = map_serial;
			s->idx = nf;
			fds[nf++] = fd;
		}
		pages[i] = (struct sim_gnt_page){.fd_index = s->idx, .page = e->page};
		g->ents[i] = e;
	}
	g->id = ++map_id;
	g->n = n;
	g->gd = gd;
	for (unsigned i = 0; i < n; i++)
		g->ents[i]->maps++;
	gd->foreign_maps += n;
	g->next = c->maps;
	c->maps = g;
	{
		unsigned first = nf < SIM_HYP_MAX_FDS ? nf : SIM_HYP_MAX_FDS;
		int rc = hyp_reply(c, m->op, 0, g->id, nf, pages, n * sizeof(pages[0]), fds, first);

		for (unsigned off = first; rc == 0 && off < nf; off += SIM_HYP_MAX_FDS) {
			unsigned k = nf - off < SIM_HYP_MAX_FDS ? nf - off : SIM_HYP_MAX_FDS;

			rc = hyp_reply(c, SIM_OP_MORE_FDS, 0, off, k, NULL, 0, fds + off, (int)k);
		}
		if (rc < 0) { /* the client will not learn about this map */
			c->maps = g->next;
			gmap_release(g);
		}
	}
	return;
einval:
	hyp_reply(c, m->op, -EINVAL, 0, 0, NULL, 0, NULL, 0);
}

static void do_unmap(struct hconn *c, const struct sim_hyp_msg *m)
{
	for (struct gmap **pp = &c->maps; *pp; pp = &(*pp)->next) {
		struct gmap *g = *pp;

		if (g->id == m->a) {
			*pp = g->next;
			gmap_release(g);
			hyp_reply(c, m->op, 0, 0, 0, NULL, 0, NULL, 0);
			return;
		}
	}
	hyp_reply(c, m->op, -EINVAL, 0, 0, NULL, 0, NULL, 0);
}

void gnt_request(struct hconn *c, const struct sim_hyp_msg *m, const void *payload)
{
	switch (m->op) {
	case SIM_OP_GNT_SHARE:
		do_share(c, m);
		break;
	case SIM_OP_GNT_UNSHARE:
		do_unshare(c, m, payload);
		break;
	case SIM_OP_GNT_MAP:
		do_map(c, m, payload);
		break;
	case SIM_OP_GNT_UNMAP:
		do_unmap(c, m);
		break;
	default:
		hyp_reply(c, m->op, -ENOSYS, 0, 0, NULL, 0, NULL, 0);
	}
}

#define ORPHAN_CHECK_MS 20

static void end_orphans(struct dom *d)
{
	for (unsigned r = SIM_GNT_FIRST_REF; r < SIM_GNT_MAX_REFS; r++)
		if (d->gnt[r] && d->gnt[r]->orphan && !d->gnt[r]->ended)
			gent_end(d, d->gnt[r]);
}

/* A granting handle of domain `arg` closed a moment ago (timer). */
static void orphan_check(void *arg)
{
	struct dom *d;

	xensimd_reap(); /* was it the domain's last process? */
	d = dom_find((unsigned)(uintptr_t)arg);
	if (d && d->state != VBD_DOM_DYING)
		end_orphans(d);
	/* a zombie's grants stay until it is gone */
}

void gnt_release(struct hconn *c)
{
	struct dom *d = c->dom;
	bool orphans = false;

	while (c->maps) {
		struct gmap *g = c->maps;

		c->maps = g->next;
		gmap_release(g);
	}
	if (c->kind != SIM_KIND_GNTSHR)
		return;
	for (unsigned r = SIM_GNT_FIRST_REF; r < SIM_GNT_MAX_REFS; r++)
		if (d->gnt[r] && d->gnt[r]->owner == c) {
			d->gnt[r]->owner = NULL;
			d->gnt[r]->orphan = true;
			orphans = true;
		}
	if (orphans && d->state != VBD_DOM_DYING &&
	    simloop_timer(g_sim->loop, ORPHAN_CHECK_MS, orphan_check, (void *)(uintptr_t)d->id) < 0)
		end_orphans(d);
}

void gnt_dom_fini(struct dom *d)
{
	/* only unmapped entries can be left: the domain had no foreign maps */
	for (unsigned r = SIM_GNT_FIRST_REF; r < SIM_GNT_MAX_REFS; r++)
		if (d->gnt[r])
			gent_free(d, d->gnt[r]);
	free(d->gnt);
	d->gnt = NULL;
}
