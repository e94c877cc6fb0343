#!/usr/bin/env bash
# bench/ring.sh: IOPS of libvbdpool-front (bench/ring, no NBD) against
# vbdpool-backd --null members on the emulated Xen host.  Not a test.
#
#   bench/ring.sh [--members M] [--queues Q] [--ring-order O] [ring args...]
#   e.g. bench/ring.sh --members 2 --queues 4 --qd 64 --bs 4096 --seconds 5
#
# Needs a build (make); BUILD defaults to build/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export VBD_BUILD=${VBD_BUILD:-$top/${BUILD:-build}}
members=2 queues=4
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--members) members=$2; shift 2 ;;
	--queues) queues=$2; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
. "$top/tests/lib/pool.sh"
pool_init
pool_volume bench 1024
for _ in $(seq "$members"); do pool_member bench --null ${BENCH_BACKD_ARGS:-}; done
G=$(pool_domain guest)
ctl attach "$G" bench --devid 0 --queues "$queues" >/dev/null || die "attach"
echo "bench/ring: $members null member(s), $queues queue(s)"
"$BIN/xensim" exec --dir "$POOL_DIR/host" --domid "$G" -- \
	env VBD_LOG=warn "$VBD_BUILD/bench/ring" --devid 0 "${args[@]}"
