#!/usr/bin/env bash
# bench/chaos.sh — fault campaign (issue 9, "Every failure survived"): a
# benchmark, not a test (make check does not run it).
#
# One emulated Xen host; a 64 MiB volume (on tests/faultfs when /dev/fuse
# works, so that storage-path faults can be injected; else a plain file and
# the path faults are skipped); 4 members; the supervisor (lease 1000 ms,
# default destroy policy); a guest with 8 queues exported by vbdpool-nbd;
# tests/progs/front_verify over NBD running all the time, in rounds (one
# run per CHAOS_PER_ROUND faults, ended by SIGTERM: --term-ends), each
# logging every operation slower than CHAOS_SLOW_MS and every failed one
# (--slow-log) with its wall-clock start.
#
# Faults, drawn at random (seed printed; CHAOS_SEED to repeat):
#   destroy     `xensim destroy` of a member's domain; a replacement joins
#   sigterm     SIGTERM of a member's vbdpool-backd (clean hand-off), then
#               restarted in the same domain
#   sigkill     SIGKILL of a member's backd, its domain alive: the supervisor
#               must fence it (destroy); a replacement joins
#   pause-short domain paused 300 ms (< lease), unpaused: must NOT be fenced
#   pause-long  domain paused 3 s: must be fenced (destroyed); replacement
#   eio         faultfs `fail PID` on one member's path for 1 s, then `ok`;
#               a member left `failed` should be reinstated by its path
#               checker (info i-reinstated); if it is not `active` 3 s
#               later it is restarted (SIGTERM + start: anomaly
#               state-failed), or replaced if that does not bring it back
#   slow        faultfs `delay-writes PID 200` for 2 s, then `nodelay`
#   join        a member joins (with 4 live, the oldest first leaves cleanly:
#               SIGTERM, member remove, its domain destroyed)
#   badrsp      a member's backd restarted (SIGTERM + start) with --fault
#               bad-response:op=write,ios=N (N < 200): its N+1st write is
#               answered with a wrong operation (a member breaking the ring
#               protocol, its domain alive); the frontend must abandon that
#               ring and announce it, the member release the queue, another
#               take it (info i-abandoned once the member logged it, within
#               10 s; i-not-yet if its writes had not come by then)
#   svkill      SIGKILL of the supervisor (dom0's service: a crash, or an
#               upgrade that kills it), restarted 0.5 s later; 1.5 s after
#               that every live member must still be active (a wrongly
#               fenced one is an anomaly, fenced-wrongly, and is replaced)
#               and the new supervisor must have published its pid
#               (anomaly sv-pid)
# The pool stays at 3-4 live members.  After each fault the script waits
# until the pool has recovered (every queue connected, a new member active)
# and CHAOS_GAP_MS more before the next.
#
# A guest operation's stall is attributed to the fault whose window (from
# its injection to the next one's) holds the end of that operation; "-"
# rows are the windows before the first fault of each run.  Per fault kind:
# count, guest I/O errors, verify failures (mismatches), p99.9 and max of
# the per-fault stall (the longest guest operation in its window; 0 when
# none reached CHAOS_SLOW_MS) and anomalies (a fault that did not do what
# it should: not fenced, fenced wrongly, no recovery...; listed at the end).
# Last line: chaos-summary faults=N errors=N verify_failures=N max_stall_ms=M
#
# Usage: bench/chaos.sh [N_FAULTS]    (default 500; needs `make` first)
#        bench/chaos.sh --report DIR  the table again from a kept run's dir
# Env: VBD_BUILD (build), CHAOS_SEED, CHAOS_PER_ROUND (15), CHAOS_GAP_MS
# (300), CHAOS_THREADS (4, front_verify threads), CHAOS_SLOW_MS (50),
# CHAOS_KINDS (subset of the kinds above), VBD_KEEP=1 keeps the temp dir.
# Seeds recorded before svkill existed (2026-12-05 12:50) drew from
# CHAOS_KINDS="destroy sigterm sigkill pause-short pause-long join badrsp eio
# slow": give that list to repeat them.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export VBD_BUILD=${VBD_BUILD:-$top/build} VBD_TOP=$top
# the table, from a run's dir (events.tsv, slow.log): also
# `bench/chaos.sh --report DIR` for a run kept with VBD_KEEP=1
report() { # DIR [FAILED_RUNS]
	sort -n -k1,1 "$1/events.tsv" >"$1/events.sorted"
	awk -v slowfile="$1/slow.log" -v failed_runs="${2:-?}" -F'\t' '
function pct(arr, n, p,   idx, j, k, t, a) {
	for (j = 1; j <= n; j++) a[j] = arr[j]
	for (j = 2; j <= n; j++) { t = a[j]; for (k = j - 1; k >= 1 && a[k] > t; k--) a[k + 1] = a[k]; a[k + 1] = t }
	idx = int(p * n + 0.999999); if (idx < 1) idx = 1; if (idx > n) idx = n
	return a[idx]
}
{ ts[NR] = $1; kind[NR] = $2; note[NR] = $6; rec[NR] = $5; fence[NR] = $8; n = NR }
END {
	while ((getline line < slowfile) > 0) {
		split(line, f, " ")
		end = f[1] + f[2]
		# the window holding the end of the operation: last event at or before it
		lo = 1; hi = n; w = 0
		while (lo <= hi) { mid = int((lo + hi) / 2); if (ts[mid] <= end) { w = mid; lo = mid + 1 } else hi = mid - 1 }
		if (w == 0) continue
		if (f[3] ~ /-error$/) err[w]++
		else if (f[3] == "mismatch") mis[w]++
		else if (f[2] > stall[w]) stall[w] = f[2]
		if (f[3] !~ /-error$/ && f[3] != "mismatch" && f[2] > maxall) maxall = f[2]
	}
	order = "destroy sigterm sigkill pause-short pause-long eio slow join badrsp svkill"
	printf "%-12s %6s %7s %8s %7s %10s %9s %10s %10s %s\n", "kind", "count", "errors", "verify", "p50-ms", "p99.9-ms", "max-ms", "rec-max-ms", "fence-max", "anomalies"
	for (e = 1; e <= n; e++) {
		k = kind[e]; cnt[k]++; v = stall[e] + 0; vals[k, cnt[k]] = v
		E[k] += err[e]; M[k] += mis[e]
		if (k != "-" && rec[e] + 0 > recmax[k]) recmax[k] = rec[e] + 0
		if (fence[e] != "-" && fence[e] != "" && fence[e] + 0 > fmax[k]) fmax[k] = fence[e] + 0
		if (k != "-" && note[e] != "-" && note[e] != "") {
			split(note[e], tags, ","); bad = 0
			for (t in tags) { tagc[k " " tags[t]]++; if (tags[t] !~ /^i-/) bad = 1 }
			an[k] += bad
		}
	}
	# any other kind too (a kind missing from the order must not drop out
	# of the table and the summary), then the windows with no fault
	for (k in cnt) if (k != "-" && index(" " order " ", " " k " ") == 0) order = order " " k
	order = order " -"
	nk = split(order, ks, " ")
	for (j = 1; j <= nk; j++) {
		k = ks[j]; if (!(k in cnt)) continue
		delete tmp; for (x = 1; x <= cnt[k]; x++) tmp[x] = vals[k, x]
		printf "%-12s %6d %7d %8d %7d %10d %9d %10s %10s %d\n", (k == "-" ? "(no fault)" : k), cnt[k], E[k], M[k], pct(tmp, cnt[k], 0.5), pct(tmp, cnt[k], 0.999), pct(tmp, cnt[k], 1.0), (k == "-" ? "-" : recmax[k]), (k in fmax ? fmax[k] : "-"), an[k]
		if (k != "-") { F += cnt[k] }
		TE += E[k]; TM += M[k]
		if (k != "-" && pct(tmp, cnt[k], 1.0) > maxf) maxf = pct(tmp, cnt[k], 1.0)
	}
	for (t in tagc) { split(t, kt, " "); printf "  %s %s after %s: %d\n", (kt[2] ~ /^i-/ ? "info" : "anomaly"), kt[2], kt[1], tagc[t] }
	printf "chaos-summary faults=%d errors=%d verify_failures=%d max_stall_ms=%d failed_runs=%d\n", F, TE, TM, (maxall > maxf ? maxall : maxf), failed_runs
}' "$1/events.sorted"
}
[ "${1:-}" = --report ] && { [ -f "${2:-}/events.tsv" ] || { echo "usage: bench/chaos.sh --report DIR" >&2; exit 2; }; report "$2"; exit; }
nfaults=${1:-500}
[[ $nfaults =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/chaos.sh [N_FAULTS]" >&2; exit 2; }
seed=${CHAOS_SEED:-$(($(date +%s) % 100000))}
per_round=${CHAOS_PER_ROUND:-15}
gap_ms=${CHAOS_GAP_MS:-300}
threads=${CHAOS_THREADS:-4}
slow_ms=${CHAOS_SLOW_MS:-50}
lease=1000
RANDOM=$seed
. "$top/tests/lib/pool.sh"
pool_init vbdpool-chaos

ms() { date +%s%3N; }
note() { pool_log "  note: $*"; notes+=("$*"); fnote="${fnote:+$fnote,}$1"; }
mstate() { xs0 xenstore-read "/vbdpool/volumes/vol1/members/$1/state" 2>/dev/null; }
wait_state() { # DOMID STATE|STATE2 SECS
	local i s
	for ((i = 0; i < $3 * 20; i++)); do
		s=$(mstate "$1")
		[[ "|$2|" == *"|$s|"* ]] && return 0
		sleep 0.05
	done
	return 1
}
dom_listed() { "$XENSIM" list --dir "$SIM_DIR" "$1" 2>/dev/null | awk -v d="$1" '$2 == d' | grep -q .; }
# every queue of the guest's device connected (bounded)
all_connected() { # SECS
	local i n
	for ((i = 0; i < $1 * 10; i++)); do
		n=$(xs0 xenstore-ls "/vbdpool/volumes/vol1/attachments/$GUEST-0" 2>/dev/null |
			grep -c '^queue-[0-9]* = ".*state=connected')
		[ "$n" = 8 ] && return 0
		sleep 0.1
	done
	return 1
}

pool_faultfs_ok=0
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && [ -x "$VBD_BUILD/tests/faultfs" ]; then
	pool_faultfs 64
	pool_faultfs_ok=1
	pool_volume vol1 64 "$FAULTFS_DISK"
else
	pool_volume vol1 64
fi

live=() nseq=0 notes=()
start_backd() { # DOMID [ARGS...]
	local d=$1
	shift
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$d" -- "$BIN/vbdpool-backd" --volume vol1 "$@" \
		>>"$POOL_DIR/backd-$d.log" 2>&1 &
	POOL_PIDS+=($!)
}
add_member() {
	local d
	nseq=$((nseq + 1))
	d=$(pool_domain "m$nseq") || { note no-domain "create domain m$nseq failed"; return 1; }
	ctl member add vol1 "$d" >/dev/null || { note add-failed "member add $d failed"; return 1; }
	start_backd "$d"
	live+=("$d")
	wait_state "$d" active 10 || note join-slow "new member $d not active after 10 s: $(mstate "$d")"
}
drop_live() {
	local a=() x
	for x in "${live[@]}"; do [ "$x" = "$1" ] || a+=("$x"); done
	live=("${a[@]}")
}
retire() { # DOMID: a member that is gone (or to go): out of the volume
	drop_live "$1"
	local out
	# (the supervisor may have removed a gone domain already: fine)
	out=$(ctl member remove vol1 "$1" 2>&1) || [[ $out == *"is not a member"* ]] ||
		note remove-failed "member remove $1 failed: $out"
}
# a process that exists and is not a zombie (kill -0 succeeds on an unreaped child)
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
wait_exit() { # PID SECS
	local i
	for ((i = 0; i < $2 * 20; i++)); do alive "$1" || return 0; sleep 0.05; done
	return 1
}
pick() { victim=${live[RANDOM % ${#live[@]}]}; }
# the victim is gone (destroyed or fenced): wait until the supervisor says
# so and its domain has left the list, then replace it
replace() { # DOMID
	wait_state "$1" "dead|fenced|" 5 || note not-dead "dom$1 not recorded dead: $(mstate "$1")"
	sim_wait_gone "$1" 5 || note still-listed "dom$1 still listed"
	retire "$1"
	add_member
}
restart_backd() { # DOMID PID: clean stop, start again in the same domain
	kill -TERM "$2"
	wait_exit "$2" 15 || { note leave-slow "backd $2 of dom$1 still running 15 s after SIGTERM"; kill -KILL "$2"; }
	start_backd "$1"
	wait_state "$1" active 10
}

f_destroy() {
	pick
	"$XENSIM" destroy --dir "$SIM_DIR" "$victim"
	drop_live "$victim"
	replace "$victim"
}
f_sigterm() {
	local p
	pick
	p=$(pool_backd_pid "$victim") || { note no-backd "no backd in domain $victim"; return; }
	restart_backd "$victim" "$p" || note rejoin-failed "dom$victim not active after restart: $(mstate "$victim")"
}
f_badrsp() {
	local p n j
	pick
	p=$(pool_backd_pid "$victim") || { note no-backd "no backd in domain $victim"; return; }
	n=$(grep -c 'the frontend abandoned our ring' "$POOL_DIR/backd-$victim.log" || true)
	kill -TERM "$p"
	wait_exit "$p" 15 || { note leave-slow "backd $p of dom$victim still running 15 s after SIGTERM"; kill -KILL "$p"; }
	start_backd "$victim" --fault "bad-response:op=write,ios=$((RANDOM % 200))"
	wait_state "$victim" active 10 || note rejoin-failed "dom$victim not active after restart: $(mstate "$victim")"
	for ((j = 0; j < 200; j++)); do
		[ "$(grep -c 'the frontend abandoned our ring' "$POOL_DIR/backd-$victim.log" || true)" -gt "$n" ] && break
		sleep 0.05
	done
	if [ "$(grep -c 'the frontend abandoned our ring' "$POOL_DIR/backd-$victim.log" || true)" -gt "$n" ]; then
		fnote="${fnote:+$fnote,}i-abandoned"
	else
		fnote="${fnote:+$fnote,}i-not-yet"
	fi
}
f_sigkill() {
	local p t0
	pick
	p=$(pool_backd_pid "$victim") || { note no-backd "no backd in domain $victim"; return; }
	t0=$(ms)
	kill -KILL "$p"
	drop_live "$victim"
	if wait_state "$victim" "fenced|dead|" 5; then
		fence_ms=$(($(ms) - t0))
	else
		note not-fenced "dom$victim (backd SIGKILLed) not fenced in 5 s: $(mstate "$victim")"
		"$XENSIM" destroy --dir "$SIM_DIR" "$victim"
	fi
	replace "$victim"
}
f_pause_short() {
	pick
	"$XENSIM" pause --dir "$SIM_DIR" "$victim"
	sleep 0.3
	"$XENSIM" unpause --dir "$SIM_DIR" "$victim"
	sleep 1.2 # past the lease: a wrong fence would show now
	if [ "$(mstate "$victim")" != active ] || ! dom_listed "$victim"; then
		note fenced-wrongly "dom$victim paused 300 ms: state $(mstate "$victim")"
		drop_live "$victim"
		"$XENSIM" destroy --dir "$SIM_DIR" "$victim" 2>/dev/null
		replace "$victim"
	fi
}
f_pause_long() {
	local t0
	pick
	t0=$(ms)
	"$XENSIM" pause --dir "$SIM_DIR" "$victim"
	drop_live "$victim"
	if wait_state "$victim" "fenced|dead|" 3; then fence_ms=$(($(ms) - t0)); fi
	sleep "$(awk -v t=$(($(ms) - t0)) 'BEGIN { s = (3000 - t) / 1000; print (s > 0 ? s : 0) }')"
	if [ "$(mstate "$victim")" = active ]; then
		note not-fenced "dom$victim paused 3 s, not fenced: $(mstate "$victim")"
	fi
	"$XENSIM" unpause --dir "$SIM_DIR" "$victim" 2>/dev/null
	"$XENSIM" destroy --dir "$SIM_DIR" "$victim" 2>/dev/null
	replace "$victim"
}
f_eio() {
	local p s
	pick
	p=$(pool_backd_pid "$victim") || { note no-backd "no backd in domain $victim"; return; }
	echo "fail $p" >"$FAULTFS_CTL"
	sleep 1
	echo ok >"$FAULTFS_CTL"
	s=$(mstate "$victim")
	[ "$s" = active ] && return
	# a failed member's path checker reinstates it once its path works
	# (within its 1 s probe period): wait for that before restarting it
	if wait_state "$victim" active 3; then
		fnote="${fnote:+$fnote,}i-reinstated"
		return
	fi
	note "state-$s" "dom$victim left $s by 1 s of EIO and not reinstated in 3 s: restarting its backd"
	if ! restart_backd "$victim" "$p"; then
		note not-restarted "dom$victim not active after restart ($(mstate "$victim")): replacing it"
		drop_live "$victim"
		"$XENSIM" destroy --dir "$SIM_DIR" "$victim"
		replace "$victim"
	fi
}
f_slow() {
	local p
	pick
	p=$(pool_backd_pid "$victim") || { note no-backd "no backd in domain $victim"; return; }
	echo "delay-writes $p 200" >"$FAULTFS_CTL"
	sleep 2
	echo nodelay >"$FAULTFS_CTL"
}
start_sv() {
	"$XENSIM" exec --dir "$SIM_DIR" --domid 0 -- "$BIN/vbdpool-supervisor" --lease-ms $lease \
		>>"$POOL_DIR/supervisor.log" 2>&1 &
	sv_pid=$!
	POOL_PIDS+=("$sv_pid")
}
f_svkill() {
	local d gone=()
	if [[ " $(jobs -rp | tr '\n' ' ') " == *" $sv_pid "* ]]; then
		kill -KILL "$sv_pid"
		{ wait "$sv_pid"; } 2>/dev/null # reaped here: no "Killed" job notice
	else # (its pid may be anyone's now: not signalled)
		note sv-died "the supervisor ($sv_pid) had exited by itself: $(tail -n 2 "$POOL_DIR/supervisor.log")"
	fi
	sleep 0.5
	start_sv
	sleep 1.5 # past the lease: a wrong fence by the new supervisor shows now
	[ "$(xs0 xenstore-read /vbdpool/supervisor/pid 2>/dev/null)" = "$sv_pid" ] ||
		note sv-pid "the restarted supervisor ($sv_pid) did not publish its pid: $(xs0 xenstore-read /vbdpool/supervisor/pid 2>&1)"
	for d in "${live[@]}"; do
		if [ "$(mstate "$d")" != active ] || ! dom_listed "$d"; then
			note fenced-wrongly "dom$d $(mstate "$d") after the supervisor's restart"
			gone+=("$d")
		fi
	done
	for d in "${gone[@]}"; do
		drop_live "$d"
		"$XENSIM" destroy --dir "$SIM_DIR" "$d" 2>/dev/null
		replace "$d"
	done
}
f_join() {
	local p o
	if [ ${#live[@]} -ge 4 ]; then
		o=${live[0]}
		if p=$(pool_backd_pid "$o"); then
			kill -TERM "$p"
			wait_exit "$p" 15 || note leave-slow "backd of dom$o still running 15 s after SIGTERM"
		fi
		retire "$o"
		"$XENSIM" destroy --dir "$SIM_DIR" "$o"
	fi
	add_member
}

for _ in 1 2 3 4; do add_member; done
: >"$POOL_DIR/supervisor.log"
start_sv
POOL_NBD_SERVER=vbdpool-nbd pool_guest vol1 8
pool_wait_connected vol1 "$GUEST" 0 30

kinds=(destroy sigterm sigkill pause-short pause-long join badrsp svkill)
[ $pool_faultfs_ok = 1 ] && kinds+=(eio slow)
if [ -n "${CHAOS_KINDS:-}" ]; then
	read -ra kinds <<<"$CHAOS_KINDS"
	[ $pool_faultfs_ok = 1 ] || for k in "${kinds[@]}"; do
		[[ $k == eio || $k == slow ]] && { echo "no faultfs: $k impossible" >&2; exit 2; }
	done
fi
pool_log "chaos: $nfaults faults, seed $seed, kinds: ${kinds[*]}, faultfs $([ $pool_faultfs_ok = 1 ] && echo yes || echo "no (no path faults)"), dir $POOL_DIR"

slowlog=$POOL_DIR/slow.log events=$POOL_DIR/events.tsv runs=0 failed_runs=0 hung_runs=0 idle_fails=0
: >"$slowlog"
: >"$events"
t_begin=$(ms)
i=0
while [ $i -lt "$nfaults" ]; do
	runs=$((runs + 1))
	vlog=$POOL_DIR/verify-$runs.log
	pool_verify_bg "$GUEST" "$vlog" --nbd "$POOL_DIR/nbd.sock" --seconds 100000 --term-ends \
		--threads "$threads" --seed "$runs" --slow-log "$slowlog" --slow-ms "$slow_ms"
	vpid=$VERIFY_PID
	printf '%s\t-\t-\t%s\t0\t\n' "$(ms)" "$runs" >>"$events"
	sleep 1
	alive "$vpid" || {
		pool_log "front_verify run $runs ended before any fault: $(tail -n 3 "$vlog")"
		idle_fails=$((idle_fails + 1))
		[ $idle_fails -lt 3 ] || { echo "chaos: the guest fails without faults: giving up" >&2; exit 1; }
	}
	for ((k = 0; k < per_round && i < nfaults; k++)); do
		alive "$vpid" || break # the run failed: a new one
		i=$((i + 1))
		kind=${kinds[RANDOM % ${#kinds[@]}]}
		fnote="" victim="-" fence_ms=""
		t0=$(ms)
		printf '%s\t%s\t%s\t%s' "$t0" "$kind" "$i" "$runs" >>"$events"
		"f_${kind//-/_}"
		all_connected 20 || note no-recovery "queues not all connected 20 s after $kind: $(pool_owners vol1 "$GUEST" 0)"
		rec=$(($(ms) - t0))
		printf '\t%s\t%s\t%s\t%s\n' "$rec" "${fnote:--}" "$victim" "${fence_ms:--}" >>"$events"
		pool_log "fault $i/$nfaults $kind dom$victim: recovered in $rec ms${fence_ms:+ (fenced in $fence_ms ms)}${fnote:+ [$fnote]}; live ${live[*]}"
		sleep "$(awk -v m="$gap_ms" 'BEGIN { print m / 1000 }')"
	done
	kill -TERM "$vpid" 2>/dev/null
	if ! wait_exit "$vpid" 60; then
		hung_runs=$((hung_runs + 1))
		pool_log "front_verify run $runs did not end 60 s after SIGTERM: killing it"
		pkill -KILL -P "$vpid"
	fi
	wait "$vpid"
	rc=$?
	sum=$(grep 'front_verify: ' "$vlog" | tail -n 1)
	pool_log "run $runs (rc $rc): $sum"
	[ $rc = 0 ] || { failed_runs=$((failed_runs + 1)); grep -v '^front_verify: PASS' "$vlog" | head -n 5; }
done
t_end=$(ms)

# ---- report ---------------------------------------------------------------
# events: START KIND IDX RUN [RECOVERY_MS NOTES VICTIM FENCE_MS] (run starts:
# KIND "-"); slow log: START_MS DUR_MS OP THREAD.  Merge by time.
echo
printf 'chaos: %s faults in %s s, seed %s, lease %s ms, %s front_verify runs (%s failed, %s hung), slow-log threshold %s ms\n' \
	"$i" $(((t_end - t_begin) / 1000)) "$seed" "$lease" "$runs" "$failed_runs" "$hung_runs" "$slow_ms"
report "$POOL_DIR" "$failed_runs"
