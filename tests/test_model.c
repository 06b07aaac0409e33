/*
 * test_model.c — the metric model: every workload metric is declared, declarations are found
 * for workloads, probes, derived figures and target facts, the headline hook picks one metric
 * per entry, comparisons are made only as declared (no ratio of a zero or negative baseline,
 * oriented so that > 100% is better), and a hvbench/result/1 file is upgraded on load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "metric.h"
#include "probe.h"
#include "report.h"
#include "rep_int.h"
#include "stats.h"
#include "workload.h"

static void check_def(const char *kind, const char *metric, enum hb_area a, enum hb_role r,
		      enum hb_cmp c)
{
	const struct hb_metric_def *d = hb_metric_lookup(kind, metric);

	if (!d)
		fail_msg("%s/%s: not declared", kind, metric);
	if (d->area != a || d->role != r || d->cmp != c)
		fail_msg("%s/%s: %s/%s/%s, expected %s/%s/%s", kind, metric, hb_area_str(d->area),
			 hb_role_str(d->role), hb_cmp_str(d->cmp), hb_area_str(a), hb_role_str(r),
			 hb_cmp_str(c));
}

static void test_catalogue(void **state)
{
	(void)state;
	check_def("disk", "iops", HB_AREA_STORAGE, HB_ROLE_HEADLINE, HB_CMP_RATIO);
	check_def("disk", "clat_p99", HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA);
	check_def("disk", "fio_sys_cpu", HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE);
	check_def("net", "throughput", HB_AREA_NETWORK, HB_ROLE_HEADLINE, HB_CMP_RATIO);
	check_def("mem", "latency", HB_AREA_MEMORY, HB_ROLE_DETAIL, HB_CMP_DELTA);
	check_def("cpu", "ops", HB_AREA_CPU, HB_ROLE_HEADLINE, HB_CMP_RATIO);
	/* probe readings of different processes: never a ratio, never gated */
	check_def("disk", "proc.pss_mean_mib", HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE);
	check_def("disk", "proc.memavail_delta_mib", HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE);
	check_def("disk", "proc.cpu_s", HB_AREA_COST, HB_ROLE_DIAGNOSTIC, HB_CMP_DELTA);
	check_def("cpu", "pfm.context_switches", HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE);
	check_def("cpu", "pfm.vcpu.task_clock_s", HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE);
	check_def("disk", "kvmstat.exits", HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE);
	/* derived figures and target facts */
	check_def("disk", "tax.cpu_s_per_gib", HB_AREA_COST, HB_ROLE_HEADLINE, HB_CMP_RATIO);
	check_def("net", "pfm.ipc", HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE);
	check_def(HB_ROWS_BOOT, "time_to_ready", HB_AREA_BOOT, HB_ROLE_HEADLINE, HB_CMP_NONE);
	check_def(HB_ROWS_MEMORY, "vmm_overhead", HB_AREA_OVERHEAD, HB_ROLE_HEADLINE, HB_CMP_NONE);
	assert_null(hb_metric_lookup("disk", "no_such_metric"));
	assert_null(hb_metric_lookup(HB_ROWS_BOOT, "no_such_metric"));
}

/* Every workload declares a unit and direction for each metric; names are unique. */
static void test_every_workload_declares(void **state)
{
	(void)state;
	for (size_t i = 0; hb_workloads[i]; i++) {
		const struct hb_workload *w = hb_workloads[i];
		int headlines = 0;

		if (!w->nmetrics)
			fail_msg("workload %s declares no metrics", w->name);
		for (size_t j = 0; j < w->nmetrics; j++) {
			const struct hb_metric_def *d = &w->metrics[j];
			assert_non_null(hb_area_str(d->area));
			assert_non_null(hb_role_str(d->role));
			assert_non_null(hb_cmp_str(d->cmp));
			assert_true(d->unit && *d->unit);
			assert_true(d->help && *d->help);
			headlines += d->role == HB_ROLE_HEADLINE;
			for (size_t k = 0; k < j; k++)
				if (!strcmp(d->name, w->metrics[k].name))
					fail_msg("%s: %s declared twice", w->name, d->name);
		}
		if (!headlines && !w->headline)
			fail_msg("workload %s has no headline metric", w->name);
	}
}

static const char *disk_headline(const char *params)
{
	const struct hb_workload *w = hb_workload_find("disk");
	json_t *in = json_loads(params, 0, NULL), *out = NULL;
	struct hb_err e = {0};
	const char *h;

	assert_non_null(in);
	assert_int_equal(hb_params_validate(w->params, w->nparams, in, "p", &out, &e), 0);
	h = w->headline(out);
	json_decref(in);
	json_decref(out);
	return h;
}

static void test_headline_per_entry(void **state)
{
	struct hb_sample s;
	const struct hb_workload *w = hb_workload_find("disk");

	(void)state;
	assert_string_equal(disk_headline("{\"bs\":\"4k\"}"), "iops");
	assert_string_equal(disk_headline("{\"bs\":\"1M\",\"rw\":\"write\"}"), "bw");
	assert_string_equal(disk_headline("{\"bs\":\"4k\",\"iodepth\":1}"), "clat_p50");
	/* annotate: the named metric is the headline, the other headline becomes detail */
	hb_sample_init(&s);
	hb_sample_add(&s, "iops", "IOPS", 1, 100);
	hb_sample_add(&s, "bw", "MiB/s", 1, 100);
	hb_sample_add(&s, "clat_p50", "us", 0, 100);
	hb_sample_add(&s, "undeclared", "x", 1, 1);
	hb_sample_annotate(&s, w->metrics, w->nmetrics, "bw");
	assert_int_equal(hb_sample_get(&s, "bw")->role, HB_ROLE_HEADLINE);
	assert_int_equal(hb_sample_get(&s, "iops")->role, HB_ROLE_DETAIL);
	assert_int_equal(hb_sample_get(&s, "clat_p50")->role, HB_ROLE_DETAIL);
	assert_int_equal(hb_sample_get(&s, "clat_p50")->cmp, HB_CMP_DELTA);
	assert_int_equal(hb_sample_get(&s, "undeclared")->role, HB_ROLE_DIAGNOSTIC);
	assert_int_equal(hb_sample_get(&s, "undeclared")->cmp, HB_CMP_NONE);
	hb_sample_free(&s);
}

static void test_comparisons(void **state)
{
	const double base[] = {100, 100, 100}, cur[] = {50, 50, 50}, neg[] = {-5, -5, -5};
	const double zero[] = {0, 0, 0};
	json_t *c;

	(void)state;
	/* higher is better: 50% of native, oriented the same */
	c = hb_comparison_json(HB_CMP_RATIO, 1, cur, 3, base, 3);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "comparison")), "ratio");
	assert_true(json_real_value(json_object_get(c, "ratio")) == 0.5);
	assert_true(json_real_value(json_object_get(c, "oriented")) == 0.5);
	json_decref(c);
	/* lower is better (e.g. CPU s/GiB): twice the cost reads 50%, CI bounds swapped */
	c = hb_comparison_json(HB_CMP_RATIO, 0, base, 3, cur, 3);
	assert_true(json_real_value(json_object_get(c, "ratio")) == 2.0);
	assert_true(json_real_value(json_object_get(c, "oriented")) == 0.5);
	assert_true(json_real_value(json_array_get(json_object_get(c, "oriented_ci95"), 0)) == 0.5);
	json_decref(c);
	/* no percentage of a zero or negative baseline, nor of a negative figure */
	assert_null(hb_comparison_json(HB_CMP_RATIO, 1, cur, 3, zero, 3));
	assert_null(hb_comparison_json(HB_CMP_RATIO, 1, cur, 3, neg, 3));
	assert_null(hb_comparison_json(HB_CMP_RATIO, 1, neg, 3, base, 3));
	assert_null(hb_comparison_json(HB_CMP_NONE, 1, cur, 3, base, 3));
	assert_null(hb_comparison_json(HB_CMP_RATIO, 1, cur, 0, base, 3));
	/* delta: VM - native in the unit */
	c = hb_comparison_json(HB_CMP_DELTA, 0, base, 3, cur, 3);
	assert_string_equal(json_string_value(json_object_get(c, "comparison")), "delta");
	assert_true(json_real_value(json_object_get(c, "delta")) == 50.0);
	assert_true(json_real_value(json_array_get(json_object_get(c, "ci95"), 0)) == 50.0);
	json_decref(c);
}

static json_t *load(const char *name)
{
	const char *dirs[] = {"tests/fixtures", "../tests/fixtures"};
	struct hb_err e = {0};
	char path[256];
	json_t *j = NULL;

	for (size_t i = 0; i < HB_ARRAY_SIZE(dirs) && !j; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (access(path, R_OK) == 0 && hb_results_load(path, &j, &e))
			fail_msg("%s", e.msg);
	}
	if (!j)
		fail_msg("fixture %s not found", name);
	return j;
}

static const json_t *row(const json_t *root, const char *t, const char *w, const char *m)
{
	const json_t *r = hb_j_result(root, t, w, m);

	if (!r)
		fail_msg("no row %s/%s/%s", t, w, m);
	return r;
}

/* A /1 file (written before the metric model) loads as /2 with the model filled in. */
static void test_upgrade_v1(void **state)
{
	json_t *j = load("results-base.json");
	const json_t *c, *x;
	size_t i, ratios = 0, deltas = 0;

	(void)state;
	assert_string_equal(hb_j_str(j, "schema", ""), HB_RESULTS_SCHEMA);
	assert_string_equal(hb_j_str(j, "upgraded_from", ""), HB_RESULTS_SCHEMA_V1);
	assert_string_equal(hb_j_str(row(j, "native", "disk-randread", "iops"), "role", ""),
			    "headline");
	assert_string_equal(
		hb_j_str(row(j, "native", "disk-randread", "clat_p99"), "comparison", ""), "delta");
	assert_string_equal(hb_j_str(row(j, "vm-minimal", "memory", "vmm_overhead"), "area", ""),
			    "overhead");
	assert_string_equal(
		hb_j_str(row(j, "vm-minimal", "disk-randread", "proc.cpu_s"), "role", ""),
		"diagnostic");
	/* the comparisons are rebuilt as declared: none for probe readings */
	json_array_foreach (json_object_get(j, "comparisons"), i, x) {
		const char *m = hb_j_str(x, "metric", "");
		const char *k = hb_j_str(x, "comparison", "");
		assert_true(strncmp(m, "pfm.", 4) && strcmp(m, "proc.pss_mean_mib"));
		ratios += !strcmp(k, "ratio");
		deltas += !strcmp(k, "delta");
	}
	assert_true(ratios > 0 && deltas > 0);
	c = hb_j_comparison(j, "vm-minimal", "native", "disk-randread", "iops");
	assert_non_null(c);
	assert_true(hb_j_num(c, "ratio") > 0 && hb_j_num(c, "ratio") < 1);
	assert_true(hb_j_num(c, "oriented") == hb_j_num(c, "ratio"));
	c = hb_j_comparison(j, "vm-minimal", "native", "disk-randread", "clat_p99");
	assert_non_null(c);
	{
		double *a = NULL, *b = NULL;
		size_t na = hb_j_samples(row(j, "vm-minimal", "disk-randread", "clat_p99"), &a);
		size_t nb = hb_j_samples(row(j, "native", "disk-randread", "clat_p99"), &b);
		assert_true(fabs(hb_j_num(c, "delta") - (hb_median(a, na) - hb_median(b, nb))) <
			    1e-9);
		free(a);
		free(b);
	}
	assert_null(hb_j_comparison(j, "vm-minimal", "native", "memory", "vmm_overhead"));
	/* an upgraded document validates as /2 */
	{
		struct hb_err e = {0};
		assert_int_equal(hb_results_validate(j, "up", &e), 0);
	}
	json_decref(j);
}

/* /2 rows must carry the model, with known names. */
static void test_v2_validation(void **state)
{
	json_t *j = load("results-base.json");
	json_t *r = json_array_get(json_object_get(j, "results"), 0);
	struct hb_err e = {0};

	(void)state;
	json_object_set_new(r, "role", json_string("answer"));
	assert_int_equal(hb_results_validate(j, "x.json", &e), HB_EINVAL);
	assert_string_equal(e.msg, "x.json: results[0].role: \"answer\" is not a known role");
	hb_err_clear(&e);
	json_object_del(r, "role");
	assert_int_equal(hb_results_validate(j, "x.json", &e), HB_EINVAL);
	assert_string_equal(e.msg, "x.json: results[0].role: missing");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue),
		cmocka_unit_test(test_every_workload_declares),
		cmocka_unit_test(test_headline_per_entry),
		cmocka_unit_test(test_comparisons),
		cmocka_unit_test(test_upgrade_v1),
		cmocka_unit_test(test_v2_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
