/*
 * report.h — what the rest of hvbench calls in reports/: the validating results.json loader,
 * the report renderer (report.md, self-contained report.html, gnuplot PNG+SVG under plots/),
 * the `hvbench report` and `hvbench compare` subcommands (the CI regression gate), and the one
 * number-formatting rule every table uses (documented in docs/reports.md).
 */
#ifndef HB_REPORT_H
#define HB_REPORT_H

#include <stdio.h>
#include <jansson.h>
#include "hb.h"
#include "metric.h"

#define HB_RESULTS_SCHEMA    "hvbench/result/2"
#define HB_RESULTS_SCHEMA_V1 "hvbench/result/1" /* read, upgraded on load */
#define HB_RESULTS_MAX_BYTES ((size_t)64 << 20)

/*
 * Loads path and validates it against hvbench/result/2 (or /1, then upgraded in memory to /2
 * with hb_results_upgrade): the schema string and the type of every field the reports and the
 * gate use. Errors name the place, e.g.
 * "r.json: results[3].samples[1]: not a number"; JSON syntax errors give line and column;
 * files over 64 MiB are refused. On success *out is a new reference the caller json_decref()s.
 */
int hb_results_load(const char *path, json_t **out, struct hb_err *e);
/* The same checks on an already parsed document; name prefixes the messages. */
int hb_results_validate(const json_t *root, const char *name, struct hb_err *e);
/*
 * A validated hvbench/result/1 document becomes /2: each row gets area, role and comparison
 * from the metric declarations of today (hb_metric_lookup; the headline from the profile the
 * file embeds), comparisons[] is rebuilt from the samples, "upgraded_from" records the old
 * schema. No-op on /2 documents.
 */
void hb_results_upgrade(json_t *root);
/*
 * Replaces root["comparisons"] with the comparison of every row whose comparison is ratio or
 * delta against the row of the same workload and metric of target `baseline` (the samples of
 * both; see hb_comparison_json). Rows without a baseline row get none.
 */
int hb_results_compare_baseline(json_t *root, const char *baseline, struct hb_err *e);
/*
 * One comparison of cur against base samples as its model declares: ratio → {"comparison":
 * "ratio", "ratio" (median cur/base), "ci95", "oriented" (> 1 better), "oriented_ci95"}, only
 * when both medians are positive; delta → {"comparison": "delta", "delta" (median cur − base),
 * "ci95"}. NULL for none, empty sides or a ratio that would mean nothing. New reference.
 */
json_t *hb_comparison_json(enum hb_cmp cmp, int higher_is_better, const double *cur, size_t ncur,
			   const double *base, size_t nbase);

/*
 * Formats a measured value: integers (|v| < 1e15) in full ("51974", "6"); otherwise 4
 * significant digits without exponent for 1e-3 <= |v| < 1e9 (123456.7 -> "123457",
 * 7812.34 -> "7812", 45.678 -> "45.68", 0.012345 -> "0.01235"), "%.3e" outside that range;
 * "n/a" for NaN/inf.
 */
void hb_fmt_value(double v, char *buf, size_t len);
/* A ratio as a percentage with one decimal: 0.98234 -> "98.2". */
void hb_fmt_pct(double ratio, char *buf, size_t len);

struct hb_report_opts {
	double cv_warn; /* warn when a metric's CV exceeds this fraction (default 0.10) */
	int no_plots;	/* skip gnuplot entirely (the plots section says so) */
	/* labels[i] names results[i] in column headers ("KVM", "Hyper-V"); NULL or a NULL entry:
	 * "run N". With labels the runs keep the order given, otherwise they are ordered by
	 * started_at. Borrowed. */
	const char *const *labels;
	/* A separate results document (borrowed) whose native target is the reference of every
	 * column (bare metal on the same hardware as a remote target in another hypervisor's VM);
	 * NULL: each run's own native target. */
	json_t *baseline;
	const char *baseline_label; /* its column label (default "baseline"); borrowed */
	/* the planning flags of `hvbench report` (--host-cores ...) as a planning object over the
	 * profile's "planning" block (hb_cap_plan_flag); borrowed, NULL = none */
	const json_t *planning;
};
void hb_report_opts_init(struct hb_report_opts *o);

/*
 * Renders results[0..n) (n >= 1, each a validated results document; several = a comparison
 * across runs, ordered by started_at) into outdir: report.md, report.html, plots/. Every file is
 * written atomically (plots: in a fresh directory, moved into plots/ once complete). Returns 0;
 * HB_EUNSUPP when gnuplot is missing, HB_ECHILD when a plot failed (gnuplot error, disk full):
 * in both cases report.md and report.html are still written and say why the plots are absent
 * (e says it too); another negative code when the report could not be written. The runner calls
 * this with outdir = its results directory.
 */
int hb_report_render(json_t *const *results, size_t n, const char *outdir, struct hb_err *e);
int hb_report_render_opts(json_t *const *results, size_t n, const char *outdir,
			  const struct hb_report_opts *o, struct hb_err *e);

/*
 * The at-a-glance table of one results document as plain text for a terminal (the end of
 * `hvbench run`): one row per headline metric, one column per target, every line cut to
 * width columns (0: no limit). Returns 0, or HB_ENOMEM.
 */
int hb_report_glance_text(json_t *results, FILE *out, int width, struct hb_err *e);

/*
 * `hvbench report RESULTS.json [MORE.json ...] [-o DIR] [--cv-warn PCT] [--no-plots]
 *  [--label FILE=TEXT ...] [--baseline NATIVE.json]`
 * (argv[0] = "report"). Exit status: 0 written, 1 written without plots (gnuplot missing or
 * failed; the reason on stderr), 2 usage or input error. Default DIR: the first file's directory.
 */
int hb_cmd_report(int argc, char **argv);

/*
 * What the host agent hands in to compare (hb_cmd_compare, history.c); reports stand below the
 * host agent. Where `--baseline-from db:last=K` finds its baselines: the history store. load: as
 * hb_store_baselines (docs: malloc'd, newest first), free_docs: as hb_store_docs_free.
 */
struct hb_baseline_source {
	int (*load)(const char *db, const char *from, const json_t *cur, json_t ***docs, size_t *n,
		    struct hb_err *e);
	void (*free_docs)(json_t **docs, size_t n);
	/* NULL, or a new JSON value of the default of option key of a target of kind (NULL when
	 * unknown): an option one run's results lack (an older hvbench) compares as its default */
	json_t *(*option_default)(const char *kind, const char *key);
};
/*
 * `hvbench compare BASELINE.json CURRENT.json [--alpha 0.01] [--threshold 5%]
 *  [--threshold-for METRIC=PCT] [--junit FILE] [--format text|json|md]` (argv[0] = "compare")
 * writing to out and err (tests capture them); src NULL: no history store. Exit status: 0 no
 * regression, 1 regression, 2 usage or input error (message on err).
 */
int hb_compare_main(int argc, char **argv, FILE *out, FILE *err,
		    const struct hb_baseline_source *src);
int hb_report_main(int argc, char **argv, FILE *out, FILE *err);

#endif
