#!/usr/bin/env bash
# vbdpool-supervisor on the emulated host: a member domain whose
# processes are SIGKILLed becomes members/<m>/state = dead in every volume
# it serves (the time taken is printed, not asserted); the other members
# are left alone; a destroyed domain is recorded too; the supervisor
# publishes its pid and removes it on SIGTERM, exiting 0.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${VBD_BUILD:=$top/build}"
export VBD_BUILD
CTL=$VBD_BUILD/bin/vbdpoolctl
SV=$VBD_BUILD/bin/vbdpool-supervisor
for b in xensim vbdpoolctl vbdpool-supervisor; do
	[ -x "$VBD_BUILD/bin/$b" ] || { echo "SKIP: build $b first"; exit 77; }
done
# shellcheck source=../lib/sim.sh
. "$top/tests/lib/sim.sh"

fail() {
	echo "FAIL: $*" >&2
	echo "--- supervisor log" >&2
	cat "$SIM_TMP/sv.log" >&2 2>/dev/null
	exit 1
}
ctl() { sim_xs0 "$CTL" "$@"; }
SV_PID=
SIM_ON_EXIT='[ -n "$SV_PID" ] && { kill "$SV_PID"; wait "$SV_PID"; } 2>/dev/null'
ms() { echo $(($(date +%s%N) / 1000000)); }
state() { sim_xs0 xenstore-read "/vbdpool/volumes/$1/members/$2/state" 2>/dev/null; }
wait_state() { # VOL DOMID STATE -> prints the ms waited; fails after 10 s
	local t0 i
	t0=$(ms)
	for ((i = 0; i < 1000; i++)); do
		[ "$(state "$1" "$2")" = "$3" ] && { echo $(($(ms) - t0)); return 0; }
		sleep 0.01
	done
	return 1
}
pgid_of() { sim_list "$1" | awk -v d="$1" '$2 == d { print $4 }'; }

sim_start || fail "xensim start"
truncate -s 16M "$SIM_TMP/v.img"
ctl volume create va --backing "$SIM_TMP/v.img" >/dev/null || fail "volume va"
ctl volume create vb --backing "$SIM_TMP/v.img" >/dev/null || fail "volume vb"
m1=$(sim_create back1 sleep 100000) || fail "create back1"
m2=$(sim_create back2 sleep 100000) || fail "create back2"
m3=$(sim_create back3 sleep 100000) || fail "create back3"
for m in $m1 $m2 $m3; do
	ctl member add va "$m" >/dev/null || fail "member add va $m"
	sim_exec "$m" xenstore-write /vbdpool/volumes/va/members/$m/state active || fail "state $m"
done
ctl member add vb "$m1" >/dev/null || fail "member add vb $m1"
sim_exec "$m1" xenstore-write /vbdpool/volumes/vb/members/$m1/state active || fail "state vb"

# dom0 program: `xensim exec --domid 0` execs it in place, so $! is its pid
"$XENSIM" exec --dir "$SIM_DIR" --domid 0 -- "$SV" >"$SIM_TMP/sv.log" 2>&1 &
SV_PID=$!
for ((i = 0; i < 500; i++)); do
	[ "$(sim_xs0 xenstore-read /vbdpool/supervisor/pid 2>/dev/null)" = "$SV_PID" ] && break
	sleep 0.01
done
[ "$(sim_xs0 xenstore-read /vbdpool/supervisor/pid 2>/dev/null)" = "$SV_PID" ] ||
	fail "supervisor pid not published"
sim_exec "$m2" xenstore-read /vbdpool/supervisor/pid >/dev/null || fail "a member cannot read the pid"
ctl schema-check || fail "schema-check with the supervisor running"
[ "$(state va "$m1")" = active ] || fail "a live member was marked $(state va "$m1")"

echo "--- SIGKILL every process of member dom$m1 (serves va and vb)"
pg=$(pgid_of "$m1")
[ -n "$pg" ] && [ "$pg" -gt 1 ] || fail "no process group for dom$m1"
kill -KILL -- "-$pg"
t=$(wait_state va "$m1" dead) || fail "dom$m1 not dead in va after 10 s: $(state va "$m1")"
echo "dom$m1 recorded dead in va after ${t} ms"
[ "$(state vb "$m1")" = dead ] || fail "dom$m1 not dead in vb: $(state vb "$m1")"
[ "$(state va "$m2")" = active ] || fail "survivor dom$m2 is $(state va "$m2")"
[ "$(state va "$m3")" = active ] || fail "survivor dom$m3 is $(state va "$m3")"
ctl schema-check || fail "schema-check after the death"

echo "--- xensim destroy member dom$m2"
"$XENSIM" destroy --dir "$SIM_DIR" "$m2" || fail "destroy"
t=$(wait_state va "$m2" dead) || fail "dom$m2 not dead after 10 s: $(state va "$m2")"
echo "dom$m2 recorded dead in va after ${t} ms"
[ "$(state va "$m3")" = active ] || fail "survivor dom$m3 is $(state va "$m3")"

echo "--- SIGTERM: the supervisor exits 0 and withdraws its pid"
kill -TERM "$SV_PID"
wait "$SV_PID"
rc=$?
SV_PID=
[ $rc -eq 0 ] || fail "supervisor exit status $rc"
sim_xs0 xenstore-exists /vbdpool/supervisor/pid && fail "pid node left behind"
grep -q "dom$m1 is gone" "$SIM_TMP/sv.log" || fail "death not logged"
cat "$SIM_TMP/sv.log"
echo PASS
