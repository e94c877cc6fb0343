#!/usr/bin/env bash
# The supervisor is dom0's service: it may crash or be restarted (an
# upgrade) while guests do I/O.  Under verified NBD load:
#  1. SIGKILL, restarted 0.5 s later: the new one publishes its pid, and
#     two leases later no member has been fenced (it must not take the
#     heartbeats it has not seen change yet for silent ones), no guest error;
#  2. SIGKILL again, and while no supervisor runs a member's daemon is
#     SIGKILLed (its domain keeps running): nothing can fence it then, its
#     queues wait; the supervisor started 1.5 s later must fence it
#     (destroy), the survivors take its queues, the guest sees no error.
# (bench/chaos.sh's fault kind `svkill` repeats step 1 under every other
# fault; a campaign with it found an emulator crash, fixed 2026-12-05.)
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 64
pool_members vol1 3
members=("${MEMBERS[@]}")
sv_start() {
	"$XENSIM" exec --dir "$SIM_DIR" --domid 0 -- "$BIN/vbdpool-supervisor" --lease-ms 1000 \
		>>"$POOL_DIR/supervisor.log" 2>&1 &
	SV=$!
	POOL_PIDS+=("$SV")
}
sv_kill() {
	kill -KILL "$SV"
	{ wait "$SV"; } 2>/dev/null || true
}
sv_published() { # the pid node names the running supervisor
	local i
	for i in $(seq 100); do
		[ "$(xs0 xenstore-read /vbdpool/supervisor/pid 2>/dev/null)" = "$SV" ] && return 0
		sleep 0.05
	done
	return 1
}
mstate() { xs0 xenstore-read "/vbdpool/volumes/vol1/members/$1/state" 2>/dev/null || echo gone; }

: >"$POOL_DIR/supervisor.log"
sv_start
sv_published || die "the supervisor did not publish its pid"
POOL_NBD_SERVER=vbdpool-nbd pool_guest vol1 6
pool_wait_connected vol1 "$GUEST" 0
pool_verify_bg "$GUEST" "$POOL_DIR/verify.log" --nbd "$POOL_DIR/nbd.sock" --seconds 12 --threads 4
sleep 1

pool_log "1. SIGKILL to the supervisor ($SV), restarted 0.5 s later"
sv_kill
sleep 0.5
sv_start
sv_published || die "the restarted supervisor ($SV) did not publish its pid"
sleep 2 # two leases: a wrong fence would have happened by now
for m in "${members[@]}"; do
	[ "$(mstate "$m")" = active ] || die "member $m is $(mstate "$m") after the supervisor's restart"
done
pool_log "all ${#members[@]} members still active; owners $(pool_owners vol1 "$GUEST" 0)"

victim=${members[1]}
pool_wait_owns vol1 "$GUEST" 0 "$victim" || die "member $victim owns no queue"
bpid=$(pool_backd_pid "$victim") || die "no backd in domain $victim"
pool_log "2. SIGKILL to the supervisor, then to member $victim's daemon (pid $bpid)"
sv_kill
kill -KILL "$bpid"
sleep 1.5
[ "$(mstate "$victim")" = active ] || die "member $victim is $(mstate "$victim") with no supervisor running"
sv_start
took=$(pool_wait_owns_none vol1 "$GUEST" 0 "$victim") ||
	die "the restarted supervisor did not fence member $victim: $(mstate "$victim"), owners $(pool_owners vol1 "$GUEST" 0)"
pool_log "member $victim fenced by the new supervisor; queues taken over ${took} ms after its start: $(pool_owners vol1 "$GUEST" 0)"
grep -q "dom$victim: heartbeat unchanged" "$POOL_DIR/supervisor.log" || die "no fence of dom$victim logged"

pool_verify_passed "$POOL_DIR/verify.log"
echo PASS
