#!/bin/sh
# Integration: the libvirt backend end to end, TCG only, short durations. Starts a libvirtd
# (tools/libvirtd.sh) when none answers and stops what it started; skips with the reason when
# none can be had. (1) A transient domain from a supplied XML template (configs/libvirt-domain.xml)
# runs disk, net, mem and cpu through the agent next to native: the facts (libvirt and QEMU
# versions, final domain XML with hvbench's channel, the list of XML changes, QEMU pid, memfd
# memory overhead, tap networking), libvirt's domain stats (domstats probe) and the proc probe
# are recorded, and nothing is left (domains as before, no netns, no tap). (2) An already
# running domain (started here with virsh) is attached to twice and left running. (3) hvbench
# SIGKILLed mid-run: results.json keeps what was measured (incomplete) and libvirtd destroys the
# transient domain (AUTODESTROY). (4) The domain's QEMU SIGKILLed mid-run: the failure names the
# cause, the run is incomplete with what was measured, no domain is left.
set -u
BUILD=${HB_BUILD:-build}
BIN=${HB_BIN:-$BUILD/hvbench}
URI=qemu:///system
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing (used to check results.json)"; exit 77; }
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
[ -x "$BIN" ] || fail "$BIN not built"
"$BIN" list 2>/dev/null | grep -q "^  libvirt .*unavailable here" &&
	{ echo "SKIP: hvbench built without libvirt-dev"; exit 77; }
sh tools/mkguest.sh "$BUILD"
rc=$?
[ $rc -eq 2 ] && { echo "SKIP: guest image cannot be built (no kernel package)"; exit 77; }
[ $rc -eq 0 ] || fail "mkguest.sh exited $rc"

T=$(mktemp -d /tmp/hb-it-libvirt.XXXXXX)
export HB_LIBVIRTD_STATE="$T/libvirtd.pids"
out=$(sh tools/libvirtd.sh start 2>&1)
rc=$?
echo "$out"
[ $rc -eq 2 ] && { rm -rf "$T"; echo "SKIP: libvirtd cannot be started here: $out"; exit 77; }
[ $rc -eq 0 ] || { rm -rf "$T"; fail "tools/libvirtd.sh start exited $rc"; }

NAME="lv-it$$"
ATTACH="hbit-attach-$$"
hv=""
doms() { virsh -q -c "$URI" list --all --name 2>/dev/null | sed '/^$/d' | sort; }
cleanup() {
	[ -n "$hv" ] && kill -KILL "$hv" 2>/dev/null
	for d in $(doms | grep -E "^(hvbench-$NAME|hvbench-lvk|$ATTACH)"); do
		virsh -q -c "$URI" destroy "$d" >/dev/null 2>&1
	done
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E -- "-($NAME|lvk[0-9a-z]*$$)$"); do
		ip netns del "$n"
	done
	sh tools/libvirtd.sh stop
	rm -rf "$T"
}
trap cleanup EXIT
before=$(doms)

# Waits (up to $2 tenths of a second) until command $1 succeeds.
wait_for() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ $i -gt "$2" ] && return 1
		sleep 0.1
	done
}
no_leftovers() {
	wait_for "[ \"\$(doms)\" = \"\$before\" ]" 200 ||
		fail "$1: libvirt domains differ from before: $(doms | tr '\n' ' ')"
	ip netns list 2>/dev/null | grep -q -- "-$2\b" && fail "$1: network namespace of $2 left"
	ip -o link 2>/dev/null | grep -q "hbl$3-" && fail "$1: a tap of hvbench $3 left in the root namespace"
	return 0
}

# ---- 1. a transient domain from the user's XML template
cp configs/libvirt-domain.xml "$T/domain.xml"
cat >"$T/p.json" <<EOF
{
  "name": "it-libvirt", "repetitions": 1, "warmup": 0, "duration": 1, "ramp": 0.3,
  "targets": [
    { "name": "native", "kind": "native" },
    { "name": "$NAME", "kind": "libvirt",
      "options": { "domain_xml": "$T/domain.xml", "disk_size": "256M", "boot_timeout": 150 } }
  ],
  "workloads": [
    { "name": "disk-randread", "workload": "disk",
      "params": { "rw": "randread", "bs": "4k", "iodepth": 8, "size": "64M" } },
    { "name": "net-send", "workload": "net", "params": { "direction": "send", "streams": 1 } },
    { "name": "mem", "workload": "mem" },
    { "name": "cpu", "workload": "cpu" }
  ],
  "probes": { "proc": {}, "kvmstat": {}, "domstats": {} }
}
EOF
start=$(date +%s)
"$BIN" run "$T/p.json" --build "$BUILD" -q --no-report -o "$T/out" 2>"$T/log" &
hv=$!
wait $hv
rc=$?
hv1=$hv
hv=""
cat "$T/log"
echo "case 1 run took $(( $(date +%s) - start )) s"
[ $rc -eq 0 ] || { tail -20 "$T/out/$NAME-console.log" 2>/dev/null; fail "hvbench run exited $rc"; }
NAME=$NAME T=$T python3 - "$T/out/results.json" <<'PY' || fail "results.json checks (case 1)"
import json, os, sys
r = json.load(open(sys.argv[1]))
name, T = os.environ["NAME"], os.environ["T"]
assert r["status"] == "complete", r["status"]
assert r["failures"] == [], r["failures"]
t = {x["name"]: x for x in r["targets"]}[name]
i = t["info"]
assert t["kind"] == "libvirt"
assert i["domain_mode"] == "created" and i["domain_name"].startswith("hvbench-%s-" % name), i
assert i["libvirt_version"][0].isdigit() and i["qemu_version"][0].isdigit(), i
assert i["hypervisor"] == "QEMU" and i["libvirt_uri"] == "qemu:///system"
assert i["template"] == T + "/domain.xml"
x = i["domain_xml"]
assert "name='org.hvbench.agent'" in x or 'name="org.hvbench.agent"' in x, "agent channel missing"
assert "<name>" + i["domain_name"] + "</name>" in x
assert "hbscratch" in x and "prod-web-01.qcow2" not in x
ch = i["xml_changes"]
assert any(c.startswith("name prod-web-01 -> ") for c in ch), ch
assert any(c.startswith("disk vda (/var/lib/libvirt/images/prod-web-01.qcow2): replaced") for c in ch), ch
assert any("removed" in c and c.startswith("disk sda") for c in ch), ch
assert any(c.startswith("interface added: type ethernet, tap hbl") for c in ch), ch
assert any(c.startswith("on_reboot restart -> destroy") for c in ch), ch
assert i["accel"] == "tcg" and i["emulation"] is True, (i["accel"], i["emulation"])
assert i["vcpus"] == 1 and i["memory_mib"] == 512 and i["machine"].startswith("pc-q35"), i
assert i["net_mode"] == "tap" and i["netns"].startswith("hb-"), i
assert i["qemu_pid"] > 0 and len(i["vcpu_tids"]) == 1, i
assert i["qmp_passthrough"].startswith("virDomainQemuMonitorCommand"), i["qmp_passthrough"]
assert i["domain_exit"] == "powered off by the agent", i["domain_exit"]
mo = i["memory_overhead"]
assert mo["method"].startswith("VMM PSS minus guest-RAM memfd"), mo
assert 0 < mo["guest_ram_pss_mib"] <= 512 and 0 < mo["vmm_overhead_mib"] < mo["vmm_pss_mib"], mo
assert 0 < i["time_to_ready_s"] < 150 and 0 < i["guest_kernel_boot_s"] < i["time_to_ready_s"]
assert "hvbench-init: starting hvbench-guest" in open(i["console_log"]).read()
p = i["probes"]
assert p["domstats"]["status"] == "ok" and p["proc"]["status"] == "ok", p
# the reason names what is missing: no /dev/kvm on the host at all, else a TCG domain
kr = p["kvmstat"]
if os.access("/dev/kvm", os.R_OK | os.W_OK):
    assert kr["status"] == "unavailable" and "TCG" in kr["reason"], kr
else:
    assert kr["status"] == "unavailable" and kr["reason"].startswith("/dev/kvm: ") and \
        kr["reason"].endswith(": no KVM statistics"), kr
rows = {(x["target"], x["workload"], x["metric"]): x for x in r["results"]}
def med(wl, m):
    row = rows.get((name, wl, m))
    assert row is not None, (wl, m, "missing")
    return row["median"]
for wl, m in [("disk-randread", "iops"), ("net-send", "throughput"), ("mem", "copy_bw"),
              ("cpu", "ops"), ("boot", "time_to_ready"), ("memory", "vmm_overhead")]:
    assert med(wl, m) > 0, (wl, m)
# libvirt's own counters agree with the workload: fio's reads went through the scratch disk
assert med("disk-randread", "domstats.block_rd_reqs") >= med("disk-randread", "iops") * 0.5, \
    (med("disk-randread", "domstats.block_rd_reqs"), med("disk-randread", "iops"))
for wl in ("disk-randread", "net-send", "mem", "cpu"):
    assert med(wl, "domstats.cpu_s") > 0 and med(wl, "domstats.vcpu_s") > 0, wl
    assert med(wl, "proc.cpu_s") > 0, wl
    assert abs(med(wl, "domstats.balloon_current_mib") - 512) < 1, wl
assert rows[(name, "disk-randread", "domstats.cpu_s")]["role"] == "diagnostic"
comps = {(c["workload"], c["metric"]): c for c in r["comparisons"] if c["target"] == name}
for key in [("disk-randread", "iops"), ("net-send", "throughput"), ("mem", "copy_bw"), ("cpu", "ops")]:
    c = comps.get(key)
    assert c and c["baseline"] == "native" and c["ratio"] > 0, (key, c)
    print("%-14s %-11s native %12.3f  libvirt %12.3f  ratio %.3f" %
          (key[0], key[1], rows[("native",) + key]["median"], rows[(name,) + key]["median"], c["ratio"]))
print("boot: ready %.1f s (kernel %.1f s); VMM overhead %.1f MiB; libvirt %s, QEMU %s; "
      "disk-randread: %d block reads by libvirt's count, VMM CPU %.2f s" %
      (i["time_to_ready_s"], i["guest_kernel_boot_s"], mo["vmm_overhead_mib"],
       i["libvirt_version"], i["qemu_version"], med("disk-randread", "domstats.block_rd_reqs"),
       med("disk-randread", "domstats.cpu_s")))
PY
no_leftovers "case 1" "$NAME" "$hv1"
ls -d /var/tmp/hvbench-scratch.*/libvirt-"$NAME" 2>/dev/null && fail "scratch files of $NAME left behind"
echo "case 1 (domain from an XML template) ok"

# ---- 2. attach to a running domain, twice; it keeps running
G=$(cd "$BUILD/guest" && pwd)
cat >"$T/attach.xml" <<EOF
<domain type='qemu'>
  <name>$ATTACH</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$G/vmlinuz</kernel><initrd>$G/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet hvbench.port=org.hvbench.agent</cmdline></os>
  <cpu mode='maximum'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <channel type='unix'><source mode='bind'/><target type='virtio' name='org.hvbench.agent'/></channel>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
virsh -q -c "$URI" create "$T/attach.xml" >/dev/null || fail "virsh create of the domain to attach to"
cat >"$T/a.json" <<EOF
{
  "name": "it-libvirt-attach", "repetitions": 1, "warmup": 0, "duration": 0.5, "ramp": 0,
  "targets": [ { "name": "attached", "kind": "libvirt",
                 "options": { "domain": "$ATTACH", "boot_timeout": 150 } } ],
  "workloads": [ { "name": "cpu", "workload": "cpu" }, { "name": "net", "workload": "net" } ],
  "probes": { "proc": {}, "domstats": {} }
}
EOF
for pass in 1 2; do
	"$BIN" run "$T/a.json" --build "$BUILD" -q --no-report -o "$T/a$pass" 2>"$T/a$pass.log"
	rc=$?
	cat "$T/a$pass.log"
	[ $rc -eq 0 ] || fail "case 2: hvbench run exited $rc (pass $pass)"
	# net has no peer on an attached domain without iperf_bind: skipped with the reason, cpu ran
	python3 - "$T/a$pass/results.json" "$ATTACH" <<'PY' || fail "results.json checks (case 2, pass $pass)"
import json, sys
r = json.load(open(sys.argv[1]))
i = r["targets"][0]["info"]
assert i["domain_mode"] == "attached" and i["domain_name"] == sys.argv[2], i
assert "qmp_passthrough" in i and i["qmp_passthrough"].startswith("off: libvirt would mark"), i
assert "connect_s" in i and "time_to_ready_s" not in i, i
assert "domain_exit" not in i, i
rows = {(x["workload"], x["metric"]): x for x in r["results"]}
assert rows[("cpu", "ops")]["median"] > 0 and rows[("cpu", "domstats.vcpu_s")]["median"] > 0
assert r["failures"] == [], r["failures"]
f = [x for x in r["skipped"] if x["workload"] == "net"]
assert f and "iperf_bind" in f[0]["reason"], r["skipped"]
print("attached: cpu %.0f ops/s; net skipped: %s" % (rows[("cpu", "ops")]["median"], f[0]["reason"]))
PY
	[ "$(virsh -q -c "$URI" domstate "$ATTACH" 2>/dev/null | head -1)" = running ] ||
		fail "case 2: domain $ATTACH is not running after pass $pass"
done
virsh -q -c "$URI" destroy "$ATTACH" >/dev/null
echo "case 2 (attach, left running) ok"

# ---- 3 and 4: killed mid-run
kill_case() { # $1 case, $2 target name, $3 what to kill (hvbench|qemu)
	cat >"$T/$2.json" <<EOF
{
  "name": "it-libvirt-kill", "repetitions": 1, "warmup": 0, "duration": 1, "ramp": 0,
  "targets": [ { "name": "$2", "kind": "libvirt", "options": { "net": "none", "disk_size": "128M" } } ],
  "workloads": [
    { "name": "mem-short", "workload": "mem" },
    { "name": "disk-long", "workload": "disk", "duration": 30,
      "params": { "rw": "randread", "bs": "4k", "iodepth": 4, "size": "64M" } }
  ],
  "probes": { "domstats": {} }
}
EOF
	"$BIN" run "$T/$2.json" --build "$BUILD" -q --no-report -o "$T/$2" 2>"$T/$2.log" &
	hv=$!
	wait_for "grep -Eqs '\"workload\": ?\"mem-short\"' '$T/$2/results.json' || ! kill -0 $hv 2>/dev/null" 1800
	kill -0 $hv 2>/dev/null || { cat "$T/$2.log"; fail "$1: hvbench ended before mem-short was done"; }
	sleep 3
	qpid=$(pgrep -f "guest=hvbench-$2-$hv," | head -1)
	[ -n "$qpid" ] || { cat "$T/$2.log"; fail "$1: no QEMU of hvbench-$2-$hv"; }
	t0=$(date +%s)
	if [ "$3" = hvbench ]; then
		kill -KILL $hv
		wait $hv 2>/dev/null
		rc=137
	else
		kill -KILL "$qpid"
		wait $hv
		rc=$?
	fi
	hvk=$hv
	hv=""
	cat "$T/$2.log"
	[ $(( $(date +%s) - t0 )) -le 15 ] || fail "$1: hvbench took more than 15 s to notice"
	[ $rc -ne 0 ] || fail "$1: hvbench exited 0"
	WHAT=$3 NAME=$2 python3 - "$T/$2/results.json" <<'PY' || fail "$1: results.json"
import json, os, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "incomplete", r["status"]
assert any(x["workload"] == "mem-short" and x["metric"] == "copy_bw" for x in r["results"]), \
    "what was measured before the kill is lost"
if os.environ["WHAT"] == "qemu":
    f = [x for x in r["failures"] if x["workload"] == "disk-long"]
    assert f and f[0]["target"] == os.environ["NAME"], r["failures"]
    assert "during disk-long" in f[0]["error"] and "hvbench-" + os.environ["NAME"] in f[0]["error"], f[0]["error"]
    print("failure recorded:", f[0]["error"])
PY
	# libvirtd destroys a transient AUTODESTROY domain when hvbench's connection goes away
	no_leftovers "$1" "$2-never" "$hvk"
	wait_for "! kill -0 $qpid 2>/dev/null" 100 || fail "$1: QEMU $qpid survived"
	ip netns del "hb-$hvk-$2" 2>/dev/null
	return 0
}
kill_case "case 3" "lvk$$" hvbench
echo "case 3 (hvbench SIGKILLed: domain destroyed by libvirtd) ok"
kill_case "case 4" "lvkq$$" qemu
grep -q "lvkq$$: .*hvbench-lvkq$$-.* during disk-long" "$T/lvkq$$.log" || fail "case 4: the log does not name target and cause"
echo "case 4 (QEMU SIGKILLed) ok"
echo "libvirt integration ok"
exit 0
