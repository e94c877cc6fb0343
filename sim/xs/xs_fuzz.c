/* SPDX-License-Identifier: MIT */
/*
 * Fuzzing entry points of the XenStore server (xs_server.h): raw input for
 * one connection, or several connections and toolstack calls interleaved.
 * Connections here have no socket (replies are built and dropped) and stay
 * allocated until the server is freed.
 */
#include <stdio.h>
#include <string.h>

#include "xs_core.h"
#include "xs_fuzz.h"

static struct xs_server *fuzz_server(void)
{
	struct xs_server *s = xs_server_new(NULL);

	if (!s)
		return NULL;
	xs_server_write(s, "/local/domain/0", "", "n0");
	for (unsigned d = 1; d <= 2; d++) {
		char path[32], perms[16];
		snprintf(path, sizeof(path), "/local/domain/%u", d);
		snprintf(perms, sizeof(perms), "n0 r%u", d);
		xs_server_write(s, path, "", perms);
		xs_server_introduce(s, d);
	}
	return s;
}

/* A fuzzing connection: no socket, never reaped before xs_server_free. */
static struct xs_conn *fuzz_conn(struct xs_server *s, unsigned domid)
{
	struct xs_conn *c = xs_conn_new(s, -1, domid);
	if (c)
		c->busy = true;
	return c;
}

void xs_server_fuzz_input(const uint8_t *data, size_t len, unsigned domid)
{
	struct xs_server *s = fuzz_server();
	struct xs_conn *c;

	if (!s)
		return;
	c = fuzz_conn(s, domid > XS_MAX_DOMID ? 1 : domid);
	if (c)
		xs_conn_feed(c, data, len);
	xs_server_free(s);
}

static void fuzz_toolstack(struct xs_server *s, const uint8_t *d, size_t len)
{
	char arg[256];
	size_t l = len > 1 ? len - 1 : 0;

	if (l >= sizeof(arg))
		l = sizeof(arg) - 1;
	if (len > 1)
		memcpy(arg, d + 1, l);
	arg[l] = 0;
	switch (len ? d[0] % 6 : 0) {
	case 0:
		xs_server_introduce(s, 2);
		break;
	case 1:
		xs_server_rm(s, "/local/domain/2");
		xs_server_release(s, 2);
		break;
	case 2:
		xs_server_write(s, arg, "v", NULL);
		break;
	case 3:
		xs_server_write(s, "/local/domain/2/x", arg, arg);
		break;
	case 4:
		xs_server_rm(s, arg);
		break;
	default: {
		char buf[64];
		xs_server_read(s, arg, buf, sizeof(buf));
		break;
	}
	}
}

void xs_server_fuzz_multi(const uint8_t *data, size_t len)
{
	struct xs_server *s = fuzz_server();
	struct xs_conn *c[3] = {NULL, NULL, NULL};

	if (!s)
		return;
	while (len >= 3) {
		unsigned target = data[0] % 4;
		size_t n = data[1] | (size_t)data[2] << 8;

		data += 3;
		len -= 3;
		if (n > len)
			n = len;
		if (target == 3) {
			fuzz_toolstack(s, data, n);
		} else {
			if (!c[target] || c[target]->dead)
				c[target] = fuzz_conn(s, target);
			if (c[target])
				xs_conn_feed(c[target], data, n);
		}
		data += n;
		len -= n;
	}
	xs_server_free(s);
}
