/* SPDX-License-Identifier: MIT */
/*
 * faultfs: a FUSE passthrough that serves one backing file as MOUNT/disk and
 * fails I/O with EIO on command — a real faulty device for storage-failure
 * tests (no fault hooks inside the product).
 *
 *   faultfs SRC MOUNT [fuse options]      (runs in the foreground)
 *
 * Control: write to MOUNT/control
 *   "fail all"     every read/write/fsync/fallocate on disk fails with EIO
 *   "fail PID"     only I/O issued by threads of process PID fails
 *   "ok"           recover
 *   "bad OFF LEN"  a bad range of the storage itself (a media error): every
 *                  read/write/fallocate on disk overlapping bytes
 *                  [OFF, OFF+LEN) fails with EIO, for every process; the
 *                  rest of the disk works ("good": the range is repaired)
 *   "nodiscard"    fallocate on disk fails with EOPNOTSUPP, as on a device
 *                  without discard support ("discard": supported again)
 *   "delay-writes PID MS"  writes issued by threads of process PID are
 *                  performed MS ms late (a slow path: the write lands
 *                  then, even if PID was killed meanwhile; its caller
 *                  waits in the kernel until it has); "nodelay" stops it
 *   "hold"         every read/write/fsync/fallocate on disk waits (I/O stuck
 *                  in the device: the caller sleeps uninterruptibly in the
 *                  kernel, even through SIGKILL) until "release"
 * Reading MOUNT/control returns "ok\n", "fail all\n" or "fail PID\n", the
 * number of failed operations ("failed=N"), of those failed for the bad
 * range ("bad-failed=N"), of operations waiting now
 * ("held=N"), and of delayed writes started and landed ("delayed=N
 * landed=N").
 */
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int src_fd = -1;
static const char *src_path;
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static int fail_mode; /* 0 ok, 1 all, 2 one process */
static pid_t fail_pid;
static atomic_uint_fast64_t failed_ops;
static atomic_bool no_discard;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static bool holding; /* under ctl_lock */
static unsigned held_ops;
static pid_t delay_pid; /* under ctl_lock; 0: no delay */
static long delay_ms;
static atomic_uint_fast64_t delayed_ops, landed_ops;
static uint64_t bad_off, bad_len; /* under ctl_lock; bad_len 0: none */
static atomic_uint_fast64_t bad_failed_ops;

/* Does [off, off+len) overlap the bad range? (counted as failed) */
static int in_bad_range(off_t off, size_t len)
{
	int hit;

	pthread_mutex_lock(&ctl_lock);
	hit = bad_len && (uint64_t)off < bad_off + bad_len && (uint64_t)off + len > bad_off;
	pthread_mutex_unlock(&ctl_lock);
	if (hit) {
		atomic_fetch_add(&failed_ops, 1);
		atomic_fetch_add(&bad_failed_ops, 1);
	}
	return hit;
}

/* An I/O on disk: wait while "hold" is in force. */
static void hold_point(void)
{
	pthread_mutex_lock(&ctl_lock);
	held_ops++;
	while (holding)
		pthread_cond_wait(&hold_cond, &ctl_lock);
	held_ops--;
	pthread_mutex_unlock(&ctl_lock);
}

/* The thread id FUSE reports -> its process (thread group) id. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static int should_fail(void)
{
	int mode;
	pid_t pid;

	hold_point();
	pthread_mutex_lock(&ctl_lock);
	mode = fail_mode;
	pid = fail_pid;
	pthread_mutex_unlock(&ctl_lock);
	if (mode == 0)
		return 0;
	if (mode == 2 && tgid_of(fuse_get_context()->pid) != pid)
		return 0;
	atomic_fetch_add(&failed_ops, 1);
	return 1;
}

/* MOUNT/disk-b is the same disk under a second name: the same data and
 * st_ino, but another kernel inode, so a member that opens it (a bind
 * mount over MOUNT/disk in its own mount namespace: the same storage
 * identity) does not share the kernel's per-inode write lock with the
 * members using MOUNT/disk — a held write of one member does not block
 * the others, as on shared storage reached through separate paths. */
static bool is_disk(const char *path)
{
	return !strcmp(path, "/disk") || !strcmp(path, "/disk-b");
}

static int ffs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		st->st_ino = 1;
		return 0;
	}
	if (is_disk(path)) {
		struct stat s;
		if (fstat(src_fd, &s) < 0)
			return -errno;
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = s.st_size;
		st->st_blocks = s.st_blocks;
		st->st_blksize = 4096;
		st->st_ino = 2;
		return 0;
	}
	if (!strcmp(path, "/control")) {
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = 64;
		st->st_ino = 3;
		return 0;
	}
	return -ENOENT;
}

static int ffs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/"))
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "disk", NULL, 0, 0);
	fill(buf, "disk-b", NULL, 0, 0);
	fill(buf, "control", NULL, 0, 0);
	return 0;
}

static int ffs_open(const char *path, struct fuse_file_info *fi)
{
	if (is_disk(path) || !strcmp(path, "/control")) {
		fi->direct_io = 1; /* no page cache: every I/O reaches us */
		return 0;
	}
	return -ENOENT;
}

static int ffs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	if (!strcmp(path, "/control")) {
		char s[256];
		int n;
		pthread_mutex_lock(&ctl_lock);
		if (fail_mode == 1)
			n = snprintf(s, sizeof(s), "fail all\nfailed=%" PRIuFAST64 "\n",
				     atomic_load(&failed_ops));
		else if (fail_mode == 2)
			n = snprintf(s, sizeof(s), "fail %d\nfailed=%" PRIuFAST64 "\n",
				     (int)fail_pid, atomic_load(&failed_ops));
		else
			n = snprintf(s, sizeof(s), "ok\nfailed=%" PRIuFAST64 "\n",
				     atomic_load(&failed_ops));
		n += snprintf(s + n, sizeof(s) - n,
			      "held=%u\ndelayed=%" PRIuFAST64 " landed=%" PRIuFAST64 "\n", held_ops,
			      atomic_load(&delayed_ops), atomic_load(&landed_ops));
		n += snprintf(s + n, sizeof(s) - n, "bad-failed=%" PRIuFAST64 "\n",
			      atomic_load(&bad_failed_ops));
		pthread_mutex_unlock(&ctl_lock);
		if (off >= n)
			return 0;
		if ((size_t)(n - off) < size)
			size = n - off;
		memcpy(buf, s + off, size);
		return size;
	}
	if (should_fail() || in_bad_range(off, size))
		return -EIO;
	ssize_t r = pread(src_fd, buf, size, off);
	return r < 0 ? -errno : (int)r;
}

static int ffs_write(const char *path, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)fi;
	if (!strcmp(path, "/control")) {
		char cmd[64];
		long pid, ms;
		unsigned long long boff, blen;
		size_t n = size < sizeof(cmd) - 1 ? size : sizeof(cmd) - 1;
		memcpy(cmd, buf, n);
		cmd[n] = '\0';
		cmd[strcspn(cmd, "\n")] = '\0';
		pthread_mutex_lock(&ctl_lock);
		if (!strcmp(cmd, "ok")) {
			fail_mode = 0;
		} else if (!strcmp(cmd, "nodiscard")) {
			atomic_store(&no_discard, true);
		} else if (!strcmp(cmd, "discard")) {
			atomic_store(&no_discard, false);
		} else if (!strcmp(cmd, "hold")) {
			holding = true;
		} else if (!strcmp(cmd, "release")) {
			holding = false;
			pthread_cond_broadcast(&hold_cond);
		} else if (sscanf(cmd, "delay-writes %ld %ld", &pid, &ms) == 2 && pid > 0 &&
			   ms >= 0) {
			delay_pid = (pid_t)pid;
			delay_ms = ms;
		} else if (sscanf(cmd, "bad %llu %llu", &boff, &blen) == 2 && blen > 0) {
			bad_off = boff;
			bad_len = blen;
		} else if (!strcmp(cmd, "good")) {
			bad_len = 0;
		} else if (!strcmp(cmd, "nodelay")) {
			delay_pid = 0;
		} else if (!strcmp(cmd, "fail all")) {
			fail_mode = 1;
		} else if (sscanf(cmd, "fail %ld", &pid) == 1 && pid > 0) {
			fail_mode = 2;
			fail_pid = (pid_t)pid;
		} else {
			pthread_mutex_unlock(&ctl_lock);
			fprintf(stderr, "faultfs: bad control command '%s'\n", cmd);
			return -EINVAL;
		}
		pthread_mutex_unlock(&ctl_lock);
		fprintf(stderr, "faultfs: control '%s'\n", cmd);
		return size;
	}
	if (should_fail() || in_bad_range(off, size))
		return -EIO;
	pthread_mutex_lock(&ctl_lock);
	pid_t dp = delay_pid;
	long dms = delay_ms;
	pthread_mutex_unlock(&ctl_lock);
	bool delayed = dp && tgid_of(fuse_get_context()->pid) == dp;
	if (delayed) {
		atomic_fetch_add(&delayed_ops, 1);
		fprintf(stderr, "faultfs: delaying a write of %zu bytes at %lld by %ld ms\n", size,
			(long long)off, dms);
		nanosleep(&(struct timespec){dms / 1000, (dms % 1000) * 1000000L}, NULL);
	}
	ssize_t r = pwrite(src_fd, buf, size, off);
	if (delayed) {
		atomic_fetch_add(&landed_ops, 1);
		fprintf(stderr, "faultfs: the delayed write at %lld landed\n", (long long)off);
	}
	return r < 0 ? -errno : (int)r;
}

static int ffs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)fi;
	if (!is_disk(path))
		return 0;
	if (should_fail())
		return -EIO;
	return (datasync ? fdatasync(src_fd) : fsync(src_fd)) < 0 ? -errno : 0;
}

static int ffs_fallocate(const char *path, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	(void)fi;
	if (!is_disk(path) || atomic_load(&no_discard))
		return -EOPNOTSUPP;
	if (should_fail() || in_bad_range(off, (size_t)len))
		return -EIO;
	return fallocate(src_fd, mode, off, len) < 0 ? -errno : 0;
}

static int ffs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	(void)size;
	return strcmp(path, "/control") ? -EPERM : 0;
}

/* No asynchronous direct I/O: an O_DIRECT write is answered to the thread
 * that waits for it (an io_uring worker of the member), as a block
 * device's I/O keeps the issuing domain alive on Xen; with async DIO the
 * kernel would let a killed member exit while its write is still held
 * here, and the emulated host could not see that its I/O is in flight. */
static void *ffs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->want &= ~FUSE_CAP_ASYNC_DIO;
	cfg->use_ino = 1; /* disk and disk-b are one file: the same st_ino */
	return NULL;
}

static const struct fuse_operations ffs_ops = {
    .init = ffs_init,
    .getattr = ffs_getattr,
    .readdir = ffs_readdir,
    .open = ffs_open,
    .read = ffs_read,
    .write = ffs_write,
    .fsync = ffs_fsync,
    .fallocate = ffs_fallocate,
    .truncate = ffs_truncate,
};

int main(int argc, char **argv)
{
	char *fargv[16];
	int fargc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: faultfs SRC MOUNT [fuse options]\n");
		return 2;
	}
	src_path = argv[1];
	src_fd = open(src_path, O_RDWR);
	if (src_fd < 0) {
		fprintf(stderr, "faultfs: cannot open %s: %s\n", src_path, strerror(errno));
		return 1;
	}
	fargv[fargc++] = argv[0];
	fargv[fargc++] = "-f";
	fargv[fargc++] = argv[2];
	for (int i = 3; i < argc && fargc < 15; i++)
		fargv[fargc++] = argv[i];
	fargv[fargc] = NULL;
	return fuse_main(fargc, fargv, &ffs_ops, NULL);
}
