#!/usr/bin/env bash
# `vbdpoolctl member remove` of a member whose domain is gone: its own
# nodes (members/<m>) went with it, as C xenstored 4.17 removes a destroyed
# domain's nodes, but dom0's nodes still grant it access (no supervisor
# here to revoke them).  schema-check flags the stale grants; member remove
# revokes them and says so; a second remove is refused.
set -u
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume v 64
pool_member v
m1=$LAST_DOMID
pool_member v
for _ in $(seq 100); do
	[ "$(xs0 xenstore-read "/vbdpool/volumes/v/members/$m1/state" 2>/dev/null)" = active ] && break
	sleep 0.1
done
"$XENSIM" destroy --dir "$SIM_DIR" "$m1" || die "destroy $m1"
for _ in $(seq 100); do xs0 xenstore-exists "/vbdpool/volumes/v/members/$m1" || break; sleep 0.1; done
xs0 xenstore-exists "/vbdpool/volumes/v/members/$m1" && die "members/$m1 still there after its domain died"
ctl schema-check >"$POOL_DIR/s1.out" 2>&1 && die "schema-check passed with stale grants to $m1"
grep -qE "r$m1" "$POOL_DIR/s1.out" || die "schema-check did not name the stale grant: $(cat "$POOL_DIR/s1.out")"
out=$(ctl member remove v "$m1") || die "member remove of the dead member failed: $out"
[[ $out == *"revoked the grants of domain $m1"* ]] || die "unexpected output: $out"
pool_wait_revoked "$m1" || die "grants of $m1 still there: $(xs0 xenstore-ls -p /vbdpool)"
ctl schema-check >"$POOL_DIR/s2.out" 2>&1 || die "schema-check after the remove: $(cat "$POOL_DIR/s2.out")"
ctl member remove v "$m1" >"$POOL_DIR/r2.out" 2>&1 && die "a second remove succeeded"
grep -q "not a member" "$POOL_DIR/r2.out" || die "second remove: $(cat "$POOL_DIR/r2.out")"
echo PASS
