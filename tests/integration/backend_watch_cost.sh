#!/usr/bin/env bash
# Control-path amplification: a guest writing junk into its own frontend
# directory must cost a member O(1) XenStore requests per write.  One
# member serves three attachments of one guest (4 queues each, connected
# through idle vbdpool-nbd frontends); the guest then makes 1,000 writes
# under device/vbdpool/0/ that concern no member: new junk keys, rewrites
# of `volume` (same value) and a junk key inside queue-0/ (a queue the
# member owns).  The emulated xenstored counts the member's requests
# (`xensim stats`); the member's own timers (heartbeat, balance, the
# periodic reconcile) are measured as a baseline rate over a quiet window
# and subtracted.  Allowed: 2 requests per junk write.  Then a frontend
# restart must still be seen (re-claimed with a new epoch, served).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
N=1000
pool_init
pool_volume vol1 16
pool_member vol1
m=$LAST_DOMID
g=$(pool_domain guest)
for d in 0 1 2; do
	ctl attach "$g" vol1 --devid $d --queues 4 >/dev/null || die "attach devid $d"
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$g" -- \
		"$BIN/vbdpool-nbd" --devid $d --socket "$POOL_DIR/nbd$d.sock" \
		>"$POOL_DIR/vbdpool-nbd$d.log" 2>&1 &
	POOL_PIDS+=($!)
done
for d in 0 1 2; do pool_wait_connected vol1 "$g" $d; done

reqs() { # DOMID -> the member's XenStore request count
	local s
	s=$("$XENSIM" stats --dir "$SIM_DIR" --domid "$1") || die "xensim stats --domid $1"
	[[ $s =~ ^xs-requests=([0-9]+)$ ]] || die "xensim stats printed '$s'"
	echo "${BASH_REMATCH[1]}"
}
now_ms() { date +%s%3N; }

# the counter itself: a domain that XenStore never heard of is an error,
# and a domU's requests are counted (xenstore-read: 1 read)
"$XENSIM" stats --dir "$SIM_DIR" --domid 999 >/dev/null 2>&1 && die "stats for an unknown domain"
r0=$(reqs "$g")
sim_exec "$g" xenstore-read name >/dev/null || die "xenstore-read in the guest"
r1=$(reqs "$g")
[ $((r1 - r0)) -ge 1 ] || die "the guest's read was not counted ($r0 -> $r1)"

sleep 1 # claims settled, balance held
b0=$(reqs "$m") t0=$(now_ms)
sleep 3
b1=$(reqs "$m") t1=$(now_ms)
base_ms=$((t1 - t0)) base=$((b1 - b0))
pool_log "baseline: $base requests in $base_ms ms"

vol=$(sim_exec "$g" xenstore-read device/vbdpool/0/volume) || die "read volume"
j0=$(reqs "$m") t0=$(now_ms)
# shellcheck disable=SC2016 # expanded in the guest's shell
sim_exec "$g" sh -c '
	n=$1 vol=$2 i=0
	while [ $i -lt $n ]; do
		case $((i % 10)) in
		0) xenstore-write device/vbdpool/0/volume "$vol" ;;
		5) xenstore-write device/vbdpool/0/queue-0/junk "$i" ;;
		*) xenstore-write device/vbdpool/0/junk-$((i % 100)) "$i" ;;
		esac || exit 1
		i=$((i + 1))
	done' junk "$N" "$vol" || die "junk writes in the guest failed"
sleep 0.5 # the member has taken in the last events
j1=$(reqs "$m") t1=$(now_ms)
dur=$((t1 - t0)) got=$((j1 - j0))
expect=$((base * dur / base_ms))
extra=$((got - expect))
pool_log "junk: $N writes in $dur ms: member $m made $got requests, baseline for that time" \
	"$expect: $extra extra ($((extra * 100 / N))/100 per write)"
[ "$extra" -le $((2 * N)) ] ||
	die "member $m made $extra requests more than its baseline for $N junk writes (allowed $((2 * N)))"
for d in 0 1 2; do pool_wait_connected vol1 "$g" $d 5; done

# what the member must still see: a restarted frontend (the nbd server of
# device 2 killed, a new one started) gets its queues re-claimed at a new
# epoch and served
before=$(pool_rec vol1 "$g" 2 0)
pid=$(sim_pids "$g" vbdpool-nbd | while read -r p; do
	grep -qa -- "nbd2.sock" "/proc/$p/cmdline" && echo "$p"; done)
[ -n "$pid" ] || die "no vbdpool-nbd for device 2"
kill -KILL $pid
"$XENSIM" exec --dir "$SIM_DIR" --domid "$g" -- \
	"$BIN/vbdpool-nbd" --devid 2 --socket "$POOL_DIR/nbd2b.sock" \
	>"$POOL_DIR/vbdpool-nbd2b.log" 2>&1 &
POOL_PIDS+=($!)
for i in $(seq 100); do [ -S "$POOL_DIR/nbd2b.sock" ] && break; sleep 0.1; done
qemu-io -f raw "nbd+unix:///?socket=$POOL_DIR/nbd2b.sock" -c 'write -P 0x5a 0 64k' \
	-c 'read -P 0x5a 0 64k' >"$POOL_DIR/qio.log" 2>&1 || die "qemu-io: $(cat "$POOL_DIR/qio.log")"
grep -qi 'fail\|error' "$POOL_DIR/qio.log" && die "qemu-io: $(cat "$POOL_DIR/qio.log")"
after=$(pool_rec vol1 "$g" 2 0)
pool_log "device 2 queue-0: $before -> $after"
[ "${before#*epoch=}" != "${after#*epoch=}" ] || die "no new epoch after the frontend restart"
echo PASS
