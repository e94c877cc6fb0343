#!/usr/bin/env bash
# bench/scale.sh: how the pool's control path scales with devices (issue 10
# item 6).  For each N (default 10 50 200): an emulated host, 3 member
# domains, N volumes each with 2 of them as members (as
# tests/integration/backend_scale.sh: Xen's default node quota) and each
# attached to a guest of its own with 4 queues (tests/progs/front_idle: the
# library, one event thread, no I/O), then
#   connect-s  seconds from the last attach (guests unpaused) until every
#              queue record is connected (polled every 0.1 s)
#   idle-cpu%  CPU of the emulator's daemon (xensimd: XenStore, the host's
#              one xenstored) plus every vbdpool-backd, utime+stime from
#              /proc/PID/stat over IDLE_S (10) seconds once the records stop
#              changing, as % of one core; then the two apart
#   xs-req/s   XenStore requests of the 3 member domains per second over
#              the same window (`xensim stats`)
#   sv%, sv-req/s  the same for dom0's vbdpool-supervisor (5 s lease: its
#              scan every 250 ms as with the default 1 s lease, without
#              fencing a member starved on a loaded machine), which runs
#              from the start; dom0 makes no other request in the window
# mode "one": one vbdpool-backd per member domain, no --volume (this tree).
# With OLD_BUILD=DIR (a build of an older tree, e.g. 179d14b, whose daemon
# takes at most 16 --volume): mode "old", ceil(N/16) daemons per member
# domain, each --volume for its 16 (the multi-daemon way), same guests;
# only up to 50 devices (beyond, its watches, one per volume, attachment
# and owned queue, pass Xen's quota of 128 per domain and queues never
# connect).
# Not a test: it prints a table (the issue's floor: 200 devices connected
# within 10 s and under 5% of one core idle).  Needs a build (make).
#
#   bench/scale.sh [N...]        env: VBD_BUILD (build/), OLD_BUILD, IDLE_S
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export VBD_BUILD=${VBD_BUILD:-$top/build} VBD_TOP=$top
IDLE_S=${IDLE_S:-10}

if [ "${1:-}" = --one ]; then # --one N MODE: one row (a process of its own)
	n=$2 mode=$3
	FRONT=$VBD_BUILD/tests/progs/front_idle
	[ "$mode" = old ] && export VBD_BUILD=$OLD_BUILD
	# shellcheck disable=SC1091 # the tree's, found at run time
	. "$top/tests/lib/pool.sh"
	# shellcheck disable=SC1091
	. "$top/tests/lib/scale.sh"
	pool_init vbdpool-bench-scale >/dev/null
	scale_volumes "$n"
	pool_supervisor --lease-ms 5000
	svpid=${POOL_PIDS[-1]}
	daemons=0
	for k in 0 1 2; do
		m=${M[$k]}
		if [ "$mode" = one ]; then
			"$XENSIM" exec --dir "$SIM_DIR" --domid "$m" -- "$BIN/vbdpool-backd" \
				>"$POOL_DIR/backd-$m.log" 2>&1 &
			POOL_PIDS+=($!)
			daemons=$((daemons + 1))
			continue
		fi
		mine=() # the volumes this member is in
		for ((i = 0; i < n; i++)); do scale_member_of "$k" "$i" && mine+=("v$i"); done
		for ((s = 0; s < ${#mine[@]}; s += 16)); do
			args=()
			for v in "${mine[@]:s:16}"; do args+=(--volume "$v"); done
			"$XENSIM" exec --dir "$SIM_DIR" --domid "$m" -- "$BIN/vbdpool-backd" "${args[@]}" \
				>"$POOL_DIR/backd-$m-$s.log" 2>&1 &
			POOL_PIDS+=($!)
			daemons=$((daemons + 1))
		done
	done
	scale_guests "$n" "$FRONT"
	t0=$(date +%s%N)
	nq=$((n * 4)) got=0
	for i in $(seq 1200); do
		got=$(scale_connected)
		[ "$got" -ge "$nq" ] && break
		sleep 0.1
	done
	t1=$(date +%s%N)
	[ "$got" -ge "$nq" ] || die "$got of $nq queues connected after 120 s"
	scale_settle || true
	pids=("$(cat "$SIM_DIR/xensimd.pid")")
	sv=$svpid # xensim exec --domid 0 execs the program in place
	for p in $(pgrep -x vbdpool-backd); do
		{ tr '\0' '\n' <"/proc/$p/environ" | grep -qx "XENSIM_DIR=$SIM_DIR"; } 2>/dev/null &&
			pids+=("$p")
	done
	ticks() { local p s=0; for p in "$@"; do
		s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $s; }
	reqs() { local m s=0 r; for m in "$@"; do
		r=$("$XENSIM" stats --dir "$SIM_DIR" --domid "$m"); s=$((s + ${r#xs-requests=})); done
		echo $s; }
	s0=$(ticks "${pids[0]}") c0=$(ticks "${pids[@]}") r0=$(reqs "${M[@]}") w0=$(date +%s%N)
	v0=$(ticks "$sv") q0=$(reqs 0)
	sleep "$IDLE_S"
	s1=$(ticks "${pids[0]}") c1=$(ticks "${pids[@]}") r1=$(reqs "${M[@]}") w1=$(date +%s%N)
	v1=$(ticks "$sv") q1=$(reqs 0)
	hz=$(getconf CLK_TCK)
	wall_ms=$(((w1 - w0) / 1000000))
	pct() { local x=$(($1 * 1000 * 10000 / hz / wall_ms)); echo "$((x / 100)).$(printf %02d $((x % 100)))"; }
	printf '%-5s %6d %8d %10.2f %12s %9s %9s %9d %6s %9d\n' "$mode" "$n" "$daemons" \
		"$(echo "scale=2; ($t1 - $t0) / 1000000000" | bc)" "$(pct $((c1 - c0)))" \
		"$(pct $((s1 - s0)))" "$(pct $((c1 - c0 - s1 + s0)))" $(((r1 - r0) * 1000 / wall_ms)) \
		"$(pct $((v1 - v0)))" $(((q1 - q0) * 1000 / wall_ms))
	exit 0
fi

[ $# -gt 0 ] || set -- 10 50 200
printf '# %s, load %s, %s\n' "$(date -u +%FT%TZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
	"$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')"
printf '%-5s %6s %8s %10s %12s %9s %9s %9s %6s %9s\n' mode devices daemons connect-s idle-cpu% \
	xensimd% members% xs-req/s sv% sv-req/s
for n in "$@"; do
	"$0" --one "$n" one
	if [ -n "${OLD_BUILD:-}" ]; then
		if [ "$n" -le 50 ]; then "$0" --one "$n" old; else echo "old   $n: not run (watch quota)"; fi
	fi
done
