#!/bin/sh
# Integration: `kill -9` of hvbench in the middle of a native disk run leaves nothing running:
# fio (its jobs are threads of one process under a parent-death signal) stops at once, not when
# its runtime ends; the killed run's scratch directory is removed by the next run.
set -u
BIN=${HB_BIN:-build/hvbench}
T=$(mktemp -d /tmp/hb-it-orphans.XXXXXX)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
. tests/lib.sh
command -v fio >/dev/null || { echo "SKIP: fio not installed"; exit 77; }

# fio reads for 120 s: anything still reading after the kill is an orphan
cat >"$T/p.json" <<'JSON'
{"name": "orphans", "repetitions": 1, "warmup": 0, "duration": 120, "ramp": 0,
 "targets": [{"name": "native", "kind": "native"}],
 "workloads": [{"name": "disk", "workload": "disk",
                "params": {"rw": "randread", "size": "4M", "bs": "4k", "iodepth": 1,
                           "ioengine": "psync", "direct": false}}]}
JSON
mkdir "$T/scr"
$BIN run "$T/p.json" -q --no-report --scratch-dir "$T/scr" -o "$T/out" 2>"$T/log" &
pid=$!

# bytes read by this test's fio processes: pread() by the job (the layout only writes)
fio_read() {
	n=0
	for p in $(hb_leftovers | awk '$2 ~ /fio$/ {print $1}'); do
		r=$(awk '/^rchar:/ {print $2}' "/proc/$p/io" 2>/dev/null)
		n=$((n + ${r:-0}))
	done
	echo $n
}
# wait for the state "fio's job is reading", not for a time
i=0
while [ "$(fio_read)" -lt 1048576 ]; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "fio never started reading: $(cat "$T/log")"
	kill -0 $pid 2>/dev/null || fail "hvbench ended early: $(cat "$T/log")"
	sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null
# everything must be gone well before fio's 120 s runtime would end
left=$(hb_wait_no_leftovers 10) || fail "left running 10 s after kill -9: $left"
ls "$T/scr" | grep -q '^hvbench-scratch\.' || fail "expected the killed run's scratch dir"

# the next run removes the dead run's scratch directory
sed 's/"duration": 120/"duration": 0.2/' "$T/p.json" >"$T/q.json"
$BIN run "$T/q.json" -q --no-report --scratch-dir "$T/scr" -o "$T/out2" 2>"$T/log2" ||
	fail "second run: $(cat "$T/log2")"
[ -z "$(ls "$T/scr")" ] || fail "stale scratch left: $(ls "$T/scr")"
echo "ok"
