#!/usr/bin/env bash
# Membership: a vbdpool-backd asked to serve a volume it is not a member of
# logs a clear error and serves its other volumes; it joins once dom0 adds
# it, and stops serving a volume dom0 removes it from (another member
# takes those queues over).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 32
pool_volume vol2 32
d=$(pool_domain back)
ctl member add vol2 "$d" >/dev/null || die "member add vol2"
"$BIN/xensim" exec --dir "$POOL_DIR/host" --domid "$d" -- \
	"$BIN/vbdpool-backd" --volume vol1 --volume vol2 >"$POOL_DIR/backd-$d.log" 2>&1 &
POOL_PIDS+=($!)

wait_state() { # VOL STATE
	local s=""
	for _ in $(seq 100); do
		s=$(xs0 xenstore-read "/vbdpool/volumes/$1/members/$d/state" 2>/dev/null) || s=""
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	die "member $d of $1 is '$s', expected $2"
}
verify() { # GUEST DEVID
	pool_verify "$1" "$POOL_DIR/verify-$2.log" --devid "$2" --ops 200 --threads 2 || die "front_verify on device $2: $(tail -n 2 "$POOL_DIR/verify-$2.log")"
	tail -n 1 "$POOL_DIR/verify-$2.log"
}

wait_state vol2 active
grep -q "volume vol1: domain $d is not a member" "$POOL_DIR/backd-$d.log" || die "no clear error for vol1"
g=$(pool_domain guest)
ctl attach "$g" vol2 --devid 0 --queues 2 >/dev/null || die "attach vol2"
verify "$g" 0

ctl member add vol1 "$d" >/dev/null || die "member add vol1"
wait_state vol1 active
ctl attach "$g" vol1 --devid 1 --queues 2 >/dev/null || die "attach vol1"
verify "$g" 1

ctl member remove vol1 "$d" >/dev/null || die "member remove vol1"
for _ in $(seq 100); do
	grep -q "volume vol1: domain $d was removed" "$POOL_DIR/backd-$d.log" && break
	sleep 0.1
done
grep -q "volume vol1: domain $d was removed" "$POOL_DIR/backd-$d.log" || die "removal not noticed"
# another member takes the removed member's queues over
pool_member vol1
m2=$LAST_DOMID
verify "$g" 1
[ "$(pool_owned_by vol1 "$g" 1 "$m2")" = 2 ] || die "vol1 not served by $m2: $(pool_owners vol1 "$g" 1)"
verify "$g" 0 # vol2 still served
pool_backd_pid "$d" >/dev/null || die "backd died"
echo PASS
