#!/usr/bin/env bash
# A slow member (fault injection: `--fault delay:us=5000` holds each of its
# I/Os 5 ms in the fault wrapper before it goes to the engine) sheds its queues to the faster members, one per second, through
# cooperative hand-offs, while a verifying guest runs without error.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 64
pool_member vol1 --fault delay:us=5000
slow=$LAST_DOMID
pool_member vol1
pool_member vol1
g=$(pool_domain guest)
ctl attach "$g" vol1 --devid 0 --queues 6 >/dev/null || die "attach"

# The slow rule sheds only after 3 slow rounds in a settled pool and then
# one queue per second (about 3.5 s and 7 s after connect here; more under
# ASan): the guest keeps I/O going for 20 s so that the member stays busy.
pool_verify_bg "$g" "$POOL_DIR/verify.log" --devid 0 --seconds 20 --threads 8
vpid=$VERIFY_PID
pool_wait_connected vol1 "$g" 0
pool_log "owners: $(pool_owners vol1 "$g" 0) (slow member: $slow)"
had=0 shed=0 deadline=$((SECONDS + 19))
while [ $SECONDS -lt $deadline ]; do
	n=$(pool_owned_by vol1 "$g" 0 "$slow")
	[ "$n" -gt 0 ] && had=1
	[ $had = 1 ] && [ "$n" = 0 ] && { shed=1; break; }
	sleep 0.1
done
pool_log "owners: $(pool_owners vol1 "$g" 0); slow member load: $(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$slow/load")"
[ $had = 1 ] || die "the slow member never owned a queue: the test did not exercise shedding"
[ $shed = 1 ] || die "the slow member kept its queues: $(pool_owners vol1 "$g" 0)"
grep -q 'slow here' "$POOL_DIR/backd-$slow.log" || die "no slow hand-off logged"
rc=0; wait $vpid || rc=$?
tail -n 1 "$POOL_DIR/verify.log"
[ $rc -eq 0 ] || die "front_verify failed (exit $rc)"
echo PASS
