#!/usr/bin/env bash
# Every member checks, before it serves, that its backing is the volume's
# storage. The backing path is a symlink that is re-pointed to another file
# of the same size after the first member(s) opened it: the next member
# sees different storage under the recorded path. It must refuse (state
# `mismatch`, shown by `vbdpoolctl status`, both identities in its log),
# claim nothing while the right member serves the guest, and schema-check
# must accept the state. Consensus mode (--id-by-consensus): three members
# record and agree on one identity; a fourth that sees other storage is
# `mismatch` too.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
T=$POOL_DIR

wait_state() { # VOL DOMID STATE
	local s=""
	for _ in $(seq 100); do
		s=$(xs0 xenstore-read "/vbdpool/volumes/$1/members/$2/state" 2>/dev/null) || s=""
		[ "$s" = "$3" ] && return 0
		sleep 0.1
	done
	die "member $2 of $1 is '$s', expected $3: $(tail -n 5 "$T/backd-$2.log")"
}

truncate -s 64M "$T/a.img" "$T/b.img" "$T/c.img" "$T/d.img"
ino_a=$(stat -c %i "$T/a.img") ino_b=$(stat -c %i "$T/b.img")

pool_log "--- recorded identity: a member that sees other storage refuses"
ln -s "$T/a.img" "$T/vol.lnk"
pool_volume vol1 64 "$T/vol.lnk"
pool_member vol1
good=$LAST_DOMID
wait_state vol1 "$good" active
ln -sfn "$T/b.img" "$T/vol.lnk" # the next member's view: another file, same size
pool_member vol1
bad=$LAST_DOMID
wait_state vol1 "$bad" mismatch
grep "not the volume's storage" "$T/backd-$bad.log" || die "no clear message: $(cat "$T/backd-$bad.log")"
grep -q "storage-id 'file:.*:ino=$ino_a' size 67108864, this member sees 'file:.*:ino=$ino_b'" \
	"$T/backd-$bad.log" || die "the message does not show both identities"
ctl status vol1 >"$T/status.out" || die "status"
grep -E "^ +$bad +.* mismatch " "$T/status.out" || die "status does not show $bad mismatch: $(cat "$T/status.out")"

pool_attach vol1 4
pool_verify "$GUEST" "$T/verify.log" --devid 0 --seconds 2 --threads 2 ||
	die "front_verify: $(tail -n 2 "$T/verify.log")"
tail -n 1 "$T/verify.log"
[ "$(pool_owned_by vol1 "$GUEST" 0 "$good")" = 4 ] ||
	die "queues not all served by $good: $(pool_owners vol1 "$GUEST" 0)"
[ "$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$bad/state")" = mismatch ] ||
	die "member $bad left mismatch"
grep -q "attachment" "$T/backd-$bad.log" && die "the mismatch member looked at the attachments"
pool_backd_pid "$bad" >/dev/null || die "the mismatch member exited (it should stay up)"

pool_log "--- consensus: three members agree on one identity, a fourth sees other storage"
ln -s "$T/c.img" "$T/cons.lnk"
ctl volume create vc --id-by-consensus --backing "$T/cons.lnk" --size 64M >/dev/null ||
	die "consensus create"
agree=()
for _ in 1 2 3; do pool_member vc; agree+=("$LAST_DOMID"); done
for m in "${agree[@]}"; do wait_state vc "$m" active; done
rec=$(xs0 xenstore-read /vbdpool/volumes/vc/storage-consensus)
[[ $rec == "file:"*":ino=$(stat -c %i "$T/c.img") size=67108864" ]] || die "storage-consensus '$rec'"
[ "$(grep -l "proposed first: recorded" "$T"/backd-*.log | wc -l)" = 1 ] || die "not exactly one first proposal"
ln -sfn "$T/d.img" "$T/cons.lnk"
pool_member vc
odd=$LAST_DOMID
wait_state vc "$odd" mismatch
grep "consensus mode: the members agreed on storage" "$T/backd-$odd.log" || die "no consensus message"
[ "$(xs0 xenstore-read /vbdpool/volumes/vc/storage-consensus)" = "$rec" ] || die "the record changed"

ctl schema-check >"$T/schema.out" 2>&1 || die "schema-check: $(cat "$T/schema.out")"
echo PASS
