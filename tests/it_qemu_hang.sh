#!/bin/sh
# Integration: a guest that hangs mid-workload (its QEMU is stopped with SIGSTOP, so the agent
# goes silent with the connection still open). hvbench must not wait forever: the run times out
# with an error naming the target, the hung VM is not used again, the native target goes on,
# results.json is valid and "incomplete", and the stopped QEMU is killed.
set -u
BUILD=${HB_BUILD:-build}
BIN=${HB_BIN:-$BUILD/hvbench}
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing"; exit 77; }
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
sh tools/mkguest.sh "$BUILD"
rc=$?
[ $rc -eq 2 ] && { echo "SKIP: guest image cannot be built (no kernel package)"; exit 77; }
[ $rc -eq 0 ] || fail "mkguest.sh exited $rc"
T=$(mktemp -d /tmp/hb-it-qemu-hang.XXXXXX)
NAME="vm-hang$$"
hv=""
qemu_pid() { pgrep -f "hvbench-$NAME " | head -1; }
cleanup() {
	[ -n "$hv" ] && kill -KILL "$hv" 2>/dev/null
	for p in $(pgrep -f "hvbench-$NAME "); do kill -CONT "$p"; kill -KILL "$p"; done
	rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/p.json" <<JSON
{ "repetitions": 2, "warmup": 0, "duration": 1, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native" },
               { "name": "$NAME", "kind": "qemu",
                 "options": { "machine": "microvm", "memory": 512, "accel": "tcg", "net": "none",
                              "disk_size": "128M" } } ],
  "workloads": [ { "name": "cpu-long", "workload": "cpu", "duration": 4, "timeout": 8 },
                 { "name": "mem", "workload": "mem", "timeout": 6,
                   "params": { "size": "24M", "chase_size": "8M" } } ] }
JSON
"$BIN" run "$T/p.json" --build "$BUILD" -q --no-report -o "$T/r" 2>"$T/log" &
hv=$!
# the VM is up once its boot figures are in the progressively written results.json
i=0
until grep -qs '"time_to_ready"' "$T/r/results.json"; do
	i=$((i + 1))
	[ $i -gt 900 ] && { cat "$T/log"; fail "the VM did not come up within 180 s"; }
	kill -0 $hv 2>/dev/null || { cat "$T/log"; fail "hvbench ended early"; }
	sleep 0.2
done
# results.json is first rewritten after the first entry; by then cpu-long has run on both
# targets at least once. Stop the VM now: the next cpu-long or mem run on it hangs.
qpid=$(qemu_pid)
[ -n "$qpid" ] || { cat "$T/log"; fail "no QEMU for $NAME"; }
kill -STOP "$qpid"
t0=$(date +%s)
wait $hv
rc=$?
hv=""
took=$(($(date +%s) - t0))
cat "$T/log"
[ $rc -eq 4 ] || fail "exit $rc, want 4 (incomplete)"
[ $took -le 45 ] || fail "hvbench took $took s after the hang"
grep -q "\[$NAME\] .* failed: " "$T/log" || fail "the hang is not reported for the target"
NAME=$NAME python3 - "$T/r/results.json" <<'PY' || fail "results.json"
import json, os, sys
r = json.load(open(sys.argv[1]))
name = os.environ["NAME"]
assert r["status"] == "incomplete", r["status"]
mine = [f for f in r["failures"] if f["target"] == name]
assert len(mine) == 1, r["failures"]          # failed once, then not used again
native = {(x["workload"], x["n"]) for x in r["results"] if x["target"] == "native"}
assert ("mem", 2) in native and ("cpu-long", 2) in native, native
print("hang reported as:", mine[0]["workload"], "-", mine[0]["error"][:120])
PY
sleep 0.5
[ -z "$(qemu_pid)" ] || fail "the stopped QEMU survived"
echo "qemu hang integration ok"
exit 0
