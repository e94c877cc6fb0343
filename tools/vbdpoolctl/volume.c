/* SPDX-License-Identifier: MIT */
/* vbdpoolctl volume create | list | remove */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "ctl.h"
#include "vbd_pool_acl.h"
#include "volid.h"
#include "vbdpool/proto.h"
#include "vbdpool/storage_id.h"
#include "vbd_acl.h"
#include "vbdpool/xs.h"

/* Size and storage identity (vbdpool/storage_id.h) of a file or block
 * device. -errno. */
static int backing_probe(const char *path, uint64_t *size, char *sid, size_t sidlen, char *why,
			 size_t wl)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc = 0;

	if (fd < 0) {
		snprintf(why, wl, "backing '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size))
			rc = -errno;
	} else if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else {
		rc = -EINVAL;
		snprintf(why, wl, "backing '%s': not a regular file or block device", path);
	}
	if (!rc) {
		uint64_t junk;

		rc = vbd_storage_id_fd(fd, sid, sidlen, &junk);
		if (rc)
			snprintf(why, wl, "backing '%s': cannot tell its storage identity: %s",
				 path, strerror(-rc));
	} else if (rc != -EINVAL) {
		snprintf(why, wl, "backing '%s': %s", path, strerror(-rc));
	}
	close(fd);
	return rc;
}

struct create_args {
	const char *id, *backing;
	uint64_t size;
	/* storage identity: sid (empty: unknown to dom0) and the backing's size
	 * (0: not probed); consensus: the members agree on it */
	char sid[VBD_STORAGE_ID_MAX];
	uint64_t storage_size;
	int consensus, force_shared;
	/* -EADDRINUSE: the volume already on this storage, and how we know */
	char other[VBD_VOLUME_ID_MAX + 1], other_why[VBD_STORAGE_ID_MAX + 64];
};

/* The identity part of a consensus value "<id> size=<bytes>". */
static void proposal_id(const char *prop, char *out, size_t len)
{
	const char *sp = strstr(prop, " size=");
	size_t n = sp ? (size_t)(sp - prop) : strlen(prop);

	snprintf(out, len, "%.*s", (int)n, prop);
}

/* Is volume `vol` on the storage of a? 1 (a->other_why says how), 0. */
static int same_storage(struct xs_handle *h, xs_transaction_t t, struct create_args *a,
			const char *vol)
{
	char p[192], *backing = NULL, *sid = NULL, theirs[VBD_STORAGE_ID_MAX] = "";
	int same = 0;

	snprintf(p, sizeof(p), VBD_XS_VOLUME "/backing", vol);
	vbd_xs_read(h, t, &backing, "%s", p);
	snprintf(p, sizeof(p), VBD_XS_VOLUME "/storage-id", vol);
	vbd_xs_read(h, t, &sid, "%s", p);
	if (backing && !strcmp(backing, a->backing)) {
		snprintf(a->other_why, sizeof(a->other_why), "the same backing path");
		same = 1;
		goto out;
	}
	if (sid && strcmp(sid, VBD_STORAGE_ID_CONSENSUS)) {
		snprintf(theirs, sizeof(theirs), "%s", sid);
	} else if (sid) { /* consensus: what its members agreed on, if they did */
		char *prop = NULL;

		snprintf(p, sizeof(p), VBD_XS_VOLUME "/storage-consensus", vol);
		if (vbd_xs_read(h, t, &prop, "%s", p) == 0 && prop)
			proposal_id(prop, theirs, sizeof(theirs));
		free(prop);
	} else if (backing) { /* created before storage ids: look at it from here */
		uint64_t junk;
		char why[64];

		if (backing_probe(backing, &junk, theirs, sizeof(theirs), why, sizeof(why)))
			theirs[0] = '\0';
	}
	if (a->sid[0] && theirs[0] && !strcmp(a->sid, theirs)) {
		snprintf(a->other_why, sizeof(a->other_why), "storage-id %s", theirs);
		same = 1;
	}
out:
	free(backing);
	free(sid);
	return same;
}

/* One storage backs one volume: -EADDRINUSE if another volume uses it. */
static int check_storage_unused(struct xs_handle *h, xs_transaction_t t, struct create_args *a)
{
	char **vols;
	unsigned n;
	int rc = 0;

	if (vbd_xs_list(h, t, &vols, &n, VBD_XS_VOLUMES))
		return 0;
	for (unsigned i = 0; i < n && !rc; i++)
		if (strcmp(vols[i], a->id) && same_storage(h, t, a, vols[i])) {
			snprintf(a->other, sizeof(a->other), "%s", vols[i]);
			rc = -EADDRINUSE;
		}
	free(vols);
	return rc;
}

static int create_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct create_args *a = arg;
	char base[128], p[192], v[32];
	int rc = vbd_pool_ensure_root(h, t);

	snprintf(base, sizeof(base), VBD_XS_VOLUME, a->id);
	if (!rc && vbd_xs_exists(h, t, "%s", base) > 0)
		return -EEXIST;
	if (!rc && !a->force_shared)
		rc = check_storage_unused(h, t, a);
	if (!rc)
		rc = vbd_pool_write(h, t, base, "", NULL);
	snprintf(p, sizeof(p), "%s/backing", base);
	if (!rc)
		rc = vbd_pool_write(h, t, p, a->backing, NULL);
	snprintf(p, sizeof(p), "%s/size", base);
	snprintf(v, sizeof(v), "%" PRIu64, a->size);
	if (!rc)
		rc = vbd_pool_write(h, t, p, v, NULL);
	snprintf(p, sizeof(p), "%s/sector-size", base);
	snprintf(v, sizeof(v), "%d", VBD_SECTOR_SIZE);
	if (!rc)
		rc = vbd_pool_write(h, t, p, v, NULL);
	snprintf(p, sizeof(p), "%s/storage-id", base);
	if (!rc)
		rc =
		    vbd_pool_write(h, t, p, a->consensus ? VBD_STORAGE_ID_CONSENSUS : a->sid, NULL);
	if (a->consensus) {
		/* the first member to join writes "<id> size=<bytes>" here */
		snprintf(p, sizeof(p), "%s/storage-consensus", base);
		if (!rc)
			rc = vbd_pool_write(h, t, p, "", NULL);
	} else {
		snprintf(p, sizeof(p), "%s/storage-size", base);
		snprintf(v, sizeof(v), "%" PRIu64, a->storage_size);
		if (!rc)
			rc = vbd_pool_write(h, t, p, v, NULL);
	}
	snprintf(p, sizeof(p), VBD_XS_MEMBERS, a->id);
	if (!rc)
		rc = vbd_pool_write(h, t, p, "", NULL);
	snprintf(p, sizeof(p), VBD_XS_ATTACHMENTS, a->id);
	if (!rc)
		rc = vbd_pool_write(h, t, p, "", NULL);
	return rc;
}

int cmd_volume_create(struct ctl *c, int argc, char **argv)
{
	const char *backing = NULL, *size_s = NULL;
	int from_backing = 0;
	struct create_args a = {0};
	struct ctl_opt opts[] = {{"--backing", &backing, NULL},
				 {"--size", &size_s, NULL},
				 {"--id-from-backing", NULL, &from_backing},
				 {"--id-by-consensus", NULL, &a.consensus},
				 {"--force-shared-storage", NULL, &a.force_shared},
				 {0}};
	char *pos[1], err[VBD_STORAGE_ID_MAX + 256], real[PATH_MAX], derived[VBD_VOLUME_ID_MAX + 1];
	int npos, rc;
	uint64_t have = 0;

	if (ctl_parse_opts(argc, argv, opts, pos, 1, &npos, err, sizeof(err)))
		return ctl_usage_error("volume create: %s", err);
	if (!backing)
		return ctl_usage_error("volume create: need --backing PATH");
	if (from_backing && npos)
		return ctl_usage_error("volume create: give an ID or --id-from-backing, not both");
	if (!from_backing && npos != 1)
		return ctl_usage_error("volume create: need a volume ID (or --id-from-backing)");
	if (from_backing) {
		if (ctl_volid_from_backing(backing, derived, sizeof(derived), err, sizeof(err)))
			return ctl_fail("%s", err);
		pos[0] = derived;
	}
	if (!vbd_volume_id_valid(pos[0]))
		return ctl_fail("bad volume id '%s' (want 1 to %d of A-Z a-z 0-9 _ -)", pos[0],
				VBD_VOLUME_ID_MAX);
	if (size_s && ctl_check_volume_size(size_s, &a.size, err, sizeof(err)))
		return ctl_fail("%s", err);
	/* consensus mode: dom0 need not see the storage (then --size says how
	 * big the volume is); when it does, its view still guards against a
	 * second volume on it */
	rc = backing_probe(backing, &have, a.sid, sizeof(a.sid), err, sizeof(err));
	if (rc && !(a.consensus && size_s))
		return ctl_fail("%s%s", err,
				a.consensus ? ": give --size"
					    : " (if only the members can see the storage: "
					      "--id-by-consensus --size BYTES)");
	if (rc) {
		a.sid[0] = '\0';
	} else if (!size_s) {
		if (have == 0 || have % VBD_SECTOR_SIZE)
			return ctl_fail("backing '%s' is %" PRIu64
					" bytes, not a positive multiple "
					"of %d: give --size",
					backing, have, VBD_SECTOR_SIZE);
		a.size = have;
	} else if (a.size > have) {
		return ctl_fail("bad size %" PRIu64 ": backing '%s' has only %" PRIu64 " bytes",
				a.size, backing, have);
	}
	a.storage_size = have;
	a.id = pos[0];
	/* Absolute, but symlinks kept: a name like /dev/disk/by-id/wwn-... is
	 * the same in every member while its target (/dev/sdb here, /dev/xvdb
	 * there) is not. */
	a.backing = backing;
	if (backing[0] != '/') {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(real, sizeof(real), "%s/%s", cwd, backing) >= sizeof(real))
			return ctl_fail("backing '%s': cannot make the path absolute", backing);
		a.backing = real;
	}
	rc = vbd_xs_transact(c->xs, create_txn, &a);
	if (rc == -EEXIST)
		return ctl_fail("volume '%s' already exists", a.id);
	if (rc == -EADDRINUSE)
		return ctl_fail("backing '%s' is the storage of volume '%s' (%s): one storage "
				"backs one volume, or guests of both write one disk unaware of "
				"each other; --force-shared-storage if that is what you want",
				a.backing, a.other, a.other_why);
	if (rc)
		return ctl_fail("volume create %s: %s", a.id, strerror(-rc));
	printf("created volume %s (%" PRIu64 " bytes, backing %s, storage %s)\n", a.id, a.size,
	       a.backing, a.consensus ? "agreed by its members" : a.sid);
	return 0;
}

static unsigned count_children(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	char **names;
	unsigned n;

	if (vbd_xs_list(h, t, &names, &n, "%s", path))
		return 0;
	free(names);
	return n;
}

int cmd_volume_list(struct ctl *c, int argc, char **argv)
{
	char *pos[1], err[160], **vols;
	int npos;
	unsigned n;

	if (ctl_parse_opts(argc, argv, NULL, pos, 0, &npos, err, sizeof(err)))
		return ctl_usage_error("volume list: %s", err);
	if (vbd_xs_list(c->xs, XBT_NULL, &vols, &n, VBD_XS_VOLUMES))
		n = 0, vols = NULL;
	printf("%-20s %14s %7s %11s  %s\n", "VOLUME", "SIZE", "MEMBERS", "ATTACHMENTS", "BACKING");
	for (unsigned i = 0; i < n; i++) {
		char p[192], *size = NULL, *backing = NULL;
		snprintf(p, sizeof(p), VBD_XS_VOLUME "/size", vols[i]);
		vbd_xs_read(c->xs, XBT_NULL, &size, "%s", p);
		snprintf(p, sizeof(p), VBD_XS_VOLUME "/backing", vols[i]);
		vbd_xs_read(c->xs, XBT_NULL, &backing, "%s", p);
		snprintf(p, sizeof(p), VBD_XS_MEMBERS, vols[i]);
		unsigned nm = count_children(c->xs, XBT_NULL, p);
		snprintf(p, sizeof(p), VBD_XS_ATTACHMENTS, vols[i]);
		unsigned na = count_children(c->xs, XBT_NULL, p);
		printf("%-20s %14s %7u %11u  %s\n", vols[i], size ? size : "?", nm, na,
		       backing ? backing : "?");
		free(size);
		free(backing);
	}
	free(vols);
	return 0;
}

struct remove_args {
	const char *id;
	int force;
	unsigned natt;
};

static int remove_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct remove_args *a = arg;
	char p[192], **atts;
	unsigned n = 0;
	int rc = 0;

	snprintf(p, sizeof(p), VBD_XS_VOLUME, a->id);
	if (vbd_xs_exists(h, t, "%s", p) <= 0)
		return -ENOENT;
	snprintf(p, sizeof(p), VBD_XS_ATTACHMENTS, a->id);
	if (vbd_xs_list(h, t, &atts, &n, "%s", p))
		atts = NULL, n = 0;
	a->natt = n;
	if (n && !a->force) {
		free(atts);
		return -EBUSY;
	}
	for (unsigned i = 0; i < n && !rc; i++) {
		char fe[128];
		if (!vbd_pool_att_frontend(atts[i], fe, sizeof(fe)) &&
		    vbd_xs_exists(h, t, "%s", fe) > 0)
			rc = vbd_xs_rm(h, t, fe);
	}
	free(atts);
	if (!rc) {
		/* its members' index entries (/vbdpool/members-of/<m>/<vol>) */
		struct vbd_pool_vol *v = malloc(sizeof(*v));

		rc = v ? vbd_pool_load_vol(h, t, a->id, v) : -ENOMEM;
		for (unsigned i = 0; !rc && i < v->nm; i++)
			rc = vbd_pool_index_member(h, t, a->id, v->members[i], 0);
		free(v);
	}
	snprintf(p, sizeof(p), VBD_XS_VOLUME, a->id);
	if (!rc)
		rc = vbd_xs_rm(h, t, p);
	if (!rc)
		rc = vbd_pool_sync_supervisor_acls(h, t);
	return rc;
}

int cmd_volume_remove(struct ctl *c, int argc, char **argv)
{
	struct remove_args a = {0};
	struct ctl_opt opts[] = {{"--force", NULL, &a.force}, {0}};
	char *pos[1];
	int rc;

	rc = ctl_volume_args(argc, argv, opts, pos, 1, "volume remove", "a volume ID");
	if (rc)
		return rc;
	a.id = pos[0];
	rc = vbd_xs_transact(c->xs, remove_txn, &a);
	if (rc == -ENOENT)
		return ctl_fail("unknown volume '%s'", a.id);
	if (rc == -EBUSY)
		return ctl_fail("volume '%s' has %u attachment(s): detach them first, or use "
				"--force",
				a.id, a.natt);
	if (rc)
		return ctl_fail("volume remove %s: %s", a.id, strerror(-rc));
	printf("removed volume %s\n", a.id);
	return 0;
}
