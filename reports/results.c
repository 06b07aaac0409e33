/*
 * results.c — reading results.json for the reports and the regression gate: a loader that
 * refuses anything it cannot trust (wrong schema, wrong field types, duplicate metric rows,
 * oversized files) with messages naming the exact place, small accessors the renderers share,
 * and the number-formatting rule all tables use.
 */
#include "report.h"
#include "rep_int.h"

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

const json_t *hb_j_target(const json_t *root, const char *name)
{
	const json_t *t = json_object_get(root, "targets"), *x;
	size_t i;

	json_array_foreach (t, i, x)
		if (!strcmp(hb_j_str(x, "name", ""), name))
			return x;
	return NULL;
}

const char *hb_j_native(const json_t *root)
{
	const json_t *t = json_object_get(root, "targets"), *x;
	size_t i;

	json_array_foreach (t, i, x)
		if (!strcmp(hb_j_str(x, "kind", ""), "native"))
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
	static const char *strs[] = {"hostname", "cpu_model", "kernel", "virtualization"};
	static const char *nums[] = {"cores", "memory_bytes"};
	const json_t *h = json_object_get(root, "host");
	int rc;

	if ((rc = need(root, "", "host", T_OBJ, 0, name, e)) || !h)
		return rc;
	for (size_t i = 0; i < HB_ARRAY_SIZE(strs); i++)
		if ((rc = need(h, "host", strs[i], T_STR, 0, name, e)))
			return rc;
	for (size_t i = 0; i < HB_ARRAY_SIZE(nums); i++)
		if ((rc = need(h, "host", nums[i], T_NUM, 0, name, e)))
			return rc;
	return 0;
}

static int check_targets(const json_t *root, const char *name, struct hb_err *e)
{
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
		if ((rc = need(t, where, "name", T_STR, 1, name, e)) ||
		    (rc = need(t, where, "kind", T_STR, 1, name, e)) ||
		    (rc = need(t, where, "info", T_OBJ, 0, name, e)))
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
		if ((rc = need(info, where, "emulation", T_BOOL, 0, name, e)) ||
		    (rc = need(info, where, "net_mode", T_STR, 0, name, e)) ||
		    (rc = need(info, where, "accel", T_STR, 0, name, e)) ||
		    (rc = need(info, where, "machine", T_STR, 0, name, e)) ||
		    (rc = need(info, where, "vcpus", T_NUM, 0, name, e)) ||
		    (rc = need(info, where, "memory_mib", T_NUM, 0, name, e)))
			return rc;
	}
	return 0;
}

static int check_results(const json_t *root, const char *name, struct hb_err *e)
{
	static const char *strs[] = {"target", "workload", "kind", "metric", "unit"};
	static const char *sums[] = {"median", "mean", "stdev", "cv"};
	const json_t *a = json_object_get(root, "results"), *r;
	char where[64];
	size_t i;
	int rc;

	if ((rc = need(root, "", "results", T_ARR, 1, name, e)))
		return rc;
	json_array_foreach (a, i, r) {
		const json_t *s, *x;
		size_t j;

		snprintf(where, sizeof(where), "results[%zu]", i);
		if (!json_is_object(r))
			return hb_err_set(e, HB_EINVAL, "%s: %s: not an object", name, where);
		for (j = 0; j < HB_ARRAY_SIZE(strs); j++)
			if ((rc = need(r, where, strs[j], T_STR, 1, name, e)))
				return rc;
		if ((rc = need(r, where, "higher_is_better", T_BOOL, 1, name, e)) ||
		    (rc = need(r, where, "samples", T_ARR, 1, name, e)) ||
		    (rc = need(r, where, "n", T_INT, 0, name, e)))
			return rc;
		for (j = 0; j < HB_ARRAY_SIZE(sums); j++)
			if ((rc = need(r, where, sums[j], T_NUM_OR_NULL, 0, name, e)))
				return rc;
		if ((rc = need_ci(r, where, name, e)))
			return rc;
		s = json_object_get(r, "samples");
		json_array_foreach (s, j, x)
			if (!json_is_number(x))
				return hb_err_set(e, HB_EINVAL, "%s: %s.samples[%zu]: not a number",
						  name, where, j);
		x = json_object_get(r, "n");
		if (x && json_number_value(x) != (double)json_array_size(s))
			return hb_err_set(e, HB_EINVAL, "%s: %s.n: %g but samples holds %zu", name,
					  where, json_number_value(x), json_array_size(s));
		for (j = 0; j < i; j++) {
			const json_t *o = json_array_get(a, j);

			if (!strcmp(hb_j_str(o, "target", ""), hb_j_str(r, "target", "")) &&
			    !strcmp(hb_j_str(o, "workload", ""), hb_j_str(r, "workload", "")) &&
			    !strcmp(hb_j_str(o, "metric", ""), hb_j_str(r, "metric", "")))
				return hb_err_set(
					e, HB_EINVAL,
					"%s: %s: duplicate of results[%zu] (%s / %s / %s)", name,
					where, j, hb_j_str(r, "target", ""),
					hb_j_str(r, "workload", ""), hb_j_str(r, "metric", ""));
		}
	}
	return 0;
}

static int check_comparisons(const json_t *root, const char *name, struct hb_err *e)
{
	static const char *strs[] = {"target", "baseline", "workload", "metric"};
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
		for (size_t j = 0; j < HB_ARRAY_SIZE(strs); j++)
			if ((rc = need(c, where, strs[j], T_STR, 1, name, e)))
				return rc;
		if ((rc = need(c, where, "unit", T_STR, 0, name, e)) ||
		    (rc = need(c, where, "higher_is_better", T_BOOL, 0, name, e)) ||
		    (rc = need(c, where, "ratio", T_NUM_OR_NULL, 1, name, e)) ||
		    (rc = need_ci(c, where, name, e)))
			return rc;
	}
	return 0;
}

static int check_failures(const json_t *root, const char *name, struct hb_err *e)
{
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
		if ((rc = need(f, where, "target", T_STR, 0, name, e)) ||
		    (rc = need(f, where, "workload", T_STR, 0, name, e)) ||
		    (rc = need(f, where, "error", T_STR, 1, name, e)))
			return rc;
		if (json_object_get(f, "rep") && !json_is_null(json_object_get(f, "rep")) &&
		    (rc = need(f, where, "rep", T_INT, 0, name, e)))
			return rc;
	}
	return 0;
}

int hb_results_validate(const json_t *root, const char *name, struct hb_err *e)
{
	const char *schema, *status;
	int rc;

	if (!json_is_object(root))
		return hb_err_set(e, HB_EINVAL, "%s: not a JSON object", name);
	if ((rc = need(root, "", "schema", T_STR, 1, name, e)))
		return rc;
	schema = hb_j_str(root, "schema", "");
	if (strcmp(schema, HB_RESULTS_SCHEMA) && strcmp(schema, "hvbench/result/2"))
		return hb_err_set(e, HB_EINVAL, "%s: schema: \"%s\" is not \"%s\"", name, schema,
				  HB_RESULTS_SCHEMA);
	if ((rc = need(root, "", "tool_version", T_STR, 0, name, e)) ||
	    (rc = need(root, "", "started_at", T_STR, 1, name, e)) ||
	    (rc = need(root, "", "finished_at", T_STR, 0, name, e)) ||
	    (rc = need(root, "", "status", T_STR, 1, name, e)) ||
	    (rc = need(root, "", "profile_name", T_STR, 0, name, e)) ||
	    (rc = need(root, "", "profile", T_OBJ, 0, name, e)))
		return rc;
	status = hb_j_str(root, "status", "");
	if (strcmp(status, "complete") && strcmp(status, "incomplete") && strcmp(status, "failed"))
		return hb_err_set(e, HB_EINVAL,
				  "%s: status: \"%s\" is not complete, incomplete or failed", name,
				  status);
	if ((rc = check_host(root, name, e)) || (rc = check_targets(root, name, e)) ||
	    (rc = check_results(root, name, e)) || (rc = check_comparisons(root, name, e)) ||
	    (rc = check_failures(root, name, e)))
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
	*out = root;
	root = NULL;
out:
	json_decref(root);
	free(buf);
	return rc;
}
