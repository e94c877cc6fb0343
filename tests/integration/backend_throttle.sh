#!/usr/bin/env bash
# A member's path capacity (`--throttle iops=50`): the throttle wrapper of
# every queue engine takes budget from one token bucket per member, holds
# the requests over it (they are not failed: the guest sees no error), and
# counts them. The member's exit log reports "throttle: N requests, H
# held": requests were held (H > 0), and the guest's operations in its 2 s
# run stay within what 50 IOPS (plus the 100 ms burst) lets through in 3 s.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 64
pool_member vol1 --throttle iops=50
m=$LAST_DOMID
pool_attach vol1 2
vlog=$POOL_DIR/verify.log
pool_verify "$GUEST" "$vlog" --devid 0 --seconds 2 --threads 4 ||
	die "front_verify failed under the throttle: $(tail -n 1 "$vlog")"
grep -q 'errors=0 mismatches=0' "$vlog" || die "guest errors under the throttle"
ops=$(sed -n 's/.* ops=\([0-9]*\) .*/\1/p' "$vlog" | tail -n 1)
[ -n "$ops" ] || die "no ops count in the verify log"
[ "$ops" -le $((50 * 3 + 5)) ] || die "$ops guest operations in 2 s through a 50 IOPS member"

bpid=$(pool_backd_pid "$m") || die "no backd in domain $m"
kill -TERM "$bpid"
for i in $(seq 100); do
	grep -q 'throttle: [0-9]* requests' "$POOL_DIR/backd-$m.log" && break
	sleep 0.1
done
line=$(grep -o 'throttle: [0-9]* requests, [0-9]* held' "$POOL_DIR/backd-$m.log") ||
	die "the member logged no throttle counters at exit: $(tail -n 3 "$POOL_DIR/backd-$m.log")"
pool_log "$line; guest ops $ops"
held=${line##*, }
held=${held% held}
passed=${line#throttle: }
passed=${passed%% *}
[ "$held" -gt 0 ] || die "no request was held by the throttle: $line"
[ "$passed" -ge "$ops" ] || die "fewer requests through the throttle ($passed) than guest ops ($ops)"
echo PASS
