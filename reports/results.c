/*
 * results.c — the owner of results.json: the comparisons with the native baseline (built here
 * for the runner and for files of older schemas), a loader that refuses anything it cannot
 * trust (wrong schema, wrong field types, duplicate metric rows, oversized files) with messages
 * naming the exact place and that upgrades hvbench/result/1 files to the metric model, small
 * accessors the renderers share, and the number-formatting rule all tables use.
 */
#include "report.h"
#include "rep_int.h"
#include "probe.h"
#include "stats.h"
#include "workload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- accessors ---- */

const char *hb_j_str(const json_t *o, const char *key, const char *def)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : def;
}

double hb_j_num(const json_t *o, const char *key)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_number(v) ? json_number_value(v) : NAN;
}

int hb_j_bool(const json_t *o, const char *key, int def)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_boolean(v) ? json_is_true(v) : def;
}

double hb_j_idx(const json_t *a, size_t i)
{
	const json_t *v = json_is_array(a) ? json_array_get(a, i) : NULL;

	return json_is_number(v) ? json_number_value(v) : NAN;
}

size_t hb_j_samples(const json_t *res, double **out)
{
	const json_t *s = json_object_get(res, "samples");
	size_t n = json_array_size(s), k = 0;
	double *v;

	*out = NULL;
	if (n == 0)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *x = json_array_get(s, i);

		if (json_is_number(x))
			v[k++] = json_number_value(x);
	}
	*out = v;
	return k;
}

const json_t *hb_j_find(const json_t *a, const char *key, const char *val)
{
	const json_t *x;
	size_t i;

	json_array_foreach (a, i, x)
		if (!strcmp(hb_j_str(x, key, ""), val))
			return x;
	return NULL;
}

const json_t *hb_j_target(const json_t *root, const char *name)
{
	return hb_j_find(json_object_get(root, "targets"), "name", name);
}

int hb_j_is_native(const json_t *target)
{
	return !strcmp(hb_j_str(target, "kind", ""), "native");
}

const char *hb_j_native(const json_t *root)
{
	const json_t *t = json_object_get(root, "targets"), *x;
	size_t i;

	json_array_foreach (t, i, x)
		if (hb_j_is_native(x))
			return hb_j_str(x, "name", NULL);
	return hb_j_target(root, "native") ? "native" : NULL;
}

const json_t *hb_j_result(const json_t *root, const char *target, const char *workload,
			  const char *metric)
{
	const json_t *r = json_object_get(root, "results"), *x;
	size_t i;

	json_array_foreach (r, i, x)
		if (!strcmp(hb_j_str(x, "target", ""), target) &&
		    !strcmp(hb_j_str(x, "workload", ""), workload) &&
		    !strcmp(hb_j_str(x, "metric", ""), metric))
			return x;
	return NULL;
}

const json_t *hb_j_comparison(const json_t *root, const char *target, const char *baseline,
			      const char *workload, const char *metric)
{
	const json_t *r = json_object_get(root, "comparisons"), *x;
	size_t i;

	json_array_foreach (r, i, x)
		if (!strcmp(hb_j_str(x, "target", ""), target) &&
		    !strcmp(hb_j_str(x, "baseline", ""), baseline) &&
		    !strcmp(hb_j_str(x, "workload", ""), workload) &&
		    !strcmp(hb_j_str(x, "metric", ""), metric))
			return x;
	return NULL;
}

/* ---- comparisons with the baseline ---- */

static json_t *ci_pair(double lo, double hi)
{
	return json_pack("[o, o]", isfinite(lo) ? json_real(lo) : json_null(),
			 isfinite(hi) ? json_real(hi) : json_null());
}

json_t *hb_comparison_json(enum hb_cmp cmp, int higher_is_better, const double *cur, size_t ncur,
			   const double *base, size_t nbase)
{
	double v, lo, hi;

	if (!ncur || !nbase)
		return NULL;
	if (cmp == HB_CMP_RATIO) {
		/* a ratio means something only between two positive figures */
		if (!(hb_median(base, nbase) > 0) || !(hb_median(cur, ncur) > 0) ||
		    hb_ratio_ci(cur, ncur, base, nbase, &v, &lo, &hi))
			return NULL;
		return json_pack("{s:s, s:f, s:o, s:f, s:o}", "comparison", "ratio", "ratio", v,
				 "ci95", ci_pair(lo, hi), "oriented",
				 higher_is_better ? v : 1.0 / v, "oriented_ci95",
				 higher_is_better ? ci_pair(lo, hi)
						  : ci_pair(hi > 0 ? 1.0 / hi : NAN,
							    lo > 0 ? 1.0 / lo : NAN));
	}
	if (cmp == HB_CMP_DELTA) {
		if (hb_delta_ci(cur, ncur, base, nbase, &v, &lo, &hi))
			return NULL;
		return json_pack("{s:s, s:f, s:o}", "comparison", "delta", "delta", v, "ci95",
				 ci_pair(lo, hi));
	}
	return NULL;
}

/* The row of (target, workload, metric) through an index "target\x1fworkload\x1fmetric". */
static int row_key(const json_t *r, char *buf, size_t len)
{
	return hb_snprintf(buf, len, "%s\x1f%s\x1f%s", hb_j_str(r, "target", ""),
			   hb_j_str(r, "workload", ""), hb_j_str(r, "metric", ""));
}

int hb_results_compare_baseline(json_t *root, const char *baseline, struct hb_err *e)
{
	json_t *rows = json_object_get(root, "results"), *cmps = json_array(), *idx = json_object();
	const json_t *r;
	size_t i;
	int rc = 0;

	if (!cmps || !idx) {
		rc = hb_err_set(e, HB_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach (rows, i, r)
		if (!strcmp(hb_j_str(r, "target", ""), baseline)) {
			char key[256];
			if (!row_key(r, key, sizeof(key)))
				json_object_set_new(idx, key, json_integer((json_int_t)i));
		}
	json_array_foreach (rows, i, r) {
		const json_t *b;
		double *cv = NULL, *bv = NULL;
		size_t nc, nb;
		json_t *c;
		char key[256];
		int cmp = hb_cmp_parse(hb_j_str(r, "comparison", "none"));

		if (!strcmp(hb_j_str(r, "target", ""), baseline) || cmp < 0 || cmp == HB_CMP_NONE)
			continue;
		if (hb_snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", baseline,
				hb_j_str(r, "workload", ""), hb_j_str(r, "metric", "")))
			continue;
		b = json_object_get(idx, key);
		if (!b)
			continue;
		b = json_array_get(rows, (size_t)json_integer_value(b));
		nc = hb_j_samples(r, &cv);
		nb = hb_j_samples(b, &bv);
		c = hb_comparison_json(cmp, hb_j_bool(r, "higher_is_better", 1), cv, nc, bv, nb);
		free(cv);
		free(bv);
		if (!c)
			continue;
		json_object_update_missing_new(
			c, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "target",
				     hb_j_str(r, "target", ""), "baseline", baseline, "workload",
				     hb_j_str(r, "workload", ""), "metric",
				     hb_j_str(r, "metric", ""), "unit", hb_j_str(r, "unit", ""),
				     "higher_is_better", hb_j_bool(r, "higher_is_better", 1)));
		json_array_append_new(cmps, c);
	}
	json_object_set(root, "comparisons", cmps);
out:
	json_decref(cmps);
	json_decref(idx);
	return rc;
}

/* ---- upgrading files written before the metric model ---- */

/* The headline metric of a /1 entry, from the profile the file embeds (NULL if unknown). */
static const char *v1_headline(const json_t *root, const struct hb_workload *wl, const char *entry)
{
	const json_t *ws = json_object_get(json_object_get(root, "profile"), "workloads"), *w;
	const char *h = NULL;
	struct hb_err e = {0};
	json_t *params = NULL;
	size_t i;

	if (!wl->headline)
		return NULL;
	json_array_foreach (ws, i, w) {
		if (strcmp(hb_j_str(w, "name", ""), entry))
			continue;
		if (!hb_params_validate(wl->params, wl->nparams, json_object_get(w, "params"),
					"params", &params, &e))
			h = wl->headline(params); /* a static string of the descriptor */
		json_decref(params);
		break;
	}
	return h;
}

void hb_results_upgrade(json_t *root)
{
	json_t *rows = json_object_get(root, "results"), *r;
	const char *base = hb_j_native(root);
	size_t i;

	if (strcmp(hb_j_str(root, "schema", ""), HB_RESULTS_SCHEMA_V1))
		return;
	json_array_foreach (rows, i, r) {
		const char *kind = hb_j_str(r, "kind", ""), *metric = hb_j_str(r, "metric", "");
		const struct hb_metric_def *d = hb_metric_lookup(kind, metric);
		const struct hb_workload *wl = hb_workload_find(kind);
		int role = d ? (int)d->role : HB_ROLE_DIAGNOSTIC;

		if (d && wl && d->role == HB_ROLE_HEADLINE) {
			const char *h = v1_headline(root, wl, hb_j_str(r, "workload", ""));
			if (h && strcmp(h, metric))
				role = HB_ROLE_DETAIL;
		} else if (d && wl) {
			const char *h = v1_headline(root, wl, hb_j_str(r, "workload", ""));
			if (h && !strcmp(h, metric))
				role = HB_ROLE_HEADLINE;
		}
		json_object_set_new(r, "area",
				    json_string(hb_area_str(d ? d->area : HB_AREA_DIAG)));
		json_object_set_new(r, "role", json_string(hb_role_str(role)));
		json_object_set_new(r, "comparison",
				    json_string(hb_cmp_str(d ? d->cmp : HB_CMP_NONE)));
	}
	if (base) {
		struct hb_err e = {0};
		hb_results_compare_baseline(root, base, &e); /* ENOMEM only: then none */
	} else
		json_object_set_new(root, "comparisons", json_array());
	json_object_set_new(root, "schema", json_string(HB_RESULTS_SCHEMA));
	json_object_set_new(root, "upgraded_from", json_string(HB_RESULTS_SCHEMA_V1));
}

/* ---- formatting ---- */

void hb_fmt_value(double v, char *buf, size_t len)
{
	double a = fabs(v);
	int dec;

	if (!isfinite(v)) {
		hb_strlcpy(buf, "n/a", len);
		return;
	}
	if (v == 0) {
		hb_strlcpy(buf, "0", len);
		return;
	}
	if (v == floor(v) && a < 1e15) {
		snprintf(buf, len, "%.0f", v);
		return;
	}
	if (a < 1e-3 || a >= 1e9) {
		snprintf(buf, len, "%.3e", v);
		return;
	}
	dec = 3 - (int)floor(log10(a));
	if (dec < 0)
		dec = 0;
	snprintf(buf, len, "%.*f", dec, v);
}

void hb_fmt_pct(double ratio, char *buf, size_t len)
{
	if (!isfinite(ratio))
		hb_strlcpy(buf, "n/a", len);
	else if (fabs(ratio) >= 1000.0) /* 100000% and more: no 30-digit numbers */
		snprintf(buf, len, "%.3g", ratio * 100.0);
	else
		snprintf(buf, len, "%.1f", ratio * 100.0);
}

/* ---- validation ---- */

enum jt { T_STR, T_NUM, T_INT, T_BOOL, T_OBJ, T_ARR, T_NUM_OR_NULL };

static const char *jt_name(enum jt t)
{
	switch (t) {
	case T_STR: return "not a string";
	case T_NUM: return "not a number";
	case T_INT: return "not an integer";
	case T_BOOL: return "not true/false";
	case T_OBJ: return "not an object";
	case T_ARR: return "not an array";
	case T_NUM_OR_NULL: return "not a number or null";
	}
	return "wrong type";
}

static int jt_ok(const json_t *v, enum jt t)
{
	switch (t) {
	case T_STR: return json_is_string(v);
	case T_NUM: return json_is_number(v);
	case T_INT:
		return json_is_integer(v) ||
		       (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
	case T_BOOL: return json_is_boolean(v);
	case T_OBJ: return json_is_object(v);
	case T_ARR: return json_is_array(v);
	case T_NUM_OR_NULL: return json_is_number(v) || json_is_null(v);
	}
	return 0;
}

/* Checks o[key]; where is the place of o ("results[3]"), "" for the root. */
static int need(const json_t *o, const char *where, const char *key, enum jt t, int required,
		const char *name, struct hb_err *e)
{
	const json_t *v = json_object_get(o, key);
	const char *dot = where[0] ? "." : "";

	if (!v) {
		if (!required)
			return 0;
		return hb_err_set(e, HB_EINVAL, "%s: %s%s%s: missing", name, where, dot, key);
	}
	if (!jt_ok(v, t))
		return hb_err_set(e, HB_EINVAL, "%s: %s%s%s: %s", name, where, dot, key,
				  jt_name(t));
	return 0;
}

/* A member an object may or must hold, and its type: the schema of a results file as data. */
struct field {
	const char *key;
	enum jt t;
	int required;
};

/* need() for each of the n fields, in their order. */
static int need_fields(const json_t *o, const char *where, const struct field *f, size_t n,
		       const char *name, struct hb_err *e)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++)
		rc = need(o, where, f[i].key, f[i].t, f[i].required, name, e);
	return rc;
}

/* An optional [lo, hi] pair of numbers (or nulls), or null. */
static int need_ci(const json_t *o, const char *where, const char *name, struct hb_err *e)
{
	const json_t *v = json_object_get(o, "ci95");

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) != 2)
		return hb_err_set(e, HB_EINVAL, "%s: %s.ci95: not an array of two numbers", name,
				  where);
	for (size_t i = 0; i < 2; i++)
		if (!jt_ok(json_array_get(v, i), T_NUM_OR_NULL))
			return hb_err_set(e, HB_EINVAL, "%s: %s.ci95[%zu]: not a number", name,
					  where, i);
	return 0;
}

static int check_host(const json_t *root, const char *name, struct hb_err *e)
{
	static const struct field host[] = {
		{"hostname", T_STR, 0},	      {"cpu_model", T_STR, 0}, {"kernel", T_STR, 0},
		{"virtualization", T_STR, 0}, {"cores", T_NUM, 0},     {"memory_bytes", T_NUM, 0},
	};
	const json_t *h = json_object_get(root, "host");
	int rc;

	if ((rc = need(root, "", "host", T_OBJ, 0, name, e)) || !h)
		return rc;
	return need_fields(h, "host", host, HB_ARRAY_SIZE(host), name, e);
}

static int check_targets(const json_t *root, const char *name, struct hb_err *e)
{
	static const struct field target[] = {
		{"name", T_STR, 1}, {"kind", T_STR, 1}, {"info", T_OBJ, 0}};
	static const struct field info_fields[] = {
		{"emulation", T_BOOL, 0}, {"net_mode", T_STR, 0}, {"accel", T_STR, 0},
		{"machine", T_STR, 0},	  {"vcpus", T_NUM, 0},	  {"memory_mib", T_NUM, 0},
	};
	const json_t *a = json_object_get(root, "targets"), *t;
	char where[64];
	size_t i;
	int rc;

	if ((rc = need(root, "", "targets", T_ARR, 1, name, e)))
		return rc;
	json_array_foreach (a, i, t) {
		const json_t *info;

		snprintf(where, sizeof(where), "targets[%zu]", i);
		if (!json_is_object(t))
			return hb_err_set(e, HB_EINVAL, "%s: %s: not an object", name, where);
		if ((rc = need_fields(t, where, target, HB_ARRAY_SIZE(target), name, e)))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(hb_j_str(json_array_get(a, j), "name", ""),
				    hb_j_str(t, "name", "")))
				return hb_err_set(
					e, HB_EINVAL,
					"%s: %s.name: \"%s\" already used by targets[%zu]", name,
					where, hb_j_str(t, "name", ""), j);
		info = json_object_get(t, "info");
		if (!info)
			continue;
		snprintf(where, sizeof(where), "targets[%zu].info", i);
		if ((rc = need_fields(info, where, info_fields, HB_ARRAY_SIZE(info_fields), name,
				      e)))
			return rc;
	}
	return 0;
}

/* The metric model's fields of a /2 row or comparison: present and one of the known names. */
static int need_model(const json_t *o, const char *where, const char *key,
		      int (*parse)(const char *), const char *name, struct hb_err *e)
{
	int rc = need(o, where, key, T_STR, 1, name, e);

	if (!rc && parse(hb_j_str(o, key, "")) < 0)
		rc = hb_err_set(e, HB_EINVAL, "%s: %s.%s: \"%s\" is not a known %s", name, where,
				key, hb_j_str(o, key, ""), key);
	return rc;
}

static int check_results(const json_t *root, int v2, const char *name, struct hb_err *e)
{
	static const struct field row[] = {
		{"target", T_STR, 1},  {"workload", T_STR, 1}, {"kind", T_STR, 1},
		{"metric", T_STR, 1},  {"unit", T_STR, 1},     {"higher_is_better", T_BOOL, 1},
		{"samples", T_ARR, 1}, {"n", T_INT, 0},
	};
	static const struct field sums[] = {{"median", T_NUM_OR_NULL, 0},
					    {"mean", T_NUM_OR_NULL, 0},
					    {"stdev", T_NUM_OR_NULL, 0},
					    {"cv", T_NUM_OR_NULL, 0}};
	const json_t *a = json_object_get(root, "results"), *r;
	json_t *seen = NULL; /* row key -> index: duplicates found in one pass */
	char where[64], key[256];
	size_t i;
	int rc;

	if ((rc = need(root, "", "results", T_ARR, 1, name, e)))
		return rc;
	seen = json_object();
	if (!seen)
		return hb_err_set(e, HB_ENOMEM, "%s: out of memory", name);
	json_array_foreach (a, i, r) {
		const json_t *s, *x;
		size_t j;

		snprintf(where, sizeof(where), "results[%zu]", i);
		if (!json_is_object(r)) {
			rc = hb_err_set(e, HB_EINVAL, "%s: %s: not an object", name, where);
			goto out;
		}
		if ((rc = need_fields(r, where, row, HB_ARRAY_SIZE(row), name, e)))
			goto out;
		if (v2 && ((rc = need_model(r, where, "area", hb_area_parse, name, e)) ||
			   (rc = need_model(r, where, "role", hb_role_parse, name, e)) ||
			   (rc = need_model(r, where, "comparison", hb_cmp_parse, name, e))))
			goto out;
		if ((rc = need_fields(r, where, sums, HB_ARRAY_SIZE(sums), name, e)) ||
		    (rc = need_ci(r, where, name, e)))
			goto out;
		s = json_object_get(r, "samples");
		json_array_foreach (s, j, x)
			if (!json_is_number(x)) {
				rc = hb_err_set(e, HB_EINVAL, "%s: %s.samples[%zu]: not a number",
						name, where, j);
				goto out;
			}
		x = json_object_get(r, "n");
		if (x && json_number_value(x) != (double)json_array_size(s)) {
			rc = hb_err_set(e, HB_EINVAL, "%s: %s.n: %g but samples holds %zu", name,
					where, json_number_value(x), json_array_size(s));
			goto out;
		}
		if (row_key(r, key, sizeof(key))) {
			rc = hb_err_set(e, HB_EINVAL,
					"%s: %s: target/workload/metric names too long", name,
					where);
			goto out;
		}
		x = json_object_get(seen, key);
		if (x) {
			rc = hb_err_set(e, HB_EINVAL,
					"%s: %s: duplicate of results[%lld] (%s / %s / %s)", name,
					where, (long long)json_integer_value(x),
					hb_j_str(r, "target", ""), hb_j_str(r, "workload", ""),
					hb_j_str(r, "metric", ""));
			goto out;
		}
		json_object_set_new(seen, key, json_integer((json_int_t)i));
	}
out:
	json_decref(seen);
	return rc;
}

static int check_comparisons(const json_t *root, int v2, const char *name, struct hb_err *e)
{
	static const struct field cmp[] = {
		{"target", T_STR, 1}, {"baseline", T_STR, 1}, {"workload", T_STR, 1},
		{"metric", T_STR, 1}, {"unit", T_STR, 0},     {"higher_is_better", T_BOOL, 0},
	};
	const json_t *a = json_object_get(root, "comparisons"), *c;
	char where[64];
	size_t i;
	int rc;

	if ((rc = need(root, "", "comparisons", T_ARR, 0, name, e)) || !a)
		return rc;
	json_array_foreach (a, i, c) {
		snprintf(where, sizeof(where), "comparisons[%zu]", i);
		if (!json_is_object(c))
			return hb_err_set(e, HB_EINVAL, "%s: %s: not an object", name, where);
		if ((rc = need_fields(c, where, cmp, HB_ARRAY_SIZE(cmp), name, e)) ||
		    (rc = need_ci(c, where, name, e)))
			return rc;
		if (!v2) {
			if ((rc = need(c, where, "ratio", T_NUM_OR_NULL, 1, name, e)))
				return rc;
			continue;
		}
		if ((rc = need_model(c, where, "comparison", hb_cmp_parse, name, e)))
			return rc;
		if (hb_cmp_parse(hb_j_str(c, "comparison", "")) == HB_CMP_RATIO &&
		    ((rc = need(c, where, "ratio", T_NUM, 1, name, e)) ||
		     (rc = need(c, where, "oriented", T_NUM, 1, name, e))))
			return rc;
		if (hb_cmp_parse(hb_j_str(c, "comparison", "")) == HB_CMP_DELTA &&
		    (rc = need(c, where, "delta", T_NUM, 1, name, e)))
			return rc;
	}
	return 0;
}

static int check_failures(const json_t *root, const char *name, struct hb_err *e)
{
	static const struct field failure[] = {
		{"target", T_STR, 0}, {"workload", T_STR, 0}, {"error", T_STR, 1}};
	const json_t *a = json_object_get(root, "failures"), *f;
	char where[64];
	size_t i;
	int rc;

	if ((rc = need(root, "", "failures", T_ARR, 0, name, e)) || !a)
		return rc;
	json_array_foreach (a, i, f) {
		snprintf(where, sizeof(where), "failures[%zu]", i);
		if (!json_is_object(f))
			return hb_err_set(e, HB_EINVAL, "%s: %s: not an object", name, where);
		if ((rc = need_fields(f, where, failure, HB_ARRAY_SIZE(failure), name, e)))
			return rc;
		if (json_object_get(f, "rep") && !json_is_null(json_object_get(f, "rep")) &&
		    (rc = need(f, where, "rep", T_INT, 0, name, e)))
			return rc;
	}
	return 0;
}

/* o[key]: an array of numbers or nulls (of length n when n >= 0). */
static int need_nums(const json_t *o, const char *where, const char *key, long n, const char *name,
		     struct hb_err *e)
{
	const json_t *a = json_object_get(o, key), *v;
	size_t i;
	int rc;

	if ((rc = need(o, where, key, T_ARR, 1, name, e)))
		return rc;
	if (n >= 0 && json_array_size(a) != (size_t)n)
		return hb_err_set(e, HB_EINVAL, "%s: %s.%s: %zu values, expected %ld", name, where,
				  key, json_array_size(a), n);
	json_array_foreach (a, i, v)
		if (!jt_ok(v, T_NUM_OR_NULL))
			return hb_err_set(e, HB_EINVAL, "%s: %s.%s[%zu]: not a number or null",
					  name, where, key, i);
	return 0;
}

/* What the objects of an array hold: the fields, then what check (NULL: nothing) asks. */
struct objs {
	const struct field *f;
	size_t n;
	int (*check)(const json_t *x, const char *where, const char *name, struct hb_err *e);
};

/* Each element of o[key] must be an object as schema says; where[i] names it in errors. */
static int need_objs(const json_t *o, const char *where, const char *key, int required,
		     const struct objs *schema, const char *name, struct hb_err *e)
{
	const json_t *a = json_object_get(o, key), *x;
	char w[160];
	size_t i;
	int rc;

	if ((rc = need(o, where, key, T_ARR, required, name, e)) || !a)
		return rc;
	json_array_foreach (a, i, x) {
		snprintf(w, sizeof(w), "%s%s%s[%zu]", where, where[0] ? "." : "", key, i);
		if (!json_is_object(x))
			return hb_err_set(e, HB_EINVAL, "%s: %s: not an object", name, w);
		if ((rc = need_fields(x, w, schema->f, schema->n, name, e)) ||
		    (schema->check && (rc = schema->check(x, w, name, e))))
			return rc;
	}
	return 0;
}

static int check_ksm(const json_t *o, const char *where, const char *name, struct hb_err *e)
{
	static const struct field ksm[] = {{"run", T_INT, 1}, {"pages_sharing", T_INT, 1}};
	const json_t *k = json_object_get(o, "ksm");
	char w[160];
	int rc;

	if (!k || json_is_null(k))
		return 0;
	snprintf(w, sizeof(w), "%s%sksm", where, where[0] ? "." : "");
	if ((rc = need(o, where, "ksm", T_OBJ, 0, name, e)))
		return rc;
	return need_fields(k, w, ksm, HB_ARRAY_SIZE(ksm), name, e);
}

static const struct field consumer[] = {
	{"pid", T_INT, 1}, {"comm", T_STR, 1}, {"rss_mib", T_NUM, 1}};
static const struct objs consumers = {consumer, HB_ARRAY_SIZE(consumer), NULL};

static int check_footprint(const json_t *root, const char *name, struct hb_err *e)
{
	static const struct field nums[] = {{"memtotal_mib", T_NUM, 1},
					    {"memavailable_mib", T_NUM, 1},
					    {"in_use_mib", T_NUM, 1}};
	static const struct field cpu[] = {{"threads", T_INT, 1}, {"cores", T_INT, 1}};
	const json_t *f = json_object_get(root, "host_footprint"), *c;
	int rc;

	if ((rc = need(root, "", "host_footprint", T_OBJ, 0, name, e)) || !f)
		return rc;
	if ((rc = need_fields(f, "host_footprint", nums, HB_ARRAY_SIZE(nums), name, e)) ||
	    (rc = need_objs(f, "host_footprint", "top", 0, &consumers, name, e)) ||
	    (rc = check_ksm(f, "host_footprint", name, e)) ||
	    (rc = need(f, "host_footprint", "cpu", T_OBJ, 0, name, e)))
		return rc;
	c = json_object_get(f, "cpu");
	return c ? need_fields(c, "host_footprint.cpu", cpu, HB_ARRAY_SIZE(cpu), name, e) : 0;
}

static const struct field vm[] = {{"name", T_STR, 1},
				  {"pss_mib", T_NUM, 0},
				  {"guest_ram_pss_mib", T_NUM, 0},
				  {"vmm_overhead_mib", T_NUM, 0}};
static const struct objs vms = {vm, HB_ARRAY_SIZE(vm), NULL};

static int check_dstep(const json_t *x, const char *where, const char *name, struct hb_err *e)
{
	static const struct field wl[] = {
		{"workload", T_STR, 1},
		{"metric", T_STR, 1},
		{"unit", T_STR, 1},
		{"higher_is_better", T_BOOL, 1},
	};
	static const struct field sums[] = {{"aggregate", T_NUM_OR_NULL, 1},
					    {"fairness", T_NUM_OR_NULL, 1},
					    {"worst_rel", T_NUM_OR_NULL, 1},
					    {"host_cpu_busy_pct", T_NUM_OR_NULL, 1}};
	const json_t *w;
	char ww[200];
	size_t i;
	long k;
	int rc;

	if ((rc = need(x, where, "k", T_INT, 1, name, e)) ||
	    (rc = need(x, where, "workloads", T_ARR, 1, name, e)) ||
	    (rc = need_objs(x, where, "vms", 1, &vms, name, e)) ||
	    (rc = need(x, where, "pss_total_mib", T_NUM, 0, name, e)) ||
	    (rc = need(x, where, "memavailable_mib", T_NUM, 0, name, e)) ||
	    (rc = check_ksm(x, where, name, e)))
		return rc;
	k = (long)json_number_value(json_object_get(x, "k"));
	if (k < 1)
		return hb_err_set(e, HB_EINVAL, "%s: %s.k: %ld is not a count of VMs", name, where,
				  k);
	json_array_foreach (json_object_get(x, "workloads"), i, w) {
		snprintf(ww, sizeof(ww), "%s.workloads[%zu]", where, i);
		if (!json_is_object(w))
			return hb_err_set(e, HB_EINVAL, "%s: %s: not an object", name, ww);
		if ((rc = need_fields(w, ww, wl, HB_ARRAY_SIZE(wl), name, e)) ||
		    (rc = need_nums(w, ww, "per_vm", k, name, e)) ||
		    (rc = need_nums(w, ww, "steal_pct", k, name, e)) ||
		    (rc = need_fields(w, ww, sums, HB_ARRAY_SIZE(sums), name, e)))
			return rc;
	}
	return 0;
}

static const struct field knee[] = {
	{"workload", T_STR, 1}, {"knee_k", T_INT, 1}, {"limited", T_BOOL, 1}};
static const struct objs knees = {knee, HB_ARRAY_SIZE(knee), NULL};
static const struct objs steps = {NULL, 0, check_dstep};

static int check_density(const json_t *root, const char *name, struct hb_err *e)
{
	static const struct field density[] = {{"target", T_STR, 1},
					       {"shape", T_OBJ, 1},
					       {"knee_threshold", T_NUM, 1},
					       {"counts", T_ARR, 1}};
	static const struct field shape[] = {{"vcpus", T_NUM, 1}, {"memory_mib", T_NUM, 1}};
	const json_t *d = json_object_get(root, "density"), *s, *st;
	int rc;

	if ((rc = need(root, "", "density", T_OBJ, 0, name, e)) || !d)
		return rc;
	if ((rc = need_fields(d, "density", density, HB_ARRAY_SIZE(density), name, e)) ||
	    (rc = need_objs(d, "density", "steps", 1, &steps, name, e)) ||
	    (rc = need_objs(d, "density", "knees", 0, &knees, name, e)))
		return rc;
	s = json_object_get(d, "shape");
	if ((rc = need_fields(s, "density.shape", shape, HB_ARRAY_SIZE(shape), name, e)))
		return rc;
	st = json_object_get(d, "stopped");
	if (st && !json_is_null(st) && !json_is_string(st))
		return hb_err_set(e, HB_EINVAL, "%s: density.stopped: not a string or null", name);
	return 0;
}

int hb_results_validate(const json_t *root, const char *name, struct hb_err *e)
{
	static const struct field top[] = {
		{"tool_version", T_STR, 0}, {"started_at", T_STR, 1},	{"finished_at", T_STR, 0},
		{"status", T_STR, 1},	    {"profile_name", T_STR, 0}, {"profile", T_OBJ, 0},
	};
	const char *schema, *status;
	int rc, v2;

	if (!json_is_object(root))
		return hb_err_set(e, HB_EINVAL, "%s: not a JSON object", name);
	if ((rc = need(root, "", "schema", T_STR, 1, name, e)))
		return rc;
	schema = hb_j_str(root, "schema", "");
	v2 = !strcmp(schema, HB_RESULTS_SCHEMA);
	if (!v2 && strcmp(schema, HB_RESULTS_SCHEMA_V1))
		return hb_err_set(e, HB_EINVAL, "%s: schema: \"%s\" is not \"%s\" (or \"%s\")",
				  name, schema, HB_RESULTS_SCHEMA, HB_RESULTS_SCHEMA_V1);
	if ((rc = need_fields(root, "", top, HB_ARRAY_SIZE(top), name, e)))
		return rc;
	status = hb_j_str(root, "status", "");
	if (strcmp(status, "complete") && strcmp(status, "incomplete") && strcmp(status, "failed"))
		return hb_err_set(e, HB_EINVAL,
				  "%s: status: \"%s\" is not complete, incomplete or failed", name,
				  status);
	if ((rc = check_host(root, name, e)) || (rc = check_targets(root, name, e)) ||
	    (rc = check_results(root, v2, name, e)) ||
	    (rc = check_comparisons(root, v2, name, e)) || (rc = check_failures(root, name, e)) ||
	    (rc = check_footprint(root, name, e)) || (rc = check_density(root, name, e)))
		return rc;
	return 0;
}

int hb_results_load(const char *path, json_t **out, struct hb_err *e)
{
	json_error_t jerr;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	json_t *root = NULL;
	int rc;

	*out = NULL;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size > HB_RESULTS_MAX_BYTES)
		return hb_err_set(e, HB_EINVAL,
				  "%s: %lld bytes, larger than the %zu MiB a results "
				  "file may have",
				  path, (long long)st.st_size, HB_RESULTS_MAX_BYTES >> 20);
	rc = hb_read_file(path, HB_RESULTS_MAX_BYTES, &buf, &len, e);
	if (rc)
		return rc;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = hb_err_set(e, HB_EINVAL, "%s: line %d, column %d: %s", path, jerr.line,
				jerr.column, jerr.text);
		goto out;
	}
	rc = hb_results_validate(root, path, e);
	if (rc)
		goto out;
	hb_results_upgrade(root);
	*out = root;
	root = NULL;
out:
	json_decref(root);
	free(buf);
	return rc;
}
