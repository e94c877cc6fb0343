/* SPDX-License-Identifier: MIT */
/* Unit tests: the vbdpool devices of an xl domain config file (xlcfg.c,
 * `vbdpoolctl attach --config`), parsed by the real libxlutil: good files
 * (several devices, defaults, xl comments/whitespace/quoting, other xl
 * keys) and every bad case with its error class and message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "xlcfg.h"

static char dir[64], path[128];

/* Write text to a fresh file and load it. */
static int load(const char *text, unsigned flags, struct xlcfg *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		check_failf("cannot write %s\n", path);
		return -1;
	}
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	return xlcfg_load(path, flags, c, err, errlen);
}

/* The file must fail with class want, and the message must name the
 * file and contain each of the (up to 3) given fragments. */
static void bad(const char *text, unsigned flags, int want, const char *frag1, const char *frag2,
		const char *frag3)
{
	struct xlcfg c;
	char err[1024];
	int rc = load(text, flags, &c, err, sizeof(err));

	CHECK(rc == want, "file <<%s>>: got %s (%s), want %s", text, xlcfg_err_name(rc), err,
	      xlcfg_err_name(want));
	CHECK(c.ndev == 0 && c.dev == NULL && c.name == NULL, "<<%s>>: result not empty", text);
	CHECK(strstr(err, path) == err, "<<%s>>: message does not start with the file: %s", text,
	      err);
	CHECK(!frag1 || strstr(err, frag1), "<<%s>>: message lacks '%s': %s", text, frag1, err);
	CHECK(!frag2 || strstr(err, frag2), "<<%s>>: message lacks '%s': %s", text, frag2, err);
	CHECK(!frag3 || strstr(err, frag3), "<<%s>>: message lacks '%s': %s", text, frag3, err);
	printf("ok %-10s %s\n", xlcfg_err_name(rc), err);
	xlcfg_free(&c);
}

/* One bad entry, in second place after a good one, so the message must
 * name entry #2 and quote it. */
static void bad_entry(const char *entry, int want, const char *frag)
{
	char text[1024];

	snprintf(text, sizeof(text), "name = \"g\"\nvbdpool = [ \"volume=ok1\", \"%s\" ]\n", entry);
	bad(text, XLCFG_NEED_NAME, want, "vbdpool entry #2", entry, frag);
}

static void test_good(void)
{
	struct xlcfg c;
	char err[1024];
	int rc;

	/* a real xl config: other keys, comments, ';', single quotes, a
	 * trailing comma, lists over several lines, blanks in entries */
	rc = load("# guest1: xl create -p /etc/xen/guest1.cfg\n"
		  "name = \"guest1\"\n"
		  "type = 'pv'; memory = 512 ; vcpus = 2\n"
		  "kernel = \"/boot/vmlinuz\"\n"
		  "disk = [ 'format=raw, vdev=xvda, access=rw, target=/dev/vg/g1' ]\n"
		  "vif = [ 'bridge=xenbr0' ]\n"
		  "vbdpool = [\n"
		  "    \"volume=db1,devid=0,queues=8\",   # the database\n"
		  "    'volume=logs',\n"
		  "    \" volume = scratch , queues= 64 ,devid =2147483647,\",\n"
		  "    \"devid=7,,volume=a-b_C9\",\n"
		  "]\n"
		  "on_crash = 'destroy'\n",
		  XLCFG_NEED_NAME, &c, err, sizeof(err));
	CHECK(rc == XLCFG_OK, "good file: %s %s", xlcfg_err_name(rc), err);
	CHECK(c.name && !strcmp(c.name, "guest1"));
	CHECK(c.ndev == 4, "ndev %u", c.ndev);
	if (c.ndev == 4) {
		CHECK(!strcmp(c.dev[0].volume, "db1") && c.dev[0].devid == 0 &&
		      c.dev[0].queues == 8);
		CHECK(!strcmp(c.dev[1].volume, "logs") && c.dev[1].devid == -1 &&
		      c.dev[1].queues == VBD_DEFAULT_QUEUES);
		CHECK(!strcmp(c.dev[2].volume, "scratch") && c.dev[2].devid == 0x7fffffff &&
		      c.dev[2].queues == 64);
		CHECK(!strcmp(c.dev[3].volume, "a-b_C9") && c.dev[3].devid == 7 &&
		      c.dev[3].queues == VBD_DEFAULT_QUEUES);
	}
	xlcfg_free(&c);
	CHECK(c.name == NULL && c.dev == NULL && c.ndev == 0);

	/* one device, all defaults; no name= is fine when not needed */
	rc = load("vbdpool = [ \"volume=v\" ]\n", 0, &c, err, sizeof(err));
	CHECK(rc == XLCFG_OK, "no name, not needed: %s %s", xlcfg_err_name(rc), err);
	CHECK(c.name == NULL && c.ndev == 1 && !strcmp(c.dev[0].volume, "v") &&
	      c.dev[0].devid == -1 && c.dev[0].queues == VBD_DEFAULT_QUEUES);
	xlcfg_free(&c);

	/* xl semantics: the last assignment of a key wins */
	rc = load("name='g'\nvbdpool=['volume=old']\nvbdpool=['volume=new','volume=new2']\n",
		  XLCFG_NEED_NAME, &c, err, sizeof(err));
	CHECK(rc == XLCFG_OK && c.ndev == 2 && !strcmp(c.dev[0].volume, "new"));
	xlcfg_free(&c);

	/* the same text from memory */
	{
		const char t[] = "name=\"m\"\nvbdpool=[\"volume=x,devid=3\"]";
		rc = xlcfg_parse("mem", t, sizeof(t) - 1, XLCFG_NEED_NAME, &c, err, sizeof(err));
		CHECK(rc == XLCFG_OK && c.ndev == 1 && c.dev[0].devid == 3 && !strcmp(c.name, "m"));
		xlcfg_free(&c);
	}

	/* entries on their own */
	struct xlcfg_dev d;
	CHECK(xlcfg_parse_entry("volume=v1,queues=1", &d, err, sizeof(err)) == XLCFG_OK &&
	      d.queues == 1 && d.devid == -1 && !strcmp(d.volume, "v1"));
	CHECK(xlcfg_parse_entry("queues=2,devid=0,volume=v2", &d, err, sizeof(err)) == XLCFG_OK &&
	      d.queues == 2 && d.devid == 0 && !strcmp(d.volume, "v2"));
	/* access: read-write and not shared unless said, as xl's disk spec */
	CHECK(!d.read_only && !d.shared);
	static const struct {
		const char *spec;
		int ro, shared;
	} modes[] = {
	    {"volume=v,mode=r", 1, 0},		{"volume=v,mode=ro", 1, 0},
	    {"volume=v,access=ro", 1, 0},	{"volume=v,access=r", 1, 0},
	    {"volume=v,mode=w", 0, 0},		{"volume=v,access=rw", 0, 0},
	    {"volume=v,shared=1", 0, 1},	{"volume=v,shared=0", 0, 0},
	    {"shared=1,mode=r,volume=v", 1, 1},
	};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		CHECK(xlcfg_parse_entry(modes[i].spec, &d, err, sizeof(err)) == XLCFG_OK &&
			  d.read_only == modes[i].ro && d.shared == modes[i].shared,
		      "%s: ro %d shared %d (%s)", modes[i].spec, d.read_only, d.shared, err);
}

static void test_bad_files(void)
{
	struct xlcfg c;
	char err[1024], fifo[160], big[160];
	int rc;

	/* missing */
	rc = xlcfg_load("/nonexistent/guest.cfg", XLCFG_NEED_NAME, &c, err, sizeof(err));
	CHECK(rc == XLCFG_E_FILE && strstr(err, "/nonexistent/guest.cfg") &&
		  strstr(err, strerror(ENOENT)),
	      "%s", err);
	printf("ok %-10s %s\n", xlcfg_err_name(rc), err);
	/* a directory: libxlutil's scanner would exit() the process */
	rc = xlcfg_load(dir, XLCFG_NEED_NAME, &c, err, sizeof(err));
	CHECK(rc == XLCFG_E_FILE && strstr(err, "not a regular file"), "%s", err);
	printf("ok %-10s %s\n", xlcfg_err_name(rc), err);
	/* a FIFO with no writer: refused, not waited on */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	rc = xlcfg_load(fifo, XLCFG_NEED_NAME, &c, err, sizeof(err));
	CHECK(rc == XLCFG_E_FILE && strstr(err, "not a regular file"), "%s", err);
	unlink(fifo);
	/* too large */
	snprintf(big, sizeof(big), "%s/big.cfg", dir);
	{
		int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0 && ftruncate(fd, XLCFG_MAX_BYTES + 1) == 0);
		if (fd >= 0)
			close(fd);
	}
	rc = xlcfg_load(big, XLCFG_NEED_NAME, &c, err, sizeof(err));
	CHECK(rc == XLCFG_E_FILE && strstr(err, "larger than"), "%s", err);
	unlink(big);
	/* a NUL byte: libxlutil would abort() on it inside a string */
	{
		FILE *f = fopen(path, "w");
		const char t[] = "name=\"a\0b\"\nvbdpool=[\"volume=x\"]\n";
		fwrite(t, 1, sizeof(t) - 1, f);
		fclose(f);
		rc = xlcfg_load(path, XLCFG_NEED_NAME, &c, err, sizeof(err));
		CHECK(rc == XLCFG_E_FILE && strstr(err, "NUL"), "%s", err);
	}
	/* an unreadable file (root reads anything: only when not root) */
	if (geteuid() != 0) {
		CHECK(load("name='g'\nvbdpool=['volume=x']\n", 0, &c, err, sizeof(err)) == 0);
		xlcfg_free(&c);
		chmod(path, 0);
		rc = xlcfg_load(path, XLCFG_NEED_NAME, &c, err, sizeof(err));
		CHECK(rc == XLCFG_E_FILE && strstr(err, strerror(EACCES)), "%s", err);
		chmod(path, 0600);
	}

	/* not xl syntax: libxlutil's own words, with the line */
	bad("name = \"g\nvbdpool = [\"volume=x\"]\n", XLCFG_NEED_NAME, XLCFG_E_SYNTAX,
	    "not a valid xl config file", ":1:", NULL);
	bad("name = \"g\"\nvbdpool = [\"volume=x\"\n", XLCFG_NEED_NAME, XLCFG_E_SYNTAX,
	    "not a valid xl config file", NULL, NULL);
	bad("name = \"g\" vbdpool = [\"volume=x\"]\n", XLCFG_NEED_NAME, XLCFG_E_SYNTAX,
	    "config parsing error", NULL, NULL);
	bad("name = \"g\"\nvbdpool = volume=x\n", XLCFG_NEED_NAME, XLCFG_E_SYNTAX, ":2:", NULL,
	    NULL);

	/* name= */
	bad("vbdpool = [\"volume=x\"]\n", XLCFG_NEED_NAME, XLCFG_E_NAME, "no name=", NULL, NULL);
	bad("", XLCFG_NEED_NAME, XLCFG_E_NAME, "no name=", NULL, NULL);
	bad("name = [ \"g\" ]\nvbdpool = [\"volume=x\"]\n", XLCFG_NEED_NAME, XLCFG_E_NAME,
	    "not a string", NULL, NULL);
	bad("name = \"\"\nvbdpool = [\"volume=x\"]\n", 0, XLCFG_E_NAME, "empty", NULL, NULL);

	/* vbdpool= itself */
	bad("name = \"g\"\ndisk = [ 'vdev=xvda,target=/x' ]\n", XLCFG_NEED_NAME, XLCFG_E_NODEVS,
	    "no vbdpool =", NULL, NULL);
	bad("name = \"g\"\nvbdpool = [ ]\n", XLCFG_NEED_NAME, XLCFG_E_NODEVS, "no devices", NULL,
	    NULL);
	bad("name = \"g\"\nvbdpool = \"volume=x\"\n", XLCFG_NEED_NAME, XLCFG_E_NOTLIST,
	    "not a list", NULL, NULL);
	bad("name = \"g\"\nvbdpool = [ \"volume=x\", [ \"volume=y\" ] ]\n", XLCFG_NEED_NAME,
	    XLCFG_E_NOTLIST, "entry #2 is not a string", NULL, NULL);
	{
		static char many[64 * (XLCFG_MAX_DEVS + 2)];
		size_t n = (size_t)snprintf(many, sizeof(many), "name='g'\nvbdpool=[");
		for (int i = 0; i <= XLCFG_MAX_DEVS; i++)
			n += (size_t)snprintf(many + n, sizeof(many) - n, "'volume=v%d',", i);
		snprintf(many + n, sizeof(many) - n, "]\n");
		bad(many, XLCFG_NEED_NAME, XLCFG_E_TOOMANY, "at most", NULL, NULL);
	}
}

static void test_bad_entries(void)
{
	char long_id[VBD_VOLUME_ID_MAX + 16], e[VBD_VOLUME_ID_MAX + 32];

	/* unknown keys, items that are not key=value */
	bad_entry("volume=x,size=1G", XLCFG_E_KEY, "unknown key 'size'");
	bad_entry("volume=x,Devid=1", XLCFG_E_KEY, "unknown key 'Devid'");
	bad_entry("volume=x,format=raw", XLCFG_E_KEY, "unknown key 'format'");
	bad_entry("x", XLCFG_E_KEY, "not key=value");
	bad_entry("volume=x,devid", XLCFG_E_KEY, "'devid' is not key=value");
	bad("name='g'\nvbdpool=[ 3 ]\n", XLCFG_NEED_NAME, XLCFG_E_KEY, "entry #1", "not key=value",
	    NULL);
	/* duplicate keys */
	bad_entry("volume=x,volume=y", XLCFG_E_DUPKEY, "volume= given twice");
	bad_entry("volume=x,devid=1,devid=1", XLCFG_E_DUPKEY, "devid= given twice");
	bad_entry("queues=2,volume=x,queues=3", XLCFG_E_DUPKEY, "queues= given twice");
	bad_entry("volume=x,mode=r,access=ro", XLCFG_E_DUPKEY, "mode= (or access=) given twice");
	bad_entry("volume=x,shared=1,shared=1", XLCFG_E_DUPKEY, "shared= given twice");
	bad_entry("volume=x,mode=rx", XLCFG_E_VALUE, "bad mode 'rx' (want r or ro");
	bad_entry("volume=x,access=", XLCFG_E_VALUE, "bad access ''");
	bad_entry("volume=x,shared=2", XLCFG_E_VALUE, "bad shared '2' (want 0..1)");
	bad_entry("volume=x,shared=yes", XLCFG_E_VALUE, "bad shared 'yes'");
	/* bad numbers and ids */
	bad_entry("volume=x,devid=abc", XLCFG_E_VALUE, "bad devid 'abc'");
	bad_entry("volume=x,devid=-1", XLCFG_E_VALUE, "bad devid '-1'");
	bad_entry("volume=x,devid=01", XLCFG_E_VALUE, "bad devid '01'");
	bad_entry("volume=x,devid=2147483648", XLCFG_E_VALUE, "want 0..2147483647");
	bad_entry("volume=x,devid=99999999999999999999999", XLCFG_E_VALUE, "bad devid");
	bad_entry("volume=x,devid=", XLCFG_E_VALUE, "bad devid ''");
	bad_entry("volume=x,devid=1 2", XLCFG_E_VALUE, "bad devid '1 2'");
	bad_entry("volume=x,queues=0", XLCFG_E_VALUE, "bad queues '0' (want 1..64)");
	bad_entry("volume=x,queues=65", XLCFG_E_VALUE, "bad queues '65'");
	bad_entry("volume=x,queues=4x", XLCFG_E_VALUE, "bad queues '4x'");
	bad_entry("volume=x,queues=0x4", XLCFG_E_VALUE, "bad queues");
	bad_entry("volume=", XLCFG_E_VALUE, "empty volume=");
	bad_entry("volume=a/b", XLCFG_E_VALUE, "bad volume id 'a/b'");
	bad_entry("volume=a b", XLCFG_E_VALUE, "bad volume id 'a b'");
	memset(long_id, 'v', VBD_VOLUME_ID_MAX + 1);
	long_id[VBD_VOLUME_ID_MAX + 1] = '\0';
	snprintf(e, sizeof(e), "volume=%s", long_id);
	bad_entry(e, XLCFG_E_VALUE, "bad volume id");
	long_id[VBD_VOLUME_ID_MAX] = '\0'; /* exactly the maximum is fine */
	{
		struct xlcfg_dev d;
		char why[256];
		snprintf(e, sizeof(e), "volume=%s", long_id);
		CHECK(xlcfg_parse_entry(e, &d, why, sizeof(why)) == XLCFG_OK, "%s", why);
	}
	/* no volume */
	bad_entry("devid=1,queues=2", XLCFG_E_NOVOLUME, "no volume=");
	bad_entry("", XLCFG_E_NOVOLUME, "no volume=");
	bad_entry(" , ", XLCFG_E_NOVOLUME, "no volume=");
	/* duplicates across entries */
	bad_entry("volume=ok1,devid=3", XLCFG_E_DUPDEV,
		  "volume 'ok1' is already listed by entry #1");
	bad("name='g'\nvbdpool=['volume=a,devid=1','volume=b','volume=c,devid=1']\n",
	    XLCFG_NEED_NAME, XLCFG_E_DUPDEV, "entry #3", "devid 1 is already used by entry #1",
	    NULL);
	/* the first bad entry is the one reported */
	bad("name='g'\nvbdpool=['volume=a','volume=b,x=1','volume=c,queues=0']\n", XLCFG_NEED_NAME,
	    XLCFG_E_KEY, "entry #2", "unknown key 'x'", NULL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ctl_xlcfg.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/guest.cfg", dir);
	test_good();
	test_bad_files();
	test_bad_entries();
	unlink(path);
	rmdir(dir);
	return check_done("ctl_xlcfg");
}
