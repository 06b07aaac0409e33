/*
 * cgroup.h — a CPU cap for a process: a control group of hvbench's own with a CPU quota, on
 * the cgroup v2 hierarchy when its cpu controller is available there (cpu.max) and on the v1
 * cpu hierarchy otherwise (cpu.cfs_quota_us / cpu.cfs_period_us). Targets use it for their
 * cpu_limit option (the native worker, a VM's QEMU) and `hvbench calibrate` to inject a
 * known CPU loss. Groups are named hvbench-<pid>-<tag> directly under the hierarchy's root;
 * hb_cgroup_cleanup_stale removes those of a process that no longer exists (a SIGKILLed run).
 */
#ifndef HB_CGROUP_H
#define HB_CGROUP_H

#include <limits.h>
#include <sys/types.h>
#include "hb.h"

/*
 * The quota's default period: the kernel's own default (and Docker's and Kubernetes'). A
 * shorter one throttles more often, and each throttle costs a TCG vCPU work: at 0.5 CPU over
 * 20 ms periods the capped guest did 10% less work per CPU-second than an uncapped one, 27%
 * less at 0.25 CPU; over 100 ms periods 0% and 4% (docs/calibrate.md).
 */
#define HB_CGROUP_PERIOD_US	100000
#define HB_CGROUP_PERIOD_MIN_US 1000 /* the kernel's limits for cfs_period_us / cpu.max */
#define HB_CGROUP_PERIOD_MAX_US 1000000

struct hb_cgroup {
	int v2;		     /* 1: cgroup v2 (cpu.max), 0: v1 cpu controller */
	char root[PATH_MAX]; /* the hierarchy's mount point */
	char path[PATH_MAX]; /* the group ("" when none) */
	double cpus;	     /* the quota in CPUs */
	int period_us;	     /* ... per this period */
	int threaded;	     /* hb_cgroup_add_threads: the quota is on path/HB_CGROUP_THREADS */
};

/* v2: the threaded child of a group whose quota covers some threads only. */
#define HB_CGROUP_THREADS "threads"

/* Where a CPU cap can be made here: 0 and the hierarchy in cg, or HB_EUNSUPP naming why. */
int hb_cgroup_probe(struct hb_cgroup *cg, struct hb_err *e);
/*
 * Makes hvbench-<pid>-<tag> capped at cpus CPUs (0 < cpus <= 1024) over period_us
 * (HB_CGROUP_PERIOD_MIN_US..HB_CGROUP_PERIOD_MAX_US; 0: HB_CGROUP_PERIOD_US).
 */
int hb_cgroup_create(struct hb_cgroup *cg, const char *tag, double cpus, int period_us,
		     struct hb_err *e);
/* Moves process pid (all its threads) into the group. */
int hb_cgroup_add(struct hb_cgroup *cg, pid_t pid, struct hb_err *e);
/*
 * Caps only the threads tids[0..n) of process pid (a VM's vCPU threads), not the rest of the
 * process (QEMU's main loop, I/O and RCU threads). v2: the group becomes a threaded subtree
 * root without a quota holding the process, and its threaded child HB_CGROUP_THREADS holds
 * the quota and the threads (cgroup.type "threaded"; the cpu controller is threaded-capable);
 * v1: the threads alone are written to the group's tasks. Call once, after hb_cgroup_create.
 */
int hb_cgroup_add_threads(struct hb_cgroup *cg, pid_t pid, const pid_t *tids, int n,
			  struct hb_err *e);
/* Moves every process out of the group (to the root) and removes it; safe to repeat. */
void hb_cgroup_destroy(struct hb_cgroup *cg);
/* Removes groups hvbench-<pid>-* whose pid no longer exists, in both hierarchies. */
void hb_cgroup_cleanup_stale(void);
/*
 * Unit tests only: every function above takes v2 as the cgroup2 mount point and v1 as the v1
 * cpu hierarchy's ("" for none) instead of /proc/self/mountinfo's, so that a test can point
 * them at a fake cgroupfs in a temporary directory. hb_cgroup_test_mounts(NULL, NULL)
 * restores the real mounts. Not thread-safe; hvbench itself never calls it.
 */
void hb_cgroup_test_mounts(const char *v2, const char *v1);

#endif
