#!/usr/bin/env bash
# The xensim command line: start/stop, create (errors), exec (exit status,
# signals forwarded, runs inside the domain's process group), list, pause
# (also stops programs exec'ed later), stop leaves nothing running.
set -u
. "$VBD_TOP/tests/lib/sim.sh"
fail() { echo "FAIL: $*"; exit 1; }
gone() { # PID: exited (a zombie not yet reaped by init counts as gone)
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$st" ] || [[ $st == Z* ]]
}
sim_start || exit 1
"$XENSIM" start --dir "$SIM_DIR" 2>/dev/null && fail "second start on the same dir succeeded"
d=$(sim_create one sleep 1000000) || fail create
[[ $d =~ ^[0-9]+$ ]] && [ "$d" -ge 1 ] || fail "create printed '$d'"
sim_create one true 2>/dev/null && fail "duplicate name accepted"
sim_create two /nonexistent/program 2>/dev/null && fail "create with a missing program succeeded"
e=$(sim_create three sh -c 'echo hello-console; sleep 1000000') || fail create
[ "$e" -gt "$d" ] || fail "domids not increasing: $d then $e"
for i in $(seq 50); do grep -q hello-console "$SIM_DIR/dom/$e/console.log" 2>/dev/null && break; sleep 0.05; done
grep -q hello-console "$SIM_DIR/dom/$e/console.log" || fail "console log"

# exec: identity, exit status, stdin/stdout, process group
out=$(sim_exec "$d" sh -c 'echo $XENSIM_DOMID $(ps -o pgid= -p $$)')
pgid=$(sim_list "$d" | awk -v d="$d" '$2 == d { print $4 }')
[ "$out" = "$d $pgid" ] || fail "exec identity/pgid: '$out' vs '$d $pgid'"
sim_exec "$d" sh -c 'exit 42'
[ $? -eq 42 ] || fail "exit status not relayed"
out=$(echo piped | sim_exec "$d" cat) || fail "stdin"
[ "$out" = piped ] || fail "stdin/stdout relay: '$out'"
sim_exec "$d" sh -c 'kill -9 $$'
[ $? -eq 137 ] || fail "death by signal not relayed as 128+9"
sim_exec 99 true 2>/dev/null && fail "exec in a nonexistent domain succeeded"
out=$(sim_exec 0 sh -c 'echo $XENSIM_DOMID $XENSTORED_PATH')
[ "$out" = "0 $SIM_DIR/xenstored.sock" ] || fail "dom0 exec env: '$out'"

# a domain's process cannot use another domain's (or dom0's) sockets
sim_exec "$d" env XENSTORED_PATH="$SIM_DIR/dom/$e/xenstore.sock" xenstore-read name \
	>/dev/null 2>&1 && fail "dom$d used dom$e's XenStore socket"
sim_exec "$d" env XENSTORED_PATH="$SIM_DIR/xenstored.sock" xenstore-read /local/domain/0/name \
	>/dev/null 2>&1 && fail "dom$d used dom0's XenStore socket"
out=$(sim_exec "$e" xenstore-read name) || fail "dom$e reading its own name"
[ "$out" = three ] || fail "dom$e's name: '$out'"

# signals are forwarded to the program in the domain
"$XENSIM" exec --dir "$SIM_DIR" --domid "$d" -- sh -c 'trap "exit 7" TERM; sleep 1000000 & wait' &
p=$!
sleep 0.3
kill -TERM $p
wait $p
[ $? -eq 7 ] || fail "SIGTERM not forwarded"

# pause stops the domain's processes, including ones exec'ed while paused
"$XENSIM" pause --dir "$SIM_DIR" "$d" || fail pause
sim_list "$d" | grep -q paused || fail "list: $(sim_list "$d")"
sim_exec "$d" sh -c 'echo ran > "$0"' "$SIM_TMP/ran" &
p=$!
sleep 0.3
[ -e "$SIM_TMP/ran" ] && fail "a program exec'ed into a paused domain ran"
"$XENSIM" unpause --dir "$SIM_DIR" "$d" || fail unpause
wait $p || fail "exec after unpause"
[ -e "$SIM_TMP/ran" ] || fail "program did not run after unpause"

# created paused: nothing runs until unpause; sim_pids finds its process
f=$(sim_create four --paused sh -c 'echo started > "$0"; sleep 1000000' "$SIM_TMP/four") ||
	fail "create --paused"
sim_list "$f" | grep -q paused || fail "created paused: $(sim_list "$f")"
sleep 0.2
[ -e "$SIM_TMP/four" ] && fail "a domain created paused ran"
[ "$(sim_pids "$f")" = "$(sim_pgid "$f")" ] || fail "sim_pids: '$(sim_pids "$f")'"
"$XENSIM" unpause --dir "$SIM_DIR" "$f" || fail unpause
for i in $(seq 50); do [ -e "$SIM_TMP/four" ] && break; sleep 0.02; done
[ -e "$SIM_TMP/four" ] || fail "did not run after unpause"
[ -n "$(sim_pids "$f" sleep)" ] || fail "sim_pids NAME"

# the domain lives while any of its processes does
sim_exec "$e" sh -c 'sleep 1000000 >/dev/null 2>&1 &'
kill -9 "$(sim_list "$e" | awk -v d="$e" '$2 == d { print $4 }')"
sleep 0.3
sim_list "$e" | grep -q running || fail "domain died although a process remained"
"$XENSIM" destroy --dir "$SIM_DIR" "$e" || fail destroy
sim_wait_gone "$e" 2 || fail "destroyed domain still listed"

# stop ends the daemon and every domain process
dpid=$(cat "$SIM_DIR/xensimd.pid")
sim_stop
gone "$dpid" || fail "daemon still running after stop"
for i in $(seq 50); do gone "$pgid" && break; sleep 0.02; done
gone "$pgid" || fail "domain processes survive stop"
[ -e "$SIM_DIR/ctl.sock" ] && fail "control socket left behind"
[ -f "$SIM_DIR/xensimd.log" ] || fail "stop removed the log"
"$XENSIM" stop --dir "$SIM_DIR" || fail "second stop failed"
echo PASS
