/* SPDX-License-Identifier: MIT */
/*
 * Death: a member whose domain is gone gets members/<m>/state = dead in
 * every volume it serves, in one transaction, as soon as a domain event
 * (or a scan) shows it.  Survivors then race for its queues.
 */
#include <stdlib.h>
#include <string.h>

#include "sv.h"
#include "vbdpool/log.h"

static const char *const final_states[] = {"dead", "fenced", NULL};

static int death_check(struct sv *sv, void *priv, const struct sv_view *v)
{
	(void)priv;
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
			return -1;
		for (unsigned k = i; k < v->nm; k++)
			if (v->m[k].domid == m->domid && strcmp(v->m[k].state, "dead") &&
			    strcmp(v->m[k].state, "fenced"))
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
	return 0;
}

const struct sv_module sv_death_module = {
    .name = "death",
    .on_domains = death_check,
    /* a member added for an already-dead domain, or an event we missed */
    .on_tick = death_check,
};
