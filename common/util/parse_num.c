/* SPDX-License-Identifier: MIT */
/* See vbdpool/parse_num.h. */
#include "vbdpool/parse_num.h"

#include <errno.h>
#include <stdlib.h>

int vbd_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
