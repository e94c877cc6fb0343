/* SPDX-License-Identifier: MIT */
/* Volume ids derived from the storage (`volume create --id-from-backing`):
 * a block device's WWN or serial, a file's device + inode. */
#ifndef VBDCTL_VOLID_H
#define VBDCTL_VOLID_H

#include <stddef.h>

/* prefix + raw, with every character outside [A-Za-z0-9_-] turned into
 * '_', runs of them collapsed, trimmed to VBD_VOLUME_ID_MAX. -EINVAL if
 * nothing usable is left. */
int ctl_volid_sanitize(const char *prefix, const char *raw, char *out, size_t len);

/* "wwn-<wwid>" or "serial-<serial>" for a block device (from sysfs),
 * "file-<dev>-<ino>" (hex) for a regular file. -errno, reason in err. */
int ctl_volid_from_backing(const char *path, char *out, size_t len, char *err, size_t errlen);

#endif
