#!/bin/sh
# Integration: a "remote" target — hvbench-guest listening on TCP with a token (here on
# loopback, standing in for a VM on another hypervisor). The run gets comparisons against
# native; a wrong token is refused with a clear error and never echoed.
set -u
BIN=${HB_BIN:-build/hvbench}
GBIN=${HB_GUEST_BIN:-build/hvbench-guest}
T=$(mktemp -d /tmp/hb-it-remote.XXXXXX)
AGENT=""
cleanup() { [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
PORT=$((20000 + $$ % 20000))
IPORT=$((PORT + 1))

printf 's3cret-token-%s-abcdef\n' "$$" >"$T/token"; chmod 600 "$T/token"
printf 'wrong-token\n' >"$T/bad"; chmod 600 "$T/bad"
$GBIN --tcp "127.0.0.1:$PORT" --token-file "$T/token" --quiet &
AGENT=$!
cat >"$T/p.json" <<JSON
{ "name": "remote", "repetitions": 3, "warmup": 0, "duration": 0.5, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native" },
               { "name": "far", "kind": "remote",
                 "options": { "address": "127.0.0.1:$PORT", "token_file": "$T/token",
                              "iperf_bind": "127.0.0.1", "iperf_port": $IPORT } } ],
  "workloads": [ { "workload": "cpu" },
                 { "workload": "mem", "params": { "size": "24M", "chase_size": "8M" } },
                 { "workload": "net" } ],
  "probes": { "proc": {} } }
JSON
$BIN run "$T/p.json" -q --no-report -o "$T/r" 2>"$T/log"; rc=$?
cat "$T/log"
[ $rc -eq 0 ] || fail "remote run exited $rc"
python3 - "$T/r/results.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "complete", r["status"]
c = {(x["target"], x["workload"], x["metric"]) for x in r["comparisons"]}
for k in [("far", "cpu", "ops"), ("far", "mem", "copy_bw"), ("far", "net", "throughput")]:
    assert k in c, (k, sorted(c))
far = [t for t in r["targets"] if t["name"] == "far"][0]
assert far["kind"] == "remote" and far["info"]["guest"]["kernel"], far
print("remote ok:", len(r["comparisons"]), "comparisons")
PY

sed "s|$T/token|$T/bad|" "$T/p.json" >"$T/p2.json"
$BIN run "$T/p2.json" -q --no-report --targets far -o "$T/r2" 2>"$T/log2"; rc=$?
cat "$T/log2"
[ $rc -eq 3 ] || fail "wrong token should fail the run (exit 3), got $rc"
grep -q "authentication failed" "$T/log2" || fail "no 'authentication failed' in the error"
grep -q "wrong-token" "$T/log2" "$T/r2/results.json" && fail "the token was echoed"
# a workload the target cannot run (net without iperf_bind) is skipped once, not failed
python3 - "$T/p.json" "$T/p3.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for t in p["targets"]:
    t.get("options", {}).pop("iperf_bind", None)
json.dump(p, open(sys.argv[2], "w"))
PY
$BIN run "$T/p3.json" -q --no-report --targets far -o "$T/r3" 2>"$T/log3"; rc=$?
cat "$T/log3"
[ $rc -eq 0 ] || fail "a skipped workload should not fail the run (exit $rc)"
[ "$(grep -c 'net skipped: ' "$T/log3")" -eq 1 ] || fail "the skip should be said exactly once"
python3 - "$T/r3/results.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "complete" and r["failures"] == [], (r["status"], r["failures"])
assert [(x["target"], x["workload"]) for x in r["skipped"]] == [("far", "net")], r["skipped"]
assert "iperf_bind" in r["skipped"][0]["reason"]
PY
echo "remote integration ok"
exit 0
