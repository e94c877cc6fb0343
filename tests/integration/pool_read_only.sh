#!/usr/bin/env bash
# Read-only attachments end to end (`vbdpoolctl attach --read-only`): the
# backing holds a pattern, one member serves three read-only guests of it.
#  - a hostile guest (tests/progs/hostile_front --read-only) writes its own
#    copy of the mode back to "w" (it owns its frontend directory), fails
#    to write the attachment's, then posts writes (direct, indirect) and a
#    discard on the ring itself: each gets BLKIF_RSP_ERROR, while reads
#    and a flush are served;
#  - a guest using libvbdpool-front (tests/progs/front_ro) sees the device
#    read-only and gets -EROFS for writes and discards;
#  - vbdpool-nbd exports it with NBD_FLAG_READ_ONLY and a write through
#    NBD fails;
# and after all that the backing is byte for byte what it was, and
# schema-check reports the one thing the hostile guest could change: its
# own copy of the mode.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init pool-read-only

backing=$POOL_DIR/ro.img
head -c 16M /dev/zero | tr '\0' '\245' >"$backing" # every byte 0xa5
before=$(sha256sum <"$backing")
pool_volume vol1 16 "$backing"
pool_member vol1
member=$LAST_DOMID

pool_log "--- a hostile guest posts writes on a read-only ring"
bad=$(pool_domain bad)
ctl attach "$bad" vol1 --devid 0 --queues 1 --read-only || die "attach --read-only"
rc=0
"$XENSIM" exec --dir "$SIM_DIR" --domid "$bad" -- \
	"$VBD_BUILD/tests/progs/hostile_front" --read-only --fill 0xa5 --devid 0 \
	>"$POOL_DIR/hostile.log" 2>&1 || rc=$?
cat "$POOL_DIR/hostile.log"
[ $rc -eq 0 ] || die "hostile_front --read-only exited $rc"
grep -q '^hostile_front: PASS' "$POOL_DIR/hostile.log" || die "hostile_front did not pass"
grep -q 'read-only attachment: write refused' "$POOL_DIR/backd-$member.log" ||
	die "the member did not log the refused write"

pool_log "--- a library guest gets -EROFS"
lib=$(pool_domain lib)
ctl attach "$lib" vol1 --devid 0 --queues 2 --read-only >/dev/null || die "attach lib"
rc=0
"$XENSIM" exec --dir "$SIM_DIR" --domid "$lib" -- "$VBD_BUILD/tests/progs/front_ro" --devid 0 \
	>"$POOL_DIR/front_ro.log" 2>&1 || rc=$?
cat "$POOL_DIR/front_ro.log"
[ $rc -eq 0 ] && grep -q '^front_ro: PASS' "$POOL_DIR/front_ro.log" || die "front_ro failed (exit $rc)"

pool_log "--- vbdpool-nbd exports it read-only"
POOL_NBD_SERVER=vbdpool-nbd POOL_ATTACH_ARGS=--read-only pool_guest vol1 2
pool_wait_connected vol1 "$GUEST" 0
nbdinfo --json "$NBD_URI" >"$POOL_DIR/nbdinfo.json" || die "nbdinfo"
python3 - "$POOL_DIR/nbdinfo.json" <<'PY' || die "the export is not read-only: $(cat "$POOL_DIR/nbdinfo.json")"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
assert e["is_read_only"] is True, e
print("nbdinfo: is_read_only", e["is_read_only"], "export-size", e["export-size"])
PY
if qemu-io -f raw "$NBD_URI" -c 'write -P 0x5a 0 64k' >"$POOL_DIR/qio.log" 2>&1 &&
	! grep -qiE 'fail|denied|not permitted|read-only' "$POOL_DIR/qio.log"; then
	die "a write through NBD succeeded: $(cat "$POOL_DIR/qio.log")"
fi
pool_log "NBD write: $(tail -n 1 "$POOL_DIR/qio.log")"
qemu-io -f raw -r "$NBD_URI" -c 'read -P 0xa5 0 64k' >"$POOL_DIR/qio-read.log" 2>&1 ||
	die "read through NBD: $(cat "$POOL_DIR/qio-read.log")"
grep -q 'read 65536/65536' "$POOL_DIR/qio-read.log" || die "NBD read: $(cat "$POOL_DIR/qio-read.log")"

[ "$(sha256sum <"$backing")" = "$before" ] || die "the backing of a read-only volume changed"
pool_log "backing unchanged"
# the hostile guest's rewritten copy of the mode is what schema-check finds
ctl schema-check >"$POOL_DIR/check.out" 2>&1 && die "schema-check missed the guest's rewritten mode"
cat "$POOL_DIR/check.out"
grep -q "^schema-check: 1 violation" "$POOL_DIR/check.out" &&
	grep -q "/local/domain/$bad/device/vbdpool/0/mode: 'w', the attachment's mode is r" \
		"$POOL_DIR/check.out" || die "schema-check: $(cat "$POOL_DIR/check.out")"
echo PASS
