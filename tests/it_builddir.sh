#!/bin/sh
# Integration: the guest image is found from any working directory (next to the hvbench
# executable, or $HVBENCH_BUILD, or --build), and when it is missing the message says where
# it looked and how to point at it. QEMU is a stand-in (/bin/false): no VM boots here.
set -u
BIN=$(realpath "${HB_BIN:-build/hvbench}")
T=$(mktemp -d /tmp/hb-it-builddir.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
. tests/lib.sh
BDIR=$(dirname "$BIN")
# the image next to the executable (make guest's cache: quick when it is built already)
sh tools/mkguest.sh "$BDIR" >/dev/null
rc=$?
[ $rc -eq 2 ] && { echo "SKIP: guest image cannot be built (no kernel package)"; exit 77; }
[ $rc -eq 0 ] || fail "mkguest.sh exited $rc"
[ -r "$BDIR/guest/vmlinux" ] || fail "no guest image next to $BIN after mkguest"

cat >"$T/p.json" <<'JSON'
{"name": "builddir", "repetitions": 1, "warmup": 0, "duration": 0.2, "ramp": 0,
 "targets": [{"name": "vm", "kind": "qemu", "options": {"qemu": "/bin/false", "accel": "tcg", "net": "none", "disk_size": "16M"}}],
 "workloads": [{"name": "cpu", "workload": "cpu"}]}
JSON
cd "$T" || fail "cd"
# 1. from another directory, the default finds the image next to the executable: QEMU runs
unset HVBENCH_BUILD
"$BIN" run p.json -q --no-report -o r1 2>e1
grep -q "guest image not found" e1 && fail "default build dir not found from $T: $(cat e1)"
grep -q "vm" e1 || fail "expected the stand-in QEMU's failure: $(cat e1)"
# 2. HVBENCH_BUILD names where to look, and the message says so
HVBENCH_BUILD="$T/nowhere" "$BIN" run p.json -q --no-report -o r2 2>e2
grep -q "looked for $T/nowhere/guest/vmlinux" e2 || fail "message: $(cat e2)"
grep -q "HVBENCH_BUILD" e2 || fail "message does not say how to point at it: $(cat e2)"
# 3. --build wins over the environment
HVBENCH_BUILD="$T/nowhere" "$BIN" run p.json -q --no-report --build "$BDIR" -o r3 2>e3
grep -q "guest image not found" e3 && fail "--build ignored: $(cat e3)"
echo "ok"
