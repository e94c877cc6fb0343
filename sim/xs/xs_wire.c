/* SPDX-License-Identifier: MIT */
#include "xs_wire.h"

#include <string.h>

const char *xs_wire_errname(int err)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EIO";
}

bool xs_wire_header_ok(const struct xsd_sockmsg *m)
{
	return m->len <= XENSTORE_PAYLOAD_MAX;
}

unsigned xs_wire_count_strings(const char *body, uint32_t len)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < len; i++)
		if (!body[i])
			n++;
	return n;
}

const char *xs_wire_onearg(const char *body, uint32_t len)
{
	if (!len || body[len - 1] || memchr(body, 0, len) != body + len - 1)
		return NULL;
	return body;
}

bool xs_wire_strings(const char *body, uint32_t len, const char **v, unsigned n)
{
	uint32_t off = 0;

	if (!len || body[len - 1] || xs_wire_count_strings(body, len) != n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		v[i] = body + off;
		off += strlen(body + off) + 1;
	}
	return true;
}

const char *xs_wire_typename(uint32_t type)
{
	static const char *const names[] = {
	    [XS_CONTROL] = "CONTROL",
	    [XS_DIRECTORY] = "DIRECTORY",
	    [XS_READ] = "READ",
	    [XS_GET_PERMS] = "GET_PERMS",
	    [XS_WATCH] = "WATCH",
	    [XS_UNWATCH] = "UNWATCH",
	    [XS_TRANSACTION_START] = "TRANSACTION_START",
	    [XS_TRANSACTION_END] = "TRANSACTION_END",
	    [XS_INTRODUCE] = "INTRODUCE",
	    [XS_RELEASE] = "RELEASE",
	    [XS_GET_DOMAIN_PATH] = "GET_DOMAIN_PATH",
	    [XS_WRITE] = "WRITE",
	    [XS_MKDIR] = "MKDIR",
	    [XS_RM] = "RM",
	    [XS_SET_PERMS] = "SET_PERMS",
	    [XS_WATCH_EVENT] = "WATCH_EVENT",
	    [XS_ERROR] = "ERROR",
	    [XS_IS_DOMAIN_INTRODUCED] = "IS_DOMAIN_INTRODUCED",
	    [XS_RESUME] = "RESUME",
	    [XS_SET_TARGET] = "SET_TARGET",
	    [XS_RESET_WATCHES] = "RESET_WATCHES",
	    [XS_DIRECTORY_PART] = "DIRECTORY_PART",
	};
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "?";
}
