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
const json_t *hb_j_target(const json_t *root, const char *name);
/* Name of the native target (kind "native"), or NULL. */
const char *hb_j_native(const json_t *root);
const json_t *hb_j_result(const json_t *root, const char *target, const char *workload,
			  const char *metric);
const json_t *hb_j_comparison(const json_t *root, const char *target, const char *baseline,
			      const char *workload, const char *metric);

/* Section title of an area ("Storage I/O"). */
const char *hb_area_name(int area);

struct hb_rep_row {
	const char *workload, *metric, *kind, *unit; /* borrowed from the first run holding it */
	int area, higher_is_better;
	enum hb_role role; /* the metric model, from the file (upgraded on load for /1 files) */
	enum hb_cmp cmp;
};

struct hb_rep_col {
	size_t run;
	const char *target; /* borrowed */
	const json_t *info; /* the target's info object or NULL */
	int is_native, emulated, user_net;
};

struct hb_rep_cell {
	const json_t *res;    /* NULL when this target has no such metric */
	size_t n;	      /* sample count */
	double median, cv;    /* from the file (computed from samples only when absent) */
	double ci_lo, ci_hi;  /* the median's CI from the file (NAN if absent) */
	int has_ratio;	      /* comparison "ratio" with the same run's native target */
	double ratio, lo, hi; /* raw VM/native, from "comparisons" when present, else computed */
	double oriented, olo, ohi; /* > 1 better */
	int has_delta;		   /* comparison "delta": VM - native in the metric's unit */
	double delta, dlo, dhi;
	int ratio_from_file;
};

struct hb_rep {
	json_t *const *runs;
	size_t nruns;
	struct hb_rep_row *rows;
	size_t nrows;
	struct hb_rep_col *cols;
	size_t ncols;
	struct hb_rep_cell *cells; /* nrows * ncols, row-major */
	struct hb_report_opts opts;
};

int hb_rep_build(struct hb_rep *r, json_t *const *runs, size_t n, const struct hb_report_opts *o,
		 struct hb_err *e);
void hb_rep_free(struct hb_rep *r);
static inline const struct hb_rep_cell *hb_rep_cell(const struct hb_rep *r, size_t row, size_t col)
{
	return &r->cells[row * r->ncols + col];
}
/* Row label "workload · metric". */
void hb_rep_row_label(const struct hb_rep_row *row, char *buf, size_t len);

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
/* Base64 of p[0..n) into f (the HTML report inlines its PNGs). */
void hb_rep_base64(FILE *f, const unsigned char *p, size_t n);

/* reports/capacity.c: the capacity section (density sweep, host footprint, overhead model,
 * VMs per host) into both documents, and its plots (names "density-*"). */
void hb_rep_capacity(FILE *md, FILE *html, const struct hb_rep *r, const char *outdir,
		     const struct hb_rep_plots *pl);
int hb_rep_capacity_plots(const struct hb_rep *r, const char *plotdir, struct hb_rep_plots *out,
			  struct hb_err *e);

#endif
