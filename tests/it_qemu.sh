#!/bin/sh
# Integration: the QEMU backend end to end. Builds the embedded guest (make guest's script; skips
# when no kernel package can be had), then `hvbench run`s native + a microvm guest with
# accel "auto" (a short KVM probe: on this host KVM cannot boot the kernel, so it must fall back
# to TCG with the reason recorded) and short disk, net and mem workloads through the guest
# agent. Checks the target facts (accel, memfd memory overhead, boot times, tap networking in a
# private netns), the VM rows and their ratios to native, and that no QEMU, netns or scratch
# file is left. Prints the figures (boot, % of native, memory overhead).
set -u
BUILD=${HB_BUILD:-build}
BIN=${HB_BIN:-$BUILD/hvbench}
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing (used to check results.json)"; exit 77; }
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
[ -x "$BIN" ] || fail "$BIN not built"

sh tools/mkguest.sh "$BUILD"
rc=$?
[ $rc -eq 2 ] && { echo "SKIP: guest image cannot be built (no kernel package)"; exit 77; }
[ $rc -eq 0 ] || fail "mkguest.sh exited $rc"
# fio's unused engine libraries are stubs (tools/fiostub.sh): none of their closure is on the
# tools disk; the disk workload below runs the image's fio with libaio
if command -v unsquashfs >/dev/null 2>&1 && command -v gcc >/dev/null 2>&1; then
	ls=$(unsquashfs -l "$BUILD/guest/tools.img") || fail "unsquashfs -l tools.img"
	heavy=$(echo "$ls" | grep -E 'libceph-common|libglusterfs|libicu|libstdc\+\+|libboost')
	echo "$ls" | grep -q 'lib/x86_64-linux-gnu/librados.so.2$' || heavy="$heavy (no librados stub)"
	[ -z "$heavy" ] || fail "tools.img still carries fio's engine libraries: $heavy"
fi

T=$(mktemp -d /tmp/hb-it-qemu.XXXXXX)
NAME="vm-it$$"
# the KVM verdict cache of this test only: the first run probes, the second reads the verdict
export HVBENCH_CACHE_DIR="$T/cache"
trap 'for p in $(pgrep -f "hvbench-$NAME ") $(pgrep -f "hvbench-$NAME-b "); do kill -KILL "$p"; done; rm -rf "$T"' EXIT
cat >"$T/p.json" <<EOF
{
  "name": "it-qemu", "repetitions": 1, "warmup": 0, "duration": 2, "ramp": 0.5,
  "targets": [
    { "name": "native", "kind": "native" },
    { "name": "$NAME", "kind": "qemu",
      "options": { "machine": "microvm", "vcpus": 1, "memory": 512, "accel": "auto",
                   "kvm_probe_timeout": 8, "boot_timeout": 150, "net": "tap",
                   "disk_size": "512M", "disk_cache": "none" } }
  ],
  "workloads": [
    { "name": "disk-randread", "workload": "disk",
      "params": { "rw": "randread", "bs": "4k", "iodepth": 8, "size": "128M" } },
    { "name": "net-send", "workload": "net", "params": { "direction": "send", "streams": 1 } },
    { "name": "mem", "workload": "mem" }
  ]
}
EOF
start=$(date +%s)
"$BIN" run "$T/p.json" --build "$BUILD" -q --no-report -o "$T/out" 2>"$T/log"
rc=$?
cat "$T/log"
echo "run took $(( $(date +%s) - start )) s"
[ $rc -eq 0 ] || { tail -20 "$T/out/$NAME-console.log" 2>/dev/null; fail "hvbench run exited $rc"; }

NAME=$NAME python3 - "$T/out/results.json" <<'PY' || fail "results.json checks"
import json, os, sys
r = json.load(open(sys.argv[1]))
name = os.environ["NAME"]
assert r["status"] == "complete", r["status"]
assert r["failures"] == [], r["failures"]
t = {x["name"]: x for x in r["targets"]}[name]
# the guest's fio (tools image, engine libraries stubbed) ran the libaio job
dr = [x for x in r["runs"] if x["target"] == name and x["workload"] == "disk-randread"]
assert len(dr) == 1 and "\nioengine=libaio\n" in dr[0]["info"]["job"], dr
assert dr[0]["info"]["fio_path"].startswith("/usr/bin/fio") or dr[0]["info"]["fio_path"] == "fio", dr[0]["info"]
i = t["info"]
assert t["kind"] == "qemu"
assert i["accel"] in ("kvm", "tcg"), i["accel"]
assert i["emulation"] == (i["accel"] == "tcg")
if i["accel"] == "tcg":
    assert i["accel_reason"].startswith("kvm: ") and "fell back to tcg" in i["accel_reason"] \
        or i["accel_reason"].startswith("kvm unusable"), i["accel_reason"]
assert i["machine"] == "microvm" and i["vcpus"] == 1 and i["memory_mib"] == 512
assert i["net_mode"] in ("tap", "user"), i["net_mode"]
if i["net_mode"] == "tap":
    assert i["netns"].startswith("hb-"), i
assert i["qemu_version"].startswith("7.") or i["qemu_version"][0].isdigit()
assert "memory-backend-memfd,id=hbram" in i["qemu_cmdline"]
assert len(i["vcpu_tids"]) == 1 and i["vcpu_tids"][0] > 0
assert os.path.exists(i["console_log"]), i["console_log"]
assert "hvbench-init: starting hvbench-guest" in open(i["console_log"]).read()
mo = i["memory_overhead"]
assert 0 < mo["guest_ram_pss_mib"] <= 512, mo
assert 0 < mo["vmm_overhead_mib"] < mo["vmm_pss_mib"], mo
assert 0 < mo["guest_visible_loss_mib"] < 512, mo
assert 0 < i["time_to_ready_s"] < 150 and 0 < i["guest_kernel_boot_s"] < i["time_to_ready_s"]
# QEMU's CPU seconds to the hello: some, and no more than every host CPU (+1 for tick rounding)
# could give it over the wall-clock boot
assert 0 < i["boot_cpu_s"] < i["time_to_ready_s"] * (os.cpu_count() + 1), \
    (i["boot_cpu_s"], i["time_to_ready_s"])
ph = i["boot_phases"]
assert abs(sum(v for k, v in ph.items() if k != "total_s") - ph["total_s"]) < 1e-6, ph
assert abs(ph["total_s"] - i["time_to_ready_s"]) < 1e-6, ph
# booted alone (the profile does not ask for parallel boots)
assert i["boot_concurrency"] == 1 and "boot_concurrent_with" not in i, i.get("boot_concurrency")
assert r["settings"]["boot_parallel"] is False, r["settings"]
if i["accel"] == "tcg": # the embedded guest's init reports its steps
    assert [k for k in ph] == ["qemu_s", "firmware_s", "kernel_s", "modules_s", "devices_s",
                               "tools_s", "net_s", "agent_s", "total_s"], list(ph)
assert any("tools image" in d for d in i["devices"]), i["devices"]
rows = {(x["target"], x["workload"], x["metric"]): x for x in r["results"]}
for key in [("disk-randread", "iops"), ("net-send", "throughput"), ("mem", "copy_bw"),
            ("boot", "time_to_ready"), ("boot", "boot_cpu"), ("boot", "guest_kernel_boot"),
            ("memory", "vmm_overhead")]:
    row = rows.get((name,) + key)
    assert row and row["median"] > 0, (key, row)
    print("%-8s %-14s %-16s %10.3f %s" % (name, key[0], key[1], row["median"], row["unit"]))
comps = {(c["workload"], c["metric"]): c for c in r["comparisons"] if c["target"] == name}
for key in [("disk-randread", "iops"), ("net-send", "throughput"), ("mem", "copy_bw")]:
    n = rows[("native",) + key]["median"]
    c = comps.get(key)
    assert c and c["baseline"] == "native" and c["ratio"] > 0, (key, c)
    print("%-14s %-12s native %10.3f  vm %10.3f  ratio %.3f" %
          (key[0], key[1], n, rows[(name,) + key]["median"], c["ratio"]))
print("boot: ready %.1f s (kernel %.1f s), accel %s (%s); memory: VMM overhead %.1f MiB, "
      "MemAvailable drop %.1f MiB, guest-visible loss %.1f MiB" %
      (i["time_to_ready_s"], i["guest_kernel_boot_s"], i["accel"], i["accel_reason"],
       mo["vmm_overhead_mib"], mo["memavailable_drop_mib"], mo["guest_visible_loss_mib"]))
PY

# A KVM that could not boot the guest left its verdict in the cache: a second run skips the probe.
# That run boots two VMs side by side ("boot_parallel"): each records its own boot time and the
# other's overlap.
cached=0
if grep -q '"fell back to tcg' "$T/out/results.json" && ! grep -q 'kvm unusable' "$T/out/results.json"; then
	cached=1
	python3 - "$T/cache/kvm-verdicts.json" <<'PY' || fail "KVM verdict not cached"
import json, sys
# one verdict for this guest (and, where KVM refused -cpu host's MSR, that host finding)
v = [x for x in json.load(open(sys.argv[1]))["verdicts"].values() if "finding=" not in x["facts"]]
assert len(v) == 1 and v[0]["verdict"] == "fail" and v[0]["probe_s"] > 0, v
PY
fi
python3 -c '
import copy, json, sys
p = json.load(open(sys.argv[1]))
p["duration"] = 0.2
p["boot_parallel"] = True
vm2 = copy.deepcopy(p["targets"][1])
vm2["name"] += "-b"
p["targets"] = [p["targets"][1], vm2]
p["workloads"] = [{"workload": "cpu"}]
print(json.dumps(p))' "$T/p.json" >"$T/p2.json"
"$BIN" run "$T/p2.json" --build "$BUILD" -q --no-report -o "$T/out2" 2>"$T/log2" ||
	{ cat "$T/log2"; fail "second run (two VMs booted side by side) failed"; }
NAME=$NAME CACHED=$cached python3 - "$T/out2/results.json" <<'PY' || fail "second run: parallel boots or cached KVM verdict"
import json, os, sys
r = json.load(open(sys.argv[1]))
name = os.environ["NAME"]
assert r["status"] == "complete" and r["settings"]["boot_parallel"] is True, r["status"]
t = {x["name"]: x["info"] for x in r["targets"]}
assert sorted(t) == [name, name + "-b"], sorted(t)
for n, other in ((name, name + "-b"), (name + "-b", name)):
    i = t[n]
    # its own boot: exec to its own hello, every phase accounted for
    assert 0 < i["time_to_ready_s"] < 150, (n, i["time_to_ready_s"])
    assert abs(i["boot_phases"]["total_s"] - i["time_to_ready_s"]) < 1e-6, i["boot_phases"]
    assert i["boot_concurrency"] == 2 and i["boot_concurrent_with"] == other, \
        (n, i.get("boot_concurrency"), i.get("boot_concurrent_with"))
    assert isinstance(i["memavailable_other_vms_mib"], float), i
    rows = {(x["workload"], x["metric"]): x for x in r["results"] if x["target"] == n}
    assert rows[("boot", "time_to_ready")]["samples"] == [i["time_to_ready_s"]], rows.get(("boot", "time_to_ready"))
    assert 0 < i["boot_cpu_s"] < i["time_to_ready_s"] * (os.cpu_count() + 1), (n, i["boot_cpu_s"])
    assert rows[("boot", "boot_cpu")]["samples"] == [i["boot_cpu_s"]], rows.get(("boot", "boot_cpu"))
    if os.environ["CACHED"] == "1":
        assert i["accel"] == "tcg" and "kvm_probe_s" not in i, i
        assert i["accel_reason"].startswith("kvm: ") and "verdict cached" in i["accel_reason"], i["accel_reason"]
print("side by side: %s ready in %.2f s, %s in %.2f s (alone: see above); %s" %
      (name, t[name]["time_to_ready_s"], name + "-b", t[name + "-b"]["time_to_ready_s"],
       t[name]["accel_reason"][:100]))
PY
for n in "$NAME" "$NAME-b"; do
	pgrep -f "hvbench-$n " >/dev/null && fail "a QEMU of $n survived the second run"
done

sleep 0.5
pgrep -f "hvbench-$NAME " >/dev/null && fail "a QEMU of $NAME survived the run"
ip netns list 2>/dev/null | grep -q -- "-$NAME" && fail "network namespace of $NAME left behind"
ls -d /var/tmp/hvbench-scratch.*/qemu-"$NAME" 2>/dev/null && fail "scratch files of $NAME left behind"
echo "qemu integration ok"
exit 0
