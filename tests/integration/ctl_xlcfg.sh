#!/usr/bin/env bash
# vbdpoolctl attach|detach --config FILE on the emulated host: the guest's
# xl domain config lists two devices of two volumes (one with defaults);
# the guest is created paused (xl create -p), attached from the file,
# unpaused, and front_verify passes on one device.  Bad files (unknown
# key, unknown volume in the 2nd entry, a devid taken, missing file,
# unknown domain, a directory) attach nothing at all; --domain overrides
# name=; detach --config removes both devices (one through the Closing ->
# Closed hand-shake); schema-check passes after each step.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init ctl-xlcfg
T=$POOL_DIR

step() { pool_log "--- $*"; }
# schema-check after each step
checked() {
	ctl schema-check >"$T/check.out" 2>&1 || { cat "$T/check.out"; die "schema-check after: $*"; }
	echo "schema-check ok after: $*"
}
# every attachment of both volumes, e.g. "vol1/5-0 vol2/5-1"
atts() {
	local v
	for v in vol1 vol2; do
		xs0 xenstore-list "/vbdpool/volumes/$v/attachments" | sed "s|^|$v/|"
	done | sort | tr '\n' ' ' | sed 's/ $//'
}
# expect_fail WHAT... -- CMD...: the command fails, its stderr names each WHAT
expect_fail() { pool_expect_fail "$@"; }
xr() { xs0 xenstore-read "$@"; }

step "two volumes, two members serving both"
pool_volume vol1 64
pool_volume vol2 32
for i in 1 2; do
	d=$(pool_domain "back$i") || die "create back$i"
	ctl member add vol1 "$d" >/dev/null || die "member add vol1 $d"
	ctl member add vol2 "$d" >/dev/null || die "member add vol2 $d"
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$d" -- \
		"$BIN/vbdpool-backd" --volume vol1 --volume vol2 >"$T/backd-$d.log" 2>&1 &
	POOL_PIDS+=($!)
done
checked "members"

step "xl create -p: the guest domain exists, paused"
G=$(sim_create xlguest --paused sleep 100000) || die "create guest"
cfg=$T/xlguest.cfg
cat >"$cfg" <<'EOF'
# /etc/xen/xlguest.cfg, as `xl create` reads it: xl ignores vbdpool=
name = "xlguest"
type = "pv"
memory = 256; vcpus = 2
kernel = "/boot/vmlinuz"
disk = [ 'format=raw, vdev=xvda, access=rw, target=/dev/null' ]
vbdpool = [ "volume=vol2",              # lowest free devid, default queues
            'volume=vol1, devid=0, queues=2',
          ]
EOF
[ "$(atts)" = "" ] || die "attachments before: $(atts)"

step "bad files attach nothing"
bad=$T/bad.cfg
printf 'name = "xlguest"\nvbdpool = [ "volume=vol1", "volume=vol2,size=1G" ]\n' >"$bad"
expect_fail "$bad" "entry #2" "unknown key 'size'" "nothing attached" -- ctl attach --config "$bad"
# parses, but the 2nd entry's volume does not exist: the 1st must not stay
printf 'name = "xlguest"\nvbdpool = [ "volume=vol1,devid=5", "volume=nosuch" ]\n' >"$bad"
expect_fail "$bad" "entry #2" "unknown volume 'nosuch'" "nothing attached" -- \
	ctl attach --config "$bad"
[ "$(atts)" = "" ] || die "a failed attach --config left: $(atts)"
printf 'name = "xlguest"\nvbdpool = [ "volume=vol1,devid=0,queues=0" ]\n' >"$bad"
expect_fail "bad queues '0'" "nothing attached" -- ctl attach --config "$bad"
printf 'name = "xlguest"\nvbdpool = [ "volume=vol1" \n' >"$bad"
expect_fail "$bad" "not a valid xl config file" -- ctl attach --config "$bad"
printf 'vbdpool = [ "volume=vol1" ]\n' >"$bad"
expect_fail "$bad" "no name=" -- ctl attach --config "$bad"
printf 'name = "nosuchguest"\nvbdpool = [ "volume=vol1" ]\n' >"$bad"
expect_fail "$bad" "unknown domain 'nosuchguest'" "xl create -p" "nothing attached" -- \
	ctl attach --config "$bad"
# name= is a domain name, never a domid (domain 1 is back1)
printf 'name = "1"\nvbdpool = [ "volume=vol1" ]\n' >"$bad"
expect_fail "$bad" "name = \"1\": no domain has that name" "nothing attached" -- \
	ctl attach --config "$bad"
expect_fail "$T/missing.cfg" "No such file" -- ctl attach --config "$T/missing.cfg"
expect_fail "$T" "not a regular file" -- ctl attach --config "$T"
expect_fail "--devid and --queues" -- ctl attach --config "$cfg" --queues 2
expect_fail "unexpected argument" -- ctl attach xlguest --config "$cfg"
[ "$(atts)" = "" ] || die "a failed attach --config left: $(atts)"
checked "bad files"

step "attach --config: both devices, explicit devid first, the default takes the next free"
out=$(ctl attach --config "$cfg") || die "attach --config: $out"
echo "$out"
grep -qx "attached volume vol2 to domain $G as vbdpool device 1 (4 queues)" <<<"$out" ||
	die "no line for vol2"
grep -qx "attached volume vol1 to domain $G as vbdpool device 0 (2 queues)" <<<"$out" ||
	die "no line for vol1"
[ "$(atts)" = "vol1/$G-0 vol2/$G-1" ] || die "attachments: $(atts)"
fe=/local/domain/$G/device/vbdpool
[ "$(xr $fe/0/volume)" = vol1 ] && [ "$(xr $fe/0/num-queues)" = 2 ] || die "device 0 frontend"
[ "$(xr $fe/1/volume)" = vol2 ] && [ "$(xr $fe/1/num-queues)" = 4 ] || die "device 1 frontend"
[ "$(xr /vbdpool/volumes/vol1/attachments/$G-0/num-queues)" = 2 ] || die "vol1 num-queues"
[ "$(xr /vbdpool/volumes/vol2/attachments/$G-1/num-queues)" = 4 ] || die "vol2 num-queues"
xs0 xenstore-exists /vbdpool/volumes/vol1/attachments/$G-0/queue-1 || die "vol1 queue-1"
xs0 xenstore-exists /vbdpool/volumes/vol1/attachments/$G-0/queue-2 && die "vol1 has queue-2"
xs0 xenstore-exists /vbdpool/volumes/vol2/attachments/$G-1/queue-3 || die "vol2 queue-3"
checked "attach --config"

step "attaching the same file again is refused and changes nothing"
expect_fail "already has vbdpool device" "nothing attached" -- ctl attach --config "$cfg"
[ "$(atts)" = "vol1/$G-0 vol2/$G-1" ] || die "attachments: $(atts)"
# a devid this file names is taken: the other (new) device is not attached
printf 'name = "xlguest"\nvbdpool = [ "volume=vol2,devid=7", "volume=vol1,devid=1" ]\n' >"$bad"
expect_fail "entry #2" "already has vbdpool device 1" "nothing attached" -- \
	ctl attach --config "$bad"
[ "$(atts)" = "vol1/$G-0 vol2/$G-1" ] || die "attachments: $(atts)"
checked "refused re-attach"

step "xl unpause; front_verify on device 0 (vol1) in the guest"
"$XENSIM" unpause --dir "$SIM_DIR" "$G" || die "unpause"
rc=0
pool_verify "$G" "$T/verify.log" --devid 0 --ops 3000 --threads 4 || rc=$?
grep -v ' debug: ' "$T/verify.log" | tail -n 5
[ $rc -eq 0 ] || die "front_verify exited $rc"
grep -q '^front_verify: PASS .* errors=0 mismatches=0 ' "$T/verify.log" || die "no PASS line"
checked "front_verify"

step "--domain overrides name= (and a file without name=)"
G2=$(sim_create other --paused sleep 100000) || die "create other"
# a volume of its own: vol1 and vol2 are xlguest's, read-write, not shared
pool_volume vol3 8
noname=$T/noname.cfg
printf 'vbdpool = [ "volume=vol3,queues=1" ]\n' >"$noname"
expect_fail "no name=" -- ctl attach --config "$noname"
out=$(ctl attach --config "$noname" --domain other) || die "attach --domain: $out"
[ "$out" = "attached volume vol3 to domain $G2 as vbdpool device 0 (1 queues)" ] || die "$out"
ctl detach --config "$noname" --domain "$G2" || die "detach --config --domain"
[ "$(atts)" = "vol1/$G-0 vol2/$G-1" ] || die "attachments: $(atts)"
checked "--domain"

step "detach --config: both (device 1 connected: Closing -> Closed hand-shake)"
expect_fail "--devid is set per device" -- ctl detach --config "$cfg" --devid 0
sim_exec "$G" xenstore-write $fe/1/state 4 || die "frontend state 4"
# the guest's side of the hand-shake: Closed once asked to close
(
	for _ in $(seq 600); do
		[ "$(sim_exec "$G" xenstore-read $fe/1/state 2>/dev/null)" = 5 ] && break
		sleep 0.05
	done
	sim_exec "$G" xenstore-write $fe/1/state 6
) &
closer=$!
out=$(ctl detach --config "$cfg" --timeout 60) || die "detach --config: $out"
wait $closer
echo "$out"
grep -qx "detached volume vol1 from domain $G (device 0)" <<<"$out" || die "no line for vol1"
grep -qx "detached volume vol2 from domain $G (device 1)" <<<"$out" || die "no line for vol2"
[ "$(atts)" = "" ] || die "attachments left: $(atts)"
xs0 xenstore-exists $fe/0 && die "frontend 0 left"
xs0 xenstore-exists $fe/1 && die "frontend 1 left"
checked "detach --config"

step "detach --config again: each device reported, exit 1"
expect_fail "entry #1 (volume vol2): domain $G is not attached to volume 'vol2'" \
	"entry #2 (volume vol1): domain $G has no vbdpool device 0 of volume 'vol1'" -- \
	ctl detach --config "$cfg"
printf 'name = "gone"\nvbdpool = [ "volume=vol1" ]\n' >"$bad"
expect_fail "unknown domain 'gone'" "give --domain DOMID" "nothing detached" -- \
	ctl detach --config "$bad"
checked "second detach"
echo PASS
