#!/usr/bin/env bash
# bench/pool.sh — the pool's reason to exist (issue 12 item 3): more driver
# domains, more capacity; load moved away from a slow one.  A benchmark,
# not a test (make check does not run it): it prints figures and ratios
# against baselines measured side by side in the same run.
#
# Each member's storage path has a capacity, like a driver domain's own HBA
# or NIC: vbdpool-backd --throttle-file (a token bucket of POOL_IOPS IOPS
# shared by all its queues, re-read on SIGHUP), low enough that the path,
# not the CPU, is the bottleneck even on a loaded 2-core machine.  The
# guest: bench/ring (libvbdpool-front, 4 KiB random reads, POOL_QD in
# flight, one context) on a device with POOL_QUEUES queues.  Every
# scenario runs on its own emulated Xen host; the backing is a file on
# POOL_BENCH_DIR (tmpfs by default).
#
#  (a) aggregate IOPS with 1, 2, 3, 4 members (members join one by one; the
#      balancer spreads the queues before each measurement):
#      scaling = IOPS(4) / (4 x IOPS(1))
#  (b) 3 members; POOL_PRE s into the run one member's capacity drops to
#      20% (its throttle file rewritten, SIGHUP).  From bench/ring's
#      timeline (completions every 100 ms): IOPS per second; settled = mean of the last POOL_TAIL seconds;
#      settle_s = time from the drop until every later second is within 10%
#      of settled.  degraded = settled / (2.2 x IOPS(1)) (2.2 members' worth
#      of capacity is left)
#  (c) the same drop with one driver domain serving the device (blkback's
#      model: no pool) and with 3 members --no-balance (a static split):
#      vs_single = pool settled / single settled,
#      vs_static = pool settled / static settled
#  (d) 3 members and the supervisor (lease POOL_LEASE_MS); POOL_PRE s into
#      the run one member's domain is destroyed: failover_ms = the longest
#      request (issued before the death, served after the takeover), and
#      the longest gap between two completions (the other members' queues
#      keep completing meanwhile)
# Last line: pool-summary scaling=R degraded=R vs_single=R vs_static=R
#            settle_s=S failover_ms=M
#
# Usage: bench/pool.sh        (needs a build: make; BUILD or VBD_BUILD)
# Env: POOL_IOPS (1000, per member), POOL_QUEUES (12), POOL_QD (64),

# POOL_SECS (8, each measurement of (a)), POOL_PRE (6), POOL_POST (24),
# POOL_TAIL (8), POOL_LEASE_MS (1000), POOL_BENCH_DIR (/dev/shm),
# POOL_BACKD_ARGS (extra vbdpool-backd options), POOL_PARTS (subset of
# "a b c d"), VBD_KEEP=1 keeps the temp dirs.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export VBD_BUILD=${VBD_BUILD:-$top/${BUILD:-build}} VBD_TOP=$top
cap=${POOL_IOPS:-1000}
nq=${POOL_QUEUES:-12}
qd=${POOL_QD:-64}
secs=${POOL_SECS:-8}
pre=${POOL_PRE:-6}
post=${POOL_POST:-24}
tail_s=${POOL_TAIL:-8}
lease=${POOL_LEASE_MS:-1000}
parts=" ${POOL_PARTS:-a b c d} "
for v in "$cap" "$nq" "$qd" "$secs" "$pre" "$post" "$tail_s" "$lease"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench/pool.sh: POOL_* want positive integers" >&2; exit 2; }
done
[ "$tail_s" -lt "$post" ] || { echo "bench/pool.sh: POOL_TAIL must be below POOL_POST" >&2; exit 2; }
[ -x "$VBD_BUILD/bin/vbdpool-backd" ] || { echo "bench/pool.sh: no $VBD_BUILD/bin/vbdpool-backd (make first)" >&2; exit 2; }
export TMPDIR=${POOL_BENCH_DIR:-/dev/shm}
res=$(mktemp -d "$TMPDIR/vbdpool-poolbench.XXXXXX")
trap '[ -n "${VBD_KEEP:-}" ] || rm -rf "$res"' EXIT
low=$((cap / 5))

# ---- helpers, run inside one scenario's subshell (tests/lib/pool.sh) ------
# start_members N [ARGS]: N more members of vol1 (as pool_member), each with
# its own capacity file $POOL_DIR/cap-<domid>; domids appended to MEMBERS
start_members() {
	local n=$1 i d
	shift
	for ((i = 0; i < n; i++)); do
		d=$(pool_domain "back${#MEMBERS[@]}") || die "create backend domain"
		echo "iops=$cap" >"$POOL_DIR/cap-$d"
		ctl member add vol1 "$d" >/dev/null || die "member add vol1 $d"
		# shellcheck disable=SC2086 # POOL_BACKD_ARGS: words
		"$XENSIM" exec --dir "$SIM_DIR" --domid "$d" -- "$BIN/vbdpool-backd" --volume vol1 \
			--throttle-file "$POOL_DIR/cap-$d" ${POOL_BACKD_ARGS:-} "$@" \
			>"$POOL_DIR/backd-$d.log" 2>&1 &
		POOL_PIDS+=($!)
		MEMBERS+=("$d")
	done
}
counts() { # -> "dom:n dom:n ..." for the members, in MEMBERS order
	local o d out=""
	o=" $(pool_owners vol1 "$GUEST" 0) "
	for d in "${MEMBERS[@]}"; do out="$out $d:$(grep -o "=$d " <<<"$o" | wc -l)"; done
	echo "${out# }"
}
all_connected() {
	local q
	for ((q = 0; q < nq; q++)); do
		[[ $(pool_rec vol1 "$GUEST" 0 "$q") == *state=connected* ]] || return 1
	done
}
# wait until the queues are spread (max - min <= 1) and connected
wait_spread() { # SECONDS
	local i c mn mx
	for ((i = 0; i < $1 * 4; i++)); do
		c=$(counts)
		mn=$(tr ' ' '\n' <<<"$c" | cut -d: -f2 | sort -n | head -n 1)
		mx=$(tr ' ' '\n' <<<"$c" | cut -d: -f2 | sort -n | tail -n 1)
		if [ $((mx - mn)) -le 1 ] && all_connected; then
			return 0
		fi
		sleep 0.25
	done
	pool_log "queues not spread after $1 s: $c"
}
# load SECONDS [TIMELINE]: bench/ring in the guest (libvbdpool-front, 4 KiB
# random reads, POOL_QD in flight, one context: every queue of the device
# gets requests); prints IOPS.  (Not fio through vbdpool-nbd: vbdpool-nbd
# serves its connections on the library's context 0, which submits to its
# own queues only, so the queues of the other contexts -- and a member
# owning only those -- would get no load.)  TIMELINE: "ms completed" every
# 100 ms, and the longest request and gap in TIMELINE.end
load() {
	local out=$POOL_DIR/ring.$RANDOM.out
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$GUEST" -- env VBD_LOG=warn "$VBD_BUILD/bench/ring" \
		--devid 0 --qd "$qd" --contexts 1 --seconds "$1" ${2:+--timeline "$2"} >"$out" 2>&1
	[ -n "${2:-}" ] && grep 'ring: timeline' "$out" >"$2.end"
	sed -n 's/.* iops=\([0-9]*\) .*/\1/p' "$out" | head -n 1
}
# member_iops: "dom:IOPS ..." from the members' published load
member_iops() {
	local d out=""
	for d in "${MEMBERS[@]}"; do
		out="$out $d:$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$d/load" 2>/dev/null |
			sed -n 's/.*iops=\([0-9]*\).*/\1/p')"
	done
	echo "${out# }"
}
# owners_log FILE: every 0.25 s "ms counts" until killed
owners_log() { while :; do echo "$(date +%s%3N) $(counts)"; sleep 0.25; done >"$1"; }

# timeline TIMELINE T_EVENT_S: per-second IOPS from bench/ring's timeline
# (line k: completions by k x 100 ms); prints "pre=IOPS settled=IOPS
# settle_s=S maxlat_ms=M maxgap_ms=G" and writes the per-second series to
# TIMELINE.sec
timeline() {
	local end lat gap
	end=$(cat "$1.end" 2>/dev/null)
	lat=$(sed -n 's/.*longest request \([0-9.]*\) ms.*/\1/p' <<<"$end")
	gap=$(sed -n 's/.*completions \([0-9.]*\) ms.*/\1/p' <<<"$end")
	awk -v ev="$2" -v tail="$tail_s" -v secfile="$1.sec" -v lat="${lat:-0}" -v gap="${gap:-0}" '
{ c[NR - 1] = $2; n = NR }
END {
	end = int((n - 1) / 10)
	for (s = 0; s < end; s++) { v[s] = c[(s + 1) * 10] - c[s * 10]; printf "%d %d\n", s, v[s] > secfile }
	for (s = 1; s < ev; s++) { p += v[s]; pn++ }
	for (s = end - tail; s < end; s++) { q += v[s]; qn++ }
	settled = qn ? q / qn : 0
	st = 0
	for (s = end - 1; s >= ev; s--) if (v[s] < 0.9 * settled || v[s] > 1.1 * settled) { st = s + 1 - ev; break }
	printf "pre=%d settled=%d settle_s=%d maxlat_ms=%d maxgap_ms=%d\n", (pn ? p / pn : 0), settled, st, lat, gap
}' "$1"
}
kv() { [ -f "$res/$1" ] && sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$res/$1" | tail -n 1; }

# ---- (a) aggregate with 1..4 members ---------------------------------------
part_a() {
	. "$top/tests/lib/pool.sh"
	pool_init vbdpool-poolbench-a
	MEMBERS=()
	pool_volume vol1 64
	start_members 1
	pool_attach vol1 "$nq"
	# one bench/ring run for all four steps (hand-offs need a frontend)
	local tlf=$POOL_DIR/timeline m a b per
	load 100000 "$tlf" >/dev/null &
	local lp=$!
	for m in 1 2 3 4; do
		[ "$m" = 1 ] || start_members 1
		sleep 1
		wait_spread 40
		sleep 1
		a=$(tail -n 1 "$tlf")
		sleep $((secs / 2))
		per=$(member_iops)
		sleep $((secs - secs / 2))
		b=$(tail -n 1 "$tlf")
		v=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); print int((y[2] - x[2]) * 1000 / (y[1] - x[1])) }')
		pool_log "(a) $m member(s): $v IOPS; queues $(counts); members' IOPS mid-run $per"
		echo "iops$m=$v" >>"$res/a"
	done
	kill "$lp"
	true
}

# ---- (b)/(c) the drop to 20% ------------------------------------------------
# degrade NAME N [BACKD ARGS]: N members, the first one's capacity drops
degrade() {
	local name=$1 n=$2
	shift 2
	. "$top/tests/lib/pool.sh"
	pool_init "vbdpool-poolbench-$name"
	MEMBERS=()
	pool_volume vol1 64
	start_members "$n" "$@"
	sleep 1 # all joined before the guest attaches (an even initial split)
	pool_attach vol1 "$nq"
	pool_log "($name) before: queues $(counts)"
	owners_log "$POOL_DIR/owners.log" &
	local olog=$! tlf=$POOL_DIR/timeline
	(sleep "$pre"; echo "iops=$low" >"$POOL_DIR/cap-${MEMBERS[0]}"
		kill -HUP "$(pool_backd_pid "${MEMBERS[0]}")"; date +%s%3N >"$POOL_DIR/t_drop") &
	local dropper=$!
	load $((pre + post)) "$tlf" >/dev/null
	wait "$dropper"
	kill "$olog"
	wait "$olog" 2>/dev/null
	local tl last_move
	tl=$(timeline "$tlf" "$pre")
	# the last change of the queue split after the drop (s after it)
	last_move=$(awk -v t0="$(cat "$POOL_DIR/t_drop")" '$1 >= t0 { k = ""; for (i = 2; i <= NF; i++) k = k " " $i; if (k != prev && prev != "") last = $1 - t0; prev = k } END { printf "%.1f", last / 1000 }' "$POOL_DIR/owners.log")
	pool_log "($name) member ${MEMBERS[0]} at $low IOPS from ${pre} s: $tl; last queue move ${last_move} s after the drop; queues $(counts)"
	echo "$tl last_move_s=$last_move" >"$res/$name"
	cp "$tlf.sec" "$res/$name.sec"
	grep -h "handing" "$POOL_DIR"/backd-*.log | sort -n | tail -n 20 >"$res/$name.moves" || true
}

# ---- (d) a member dies under the load ---------------------------------------
part_d() {
	. "$top/tests/lib/pool.sh"
	pool_init vbdpool-poolbench-d
	MEMBERS=()
	pool_volume vol1 64
	pool_supervisor --lease-ms "$lease"
	start_members 3
	sleep 1
	pool_attach vol1 "$nq"
	local tlf=$POOL_DIR/timeline victim=${MEMBERS[1]}
	(sleep "$pre"; "$XENSIM" destroy --dir "$SIM_DIR" "$victim") &
	local killer=$!
	load $((pre + 12)) "$tlf" >/dev/null
	wait "$killer"
	local tl
	tl=$(timeline "$tlf" "$pre")
	pool_log "(d) domain $victim destroyed at ${pre} s: $tl; queues $(counts)"
	echo "$tl" >"$res/d"
	true
}

echo "bench/pool.sh: capacity $cap IOPS per member (20%: $low), $nq queues, bench/ring randread 4k qd $qd (1 context); load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
[[ $parts == *" a "* ]] && (part_a)
[[ $parts == *" b "* ]] && (degrade pool 3)
[[ $parts == *" c "* ]] && { (degrade single 1); (degrade static 3 --no-balance); }
[[ $parts == *" d "* ]] && (part_d)

# ---- report -----------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
i1=$(kv a iops1) i4=$(kv a iops4)
echo
echo "(a) aggregate (4 KiB random read IOPS; capacity $cap per member)"
printf '    members  IOPS    per member\n'
for m in 1 2 3 4; do
	v=$(kv a "iops$m")
	[ -n "$v" ] && printf '    %-8s %-7s %s\n' "$m" "$v" "$(ratio "$v" "$m")"
done
scaling=$(awk -v a="$i4" -v b="$i1" 'BEGIN { if (a == "" || b + 0 == 0) print "-"; else printf "%.2f", a / (4 * b) }')
echo "    scaling = IOPS(4) / (4 x IOPS(1)) = $scaling"
echo
echo "(b, c) one member's path drops to 20% ($cap -> $low IOPS) ${pre} s into the run"
printf '    %-34s %-8s %-8s %-9s %-10s %s\n' side before settled settle_s last_move "longest request ms"
for s in pool static single; do
	[ -f "$res/$s" ] || continue
	case $s in
	pool) d="pool, 3 members (balancing)" ;;
	static) d="pool, 3 members, --no-balance" ;;
	single) d="1 driver domain (blkback's model)" ;;
	esac
	printf '    %-34s %-8s %-8s %-9s %-10s %s\n' "$d" "$(kv "$s" pre)" "$(kv "$s" settled)" \
		"$(kv "$s" settle_s)" "$(kv "$s" last_move_s)" "$(kv "$s" maxlat_ms)"
done
ps=$(kv pool settled)
degraded=$(awk -v a="$ps" -v b="$i1" 'BEGIN { if (a == "" || b + 0 == 0) print "-"; else printf "%.2f", a / (2.2 * b) }')
vs_single=$(ratio "$ps" "$(kv single settled)")
vs_static=$(ratio "$ps" "$(kv static settled)")
settle=$(kv pool settle_s)
echo "    degraded  = pool settled / (2.2 x IOPS(1)) = $degraded  (the capacity left is 2.2 members' worth)"
echo "    vs_single = pool settled / one driver domain settled = $vs_single  (what the pool gives a guest over blkback's one driver domain whose path degrades)"
echo "    vs_static = pool settled / static split settled = $vs_static  (what moving queues away from the slow member gives over a split that does not react)"
echo "    settle_s  = $settle  (from the drop until every later second is within 10% of settled)"
[ -f "$res/pool.moves" ] && { echo "    the pool's hand-offs:"; sed 's/^/      /' "$res/pool.moves"; }
echo
failover=$(kv d maxlat_ms)
[ -f "$res/d" ] && {
	echo "(d) a member's domain destroyed under the load (supervisor lease $lease ms)"
	echo "    IOPS before $(kv d pre), after $(kv d settled); longest request $(kv d maxlat_ms) ms; longest gap between completions $(kv d maxgap_ms) ms"
	echo
}
echo "pool-summary scaling=$scaling degraded=$degraded vs_single=$vs_single vs_static=$vs_static settle_s=${settle:--} failover_ms=${failover:--}"
