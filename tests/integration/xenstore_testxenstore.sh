#!/usr/bin/env bash
# The emulator's XenStore against outside clients: Xen's own test program
# (test-xenstore: all tests, then a random run of XS_RANDOM_SECS, default 30)
# as dom0, and the Debian xenstore-* tools as dom0 and as a domU.
# Runs on the emulated host (xensim start / create / exec) in a private
# temp dir; without the xensim binary (or with XS_SERVER=standalone) it
# serves the XenStore alone with tests/progs/xs_standalone.  Stops only what
# it started.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${VBD_BUILD:-$top/build}
xensim=$build/bin/xensim
standalone=$build/tests/progs/xs_standalone
tx=/usr/lib/xen-4.17/bin/test-xenstore
secs=${XS_RANDOM_SECS:-30}

[ -x "$tx" ] || { echo "skip: $tx not installed (xen-utils-4.17)"; exit 77; }
command -v xenstore-read >/dev/null || { echo "skip: xenstore-utils not installed"; exit 77; }

d=$(mktemp -d /tmp/xs_integ.XXXXXX)
pid= mode= domu=
cleanup() {
	if [ "$mode" = xensim ]; then
		"$xensim" stop --dir "$d/sim" >/dev/null 2>&1
	elif [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$d"
}
trap cleanup EXIT

if [ "${XS_SERVER:-}" != standalone ] && [ -x "$xensim" ] &&
	"$xensim" start --dir "$d/sim" >"$d/start.log" 2>&1; then
	mode=xensim
	domu=$("$xensim" create --dir "$d/sim" --name xsu -- sleep 600) ||
		{ echo "xensim create failed"; exit 1; }
	dom0() { "$xensim" exec --dir "$d/sim" --domid 0 -- "$@"; }
	du() { "$xensim" exec --dir "$d/sim" --domid "$domu" -- "$@"; }
	alive() { "$xensim" list --dir "$d/sim" >/dev/null 2>&1; }
else
	[ -x "$standalone" ] || { echo "neither $xensim nor $standalone built"; exit 1; }
	mode=standalone domu=5
	"$standalone" "$d/xs0" "5:$d/xs5" >"$d/out" 2>"$d/err" &
	pid=$!
	for _ in $(seq 100); do
		grep -q ready "$d/out" 2>/dev/null && break
		sleep 0.05
	done
	grep -q ready "$d/out" || { echo "server did not start"; cat "$d/err"; exit 1; }
	dom0() { XENSTORED_PATH=$d/xs0 "$@"; }
	du() { XENSTORED_PATH=$d/xs5 "$@"; }
	alive() { kill -0 "$pid" 2>/dev/null; }
fi
echo "XenStore served by $mode; domU is dom$domu"

failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() { echo "ok: $*"; }

echo "== test-xenstore (all tests)"
if dom0 "$tx"; then ok "test-xenstore"; else fail "test-xenstore rc=$?"; fi
echo "== test-xenstore -r $secs"
if dom0 "$tx" -r "$secs"; then ok "test-xenstore -r $secs"; else fail "test-xenstore -r $secs rc=$?"; fi
dom0 xenstore-exists /local/domain/0/xenstore-test && fail "test-xenstore left nodes" ||
	ok "test-xenstore cleaned up"

echo "== xenstore-* tools"
dom0 xenstore-write /t/a hello /t/b world || fail "xenstore-write"
[ "$(dom0 xenstore-read /t/a)" = hello ] && ok read || fail "read /t/a"
[ "$(dom0 xenstore-list /t)" = "$(printf 'a\nb')" ] && ok list || fail "list: $(dom0 xenstore-list /t)"
[ "$(dom0 xenstore-ls /t)" = "$(printf 'a = "hello"\nb = "world"')" ] && ok ls ||
	fail "ls: $(dom0 xenstore-ls /t)"
dom0 xenstore-exists /t/a && ok exists || fail exists
dom0 xenstore-exists /t/zz && fail "exists /t/zz" || ok "not exists"
dom0 xenstore-chmod /t/a n0 "r$domu" || fail chmod
case "$(dom0 xenstore-ls -p /t)" in *"(n0,r$domu)"*) ok "ls -p" ;; *) fail "ls -p: $(dom0 xenstore-ls -p /t)" ;; esac
[ "$(du xenstore-read /t/a)" = hello ] && ok "domU reads an r$domu node" || fail "domU read /t/a"
du xenstore-read /t/b 2>/dev/null && fail "domU read an n0 node" || ok "domU read denied"
du xenstore-write /t/a x 2>/dev/null && fail "domU wrote an r node" || ok "domU write denied"
[ "$(du xenstore-read domid)" = "$domu" ] && ok "domU relative path" || fail "domU domid"
du xenstore-ls / >/dev/null 2>&1 && fail "domU listed /" || ok "domU cannot list /"

dom0 timeout 5 xenstore-watch -n 3 /t/w >"$d/watch" 2>&1 &
wpid=$!
sleep 0.5
dom0 xenstore-write /t/w 1
dom0 xenstore-write /t/w/c 2
wait "$wpid"
[ "$(cat "$d/watch")" = "$(printf '/t/w\n/t/w\n/t/w/c')" ] && ok watch ||
	fail "watch: $(cat "$d/watch")"

dom0 xenstore-rm /t || fail rm
dom0 xenstore-read /t/a 2>/dev/null && fail "read after rm" || ok "rm"
alive && ok "server alive" || fail "server died"

echo "$failed failed"
[ "$failed" -eq 0 ]
