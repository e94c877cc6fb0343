#!/usr/bin/env bash
# `vbdpoolctl member unfence VOL DOMID`: a fenced member rejoins only by
# this explicit admin action.  No real daemon here: a shell loop in the
# member's domain plays one (rewrites members/<m>/heartbeat every 200 ms).
#  - refused for a member that is not fenced, a domain that is not a member,
#    an unknown volume
#  - fenced + domain paused (as the supervisor's --fence pause leaves it),
#    the fenced "daemon" frozen in it: unfence unpauses the domain, the
#    daemon resumes, sees `fenced` and exits, the heartbeat goes quiet for
#    2 s, state becomes joining (the node keeps the member's ACL), and the
#    admin is told what to check before restarting vbdpool-backd
#  - the state changes while unfence waits: not unfenced
#  - a "daemon" that keeps beating: refused after the 10 s bound, still fenced
set -u
. "$VBD_TOP/tests/lib/pool.sh"
pool_init ctl-unfence
pool_volume v 16
m=$(pool_domain member) || die "create member domain"
o=$(pool_domain other) || die "create other domain"
ctl member add v "$m" >/dev/null || die "member add"
M=/vbdpool/volumes/v/members/$m
sim_exec "$m" xenstore-write "$M/state" active "$M/heartbeat" 1 || die "member writes its nodes"
acl() { xs0 xenstore-ls -p "$M" | awk '$1 == "state" { print $NF }'; }
acl0=$(acl)
[ "$acl0" = "(r$m)" ] || die "the member's state node: ACL '$acl0'"
state() { xs0 xenstore-read "$M/state"; }
dstate() { sim_list "$m" | awk -v d="$m" '$2 == d { print $3 }'; }
# a member daemon: beats every 200 ms; with `obey`, exits once it is fenced
fake_daemon() { # obey|ignore
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$m" -- sh -c '
		while :; do
			[ "$1" = obey ] && [ "$(xenstore-read "$2/state")" = fenced ] && exit 0
			xenstore-write "$2/heartbeat" "$(date +%s%N)"
			sleep 0.2
		done' sh "$1" "$M" >"$POOL_DIR/daemon-$1.log" 2>&1 &
	DAEMON=$!
	POOL_PIDS+=("$DAEMON")
	local hb i
	hb=$(xs0 xenstore-read "$M/heartbeat")
	for i in $(seq 50); do [ "$(xs0 xenstore-read "$M/heartbeat")" != "$hb" ] && return 0; sleep 0.1; done
	die "the fake daemon does not beat"
}

echo "--- refusals"
ctl member unfence v "$m" >"$POOL_DIR/u1.out" 2>&1 && die "unfence of an active member succeeded"
grep -q "not fenced (state active)" "$POOL_DIR/u1.out" || die "unfence of active: $(cat "$POOL_DIR/u1.out")"
ctl member unfence v "$o" >"$POOL_DIR/u2.out" 2>&1 && die "unfence of a non-member succeeded"
grep -q "not a member" "$POOL_DIR/u2.out" || die "unfence of non-member: $(cat "$POOL_DIR/u2.out")"
ctl member unfence nosuch "$m" >"$POOL_DIR/u3.out" 2>&1 && die "unfence in an unknown volume succeeded"
grep -q "unknown volume" "$POOL_DIR/u3.out" || die "unknown volume: $(cat "$POOL_DIR/u3.out")"
ctl member unfence v >/dev/null 2>&1; [ $? -eq 2 ] || die "missing DOMAIN: not a usage error"
[ "$(state)" = active ] || die "state changed by refused unfences: $(state)"

echo "--- fenced and paused, the fenced daemon frozen in the domain"
fake_daemon obey
obey=$DAEMON
"$XENSIM" pause --dir "$SIM_DIR" "$m" || die "pause"
xs0 xenstore-write "$M/state" fenced || die "write fenced"
[ "$(dstate)" = paused ] || die "domain not paused: $(dstate)"
start=$SECONDS
ctl member unfence v "$m" >"$POOL_DIR/u4.out" 2>&1 || die "unfence failed: $(cat "$POOL_DIR/u4.out")"
cat "$POOL_DIR/u4.out"
[ "$(dstate)" = running ] || die "domain after unfence: $(dstate)"
[ "$(state)" = joining ] || die "state after unfence: $(state)"
[ "$(acl)" = "$acl0" ] || die "state node's ACL changed: $(acl) (was $acl0)"
[ $((SECONDS - start)) -ge 2 ] || die "unfence did not wait for a quiet heartbeat"
grep -q "unpaused" "$POOL_DIR/u4.out" || die "unfence did not say it unpaused the domain"
grep -q "in flight" "$POOL_DIR/u4.out" || die "no checklist for the admin"
for _ in $(seq 20); do kill -0 "$obey" 2>/dev/null || break; sleep 0.1; done
kill -0 "$obey" 2>/dev/null && die "the fenced daemon still runs after unfence"
wait "$obey" || die "the fenced daemon did not exit on its own"
ctl member unfence v "$m" >/dev/null 2>&1 && die "a second unfence succeeded"

echo "--- the state changes while unfence waits"
xs0 xenstore-write "$M/state" fenced || die "write fenced"
ctl member unfence v "$m" >"$POOL_DIR/u5.out" 2>&1 &
upid=$!
sleep 0.7
xs0 xenstore-write "$M/state" dead || die "write dead"
wait $upid && die "unfence succeeded although the member became dead: $(cat "$POOL_DIR/u5.out")"
grep -q "changed meanwhile (state dead)" "$POOL_DIR/u5.out" || die "changed meanwhile: $(cat "$POOL_DIR/u5.out")"
[ "$(state)" = dead ] || die "state after the refused unfence: $(state)"

echo "--- fenced, but a daemon still beats in the domain"
xs0 xenstore-write "$M/state" fenced || die "write fenced"
fake_daemon ignore
start=$SECONDS
ctl member unfence v "$m" >"$POOL_DIR/u6.out" 2>&1 && die "unfence succeeded with a live daemon"
cat "$POOL_DIR/u6.out"
grep -q "a vbdpool-backd still runs for v in dom$m: stop it first" "$POOL_DIR/u6.out" ||
	die "unexpected refusal: $(cat "$POOL_DIR/u6.out")"
[ $((SECONDS - start)) -le 13 ] || die "unfence waited $((SECONDS - start)) s (bound 10 s)"
[ "$(state)" = fenced ] || die "state after the refusal: $(state)"
echo PASS
