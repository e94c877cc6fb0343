#!/usr/bin/env bash
# A bad range on the shared storage itself (faultfs "bad OFF LEN": EIO for
# every process, every member) is a media error, not a path failure: a read
# or write of that range fails to the guest with EIO (that request only),
# every other range keeps working (front_verify over NBD, restricted to the
# first half of the volume, sees no error), and no member ends `failed` —
# the path checker's probes of known places work, so each member stays
# active and keeps its queues. (Before the EIO policy, every member in turn
# went `failed` on the bad range and the whole pool was down.)
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_faultfs_nbd 64 3 6
members=("${MEMBERS[@]}")
pool_log "owners before: $(pool_owners vol1 "$GUEST" 0)"

bad_off=$((48 << 20)) bad_len=$((64 << 10))
echo "bad $bad_off $bad_len" >"$FAULTFS_CTL"
# the guest's workload: the first 32 MiB only (the bad range is not in it)
pool_verify_bg "$GUEST" "$POOL_DIR/verify.log" --nbd "$POOL_DIR/nbd.sock" --seconds 8 \
	--threads 4 --blocks $(((32 << 20) / 4096))

qio() { # CMD -> output (never hangs the test)
	timeout 30 qemu-io -f raw "$NBD_URI" -c "$1" 2>&1 || true
}
# reads and writes of the bad range, through several connections (each
# qemu-io is one; vbdpool-nbd spreads them over the queues, so over members)
for k in 0 1 2 3 4 5; do
	off=$((bad_off + k * 8192))
	out=$(qio "read $off 4k")
	grep -q 'Input/output error' <<<"$out" || die "read of bad sector $off did not fail with EIO: $out"
	out=$(qio "write -P 0x5a $off 4k")
	grep -q 'Input/output error' <<<"$out" || die "write of bad sector $off did not fail with EIO: $out"
done
pool_log "6 reads and 6 writes of the bad range failed with EIO"
# right next to the bad range: works
out=$(qio "write -P 0x33 $((bad_off + bad_len)) 4k")
grep -qi 'error\|fail' <<<"$out" && die "write next to the bad range failed: $out"
out=$(qio "read -P 0x33 $((bad_off + bad_len)) 4k")
grep -qi 'error\|fail\|mismatch' <<<"$out" && die "read next to the bad range failed: $out"
out=$(qio "read $((bad_off - 4096)) 4k")
grep -qi 'error\|fail' <<<"$out" && die "read before the bad range failed: $out"

rc=0; wait "$VERIFY_PID" || rc=$?
tail -n 1 "$POOL_DIR/verify.log"
[ $rc -eq 0 ] || die "front_verify (outside the bad range) failed: exit $rc"
grep -q 'errors=0 mismatches=0' "$POOL_DIR/verify.log" || die "guest errors outside the bad range"
pool_log "faultfs: $(tr '\n' ' ' <"$FAULTFS_CTL")"
grep -q 'bad-failed=[1-9]' "$FAULTFS_CTL" || die "the bad range was never hit: the test did not exercise it"
for m in "${members[@]}"; do
	state=$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$m/state")
	[ "$state" = active ] || die "member $m is '$state' after media errors, expected active"
	xs0 xenstore-read "/vbdpool/volumes/vol1/members/$m/failed-reason" >/dev/null 2>&1 &&
		die "member $m has a failed-reason"
done
grep -q 'media error' "$POOL_DIR"/backd-*.log || die "no member logged a media error"
pool_log "owners after: $(pool_owners vol1 "$GUEST" 0)"
ctl schema-check >/dev/null || die "schema-check failed"
echo PASS
