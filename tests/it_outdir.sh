#!/bin/sh
# Integration: one -o directory, one run. A second run into a directory another run is writing
# (its lock held) is refused and changes nothing; so is a directory holding an earlier run's
# results.json, unless --force.
set -u
BIN=${HB_BIN:-build/hvbench}
T=$(mktemp -d /tmp/hb-it-outdir.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
. tests/lib.sh

cat >"$T/p.json" <<'JSON'
{"name": "outdir", "repetitions": 1, "warmup": 0, "duration": 0.2, "ramp": 0,
 "targets": [{"name": "native", "kind": "native"}],
 "workloads": [{"name": "cpu", "workload": "cpu"}]}
JSON
$BIN run "$T/p.json" -q --no-report -o "$T/out" 2>"$T/log" || fail "first run: $(cat "$T/log")"
sum1=$(cksum <"$T/out/results.json")

# 1. a directory with results: refused (exit 2), results untouched
$BIN run "$T/p.json" -q --no-report -o "$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] || fail "second run into the same -o exited $rc, wanted 2"
grep -q "already holds the results of another run" "$T/err" || fail "message: $(cat "$T/err")"
[ "$(cksum <"$T/out/results.json")" = "$sum1" ] || fail "the first run's results.json changed"

# 2. the lock held (as by a run in progress): refused even with --force
flock "$T/out/.hvbench.lock" $BIN run "$T/p.json" -q --no-report --force -o "$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] || fail "run into a locked directory exited $rc, wanted 2"
grep -q "in use by another hvbench run" "$T/err" || fail "message: $(cat "$T/err")"
[ "$(cksum <"$T/out/results.json")" = "$sum1" ] || fail "results.json changed under the lock"

# 3. --force replaces the earlier results
$BIN run "$T/p.json" -q --no-report --force -o "$T/out" 2>"$T/err" || fail "--force: $(cat "$T/err")"
[ "$(cksum <"$T/out/results.json")" != "$sum1" ] || fail "--force did not replace results.json"
[ -z "$(hb_leftovers)" ] || fail "processes left: $(hb_leftovers)"
echo "ok"
