/*
 * rep_int.h — private to reports/: JSON accessors over a validated results document, and the
 * report model (rows = metrics grouped by area, columns = run x target, one computed cell per
 * pair) that the Markdown/HTML renderer and the gnuplot plotter both read.
 */
#ifndef HB_REP_INT_H
#define HB_REP_INT_H

#include <jansson.h>
#include "hb.h"
#include "report.h"
#include "metric.h"

/* Accessors: never fail; defaults/NAN when absent or of another type. Strings are borrowed. */
const char *hb_j_str(const json_t *o, const char *key, const char *def);
double hb_j_num(const json_t *o, const char *key);
int hb_j_bool(const json_t *o, const char *key, int def);
double hb_j_idx(const json_t *a, size_t i);
/* Copies the numeric samples into a malloc'd array (caller frees); returns the count. */
size_t hb_j_samples(const json_t *res, double **out);
/* The first object of array a whose member key is the string val, or NULL. */
const json_t *hb_j_find(const json_t *a, const char *key, const char *val);
const json_t *hb_j_target(const json_t *root, const char *name);
/* Whether a results target is the native baseline (its kind: the one place reports read it). */
int hb_j_is_native(const json_t *target);
/* Name of the native target, or NULL. */
const char *hb_j_native(const json_t *root);
const json_t *hb_j_result(const json_t *root, const char *target, const char *workload,
			  const char *metric);
const json_t *hb_j_comparison(const json_t *root, const char *target, const char *baseline,
			      const char *workload, const char *metric);

/* Section title of an area ("Storage I/O"). */
const char *hb_area_name(int area);

/* One (workload, metric) pair with its declared model (from the results rows). */
struct hb_rep_row {
	const char *workload, *metric, *kind, *unit; /* borrowed from the first run holding it */
	int area, role, cmp;			     /* enum hb_area / hb_role / hb_cmp */
	int higher_is_better;
	/* the workload is named as its kind (a target's facts "boot", "memory"; an entry "cpu"):
	 * labels leave the name out ("Boot: time_to_ready", not "Boot: boot time_to_ready") */
	int name_is_kind;
};

/* One (run, target) pair; ref is the column its comparisons are taken against. */
struct hb_rep_col {
	size_t run;
	const char *target; /* borrowed */
	const char *label;  /* the run's label (--label) or NULL; borrowed */
	const json_t *info; /* the target's info object or NULL */
	int is_native, emulated, user_net;
	int is_baseline; /* a column of the separate --baseline file */
	long ref;	 /* index of the reference column (a native target); -1: none */
};

struct hb_rep_cell {
	const json_t *res;   /* NULL when this target has no such metric */
	size_t n;	     /* sample count */
	double median, cv;   /* from the file (computed from samples only when absent) */
	double ci_lo, ci_hi; /* the median's CI from the file (NAN if absent) */
	double base;	     /* the reference column's median (NAN when none) */
	/* the row's declared comparison against the reference column; has_cmp only when there is
	 * one that may be printed (no ratio of a zero or negative baseline) */
	int has_cmp, cmp_from_file;
	double ratio, lo, hi;	   /* raw VM / native and its CI (ratio rows) */
	double oriented, olo, ohi; /* > 1 is better (ratio rows) */
	double delta, dlo, dhi;	   /* VM - native in the unit, CI may be NAN (delta rows) */
};

struct hb_rep {
	json_t *const *runs; /* runs[0..nruns) and, when baseline, runs[nruns] = the baseline */
	size_t nruns;
	int has_baseline;
	struct hb_rep_row *rows;
	size_t nrows;
	struct hb_rep_col *cols;
	size_t ncols;
	struct hb_rep_cell *cells; /* nrows * ncols, row-major */
	struct hb_report_opts opts;
};

/*
 * Builds the model of runs[0..n) (+ o->baseline when set: its native target becomes the
 * reference of every column). labels[i] (may be NULL) names runs[i].
 */
int hb_rep_build(struct hb_rep *r, json_t *const *runs, size_t n, const struct hb_report_opts *o,
		 struct hb_err *e);
void hb_rep_free(struct hb_rep *r);
static inline const struct hb_rep_cell *hb_rep_cell(const struct hb_rep *r, size_t row, size_t col)
{
	return &r->cells[row * r->ncols + col];
}
/* Row label "workload · metric". */
void hb_rep_row_label(const struct hb_rep_row *row, char *buf, size_t len);
/* Column label: "target", or "LABEL: target" / "run N: target" with several runs. */
void hb_rep_col_label(const struct hb_rep *r, const struct hb_rep_col *c, char *buf, size_t len);
/* Whether a column is a VM-like target (not native, not the baseline). */
int hb_rep_col_is_vm(const struct hb_rep_col *c);

/*
 * Text of one headline/detail cell under the row's comparison, without markup:
 *   ratio: "96.0%" (oriented), "×12.3" when >= 10x, with *cls = HB_REP_GOOD...;
 *   delta: "×4.2 native (+310 µs)" / "+310 µs";
 *   none or reference column: the median with its unit.
 * abs (may be NULL) gets the median with its unit; ci (may be NULL) the CI text or "".
 */
enum { HB_REP_NEUTRAL, HB_REP_GOOD, HB_REP_FAIR, HB_REP_POOR, HB_REP_BAD };
void hb_rep_cell_text(const struct hb_rep_row *row, const struct hb_rep_col *col,
		      const struct hb_rep_cell *c, char *main, size_t mlen, char *abs, size_t alen,
		      char *ci, size_t clen, int *cls);

#define HB_REP_MAX_PLOTS 32
struct hb_rep_plot {
	char name[32]; /* file stem under plots/: NAME.png, NAME.svg, NAME.dat, NAME.gp */
	char title[160];
	int ok; /* PNG and SVG were produced */
};
struct hb_rep_plots {
	struct hb_rep_plot p[HB_REP_MAX_PLOTS];
	size_t n;
	char why[512]; /* set when plots are absent or some failed: shown in the report */
};
/* Writes data + scripts into plotdir and runs gnuplot; HB_EUNSUPP when gnuplot is missing. */
int hb_rep_plots(const struct hb_rep *r, const char *plotdir, struct hb_rep_plots *out,
		 struct hb_err *e);

/*
 * One plot from its data and the body of its gnuplot script (between the terminal set-up and
 * the SVG replot that hb_rep_plots' own figures use), through the same symlink-safe work
 * directory; recorded in out.
 */
int hb_rep_plot_script(const char *plotdir, struct hb_rep_plots *out, const char *name,
		       const char *title, const char *data, const char *body, int width, int height,
		       struct hb_err *e);
/* A figure (PNG inlined in the HTML, linked from the Markdown) of a plot that was drawn. */
void hb_rep_figure(FILE *md, FILE *html, const char *outdir, const struct hb_rep_plot *p);
/*
 * Text from data (names, messages) into the Markdown document: '|' escaped (cannot split a
 * table cell), '<' '>' '&' as entities (a renderer shows them, never takes them for HTML),
 * newlines flattened. hb_rep_html_text: the same for HTML (&<>" as entities).
 */
void hb_rep_md_text(FILE *md, const char *s);
void hb_rep_html_text(FILE *html, const char *s);
/* Base64 of p[0..n) into f (the HTML report inlines its PNGs). */
void hb_rep_base64(FILE *f, const unsigned char *p, size_t n);

/* reports/capacity.c: the capacity section (density sweep, host footprint, overhead model,
 * VMs per host) into both documents, and its plots (names "density-*"). */
void hb_rep_capacity(FILE *md, FILE *html, const struct hb_rep *r, const char *outdir,
		     const struct hb_rep_plots *pl);
int hb_rep_capacity_plots(const struct hb_rep *r, const char *plotdir, struct hb_rep_plots *out,
			  struct hb_err *e);

#endif
