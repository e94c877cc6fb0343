#!/usr/bin/env bash
# vbdpool-nbd under failover: fio (4 KiB-1 MiB random read/write, crc32c
# verify, tests/lib/fio.sh) over the native NBD server against a 3-member
# pool whose 6 queues are spread over all three; one member's domain is
# destroyed (SIGKILL) mid-run: zero I/O errors, verify passes, the dead
# member's queues end up with survivors, the server logged no error.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
. "$VBD_TOP/tests/lib/fio.sh"
export POOL_NBD_SERVER=vbdpool-nbd
pool_init
pool_volume vol1 256
members=()
for _ in 1 2 3; do pool_member vol1; members+=("$LAST_DOMID"); done
pool_supervisor
pool_guest vol1 6
pool_wait_connected vol1 "$GUEST" 0
# a member that joined after the attachment gets its share by balancing
for m in "${members[@]}"; do
	pool_wait_owns vol1 "$GUEST" 0 "$m" || die "member $m owns no queue: $(pool_owners vol1 "$GUEST" 0)"
done
pool_wait_connected vol1 "$GUEST" 0
pool_log "owners before: $(pool_owners vol1 "$GUEST" 0)"

pool_fio "$NBD_URI" 128 10 "$POOL_DIR/fio.out" &
fio_pid=$!
sleep 3
victim=${members[0]}
pool_log "destroying member domain $victim"
"$XENSIM" destroy --dir "$SIM_DIR" "$victim"
rc=0; wait $fio_pid || rc=$?
grep -E 'err=|READ:|WRITE:|verify' "$POOL_DIR/fio.out" || true
[ $rc -eq 0 ] || die "fio exited $rc"
[ "$(fio_errors "$POOL_DIR/fio.out")" = 0 ] || die "fio reported errors"
grep -qE 'READ: bw=' "$POOL_DIR/fio.out" || die "fio read nothing"
after=$(pool_owners vol1 "$GUEST" 0)
pool_log "owners after: $after"
[ "$(pool_owned_by vol1 "$GUEST" 0 "$victim")" = 0 ] || die "dead member $victim still owns queues: $after"
pool_wait_connected vol1 "$GUEST" 0
grep -q 'serving the export' "$POOL_DIR/vbdpool-nbd.log" || die "vbdpool-nbd served nothing"
! grep -qE 'vbdpool-nbd\[[0-9]+\] error:' "$POOL_DIR/vbdpool-nbd.log" ||
	die "vbdpool-nbd logged errors: $(grep -E ' error:' "$POOL_DIR/vbdpool-nbd.log" | head -3)"
ctl schema-check >"$POOL_DIR/schema.out" 2>&1 || die "schema-check: $(cat "$POOL_DIR/schema.out")"
echo PASS
