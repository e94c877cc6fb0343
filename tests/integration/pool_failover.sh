#!/usr/bin/env bash
# Must-show 2+3: fio (4 KiB-1 MiB random read/write, crc32c verify) over NBD
# against a 3-member pool whose 6 queues are spread over all three; one
# member's domain is destroyed (SIGKILL) mid-run: zero I/O errors, verify
# passes, the dead member's queues end up with survivors, schema-check passes.
# The guest exports the device with nbdkit + the plugin, or with vbdpool-nbd
# when POOL_NBD_SERVER=vbdpool-nbd (front_nbd_failover.sh); then the server
# must also have logged no error.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
. "$VBD_TOP/tests/lib/fio.sh"
pool_start 256 3
members=("${MEMBERS[@]}")
pool_guest vol1 6
pool_log "guest NBD server: ${POOL_NBD_SERVER:-nbdkit}"
pool_wait_connected vol1 "$GUEST" 0
# a member that became active after the others claimed every queue gets
# its share from the balancer (within 2 s), not at once
for m in "${members[@]}"; do
	pool_wait_owns vol1 "$GUEST" 0 "$m" || die "member $m owns no queue: $(pool_owners vol1 "$GUEST" 0)"
done
pool_wait_connected vol1 "$GUEST" 0
before=$(pool_owners vol1 "$GUEST" 0)
pool_log "owners before: $before"

pool_fio "$NBD_URI" 128 10 "$POOL_DIR/fio.out" &
fio_pid=$!
sleep 3
victim=${members[0]}
pool_log "destroying member domain $victim"
"$XENSIM" destroy --dir "$SIM_DIR" "$victim"
rc=0; wait $fio_pid || rc=$?
cat "$POOL_DIR/fio.out" | grep -E 'err=|READ:|WRITE:|verify' || true
[ $rc -eq 0 ] || die "fio exited $rc"
[ "$(fio_errors "$POOL_DIR/fio.out")" = 0 ] || die "fio reported errors"
after=$(pool_owners vol1 "$GUEST" 0)
pool_log "owners after: $after"
[ "$(pool_owned_by vol1 "$GUEST" 0 "$victim")" = 0 ] || die "dead member $victim still owns queues: $after"
pool_wait_connected vol1 "$GUEST" 0
pool_wait_revoked "$victim" || die "the dead member's grants were not revoked"
if [ "${POOL_NBD_SERVER:-nbdkit}" = vbdpool-nbd ]; then
	grep -q 'serving the export' "$POOL_DIR/vbdpool-nbd.log" || die "vbdpool-nbd served nothing"
	! grep -qE 'vbdpool-nbd\[[0-9]+\] error:' "$POOL_DIR/vbdpool-nbd.log" ||
		die "vbdpool-nbd logged errors: $(grep -E ' error:' "$POOL_DIR/vbdpool-nbd.log" | head -3)"
fi
ctl schema-check >"$POOL_DIR/schema.out" 2>&1 || die "schema-check: $(cat "$POOL_DIR/schema.out")"
echo PASS
