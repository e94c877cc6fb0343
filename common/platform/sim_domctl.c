/* SPDX-License-Identifier: MIT */
/* Domain control on the emulated host (dom0 only; others get EPERM). */
#include "sim_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct vbd_domctl {
	struct sim_conn conn; /* first */
};
SIM_DEFINE_HANDLE(struct vbd_domctl, SIM_KIND_DOMCTL, NULL)

static int sim_list(struct vbd_domctl *h, struct vbd_dominfo *out, int max)
{
	static const size_t cap = 256;
	struct sim_hyp_msg m = {.op = SIM_OP_DOM_LIST};
	struct sim_dominfo *info = calloc(cap, sizeof(*info));
	int rc;

	if (!info)
		return -ENOMEM;
	pthread_mutex_lock(&h->conn.lock);
	rc = sim_hyp_call(h->conn.sock, &m, NULL, 0, info, cap * sizeof(*info), NULL, NULL);
	pthread_mutex_unlock(&h->conn.lock);
	if (rc >= 0) {
		size_t n = m.len / sizeof(*info);

		for (size_t i = 0; i < n && (int)i < max; i++) {
			out[i].domid = (vbd_domid_t)info[i].domid;
			out[i].state = (enum vbd_domstate)info[i].state;
			snprintf(out[i].name, sizeof(out[i].name), "%s", info[i].name);
		}
		rc = (int)m.a;
	}
	free(info);
	return rc;
}

static int call(struct vbd_domctl *h, uint32_t op, vbd_domid_t domid)
{
	struct sim_hyp_msg m = {.op = op, .a = domid};
	int rc;

	pthread_mutex_lock(&h->conn.lock);
	rc = sim_hyp_call(h->conn.sock, &m, NULL, 0, NULL, 0, NULL, NULL);
	pthread_mutex_unlock(&h->conn.lock);
	return rc;
}

static int sim_pause(struct vbd_domctl *h, vbd_domid_t domid)
{
	return call(h, SIM_OP_DOM_PAUSE, domid);
}

static int sim_unpause(struct vbd_domctl *h, vbd_domid_t domid)
{
	return call(h, SIM_OP_DOM_UNPAUSE, domid);
}

static int sim_destroy(struct vbd_domctl *h, vbd_domid_t domid)
{
	return call(h, SIM_OP_DOM_DESTROY, domid);
}

const struct vbd_domctl_ops sim_domctl_ops = VBD_DOMCTL_OPS(sim);
