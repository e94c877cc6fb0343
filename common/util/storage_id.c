/* SPDX-License-Identifier: MIT */
/* Storage identity (see vbdpool/storage_id.h). */
#include "vbdpool/storage_id.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_DEPTH 4 /* loop device over a file on a loop device ... */

int vbd_sysfs_attr(const char *dir, const char *name, char *buf, size_t len)
{
	char path[512];
	size_t n, s = 0;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -ENODATA;
	}
	fclose(f);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	while (buf[s] == ' ' || buf[s] == '\t')
		s++;
	memmove(buf, buf + s, n - s + 1);
	for (char *p = buf; *p; p++)
		if (*p < '!' || *p > '~')
			*p = '_';
	return buf[0] ? 0 : -ENODATA;
}

static int id_fd(int fd, char *id, size_t len, uint64_t *bytes, int depth);

/* A loop device is the storage of its backing file. */
static int loop_id(const char *dir, char *id, size_t len, int depth)
{
	char file[4096], off[32], sub[VBD_STORAGE_ID_MAX];
	uint64_t junk;
	int fd, r;

	if (depth >= MAX_DEPTH || vbd_sysfs_attr(dir, "loop/backing_file", file, sizeof(file)) < 0)
		return -ENOENT;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENOENT; /* "(deleted)", or not visible here */
	r = id_fd(fd, sub, sizeof(sub), &junk, depth + 1);
	close(fd);
	if (r < 0)
		return r;
	if (vbd_sysfs_attr(dir, "loop/offset", off, sizeof(off)) == 0 && strcmp(off, "0"))
		r = snprintf(id, len, "%s:offset=%s", sub, off);
	else
		r = snprintf(id, len, "%s", sub);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

/* The identity of the whole disk whose sysfs directory is dir. */
static int disk_id(const char *dir, char *id, size_t len, int depth)
{
	static const char *const attrs[][2] = {
	    {"wwid", "wwid"},	  {"device/wwid", "wwid"},
	    {"dm/uuid", "dm"},	  {"device/serial", "serial"},
	    {"serial", "serial"},
	};
	char raw[VBD_STORAGE_ID_MAX];

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (vbd_sysfs_attr(dir, attrs[i][0], raw, sizeof(raw)) == 0) {
			int r = snprintf(id, len, "%s:%s", attrs[i][1], raw);
			return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
		}
	return loop_id(dir, id, len, depth);
}

static int blk_id(dev_t rdev, char *id, size_t len, int depth)
{
	char dir[128], parent[160], start[32], disk[VBD_STORAGE_ID_MAX];
	int r;

	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(rdev), minor(rdev));
	if (vbd_sysfs_attr(dir, "partition", start, sizeof(start)) == 0 &&
	    vbd_sysfs_attr(dir, "start", start, sizeof(start)) == 0) {
		snprintf(parent, sizeof(parent), "%s/..", dir);
		if (disk_id(parent, disk, sizeof(disk), depth) == 0) {
			r = snprintf(id, len, "%s:part-start=%s", disk, start);
			return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
		}
	} else if (disk_id(dir, id, len, depth) == 0) {
		return 0;
	}
	r = snprintf(id, len, "blkdev:%u:%u", major(rdev), minor(rdev));
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

static int id_fd(int fd, char *id, size_t len, uint64_t *bytes, int depth)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, bytes) < 0)
			return -errno;
		return blk_id(st.st_rdev, id, len, depth);
	}
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*bytes = (uint64_t)st.st_size;
	{
		struct statfs sf;
		unsigned a = 0, b = 0;

		if (fstatfs(fd, &sf) == 0) {
			memcpy(&a, &sf.f_fsid, sizeof(a));
			memcpy(&b, (char *)&sf.f_fsid + sizeof(a), sizeof(b));
		}
		if (a || b)
			r = snprintf(id, len, "file:fsid=%08x%08x:ino=%" PRIu64, a, b,
				     (uint64_t)st.st_ino);
		else
			r = snprintf(id, len, "file:dev=%u:%u:ino=%" PRIu64, major(st.st_dev),
				     minor(st.st_dev), (uint64_t)st.st_ino);
	}
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int vbd_storage_id_fd(int fd, char *id, size_t len, uint64_t *bytes)
{
	return id_fd(fd, id, len, bytes, 0);
}

int vbd_storage_proposal(const char *id, uint64_t bytes, char *out, size_t len)
{
	int r = snprintf(out, len, "%s size=%" PRIu64, id, bytes);

	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}
