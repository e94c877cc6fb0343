#!/usr/bin/env bash
# vbdpoolctl on the emulated host: volume create / member add / attach /
# status --json / detach; clear errors for bad input; schema-check passes
# on the tree the tool builds, and catches an ownership area that dom0
# wrongly made guest-writable (after a guest write that then succeeds),
# while with the right ACLs the guest's write is refused with EACCES.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${VBD_BUILD:=$top/build}"
export VBD_BUILD
CTL=$VBD_BUILD/bin/vbdpoolctl
[ -x "$VBD_BUILD/bin/xensim" ] && [ -x "$CTL" ] || { echo "SKIP: build xensim and vbdpoolctl first"; exit 77; }
# shellcheck source=../lib/sim.sh
. "$top/tests/lib/sim.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }
ctl() { sim_xs0 "$CTL" "$@"; }
# expect_fail WHAT-IN-STDERR CMD...: the command fails and says WHAT
expect_fail() {
	local want=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -ne 0 ] || fail "'$*' succeeded; expected an error mentioning '$want'"
	[[ $out == *"$want"* ]] || fail "'$*' said '$out'; expected '$want'"
	echo "ok: '$*' -> $out"
}

sim_start || fail "xensim start"
T=$SIM_TMP

# A libxenstore client that reports errno (xenstore-write only says
# "could not write"): built here from the installed headers.
cat >"$T/xswrite.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xenstore.h>
int main(int argc, char **argv)
{
	struct xs_handle *h = xs_open(0);
	if (argc != 3 || !h)
		return 2;
	if (!xs_write(h, XBT_NULL, argv[1], argv[2], strlen(argv[2]))) {
		printf("%s\n", strerror(errno));
		return 1;
	}
	printf("written\n");
	return 0;
}
C
cc -o "$T/xswrite" "$T/xswrite.c" -lxenstore || fail "cannot build the xswrite helper"

truncate -s 64M "$T/v1.img"
truncate -s 1000 "$T/odd.img"

step "volume create and its errors"
ctl volume create v1 --backing "$T/v1.img" || fail "volume create v1"
[ "$(sim_xs0 xenstore-read /vbdpool/volumes/v1/size)" = 67108864 ] || fail "size not the backing's"
expect_fail "already exists" ctl volume create v1 --backing "$T/v1.img"
expect_fail "No such file" ctl volume create v2 --backing "$T/missing.img"
expect_fail "not a multiple of 512" ctl volume create v2 --backing "$T/v1.img" --size 1000
expect_fail "greater than 0" ctl volume create v2 --backing "$T/v1.img" --size 0
expect_fail "bad size" ctl volume create v2 --backing "$T/v1.img" --size lots
expect_fail "has only" ctl volume create v2 --backing "$T/v1.img" --size 1G
expect_fail "give --size" ctl volume create v2 --backing "$T/odd.img"
expect_fail "bad volume id" ctl volume create "v/2" --backing "$T/v1.img"
expect_fail "need --backing" ctl volume create v2
sim_xs0 xenstore-exists /vbdpool/volumes/v2 && fail "a failed create left v2 behind"
truncate -s 1M "$T/v3.img"
out=$(ctl volume create --id-from-backing --backing "$T/v3.img") || fail "--id-from-backing: $out"
v3=$(echo "$out" | awk '{print $3}')
[[ $v3 == file-* ]] || fail "derived id '$v3'"
sim_xs0 xenstore-exists "/vbdpool/volumes/$v3" || fail "derived volume $v3 missing"
expect_fail "already exists" ctl volume create --id-from-backing --backing "$T/v3.img"
expect_fail "not both" ctl volume create v4 --id-from-backing --backing "$T/v3.img"
ctl volume remove "$v3" >/dev/null || fail "remove $v3"

step "domains, members, attach"
b1=$(sim_create back1 sleep 100000) || fail "create back1"
b2=$(sim_create back2 sleep 100000) || fail "create back2"
g=$(sim_create guest1 sleep 100000) || fail "create guest1"
echo "back1=$b1 back2=$b2 guest=$g"
ctl member add v1 "$b1" || fail "member add by domid"
expect_fail "unknown volume" ctl member add nosuch "$b2"
expect_fail "unknown domain" ctl member add v1 no-such-domain
expect_fail "unknown domain" ctl member add v1 7777
expect_fail "bad domain id" ctl member add v1 99999999
expect_fail "already a member" ctl member add v1 back1
expect_fail "unknown volume" ctl attach guest1 nosuch
expect_fail "unknown domain" ctl attach no-such-guest v1
expect_fail "bad queue count" ctl attach guest1 v1 --queues 0
expect_fail "bad device id" ctl attach guest1 v1 --devid x
ctl attach guest1 v1 --devid 0 --queues 3 || fail "attach"
expect_fail "already has vbdpool device 0" ctl attach guest1 v1 --devid 0
fe=/local/domain/$g/device/vbdpool/0
att=/vbdpool/volumes/v1/attachments/$g-0
[ "$(sim_xs0 xenstore-read $att/queue-2)" = "owner=none epoch=0 state=unowned" ] ||
	fail "queue-2 record: $(sim_xs0 xenstore-read $att/queue-2)"
[ "$(sim_xs0 xenstore-read $fe/state)" = 1 ] || fail "frontend state not 1"
# the frontend publishes a ring before the second member joins: the
# member add must still give back2 read access to it
sim_exec "$g" xenstore-write $fe/queue-0/owner "$b1" $fe/queue-0/epoch 1 || fail "frontend write"
ctl member add v1 back2 || fail "member add by name"
sim_exec "$b2" xenstore-read $fe/queue-0/owner >/dev/null || fail "back2 cannot read the frontend's ring"
sim_exec "$b2" xenstore-read $att/queue-0 >/dev/null || fail "back2 cannot read a record"
sim_exec "$b2" xenstore-read /vbdpool/volumes/v1/backing >/dev/null || fail "back2 cannot read backing"
sim_exec "$g" xenstore-read /vbdpool/volumes/v1/backing >/dev/null 2>&1 && fail "the guest reads backing"
# members write their own nodes and ownership records
sim_exec "$b1" xenstore-write /vbdpool/volumes/v1/members/$b1/state active || fail "member state write"
sim_exec "$b1" xenstore-write $att/queue-0 "owner=$b1 epoch=1 state=claimed" || fail "member claim"
sim_exec "$b2" xenstore-write /vbdpool/volumes/v1/members/$b1/state dead 2>/dev/null &&
	fail "a member wrote another member's state"

step "status --json"
ctl status --json >"$T/status.json" || fail "status --json"
cat "$T/status.json"
python3 - "$T/status.json" "$b1" "$b2" "$g" <<'PY' || fail "status --json content"
import json, sys
s = json.load(open(sys.argv[1]))
b1, b2, g = map(int, sys.argv[2:5])
v = s["volumes"][0]
assert v["id"] == "v1" and v["size"] == 64 << 20, v
assert sorted(m["domid"] for m in v["members"]) == [b1, b2], v["members"]
m1 = [m for m in v["members"] if m["domid"] == b1][0]
assert m1["state"] == "active" and m1["queues_owned"] == 1 and m1["name"] == "back1", m1
a = v["attachments"][0]
assert a["guest"] == g and a["devid"] == 0 and a["num_queues"] == 3, a
q = a["queues"]
assert q[0] == {"queue": 0, "owner": b1, "epoch": 1, "state": "claimed"}, q
assert q[1]["owner"] is None and q[1]["state"] == "unowned", q
assert {d["domid"] for d in s["domains"]} == {b1, b2}, s["domains"]
print("status --json ok")
PY
ctl status >/dev/null || fail "status (text)"
expect_fail "unknown volume" ctl status nosuch

step "schema-check on the tool-built tree"
ctl schema-check || fail "schema-check on a good tree"

step "the guest cannot write the ownership area (EACCES)"
out=$(sim_exec "$g" "$T/xswrite" $att/queue-1 "owner=$g epoch=9 state=claimed")
[ "$out" = "$(python3 -c 'import os,errno; print(os.strerror(errno.EACCES))')" ] ||
	fail "guest write to a record: '$out', expected EACCES"
echo "ok: guest write refused: $out"
[ "$(sim_xs0 xenstore-read $att/queue-1)" = "owner=none epoch=0 state=unowned" ] ||
	fail "record changed"

step "dom0 wrongly makes a record guest-writable: the write succeeds, schema-check fails"
sim_xs0 xenstore-chmod $att/queue-1 n0 b$b1 b$b2 b$g || fail "chmod"
out=$(sim_exec "$g" "$T/xswrite" $att/queue-1 "owner=$b2 epoch=1 state=claimed")
[ "$out" = written ] || fail "guest write after the bad chmod: $out"
ctl schema-check >"$T/check.out" 2>&1 && { cat "$T/check.out"; fail "schema-check passed a guest-writable record"; }
cat "$T/check.out"
grep -q "$att/queue-1: .*writable by guest $g" "$T/check.out" || fail "violation not named"
sim_xs0 xenstore-chmod $att/queue-1 n0 b$b1 b$b2 r$g || fail "chmod back"
ctl schema-check || fail "schema-check after the repair"

step "detach"
expect_fail "unknown volume" ctl detach guest1 nosuch
expect_fail "bad device id" ctl detach guest1 v1 --devid -1
# the frontend is in Initialising (no frontend ran): no hand-shake needed
ctl detach guest1 v1 || fail "detach"
sim_xs0 xenstore-exists $att && fail "attachment left after detach"
sim_xs0 xenstore-exists $fe && fail "frontend directory left after detach"
ctl schema-check || fail "schema-check after detach"
[ "$(sim_xs0 xenstore-ls -p /vbdpool/volumes/v1 | awk '$1=="size"{print $NF}')" = "(n0,r$b1,r$b2)" ] ||
	fail "size ACL still lists the detached guest: $(sim_xs0 xenstore-ls -p /vbdpool/volumes/v1)"

step "detach hand-shake: Closing then Closed"
ctl attach guest1 v1 --queues 1 >/dev/null || fail "re-attach"
sim_exec "$g" xenstore-write $fe/state 4 || fail "frontend connected"
expect_fail "did not close" ctl detach guest1 v1 --timeout 1
[ "$(sim_xs0 xenstore-read $fe/state)" = 5 ] || fail "state not Closing"
(sleep 0.3; sim_exec "$g" xenstore-write $fe/state 6) &
ctl detach guest1 v1 --timeout 10 || fail "detach after Closed"
wait

step "volume remove"
ctl attach guest1 v1 >/dev/null || fail "attach for remove"
expect_fail "detach them first" ctl volume remove v1
ctl volume remove v1 --force || fail "volume remove --force"
sim_xs0 xenstore-exists /vbdpool/volumes/v1 && fail "volume left"
sim_xs0 xenstore-exists $fe && fail "frontend left by remove --force"
ctl member remove v1 back1 2>/dev/null && fail "member remove on a removed volume"
ctl schema-check || fail "schema-check at the end"
echo "PASS"
