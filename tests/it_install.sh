#!/bin/sh
# Integration: `make install DESTDIR=... PREFIX=/usr` installs binaries, profiles, the guest
# image builder, docs, the man page and bash completion; the installed hvbench, run from another
# directory, lists the installed profiles and runs one by name (native, short) with no source
# tree; its guest image search honours HVBENCH_BUILD; `man -l` renders a section per command;
# completion completes commands; `make deb` builds a package holding the same tree.
set -u
BUILD=${HB_BUILD:-build}
T=$(mktemp -d /tmp/hb-it-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
R="$T/root"

make -s --no-print-directory install BUILD="$BUILD" DESTDIR="$R" PREFIX=/usr >"$T/make.log" 2>&1 ||
	{ cat "$T/make.log"; fail "make install"; }
for f in usr/bin/hvbench usr/bin/hvbench-guest usr/bin/hvbench-mkguest usr/lib/hvbench/mkguest.sh usr/lib/hvbench/fiostub.sh \
	usr/lib/hvbench/guest-init usr/share/hvbench/profiles/quick.json usr/share/man/man1/hvbench.1.gz \
	usr/share/bash-completion/completions/hvbench usr/share/doc/hvbench/results.schema.json \
	usr/share/doc/hvbench/README.md; do
	[ -e "$R/$f" ] || fail "not installed: /$f"
done
HB="$R/usr/bin/hvbench"

# from a directory with no source tree in sight
mkdir -p "$T/elsewhere" && cd "$T/elsewhere" || exit 1
unset HVBENCH_PROFILES HVBENCH_BUILD
export HVBENCH_DB="$T/history.db" XDG_CACHE_HOME="$T/cache" XDG_CONFIG_HOME="$T/config"
"$HB" list >"$T/list" || fail "installed hvbench list"
grep -qx "  $R/usr/share/hvbench/profiles/quick.json" "$T/list" || fail "installed profiles not listed: $(tail -5 "$T/list")"
"$HB" validate quick >"$T/val" || fail "validate quick by name"
grep -q 'valid profile "quick"' "$T/val" || fail "validate output: $(cat "$T/val")"
"$HB" validate nosuch 2>"$T/err"; [ $? -eq 2 ] || fail "unknown profile must exit 2"
grep -q "no profile \"nosuch\": not a file, and not in the profile search path (.*$R/usr/share/hvbench/profiles" "$T/err" ||
	fail "unknown profile message: $(cat "$T/err")"
"$HB" run quick --targets native --reps 1 --warmup 0 --duration 0.5 -q -o out >"$T/run.log" 2>&1
rc=$?; cat "$T/run.log"
[ $rc -eq 0 ] || fail "installed native run exited $rc"
[ -s out/results.json ] && [ -s out/report.md ] || fail "no results/report in the run directory"
"$HB" history list | grep -q " quick .* complete" || fail "installed run not recorded"

# the guest image search path: HVBENCH_BUILD wins when it holds an image
mkdir -p "$T/img/guest" && : >"$T/img/guest/vmlinux" && : >"$T/img/guest/initrd.img" &&
	: >"$T/img/guest/tools.img"
printf '{"name":"g","targets":[{"name":"native","kind":"native"}],"workloads":[{"workload":"cpu"}]}' >"$T/g.json"
HVBENCH_BUILD="$T/img" "$HB" validate "$T/g.json" >/dev/null || fail "validate with HVBENCH_BUILD"

# the man page: one section per command
MANWIDTH=80 man -l "$R/usr/share/man/man1/hvbench.1.gz" >"$T/man.txt" 2>"$T/man.err" || fail "man -l: $(cat "$T/man.err")"
for s in "run PROFILE" "validate PROFILE" "report RESULTS.json" "compare BASELINE.json" \
	"history list|show|import|export|prune" "export" "list" "probes" "HISTORY STORE" "FILES" "EXIT STATUS"; do
	grep -q "^ *$s" "$T/man.txt" || fail "man page lacks section \"$s\""
done

# bash completion
if command -v bash >/dev/null; then
	out=$(bash -c ". '$R/usr/share/bash-completion/completions/hvbench'; COMP_WORDS=(hvbench hi); COMP_CWORD=1; _hvbench; echo \${COMPREPLY[*]}")
	[ "$out" = "history" ] || fail "completion of 'hi': '$out'"
	out=$(bash -c ". '$R/usr/share/bash-completion/completions/hvbench'; COMP_WORDS=(hvbench export --format o); COMP_CWORD=3; _hvbench; echo \${COMPREPLY[*]}")
	[ "$out" = "openmetrics" ] || fail "completion of --format o: '$out'"
fi

# make deb
cd - >/dev/null || exit 1
if command -v dpkg-deb >/dev/null; then
	make -s --no-print-directory deb BUILD="$BUILD" >"$T/deb.log" 2>&1 || { cat "$T/deb.log"; fail "make deb"; }
	deb=$(ls "$BUILD"/hvbench_*.deb | head -1)
	dpkg-deb -c "$deb" >"$T/deb.list" && grep -q " ./usr/bin/hvbench$" "$T/deb.list" || fail "deb lacks usr/bin/hvbench"
	dpkg-deb -f "$deb" Depends | grep -q "libsqlite3-0" || fail "deb Depends"
	echo "deb ok: $deb"
else
	echo "dpkg-deb not available: make deb not checked"
fi
echo "install integration ok"
exit 0
