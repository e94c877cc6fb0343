#!/usr/bin/env bash
# bench/nbd-prof.sh: where the NBD path spends its context switches and CPU.
# Starts an emulated host with M members serving a tmpfs file, a guest with
# Q queues exported by nbdkit + the vbdpool plugin, runs fio (nbd engine,
# 4 KiB, QD16) for 7 s and counts, over 4 s in the middle, context switches
# and CPU time per request for each class of thread (`perf stat
# --per-thread`): nbdkit (its workers), vbdf-event (the frontend's event
# thread), vbdpool-backd (members' data threads), iou-wrk (io_uring workers);
# with --server vbdpool-nbd the native server instead of nbdkit: nbd-conn
# (its connection threads) and vbdf-event.
# Not a test.  Needs perf, fio, nbdkit and a build (make).
#
#   bench/nbd-prof.sh [--members M] [--queues Q] [--rw randread|randwrite]
#                     [--server nbdkit|vbdpool-nbd|file|null] [--qd N] [--bs SIZE]
#                     [--syscalls] [--fsync N]
#   --syscalls: also system calls per request per thread class (read, write,
#   poll, recvfrom, sendmsg, preadv, pwritev, sched_yield, fdatasync,
#   io_uring_enter), and requests counted as the members' preadv + pwritev
#   in the window (one per request up to 64 KiB on tmpfs, the inline
#   engine) instead of fio's IOPS over its whole run, which on a loaded
#   machine differs from the 4 s window by up to a half
#   --fsync N: a flush (NBD FLUSH) after every N writes (fio --fsync=N)
#   --server null: nbdkit's null plugin (stores nothing: the ceiling of
#   nbdkit's own path with this fio job)
#   --server file: nbdkit's file plugin on the same tmpfs file, no pool (the
#   reference side (a) of bench/nbd.sh)
#   env: BENCH_DIR (/dev/shm: where the pool's directory and its backing
#   file live; a disk directory for the flush path), BENCH_SIZE_MB (256), VBD_BUILD (build/), NBDKIT_ARGS (e.g. "-t 8"),
#   VBDNBD_ARGS (extra vbdpool-nbd options)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export VBD_BUILD=${VBD_BUILD:-$top/build}
members=3 queues=4 rw=randread server=nbdkit qd=16 bs=4k events=context-switches,task-clock
fio_extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--members) members=$2; shift 2 ;;
	--queues) queues=$2; shift 2 ;;
	--rw) rw=$2; shift 2 ;;
	--server) server=$2; shift 2 ;;
	--qd) qd=$2; shift 2 ;;
	--bs) bs=$2; shift 2 ;;
	--fsync) fio_extra=(--fsync="$2"); shift 2 ;;
	--syscalls)
		for c in read write poll recvfrom sendmsg preadv pwritev sched_yield fdatasync io_uring_enter; do
			events+=,syscalls:sys_enter_$c
		done
		shift ;;
	*) echo "usage: $0 [--members M] [--queues Q] [--rw RW] [--server nbdkit|vbdpool-nbd|file|null] [--qd N] [--bs 4k|1m]" >&2; exit 2 ;;
	esac
done
size_mb=${BENCH_SIZE_MB:-256}
. "$top/tests/lib/pool.sh"
TMPDIR=${BENCH_DIR:-/dev/shm} pool_init
img=$POOL_DIR/disk.img
dd if=/dev/urandom of="$img" bs=1M count="$size_mb" status=none
pool_volume bench "$size_mb" "$img"
for _ in $(seq "$members"); do pool_member bench ${BACKD_ARGS:-}; done
if [ "$server" = file ] || [ "$server" = null ]; then # nbdkit's file or null plugin, no pool
	pool_attach bench "$queues"
	if [ "$server" = file ]; then plugin=(file "$img"); else plugin=(null "${size_mb}M"); fi
	nbdkit -f -U "$POOL_DIR/nbd.sock" "${plugin[@]}" >"$POOL_DIR/nbdkit.log" 2>&1 &
	POOL_PIDS+=($!)
	for _ in $(seq 100); do [ -S "$POOL_DIR/nbd.sock" ] && break; sleep 0.1; done
else # nbdkit quiet (no -v) unless NBDKIT_ARGS says otherwise
	POOL_NBD_SERVER=$server POOL_NBD_ARGS=${VBDNBD_ARGS:-} \
		POOL_NBDKIT_ARGS=${NBDKIT_ARGS:-} pool_guest bench "$queues"
fi
[ "$server" = file ] || [ "$server" = null ] || pool_wait_connected bench "$GUEST" 0

# our processes: the ones started in this host (other tests may run others)
ours() { # NAME
	local p
	for p in $(pgrep -x "$1"); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "XENSIM_DIR=$POOL_DIR/host" && echo "$p"
	done
	return 0 # the last process listed may be another host's (set -e, pipefail)
}
if [ "$server" = file ] || [ "$server" = null ]; then
	pids=${POOL_PIDS[-1]}
else
	pids=$( (ours nbdkit; ours vbdpool-nbd; ours vbdpool-backd) | paste -sd,)
fi
fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$POOL_DIR/nbd.sock" --rw="$rw" "${fio_extra[@]}" --bs="$bs" \
	--iodepth="$qd" --size="${size_mb}m" --runtime=7 --time_based --ramp_time=1 \
	--output-format=terse --output="$POOL_DIR/fio.terse" >/dev/null 2>&1 &
fio_pid=$!
sleep 2
# fio's own cost (its job process; the line "fio", not in the total): the
# client's CPU per request depends on the server (how it batches replies)
fio_job=$(pgrep -d, -P "$fio_pid" -x fio || true)
perf stat -x, -e "$events" -p "$pids${fio_job:+,$fio_job}" --per-thread -- sleep 4 2>"$POOL_DIR/stat.csv"
wait "$fio_pid"
if [[ $rw == *read* ]]; then f=8; else f=49; fi # terse v3: read / write IOPS
iops=$(awk -F';' -v f=$f 'NR==1{print int($f)}' "$POOL_DIR/fio.terse")
echo "nbd-prof: $server, $members member(s), $queues queue(s), $rw $bs QD$qd: $iops IOPS (load $(cut -d' ' -f1 /proc/loadavg))"
n=$((iops * 4))
if [[ $events == *syscalls* ]]; then # requests: the members' preadv + pwritev
	req=$(awk -F, '$1 ~ /^vbdpool-backd/ && $4 ~ /sys_enter_p(read|write)v$/ { s += $2 } END { print s + 0 }' "$POOL_DIR/stat.csv")
	echo "  requests in the 4 s window: $req (members' preadv + pwritev), $n (fio's IOPS x 4)"
	[ "$req" -gt 0 ] && n=$req
fi
awk -F, -v n="$n" '
$4 == "context-switches" { cs[$1] = $2 }
$4 == "task-clock" { tc[$1] = $2 }
$4 ~ /^syscalls:sys_enter_/ { k = $4; sub(/^syscalls:sys_enter_/, "", k); sc_[$1, k] = $2; K[k] = 1 }
END {
	for (t in cs) {
		c = t; sub(/-[0-9]+$/, "", c); sub(/-[0-9]+$/, "", c)
		if (cs[t] < 100 && tc[t] < 50) continue # idle (control threads)
		C[c] += cs[t]; T[c] += tc[t]; N[c]++
		for (k in K) S[c, k] += sc_[t, k]
	}
	for (c in C) {
		printf "  %-14s %2d threads  %5.2f cs/request  %6.2f us CPU/request", c, N[c], C[c] / n, T[c] * 1000 / n
		for (k in K) if (S[c, k] >= n / 100) printf "  %s %.2f", k, S[c, k] / n
		printf "\n"
		if (c == "fio") continue
		sc += C[c]; st += T[c]
	}
	printf "  %-14s             %5.2f cs/request  %6.2f us CPU/request\n", "total (not fio)", sc / n, st * 1000 / n
}' "$POOL_DIR/stat.csv"
