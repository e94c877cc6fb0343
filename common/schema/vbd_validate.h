/* SPDX-License-Identifier: MIT */
/*
 * Validates a XenStore tree against the schema: every node under /vbdpool
 * and under each /local/domain/<g>/device/vbdpool matches a rule, its
 * value has the rule's type, its ACL is exactly the rule's template
 * expanded from the live members (+M, +B) and attached guests (+G); and
 * the cross-node facts hold: ownership records name members (or none),
 * attachments have their queues and frontend directory, frontend
 * directories point back at their attachment.
 */
#ifndef VBD_VALIDATE_H
#define VBD_VALIDATE_H

#include "vbd_schema.h"
#include "vbd_tree.h"

/* Called once per violation. */
typedef void (*vbd_report_fn)(void *arg, const char *path, const char *msg);

/* Returns the number of violations (0 = valid), or -errno if the tree
 * could not be read. */
int vbd_validate(const struct vbd_schema *s, const struct vbd_tree *t, vbd_report_fn report,
		 void *arg);

#endif
