/*
 * stats.c — the statistics behind every number hvbench prints: median and type-7 quantiles,
 * summaries (mean, sample stdev, CV, min, max) with a percentile-bootstrap 95% CI of the median,
 * the ratio of two medians with its bootstrap CI, and the regression gate's t-test with variance
 * components (Student t via the regularized incomplete beta function) and Benjamini-Hochberg
 * adjustment. All randomness comes from a xoshiro256** generator seeded with HB_STATS_SEED
 * inside each call, so identical samples always give identical intervals and p-values.
 * Large samples: sorted once; a resample's median is then drawn directly from the distribution
 * of the resample's middle order statistic (a Beta variate mapped onto the sorted data), which is
 * exactly the bootstrap distribution at O(1) per resample instead of O(n log n).
 */
#include "stats.h"
#include "hb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many samples a resample is drawn value by value (the historical path, kept so
 * small-sample intervals stay exactly what they were); above it the order-statistic draw. */
#define BOOT_DIRECT_MAX 64

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

/* Uniform in (0, 1), never 0 or 1 (logs of it are finite). */
static double unif01(struct hb_rng *r)
{
	return ((double)(hb_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double std_normal(struct hb_rng *r)
{
	return sqrt(-2.0 * log(unif01(r))) * cos(6.283185307179586 * unif01(r));
}

/* Gamma(a, 1) for a >= 1 (Marsaglia and Tsang, 2000). */
static double gamma_var(struct hb_rng *r, double a)
{
	double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);

	for (;;) {
		double x = std_normal(r), v = 1.0 + c * x, u;

		if (v <= 0)
			continue;
		v = v * v * v;
		u = unif01(r);
		if (u < 1.0 - 0.0331 * x * x * x * x ||
		    log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v;
	}
}

/* The k-th smallest of n uniforms on (0, 1): Beta(k, n + 1 - k). */
static double uniform_order_stat(struct hb_rng *r, size_t k, size_t n)
{
	double g1 = gamma_var(r, (double)k), g2 = gamma_var(r, (double)(n + 1 - k));

	return g1 / (g1 + g2);
}

static size_t to_index(double u, size_t n)
{
	size_t i = (size_t)(u * (double)n);

	return i < n ? i : n - 1;
}

/*
 * Median of a bootstrap resample of the sorted data: the resample's indices are floor(U * n) for
 * n uniforms U, so its k-th smallest index is floor(U_(k) * n), U_(k) ~ Beta(k, n + 1 - k); for
 * an even n the next order statistic lies above U_(k) like the minimum of the n - k uniforms
 * left, U_(k) + (1 - U_(k)) * (1 - V^(1/(n-k))).
 */
static double order_stat_median(struct hb_rng *r, const double *sorted, size_t n)
{
	size_t k = n % 2 ? (n + 1) / 2 : n / 2;
	double u1 = uniform_order_stat(r, k, n), u2;

	if (n % 2)
		return sorted[to_index(u1, n)];
	u2 = u1 + (1.0 - u1) * (1.0 - pow(unif01(r), 1.0 / (double)(n - k)));
	return (sorted[to_index(u1, n)] + sorted[to_index(u2, n)]) / 2.0;
}

/* Bootstrap sampler of the median of x[0..n): buf holds n values (sorted copy for large n). */
struct boot {
	const double *x;
	size_t n;
	double *buf;
};

static int boot_init(struct boot *b, const double *x, size_t n)
{
	b->x = x;
	b->n = n;
	b->buf = malloc(n * sizeof(*b->buf));
	if (!b->buf)
		return HB_ENOMEM;
	if (n > BOOT_DIRECT_MAX) {
		memcpy(b->buf, x, n * sizeof(*b->buf));
		qsort(b->buf, n, sizeof(*b->buf), cmp_double);
	}
	return 0;
}

static double boot_median(struct hb_rng *r, struct boot *b)
{
	if (b->n <= BOOT_DIRECT_MAX)
		return resample_median(r, b->x, b->n, b->buf);
	return order_stat_median(r, b->buf, b->n);
}

int hb_summarize(const double *x, size_t n, struct hb_summary *s)
{
	double *meds = NULL, sum = 0, ss = 0, scale = 0;
	struct boot bt = {0};
	struct hb_rng r;
	int rc = 0;

	s->n = n;
	s->median = s->mean = s->stdev = s->cv = NAN;
	s->min = s->max = s->ci_lo = s->ci_hi = NAN;
	if (n == 0)
		return HB_EINVAL;
	s->min = s->max = x[0];
	for (size_t i = 0; i < n; i++) {
		if (x[i] < s->min)
			s->min = x[i];
		if (x[i] > s->max)
			s->max = x[i];
		if (fabs(x[i]) > scale)
			scale = fabs(x[i]);
	}
	/* sums of values scaled to [-1, 1]: samples near DBL_MAX cannot overflow the mean */
	if (scale == 0 || !isfinite(scale))
		scale = 1;
	for (size_t i = 0; i < n; i++)
		sum += x[i] / scale;
	sum /= (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] / scale - sum) * (x[i] / scale - sum);
	s->mean = sum * scale;
	s->stdev = n > 1 ? sqrt(ss / (double)(n - 1)) * scale : 0.0;
	s->cv = s->mean != 0 ? s->stdev / fabs(s->mean) : 0.0;
	s->median = hb_median(x, n);
	if (n == 1) {
		s->ci_lo = s->ci_hi = x[0];
		return 0;
	}
	meds = malloc(HB_BOOT_ITERS * sizeof(*meds));
	if (!meds || boot_init(&bt, x, n)) {
		rc = HB_ENOMEM;
		goto out;
	}
	hb_rng_seed(&r, HB_STATS_SEED);
	for (size_t i = 0; i < HB_BOOT_ITERS; i++)
		meds[i] = boot_median(&r, &bt);
	qsort(meds, HB_BOOT_ITERS, sizeof(*meds), cmp_double);
	s->ci_lo = hb_quantile_sorted(meds, HB_BOOT_ITERS, 0.025);
	s->ci_hi = hb_quantile_sorted(meds, HB_BOOT_ITERS, 0.975);
out:
	free(bt.buf);
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

static double difference(double c, double b)
{
	return c - b;
}

/* The 95% bootstrap interval of op(median of cur, median of base), both resampled. */
static int boot_ci2(const double *cur, size_t ncur, const double *base, size_t nbase,
		    double (*op)(double c, double b), double *lo, double *hi)
{
	double *xs = malloc(HB_BOOT_ITERS * sizeof(*xs));
	struct boot cb = {0}, bb = {0};
	struct hb_rng r;
	int rc = 0;

	if (!xs || boot_init(&cb, cur, ncur) || boot_init(&bb, base, nbase)) {
		rc = HB_ENOMEM;
		goto out;
	}
	hb_rng_seed(&r, HB_STATS_SEED);
	for (size_t i = 0; i < HB_BOOT_ITERS; i++) {
		double c = boot_median(&r, &cb);

		xs[i] = op(c, boot_median(&r, &bb));
	}
	qsort(xs, HB_BOOT_ITERS, sizeof(*xs), cmp_double);
	*lo = hb_quantile_sorted(xs, HB_BOOT_ITERS, 0.025);
	*hi = hb_quantile_sorted(xs, HB_BOOT_ITERS, 0.975);
out:
	free(cb.buf);
	free(bb.buf);
	free(xs);
	return rc;
}

int hb_ratio_ci(const double *cur, size_t ncur, const double *base, size_t nbase, double *ratio,
		double *lo, double *hi)
{
	double mb;

	*ratio = *lo = *hi = NAN;
	if (ncur == 0 || nbase == 0)
		return HB_EINVAL;
	mb = hb_median(base, nbase);
	if (mb == 0 || isnan(mb))
		return HB_EINVAL;
	*ratio = hb_median(cur, ncur) / mb;
	return boot_ci2(cur, ncur, base, nbase, safe_ratio, lo, hi);
}

int hb_delta_ci(const double *cur, size_t ncur, const double *base, size_t nbase, double *delta,
		double *lo, double *hi)
{
	*delta = *lo = *hi = NAN;
	if (ncur == 0 || nbase == 0)
		return HB_EINVAL;
	*delta = hb_median(cur, ncur) - hb_median(base, nbase);
	return boot_ci2(cur, ncur, base, nbase, difference, lo, hi);
}

#define LENTZ_TINY 1e-300

/* One modified-Lentz step with coefficient aa: updates c and d, returns the factor for h. */
static double lentz_step(double aa, double *c, double *d)
{
	*d = 1 + aa * *d;
	if (fabs(*d) < LENTZ_TINY)
		*d = LENTZ_TINY;
	*c = 1 + aa / *c;
	if (fabs(*c) < LENTZ_TINY)
		*c = LENTZ_TINY;
	*d = 1 / *d;
	return *d * *c;
}

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double betacf(double a, double b, double x)
{
	double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap, h;

	if (fabs(d) < LENTZ_TINY)
		d = LENTZ_TINY;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 300; m++) {
		double m2 = 2.0 * m, del;

		h *= lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), &c, &d);
		del = lentz_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), &c, &d);
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double ibeta(double a, double b, double x)
{
	double bt;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return bt * betacf(a, b, x) / a;
	return 1 - bt * betacf(b, a, 1 - x) / b;
}

/* P(T >= t), accurate in the far tail (no 1 - p cancellation there). */
static double t_upper(double t, double df)
{
	double tail;

	if (isnan(t) || isnan(df))
		return NAN;
	if (isinf(t))
		return t > 0 ? 0 : 1;
	if (!isfinite(df) || df > 1e7)
		return 0.5 * erfc(t / sqrt(2.0));
	tail = 0.5 * ibeta(df / 2, 0.5, df / (df + t * t));
	return t > 0 ? tail : 1 - tail;
}

double hb_t_cdf(double t, double df)
{
	return 1 - t_upper(t, df);
}

double hb_t_quantile(double q, double df)
{
	double lo = -1, hi = 1;

	if (!(q > 0 && q < 1) || isnan(df))
		return NAN;
	while (hb_t_cdf(lo, df) > q && lo > -1e12)
		lo *= 2;
	while (hb_t_cdf(hi, df) < q && hi < 1e12)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-12 * (1 + fabs(lo)); i++) {
		double mid = (lo + hi) / 2;

		if (hb_t_cdf(mid, df) < q)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

int hb_mean_var(const double *x, size_t n, double *mean, double *var)
{
	double m = 0, ss = 0;

	*mean = *var = NAN;
	if (n == 0)
		return HB_EINVAL;
	for (size_t i = 0; i < n; i++)
		m += x[i];
	m /= (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - m) * (x[i] - m);
	*mean = m;
	*var = n > 1 ? ss / (double)(n - 1) : 0.0;
	return 0;
}

int hb_ttest(double est, const struct hb_vcomp *vc, size_t nc, struct hb_ttest *o)
{
	double var = 0, den = 0, q;

	o->est = est;
	o->se = o->df = o->t = o->p_up = o->p_down = o->lo = o->hi = NAN;
	if (nc == 0 || isnan(est))
		return HB_EINVAL;
	for (size_t i = 0; i < nc; i++) {
		if (!(vc[i].var >= 0) || !(vc[i].df > 0))
			return HB_EINVAL;
		var += vc[i].var;
		if (vc[i].var > 0)
			den += vc[i].var * vc[i].var / vc[i].df;
	}
	o->se = sqrt(var);
	o->df = den > 0 ? var * var / den : INFINITY;
	if (var == 0) {
		/* no spread at all: any difference is exact, none is no evidence either way */
		o->t = est > 0 ? INFINITY : est < 0 ? -INFINITY : 0;
		o->p_up = est > 0 ? 0 : 1;
		o->p_down = est < 0 ? 0 : 1;
		o->lo = o->hi = est;
		return 0;
	}
	o->t = est / o->se;
	o->p_up = t_upper(o->t, o->df);
	o->p_down = t_upper(-o->t, o->df);
	q = hb_t_quantile(0.975, o->df);
	o->lo = est - q * o->se;
	o->hi = est + q * o->se;
	return 0;
}

struct pidx {
	double p;
	size_t i;
};

static int cmp_pidx(const void *a, const void *b)
{
	const struct pidx *x = a, *y = b;

	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

int hb_bh_adjust(const double *p, size_t n, double *q)
{
	struct pidx *v = malloc((n ? n : 1) * sizeof(*v));
	size_t m = 0;
	double run = 1;

	if (!v)
		return HB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		q[i] = NAN;
		if (!isnan(p[i]))
			v[m++] = (struct pidx){p[i], i};
	}
	qsort(v, m, sizeof(*v), cmp_pidx);
	for (size_t k = m; k > 0; k--) {
		double a = v[k - 1].p * (double)m / (double)k;

		if (a < run)
			run = a;
		q[v[k - 1].i] = run;
	}
	free(v);
	return 0;
}
