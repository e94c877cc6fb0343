/* SPDX-License-Identifier: MIT */
/* Volume ids from the storage (see volid.h). */
#include "volid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vbdpool/proto.h"
#include "vbdpool/storage_id.h"

static int id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

int ctl_volid_sanitize(const char *prefix, const char *raw, char *out, size_t len)
{
	size_t n = 0, max = len - 1 < VBD_VOLUME_ID_MAX ? len - 1 : VBD_VOLUME_ID_MAX;
	int usable = 0;

	if (len == 0)
		return -EINVAL;
	for (const char *p = prefix; *p && n < max; p++)
		out[n++] = *p;
	for (const char *p = raw; *p && n < max; p++) {
		if (id_char(*p)) {
			out[n++] = *p;
			usable = 1;
		} else if (n && out[n - 1] != '_') {
			out[n++] = '_';
		}
	}
	while (n && out[n - 1] == '_')
		n--;
	out[n] = '\0';
	return usable ? 0 : -EINVAL;
}

int ctl_volid_from_backing(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	struct stat st;
	char raw[256], dir[64];

	if (stat(path, &st)) {
		snprintf(err, errlen, "backing '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (S_ISREG(st.st_mode)) {
		snprintf(raw, sizeof(raw), "%llx-%llx", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		return ctl_volid_sanitize("file-", raw, out, len);
	}
	if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "backing '%s': not a regular file or block device", path);
		return -EINVAL;
	}
	static const char *const attrs[][2] = {{"wwid", "wwn-"},
					       {"device/wwid", "wwn-"},
					       {"device/serial", "serial-"},
					       {"serial", "serial-"}};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(st.st_rdev),
			 minor(st.st_rdev));
		if (vbd_sysfs_attr(dir, attrs[i][0], raw, sizeof(raw)) == 0 &&
		    ctl_volid_sanitize(attrs[i][1], raw, out, len) == 0)
			return 0;
	}
	snprintf(err, errlen,
		 "backing '%s': the device has no WWN or serial in sysfs; give the volume an ID",
		 path);
	return -ENOENT;
}
