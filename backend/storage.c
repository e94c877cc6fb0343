/* SPDX-License-Identifier: MIT */
/* Is this member's backing the volume's storage? (docs/protocol.md
 * "Storage identity").  Before a member serves a volume, the storage it
 * opened must have the identity and size dom0 recorded at `volume create`
 * (storage-id, storage-size), or, for a volume created with
 * --id-by-consensus, the identity the first member to join recorded in
 * storage-consensus.  And a member without O_DIRECT never serves a volume
 * that another member may serve: members in different domains share no
 * page cache.  A member that fails either check writes its state
 * `mismatch`, claims nothing, and stays so until it is restarted. */
#include "backd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/log.h"
#include "vbdpool/storage_id.h"

/* Members other than this one that serve or may yet serve the volume
 * (listed, and neither dead, fenced, failed nor mismatch). */
static unsigned others_that_may_serve(struct vbd_volume *v)
{
	unsigned n = 0;

	for (unsigned i = 0; i < v->nmembers; i++) {
		const struct vbd_member *m = &v->members[i];

		if (m->domid == v->bd->me)
			continue;
		if (m->state_ok &&
		    (m->state == VBD_MEMBER_DEAD || m->state == VBD_MEMBER_FENCED ||
		     m->state == VBD_MEMBER_FAILED || m->state == VBD_MEMBER_MISMATCH))
			continue;
		n++;
	}
	return n;
}

static int refuse(struct vbd_volume *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct vbd_volume *v, const char *fmt, ...)
{
	char why[3 * VBD_STORAGE_ID_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vol_err(v,
		"%s: not serving it (member state mismatch; restart this member "
		"once that is fixed)",
		why);
	v->refused = 1;
	pool_set_state(v, VBD_MEMBER_MISMATCH);
	return -EMEDIUMTYPE;
}

struct consensus {
	struct vbd_volume *v;
	const char *mine;
	char agreed[VBD_STORAGE_ID_MAX + 32];
	int first;
};

/* storage-consensus: written by the first member, compared by the rest. */
static int consensus_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct consensus *c = arg;
	char path[VBD_XS_PATH_MAX], *cur;
	int r = 0;

	snprintf(path, sizeof(path), VBD_XS_VOLUME "/storage-consensus", c->v->id);
	c->first = 0;
	cur = vbd_xs_get(xs, t, "%s", path);
	if (!cur)
		return -errno;
	if (!*cur) {
		r = vbd_xs_write(xs, t, path, c->mine);
		c->first = r == 0;
		snprintf(c->agreed, sizeof(c->agreed), "%s", c->mine);
	} else {
		snprintf(c->agreed, sizeof(c->agreed), "%s", cur);
	}
	free(cur);
	return r;
}

int storage_verify(struct vbd_volume *v, const char *path)
{
	struct backd *bd = v->bd;
	char mine[VBD_STORAGE_ID_MAX], prop[VBD_STORAGE_ID_MAX + 32], *rec;
	uint64_t bytes = 0, want = 0;
	int r;

	if (v->backing.fd < 0)
		return 0; /* the null store */
	r = vbd_storage_id_fd(v->backing.fd, mine, sizeof(mine), &bytes);
	if (r < 0)
		return refuse(v, "cannot tell the storage identity of %s: %s", path, strerror(-r));
	rec = vbd_xs_get(bd->xs, XBT_NULL, VBD_XS_VOLUME "/storage-id", v->id);
	if (!rec && errno != ENOENT) {
		r = -errno;
		vol_err(v, "cannot read its storage-id: %s", strerror(-r));
		return r; /* tried again on the next event */
	}
	if (!rec) {
		vol_warn(v,
			 "no storage-id recorded (created by an older vbdpoolctl): "
			 "%s (storage %s) served unchecked",
			 path, mine);
	} else if (!strcmp(rec, VBD_STORAGE_ID_CONSENSUS)) {
		struct consensus c = {.v = v, .mine = prop};

		vbd_storage_proposal(mine, bytes, prop, sizeof(prop));
		r = vbd_xs_transact(bd->xs, consensus_fn, &c);
		if (r < 0) {
			free(rec);
			return refuse(v,
				      "consensus mode: cannot read or record storage-consensus: %s",
				      strerror(-r));
		}
		if (strcmp(c.agreed, prop)) {
			free(rec);
			return refuse(
			    v,
			    "consensus mode: the members agreed on storage '%s' but %s here "
			    "is '%s'",
			    c.agreed, path, prop);
		}
		vol_info(v, "storage %s (%s by consensus)", prop,
			 c.first ? "proposed first: recorded" : "the same as agreed");
	} else {
		r = vbd_xs_read_u64(bd->xs, XBT_NULL, UINT64_MAX, &want,
				    VBD_XS_VOLUME "/storage-size", v->id);
		if (strcmp(rec, mine) || r < 0 || want != bytes) {
			char size[32] = "none";

			if (r == 0)
				snprintf(size, sizeof(size), "%" PRIu64, want);
			r = refuse(v,
				   "%s is not the volume's storage: recorded storage-id '%s' size "
				   "%s, this member sees '%s' size %" PRIu64,
				   path, rec, size, mine, bytes);
			free(rec);
			return r;
		}
		vol_info(v, "storage %s, %" PRIu64 " bytes, as recorded", mine, bytes);
	}
	free(rec);
	if (!v->backing.direct) {
		pool_refresh_members(v);
		if (others_that_may_serve(v))
			return refuse(
			    v,
			    "%s is open without O_DIRECT and the volume has other members: "
			    "members in different domains share no page cache",
			    path);
		vol_warn(v,
			 "%s without O_DIRECT: served only while this is the volume's "
			 "only member",
			 path);
	}
	return 0;
}

int storage_check_buffered(struct vbd_volume *v)
{
	struct backd *bd = v->bd;
	int r;

	if (!v->joined || v->backing.fd < 0 || v->backing.direct || bd->leaving ||
	    !others_that_may_serve(v))
		return 0;
	/* Stop every queue (waiting for the I/O in flight), make what we
	 * wrote durable, and only then say `mismatch`: from then on the
	 * others may claim our queues (docs/protocol.md, claim rule). */
	vol_err(v, "another member joined and this one has no O_DIRECT: stopping "
		   "every queue");
	for (struct vbd_attach *a = v->atts; a; a = a->next)
		for (unsigned q = 0; q < a->nq; q++)
			own_stop_queue(v, &a->qs[q], "no O_DIRECT with other members");
	r = vbd_backing_flush(&v->backing);
	if (r < 0)
		vol_err(v, "flush of the buffered backing failed: %s", strerror(-r));
	path_stop(v); /* its probes read the backing */
	vbd_backing_close(&v->backing);
	v->ready = 0;
	v->joined = 0;
	return refuse(v, "the backing is open without O_DIRECT and the volume has other members: "
			 "members in different domains share no page cache");
}
