/* SPDX-License-Identifier: MIT */
/* vbdpoolctl: command table, help, XenStore connection. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ctl.h"
#include "vbdpool/log.h"
#include "vbdpool/proto.h"
#include "vbdpool/version.h"

/* A command with several forms has one entry per form, in a row; the
 * first one is dispatched to (its function handles every form). */
static const struct ctl_cmd commands[] = {
    {"volume", "create", cmd_volume_create,
     "ID|--id-from-backing --backing PATH [--size BYTES] [--id-by-consensus] "
     "[--force-shared-storage]",
     "Create volume ID served from PATH (a file or block device every member can "
     "reach at that path). The size defaults to PATH's size; it must be a multiple of "
     "512 bytes (suffixes K, M, G, T allowed). --id-from-backing derives the ID from the "
     "storage: a block device's WWN or serial, a file's device and inode. The storage's "
     "identity (WWID/serial, or a file's filesystem id and inode) and size are recorded; "
     "every member checks its backing against them before it serves. Storage another "
     "volume uses (by any path) is refused unless --force-shared-storage. "
     "--id-by-consensus: dom0 records no identity (it may not see the storage: give "
     "--size); the first member to join records what it sees and every other must "
     "see the same."},
    {"volume", "list", cmd_volume_list, "",
     "List volumes with size, backing, members and "
     "attachments."},
    {"volume", "remove", cmd_volume_remove, "ID [--force]",
     "Remove volume ID. Refused while guests are attached, unless --force (which also "
     "removes their frontend directories)."},
    {"member", "add", cmd_member_add, "ID DOMAIN",
     "Allow DOMAIN (domid or name) to serve volume ID; updates the ACLs of every node "
     "members must reach."},
    {"member", "remove", cmd_member_remove, "ID DOMAIN",
     "Withdraw DOMAIN from volume ID; its queues become claimable by the others."},
    {"member", "unfence", cmd_member_unfence, "ID DOMAIN",
     "Let a member the supervisor fenced rejoin: refused unless its state is fenced. "
     "Unpauses the domain if it is paused, waits until the member's heartbeat has not "
     "changed for 2 s (refused after 10 s: a vbdpool-backd still runs there), then "
     "writes state=joining if it is still fenced. Before restarting vbdpool-backd, "
     "check that the domain's storage path works and that no I/O of the fenced "
     "incarnation can still be in flight (the domain was rebooted, or its storage "
     "timed out or aborted its commands)."},
    {NULL, "attach", cmd_attach, "DOMAIN ID [--devid N] [--queues N] [--read-only] [--shared]",
     "Attach volume ID to guest DOMAIN as vbdpool device N (default: the lowest free) "
     "with N queues (default 4, at most 64). --read-only: the members refuse the "
     "guest's writes and discards. Refused while another guest has the volume and "
     "either attachment is read-write, unless both are --shared."},
    {NULL, "attach", cmd_attach, "--config FILE [--domain DOMAIN]",
     "Attach every device listed in the xl domain config FILE, one string each in "
     "vbdpool = [ \"volume=ID[,devid=N][,queues=N][,mode=r][,shared=1]\", ... ], to the "
     "domain named by its "
     "name= (or DOMAIN), all or nothing. The domain must exist: xl create -p FILE, then "
     "this, then xl unpause."},
    {NULL, "detach", cmd_detach, "DOMAIN ID [--devid N] [--timeout SEC] [--force]",
     "Detach: ask the frontend to close (state 5), wait for it to reach 6, then remove "
     "the attachment and frontend directory. --force skips the wait."},
    {NULL, "detach", cmd_detach, "--config FILE [--domain DOMAIN] [--timeout SEC] [--force]",
     "Detach every device listed in the xl domain config FILE from the domain named by "
     "its name= (or DOMAIN); the timeout bounds the wait for all of them together."},
    {NULL, "status", cmd_status, "[ID] [--json]",
     "Volumes, members (state, heartbeat age, load), attachments with each queue's "
     "owner, epoch and state, and the load per domain."},
    {NULL, "top", cmd_top, "[-b] [-i N] [-d SECONDS] [--json]",
     "Live I/O per driver domain and per guest device, like xentop: read/write IOPS and "
     "bytes/s, requests in flight, mean and p99 latency, queues, state, refreshed every "
     "-d SECONDS (default 1). -b: batch (no screen clearing), -i N: stop after N "
     "iterations, --json: one JSON object per iteration (raw numbers). Members publish "
     "their counters only while top asks; the first iteration has no rates yet."},
    {NULL, "schema-check", cmd_schema_check, "[--schema FILE]",
     "Validate the live XenStore tree (values, ACLs, ownership records) against the "
     "built-in xenstore-schema/schema.txt; prints each violation, exits 1 on any."},
};
#define NCMDS (sizeof(commands) / sizeof(commands[0]))

/* "vbdpoolctl: MESSAGE<tail>" on stderr; returns rc */
static int report(int rc, const char *tail, const char *fmt, va_list ap)
{
	fputs("vbdpoolctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
	return rc;
}

/* a reporter: "vbdpoolctl: FMT<tail>" on stderr, returns rc */
#define CTL_REPORTER(name, rc, tail)                                                               \
	int name(const char *fmt, ...)                                                             \
	{                                                                                          \
		va_list ap;                                                                        \
		int r;                                                                             \
		va_start(ap, fmt);                                                                 \
		r = report(rc, tail, fmt, ap);                                                     \
		va_end(ap);                                                                        \
		return r;                                                                          \
	}

CTL_REPORTER(ctl_fail, 1, "\n")
CTL_REPORTER(ctl_usage_error, 2, " (see vbdpoolctl --help)\n")

int ctl_volume_args(int argc, char **argv, const struct ctl_opt *opts, char **pos, int npos,
		    const char *cmd, const char *need)
{
	char err[256];
	int n;

	if (ctl_parse_opts(argc, argv, opts, pos, npos, &n, err, sizeof(err)))
		return ctl_usage_error("%s: %s", cmd, err);
	if (n != npos)
		return ctl_usage_error("%s: need %s", cmd, need);
	if (!vbd_volume_id_valid(pos[0]))
		return ctl_fail("bad volume id '%s'", pos[0]);
	return 0;
}

static void print_cmd(FILE *f, const struct ctl_cmd *c, int long_form)
{
	fprintf(f, "  vbdpoolctl %s%s%s %s\n", c->group ? c->group : "", c->group ? " " : "",
		c->name, c->usage);
	if (long_form)
		fprintf(f, "      %s\n", c->help);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vbdpoolctl COMMAND [ARGS]   (runs in dom0)\n"
		   "       vbdpoolctl --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		print_cmd(f, &commands[i], 1);
	fprintf(f, "\nDOMAIN is a domid or a domain name. XenStore is reached through "
		   "libxenstore (XENSTORED_PATH selects the socket).\n");
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct ctl_cmd *cmd = NULL;
	struct ctl c = {0};
	int used = 1, rc;

	vbd_log_init("vbdpoolctl");
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version"))
		return vbd_print_version("vbdpoolctl");
	for (size_t i = 0; i < NCMDS && !cmd; i++) {
		const struct ctl_cmd *k = &commands[i];
		if (k->group) {
			if (!strcmp(argv[1], k->group) && argc >= 3 && !strcmp(argv[2], k->name)) {
				cmd = k;
				used = 3;
			}
		} else if (!strcmp(argv[1], k->name)) {
			cmd = k;
			used = 2;
		}
	}
	if (!cmd) {
		int group = 0;
		for (size_t i = 0; i < NCMDS; i++)
			if (commands[i].group && !strcmp(commands[i].group, argv[1])) {
				if (!group++)
					fprintf(stderr, "usage:\n");
				print_cmd(stderr, &commands[i], 0);
			}
		if (group)
			return ctl_usage_error("unknown %s command '%s'", argv[1],
					       argc >= 3 ? argv[2] : "");
		return ctl_usage_error("unknown command '%s'", argv[1]);
	}
	if (wants_help(argc - used, argv + used)) {
		/* every form of the command (attach DOMAIN ID, attach --config) */
		printf("usage:\n");
		for (const struct ctl_cmd *k = cmd; k < commands + NCMDS; k++)
			if (!strcmp(k->name, cmd->name) &&
			    (k->group ? cmd->group && !strcmp(k->group, cmd->group) : !cmd->group))
				print_cmd(stdout, k, 1);
		return 0;
	}
	c.xs = xs_open(0);
	if (!c.xs)
		return ctl_fail("cannot connect to XenStore: %s", strerror(errno));
	rc = cmd->run(&c, argc - used, argv + used);
	xs_close(c.xs);
	return rc;
}
