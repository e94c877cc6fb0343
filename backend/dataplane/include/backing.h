/* SPDX-License-Identifier: MIT */
/* The shared backing store of a volume: a file or block device opened with
 * O_DIRECT (members in different domains share no page cache), or the null
 * store used by ring benchmarks. Synchronous helpers used by the engines. */
#ifndef VBD_BACKEND_BACKING_H
#define VBD_BACKEND_BACKING_H

#include <stdint.h>
#include <sys/uio.h>

struct vbd_backing {
	int fd;	       /* -1 for the null store */
	int is_blkdev; /* discard with BLKDISCARD instead of fallocate */
	int direct;    /* opened with O_DIRECT */
	uint64_t size; /* volume size in bytes (from XenStore) */
};

/* Opens `path` read-write (O_DIRECT unless `buffered`), or the null store if
 * `path` is NULL. Returns 0 or -errno. */
int vbd_backing_open(struct vbd_backing *b, const char *path, uint64_t size, int buffered);
void vbd_backing_close(struct vbd_backing *b);

/* Synchronous operations (thread engine, and finishing short transfers).
 * Reads past the end of a shorter file return zeroes. Return 0 or -errno. */
int vbd_backing_readv(const struct vbd_backing *b, const struct iovec *iov, int iovcnt,
		      uint64_t off, uint64_t done);
int vbd_backing_writev(const struct vbd_backing *b, const struct iovec *iov, int iovcnt,
		       uint64_t off, uint64_t done);
int vbd_backing_flush(const struct vbd_backing *b);
int vbd_backing_discard(const struct vbd_backing *b, uint64_t off, uint64_t len);

/* Zero the bytes of iov from byte `from` to its end. */
void vbd_iov_zero_from(const struct iovec *iov, int iovcnt, uint64_t from);

#endif
