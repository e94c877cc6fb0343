#!/usr/bin/env bash
# Emulated host: domain lifecycle and XenStore tools inside domains.
#  - SIGKILL of a domain's last process: /local/domain/<id> removed, then
#    dom0's @releaseDomain watch fires, within 100 ms (plat_lifecycle release)
#  - a domU watching @releaseDomain gets only the initial event
#  - the dead domain's ports close (notify returns 0, nothing delivered);
#    pages another domain maps stay usable until unmapped; `xensim list`
#    shows the zombie as dying meanwhile, and it vanishes afterwards
#  - the dead domain's XenStore nodes are removed with their subtrees
#    (C xenstored 4.17, XSA-419; watches fire; checked by the survivor, and
#    by dom0 here), ACL entries naming it stay listed (XSA-322) but
#    @releaseDomain's ACL loses its entry
#  - xenstore-read/write/ls/chmod/watch in domains via `xensim exec`, and a
#    domU refused a node gets EACCES ("Permission denied")
set -u
. "$VBD_TOP/tests/lib/sim.sh"
PROG=$VBD_BUILD/tests/progs/plat_lifecycle
[ -x "$PROG" ] || { echo "missing $PROG"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }
sim_start || exit 1

T=/lifecycle
s=$(sim_create survivor sleep 1000000) || fail "create survivor"
c=$(sim_create watcher sleep 1000000) || fail "create watcher"
v=$(sim_create victim "$PROG" victim $T "$s") || fail "create victim"
sim_xs0 xenstore-write $T "" || fail "mkdir $T"
sim_xs0 xenstore-chmod $T n0 "b$s" "b$c" "b$v" || fail "chmod $T"
sim_xs0 xenstore-write $T/go 1 || fail "write $T/go"
acl=$(sim_xs0 "$PROG" perms @releaseDomain n0 "r$v") || fail "chmod @releaseDomain"
[ "$acl" = "n0,r$v" ] || fail "@releaseDomain ACL: '$acl'"
vpid=$(sim_list "$v" | awk -v d="$v" '$2 == d { print $4 }')
[ -n "$vpid" ] && [ "$vpid" -gt 0 ] || fail "no pid for the victim"

sim_exec "$s" "$PROG" survivor $T "$v" >"$SIM_TMP/survivor.out" 2>&1 &
spid=$!
sim_exec "$c" "$PROG" domu-watch $T 500 >"$SIM_TMP/watcher.out" 2>&1 &
cpid=$!
wait_key() {
	local i
	for i in $(seq 200); do
		sim_xs0 xenstore-read "$T/$1" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "timeout waiting for $T/$1"
}
wait_key s/ready
wait_key c/ready

echo "--- SIGKILL dom$v's only process ($vpid)"
sim_xs0 "$PROG" release "$v" "$vpid" || fail "release timing (see above)"
sim_xs0 xenstore-write $T/killed 1
sim_xs0 xenstore-exists $T/v && fail "dom0 still sees the dead domain's $T/v: $(sim_xs0 xenstore-ls -p $T/v)"
acl=$(sim_xs0 "$PROG" perms @releaseDomain) || fail "get_perms @releaseDomain"
[ "$acl" = n0 ] || fail "@releaseDomain ACL after the death: '$acl' (want n0)"
echo "dom0: $T/v gone, @releaseDomain ACL now $acl"
wait_key s/checked
state=$(sim_list "$v" | awk -v d="$v" '$2 == d { print $3 }')
echo "dom$v while the survivor maps its page: $state"
[ "$state" = dying ] || fail "zombie not listed as dying: '$state'"
sim_xs0 xenstore-write $T/listed 1
wait $spid || { cat "$SIM_TMP/survivor.out"; fail "survivor"; }
cat "$SIM_TMP/survivor.out"
sim_wait_gone "$v" 2 || fail "dom$v still listed after the last unmap"
wait $cpid || { cat "$SIM_TMP/watcher.out"; fail "domU watcher"; }
cat "$SIM_TMP/watcher.out"

echo "--- a granting process exits, its domain lives on"
sim_exec "$s" "$PROG" late $T "$c" >"$SIM_TMP/late.out" 2>&1 &
lpid=$!
sim_exec "$c" "$PROG" short $T "$s" || fail "short-lived granter"
sim_xs0 xenstore-write $T/short/exited 1
wait $lpid || { cat "$SIM_TMP/late.out"; fail "late mapper"; }
cat "$SIM_TMP/late.out"

echo "--- xenstore tools in domains"
out=$(sim_exec "$s" sh -c 'xenstore-write data/foo bar && xenstore-read data/foo') || fail "write/read"
[ "$out" = bar ] || fail "read back '$out'"
sim_exec "$s" xenstore-ls "/local/domain/$s" | grep -q 'foo = "bar"' || fail "xenstore-ls"
sim_exec "$s" xenstore-chmod data/foo "n$s" "r$c" || fail "chmod"
out=$(sim_exec "$c" xenstore-read "/local/domain/$s/data/foo") || fail "read granted node"
[ "$out" = bar ] || fail "granted read gave '$out'"
sim_exec "$c" xenstore-write "/local/domain/$s/data/foo" x 2>/dev/null && fail "domU wrote a read-only node"
err=$(sim_exec "$c" xenstore-ls "/local/domain/$s/data" 2>&1) && fail "domU listed an unreadable node"
echo "refused: $err"
[[ $err == *"Permission denied"* ]] || fail "expected EACCES, got: $err"
err=$(sim_exec "$c" xenstore-chmod "/local/domain/$s/data/foo" "n$c" 2>&1) && fail "domU chmod'ed a foreign node"
[[ $err == *"Permission denied"* ]] || fail "expected EACCES from chmod, got: $err"
sim_exec "$s" timeout 10 xenstore-watch -n 2 data/w >"$SIM_TMP/watch.out" 2>&1 &
wpid=$!
for i in $(seq 100); do
	[ -s "$SIM_TMP/watch.out" ] && break
	sleep 0.05
done
sim_exec "$s" xenstore-write data/w 1 || fail "write watched node"
wait $wpid || fail "xenstore-watch did not see 2 events: $(cat "$SIM_TMP/watch.out")"
[ "$(grep -c '^data/w$' "$SIM_TMP/watch.out")" -eq 2 ] || fail "watch output: $(cat "$SIM_TMP/watch.out")"
echo "xenstore-watch: initial event + one write seen"
echo "PASS"
