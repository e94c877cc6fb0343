/* SPDX-License-Identifier: MIT */
/* Unit tests: vbdpoolctl's argument parsing, sizes and JSON writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "check.h"
#include "json.h"
#include "vbdpool/proto.h"
#include "volid.h"

static void test_opts(void)
{
	const char *backing = NULL, *size = NULL;
	int force = 0, npos;
	struct ctl_opt opts[] = {
	    {"--backing", &backing, NULL}, {"--size", &size, NULL}, {"--force", NULL, &force}, {0}};
	char *pos[2], err[128];
	char *a1[] = {"v1", "--backing", "/x", "--size=1M", "--force"};

	CHECK(ctl_parse_opts(5, a1, opts, pos, 2, &npos, err, sizeof(err)) == 0);
	CHECK(npos == 1 && !strcmp(pos[0], "v1"));
	CHECK(backing && !strcmp(backing, "/x") && size && !strcmp(size, "1M") && force);

	char *a2[] = {"v1", "--bogus"};
	CHECK(ctl_parse_opts(2, a2, opts, pos, 2, &npos, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "--bogus") != NULL);
	char *a3[] = {"--size"};
	CHECK(ctl_parse_opts(1, a3, opts, pos, 2, &npos, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "needs a value") != NULL);
	char *a4[] = {"a", "b", "c"};
	CHECK(ctl_parse_opts(3, a4, opts, pos, 2, &npos, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "unexpected argument 'c'") != NULL);
	char *a5[] = {"--force=1"};
	CHECK(ctl_parse_opts(1, a5, opts, pos, 2, &npos, err, sizeof(err)) == -EINVAL);
	char *a6[] = {"-x"};
	CHECK(ctl_parse_opts(1, a6, opts, pos, 2, &npos, err, sizeof(err)) == -EINVAL);
	char *a7[] = {"--", "--size"};
	CHECK(ctl_parse_opts(2, a7, opts, pos, 2, &npos, err, sizeof(err)) == 0);
	CHECK(npos == 1 && !strcmp(pos[0], "--size"));
	/* a prefix of an option is not that option */
	char *a8[] = {"--siz", "1"};
	CHECK(ctl_parse_opts(2, a8, opts, pos, 2, &npos, err, sizeof(err)) == -EINVAL);
}

static void test_sizes(void)
{
	uint64_t v;
	char why[128];

	CHECK(ctl_parse_size("512", &v) == 0 && v == 512);
	CHECK(ctl_parse_size("4K", &v) == 0 && v == 4096);
	CHECK(ctl_parse_size("64M", &v) == 0 && v == 64ULL << 20);
	CHECK(ctl_parse_size("2GiB", &v) == 0 && v == 2ULL << 30);
	CHECK(ctl_parse_size("1T", &v) == 0 && v == 1ULL << 40);
	CHECK(ctl_parse_size("", &v) == -EINVAL);
	CHECK(ctl_parse_size("-1", &v) == -EINVAL);
	CHECK(ctl_parse_size("12x", &v) == -EINVAL);
	CHECK(ctl_parse_size("1MX", &v) == -EINVAL);
	CHECK(ctl_parse_size("99999999999999999999", &v) == -ERANGE);
	CHECK(ctl_parse_size("99999999999T", &v) == -ERANGE);

	CHECK(ctl_check_volume_size("1M", &v, why, sizeof(why)) == 0 && v == 1 << 20);
	CHECK(ctl_check_volume_size("0", &v, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "greater than 0") != NULL);
	CHECK(ctl_check_volume_size("1000", &v, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "multiple of 512") != NULL);
	CHECK(ctl_check_volume_size("abc", &v, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "bad size 'abc'") != NULL);
}

static void test_uint(void)
{
	unsigned long v;

	CHECK(ctl_parse_uint("0", 0, 10, &v) == 0 && v == 0);
	CHECK(ctl_parse_uint("64", 1, 64, &v) == 0 && v == 64);
	CHECK(ctl_parse_uint("65", 1, 64, &v) == -EINVAL);
	CHECK(ctl_parse_uint("0", 1, 64, &v) == -EINVAL);
	CHECK(ctl_parse_uint("007", 0, 64, &v) == -EINVAL);
	CHECK(ctl_parse_uint("", 0, 64, &v) == -EINVAL);
	CHECK(ctl_parse_uint("3a", 0, 64, &v) == -EINVAL);
	CHECK(ctl_parse_uint("99999999999999999999999", 0, ~0UL, &v) == -EINVAL);
}

static void test_json(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json_init(&j, f);
	json_obj_begin(&j);
	json_kstr(&j, "s", "a\"b\\c\n");
	json_key(&j, "arr");
	json_arr_begin(&j);
	json_u64(&j, 1);
	json_i64(&j, -2);
	json_null(&j);
	json_obj_begin(&j);
	json_obj_end(&j);
	json_arr_end(&j);
	json_kstr(&j, "n", NULL);
	json_obj_end(&j);
	fclose(f);
	CHECK(!strcmp(buf, "{\"s\":\"a\\\"b\\\\c\\u000a\",\"arr\":[1,-2,null,{}],\"n\":null}\n"));
	if (check_failures)
		fprintf(stderr, "json: %s", buf);
	free(buf);
}

static void test_volid(void)
{
	char id[VBD_VOLUME_ID_MAX + 1], err[256], big[300], path[] = "/tmp/ctl_args.XXXXXX";
	int fd;

	CHECK(ctl_volid_sanitize("wwn-", "naa.600a0b80:00 12 ", id, sizeof(id)) == 0);
	CHECK(!strcmp(id, "wwn-naa_600a0b80_00_12"));
	CHECK(ctl_volid_sanitize("serial-", " /// ", id, sizeof(id)) == -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(ctl_volid_sanitize("x-", big, id, sizeof(id)) == 0);
	CHECK(strlen(id) == VBD_VOLUME_ID_MAX && vbd_volume_id_valid(id));

	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(ctl_volid_from_backing(path, id, sizeof(id), err, sizeof(err)) == 0);
	CHECK(!strncmp(id, "file-", 5) && vbd_volume_id_valid(id));
	unlink(path);
	close(fd);
	CHECK(ctl_volid_from_backing(path, id, sizeof(id), err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(ctl_volid_from_backing("/dev/null", id, sizeof(id), err, sizeof(err)) == -EINVAL);
}

int main(void)
{
	test_volid();
	test_opts();
	test_sizes();
	test_uint();
	test_json();
	return check_done("ctl_args");
}
