#!/bin/sh
# bench.sh — `make bench`: checks hvbench's own measurement chain and its own cost, in one run,
# as ratios (never as a timed unit test: this machine is noisy).
#  1. disk and net figures against the fio and iperf3 CLIs running the same job (crosscheck.sh);
#  2. the runner's overhead per run (wall time beyond the measured duration) and hvbench's peak
#     RSS, from a cpu-only profile on the native target;
#  3. the same through the agent protocol (hvbench-guest over TCP on loopback, "remote" target).
set -eu
BUILD=${1:-build}
BIN="$BUILD/hvbench"
GBIN="$BUILD/hvbench-guest"
T=$(mktemp -d /tmp/hb-bench.XXXXXX)
AGENT=""
trap '[ -n "$AGENT" ] && kill $AGENT 2>/dev/null; rm -rf "$T"' EXIT

echo "== 1. measurement chain: hvbench vs the fio and iperf3 CLIs"
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
echo "== 4. calibration: injected overheads measured back (hvbench calibrate, full)"
# VM experiments boot QEMU: one VM job machine-wide
if [ "$(id -u)" = 0 ]; then
	flock /tmp/hvbench-vm.lock "$BIN" calibrate --build "$BUILD" -o "$T/calibrate" ||
		echo "calibrate: exit $? (1: an experiment failed, 2: one could not be set up here)"
else
	echo "calibrate skipped: needs root (cgroups, namespaces, tc)"
fi
