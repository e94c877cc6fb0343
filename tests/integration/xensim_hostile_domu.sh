#!/usr/bin/env bash
# A hostile domU is held to what real xenstored (and Xen) enforce
# (issue 11; tests/progs/xs_hostile does the abuse, one mode per domain):
#  - one transaction reading 250 missing ~2 KB paths gets ENOSPC and the
#    daemon stays under 64 MiB resident (it grew to 276 MB before)
#  - quotas are per domain: 80 connections get at most 64 served, and 11
#    transactions over them, then ENOSPC
#  - a connection that stops reading is dropped at the domain's 2.5 MiB
#  - a process that setsid()s is still its domain's: dom0's XenStore,
#    hypercall and control sockets refuse it (no /tool/x, the victim not
#    destroyed)
#  - the control socket (the xensim CLI's: create/destroy domains) refuses
#    a domU's processes (the victim not destroyed)
#  - the xenbus device's answers: duplicate watch and unknown unwatch OK,
#    a 4081-byte payload E2BIG
set -u
. "$VBD_TOP/tests/lib/sim.sh"
HOSTILE=$VBD_BUILD/tests/progs/xs_hostile
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$HOSTILE" ] || fail "missing $HOSTILE"
sim_start hostile || exit 1

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$SIM_DIR/xensimd.pid")/status"; }

hostile() { # NAME MODE [ARGS...]: xs_hostile MODE in a new domain NAME
	local name=$1 dom
	shift
	dom=$(sim_create "$name" sleep 1000000) || fail "create $name"
	sim_exec "$dom" "$HOSTILE" "$@" || fail "xs_hostile $*"
}

hostile growth txn-growth
rss=$(rss_kb)
echo "daemon resident after the transaction: ${rss} kB"
[ "$rss" -lt 65536 ] || fail "daemon grew to ${rss} kB"

hostile many conns
hostile silent noread
hostile bus xenbus

victim=$(sim_create victim sleep 1000000) || fail "create victim"
hostile escaper setsid "$victim"
sim_list "$victim" | grep -q running || fail "victim dom$victim not running: $(sim_list)"
hostile ctlclient ctl "$victim"
sim_list "$victim" | grep -q running || fail "victim dom$victim not running: $(sim_list)"
if sim_xs0 xenstore-read /tool/x 2>/dev/null; then fail "/tool/x was written"; fi
# dom0's own tools still work
sim_xs0 xenstore-write /tool/ok 1 || fail "dom0 write"
[ "$(sim_xs0 xenstore-read /tool/ok)" = 1 ] || fail "dom0 read"
echo PASS
