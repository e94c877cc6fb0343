#!/usr/bin/env bash
# `xl create guest.cfg` is enough: vbdpool-supervisor attaches a new
# guest's vbdpool devices from its xl config (--guest-configs DIR, the file
# DIR/<name>.cfg) and removes a gone guest's attachments.  On the emulated
# host `xensim create --name NAME` stands for `xl create`; no vbdpoolctl
# call attaches anything here:
#  - g1, created paused (xl create -p), gets its two devices (attachment
#    records, frontend directories, the note "attached FILE") while still
#    paused, i.e. before its frontend can look;
#  - a malformed spec (bad.cfg) is logged and noted "error: ..." under
#    /vbdpool/autoattach/<domid>; nothing is attached to it, and a guest
#    created after it (g2) is attached as usual;
#  - a domain without a config, or whose config has no vbdpool line, gets
#    nothing and no note;
#  - a hot `vbdpoolctl attach`/`detach` of the running g1 stays as made
#    across later domain events (the service acts once per domain);
#  - a restarted supervisor attaches nothing twice;
#  - `xensim destroy` of g1 removes every attachment it had (the hot one
#    too) and its note;
#  - g1 created again (a reboot: a new domain of the same name) is attached
#    again from its file;
#  - schema-check passes on the tree the service made.
set -u
# shellcheck source=../lib/pool.sh
. "$VBD_TOP/tests/lib/pool.sh"
# pool.sh's exit trap shows the supervisor's log; the tree is shown here
fail() { xs0 xenstore-ls /vbdpool >&2 2>/dev/null; die "$*"; }
att() { xs0 xenstore-exists "/vbdpool/volumes/$1/attachments/$2-$3" 2>/dev/null; } # VOL G D
fe() { xs0 xenstore-exists "/local/domain/$1/device/vbdpool/$2" 2>/dev/null; }      # G D
note() { xs0 xenstore-read "/vbdpool/autoattach/$1" 2>/dev/null; }                  # G
wait_for() { # DESCRIPTION CMD...: up to 10 s
	local what=$1 i
	shift
	for ((i = 0; i < 200; i++)); do
		"$@" >/dev/null && return 0
		sleep 0.05
	done
	fail "$what: not within 10 s"
}
not() { ! "$@"; }
sv_start() {
	"$XENSIM" exec --dir "$SIM_DIR" --domid 0 -- "$BIN/vbdpool-supervisor" --lease-ms 5000 \
		--guest-configs "$CFG/none:$CFG" >>"$POOL_DIR/supervisor.log" 2>&1 &
	SV_PID=$!
	POOL_PIDS+=("$SV_PID")
	wait_for "supervisor pid" sv_up
}
sv_up() { [ "$(xs0 xenstore-read /vbdpool/supervisor/pid 2>/dev/null)" = "$SV_PID" ]; }
guest_cfg() { # NAME SPEC...
	local n=$1 s
	shift
	{
		echo "name = \"$n\""
		echo 'memory = 128'
		printf 'vbdpool = [ '
		for s in "$@"; do printf '"%s", ' "$s"; done
		echo ']'
	} >"$CFG/$n.cfg"
}

pool_init sv-autoattach
CFG=$POOL_DIR/cfg
mkdir -p "$CFG"
for v in vol1 vol2 vol3 vol4; do pool_volume "$v" 8; done
guest_cfg g1 "volume=vol1, devid=0, queues=4" "volume=vol2, devid=3"
guest_cfg bad "volume=vol1, devid=zero"
guest_cfg g2 "volume=vol3, shared=1"
guest_cfg ev1 "volume=vol4"
guest_cfg ev2 "volume=vol4"
printf 'name = "nokey"\nmemory = 128\n' >"$CFG/nokey.cfg"
sv_start

# g1, created paused: attached before it runs
G1=$(sim_create g1 --paused sleep 100000) || fail "create g1"
wait_for "g1's device 0" att vol1 "$G1" 0
wait_for "g1's device 3" att vol2 "$G1" 3
fe "$G1" 0 && fe "$G1" 3 || fail "g1's frontend directories are missing"
[ "$(xs0 xenstore-read "/vbdpool/volumes/vol1/attachments/$G1-0/num-queues")" = 4 ] ||
	fail "g1's device 0 does not have the 4 queues of its spec"
[ "$(xs0 xenstore-read "/local/domain/$G1/device/vbdpool/0/state")" = 1 ] ||
	fail "g1's device 0 is not Initialising"
sim_list "$G1" | grep -q paused || fail "g1 is no longer paused: $(sim_list "$G1")"
case $(note "$G1") in "attached $CFG/g1.cfg") ;; *) fail "g1's note: '$(note "$G1")'" ;; esac
"$XENSIM" unpause --dir "$SIM_DIR" "$G1" || fail "unpause g1"
pool_log "g1 (dom$G1) attached from its config while paused"

# a malformed spec: logged and noted, nothing attached, the next guest fine
BAD=$(sim_create bad sleep 100000) || fail "create bad"
wait_for "bad's note" note "$BAD"
case $(note "$BAD") in
"error: "*"bad.cfg"*devid*) ;;
*) fail "bad's note does not say what is wrong: '$(note "$BAD")'" ;;
esac
grep -q "dom$BAD (bad): attaching from $CFG/bad.cfg failed" "$POOL_DIR/supervisor.log" ||
	fail "no error logged for bad"
not att vol1 "$BAD" 0 || fail "bad got an attachment"
NOCFG=$(sim_create nocfg sleep 100000) || fail "create nocfg"
NOKEY=$(sim_create nokey sleep 100000) || fail "create nokey"
G2=$(sim_create g2 sleep 100000) || fail "create g2"
wait_for "g2's device" att vol3 "$G2" 0
for d in "$NOCFG" "$NOKEY"; do
	[ -z "$(note "$d")" ] || fail "dom$d has a note: '$(note "$d")'"
	xs0 xenstore-exists "/local/domain/$d/device/vbdpool" && fail "dom$d got a device"
done
kill -0 "$SV_PID" || fail "the supervisor died"
pool_log "bad (dom$BAD) noted: $(note "$BAD")"

# hot attach/detach of the running g1: left as made across domain events
# (every device of its spec detached: g1 has none left, as a new guest)
ctl detach "$G1" vol1 --devid 0 --timeout 5 >/dev/null || fail "hot detach 0"
ctl detach "$G1" vol2 --devid 3 --timeout 5 >/dev/null || fail "hot detach 3"
EV=$(sim_create ev1 sleep 100000) || fail "create ev1" # domain events we can see
wait_for "ev1's device" att vol4 "$EV" 0
"$XENSIM" destroy --dir "$SIM_DIR" "$EV"
wait_for "ev1's device removed" not att vol4 "$EV" 0
not att vol1 "$G1" 0 || fail "g1's hot-detached device 0 was attached again"
not att vol2 "$G1" 3 || fail "g1's hot-detached device 3 was attached again"
ctl attach "$G1" vol3 --devid 1 --shared >/dev/null || fail "hot attach"

# a restarted supervisor attaches nothing twice
kill "$SV_PID"
wait "$SV_PID"
sv_start
EV=$(sim_create ev2 sleep 100000) || fail "create ev2"
wait_for "ev2's device" att vol4 "$EV" 0
not att vol1 "$G1" 0 || fail "g1's device 0 came back after the restart"
grep -q "dom$G1 (g1): attaching" "$POOL_DIR/supervisor.log" && fail "g1 attached again after the restart"
pool_log "hot attach/detach of g1 untouched; a restart attached nothing twice"

# xensim destroy: every attachment of g1 goes, its note too
"$XENSIM" destroy --dir "$SIM_DIR" "$G1"
wait_for "g1's device 1 removed" not att vol3 "$G1" 1
wait_for "g1's note removed" not note "$G1"
pool_log "g1 destroyed: its attachments are gone"

# the reboot: g1 again (a new domain of that name) is attached again
G1B=$(sim_create g1 sleep 100000) || fail "create g1 again"
[ "$G1B" != "$G1" ] || fail "the new g1 has the old domid"
wait_for "the new g1's device 0" att vol1 "$G1B" 0
wait_for "the new g1's device 3" att vol2 "$G1B" 3
pool_log "g1 created again as dom$G1B: attached from its config"

ctl schema-check >"$POOL_DIR/schema.log" 2>&1 || fail "schema-check: $(head -n 20 "$POOL_DIR/schema.log")"
echo "PASS"
