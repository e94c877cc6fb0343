/* SPDX-License-Identifier: MIT */
/* Grant mapping on the emulated host: the daemon checks the whole batch
 * (any bad ref fails it with EINVAL) and passes the granter's page files
 * (read-only ones for PROT_READ maps); we map them contiguously into a
 * reserved region.  unmap tells the daemon, which then lets ended refs go. */
#include "sim_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct mapping {
	char *addr;
	unsigned count;
	uint32_t id;
	struct mapping *next;
};

struct vbd_gnttab {
	struct sim_conn conn; /* first */
	struct mapping *maps;
};
/* Unmaps what is still mapped (the connection, closed, released it). */
static void unmap_maps(void *p)
{
	struct vbd_gnttab *h = p;

	for (struct mapping *mp = h->maps, *next; mp; mp = next) {
		next = mp->next;
		munmap(mp->addr, (size_t)mp->count * VBD_PAGE_SIZE);
		free(mp);
	}
	h->maps = NULL;
}

SIM_DEFINE_HANDLE(struct vbd_gnttab, SIM_KIND_GNTTAB, unmap_maps)

static void release(struct vbd_gnttab *h, uint32_t id)
{
	struct sim_hyp_msg m = {.op = SIM_OP_GNT_UNMAP, .a = id};

	sim_hyp_call(h->conn.sock, &m, NULL, 0, NULL, 0, NULL, NULL);
}

/* Receives the reply's descriptors beyond the first message. */
static int more_fds(struct vbd_gnttab *h, int *fds, unsigned have, unsigned total)
{
	while (have < total) {
		struct sim_hyp_msg m;
		int n = total - have < SIM_HYP_MAX_FDS ? (int)(total - have) : SIM_HYP_MAX_FDS, rc;

		rc = sim_msg_recv(h->conn.sock, &m, NULL, 0, fds + have, &n);
		if (rc < 0)
			return rc;
		if (m.op != SIM_OP_MORE_FDS || m.a != have || have + (unsigned)n > total) {
			for (int i = 0; i < n; i++)
				close(fds[have + i]);
			return -EPROTO;
		}
		have += (unsigned)n;
	}
	return 0;
}

static void *map_pages(int count, const struct sim_gnt_page *pg, const int *fds, unsigned nfds,
		       int prot)
{
	size_t len = (size_t)count * VBD_PAGE_SIZE;
	char *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	for (int i = 0; i < count;) {
		int j = i + 1;

		if (pg[i].fd_index >= nfds)
			goto fail;
		/* a run of consecutive pages of one file maps in one go */
		while (j < count && pg[j].fd_index == pg[i].fd_index &&
		       pg[j].page == pg[i].page + (uint32_t)(j - i))
			j++;
		if (mmap(base + (size_t)i * VBD_PAGE_SIZE, (size_t)(j - i) * VBD_PAGE_SIZE, prot,
			 MAP_SHARED | MAP_FIXED, fds[pg[i].fd_index],
			 (off_t)pg[i].page * VBD_PAGE_SIZE) == MAP_FAILED)
			goto fail;
		i = j;
	}
	/* Linux's gntdev marks grant mappings VM_DONTCOPY: a forked child has
	 * no mapping there (measured on the real-Xen rig). */
	if (madvise(base, len, MADV_DONTFORK) < 0)
		goto fail;
	return base;
fail:
	munmap(base, len);
	return NULL;
}

static void *sim_map_refs(struct vbd_gnttab *h, int count, vbd_domid_t domid,
			  const vbd_gref_t *refs, int prot)
{
	struct sim_hyp_msg m = {.op = SIM_OP_GNT_MAP, .a = domid};
	struct sim_gnt_page *pg = NULL;
	struct mapping *mp = NULL;
	int *fds = NULL, nfds = SIM_HYP_MAX_FDS, rc, err = EINVAL;
	void *addr = NULL;

	if (count < 1 || count > SIM_HYP_MAX_BATCH || !refs ||
	    (prot != PROT_READ && prot != (PROT_READ | PROT_WRITE))) {
		errno = EINVAL;
		return NULL;
	}
	m.b = (prot & PROT_WRITE) ? 1 : 0;
	pg = malloc((size_t)count * sizeof(*pg));
	fds = malloc((size_t)count * sizeof(int));
	mp = calloc(1, sizeof(*mp));
	if (!pg || !fds || !mp) {
		err = ENOMEM;
		goto out;
	}
	nfds = count < SIM_HYP_MAX_FDS ? count : SIM_HYP_MAX_FDS;
	pthread_mutex_lock(&h->conn.lock);
	rc = sim_hyp_call(h->conn.sock, &m, refs, (size_t)count * sizeof(uint32_t), pg,
			  (size_t)count * sizeof(*pg), fds, &nfds);
	if (rc < 0) {
		pthread_mutex_unlock(&h->conn.lock);
		err = -rc;
		goto out;
	}
	if (m.len != (size_t)count * sizeof(*pg) || m.b > (unsigned)count || (unsigned)nfds > m.b ||
	    more_fds(h, fds, (unsigned)nfds, m.b) < 0) {
		/* protocol trouble: the connection is no longer in step */
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		pthread_mutex_unlock(&h->conn.lock);
		err = EPROTO;
		goto out;
	}
	nfds = (int)m.b;
	addr = map_pages(count, pg, fds, (unsigned)nfds, prot);
	err = errno;
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (!addr) {
		release(h, m.a);
		pthread_mutex_unlock(&h->conn.lock);
		goto out;
	}
	mp->addr = addr;
	mp->count = (unsigned)count;
	mp->id = m.a;
	mp->next = h->maps;
	h->maps = mp;
	mp = NULL;
	pthread_mutex_unlock(&h->conn.lock);
out:
	free(pg);
	free(fds);
	free(mp);
	if (!addr)
		errno = err;
	return addr;
}

static int sim_unmap(struct vbd_gnttab *h, void *addr, int count)
{
	int rc = -EINVAL;

	pthread_mutex_lock(&h->conn.lock);
	for (struct mapping **pp = &h->maps; *pp; pp = &(*pp)->next) {
		struct mapping *mp = *pp;

		if (mp->addr != addr || mp->count != (unsigned)count)
			continue;
		*pp = mp->next;
		munmap(mp->addr, (size_t)mp->count * VBD_PAGE_SIZE);
		release(h, mp->id);
		free(mp);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&h->conn.lock);
	return rc;
}

const struct vbd_gnttab_ops sim_gnttab_ops = VBD_GNTTAB_OPS(sim);
