/*
 * stats.h — the statistics behind every number hvbench prints: summaries with a bootstrap CI of
 * the median, the ratio of two medians with its own bootstrap CI, and a one-sided permutation
 * test for the regression gate. Every random draw comes from a fixed-seed generator owned by the
 * call, so the same samples always give the same interval.
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
	double ci_lo, ci_hi; /* bootstrap 95% CI of the median (percentile method) */
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
 * One-sided permutation test on the difference of medians. bad_is_lower != 0 means "cur lower
 * than base is bad" (higher_is_better metrics); returns the p-value that a difference at least as
 * bad as observed arises by chance. Exact enumeration when C(n1+n2, n1) <= 20000, otherwise
 * 20000 fixed-seed random permutations. p includes the observed arrangement: exact
 * p = k/C(n1+n2, n1) where k counts the splits at least as extreme (the observed one among
 * them); Monte Carlo p = (k+1)/(N+1). The statistic is the difference of medians in the bad
 * direction. NAN when either side is empty.
 */
double hb_perm_test(const double *base, size_t nbase, const double *cur, size_t ncur,
		    int bad_is_lower);
/*
 * The smallest p-value hb_perm_test can return for these sample counts (distinct values, cur
 * entirely on the bad side of base). Because the statistic is a difference of medians, splits
 * that swap values outside the medians tie with the observed one, so this is larger than
 * 1/C(n1+n2, n1): 3 vs 3 gives 0.1, 6 vs 6 gives 6/924 (Monte Carlo regime: computed the same
 * way; above 60 samples in all, the bound 1/20001). 1 when a side is empty.
 */
double hb_perm_min_p(size_t nbase, size_t ncur);

#endif
