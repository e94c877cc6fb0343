/* SPDX-License-Identifier: MIT */
/* vbdpool-backd: the driver-domain service. See docs/backend.md. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backd.h"
#include "vbdpool/log.h"
#include "vbdpool/version.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vbdpool-backd [--all | --volume ID [--volume ID ...]] [--cost N]\n"
	    "                     [--engine auto|uring|threads|inline|null] [--buffered] [--null]\n"
	    "                     [--poll-us N] [--fault RULE ...] [--throttle iops=N,bps=N]\n"
	    "                     [--throttle-file PATH] [--no-balance] [--io-timeout-ms N]\n"
	    "       vbdpool-backd --help | --version\n"
	    "  --all         (the default) serve every volume this domain is a member of,\n"
	    "                following `vbdpoolctl member add/remove` live\n"
	    "  --volume ID   serve only this volume (repeatable; this domain must be one\n"
	    "                of its members)\n"
	    "  --cost N      storage access cost published in the load (default %d)\n"
	    "  --engine E    auto (default: uring, or inline for a tmpfs backing), uring,\n"
	    "                threads (preadv/pwritev pool), inline (small I/Os in the data\n"
	    "                thread) or null (reads zeroes, writes discarded)\n"
	    "  --buffered    open the backing without O_DIRECT (single member only:\n"
	    "                members in different domains share no page cache; a\n"
	    "                volume that lists another member is refused: state\n"
	    "                mismatch)\n"
	    "  --null        null backing store (reads zeroes, writes discarded),\n"
	    "                for ring benchmarks\n"
	    "  --poll-us N   a queue thread that served a batch polls its ring up to\n"
	    "                N us (adaptive) before it sleeps; 0: never (default %d)\n"
	    "  --fault RULE  fault injection (tests; repeatable, up to %d rules):\n"
	    "                  eio[:PARAMS]            the I/O fails with EIO\n"
	    "                  delay:us=N[,PARAMS]     the I/O starts N us later\n"
	    "                  fail-after:N[,PARAMS]   N I/Os pass, later ones fail (EIO)\n"
	    "                  bad-response:ios=N[,PARAMS]  the N+1st I/O answered wrongly, once\n"
	    "                PARAMS: sectors=A-B (I/Os touching sectors A..B),\n"
	    "                op=read|write|flush|discard|any (default any)\n"
	    "  --throttle iops=N,bps=N\n"
	    "                this member's path capacity (either or both), shared by\n"
	    "                all its queues; requests over it wait (100 ms burst)\n"
	    "  --throttle-file PATH\n"
	    "                the same, read from PATH (one line iops=N,bps=N) and\n"
	    "                re-read on SIGHUP (a path whose capacity changes)\n"
	    "  --no-balance  hand off no queue for balance (neither the count nor\n"
	    "                the slow rule): a static split, for benchmarks\n"
	    "  --io-timeout-ms N\n"
	    "                a storage request outstanding this long: the path\n"
	    "                hangs; say so in members/<me>/io-stuck, so that\n"
	    "                the supervisor fences this domain when another member\n"
	    "                can serve (default %d; 0: not watched)\n",
	    VBD_DEFAULT_COST, VBD_BACKD_POLL_US, VBD_MAX_FAULTS, VBD_IO_TIMEOUT_MS);
}

static int parse_args(int argc, char **argv, struct backd_config *cfg)
{
	static const struct option opts[] = {
	    {"volume", required_argument, NULL, 'v'},
	    {"all", no_argument, NULL, 'a'},
	    {"cost", required_argument, NULL, 'c'},
	    {"engine", required_argument, NULL, 'e'},
	    {"buffered", no_argument, NULL, 'b'},
	    {"null", no_argument, NULL, 'n'},
	    {"poll-us", required_argument, NULL, 'p'},
	    {"fault", required_argument, NULL, 'f'},
	    {"throttle", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"no-balance", no_argument, NULL, 'B'},
	    {"throttle-file", required_argument, NULL, 'T'},
	    {"io-timeout-ms", required_argument, NULL, 'I'},
	    {NULL, 0, NULL, 0},
	};
	char err[160];
	int c, all = 0;

	cfg->cost = VBD_DEFAULT_COST;
	cfg->engine = VBD_ENGINE_AUTO;
	cfg->poll_us = VBD_BACKD_POLL_US;
	cfg->io_timeout_ms = VBD_IO_TIMEOUT_MS;
	while ((c = getopt_long(argc, argv, "v:ac:e:bnp:f:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!vbd_volume_id_valid(optarg)) {
				fprintf(stderr, "vbdpool-backd: invalid volume id '%s'\n", optarg);
				return -1;
			}
			{
				const char **n =
				    realloc(cfg->volumes, (cfg->nvolumes + 1) * sizeof(*n));
				if (!n) {
					fprintf(stderr, "vbdpool-backd: out of memory\n");
					return -1;
				}
				cfg->volumes = n;
			}
			cfg->volumes[cfg->nvolumes++] = optarg;
			break;
		case 'a':
			all = 1;
			break;
		case 'c':
			if (vbd_parse_u64(optarg, 1000000000, &cfg->cost) < 0) {
				fprintf(stderr, "vbdpool-backd: invalid cost '%s'\n", optarg);
				return -1;
			}
			break;
		case 'e':
			if (vbd_engine_kind_parse(optarg, &cfg->engine) < 0) {
				fprintf(stderr,
					"vbdpool-backd: unknown engine '%s' (auto, uring, threads, "
					"inline, null)\n",
					optarg);
				return -1;
			}
			break;
		case 'f':
			if (vbd_fault_parse(&cfg->wrap.faults, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "vbdpool-backd: --fault '%s': %s\n", optarg, err);
				return -1;
			}
			break;
		case 't':
			if (vbd_throttle_parse(&cfg->wrap.throttle, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "vbdpool-backd: --throttle '%s': %s\n", optarg,
					err);
				return -1;
			}
			break;
		case 'T':
			cfg->wrap.throttle_file = optarg;
			break;
		case 'B':
			cfg->no_balance = 1;
			break;
		case 'I': {
			uint64_t v;

			if (vbd_parse_u64(optarg, 3600000, &v) < 0) {
				fprintf(stderr, "vbdpool-backd: invalid --io-timeout-ms '%s'\n",
					optarg);
				return -1;
			}
			cfg->io_timeout_ms = (unsigned)v;
			break;
		}
		case 'b':
			cfg->buffered = 1;
			break;
		case 'n':
			cfg->null_store = 1;
			break;
		case 'p': {
			uint64_t v;

			if (vbd_parse_u64(optarg, 1000000, &v) < 0) {
				fprintf(stderr, "vbdpool-backd: invalid --poll-us '%s'\n", optarg);
				return -1;
			}
			cfg->poll_us = (unsigned)v;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			exit(vbd_print_version("vbdpool-backd"));
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -1;
	}
	if (cfg->wrap.throttle_file) {
		if (cfg->wrap.throttle.iops || cfg->wrap.throttle.bps) {
			fprintf(stderr, "vbdpool-backd: --throttle and --throttle-file exclude "
					"each other\n");
			return -1;
		}
		vbd_throttle_init(&cfg->wrap.throttle, 0, 0);
		if (vbd_throttle_reload(&cfg->wrap.throttle, cfg->wrap.throttle_file, err,
					sizeof(err)) < 0) {
			fprintf(stderr, "vbdpool-backd: --throttle-file: %s\n", err);
			return -1;
		}
	}
	if (all && cfg->nvolumes) {
		fprintf(stderr, "vbdpool-backd: --all and --volume exclude each other (--volume "
				"restricts the daemon to the volumes it names)\n");
		return -1;
	}
	return 0;
}

/* --throttle-file: SIGHUP (blocked in every thread) re-reads it here. */
static void *throttle_reloader(void *arg)
{
	struct vbd_io_wrap *w = arg;
	sigset_t hup;
	char err[160];
	int sig;

	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	for (;;) {
		if (sigwait(&hup, &sig))
			continue;
		if (vbd_throttle_reload(&w->throttle, w->throttle_file, err, sizeof(err)) < 0)
			log_warn("--throttle-file: %s: keeping iops=%llu bps=%llu", err,
				 (unsigned long long)w->throttle.iops,
				 (unsigned long long)w->throttle.bps);
		else
			log_info("throttle: iops=%llu bps=%llu (re-read %s)",
				 (unsigned long long)w->throttle.iops,
				 (unsigned long long)w->throttle.bps, w->throttle_file);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static struct backd bd;
	uint64_t domid;
	sigset_t sigs;
	int r;

	vbd_log_init(argv[0]);
	if (parse_args(argc, argv, &bd.cfg) < 0)
		return 2;
	/* SIGTERM/SIGINT go to the control thread's signalfd; data threads
	 * inherit the blocked mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGPIPE);
	if (bd.cfg.wrap.throttle_file)
		sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (bd.cfg.wrap.throttle_file) {
		pthread_t t;

		if (pthread_create(&t, NULL, throttle_reloader, &bd.cfg.wrap) ||
		    pthread_detach(t)) {
			log_err("cannot start the --throttle-file reloader");
			return 1;
		}
	}

	bd.xs = xs_open(0);
	if (!bd.xs) {
		log_err("cannot connect to XenStore: %s", strerror(errno));
		return 1;
	}
	r = vbd_xs_read_u64(bd.xs, XBT_NULL, VBD_DOMID_NONE - 1, &domid, "domid");
	if (r < 0) {
		log_err("cannot read this domain's id (XenStore 'domid'): %s", strerror(-r));
		xs_close(bd.xs);
		return 1;
	}
	bd.me = (unsigned)domid;
	bd.report_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (bd.report_fd < 0) {
		log_err("eventfd: %s", strerror(errno));
		return 1;
	}
	pthread_mutex_init(&bd.vols_lock, NULL);
	bd.all = !bd.cfg.nvolumes;
	for (unsigned i = 0; i < bd.cfg.nvolumes; i++)
		if (!pool_find_volume(&bd, bd.cfg.volumes[i]) &&
		    !pool_add_volume(&bd, bd.cfg.volumes[i])) {
			log_err("out of memory");
			return 1;
		}
	if (bd.all && (r = pool_index_scan(&bd, NULL)) < 0)
		log_warn("cannot list this domain's volumes (" VBD_XS_MEMBER_OF_DOM "): %s: "
			 "watching it",
			 bd.me, strerror(-r));
	if (bd.all)
		log_info("domain %u serving every volume it is a member of (%u now), platform %s, "
			 "engine %s%s%s",
			 bd.me, bd.nvols, vbd_platform()->name, vbd_engine_kind_name(bd.cfg.engine),
			 bd.cfg.buffered ? ", buffered" : "",
			 bd.cfg.null_store ? ", null store" : "");
	else
		log_info("domain %u serving %u volume(s), platform %s, engine %s%s%s", bd.me,
			 bd.nvols, vbd_platform()->name, vbd_engine_kind_name(bd.cfg.engine),
			 bd.cfg.buffered ? ", buffered" : "",
			 bd.cfg.null_store ? ", null store" : "");
	vbd_io_wrap_report(&bd.cfg.wrap, 0);
	/* one vbdpool-backd per volume per domain: refuse to start rather than
	 * act as a member another daemon here already is (volumes we are not
	 * a member of yet are checked when they join) */
	if (inst_acquire_all(&bd, bd.vols, bd.nvols) == -EEXIST) {
		inst_release_all(&bd);
		close(bd.report_fd);
		xs_close(bd.xs);
		return 1;
	}
	r = control_run(&bd);
	vbd_io_wrap_report(&bd.cfg.wrap, 1);
	inst_release_all(&bd);
	close(bd.report_fd);
	xs_close(bd.xs);
	return r;
}
