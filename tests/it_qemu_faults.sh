#!/bin/sh
# Integration: VM faults. (1) QEMU is SIGKILLed in the middle of a workload: hvbench names the
# target and the cause ("QEMU exited (killed by signal 9) during disk-long"), exits non-zero,
# writes a valid results.json marked incomplete (the run before the kill is kept), and no QEMU,
# netns or scratch file remains. (2) A guest that never says hello (its /init is `cat`): the
# boot timeout fires, the error says so, QEMU is killed and reaped. (3) Ctrl-C (SIGINT) in the
# middle of a VM workload: hvbench stops within seconds (not at the workload's end), exits 4
# with an incomplete results.json, and leaves no QEMU. (4) hvbench itself SIGKILLed while the
# VM runs: the parent-death signal takes QEMU down too. TCG only, to stay short.
set -u
BUILD=${HB_BUILD:-build}
BIN=${HB_BIN:-$BUILD/hvbench}
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing (used to check results.json)"; exit 77; }
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
[ -x "$BIN" ] || fail "$BIN not built"
sh tools/mkguest.sh "$BUILD"
rc=$?
[ $rc -eq 2 ] && { echo "SKIP: guest image cannot be built (no kernel package)"; exit 77; }
[ $rc -eq 0 ] || fail "mkguest.sh exited $rc"

T=$(mktemp -d /tmp/hb-it-qemu-faults.XXXXXX)
NAME="vm-kill$$"
NAME2="vm-nohello$$"
NAME3="vm-int$$"
NAME4="vm-orphan$$"
qemu_pids() { pgrep -f "hvbench-$1 "; }
cleanup() {
	for p in $(qemu_pids "$NAME") $(qemu_pids "$NAME2") $(qemu_pids "$NAME3") $(qemu_pids "$NAME4"); do kill -KILL "$p"; done
	[ -n "${hv:-}" ] && kill -KILL "$hv" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# ---- 1. QEMU killed mid-workload
cat >"$T/kill.json" <<EOF
{
  "name": "it-qemu-kill", "repetitions": 1, "warmup": 0, "duration": 1, "ramp": 0,
  "targets": [
    { "name": "$NAME", "kind": "qemu",
      "options": { "machine": "microvm", "memory": 512, "accel": "tcg", "net": "tap",
                   "disk_size": "256M" } }
  ],
  "workloads": [
    { "name": "mem-short", "workload": "mem" },
    { "name": "disk-long", "workload": "disk", "duration": 30,
      "params": { "rw": "randread", "bs": "4k", "iodepth": 4, "size": "64M" } }
  ]
}
EOF
"$BIN" run "$T/kill.json" --build "$BUILD" -q --no-report -o "$T/kill" 2>"$T/kill.log" &
hv=$!
# wait until mem-short's row is in the (progressively written) results, then into disk-long
i=0
until grep -Eqs '"workload": ?"mem-short"' "$T/kill/results.json"; do
	i=$((i + 1))
	[ $i -gt 900 ] && { cat "$T/kill.log"; fail "no mem-short result within 180 s"; }
	kill -0 $hv 2>/dev/null || { cat "$T/kill.log"; fail "hvbench ended before mem-short was done"; }
	sleep 0.2
done
sleep 4
qpid=$(qemu_pids "$NAME" | head -1)
[ -n "$qpid" ] || { cat "$T/kill.log"; fail "no QEMU of $NAME running"; }
kill -KILL "$qpid"
t0=$(date +%s)
wait $hv
rc=$?
hv=""
cat "$T/kill.log"
[ $(( $(date +%s) - t0 )) -le 15 ] || fail "hvbench took more than 15 s to notice the dead QEMU"
[ $rc -ne 0 ] || fail "hvbench exited 0 after QEMU was killed"
grep -q "$NAME: QEMU exited (killed by signal 9) during disk-long" "$T/kill.log" ||
	fail "the log does not name target and cause"
NAME=$NAME python3 - "$T/kill/results.json" <<'PY' || fail "results.json after the kill"
import json, os, sys
r = json.load(open(sys.argv[1]))
name = os.environ["NAME"]
assert r["status"] == "incomplete", r["status"]
f = [x for x in r["failures"] if x["workload"] == "disk-long"]
assert f and f[0]["target"] == name, r["failures"]
assert "QEMU exited (killed by signal 9) during disk-long" in f[0]["error"], f[0]["error"]
assert any(x["workload"] == "mem-short" and x["target"] == name for x in r["results"]), \
    "the run before the kill was lost"
print("failure recorded:", f[0]["error"])
PY
sleep 0.5
[ -z "$(qemu_pids "$NAME")" ] || fail "a QEMU of $NAME survived"
ip netns list 2>/dev/null | grep -q -- "-$NAME" && fail "network namespace of $NAME left behind"
ls -d /var/tmp/hvbench-scratch.*/qemu-"$NAME" 2>/dev/null && fail "scratch files of $NAME left behind"
echo "case 1 (QEMU killed) ok"

# ---- 2. a guest that never says hello: the boot timeout fires
cat >"$T/nohello.json" <<EOF
{
  "name": "it-qemu-nohello", "repetitions": 1, "warmup": 0, "duration": 1, "ramp": 0,
  "targets": [
    { "name": "$NAME2", "kind": "qemu",
      "options": { "machine": "microvm", "memory": 512, "accel": "tcg", "net": "none",
                   "boot_timeout": 6, "append": "rdinit=/bin/cat" } }
  ],
  "workloads": [ { "name": "mem", "workload": "mem" } ]
}
EOF
t0=$(date +%s)
"$BIN" run "$T/nohello.json" --build "$BUILD" -q --no-report -o "$T/nohello" 2>"$T/nohello.log"
rc=$?
secs=$(( $(date +%s) - t0 ))
cat "$T/nohello.log"
[ $rc -ne 0 ] || fail "a guest without hello should fail the run"
[ $secs -le 30 ] || fail "the boot timeout (6 s) took $secs s"
grep -q "$NAME2: accel=tcg: guest did not say hello within 6 s" "$T/nohello.log" ||
	fail "boot timeout not reported with target and cause"
python3 -c "
import json, sys
r = json.load(open('$T/nohello/results.json'))
assert r['status'] in ('failed', 'incomplete'), r['status']
assert any('guest did not say hello within 6 s' in f['error'] for f in r['failures']), r['failures']
" || fail "results.json after the boot timeout"
sleep 0.5
[ -z "$(qemu_pids "$NAME2")" ] || fail "a QEMU of $NAME2 survived the boot timeout"
echo "case 2 (no hello) ok"

# ---- 3. SIGINT mid-workload
sed "s/$NAME/$NAME3/g" "$T/kill.json" >"$T/int.json"
"$BIN" run "$T/int.json" --build "$BUILD" -q --no-report -o "$T/int" 2>"$T/int.log" &
hv=$!
i=0
until grep -Eqs '"workload": ?"mem-short"' "$T/int/results.json"; do
	i=$((i + 1))
	[ $i -gt 900 ] && { cat "$T/int.log"; fail "no mem-short result within 180 s"; }
	kill -0 $hv 2>/dev/null || { cat "$T/int.log"; fail "hvbench ended before mem-short was done"; }
	sleep 0.2
done
sleep 4
kill -INT $hv
t0=$(date +%s)
wait $hv
rc=$?
hv=""
secs=$(( $(date +%s) - t0 ))
cat "$T/int.log"
[ $rc -eq 4 ] || fail "interrupted run should exit 4, got $rc"
[ $secs -le 15 ] || fail "hvbench needed $secs s to stop after SIGINT"
python3 -c "
import json
r = json.load(open('$T/int/results.json'))
assert r['status'] == 'incomplete', r['status']
assert any(x['workload'] == 'mem-short' for x in r['results'])
" || fail "results.json after SIGINT"
sleep 0.5
[ -z "$(qemu_pids "$NAME3")" ] || fail "a QEMU of $NAME3 survived SIGINT"
ip netns list 2>/dev/null | grep -q -- "-$NAME3" && fail "network namespace of $NAME3 left behind"
echo "case 3 (SIGINT) ok (stopped in $secs s)"

# ---- 4. hvbench SIGKILLed: no QEMU survives it
sed "s/$NAME/$NAME4/g" "$T/kill.json" >"$T/orphan.json"
"$BIN" run "$T/orphan.json" --build "$BUILD" -q --no-report -o "$T/orphan" 2>"$T/orphan.log" &
hv=$!
i=0
until [ -n "$(qemu_pids "$NAME4")" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { cat "$T/orphan.log"; fail "no QEMU of $NAME4 within 60 s"; }
	sleep 0.2
done
sleep 2
qpid=$(qemu_pids "$NAME4" | head -1)
kill -KILL $hv
wait $hv 2>/dev/null
i=0
while [ -d "/proc/$qpid" ] && [ "$(awk '/^State:/ {print $2}' "/proc/$qpid/status" 2>/dev/null)" != Z ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "QEMU $qpid survived the SIGKILL of hvbench"
	sleep 0.1
done
ip netns del "hb-$hv-$NAME4" 2>/dev/null
hv=""
echo "case 4 (hvbench SIGKILLed) ok"
exit 0
