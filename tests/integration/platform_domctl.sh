#!/usr/bin/env bash
# Domain control through the platform layer (tests/progs/plat_domctl.c):
# dom0 lists, pauses (the domain's processes are stopped), unpauses and
# destroys a domain; a domU is refused everything.
set -u
. "$VBD_TOP/tests/lib/sim.sh"
PROG=$VBD_BUILD/tests/progs/plat_domctl
[ -x "$PROG" ] || { echo "missing $PROG"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }
sim_start || exit 1
d=$(sim_create target sleep 1000000) || fail create
u=$(sim_create other sleep 1000000) || fail create
pgid=$(sim_list "$d" | awk -v d="$d" '$2 == d { print $4 }')
sim_exec "$u" "$PROG" domu || fail "domU refused"
"$XENSIM" pause --dir "$SIM_DIR" "$d" || fail "xensim pause"
st=$(ps -o stat= -p "$pgid")
[[ $st == T* ]] || fail "paused domain's process state '$st'"
sim_list "$d" | grep -q paused || fail "list after pause: $(sim_list "$d")"
"$XENSIM" unpause --dir "$SIM_DIR" "$d" || fail "xensim unpause"
st=$(ps -o stat= -p "$pgid")
[[ $st != T* ]] || fail "unpaused domain still stopped"
sim_xs0 "$PROG" dom0 "$d" || fail "dom0 domctl"
for i in $(seq 50); do kill -0 "$pgid" 2>/dev/null || break; sleep 0.02; done
kill -0 "$pgid" 2>/dev/null && fail "destroyed domain's process still alive"
sim_xs0 xenstore-read "/local/domain/$d/name" 2>/dev/null && fail "home of destroyed domain still there"
"$XENSIM" destroy --dir "$SIM_DIR" "$u" || fail "xensim destroy"
sim_wait_gone "$u" 2 || fail "xensim destroy: still listed"
echo PASS
