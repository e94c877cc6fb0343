#!/usr/bin/env bash
# bench/nbd.sh — fio over NBD against the same backing file through
#   (a) nbdkit's file plugin, (b) qemu-nbd, (c) vbdpool with 1 and 3
# backends (emulated Xen host) exported two ways: nbdkit + the vbdpool
# plugin (sides vbdpool1, vbdpool3: columns p1, p3) and the native
# asynchronous server vbdpool-nbd (sides vbdnbd1, vbdnbd3: columns n1, n3),
# plus fio directly on the file for scale, and nbdkit's null plugin
# (side nbdkitnull, column a0: stores nothing; the ceiling of nbdkit's own
# path with this fio job, docs/perf.md "Why writes stay at parity").
# Jobs: 4 KiB random read QD16, 4 KiB random write QD16, 1 MiB sequential
# read and write QD4; and, only when asked for (BENCH_JOBS), syncwrite: 4 KiB
# random writes QD16, each followed by a flush (fio --fsync=1: NBD FLUSH),
# the durability path, worth running with BENCH_DIR on a disk.  Prints
# IOPS / MiB/s per side and each vbdpool side's ratio to (a) and (b).
#
# Caching: the backing file lives on tmpfs (/dev/shm) so that no side has a
# device cache the others lack: nbdkit's file plugin (1.32 has no O_DIRECT
# mode) reads/writes it through the page cache, which on tmpfs IS the file;
# qemu-nbd runs --cache=none (O_DIRECT), vbdpool's backends open it O_DIRECT
# (their default), fio-direct uses direct=1 — on tmpfs all of these are one
# memory copy into the file's pages.  BENCH_DIR=/some/disk/dir runs it on a
# disk instead (then nbdkit's side is buffered and the others are not).
#
# Usage: bench/nbd.sh [SECONDS_PER_JOB]   (needs `make` first)
# Env: BENCH_SIZE_MB (1024), BENCH_DIR (/dev/shm), BENCH_JOBS (subset of
# "randread randwrite read write syncwrite"), BENCH_SIDES (subset of
# "direct nbdkit nbdkitnull qemunbd vbdpool1 vbdpool3 vbdnbd1 vbdnbd3", run in
# that order), BENCH_QUEUES
# (4, queues of the vbdpool device), BENCH_NBDKIT_ARGS (extra nbdkit options
# for every nbdkit), BENCH_VBDNBD_ARGS (extra vbdpool-nbd options).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export VBD_BUILD=${VBD_BUILD:-$top/build} VBD_TOP=$top
secs=${1:-10}
size_mb=${BENCH_SIZE_MB:-1024}
base=${BENCH_DIR:-/dev/shm}
work=$(mktemp -d "$base/vbdpool-bench.XXXXXX")
pids=()
. "$top/tests/lib/pool.sh"
cleanup_bench() {
	set +e # a server that already exited must not stop the cleanup (set -e)
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup_bench EXIT
trap 'exit 130' INT TERM

img=$work/disk.img
dd if=/dev/urandom of="$img" bs=1M count="$size_mb" status=none

alljobs=("randread 4k 16" "randwrite 4k 16" "read 1m 4" "write 1m 4" "syncwrite 4k 16")
want_jobs=" ${BENCH_JOBS:-randread randwrite read write} "
sides=" ${BENCH_SIDES:-direct nbdkit nbdkitnull qemunbd vbdpool1 vbdpool3 vbdnbd1 vbdnbd3} "
queues=${BENCH_QUEUES:-4}
jobs=()
for j in "${alljobs[@]}"; do [[ $want_jobs == *" ${j%% *} "* ]] && jobs+=("$j"); done
declare -A R

run_fio() { # label uri-or-file job...
	local label=$1 target=$2 rw bs qd out v frw extra
	for j in "${jobs[@]}"; do
		read -r rw bs qd <<<"$j"
		out=$work/fio-$label-$rw.terse
		frw=$rw extra=()
		[ "$rw" = syncwrite ] && frw=randwrite extra=(--fsync=1)
		if [[ $target == nbd* ]]; then
			fio --name=b --ioengine=nbd --uri="$target" --rw="$frw" "${extra[@]}" --bs="$bs" --iodepth="$qd" \
				--size="${size_mb}m" --runtime="$secs" --time_based --ramp_time=1 \
				--output-format=terse --output="$out" >/dev/null 2>&1
		else
			fio --name=b --ioengine=io_uring --direct=1 --filename="$target" --rw="$frw" "${extra[@]}" --bs="$bs" \
				--iodepth="$qd" --size="${size_mb}m" --runtime="$secs" --time_based --ramp_time=1 \
				--output-format=terse --output="$out" >/dev/null 2>&1
		fi
		if [[ $rw == *read* ]]; then k="read"; else k="write"; fi
		# terse v3: read bw KiB/s = field 7, read IOPS = 8; write: 48, 49
		if [ $k = read ]; then fbw=7 fiops=8; else fbw=48 fiops=49; fi
		if [ "$bs" = 4k ]; then
			v=$(awk -F';' -v f=$fiops 'NR==1{print int($f)}' "$out")
		else
			v=$(awk -F';' -v f=$fbw 'NR==1{print int($f/1024)}' "$out")
		fi
		R[$label,$rw]=$v
	done
}

wait_sock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no socket $1" >&2; exit 1; }

run_side() { # SIDE
	local side=$1 n
	case $side in
	direct) # (0) fio directly on the file
		run_fio direct "$img" ;;
	nbdkit) # (a) nbdkit file plugin
		# shellcheck disable=SC2086
		nbdkit -f -U "$work/a.sock" ${BENCH_NBDKIT_ARGS:-} file "$img" & pids+=($!); wait_sock "$work/a.sock"
		run_fio nbdkit "nbd+unix:///?socket=$work/a.sock"
		kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true ;;
	nbdkitnull) # (a0) nbdkit's null plugin: no storage at all
		# shellcheck disable=SC2086
		nbdkit -f -U "$work/a0.sock" ${BENCH_NBDKIT_ARGS:-} null "${size_mb}M" & pids+=($!); wait_sock "$work/a0.sock"
		run_fio nbdkitnull "nbd+unix:///?socket=$work/a0.sock"
		kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true ;;
	qemunbd) # (b) qemu-nbd
		qemu-nbd -t -f raw --cache=none --aio=io_uring --shared=16 -k "$work/b.sock" "$img" & pids+=($!); wait_sock "$work/b.sock"
		run_fio qemunbd "nbd+unix:///?socket=$work/b.sock"
		kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true ;;
	vbdpool1 | vbdpool3 | vbdnbd1 | vbdnbd3) # (c) nbdkit + plugin, or vbdpool-nbd
		n=${side: -1}
		(
			if [[ $side == vbdnbd* ]]; then
				export POOL_NBD_SERVER=vbdpool-nbd POOL_NBD_ARGS=${BENCH_VBDNBD_ARGS:-}
			fi
			TMPDIR=$work pool_init
			pool_volume bench "$size_mb" "$img"
			for _ in $(seq "$n"); do pool_member bench ${BENCH_BACKD_ARGS:-}; done
			pool_guest bench "$queues"
			pool_wait_connected bench "$GUEST" 0
			run_fio "$side" "$NBD_URI"
			for k in "${!R[@]}"; do echo "$k ${R[$k]}"; done >"$work/res-$side"
		)
		while read -r k v; do R[$k]=$v; done <"$work/res-$side" ;;
	*) echo "unknown side $side" >&2; exit 2 ;;
	esac
}
# in the order of BENCH_SIDES (so that repeated runs can interleave both ways)
for side in $sides; do run_side "$side"; done

ratio() { if [ -n "$1" ] && [ -n "$2" ] && [ "$2" != 0 ]; then printf '%.2f' "$(echo "$1/$2" | bc -l)"; else echo -; fi; }
printf '\nbackend: %s (%s MiB), %ss per job, %s, load %s\n' "$base" "$size_mb" "$secs" "$(date -u '+%F %T')" \
	"$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'a = nbdkit-file, a0 = nbdkit-null (no storage), b = qemu-nbd; p1/p3 = nbdkit + vbdpool plugin, n1/n3 = vbdpool-nbd (1/3 members)\n'
printf '%-22s %9s %9s %9s %9s %9s %9s %9s %9s' job direct a a0 b p1 p3 n1 n3
printf ' %6s' p1/a p3/a n1/a n3/a p1/b p3/b n1/b n3/b
printf '\n'
for j in "${jobs[@]}"; do
	read -r rw bs qd <<<"$j"
	unit=IOPS; [ "$bs" = 1m ] && unit=MiB/s
	a=${R[nbdkit,$rw]:-} b=${R[qemunbd,$rw]:-}
	printf '%-22s %9s %9s %9s %9s' "$rw $bs QD$qd ($unit)" "${R[direct,$rw]:--}" "${a:--}" \
		"${R[nbdkitnull,$rw]:--}" "${b:--}"
	for side in vbdpool1 vbdpool3 vbdnbd1 vbdnbd3; do printf ' %9s' "${R[$side,$rw]:--}"; done
	for ref in "$a" "$b"; do
		for side in vbdpool1 vbdpool3 vbdnbd1 vbdnbd3; do printf ' %6s' "$(ratio "${R[$side,$rw]:-}" "$ref")"; done
	done
	printf '\n'
done
