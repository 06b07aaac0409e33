/*
 * stats.h — the statistics behind every number hvbench prints: summaries with a bootstrap CI of
 * the median, the ratio of two medians with its own bootstrap CI, and the t-test with variance
 * components and the Benjamini-Hochberg adjustment the regression gate uses. Every random draw
 * comes from a fixed-seed generator owned by the call, so the same samples always give the same
 * interval. Everything is O(n log n) in the sample count: the data are sorted once and a
 * bootstrap resample's median is drawn from its order-statistic distribution in O(1), so 10^4
 * samples per metric cost milliseconds.
 */
#ifndef HB_STATS_H
#define HB_STATS_H

#include <stddef.h>
#include <stdint.h>

#define HB_BOOT_ITERS 10000
#define HB_STATS_SEED 0x6876626e63680001ULL /* "hvbnch" + 1 */

struct hb_summary {
	size_t n;
	double median, mean, stdev, cv; /* stdev: sample (n-1); cv = stdev/|mean| (0 if mean==0) */
	double min, max;
	double ci_lo, ci_hi; /* bootstrap 95% CI of the median (percentile method, 10^4
			      * resamples: Monte Carlo error of each bound about 1% of the
			      * interval's width) */
};

/* Small deterministic PRNG (splitmix64/xoshiro256**): state owned by the caller. */
struct hb_rng {
	uint64_t s[4];
};
void hb_rng_seed(struct hb_rng *r, uint64_t seed);
uint64_t hb_rng_next(struct hb_rng *r);
/* Uniform integer in [0, n). */
size_t hb_rng_below(struct hb_rng *r, size_t n);

double hb_median(const double *x, size_t n); /* does not modify x; NAN if n==0 */
double hb_quantile_sorted(const double *sorted, size_t n,
			  double q); /* linear interpolation (type 7) */
/* Fills s; n==0 gives all-NAN fields and returns HB_EINVAL. n==1: CI = [x, x], stdev = 0. */
int hb_summarize(const double *x, size_t n, struct hb_summary *s);
/*
 * Ratio of medians cur/base with a bootstrap 95% CI (resampling both groups independently,
 * fixed seed). Returns HB_EINVAL when either side is empty or the base median is 0.
 */
int hb_ratio_ci(const double *cur, size_t ncur, const double *base, size_t nbase, double *ratio,
		double *lo, double *hi);
/*
 * Difference of medians cur - base with a bootstrap 95% CI (same resampling as hb_ratio_ci).
 * Returns HB_EINVAL when either side is empty.
 */
int hb_delta_ci(const double *cur, size_t ncur, const double *base, size_t nbase, double *delta,
		double *lo, double *hi);
/*
 * The regression gate's test (reports/compare.c): an estimate (a difference of means on the log
 * scale) whose variance is a sum of components, each estimated with its own degrees of freedom
 * (within-run spread, run-to-run spread). The t statistic est / sqrt(sum var) is referred to a
 * Student t with Welch-Satterthwaite degrees of freedom. One-sided p-values in both directions
 * and a two-sided 95% CI of est. A zero variance gives p = 0 in the direction of a non-zero est
 * (every sample on one side differs from every sample on the other in the same way: ties are
 * not a problem for this statistic) and p = 1 otherwise. No p-value floor: the smallest
 * reachable p is not limited by the number of relabellings as a permutation test's is.
 */
struct hb_vcomp {
	double var; /* variance contributed to est */
	double df;  /* degrees of freedom of its estimate (> 0) */
};
struct hb_ttest {
	double est, se, df, t;
	double p_up;   /* P(T >= t): evidence that the true value is above 0 */
	double p_down; /* P(T <= t) */
	double lo, hi; /* 95% CI of est */
};
/* HB_EINVAL when nc == 0 or a component has a negative variance / non-positive df. */
int hb_ttest(double est, const struct hb_vcomp *vc, size_t nc, struct hb_ttest *out);
/* Student t: P(T <= t) with df degrees of freedom (df = INFINITY: standard normal). */
double hb_t_cdf(double t, double df);
/* The q-quantile of Student t (0 < q < 1). */
double hb_t_quantile(double q, double df);
/* Mean and sample variance (n-1; 0 when n == 1); HB_EINVAL when n == 0. */
int hb_mean_var(const double *x, size_t n, double *mean, double *var);
/*
 * Benjamini-Hochberg step-up adjustment of p[0..n) into q[0..n) (q[i] = smallest FDR level at
 * which p[i] is rejected); NaN entries are not part of the family and stay NaN. Rejecting every
 * q < alpha controls the false discovery rate at alpha, and when nothing changed (every null
 * true) the chance of any rejection at alpha (the family-wise false-alarm rate). HB_ENOMEM.
 */
int hb_bh_adjust(const double *p, size_t n, double *q);

#endif
