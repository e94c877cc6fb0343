/* SPDX-License-Identifier: MIT */
/* vbdpoolctl schema-check: the validator (common/schema/, checking the
 * layout of xenstore-schema/schema.txt) on the live tree, read inside one
 * transaction so it sees one consistent state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ctl.h"
#include "vbd_validate.h"

static void print_violation(void *arg, const char *path, const char *msg)
{
	(void)arg;
	printf("%s: %s\n", path, msg);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int cmd_schema_check(struct ctl *c, int argc, char **argv)
{
	const char *schema_file = NULL;
	struct ctl_opt opts[] = {{"--schema", &schema_file, NULL}, {0}};
	char *pos[1], err[256];
	int npos, rc;
	struct vbd_schema own;
	const struct vbd_schema *s = vbd_schema_builtin();
	struct vbd_livetree lt = {.h = c->xs};
	struct vbd_tree view;

	if (ctl_parse_opts(argc, argv, opts, pos, 0, &npos, err, sizeof(err)))
		return ctl_usage_error("schema-check: %s", err);
	if (schema_file) {
		char *text = slurp(schema_file);
		if (!text)
			return ctl_fail("schema '%s': %s", schema_file, strerror(errno));
		rc = vbd_schema_parse(text, &own, err, sizeof(err));
		free(text);
		if (rc)
			return ctl_fail("schema '%s': %s", schema_file, err);
		s = &own;
	}
	lt.t = xs_transaction_start(c->xs);
	view = vbd_livetree_view(&lt);
	rc = vbd_validate(s, &view, print_violation, NULL);
	if (lt.t != XBT_NULL)
		xs_transaction_end(c->xs, lt.t, true);
	if (schema_file)
		vbd_schema_free(&own);
	if (rc < 0)
		return ctl_fail("schema-check: cannot read XenStore: %s", strerror(-rc));
	if (rc > 0) {
		fprintf(stderr, "schema-check: %d violation%s\n", rc, rc == 1 ? "" : "s");
		return 1;
	}
	printf("schema-check: OK\n");
	return 0;
}
