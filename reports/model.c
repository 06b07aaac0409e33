/*
 * model.c — turns one or more validated results documents into the report model: rows are
 * (workload, metric) pairs grouped by area in a fixed order, columns are (run, target) pairs,
 * and every cell carries the figures the tables and plots print. Numbers come from the file
 * (median, cv, ci95, comparisons) so the report matches it exactly; only a missing ratio is
 * bootstrapped here (fixed seed, so reruns are identical).
 */
#include "rep_int.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

void hb_rep_free(struct hb_rep *r)
{
	free(r->rows);
	free(r->cols);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

static int add_rows(struct hb_rep *r, const json_t *root, size_t *cap)
{
	const json_t *res = json_object_get(root, "results"), *x;
	size_t i;

	json_array_foreach (res, i, x) {
		const char *w = hb_j_str(x, "workload", ""), *m = hb_j_str(x, "metric", "");
		size_t j;

		for (j = 0; j < r->nrows; j++)
			if (!strcmp(r->rows[j].workload, w) && !strcmp(r->rows[j].metric, m))
				break;
		if (j < r->nrows)
			continue;
		if (r->nrows == *cap) {
			size_t nc = *cap ? *cap * 2 : 32;
			struct hb_rep_row *nr = realloc(r->rows, nc * sizeof(*nr));

			if (!nr)
				return HB_ENOMEM;
			r->rows = nr;
			*cap = nc;
		}
		r->rows[r->nrows].workload = w;
		r->rows[r->nrows].metric = m;
		r->rows[r->nrows].kind = hb_j_str(x, "kind", "");
		r->rows[r->nrows].unit = hb_j_str(x, "unit", "");
		r->rows[r->nrows].higher_is_better = hb_j_bool(x, "higher_is_better", 1);
		r->rows[r->nrows].area = hb_area_parse(hb_j_str(x, "area", ""));
		r->rows[r->nrows].role = hb_role_parse(hb_j_str(x, "role", ""));
		r->rows[r->nrows].cmp = hb_cmp_parse(hb_j_str(x, "comparison", ""));
		/* loaded documents are validated /2 (or upgraded): these never fail; be safe */
		if (r->rows[r->nrows].area < 0 || r->rows[r->nrows].role == (enum hb_role) - 1 ||
		    r->rows[r->nrows].cmp == (enum hb_cmp) - 1) {
			r->rows[r->nrows].area = HB_AREA_DIAG;
			r->rows[r->nrows].role = HB_ROLE_DIAGNOSTIC;
			r->rows[r->nrows].cmp = HB_CMP_NONE;
		}
		r->nrows++;
	}
	return 0;
}

/* Stable sort by area, keeping first-appearance order inside an area. */
static void sort_rows(struct hb_rep *r)
{
	for (size_t i = 1; i < r->nrows; i++) {
		struct hb_rep_row t = r->rows[i];
		size_t j = i;

		while (j > 0 && r->rows[j - 1].area > t.area) {
			r->rows[j] = r->rows[j - 1];
			j--;
		}
		r->rows[j] = t;
	}
}

/* A comparison object (see hb_comparison_json) into the cell. */
static void cmp_cell(struct hb_rep_cell *c, const json_t *cmp)
{
	const json_t *ci = json_object_get(cmp, "ci95");
	const char *kind = hb_j_str(cmp, "comparison", "ratio");

	if (!strcmp(kind, "ratio") && isfinite(hb_j_num(cmp, "ratio"))) {
		const json_t *oci = json_object_get(cmp, "oriented_ci95");
		c->has_ratio = 1;
		c->ratio = hb_j_num(cmp, "ratio");
		c->lo = hb_j_idx(ci, 0);
		c->hi = hb_j_idx(ci, 1);
		c->oriented = hb_j_num(cmp, "oriented");
		c->olo = hb_j_idx(oci, 0);
		c->ohi = hb_j_idx(oci, 1);
	} else if (!strcmp(kind, "delta") && isfinite(hb_j_num(cmp, "delta"))) {
		c->has_delta = 1;
		c->delta = hb_j_num(cmp, "delta");
		c->dlo = hb_j_idx(ci, 0);
		c->dhi = hb_j_idx(ci, 1);
	}
}

static void fill_cell(const struct hb_rep *r, size_t row, size_t col, struct hb_rep_cell *c)
{
	const struct hb_rep_row *rw = &r->rows[row];
	const struct hb_rep_col *cl = &r->cols[col];
	const json_t *root = r->runs[cl->run], *ci, *cmp;
	const char *native = hb_j_native(root);
	json_t *own = NULL;
	double *s = NULL, *bs = NULL;
	size_t nb;

	memset(c, 0, sizeof(*c));
	c->median = c->cv = c->ci_lo = c->ci_hi = c->ratio = c->lo = c->hi = NAN;
	c->oriented = c->olo = c->ohi = c->delta = c->dlo = c->dhi = NAN;
	c->res = hb_j_result(root, cl->target, rw->workload, rw->metric);
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
	if (cl->is_native || !native || rw->cmp == HB_CMP_NONE)
		goto out;
	cmp = hb_j_comparison(root, cl->target, native, rw->workload, rw->metric);
	if (cmp) {
		c->ratio_from_file = 1;
		cmp_cell(c, cmp);
		goto out;
	}
	nb = hb_j_samples(hb_j_result(root, native, rw->workload, rw->metric), &bs);
	own = hb_comparison_json(rw->cmp, rw->higher_is_better, s, c->n, bs, nb);
	if (own)
		cmp_cell(c, own);
	json_decref(own);
out:
	free(s);
	free(bs);
}

int hb_rep_build(struct hb_rep *r, json_t *const *runs, size_t n, const struct hb_report_opts *o,
		 struct hb_err *e)
{
	size_t cap = 0, ccap = 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->runs = runs;
	r->nruns = n;
	if (o)
		r->opts = *o;
	else
		hb_report_opts_init(&r->opts);
	for (size_t i = 0; i < n; i++) {
		const json_t *t = json_object_get(runs[i], "targets"), *x;
		const char *native = hb_j_native(runs[i]);
		size_t j;

		if ((rc = add_rows(r, runs[i], &cap)))
			goto fail;
		/* native first, then the targets in file order */
		for (int pass = 0; pass < 2; pass++) {
			json_array_foreach (t, j, x) {
				const char *name = hb_j_str(x, "name", "");
				int is_native = native && !strcmp(name, native);
				struct hb_rep_col *c;

				if (is_native != (pass == 0))
					continue;
				if (r->ncols == ccap) {
					size_t nc = ccap ? ccap * 2 : 8;
					struct hb_rep_col *ncol =
						realloc(r->cols, nc * sizeof(*ncol));

					if (!ncol) {
						rc = HB_ENOMEM;
						goto fail;
					}
					r->cols = ncol;
					ccap = nc;
				}
				c = &r->cols[r->ncols++];
				c->run = i;
				c->target = name;
				c->info = json_object_get(x, "info");
				c->is_native = is_native;
				c->emulated = hb_j_bool(c->info, "emulation", 0);
				c->user_net = !strcmp(hb_j_str(c->info, "net_mode", ""), "user");
			}
		}
	}
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
	return hb_err_set(e, rc, "report: out of memory");
}
