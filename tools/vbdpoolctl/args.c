/* SPDX-License-Identifier: MIT */
/* Command-line parsing (see args.h). */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vbdpool/proto.h"

int ctl_parse_opts(int argc, char **argv, const struct ctl_opt *opts, char **pos, int maxpos,
		   int *npos, char *err, size_t errlen)
{
	int only_pos = 0;

	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct ctl_opt *o = NULL;
		const char *eq;
		size_t n;

		if (!only_pos && a[0] == '-' && a[1] && a[1] != '-') {
			snprintf(err, errlen, "unknown option '%s'", a);
			return -EINVAL;
		}
		if (only_pos || a[0] != '-' || !a[1]) {
			if (*npos >= maxpos) {
				snprintf(err, errlen, "unexpected argument '%s'", a);
				return -EINVAL;
			}
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		for (const struct ctl_opt *p = opts; p && p->name; p++)
			if (strlen(p->name) == n && !strncmp(p->name, a, n))
				o = p;
		if (!o) {
			snprintf(err, errlen, "unknown option '%.*s'", (int)n, a);
			return -EINVAL;
		}
		if (o->flag) {
			if (eq) {
				snprintf(err, errlen, "option '%s' takes no value", o->name);
				return -EINVAL;
			}
			*o->flag = 1;
		} else if (eq) {
			*o->val = eq + 1;
		} else if (i + 1 < argc) {
			*o->val = argv[++i];
		} else {
			snprintf(err, errlen, "option '%s' needs a value", o->name);
			return -EINVAL;
		}
	}
	return 0;
}

int ctl_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) { /* K, M, G, T: powers of 1024 */
		static const char units[] = "kmgt";
		const char *u = strchr(units, tolower((unsigned char)*p));

		if (!u)
			return -EINVAL;
		mult = 1ULL << (10 * (u - units + 1));
		p++;
	}
	if (*p && strcmp(p, "iB") && strcmp(p, "B"))
		return -EINVAL;
	if (v && mult > UINT64_MAX / v)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int ctl_check_volume_size(const char *s, uint64_t *out, char *why, size_t whylen)
{
	uint64_t v;
	int rc = ctl_parse_size(s, &v);

	if (rc == -ERANGE) {
		snprintf(why, whylen, "bad size '%s': too large", s);
		return -EINVAL;
	}
	if (rc) {
		snprintf(why, whylen,
			 "bad size '%s': not a number of bytes (suffix K, M, G, T allowed)", s);
		return -EINVAL;
	}
	if (v == 0) {
		snprintf(why, whylen, "bad size '%s': must be greater than 0", s);
		return -EINVAL;
	}
	if (v % VBD_SECTOR_SIZE) {
		snprintf(why, whylen, "bad size '%s': %llu is not a multiple of %d bytes", s,
			 (unsigned long long)v, VBD_SECTOR_SIZE);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int ctl_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long long v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 19)
			return -EINVAL; /* 19 digits never overflow 64 bits */
		v = v * 10 + (unsigned long long)(s[n] - '0');
	}
	if (n == 0 || (n > 1 && s[0] == '0') || v < min || v > max)
		return -EINVAL;
	*out = (unsigned long)v;
	return 0;
}
