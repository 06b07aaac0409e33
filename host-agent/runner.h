/*
 * runner.h — executes a validated profile: brings targets up, runs warm-ups and measured
 * repetitions interleaved across targets, wraps every run with the probes, and keeps
 * results.json current on disk (atomically) so nothing measured is lost on a failure or Ctrl-C.
 */
#ifndef HB_RUNNER_H
#define HB_RUNNER_H

#include <signal.h>
#include "profile.h"

/* Exit codes of `hvbench run` (documented in the README). */
enum { HB_EXIT_OK = 0, HB_EXIT_USAGE = 2, HB_EXIT_FAILED = 3, HB_EXIT_INCOMPLETE = 4 };

struct hb_run_cfg {
	const char *out_dir;	  /* results directory (created) */
	const char *build_dir;	  /* where the guest image lives */
	const char *scratch_base; /* parent of the private scratch directory */
	int quiet;		  /* no progress line */
	int no_report;		  /* skip report rendering */
	int verbose;
	int force; /* replace the results of an earlier run in out_dir */
};

/*
 * Runs p; returns an HB_EXIT_* code. Messages go to stderr. out_dir is locked for the run
 * (flock on out_dir/.hvbench.lock): a second run into it is refused, as is a directory that
 * holds another run's results.json unless cfg->force.
 */
int hb_run_profile(struct hb_profile *p, const struct hb_run_cfg *cfg, volatile sig_atomic_t *stop);

/* Host facts for results.json (new reference). */
json_t *hb_host_facts(void);

#endif
