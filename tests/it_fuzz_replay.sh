#!/bin/sh
# Builds the libFuzzer harnesses (make fuzz, clang + ASan/UBSan) and replays each seed corpus
# fuzz/corpus/<name> with $BUILD/fuzz/fuzz_<name>: every seed once (-runs=0), then 5000
# mutations from a private copy (new inputs never land in the source tree). fuzz_results_scale
# builds documents of up to 4000 rows per input (~0.1 s each under ASan), so it gets 300
# mutations: 5000 took ~9 minutes of `make test`. Any crash, leak, sanitizer report or timeout
# fails. Skips with a reason when clang or its fuzzer runtime is
# missing.
set -u
BUILD=${HB_BUILD:-build}
if [ -n "${HB_ASAN_PASS:-}" ]; then
	echo "SKIP: the harnesses are ASan/UBSan builds already; they ran in the plain pass (make test)"
	exit 77
fi
if ! command -v clang >/dev/null 2>&1; then
	echo "SKIP: clang is not installed (libFuzzer needs it; see tools/deps.sh)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/hb-fuzz-replay.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$work/probe.c"
if ! clang -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
	echo "SKIP: clang cannot link -fsanitize=fuzzer (libclang-rt-14-dev missing?)"
	exit 77
fi
make -s -j"$(nproc 2>/dev/null || echo 2)" BUILD="$BUILD" fuzz >"$work/build.log" 2>&1 || { cat "$work/build.log"; echo "FAIL: make fuzz"; exit 1; }
found=0
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	corpus=fuzz/corpus/$name
	if [ ! -d "$corpus" ]; then
		echo "FAIL: $bin has no seed corpus $corpus"
		exit 1
	fi
	found=$((found + 1))
	nseeds=$(ls "$corpus" | wc -l)
	echo "== $name: replaying $nseeds seeds"
	"$bin" -runs=0 -timeout=10 -artifact_prefix="$work/" "$corpus" >"$work/$name.replay.log" 2>&1 || {
		tail -40 "$work/$name.replay.log"; echo "FAIL: $name crashed on a seed"; exit 1; }
	mkdir -p "$work/$name"
	cp "$corpus"/* "$work/$name/"
	runs=5000
	[ "$name" = results_scale ] && runs=300
	echo "== $name: $runs mutations"
	"$bin" -runs=$runs -seed=1 -max_len=4096 -timeout=10 -max_total_time=300 \
		-artifact_prefix="$work/" "$work/$name" >"$work/$name.fuzz.log" 2>&1 || {
		tail -40 "$work/$name.fuzz.log"; echo "FAIL: $name found a problem"; exit 1; }
	grep -E '^Done|^#[0-9]+.*DONE' "$work/$name.fuzz.log" | tail -1
done
if [ "$found" -eq 0 ]; then
	echo "FAIL: make fuzz built no harness"
	exit 1
fi
echo "ok: $found harnesses, seeds replayed, 5000 mutations each (results_scale 300), no findings"
