/* SPDX-License-Identifier: MIT */
/* Grant sharing on the emulated host: the daemon allocates the refs and a
 * sealed memfd holding the pages; we map it here contiguously.  unshare
 * ends the refs (the daemon keeps the storage while a peer maps it) and
 * unmaps the pages here. */
#include "sim_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NO_REF UINT32_MAX

struct share {
	char *addr;
	unsigned count, live;
	struct share *next;
	uint32_t refs[];
};

struct vbd_gntshr {
	struct sim_conn conn; /* first */
	struct share *shares;
};
/* Unmaps what is still shared (the connection, closed, ended the grants). */
static void unmap_shares(void *p)
{
	struct vbd_gntshr *h = p;

	while (h->shares) {
		struct share *s = h->shares;

		h->shares = s->next;
		for (unsigned i = 0; i < s->count; i++)
			if (s->refs[i] != NO_REF)
				munmap(s->addr + (size_t)i * VBD_PAGE_SIZE, VBD_PAGE_SIZE);
		free(s);
	}
}

SIM_DEFINE_HANDLE(struct vbd_gntshr, SIM_KIND_GNTSHR, unmap_shares)

static int end_refs(struct vbd_gntshr *h, const uint32_t *refs, unsigned n)
{
	struct sim_hyp_msg m = {.op = SIM_OP_GNT_UNSHARE};

	return sim_hyp_call(h->conn.sock, &m, refs, n * sizeof(uint32_t), NULL, 0, NULL, NULL);
}

static void *sim_share_pages(struct vbd_gntshr *h, vbd_domid_t domid, int count, vbd_gref_t *refs,
			     int writable)
{
	struct sim_hyp_msg m = {
	    .op = SIM_OP_GNT_SHARE, .a = domid, .b = (uint32_t)count, .c = writable ? 1 : 0};
	struct share *s;
	int fds[1], nfds = 1, rc;
	void *addr;

	if (count < 1 || count > SIM_HYP_MAX_BATCH || !refs) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s) + (size_t)count * sizeof(uint32_t));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&h->conn.lock);
	rc = sim_hyp_call(h->conn.sock, &m, NULL, 0, s->refs, (size_t)count * sizeof(uint32_t), fds,
			  &nfds);
	if (rc >= 0 && (nfds != 1 || m.len != (size_t)count * sizeof(uint32_t))) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		rc = -EPROTO;
	}
	if (rc < 0) {
		pthread_mutex_unlock(&h->conn.lock);
		free(s);
		errno = -rc;
		return NULL;
	}
	addr = mmap(NULL, (size_t)count * VBD_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0],
		    0);
	rc = errno;
	close(fds[0]);
	if (addr == MAP_FAILED) {
		end_refs(h, s->refs, (unsigned)count);
		pthread_mutex_unlock(&h->conn.lock);
		free(s);
		errno = rc;
		return NULL;
	}
	s->addr = addr;
	s->count = s->live = (unsigned)count;
	s->next = h->shares;
	h->shares = s;
	pthread_mutex_unlock(&h->conn.lock);
	memcpy(refs, s->refs, (size_t)count * sizeof(uint32_t));
	return addr;
}

static int sim_unshare(struct vbd_gntshr *h, void *start, int count)
{
	char *p = start;
	int rc = -EINVAL;

	if (count < 1 || ((uintptr_t)p & (VBD_PAGE_SIZE - 1)))
		return -EINVAL;
	pthread_mutex_lock(&h->conn.lock);
	for (struct share **pp = &h->shares; *pp; pp = &(*pp)->next) {
		struct share *s = *pp;
		uint32_t ended[SIM_HYP_MAX_BATCH];
		unsigned first, n = 0;

		if (p < s->addr ||
		    p + (size_t)count * VBD_PAGE_SIZE > s->addr + (size_t)s->count * VBD_PAGE_SIZE)
			continue;
		first = (unsigned)((p - s->addr) / VBD_PAGE_SIZE);
		for (unsigned i = first; i < first + (unsigned)count; i++)
			if (s->refs[i] != NO_REF) {
				ended[n++] = s->refs[i];
				s->refs[i] = NO_REF;
			}
		rc = n ? end_refs(h, ended, n) : 0;
		munmap(p, (size_t)count * VBD_PAGE_SIZE);
		s->live -= n;
		if (!s->live) {
			*pp = s->next;
			free(s);
		}
		break;
	}
	pthread_mutex_unlock(&h->conn.lock);
	return rc < 0 ? rc : 0;
}

const struct vbd_gntshr_ops sim_gntshr_ops = VBD_GNTSHR_OPS(sim);
