#!/usr/bin/env bash
# Restarts on either side:
#  1. the frontend closes and a new one opens the same device: the member
#     re-claims its queues with a new epoch and serves the new rings;
#  2. the member's vbdpool-backd is SIGKILLed mid-run and started again in
#     the same domain: it takes its own queues back with a new epoch and
#     the guest's requests are re-posted, with no error and no mismatch.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 64
pool_member vol1
m=$LAST_DOMID
g=$(pool_domain guest)
ctl attach "$g" vol1 --devid 0 --queues 2 >/dev/null || die "attach"

for run in 1 2 3; do
	pool_verify "$g" "$POOL_DIR/verify$run.log" --devid 0 --ops 300 --threads 2 || die "front_verify run $run failed: $(tail -n 3 "$POOL_DIR/verify$run.log")"
	pool_log "frontend run $run: $(pool_owners vol1 "$g" 0) $(pool_rec vol1 "$g" 0 0)"
done

pool_verify_bg "$g" "$POOL_DIR/verify-kill.log" --devid 0 --seconds 8 --threads 4
vpid=$VERIFY_PID
sleep 2
bpid=$(pool_backd_pid "$m") || die "no backd in domain $m"
before=$(pool_rec vol1 "$g" 0 0)
pool_log "SIGKILL to the backd of member $m (pid $bpid); queue-0: $before"
kill -KILL "$bpid"
"$BIN/xensim" exec --dir "$POOL_DIR/host" --domid "$m" -- \
	"$BIN/vbdpool-backd" --volume vol1 >"$POOL_DIR/backd-$m-2.log" 2>&1 &
POOL_PIDS+=($!)
rc=0; wait $vpid || rc=$?
tail -n 1 "$POOL_DIR/verify-kill.log"
[ $rc -eq 0 ] || die "front_verify across the member restart failed (exit $rc)"
after=$(pool_rec vol1 "$g" 0 0)
pool_log "queue-0 after the restart: $after"
[ "${before#*epoch=}" != "${after#*epoch=}" ] || die "no new epoch after the member restart"
grep -q 'connected' "$POOL_DIR/backd-$m-2.log" || die "the restarted backd connected nothing"
echo PASS
