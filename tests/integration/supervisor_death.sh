#!/usr/bin/env bash
# vbdpool-supervisor on the emulated host, which (as C xenstored 4.17 does)
# removes a released domain's nodes, so a dead member's members/<m> vanishes
# with it while dom0's nodes still name it in their ACLs:
#  - a member domain whose processes are SIGKILLed (serves va and vb, va
#    has an attached guest): the supervisor revokes every grant naming it
#    (volume nodes, attachment records, the guest's frontend directory, the
#    supervisor area), logs one line per volume, schema-check passes; the
#    other members are left alone;
#  - a member whose nodes are kept (made dom0's first, as xenstored -K does):
#    on `xensim destroy` it is recorded state=dead, then its members/<m> is
#    removed and its grants revoked;
#  - the supervisor publishes its pid and removes it on SIGTERM, exiting 0.
# The times taken are printed, not asserted.
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
# every ACL entry of the pool area and of the guest's frontend directory
acl_entries() {
	{
		sim_xs0 xenstore-ls -p /vbdpool
		[ -n "${G:-}" ] && sim_xs0 xenstore-ls -p "/local/domain/$G/device/vbdpool"
	} 2>/dev/null | sed -n 's/.*(\([^)]*\))$/\1/p' | tr ',' '\n' | sort -u
}
granted() { acl_entries | grep -qx "[nrwb]$1"; } # DOMID
revoked() { ! granted "$1" && ! sim_xs0 xenstore-exists "/vbdpool/volumes/$2/members/$1"; }
wait_revoked() { # DOMID VOL -> prints the ms waited; fails after 10 s
	local t0 i
	t0=$(ms)
	for ((i = 0; i < 1000; i++)); do
		revoked "$1" "$2" && { echo $(($(ms) - t0)); return 0; }
		sleep 0.01
	done
	return 1
}
pgid_of() { sim_list "$1" | awk -v d="$1" '$2 == d { print $4 }'; }

sim_start || fail "xensim start"
truncate -s 16M "$SIM_TMP/v.img" "$SIM_TMP/vb.img"
ctl volume create va --backing "$SIM_TMP/v.img" >/dev/null || fail "volume va"
ctl volume create vb --backing "$SIM_TMP/vb.img" >/dev/null || fail "volume vb"
m1=$(sim_create back1 sleep 100000) || fail "create back1"
m2=$(sim_create back2 sleep 100000) || fail "create back2"
m3=$(sim_create back3 sleep 100000) || fail "create back3"
for m in $m1 $m2 $m3; do
	ctl member add va "$m" >/dev/null || fail "member add va $m"
	sim_exec "$m" xenstore-write /vbdpool/volumes/va/members/$m/state active || fail "state $m"
done
ctl member add vb "$m1" >/dev/null || fail "member add vb $m1"
sim_exec "$m1" xenstore-write /vbdpool/volumes/vb/members/$m1/state active || fail "state vb"
G=$(sim_create guest sleep 100000) || fail "create guest"
ctl attach "$G" va --devid 0 --queues 2 >/dev/null || fail "attach"
granted "$m1" || fail "dom$m1 has no grant to begin with: $(acl_entries | tr '\n' ' ')"

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
t=$(wait_revoked "$m1" va) || fail "dom$m1 still granted 10 s after its death: $(acl_entries | tr '\n' ' ')"
echo "dom$m1's grants revoked after ${t} ms"
sim_xs0 xenstore-exists "/vbdpool/volumes/vb/members/$m1" && fail "dom$m1 still listed in vb"
for vol in va vb; do
	grep -q "dom$m1 is gone: removed from volume $vol" "$SIM_TMP/sv.log" ||
		fail "no log line for dom$m1 in $vol"
done
[ "$(state va "$m2")" = active ] || fail "survivor dom$m2 is $(state va "$m2")"
[ "$(state va "$m3")" = active ] || fail "survivor dom$m3 is $(state va "$m3")"
granted "$m2" && granted "$m3" || fail "a survivor lost its grants: $(acl_entries | tr '\n' ' ')"
ctl schema-check || fail "schema-check after the death"

echo "--- dom$m2's nodes kept (dom0's, as xenstored -K leaves them); xensim destroy dom$m2"
sim_xs0 xenstore-chmod -r "/vbdpool/volumes/va/members/$m2" r0 || fail "chmod -r"
"$XENSIM" destroy --dir "$SIM_DIR" "$m2" || fail "destroy"
t=$(wait_revoked "$m2" va) || fail "dom$m2 still granted 10 s after its death: $(acl_entries | tr '\n' ' ')"
echo "dom$m2's grants revoked after ${t} ms"
grep -q "dom$m2 is gone: state=dead in 1 volume" "$SIM_TMP/sv.log" || fail "dom$m2 not recorded dead"
grep -q "dom$m2 is gone: removed from volume va, its grants revoked (its members/ node removed)" \
	"$SIM_TMP/sv.log" || fail "dom$m2's leftover members/ node not reported removed"
[ "$(state va "$m3")" = active ] || fail "survivor dom$m3 is $(state va "$m3")"
ctl schema-check || fail "schema-check after the second death"

echo "--- SIGTERM: the supervisor exits 0 and withdraws its pid"
kill -TERM "$SV_PID"
wait "$SV_PID"
rc=$?
SV_PID=
[ $rc -eq 0 ] || fail "supervisor exit status $rc"
sim_xs0 xenstore-exists /vbdpool/supervisor/pid && fail "pid node left behind"
cat "$SIM_TMP/sv.log"
echo PASS
