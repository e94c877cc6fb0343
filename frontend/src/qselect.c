/* SPDX-License-Identifier: MIT */
#include "qselect.h"

int vbdf_qsel_pick(const struct vbdf_qsel_view *v, unsigned n, unsigned hint)
{
	int best = -1;

	if (n == 0)
		return -1;
	hint %= n;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (hint + k) % n;

		if (!v[i].usable || v[i].free == 0)
			continue;
		if (best < 0 || v[i].inflight < v[best].inflight)
			best = (int)i;
	}
	return best;
}
