/* SPDX-License-Identifier: MIT */
/*
 * Domain identity and the domain requests: GET_DOMAIN_PATH (any domid),
 * IS_DOMAIN_INTRODUCED, INTRODUCE, RELEASE, RESUME, SET_TARGET and the
 * CONTROL commands test tools use.  All but GET_DOMAIN_PATH are for
 * privileged callers only (EACCES otherwise, as observed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

struct xs_dom *xs_dom_get(struct xs_server *s, unsigned domid, bool create)
{
	struct xs_dom *d;

	for (d = s->doms; d; d = d->next)
		if (d->domid == domid)
			return d;
	if (!create)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->domid = domid;
	d->next = s->doms;
	s->doms = d;
	return d;
}

void xs_dom_free_all(struct xs_server *s)
{
	while (s->doms) {
		struct xs_dom *d = s->doms;
		s->doms = d->next;
		free(d);
	}
}

static int parse_num(const char *str, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(str, &end, 10);
	if (errno || end == str || *end || v > max)
		return EINVAL;
	*out = v;
	return 0;
}

static int parse_domid(const char *str, unsigned *out)
{
	return parse_num(str, XS_MAX_DOMID, out);
}

static bool introduced(struct xs_server *s, unsigned domid)
{
	struct xs_dom *d = xs_dom_get(s, domid, false);
	return domid == 0 || (d && d->introduced);
}

static const char quota_text[] =
    "Quota settings:\n"
    "nodes            :     1000 Nodes per domain\n"
    "watches          :      128 Watches per domain\n"
    "transactions     :       10 Transactions per domain\n"
    "outstanding      :       20 Outstanding requests per domain\n"
    "transaction-nodes:     1024 Max. number of accessed nodes per transaction\n"
    "memory           :  2621440 Total Xenstore memory per domain (error level)\n"
    "node-size        :     2048 Max. size of a node\n"
    "path-max         :     2048 Max. length of a node path\n"
    "permissions      :        5 Max. number of permissions per node\n";

static const char quota_soft_text[] =
    "Quota settings:\n"
    "memory           :  2097152 Total Xenstore memory per domain (warning level)\n";

static const char help_text[] = "check\t\n"
				"log\ton|off\n"
				"live-update\t[-c <cmdline>] [-F] [-t <timeout>] <file>\n"
				"    Default timeout is 60 seconds.\n"
				"logfile\t<file>\n"
				"memreport\t[<file>]\n"
				"print\t<string>\n"
				"quota\t[set <name> <val>|<domid>]\n"
				"quota-soft\t[set <name> <val>]\n"
				"help\t\n";

static int control(struct xs_req *r)
{
	const char *cmd;

	if (!r->len || r->body[r->len - 1])
		return EINVAL;
	cmd = r->body;
	if (!strcmp(cmd, "quota") && xs_wire_count_strings(r->body, r->len) == 1)
		return xs_req_reply_str(r, quota_text);
	if (!strcmp(cmd, "quota-soft") && xs_wire_count_strings(r->body, r->len) == 1)
		return xs_req_reply_str(r, quota_soft_text);
	if (!strcmp(cmd, "help"))
		return xs_req_reply_str(r, help_text);
	if (!strcmp(cmd, "check") || !strcmp(cmd, "print") || !strcmp(cmd, "log") ||
	    !strcmp(cmd, "logfile"))
		return xs_req_reply_str(r, "OK");
	return EINVAL;
}

int xs_domain_op(struct xs_req *r)
{
	const char *v[3];
	unsigned domid, target;
	char buf[64];

	if (r->type == XS_GET_DOMAIN_PATH) {
		const char *arg = xs_wire_onearg(r->body, r->len);
		/* any number, existing domain or not (262-266) */
		if (!arg || parse_num(arg, UINT32_MAX, &domid))
			return EINVAL;
		snprintf(buf, sizeof(buf), "/local/domain/%u", domid);
		return xs_req_reply_str(r, buf);
	}
	if (!r->priv)
		return EACCES;
	switch (r->type) {
	case XS_CONTROL:
		return control(r);
	case XS_IS_DOMAIN_INTRODUCED:
		v[0] = xs_wire_onearg(r->body, r->len);
		if (!v[0] || parse_domid(v[0], &domid))
			return EINVAL;
		return xs_req_reply_str(r, introduced(r->s, domid) ? "T" : "F");
	case XS_INTRODUCE:
		/* There is no ring to map under emulation: only a domain the
		 * emulator already introduced is accepted (again). */
		if (!xs_wire_strings(r->body, r->len, v, 3) || parse_domid(v[0], &domid))
			return EINVAL;
		if (!introduced(r->s, domid))
			return EINVAL;
		return xs_req_reply_str(r, "OK");
	case XS_RELEASE:
	case XS_RESUME:
		v[0] = xs_wire_onearg(r->body, r->len);
		if (!v[0] || parse_domid(v[0], &domid))
			return EINVAL;
		if (domid == 0)
			return EINVAL;
		if (!introduced(r->s, domid))
			return ENOENT;
		if (r->type == XS_RELEASE)
			xs_server_release(r->s, domid);
		return xs_req_reply_str(r, "OK");
	case XS_SET_TARGET:
		if (!xs_wire_strings(r->body, r->len, v, 2) || parse_domid(v[0], &domid) ||
		    parse_domid(v[1], &target))
			return EINVAL;
		if (!introduced(r->s, domid))
			return ENOENT;
		return xs_req_reply_str(r, "OK");
	}
	return EINVAL;
}
