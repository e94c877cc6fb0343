#!/usr/bin/env bash
# Many queues, several members: claims race in XenStore transactions and the
# balance converges to an even spread (counts differ by at most one); when a
# member dies (the supervisor records it), the survivors take its queues
# over, exactly one owner per queue, and converge again; the guest sees no
# error throughout. Rings of 16 pages (ring-page-order 4).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_start 64 3
members=("${MEMBERS[@]}")
pool_attach vol1 16
g=$GUEST

pool_verify_bg "$g" "$POOL_DIR/verify.log" --devid 0 --seconds 14 --threads 8 --ring-order 4
vpid=$VERIFY_PID

# spread of the connected queues over MEMBERS...: 0 when even (max-min <= 1)
uneven() {
	local m n min=999 max=0 total=0
	for m in "$@"; do
		n=$(pool_owned_by vol1 "$g" 0 "$m")
		total=$((total + n))
		[ "$n" -lt "$min" ] && min=$n
		[ "$n" -gt "$max" ] && max=$n
	done
	[ "$total" = 16 ] && [ $((max - min)) -le 1 ] && return 1
	return 0
}
wait_even() {
	for _ in $(seq 100); do
		uneven "$@" || { pool_wait_connected vol1 "$g" 0 5; return 0; }
		sleep 0.1
	done
	die "no even spread over $*: $(pool_owners vol1 "$g" 0)"
}

wait_even "${members[@]}"
pool_log "3 members: $(pool_owners vol1 "$g" 0)"
victim=${members[0]}
pool_log "destroying member $victim"
"$BIN/xensim" destroy --dir "$POOL_DIR/host" "$victim"
wait_even "${members[1]}" "${members[2]}"
[ "$(pool_owned_by vol1 "$g" 0 "$victim")" = 0 ] || die "dead member still owns queues"
pool_log "2 members: $(pool_owners vol1 "$g" 0)"

rc=0; wait $vpid || rc=$?
tail -n 1 "$POOL_DIR/verify.log"
[ $rc -eq 0 ] || die "front_verify failed (exit $rc)"
echo PASS
