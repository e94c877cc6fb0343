#!/usr/bin/env bash
# vbdpool-nbd stopped while its connections cannot finish: the only member
# is destroyed under NBD load, so the clients' requests wait in the library;
# SIGTERM then finds every connection busy.  The server must give them
# their 15 s, close the device (which fails what is left), let the
# connections go (main.c's closing_dev / dev_closed hand-over, conn.c's
# transmit() dropping what the event loop no longer serves) and exit 0 —
# without a use-after-free (run it under VBD_SAN=1) or a hang.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_outage_start vol1 2 60
vpid=$VERIFY_PID
log=$POOL_DIR/vbdpool-nbd.log
sleep 2
kill -0 "$vpid" 2>/dev/null || die "the verifier ended: $(tail -n 3 "$POOL_DIR/verify.log")"
pool_log "SIGTERM with every connection waiting for the pool"
t0=$SECONDS
kill -TERM "$NBD_SERVER_PID"
rc=0
for _ in $(seq 600); do kill -0 "$NBD_SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NBD_SERVER_PID" 2>/dev/null && die "vbdpool-nbd still running 60 s after SIGTERM"
wait "$NBD_SERVER_PID" || rc=$?
pool_log "vbdpool-nbd exited $rc after $((SECONDS - t0)) s"
grep -v ' debug: ' "$log" | tail -n 12
[ $rc = 0 ] || die "vbdpool-nbd exited $rc"
grep -q 'still busy after' "$log" || die "the connections were not busy at the stop (test premise)"
grep -q 'stopped' "$log" || die "no clean stop in the log"
kill "$vpid" 2>/dev/null || true
wait "$vpid" 2>/dev/null || true
echo PASS
