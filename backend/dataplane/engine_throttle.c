/* SPDX-License-Identifier: MIT */
/* The member's path capacity (--throttle iops=N,bps=N, see engine_wrap.h):
 * two token buckets in GCRA form. Each limit keeps tat, the time at which
 * its bucket is full again; a request of cost c (in ns of the limit's
 * rate) may go at `now` when max(tat, now) + c - now <= burst, and then
 * moves tat to max(tat, now) + c. A request larger than the whole burst
 * goes once the bucket is full (it never waits for ever). The limits may
 * change at run time (vbd_throttle_reload: --throttle-file and SIGHUP);
 * tat is kept, so a lower limit applies from the next request on. */
#include "engine_wrap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vbdpool/parse_num.h"

void vbd_throttle_init(struct vbd_throttle *t, uint64_t iops, uint64_t bps)
{
	t->iops = iops;
	t->bps = bps;
	t->tat[0] = t->tat[1] = 0;
	atomic_store(&t->passed, 0);
	atomic_store(&t->held, 0);
	pthread_mutex_init(&t->lock, NULL);
}

void vbd_throttle_destroy(struct vbd_throttle *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* "iops=N,bps=N" (either or both, N from 1 to 10^12) into v[0], v[1]. */
static int parse_spec(const char *spec, uint64_t v[2], char *err, size_t errlen)
{
	char buf[128], *save = NULL;
	const char *keys[2] = {"iops", "bps"};

	v[0] = v[1] = 0;
	if (strlen(spec) >= sizeof(buf) || !*spec || *spec == ',' ||
	    spec[strlen(spec) - 1] == ',' || strstr(spec, ",,")) {
		snprintf(err, errlen, "want iops=N,bps=N (either or both)");
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(p, '=');
		int k = -1;

		if (eq) {
			*eq = 0;
			k = !strcmp(p, keys[0]) ? 0 : !strcmp(p, keys[1]) ? 1 : -1;
		}
		if (k < 0) {
			snprintf(err, errlen, "'%s': want iops=N or bps=N", p);
			return -EINVAL;
		}
		if (v[k] || vbd_parse_u64(eq + 1, 1000000000000ull, &v[k]) < 0 || !v[k]) {
			snprintf(err, errlen, "%s=%s: want one number from 1 to 10^12", p, eq + 1);
			return -EINVAL;
		}
	}
	return 0;
}

int vbd_throttle_parse(struct vbd_throttle *t, const char *spec, char *err, size_t errlen)
{
	uint64_t v[2];
	int r = parse_spec(spec, v, err, errlen);

	if (r < 0)
		return r;
	vbd_throttle_init(t, v[0], v[1]);
	return 0;
}

void vbd_throttle_set(struct vbd_throttle *t, uint64_t iops, uint64_t bps)
{
	pthread_mutex_lock(&t->lock);
	t->iops = iops;
	t->bps = bps;
	pthread_mutex_unlock(&t->lock);
}

int vbd_throttle_reload(struct vbd_throttle *t, const char *path, char *err, size_t errlen)
{
	char buf[130];
	uint64_t v[2];
	size_t n;
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	r = ferror(f) ? -EIO : 0;
	fclose(f);
	if (r < 0) {
		snprintf(err, errlen, "cannot read %s", path);
		return r;
	}
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = 0;
	if (strchr(buf, '\n')) {
		snprintf(err, errlen, "%s: want one line iops=N,bps=N", path);
		return -EINVAL;
	}
	r = parse_spec(buf + strspn(buf, " \t"), v, err, errlen);
	if (r < 0)
		return r;
	vbd_throttle_set(t, v[0], v[1]);
	return 0;
}

/* The cost of `units` at `rate` per second, in ns. */
static uint64_t cost_ns(uint64_t units, uint64_t rate)
{
	return (uint64_t)((unsigned __int128)units * 1000000000u / rate);
}

/* 0: within the burst at `now`; else when it will be. */
static uint64_t when(uint64_t tat, uint64_t now, uint64_t c, uint64_t burst)
{
	uint64_t from = tat > now ? tat : now;

	if (c > burst)
		c = burst;
	return from + c - now <= burst ? 0 : from + c - burst;
}

uint64_t vbd_throttle_take(struct vbd_throttle *t, uint64_t now, uint64_t bytes)
{
	uint64_t rate[2], units[2] = {1, bytes}, c[2] = {0, 0}, again = 0;

	pthread_mutex_lock(&t->lock);
	rate[0] = t->iops; /* (vbd_throttle_set changes them under the lock) */
	rate[1] = t->bps;
	for (int i = 0; i < 2; i++) {
		uint64_t burst, w;

		if (!rate[i])
			continue;
		c[i] = cost_ns(units[i], rate[i]);
		burst = VBD_THROTTLE_BURST_NS;
		if (i == 0 && c[i] > burst) /* at least one request */
			burst = c[i];
		w = when(t->tat[i], now, c[i], burst);
		if (w > again)
			again = w;
	}
	if (!again)
		for (int i = 0; i < 2; i++)
			if (rate[i])
				t->tat[i] = (t->tat[i] > now ? t->tat[i] : now) + c[i];
	pthread_mutex_unlock(&t->lock);
	if (!again)
		atomic_fetch_add(&t->passed, 1);
	return again;
}
