/* SPDX-License-Identifier: MIT */
/* Parsing the schema text, matching paths, value types, ACL templates. */
#include "vbd_schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/grow.h"
#include "vbdpool/iostat.h"
#include "vbdpool/proto.h"

#define DOMID_FIRST_RESERVED 0x7ff0

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int parse_type(struct vbd_schema_rule *r, const char *t)
{
	if (!strcmp(t, "empty"))
		r->type = VBD_VT_EMPTY;
	else if (!strcmp(t, "int"))
		r->type = VBD_VT_INT;
	else if (!strncmp(t, "int:", 4)) {
		char *end;
		r->type = VBD_VT_INT;
		r->has_range = 1;
		r->lo = strtoull(t + 4, &end, 10);
		if (*end != ':')
			return -EINVAL;
		r->hi = strtoull(end + 1, &end, 10);
		if (*end || r->lo > r->hi)
			return -EINVAL;
	} else if (!strcmp(t, "bytes512"))
		r->type = VBD_VT_BYTES512;
	else if (!strcmp(t, "path"))
		r->type = VBD_VT_PATH;
	else if (!strcmp(t, "volid"))
		r->type = VBD_VT_VOLID;
	else if (!strncmp(t, "enum:", 5)) {
		r->type = VBD_VT_ENUM;
		if (!t[5] || strlen(t + 5) >= sizeof(r->enums))
			return -EINVAL;
		strcpy(r->enums, t + 5);
	} else if (!strcmp(t, "qrec"))
		r->type = VBD_VT_QREC;
	else if (!strcmp(t, "load"))
		r->type = VBD_VT_LOAD;
	else if (!strcmp(t, "iostat"))
		r->type = VBD_VT_IOSTAT;
	else if (!strcmp(t, "str"))
		r->type = VBD_VT_STR;
	else
		return -EINVAL;
	return 0;
}

static int perm_token_ok(const char *t)
{
	if (!strcmp(t, "+M") || !strcmp(t, "+B") || !strcmp(t, "+G"))
		return 1;
	if (!strchr("nrwb", t[0]) || !t[0])
		return 0;
	t++;
	if (*t == '{')
		return !strcmp(t, "{m}") || !strcmp(t, "{g}");
	if (!*t)
		return 0;
	for (; *t; t++)
		if (*t < '0' || *t > '9')
			return 0;
	return 1;
}

static int parse_pattern(struct vbd_schema_rule *r, const char *pat)
{
	const char *p = pat;

	if (pat[0] != '/' || strlen(pat) >= sizeof(r->pattern))
		return -EINVAL;
	strcpy(r->pattern, pat);
	r->nsegs = 0;
	while (*p == '/') {
		const char *e = strchr(p + 1, '/');
		size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);
		if (n == 0 || n >= sizeof(r->segs[0]) || r->nsegs >= VBD_SCHEMA_MAX_SEGS)
			return -EINVAL;
		memcpy(r->segs[r->nsegs], p + 1, n);
		r->segs[r->nsegs][n] = '\0';
		r->nsegs++;
		p += n + 1;
	}
	return *p ? -EINVAL : 0;
}

int vbd_schema_parse(const char *text, struct vbd_schema *out, char *err, size_t errlen)
{
	struct vbd_schema s = {0};
	const char *p = text;
	int line = 0;
	unsigned cap = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char buf[512], *save = NULL, *tok;
		struct vbd_schema_rule r;

		line++;
		if (n >= sizeof(buf)) {
			seterr(err, errlen, "schema line %d: too long", line);
			goto bad;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n + (nl ? 1 : 0);
		tok = strtok_r(buf, " \t\r", &save);
		if (!tok || tok[0] == '#')
			continue;
		memset(&r, 0, sizeof(r));
		r.line = line;
		if (parse_pattern(&r, tok)) {
			seterr(err, errlen, "schema line %d: bad pattern '%s'", line, tok);
			goto bad;
		}
		tok = strtok_r(NULL, " \t\r", &save);
		if (!tok || parse_type(&r, tok)) {
			seterr(err, errlen, "schema line %d: bad value type '%s'", line,
			       tok ? tok : "");
			goto bad;
		}
		while ((tok = strtok_r(NULL, " \t\r", &save))) {
			if (r.nperms >= VBD_SCHEMA_MAX_PERMS || strlen(tok) >= sizeof(r.perms[0]) ||
			    !perm_token_ok(tok) || (r.nperms == 0 && tok[0] == '+')) {
				seterr(err, errlen, "schema line %d: bad permission '%s'", line,
				       tok);
				goto bad;
			}
			strcpy(r.perms[r.nperms++], tok);
		}
		if (r.nperms == 0) {
			seterr(err, errlen, "schema line %d: no permissions", line);
			goto bad;
		}
		if (VBD_GROW(s.rules, s.nrules, cap, 32) < 0) {
			seterr(err, errlen, "out of memory");
			goto bad;
		}
		s.rules[s.nrules++] = r;
	}
	*out = s;
	return 0;
bad:
	free(s.rules);
	return -EINVAL;
}

void vbd_schema_free(struct vbd_schema *s)
{
	free(s->rules);
	s->rules = NULL;
	s->nrules = 0;
}

const struct vbd_schema *vbd_schema_builtin(void)
{
	static struct vbd_schema s;
	static int done;
	char err[160];

	if (!done) {
		if (vbd_schema_parse(vbd_schema_text, &s, err, sizeof(err))) {
			fprintf(stderr, "built-in schema: %s\n", err);
			abort();
		}
		done = 1;
	}
	return &s;
}

/* ---- matching --------------------------------------------------------- */

/* Canonical decimal (no sign, no leading zero) of at most `max`. Returns
 * the number of characters consumed, or 0. */
static size_t match_num(const char *s, unsigned long max, long *out)
{
	unsigned long v = 0;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (unsigned long)(s[n] - '0');
		if (v > max)
			return 0;
		n++;
	}
	if (n == 0 || (n > 1 && s[0] == '0'))
		return 0;
	*out = (long)v;
	return n;
}

static int volid_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Match one path segment against a template segment ("{g}-{d}"). */
static int match_seg(const char *t, const char *s, struct vbd_bind *b)
{
	while (*t) {
		if (*t == '{') {
			const char *close = strchr(t, '}');
			char name[8];
			size_t n;
			long *slot = NULL, v;
			unsigned long max = 0;

			if (!close || close - t - 1 >= (long)sizeof(name))
				return 0;
			memcpy(name, t + 1, (size_t)(close - t - 1));
			name[close - t - 1] = '\0';
			t = close + 1;
			if (!strcmp(name, "vol")) {
				size_t k = 0;
				/* a volume id is a whole segment in every pattern */
				while (volid_char(s[k]))
					k++;
				if (*t || s[k] || k == 0 || k > VBD_VOLUME_ID_MAX)
					return 0;
				memcpy(b->vol, s, k);
				b->vol[k] = '\0';
				return 1;
			}
			if (!strcmp(name, "m"))
				slot = &b->m, max = DOMID_FIRST_RESERVED - 1;
			else if (!strcmp(name, "g"))
				slot = &b->g, max = DOMID_FIRST_RESERVED - 1;
			else if (!strcmp(name, "d"))
				slot = &b->d, max = 0x7fffffffUL;
			else if (!strcmp(name, "q"))
				slot = &b->q, max = VBD_MAX_QUEUES - 1;
			else if (!strcmp(name, "i"))
				slot = &b->i, max = (1u << VBD_MAX_RING_PAGE_ORDER) - 1;
			else
				return 0;
			n = match_num(s, max, &v);
			if (!n)
				return 0;
			*slot = v;
			s += n;
		} else {
			if (*t != *s)
				return 0;
			t++;
			s++;
		}
	}
	return *s == '\0';
}

const struct vbd_schema_rule *vbd_schema_match(const struct vbd_schema *s, const char *path,
					       struct vbd_bind *out)
{
	char segs[VBD_SCHEMA_MAX_SEGS][VBD_VOLUME_ID_MAX + 16];
	int nsegs = 0;
	const char *p = path;

	if (!path || path[0] != '/')
		return NULL;
	while (*p == '/') {
		const char *e = strchr(p + 1, '/');
		size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);
		if (n == 0 || n >= sizeof(segs[0]) || nsegs >= VBD_SCHEMA_MAX_SEGS)
			return NULL;
		memcpy(segs[nsegs], p + 1, n);
		segs[nsegs][n] = '\0';
		nsegs++;
		p += n + 1;
	}
	for (int i = 0; i < s->nrules; i++) {
		const struct vbd_schema_rule *r = &s->rules[i];
		struct vbd_bind b = {.m = -1, .g = -1, .d = -1, .q = -1, .i = -1};
		int ok = r->nsegs == nsegs;

		for (int k = 0; ok && k < nsegs; k++)
			ok = match_seg(r->segs[k], segs[k], &b);
		if (ok) {
			if (out)
				*out = b;
			return r;
		}
	}
	return NULL;
}

/* ---- values ----------------------------------------------------------- */

static int parse_dec(const char *v, unsigned long long *out)
{
	unsigned long long x = 0;
	size_t n = 0;

	for (; v[n]; n++) {
		if (v[n] < '0' || v[n] > '9')
			return -EINVAL;
		if (x > (~0ULL - 9) / 10)
			return -ERANGE;
		x = x * 10 + (unsigned)(v[n] - '0');
	}
	if (n == 0 || (n > 1 && v[0] == '0'))
		return -EINVAL;
	*out = x;
	return 0;
}

static int enum_has(const char *list, const char *v)
{
	size_t n = strlen(v);
	const char *p = list;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t k = bar ? (size_t)(bar - p) : strlen(p);
		if (k == n && !strncmp(p, v, n))
			return 1;
		p += k + (bar ? 1 : 0);
	}
	return 0;
}

/* why v is not a record of type t (QREC, LOAD or IOSTAT), or NULL when it is one */
static const char *record_error(enum vbd_vtype t, const char *v)
{
	union {
		struct vbd_queue_rec q;
		struct vbd_member_load l;
		struct vbd_iostat s;
	} u;

	if (t == VBD_VT_QREC)
		return vbd_queue_rec_parse(v, &u.q) ? "malformed ownership record" : NULL;
	if (t == VBD_VT_LOAD)
		return vbd_member_load_parse(v, &u.l) ? "malformed load record" : NULL;
	return vbd_iostat_parse(v, &u.s) ? "malformed I/O statistics record" : NULL;
}

int vbd_schema_check_value(const struct vbd_schema_rule *r, const char *v, char *why, size_t wl)
{
	unsigned long long x;

	switch (r->type) {
	case VBD_VT_EMPTY:
		if (*v) {
			seterr(why, wl, "value must be empty");
			return -EINVAL;
		}
		return 0;
	case VBD_VT_INT:
		if (parse_dec(v, &x)) {
			seterr(why, wl, "not a decimal integer");
			return -EINVAL;
		}
		if (r->has_range && (x < r->lo || x > r->hi)) {
			seterr(why, wl, "out of range %llu..%llu", r->lo, r->hi);
			return -EINVAL;
		}
		return 0;
	case VBD_VT_BYTES512:
		if (parse_dec(v, &x) || x == 0 || x % VBD_SECTOR_SIZE) {
			seterr(why, wl, "not a positive multiple of %d bytes", VBD_SECTOR_SIZE);
			return -EINVAL;
		}
		return 0;
	case VBD_VT_PATH:
		if (v[0] != '/') {
			seterr(why, wl, "not an absolute path");
			return -EINVAL;
		}
		return 0;
	case VBD_VT_VOLID:
		if (!vbd_volume_id_valid(v)) {
			seterr(why, wl, "not a volume id");
			return -EINVAL;
		}
		return 0;
	case VBD_VT_ENUM:
		if (!enum_has(r->enums, v)) {
			seterr(why, wl, "not one of %s", r->enums);
			return -EINVAL;
		}
		return 0;
	case VBD_VT_QREC:
	case VBD_VT_LOAD:
	case VBD_VT_IOSTAT: {
		const char *bad = record_error(r->type, v);
		if (bad) {
			seterr(why, wl, "%s", bad);
			return -EINVAL;
		}
		return 0;
	}
	case VBD_VT_STR:
		return 0;
	}
	seterr(why, wl, "unknown value type");
	return -EINVAL;
}

/* ---- ACL templates ---------------------------------------------------- */

int vbd_schema_expand_acl(const struct vbd_schema_rule *r, const struct vbd_bind *b,
			  const struct vbd_acl_ctx *ctx, struct vbd_acl *out)
{
	static const char letters[] = "nrwb";
	int rc = 0;

	out->n = 0;
	for (int i = 0; i < r->nperms && !rc; i++) {
		const char *t = r->perms[i];
		if (!strcmp(t, "+M") || !strcmp(t, "+B")) {
			int perm = t[1] == 'M' ? VBD_PERM_READ : VBD_PERM_BOTH;
			for (unsigned k = 0; ctx && k < ctx->nmembers && !rc; k++)
				rc = vbd_acl_add(out, ctx->members[k], perm);
		} else if (!strcmp(t, "+G")) {
			for (unsigned k = 0; ctx && k < ctx->nguests && !rc; k++)
				rc = vbd_acl_add(out, ctx->guests[k], VBD_PERM_READ);
		} else {
			int perm = (int)(strchr(letters, t[0]) - letters);
			long id;
			if (!strcmp(t + 1, "{m}"))
				id = b ? b->m : -1;
			else if (!strcmp(t + 1, "{g}"))
				id = b ? b->g : -1;
			else
				id = strtol(t + 1, NULL, 10);
			if (id < 0 || id > 0xffff)
				return -EINVAL;
			rc = vbd_acl_add(out, (uint16_t)id, perm);
		}
	}
	return rc;
}

int vbd_schema_acl_for(const struct vbd_schema *s, const char *path, const struct vbd_acl_ctx *ctx,
		       struct vbd_acl *out)
{
	struct vbd_bind b;
	const struct vbd_schema_rule *r = vbd_schema_match(s, path, &b);

	if (!r)
		return -ENOENT;
	return vbd_schema_expand_acl(r, &b, ctx, out);
}
