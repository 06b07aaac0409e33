/*
 * density.h — the density sweep and the host footprint. A profile's "density" section names a
 * VM target, counts of identical VMs (k = 1, 2, 4, ...) and workload entries; the sweep boots k
 * clones of the target (each with its own scratch directory, network namespace and name suffix
 * "-dN"), starts the workload in all of them at once (one thread per VM, aligned by a barrier
 * right before each sends its run request) and records per-VM and aggregate figures, Jain's
 * fairness, per-VM host PSS, KSM state, host CPU busy and the steal the guests saw. It stops
 * early, saying why, when the host's MemAvailable would not hold the next step. The host
 * footprint is what the host keeps for itself with no VM of ours running.
 */
#ifndef HB_DENSITY_H
#define HB_DENSITY_H

#include <signal.h>
#include <jansson.h>
#include "backend.h"
#include "hb.h"

#define HB_DENSITY_MAX_COUNTS 16
#define HB_DENSITY_MAX_VMS    64

struct hb_profile;

struct hb_density {
	int enabled;
	struct hb_target target; /* the target cloned (opts: a reference owned here) */
	int counts[HB_DENSITY_MAX_COUNTS];
	int ncounts;
	int entries[64]; /* indexes into the profile's entries */
	int nentries;
	double knee; /* fraction of the lone VM's figure every VM must keep */
	int reps;
	double headroom_mib; /* MemAvailable kept free beyond what the next step needs */
	double duration;     /* measured seconds of each sweep run; 0: the entry's own */
};

/*
 * Validates the "density" object of profile p (its targets and entries parsed already) into
 * p->density; where names it in messages.
 */
int hb_density_parse(const json_t *obj, struct hb_profile *p, const char *where, struct hb_err *e);
void hb_density_free(struct hb_density *d);
/* Planned seconds of the sweep (boots and runs). */
double hb_density_estimate(const struct hb_profile *p);

/* Called after each step so the caller can save what was measured so far. */
typedef void (*hb_density_checkpoint_fn)(void *arg);

/*
 * Runs the sweep of p->density with env (the run's scratch, out dir, stop flag, log), filling
 * out (an object, the results' "density" section) as it goes; failures (a VM that would not
 * start or died, a run that failed) are appended to failures as {target, workload, rep, error}.
 * Every VM it started is stopped before it returns, on every path.
 */
void hb_density_run(const struct hb_profile *p, const struct hb_env *env, json_t *out,
		    json_t *failures, hb_density_checkpoint_fn cp, void *cp_arg);

/* The host footprint now (new reference): memory in use, its biggest consumers, KSM, CPUs. */
json_t *hb_host_footprint(void);

#endif
