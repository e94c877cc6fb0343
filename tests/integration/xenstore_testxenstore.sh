#!/usr/bin/env bash
# The emulator's XenStore against outside clients: Xen's own test program
# (test-xenstore: all tests, then a random run of XS_RANDOM_SECS, default 30)
# as dom0, and the Debian xenstore-* tools as dom0 and as a domU.
# Serves with tests/progs/xs_standalone (the XenStore server alone) in a
# private temp dir; stops only the PID it started.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${VBD_BUILD:-$top/build}
srv=$build/tests/progs/xs_standalone
tx=/usr/lib/xen-4.17/bin/test-xenstore
secs=${XS_RANDOM_SECS:-30}

[ -x "$tx" ] || { echo "skip: $tx not installed (xen-utils-4.17)"; exit 77; }
command -v xenstore-read >/dev/null || { echo "skip: xenstore-utils not installed"; exit 77; }
[ -x "$srv" ] || { echo "missing $srv (make)"; exit 1; }

d=$(mktemp -d /tmp/xs_integ.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$d"
}
trap cleanup EXIT

"$srv" "$d/xs0" "5:$d/xs5" >"$d/out" 2>"$d/err" &
pid=$!
for _ in $(seq 100); do
	grep -q ready "$d/out" 2>/dev/null && break
	sleep 0.05
done
grep -q ready "$d/out" || { echo "server did not start"; cat "$d/err"; exit 1; }

export XENSTORED_PATH=$d/xs0
u5() { XENSTORED_PATH=$d/xs5 "$@"; }
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() { echo "ok: $*"; }

echo "== test-xenstore (all tests)"
if "$tx"; then ok "test-xenstore"; else fail "test-xenstore rc=$?"; fi
echo "== test-xenstore -r $secs"
if "$tx" -r "$secs"; then ok "test-xenstore -r $secs"; else fail "test-xenstore -r $secs rc=$?"; fi
[ "$(xenstore-list /local/domain/0)" = "$(printf 'domid\nname')" ] &&
	ok "test-xenstore cleaned up" || fail "leftovers: $(xenstore-ls /local/domain/0)"

echo "== xenstore-* tools"
xenstore-write /t/a hello /t/b world || fail "xenstore-write"
[ "$(xenstore-read /t/a)" = hello ] && ok read || fail "read /t/a"
[ "$(xenstore-list /t)" = "$(printf 'a\nb')" ] && ok list || fail "list: $(xenstore-list /t)"
[ "$(xenstore-ls /t)" = "$(printf 'a = "hello"\nb = "world"')" ] && ok ls || fail "ls: $(xenstore-ls /t)"
xenstore-exists /t/a && ok exists || fail exists
xenstore-exists /t/zz && fail "exists /t/zz" || ok "not exists"
xenstore-chmod /t/a n0 r5 || fail chmod
case "$(xenstore-ls -p /t)" in *'(n0,r5)'*) ok "ls -p" ;; *) fail "ls -p: $(xenstore-ls -p /t)" ;; esac
[ "$(u5 xenstore-read /t/a)" = hello ] && ok "domU reads r5 node" || fail "domU read /t/a"
u5 xenstore-read /t/b 2>/dev/null && fail "domU read n0 node" || ok "domU denied"
u5 xenstore-write /t/a x 2>/dev/null && fail "domU write r5 node" || ok "domU write denied"
[ "$(u5 xenstore-read domid)" = 5 ] && ok "domU relative path" || fail "domU domid"

timeout 5 xenstore-watch -n 3 /t/w >"$d/watch" 2>&1 &
wpid=$!
sleep 0.3
xenstore-write /t/w 1
xenstore-write /t/w/c 2
wait "$wpid"
[ "$(cat "$d/watch")" = "$(printf '/t/w\n/t/w\n/t/w/c')" ] && ok watch ||
	fail "watch: $(cat "$d/watch")"

xenstore-rm /t || fail rm
xenstore-read /t/a 2>/dev/null && fail "read after rm" || ok "rm"
kill -0 "$pid" 2>/dev/null && ok "server alive" || fail "server died"

echo "$failed failed"
[ "$failed" -eq 0 ]
