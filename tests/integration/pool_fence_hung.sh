#!/usr/bin/env bash
# Issue 9, must-show 1: a hung member is fenced.  Three members serve a
# guest (vbdpool-nbd, front_verify over NBD); the supervisor runs with a
# 1 s lease.
#  A. default policy (destroy): one member's domain is paused (hung) for
#     good: within the lease the supervisor destroys it (then records it),
#     the others take its queues; the guest's longest operation stays
#     within lease + 1 s, zero errors, verify passes.
#  B. policy pause: another member is paused: the supervisor pauses it
#     (already stopped) and writes state=fenced, its queues are taken over;
#     then the domain is resumed by mistake (`xensim unpause`): its daemon
#     sees `fenced`, exits 3 without serving (its data threads, finding
#     their own lease passed, take no new request meanwhile), and the verifier (which
#     checks every block it reads against what it last wrote) still passes.
# Without the supervisor's fencing the paused member keeps its queues and
# the guest stalls until the end of the run.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 128
pool_members vol1 3
members=("${MEMBERS[@]}")
pool_supervisor --lease-ms 1000
SV=${POOL_PIDS[-1]}
POOL_NBD_SERVER=vbdpool-nbd pool_guest vol1 6
pool_wait_connected vol1 "$GUEST" 0
for m in "${members[@]}"; do
	pool_wait_owns vol1 "$GUEST" 0 "$m" || die "member $m owns no queue: $(pool_owners vol1 "$GUEST" 0)"
done
pool_wait_connected vol1 "$GUEST" 0
[ "$(xs0 xenstore-read /vbdpool/supervisor/lease-ms)" = 1000 ] || die "lease-ms not published"

# ---- A: destroy --------------------------------------------------------
victim=${members[0]}
pool_verify_bg "$GUEST" "$POOL_DIR/verify-a.log" --nbd "$POOL_DIR/nbd.sock" --seconds 8 --threads 4
sleep 2
pool_log "A: pausing member $victim (hung for good); owners $(pool_owners vol1 "$GUEST" 0)"
"$XENSIM" pause --dir "$SIM_DIR" "$victim"
took=$(pool_wait_owns_none vol1 "$GUEST" 0 "$victim") || die "the hung member still owns queues"
pool_log "A: owners $(pool_owners vol1 "$GUEST" 0) after ${took} ms"
grep -q "dom$victim: heartbeat unchanged for .* domain destroyed" "$POOL_DIR/supervisor.log" ||
	die "the supervisor did not destroy dom$victim: $(tail -n 5 "$POOL_DIR/supervisor.log")"
"$XENSIM" list --dir "$SIM_DIR" | grep -qE "^ *$victim .*running|^ *$victim .*paused" &&
	die "dom$victim still listed running/paused"
pool_verify_passed "$POOL_DIR/verify-a.log"
stall=$(sed -n 's/.*max-op-ms=\([0-9]*\).*/\1/p' "$POOL_DIR/verify-a.log")
pool_log "A: guest's longest operation ${stall} ms (lease 1000 ms)"
[ "$stall" -le 2000 ] || die "guest stalled ${stall} ms > lease + 1 s"

# ---- B: pause, then resumed by mistake ---------------------------------
kill "$SV"; wait "$SV" 2>/dev/null || true
"$XENSIM" exec --dir "$SIM_DIR" --domid 0 -- "$BIN/vbdpool-supervisor" --lease-ms 1000 \
	--fence pause --storage-timeout-ms 2000 >"$POOL_DIR/supervisor-b.log" 2>&1 &
POOL_PIDS+=($!)
victim=${members[1]}
pool_wait_owns vol1 "$GUEST" 0 "$victim" || die "member $victim owns no queue"
bpid=$(pool_backd_pid "$victim") || die "no backd in domain $victim"
pool_verify_bg "$GUEST" "$POOL_DIR/verify-b.log" --nbd "$POOL_DIR/nbd.sock" --seconds 10 --threads 4
sleep 2
pool_log "B: pausing member $victim; owners $(pool_owners vol1 "$GUEST" 0)"
"$XENSIM" pause --dir "$SIM_DIR" "$victim"
for _ in $(seq 60); do
	[ "$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$victim/state" 2>/dev/null)" = fenced ] && break
	sleep 0.1
done
[ "$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$victim/state")" = fenced ] ||
	die "dom$victim not fenced: $(tail -n 5 "$POOL_DIR/supervisor-b.log")"
# the order: the domain was stopped (paused) before `fenced` was written
grep -n "dom$victim" "$POOL_DIR/supervisor-b.log" >"$POOL_DIR/order.txt" || true
cat "$POOL_DIR/order.txt"
head -n 1 "$POOL_DIR/order.txt" | grep -q "domain paused" || die "fenced before the domain was stopped"
pool_wait_owns_none vol1 "$GUEST" 0 "$victim" >/dev/null || die "the fenced member still owns queues"
pool_log "B: fenced; owners $(pool_owners vol1 "$GUEST" 0); resuming dom$victim by mistake"
"$XENSIM" unpause --dir "$SIM_DIR" "$victim"
for _ in $(seq 50); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$bpid" 2>/dev/null && die "the fenced member's daemon keeps running after resume"
grep -q "fenced by the supervisor: dropping every queue and exiting" "$POOL_DIR/backd-$victim.log" ||
	die "the resumed daemon did not see fenced: $(tail -n 3 "$POOL_DIR/backd-$victim.log")"
# self-fencing: on resume its data threads found their lease passed and
# took nothing new from the rings before the control thread saw `fenced`
grep -q "the member's lease passed" "$POOL_DIR/backd-$victim.log" ||
	die "the resumed member's queues did not stop on its own lease"
pool_verify_passed "$POOL_DIR/verify-b.log"
[ "$(pool_owned_by vol1 "$GUEST" 0 "$victim")" = 0 ] || die "the fenced member took queues again"
echo PASS
