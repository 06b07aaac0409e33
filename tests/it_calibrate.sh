#!/bin/sh
# Integration: `hvbench calibrate` on the experiments that need no VM (a cgroup CPU cap on the
# native worker, a tc rate limit on the veth of a remote agent in its own namespace, the
# agent's clock against the host's): they pass; a deliberately broken chain fails (the agent
# reporting the planned instead of the measured span; the runner dropping a repetition);
# everything calibrate makes (namespaces, veths, cgroups, agents) is gone after a normal
# exit, after Ctrl-C, and — after SIGKILL — once the next calibrate has started.
set -u
BIN=${HB_BIN:-build/hvbench}
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
grep -q "| net-remote | 40 Mbit/s |" "$T/ok/calibration.md" || fail "calibration.md table"
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

echo "PASS"
