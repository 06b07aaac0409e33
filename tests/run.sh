#!/bin/sh
# Runs every unit test binary (build/tests/test_*) and integration script (tests/it_*.sh).
# Exit 77 from a test means "skipped" (with its reason printed by the test). Ends with the
# plain summary line "N passed, N failed, N skipped" and exits non-zero on any failure.
BUILD=${1:-build}
pass=0; fail=0; skip=0; failed=""
export HB_BUILD="$BUILD" HB_BIN="$BUILD/hvbench" HB_GUEST_BIN="$BUILD/hvbench-guest"
# runs made by the tests are recorded here, not in the user's history store
case $BUILD in /*) absbuild=$BUILD ;; *) absbuild=$(pwd)/$BUILD ;; esac
export HVBENCH_DB="${HVBENCH_DB:-$absbuild/test-history.db}"
run_one() {
	name=$1; shift
	log="$BUILD/test-logs/$name.log"
	mkdir -p "$BUILD/test-logs"
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass+1)); echo "PASS  $name (${secs}s)";;
	77) skip=$((skip+1)); echo "SKIP  $name: $(grep -m1 -i 'skip' "$log" || echo 'no reason given')";;
	*) fail=$((fail+1)); failed="$failed $name"; echo "FAIL  $name (exit $rc, ${secs}s)"; sed 's/^/    | /' "$log" | tail -40;;
	esac
}
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for t in tests/it_*.sh; do
	[ -f "$t" ] || continue
	case " ${HB_ONLY:-$(basename "$t")} " in *" $(basename "$t") "*) ;; *) continue;; esac
	run_one "$(basename "$t" .sh)" sh "$t"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
