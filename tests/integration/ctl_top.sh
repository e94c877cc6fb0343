#!/usr/bin/env bash
# vbdpoolctl top under fio load (issue 10 item 3): a volume on two members,
# a guest exporting it with vbdpool-nbd (4 queues), fio through NBD (150
# reads + 150 writes of 4 KiB per second for 9 s; top's two samples fall
# inside).  fio logs every completion on the wall clock (--write_lat_log,
# --log_unix_epoch), so its own figure is taken over the same window as
# top's: from the middle of top's first sample (between its asked_ms and
# answered_ms) to the middle of the second.  (fio's average over its run
# is no such figure: on a loaded 2-core machine it stalls for a while and
# catches up later.)  Checks:
#  - with no top running, the members write no statistics, even under load
#    (no members/<m>/stats node appears);
#  - `top -b -i 2 -d 1 --json`: two JSON objects, the first without rates
#    (null), the second with per-device and per-domain read/write IOPS and
#    bytes/s within 15% of fio's over the same window, latency figures,
#    every queue counted once over the domains;
#  - the cumulative counters top reports grew, from before fio to after
#    it, by fio's own total of reads and writes (within 15%);
#  - after top exits, its request nodes are gone and the members' stats
#    stop changing under load (they answer requests only);
#  - the text form (-b -i 2 -d 0.5) shows both tables; status shows human
#    units; bad flags are usage errors.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_nbd 64 2 4
vol=vol1 uri="nbd+unix:///?socket=$POOL_DIR/nbd.sock"

top_json() { ctl top --json "$@" >"$POOL_DIR/top.json" || die "top $* failed"; cat "$POOL_DIR/top.json"; }
stats_nodes() { # every member's stats node, "path = value", sorted
	local m
	for m in "${MEMBERS[@]}"; do
		xs0 xenstore-ls -f "/vbdpool/volumes/$vol/members/$m" 2>/dev/null | grep '/stats/' || true
	done | sort
}

# usage errors
for bad in "-i 0" "-i x" "-d 0" "-d 1s" "--bogus" "extra"; do
	# shellcheck disable=SC2086 # words
	rc=0; ctl top $bad >/dev/null 2>"$POOL_DIR/err" || rc=$?
	[ $rc = 2 ] || die "top $bad: exit $rc, expected 2: $(cat "$POOL_DIR/err")"
done

# cumulative counters before any load (top -i 1: its own first request)
base=$(top_json -b -i 1 -d 1) || exit 1
read -r base_rd base_wr < <(jq -r '.devices[0] | "\(.reads) \(.writes)"' <<<"$base")
pool_log "before fio: reads=$base_rd writes=$base_wr"
# the members answered that request: now their nodes exist; remove them
# to see that nothing writes them again while no top runs
for m in "${MEMBERS[@]}"; do xs0 xenstore-rm "/vbdpool/volumes/$vol/members/$m/stats" 2>/dev/null || true; done
[ -z "$(xs0 xenstore-ls /vbdpool/top 2>/dev/null)" ] || die "top left its request nodes: $(xs0 xenstore-ls /vbdpool/top)"

fio --name=top --ioengine=nbd --uri="$uri" --rw=randrw --rwmixread=50 --bs=4k --iodepth=8 \
	--size=32m --rate_iops=150,150 --runtime=9 --time_based \
	--write_lat_log="$POOL_DIR/fio" --log_avg_msec=0 --log_unix_epoch=1 \
	--output-format=json --output="$POOL_DIR/fio.json" >/dev/null 2>&1 &
FIO_PID=$!
# (fio waits for its requests on SIGTERM, forever once the host is gone)
POOL_ON_EXIT='kill -KILL $FIO_PID ${FIO2_PID:-} 2>/dev/null'
# fio at its rate (its start takes seconds on a loaded machine): the
# members' own load (status, from members/<m>/load) says so, no top needed
for i in $(seq 100); do
	iops=$(ctl status --json | jq '[.domains[].iops] | add')
	[ "$iops" -ge 200 ] && break
	sleep 0.2
done
[ "$iops" -ge 200 ] || die "fio did not get going: $iops IOPS after 20 s"

# no top: no statistics written under load
[ -z "$(stats_nodes)" ] || die "stats written with no top running: $(stats_nodes)"

out=$(top_json -b -i 2 -d 1) || exit 1
echo "$out"
[ "$(wc -l <<<"$out")" = 2 ] || die "top -i 2 printed $(wc -l <<<"$out") lines, not 2"
first=$(sed -n 1p <<<"$out") second=$(sed -n 2p <<<"$out")
[ "$(jq '.devices[0].read_iops' <<<"$first")" = null ] || die "first iteration has rates: $first"
[ "$(jq '.devices | length' <<<"$second")" = 1 ] || die "not one device: $second"
[ "$(jq '.domains | length' <<<"$second")" = 2 ] || die "not two domains: $second"
[ "$(jq '[.domains[].queues_owned] | add' <<<"$second")" = 4 ] || die "queues owned do not add up to 4"
[ "$(jq -r '.devices[0].state' <<<"$second")" = Connected ] || die "device not Connected"
[ "$(jq '.devices[0].queues_connected' <<<"$second")" = 4 ] || die "not 4 queues connected"

# the text form (fio still runs)
ctl top -b -i 2 -d 0.5 >"$POOL_DIR/top.txt" || die "top text failed"
cat "$POOL_DIR/top.txt"
grep -q '^DOMID DOMAIN' "$POOL_DIR/top.txt" || die "no domain table"
grep -q "^$vol $GUEST-0 .*Connected *4/4" "$POOL_DIR/top.txt" || die "no device line"
[ "$(grep -c '^vbdpoolctl top' "$POOL_DIR/top.txt")" = 2 ] || die "not 2 frames"
# status: human units in the text, raw numbers in JSON
ctl status >"$POOL_DIR/status.txt" || die "status failed"
grep -q "^volume $vol: 64.0M (67108864 bytes)" "$POOL_DIR/status.txt" || die "status size: $(head -1 "$POOL_DIR/status.txt")"
[ "$(ctl status --json | jq '.volumes[0].size')" = 67108864 ] || die "status --json size"

wait "$FIO_PID" || die "fio failed: $(cat "$POOL_DIR/fio.json")"
read -r f_rn f_wn < <(jq -r '.jobs[0] | "\(.read.total_ios) \(.write.total_ios)"' "$POOL_DIR/fio.json")
# fio's completions (time ms, latency, direction 0 read 1 write, bytes)
# between the middles of top's two samples
read -r w0 w1 < <(jq -rs '[.[] | (.asked_ms + .answered_ms) / 2] | "\(.[0]) \(.[1])"' <<<"$out")
read -r f_rio f_wio f_rbw f_wbw < <(awk -F', *' -v a="$w0" -v b="$w1" '
	$1 >= a && $1 < b { n[$3]++; by[$3] += $4 }
	END { s = (b - a) / 1000; printf "%.1f %.1f %.0f %.0f\n", n[0] / s, n[1] / s, by[0] / s, by[1] / s }' \
	"$POOL_DIR/fio_clat.1.log")
pool_log "fio over top's window ($(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }') ms): read $f_rio IOPS" \
	"$f_rbw B/s, write $f_wio IOPS $f_wbw B/s; over its run: $f_rn reads, $f_wn writes"

within() { # WHAT GOT WANT: |GOT - WANT| <= 15% of WANT
	awk -v g="$2" -v w="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(w > 0 && d <= 0.15 * w) }' ||
		die "$1: top says $2, fio $3 (more than 15% apart)"
	pool_log "$1: top $2, fio $3: within 15%"
}
dev=$(jq -c '.devices[0]' <<<"$second")
within "device read IOPS" "$(jq .read_iops <<<"$dev")" "$f_rio"
within "device write IOPS" "$(jq .write_iops <<<"$dev")" "$f_wio"
within "device read B/s" "$(jq .read_bps <<<"$dev")" "$f_rbw"
within "device write B/s" "$(jq .write_bps <<<"$dev")" "$f_wbw"
within "domains' read IOPS" "$(jq '[.domains[].read_iops] | add' <<<"$second")" "$f_rio"
within "domains' write IOPS" "$(jq '[.domains[].write_iops] | add' <<<"$second")" "$f_wio"
for k in lat_us p99_us; do
	v=$(jq ".devices[0].$k" <<<"$second")
	[ "$v" != null ] && [ "$v" -gt 0 ] || die "device $k is $v under load"
done
for m in "${MEMBERS[@]}"; do
	d=$(jq -c ".domains[] | select(.domid == $m)" <<<"$second")
	[ -n "$d" ] || die "no line for domain $m"
	[ "$(jq .read_iops <<<"$d")" != null ] || die "domain $m has no rates: $d"
	[ "$(jq -r .state <<<"$d")" = active ] || die "domain $m not active: $d"
done

# after top: no request nodes; the stats stop changing under load
[ -z "$(xs0 xenstore-ls /vbdpool/top 2>/dev/null)" ] || die "top left its request nodes"
fio --name=load --ioengine=nbd --uri="$uri" --rw=randrw --bs=4k --iodepth=4 --size=32m \
	--rate_iops=100,100 --runtime=3 --time_based --output="$POOL_DIR/fio2.log" >/dev/null 2>&1 &
FIO2_PID=$!
before=$(stats_nodes)
[ -n "$before" ] || die "no stats nodes after top ran"
sleep 2.5
after=$(stats_nodes)
[ "$before" = "$after" ] || die "stats changed with no top running: $before -> $after"
wait "$FIO2_PID" || die "second fio failed"

# totals: what top's cumulative counters grew by is what fio did (plus
# the second run, taken from its own log)
end=$(top_json -b -i 1 -d 1) || exit 1
read -r end_rd end_wr < <(jq -r '.devices[0] | "\(.reads) \(.writes)"' <<<"$end")
n2=$(grep -oE 'issued rwts: total=[0-9]+,[0-9]+' "$POOL_DIR/fio2.log" | head -1)
[ -n "$n2" ] || die "no totals in the second fio's log: $(cat "$POOL_DIR/fio2.log")"
n2=${n2#*total=}
within "reads counted" "$((end_rd - base_rd))" "$((f_rn + ${n2%,*}))"
within "writes counted" "$((end_wr - base_wr))" "$((f_wn + ${n2#*,}))"

ctl schema-check || die "schema-check after top"
echo PASS
