# tests/lib.sh — helpers for the integration scripts (sourced). Every process a test starts
# inherits HB_TEST_TAG, so "did anything survive?" looks only at this test's processes, even
# when other hvbench runs share the machine.
HB_TEST_TAG="hbtest-$$-$(date +%s)"
export HB_TEST_TAG
# Prints "PID ARGS" of every live process carrying this test's tag (none: prints nothing).
hb_leftovers() {
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" = "$$" ] && continue
		if { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qx "HB_TEST_TAG=$HB_TEST_TAG"; then
			printf '%s %s\n' "${d#/proc/}" "$({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null)"
		fi
	done
}
# Waits (polling, up to $1 seconds) until none of this test's processes is left; on timeout
# prints "PID ARGS" of the survivors and returns 1. A state, not a fixed sleep.
hb_wait_no_leftovers() {
	_n=$(( $1 * 10 ))
	while _left=$(hb_leftovers); [ -n "$_left" ]; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || { echo "$_left"; return 1; }
		sleep 0.1
	done
	return 0
}
# The preamble of a test that boots the guest: python3 (results checks), QEMU and a guest
# image (tools/mkguest.sh builds it or says it cannot: then the test is skipped). $1 = BUILD.
hb_require_guest() {
	command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing (used to check results.json)"; exit 77; }
	command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
	sh tools/mkguest.sh "$1"
	_rc=$?
	[ $_rc -eq 2 ] && { echo "SKIP: guest image cannot be built (no kernel package)"; exit 77; }
	[ $_rc -eq 0 ] || { echo "FAIL: mkguest.sh exited $_rc"; exit 1; }
}
