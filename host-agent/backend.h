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
#include "hb.h"
#include "metric.h"
#include "workload.h"
#include "timing.h"

/* What the run as a whole provides to every backend. */
struct hb_env {
	const char *build_dir;	 /* where `make guest` put the guest image (build/) */
	const char *scratch_dir; /* private (0700) directory for this run; removed at the end */
	const char *out_dir;	 /* results directory (logs such as qemu serial consoles go here) */
	volatile sig_atomic_t *stop; /* non-zero after SIGINT/SIGTERM/SIGHUP */
	int verbose;
	/* Findings shared between targets within one run, keyed by the backend that writes them
	 * (e.g. "qemu.kvm_failed:<kernel>"); owned by the runner, never NULL during a run. */
	json_t *memo;
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

/* What probes observe during one run. */
struct hb_probe_target {
	pid_t pid; /* native: the worker process; VM: the VMM (QEMU) process */
	int is_vm;
	int ntids; /* VM: vCPU thread ids from QMP (ntids may be 0) */
	pid_t tids[64];
	const char *qmp_path; /* VM: QMP socket path (NULL for native) */
	void *qmp; /* VM: a struct hb_qmp * the probe may use for query-stats (or NULL) */
};

/* Callbacks the backend makes around the measured part of a run. */
struct hb_run_hooks {
	/* Called right before the workload starts (native: worker forked and held; VM: before
	 * the request is sent). A non-zero return aborts the run with that code. */
	int (*on_start)(void *arg, const struct hb_probe_target *t, struct hb_err *e);
	/* Called right after the workload finished or failed. */
	void (*on_stop)(void *arg);
	void *arg;
};

struct hb_backend_ops {
	const char *kind; /* "native" | "qemu" | "remote" */
	const char *help;
	const struct hb_param *opts;
	size_t nopts;
	size_t priv_size;
	int (*supported)(char *why, size_t len);
	/* Brings the target up (boot the VM, connect the agent). info: an object the backend fills
	 * with what results.json records about the target (accel used and why, boot times, memory
	 * overhead, devices). On failure the core calls stop(). */
	int (*start)(void *priv, const struct hb_target *t, const struct hb_env *env, json_t *info,
		     struct hb_err *e);
	/* One measured run of a workload. */
	int (*run)(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		   struct hb_sample *out, struct hb_err *e);
	/* Tears everything down (kills and reaps children); must be safe after a failed start and
	 * safe to call twice. May add final facts to info (NULL allowed). */
	void (*stop)(void *priv, json_t *info);
};

extern const struct hb_backend_ops *const hb_backends[];
const struct hb_backend_ops *hb_backend_find(const char *kind);

#endif
