#!/usr/bin/env bash
# Issue 10 item 6, the supervisor: an idle pool costs it (and so the host's
# one xenstored) a few XenStore requests per scan whatever the number of
# volumes: it keeps the pool it read and re-reads it only when a watch on
# /vbdpool/volumes or /vbdpool/supervisor fires; a scan re-reads the
# members' heartbeats (one node per member domain) and the domain list.
# (It read every volume's members, states and ACLs on every 250 ms scan:
# 3425 requests a second at 200 volumes, bench/scale.sh.)
#  1. 60 volumes, 3 member domains with one vbdpool-backd each, a
#     supervisor (1 s lease): dom0's requests over 2 s of idle stay under
#     one per volume per second (it made ~40 per volume per second).
#  1b. Members under I/O rewrite their load about once a second per
#     volume: with one member domain rewriting the load of all its 40
#     memberships in a loop, dom0's rate stays under the same bound (each
#     load write made the next scan re-read the whole pool).
#  2. What changes is still seen: a member added after the supervisor
#     read the pool, then hung (its daemon stopped), is fenced; so is one
#     of the first members (heartbeats refreshed on every scan).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
# shellcheck disable=SC1091
. "$VBD_TOP/tests/lib/scale.sh"
pool_init
NV=60
scale_volumes "$NV"
for m in "${M[@]}"; do
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$m" -- "$BIN/vbdpool-backd" >"$POOL_DIR/backd-$m.log" 2>&1 &
	POOL_PIDS+=($!)
done
active() { xs0 xenstore-ls /vbdpool/volumes | grep -c '^ *state = "active"' || true; }
for _ in $(seq 300); do [ "$(active)" -ge $((NV * 2)) ] && break; sleep 0.1; done
[ "$(active)" -ge $((NV * 2)) ] || die "$(active) of $((NV * 2)) members active"
pool_supervisor --lease-ms 1000
grep_sv() { for _ in $(seq 100); do grep -q "$1" "$POOL_DIR/supervisor.log" && return 0; sleep 0.1; done; return 1; }
grep_sv supervising || die "the supervisor did not start: $(cat "$POOL_DIR/supervisor.log")"
sleep 1
reqs() { local r; r=$("$XENSIM" stats --dir "$SIM_DIR" --domid 0); echo "${r#xs-requests=}"; }
# dom0's XenStore requests over 2 s: sets n, ms and rate (per second)
measure() {
	local r0 t0 r1 t1
	r0=$(reqs) t0=$(date +%s%N)
	sleep 2
	r1=$(reqs) t1=$(date +%s%N)
	n=$((r1 - r0)) ms=$(((t1 - t0) / 1000000))
	rate=$((n * 1000 / ms))
}
measure
pool_log "idle, $NV volumes, $((NV * 2)) memberships: dom0 made $n XenStore requests in $ms ms ($rate/s)"
[ "$rate" -lt "$NV" ] || die "the idle supervisor makes $rate XenStore requests a second for $NV volumes"

# 1b. member loads rewritten (as under I/O), by dom${M[0]} itself
# shellcheck disable=SC2016 # expanded by the member's shell
sim_exec "${M[0]}" env NV="$NV" ME="${M[0]}" sh -c 'k=0; while :; do i=0; while [ $i -lt $NV ]; do
	if [ $((i % 3)) != 1 ]; then xenstore-write /vbdpool/volumes/v$i/members/$ME/load \
		"inflight=1 iops=$k bps=4096 lat-us=50 p99-us=90 queues=0 cost=100" || exit 1; fi
	i=$((i + 1)); done; k=$((k + 1)); done' >"$POOL_DIR/loadwriter.log" 2>&1 &
writer=$!
sleep 1
kill -0 "$writer" 2>/dev/null || die "the load writer stopped: $(cat "$POOL_DIR/loadwriter.log")"
l0=$(xs0 xenstore-read "/vbdpool/volumes/v0/members/${M[0]}/load")
measure
l1=$(xs0 xenstore-read "/vbdpool/volumes/v0/members/${M[0]}/load")
kill "$writer"
wait "$writer" 2>/dev/null || true
[ "$l0" != "$l1" ] || die "the loads were not rewritten ($l0)"
pool_log "loads rewritten: dom0 made $n XenStore requests in $ms ms ($rate/s)"
[ "$rate" -lt "$NV" ] || die "member load writes make the supervisor cost $rate XenStore requests a second for $NV volumes"

# 2. a member added now (after the pool was read) is supervised
new=$(pool_domain newback) || die "create domain"
ctl member add v0 "$new" >/dev/null || die "member add"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$new" -- "$BIN/vbdpool-backd" >"$POOL_DIR/backd-$new.log" 2>&1 &
POOL_PIDS+=($!)
for _ in $(seq 100); do
	[ "$(xs0 xenstore-read "/vbdpool/volumes/v0/members/$new/state" 2>/dev/null)" = active ] && break
	sleep 0.1
done
[ "$(xs0 xenstore-read "/vbdpool/volumes/v0/members/$new/state")" = active ] || die "dom$new not active"
sleep 0.5 # a few scans with the new member and its heartbeat
pool_log "pausing dom$new (added after the supervisor read the pool)"
"$XENSIM" pause --dir "$SIM_DIR" "$new"
grep_sv "dom$new: heartbeat unchanged" || die "dom$new was not fenced: $(tail -n 5 "$POOL_DIR/supervisor.log")"
pool_log "pausing dom${M[0]} (a first member)"
"$XENSIM" pause --dir "$SIM_DIR" "${M[0]}"
grep_sv "dom${M[0]}: heartbeat unchanged" || die "dom${M[0]} was not fenced: $(tail -n 5 "$POOL_DIR/supervisor.log")"
grep 'heartbeat unchanged' "$POOL_DIR/supervisor.log" | sed 's/^/    /'
echo PASS
