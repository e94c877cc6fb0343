#!/usr/bin/env bash
# vbdpool-nbd against hostile clients (tests/progs/nbd_hostile): garbage
# handshakes, bad option lengths, out-of-range / oversized / unaligned
# requests, bad request magic, a client gone mid-payload, stalled
# handshakes, a client that never reads its replies (one of them after
# NBD_CMD_DISC: closed at the 10 s drain deadline) — while a good client
# on the same server keeps writing and verifying.  Then the server still
# serves nbdinfo, logged each drop clearly, and stops cleanly on SIGTERM
# (exit 0, frontend state Closed).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
export POOL_NBD_SERVER=vbdpool-nbd
pool_init
SIZE_MB=64
pool_nbd $SIZE_MB 2 2
log=$POOL_DIR/vbdpool-nbd.log

"$VBD_BUILD/tests/progs/nbd_hostile" "$POOL_DIR/nbd.sock" $((SIZE_MB << 20)) \
	>"$POOL_DIR/hostile.out" 2>&1 || die "nbd_hostile: $(tail -n 20 "$POOL_DIR/hostile.out")"
cat "$POOL_DIR/hostile.out"
kill -0 "$NBD_SERVER_PID" 2>/dev/null || die "vbdpool-nbd died"
[ "$(nbdinfo --size "$NBD_URI")" = $((SIZE_MB << 20)) ] || die "nbdinfo after the attacks"
for pat in 'unknown client flags' 'bad option magic' 'bytes of data (limit' 'bad request magic' \
	'in the middle of a request' 'did not read its replies in time'; do
	grep -q "$pat" "$log" || die "the server log lacks '$pat'"
done
pool_log "server log: every drop explained"

kill -TERM "$NBD_SERVER_PID"
rc=0; wait "$NBD_SERVER_PID" || rc=$?
[ $rc = 0 ] || die "vbdpool-nbd exited $rc after SIGTERM: $(tail -n 5 "$log")"
grep -q 'stopped' "$log" || die "no clean stop in the log"
[ "$(xs0 xenstore-read "/local/domain/$GUEST/device/vbdpool/0/state")" = 6 ] ||
	die "frontend not Closed (6) after SIGTERM"
[ ! -e "$POOL_DIR/nbd.sock" ] || die "socket left behind"
pool_log "SIGTERM: exit 0, state 6, socket removed"
echo PASS
