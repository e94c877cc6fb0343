#!/usr/bin/env bash
# A multi-member volume is never served without O_DIRECT (members in
# different domains share no page cache). A `--buffered` member of a
# volume that lists another member refuses to serve it (state mismatch);
# a `--buffered` member that serves a volume alone stops (every queue
# stopped, the backing flushed, then state mismatch) as soon as a second
# member is added, and that member takes its queues over while a guest
# verifies its data across the change.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
T=$POOL_DIR

wait_state() { # VOL DOMID STATE [SECONDS]
	local s=""
	for _ in $(seq $((${4:-10} * 10))); do
		s=$(xs0 xenstore-read "/vbdpool/volumes/$1/members/$2/state" 2>/dev/null) || s=""
		[ "$s" = "$3" ] && return 0
		sleep 0.1
	done
	die "member $2 of $1 is '$s', expected $3: $(tail -n 5 "$T/backd-$2.log")"
}

pool_log "--- joining a volume that lists another member: refused"
pool_volume vb 32
other=$(pool_domain other)
ctl member add vb "$other" >/dev/null || die "member add $other"
pool_member vb --buffered
b=$LAST_DOMID
wait_state vb "$b" mismatch
grep "open without O_DIRECT and the volume has other members" "$T/backd-$b.log" ||
	die "no clear message: $(cat "$T/backd-$b.log")"

pool_log "--- serving alone buffered, then a second member joins"
pool_volume vol1 64
pool_member vol1 --buffered
first=$LAST_DOMID
wait_state vol1 "$first" active
grep -q "without O_DIRECT: served only while this is the volume's only member" \
	"$T/backd-$first.log" || die "the single buffered member did not say so"
pool_attach vol1 4
pool_verify_bg "$GUEST" "$T/verify.log" --devid 0 --seconds 6 --threads 4
pool_wait_owns vol1 "$GUEST" 0 "$first" || die "$first serves nothing: $(pool_owners vol1 "$GUEST" 0)"
sleep 1.5
pool_member vol1
second=$LAST_DOMID
wait_state vol1 "$first" mismatch
wait_state vol1 "$second" active
rc=0
wait "$VERIFY_PID" || rc=$?
tail -n 1 "$T/verify.log"
[ $rc -eq 0 ] || die "front_verify across the change failed (exit $rc): $(tail -n 3 "$T/verify.log")"
[ "$(pool_owned_by vol1 "$GUEST" 0 "$second")" = 4 ] ||
	die "queues not all with $second: $(pool_owners vol1 "$GUEST" 0)"
grep "another member joined and this one has no O_DIRECT" "$T/backd-$first.log" ||
	die "no clear message: $(cat "$T/backd-$first.log")"
ctl schema-check >"$T/schema.out" 2>&1 || die "schema-check: $(cat "$T/schema.out")"
echo PASS
