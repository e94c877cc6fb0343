#!/usr/bin/env bash
# Issue 9, must-show 2: vbdpool-backd SIGKILLed in a domain that keeps
# running, not restarted.  Its heartbeat stops; the supervisor (1 s lease,
# --fence pause, so the domain survives for the admin) pauses the domain and
# writes fenced; the survivors take its queues within lease + 1 s; the guest
# (front_verify over vbdpool-nbd) sees no error.  Later the admin unfences
# it (`vbdpoolctl member unfence`: the domain is unpaused) and starts the
# daemon again: it rejoins and gets queues.  Before the supervisor fenced,
# such a member kept its queues and the guest waited for ever.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 128
pool_members vol1 3
members=("${MEMBERS[@]}")
pool_supervisor --lease-ms 1000 --fence pause --storage-timeout-ms 1000
POOL_NBD_SERVER=vbdpool-nbd pool_guest vol1 6
pool_wait_connected vol1 "$GUEST" 0
victim=${members[0]}
pool_wait_owns vol1 "$GUEST" 0 "$victim" || die "member $victim owns no queue"
bpid=$(pool_backd_pid "$victim") || die "no backd in domain $victim"

pool_verify_bg "$GUEST" "$POOL_DIR/verify.log" --nbd "$POOL_DIR/nbd.sock" --seconds 8 --threads 4
sleep 2
pool_log "SIGKILL to the backd of member $victim (pid $bpid); owners $(pool_owners vol1 "$GUEST" 0)"
kill -KILL "$bpid"
took=$(pool_wait_owns_none vol1 "$GUEST" 0 "$victim") || die "the crashed member still owns queues"
pool_log "owners $(pool_owners vol1 "$GUEST" 0) ${took} ms after the kill"
[ "$took" -le 2000 ] || die "takeover took ${took} ms > lease + 1 s"
[ "$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$victim/state")" = fenced ] || die "not fenced"
pool_verify_passed "$POOL_DIR/verify.log"

# paused, not destroyed: reported drained after the storage timeout (1 s)
xs0 xenstore-exists "/vbdpool/volumes/vol1/drained/$victim" ||
	die "no drained/$victim after the storage timeout"

# a daemon started while the member is fenced refuses
"$XENSIM" unpause --dir "$SIM_DIR" "$victim"
rc=0
timeout 10 "$XENSIM" exec --dir "$SIM_DIR" --domid "$victim" -- "$BIN/vbdpool-backd" --volume vol1 \
	>"$POOL_DIR/backd-$victim-fenced.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || die "a daemon started while fenced did not refuse (rc $rc)"
grep -q "was fenced by the supervisor" "$POOL_DIR/backd-$victim-fenced.log" || die "no clear message"
"$XENSIM" pause --dir "$SIM_DIR" "$victim"

pool_log "admin: vbdpoolctl member unfence vol1 $victim"
ctl member unfence vol1 "$victim" >"$POOL_DIR/unfence.out" 2>&1 || die "unfence: $(cat "$POOL_DIR/unfence.out")"
[ "$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$victim/state")" = joining ] || die "not unfenced"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$victim" -- "$BIN/vbdpool-backd" --volume vol1 \
	>"$POOL_DIR/backd-$victim-2.log" 2>&1 &
POOL_PIDS+=($!)
pool_wait_owns vol1 "$GUEST" 0 "$victim" || die "the restarted member got no queue: $(pool_owners vol1 "$GUEST" 0)"
pool_log "rejoined: owners $(pool_owners vol1 "$GUEST" 0)"
# its old drain signal must not cover its new incarnation
for _ in $(seq 40); do
	xs0 xenstore-exists "/vbdpool/volumes/vol1/drained/$victim" || break
	sleep 0.05
done
xs0 xenstore-exists "/vbdpool/volumes/vol1/drained/$victim" &&
	die "a stale drained/$victim outlives the member's return"
pool_verify "$GUEST" "$POOL_DIR/verify2.log" --nbd "$POOL_DIR/nbd.sock" --seconds 3 --threads 4 ||
	die "front_verify after the rejoin: $(tail -n 2 "$POOL_DIR/verify2.log")"
echo PASS
