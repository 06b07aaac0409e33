/*
 * profile.h — loading and validating a profile (configs/NAME.json): targets, workloads with
 * parameters, repetitions, warm-up, timings and probes. Validation names every problem with its
 * place (JSON syntax errors with line and column, unknown keys with the nearest valid name,
 * wrong types, out-of-range values); no run starts from an invalid profile.
 */
#ifndef HB_PROFILE_H
#define HB_PROFILE_H

#include <jansson.h>
#include "hb.h"
#include "backend.h"
#include "density.h"
#include "timing.h"
#include "workload.h"

#define HB_MAX_TARGETS 16
#define HB_MAX_ENTRIES 64
/* boot (TCG ~5-15 s) and scratch disk fill, per VM started */
#define HB_VM_START_ESTIMATE_S 30.0

struct hb_entry {
	char name[64]; /* unique entry name, e.g. "disk-randread" */
	const struct hb_workload *wl;
	json_t *params; /* validated, defaults filled; owned */
	struct hb_timing t;
};

struct hb_profile {
	char name[64];
	char path[512];
	json_t *json; /* the profile as loaded (recorded in results.json); owned */
	int reps, warmup;
	int boots; /* VM targets are booted this many times; repetitions spread across boots */
	/* VM targets of a boot group boot side by side (launched before any is awaited) */
	int boot_parallel;
	int ntargets, nentries;
	struct hb_target targets[HB_MAX_TARGETS]; /* opts owned */
	struct hb_entry entries[HB_MAX_ENTRIES];
	const json_t *probes;	   /* borrowed from json; NULL = defaults */
	struct hb_density density; /* the "density" section (enabled = 0 when absent) */
};

/* Parses text (name used in messages). On error *p is left empty (nothing to free). */
int hb_profile_parse(const char *text, const char *name, struct hb_profile *p, struct hb_err *e);
int hb_profile_load(const char *path, struct hb_profile *p, struct hb_err *e);
void hb_profile_free(struct hb_profile *p);

/* Command-line overrides, applied after loading and validated the same way. */
struct hb_overrides {
	const char *targets; /* "a,b": keep only these targets, in this order */
	int reps;	     /* > 0 */
	int warmup;	     /* >= 0, or -1 */
	double duration;     /* > 0 */
	int boot_parallel; /* 1: VMs boot side by side, -1: one after the other, 0: the profile's */
};
int hb_profile_apply(struct hb_profile *p, const struct hb_overrides *o, struct hb_err *e);

/*
 * Every static check a run would meet, without starting anything: each target's backend check
 * (problems start with "targets[i] (NAME): "), the probes' checks, and cross-checks against
 * this host: a VM with more vCPUs than the host has cores or more RAM than the host has, VMs
 * whose RAM together exceeds it, and no baseline target to compare with (warnings). All
 * problems are collected in d; a run is refused when d->nerr > 0.
 */
void hb_profile_check(const struct hb_profile *p, const struct hb_check_env *env,
		      struct hb_diag *d);
/* Planned seconds of one run of en (its ramp and duration plus a second of overhead). */
double hb_entry_cost(const struct hb_entry *en);
/* Estimated wall time of the whole profile in seconds: every run plus VM start-ups. */
double hb_profile_estimate(const struct hb_profile *p);

#endif
