/* SPDX-License-Identifier: MIT */
/* vbdpool-guestd: the guest agent (docs/frontend.md "vbdpool-guestd").
 * guestd.c watches device/vbdpool/ and runs one vbdpool-nbd per device;
 * kernel.c connects an export to the kernel's NBD client and tells
 * whether a device is in use. */
#ifndef VBDPOOL_GUESTD_H
#define VBDPOOL_GUESTD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct gd_cfg {
	const char *root;	/* links under <root>/dev/vbdpool/ */
	const char *run_dir;	/* sockets, pid and device files */
	const char *server;	/* the vbdpool-nbd program */
	const char *nbd_client; /* the nbd-client program */
	bool kernel;		/* connect /dev/nbdN (false: exports only) */
};

/* Runs argv (argv[0] looked up in PATH) and waits for it: its exit status,
 * or -1 (could not run, or killed); stdout and stderr go to ours. */
int gd_run(char *const argv[]);

/* A free /dev/nbdN (no client connected, not in `taken`, a bitmap of
 * ntaken bits): N, or -1 when none. */
int gd_kernel_free_index(const unsigned char *taken, size_t ntaken);
/* Whether /dev/nbdN has a client connected (its sysfs pid). */
bool gd_kernel_connected(int idx);
/* nbd-client -unix SOCK /dev/nbdN: 0, or -1 (logged). */
int gd_kernel_connect(const struct gd_cfg *c, const char *sock, int idx);
/* nbd-client -d /dev/nbdN: 0, or -1 (logged). */
int gd_kernel_disconnect(const struct gd_cfg *c, int idx);

/* Whether the device is in use: kernel mode (idx >= 0) holders, mounts or
 * an exclusive opener of /dev/nbdN; else NBD clients connected to the
 * export's Unix socket.  1 with why[] filled, 0, or -errno.  *excl_fd:
 * kernel mode, not in use: /dev/nbdN open O_EXCL (keeps mounts out until
 * the caller has disconnected it and closes the fd), else -1. */
int gd_in_use(int idx, const char *sock, char *why, size_t whylen, int *excl_fd);

/* Clients connected to the Unix socket path (from /proc/net/unix), or
 * -errno. */
int gd_unix_clients(const char *path);

#endif
