/* SPDX-License-Identifier: MIT */
/* Grant map+unmap rate through the active platform.
 *   gnt_mapunmap share DIR MAPPERDOM     shares 1 + 32 pages, waits
 *   gnt_mapunmap map DIR GRANTERDOM [SECONDS]
 * Prints map+unmap pairs per second for a single ref and for a batch of
 * 32 refs (pages/s). */
#include "vbdpool/platform.h"
#include "xs_rendezvous.h"

#include <sys/mman.h>

#define BATCH 32

int main(int argc, char **argv)
{
	struct xs_handle *xs = xs_open(0);
	const struct vbd_platform *P = vbd_platform();
	char buf[1024];
	vbd_gref_t refs[1 + BATCH];

	if (argc < 4 || !xs)
		return 2;
	if (!strcmp(argv[1], "share")) {
		struct vbd_gntshr *gs = P->gntshr->open();
		int off = 0;

		if (!gs || !P->gntshr->share_pages(gs, (vbd_domid_t)atoi(argv[3]), 1, refs, 1) ||
		    !P->gntshr->share_pages(gs, (vbd_domid_t)atoi(argv[3]), BATCH, refs + 1, 1))
			bench_die("share");
		for (int i = 0; i < 1 + BATCH; i++)
			off += snprintf(buf + off, sizeof(buf) - off, "%u ", refs[i]);
		rv_post(xs, argv[2], "refs", buf);
		rv_await(xs, argv[2], "mapped", buf, sizeof(buf));
		return 0;
	}
	{
		struct vbd_gnttab *gt = P->gnttab->open();
		vbd_domid_t g = (vbd_domid_t)atoi(argv[3]);
		double secs = argc > 4 ? atof(argv[4]) : 2.0, t0, t;
		unsigned long n;
		char *s;

		if (!gt)
			bench_die("gnttab open");
		s = (char *)rv_await(xs, argv[2], "refs", buf, sizeof(buf));
		for (int i = 0; i < 1 + BATCH; i++)
			refs[i] = (vbd_gref_t)strtoul(s, &s, 10);
		t0 = bench_now_us();
		for (n = 0; (t = bench_now_us()) - t0 < secs * 1e6; n++) {
			void *p = P->gnttab->map_refs(gt, 1, g, refs, PROT_READ | PROT_WRITE);

			if (!p)
				bench_die("map");
			*(volatile char *)p = 1;
			P->gnttab->unmap(gt, p, 1);
		}
		printf("grant map+unmap (%s, 1 ref):   %8.0f pairs/s\n", P->name,
		       n / ((t - t0) / 1e6));
		t0 = bench_now_us();
		for (n = 0; (t = bench_now_us()) - t0 < secs * 1e6; n++) {
			void *p =
			    P->gnttab->map_refs(gt, BATCH, g, refs + 1, PROT_READ | PROT_WRITE);

			if (!p)
				bench_die("map batch");
			P->gnttab->unmap(gt, p, BATCH);
		}
		printf("grant map+unmap (%s, %d refs): %8.0f pairs/s = %.0f pages/s\n", P->name,
		       BATCH, n / ((t - t0) / 1e6), BATCH * n / ((t - t0) / 1e6));
		rv_post(xs, argv[2], "mapped", "1");
		P->gnttab->close(gt);
	}
	return 0;
}
