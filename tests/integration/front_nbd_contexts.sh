#!/usr/bin/env bash
# vbdpool-nbd spreads its connections over the frontend's event contexts
# (--contexts N; queue q is served by context q % N): a connection is
# served by the context with the fewest, so two clients at once use both
# contexts' queues (seen before: every connection on context 0, queues 1
# and 3 of 4 idle).  Each client's data reads back, and a context freed
# by a closed connection is the next one chosen.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
POOL_NBD_ARGS="--contexts 2" pool_nbd 16 2 4
log=$POOL_DIR/vbdpool-nbd.log
grep -q '4 queue(s), 2 context(s)' "$log" || die "not 2 contexts: $(grep 'context(s)' "$log")"

client() { # PATTERN OFFSET HOLD_S: write, hold the connection, read back
	{
		echo "write -P $1 $2 1M"
		sleep "$3"
		echo "read -P $1 $2 1M"
	} | timeout 60 qemu-io -f raw "$NBD_URI" >"$POOL_DIR/qio-$1.log" 2>&1 &&
		grep -q 'read 1048576/1048576' "$POOL_DIR/qio-$1.log" &&
		! grep -qiE 'fail|error|mismatch' "$POOL_DIR/qio-$1.log"
}
client 0x11 0 2 &
a=$!
client 0x22 4M 2 &
b=$!
wait "$a" || die "client 1: $(cat "$POOL_DIR/qio-0x11.log")"
wait "$b" || die "client 2: $(cat "$POOL_DIR/qio-0x22.log")"
grep 'on context' "$log" | sed 's/^/    /'
grep -q 'on context 0 of 2' "$log" || die "no connection on context 0"
grep -q 'on context 1 of 2' "$log" || die "the two clients were not spread over the contexts"

# both gone: the next client goes to context 0 again (counts released)
client 0x33 8M 0 || die "client 3: $(cat "$POOL_DIR/qio-0x33.log")"
[ "$(grep -c 'on context 0 of 2 (1 connection' "$log")" -ge 2 ] ||
	die "a closed connection's context was not released: $(grep 'on context' "$log")"
# every byte on the backing, whichever queues and members carried it
for p in "0x11 0" "0x22 4M" "0x33 8M"; do
	set -- $p
	timeout 30 qemu-io -f raw "$NBD_URI" -c "read -P $1 $2 1M" >"$POOL_DIR/qio-check.log" 2>&1 &&
		grep -q 'read 1048576/1048576' "$POOL_DIR/qio-check.log" || die "pattern $1 at $2: $(cat "$POOL_DIR/qio-check.log")"
done
echo PASS
