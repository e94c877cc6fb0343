/* SPDX-License-Identifier: MIT */
/*
 * Death: a member whose domain is gone, as soon as a domain event (or a
 * scan) shows it:
 *
 *  1. members/<m>/state = dead in every volume where its nodes are still
 *     there, in one transaction (a xenstored that keeps a dead domain's
 *     nodes, or the old emulator).  Survivors then race for its queues.
 *  2. what the pool grants it is revoked, one transaction per volume: a
 *     leftover members/<m> is removed and the volume's member-dependent
 *     ACLs (and the supervisor area's) are re-set from the members left,
 *     as `vbdpoolctl member remove` does.  On Xen 4.17 xenstored has
 *     already removed members/<m> with the domain (it removes every node
 *     a destroyed domain owns) and survivors took its queues on seeing
 *     it go; the grants on dom0's nodes are what is left, and a future
 *     domain given the same domid must not find them.
 *
 * Both steps are idempotent: a step that fails (a busy pool making the
 * transaction lose every retry) is done again at the next event or scan.
 */
#include <stdlib.h>
#include <string.h>

#include "sv.h"
#include "vbdpool/log.h"

static const char *const final_states[] = {"dead", "fenced", NULL};

static void record_dead(struct sv *sv, const struct sv_view *v)
{
	for (unsigned i = 0; i < v->nm; i++) {
		const struct sv_member *m = &v->m[i];
		const char **vols;
		unsigned n = 0;
		int done = 0, rc;

		/* once per domain: skip it if an earlier entry handled it */
		for (unsigned k = 0; k < i && !done; k++)
			done = v->m[k].domid == m->domid;
		if (done || sv_domain_alive(sv, v, m->domid))
			continue;
		vols = calloc(v->nm, sizeof(*vols));
		if (!vols)
			return;
		for (unsigned k = i; k < v->nm; k++)
			if (v->m[k].domid == m->domid && !sv_member_in(&v->m[k], SV_ST_FINAL))
				vols[n++] = v->m[k].vol;
		if (n) {
			rc = sv_set_member_state(sv, vols, n, m->domid, "dead", final_states);
			if (rc < 0)
				log_err("dom%u is gone but recording it failed: %s", m->domid,
					strerror(-rc));
			else if (rc > 0)
				log_info("dom%u is gone: state=dead in %d volume%s (first: %s)",
					 m->domid, rc, rc == 1 ? "" : "s", vols[0]);
		}
		free(vols);
	}
}

static int has_vol(const char *const *vols, unsigned n, const char *vol)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(vols[i], vol))
			return 1;
	return 0;
}

static int add_gone(struct sv_gone *gone, unsigned *n, unsigned domid)
{
	for (unsigned i = 0; i < *n; i++)
		if (gone[i].domid == domid)
			return 0;
	gone[(*n)++] = (struct sv_gone){domid, 0};
	return 1;
}

/* Every volume naming a gone domain (listed member, or a grant left over),
 * then the supervisor area for a gone domain no volume names any more. */
static int revoke_gone(struct sv *sv, const struct sv_view *v)
{
	unsigned max = v->nm + v->ng, nvols = 0, nhandled = 0;
	const char **vols = calloc(max ? max : 1, sizeof(*vols));
	struct sv_gone *gone = calloc(max ? max : 1, sizeof(*gone));
	struct sv_gone *handled = calloc(max ? max : 1, sizeof(*handled));
	int rc = 0;

	if (!vols || !gone || !handled) {
		free(vols);
		free(gone);
		free(handled);
		return -1;
	}
	/* the volumes concerned, each once */
	for (unsigned i = 0; i < v->nm; i++)
		if (!has_vol(vols, nvols, v->m[i].vol) && !sv_domain_alive(sv, v, v->m[i].domid))
			vols[nvols++] = v->m[i].vol;
	for (unsigned i = 0; i < v->ng; i++)
		if (v->g[i].vol[0] && !has_vol(vols, nvols, v->g[i].vol) &&
		    !sv_domain_alive(sv, v, v->g[i].domid))
			vols[nvols++] = v->g[i].vol;
	for (unsigned k = 0; k < nvols; k++) {
		unsigned n = 0;

		for (unsigned i = 0; i < v->nm; i++)
			if (!strcmp(v->m[i].vol, vols[k]) && !sv_domain_alive(sv, v, v->m[i].domid))
				add_gone(gone, &n, v->m[i].domid);
		for (unsigned i = 0; i < v->ng; i++)
			if (!strcmp(v->g[i].vol, vols[k]) && !sv_domain_alive(sv, v, v->g[i].domid))
				add_gone(gone, &n, v->g[i].domid);
		rc = sv_revoke(sv, vols[k], gone, n);
		for (unsigned i = 0; i < n; i++) {
			/* vbd_pool_sync_acls did the supervisor area too */
			if (rc >= 0)
				add_gone(handled, &nhandled, gone[i].domid);
			if (rc < 0)
				log_err(
				    "dom%u is gone but revoking its grants on volume %s failed: "
				    "%s",
				    gone[i].domid, vols[k], strerror(-rc));
			else
				log_info(
				    "dom%u is gone: removed from volume %s, its grants revoked "
				    "(%s)",
				    gone[i].domid, vols[k],
				    gone[i].removed ? "its members/ node removed"
						    : "its members/ node had vanished");
		}
	}
	/* supervisor area only: members of no volume left */
	{
		unsigned n = 0;

		for (unsigned i = 0; i < v->ng; i++)
			if (!v->g[i].vol[0] && !sv_domain_alive(sv, v, v->g[i].domid) &&
			    add_gone(handled, &nhandled, v->g[i].domid))
				add_gone(gone, &n, v->g[i].domid);
		if (n) {
			rc = sv_revoke(sv, NULL, gone, n);
			for (unsigned i = 0; i < n; i++)
				if (rc < 0)
					log_err(
					    "dom%u is gone but revoking its grant on %s failed: "
					    "%s",
					    gone[i].domid, VBD_XS_SUPERVISOR, strerror(-rc));
				else
					log_info("dom%u is gone: its grant on %s revoked",
						 gone[i].domid, VBD_XS_SUPERVISOR);
		}
	}
	free(vols);
	free(gone);
	free(handled);
	return 0;
}

static int death_check(struct sv *sv, void *priv, const struct sv_view *v)
{
	(void)priv;
	record_dead(sv, v);
	return revoke_gone(sv, v);
}

/* on ticks too: a member added for an already-dead domain, or an event
 * we missed */
SV_MODULE(death, NULL, NULL, death_check);
