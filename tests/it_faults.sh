#!/bin/sh
# Integration: faults on the host side. A fio that fails, an agent that answers garbage, an
# agent that dies mid-run, SIGTERM/SIGHUP mid-run and a full disk under results.json: each
# gives an error naming the cause and the target, the other targets go on, results.json stays
# valid and says "incomplete", and no child process survives.
set -u
BIN=${HB_BIN:-build/hvbench}
T=$(mktemp -d /tmp/hb-it-faults.XXXXXX)
FAKE=""
cleanup() {
	[ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
	mountpoint -q "$T/full" 2>/dev/null && umount "$T/full"
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
. tests/lib.sh
check_json() { # file status min_failures
	python3 - "$@" <<'PY' || fail "results check: $1"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == sys.argv[2], r["status"]
assert len(r["failures"]) >= int(sys.argv[3]), r["failures"]
PY
}
no_leftovers() { # polls: children may take a moment to be reaped on a loaded machine
	left=$(hb_wait_no_leftovers 10) || fail "$1: processes survived: $left"
}

# 1. fio fails: the disk entry fails with fio's own words, cpu still runs, exit 4.
cat >"$T/badfio" <<'SH'
#!/bin/sh
echo "fio: engine libaio not loadable (injected failure)" >&2
exit 1
SH
chmod +x "$T/badfio"
cat >"$T/p1.json" <<JSON
{ "repetitions": 2, "warmup": 0, "duration": 0.3, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native", "options": { "fio": "$T/badfio" } } ],
  "workloads": [ { "workload": "disk", "params": { "size": "4M" } }, { "workload": "cpu" } ] }
JSON
$BIN run "$T/p1.json" -q --no-report -o "$T/r1" 2>"$T/e1"; rc=$?
cat "$T/e1"
[ $rc -eq 4 ] || fail "failing fio: exit $rc, want 4"
grep -q "\[native\] disk rep 1 failed: .*injected failure" "$T/e1" || fail "fio's error not reported"
check_json "$T/r1/results.json" incomplete 2
python3 -c "
import json; r=json.load(open('$T/r1/results.json'))
assert any(x['workload']=='cpu' and x['n']==2 for x in r['results']), 'cpu did not run'
assert all('injected failure' in f['error'] for f in r['failures'])"  || fail "cpu should run despite disk failing"
no_leftovers "failing fio"

# A fake agent on loopback TCP: mode "garbage" answers hello with garbage; mode "die" says a
# valid hello and then closes the connection when asked to run.
cat >"$T/fake.py" <<'PY'
import json, socket, sys
mode, portfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(1)  # the kernel picks a free port
with open(portfile + ".tmp", "w") as pf:
    pf.write("%d\n" % s.getsockname()[1])
import os; os.rename(portfile + ".tmp", portfile)  # appears whole, once listening
c, _ = s.accept(); f = c.makefile("rwb")
f.readline()
if mode == "garbage":
    f.write(b"\x00\xffthis is not json\n"); f.flush()
    f.readline()
else:
    f.write((json.dumps({"op": "hello", "proto": 1, "agent": "fake", "version": "0",
                         "workloads": [], "facts": {"kernel": "fake"}}) + "\n").encode()); f.flush()
    f.readline()
c.close()
PY
printf 'a-long-enough-token-0123456789\n' >"$T/tok"; chmod 600 "$T/tok"
for mode in garbage die; do
	rm -f "$T/port"
	python3 "$T/fake.py" $mode "$T/port" &
	FAKE=$!
	# wait for the state (listening, port known), not for a time
	i=0
	while [ ! -s "$T/port" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || fail "fake agent did not start"
		kill -0 $FAKE 2>/dev/null || fail "fake agent died"
		sleep 0.1
	done
	PORT=$(cat "$T/port")
	cat >"$T/p2.json" <<JSON
{ "repetitions": 2, "warmup": 0, "duration": 0.3, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native" },
               { "name": "far", "kind": "remote",
                 "options": { "address": "127.0.0.1:$PORT", "token_file": "$T/tok", "connect_timeout": 5 } } ],
  "workloads": [ { "workload": "cpu" } ] }
JSON
	$BIN run "$T/p2.json" -q --no-report -o "$T/r2$mode" 2>"$T/e2"; rc=$?
	cat "$T/e2"
	[ $rc -eq 4 ] || fail "agent $mode: exit $rc, want 4"
	grep -q "far" "$T/e2" || fail "agent $mode: the target is not named"
	case $mode in
	garbage) grep -qi "malformed\|not json\|invalid\|protocol" "$T/e2" || fail "garbage: cause not named";;
	die) grep -qi "closed\|lost\|end of\|EOF" "$T/e2" || fail "die: cause not named";;
	esac
	check_json "$T/r2$mode/results.json" incomplete 1
	wait $FAKE 2>/dev/null; FAKE=""
done
no_leftovers "fake agents"

# 3. SIGTERM and SIGHUP mid-run: exit 4, valid incomplete results.
for sig in TERM HUP; do
	$BIN run "$T/p1.json" -q --no-report --reps 50 -o "$T/r3$sig" 2>"$T/e3" &
	pid=$!
	# results.json appears once the signal handlers are in place and a run is under way
	i=0
	until [ -s "$T/r3$sig/results.json" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || fail "SIG$sig: the run never started"
		sleep 0.1
	done
	kill -$sig $pid
	wait $pid; rc=$?
	[ $rc -eq 4 ] || { cat "$T/e3"; fail "SIG$sig: exit $rc, want 4"; }
	check_json "$T/r3$sig/results.json" incomplete 0
done
no_leftovers "signals"

# 4. A full disk under results.json: a clear error, the previous file stays whole.
mkdir -p "$T/full"
if mount -t tmpfs -o size=12k tmpfs "$T/full" 2>/dev/null; then
	cat >"$T/p4.json" <<JSON
{ "repetitions": 2, "warmup": 0, "duration": 0.2, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native" } ],
  "workloads": [ { "workload": "cpu" }, { "workload": "mem", "params": { "size": "24M", "chase_size": "8M" } } ] }
JSON
	$BIN run "$T/p4.json" -q --no-report -o "$T/full/r" 2>"$T/e4"; rc=$?
	cat "$T/e4"
	[ $rc -eq 3 ] || fail "full disk: exit $rc, want 3"
	grep -q "results.json could not be written" "$T/e4" || fail "full disk: final message"
	grep -q "cannot write results: .*No space left on device" "$T/e4" || fail "full disk: cause not named"
	python3 -c "import json; json.load(open('$T/full/r/results.json'))" || fail "full disk: results.json corrupt"
	ls "$T/full/r" | grep -q '\.tmp\.' && fail "full disk: temporary file left"
	umount "$T/full"
else
	echo "note: cannot mount a small tmpfs here; full-disk case not exercised"
fi
echo "faults ok"
exit 0
