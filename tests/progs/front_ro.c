/* SPDX-License-Identifier: MIT */
/*
 * front_ro: a guest of a read-only attachment (`vbdpoolctl attach
 * --read-only`), through libvbdpool-front.  The device must say it is
 * read-only; writes (plain and FUA), discards and a zero-length write are
 * refused with -EROFS by the library; reads see the backing's pattern
 * (every byte --fill, default 0xa5) and a flush works.
 *
 *   front_ro [--devid N] [--fill BYTE] [--wait S]
 *
 * Prints "front_ro: PASS" and exits 0, or says what failed and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/front.h"
#include "vbdpool/log.h"

#define LEN (64u * 1024)

static int failures;

static void expect_rc(int rc, int want, const char *what)
{
	if (rc != want) {
		printf("front_ro: FAIL: %s: %d (%s), want %d (%s)\n", what, rc, strerror(-rc), want,
		       strerror(-want));
		failures++;
	} else {
		printf("front_ro: ok: %s -> %d\n", what, rc);
	}
}

static void read_pattern(struct vbd_front *f, unsigned char *buf, uint64_t off, int fill,
			 const char *what)
{
	memset(buf, 0, LEN);
	expect_rc(vbd_front_pread(f, buf, LEN, off), 0, what);
	for (unsigned i = 0; i < LEN; i++)
		if (buf[i] != (unsigned char)fill) {
			printf("front_ro: FAIL: %s: byte %u is %#x, want %#x\n", what, i, buf[i],
			       fill);
			failures++;
			return;
		}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"devid", required_argument, NULL, 'd'},
					     {"fill", required_argument, NULL, 'f'},
					     {"wait", required_argument, NULL, 'w'},
					     {NULL, 0, NULL, 0}};
	struct vbd_front_opts o;
	struct vbd_front *f;
	unsigned char *buf;
	unsigned devid = 0;
	int c, fill = 0xa5, wait_s = 20, rc;
	uint64_t last;

	setvbuf(stdout, NULL, _IOLBF, 0);
	vbd_log_init("front_ro");
	while ((c = getopt_long(argc, argv, "d:f:w:", opts, NULL)) != -1) {
		if (c == 'd')
			devid = (unsigned)atoi(optarg);
		else if (c == 'f')
			fill = (int)strtol(optarg, NULL, 0);
		else if (c == 'w')
			wait_s = atoi(optarg);
		else
			return 2;
	}
	vbd_front_opts_init(&o, devid);
	rc = vbd_front_open(&o, &f);
	if (rc < 0) {
		printf("front_ro: FAIL: open device %u: %s\n", devid, strerror(-rc));
		return 1;
	}
	buf = malloc(LEN);
	if (!buf || vbd_front_wait_connected(f, wait_s * 1000) < 0) {
		printf("front_ro: FAIL: device %u not connected within %d s\n", devid, wait_s);
		return 1;
	}
	if (!vbd_front_read_only(f)) {
		printf("front_ro: FAIL: the device does not say it is read-only\n");
		failures++;
	}
	last = vbd_front_size(f) - LEN;
	read_pattern(f, buf, 0, fill, "read");
	memset(buf, 0x5a, LEN);
	expect_rc(vbd_front_pwrite(f, buf, LEN, 0, 0), -EROFS, "write");
	expect_rc(vbd_front_pwrite(f, buf, LEN, last, VBD_IO_FUA), -EROFS, "FUA write");
	expect_rc(vbd_front_pwrite(f, buf, 0, 0, 0), -EROFS, "zero-length write");
	expect_rc(vbd_front_discard(f, 0, LEN), -EROFS, "discard");
	expect_rc(vbd_front_flush(f), 0, "flush");
	read_pattern(f, buf, 0, fill, "read after the refused writes");
	read_pattern(f, buf, last, fill, "read of the last 64 KiB");
	vbd_front_close(f);
	free(buf);
	if (failures) {
		printf("front_ro: FAIL (%d failures)\n", failures);
		return 1;
	}
	printf("front_ro: PASS\n");
	return 0;
}
