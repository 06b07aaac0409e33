/*
 * model.c — turns one or more validated results documents into the report model: rows are
 * (workload, metric) pairs carrying the metric model of the file (area, role, comparison),
 * grouped by area, headline rows first; columns are (run, target) pairs, each with the column
 * it is compared against (the native target of its run, or the native target of a separate
 * baseline file); every cell carries the figures the tables and plots print, under the row's
 * declared comparison. Numbers come from the file (median, cv, ci95, comparisons) so the report
 * matches it exactly; a comparison the file does not hold (against another file's baseline) is
 * computed here by hb_comparison_json, as the runner computes it (fixed-seed bootstrap, so
 * reruns are identical).
 */
#include "rep_int.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MULT "\xc3\x97" /* U+00D7 */

const char *hb_area_name(int area)
{
	static const char *names[HB_AREA_COUNT] = {
		"Storage I/O",
		"Network throughput",
		"Memory bandwidth / latency",
		"CPU",
		"Latency and noise",
		"Boot",
		"Host memory overhead per VM",
		"Host CPU cost",
		"Diagnostics",
	};

	return area >= 0 && area < HB_AREA_COUNT ? names[area] : "Diagnostics";
}

void hb_rep_row_label(const struct hb_rep_row *row, char *buf, size_t len)
{
	snprintf(buf, len, "%s \xc2\xb7 %s", row->workload, row->metric);
}

void hb_rep_col_label(const struct hb_rep *r, const struct hb_rep_col *c, char *buf, size_t len)
{
	if (c->is_baseline)
		snprintf(buf, len, "%s: %s",
			 r->opts.baseline_label ? r->opts.baseline_label : "baseline", c->target);
	else if (c->label)
		snprintf(buf, len, "%s: %s", c->label, c->target);
	else if (r->nruns > 1)
		snprintf(buf, len, "run %zu: %s", c->run + 1, c->target);
	else
		hb_strlcpy(buf, c->target, len);
}

int hb_rep_col_is_vm(const struct hb_rep_col *c)
{
	return !c->is_native && !c->is_baseline;
}

void hb_rep_free(struct hb_rep *r)
{
	if (r->has_baseline)
		free((void *)r->runs);
	free(r->rows);
	free(r->cols);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

/* The declared model of a results row; an undeclared metric is a diagnostic with no
 * comparison (the loader fills these fields for hvbench/result/1 files). */
static void row_model(const json_t *x, struct hb_rep_row *row)
{
	int a = hb_area_parse(hb_j_str(x, "area", ""));
	int ro = hb_role_parse(hb_j_str(x, "role", ""));
	int c = hb_cmp_parse(hb_j_str(x, "comparison", ""));

	row->area = a >= 0 ? a : HB_AREA_DIAG;
	row->role = ro >= 0 ? ro : HB_ROLE_DIAGNOSTIC;
	row->cmp = c >= 0 ? c : HB_CMP_NONE;
}

static int add_rows(struct hb_rep *r, const json_t *root, size_t *cap)
{
	const json_t *res = json_object_get(root, "results"), *x;
	size_t i;

	json_array_foreach (res, i, x) {
		const char *w = hb_j_str(x, "workload", ""), *m = hb_j_str(x, "metric", "");
		struct hb_rep_row *row;
		size_t j;

		for (j = 0; j < r->nrows; j++)
			if (!strcmp(r->rows[j].workload, w) && !strcmp(r->rows[j].metric, m))
				break;
		if (j < r->nrows)
			continue;
		if (r->nrows == *cap) {
			struct hb_rep_row *nr = hb_grow(r->rows, cap, 32, sizeof(*nr));

			if (!nr)
				return HB_ENOMEM;
			r->rows = nr;
		}
		row = &r->rows[r->nrows++];
		row->workload = w;
		row->metric = m;
		row->kind = hb_j_str(x, "kind", "");
		row->name_is_kind = !strcmp(w, row->kind);
		row->unit = hb_j_str(x, "unit", "");
		row->higher_is_better = hb_j_bool(x, "higher_is_better", 1);
		row_model(x, row);
	}
	return 0;
}

/* Stable sort by area, then role, keeping first-appearance order inside. */
static void sort_rows(struct hb_rep *r)
{
	for (size_t i = 1; i < r->nrows; i++) {
		struct hb_rep_row t = r->rows[i];
		size_t j = i;

		while (j > 0 && (r->rows[j - 1].area > t.area ||
				 (r->rows[j - 1].area == t.area && r->rows[j - 1].role > t.role))) {
			r->rows[j] = r->rows[j - 1];
			j--;
		}
		r->rows[j] = t;
	}
}

/* A comparison object (from the file, or hb_comparison_json) into the cell, as the row
 * declares it; 0 when it holds no such figure. */
static int cmp_cell(const struct hb_rep_row *rw, struct hb_rep_cell *c, const json_t *cmp)
{
	const json_t *ci = json_object_get(cmp, "ci95");

	if (rw->cmp == HB_CMP_RATIO && isfinite(hb_j_num(cmp, "ratio")) &&
	    isfinite(hb_j_num(cmp, "oriented"))) {
		const json_t *oci = json_object_get(cmp, "oriented_ci95");

		c->ratio = hb_j_num(cmp, "ratio");
		c->lo = hb_j_idx(ci, 0);
		c->hi = hb_j_idx(ci, 1);
		c->oriented = hb_j_num(cmp, "oriented");
		c->olo = hb_j_idx(oci, 0);
		c->ohi = hb_j_idx(oci, 1);
		return 1;
	}
	if (rw->cmp == HB_CMP_DELTA && isfinite(hb_j_num(cmp, "delta"))) {
		c->delta = hb_j_num(cmp, "delta");
		c->dlo = hb_j_idx(ci, 0);
		c->dhi = hb_j_idx(ci, 1);
		return 1;
	}
	return 0;
}

static void fill_cell(const struct hb_rep *r, size_t row, size_t col, struct hb_rep_cell *c)
{
	const struct hb_rep_row *rw = &r->rows[row];
	const struct hb_rep_col *cl = &r->cols[col], *ref;
	const json_t *ci, *bres, *cmp = NULL;
	json_t *own = NULL;
	double *s = NULL, *bs = NULL;
	size_t nb;

	memset(c, 0, sizeof(*c));
	c->median = c->cv = c->ci_lo = c->ci_hi = c->base = NAN;
	c->ratio = c->lo = c->hi = c->oriented = c->olo = c->ohi = NAN;
	c->delta = c->dlo = c->dhi = NAN;
	c->res = hb_j_result(r->runs[cl->run], cl->target, rw->workload, rw->metric);
	if (!c->res)
		return;
	c->n = hb_j_samples(c->res, &s);
	c->median = hb_j_num(c->res, "median");
	if (isnan(c->median))
		c->median = hb_median(s, c->n);
	c->cv = hb_j_num(c->res, "cv");
	if (isnan(c->cv) && c->n > 0) {
		struct hb_summary sm;

		if (!hb_summarize(s, c->n, &sm))
			c->cv = sm.cv;
	}
	ci = json_object_get(c->res, "ci95");
	c->ci_lo = hb_j_idx(ci, 0);
	c->ci_hi = hb_j_idx(ci, 1);
	if (cl->ref < 0 || rw->cmp == HB_CMP_NONE)
		goto out;
	ref = &r->cols[cl->ref];
	bres = hb_j_result(r->runs[ref->run], ref->target, rw->workload, rw->metric);
	if (!bres)
		goto out;
	nb = hb_j_samples(bres, &bs);
	c->base = hb_j_num(bres, "median");
	if (isnan(c->base))
		c->base = hb_median(bs, nb);
	if (!isfinite(c->base) || !isfinite(c->median))
		goto out;
	/* no percentage of a zero or negative baseline, nor of a negative figure */
	if (rw->cmp == HB_CMP_RATIO && (c->base <= 0 || c->median < 0))
		goto out;
	/* the file's own comparison when the reference is its run's native target; else (another
	 * file's baseline, a file without comparisons) computed the same way as the runner does */
	if (ref->run == cl->run && !ref->is_baseline)
		cmp = hb_j_comparison(r->runs[cl->run], cl->target, ref->target, rw->workload,
				      rw->metric);
	if (cmp && cmp_cell(rw, c, cmp)) {
		c->has_cmp = c->cmp_from_file = 1;
		goto out;
	}
	own = hb_comparison_json(rw->cmp, rw->higher_is_better, s, c->n, bs, nb);
	if (own && cmp_cell(rw, c, own))
		c->has_cmp = 1;
out:
	json_decref(own);
	free(s);
	free(bs);
}

static int add_col(struct hb_rep *r, size_t *cap, size_t run, const json_t *t, const char *native,
		   const char *label, int is_baseline)
{
	const char *name = hb_j_str(t, "name", "");
	struct hb_rep_col *c;

	if (r->ncols == *cap) {
		struct hb_rep_col *ncol = hb_grow(r->cols, cap, 8, sizeof(*ncol));

		if (!ncol)
			return HB_ENOMEM;
		r->cols = ncol;
	}
	c = &r->cols[r->ncols++];
	memset(c, 0, sizeof(*c));
	c->run = run;
	c->target = name;
	c->label = label;
	c->info = json_object_get(t, "info");
	c->is_native = native && !strcmp(name, native);
	c->is_baseline = is_baseline;
	c->emulated = hb_j_bool(c->info, "emulation", 0);
	c->user_net = !strcmp(hb_j_str(c->info, "net_mode", ""), "user");
	c->ref = -1;
	return 0;
}

/* Columns: the baseline's native target first, then per run its native target and the rest
 * in file order; each refers to the baseline, else to its run's native target. */
static int add_cols(struct hb_rep *r, json_t *const *runs, size_t n, struct hb_err *e)
{
	size_t cap = 0;
	long base_col = -1;
	int rc;

	if (r->has_baseline) {
		const char *bn = hb_j_native(runs[n]);
		const json_t *bt = bn ? hb_j_target(runs[n], bn) : NULL;

		if (!bt)
			return hb_err_set(e, HB_EINVAL,
					  "report: the baseline file has no native target");
		if ((rc = add_col(r, &cap, n, bt, bn, NULL, 1)))
			return rc;
		base_col = 0;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *t = json_object_get(runs[i], "targets"), *x;
		const char *native = hb_j_native(runs[i]);
		const char *label = r->opts.labels ? r->opts.labels[i] : NULL;
		long own = -1;
		size_t j;

		for (int pass = 0; pass < 2; pass++) {
			json_array_foreach (t, j, x) {
				int is_native = native && !strcmp(hb_j_str(x, "name", ""), native);

				if (is_native != (pass == 0))
					continue;
				if ((rc = add_col(r, &cap, i, x, native, label, 0)))
					return rc;
				if (is_native)
					own = (long)r->ncols - 1;
			}
		}
		for (size_t k = 0; k < r->ncols; k++)
			if (r->cols[k].run == i && !r->cols[k].is_baseline) {
				long ref = base_col >= 0 ? base_col : own;

				r->cols[k].ref = (long)k == ref ? -1 : ref;
			}
	}
	return 0;
}

int hb_rep_build(struct hb_rep *r, json_t *const *runs, size_t n, const struct hb_report_opts *o,
		 struct hb_err *e)
{
	size_t cap = 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (o)
		r->opts = *o;
	else
		hb_report_opts_init(&r->opts);
	r->nruns = n;
	r->has_baseline = r->opts.baseline != NULL;
	if (r->has_baseline) {
		/* runs[n] is the baseline: a private copy of the pointer array */
		json_t **all = malloc((n + 1) * sizeof(*all));

		if (!all)
			return hb_err_set(e, HB_ENOMEM, "report: out of memory");
		memcpy(all, runs, n * sizeof(*all));
		all[n] = r->opts.baseline;
		r->runs = all;
	} else {
		r->runs = runs;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = add_rows(r, runs[i], &cap)))
			goto fail;
	if ((rc = add_cols(r, r->runs, n, e)))
		goto fail;
	sort_rows(r);
	if (r->nrows && r->ncols) {
		r->cells = calloc(r->nrows * r->ncols, sizeof(*r->cells));
		if (!r->cells) {
			rc = HB_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < r->nrows; i++)
			for (size_t j = 0; j < r->ncols; j++)
				fill_cell(r, i, j, &r->cells[i * r->ncols + j]);
	}
	return 0;
fail:
	hb_rep_free(r);
	if (rc == HB_ENOMEM)
		return hb_err_set(e, rc, "report: out of memory");
	return rc;
}

/* ---- cell text: the one place a comparison becomes words ---- */

static const char *unit_disp(const char *u)
{
	return !strcmp(u, "us") ? "\xc2\xb5s" : u;
}

static void with_unit(double v, const char *unit, char *buf, size_t len)
{
	char n[64];

	hb_fmt_value(v, n, sizeof(n));
	if (*unit)
		snprintf(buf, len, "%s %s", n, unit_disp(unit));
	else
		hb_strlcpy(buf, n, len);
}

static void signed_unit(double v, const char *unit, char *buf, size_t len)
{
	char n[64];

	hb_fmt_value(fabs(v), n, sizeof(n));
	snprintf(buf, len, "%s%s%s%s", v < 0 ? "\xe2\x88\x92" : "+", n, *unit ? " " : "",
		 unit_disp(unit));
}

static int grade(double oriented)
{
	if (!isfinite(oriented))
		return HB_REP_NEUTRAL;
	return oriented >= 0.95	  ? HB_REP_GOOD
	       : oriented >= 0.75 ? HB_REP_FAIR
	       : oriented >= 0.40 ? HB_REP_POOR
				  : HB_REP_BAD;
}

/* "96.0%"; "×12.3" at 10x and more (no cell over 1000%). */
static void fmt_oriented(double o, char *buf, size_t len)
{
	char p[32];

	if (o >= 10) {
		snprintf(buf, len, MULT "%.1f", o);
		return;
	}
	hb_fmt_pct(o, p, sizeof(p));
	snprintf(buf, len, "%s%%", p);
}

void hb_rep_cell_text(const struct hb_rep_row *row, const struct hb_rep_col *col,
		      const struct hb_rep_cell *c, char *main, size_t mlen, char *abs, size_t alen,
		      char *ci, size_t clen, int *cls)
{
	char a[96], b[96], d[96];

	*cls = HB_REP_NEUTRAL;
	if (ci)
		ci[0] = '\0';
	if (!c->res) {
		hb_strlcpy(main, "\xe2\x80\x94", mlen);
		if (abs)
			abs[0] = '\0';
		return;
	}
	with_unit(c->median, row->unit, a, sizeof(a));
	if (abs)
		hb_strlcpy(abs, a, alen);
	(void)col;
	if (!c->has_cmp) {
		hb_strlcpy(main, a, mlen);
		return;
	}
	if (row->cmp == HB_CMP_RATIO) {
		fmt_oriented(c->oriented, main, mlen);
		*cls = grade(c->oriented);
		if (ci && isfinite(c->olo) && isfinite(c->ohi)) {
			fmt_oriented(c->olo, b, sizeof(b));
			fmt_oriented(c->ohi, d, sizeof(d));
			snprintf(ci, clen, "95%% CI %s\xe2\x80\x93%s", b, d);
		}
		return;
	}
	/* delta: "×4.2 native (+310 µs)" when the factor means something, else "+310 µs" */
	signed_unit(c->delta, row->unit, b, sizeof(b));
	if (c->base > 0 && c->median >= 0) {
		double f = c->median / c->base;

		snprintf(main, mlen, MULT "%.*f native (%s)", f < 10 ? 2 : 1, f, b);
		*cls = grade(row->higher_is_better ? f : f > 0 ? 1.0 / f : NAN);
	} else {
		hb_strlcpy(main, b, mlen);
	}
	if (ci && isfinite(c->dlo) && isfinite(c->dhi)) {
		signed_unit(c->dlo, row->unit, b, sizeof(b));
		signed_unit(c->dhi, row->unit, d, sizeof(d));
		snprintf(ci, clen, "95%% CI %s\xe2\x80\x93%s", b, d);
	}
}
