#!/bin/sh
# bench.sh — `make bench`: checks hvbench's own measurement chain and its own cost, in one run,
# as ratios (never as a timed unit test: this machine is noisy).
#  1. disk, net, netrr and noise figures against the fio, iperf3, sockperf and oslat CLIs
#     running the same job (crosscheck.sh);
#  2. the runner's overhead per run (wall time beyond the measured duration) and hvbench's peak
#     RSS, from a cpu-only profile on the native target;
#  3. the same through the agent protocol (hvbench-guest over TCP on loopback, "remote" target);
#  4. the regression gate: compare and report on 10,000 samples per metric (wall time), and its
#     A/A false-alarm rate on a small native profile (split halves of one run; two runs).
set -eu
BUILD=${1:-build}
BIN="$BUILD/hvbench"
GBIN="$BUILD/hvbench-guest"
T=$(mktemp -d /tmp/hb-bench.XXXXXX)
AGENT=""
trap '[ -n "$AGENT" ] && kill $AGENT 2>/dev/null; rm -rf "$T"' EXIT

echo "== 1. measurement chain: hvbench vs the fio, iperf3, sockperf and oslat CLIs"
make -s BUILD="$BUILD" "$BUILD/tests/test_workloads" >/dev/null
REPS=${REPS:-3} DURATION=${DURATION:-3} sh tools/crosscheck.sh "$BUILD" || echo "crosscheck failed (exit $?)"

echo
echo "== 2. runner overhead (native, cpu workload, 10 runs of 0.5 s)"
cat >"$T/cpu.json" <<JSON
{ "repetitions": 10, "warmup": 0, "duration": 0.5, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native" } ],
  "workloads": [ { "workload": "cpu" } ], "probes": { "proc": {}, "pfm": {} } }
JSON
printf 'bench-token-%s-0123456789abcdef\n' $$ >"$T/tok"; chmod 600 "$T/tok"
PORT=$((40000 + $$ % 10000))
$GBIN --tcp 127.0.0.1:$PORT --token-file "$T/tok" --quiet 2>/dev/null &
AGENT=$!
sed -e 's/"native", "kind": "native"/"agent", "kind": "remote", "options": { "address": "127.0.0.1:'$PORT'", "token_file": "'$(echo "$T/tok" | sed 's/\//\\\//g')'" }/' \
	"$T/cpu.json" >"$T/remote.json"
python3 - "$BIN" "$T" <<'PY'
import json, os, resource, subprocess, sys, time
binp, t = sys.argv[1], sys.argv[2]
def run(profile, out):
    t0 = time.monotonic()
    subprocess.run([binp, "run", profile, "-q", "--no-report", "-o", out], check=True)
    wall = time.monotonic() - t0
    r = json.load(open(out + "/results.json"))
    return wall, r
for name, prof in (("native", "cpu.json"), ("agent over TCP", "remote.json")):
    wall, r = run(os.path.join(t, prof), os.path.join(t, prof + ".out"))
    runs, d = 10, 0.5
    over = (wall - runs * d) / runs
    print("%-15s wall %.2f s for %d runs of %.1f s: overhead %.0f ms per run (%.1f%% of a run)"
          % (name, wall, runs, d, over * 1000, 100 * over / d))
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("hvbench peak RSS: %.1f MiB" % (rss / 1024.0))
PY

echo
echo "== 4. regression gate: speed at 10,000 samples per metric, A/A false alarms"
python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
random.seed(7)
def doc(shift):
    res, cmps = [], []
    for target in ("native", "vm"):
        for m, unit, hib in (("iops", "IOPS", True), ("clat_p99", "us", False),
                             ("bw", "MiB/s", True), ("ops", "ops/s", True)):
            s = [random.lognormvariate(0, 0.05) * (100 if target == "native" else 60) * shift
                 for _ in range(10000)]
            res.append({"target": target, "workload": "w", "kind": "disk", "metric": m,
                        "unit": unit, "higher_is_better": hib, "area": "storage",
                        "role": "detail", "comparison": "ratio", "samples": s, "n": len(s)})
    return {"schema": "hvbench/result/2", "started_at": "2026-01-01T00:00:00Z",
            "status": "complete", "profile_name": "big",
            "targets": [{"name": "native", "kind": "native"}, {"name": "vm", "kind": "qemu"}],
            "results": res}
json.dump(doc(1.0), open(t + "/big-a.json", "w"))
json.dump(doc(1.0), open(t + "/big-b.json", "w"))
PY
python3 - "$BIN" "$T" <<'PY'
import subprocess, sys, time
binp, t = sys.argv[1], sys.argv[2]
for name, args in (("compare", ["compare", t + "/big-a.json", t + "/big-b.json"]),
                   ("report", ["report", t + "/big-a.json", "-o", t + "/big-rep", "--no-plots"])):
    t0 = time.monotonic()
    p = subprocess.run([binp] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("%-8s 2 targets x 4 metrics x 10,000 samples: %.2f s (exit %d)"
          % (name, time.monotonic() - t0, p.returncode))
PY
cat >"$T/aa.json" <<JSON
{ "name": "aa", "repetitions": 6, "warmup": 1, "duration": 0.5, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native" } ],
  "workloads": [ { "workload": "cpu" }, { "workload": "mem" } ], "probes": { "proc": {} } }
JSON
$BIN run "$T/aa.json" -q --no-report -o "$T/aa1" 2>/dev/null
$BIN run "$T/aa.json" -q --no-report -o "$T/aa2" 2>/dev/null
echo "A/A, one run split in halves:"
$BIN compare --aa "$T/aa1/results.json" | tail -n 2 | head -n 1
echo "A/A, two runs of the same code:"
$BIN compare --aa "$T/aa1/results.json" "$T/aa2/results.json" | tail -n 2 | head -n 1

echo "== 5. calibration: injected overheads measured back (hvbench calibrate, full)"
if [ "$(id -u)" = 0 ]; then
	"$BIN" calibrate --build "$BUILD" -o "$T/calibrate" ||
		echo "calibrate: exit $? (1: an experiment failed, 2: one could not be set up here)"
else
	echo "calibrate skipped: needs root (cgroups, namespaces, tc)"
fi
