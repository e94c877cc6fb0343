/* SPDX-License-Identifier: MIT */
/*
 * nbdkit plugin `vbdpool`: exports a vbdpool device of this guest over NBD.
 *
 *   nbdkit -f -U SOCK nbdkit-vbdpool-plugin.so devid=0 [volume=ID]
 *          [ring-order=N] [wait=SECONDS]
 *
 * Runs inside the guest domain (real Xen, or `xensim exec --domid G`).
 * Thread model parallel; every connection shares the one device, and flush
 * reaches every queue, so multi-conn is safe.  Requests not aligned to 512
 * bytes are served by read-modify-write through a bounce buffer (excluding
 * other writes meanwhile).
 */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/front.h"
#include "vbdpool/log.h"
#include "vbdpool/parse_num.h"
#include "vbdpool/platform.h"
#include "vbdpool/proto.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
#define SECTOR	     ((uint64_t)VBD_SECTOR_SIZE)

static unsigned cfg_devid;
static char *cfg_volume;
static unsigned cfg_ring_order = VBD_DEFAULT_RING_ORDER;
static int cfg_wait_s;
static struct vbd_front *dev;
/* A read-modify-write of partial sectors excludes every other write (an
 * aligned write to the same sector would otherwise be lost); aligned
 * writes and trims only share the lock. */
static pthread_rwlock_t rmw_lock = PTHREAD_RWLOCK_INITIALIZER;

static int parse_uint(const char *key, const char *value, unsigned max, unsigned *out)
{
	uint64_t v;

	if (vbd_parse_u64(value, max, &v) < 0) {
		nbdkit_error("%s=%s: expected an integer 0..%u", key, value, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int vp_config(const char *key, const char *value)
{
	unsigned v;

	if (!strcmp(key, "devid"))
		return parse_uint(key, value, 0x7fffffff, &cfg_devid);
	if (!strcmp(key, "volume")) {
		if (!vbd_volume_id_valid(value)) {
			nbdkit_error("volume=%s: not a volume id", value);
			return -1;
		}
		free(cfg_volume);
		cfg_volume = strdup(value);
		return cfg_volume ? 0 : -1;
	}
	if (!strcmp(key, "ring-order"))
		return parse_uint(key, value, VBD_MAX_RING_PAGE_ORDER, &cfg_ring_order);
	if (!strcmp(key, "wait")) {
		if (parse_uint(key, value, 86400, &v) < 0)
			return -1;
		cfg_wait_s = (int)v;
		return 0;
	}
	nbdkit_error("unknown parameter '%s'", key);
	return -1;
}

static int vp_config_complete(void)
{
	vbd_log_init("nbdkit-vbdpool");
	return 0;
}

/* Threads must start after nbdkit forks (it may daemonise). */
static int vp_after_fork(void)
{
	struct vbd_front_opts o;
	int rc;

	vbd_front_opts_init(&o, cfg_devid);
	o.volume = cfg_volume;
	o.ring_order = cfg_ring_order;
	rc = vbd_front_open(&o, &dev);
	if (rc < 0) {
		nbdkit_error("attaching vbdpool device %u: %s", cfg_devid, strerror(-rc));
		return -1;
	}
	if (cfg_wait_s > 0) {
		rc = vbd_front_wait_connected(dev, cfg_wait_s * 1000);
		if (rc < 0) {
			nbdkit_error("device %u: no queue connected within %d s: %s", cfg_devid,
				     cfg_wait_s, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

static void vp_cleanup(void)
{
	vbd_front_close(dev);
	dev = NULL;
}

static void vp_unload(void)
{
	free(cfg_volume);
	cfg_volume = NULL;
}

static void *vp_open(int readonly)
{
	(void)readonly;
	if (!dev) {
		nbdkit_error("device not attached");
		return NULL;
	}
	return dev;
}

static int64_t vp_get_size(void *h)
{
	return (int64_t)vbd_front_size(h);
}

static int vp_block_size(void *h, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
	(void)h;
	*minimum = 1; /* partial sectors work (read-modify-write), just slowly */
	*preferred = VBD_PAGE_SIZE;
	*maximum = 0xffffffff;
	return 0;
}

static int vp_can_true(void *h)
{
	(void)h;
	return 1;
}

/* a read-only attachment: nbdkit then refuses writes and trims itself */
static int vp_can_write(void *h)
{
	return !vbd_front_read_only(h);
}

static int vp_can_fua(void *h)
{
	(void)h;
	return NBDKIT_FUA_NATIVE;
}

static int fail(int rc)
{
	nbdkit_set_error(-rc);
	if (rc != -EIO)
		nbdkit_debug("vbdpool: %s", strerror(-rc));
	return -1;
}

/* Aligned span [*a, *a + *n) covering [off, off + count). */
static void cover(uint64_t off, uint64_t count, uint64_t *a, uint64_t *n)
{
	*a = off / SECTOR * SECTOR;
	*n = (off + count + SECTOR - 1) / SECTOR * SECTOR - *a;
}

/* nbdkit's worker threads wait for every request (the plugin API is
 * synchronous): while they serve small requests they are SCHED_BATCH, so
 * that the owner they notify does not preempt them before they sleep (4 KiB
 * random I/O QD16: +30 %); for large ones they are SCHED_OTHER, since they
 * copy the data under the device lock (see vbd_front_sched_batch).  The
 * policy changes only when the size class does. */
#define BATCH_MAX_BYTES (64u * 1024)
static __thread int worker_batch = -1; /* -1: not set yet */
static void worker_sched(uint64_t count)
{
	int want = count <= BATCH_MAX_BYTES;

	if (worker_batch != want) {
		worker_batch = want;
		vbd_front_sched_batch(want);
	}
}

static int vp_pread(void *h, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	uint64_t a, n;
	char *bounce;
	int rc;

	(void)flags;
	worker_sched(count);
	if (offset % SECTOR == 0 && count % SECTOR == 0) {
		rc = vbd_front_pread(h, buf, count, offset);
		return rc < 0 ? fail(rc) : 0;
	}
	cover(offset, count, &a, &n);
	bounce = malloc(n);
	if (!bounce)
		return fail(-ENOMEM);
	rc = vbd_front_pread(h, bounce, n, a);
	if (rc == 0)
		memcpy(buf, bounce + (offset - a), count);
	free(bounce);
	return rc < 0 ? fail(rc) : 0;
}

static int vp_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	unsigned fl = (flags & NBDKIT_FLAG_FUA) ? VBD_IO_FUA : 0;
	uint64_t a, n;
	char *bounce;
	int rc;

	worker_sched(count);
	if (offset % SECTOR == 0 && count % SECTOR == 0) {
		pthread_rwlock_rdlock(&rmw_lock);
		rc = vbd_front_pwrite(h, buf, count, offset, fl);
		pthread_rwlock_unlock(&rmw_lock);
		return rc < 0 ? fail(rc) : 0;
	}
	cover(offset, count, &a, &n);
	bounce = malloc(n);
	if (!bounce)
		return fail(-ENOMEM);
	pthread_rwlock_wrlock(&rmw_lock);
	/* Only the partial first and last sectors need their old contents. */
	rc = vbd_front_pread(h, bounce, SECTOR, a);
	if (rc == 0 && n > SECTOR)
		rc = vbd_front_pread(h, bounce + n - SECTOR, SECTOR, a + n - SECTOR);
	if (rc == 0) {
		memcpy(bounce + (offset - a), buf, count);
		rc = vbd_front_pwrite(h, bounce, n, a, fl);
	}
	pthread_rwlock_unlock(&rmw_lock);
	free(bounce);
	return rc < 0 ? fail(rc) : 0;
}

static int vp_flush(void *h, uint32_t flags)
{
	int rc;

	(void)flags;
	rc = vbd_front_flush(h);
	return rc < 0 ? fail(rc) : 0;
}

static int vp_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	/* Trim is advisory: only whole sectors inside the range go. */
	uint64_t a = (offset + SECTOR - 1) / SECTOR * SECTOR;
	uint64_t e = (offset + count) / SECTOR * SECTOR;
	int rc = 0;

	if (e > a) {
		pthread_rwlock_rdlock(&rmw_lock);
		rc = vbd_front_discard(h, a, e - a);
		pthread_rwlock_unlock(&rmw_lock);
	}
	/* storage that cannot discard (the members answered EOPNOTSUPP, e.g. a
	 * shared disk without discard support): the data stays, which NBD's
	 * advisory trim allows */
	if (rc == -EOPNOTSUPP)
		rc = 0;
	if (rc == 0 && (flags & NBDKIT_FLAG_FUA))
		rc = vbd_front_flush(h);
	return rc < 0 ? fail(rc) : 0;
}

static struct nbdkit_plugin plugin = {
    .name = "vbdpool",
    .longname = "vbdpool: a Xen block device served by a pool of driver domains",
    .version = "1",
    .description = "Exports a vbdpool device of this guest (device/vbdpool/<devid>).",
    .config = vp_config,
    .config_complete = vp_config_complete,
    .config_help = "devid=<N>          device id (device/vbdpool/<N>, default 0)\n"
		   "volume=<ID>        refuse unless the device is this volume\n"
		   "ring-order=<N>     log2 pages per ring (0..4)\n"
		   "wait=<SECONDS>     wait for a queue to connect before serving",
    .magic_config_key = "devid",
    .after_fork = vp_after_fork,
    .cleanup = vp_cleanup,
    .unload = vp_unload,
    .open = vp_open,
    .get_size = vp_get_size,
    .block_size = vp_block_size,
    .can_write = vp_can_write,
    .can_flush = vp_can_true,
    .can_trim = vp_can_true,
    .can_fua = vp_can_fua,
    .can_multi_conn = vp_can_true,
    .pread = vp_pread,
    .pwrite = vp_pwrite,
    .flush = vp_flush,
    .trim = vp_trim,
    .errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)
