#!/usr/bin/env bash
# Must-show 4: under a verified fio run, a fourth member started mid-run
# ends up owning queues; then one member is sent SIGTERM: it hands its
# queues off and exits; fio sees zero errors and verify passes.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
. "$VBD_TOP/tests/lib/fio.sh"
pool_start 256 3
members=("${MEMBERS[@]}")
pool_guest vol1 8
pool_wait_connected vol1 "$GUEST" 0
pool_log "owners with 3 members: $(pool_owners vol1 "$GUEST" 0)"

pool_fio "$NBD_URI" 128 10 "$POOL_DIR/fio.out" &
fio_pid=$!
sleep 2
pool_member vol1
joiner=$LAST_DOMID
pool_log "member $joiner joined"
pool_wait_owns vol1 "$GUEST" 0 "$joiner" || die "joiner $joiner owns no queue after 10s: $(pool_owners vol1 "$GUEST" 0)"
pool_log "owners with joiner: $(pool_owners vol1 "$GUEST" 0)"

leaver=${members[1]}
pool_member_leave vol1 "$GUEST" "$leaver"
pool_log "owners after leave: $(pool_owners vol1 "$GUEST" 0)"

rc=0; wait $fio_pid || rc=$?
grep -E 'err=|READ:|WRITE:' "$POOL_DIR/fio.out" || true
[ $rc -eq 0 ] || die "fio exited $rc"
[ "$(fio_errors "$POOL_DIR/fio.out")" = 0 ] || die "fio reported errors"
ctl schema-check >"$POOL_DIR/schema.out" 2>&1 || die "schema-check: $(cat "$POOL_DIR/schema.out")"
echo PASS
