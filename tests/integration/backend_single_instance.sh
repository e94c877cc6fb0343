#!/usr/bin/env bash
# One vbdpool-backd per volume per domain (issue 9): a second daemon for
# the same volume started in a domain where one already serves it must
# refuse to start (clear message, non-zero exit within 5 s) instead of
# acting as the same member (claiming, failing to bind the event channels
# the first one bound, releasing, claiming again: a claim storm). The
# first keeps serving: the guest's verified load passes with no error, the
# first logs no bind failure and the queues' epochs do not move. Then a
# daemon whose predecessor was SIGKILLed (heartbeat stopped) takes over; a
# daemon whose instance token was replaced stops serving without writing
# records and exits non-zero; and of two daemons started at the same moment in a new member domain one
# serves and the other refuses. Last, with two daemons in one domain
# (--volume vol1, --volume vol2), a SIGKILLed vol2 daemon is taken over
# although the domain's heartbeat (the vol1 daemon's) still advances.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 64
pool_member vol1
m=$LAST_DOMID
g=$(pool_domain guest)
ctl attach "$g" vol1 --devid 0 --queues 2 >/dev/null || die "attach"
epoch() { local r; r=$(pool_rec vol1 "$g" 0 "$1"); r=${r#*epoch=}; echo "${r%% *}"; }

pool_verify_bg "$g" "$POOL_DIR/verify.log" --devid 0 --seconds 7 --threads 4
vpid=$VERIFY_PID
pool_wait_connected vol1 "$g" 0
sleep 0.5
e0=$(epoch 0) e1=$(epoch 1)
pool_log "member $m serving: $(pool_rec vol1 "$g" 0 0) / $(pool_rec vol1 "$g" 0 1)"

# the second daemon, same volume, same domain
start=$(date +%s%N)
"$XENSIM" exec --dir "$SIM_DIR" --domid "$m" -- \
	"$BIN/vbdpool-backd" --volume vol1 >"$POOL_DIR/backd-$m-second.log" 2>&1 &
spid=$!
POOL_PIDS+=("$spid")
for _ in $(seq 60); do
	kill -0 "$spid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$spid" 2>/dev/null && die "the second vbdpool-backd still runs after 6 s: $(tail -n 5 "$POOL_DIR/backd-$m-second.log")"
src=0; wait "$spid" || src=$?
ms=$((($(date +%s%N) - start) / 1000000))
pool_log "second vbdpool-backd exited $src after $ms ms: $(grep -m1 'another vbdpool-backd' "$POOL_DIR/backd-$m-second.log" || tail -n 1 "$POOL_DIR/backd-$m-second.log")"
[ "$src" -ne 0 ] || die "the second vbdpool-backd exited 0"
[ "$ms" -le 5000 ] || die "the second vbdpool-backd took $ms ms to give up (limit 5000)"
grep -q "another vbdpool-backd is serving volume vol1 in this domain" "$POOL_DIR/backd-$m-second.log" ||
	die "no clear refusal message: $(tail -n 5 "$POOL_DIR/backd-$m-second.log")"
grep -q "connected\|claim" "$POOL_DIR/backd-$m-second.log" && die "the second vbdpool-backd acted on queues: $(grep -m3 'connected\|claim' "$POOL_DIR/backd-$m-second.log")"

rc=0; wait "$vpid" || rc=$?
tail -n 1 "$POOL_DIR/verify.log"
[ $rc -eq 0 ] || die "front_verify failed (exit $rc): $(tail -n 3 "$POOL_DIR/verify.log")"
grep -q "errors=0" "$POOL_DIR/verify.log" || die "front_verify reported errors: $(tail -n 1 "$POOL_DIR/verify.log")"

# the first one is untouched: still running, no bind failure, same epochs
bpid=$(pool_backd_pid "$m") || die "no vbdpool-backd left in domain $m"
kill -0 "$bpid" || die "the first vbdpool-backd died"
if grep -q "cannot bind event channel" "$POOL_DIR/backd-$m.log"; then
	die "the first vbdpool-backd logged bind failures: $(grep -c 'cannot bind event channel' "$POOL_DIR/backd-$m.log")"
fi
[ "$(epoch 0)" = "$e0" ] && [ "$(epoch 1)" = "$e1" ] ||
	die "epochs moved: queue-0 $e0 -> $(epoch 0), queue-1 $e1 -> $(epoch 1)"
state=$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$m/state")
[ "$state" = active ] || die "member $m is $state"
pool_verify "$g" "$POOL_DIR/verify2.log" --devid 0 --ops 200 --threads 2 || die "front_verify after: $(tail -n 3 "$POOL_DIR/verify2.log")"

# A dead predecessor (SIGKILL: its heartbeat stops) is taken over.
pool_verify_bg "$g" "$POOL_DIR/verify3.log" --devid 0 --seconds 5 --threads 4
vpid=$VERIFY_PID
sleep 0.5
kill -KILL "$bpid"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$m" -- \
	"$BIN/vbdpool-backd" --volume vol1 >"$POOL_DIR/backd-$m-third.log" 2>&1 &
POOL_PIDS+=($!)
rc=0; wait "$vpid" || rc=$?
tail -n 1 "$POOL_DIR/verify3.log"
[ $rc -eq 0 ] || die "front_verify across the takeover failed (exit $rc): $(tail -n 3 "$POOL_DIR/verify3.log")"
grep -q "heartbeat stopped): taking over" "$POOL_DIR/backd-$m-third.log" ||
	die "the restarted vbdpool-backd did not take over: $(tail -n 5 "$POOL_DIR/backd-$m-third.log")"
grep -q "connected" "$POOL_DIR/backd-$m-third.log" || die "the restarted vbdpool-backd connected nothing"

# A running daemon whose instance token another one replaced (written by
# hand here) stops serving without writing a record, and exits non-zero.
tpid=${POOL_PIDS[-1]}
before="$(pool_rec vol1 "$g" 0 0) / $(pool_rec vol1 "$g" 0 1)"
xs0 xenstore-write "/vbdpool/volumes/vol1/members/$m/instance" "1-0123456789abcdef"
for _ in $(seq 30); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$tpid" 2>/dev/null && die "the superseded vbdpool-backd still runs after 3 s"
src=0; wait "$tpid" || src=$?
[ "$src" -ne 0 ] || die "the superseded vbdpool-backd exited 0"
grep -q "instance 1-0123456789abcdef) took over volume vol1 in this domain" "$POOL_DIR/backd-$m-third.log" ||
	die "the superseded vbdpool-backd said nothing clear: $(tail -n 3 "$POOL_DIR/backd-$m-third.log")"
after="$(pool_rec vol1 "$g" 0 0) / $(pool_rec vol1 "$g" 0 1)"
[ "$before" = "$after" ] || die "the superseded vbdpool-backd wrote records: $before -> $after"
pool_log "superseded: exited $src, records untouched ($after)"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$m" -- \
	"$BIN/vbdpool-backd" --volume vol1 >"$POOL_DIR/backd-$m-fourth.log" 2>&1 &
POOL_PIDS+=($!)
pool_verify "$g" "$POOL_DIR/verify5.log" --devid 0 --ops 200 --threads 2 || die "front_verify after the superseded one: $(tail -n 3 "$POOL_DIR/verify5.log")"
grep -q "taking over" "$POOL_DIR/backd-$m-fourth.log" || die "the fourth vbdpool-backd did not take over"

# Two started at the same moment in a new member domain: one serves, the
# other refuses within 5 s.
pool_member vol1
m2=$LAST_DOMID
p2a=${POOL_PIDS[-1]}
"$XENSIM" exec --dir "$SIM_DIR" --domid "$m2" -- \
	"$BIN/vbdpool-backd" --volume vol1 >"$POOL_DIR/backd-$m2-twin.log" 2>&1 &
p2b=$!
POOL_PIDS+=("$p2b")
pool_verify_bg "$g" "$POOL_DIR/verify4.log" --devid 0 --seconds 7 --threads 4
vpid=$VERIFY_PID
for _ in $(seq 50); do
	kill -0 "$p2a" 2>/dev/null && kill -0 "$p2b" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$p2a" 2>/dev/null; then alive=$p2a dead=$p2b deadlog=backd-$m2-twin.log
else alive=$p2b dead=$p2a deadlog=backd-$m2.log; fi
kill -0 "$dead" 2>/dev/null && die "both vbdpool-backd of member $m2 still run after 5 s"
kill -0 "$alive" 2>/dev/null || die "neither vbdpool-backd of member $m2 runs"
src=0; wait "$dead" || src=$?
[ "$src" -ne 0 ] || die "the refused twin exited 0"
grep -q "another vbdpool-backd is serving volume vol1 in this domain" "$POOL_DIR/$deadlog" ||
	die "the twin gave no clear refusal: $(tail -n 3 "$POOL_DIR/$deadlog")"
pool_log "twins in member $m2: $(grep -m1 'another vbdpool-backd' "$POOL_DIR/$deadlog")"
pool_wait_owns vol1 "$g" 0 "$m2" || die "member $m2 got no queue: $(pool_owners vol1 "$g" 0)"
rc=0; wait "$vpid" || rc=$?
tail -n 1 "$POOL_DIR/verify4.log"
[ $rc -eq 0 ] || die "front_verify with the twins failed (exit $rc): $(tail -n 3 "$POOL_DIR/verify4.log")"
if grep -q "cannot bind event channel" "$POOL_DIR"/backd-*.log; then
	die "bind failures: $(grep -c 'cannot bind event channel' "$POOL_DIR"/backd-*.log | tr '\n' ' ')"
fi

# The heartbeat is the domain's, shared by all its daemons: in member $m2,
# where $alive serves vol1 (and beats), a daemon serving only vol2 is
# SIGKILLed; its successor must take vol2 over (the token's process is
# gone), not refuse for the heartbeat the vol1 daemon advances.
pool_volume vol2 16
ctl member add vol2 "$m2" >/dev/null || die "member add vol2 $m2"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$m2" -- \
	"$BIN/vbdpool-backd" --volume vol2 >"$POOL_DIR/backd-$m2-vol2.log" 2>&1 &
POOL_PIDS+=($!)
for _ in $(seq 50); do grep -q "volume vol2: member $m2 active" "$POOL_DIR/backd-$m2-vol2.log" && break; sleep 0.1; done
grep -q "volume vol2: member $m2 active" "$POOL_DIR/backd-$m2-vol2.log" || die "vol2's daemon did not join"
bpid2=""
for p in $(pgrep -x vbdpool-backd); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "XENSIM_DIR=$POOL_DIR/host" &&
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "--volume vol2" && bpid2=$p
done
[ -n "$bpid2" ] || die "no vbdpool-backd for vol2"
kill -KILL "$bpid2"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$m2" -- \
	"$BIN/vbdpool-backd" --volume vol2 >"$POOL_DIR/backd-$m2-vol2b.log" 2>&1 &
POOL_PIDS+=($!)
v2b=$!
for _ in $(seq 50); do grep -q "taking over" "$POOL_DIR/backd-$m2-vol2b.log" && break; sleep 0.1; done
grep -q "taking over" "$POOL_DIR/backd-$m2-vol2b.log" ||
	die "vol2's successor did not take over: $(tail -n 3 "$POOL_DIR/backd-$m2-vol2b.log")"
kill -0 "$v2b" 2>/dev/null || die "vol2's successor exited"
kill -0 "$alive" 2>/dev/null || die "vol1's daemon in member $m2 exited"
pool_log "vol2 in member $m2: $(grep -m1 'taking over' "$POOL_DIR/backd-$m2-vol2b.log")"
echo PASS
