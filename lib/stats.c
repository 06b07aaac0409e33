/*
 * stats.c — the statistics behind every number hvbench prints: median and type-7 quantiles,
 * summaries (mean, sample stdev, CV, min, max) with a percentile-bootstrap 95% CI of the median,
 * the ratio of two medians with its bootstrap CI, and the one-sided permutation test used by the
 * regression gate. All randomness comes from a xoshiro256** generator seeded with HB_STATS_SEED
 * inside each call, so identical samples always give identical intervals and p-values.
 */
#include "stats.h"
#include "hb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PERM_EXACT_MAX 20000
#define PERM_MC_ITERS  20000

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void hb_rng_seed(struct hb_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t hb_rng_next(struct hb_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

size_t hb_rng_below(struct hb_rng *r, size_t n)
{
	uint64_t limit, v;

	if (n <= 1)
		return 0;
	/* Rejection sampling: no modulo bias, so intervals do not depend on a skewed draw. */
	limit = UINT64_MAX - (UINT64_MAX % (uint64_t)n);
	do
		v = hb_rng_next(r);
	while (v >= limit);
	return (size_t)(v % (uint64_t)n);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of an array the function may reorder (sorts it). */
static double median_inplace(double *x, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(x, n, sizeof(*x), cmp_double);
	if (n % 2)
		return x[n / 2];
	return (x[n / 2 - 1] + x[n / 2]) / 2.0;
}

double hb_median(const double *x, size_t n)
{
	double *tmp, m;

	if (n == 0)
		return NAN;
	if (n == 1)
		return x[0];
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return NAN;
	memcpy(tmp, x, n * sizeof(*tmp));
	m = median_inplace(tmp, n);
	free(tmp);
	return m;
}

double hb_quantile_sorted(const double *sorted, size_t n, double q)
{
	double h, frac;
	size_t lo;

	if (n == 0 || isnan(q))
		return NAN;
	if (q <= 0)
		return sorted[0];
	if (q >= 1)
		return sorted[n - 1];
	h = (double)(n - 1) * q;
	lo = (size_t)floor(h);
	frac = h - (double)lo;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

/* Median of a bootstrap resample of x (n draws with replacement) using scratch buf[n]. */
static double resample_median(struct hb_rng *r, const double *x, size_t n, double *buf)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = x[hb_rng_below(r, n)];
	return median_inplace(buf, n);
}

int hb_summarize(const double *x, size_t n, struct hb_summary *s)
{
	double *buf = NULL, *meds = NULL, sum = 0, ss = 0;
	struct hb_rng r;
	int rc = 0;

	s->n = n;
	s->median = s->mean = s->stdev = s->cv = NAN;
	s->min = s->max = s->ci_lo = s->ci_hi = NAN;
	if (n == 0)
		return HB_EINVAL;
	s->min = s->max = x[0];
	for (size_t i = 0; i < n; i++) {
		sum += x[i];
		if (x[i] < s->min)
			s->min = x[i];
		if (x[i] > s->max)
			s->max = x[i];
	}
	s->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - s->mean) * (x[i] - s->mean);
	s->stdev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
	s->cv = s->mean != 0 ? s->stdev / fabs(s->mean) : 0.0;
	s->median = hb_median(x, n);
	if (n == 1) {
		s->ci_lo = s->ci_hi = x[0];
		return 0;
	}
	buf = malloc(n * sizeof(*buf));
	meds = malloc(HB_BOOT_ITERS * sizeof(*meds));
	if (!buf || !meds) {
		rc = HB_ENOMEM;
		goto out;
	}
	hb_rng_seed(&r, HB_STATS_SEED);
	for (size_t i = 0; i < HB_BOOT_ITERS; i++)
		meds[i] = resample_median(&r, x, n, buf);
	qsort(meds, HB_BOOT_ITERS, sizeof(*meds), cmp_double);
	s->ci_lo = hb_quantile_sorted(meds, HB_BOOT_ITERS, 0.025);
	s->ci_hi = hb_quantile_sorted(meds, HB_BOOT_ITERS, 0.975);
out:
	free(buf);
	free(meds);
	return rc;
}

/* cur/base with the convention used for a resample whose base median is 0. */
static double safe_ratio(double c, double b)
{
	if (b != 0)
		return c / b;
	if (c == 0)
		return 1.0;
	return c > 0 ? INFINITY : -INFINITY;
}

int hb_ratio_ci(const double *cur, size_t ncur, const double *base, size_t nbase, double *ratio,
		double *lo, double *hi)
{
	double *cb = NULL, *bb = NULL, *rs = NULL, mb;
	struct hb_rng r;
	int rc = 0;

	*ratio = *lo = *hi = NAN;
	if (ncur == 0 || nbase == 0)
		return HB_EINVAL;
	mb = hb_median(base, nbase);
	if (mb == 0 || isnan(mb))
		return HB_EINVAL;
	*ratio = hb_median(cur, ncur) / mb;
	cb = malloc(ncur * sizeof(*cb));
	bb = malloc(nbase * sizeof(*bb));
	rs = malloc(HB_BOOT_ITERS * sizeof(*rs));
	if (!cb || !bb || !rs) {
		rc = HB_ENOMEM;
		goto out;
	}
	hb_rng_seed(&r, HB_STATS_SEED);
	for (size_t i = 0; i < HB_BOOT_ITERS; i++) {
		double c = resample_median(&r, cur, ncur, cb);
		double b = resample_median(&r, base, nbase, bb);
		rs[i] = safe_ratio(c, b);
	}
	qsort(rs, HB_BOOT_ITERS, sizeof(*rs), cmp_double);
	*lo = hb_quantile_sorted(rs, HB_BOOT_ITERS, 0.025);
	*hi = hb_quantile_sorted(rs, HB_BOOT_ITERS, 0.975);
out:
	free(cb);
	free(bb);
	free(rs);
	return rc;
}

int hb_delta_ci(const double *cur, size_t ncur, const double *base, size_t nbase, double *delta,
		double *lo, double *hi)
{
	double *cb = NULL, *bb = NULL, *ds = NULL;
	struct hb_rng r;
	int rc = 0;

	*delta = *lo = *hi = NAN;
	if (ncur == 0 || nbase == 0)
		return HB_EINVAL;
	*delta = hb_median(cur, ncur) - hb_median(base, nbase);
	cb = malloc(ncur * sizeof(*cb));
	bb = malloc(nbase * sizeof(*bb));
	ds = malloc(HB_BOOT_ITERS * sizeof(*ds));
	if (!cb || !bb || !ds) {
		rc = HB_ENOMEM;
		goto out;
	}
	hb_rng_seed(&r, HB_STATS_SEED);
	for (size_t i = 0; i < HB_BOOT_ITERS; i++) {
		double c = resample_median(&r, cur, ncur, cb);
		ds[i] = c - resample_median(&r, base, nbase, bb);
	}
	qsort(ds, HB_BOOT_ITERS, sizeof(*ds), cmp_double);
	*lo = hb_quantile_sorted(ds, HB_BOOT_ITERS, 0.025);
	*hi = hb_quantile_sorted(ds, HB_BOOT_ITERS, 0.975);
out:
	free(cb);
	free(bb);
	free(ds);
	return rc;
}

/* C(n, k) as a double (exact for the sizes we enumerate; large values only compared). */
static double choose(size_t n, size_t k)
{
	double c = 1;

	if (k > n)
		return 0;
	if (k > n - k)
		k = n - k;
	for (size_t i = 1; i <= k; i++)
		c = c * (double)(n - k + i) / (double)i;
	return floor(c + 0.5);
}

double hb_perm_min_p(size_t nbase, size_t ncur)
{
	double *v, p;
	size_t n = nbase + ncur;

	if (nbase == 0 || ncur == 0)
		return 1.0;
	if (n > 60)
		return 1.0 / (PERM_MC_ITERS + 1.0);
	/* Base entirely above cur, with values 2^i so no two different splits tie by coincidence
	 * of spacing: only the splits the median cannot tell apart count with the observed one. */
	v = malloc(n * sizeof(*v));
	if (!v)
		return NAN;
	for (size_t i = 0; i < n; i++)
		v[i] = ldexp(1.0, (int)i);
	p = hb_perm_test(v + ncur, nbase, v, ncur, 1);
	free(v);
	return p;
}

/* The test statistic: how far "cur" is from "base" in the bad direction. */
static double perm_stat(double mbase, double mcur, int bad_is_lower)
{
	return bad_is_lower ? mbase - mcur : mcur - mbase;
}

/* Statistic of the split "first nb of pool are base, rest are cur" (uses scratch a, b). */
static double split_stat(const double *pool, size_t nb, size_t nc, int bad_is_lower, double *a,
			 double *b)
{
	memcpy(a, pool, nb * sizeof(*a));
	memcpy(b, pool + nb, nc * sizeof(*b));
	return perm_stat(median_inplace(a, nb), median_inplace(b, nc), bad_is_lower);
}

double hb_perm_test(const double *base, size_t nbase, const double *cur, size_t ncur,
		    int bad_is_lower)
{
	size_t n = nbase + ncur;
	double *pool = NULL, *arr = NULL, *a = NULL, *b = NULL, obs, eps, scale = 0, p = NAN;
	size_t *idx = NULL;
	unsigned char *in = NULL;

	if (nbase == 0 || ncur == 0)
		return NAN;
	pool = malloc(n * sizeof(*pool));
	arr = malloc(n * sizeof(*arr));
	a = malloc(n * sizeof(*a));
	b = malloc(n * sizeof(*b));
	idx = malloc(nbase * sizeof(*idx));
	in = malloc(n);
	if (!pool || !arr || !a || !b || !idx || !in)
		goto out;
	memcpy(pool, base, nbase * sizeof(*pool));
	memcpy(pool + nbase, cur, ncur * sizeof(*pool));
	for (size_t i = 0; i < n; i++)
		if (fabs(pool[i]) > scale)
			scale = fabs(pool[i]);
	/* Equal medians reached through different arrangements must count as "as extreme". */
	eps = 1e-12 * scale;
	obs = split_stat(pool, nbase, ncur, bad_is_lower, a, b);

	if (choose(n, nbase) <= PERM_EXACT_MAX) {
		/* Exact: every way to choose which nbase values are "base"; the observed split is
		 * one of them, so p = (#splits at least as extreme) / C(n, nbase). */
		size_t k = 0, total = 0;

		for (size_t i = 0; i < nbase; i++)
			idx[i] = i;
		for (;;) {
			size_t pa = 0, pb = nbase, i;

			memset(in, 0, n);
			for (i = 0; i < nbase; i++)
				in[idx[i]] = 1;
			for (i = 0; i < n; i++) {
				if (in[i])
					arr[pa++] = pool[i];
				else
					arr[pb++] = pool[i];
			}
			if (split_stat(arr, nbase, ncur, bad_is_lower, a, b) >= obs - eps)
				k++;
			total++;
			/* Next combination in lexicographic order. */
			i = nbase;
			while (i > 0 && idx[i - 1] == n - nbase + (i - 1))
				i--;
			if (i == 0)
				break;
			idx[i - 1]++;
			for (size_t j = i; j < nbase; j++)
				idx[j] = idx[j - 1] + 1;
		}
		p = (double)k / (double)total;
	} else {
		/* Monte Carlo: random relabellings plus the observed one, (k + 1) / (N + 1). */
		struct hb_rng r;
		size_t k = 0;

		hb_rng_seed(&r, HB_STATS_SEED);
		memcpy(arr, pool, n * sizeof(*arr));
		for (size_t it = 0; it < PERM_MC_ITERS; it++) {
			for (size_t i = n - 1; i > 0; i--) {
				size_t j = hb_rng_below(&r, i + 1);
				double t = arr[i];

				arr[i] = arr[j];
				arr[j] = t;
			}
			if (split_stat(arr, nbase, ncur, bad_is_lower, a, b) >= obs - eps)
				k++;
		}
		p = (double)(k + 1) / (double)(PERM_MC_ITERS + 1);
	}
out:
	free(pool);
	free(arr);
	free(a);
	free(b);
	free(idx);
	free(in);
	return p;
}
