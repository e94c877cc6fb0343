/* SPDX-License-Identifier: MIT */
/* vbdpool devices in an xl domain config file (see xlcfg.h). */
#include "xlcfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxlutil.h>

#include "args.h"

#define ENTRY_SHOWN 120 /* characters of an entry's text quoted in a message */

#define ERR_NAME(e) [XLCFG_##e] = #e
static const char *const err_names[] = {
    ERR_NAME(OK),	ERR_NAME(E_FILE),     ERR_NAME(E_SYNTAX), ERR_NAME(E_NAME),
    ERR_NAME(E_NODEVS), ERR_NAME(E_NOTLIST),  ERR_NAME(E_KEY),	  ERR_NAME(E_DUPKEY),
    ERR_NAME(E_VALUE),	ERR_NAME(E_NOVOLUME), ERR_NAME(E_DUPDEV), ERR_NAME(E_TOOMANY),
    ERR_NAME(E_NOMEM)};
#undef ERR_NAME

const char *xlcfg_err_name(int e)
{
	if (e < 0 || (size_t)e >= sizeof(err_names) / sizeof(err_names[0]) || !err_names[e])
		return "E_?";
	return err_names[e];
}

static int fail(int cls, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(int cls, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return cls;
}

void xlcfg_free(struct xlcfg *cfg)
{
	free(cfg->name);
	free(cfg->dev);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- one entry ---------------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A numeric key=val in min..max, given once (*seen counts). */
static int num_key(const char *key, const char *val, unsigned long min, unsigned long max,
		   int *seen, unsigned long *x, char *why, size_t whylen)
{
	if ((*seen)++)
		return fail(XLCFG_E_DUPKEY, why, whylen, "%s= given twice", key);
	if (ctl_parse_uint(val, min, max, x))
		return fail(XLCFG_E_VALUE, why, whylen, "bad %s '%s' (want %lu..%lu)", key, val,
			    min, max);
	return XLCFG_OK;
}

int xlcfg_parse_entry(const char *spec, struct xlcfg_dev *d, char *why, size_t whylen)
{
	char *copy = strdup(spec), *save = NULL, *item;
	int have_vol = 0, have_devid = 0, have_queues = 0, have_mode = 0, have_shared = 0;
	int rc = XLCFG_OK;
	unsigned long x;

	if (!copy)
		return fail(XLCFG_E_NOMEM, why, whylen, "out of memory");
	memset(d, 0, sizeof(*d));
	d->devid = -1;
	d->queues = VBD_DEFAULT_QUEUES;
	for (item = strtok_r(copy, ",", &save); item && rc == XLCFG_OK;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq, *key, *val;

		item = trim(item);
		if (!*item)
			continue; /* "a=1,,b=2" or a trailing comma */
		eq = strchr(item, '=');
		if (!eq) {
			rc = fail(
			    XLCFG_E_KEY, why, whylen,
			    "'%s' is not key=value (keys: volume, devid, queues, mode, shared)",
			    item);
			break;
		}
		*eq = '\0';
		key = trim(item);
		val = trim(eq + 1);
		if (!strcmp(key, "volume")) {
			if (have_vol++)
				rc = fail(XLCFG_E_DUPKEY, why, whylen, "volume= given twice");
			else if (!*val)
				rc = fail(XLCFG_E_VALUE, why, whylen, "empty volume=");
			else if (!vbd_volume_id_valid(val))
				rc = fail(XLCFG_E_VALUE, why, whylen,
					  "bad volume id '%s' (want 1 to %d of A-Z a-z 0-9 _ -)",
					  val, VBD_VOLUME_ID_MAX);
			else
				snprintf(d->volume, sizeof(d->volume), "%s", val);
		} else if (!strcmp(key, "devid")) {
			rc = num_key(key, val, 0, XLCFG_MAX_DEVID, &have_devid, &x, why, whylen);
			if (rc == XLCFG_OK)
				d->devid = (long)x;
		} else if (!strcmp(key, "queues")) {
			rc = num_key(key, val, 1, VBD_MAX_QUEUES, &have_queues, &x, why, whylen);
			if (rc == XLCFG_OK)
				d->queues = (unsigned)x;
		} else if (!strcmp(key, "mode") || !strcmp(key, "access")) {
			/* xl's disk spec: access=ro|rw, the old positional r|w */
			if (have_mode++)
				rc = fail(XLCFG_E_DUPKEY, why, whylen,
					  "mode= (or access=) given twice");
			else if (!strcmp(val, "r") || !strcmp(val, "ro"))
				d->read_only = 1;
			else if (strcmp(val, "w") && strcmp(val, "rw"))
				rc = fail(XLCFG_E_VALUE, why, whylen,
					  "bad %s '%s' (want r or ro: read-only, w or rw)", key,
					  val);
		} else if (!strcmp(key, "shared")) {
			rc = num_key(key, val, 0, 1, &have_shared, &x, why, whylen);
			if (rc == XLCFG_OK)
				d->shared = (int)x;
		} else {
			rc = fail(XLCFG_E_KEY, why, whylen,
				  "unknown key '%s' (keys: volume, devid, queues, mode, shared)",
				  key);
		}
	}
	if (rc == XLCFG_OK && !have_vol)
		rc = fail(XLCFG_E_NOVOLUME, why, whylen, "no volume= (the volume to attach)");
	free(copy);
	return rc;
}

/* ---- the file ----------------------------------------------------------- */

/* libxlutil's report, one line: "f:3: config parsing error near ...; ..." */
static void report_text(FILE *rep, char **buf, char *out, size_t len)
{
	size_t n = 0;

	fflush(rep);
	out[0] = '\0';
	for (const char *p = *buf ? *buf : ""; *p && n + 3 < len; p++) {
		if (*p == '\n') {
			if (p[1])
				n += (size_t)snprintf(out + n, len - n, "; ");
		} else {
			out[n++] = *p;
			out[n] = '\0';
		}
	}
}

int xlcfg_parse(const char *label, const char *data, size_t len, unsigned flags, struct xlcfg *out,
		char *err, size_t errlen)
{
	char *repbuf = NULL, why[256], text[512];
	size_t replen = 0;
	FILE *rep = NULL;
	XLU_Config *cfg = NULL;
	XLU_ConfigList *list = NULL;
	const char *s;
	int n = 0, rc, e;

	memset(out, 0, sizeof(*out));
	/* libxlutil asserts on a NUL inside a quoted string (abort) */
	if (memchr(data, '\0', len))
		return fail(XLCFG_E_FILE, err, errlen,
			    "%s: contains a NUL byte: not an xl config file", label);
	if (len > XLCFG_MAX_BYTES)
		return fail(XLCFG_E_FILE, err, errlen,
			    "%s: larger than %d bytes: not an xl config file", label,
			    XLCFG_MAX_BYTES);
	rep = open_memstream(&repbuf, &replen);
	if (!rep)
		return fail(XLCFG_E_NOMEM, err, errlen, "%s: out of memory", label);
	cfg = xlu_cfg_init(rep, label);
	if (!cfg) {
		rc = fail(XLCFG_E_NOMEM, err, errlen, "%s: out of memory", label);
		goto out;
	}
	e = xlu_cfg_readdata(cfg, data, (int)len);
	if (e) {
		report_text(rep, &repbuf, text, sizeof(text));
		if (e == ENOMEM)
			rc = fail(XLCFG_E_NOMEM, err, errlen, "%s: out of memory", label);
		else
			rc = fail(XLCFG_E_SYNTAX, err, errlen, "%s: not a valid xl config file: %s",
				  label, text[0] ? text : strerror(e));
		goto out;
	}

	e = xlu_cfg_get_string(cfg, "name", &s, 1);
	if (e == 0 && *s) {
		out->name = strdup(s);
		if (!out->name) {
			rc = fail(XLCFG_E_NOMEM, err, errlen, "%s: out of memory", label);
			goto out;
		}
	} else if (e == 0) {
		rc = fail(XLCFG_E_NAME, err, errlen, "%s: name = \"\" is empty", label);
		goto out;
	} else if (e != ESRCH) {
		rc = fail(XLCFG_E_NAME, err, errlen, "%s: name= is not a string", label);
		goto out;
	} else if (flags & XLCFG_NEED_NAME) {
		rc =
		    fail(XLCFG_E_NAME, err, errlen,
			 "%s: no name= setting (the guest domain's name; or give --domain)", label);
		goto out;
	}

	e = xlu_cfg_get_list(cfg, "vbdpool", &list, &n, 1);
	if (e == ESRCH) {
		rc = fail(XLCFG_E_NODEVS, err, errlen,
			  "%s: no vbdpool = [ \"volume=ID,...\", ... ] setting: no vbdpool devices",
			  label);
		goto out;
	}
	if (e) {
		rc = fail(XLCFG_E_NOTLIST, err, errlen,
			  "%s: vbdpool= is not a list: write vbdpool = [ \"volume=ID,...\", ... ]",
			  label);
		goto out;
	}
	if (n <= 0) {
		rc = fail(XLCFG_E_NODEVS, err, errlen, "%s: vbdpool = [ ] lists no devices", label);
		goto out;
	}
	if (n > XLCFG_MAX_DEVS) {
		rc = fail(XLCFG_E_TOOMANY, err, errlen, "%s: vbdpool lists %d devices (at most %d)",
			  label, n, XLCFG_MAX_DEVS);
		goto out;
	}
	out->dev = calloc((size_t)n, sizeof(*out->dev));
	if (!out->dev) {
		rc = fail(XLCFG_E_NOMEM, err, errlen, "%s: out of memory", label);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct xlcfg_dev *d = &out->dev[i];

		s = xlu_cfg_get_listitem(list, i);
		if (!s) {
			rc = fail(XLCFG_E_NOTLIST, err, errlen,
				  "%s: vbdpool entry #%d is not a string (a nested list?)", label,
				  i + 1);
			goto out;
		}
		rc = xlcfg_parse_entry(s, d, why, sizeof(why));
		if (rc) {
			fail(rc, err, errlen, "%s: vbdpool entry #%d \"%.*s\": %s", label, i + 1,
			     ENTRY_SHOWN, s, why);
			goto out;
		}
		for (int j = 0; j < i; j++) {
			if (!strcmp(out->dev[j].volume, d->volume)) {
				rc = fail(XLCFG_E_DUPDEV, err, errlen,
					  "%s: vbdpool entry #%d \"%.*s\": volume '%s' is already "
					  "listed by entry #%d",
					  label, i + 1, ENTRY_SHOWN, s, d->volume, j + 1);
				goto out;
			}
			if (d->devid >= 0 && out->dev[j].devid == d->devid) {
				rc = fail(
				    XLCFG_E_DUPDEV, err, errlen,
				    "%s: vbdpool entry #%d \"%.*s\": devid %ld is already used "
				    "by entry #%d",
				    label, i + 1, ENTRY_SHOWN, s, d->devid, j + 1);
				goto out;
			}
		}
		out->ndev = (unsigned)i + 1;
	}
	rc = XLCFG_OK;
out:
	if (cfg)
		xlu_cfg_destroy(cfg); /* may still write to rep */
	fclose(rep);
	free(repbuf);
	if (rc)
		xlcfg_free(out);
	return rc;
}

int xlcfg_load(const char *file, unsigned flags, struct xlcfg *out, char *err, size_t errlen)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	/* O_NONBLOCK: a FIFO must not hang us before the regular-file check */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(XLCFG_E_FILE, err, errlen, "%s: cannot open: %s", file,
			    strerror(errno));
	if (fstat(fd, &st)) {
		rc = fail(XLCFG_E_FILE, err, errlen, "%s: cannot stat: %s", file, strerror(errno));
		goto out;
	}
	/* libxlutil's scanner exit()s on a read error (a directory, say) */
	if (!S_ISREG(st.st_mode)) {
		rc = fail(XLCFG_E_FILE, err, errlen, "%s: not a regular file", file);
		goto out;
	}
	if (st.st_size > XLCFG_MAX_BYTES) {
		rc = fail(XLCFG_E_FILE, err, errlen,
			  "%s: larger than %d bytes: not an xl config file", file, XLCFG_MAX_BYTES);
		goto out;
	}
	data = malloc(XLCFG_MAX_BYTES + 1);
	if (!data) {
		rc = fail(XLCFG_E_NOMEM, err, errlen, "%s: out of memory", file);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, data + len, XLCFG_MAX_BYTES + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail(XLCFG_E_FILE, err, errlen, "%s: cannot read: %s", file,
				  strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > XLCFG_MAX_BYTES) {
			rc = fail(XLCFG_E_FILE, err, errlen,
				  "%s: larger than %d bytes: not an xl config file", file,
				  XLCFG_MAX_BYTES);
			goto out;
		}
	}
	rc = xlcfg_parse(file, data, len, flags, out, err, errlen);
out:
	free(data);
	close(fd);
	return rc;
}
