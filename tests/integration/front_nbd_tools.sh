#!/usr/bin/env bash
# vbdpool-nbd (the native NBD server) with standard clients against a
# 3-member pool: bad arguments and a missing device are refused clearly;
# nbdinfo reports size, flags and block sizes; qemu-io writes a distinct
# pattern into every MiB (plus unaligned, FUA, write-zeroes, trim) and a
# second connection reads every pattern back; nbdcopy round-trips 64 MiB
# byte-exact (multi-conn); SIGTERM stops it cleanly (exit 0, state Closed).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
export POOL_NBD_SERVER=vbdpool-nbd
pool_init
SIZE_MB=64
pool_nbd $SIZE_MB 3 4
log=$POOL_DIR/vbdpool-nbd.log

# refusals: exit status and a message that names the problem (a second
# server on the running one's socket must not even open the device)
refuse() { # WANT_RC PATTERN ARGS...
	local want=$1 pat=$2 rc=0
	shift 2
	sim_exec "$GUEST" "$BIN/vbdpool-nbd" "$@" >"$POOL_DIR/refuse.out" 2>&1 || rc=$?
	[ $rc = "$want" ] || die "vbdpool-nbd $*: exit $rc, expected $want: $(cat "$POOL_DIR/refuse.out")"
	grep -q -- "$pat" "$POOL_DIR/refuse.out" ||
		die "vbdpool-nbd $*: no '$pat' in: $(cat "$POOL_DIR/refuse.out")"
}
refuse 2 'devid is required' --socket "$POOL_DIR/x.sock"
refuse 2 'exactly one of' --devid 0
refuse 2 'exactly one of' --devid 0 --socket "$POOL_DIR/x.sock" --listen 127.0.0.1:1
refuse 2 'expected an integer' --devid zero --socket "$POOL_DIR/x.sock"
refuse 2 'ring-order' --devid 0 --ring-order 9 --socket "$POOL_DIR/x.sock"
refuse 2 'not a volume id' --devid 0 --volume 'a/b' --socket "$POOL_DIR/x.sock"
refuse 1 'cannot attach vbdpool device 7' --devid 7 --socket "$POOL_DIR/x.sock"
refuse 1 'expected HOST:PORT' --devid 0 --listen nonsense
refuse 1 'listening there already' --devid 0 --socket "$POOL_DIR/nbd.sock"
[ ! -e "$POOL_DIR/x.sock" ] || die "a refused start left a socket"
pool_log "bad arguments and a missing device refused"

size=$(nbdinfo --size "$NBD_URI")
[ "$size" = $((SIZE_MB << 20)) ] || die "nbdinfo size $size"
for c in multi-conn fua flush trim zero; do nbdinfo --can "$c" "$NBD_URI" || die "export cannot $c"; done
nbdinfo --json "$NBD_URI" >"$POOL_DIR/info.json"
for kv in '"block_size_minimum": 512' '"block_size_preferred": 4096' '"block_size_maximum": 8388608'; do
	grep -q "$kv" "$POOL_DIR/info.json" || die "nbdinfo: no $kv"
done
pool_log "nbdinfo: size $size, multi-conn fua flush trim zero, block sizes 512/4096/8M (the default budget)"

wargs=() rargs=()
for m in $(seq 0 $((SIZE_MB - 1))); do
	p=$(((m * 7 + 1) % 256))
	wargs+=(-c "write -P $p ${m}M 1M")
	rargs+=(-c "read -P $p ${m}M 1M")
done
qemu-io -f raw "$NBD_URI" "${wargs[@]}" >"$POOL_DIR/qio-w.out" 2>&1 || die "qemu-io write: $(tail -3 "$POOL_DIR/qio-w.out")"
qemu-io -r -f raw "$NBD_URI" "${rargs[@]}" >"$POOL_DIR/qio-r.out" 2>&1 || die "qemu-io read: $(tail -3 "$POOL_DIR/qio-r.out")"
# unaligned (qemu read-modify-writes: 512 is the advertised minimum), FUA,
# write zeroes, trim, flush; then read back over another connection
qemu-io -f raw "$NBD_URI" -c 'write -P 0x11 1000 3000' -c 'write -f -P 0x3c 5M 64k' \
	-c 'write -z 7M 3M' -c 'discard 12M 1M' -c 'flush' >"$POOL_DIR/qio-x.out" 2>&1 ||
	die "qemu-io: $(tail -3 "$POOL_DIR/qio-x.out")"
qemu-io -r -f raw "$NBD_URI" -c 'read -P 1 0 1000' -c 'read -P 0x11 1000 3000' \
	-c 'read -P 1 4000 1044576' -c 'read -P 0x3c 5M 64k' -c 'read -P 0 7M 3M' \
	-c "read -P $(((10 * 7 + 1) % 256)) 10M 1M" >"$POOL_DIR/qio-y.out" 2>&1 ||
	die "qemu-io: $(tail -3 "$POOL_DIR/qio-y.out")"
! grep -qiE 'fail|error|mismatch' "$POOL_DIR"/qio-*.out || die "qemu-io reported: $(grep -iE 'fail|error|mismatch' "$POOL_DIR"/qio-*.out | head -3)"
reads=$(grep -c '^read 1048576/1048576' "$POOL_DIR/qio-r.out")
[ "$reads" = $SIZE_MB ] || die "qemu-io verified $reads of $SIZE_MB MiB"
pool_log "qemu-io: $SIZE_MB MiB of patterns written and verified over a second connection; unaligned, FUA, zeroes, trim"

head -c $((SIZE_MB << 20)) /dev/urandom >"$POOL_DIR/rand.bin"
nbdcopy "$POOL_DIR/rand.bin" "$NBD_URI"
nbdcopy "$NBD_URI" "$POOL_DIR/back.bin"
cmp "$POOL_DIR/rand.bin" "$POOL_DIR/back.bin" || die "nbdcopy round trip differs"
pool_log "nbdcopy: 64 MiB round trip byte-exact"
grep -q 'serving the export' "$log" || die "vbdpool-nbd served nothing? $(tail -5 "$log")"
! grep -qE ' (warn|error):' "$log" || die "vbdpool-nbd warned: $(grep -E ' (warn|error):' "$log" | head -3)"

kill -TERM "$NBD_SERVER_PID"
rc=0; wait "$NBD_SERVER_PID" || rc=$?
[ $rc = 0 ] || die "vbdpool-nbd exited $rc after SIGTERM: $(tail -n 5 "$log")"
[ "$(xs0 xenstore-read "/local/domain/$GUEST/device/vbdpool/0/state")" = 6 ] ||
	die "frontend not Closed (6) after SIGTERM"
ctl schema-check >"$POOL_DIR/schema.out" 2>&1 || die "schema-check: $(cat "$POOL_DIR/schema.out")"
pool_log "SIGTERM: exit 0, state 6; schema-check ok"
echo PASS
