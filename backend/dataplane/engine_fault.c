/* SPDX-License-Identifier: MIT */
/* Fault rules (--fault RULE, see engine_wrap.h): parsing and matching. */
#include "engine_wrap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vbdpool/parse_num.h"

#define ALL_OPS                                                                                    \
	((1u << VBD_IO_READ) | (1u << VBD_IO_WRITE) | (1u << VBD_IO_FLUSH) | (1u << VBD_IO_DISCARD))

static const struct {
	const char *name;
	enum vbd_fault_kind kind;
} kinds[] = {{"eio", VBD_FAULT_EIO},
	     {"delay", VBD_FAULT_DELAY},
	     {"fail-after", VBD_FAULT_FAIL_AFTER},
	     {"bad-response", VBD_FAULT_BAD_RESPONSE}};

static const struct {
	const char *name;
	unsigned ops;
} op_names[] = {{"read", 1u << VBD_IO_READ},
		{"write", 1u << VBD_IO_WRITE},
		{"flush", 1u << VBD_IO_FLUSH},
		{"discard", 1u << VBD_IO_DISCARD},
		{"any", ALL_OPS}};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_sectors(const char *v, struct vbd_fault_rule *r)
{
	char a[24];
	const char *dash = strchr(v, '-');

	if (!dash || (size_t)(dash - v) >= sizeof(a))
		return -EINVAL;
	memcpy(a, v, (size_t)(dash - v));
	a[dash - v] = 0;
	if (vbd_parse_u64(a, UINT64_MAX, &r->first) < 0 ||
	    vbd_parse_u64(dash + 1, UINT64_MAX, &r->last) < 0 || r->last < r->first)
		return -EINVAL;
	r->ranged = 1;
	return 0;
}

static int parse_op(const char *v, struct vbd_fault_rule *r)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (!strcmp(v, op_names[i].name)) {
			r->ops = op_names[i].ops;
			return 0;
		}
	return -EINVAL;
}

/* One PARAM of a rule (key=value, or fail-after's bare count). */
static int parse_param(char *p, struct vbd_fault_rule *r, int *have_arg, char *err, size_t errlen)
{
	char *eq = strchr(p, '=');
	const char *key = p, *val;

	if (!eq) {
		if (r->kind != VBD_FAULT_FAIL_AFTER || *have_arg)
			return fail(err, errlen, "'%s' is not KEY=VALUE", p);
		key = "ios";
		val = p;
	} else {
		*eq = 0;
		val = eq + 1;
	}
	if (!strcmp(key, "sectors")) {
		if (parse_sectors(val, r) < 0)
			return fail(err, errlen, "sectors=%s: want FIRST-LAST, FIRST <= LAST", val);
	} else if (!strcmp(key, "op")) {
		if (parse_op(val, r) < 0)
			return fail(err, errlen, "op=%s: want read, write, flush, discard or any",
				    val);
	} else if ((!strcmp(key, "us") && r->kind == VBD_FAULT_DELAY) ||
		   (!strcmp(key, "ios") &&
		    (r->kind == VBD_FAULT_FAIL_AFTER || r->kind == VBD_FAULT_BAD_RESPONSE))) {
		uint64_t max = r->kind == VBD_FAULT_DELAY ? 60000000 : UINT64_MAX;

		if (*have_arg || vbd_parse_u64(val, max, &r->arg) < 0)
			return fail(err, errlen, "%s=%s: want one number%s", key, val,
				    r->kind == VBD_FAULT_DELAY ? " up to 60000000" : "");
		*have_arg = 1;
	} else {
		return fail(err, errlen, "unknown parameter '%s'", key);
	}
	return 0;
}

int vbd_fault_parse(struct vbd_faults *f, const char *rule, char *err, size_t errlen)
{
	struct vbd_fault_rule r = {.ops = ALL_OPS};
	char buf[256], *params, *save = NULL;
	int have_arg = 0, known = 0;

	if (f->n >= VBD_MAX_FAULTS)
		return fail(err, errlen, "at most %d fault rules", VBD_MAX_FAULTS);
	if (strlen(rule) >= sizeof(buf))
		return fail(err, errlen, "rule too long");
	strcpy(buf, rule);
	params = strchr(buf, ':');
	if (params)
		*params++ = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(buf, kinds[i].name)) {
			r.kind = kinds[i].kind;
			known = 1;
		}
	if (!known)
		return fail(err, errlen,
			    "unknown fault '%s' (eio, delay, fail-after, bad-response)", buf);
	if (params && (!*params || *params == ',' || params[strlen(params) - 1] == ',' ||
		       strstr(params, ",,")))
		return fail(err, errlen, "empty parameter in '%s'", rule);
	for (char *p = params ? strtok_r(params, ",", &save) : NULL; p;
	     p = strtok_r(NULL, ",", &save))
		if (parse_param(p, &r, &have_arg, err, errlen) < 0)
			return -EINVAL;
	if (!have_arg && r.kind != VBD_FAULT_EIO)
		return fail(err, errlen, "%s needs %s", buf,
			    r.kind == VBD_FAULT_DELAY	     ? "us=N"
			    : r.kind == VBD_FAULT_FAIL_AFTER ? "a count (fail-after:N)"
							     : "ios=N");
	f->rule[f->n] = r;
	atomic_store(&f->seen[f->n], 0);
	f->n++;
	return 0;
}

static int rule_matches(const struct vbd_fault_rule *r, enum vbd_io_op op, uint64_t off,
			uint64_t len)
{
	uint64_t first = off / 512, last;

	if (!(r->ops & (1u << op)))
		return 0;
	if (!r->ranged)
		return 1;
	if (!len || r->last < r->first) /* a flush touches no sector */
		return 0;
	last = (off + len - 1) / 512;
	return first <= r->last && last >= r->first;
}

int vbd_faults_check(struct vbd_faults *f, enum vbd_io_op op, uint64_t off, uint64_t len,
		     uint64_t *delay_us)
{
	int eio = 0, bad = 0;

	*delay_us = 0;
	for (unsigned i = 0; i < f->n; i++) {
		const struct vbd_fault_rule *r = &f->rule[i];

		if (!rule_matches(r, op, off, len))
			continue;
		if (r->kind == VBD_FAULT_EIO ||
		    (r->kind == VBD_FAULT_FAIL_AFTER && atomic_fetch_add(&f->seen[i], 1) >= r->arg))
			eio = 1;
		else if (r->kind == VBD_FAULT_BAD_RESPONSE &&
			 atomic_fetch_add(&f->seen[i], 1) == r->arg)
			bad = 1;
		else if (r->kind == VBD_FAULT_DELAY && r->arg > *delay_us)
			*delay_us = r->arg;
	}
	if (eio || bad) {
		*delay_us = 0;
		atomic_fetch_add(&f->failed, 1);
		return eio ? -EIO : -EBADMSG;
	}
	if (*delay_us)
		atomic_fetch_add(&f->delayed, 1);
	return 0;
}

int vbd_faults_probe_fails(struct vbd_faults *f, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < f->n; i++) {
		const struct vbd_fault_rule *r = &f->rule[i];

		if (rule_matches(r, VBD_IO_READ, off, len) &&
		    (r->kind == VBD_FAULT_EIO ||
		     (r->kind == VBD_FAULT_FAIL_AFTER && atomic_load(&f->seen[i]) >= r->arg)))
			return 1;
	}
	return 0;
}
