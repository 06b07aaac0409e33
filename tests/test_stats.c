/*
 * test_stats.c — unit tests for lib/stats.c with exact expectations. The expected values were
 * computed independently in Python (statistics module and a separate xoshiro256** + splitmix64
 * re-implementation for the fixed-seed bootstrap), from closed forms (Student t with 1, 2 and 4
 * degrees of freedom) and published tables (t quantiles), then checked for sense (CIs contain
 * the median and lie within the sample range).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

static void test_t_distribution(void **state)
{
	/* df = 1 is Cauchy, df = 2 has a closed form; quantiles from published tables */
	for (double t = -4; t <= 4; t += 0.5) {
		assert_double_equal(hb_t_cdf(t, 1), 0.5 + atan(t) / M_PI, 1e-10);
		assert_double_equal(hb_t_cdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)), 1e-10);
	}
	assert_double_equal(1 - hb_t_cdf(2.0, 5), 0.0509697394, 1e-9);
	assert_double_equal(hb_t_quantile(0.975, 1), 12.70620474, 1e-7);
	assert_double_equal(hb_t_quantile(0.975, 4), 2.776445105, 1e-8);
	assert_double_equal(hb_t_quantile(0.975, 10), 2.228138852, 1e-8);
	assert_double_equal(hb_t_quantile(0.975, INFINITY), 1.959963985, 1e-8);
	assert_double_equal(hb_t_cdf(1.959963985, INFINITY), 0.975, 1e-9);
	/* the far tail keeps its precision: P(T >= 40) with df 4 = 1.0703e-6 (closed form for
	 * even df: 1/2 - t/(2 sqrt(4+t^2)) * (1 + 2/(4+t^2))) */
	{
		double t = 40, x = 4 + t * t;
		double want = 0.5 - t / (2 * sqrt(x)) * (1 + 2 / x);
		struct hb_vcomp vc = {1.0, 4};
		struct hb_ttest tt;

		assert_int_equal(hb_ttest(-40, &vc, 1, &tt), 0);
		assert_double_equal(tt.p_down / want, 1.0, 1e-6);
	}
}

static void test_ttest_components(void **state)
{
	struct hb_vcomp one = {1.0, 1}, two[] = {{1.0, 2}, {1.0, 2}}, zero = {0, 3}, bad = {1, 0};
	struct hb_ttest t;

	assert_int_equal(hb_ttest(3, &one, 1, &t), 0);
	assert_double_equal(t.p_up, 0.5 - atan(3) / M_PI, 1e-10);
	assert_double_equal(t.p_down, 0.5 + atan(3) / M_PI, 1e-10);
	assert_double_equal(t.lo, 3 - 12.70620474, 1e-7);
	assert_double_equal(t.hi, 3 + 12.70620474, 1e-7);
	/* Welch-Satterthwaite: (1 + 1)^2 / (1/2 + 1/2) = 4 degrees of freedom, se sqrt 2 */
	assert_int_equal(hb_ttest(-2, two, 2, &t), 0);
	assert_double_equal(t.df, 4, 1e-12);
	assert_double_equal(t.se, sqrt(2), 1e-12);
	assert_double_equal(t.p_down, 1 - hb_t_cdf(2 / sqrt(2), 4), 1e-12);
	/* ties: no spread at all, a real difference is certain, none is no evidence */
	assert_int_equal(hb_ttest(-0.2231, &zero, 1, &t), 0);
	assert_double_equal(t.p_down, 0, 0);
	assert_double_equal(t.p_up, 1, 0);
	assert_int_equal(hb_ttest(0, &zero, 1, &t), 0);
	assert_double_equal(t.p_down, 1, 0);
	assert_double_equal(t.p_up, 1, 0);
	assert_int_equal(hb_ttest(1, &bad, 1, &t), HB_EINVAL);
	assert_int_equal(hb_ttest(1, &one, 0, &t), HB_EINVAL);
}

static void test_mean_var(void **state)
{
	double x[] = {2, 4, 4, 4, 5, 5, 7, 9}, m, v;

	assert_int_equal(hb_mean_var(x, 8, &m, &v), 0);
	assert_double_equal(m, 5, 1e-12);
	assert_double_equal(v, 32.0 / 7, 1e-12);
	assert_int_equal(hb_mean_var(x, 1, &m, &v), 0);
	assert_double_equal(v, 0, 0);
	assert_int_equal(hb_mean_var(x, 0, &m, &v), HB_EINVAL);
}

static void test_bh(void **state)
{
	/* by hand: sorted 0.005 0.01 0.03 0.04 (m = 4): 0.02, 0.02, 0.04, 0.04 (step-up min) */
	double p[] = {0.01, 0.04, 0.03, NAN, 0.005}, q[5];
	double one[] = {0.3}, q1[1];

	assert_int_equal(hb_bh_adjust(p, 5, q), 0);
	assert_double_equal(q[0], 0.02, 1e-12);
	assert_double_equal(q[1], 0.04, 1e-12);
	assert_double_equal(q[2], 0.04, 1e-12);
	assert_true(isnan(q[3]));
	assert_double_equal(q[4], 0.02, 1e-12);
	assert_int_equal(hb_bh_adjust(one, 1, q1), 0);
	assert_double_equal(q1[0], 0.3, 0);
	assert_int_equal(hb_bh_adjust(one, 0, q1), 0);
}

/* Above 64 samples a resample's median is drawn from its order-statistic distribution. */
static void test_bootstrap_large_n(void **state)
{
	double *x = malloc(10001 * sizeof(*x));
	struct hb_summary s, s2;
	double r, lo, hi;

	assert_non_null(x);
	for (int i = 0; i < 10001; i++)
		x[i] = (double)((i * 7919) % 10001); /* 0..10000, shuffled */
	/* 81 values 0..80 (a permutation of them): plain-resampling bootstrap in Python (20000
	 * resamples, another generator) gives [32, 50] for the first 81 values sorted as 1..81 */
	for (int i = 0; i < 81; i++)
		x[i] = i + 1;
	assert_int_equal(hb_summarize(x, 81, &s), 0);
	assert_double_equal(s.ci_lo, 32, 1);
	assert_double_equal(s.ci_hi, 50, 1);
	for (int i = 0; i < 10001; i++)
		x[i] = (double)((i * 7919) % 10001);
	assert_int_equal(hb_summarize(x, 10001, &s), 0);
	assert_int_equal(hb_summarize(x, 10001, &s2), 0);
	assert_double_equal(s.median, 5000, 0);
	assert_true(s.ci_lo == s2.ci_lo && s.ci_hi == s2.ci_hi);
	/* distribution-free interval: 5000 -/+ 1.96 sqrt(10001) / 2 * (10001 / 10001) = -/+ 98 */
	assert_double_equal(s.ci_lo, 4902, 12);
	assert_double_equal(s.ci_hi, 5098, 12);
	assert_int_equal(hb_ratio_ci(x, 10001, x, 10001, &r, &lo, &hi), 0);
	assert_double_equal(r, 1, 0);
	assert_true(lo < 1 && hi > 1 && lo > 0.96 && hi < 1.04);
	free(x);
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
		cmocka_unit_test(test_t_distribution),
		cmocka_unit_test(test_ttest_components),
		cmocka_unit_test(test_mean_var),
		cmocka_unit_test(test_bh),
		cmocka_unit_test(test_bootstrap_large_n),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
