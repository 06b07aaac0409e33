#!/bin/sh
# Integration: the Ansible fleet run end to end (deploy/ansible/fleet.yml) on an inventory of
# two hosts that are this machine (ansible_connection=local, distinct names, install roots and
# work dirs): `make bundle`, the role unpacks and checks hvbench on each, runs a short
# native-only profile labelled per host, fetches both results.json; the controller play loads
# them into one store and renders one report with a column per host. Takes a minute or two.
set -u
BUILD=${HB_BUILD:-build}
command -v ansible-playbook >/dev/null 2>&1 || { echo "SKIP: ansible-playbook not installed (Debian package ansible; make deps)"; exit 77; }
SRC=$(pwd)
T=$(mktemp -d /tmp/hb-it-ansible.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

make -s --no-print-directory bundle BUILD="$BUILD" >"$T/bundle.log" 2>&1 || { cat "$T/bundle.log"; fail "make bundle"; }
BUNDLE=$(sed -n 's/^bundle: //p' "$T/bundle.log")
[ -f "$BUNDLE" ] || fail "no bundle ($BUNDLE)"
case $BUNDLE in /*) ;; *) BUNDLE="$SRC/$BUNDLE" ;; esac
case $BUILD in /*) CBIN="$BUILD/hvbench" ;; *) CBIN="$SRC/$BUILD/hvbench" ;; esac

cat >"$T/inventory.ini" <<EOF2
[hvbench]
alpha ansible_connection=local hvbench_root=$T/alpha hvbench_work_dir=$T/alpha-work hvbench_db=$T/alpha.db
beta  ansible_connection=local hvbench_root=$T/beta  hvbench_work_dir=$T/beta-work  hvbench_db=$T/beta.db

[hvbench:vars]
ansible_python_interpreter=/usr/bin/python3
hvbench_install_deps=false
hvbench_build_guest=false
hvbench_profile=quick
hvbench_targets=native
hvbench_run_throttle=1
hvbench_fetch_dir=$T/fetched
hvbench_bundle=$BUNDLE
EOF2
cat >"$T/vars.json" <<EOF2
{"hvbench_run_args": ["--reps", "2", "--warmup", "0", "--duration", "0.3"],
 "hvbench_labels": {"commit": "abc123"},
 "hvbench_controller_bin": "$CBIN", "hvbench_store": "$T/central.db"}
EOF2
export ANSIBLE_LOCAL_TEMP="$T/ans-local" ANSIBLE_REMOTE_TEMP="$T/ans-remote" ANSIBLE_NOCOLOR=1 \
	ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_STDOUT_CALLBACK=default
unset HVBENCH_DB
ansible-playbook -i "$T/inventory.ini" -e "@$T/vars.json" "$SRC/deploy/ansible/fleet.yml" >"$T/play.log" 2>&1
rc=$?
tail -25 "$T/play.log"
[ $rc -eq 0 ] || fail "ansible-playbook exited $rc"

for h in alpha beta; do
	[ -x "$T/$h/usr/bin/hvbench" ] || fail "$h: not installed"
	python3 - "$T/fetched/$h/results.json" "$h" <<'PY' || fail "$h: fetched results"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "complete", r["status"]
assert r["labels"] == {"fleet_host": sys.argv[2], "commit": "abc123"}, r["labels"]
assert [t["name"] for t in r["targets"]] == ["native"]
assert all(x["n"] == 2 for x in r["results"]), "reps"
PY
	"$CBIN" history list --db "$T/$h.db" | grep -q "fleet_host=$h" || fail "$h: not in its own store"
done
"$CBIN" history list --db "$T/central.db" >"$T/central"
cat "$T/central"
[ "$(grep -c ' quick .* complete ' "$T/central")" -eq 2 ] || fail "central store should hold both hosts' runs"
grep -q "fleet_host=alpha" "$T/central" && grep -q "fleet_host=beta" "$T/central" || fail "host labels in the store"
R="$T/fetched/report/report.md"
[ -s "$R" ] || fail "no cross-host report"
grep -q "^| metric | run 1: native | run 2: native |$" "$R" || fail "report: not one column per host: $(grep '^| metric' "$R")"
grep -q "^| label fleet_host | alpha | beta |$" "$R" || grep -q "^| label fleet_host | beta | alpha |$" "$R" ||
	fail "report does not name the hosts: $(grep 'label' "$R")"
echo "ansible fleet integration ok"
exit 0
