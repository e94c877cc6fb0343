/* SPDX-License-Identifier: MIT */
/*
 * vbdpoolctl: the dom0 tool for vbdpool.  One file per command group
 * (volume.c, member.c, attach.c, status.c, check.c), one table of
 * commands in main.c; a new command is a new entry there.
 */
#ifndef VBDCTL_CTL_H
#define VBDCTL_CTL_H

#include <stdio.h>
#include <xenstore.h>

struct ctl {
	struct xs_handle *xs; /* dom0's XenStore connection */
};

/* A command: argv holds the arguments after its name(s). Returns the exit
 * status (0 ok, 1 failure, 2 usage). */
typedef int (*ctl_cmd_fn)(struct ctl *c, int argc, char **argv);

struct ctl_cmd {
	const char *group; /* "volume", or NULL for a top-level command */
	const char *name;
	ctl_cmd_fn run;
	const char *usage; /* arguments, after the command name */
	const char *help;  /* one paragraph */
};

/* "vbdpoolctl: <message>" on stderr; returns 1 (the failure exit status). */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for usage errors; returns 2. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct ctl_opt;
/* Parses a command's argv (ctl_parse_opts, opts may be NULL) into exactly npos positional
 * words, the first a volume ID; cmd and need ("a volume ID") word the usage errors. Returns 0,
 * or the exit status of the error it reported. */
int ctl_volume_args(int argc, char **argv, const struct ctl_opt *opts, char **pos, int npos,
		    const char *cmd, const char *need);

int cmd_volume_create(struct ctl *c, int argc, char **argv);
int cmd_volume_list(struct ctl *c, int argc, char **argv);
int cmd_volume_remove(struct ctl *c, int argc, char **argv);
int cmd_member_add(struct ctl *c, int argc, char **argv);
int cmd_member_remove(struct ctl *c, int argc, char **argv);
int cmd_member_unfence(struct ctl *c, int argc, char **argv);
int cmd_attach(struct ctl *c, int argc, char **argv);
int cmd_detach(struct ctl *c, int argc, char **argv);
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_top(struct ctl *c, int argc, char **argv);
int cmd_schema_check(struct ctl *c, int argc, char **argv);

#endif
