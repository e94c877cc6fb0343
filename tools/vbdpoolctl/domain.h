/* SPDX-License-Identifier: MIT */
/* Naming domains: a domid or a name from /local/domain/<id>/name. */
#ifndef VBDCTL_DOMAIN_H
#define VBDCTL_DOMAIN_H

#include <stddef.h>
#include <xenstore.h>

/* Resolve DOMAIN (domid or name) to a live domain's id.  -ENOENT with
 * "unknown domain ..." in err when no such domain exists; -EINVAL for a
 * malformed spec. With allow_gone, a numeric domid is accepted even if
 * the domain is gone (to clean up after a dead one). */
int ctl_resolve_domain(struct xs_handle *h, const char *spec, int allow_gone, unsigned *domid,
		       char *err, size_t errlen);
/* The domain's name, or "" if unknown. */
void ctl_domain_name(struct xs_handle *h, unsigned domid, char *buf, size_t len);

#endif
