#!/bin/sh
# Integration: the history store on a real PostgreSQL server this test starts (initdb + pg_ctl
# in a temp dir, Unix socket only, as user nobody when run as root — postgres refuses root):
# the same store tests as on SQLite (build/tests/test_store with HB_TEST_PG_*), then the CLI on
# it — a native run recorded with --db postgresql://, history list, compare --baseline-from,
# export — and the Grafana dashboard's SQL (deploy/grafana/) run against the same database.
set -u
BUILD=${HB_BUILD:-build}
BIN=${HB_BIN:-$BUILD/hvbench}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
	echo "SKIP: PostgreSQL server not installed (/usr/lib/postgresql/*/bin/initdb; make deps)"
	exit 77
fi
[ -x "$BUILD/tests/test_store" ] || { echo "FAIL: $BUILD/tests/test_store not built"; exit 1; }
T=$(mktemp -d /tmp/hb-it-pg.XXXXXX)
chmod 755 "$T"
AS=""
if [ "$(id -u)" = 0 ]; then
	AS="runuser -u nobody --"
	mkdir -p "$T/data" "$T/sock" "$T/log" && chown nobody "$T/data" "$T/sock" "$T/log"
fi
cleanup() {
	$AS "$PGBIN/pg_ctl" -D "$T/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/log/pg.log" ] && tail -20 "$T/log/pg.log"; exit 1; }

$AS "$PGBIN/initdb" -D "$T/data" -U hvbench --auth=trust -E UTF8 --no-sync >"$T/initdb.log" 2>&1 ||
	{ cat "$T/initdb.log"; fail "initdb"; }
# its own socket directory: no port or socket shared with anything else on the machine
$AS "$PGBIN/pg_ctl" -D "$T/data" -l "$T/log/pg.log" -w -t 60 \
	-o "-c listen_addresses='' -c unix_socket_directories=$T/sock -c fsync=off" start >/dev/null ||
	fail "pg_ctl start"
echo "postgresql $($PGBIN/postgres --version | awk '{print $3}') up on $T/sock"

# 1. the store tests, both backends
HB_TEST_PG_HOST="$T/sock" HB_TEST_PG_USER=hvbench "$BUILD/tests/test_store" >"$T/ts.log" 2>&1
rc=$?; cat "$T/ts.log"
[ $rc -eq 0 ] || fail "test_store against PostgreSQL"
grep -q "SKIP store-postgresql" "$T/ts.log" && fail "the PostgreSQL group did not run"
[ "$(grep -c '^\[  PASSED  \] 6 test(s).' "$T/ts.log")" -eq 2 ] || fail "expected the 6 common tests to pass on both backends"

# 2. the CLI on PostgreSQL
psql() { "$PGBIN/psql" -X -q -t -A -h "$T/sock" -U hvbench "$@"; }
psql -d postgres -c "CREATE DATABASE hvbench" || fail "create database"
URL="postgresql:///hvbench?host=$T/sock&user=hvbench"
cat >"$T/tiny.json" <<'J'
{"name": "tiny", "repetitions": 3, "warmup": 0, "duration": 0.3, "ramp": 0,
 "targets": [{"name": "native", "kind": "native"}],
 "workloads": [{"name": "cpu", "workload": "cpu"}]}
J
for i in 1 2; do
	"$BIN" run "$T/tiny.json" -q --no-report -o "$T/r$i" --db "$URL" --label run=$i 2>"$T/run.log" ||
		{ cat "$T/run.log"; fail "run $i"; }
	grep -q "warning" "$T/run.log" && { cat "$T/run.log"; fail "run $i warned"; }
done
"$BIN" history list --db "$URL" >"$T/list" || fail "history list"
cat "$T/list"
[ "$(grep -c ' tiny .* complete ' "$T/list")" -eq 2 ] || fail "two runs expected in the store"
"$BIN" compare --db "$URL" --baseline-from db:last=5 "$T/r2/results.json" >"$T/cmp"
rc=$?
[ $rc -le 1 ] || fail "compare against PostgreSQL exited $rc"
grep -q "^baseline: db:last=5 #1 (" "$T/cmp" || fail "compare: $(head -3 "$T/cmp")"
rows=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["results"]))' "$T/r1/results.json")
"$BIN" export --db "$URL" --format csv | grep -c ',tiny,complete,' | grep -qx "$((rows * 2))" ||
	fail "csv export from PostgreSQL"
[ "$(psql -d hvbench -c "SELECT count(*) FROM hb_labels WHERE key = 'run'")" = 2 ] || fail "labels not in PostgreSQL"

# 3. the Grafana dashboard's queries run on this schema and return rows (a fixture with VM
#    targets gives the VM-vs-native panel its comparisons)
"$BIN" history import --db "$URL" tests/fixtures/results-base.json >/dev/null || fail "import fixture"
if [ -f deploy/grafana/hvbench-dashboard.json ]; then
	python3 tests/grafana_sql.py deploy/grafana/hvbench-dashboard.json >"$T/q.txt" || fail "extracting the dashboard SQL"
	n=0
	while IFS= read -r q; do
		n=$((n + 1))
		out=$(psql -d hvbench -c "$q" 2>&1) || fail "dashboard query $n failed: $out
$q"
		[ -n "$out" ] || fail "dashboard query $n returned no rows: $q"
	done <"$T/q.txt"
	[ $n -ge 3 ] || fail "expected at least 3 dashboard queries, found $n"
	echo "grafana: $n dashboard queries ok"
fi
echo "postgresql store integration ok"
exit 0
