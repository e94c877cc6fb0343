#!/usr/bin/env bash
# Issue 11 hardening: a malformed heartbeat is never a beat.  Two member
# domains write their own members/<m> nodes as a daemon would (state
# active, a heartbeat every 100 ms): "good" writes the counter the schema
# defines (an integer), "junk" writes a value that changes every time but
# is no integer ("junk-1", "junk-2", ...).  The supervisor (2 s lease,
# --fence pause) must fence junk after the lease: a value it cannot read
# says nothing about the member being alive.  Under the old rule (any
# change of the value was a beat) junk was never fenced.  good is not
# fenced meanwhile (it beats), so the supervisor fences junk for its
# heartbeat, not for being a member.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 16

# member_loop DOMID FORMAT: in the member's domain, as the member: state
# active, then heartbeat = printf FORMAT <counter> every 100 ms
member_loop() {
	local d=$1 fmt=$2 m=/vbdpool/volumes/vol1/members/$1
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$d" -- sh -c "
		xenstore-write $m/state active || exit 1
		i=1
		while :; do
			xenstore-write $m/heartbeat \"\$(printf '$fmt' \$i)\" || exit 1
			i=\$((i + 1))
			sleep 0.1
		done" >"$POOL_DIR/member-$d.log" 2>&1 &
	POOL_PIDS+=($!)
}
state() { xs0 xenstore-read "/vbdpool/volumes/vol1/members/$1/state" 2>/dev/null; }

good=$(pool_domain good) || die "create domain good"
junk=$(pool_domain junk) || die "create domain junk"
for d in "$good" "$junk"; do ctl member add vol1 "$d" >/dev/null || die "member add $d"; done
member_loop "$good" '%d'
member_loop "$junk" 'junk-%d'
for _ in $(seq 100); do
	[ "$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$junk/heartbeat" 2>/dev/null)" != "" ] &&
		[ "$(state "$good")" = active ] && break
	sleep 0.05
done
[ "$(state "$junk")" = active ] || die "domain $junk did not write its member nodes"
pool_log "heartbeats: good $(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$good/heartbeat")," \
	"junk $(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$junk/heartbeat")"

pool_supervisor --lease-ms 2000 --fence pause --storage-timeout-ms 1000
# the lease plus a few scans; bounded at 15 s, nothing asserted on the time
for _ in $(seq 300); do
	[ "$(state "$junk")" = fenced ] && break
	sleep 0.05
done
[ "$(state "$junk")" = fenced ] ||
	die "member $junk with a changing malformed heartbeat was not fenced: $(cat "$POOL_DIR/supervisor.log")"
grep -q "dom$junk: heartbeat unchanged" "$POOL_DIR/supervisor.log" || die "no fence line for dom$junk"
pool_log "dom$junk fenced: $(grep "dom$junk: heartbeat unchanged" "$POOL_DIR/supervisor.log")"
[ "$(state "$good")" = active ] || die "member $good with a good heartbeat is $(state "$good")"
grep -q "dom$good: heartbeat unchanged" "$POOL_DIR/supervisor.log" && die "dom$good was fenced"
echo PASS
