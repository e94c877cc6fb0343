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

int vbdf_qsel_pick_batch(const struct vbdf_qsel_view *v, unsigned n, unsigned hint, unsigned depth)
{
	if (n == 0)
		return -1;
	hint %= n;
	if (v[hint].usable && v[hint].free > 0 && v[hint].inflight < depth)
		return (int)hint;
	return vbdf_qsel_pick(v, n, hint);
}
