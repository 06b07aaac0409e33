/*
 * facts.h — what a target is, typed: every backend fills one struct hb_target_facts at start
 * (and the static part at check time), and the runner writes it into results.json's
 * targets[].info with the keys reports have always read (accel, accel_reason, emulation,
 * machine, vcpus, memory_mib, net_mode, time_to_ready_s, boot_cpu_s, guest_kernel_boot_s,
 * memory_overhead, guest). Findings a later target of the same run reuses live in struct
 * hb_run_memo, not in free-form JSON.
 */
#ifndef HB_FACTS_H
#define HB_FACTS_H

#include <limits.h>
#include <sys/types.h>
#include <jansson.h>
#include "vmmem.h"

#define HB_FACT_UNKNOWN (-1.0)

struct hb_target_facts {
	/* what the options say (filled by check and by start) */
	char machine[32]; /* "" unknown */
	int vcpus;	  /* 0 unknown */
	long memory_mib;  /* 0 unknown */
	/* what start found */
	char accel[48]; /* "kvm", "tcg", "unknown (remote hypervisor)"; "" unset */
	char accel_reason[1200];
	int emulation;	   /* 1: the figures do not describe hardware virtualization; -1 unset */
	char net_mode[16]; /* "tap" | "user" | "none" | "remote"; "" unset */
	double time_to_ready_s; /* exec to the agent's hello; HB_FACT_UNKNOWN */
	double boot_cpu_s;	/* CPU seconds the VMM process (all threads) used from exec to the
				 * hello: load-insensitive boot cost; HB_FACT_UNKNOWN */
	double guest_kernel_boot_s; /* guest uptime when its agent started; HB_FACT_UNKNOWN */
	/* the boot that made this target ready, on hb_now()'s clock (0: none, e.g. native), and
	 * how many boots of the run overlapped it, itself included (set by the runner: 1
	 * sequential; concurrent TCG boots on few cores lengthen each other) */
	double boot_t0, boot_t1;
	int boot_concurrency;		/* 0: unknown / not booted */
	char boot_concurrent_with[256]; /* the other targets whose boots overlapped ("a, b") */
	/* memory overhead (VM targets whose VMM the host sees) */
	int have_mem;
	struct hb_vmmem mem;
	double avail_before_mib, avail_after_mib, guest_memtotal_mib; /* HB_FACT_UNKNOWN */
	char mem_error[256]; /* why the overhead could not be read ("" none) */
	/* the guest's own facts from its hello ("" unknown) */
	char guest_kernel[128];
	char guest_clocksource[64];
	json_t *guest; /* the hello's "facts" object as sent (owned; NULL none) */
};

/* Sets every field to unknown. */
void hb_facts_init(struct hb_target_facts *f);
void hb_facts_free(struct hb_target_facts *f);
/*
 * Takes the guest's facts from an agent hello (kernel, clocksource, MemTotal; the boot time
 * only when booted: the target booted the VM itself, so the agent's uptime is a boot time).
 */
void hb_facts_from_hello(struct hb_target_facts *f, const json_t *hello, int booted);
/* Writes the known facts into info under their historical keys (unknown ones are left out). */
void hb_facts_to_info(const struct hb_target_facts *f, json_t *info);

/* Findings shared by the targets of one run (owned by the runner). */
struct hb_run_memo {
	int nkvm;
	struct {
		char guest[PATH_MAX]; /* kernel or disk image KVM could not boot */
		char reason[1200];
	} kvm_failed[16];
	/* the VMM process of each VM target (boots of several may overlap: memory figures of
	 * one correct for what the others took meanwhile) */
	int nvmm;
	struct {
		char name[64];
		pid_t pid; /* 0: none now */
	} vmm[32];
};

/* The recorded reason KVM failed to boot guest earlier in this run, or NULL. */
const char *hb_memo_kvm_failed(const struct hb_run_memo *m, const char *guest);
void hb_memo_set_kvm_failed(struct hb_run_memo *m, const char *guest, const char *reason);
/* Records target name's current VMM pid (0: it has none now). */
void hb_memo_vmm_set(struct hb_run_memo *m, const char *name, pid_t pid);

#endif
