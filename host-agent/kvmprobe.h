/*
 * kvmprobe.h — deciding quickly, and once per host, whether KVM can boot the guest. A KVM that
 * cannot run a stock kernel (a nested or paravirtual /dev/kvm) leaves the guest silent with
 * its vCPU stuck; the watch notices that within a couple of seconds instead of waiting for a
 * hello timeout. The verdict is kept in a small per-host cache file keyed by what decides it
 * (host kernel, /dev/kvm and KVM module facts, CPU, the QEMU binary, the guest kernel), so
 * later runs skip the probe altogether.
 */
#ifndef HB_KVMPROBE_H
#define HB_KVMPROBE_H

#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

#include "hb.h"
#include "qmp.h"

/* What a verdict depends on: a readable description and its 64-bit FNV-1a hash. */
struct hb_kvm_key {
	char facts[2048];
	char hash[17];
};
/* guest_kernel NULL: the key of a finding about this host and QEMU alone (-cpu host refused). */
int hb_kvm_key(const char *qemu_bin, const char *guest_kernel, struct hb_kvm_key *k);

/*
 * The cache file: $HVBENCH_CACHE_DIR/kvm-verdicts.json, else $XDG_CACHE_HOME/hvbench/..., else
 * $HOME/.cache/hvbench/... HB_EUNSUPP when none of them is set.
 */
int hb_kvm_cache_path(char *buf, size_t len);
/* 1 with *entry (new reference: {"verdict": "ok"|"fail", "reason", "when", "probe_s",
 * "facts"}) when key has a verdict, 0 when not (or the file is missing or unreadable). */
int hb_kvm_cache_get(const char *path, const struct hb_kvm_key *k, json_t **entry);
/* Records a verdict (atomic rewrite of the file; its directory is made 0700). */
int hb_kvm_cache_put(const char *path, const struct hb_kvm_key *k, int ok, const char *reason,
		     double probe_s, struct hb_err *e);

/*
 * The two calls a backend makes (mode: the kvm_probe_cache option, "use" | "refresh" | "off").
 * lookup: 1 when a cached verdict says KVM cannot boot this guest here, with a reason naming
 * the verdict's date and the cache file; 0 when the probe must run. record: stores the
 * probe's outcome (errors are ignored: the cache only saves time).
 */
int hb_kvm_verdict_lookup(const char *mode, const char *qemu_bin, const char *guest_kernel,
			  char *reason, size_t len);
void hb_kvm_verdict_record(const char *mode, const char *qemu_bin, const char *guest_kernel, int ok,
			   const char *reason, double probe_s);

/*
 * KVM refusing -cpu host's IA32_ARCH_CAPABILITIES (MSR 0x10a: nested or paravirtual KVM) is a
 * property of the host and QEMU, not of the guest: cached once, a later probe of any guest
 * starts with host,-arch-capabilities instead of a QEMU that aborts first. lookup: 1 when
 * cached (mode "use" only); record: unless mode is "off".
 */
int hb_kvm_msr_lookup(const char *mode, const char *qemu_bin);
void hb_kvm_msr_record(const char *mode, const char *qemu_bin, const char *reason);

/* The stall watch over one KVM boot. */
struct hb_kvm_watch {
	char console[PATH_MAX]; /* serial console log (appended by QEMU) */
	off_t console0;		/* its size before the boot */
	double t0, window;	/* watch start, seconds without output before sampling the vCPU */
	int progress;		/* the guest wrote to its console: never stalled */
	pid_t vcpu_tid;		/* vCPU 0's thread (from QMP; 0 until known, -1 unknowable) */
	double vcpu_cpu_s;	/* its CPU time at the last look */
};
/* vCPU CPU seconds after which a guest still silent is sampled before the window ends: a
 * kernel booting under KVM writes its first console line within milliseconds of CPU time, and
 * CPU time (not wall time) is what a loaded host stretches */
#define HB_KVM_STALL_CPU_S 0.5
void hb_kvm_watch_init(struct hb_kvm_watch *w, const char *console_path, double window);
/*
 * Polled while waiting for the hello. 1 when the guest has written nothing to its console for
 * the window (or while its vCPU 0 spent HB_KVM_STALL_CPU_S of CPU time) and its first vCPU
 * does not move (same RIP over samples 0.1 s apart, taken through
 * QMP), with the evidence in why; 0 otherwise (keep waiting).
 */
int hb_kvm_watch_stalled(struct hb_kvm_watch *w, struct hb_qmp *qmp, char *why, size_t len);

/* The RIP in HMP "info registers" text; 0 when found. */
int hb_kvm_parse_rip(const char *text, unsigned long long *rip);

#endif
