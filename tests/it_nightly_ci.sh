#!/bin/sh
# Integration: the example workflow docs/nightly-ci.yml, unattended. Its shell steps run as a CI
# runner would run them (sudo steps as root with SUDO_UID set to an unprivileged user, the other
# steps as that user), with a small native profile instead of configs/nightly.json and a local
# bare repository as origin holding the baselines branch. Checks: the results directory belongs
# to the invoking user after `sudo hvbench run`, the run logs one line per finished workload
# without a terminal, compare passes (exit 0, Markdown verdict first), the final step passes;
# then a run that cannot start makes the job fail through the same steps.
set -u
BIN=${HB_BIN:-build/hvbench}
BUILD=$(cd "$(dirname "$BIN")" && pwd)
SRC=$(pwd)
T=$(mktemp -d /tmp/hb-it-ci.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (runs steps as root and as an unprivileged user)"; exit 77; }
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml missing (tools/deps.sh installs it)"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv (util-linux) missing"; exit 77; }
CI_UID=65534 CI_GID=65534
chmod 755 "$T"

# a tiny profile standing in for the nightly one
cat >"$T/tiny.json" <<'JSON'
{ "name": "tiny-nightly", "repetitions": 4, "warmup": 0, "duration": 0.3, "ramp": 0,
  "targets": [ { "name": "native", "kind": "native" } ],
  "workloads": [ { "name": "cpu", "workload": "cpu" }, { "name": "mem", "workload": "mem" } ],
  "probes": { "proc": {} } }
JSON

# origin: a bare repository with a baselines branch holding ci-runner/run-1.json
"$BIN" run "$T/tiny.json" -q --no-report -o "$T/b1" 2>/dev/null || fail "baseline run"
git init -q "$T/seed" && cd "$T/seed" || fail "git init"
git checkout -q -b baselines
mkdir ci-runner && cp "$T/b1/results.json" ci-runner/run-1.json
git add . && git -c user.name=t -c user.email=t@t commit -qm base || fail "git commit"
git clone -q --bare "$T/seed" "$T/origin.git" || fail "git clone"
cd "$SRC" || fail "cd"

# the workspace a checkout would give: build/ and the profile reachable
W="$T/ws"
mkdir -p "$W" "$T/home"
git init -q "$W" && git -C "$W" remote add origin "$T/origin.git"
ln -s "$BUILD" "$W/build"
# sudo: the runner's user is CI_UID; sudo runs the command as root and says who asked
mkdir -p "$T/bin"
cat >"$T/bin/sudo" <<SH
#!/bin/sh
exec env SUDO_UID=$CI_UID SUDO_GID=$CI_GID SUDO_USER=nobody "\$@"
SH
chmod 755 "$T/bin/sudo"
chown -R $CI_UID:$CI_GID "$T/ws" "$T/home" "$T/origin.git"

# steps: extracts each step with a run: block, substitutes the expressions it uses
python3 - "$SRC/docs/nightly-ci.yml" "$T/steps" <<'PY' || fail "cannot read the workflow"
import os, re, sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
os.makedirs(sys.argv[2])
steps = wf["jobs"]["bench"]["steps"]
env = wf.get("env", {})
with open(os.path.join(sys.argv[2], "env"), "w") as f:
    for k, v in env.items():
        f.write("export %s=%s\n" % (k, v))
n = 0
for s in steps:
    if "run" not in s:
        continue
    n += 1
    body = s["run"].replace("${{ github.run_number }}", "1")
    body = re.sub(r"\$\{\{ steps\.compare\.outputs\.rc \}\}", "$(sed -n 's/^rc=//p' \"$GITHUB_OUTPUT\")", body)
    assert "${{" not in body, "unhandled expression in step %r" % s["name"]
    with open(os.path.join(sys.argv[2], "%02d.sh" % n), "w") as f:
        f.write("# %s\n%s" % (s["name"], body))
    with open(os.path.join(sys.argv[2], "%02d.if" % n), "w") as f:
        f.write(str(s.get("if", "")))
PY

# runs one step file; sudo steps as root, the others as CI_UID (in the workspace)
step() {
	f=$1
	name=$(head -n1 "$f" | sed 's/^# //')
	if grep -q '^ *sudo ' "$f"; then
		(cd "$W" && . "$T/steps/env" && export PROFILE="$P" && PATH="$T/bin:$PATH" \
			GITHUB_OUTPUT="$T/ws/out" GITHUB_STEP_SUMMARY="$T/ws/summary" RUNNER_NAME=ci-runner \
			sh -e "$f")
	else
		(cd "$W" && . "$T/steps/env" && export PROFILE="$P" && \
			setpriv --reuid=$CI_UID --regid=$CI_GID --clear-groups env HOME="$T/home" \
			GITHUB_OUTPUT="$T/ws/out" GITHUB_STEP_SUMMARY="$T/ws/summary" RUNNER_NAME=ci-runner \
			PATH="$PATH" sh -e "$f")
	fi
	rc=$?
	echo "step \"$name\": exit $rc"
	return $rc
}

run_workflow() {
	rm -rf "$W/results" "$W/baseline" "$W/out" "$W/summary"
	touch "$W/out" "$W/summary" && chown $CI_UID:$CI_GID "$W/out" "$W/summary"
	last=0
	for f in "$T"/steps/*.sh; do
		case "$(head -n1 "$f")" in
		*"Build"*) continue;;                  # the guest image and binaries exist already
		*"Store as a new baseline"*) continue;; # if: inputs.update_baseline (false at night)
		esac
		step "$f" >"$f.log" 2>&1
		last=$?
		cat "$f.log"
		case "$(head -n1 "$f")" in
		*"Fail on"*) ;;
		*) [ $last -eq 0 ] || fail "step $(head -n1 "$f") exited $last";;
		esac
	done
	return $last
}

# 1. a night like any other: same code, same profile -> the job passes
P="$T/tiny.json"
run_workflow; rc=$?
[ $rc -eq 0 ] || fail "the final step exited $rc on identical code"
[ "$(stat -c %u "$W/results/nightly")" = $CI_UID ] || fail "results dir not handed back to SUDO_UID"
[ "$(stat -c %u "$W/results/nightly/results.json")" = $CI_UID ] || fail "results.json not handed back"
[ "$(stat -c %u "$W/results/nightly/report.md")" = $CI_UID ] || fail "report.md not handed back"
grep -q '^hvbench: \[1/2\] cpu done: run 4/8' "$T"/steps/*.log || fail "no per-workload log line without a TTY"
head -n1 "$W/results/nightly/compare.md" | grep -q '^## hvbench compare: ✅ PASS' ||
	fail "compare.md does not start with the verdict: $(head -n1 "$W/results/nightly/compare.md")"
grep -q '^rc=0$' "$W/out" || fail "compare rc not 0: $(cat "$W/out")"
[ -s "$W/results/nightly/junit.xml" ] || fail "no junit.xml"
grep -q "^A/A: [0-9]* of 8 comparisons would fail the gate" "$W/results/nightly/aa.txt" || fail "A/A line: $(cat "$W/results/nightly/aa.txt")"

# 2. a night whose run cannot even start: the job fails, with an annotation
printf '{"targets":[{"name":"native","kind":"native"}],"workloads":[{"workload":"cpu","params":{"threads":0}}]}' >"$T/broken.json"
P="$T/broken.json"
run_workflow; rc=$?
[ $rc -eq 2 ] || [ $rc -eq 1 ] || fail "a run that could not start must fail the job (final step exited $rc)"
grep -q '::error::' "$T"/steps/*.log || fail "no ::error:: annotation"
echo "ok"
