#!/bin/sh
# Integration: `hvbench run` on the native target end to end — results.json holds disk, net, mem
# and cpu metrics with the requested number of samples and CIs, the CLI's exit codes hold, a
# bad profile starts nothing, and Ctrl-C mid-run writes a valid "incomplete" file and leaves no
# fio behind.
set -u
BIN=${HB_BIN:-build/hvbench}
T=$(mktemp -d /tmp/hb-it-native.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
. tests/lib.sh

# 1. usage and profile errors exit 2, naming the problem
$BIN run >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "run without a profile should exit 2"
grep -q "needs exactly one PROFILE" "$T/err" || fail "missing usage message: $(cat "$T/err")"
printf '{"targets":[{"name":"n","kind":"native"}],"workloads":[{"workload":"cpu","parms":{}}]}' >"$T/bad.json"
$BIN run "$T/bad.json" -o "$T/bad" 2>"$T/err"; [ $? -eq 2 ] || fail "bad profile should exit 2"
grep -q 'unknown key "parms" (did you mean "params"?)' "$T/err" || fail "bad message: $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "an invalid profile must not start a run"
$BIN run configs/quick.json --reps 0 2>"$T/err"; [ $? -eq 2 ] || fail "--reps 0 should exit 2"
$BIN --version | grep -q '^hvbench ' || fail "--version"
$BIN run --help | grep -q -- '--duration' || fail "run --help"

# 2. the issue's acceptance run: native, 3 reps, 2 s
$BIN run configs/quick.json --targets native --reps 3 --warmup 0 --duration 2 -q -o "$T/r1" 2>"$T/log"
rc=$?
cat "$T/log"
[ $rc -eq 0 ] || fail "quick native run exited $rc"
python3 - "$T/r1/results.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema"] == "hvbench/result/2", r["schema"]
assert r["status"] == "complete", r["status"]
assert [t["name"] for t in r["targets"]] == ["native"]
kinds = {x["kind"] for x in r["results"]}
for k in ("disk", "net", "mem", "cpu"):
    assert k in kinds, "no %s results: %s" % (k, sorted(kinds))
want = {("disk-randread", "iops"), ("net-send", "throughput"), ("mem", "copy_bw"), ("cpu", "ops")}
have = {(x["workload"], x["metric"]) for x in r["results"]}
assert want <= have, want - have
for x in r["results"]:
    if x["metric"].startswith(("proc.", "pfm.", "kvmstat.", "tax.")):
        continue
    assert x["n"] == 3 and len(x["samples"]) == 3, (x["workload"], x["metric"], x["samples"])
    lo, hi = x["ci95"]
    assert lo <= x["median"] <= hi, (x["metric"], lo, x["median"], hi)
    assert min(x["samples"]) <= lo and hi <= max(x["samples"])
    assert isinstance(x["higher_is_better"], bool) and x["unit"]
assert r["failures"] == []
print("results ok:", len(r["results"]), "series")
PY

# 3. Ctrl-C mid-run: exit 4, valid incomplete results, no fio left
$BIN run configs/quick.json --targets native --reps 5 --warmup 0 --duration 1 -q -o "$T/r2" 2>"$T/log2" &
pid=$!
sleep 5
kill -INT $pid
wait $pid
rc=$?
cat "$T/log2"
[ $rc -eq 4 ] || fail "interrupted run should exit 4, got $rc"
python3 -c "
import json,sys
r=json.load(open('$T/r2/results.json'))
assert r['status']=='incomplete', r['status']
assert len(r['results'])>0, 'nothing measured'
assert all(x['n']>=1 for x in r['results'])
" || fail "interrupted results"
ls "$T/r2" | grep -q tmp && fail "temporary file left in results dir"
sleep 0.5
left=$(hb_leftovers)
[ -z "$left" ] || fail "processes survived the interrupted run: $left"
grep -q "scratch_dir" "$T/r2/results.json" || fail "no scratch_dir recorded"
sd=$(python3 -c "import json;print(json.load(open('$T/r2/results.json'))['targets'][0]['info']['scratch_dir'])")
[ ! -e "$sd" ] || fail "scratch directory $sd left behind"
echo "native integration ok"
exit 0
