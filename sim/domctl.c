/* SPDX-License-Identifier: MIT */
/* Domain control as libxenctrl offers it to dom0: list, pause (SIGSTOP to
 * the domain's process group), unpause (SIGCONT), destroy (SIGKILL; the
 * domain is torn down at once and stays listed as dying while a process
 * of it has not exited or other domains map its pages).  Pause and
 * unpause of a dying domain fail (EINVAL); destroying it again succeeds.
 * Other domains get EPERM, as from Xen. */
#include "xensim.h"
#include "vbdpool/log.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int domctl_list(struct sim_dominfo *out, int max)
{
	int n = 0;

	/* ascending domid, as xc_domain_getinfolist */
	for (unsigned last = 0, first = 1;; first = 0) {
		struct dom *best = NULL;

		for (struct dom *d = g_sim->doms; d; d = d->next)
			if ((first || d->id > last) && (!best || d->id < best->id))
				best = d;
		if (!best)
			break;
		if (n < max) {
			out[n] = (struct sim_dominfo){
			    .domid = best->id, .state = best->state, .pgid = best->pgid};
			snprintf(out[n].name, sizeof(out[n].name), "%s", best->name);
		}
		n++;
		last = best->id;
	}
	return n;
}

static struct dom *target(unsigned domid, int *rc)
{
	struct dom *d = dom_find(domid);

	*rc = 0;
	if (!d)
		*rc = -ESRCH;
	else if (d->id == 0 || d->pgid <= 0)
		*rc = -EINVAL; /* dom0, a dying domain, or one still being built */
	return *rc ? NULL : d;
}

int domctl_pause(unsigned domid)
{
	int rc;
	struct dom *d = target(domid, &rc);

	if (!d)
		return rc;
	if (kill(-d->pgid, SIGSTOP) < 0)
		return -errno;
	/* Xen's pause returns once the vCPUs are off the CPUs: wait (bounded,
	 * 1 s) until every process of the domain has stopped, so a caller
	 * never sees a "paused" domain still running */
	for (int i = 0; i < 200 && sim_pgrp_count(d->pgid, "TtZX") > 0; i++)
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	d->state = VBD_DOM_PAUSED;
	log_info("dom%u paused", d->id);
	return 0;
}

int domctl_unpause(unsigned domid)
{
	int rc;
	struct dom *d = target(domid, &rc);

	if (!d || kill(-d->pgid, SIGCONT) < 0)
		return d ? -errno : rc;
	d->state = VBD_DOM_RUNNING;
	log_info("dom%u unpaused", d->id);
	return 0;
}

int domctl_destroy(unsigned domid)
{
	struct dom *d = dom_find(domid);

	if (!d)
		return -ESRCH;
	if (d->id == 0)
		return -EINVAL;
	if (d->state == VBD_DOM_DYING)
		return 0;
	log_info("dom%u destroyed", d->id);
	if (d->pgid > 0)
		kill(-d->pgid, SIGKILL);
	dom_die(d);
	return 0;
}

void domctl_request(struct hconn *c, const struct sim_hyp_msg *m)
{
	static struct sim_dominfo info[256];
	int rc;

	if (c->dom->id != 0) {
		hyp_reply(c, m->op, -EPERM, 0, 0, NULL, 0, NULL, 0);
		return;
	}
	switch (m->op) {
	case SIM_OP_DOM_LIST:
		rc = domctl_list(info, 256);
		hyp_reply(c, m->op, 0, (uint32_t)rc, 0, info,
			  (rc < 256 ? rc : 256) * sizeof(info[0]), NULL, 0);
		return;
	case SIM_OP_DOM_PAUSE:
		rc = domctl_pause(m->a);
		break;
	case SIM_OP_DOM_UNPAUSE:
		rc = domctl_unpause(m->a);
		break;
	case SIM_OP_DOM_DESTROY:
		rc = domctl_destroy(m->a);
		break;
	default:
		rc = -ENOSYS;
	}
	hyp_reply(c, m->op, rc, 0, 0, NULL, 0, NULL, 0);
}
