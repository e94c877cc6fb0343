#!/usr/bin/env bash
# vbdpool-nbd reuses its large request buffers.  After a burst of small
# requests had churned malloc's arena, every fresh 1 MiB buffer came back
# from the kernel untouched: ~80 page faults (and zeroed pages) per 1 MiB
# request on the event thread, and 1 MiB reads a third slower than on a
# fresh server (bench/nbd.sh).  Counted here as the server's minor faults
# per 1 MiB request after the same churn (a count, not a timing): a
# connection's first buffers fault once, the rest are its spares.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_nbd 256 2 4
srv=$(pgrep -f "^$BIN/vbdpool-nbd --devid 0 --socket $POOL_DIR/nbd.sock") || die "no vbdpool-nbd"
minflt() { awk '{ print $10 }' "/proc/$srv/stat"; }

# churn: small reads and writes at depth 16
fio --name=churn --ioengine=nbd --uri="$NBD_URI" --rw=randrw --bs=4k --iodepth=16 --size=256m \
	--runtime=3 --time_based --output="$POOL_DIR/fio-churn.log" >/dev/null 2>&1 ||
	die "churn: $(cat "$POOL_DIR/fio-churn.log")"
n=400
for rw in read write; do
	before=$(minflt)
	fio --name=big --ioengine=nbd --uri="$NBD_URI" --rw=$rw --bs=1m --iodepth=4 --size=256m \
		--number_ios=$n --output="$POOL_DIR/fio-$rw.log" >/dev/null 2>&1 ||
		die "1 MiB $rw: $(cat "$POOL_DIR/fio-$rw.log")"
	faults=$(($(minflt) - before))
	echo "1 MiB ${rw}s: $faults minor faults in $n requests"
	# the first 4 buffers (QD4) fault once each: 4 x 256 pages
	[ "$faults" -le $((4 * 256 + 8 * n)) ] ||
		die "1 MiB ${rw}s took $faults page faults for $n requests: buffers not reused"
done
echo PASS
