#!/bin/sh
# Integration: VMs booted side by side ("boot_parallel"). (1) Three VMs are launched before any
# is awaited: one whose guest never says hello (its /init is `cat`; boot timeout), one whose
# QEMU refuses its options and exits at once, and one that boots. The good one runs its workload
# and records its own boot time and that another boot overlapped it (boot_concurrency >= 2,
# naming the silent VM, launched first so their boots must overlap); both failures are recorded
# with their target and cause; no QEMU, netns or scratch file is left. (2) SIGINT while two
# launched VMs are still booting: hvbench ends both boots (no QEMU outlives it) and exits 4.
# TCG only, to stay short.
set -u
BUILD=${HB_BUILD:-build}
BIN=${HB_BIN:-$BUILD/hvbench}
fail() { echo "FAIL: $*"; exit 1; }
. tests/lib.sh
[ -x "$BIN" ] || fail "$BIN not built"
hb_require_guest "$BUILD"

T=$(mktemp -d /tmp/hb-it-boot-parallel.XXXXXX)
OK="vm-ok$$"
SILENT="vm-silent$$"
BAD="vm-badopt$$"
qemu_pids() { pgrep -f "hvbench-$1 "; }
cleanup() {
	for p in $(qemu_pids "$OK") $(qemu_pids "$SILENT") $(qemu_pids "$BAD"); do kill -KILL "$p"; done
	[ -n "${hv:-}" ] && kill -KILL "$hv" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
no_leftovers() {
	sleep 0.5
	for n in "$OK" "$SILENT" "$BAD"; do
		[ -z "$(qemu_pids "$n")" ] || fail "$1: a QEMU of $n survived"
		ip netns list 2>/dev/null | grep -q -- "-$n" && fail "$1: network namespace of $n left behind"
		ls -d /var/tmp/hvbench-scratch.*/qemu-"$n" 2>/dev/null && fail "$1: scratch files of $n left behind"
	done
	return 0
}

# ---- 1. one good VM among two failing ones, all launched together
cat >"$T/p.json" <<EOF
{
  "name": "it-boot-parallel", "repetitions": 1, "warmup": 0, "duration": 0.3, "ramp": 0,
  "boot_parallel": true,
  "targets": [
    { "name": "$SILENT", "kind": "qemu",
      "options": { "machine": "microvm", "memory": 512, "accel": "tcg", "net": "none",
                   "disk_size": "16M", "boot_timeout": 20, "append": "rdinit=/bin/cat" } },
    { "name": "$BAD", "kind": "qemu",
      "options": { "machine": "microvm", "memory": 512, "accel": "tcg", "net": "none",
                   "disk_size": "16M", "extra_args": "-no-such-option" } },
    { "name": "$OK", "kind": "qemu",
      "options": { "machine": "microvm", "memory": 512, "accel": "tcg", "net": "none",
                   "disk_size": "16M", "boot_timeout": 150 } }
  ],
  "workloads": [ { "name": "cpu", "workload": "cpu" } ]
}
EOF
"$BIN" run "$T/p.json" --build "$BUILD" -q --no-report --no-history -o "$T/out" 2>"$T/log"
rc=$?
cat "$T/log"
[ $rc -eq 4 ] || fail "a run with two failed targets of three should exit 4 (incomplete), got $rc"
grep -q "$SILENT: accel=tcg: guest did not say hello within 20 s" "$T/log" ||
	fail "the silent VM's boot timeout is not reported with target and cause"
grep -q "$BAD: accel=tcg: QEMU exited" "$T/log" || fail "the bad VM's QEMU exit is not reported"
OK=$OK SILENT=$SILENT BAD=$BAD python3 - "$T/out/results.json" <<'PY' || fail "results.json checks"
import json, os, sys
r = json.load(open(sys.argv[1]))
ok, silent, bad = os.environ["OK"], os.environ["SILENT"], os.environ["BAD"]
assert r["status"] == "incomplete", r["status"]
assert r["settings"]["boot_parallel"] is True, r["settings"]
failed = {f["target"]: f for f in r["failures"]}
assert set(failed) == {silent, bad} and all(f["workload"] == "start" for f in failed.values()), failed
t = {x["name"]: x for x in r["targets"]}
assert "error" not in t[ok], t[ok]
i = t[ok]["info"]
assert 0 < i["time_to_ready_s"] < 150, i["time_to_ready_s"]
assert abs(i["boot_phases"]["total_s"] - i["time_to_ready_s"]) < 1e-6, i["boot_phases"]
assert i["boot_concurrency"] >= 2, i.get("boot_concurrency")
assert i["launch_rank"] == [2], i.get("launch_rank")  # launched third of the boot group
assert silent in i["boot_concurrent_with"].split(", "), i["boot_concurrent_with"]
assert "memavailable_other_vms_mib" in i, sorted(i)
rows = {(x["target"], x["workload"], x["metric"]) for x in r["results"]}
assert (ok, "cpu", "ops") in rows and (ok, "boot", "time_to_ready") in rows, rows
assert not any(x[0] in (silent, bad) for x in rows if x[1] == "cpu"), rows
tm = r["timing"]
assert tm["boot_s"] > 0 and tm["runs"] == 1 and tm["wall_s"] >= tm["boot_s"] + tm["runs_s"], tm
print("good VM ready in %.2f s beside %s (concurrency %d)" %
      (i["time_to_ready_s"], i["boot_concurrent_with"], i["boot_concurrency"]))
PY
no_leftovers "case 1"
echo "case 1 (failing boots among parallel ones) ok"

# ---- 2. SIGINT while launched VMs boot: both boots are ended
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
p["targets"] = [p["targets"][0], p["targets"][2]]
p["targets"][0]["options"]["boot_timeout"] = 120
print(json.dumps(p))' "$T/p.json" >"$T/int.json"
"$BIN" run "$T/int.json" --build "$BUILD" -q --no-report --no-history -o "$T/int" 2>"$T/int.log" &
hv=$!
# both QEMUs exist: both were launched (a state, not a time); the silent one cannot be ready
i=0
until [ -n "$(qemu_pids "$SILENT")" ] && [ -n "$(qemu_pids "$OK")" ]; do
	i=$((i + 1))
	[ $i -gt 600 ] && { cat "$T/int.log"; fail "the two QEMUs were not launched within 120 s"; }
	kill -0 $hv 2>/dev/null || { cat "$T/int.log"; fail "hvbench ended before both VMs were launched"; }
	sleep 0.2
done
kill -INT $hv
t0=$(date +%s)
wait $hv
rc=$?
hv=""
secs=$(( $(date +%s) - t0 ))
cat "$T/int.log"
[ $rc -eq 4 ] || fail "a run interrupted while booting should exit 4, got $rc"
[ $secs -le 20 ] || fail "hvbench needed $secs s to stop after SIGINT during the boots"
no_leftovers "case 2"
echo "case 2 (SIGINT during parallel boots) ok (stopped in $secs s)"
exit 0
