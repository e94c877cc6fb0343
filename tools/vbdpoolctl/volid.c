/* SPDX-License-Identifier: MIT */
/* Volume ids from the storage (see volid.h). */
#include "volid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vbdpool/proto.h"

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

/* First line of a sysfs attribute, trimmed. */
static int read_attr(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -ENODATA;
	}
	fclose(f);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n ? 0 : -ENODATA;
}

int ctl_volid_from_backing(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	struct stat st;
	char raw[256], attr[128];

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
		snprintf(attr, sizeof(attr), "/sys/dev/block/%u:%u/%s", major(st.st_rdev),
			 minor(st.st_rdev), attrs[i][0]);
		if (read_attr(attr, raw, sizeof(raw)) == 0 &&
		    ctl_volid_sanitize(attrs[i][1], raw, out, len) == 0)
			return 0;
	}
	snprintf(err, errlen,
		 "backing '%s': the device has no WWN or serial in sysfs; give the volume an ID",
		 path);
	return -ENOENT;
}
