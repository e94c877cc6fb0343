#!/usr/bin/env bash
# vbdpool-nbd over TCP (--listen 127.0.0.1:PORT, --wait, --volume) and dom0
# detaching the device: `vbdpoolctl detach` completes (the frontend reaches
# state 6); afterwards NBD requests fail cleanly (NBD_ESHUTDOWN) instead of
# hanging, the server keeps running and still stops cleanly on SIGTERM.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 16
pool_member vol1
pool_attach vol1 2
log=$POOL_DIR/vbdpool-nbd.log
# a free port: the server says so when another test took it first
for _ in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$GUEST" -- "$BIN/vbdpool-nbd" --devid 0 \
		--listen "127.0.0.1:$port" --wait 20 --volume vol1 >"$log" 2>&1 &
	srv=$!
	POOL_PIDS+=("$srv")
	for _ in $(seq 100); do
		grep -q " on 127.0.0.1:$port" "$log" && break
		kill -0 "$srv" 2>/dev/null || break
		sleep 0.1
	done
	grep -q " on 127.0.0.1:$port" "$log" && break
	grep -q 'Address already in use' "$log" || die "vbdpool-nbd did not start: $(tail -n 5 "$log")"
done
grep -q " on 127.0.0.1:$port" "$log" || die "no free port"
uri=nbd://127.0.0.1:$port
[ "$(nbdinfo --size "$uri")" = $((16 << 20)) ] || die "nbdinfo over TCP"
qemu-io -f raw "$uri" -c 'write -P 0x5a 0 1M' -c 'read -P 0x5a 0 1M' >"$POOL_DIR/qio1.log" 2>&1 ||
	die "qemu-io: $(cat "$POOL_DIR/qio1.log")"
! grep -qiE 'fail|error' "$POOL_DIR/qio1.log" || die "qemu-io: $(cat "$POOL_DIR/qio1.log")"
pool_log "TCP: nbdinfo and qemu-io ok on port $port"
pool_detach_refuses vol1 "$uri"
kill -0 "$srv" 2>/dev/null || die "vbdpool-nbd died after the detach"
kill -TERM "$srv"
rc=0; wait "$srv" || rc=$?
[ $rc = 0 ] || die "vbdpool-nbd exited $rc after SIGTERM: $(tail -n 5 "$log")"
grep -q 'stopped' "$log" || die "no clean stop in the log"
echo PASS
