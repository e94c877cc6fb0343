#!/usr/bin/env bash
# The emulator survives hostile clients: a domU sends garbage to its
# hypercall socket and to the control socket; afterwards the daemon still
# serves that domain and others, and XenStore still answers.
set -u
. "$VBD_TOP/tests/lib/sim.sh"
PROG=$VBD_BUILD/tests/progs/plat_badclient
[ -x "$PROG" ] || { echo "missing $PROG"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }
sim_start || exit 1
d=$(sim_create bad sleep 1000000) || fail create
e=$(sim_create good sleep 1000000) || fail create
dpid=$(cat "$SIM_DIR/xensimd.pid")
nfd() { ls "/proc/$dpid/fd" | wc -l; }
settled_nfd() { # the count once CLI connections of earlier commands are closed
	local a b i
	b=$(nfd)
	for i in $(seq 20); do
		sleep 0.05
		a=$(nfd)
		[ "$a" -eq "$b" ] && break
		b=$a
	done
	echo "$b"
}
before=$(settled_nfd)
sim_exec "$d" "$PROG" 4 "${SEED:-$RANDOM}" || fail "bad client run (daemon alive: $(sim_list >/dev/null 2>&1 && echo yes || echo no))"
sim_exec "$e" xenstore-write data/x 1 || fail "xenstore after abuse"
sim_list | grep -q ' good ' || sim_list | grep -q "good" || fail "list after abuse"
sim_exec "$e" "$PROG" 0 1 || fail "another domain after abuse"
# every hostile connection, port and grant is gone: no descriptor leaks
for i in $(seq 50); do [ "$(nfd)" -le "$before" ] && break; sleep 0.02; done
echo "daemon descriptors: $before before, $(nfd) after"
[ "$(nfd)" -le "$before" ] || fail "daemon leaks descriptors"
echo PASS
