#!/bin/sh
# Integration: `hvbench calibrate` on the experiments that need no VM (a cgroup CPU cap on the
# native worker, a tc rate limit on the veth of a remote agent in its own namespace, the
# agent's clock against the host's): they pass; a deliberately broken chain fails (the agent
# reporting the planned instead of the measured span; the runner dropping a repetition);
# everything calibrate makes (namespaces, veths, cgroups, agents) is gone after a normal
# exit, after Ctrl-C, and — after SIGKILL — once the next calibrate has started. Then, when
# QEMU and the guest image are here, the latency experiment with the echo peer's reply delay
# (two TCG VMs, 5 short repetitions): +5 ms of RR p50 measured, and said where it was injected.
set -u
BUILD=${HB_BUILD:-build}
BIN=${HB_BIN:-$BUILD/hvbench}
T=$(mktemp -d /tmp/hb-it-cal.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || { echo "SKIP: calibrate needs root (namespaces, cgroups, tc)"; exit 77; }
command -v tc >/dev/null || { echo "SKIP: tc (iproute2) not installed"; exit 77; }
CG=$(awk '$3 == "cgroup2" || ($3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/) { print $2 }' /proc/mounts | tr '\n' ' ')

# what the calibrate with pid $1 left behind (other runs may share the machine): namespaces, veths, cgroups, processes
leftovers() {
	ip netns list 2>/dev/null | grep -E "^hb-$1-c" | sed 's/^/netns /'
	ip -o link show 2>/dev/null | grep -oE "hbc$1r[01]" | sed 's/^/link /'
	for d in $CG; do ls -d "$d"/hvbench-"$1"-* 2>/dev/null | sed 's/^/cgroup /'; done
	pgrep -f "$T/.*remote-agent.token" 2>/dev/null | sed 's/^/agent pid /'
}
# what the calibrate with pid $1 writing to $2 left of its VMs: their namespaces (hb-PID-vm*)
# and QEMU processes (their command line names the output directory: the console log)
leftovers_vm() {
	ip netns list 2>/dev/null | grep -E "^hb-$1-" | sed 's/^/netns /'
	pgrep -f "qemu-system.*$2" 2>/dev/null | sed 's/^/qemu pid /'
}
EXPS=cpu-native,net-remote,clock-remote

# 1. the sound chain passes, and its figures are in results.json's calibration section
"$BIN" calibrate --quick -q --only $EXPS -o "$T/ok" >"$T/ok.out" 2>"$T/ok.err" &
OKPID=$!
wait $OKPID
rc=$?
cat "$T/ok.out"
if [ $rc -eq 2 ] && grep -q "too busy" "$T/ok.out"; then
	echo "SKIP: the host is too busy to give a capped worker its CPU share"; exit 77
fi
[ $rc -eq 0 ] || { cat "$T/ok.err"; fail "sound chain: exit $rc, expected 0"; }
python3 - "$T/ok" <<'PY' || fail "calibration section"
import json, sys
d = sys.argv[1]
cal = json.load(open(d + "/calibration.json"))["calibration"]
names = sorted(c["name"] for c in cal)
assert names == ["clock-remote", "cpu-native", "net-remote"], names
for c in cal:
    assert c["verdict"] == "pass", c
    assert c["n"] >= 5, c
    lo, hi = c["ci95"]
    assert lo <= c["ratio"] <= hi, c
    assert abs(c["ratio"] - 1) <= c["tolerance"], c
net = [c for c in cal if c["name"] == "net-remote"][0]
assert abs(net["expected"] - 0.040 * 1448 / 1514) < 1e-9, net      # Gbit/s after headers
assert abs(net["injected"]["value"] - 40) < 1e-9 and net["injected"]["unit"] == "Mbit/s", net
r = json.load(open(d + "/remote/results.json"))
assert [c["name"] for c in r["calibration"]] == ["net-remote", "clock-remote"], r["calibration"]
assert len(r["runs"]) == 10 and all(x["clock"] == "ok" for x in r["runs"]), r["runs"]
assert all(x["guest_s"] > 0 and x["host_s"] > 0 for x in r["runs"])
PY
grep -q "| net-remote | 40 Mbit/s | 38.26 Mbit/s | " "$T/ok/calibration.md" || fail "calibration.md table (expected goodput in Mbit/s)"
i=0
while [ -n "$(leftovers $OKPID)" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
[ -z "$(leftovers $OKPID)" ] || { leftovers $OKPID; fail "left behind after a normal exit"; }

# 2. Ctrl-C: calibrate removes what it made
"$BIN" calibrate --reps 20 --only net-remote -o "$T/int" >/dev/null 2>&1 &
PID=$!
i=0
until [ -n "$(leftovers $PID)" ] && pgrep -f "$T/int/remote-agent.token" >/dev/null; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "calibrate never set up its agents"; sleep 0.1
done
kill -INT $PID
wait $PID
rc=$?
IPID=$PID
PID=""
[ $rc -eq 2 ] || fail "interrupted: exit $rc, expected 2"
# (an agent killed on the way out may still be exiting: wait for the state, bounded)
i=0
while [ -n "$(leftovers $IPID)" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
[ -z "$(leftovers $IPID)" ] || { leftovers $IPID; fail "left behind after Ctrl-C"; }

# 3. SIGKILL: nothing can clean up, so the next start (the first broken chain below) does
"$BIN" calibrate --reps 20 --only cpu-native,net-remote -o "$T/kill" >/dev/null 2>&1 &
PID=$!
i=0
until [ -n "$(leftovers $PID | grep cgroup)" ] || { [ -n "$(leftovers $PID | grep netns)" ] && pgrep -f "$T/kill/remote-agent.token" >/dev/null; }; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "calibrate never set anything up"; sleep 0.1
done
KPID=$PID
kill -9 $PID
wait $PID 2>/dev/null
PID=""
i=0 # the agents die with their parent (parent-death signal)
while pgrep -f "$T/kill/remote-agent.token" >/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "agents outlived a SIGKILLed calibrate"; sleep 0.1
done
[ -n "$(leftovers $KPID)" ] || fail "SIGKILL left nothing to clean up: the test proves nothing"

# 4. broken chains fail, naming the experiment and by how much (the first one is also the
# next start after the SIGKILL above: it must have removed the killed run's leftovers)
HVBENCH_TEST_BREAK=drop-rep "$BIN" calibrate --quick --duration 0.3 -q --only cpu-native \
	-o "$T/b2" >"$T/b2.out" 2>&1
rc=$?
cat "$T/b2.out"
[ $rc -eq 1 ] || fail "dropped repetition: exit $rc, expected 1"
grep -q "native-capped has 4 of 5 (runs\[\]: 4)" "$T/b2.out" || fail "dropped repetition not named"
[ -z "$(leftovers $KPID)" ] || { leftovers $KPID; fail "stale leftovers not removed by the next start"; }
HVBENCH_TEST_BREAK=planned-interval "$BIN" calibrate --quick -q --only clock-remote \
	-o "$T/b1" >"$T/b1.out" 2>&1
rc=$?
cat "$T/b1.out"
[ $rc -eq 1 ] || fail "planned interval: exit $rc, expected 1"
grep -E "^clock-remote .* fail$" "$T/b1.out" >/dev/null || fail "planned interval: no failed clock-remote row"
grep -q "differs from the host's" "$T/b1.out" || fail "planned interval: no reason"

# 5. latency-vm with the echo peer's reply delay (what this kernel, without netem, uses by
# default; asked for by name so that a host with netem checks the same thing): two VMs
"$BIN" calibrate --latency-method bogus -o "$T/lm" >"$T/lm.out" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "--latency-method bogus: exit $rc, expected 2"
grep -q -- '--latency-method: "bogus" is not auto, netem or peer' "$T/lm.out" || fail "bad method not named"
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "SKIP (latency-vm only): qemu-system-x86_64 not installed"
elif ! sh tools/mkguest.sh "$BUILD" >"$T/mkguest.out" 2>&1; then
	echo "SKIP (latency-vm only): no guest image ($(tail -1 "$T/mkguest.out"))"
else
	"$BIN" calibrate --quick --duration 0.5 -q --only latency-vm --latency-method peer \
		--build "$BUILD" -o "$T/lat" >"$T/lat.out" 2>"$T/lat.err" &
	LPID=$!
	wait $LPID
	rc=$?
	cat "$T/lat.out"
	[ $rc -eq 0 ] || { cat "$T/lat.err"; fail "latency-vm (echo peer): exit $rc, expected 0"; }
	grep -q "^latency-vm    5 ms peer .* -5/+25% *pass$" "$T/lat.out" ||
		fail "the table does not say the peer delayed, with the one-sided tolerance"
	grep -q "| latency-vm | 5 ms, echo peer (--latency-method peer) |" "$T/lat/calibration.md" ||
		fail "calibration.md does not say where the delay was injected"
	python3 - "$T/lat" <<'PY' || fail "latency-vm calibration section"
import json, sys
d = sys.argv[1]
cal = json.load(open(d + "/calibration.json"))["calibration"]
assert [c["name"] for c in cal] == ["latency-vm"], cal
c = cal[0]
assert c["verdict"] == "pass" and c["n"] == 5, c
assert c["injected_at"] == "echo peer (--latency-method peer)", c
assert "not the network path" in c["injection"], c
assert c["expected"] == 5000 and c["unit"] == "us", c
# one-sided: a held reply never comes early; the guest's wake-up after idling only adds
assert c["tolerance"] == 0.05 and c["tolerance_above"] == 0.25, c
assert -0.05 <= c["ratio"] - 1 <= 0.25, c
r = json.load(open(d + "/vm/results.json"))
assert r["calibration"][0]["injected_at"] == c["injected_at"], r["calibration"]
info = {t["name"]: t.get("info", {}) for t in r["targets"]}
# the limited twin's peer alone holds its replies; the reference's answers at once
assert info["vm-limited"].get("echo_reply_delay_ms") == 5, info["vm-limited"]
assert "echo_reply_delay_ms" not in info["vm"], info["vm"]
rows = {(x["target"], x["metric"]): x for x in r["results"] if x["workload"] == "netrr"}
ref, inj = rows[("vm", "rtt_p50")], rows[("vm-limited", "rtt_p50")]
assert len(ref["samples"]) == 5 and len(inj["samples"]) == 5
assert all(v >= 5000 for v in inj["samples"]), inj["samples"]   # never early
assert all(v < 5000 for v in ref["samples"]), ref["samples"]    # no delay there
PY
	i=0
	while [ -n "$(leftovers_vm $LPID "$T/lat")" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
	[ -z "$(leftovers_vm $LPID "$T/lat")" ] || { leftovers_vm $LPID "$T/lat"; fail "left behind after latency-vm"; }
fi

echo "PASS"
