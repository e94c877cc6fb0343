/* SPDX-License-Identifier: MIT */
/*
 * front_idle: the lightest real guest of one device, for scale tests
 * (tests/integration/backend_scale.sh, bench/scale.sh): attaches device
 * --devid through libvbdpool-front with one event thread (the frontend
 * publishes a ring for each owner epoch as any guest does), then does no
 * I/O and waits for SIGTERM/SIGINT, when it closes the device.
 *
 *   front_idle [--devid N]
 *
 * Exits 0 after a clean close, 1 if the device cannot be attached.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbdpool/front.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"devid", required_argument, NULL, 'd'},
					     {NULL, 0, NULL, 0}};
	struct vbd_front_opts o;
	struct vbd_front *f;
	unsigned devid = 0;
	sigset_t sigs;
	int c, sig, rc;

	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c != 'd') {
			fprintf(stderr, "usage: front_idle [--devid N]\n");
			return 2;
		}
		devid = (unsigned)strtoul(optarg, NULL, 10);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* the library's threads too */
	vbd_front_opts_init(&o, devid);
	rc = vbd_front_open_ctx(&o, 1, &f);
	if (rc < 0) {
		fprintf(stderr, "front_idle: device %u: %s\n", devid, strerror(-rc));
		return 1;
	}
	sigwait(&sigs, &sig);
	vbd_front_close(f);
	return 0;
}
