#!/usr/bin/env bash
# Must-show 4: under a verified fio run, a fourth member started mid-run
# ends up owning queues; then one member is sent SIGTERM: it hands its
# queues off and exits; fio sees zero errors and verify passes.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
. "$VBD_TOP/tests/lib/fio.sh"
pool_init
pool_volume vol1 256
members=()
for i in 1 2 3; do pool_member vol1; members+=("$LAST_DOMID"); done
pool_supervisor
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
lpid=$(pool_backd_pid "$leaver") || die "no backd in domain $leaver"
pool_log "SIGTERM to member $leaver (pid $lpid)"
kill -TERM "$lpid"
for i in $(seq 200); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$lpid" 2>/dev/null || die "member $leaver did not exit after SIGTERM"
[ "$(pool_owned_by vol1 "$GUEST" 0 "$leaver")" = 0 ] || die "leaver still owns: $(pool_owners vol1 "$GUEST" 0)"
pool_log "owners after leave: $(pool_owners vol1 "$GUEST" 0)"

rc=0; wait $fio_pid || rc=$?
grep -E 'err=|READ:|WRITE:' "$POOL_DIR/fio.out" || true
[ $rc -eq 0 ] || die "fio exited $rc"
[ "$(fio_errors "$POOL_DIR/fio.out")" = 0 ] || die "fio reported errors"
ctl schema-check >"$POOL_DIR/schema.out" 2>&1 || die "schema-check: $(cat "$POOL_DIR/schema.out")"
echo PASS
