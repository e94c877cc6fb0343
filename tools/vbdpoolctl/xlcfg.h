/* SPDX-License-Identifier: MIT */
/*
 * vbdpool devices in an xl domain config file (`vbdpoolctl attach
 * --config FILE`).  The file is the guest's xl config, parsed with Xen's
 * libxlutil exactly as `xl create` parses it; xl ignores keys it does not
 * know, so the devices are one more key, a list with one string per
 * device in the style of xl's disk spec:
 *
 *   name = "guest1"
 *   vbdpool = [ "volume=db1,devid=0,queues=4", "volume=logs" ]
 *
 * Keys of an entry: volume= (required, a volume id), devid= (optional,
 * default: the lowest free device id), queues= (optional, default
 * VBD_DEFAULT_QUEUES), mode= or access= (r/ro: read-only, w/rw: the
 * default, as xl's disk spec), shared= (0 or 1: the volume may be
 * attached to other guests read-write too; default 0).  Blanks around keys and values and empty
 * items are ignored.  No XenStore here: the result is a list of attach requests, so this is
 * unit-tested alone.
 */
#ifndef VBDCTL_XLCFG_H
#define VBDCTL_XLCFG_H

#include <stddef.h>

#include "vbdpool/proto.h"

#define XLCFG_MAX_DEVS	256
#define XLCFG_MAX_DEVID 0x7fffffffUL
#define XLCFG_MAX_BYTES (1 << 20) /* a config file larger than this is refused */
#define XLCFG_NEED_NAME 1u	  /* flag: a missing name= is an error */

/* Error classes: the functions below return one of these (a positive
 * value, not -errno), XLCFG_OK on success. */
enum xlcfg_err {
	XLCFG_OK = 0,
	XLCFG_E_FILE,	  /* missing, unreadable, not a regular file, too large, NUL byte */
	XLCFG_E_SYNTAX,	  /* libxlutil cannot parse the file */
	XLCFG_E_NAME,	  /* no name= (with XLCFG_NEED_NAME), or name= not a string */
	XLCFG_E_NODEVS,	  /* no vbdpool= key, or an empty list */
	XLCFG_E_NOTLIST,  /* vbdpool= is not a list, or an entry is not a string */
	XLCFG_E_KEY,	  /* unknown key, or an item that is not key=value */
	XLCFG_E_DUPKEY,	  /* one key twice in an entry */
	XLCFG_E_VALUE,	  /* bad number, bad volume id, empty value */
	XLCFG_E_NOVOLUME, /* an entry without volume= */
	XLCFG_E_DUPDEV,	  /* two entries with the same devid or the same volume */
	XLCFG_E_TOOMANY,  /* more than XLCFG_MAX_DEVS entries */
	XLCFG_E_NOMEM,
};

struct xlcfg_dev {
	char volume[VBD_VOLUME_ID_MAX + 1];
	long devid;	 /* -1: the lowest free one */
	unsigned queues; /* VBD_DEFAULT_QUEUES unless given */
	int read_only;	 /* mode=r */
	int shared;	 /* shared=1 */
};

struct xlcfg {
	char *name; /* name= of the file, or NULL if it has none */
	unsigned ndev;
	struct xlcfg_dev *dev; /* in the file's order */
};

/* Read and parse FILE.  On failure returns the error class and writes a
 * message naming the file, the entry (1-based, with its text) and the
 * problem to err; out is then empty.  Free with xlcfg_free. */
int xlcfg_load(const char *file, unsigned flags, struct xlcfg *out, char *err, size_t errlen);
/* The same on text already in memory; `label` names it in messages. */
int xlcfg_parse(const char *label, const char *data, size_t len, unsigned flags, struct xlcfg *out,
		char *err, size_t errlen);
/* One entry's text ("volume=db1,devid=0"): XLCFG_OK or E_KEY / E_DUPKEY /
 * E_VALUE / E_NOVOLUME with the reason (no file or entry prefix) in why. */
int xlcfg_parse_entry(const char *spec, struct xlcfg_dev *d, char *why, size_t whylen);
void xlcfg_free(struct xlcfg *cfg);
/* "E_KEY" etc., for messages of tests. */
const char *xlcfg_err_name(int e);

#endif
