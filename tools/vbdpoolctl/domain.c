/* SPDX-License-Identifier: MIT */
/* Domain names and ids (see domain.h). */
#include "domain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>

#include "args.h"
#include "vbd_acl.h"
#include "vbdpool/xs.h"

int ctl_resolve_domain(struct xs_handle *h, const char *spec, int allow_gone, unsigned *domid,
		       char *err, size_t errlen)
{
	char path[64], **doms;
	unsigned n;
	unsigned long id;
	int found = -1, matches = 0;

	if (!spec || !*spec) {
		snprintf(err, errlen, "empty domain");
		return -EINVAL;
	}
	if (spec[0] >= '0' && spec[0] <= '9') {
		if (ctl_parse_uint(spec, 0, DOMID_FIRST_RESERVED - 1, &id)) {
			snprintf(err, errlen, "bad domain id '%s'", spec);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "/local/domain/%lu", id);
		if (!allow_gone && vbd_xs_exists(h, XBT_NULL, "%s", path) <= 0) {
			snprintf(err, errlen, "unknown domain %lu (no %s)", id, path);
			return -ENOENT;
		}
		*domid = (unsigned)id;
		return 0;
	}
	if (vbd_xs_list(h, XBT_NULL, &doms, &n, "%s", "/local/domain")) {
		snprintf(err, errlen, "unknown domain '%s' (cannot list /local/domain)", spec);
		return -ENOENT;
	}
	for (unsigned i = 0; i < n; i++) {
		char *name;
		snprintf(path, sizeof(path), "/local/domain/%s/name", doms[i]);
		if (vbd_xs_read(h, XBT_NULL, &name, "%s", path))
			continue;
		if (!strcmp(name, spec) && ctl_parse_uint(doms[i], 0, 0xffff, &id) == 0) {
			found = (int)id;
			matches++;
		}
		free(name);
	}
	free(doms);
	if (matches == 0) {
		snprintf(err, errlen, "unknown domain '%s' (no domain has that name)", spec);
		return -ENOENT;
	}
	if (matches > 1) {
		snprintf(err, errlen, "domain name '%s' is ambiguous: use the domid", spec);
		return -EINVAL;
	}
	*domid = (unsigned)found;
	return 0;
}

void ctl_domain_name(struct xs_handle *h, unsigned domid, char *buf, size_t len)
{
	char path[64], *name;

	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if (vbd_xs_read(h, XBT_NULL, &name, "%s", path)) {
		snprintf(buf, len, "%s", "");
		return;
	}
	snprintf(buf, len, "%s", name);
	free(name);
}
