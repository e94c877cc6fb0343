/* SPDX-License-Identifier: MIT */
/* Command-line parsing for vbdpoolctl: options of one subcommand, sizes
 * and bounded numbers.  No XenStore here, so it is unit-tested alone. */
#ifndef VBDCTL_ARGS_H
#define VBDCTL_ARGS_H

#include <stddef.h>
#include <stdint.h>

struct ctl_opt {
	const char *name; /* "--size" */
	const char **val; /* set for options taking a value */
	int *flag;	  /* set to 1 for flags */
};

/* Split argv into options (from `opts`; "--name value" or "--name=value")
 * and positional arguments (stored in pos, at most maxpos).  "--" ends
 * options.  Returns 0, or -EINVAL with a message in err. */
int ctl_parse_opts(int argc, char **argv, const struct ctl_opt *opts, char **pos, int maxpos,
		   int *npos, char *err, size_t errlen);

/* Decimal number with an optional binary suffix K, M, G, T (KiB...).
 * 0, -EINVAL (not a number) or -ERANGE (overflow). */
int ctl_parse_size(const char *s, uint64_t *out);
/* A volume size: ctl_parse_size, > 0 and a multiple of 512 bytes.
 * -EINVAL with the reason in why. */
int ctl_check_volume_size(const char *s, uint64_t *out, char *why, size_t whylen);
/* Canonical decimal in [min, max]. 0 or -EINVAL. */
int ctl_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
