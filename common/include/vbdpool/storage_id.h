/* SPDX-License-Identifier: MIT */
/*
 * Storage identity: which storage an open file descriptor reaches, as a
 * string that is the same for every path to it (symlinks, hard links,
 * `..`).  `vbdpoolctl volume create` records it in the volume's
 * storage-id (with storage-size), refuses a second volume on storage a
 * volume already uses, and every member checks its own backing against it
 * before it serves (docs/protocol.md "Storage identity").
 *
 *   block device: "wwid:<WWID>", "dm:<dm uuid>" or "serial:<serial>" from
 *                 sysfs (/sys/dev/block/M:m/{wwid,device/wwid,dm/uuid,
 *                 device/serial,serial}); a partition adds
 *                 ":part-start=<sector>" to its disk's; a loop device is
 *                 its backing file's identity (+ ":offset=<n>" if it has
 *                 one); otherwise "blkdev:<major>:<minor>" (this host only)
 *   regular file: "file:fsid=<f_fsid hex>:ino=<inode>" (statfs' f_fsid,
 *                 e.g. ext4's is derived from the filesystem UUID), or
 *                 "file:dev=<major>:<minor>:ino=<inode>" where the
 *                 filesystem reports no fsid
 * Characters outside [!-~] become '_'.
 */
#ifndef VBDPOOL_STORAGE_ID_H
#define VBDPOOL_STORAGE_ID_H

#include <stddef.h>
#include <stdint.h>

#define VBD_STORAGE_ID_MAX 256 /* bytes, with the NUL */
/* storage-id of a volume whose members agree on it (consensus mode) */
#define VBD_STORAGE_ID_CONSENSUS "consensus"

/* Identity and size in bytes of the file or block device open at fd.
 * 0, or -errno (-EINVAL: neither a regular file nor a block device). */
int vbd_storage_id_fd(int fd, char *id, size_t len, uint64_t *bytes);

/* The first line of sysfs attribute dir/name, trimmed, characters outside
 * [!-~] made '_': 0, or -errno (-ENODATA: empty). */
int vbd_sysfs_attr(const char *dir, const char *name, char *buf, size_t len);

/* A consensus proposal: "<id> size=<bytes>". */
int vbd_storage_proposal(const char *id, uint64_t bytes, char *out, size_t len);

#endif
