#!/usr/bin/env bash
# One storage backs one volume: `vbdpoolctl volume create` records the
# storage identity (storage-id, storage-size) and refuses, naming the other
# volume, a second volume on storage a volume already uses, by any path: the
# same path, a symlink, a hard link, a `..` path, a loop device over the
# file (skipped where losetup cannot set one up); --force-shared-storage
# allows it. A different file is accepted; removing the volume frees its
# storage. --id-by-consensus needs no storage in dom0 (but --size) and
# records storage-id `consensus`; schema-check accepts the tree.
set -u
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
T=$POOL_DIR

# expect_fail WHAT-IN-OUTPUT CMD...: the command fails and says WHAT
expect_fail() {
	local want=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -ne 0 ] || die "'$*' succeeded; expected an error mentioning '$want'"
	[[ $out == *"$want"* ]] || die "'$*' said '$out'; expected '$want'"
	echo "ok: refused: $out"
}
rd() { xs0 xenstore-read "/vbdpool/volumes/$1/$2"; }

truncate -s 16M "$T/a.img" "$T/b.img"
mkdir -p "$T/sub"
ln -s "$T/a.img" "$T/link.img"
ln "$T/a.img" "$T/hard.img"

ctl volume create v1 --backing "$T/a.img" || die "volume create v1"
sid=$(rd v1 storage-id) || die "no storage-id recorded"
ino=$(stat -c %i "$T/a.img")
[[ $sid == file:*":ino=$ino" ]] || die "storage-id '$sid' does not name inode $ino"
[ "$(rd v1 storage-size)" = 16777216 ] || die "storage-size $(rd v1 storage-size)"

expect_fail "volume 'v1'" ctl volume create v2 --backing "$T/a.img"
expect_fail "volume 'v1'" ctl volume create v2 --backing "$T/link.img"
expect_fail "volume 'v1'" ctl volume create v2 --backing "$T/hard.img"
expect_fail "volume 'v1'" ctl volume create v2 --backing "$T/sub/../a.img"
expect_fail "volume 'v1'" ctl volume create v2 --backing "$T/hard.img" --size 1M
expect_fail "force-shared-storage" ctl volume create v2 --backing "$T/link.img"
xs0 xenstore-exists /vbdpool/volumes/v2 && die "a refused create left volume v2 behind"
# the id is checked first, as before
expect_fail "already exists" ctl volume create v1 --backing "$T/b.img"

ctl volume create v2 --backing "$T/b.img" >/dev/null || die "a different file was refused"
[ "$(rd v2 storage-id)" != "$sid" ] || die "two files, one storage-id"
ctl volume create v3 --backing "$T/hard.img" --force-shared-storage >/dev/null ||
	die "--force-shared-storage refused"
[ "$(rd v3 storage-id)" = "$sid" ] || die "v3 (hard link) storage-id $(rd v3 storage-id), want $sid"
ctl volume remove v3 >/dev/null || die "remove v3"
ctl volume remove v1 >/dev/null || die "remove v1"
ctl volume create v1b --backing "$T/link.img" >/dev/null || die "storage not freed by volume remove"

# a loop device over a file is that file's storage
if command -v losetup >/dev/null && truncate -s 8M "$T/c.img" &&
	loopdev=$(losetup -f --show "$T/c.img" 2>/dev/null); then
	POOL_ON_EXIT='losetup -d "$loopdev" 2>/dev/null'
	ctl volume create vl --backing "$loopdev" >/dev/null || die "volume on $loopdev"
	pool_log "loop device $loopdev: storage-id $(rd vl storage-id)"
	expect_fail "volume 'vl'" ctl volume create vl2 --backing "$T/c.img"
	expect_fail "volume 'vl'" ctl volume create vl2 --backing "$loopdev"
	ln -s "$loopdev" "$T/loop.lnk"
	expect_fail "volume 'vl'" ctl volume create vl2 --backing "$T/loop.lnk"
else
	echo "loop device part skipped: cannot set up a loop device"
fi

# consensus: dom0 need not see the storage, then --size says how big
expect_fail "give --size" ctl volume create vc --id-by-consensus --backing "$T/nowhere/c.img"
expect_fail "id-by-consensus" ctl volume create vc --backing "$T/nowhere/c.img" --size 8M
ctl volume create vc --id-by-consensus --backing "$T/nowhere/c.img" --size 8M >/dev/null ||
	die "consensus create"
[ "$(rd vc storage-id)" = consensus ] || die "consensus storage-id '$(rd vc storage-id)'"
[ -z "$(rd vc storage-consensus)" ] || die "storage-consensus not empty at create"
xs0 xenstore-exists /vbdpool/volumes/vc/storage-size && die "consensus volume has a storage-size"
expect_fail "volume 'vc'" ctl volume create vc2 --id-by-consensus --backing "$T/nowhere/c.img" \
	--size 8M
# where dom0 does see it, a consensus volume is still one volume per storage
expect_fail "volume 'v2'" ctl volume create vc3 --id-by-consensus --backing "$T/b.img"

ctl schema-check >"$T/schema.out" 2>&1 || die "schema-check: $(cat "$T/schema.out")"
echo PASS
