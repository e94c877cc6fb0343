#!/usr/bin/env bash
# vbdpoolctl attach's safety rules on the emulated host (no member runs:
# attach only writes XenStore).  As xl refuses a disk attached read-write
# to two guests: a second guest's attachment is refused when either side
# is read-write, unless both were made --shared (shared=1 in an xl
# config); read-only attachments (--read-only, mode=r) share freely.  The
# refusal names the other guest and leaves nothing behind.  The mode is
# in the attachment (dom0's: the guest cannot write it) and, for the
# guest, in its frontend directory; schema-check passes after each step
# and reports a frontend mode that disagrees with the attachment's.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init ctl-attach-safety
T=$POOL_DIR

step() { pool_log "--- $*"; }
checked() {
	ctl schema-check >"$T/check.out" 2>&1 || { cat "$T/check.out"; die "schema-check after: $*"; }
}
expect_fail() { pool_expect_fail "$@"; }
ok() { "$@" >/dev/null || die "'$*' failed"; echo "ok (attached): $*"; }
xr() { xs0 xenstore-read "$@"; }
# the attachments of VOL, e.g. "5-0 6-0"
atts() { xs0 xenstore-list "/vbdpool/volumes/$1/attachments" | sort | tr '\n' ' ' | sed 's/ $//'; }

for v in vol1 vol2 vol3 vol4; do pool_volume $v 8; done
member=$(pool_domain back1) || die "create back1"
ctl member add vol1 "$member" >/dev/null || die "member add"
g1=$(pool_domain ga) && g2=$(pool_domain gb) && g3=$(pool_domain gc) || die "create guests"

step "read-write in one guest: a second guest is refused, whatever it asks"
ok ctl attach ga vol1 --devid 0
att=/vbdpool/volumes/vol1/attachments/$g1-0
[ "$(xr $att/mode)" = w ] && [ "$(xr $att/shared)" = 0 ] || die "attachment mode/shared"
[ "$(xr /local/domain/$g1/device/vbdpool/0/mode)" = w ] || die "frontend mode"
for opts in "" "--read-only" "--shared" "--read-only --shared"; do
	# shellcheck disable=SC2086 # opts: words
	expect_fail "volume 'vol1' is attached read-write to domain $g1 (ga, device 0)" \
		"refusing a" "to domain $g2" "--shared" -- ctl attach gb vol1 $opts
done
[ "$(atts vol1)" = "$g1-0" ] || die "a refused attach left: $(atts vol1)"
xs0 xenstore-exists "/local/domain/$g2/device/vbdpool/0" && die "a refused attach left a frontend"
checked "refusals"

step "the guest cannot change its attachment's mode; the member reads it"
sim_exec "$g1" xenstore-write $att/mode r 2>/dev/null && die "the guest wrote its attachment's mode"
sim_exec "$g1" xenstore-write $att/shared 1 2>/dev/null && die "the guest wrote its attachment's shared"
[ "$(xr $att/mode)" = w ] && [ "$(xr $att/shared)" = 0 ] || die "attachment mode changed"
[ "$(sim_exec "$member" xenstore-read $att/mode)" = w ] || die "the member cannot read the mode"
[ "$(sim_exec "$g1" xenstore-read $att/mode)" = w ] || die "the guest cannot read its mode"
sim_exec "$member" xenstore-write $att/mode r 2>/dev/null && die "a member wrote the mode"
step "schema-check: a frontend mode that disagrees with the attachment's"
sim_exec "$g1" xenstore-write /local/domain/$g1/device/vbdpool/0/mode r || die "guest write of its copy"
ctl schema-check >"$T/check.out" 2>&1 && { cat "$T/check.out"; die "schema-check passed a wrong frontend mode"; }
cat "$T/check.out"
grep -q "device/vbdpool/0/mode: 'r', the attachment's mode is w" "$T/check.out" ||
	die "mode violation not reported"
sim_exec "$g1" xenstore-write /local/domain/$g1/device/vbdpool/0/mode w || die "guest write back"
checked "mode repaired"
ctl detach ga vol1 >/dev/null || die "detach ga"

step "shared read-write: every attachment must be --shared"
ok ctl attach ga vol2 --shared
ok ctl attach gb vol2 --shared
[ "$(xr /vbdpool/volumes/vol2/attachments/$g2-0/shared)" = 1 ] || die "shared not recorded"
expect_fail "attached read-write (shared) to domain $g1 (ga, device 0)" "refusing a read-write" \
	-- ctl attach gc vol2
expect_fail "attached read-write (shared) to domain $g1" "refusing a read-only attachment" \
	-- ctl attach gc vol2 --read-only
ok ctl attach gc vol2 --read-only --shared
[ "$(xr /vbdpool/volumes/vol2/attachments/$g3-0/mode)" = r ] || die "read-only not recorded"
[ "$(xr /local/domain/$g3/device/vbdpool/0/mode)" = r ] || die "frontend copy of r"
checked "shared"

step "read-only: any number of guests, a read-write one refused unless all are shared"
ok ctl attach ga vol3 --read-only
ok ctl attach gb vol3 --read-only
expect_fail "volume 'vol3' is attached read-only to domain $g1 (ga, device 1)" \
	"refusing a read-write attachment to domain $g3" -- ctl attach gc vol3
expect_fail "attached read-only to domain $g1" "refusing a read-write shared attachment" \
	-- ctl attach gc vol3 --shared
ok ctl attach gc vol3 --read-only
[ "$(atts vol3 | wc -w)" = 3 ] || die "vol3 attachments: $(atts vol3)"
ok ctl attach ga vol4 --read-only --shared
ok ctl attach gb vol4 --shared
checked "read-only"

step "xl config: mode=r / shared=1, and a refused entry attaches nothing"
ctl detach gc vol2 >/dev/null || die "detach gc vol2"
cfg=$T/gc.cfg
printf 'name = "gc"\nvbdpool = [ "volume=vol2, devid=5, access=ro, shared=1" ]\n' >"$cfg"
ok ctl attach --config "$cfg"
[ "$(xr /vbdpool/volumes/vol2/attachments/$g3-5/mode)" = r ] || die "access=ro not recorded"
[ "$(xr /vbdpool/volumes/vol2/attachments/$g3-5/shared)" = 1 ] || die "shared=1 not recorded"
ok ctl attach ga vol1
printf 'name = "gc"\nvbdpool = [ "volume=vol4, devid=6, mode=r, shared=1",\n  "volume=vol1, devid=7, mode=r" ]\n' >"$cfg"
expect_fail "$cfg: vbdpool entry #2 (volume vol1)" "attached read-write to domain $g1 (ga" \
	"nothing attached" -- ctl attach --config "$cfg"
xs0 xenstore-exists "/vbdpool/volumes/vol4/attachments/$g3-6" && die "entry #1 of a refused config stayed"
printf 'name = "gc"\nvbdpool = [ "volume=vol1, mode=x" ]\n' >"$cfg"
expect_fail "bad mode 'x'" "nothing attached" -- ctl attach --config "$cfg"
expect_fail "set per device in the file" -- ctl attach --config "$cfg" --read-only
checked "config"
echo PASS
