#!/usr/bin/env bash
# `make install DESTDIR=...` (install/module.mk): every file in its place and
# nothing else (no xensim), the library's link chain, SONAME and exported
# symbols (exactly the functions of front.h), --version, man pages that
# render without warnings, units with the restart policy (and clean for
# `systemd-analyze verify` where it exists), a program built with
# `pkg-config --cflags --libs vbdpool-front` against the installed tree that
# runs in an emulated guest (vbd_front_open: -ENOENT, no such device), the
# EnvironmentFiles kept when changed, and `make uninstall` removing the rest.
set -u
. "$VBD_TOP/tests/lib/sim.sh"
fail() { echo "FAIL: $*"; exit 1; }
command -v help2man >/dev/null || { echo "help2man missing (make deps)"; exit 77; }
sim_start vbdinstall || exit 1
root=$SIM_TMP/root
rel=$(realpath --relative-to="$VBD_TOP" "$VBD_BUILD")
# a clean make: no jobserver or variables of a calling make
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$VBD_TOP" \
	BUILD="$rel" ${VBD_SAN:+SAN=1} DESTDIR="$root" "$@" >>"$SIM_TMP/make.log" 2>&1 ||
	{ tail -n 20 "$SIM_TMP/make.log"; fail "make $*"; }; }
mk install
version=$(sed -n 's/^#define VBDPOOL_VERSION "\(.*\)"$/\1/p' "$VBD_TOP/common/include/vbdpool/version.h")
[ -n "$version" ] || fail "no VBDPOOL_VERSION in version.h"

# the real file's minor is the newest version node of the map
minor=$(sed -n 's/^VBDPOOL_FRONT_0\.\([0-9][0-9]*\) {.*/\1/p' "$VBD_TOP/frontend/libvbdpool-front.map" | sort -n | tail -n 1)
[ -n "$minor" ] || fail "no version node VBDPOOL_FRONT_0.N in libvbdpool-front.map"
real=libvbdpool-front.so.0.$minor.0

# --- the layout: exactly these files and links --------------------------
P=usr/local
progs="vbdpoolctl vbdpool-backd vbdpool-supervisor vbdpool-nbd vbdpool-guestd"
expect=$( {
	for p in $progs; do echo "$P/sbin/$p"; echo "$P/share/man/man8/$p.8"; done
	echo $P/lib/$real
	echo $P/lib/libvbdpool-front.so.0
	echo $P/lib/libvbdpool-front.so
	echo $P/lib/pkgconfig/vbdpool-front.pc
	echo $P/include/vbdpool/front.h
	echo $P/include/vbdpool/io_op.h
	echo $P/lib/systemd/system/vbdpool-supervisor.service
	echo $P/lib/systemd/system/vbdpool-backd.service
	echo $P/lib/systemd/system/vbdpool-guestd.service
	echo etc/default/vbdpool-supervisor
	echo etc/default/vbdpool-backd
	echo etc/default/vbdpool-guestd
} | sort)
got=$(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
[ "$got" = "$expect" ] || fail "installed files differ:$(diff <(echo "$expect") <(echo "$got"))"
for p in $progs; do
	[ -x "$root/$P/sbin/$p" ] || fail "$p not executable"
	out=$("$root/$P/sbin/$p" --version) || fail "$p --version failed"
	[ "$out" = "$p (vbdpool) $version" ] || fail "$p --version: '$out'"
done

# --- the library ----------------------------------------------------------
lib=$root/$P/lib
[ "$(readlink "$lib/libvbdpool-front.so")" = libvbdpool-front.so.0 ] || fail ".so link"
[ "$(readlink "$lib/libvbdpool-front.so.0")" = "$real" ] || fail ".so.0 link"
[ -f "$lib/$real" ] && [ ! -L "$lib/$real" ] || fail "the real file is not $real"
soname=$(readelf -d "$lib/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libvbdpool-front.so.0 ] || fail "SONAME '$soname'"
api=$(grep -oE '\bvbd_front_[a-z_]+\(' "$root/$P/include/vbdpool/front.h" | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$lib/$real" | awk '$2 ~ /^[TDBRVW]$/ { sub(/@.*/, "", $3); print $3 }' | sort -u)
[ "$api" = "$exported" ] || fail "exported symbols are not front.h's API:$(diff <(echo "$api") <(echo "$exported"))"
echo "exports the $(echo "$api" | wc -l) functions of front.h, SONAME $soname, file $real"

# --- a program built against the installed tree with pkg-config ------------
# only the installed tree's .pc (not exported: the reinstall below runs make)
pc() { PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@"; }
[ "$(pc --modversion vbdpool-front)" = "$version" ] || fail "pkg-config --modversion"
flags=$(pc --cflags --libs vbdpool-front) || fail "pkg-config vbdpool-front"
echo "pkg-config: $flags"
cat >"$SIM_TMP/user.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vbdpool/front.h>

int main(void)
{
	struct vbd_front_opts o;
	struct vbd_front *f = NULL;
	int r;

	vbd_front_opts_init(&o, 7);
	r = vbd_front_open(&o, &f);
	printf("vbd_front_open(devid 7): %d (%s)\n", r, strerror(-r));
	return r == -ENOENT ? 0 : 1;
}
EOF
# shellcheck disable=SC2086 # $flags are words
cc -std=c11 -Wall -Wextra -Werror -pedantic "$SIM_TMP/user.c" $flags -o "$SIM_TMP/user" ||
	fail "a program does not build against the installed header and .pc"
readelf -d "$SIM_TMP/user" | grep -q 'NEEDED.*\[libvbdpool-front\.so\.0\]' ||
	fail "the program does not link the shared library"
d=$(sim_create guest sleep 1000000) || fail "create guest"
out=$(sim_exec "$d" env LD_LIBRARY_PATH="$lib" "$SIM_TMP/user" 2>&1) ||
	fail "the program in the guest: $out"
echo "$out"

# --- man pages --------------------------------------------------------------
for p in $progs; do
	m=$root/$P/share/man/man8/$p.8
	w=$(groff -man -Tutf8 -ww -z "$m" 2>&1)
	[ -z "$w" ] || fail "$p.8: groff warnings: $w"
	txt=$(MANWIDTH=100 man -l "$m" 2>&1) || fail "man -l $p.8"
	grep -q "^NAME" <<<"$txt" && grep -q "^DESCRIPTION" <<<"$txt" && grep -q "^EXAMPLES" <<<"$txt" ||
		fail "$p.8 lacks NAME/DESCRIPTION/EXAMPLES"
	grep -q -- "--help" <<<"$txt" || fail "$p.8 does not hold the --help text"
	grep -q "vbdpool $version" <<<"$txt" || fail "$p.8 does not name version $version"
done
MANWIDTH=100 man -l "$root/$P/share/man/man8/vbdpool-backd.8" | grep -q /etc/default/vbdpool-backd ||
	fail "vbdpool-backd.8 does not name its EnvironmentFile"

# --- systemd units ------------------------------------------------------------
u=$root/$P/lib/systemd/system
key() { sed -n "s/^$2=//p" "$u/$1"; }
for s in vbdpool-backd vbdpool-supervisor vbdpool-guestd; do
	[ "$(key $s.service ExecStart)" = "/$P/sbin/$s \$$(tr a-z- A-Z_ <<<"$s")_ARGS" ] ||
		fail "$s.service ExecStart: $(key $s.service ExecStart)"
	[ "$(key $s.service EnvironmentFile)" = "-/etc/default/$s" ] || fail "$s.service EnvironmentFile"
	[ "$(key $s.service Restart)" = on-failure ] || fail "$s.service Restart"
	grep -q "^$(tr a-z- A-Z_ <<<"$s")_ARGS=" "$root/etc/default/$s" || fail "/etc/default/$s"
done
# exit 3: the member was fenced; systemd must not start it again
grep -qw 3 <<<"$(key vbdpool-backd.service RestartPreventExitStatus)" ||
	fail "vbdpool-backd.service restarts a fenced member (RestartPreventExitStatus)"
# the exports outlive a restart of the guest agent (it adopts them)
[ "$(key vbdpool-guestd.service KillMode)" = process ] || fail "vbdpool-guestd.service KillMode"
if command -v systemd-analyze >/dev/null; then
	# verify the units as installed, their programs found under DESTDIR
	mkdir -p "$SIM_TMP/units"
	for f in "$u"/*.service; do
		sed "s|=/$P/sbin/|=$root/$P/sbin/|" "$f" >"$SIM_TMP/units/${f##*/}"
	done
	v=$(systemd-analyze verify --man=no "$SIM_TMP"/units/*.service 2>&1) || fail "systemd-analyze verify: $v"
	[ -z "$v" ] || fail "systemd-analyze verify: $v"
	echo "systemd-analyze verify: clean"
else
	echo "systemd-analyze not installed: units not verified"
fi

# --- reinstall keeps a changed EnvironmentFile; uninstall removes the rest --
echo 'VBDPOOL_BACKD_ARGS="--volume vol1"' >"$root/etc/default/vbdpool-backd"
mk install
grep -q 'volume vol1' "$root/etc/default/vbdpool-backd" || fail "install overwrote /etc/default/vbdpool-backd"
mk uninstall
left=$(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./||')
[ "$left" = etc/default/vbdpool-backd ] || fail "after uninstall: $left"
echo "install layout ok"
