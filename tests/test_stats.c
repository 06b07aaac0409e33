/*
 * test_stats.c — unit tests for lib/stats.c with exact expectations. The expected values were
 * computed independently in Python (statistics module, itertools enumeration, and a separate
 * xoshiro256** + splitmix64 re-implementation for the fixed-seed bootstrap and Monte Carlo), then
 * checked for sense (CIs contain the median and lie within the sample range).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hb.h"
#include "stats.h"

#define EPS 1e-9

/* cmocka 1.1's float assertion works in float precision; this one is double, with the values. */
#define assert_double_equal(a, b, eps) near_((a), (b), (eps), #a, __LINE__)
static void near_(double a, double b, double eps, const char *expr, int line)
{
	if (!(fabs(a - b) <= eps))
		fail_msg("line %d: %s = %.17g, expected %.17g (eps %g)", line, expr, a, b, eps);
}

static void test_rng_sequence(void **state)
{
	struct hb_rng r;

	hb_rng_seed(&r, HB_STATS_SEED);
	assert_true(hb_rng_next(&r) == 0x75438209c5d0541eULL);
	assert_true(hb_rng_next(&r) == 0x396500ac119c288bULL);
	assert_true(hb_rng_next(&r) == 0xc0fe4429907d819eULL);
	for (int i = 0; i < 1000; i++)
		assert_true(hb_rng_below(&r, 7) < 7);
	assert_int_equal(hb_rng_below(&r, 1), 0);
}

static void test_median(void **state)
{
	double odd[] = {5, 1, 3};
	double even[] = {3, 1, 4, 1, 5, 9, 2, 6};

	assert_double_equal(hb_median(odd, 3), 3.0, EPS);
	assert_double_equal(hb_median(even, 8), 3.5, EPS);
	/* input untouched */
	assert_double_equal(even[0], 3.0, 0);
	assert_double_equal(even[7], 6.0, 0);
	assert_double_equal(hb_median(odd, 1), 5.0, EPS);
	assert_true(isnan(hb_median(odd, 0)));
}

static void test_quantile_type7(void **state)
{
	double a[] = {1, 2, 3, 4};
	double b[] = {1, 2, 3, 4, 5};

	assert_double_equal(hb_quantile_sorted(a, 4, 0.1), 1.3, EPS);
	assert_double_equal(hb_quantile_sorted(a, 4, 0.5), 2.5, EPS);
	assert_double_equal(hb_quantile_sorted(a, 4, 0.975), 3.925, EPS);
	assert_double_equal(hb_quantile_sorted(b, 5, 0.25), 2.0, EPS);
	assert_double_equal(hb_quantile_sorted(b, 5, 0.0), 1.0, EPS);
	assert_double_equal(hb_quantile_sorted(b, 5, 1.0), 5.0, EPS);
	assert_double_equal(hb_quantile_sorted(b, 1, 0.7), 1.0, EPS);
	assert_true(isnan(hb_quantile_sorted(b, 0, 0.5)));
}

static void test_summary_known(void **state)
{
	double x[] = {3, 1, 4, 1, 5, 9, 2, 6};
	struct hb_summary s;

	assert_int_equal(hb_summarize(x, 8, &s), 0);
	assert_int_equal(s.n, 8);
	assert_double_equal(s.median, 3.5, EPS);
	assert_double_equal(s.mean, 3.875, EPS);
	assert_double_equal(s.stdev, 2.748376143938713, EPS);
	assert_double_equal(s.cv, 0.7092583597261195, EPS);
	assert_double_equal(s.min, 1.0, EPS);
	assert_double_equal(s.max, 9.0, EPS);
	/* bootstrap (10000 resamples, fixed seed), from the Python re-implementation */
	assert_double_equal(s.ci_lo, 1.0, EPS);
	assert_double_equal(s.ci_hi, 6.0, EPS);
	assert_true(s.ci_lo <= s.median && s.median <= s.ci_hi);
}

static void test_summary_low_noise(void **state)
{
	double y[] = {100, 102, 98, 101, 99};
	struct hb_summary s;

	assert_int_equal(hb_summarize(y, 5, &s), 0);
	assert_double_equal(s.median, 100.0, EPS);
	assert_double_equal(s.mean, 100.0, EPS);
	assert_double_equal(s.stdev, 1.5811388300841898, EPS);
	assert_double_equal(s.cv, 0.015811388300841898, EPS);
	assert_double_equal(s.ci_lo, 98.0, EPS);
	assert_double_equal(s.ci_hi, 102.0, EPS);
}

static void test_summary_edges(void **state)
{
	double one[] = {42.5};
	double zero[] = {0, 0, 0};
	struct hb_summary s;

	assert_int_equal(hb_summarize(one, 0, &s), HB_EINVAL);
	assert_int_equal(s.n, 0);
	assert_true(isnan(s.median) && isnan(s.mean) && isnan(s.stdev) && isnan(s.cv));
	assert_true(isnan(s.ci_lo) && isnan(s.ci_hi) && isnan(s.min) && isnan(s.max));

	assert_int_equal(hb_summarize(one, 1, &s), 0);
	assert_double_equal(s.median, 42.5, 0);
	assert_double_equal(s.stdev, 0.0, 0);
	assert_double_equal(s.cv, 0.0, 0);
	assert_double_equal(s.ci_lo, 42.5, 0);
	assert_double_equal(s.ci_hi, 42.5, 0);

	assert_int_equal(hb_summarize(zero, 3, &s), 0);
	assert_double_equal(s.cv, 0.0, 0); /* mean 0 -> cv 0, not NaN */
}

static void test_summary_deterministic(void **state)
{
	double x[] = {10.1, 9.7, 10.4, 10.0, 9.9, 10.8, 9.5};
	struct hb_summary a, b;

	assert_int_equal(hb_summarize(x, 7, &a), 0);
	assert_int_equal(hb_summarize(x, 7, &b), 0);
	assert_true(a.ci_lo == b.ci_lo && a.ci_hi == b.ci_hi);
	assert_true(a.ci_lo < a.median && a.median < a.ci_hi);
}

static void test_ratio(void **state)
{
	double cur[] = {9.0, 9.5, 10.0, 9.2};
	double base[] = {10.0, 10.4, 9.8};
	double r, lo, hi, r2, lo2, hi2;
	double zero[] = {0, 0};

	assert_int_equal(hb_ratio_ci(cur, 4, base, 3, &r, &lo, &hi), 0);
	assert_double_equal(r, 0.935, EPS);
	assert_double_equal(lo, 0.875, EPS);
	assert_double_equal(hi, 1.0, EPS);
	assert_int_equal(hb_ratio_ci(cur, 4, base, 3, &r2, &lo2, &hi2), 0);
	assert_true(r == r2 && lo == lo2 && hi == hi2);

	assert_int_equal(hb_ratio_ci(cur, 0, base, 3, &r, &lo, &hi), HB_EINVAL);
	assert_true(isnan(r));
	assert_int_equal(hb_ratio_ci(cur, 4, base, 0, &r, &lo, &hi), HB_EINVAL);
	assert_int_equal(hb_ratio_ci(cur, 4, zero, 2, &r, &lo, &hi), HB_EINVAL);
	/* n = 1 each: degenerate interval at the ratio */
	assert_int_equal(hb_ratio_ci(cur, 1, base, 1, &r, &lo, &hi), 0);
	assert_double_equal(r, 0.9, EPS);
	assert_double_equal(lo, 0.9, EPS);
	assert_double_equal(hi, 0.9, EPS);
}

static void test_perm_exact(void **state)
{
	double b3[] = {10, 11, 12}, c3[] = {7, 8, 9};
	double b6[] = {10, 11, 12, 13, 14, 15}, c6[] = {1, 2, 3, 4, 5, 6};
	double bm[] = {10, 12, 11, 13}, cm[] = {9, 11.5, 10.5, 12.5};
	double t[] = {5, 5, 5};

	/* counts from itertools.combinations: 2/20, 20/20, 6/924, 26/70, 20/20 */
	assert_double_equal(hb_perm_test(b3, 3, c3, 3, 1), 2.0 / 20, EPS);
	assert_double_equal(hb_perm_test(b3, 3, c3, 3, 0), 1.0, EPS);
	assert_double_equal(hb_perm_test(b6, 6, c6, 6, 1), 6.0 / 924, EPS);
	assert_double_equal(hb_perm_test(bm, 4, cm, 4, 1), 26.0 / 70, EPS);
	assert_double_equal(hb_perm_test(t, 3, t, 3, 1), 1.0, EPS);
	assert_true(isnan(hb_perm_test(b3, 0, c3, 3, 1)));
	assert_true(isnan(hb_perm_test(b3, 3, c3, 0, 1)));
}

static void test_perm_monte_carlo(void **state)
{
	double b[10], c[10], ev[10], od[10];

	for (int i = 0; i < 10; i++) {
		b[i] = 20 + i;
		c[i] = i;
		ev[i] = 2 * i;
		od[i] = 2 * i + 1;
	}
	/* C(20,10) > 20000: fixed-seed Monte Carlo; Python re-implementation: 10 and 11874 hits */
	assert_double_equal(hb_perm_test(b, 10, c, 10, 1), 11.0 / 20001, EPS);
	assert_double_equal(hb_perm_test(ev, 10, od, 10, 1), 11875.0 / 20001, EPS);
	assert_double_equal(hb_perm_test(b, 10, c, 10, 1), 11.0 / 20001, 0);
}

static void test_perm_min_p(void **state)
{
	assert_double_equal(hb_perm_min_p(3, 3), 0.1, EPS);
	assert_double_equal(hb_perm_min_p(6, 6), 6.0 / 924, EPS);
	assert_double_equal(hb_perm_min_p(10, 10), 11.0 / 20001, EPS);
	assert_double_equal(hb_perm_min_p(0, 3), 1.0, EPS);
	assert_double_equal(hb_perm_min_p(40, 40), 1.0 / 20001, EPS);
	assert_true(hb_perm_min_p(3, 3) > 0.01);
	assert_true(hb_perm_min_p(6, 6) < 0.01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_sequence),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_quantile_type7),
		cmocka_unit_test(test_summary_known),
		cmocka_unit_test(test_summary_low_noise),
		cmocka_unit_test(test_summary_edges),
		cmocka_unit_test(test_summary_deterministic),
		cmocka_unit_test(test_ratio),
		cmocka_unit_test(test_perm_exact),
		cmocka_unit_test(test_perm_monte_carlo),
		cmocka_unit_test(test_perm_min_p),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
