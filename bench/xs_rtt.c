/* SPDX-License-Identifier: MIT */
/* XenStore round trips per second for one client (libxenstore, blocking
 * requests one at a time): reads, and writes, of one node for SECONDS.
 *   xs_rtt PATH [SECONDS]      (PATH: a node the caller may write) */
#include "xs_rendezvous.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "data/bench";
	double secs = argc > 2 ? atof(argv[2]) : 2.0, t0, t;
	struct xs_handle *xs = xs_open(0);
	unsigned long n;
	unsigned len;

	if (!xs)
		bench_die("xs_open");
	if (!xs_write(xs, XBT_NULL, path, "value", 5))
		bench_die(path);
	t0 = bench_now_us();
	for (n = 0; (t = bench_now_us()) - t0 < secs * 1e6; n++) {
		char *v = xs_read(xs, XBT_NULL, path, &len);

		if (!v)
			bench_die("xs_read");
		free(v);
	}
	printf("xenstore read:  %8.0f round trips/s (%lu in %.2f s)\n", n / ((t - t0) / 1e6), n,
	       (t - t0) / 1e6);
	t0 = bench_now_us();
	for (n = 0; (t = bench_now_us()) - t0 < secs * 1e6; n++)
		if (!xs_write(xs, XBT_NULL, path, "value", 5))
			bench_die("xs_write");
	printf("xenstore write: %8.0f round trips/s (%lu in %.2f s)\n", n / ((t - t0) / 1e6), n,
	       (t - t0) / 1e6);
	xs_rm(xs, XBT_NULL, path);
	xs_close(xs);
	return 0;
}
