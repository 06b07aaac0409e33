/*
 * test_nonfinite.c — numbers at the edge of double: samples near DBL_MAX summarize to finite
 * figures (the mean once overflowed to infinity and the row vanished from results.json), and a
 * non-finite metric value travels as null and is refused by name, never dropped in silence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "metric.h"
#include "stats.h"

static void huge_samples_finite(void **state)
{
	const double big[] = {1e308, 1e308, 1e308};
	const double spread[] = {1.5e308, -1.5e308, 1.5e308, -1.5e308};
	struct hb_summary s;

	(void)state;
	assert_int_equal(hb_summarize(big, 3, &s), 0);
	assert_true(s.mean == 1e308);
	assert_true(s.stdev == 0);
	assert_true(s.median == 1e308);
	assert_true(isfinite(s.ci_lo) && isfinite(s.ci_hi));
	assert_int_equal(hb_summarize(spread, 4, &s), 0);
	assert_true(s.mean == 0);
	/* sqrt(4 * 1.5e308^2 / 3) = 1.732e308: finite, and exact to a few ulps */
	assert_true(isfinite(s.stdev));
	assert_true(fabs(s.stdev / (1.5e308 * sqrt(4.0 / 3.0)) - 1) < 1e-12);
	/* ordinary values unchanged by the scaling */
	{
		const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
		assert_int_equal(hb_summarize(x, 8, &s), 0);
		assert_true(s.mean == 5);
		assert_true(fabs(s.stdev - sqrt(32.0 / 7.0)) < 1e-12);
	}
}

static void infinite_value_refused_by_name(void **state)
{
	struct hb_sample s, back;
	struct hb_err e = {0};
	json_t *j, *arr;

	(void)state;
	hb_sample_init(&s);
	assert_int_equal(hb_sample_add(&s, "iops", "IOPS", 1, 1000), 0);
	assert_int_equal(hb_sample_add(&s, "bw", "MiB/s", 1, INFINITY), 0);
	j = hb_sample_to_json(&s);
	arr = json_object_get(j, "metrics");
	/* both metrics are there: the infinite one as null */
	assert_int_equal(json_array_size(arr), 2);
	assert_true(json_is_null(json_object_get(json_array_get(arr, 1), "value")));
	assert_int_equal(hb_sample_from_json(j, &back, &e), HB_EPROTO);
	assert_string_equal(e.msg, "sample: metric bw is not a finite number (the workload "
				   "produced infinity or NaN)");
	json_decref(j);
	hb_sample_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(huge_samples_finite),
		cmocka_unit_test(infinite_value_refused_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
