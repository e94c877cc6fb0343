#!/usr/bin/env bash
# A member the supervisor declared dead while it still runs (a wrong
# verdict; written by hand here, as dom0): the other member takes its
# queues over; the member drops every mapping, joins again and gets a fair
# share back. The guest's I/O runs before and after the verdict, not
# across it: requests a wrongly-declared member still has in flight may
# land after the survivor's (docs/protocol.md: a fenced member must never
# resume), so no data check can span it.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 64
pool_members vol1 2
z=${MEMBERS[0]}
other=${MEMBERS[1]}
pool_attach vol1 4
g=$GUEST

verify() { # RUN
	pool_verify "$g" "$POOL_DIR/verify$1.log" --devid 0 --seconds 2 --threads 4 || die "front_verify run $1: $(tail -n 3 "$POOL_DIR/verify$1.log")"
	tail -n 1 "$POOL_DIR/verify$1.log"
}

verify 1
pool_log "owners: $(pool_owners vol1 "$g" 0)"
pool_wait_owns vol1 "$g" 0 "$z" || die "member $z owns nothing to begin with: $(pool_owners vol1 "$g" 0)"

xs0 xenstore-write "/vbdpool/volumes/vol1/members/$z/state" dead
state=""
for _ in $(seq 100); do
	state=$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$z/state")
	[ "$state" = active ] && [ "$(pool_owned_by vol1 "$g" 0 "$z")" -ge 1 ] && break
	sleep 0.1
done
grep -q 'marked this member dead' "$POOL_DIR/backd-$z.log" || die "member $z did not notice the verdict"
grep -q "declared dead by the supervisor" "$POOL_DIR/backd-$z.log" || die "member $z dropped nothing"
[ "$state" = active ] || die "member $z did not join again ($state)"
[ "$(pool_owned_by vol1 "$g" 0 "$z")" -ge 1 ] || die "member $z got no share back: $(pool_owners vol1 "$g" 0)"
pool_log "member $z back: $(pool_owners vol1 "$g" 0)"
verify 2
echo PASS
