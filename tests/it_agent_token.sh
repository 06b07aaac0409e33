#!/bin/sh
# Integration: the guest agent refuses to serve TCP with a weak token (short, or a token file
# others can read), as the host refuses to use one; it names the cause and exits 2.
set -u
GBIN=${HB_GUEST_BIN:-build/hvbench-guest}
T=$(mktemp -d /tmp/hb-it-token.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
. tests/lib.sh
printf 'short\n' >"$T/short"; chmod 600 "$T/short"
timeout 10 "$GBIN" --tcp 127.0.0.1:0 --token-file "$T/short" 2>"$T/e1"; rc=$?
[ $rc -eq 2 ] || fail "short token: exit $rc, want 2"
grep -q "is short (5 characters): refused" "$T/e1" || fail "message: $(cat "$T/e1")"
printf 'a-long-enough-token-0123456789\n' >"$T/open"; chmod 644 "$T/open"
timeout 10 "$GBIN" --tcp 0.0.0.0:0 --token-file "$T/open" 2>"$T/e2"; rc=$?
[ $rc -eq 2 ] || fail "world-readable token: exit $rc, want 2"
grep -q "readable by group or others (mode 644): refused" "$T/e2" || fail "message: $(cat "$T/e2")"
echo "ok"
