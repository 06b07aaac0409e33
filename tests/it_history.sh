#!/bin/sh
# Integration: a short native run with labels lands in an SQLite history store; results.json,
# every results fixture and the real run validate against docs/results.schema.json (the
# malformed fixture must not); `history list|show|export|import|prune` work on it;
# `compare --baseline-from db:last=5` gates against pooled stored runs; a store that cannot be
# written only warns (results.json intact, the junk file untouched); exports parse: CSV with
# python's csv module, OpenMetrics with promtool (when the prometheus package provides it) and
# a strict line parser, InfluxDB line protocol with a parser, JSON round trip.
set -u
BIN=${HB_BIN:-build/hvbench}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
SRC=$(pwd)
T=$(mktemp -d /tmp/hb-it-history.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
DB="$T/h.db"
unset HVBENCH_DB

python3 -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema not installed (make deps)"; exit 77; }

cat >"$T/tiny.json" <<'EOF'
{"name": "tiny", "repetitions": 3, "warmup": 0, "duration": 0.3, "ramp": 0,
 "targets": [{"name": "native", "kind": "native"}],
 "workloads": [{"name": "cpu", "workload": "cpu"}, {"name": "mem", "workload": "mem"}]}
EOF

# 1. a run with labels lands in the store
$BIN run "$T/tiny.json" -q -o "$T/r1" --db "$DB" --label commit=abc123 --label branch=main 2>"$T/log"
rc=$?; cat "$T/log"
[ $rc -eq 0 ] || fail "run exited $rc"
grep -q "history: recorded as run 1" "$T/log" && fail "-q must not print the history line"
$BIN history list --db "$DB" >"$T/list" || fail "history list"
cat "$T/list"
grep -q "^ *1 .* tiny .* complete .*branch=main,commit=abc123" "$T/list" || fail "run 1 not listed with labels"
$BIN run "$T/tiny.json" -q -o "$T/r1" --label 'bad key=x' 2>"$T/err"; [ $? -eq 2 ] || fail "bad label key must exit 2"
grep -q "the key may hold letters, digits and _" "$T/err" || fail "bad label message: $(cat "$T/err")"

# 2. the schema: fixtures and the real run validate, the malformed fixture does not
python3 - "$SRC/docs/results.schema.json" "$T/r1/results.json" "$SRC"/tests/fixtures/results-*.json <<'PY' || fail "schema validation"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[2:]:
    errs = sorted(v.iter_errors(json.load(open(f))), key=str)
    if f.endswith("results-malformed.json"):
        assert errs and "'fast' is not of type 'number'" in errs[0].message, (f, errs)
    else:
        assert not errs, (f, [e.message for e in errs])
    print("schema:", f.split("/")[-1], "invalid as expected" if errs else "valid")
r = json.load(open(sys.argv[2]))
assert r["labels"] == {"commit": "abc123", "branch": "main"}, r.get("labels")
PY

# 3. show, export (identical document), import of the same file (a duplicate)
$BIN history show 1 --db "$DB" >"$T/show" || fail "history show"
grep -q "labels: commit=abc123,branch=main" "$T/show" || fail "show: $(cat "$T/show")"
grep -q "native  *cpu  *ops " "$T/show" || fail "show lacks cpu ops"
$BIN history export 1 --db "$DB" -o "$T/back.json" || fail "history export"
python3 -c "import json,sys; a=json.load(open('$T/r1/results.json')); b=json.load(open('$T/back.json')); sys.exit(a!=b)" ||
	fail "exported document differs from results.json"
$BIN history import --db "$DB" "$T/r1/results.json" | grep -q "already stored as run 1" || fail "duplicate import"
$BIN history show 99 --db "$DB" 2>"$T/err"; [ $? -eq 2 ] || fail "show of a missing run must exit 2"
grep -q "no run 99" "$T/err" || fail "missing run message: $(cat "$T/err")"

# 4. compare --baseline-from: three stored runs of the fixture's profile, the regressed one current
python3 - "$SRC/tests/fixtures/results-base.json" "$T" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for i, day in enumerate(("15", "17", "19")):
    d["started_at"] = "2026-11-%sT02:00:00.000Z" % day
    json.dump(d, open("%s/base%d.json" % (sys.argv[2], i), "w"))
PY
$BIN history import --db "$DB" "$T"/base0.json "$T"/base1.json "$T"/base2.json >/dev/null || fail "import"
# (the fixture's regression is native's own: --gate absolute, as the default gate calls a
# native-only change host drift)
$BIN compare --gate absolute --db "$DB" --baseline-from db:last=5 "$SRC/tests/fixtures/results-regress.json" >"$T/cmp"
rc=$?; head -4 "$T/cmp"
[ $rc -eq 1 ] || fail "compare against the stored baseline should find the regression (exit $rc)"
grep -q "^baseline: db:last=5 #1 (2026-11-19T02:00:00.000Z), db:last=5 #2 (2026-11-17T02:00:00.000Z), db:last=5 #3 (2026-11-15T02:00:00.000Z)" "$T/cmp" || fail "baselines not named: $(grep -i baseline "$T/cmp")"
grep -q "^REGRESSION: native disk-randread/iops by absolute: " "$T/cmp" || fail "regression not found"
$BIN compare --gate absolute --db "$DB" --baseline-from db:last=5 "$SRC/tests/fixtures/results-improve.json" >/dev/null
[ $? -eq 0 ] || fail "an improvement must pass"
$BIN compare --db "$T/empty.db" --baseline-from db:last=5 "$SRC/tests/fixtures/results-regress.json" 2>"$T/err"
[ $? -eq 2 ] || fail "no baseline in the store must exit 2"
grep -q 'no complete run of profile "nightly" on host "bench-01"' "$T/err" || fail "message: $(cat "$T/err")"

# 5. a store that cannot be used warns; the run and results.json are fine; junk stays junk
echo "my notes, not a database" >"$T/notes.db"
cp "$T/notes.db" "$T/notes.orig"
$BIN run "$T/tiny.json" -q -o "$T/r2" --db "$T/notes.db" 2>"$T/log2"
rc=$?; cat "$T/log2"
[ $rc -eq 0 ] || fail "a broken store must not fail the run (exit $rc)"
grep -q "warning: run not recorded in the history store: .*not a usable SQLite database" "$T/log2" || fail "no warning"
cmp -s "$T/notes.db" "$T/notes.orig" || fail "the foreign file was modified"
[ -s "$T/r2/results.json" ] || fail "results.json missing"

# 6. exports
$BIN export "$T/r1/results.json" --format csv -o "$T/out.csv" || fail "csv export"
python3 - "$T/out.csv" "$T/r1/results.json" <<'PY' || fail "csv"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
r = json.load(open(sys.argv[2]))
assert len(rows) == len(r["results"]), (len(rows), len(r["results"]))
for row, res in zip(rows, r["results"]):
    assert row["label:commit"] == "abc123" and row["label:branch"] == "main", row
    assert (row["target"], row["workload"], row["metric"]) == (res["target"], res["workload"], res["metric"])
    assert abs(float(row["median"]) - res["median"]) <= 1e-9 * abs(res["median"]), (row["median"], res["median"])
    assert int(row["n"]) == 3
print("csv ok:", len(rows), "rows")
PY
$BIN export "$SRC/tests/fixtures/results-base.json" "$T/r1/results.json" --format openmetrics -o "$T/om.txt" || fail "openmetrics export"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$T/om.txt" || fail "promtool check metrics"
	echo "promtool: ok"
else
	echo "promtool not installed (prometheus package): the parser check below only"
fi
python3 - "$T/om.txt" <<'PY' || fail "openmetrics parse"
import re, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-2] == "# EOF" and lines[-1] == "", lines[-3:]
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
lv = r'"(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r"^(%s)(\{[a-zA-Z_][a-zA-Z0-9_]*=%s(?:,[a-zA-Z_][a-zA-Z0-9_]*=%s)*\})? (\S+)$" % (name, lv, lv))
fams, seen, cur = [], set(), None
for l in lines[:-2]:
    if l.startswith("# TYPE "):
        cur = l.split()[2]
        assert cur not in fams, "family %s split" % cur
        fams.append(cur)
        continue
    if l.startswith("#"):
        assert l.split()[1] in ("HELP", "UNIT") and l.split()[2] == cur, l
        continue
    m = sample.match(l)
    assert m, "bad sample line: " + l
    assert m.group(1) == cur, (m.group(1), cur)
    float(m.group(3).replace("+Inf", "inf").replace("-Inf", "-inf"))
    key = (m.group(1), m.group(2))
    assert key not in seen, "duplicate series " + l
    seen.add(key)
assert 'commit="abc123"' in open(sys.argv[1]).read()
assert 'hvbench_vs_baseline_ratio{host="bench-01"' in open(sys.argv[1]).read()
print("openmetrics ok:", len(fams), "families,", len(seen), "series")
PY
$BIN export "$T/r1/results.json" "$T/r1/results.json" --format openmetrics >/dev/null 2>"$T/err"
[ $? -eq 2 ] || fail "two runs of one host and profile in OpenMetrics must exit 2"
grep -q "one run per host and profile" "$T/err" || fail "message: $(cat "$T/err")"
$BIN export --db "$DB" --format influx -o "$T/out.lp" || fail "influx export"
python3 - "$T/out.lp" "$T/r1/results.json" <<'PY' || fail "influx parse"
import re, sys, json, datetime
key = r"(?:[^,= \\]|\\[,= \\])+"
line = re.compile(r"^hvbench((?:,%s=%s)+) ([a-z0-9_]+=-?[0-9.eE+-]+i?(?:,[a-z0-9_]+=-?[0-9.eE+-]+i?)*) (\d+)$" % (key, key))
r = json.load(open(sys.argv[2]))
t0 = datetime.datetime.strptime(r["started_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
n = mine = 0
for l in open(sys.argv[1]).read().splitlines():
    m = line.match(l)
    assert m, "bad line: " + l
    n += 1
    if ",commit=abc123" in m.group(1):
        mine += 1
        assert int(m.group(3)) == int(t0.timestamp()) * 10**9, (m.group(3), t0)
        assert "n=3i" in m.group(2)
assert mine == len(r["results"]), (mine, len(r["results"]))
print("influx ok:", n, "points")
PY
$BIN export --db "$DB" --run 1 --format json -o "$T/one.json" || fail "json export"
python3 -c "import json,sys; sys.exit(json.load(open('$T/one.json'))!=json.load(open('$T/r1/results.json')))" || fail "json export differs"
$BIN export "$T/r1/results.json" --format yaml 2>"$T/err"; [ $? -eq 2 ] || fail "unknown format must exit 2"

# 7. prune: keep the newest run per host and profile
$BIN history prune --db "$DB" --keep-last 1 --dry-run | tail -1 | grep -q "^2 runs would be deleted" || fail "prune dry run"
$BIN history list --db "$DB" | grep -c "nightly" | grep -qx 3 || fail "dry run deleted something"
$BIN history prune --db "$DB" --keep-last 1 | tail -1 | grep -q "^2 runs deleted" || fail "prune"
$BIN history list --db "$DB" | grep -c "nightly" | grep -qx 1 || fail "prune kept the wrong number"
echo "history integration ok"
exit 0
