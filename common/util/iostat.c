/* SPDX-License-Identifier: MIT */
/* The per-attachment statistics record (vbdpool/iostat.h). */
#include "vbdpool/iostat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/parse_num.h"

int vbd_iostat_format(const struct vbd_iostat *s, char *buf, size_t len)
{
	size_t n;
	int r;

	r = snprintf(buf, len,
		     "seq=%" PRIu64 " t=%" PRIu64 " rd=%" PRIu64 " wr=%" PRIu64 " oth=%" PRIu64
		     " rd-bytes=%" PRIu64 " wr-bytes=%" PRIu64 " inflight=%" PRIu64
		     " lat-us=%" PRIu64 " hist=",
		     s->seq, s->t_ms, s->rd, s->wr, s->oth, s->rd_bytes, s->wr_bytes, s->inflight,
		     s->lat_us);
	if (r < 0 || (size_t)r >= len)
		return -ENOSPC;
	n = (size_t)r;
	for (unsigned k = 0; k < VBD_IOSTAT_BUCKETS; k++) {
		if (!s->hist[k])
			continue;
		r = snprintf(buf + n, len - n, "%s%u:%" PRIu64, buf[n - 1] == '=' ? "" : ",", k,
			     s->hist[k]);
		if (r < 0 || (size_t)r >= len - n)
			return -ENOSPC;
		n += (size_t)r;
	}
	return (int)n;
}

/* "K:C,K:C" (or "") into hist; K increasing and < VBD_IOSTAT_BUCKETS. */
static int parse_hist(char *v, uint64_t *hist)
{
	char *save = NULL, *tok;
	int last = -1;

	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		uint64_t k, c;

		if (!colon)
			return -EINVAL;
		*colon = '\0';
		if (vbd_parse_u64(tok, VBD_IOSTAT_BUCKETS - 1, &k) ||
		    vbd_parse_u64(colon + 1, UINT64_MAX, &c) || (int)k <= last)
			return -EINVAL;
		hist[k] = c;
		last = (int)k;
	}
	/* strtok_r skips empty fields: "1:2,,3:4" and a trailing ',' are no
	 * records anyone wrote */
	return 0;
}

int vbd_iostat_parse(const char *str, struct vbd_iostat *out)
{
	static const char *const keys[] = {"seq",      "t",	   "rd",       "wr",	 "oth",
					   "rd-bytes", "wr-bytes", "inflight", "lat-us", "hist"};
	enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
	struct vbd_iostat s = {0};
	uint64_t *fields[NKEYS - 1] = {&s.seq,	    &s.t_ms,	 &s.rd,	      &s.wr,	&s.oth,
				       &s.rd_bytes, &s.wr_bytes, &s.inflight, &s.lat_us};
	char buf[VBD_IOSTAT_MAX], *save = NULL, *tok;
	unsigned seen = 0;
	size_t n;

	if (!str || (n = strlen(str)) >= sizeof(buf) || !n)
		return -EINVAL;
	if (str[0] == ' ' || str[n - 1] == ' ' || strstr(str, "  ") || strstr(str, ",,") ||
	    strstr(str, "=,") || str[n - 1] == ',')
		return -EINVAL;
	memcpy(buf, str, n + 1);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		unsigned k = NKEYS;

		if (!eq)
			return -EINVAL;
		*eq++ = '\0';
		for (unsigned i = 0; i < NKEYS; i++)
			if (!strcmp(tok, keys[i]))
				k = i;
		if (k == NKEYS || (seen & (1u << k)))
			return -EINVAL;
		seen |= 1u << k;
		if (k == NKEYS - 1 ? parse_hist(eq, s.hist)
				   : vbd_parse_u64(eq, UINT64_MAX, fields[k]))
			return -EINVAL;
	}
	if (seen != (1u << NKEYS) - 1)
		return -EINVAL;
	*out = s;
	return 0;
}
