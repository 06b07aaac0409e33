/*
 * probe.h — host-side measurement around every workload run, for native and VM targets alike.
 * One file per probe (probes/pr_*.c) exporting one `const struct hb_probe_ops hb_pr_NAME`,
 * listed in probes/probes.def; private state of priv_size bytes is allocated by the core.
 * The runner drives a whole set of probes through struct hb_probe_set (probes/probe.c): new
 * once per profile, then start/stop/read around each run, free at the end.
 */
#ifndef HB_PROBE_H
#define HB_PROBE_H

#include <jansson.h>
#include "diag.h"
#include "hb.h"
#include "metric.h"
#include "workload.h"

/* What probes observe during one run (filled by the backend that runs it). */
struct hb_probe_target {
	pid_t pid; /* native: the worker process; VM: the VMM (QEMU) process; 0: not visible */
	int is_vm;
	int ntids; /* VM: vCPU thread ids from QMP (ntids may be 0) */
	pid_t tids[64];
	const char *qmp_path; /* VM: QMP socket path (NULL for native) */
	void *qmp; /* VM: a struct hb_qmp * (lib/qmp.h) the probe may use for query-stats, or NULL
		    */
	/* VM: the hypervisor's own counters of this VM as one flat object name -> number with
	 * libvirt's domain-stats keys ("cpu.time", "vcpu.0.time", "block.0.rd.reqs", ...; *stats
	 * a new reference), or NULL when the backend has no such source (domstats probe). */
	int (*vmm_stats)(void *arg, json_t **stats, struct hb_err *e);
	void *vmm_stats_arg;
};

/* Callbacks a backend makes around the measured part of a run (the runner attaches probes). */
struct hb_run_hooks {
	/* Called right before the workload starts (native: worker forked and held; VM: before
	 * the request is sent). A non-zero return aborts the run with that code. */
	int (*on_start)(void *arg, const struct hb_probe_target *t, struct hb_err *e);
	/* Called right after the workload finished or failed. */
	void (*on_stop)(void *arg);
	void *arg;
};

struct hb_probe_ops {
	const char *name; /* "pfm", "proc", "kvmstat" */
	const char *help;
	const struct hb_param *opts;
	size_t nopts;
	/* Every metric the probe reports ("proc.cpu_s", or "pfm.*" for a family). */
	const struct hb_metric_def *metrics;
	size_t nmetrics;
	size_t priv_size;
	/* 0 when usable on this host, else HB_EUNSUPP with the reason in why. */
	int (*supported)(char *why, size_t len);
	/* Prepares counters for one run on t (opts validated against the table). priv is zeroed
	 * by the core before every open. HB_EUNSUPP (reason in e) = cannot measure this target. */
	int (*open)(void *priv, const json_t *opts, const struct hb_probe_target *t,
		    struct hb_err *e);
	int (*start)(void *priv, struct hb_err *e);
	int (*stop)(void *priv, struct hb_err *e);
	/* Adds readings as metrics named "<probe>.<what>" (e.g. "proc.cpu_s"), and info such as
	 * unavailable events with reasons into hb_probe_info(out, "<probe>"). */
	int (*read)(void *priv, struct hb_sample *out, struct hb_err *e);
	/* Releases everything open() acquired; called once after every successful open. */
	void (*close)(void *priv);
	/* Optional: static problems of opts (validated) a run would meet, added to d with where
	 * in front (e.g. a counter event libpfm4 cannot encode). Touches nothing. */
	void (*check)(const json_t *opts, const char *where, struct hb_diag *d);
	/* Optional: what `hvbench probes` shows beyond supported(), e.g. each event and whether
	 * it can be opened here. New reference (an object) or NULL. */
	json_t *(*describe)(const json_t *opts);
};

extern const struct hb_probe_ops *const hb_probes[];
const struct hb_probe_ops *hb_probe_find(const char *name);

/* ---- the metric catalogue (metrics.c) ---- */

/*
 * The declaration of any metric: a probe's ("proc.cpu_s", "pfm.*"), a derived figure's
 * ("tax.cpu_s_per_gib"), a workload's (kind = workload name) or a target fact's (kind =
 * HB_ROWS_BOOT / HB_ROWS_MEMORY). NULL when nothing declares it (then it is a diagnostic
 * with no comparison).
 */
const struct hb_metric_def *hb_metric_lookup(const char *kind, const char *metric);
const struct hb_metric_def *hb_target_metric_def(const char *workload, const char *metric);
/* Stamps every metric of s (one run of wl with params, probes and derived figures included). */
void hb_metrics_annotate(struct hb_sample *s, const struct hb_workload *wl, const json_t *params);

/* ---- helpers for probe implementations (probe.c) ---- */

/* out->info["probes"][probe], created on first use; borrowed reference (owned by out). */
json_t *hb_probe_info(struct hb_sample *out, const char *probe);
/* hb_sample_add that never fails silently: a metric that does not fit (sample full) is
 * listed in info["probes"]["dropped_metrics"]. */
void hb_probe_metric(struct hb_sample *out, const char *name, const char *unit,
		     int higher_is_better, double value);
/* "ENOENT" etc. for an errno value (static string). */
const char *hb_errno_name(int err);

/* ---- the probe set the runner uses ---- */

struct hb_probe_set; /* opaque; freed by hb_probeset_free */

/*
 * Validates a profile's "probes" value without building anything. cfg: NULL (defaults: every
 * probe) or an object {"<probe>": {options} | true | false}; a probe not named is off. An
 * option of string type also accepts an array of strings (joined with ","), e.g.
 * {"pfm": {"events": ["cycles", "perf::TASK-CLOCK"]}}. Unknown probes and options are errors
 * that suggest the nearest name. where: prefix for messages ("profile: probes").
 */
int hb_probes_validate(const json_t *cfg, const char *where, struct hb_err *e);
/* Runs every enabled probe's static check on cfg (validated as above) into d. */
void hb_probes_check(const json_t *cfg, struct hb_diag *d);
/* Builds a set from cfg (as above). *out is freed with hb_probeset_free. */
int hb_probeset_new(const json_t *cfg, struct hb_probe_set **out, struct hb_err *e);
/*
 * Opens and starts every probe on t. A probe that cannot measure t is recorded as unavailable
 * with its reason (shown by hb_probeset_read); never fatal. A previous start that was never
 * read is discarded first. Returns HB_EINVAL only for NULL arguments.
 */
int hb_probeset_start(struct hb_probe_set *ps, const struct hb_probe_target *t, struct hb_err *e);
/* Stops counting (call right after the workload ends, before reaping a native worker). */
void hb_probeset_stop(struct hb_probe_set *ps);
/*
 * Reads and closes every probe: adds metrics "<probe>.<what>" to out and
 * out->info["probes"] = {"<probe>": {"status": "ok"|"partial"|"unavailable"|"failed",
 * "reason"?, ...}, "derived": {...}}, then the derived figures tax.cpu_s_per_gib (from "bw"
 * MiB/s), tax.cpu_s_per_10gbit (from "throughput" Gbit/s), pfm.ipc, tax.exits_per_io (from
 * "iops") with the inputs each used. The seconds during which the workload moved data inside
 * the probe window, used to turn rates into amounts, are out->active_s when the workload
 * reported it (what really ran: libiperf rounds up to whole seconds); else duration (the
 * planned ramp + duration); <= 0 means "use the probe window" (start..stop wall time); info
 * says which.
 * Calls stop first if needed. Safe after a failed start (adds nothing then).
 */
void hb_probeset_read(struct hb_probe_set *ps, struct hb_sample *out, double duration);
void hb_probeset_free(struct hb_probe_set *ps);
/*
 * A compact summary of what the probes did in one run, for results.json (e.g. the target's
 * info["probes"]): {"<probe>": {"status", "reason"?, "unavailable"?: [{"event","reason"}]}}.
 * New reference; NULL when s holds no probe info.
 */
json_t *hb_probe_summary(const struct hb_sample *s);

/* `hvbench probes [--json]`: every probe and event, whether it works here and why not. */
int hb_cmd_probes(int argc, char **argv);

/* ---- kvmstat internals exposed for tests ---- */

/*
 * Sums the numeric (integer or real, not boolean/histogram) stats of every entry of provider
 * "kvm" in a QMP query-stats reply: reply is the "return" array or the whole {"return": [...]}
 * message. *sums: new object name -> number. *nentries: entries of provider kvm (e.g. vCPUs).
 * No kvm entry: HB_EUNSUPP "query-stats: provider kvm not present".
 */
int hb_kvmstat_parse(const json_t *reply, json_t **sums, int *nentries, struct hb_err *e);
/*
 * Adds kvmstat.<stat> (after - before) for exits, io_exits, mmio_exits, halt_exits, irq_exits,
 * insn_emulation and kvmstat.exits_per_s (seconds > 0) to out; stats absent from a reply are
 * listed in info["missing"] (info may be NULL). Returns how many metrics were added.
 */
int hb_kvmstat_delta(const json_t *before, const json_t *after, double seconds,
		     struct hb_sample *out, json_t *info);

#endif
