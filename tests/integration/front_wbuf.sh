#!/usr/bin/env bash
# Zero-copy write buffers across take-overs: tests/progs/front_wbuf in the
# guest, 4 queues over three members.  Round 1: the owner of queue 0 is
# stopped with 1 MiB writes from granted pages in flight, then its domain
# destroyed (the writes are re-posted, copied from its retired ring);
# round 2: the next owner of queue 0 is destroyed between filling buffers
# and submitting them.  Every write must succeed and read back as
# written; a buffer put after vbd_front_close frees the device (ASan).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_start 64 3
pool_attach vol1 4
G=$GUEST
# What the guest program asks of the host (stop a member, destroy its
# domain) goes through files to this shell: a domU may not do it itself.
cat >"$POOL_DIR/act.sh" <<ACT
#!/usr/bin/env bash
echo "\$1 \$2" >"$POOL_DIR/req.tmp" && mv "$POOL_DIR/req.tmp" "$POOL_DIR/req"
for _ in \$(seq 400); do
	[ -e "$POOL_DIR/ack" ] && { rc=\$(cat "$POOL_DIR/ack"); rm -f "$POOL_DIR/ack"; exit "\$rc"; }
	sleep 0.05
done
exit 1
ACT
chmod +x "$POOL_DIR/act.sh"
serve() {
	local what dom p rc
	while :; do
		if [ -e "$POOL_DIR/req" ]; then
			read -r what dom <"$POOL_DIR/req"
			rm -f "$POOL_DIR/req"
			rc=0
			case $what in
			pause) p=$(pool_backd_pid "$dom") && kill -STOP "$p" || rc=1 ;;
			kill) "$XENSIM" destroy --dir "$POOL_DIR/host" "$dom" || rc=1 ;;
			*) rc=1 ;;
			esac
			pool_log "guest asked: $what $dom (rc $rc)"
			echo $rc >"$POOL_DIR/ack.tmp" && mv "$POOL_DIR/ack.tmp" "$POOL_DIR/ack"
		fi
		sleep 0.05
	done
}
serve &
POOL_PIDS+=($!)
pool_log "owners: $(pool_owners vol1 "$G" 0)"
rc=0
"$XENSIM" exec --dir "$SIM_DIR" --domid "$G" -- "$VBD_BUILD/tests/progs/front_wbuf" \
	--act "$POOL_DIR/act.sh" >"$POOL_DIR/wbuf.log" 2>&1 || rc=$?
grep -v ' debug: ' "$POOL_DIR/wbuf.log" | tail -n 30
pool_log "owners: $(pool_owners vol1 "$G" 0)"
[ $rc -eq 0 ] || die "front_wbuf exited $rc"
grep -q '^front_wbuf: PASS rounds=2 ' "$POOL_DIR/wbuf.log" || die "no PASS line"
echo PASS
