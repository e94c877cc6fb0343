#!/usr/bin/env bash
# Frontend failover: tests/progs/front_verify (8 threads of verified random
# I/O through libvbdpool-front, no NBD) on a 6-queue attachment served by
# three members; one member's domain is destroyed mid-run (death: the
# supervisor records it, survivors claim, the frontend re-posts) and a
# second member leaves on SIGTERM (cooperative hand-off).  The verifier
# must see no error and no mismatch; the dead member must own nothing.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_start 64 3
members=("${MEMBERS[@]}")
pool_attach vol1 6
G=$GUEST
pool_verify_bg "$G" "$POOL_DIR/verify.log" --devid 0 --seconds 8 --threads 8
vpid=$VERIFY_PID
pool_wait_connected vol1 "$G" 0
pool_log "owners: $(pool_owners vol1 "$G" 0)"
sleep 2
pool_log "destroying member domain ${members[0]}"
"$BIN/xensim" destroy --dir "$POOL_DIR/host" "${members[0]}"
sleep 2
pool_log "owners: $(pool_owners vol1 "$G" 0)"
p=$(pool_backd_pid "${members[1]}") || die "no backd in ${members[1]}"
pool_log "member ${members[1]} leaves (SIGTERM)"
kill -TERM "$p"
rc=0; wait "$vpid" || rc=$?
grep -v ' debug: ' "$POOL_DIR/verify.log" | tail -n 30
pool_log "owners: $(pool_owners vol1 "$G" 0)"
[ $rc -eq 0 ] || die "front_verify exited $rc"
grep -q '^front_verify: PASS .* errors=0 mismatches=0 ' "$POOL_DIR/verify.log" ||
	die "no PASS line"
[ "$(pool_owned_by vol1 "$G" 0 "${members[0]}")" = 0 ] || die "dead member still owns queues"
[ "$(xs0 xenstore-read "/local/domain/$G/device/vbdpool/0/state")" = 6 ] ||
	die "frontend state is not 6 (Closed) after close"
echo PASS
