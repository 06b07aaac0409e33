/*
 * capacity_model.h — the arithmetic of capacity planning, as pure functions on plain numbers so
 * that fixtures can check it exactly: Jain's fairness index, the knee of a density sweep, the
 * least-squares fit of per-VM host overhead against guest RAM, the CPU topology count, and the
 * projection of VMs per host (bound by memory, by vCPU ratio and by the measured knee) for this
 * host or a described one. The planning options (a profile's "planning" block and the flags of
 * `hvbench report`) are one validated table.
 */
#ifndef HB_CAPACITY_MODEL_H
#define HB_CAPACITY_MODEL_H

#include <stddef.h>
#include <jansson.h>
#include "hb.h"

/* Jain's index (sum x)^2 / (n sum x^2) over x[0..n): 1 = all equal, 1/n = one takes all.
 * NAN when n == 0, a value is negative or not finite, or all are 0. */
double hb_cap_jain(const double *x, size_t n);

/*
 * The knee of a sweep. step k[i] (ascending, k[0] = 1 the lone VM) has worst[i]: the lowest
 * per-VM figure at that step relative to the k = 1 figure, oriented so that 1.0 = as good as
 * alone (NAN: the step was not measured). The knee is the largest k of the leading run of
 * steps whose worst >= threshold: a step that falls below ends the run even if a later one
 * recovers (noise does not buy capacity). limited = 1 when a measured step fell below (the knee
 * is a real limit); 0 when every measured step held (the knee is only a lower bound).
 */
struct hb_cap_knee {
	int knee_k;	   /* 0: not even k = 1 was measured */
	int limited;	   /* a later step fell below the threshold */
	int first_below_k; /* that step's k (0 when none) */
};
void hb_cap_knee(const int *k, const double *worst, size_t n, double threshold,
		 struct hb_cap_knee *out);
/* A per-VM figure relative to the lone VM's, oriented (> 1 better): v/base or base/v. */
double hb_cap_rel(double v, double base, int higher_is_better);

/*
 * Per-VM host overhead (MiB) = fixed + per_gib * guest RAM (GiB), least squares over n >= 2
 * points with at least two distinct sizes. r2 is NAN when the overhead does not vary (a flat
 * fit is then exact); flat = 1 when the slope explains less than 10 MiB across the measured
 * range or the fitted slope is within the residual noise (|per_gib| * range < 2 * rmse + 1).
 * HB_EINVAL with fewer than two distinct sizes.
 */
struct hb_cap_ofit {
	double fixed_mib, per_gib_mib;
	double r2, rmse_mib, max_resid_mib;
	double min_gib, max_gib;
	int n, flat;
};
int hb_cap_overhead_fit(const double *guest_gib, const double *overhead_mib, size_t n,
			struct hb_cap_ofit *out);

/* CPU topology from (package id, core id) per logical CPU: distinct pairs are physical cores. */
struct hb_cap_topo {
	int threads, cores, packages;
};
void hb_cap_topo_count(const int *package, const int *core, size_t n, struct hb_cap_topo *out);

/* The planning options: one table for the profile block and the report flags. */
struct hb_cap_plan {
	int described;	       /* a described host is given (host_cores and host_memory) */
	double host_cores;     /* physical cores of the described host */
	double host_threads;   /* its hardware threads (0: = cores, no SMT) */
	double host_mem_mib;   /* its RAM */
	double reserve_mib;    /* kept by the host; < 0: the measured footprint of this host */
	double vcpu_ratio;     /* vCPUs per CPU unit (1 = no CPU overcommit) */
	double mem_overcommit; /* guest RAM promised per byte of RAM left (1 = none) */
	int per_thread;	       /* the CPU unit: hardware threads (1) or physical cores (0) */
	int vcpu_set, mem_set; /* the ratios were given (not defaults) */
};
/* Defaults: nothing described, reserve measured, ratios 1, CPU unit = hardware threads. */
void hb_cap_plan_init(struct hb_cap_plan *p);
/*
 * Validates a planning object (keys host_cores, host_threads, host_memory, reserve,
 * vcpu_ratio, mem_overcommit, cpu_unit; where names it in messages) and applies it over *p.
 * host_cores and host_memory go together.
 */
int hb_cap_plan_parse(const json_t *obj, const char *where, struct hb_cap_plan *p,
		      struct hb_err *e);
/*
 * One `hvbench report` flag: name is the flag without dashes ("host-cores"), val its text.
 * Collected into *obj (created on first use) for hb_cap_plan_parse. HB_EINVAL names an unknown
 * flag; 0 when name is a planning flag (1 when it is not one: the caller's own flag).
 */
int hb_cap_plan_flag(json_t **obj, const char *name, const char *val, struct hb_err *e);
/* The flag names (NULL-terminated), for the report's option table and usage. */
extern const char *const hb_cap_plan_flags[];

/* What one VM of a shape needs, and the host it runs on. */
struct hb_cap_shape {
	double vcpus, guest_mib, overhead_mib;
	/* the measured knee (knee.limited: a real limit) and the CPU units of the host it was
	 * measured on, in the same unit as the projection; knee_k 0 = not swept */
	struct hb_cap_knee knee;
	double knee_units;
};
struct hb_cap_host {
	double cores, threads, mem_mib, reserve_mib;
};
enum hb_cap_bound { HB_CAP_BY_MEMORY, HB_CAP_BY_VCPU, HB_CAP_BY_KNEE };
struct hb_cap_fit {
	double units;		 /* CPU units counted (threads or cores, after the plan) */
	double mem_per_vm_mib;	 /* guest RAM / mem_overcommit + overhead */
	double by_mem, by_vcpu;	 /* whole VMs */
	double by_knee;		 /* NAN when no knee limits this shape */
	double fit;		 /* the smallest of the three */
	enum hb_cap_bound binds; /* which one (memory wins ties, then vCPU) */
};
/*
 * VMs per host: by memory = floor((mem - reserve) / (guest / mem_overcommit + overhead)),
 * by vCPU = floor(units * vcpu_ratio / vcpus), by knee = floor(knee_k * units / knee_units)
 * when the knee is a real limit (the assumption: contention scales with CPU units). HB_EINVAL
 * when a figure is missing or not positive.
 */
int hb_cap_project(const struct hb_cap_host *h, const struct hb_cap_plan *p,
		   const struct hb_cap_shape *s, struct hb_cap_fit *out);
const char *hb_cap_bound_name(enum hb_cap_bound b);

#endif
