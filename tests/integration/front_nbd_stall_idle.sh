#!/usr/bin/env bash
# The stall watch (--stall-warn S) measures how long the oldest outstanding
# request has waited, not how long ago the last response came: after an
# idle spell longer than S, one flush answered at once must log no stall
# (seen: "1 request(s) outstanding and no response for 30.0 s" and
# "responses again after 30.0 s" in the same millisecond).  A real stall
# (the only member stopped) still logs both lines.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
POOL_NBD_ARGS="--stall-warn 1" pool_nbd 16 1 2
log=$POOL_DIR/vbdpool-nbd.log
warn='outstanding and no response for'

# one connection, idle between its requests (a new connection would turn
# the event loop while nothing is outstanding)
{
	echo 'write -P 0x5a 0 64k'
	echo 'flush'
	sleep 1
	pool_log "idle for 3 s (--stall-warn 1)" >&2
	sleep 3
	echo 'flush'
	echo 'read -P 0x5a 0 64k'
} | timeout 60 qemu-io -f raw "$NBD_URI" >"$POOL_DIR/qio-idle.log" 2>&1 ||
	die "qemu-io: $(cat "$POOL_DIR/qio-idle.log")"
grep -q 'read 65536/65536' "$POOL_DIR/qio-idle.log" && ! grep -qiE 'fail|error' "$POOL_DIR/qio-idle.log" ||
	die "qemu-io: $(cat "$POOL_DIR/qio-idle.log")"
sleep 0.5 # a late warning would come with the next turn of the event loop
! grep -q "$warn" "$log" || die "a stall logged after an idle spell: $(grep -E "$warn|responses again" "$log")"
pool_log "no stall logged for the requests after the idle spell"

# the watch itself still works: the only member stopped, a read waits
bpid=$(pool_backd_pid "${MEMBERS[0]}") || die "no backd in domain ${MEMBERS[0]}"
kill -STOP "$bpid"
timeout 60 qemu-io -f raw "$NBD_URI" -c 'read -P 0x5a 0 4k' >"$POOL_DIR/qio-stalled.log" 2>&1 &
qpid=$!
for _ in $(seq 100); do grep -q "$warn" "$log" && break; sleep 0.1; done
kill -CONT "$bpid"
grep -q "$warn" "$log" || { kill "$qpid" 2>/dev/null; die "no stall warning while the member was stopped"; }
wait "$qpid" || die "the read over the stall: $(cat "$POOL_DIR/qio-stalled.log")"
for _ in $(seq 100); do grep -q 'responses again after' "$log" && break; sleep 0.1; done
grep -q 'responses again after' "$log" || die "no 'responses again' after the member resumed"
grep -E "$warn|responses again" "$log" | sed 's/^/    /'
echo PASS
