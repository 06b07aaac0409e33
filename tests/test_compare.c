/*
 * test_compare.c — the regression gate (`hvbench compare`) on committed, hand-made but
 * schema-valid results fixtures (tests/fixtures/results-*.json, 6 repetitions per side unless
 * named -n3): a clear 10% drop fails and is named, a 10% gain passes as "improved", a 2% change
 * and a large change on a noisy metric pass, one-sided metrics are listed, n = 3 is reported as
 * too small for alpha 0.01, malformed input exits 2 naming the place, and JUnit output is
 * well-formed with the numbers in the failure.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hb.h"
#include "report.h"

/* statistics.median of results-regress.json native disk-randread iops samples */
#define CUR_MEDIAN 46823.4

static char fixdir[256];

static void find_fixtures(void)
{
	const char *dirs[] = {"tests/fixtures", "../tests/fixtures", "../../tests/fixtures"};

	for (size_t i = 0; i < HB_ARRAY_SIZE(dirs); i++) {
		char p[300];

		snprintf(p, sizeof(p), "%s/results-base.json", dirs[i]);
		if (access(p, R_OK) == 0) {
			hb_strlcpy(fixdir, dirs[i], sizeof(fixdir));
			return;
		}
	}
	fixdir[0] = '\0';
}

struct run {
	int rc;
	char *out, *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Runs hvbench compare with fixture names (no directory) and extra options. */
static struct run compare(const char *base, const char *cur, ...)
{
	char bp[320], cp[320];
	char *argv[32];
	int argc = 0;
	size_t lo = 0, le = 0;
	struct run r = {0};
	FILE *out = open_memstream(&r.out, &lo), *err = open_memstream(&r.err, &le);
	va_list ap;
	const char *a;

	snprintf(bp, sizeof(bp), "%s/%s", fixdir, base);
	snprintf(cp, sizeof(cp), "%s/%s", fixdir, cur);
	argv[argc++] = (char *)"compare";
	argv[argc++] = bp;
	argv[argc++] = cp;
	va_start(ap, cur);
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	r.rc = hb_compare_main(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return r;
}

/* The text-format line of one metric (status first), or NULL. */
static const char *line_of(const char *out, const char *target, const char *name, char *buf,
			   size_t len)
{
	const char *p = out;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);

		if (l < len) {
			memcpy(buf, p, l);
			buf[l] = '\0';
			if (strstr(buf, target) && strstr(buf, name) && strstr(buf, "  "))
				return buf;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void test_regression_named(void **state)
{
	struct run r = compare("results-base.json", "results-regress.json", NULL);
	char buf[512];

	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "REGRESSION: native disk-randread/iops: 51974 -> 46823 IOPS "
				      "(-9.9%"));
	assert_non_null(strstr(r.out, "p = 0.00649 < alpha 0.01"));
	assert_non_null(strstr(r.out, "summary: 1 regression(s)"));
	assert_non_null(line_of(r.out, "native", "disk-randread/iops", buf, sizeof(buf)));
	assert_true(!strncmp(buf, "REGRESSION", 10));
	/* the same fall on the VM targets is not there: they are unchanged */
	assert_non_null(line_of(r.out, "vm-minimal", "disk-randread/iops", buf, sizeof(buf)));
	assert_true(!strncmp(buf, "unchanged", 9));
	assert_string_equal(r.err, "");
	run_free(&r);
}

static void test_improvement_passes(void **state)
{
	struct run r = compare("results-base.json", "results-improve.json", NULL);
	char buf[512];

	assert_int_equal(r.rc, 0);
	assert_non_null(line_of(r.out, "native", "disk-randread/iops", buf, sizeof(buf)));
	assert_true(!strncmp(buf, "improved", 8));
	assert_non_null(strstr(buf, "+10.1%"));
	assert_non_null(strstr(r.out, "summary: 0 regression(s), 1 improved"));
	assert_non_null(strstr(r.out, "result: no regression"));
	run_free(&r);
}

static void test_small_change_within_noise(void **state)
{
	struct run r = compare("results-base.json", "results-noise2.json", NULL);
	char buf[512];

	assert_int_equal(r.rc, 0);
	assert_non_null(line_of(r.out, "native", "disk-randread/iops", buf, sizeof(buf)));
	assert_true(!strncmp(buf, "unchanged", 9));
	assert_non_null(strstr(buf, "-1.9%"));
	assert_non_null(strstr(r.out, "summary: 0 regression(s), 0 improved, 30 unchanged"));
	run_free(&r);
}

static void test_noisy_large_change_not_significant(void **state)
{
	struct run r = compare("results-base.json", "results-noisy.json", NULL);
	char buf[512];

	assert_int_equal(r.rc, 0);
	assert_non_null(line_of(r.out, "native", "mem-lat/latency", buf, sizeof(buf)));
	assert_true(!strncmp(buf, "not significant", 15));
	assert_non_null(strstr(buf, "+19.1%"));
	assert_non_null(strstr(buf, "0.154"));
	run_free(&r);
}

static void test_threshold_options(void **state)
{
	/* a 12% threshold for iops hides the 10% drop; a global 20% one too */
	struct run r = compare("results-base.json", "results-regress.json", "--threshold-for",
			       "disk-randread/iops=12%", NULL);

	assert_int_equal(r.rc, 0);
	run_free(&r);
	r = compare("results-base.json", "results-regress.json", "--threshold", "20", NULL);
	assert_int_equal(r.rc, 0);
	run_free(&r);
	/* a threshold for another target leaves native failing */
	r = compare("results-base.json", "results-regress.json", "--threshold-for",
		    "vm-minimal/disk-randread/iops=50%", NULL);
	assert_int_equal(r.rc, 1);
	run_free(&r);
	/* alpha 0.005 is below 6/924: no regression can be shown */
	r = compare("results-base.json", "results-regress.json", "--alpha", "0.005", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "n too small for alpha=0.005"));
	run_free(&r);
}

static void test_one_sided_listed(void **state)
{
	struct run r = compare("results-base.json", "results-onesided.json", NULL);

	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "only in baseline: native disk-randread/clat_p99 (us)"));
	assert_non_null(strstr(r.out, "only in current: native cpu/ops_per_joule (ops/J)"));
	assert_non_null(strstr(r.out, "1 only in baseline, 1 only in current"));
	run_free(&r);
}

static void test_small_n_said(void **state)
{
	struct run r = compare("results-base-n3.json", "results-regress-n3.json", NULL);
	char buf[512];

	/* a 10% drop with 3 vs 3 samples: smallest p is 0.1, cannot fail at alpha 0.01 */
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "n too small for alpha=0.01: 6 metric(s)"));
	assert_non_null(strstr(r.out, "smallest achievable p = 0.1"));
	assert_non_null(line_of(r.out, "native", "disk-randread/iops", buf, sizeof(buf)));
	assert_true(!strncmp(buf, "n too small", 11));
	run_free(&r);
	/* with alpha 0.2 the same data is a regression */
	r = compare("results-base-n3.json", "results-regress-n3.json", "--alpha", "0.2", NULL);
	assert_int_equal(r.rc, 1);
	assert_null(strstr(r.out, "n too small for alpha"));
	run_free(&r);
}

static void test_malformed_exits_2(void **state)
{
	struct run r = compare("results-base.json", "results-malformed.json", NULL);

	assert_int_equal(r.rc, 2);
	assert_non_null(
		strstr(r.err, "results-malformed.json: results[3].samples[1]: not a number"));
	assert_string_equal(r.out, "");
	run_free(&r);
	r = compare("results-base.json", "does-not-exist.json", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "does-not-exist.json"));
	run_free(&r);
}

static void test_usage_errors(void **state)
{
	char *argv1[] = {(char *)"compare", (char *)"only-one.json", NULL};
	char *argv2[] = {(char *)"compare", (char *)"--help", NULL};
	char *o = NULL, *e = NULL;
	size_t lo, le;
	FILE *out = open_memstream(&o, &lo), *err = open_memstream(&e, &le);
	struct run r;

	assert_int_equal(hb_compare_main(2, argv1, out, err), 2);
	assert_int_equal(hb_compare_main(2, argv2, out, err), 0);
	fclose(out);
	fclose(err);
	assert_non_null(strstr(e, "need exactly BASELINE.json and CURRENT.json"));
	assert_non_null(strstr(o, "usage: hvbench compare"));
	free(o);
	free(e);
	r = compare("results-base.json", "results-regress.json", "--alpha", "1.5", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--alpha"));
	run_free(&r);
	r = compare("results-base.json", "results-regress.json", "--format", "xml", NULL);
	assert_int_equal(r.rc, 2);
	run_free(&r);
	r = compare("results-base.json", "results-regress.json", "--threshold", "five", NULL);
	assert_int_equal(r.rc, 2);
	run_free(&r);
	r = compare("results-base.json", "results-regress.json", "--bogus", NULL);
	assert_int_equal(r.rc, 2);
	run_free(&r);
}

static void test_json_and_md(void **state)
{
	struct run r =
		compare("results-base.json", "results-regress.json", "--format", "json", NULL);
	json_error_t je;
	json_t *j, *rows, *x;
	size_t i, nreg = 0;

	assert_int_equal(r.rc, 1);
	j = json_loads(r.out, 0, &je);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "regression")));
	rows = json_object_get(j, "rows");
	assert_int_equal(json_array_size(rows), 30);
	json_array_foreach (rows, i, x) {
		if (strcmp(json_string_value(json_object_get(x, "status")), "regression"))
			continue;
		nreg++;
		assert_string_equal(json_string_value(json_object_get(x, "target")), "native");
		assert_string_equal(json_string_value(json_object_get(x, "metric")), "iops");
		/* medians of the fixture's samples, computed with Python's statistics.median */
		assert_true(fabs(json_real_value(json_object_get(x, "baseline_median")) - 51974.0) <
			    1e-6);
		assert_true(fabs(json_real_value(json_object_get(x, "current_median")) -
				 CUR_MEDIAN) < 1e-6);
		assert_true(json_real_value(json_object_get(x, "p")) < 0.01);
	}
	assert_int_equal(nreg, 1);
	json_decref(j);
	run_free(&r);
	r = compare("results-base.json", "results-regress.json", "--format", "md", NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "| **REGRESSION** | native | disk-randread/iops | 51974 | "
				      "46823 | -9.9% | 0.00649 | IOPS |"));
	run_free(&r);
}

static void test_junit(void **state)
{
	char path[] = "/tmp/hb-junit-XXXXXX";
	int fd = mkstemp(path);
	char *xml = NULL;
	size_t len = 0;
	struct hb_err e = {0};
	struct run r;
	const char *p;
	size_t ncase = 0;

	assert_true(fd >= 0);
	close(fd);
	r = compare("results-base.json", "results-regress.json", "--junit", path, NULL);
	assert_int_equal(r.rc, 1);
	run_free(&r);
	assert_int_equal(hb_read_file(path, 1 << 20, &xml, &len, &e), 0);
	unlink(path);
	assert_true(!strncmp(xml, "<?xml version=\"1.0\"", 19));
	assert_non_null(strstr(xml, "tests=\"30\" failures=\"1\""));
	for (p = xml; (p = strstr(p, "<testcase ")); p++)
		ncase++;
	assert_int_equal(ncase, 30);
	p = strstr(xml, "<testcase classname=\"hvbench.native\" name=\"disk-randread/iops\"");
	assert_non_null(p);
	p = strstr(p, "<failure type=\"regression\"");
	assert_non_null(p);
	assert_non_null(strstr(p, "51974 -&gt; 46823 IOPS"));
	assert_non_null(strstr(p, "baseline median: 51974 IOPS (n=6)"));
	assert_non_null(strstr(p, "current median: 46823 IOPS (n=6)"));
	/* no raw '<' or '&' inside attribute values or text: every '&' starts an entity */
	for (p = xml; (p = strchr(p, '&')); p++)
		assert_true(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) ||
			    !strncmp(p, "&gt;", 4) || !strncmp(p, "&quot;", 6) ||
			    !strncmp(p, "&apos;", 6));
	free(xml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regression_named),
		cmocka_unit_test(test_improvement_passes),
		cmocka_unit_test(test_small_change_within_noise),
		cmocka_unit_test(test_noisy_large_change_not_significant),
		cmocka_unit_test(test_threshold_options),
		cmocka_unit_test(test_one_sided_listed),
		cmocka_unit_test(test_small_n_said),
		cmocka_unit_test(test_malformed_exits_2),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_json_and_md),
		cmocka_unit_test(test_junit),
	};

	find_fixtures();
	if (!fixdir[0]) {
		fprintf(stderr,
			"tests/fixtures/results-base.json not found (run from the tree root)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
