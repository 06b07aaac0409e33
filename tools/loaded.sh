#!/bin/sh
# Runs the test suite (or the named tests) with every CPU kept busy, to catch timing races:
# tests must pass on a loaded machine. The load is stress-ng --cpu N (N = online CPUs), or N
# shell busy loops when stress-ng is missing; it is stopped on every exit path.
#   sh tools/loaded.sh [BUILD] [TEST...]     TEST: test_* binary names or it_*.sh scripts
# Exit status: that of tests/run.sh (whole suite), else 1 when any named test failed.
set -u
BUILD=${1:-build}
[ $# -gt 0 ] && shift
N=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
loadpids=""
stop_load() {
	for p in $loadpids; do kill "$p" 2>/dev/null; done
	for p in $loadpids; do wait "$p" 2>/dev/null; done
	loadpids=""
}
trap 'stop_load' EXIT
trap 'exit 130' INT TERM HUP
if command -v stress-ng >/dev/null 2>&1; then
	stress-ng --cpu "$N" --quiet >/dev/null 2>&1 &
	loadpids=$!
	echo "loaded.sh: stress-ng --cpu $N"
else
	i=0
	while [ $i -lt "$N" ]; do
		sh -c 'while :; do :; done' &
		loadpids="$loadpids $!"
		i=$((i + 1))
	done
	echo "loaded.sh: $N busy loops (stress-ng not installed)"
fi
if [ $# -eq 0 ]; then
	sh tests/run.sh "$BUILD"
	exit $?
fi
export HB_BUILD="$BUILD" HB_BIN="$BUILD/hvbench" HB_GUEST_BIN="$BUILD/hvbench-guest"
rc=0
for t in "$@"; do
	case $t in
	it_*) cmd="sh tests/${t%.sh}.sh" ;;
	*) cmd="$BUILD/tests/$t" ;;
	esac
	$cmd >"$BUILD/loaded-${t%.sh}.log" 2>&1
	r=$?
	case $r in
	0) echo "PASS  $t" ;;
	77) echo "SKIP  $t" ;;
	*) echo "FAIL  $t (exit $r): see $BUILD/loaded-${t%.sh}.log"; rc=1 ;;
	esac
done
exit $rc
