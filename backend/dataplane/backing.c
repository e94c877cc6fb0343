/* SPDX-License-Identifier: MIT */
/* The shared backing store (see backing.h). */
#include "backing.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vbdpool/log.h"
#include "vbdpool/proto.h"

int vbd_backing_open(struct vbd_backing *b, const char *path, uint64_t size, int buffered)
{
	struct stat st;
	int fd;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->size = size;
	if (!path)
		return 0;
	fd = open(path, O_RDWR | O_CLOEXEC | (buffered ? 0 : O_DIRECT));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes = 0;
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		if (!buffered) {
			int lbs = 0;
			if (ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs > VBD_SECTOR_SIZE) {
				/* O_DIRECT needs lbs-aligned I/O; blkif sectors are 512 */
				log_err("%s: logical block size %d: O_DIRECT cannot serve "
					"%d-byte sectors",
					path, lbs, VBD_SECTOR_SIZE);
				close(fd);
				return -EINVAL;
			}
		}
		if (bytes < size) {
			log_err("%s: block device has %" PRIu64 " bytes, volume needs %" PRIu64,
				path, bytes, size);
			close(fd);
			return -ENOSPC;
		}
		b->is_blkdev = 1;
	} else if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	b->fd = fd;
	b->direct = !buffered;
	return 0;
}

void vbd_backing_close(struct vbd_backing *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

void vbd_iov_zero_from(const struct iovec *iov, int iovcnt, uint64_t from)
{
	for (int i = 0; i < iovcnt; i++) {
		if (from >= iov[i].iov_len) {
			from -= iov[i].iov_len;
			continue;
		}
		memset((char *)iov[i].iov_base + from, 0, iov[i].iov_len - from);
		from = 0;
	}
}

/* Advance a private copy of iov past `done` bytes. */
static int iov_skip(const struct iovec *in, int cnt, uint64_t done, struct iovec *out)
{
	int n = 0;

	for (int i = 0; i < cnt; i++) {
		if (done >= in[i].iov_len) {
			done -= in[i].iov_len;
			continue;
		}
		out[n].iov_base = (char *)in[i].iov_base + done;
		out[n].iov_len = in[i].iov_len - done;
		done = 0;
		n++;
	}
	return n;
}

static uint64_t iov_total(const struct iovec *iov, int cnt)
{
	uint64_t t = 0;
	for (int i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

static int rw_loop(const struct vbd_backing *b, int write, const struct iovec *iov, int iovcnt,
		   uint64_t off, uint64_t done)
{
	struct iovec tmp[iovcnt > 0 ? iovcnt : 1];
	uint64_t total = iov_total(iov, iovcnt);

	if (b->fd < 0) { /* null store */
		if (!write)
			vbd_iov_zero_from(iov, iovcnt, done);
		return 0;
	}
	while (done < total) {
		int n = iov_skip(iov, iovcnt, done, tmp);
		ssize_t r = write ? pwritev(b->fd, tmp, n, (off_t)(off + done))
				  : preadv(b->fd, tmp, n, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			if (write)
				return -EIO;
			vbd_iov_zero_from(iov, iovcnt, done); /* past EOF of a short file */
			return 0;
		}
		done += (uint64_t)r;
	}
	return 0;
}

int vbd_backing_readv(const struct vbd_backing *b, const struct iovec *iov, int iovcnt,
		      uint64_t off, uint64_t done)
{
	return rw_loop(b, 0, iov, iovcnt, off, done);
}

int vbd_backing_writev(const struct vbd_backing *b, const struct iovec *iov, int iovcnt,
		       uint64_t off, uint64_t done)
{
	return rw_loop(b, 1, iov, iovcnt, off, done);
}

int vbd_backing_flush(const struct vbd_backing *b)
{
	if (b->fd < 0)
		return 0;
	return fdatasync(b->fd) < 0 ? -errno : 0;
}

int vbd_backing_discard(const struct vbd_backing *b, uint64_t off, uint64_t len)
{
	if (b->fd < 0 || !len)
		return 0;
	if (b->is_blkdev) {
		uint64_t range[2] = {off, len};
		return ioctl(b->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	}
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) <
	    0)
		return -errno;
	return 0;
}
