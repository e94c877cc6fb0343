#!/usr/bin/env bash
# Cooperative hand-offs under load: a verifying guest (front_verify) runs
# while a member joins (it must get a fair share through draining
# hand-offs) and another leaves on SIGTERM (it hands every queue off and
# exits).  The guest must see no error and no mismatch: no request lost or
# duplicated across the hand-offs. Rings of 4 pages (ring-page-order 2).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 128
pool_members vol1 2
m1=${MEMBERS[0]}
m2=${MEMBERS[1]}
pool_attach vol1 4
g=$GUEST

pool_verify_bg "$g" "$POOL_DIR/verify.log" --devid 0 --seconds 12 --threads 8 --ring-order 2
vpid=$VERIFY_PID
pool_wait_connected vol1 "$g" 0
pool_log "owners with 2 members: $(pool_owners vol1 "$g" 0)"
sleep 1

pool_member vol1
m3=$LAST_DOMID
pool_log "member $m3 joins"
pool_wait_owns vol1 "$g" 0 "$m3" || die "joiner owns nothing: $(pool_owners vol1 "$g" 0)"
pool_log "owners with the joiner: $(pool_owners vol1 "$g" 0)"
sleep 1

pool_member_leave vol1 "$g" "$m1"
pool_log "owners after the leave: $(pool_owners vol1 "$g" 0)"

rc=0; wait $vpid || rc=$?
tail -n 1 "$POOL_DIR/verify.log"
[ $rc -eq 0 ] || die "front_verify failed (exit $rc)"
grep -q 'front_verify: PASS' "$POOL_DIR/verify.log" || die "front_verify did not pass"
grep -q 'handed off' "$POOL_DIR/backd-$m1.log" || die "the leaver handed nothing off"
for m in "$m2" "$m3"; do
	pool_backd_pid "$m" >/dev/null || die "member $m died"
done
echo PASS
