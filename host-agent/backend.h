/*
 * backend.h — how the runner drives a target. A backend (native, qemu, remote) is an ops table
 * with its own option table (validated like workload parameters) and private state of priv_size
 * bytes allocated and zeroed by the core. Every backend lives in one file exporting one
 * `const struct hb_backend_ops hb_be_NAME`, listed in host-agent/backends.def.
 */
#ifndef HB_BACKEND_H
#define HB_BACKEND_H

#include <signal.h>
#include <sys/types.h>
#include <jansson.h>
#include "diag.h"
#include "facts.h"
#include "hb.h"
#include "metric.h"
#include "probe.h"
#include "workload.h"
#include "timing.h"

/* What a backend can do; the core asks these flags, never the kind's name. */
enum {
	HB_BE_BASELINE = 1 << 0,  /* the reference every other target is compared with */
	HB_BE_VM = 1 << 1,	  /* a virtual machine: it can die or hang, emulation matters */
	HB_BE_HOST_VIEW = 1 << 2, /* the host sees the target's processes (VMM/worker probes) */
};

/* Where a run would put things, for static checks of paths (validate knows no run yet). */
struct hb_check_env {
	const char *build_dir;	  /* guest image directory (build/) */
	const char *scratch_base; /* parent of the run's scratch directory */
	const char *out_dir;	  /* results directory; NULL: not chosen yet */
};

/* What the run as a whole provides to every backend. */
struct hb_env {
	const char *build_dir;	 /* where `make guest` put the guest image (build/) */
	const char *scratch_dir; /* private (0700) directory for this run; removed at the end */
	const char *out_dir;	 /* results directory (logs such as qemu serial consoles go here) */
	volatile sig_atomic_t *stop; /* non-zero after SIGINT/SIGTERM/SIGHUP */
	int verbose;
	/* Findings shared between targets within one run; owned by the runner, never NULL
	 * during a run. */
	struct hb_run_memo *memo;
	/* Log line sink (stderr, progress-aware); never NULL. */
	void (*log)(void *arg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void *log_arg;
};

struct hb_target {
	char name[64];
	const struct hb_backend_ops *ops;
	json_t *opts; /* validated options, every key present; owned by the profile */
};

struct hb_run_req {
	const char *entry; /* the profile's name for this workload entry ("disk-randread") */
	const struct hb_workload *wl;
	const json_t *params; /* validated, defaults filled */
	struct hb_timing t;
};

struct hb_backend_ops {
	const char *kind; /* "native" | "qemu" | "remote" */
	const char *help;
	unsigned flags; /* HB_BE_* */
	const struct hb_param *opts;
	size_t nopts;
	size_t priv_size;
	int (*supported)(char *why, size_t len);
	/*
	 * Optional: every static problem of the validated options opts that start() would refuse,
	 * added to d (all of them; messages start with where, e.g. "vm1: "), and the static facts
	 * (machine, vcpus, memory_mib) into facts. Runs at validate time and before a run starts;
	 * touches nothing.
	 */
	void (*check)(const json_t *opts, const char *name, const struct hb_check_env *env,
		      struct hb_target_facts *facts, const char *where, struct hb_diag *d);
	/* Brings the target up (boot the VM, connect the agent). facts: what it is (typed);
	 * info: backend-specific extras results.json records (devices, command line, pids). On
	 * failure the core calls stop(). */
	int (*start)(void *priv, const struct hb_target *t, const struct hb_env *env,
		     struct hb_target_facts *facts, json_t *info, struct hb_err *e);
	/*
	 * Optional: the first half of start for a slow start (a VM's boot): prepares and launches
	 * without waiting for the target to be ready (QEMU spawned, its hello awaited in the
	 * background). start() then completes it (and does everything itself when launch was not
	 * called). The runner launches every target of a boot group before completing any when
	 * the profile says "boot_parallel", so boots overlap each other, never a measured run.
	 * start() of a launched target may return HB_EAGAIN: it launched again in the background
	 * (a KVM probe failed and the TCG boot is under way); the runner completes the others and
	 * calls start() again. The boot interval goes into facts (boot_t0, boot_t1). Called from
	 * the main thread (a
	 * child's parent-death signal follows the thread that forked it). On failure the core
	 * calls stop(), which must also end a launched, never completed boot.
	 */
	int (*launch)(void *priv, const struct hb_target *t, const struct hb_env *env,
		      struct hb_target_facts *facts, json_t *info, struct hb_err *e);
	/* One measured run of a workload. */
	int (*run)(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		   struct hb_sample *out, struct hb_err *e);
	/* Tears everything down (kills and reaps children); must be safe after a failed start and
	 * safe to call twice. May add final facts to info (NULL allowed). */
	void (*stop)(void *priv, json_t *info);
};

extern const struct hb_backend_ops *const hb_backends[];
const struct hb_backend_ops *hb_backend_find(const char *kind);

/* A backend's log line "TARGET: message" through env->log (nothing without a log). */
void hb_target_log(const struct hb_env *env, const char *target, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
