#!/bin/sh
# Integration: an interrupted density sweep leaves nothing behind. (1) SIGINT while two VMs of
# the sweep run a workload: hvbench stops within seconds, exits 4, results.json is incomplete
# and holds the k = 1 step with density.stopped = "interrupted"; no QEMU, network namespace or
# scratch directory of the sweep remains. (2) SIGKILL of hvbench during k = 1: the
# parent-death signal takes every QEMU of the sweep down, and the next run removes the dead
# run's network namespaces and scratch directory. (3) A host without the memory headroom the
# next step needs: the sweep stops before booting it and says why. TCG, small guests, short
# runs.
set -u
BUILD=${HB_BUILD:-build}
BIN=${HB_BIN:-$BUILD/hvbench}
. tests/lib.sh
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$BIN" ] || fail "$BIN not built"
hb_require_guest "$BUILD"

T=$(mktemp -d /tmp/hb-it-density.XXXXXX)
SCR="$T/scratch"
mkdir -p "$SCR"
NAME="dens$$"
hv=""
cleanup() {
	[ -n "$hv" ] && kill -KILL "$hv" 2>/dev/null
	for p in $(hb_leftovers | cut -d' ' -f1); do kill -KILL "$p" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -- "-$NAME"); do ip netns del "$ns"; done
	rm -rf "$T"
}
trap cleanup EXIT

# the regular runs are 1 s; the sweep runs 60 s each so it is caught in the middle
cat >"$T/p.json" <<EOF2
{
  "name": "it-density", "repetitions": 1, "warmup": 0, "duration": 1, "ramp": 0,
  "targets": [
    { "name": "$NAME", "kind": "qemu",
      "options": { "machine": "microvm", "memory": 320, "accel": "tcg", "net": "tap",
                   "disk_size": "32M" } }
  ],
  "workloads": [ { "name": "cpu", "workload": "cpu" } ],
  "density": { "target": "$NAME", "counts": [1, 2], "duration": 60, "headroom": "64M" }
}
EOF2

# Polls (up to $2 s) until the log of the run says the sweep reached k = 2 and both of its
# VMs are up and running the workload (two QEMUs of this test and the k = 2 line).
wait_k2() {
	i=0
	until grep -q "density: k=2" "$1" && [ "$(pgrep -f "hvbench-$NAME-d" | wc -l)" -ge 2 ] &&
		grep -q "\"k\": 1" "$T/$3/results.json" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $(( $2 * 5 )) ] && { cat "$1"; fail "the sweep did not reach k = 2 within $2 s"; }
		kill -0 "$hv" 2>/dev/null || { cat "$1"; fail "hvbench ended before k = 2"; }
		sleep 0.2
	done
}

no_sweep_left() {
	hb_wait_no_leftovers 20 || fail "$1: processes of the sweep survived"
	[ -z "$(pgrep -f "hvbench-$NAME-d")" ] || fail "$1: a QEMU of the sweep survived"
	ip netns list 2>/dev/null | grep -q -- "-$NAME" && fail "$1: network namespace of the sweep left behind"
	ls -d "$SCR"/hvbench-scratch.* 2>/dev/null && fail "$1: scratch directory left behind"
	return 0
}

# ---- 1. SIGINT in the middle of k = 2
"$BIN" run "$T/p.json" --build "$BUILD" -q --no-report --no-history --scratch-dir "$SCR" -o "$T/int" 2>"$T/int.log" &
hv=$!
wait_k2 "$T/int.log" 300 int
sleep 3
kill -INT "$hv"
t0=$(date +%s)
wait "$hv"
rc=$?
hv=""
secs=$(( $(date +%s) - t0 ))
cat "$T/int.log"
[ $rc -eq 4 ] || fail "interrupted sweep should exit 4, got $rc"
[ $secs -le 20 ] || fail "hvbench needed $secs s to stop after SIGINT"
NAME=$NAME python3 - "$T/int/results.json" <<'PY' || fail "results.json after SIGINT"
import json, os, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "incomplete", r["status"]
d = r["density"]
assert d["stopped"] == "interrupted", d["stopped"]
ks = [s["k"] for s in d["steps"]]
assert ks == [1], ks
w = d["steps"][0]["workloads"][0]
assert w["workload"] == "cpu" and w["per_vm"][0] > 0, w
assert d["steps"][0]["vms"][0]["name"] == os.environ["NAME"] + "-d1"
assert d["steps"][0]["vms"][0]["pss_mib"] > 0
print("k=1 kept:", w["per_vm"], "stopped:", d["stopped"])
PY
no_sweep_left "SIGINT"
echo "case 1 (SIGINT mid-sweep) ok (stopped in $secs s)"

# ---- 2. SIGKILL in the middle of k = 1 (case 1 covers the k = 2 step; killing the first
# step's VM spares this test a 60 s run and two boots)
"$BIN" run "$T/p.json" --build "$BUILD" -q --no-report --no-history --scratch-dir "$SCR" -o "$T/kill" 2>"$T/kill.log" &
hv=$!
i=0
until grep -q "density: k=1" "$T/kill.log" && [ -n "$(pgrep -f "hvbench-$NAME-d")" ]; do
	i=$((i + 1))
	[ $i -gt 1500 ] && { cat "$T/kill.log"; fail "the sweep did not start its first VM within 300 s"; }
	kill -0 "$hv" 2>/dev/null || { cat "$T/kill.log"; fail "hvbench ended before k = 1"; }
	sleep 0.2
done
sleep 2
kill -KILL "$hv"
wait "$hv" 2>/dev/null
dead=$hv
hv=""
# every QEMU goes with its parent (PR_SET_PDEATHSIG)
i=0
while [ -n "$(pgrep -f "hvbench-$NAME-d")" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "a QEMU of the sweep survived the SIGKILL of hvbench"
	sleep 0.1
done
ls -d "$SCR"/hvbench-scratch."$dead".* >/dev/null 2>&1 || fail "expected the killed run's scratch directory (nothing to clean up?)"
# the next run (any profile) removes what the killed one could not
cat >"$T/native.json" <<'EOF2'
{ "name": "it-density-next", "repetitions": 1, "warmup": 0, "duration": 0.2, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native" } ],
  "workloads": [ { "name": "cpu", "workload": "cpu" } ] }
EOF2
"$BIN" run "$T/native.json" --build "$BUILD" -q --no-report --no-history --scratch-dir "$SCR" -o "$T/next" 2>"$T/next.log" ||
	{ cat "$T/next.log"; fail "the next run failed"; }
no_sweep_left "SIGKILL"
echo "case 2 (SIGKILL mid-sweep) ok"

# ---- 3. no headroom: a terabyte kept free cannot be met, so not even k = 1 boots
sed 's/"headroom": "64M"/"headroom": "1T"/; s/"duration": 60,/"duration": 1,/' "$T/p.json" >"$T/full.json"
"$BIN" run "$T/full.json" --build "$BUILD" -q --no-report --no-history --scratch-dir "$SCR" -o "$T/full" 2>"$T/full.log"
rc=$?
cat "$T/full.log"
[ $rc -eq 0 ] || fail "a sweep stopped for headroom is not a failure of the run (exit $rc)"
grep -q "density: stopping before k=1: host memory headroom: MemAvailable" "$T/full.log" ||
	fail "the log does not say why the sweep stopped"
python3 - "$T/full/results.json" <<'PY' || fail "results.json after the headroom stop"
import json, sys
d = json.load(open(sys.argv[1]))["density"]
assert d["steps"] == [], d["steps"]
assert d["stopped"].startswith("host memory headroom: MemAvailable "), d["stopped"]
assert "MiB k=1 needs (1 more VM x " in d["stopped"] and "+ 1048576 MiB headroom)" in d["stopped"], d["stopped"]
print("stopped:", d["stopped"])
PY
no_sweep_left "headroom"
echo "case 3 (memory headroom) ok"
exit 0
