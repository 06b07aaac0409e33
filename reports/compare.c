/*
 * compare.c — `hvbench compare`, the CI regression gate. It compares a current results file with
 * one or several baseline runs of the same profile, row by row (target, workload, metric):
 *  - what can fail: by default headline and detail metrics only (diagnostics are reported);
 *  - what is tested: the absolute value and, for a VM target, its ratio to the native target of
 *    the same run (which cancels host drift); --gate picks absolute, ratio or both;
 *  - how: per run the samples are reduced to units (per-boot medians when the run booted its VM
 *    several times, else the repetitions), on the log scale; a ratio's units pair the VM with
 *    native over the same repetitions; the difference of the mean units is referred to Student
 *    t with variance components for within-run spread and, with several baseline runs, the
 *    run-to-run spread, moderated across the compare's tests (an empirical Bayes prior: with 3
 *    baselines one test alone has 2 df for it); p-values of every test that can fail are
 *    adjusted together (Benjamini-Hochberg), and a regression needs adjusted p < alpha AND a
 *    change beyond the threshold in the bad direction;
 *  - what else fails: a current run that is not complete, a gated row or target missing from it,
 *    nothing comparable at all; differing profile/targets/host facts are listed (--strict: fail).
 * Output: text or Markdown that lead with the verdict and the regressions, JSON, JUnit XML; an
 * A/A self-test (--aa) that measures the gate's own false-alarm rate; and A/B in one run (--ab A
 * B RUN): target B against target A of the same run, their units paired by boot or repetition
 * (the pairs share the host's state, so no run-to-run spread enters).
 */
#include "rep_int.h"
#include "stats.h"

#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THRESHOLDS 64
#define MAX_RUNS       32
#define AA_SPLITS      8

enum gate_mode { MODE_ABSOLUTE, MODE_RATIO, MODE_BOTH };

enum cmp_status {
	ST_REGRESSION,
	ST_MISSING, /* gated row present in the baseline, absent now: fails */
	ST_IMPROVED,
	ST_DRIFT,     /* native reference changed: the ratios cancel it (mode both) */
	ST_NOT_GATED, /* a change on a row that cannot fail (diagnostic) */
	ST_NOT_SIGNIFICANT,
	ST_UNTESTABLE,
	ST_UNCHANGED,
	ST_BASE_ONLY, /* not gated, absent now */
	ST_CUR_ONLY,
	ST_COUNT
};

static const char *const st_name[ST_COUNT] = {
	"regression",	   "missing",	  "improved",  "host drift",	   "changed, not gated",
	"not significant", "n too small", "unchanged", "only in baseline", "only in current",
};

/* One statistical comparison of a row: absolute value, or VM/native ratio. */
struct test {
	int ok; /* computed; else why says why not */
	char why[120];
	int logscale;	  /* est is a difference of logs */
	int hib;	  /* direction of this test's quantity (ratios are oriented: always 1) */
	double base, cur; /* typical values: exp(mean log unit) or mean unit; ratios raw */
	double change, lo, hi;		     /* relative change cur/base - 1 with its 95% CI */
	double p_bad, p_good, q_bad, q_good; /* one-sided p, BH-adjusted q (NAN: not in family) */
	double df;
	double var_within, var_runs; /* variance of est: within-run part, run-to-run part */
	/* what shift_test() kept for shift_finish() */
	int prepared;
	size_t R;
	double mb, xc, wc, wsum, df_w, s2, z;
	int own_spread; /* its run-to-run spread is an outlier of the prior: its own z used */
	size_t nb, nc;	/* units: baseline (all runs), current */
	int family;	/* part of the gate's family of tests */
	int paired;	/* ratio: VM and native units paired by repetition (paired_units) */
	/* --ab, paired by boot: the launch order taken as a block (order_block) */
	size_t n_afirst, n_bfirst;
	double order_effect; /* half the difference between the orders' mean units */
};

struct cmp_row {
	const char *target, *workload, *metric, *unit;
	int hib, role, gated, native_ref, has_ratio;
	int cmp_kind; /* HB_CMP_* of the row in the current run */
	enum cmp_status st;
	double threshold;
	struct test abs, ratio;
	const char *decided_by; /* "ratio", "absolute" */
};

/* The run-to-run prior of one compare (prior_fit). */
struct prior {
	double d0, z0; /* d0 = 0: no prior (each test alone); INFINITY: all tests alike */
	double dmax;   /* the degrees of freedom of all tests' z together (caps d0 + R - 1) */
};

struct thr {
	char key[192];
	double v;
};

struct cmp {
	double alpha, threshold;
	struct thr thr[MAX_THRESHOLDS];
	size_t nthr;
	enum gate_mode mode;
	int all_roles, strict, allow_missing, list_all;
	const char *bpath[MAX_RUNS], *cpath;
	json_t *base[MAX_RUNS], *cur;
	size_t nbase;
	struct cmp_row *rows;
	size_t nrows, cap;
	size_t count[ST_COUNT];
	size_t ngated, ntested;
	struct prior prior_abs, prior_ratio;
	/* findings at the top of the output */
	char **notes; /* mismatches and run-level problems, each a line */
	size_t nnotes;
	size_t nmismatch;
	int fatal; /* a run-level reason to fail (status, missing target, nothing compared) */
	char fatal_why[512];
	/* --ab: target B (the candidate, rows named after it) against target A of one run */
	const char *ab_a, *ab_b;
	/* NULL, or the default of a target option (hb_baseline_source.option_default) */
	json_t *(*option_default)(const char *kind, const char *key);
};

static void note_add(struct cmp *c, int mismatch, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note_add(struct cmp *c, int mismatch, const char *fmt, ...)
{
	char buf[1024], **n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = realloc(c->notes, (c->nnotes + 1) * sizeof(*n));
	if (!n)
		return;
	c->notes = n;
	c->notes[c->nnotes] = strdup(buf);
	if (c->notes[c->nnotes])
		c->nnotes++;
	c->nmismatch += mismatch != 0;
}

static void set_fatal(struct cmp *c, const char *why)
{
	if (!c->fatal)
		hb_strlcpy(c->fatal_why, why, sizeof(c->fatal_why));
	c->fatal = 1;
}

/* "5%", "5" -> 0.05 */
static int parse_pct(const char *s, double *out)
{
	char buf[64];
	size_t l;
	double v;

	if (hb_strlcpy(buf, s, sizeof(buf)))
		return HB_EINVAL;
	l = strlen(buf);
	if (l && buf[l - 1] == '%')
		buf[l - 1] = '\0';
	if (hb_parse_double(buf, 0, 10000, &v))
		return HB_EINVAL;
	*out = v / 100.0;
	return 0;
}

/* The most specific --threshold-for wins: target/workload/metric, workload/metric, metric. */
static double threshold_for(const struct cmp *c, const char *t, const char *w, const char *m)
{
	char k3[512], k2[384];

	snprintf(k3, sizeof(k3), "%s/%s/%s", t, w, m);
	snprintf(k2, sizeof(k2), "%s/%s", w, m);
	for (size_t i = 0; i < c->nthr; i++)
		if (!strcmp(c->thr[i].key, k3))
			return c->thr[i].v;
	for (size_t i = 0; i < c->nthr; i++)
		if (!strcmp(c->thr[i].key, k2))
			return c->thr[i].v;
	for (size_t i = 0; i < c->nthr; i++)
		if (!strcmp(c->thr[i].key, m))
			return c->thr[i].v;
	return c->threshold;
}

/* ---- the metric model, with fallbacks for files that do not carry it ---- */

static int row_role(const json_t *res)
{
	int r = hb_role_parse(hb_j_str(res, "role", NULL));

	if (r >= 0)
		return r;
	/* probe readings are named "<probe>.<what>": diagnostics; everything else detail */
	return strchr(hb_j_str(res, "metric", ""), '.') ? HB_ROLE_DIAGNOSTIC : HB_ROLE_DETAIL;
}

/* Comparison kind of a VM row: the row's own field, else whether native has the metric. */
static int row_cmp(const json_t *root, const json_t *res)
{
	int k = hb_cmp_parse(hb_j_str(res, "comparison", NULL));
	const char *nat;

	if (k >= 0)
		return k;
	nat = hb_j_native(root);
	if (nat &&
	    hb_j_result(root, nat, hb_j_str(res, "workload", ""), hb_j_str(res, "metric", "")))
		return HB_CMP_RATIO;
	return HB_CMP_NONE;
}

/* ---- units: what varies independently within one run ---- */

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Every sample of the row > 0 (the log scale applies). */
static int all_positive(const json_t *res)
{
	const json_t *s = json_object_get(res, "samples"), *x;
	size_t i;

	json_array_foreach (s, i, x)
		if (!(json_number_value(x) > 0))
			return 0;
	return 1;
}

struct grp {
	double mean, var; /* of the units */
	size_t n;	  /* units */
};

/* Median of v[0..k) (sorts it; k > 0). */
static double median_of(double *v, size_t k)
{
	qsort(v, k, sizeof(*v), cmp_dbl);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* The boot range of a row: 1 when its "boot" array spans >= 2 boots (lo..hi filled). */
static int row_boots(const json_t *res, int *lo, int *hi)
{
	const json_t *b = json_object_get(res, "boot");
	size_t n = json_array_size(json_object_get(res, "samples"));

	*lo = INT_MAX;
	*hi = INT_MIN;
	if (!json_is_array(b) || json_array_size(b) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int v = (int)json_integer_value(json_array_get(b, i));

		*lo = v < *lo ? v : *lo;
		*hi = v > *hi ? v : *hi;
	}
	return n && *hi > *lo;
}

/* The samples of a row taken on boot bi into v (its capacity: the row's sample count). */
static size_t boot_samples(const json_t *res, int bi, double *v)
{
	const json_t *s = json_object_get(res, "samples"), *b = json_object_get(res, "boot");
	size_t k = 0;

	for (size_t i = 0; i < json_array_size(s); i++)
		if (json_integer_value(json_array_get(b, i)) == bi)
			v[k++] = json_number_value(json_array_get(s, i));
	return k;
}

/*
 * Units of one results row: when the row has a "boot" array spanning >= 2 boots, the median of
 * each boot's samples (repetitions within one boot share one memory placement and host state,
 * so they are not independent); otherwise every sample. On the log scale when lg.
 */
static int row_units(const json_t *res, int lg, struct grp *g)
{
	const json_t *s = json_object_get(res, "samples");
	size_t n = json_array_size(s), nu = 0;
	double *u = NULL, *tmp = NULL;
	int minb, maxb;

	memset(g, 0, sizeof(*g));
	g->mean = g->var = NAN;
	if (n == 0)
		return 0;
	u = malloc(n * sizeof(*u));
	tmp = malloc(n * sizeof(*tmp));
	if (!u || !tmp) {
		free(u);
		free(tmp);
		return HB_ENOMEM;
	}
	if (row_boots(res, &minb, &maxb)) {
		for (int bi = minb; bi <= maxb; bi++) {
			size_t k = boot_samples(res, bi, tmp);

			if (k)
				u[nu++] = median_of(tmp, k);
		}
	} else {
		for (size_t i = 0; i < n; i++)
			u[nu++] = json_number_value(json_array_get(s, i));
	}
	if (lg)
		for (size_t i = 0; i < nu; i++)
			u[i] = log(u[i]);
	hb_mean_var(u, nu, &g->mean, &g->var);
	g->n = nu;
	free(u);
	free(tmp);
	return 0;
}

/* Measured repetitions of a run (settings after CLI overrides, else the profile's); 0: unknown. */
static long run_reps(const json_t *doc)
{
	double v = hb_j_num(json_object_get(doc, "settings"), "repetitions");

	if (!(v > 0))
		v = hb_j_num(json_object_get(doc, "profile"), "repetitions");
	return v > 0 && v < 1e6 ? (long)v : 0;
}

/*
 * The repetition index of every sample of a row: the row's own "rep" array (A/A split halves
 * carry one), else 0..n-1 when the row holds every repetition of the run (no failed or dropped
 * repetition, so sample i is repetition i). 0 when unknown.
 */
static int row_reps(const json_t *doc, const json_t *res, long *rep, size_t n)
{
	const json_t *ra = json_object_get(res, "rep");

	if (json_is_array(ra)) {
		if (json_array_size(ra) != n)
			return 0;
		for (size_t i = 0; i < n; i++)
			rep[i] = (long)json_integer_value(json_array_get(ra, i));
		return 1;
	}
	if (n == 0 || (long)n != run_reps(doc))
		return 0;
	for (size_t i = 0; i < n; i++)
		rep[i] = (long)i;
	return 1;
}

/* One paired unit: x against y, log(x) - log(y) on the log scale, else x - y. */
static double pair_unit(double x, double y, int lg)
{
	return lg ? log(x) - log(y) : x - y;
}

enum pairing { PAIR_NONE, PAIR_BOOT, PAIR_REP };

/* Paired units by boot (paired_units' optional output): unit i belongs to boot boot[i]. */
struct boot_units {
	double *u;
	int *boot;
	size_t n;
};

/*
 * Paired units of rows x and y of one run (x against y: a VM against native, target B
 * against target A). The targets of a repetition run back to back (rotated), so repetition r
 * of x and repetition r of y share the host's state of that moment (a neighbour's load, a
 * frequency change); boot g of every VM target is boot g of the others (side by side with
 * "boot_parallel"). When both rows span the same >= 2 boots: per boot g, the median of x's
 * samples of boot g against the median of y's (boot time and other once-per-boot rows pair
 * boot g with boot g). Else by repetition: when x spans >= 2 boots, per boot the median of x's
 * samples against the median of y's samples of the same repetitions; else one unit per
 * repetition. Returns the pairing (g filled), PAIR_NONE when the rows cannot be aligned (a boot
 * or a repetition missing on one side): the caller then compares unpaired means.
 */
static enum pairing paired_units(const json_t *doc, const json_t *x, const json_t *y, int lg,
				 struct grp *g, int *err, struct boot_units *bu)
{
	const json_t *xs = json_object_get(x, "samples"), *ys = json_object_get(y, "samples");
	size_t nx = json_array_size(xs), ny = json_array_size(ys), nu = 0, nmax;
	long *rx = NULL, *ry = NULL;
	double *u = NULL, *tx = NULL, *ty = NULL;
	size_t *partner = NULL;
	enum pairing how = PAIR_NONE;
	int xlo, xhi, ylo, yhi, xb, yb;

	*err = 0;
	memset(g, 0, sizeof(*g));
	g->mean = g->var = NAN;
	if (!nx || !ny)
		return PAIR_NONE;
	nmax = nx > ny ? nx : ny;
	rx = malloc(nx * sizeof(*rx));
	ry = malloc(ny * sizeof(*ry));
	partner = malloc(nx * sizeof(*partner));
	u = malloc(nmax * sizeof(*u));
	tx = malloc(nmax * sizeof(*tx));
	ty = malloc(nmax * sizeof(*ty));
	if (!rx || !ry || !partner || !u || !tx || !ty) {
		*err = HB_ENOMEM;
		goto out;
	}
	xb = row_boots(x, &xlo, &xhi);
	yb = row_boots(y, &ylo, &yhi);
	if (bu && xb && yb && !(bu->boot = malloc(nmax * sizeof(*bu->boot)))) {
		*err = HB_ENOMEM;
		goto out;
	}
	if (xb && yb) {
		if (xlo != ylo || xhi != yhi)
			goto out;
		for (int bi = xlo; bi <= xhi; bi++) {
			size_t kx = boot_samples(x, bi, tx), ky = boot_samples(y, bi, ty);

			if (!kx != !ky)
				goto out;
			if (!kx)
				continue;
			if (bu)
				bu->boot[nu] = bi;
			u[nu++] = pair_unit(median_of(tx, kx), median_of(ty, ky), lg);
		}
		how = PAIR_BOOT;
		if (bu) {
			bu->u = u;
			bu->n = nu;
			u = NULL;
		}
		goto done;
	}
	if (!row_reps(doc, x, rx, nx) || !row_reps(doc, y, ry, ny))
		goto out;
	for (size_t i = 0; i < nx; i++) {
		size_t j = 0;

		while (j < ny && ry[j] != rx[i])
			j++;
		if (j == ny)
			goto out;
		partner[i] = j;
	}
	if (xb) {
		const json_t *b = json_object_get(x, "boot");

		for (int bi = xlo; bi <= xhi; bi++) {
			size_t k = 0;

			for (size_t i = 0; i < nx; i++)
				if (json_integer_value(json_array_get(b, i)) == bi) {
					tx[k] = json_number_value(json_array_get(xs, i));
					ty[k++] = json_number_value(json_array_get(ys, partner[i]));
				}
			if (k)
				u[nu++] = pair_unit(median_of(tx, k), median_of(ty, k), lg);
		}
	} else {
		for (size_t i = 0; i < nx; i++)
			u[nu++] = pair_unit(json_number_value(json_array_get(xs, i)),
					    json_number_value(json_array_get(ys, partner[i])), lg);
	}
	how = PAIR_REP;
done:
	hb_mean_var(bu && bu->u ? bu->u : u, nu, &g->mean, &g->var);
	g->n = nu;
out:
	free(rx);
	free(ry);
	free(partner);
	free(u);
	free(tx);
	free(ty);
	return how;
}

/* exp(log(x)) is x only to ~1e-15: 128 must print as 128, not 128.0 */
static double round12(double v)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.12g", v);
	return strtod(buf, NULL);
}

/*
 * The shift test, in two steps. shift_test() keeps what one test needs: run d has an estimate
 * x[d] whose within-run variance is w[d] (from a pooled within-run variance with df_w degrees
 * of freedom); est = x[cur] - mean(x[base]). shift_finish() then computes it once every test
 * of the compare is prepared (the run-to-run spread is moderated across tests, see
 * struct prior). Variance of est: the within part w_cur + sum(w_base)/R^2 (df_w); with R >= 2
 * baseline runs also the run-to-run component s_B^2 (counted (1 + 1/R) times: the current run
 * wanders by it too), estimated from z = var(x_base) / mean(w_base), the spread of the
 * baselines' run means in units of what their within-run spread alone would give (1: runs
 * differ no more than their units say). With one baseline run the run-to-run spread beyond the
 * units' spread cannot be estimated and is taken as 0 (say so: boots >= 2).
 */
static void shift_test(const double *xb, const double *wb, size_t R, double xc, double wc,
		       double df_w, struct test *t)
{
	double mb = 0, wsum = 0, sm;

	for (size_t i = 0; i < R; i++) {
		mb += xb[i];
		wsum += wb[i];
	}
	mb /= (double)R;
	t->R = R;
	t->mb = mb;
	t->xc = xc;
	t->wc = wc;
	t->wsum = wsum;
	t->df_w = df_w;
	t->s2 = 0;
	if (R >= 2)
		hb_mean_var(xb, R, &sm, &t->s2);
	t->prepared = 1;
}

/* Digamma and trigamma (recurrence up to x >= 6, then the asymptotic series). */
static double digamma(double x)
{
	double r = 0, f;

	for (; x < 6; x += 1)
		r -= 1 / x;
	f = 1 / (x * x);
	return r + log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252)));
}

static double trigamma(double x)
{
	double r = 0, f;

	for (; x < 6; x += 1)
		r += 1 / (x * x);
	f = 1 / (x * x);
	return r + 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f / 30)));
}

/* y with trigamma(y) = v (v > 0; trigamma decreases): bisection on the log scale. */
static double trigamma_inverse(double v)
{
	double lo = 1e-8, hi = 1e8;

	for (int i = 0; i < 200; i++) {
		double mid = sqrt(lo * hi);

		if (trigamma(mid) > v)
			lo = mid;
		else
			hi = mid;
	}
	return sqrt(lo * hi);
}

/*
 * The prior of the run-to-run spread, shared by every test of one compare (empirical Bayes,
 * the "moderated t" of Smyth 2004, limma's fitFDist): with 2-3 baseline runs a test's own z
 * has 1-2 degrees of freedom, so its run-to-run component is either estimated as 0 (the test
 * then behaves as if runs never differed: false alarms) or dominates with a t of 1-2 df (then
 * even a -57% change is "not significant"). The tests' z values are draws of one distribution
 * scaled z0 * chi2(d0)/d0; d0 (how alike the tests' run-to-run spreads are) and z0 are estimated
 * from the spread of log z beyond what R - 1 degrees of freedom explain. Each test then uses
 * zt = (d0 z0 + (R - 1) z) / (d0 + R - 1) with d0 + R - 1 degrees of freedom: alike tests
 * borrow strength from each other, a test unlike the others keeps its own z (d0 -> 0).
 */
static void prior_fit(const struct test *const *t, size_t n, struct prior *pr)
{
	double *e = n ? malloc(n * sizeof(*e)) : NULL, emean = 0, evar = 0, d = 0, tri;
	size_t k = 0;

	pr->d0 = 0;
	pr->z0 = NAN;
	pr->dmax = 0;
	if (!e)
		return;
	for (size_t i = 0; i < n; i++) {
		double z;

		if (!t[i]->prepared || t[i]->R < 2 || !(t[i]->wsum > 0) || !(t[i]->s2 > 0))
			continue;
		z = t[i]->s2 / (t[i]->wsum / (double)t[i]->R);
		d = (double)(t[i]->R - 1); /* the same for every test of a compare, or close */
		e[k++] = log(z) - digamma(d / 2) + log(d / 2);
	}
	if (k < 3) {
		free(e);
		return;
	}
	pr->dmax = (double)k * d;
	for (size_t i = 0; i < k; i++)
		emean += e[i] / (double)k;
	for (size_t i = 0; i < k; i++)
		evar += (e[i] - emean) * (e[i] - emean) / (double)(k - 1);
	tri = trigamma(d / 2);
	if (evar > tri) {
		pr->d0 = 2 * trigamma_inverse(evar - tri);
		pr->z0 = exp(emean + digamma(pr->d0 / 2) - log(pr->d0 / 2));
	} else {
		pr->d0 = INFINITY;
		pr->z0 = exp(emean);
	}
	free(e);
}

/* P(F > f) for F(d1, d2) (d2 = INFINITY: chi2(d1)/d1), Paulson's normal approximation. */
static double f_upper(double f, double d1, double d2)
{
	double a = 2 / (9 * d1), b = isinf(d2) ? 0 : 2 / (9 * d2), c = cbrt(f);

	if (!(f > 0))
		return 1;
	return 0.5 * erfc(((1 - b) * c - (1 - a)) / sqrt(b * c * c + a) / sqrt(2));
}

/*
 * A computed t-test into the test: one-sided p in the bad and the good direction, the change
 * relative to the baseline's typical value mb (on the log scale exp(est) - 1) with its CI.
 */
static void test_fill(struct test *t, const struct hb_ttest *tt, double mb)
{
	t->ok = 1;
	t->df = tt->df;
	t->p_bad = t->hib ? tt->p_down : tt->p_up;
	t->p_good = t->hib ? tt->p_up : tt->p_down;
	if (t->logscale) {
		t->change = expm1(tt->est);
		t->lo = expm1(tt->lo);
		t->hi = expm1(tt->hi);
	} else {
		double d = fabs(mb);

		t->change = d > 0 ? tt->est / d : (tt->est == 0 ? 0 : copysign(INFINITY, tt->est));
		t->lo = d > 0 ? tt->lo / d : NAN;
		t->hi = d > 0 ? tt->hi / d : NAN;
	}
}

static void shift_finish(const struct prior *pr, struct test *t)
{
	struct hb_vcomp vc[2];
	struct hb_ttest tt;
	size_t nv = 0, R = t->R;
	double mb = t->mb, xc = t->xc, wbar = t->wsum / (double)R, within;

	if (!t->prepared)
		return;
	within = t->wc + t->wsum / ((double)R * (double)R);
	if (R >= 2 && (t->df_w <= 0 || !(wbar > 0))) {
		/* no within-run spread to scale by: the run means' own spread */
		if (t->df_w > 0 && !(t->s2 > 0))
			vc[nv++] = (struct hb_vcomp){within, t->df_w};
		else
			vc[nv++] =
				(struct hb_vcomp){t->s2 * (1.0 + 1.0 / (double)R), (double)(R - 1)};
	} else if (R >= 2) {
		double z = t->s2 / wbar, d = (double)(R - 1), zt = z, dfb = d;

		/* the prior's own estimate has no more degrees of freedom than all the tests' z
		 * together (limma caps its df the same way) */
		if (pr->d0 > 0 && f_upper(z / pr->z0, d, pr->d0) < 0.01) {
			/* far beyond what the prior predicts (p < 0.01): this test's runs differ
			 * more than the others'; it keeps its own z and its own R - 1 df */
			t->own_spread = 1;
		} else if (pr->d0 > 0 && isinf(pr->d0)) {
			zt = pr->z0;
			dfb = pr->dmax;
		} else if (pr->d0 > 0) {
			zt = (pr->d0 * pr->z0 + d * z) / (pr->d0 + d);
			dfb = fmin(pr->d0 + d, pr->dmax);
		}
		t->z = zt;
		if (zt > 1) {
			/* the run means vary by tau^2 = zt * wbar (their units' share included):
			 * est varies by (1 + 1/R) tau^2 plus what the current run's units add
			 * beyond a baseline run's (wc - wbar: 0 with equal unit counts) */
			double extra = t->wc - wbar;

			vc[nv++] = (struct hb_vcomp){
				(1.0 + 1.0 / (double)R) * zt * wbar + (extra < 0 ? extra : 0), dfb};
			if (extra > 0)
				vc[nv++] = (struct hb_vcomp){extra, t->df_w};
			t->var_runs = vc[0].var;
			t->var_within = nv == 2 ? vc[1].var : 0;
		} else {
			vc[nv++] = (struct hb_vcomp){within, t->df_w};
		}
	} else if (t->df_w > 0) {
		vc[nv++] = (struct hb_vcomp){within, t->df_w};
	}
	if (nv && vc[0].var < 0)
		vc[0].var = 0;
	t->base = t->logscale ? round12(exp(mb)) : mb;
	t->cur = t->logscale ? round12(exp(xc)) : xc;
	if (nv == 0 || hb_ttest(xc - mb, vc, nv, &tt)) {
		hb_strlcpy(t->why,
			   "one unit per run and one baseline run: no spread to test against "
			   "(boots >= 2, more repetitions, or several baseline runs)",
			   sizeof(t->why));
		return;
	}
	if (isnan(t->var_runs)) {
		t->var_runs = R >= 2 && t->df_w <= 0 ? vc[0].var : 0;
		t->var_within = R >= 2 && t->df_w <= 0 ? 0 : vc[0].var;
	}
	test_fill(t, &tt, mb);
}

/* Pooled within-run unit variance of a row over all runs holding it. */
static void pool(const struct grp *g, size_t n, double *var, double *df)
{
	double ss = 0, d = 0;

	for (size_t i = 0; i < n; i++)
		if (g[i].n >= 2) {
			ss += g[i].var * (double)(g[i].n - 1);
			d += (double)(g[i].n - 1);
		}
	*var = d > 0 ? ss / d : 0;
	*df = d;
}

static void test_init(struct test *t)
{
	memset(t, 0, sizeof(*t));
	t->base = t->cur = t->change = t->lo = t->hi = NAN;
	t->p_bad = t->p_good = t->q_bad = t->q_good = t->df = NAN;
	t->var_within = t->var_runs = t->z = NAN;
}

/*
 * Quantization: a metric that only takes a few values (fio clat percentiles are histogram
 * buckets, on a TCG guest a factor 2 apart) can show no spread among a handful of units and a
 * whole bucket of difference between runs. The smallest gap q between distinct values seen
 * inside one baseline run bounds the resolution; a unit's variance is at least q^2/12 (the
 * variance of rounding to a grid of step q). Without such evidence (every baseline run
 * constant) there is no floor: identical samples with a real change stay a certain change.
 */
static double quantum_floor(const struct cmp *c, const char *target, const char *wl, const char *m,
			    int lg)
{
	double q = INFINITY;

	for (size_t d = 0; d < c->nbase; d++) {
		const json_t *res = hb_j_result(c->base[d], target, wl, m);
		const json_t *s = json_object_get(res, "samples");
		size_t n = json_array_size(s), k = 0;
		double *v = n ? malloc(n * sizeof(*v)) : NULL;

		if (!v)
			continue;
		for (size_t i = 0; i < n; i++) {
			double x = json_number_value(json_array_get(s, i));

			if (!lg || x > 0)
				v[k++] = lg ? log(x) : x;
		}
		qsort(v, k, sizeof(*v), cmp_dbl);
		for (size_t i = 1; i < k; i++)
			if (v[i] > v[i - 1] && v[i] - v[i - 1] < q)
				q = v[i] - v[i - 1];
		free(v);
	}
	return isfinite(q) ? q * q / 12.0 : 0;
}

/* Units of target/workload/metric in every run: g[0..nbase) baselines, g[nbase] current. */
static int gather(const struct cmp *c, const char *target, const char *wl, const char *m, int lg,
		  struct grp *g, size_t *have_base, int *have_cur)
{
	int rc;

	*have_base = 0;
	*have_cur = 0;
	for (size_t i = 0; i <= c->nbase; i++) {
		const json_t *doc = i < c->nbase ? c->base[i] : c->cur;
		const json_t *res = hb_j_result(doc, target, wl, m);

		memset(&g[i], 0, sizeof(g[i]));
		if (!res)
			continue;
		if ((rc = row_units(res, lg, &g[i])))
			return rc;
		if (g[i].n && i < c->nbase)
			(*have_base)++;
		if (g[i].n && i == c->nbase)
			*have_cur = 1;
	}
	return 0;
}

/* Whether every sample of target/workload/metric in every run is > 0. */
static int positive_everywhere(const struct cmp *c, const char *target, const char *wl,
			       const char *m)
{
	for (size_t i = 0; i <= c->nbase; i++) {
		const json_t *doc = i < c->nbase ? c->base[i] : c->cur;
		const json_t *res = hb_j_result(doc, target, wl, m);

		if (res && !all_positive(res))
			return 0;
	}
	return 1;
}

static int abs_test(const struct cmp *c, struct cmp_row *r)
{
	struct grp g[MAX_RUNS + 1];
	double xb[MAX_RUNS], wb[MAX_RUNS], var, df;
	size_t hb, R = 0;
	int hc, rc;

	test_init(&r->abs);
	r->abs.hib = r->hib;
	r->abs.logscale = positive_everywhere(c, r->target, r->workload, r->metric);
	if ((rc = gather(c, r->target, r->workload, r->metric, r->abs.logscale, g, &hb, &hc)))
		return rc;
	if (!hb || !hc) {
		hb_strlcpy(r->abs.why, "no samples on one side", sizeof(r->abs.why));
		return 0;
	}
	pool(g, c->nbase + 1, &var, &df);
	var = fmax(var, quantum_floor(c, r->target, r->workload, r->metric, r->abs.logscale));
	for (size_t i = 0; i < c->nbase; i++) {
		if (!g[i].n)
			continue;
		xb[R] = g[i].mean;
		wb[R++] = var / (double)g[i].n;
		r->abs.nb += g[i].n;
	}
	r->abs.nc = g[c->nbase].n;
	shift_test(xb, wb, R, g[c->nbase].mean, var / (double)g[c->nbase].n, df, &r->abs);
	return 0;
}

/*
 * The ratio test on paired units (paired_units) when every run holding the row can be paired:
 * x = the run's mean paired unit, within-run variance pooled over the runs (the VM's and the
 * native's quantization floors added). 0 when done (r->ratio filled), 1 when some run cannot be
 * paired (the caller compares unpaired means), < 0 on error.
 */
static int paired_ratio(const struct cmp *c, struct cmp_row *r, const char *native, double o)
{
	struct grp g[MAX_RUNS + 1];
	double xb[MAX_RUNS], wb[MAX_RUNS], var, df;
	size_t R = 0;
	int err;

	for (size_t i = 0; i <= c->nbase; i++) {
		const json_t *doc = i < c->nbase ? c->base[i] : c->cur;
		const json_t *v = hb_j_result(doc, r->target, r->workload, r->metric);
		const json_t *n = hb_j_result(doc, native, r->workload, r->metric);

		memset(&g[i], 0, sizeof(g[i]));
		if (!v || !n || !json_array_size(json_object_get(v, "samples")) ||
		    !json_array_size(json_object_get(n, "samples"))) {
			if (i == c->nbase)
				return 1;
			continue;
		}
		if (!paired_units(doc, v, n, 1, &g[i], &err, NULL))
			return err ? err : 1;
	}
	pool(g, c->nbase + 1, &var, &df);
	var = fmax(var, quantum_floor(c, r->target, r->workload, r->metric, 1) +
				quantum_floor(c, native, r->workload, r->metric, 1));
	for (size_t i = 0; i < c->nbase; i++) {
		if (!g[i].n)
			continue;
		xb[R] = o * g[i].mean;
		wb[R++] = var / (double)g[i].n;
		r->ratio.nb += g[i].n;
	}
	if (!R)
		return 1;
	r->ratio.nc = g[c->nbase].n;
	r->ratio.paired = 1;
	shift_test(xb, wb, R, o * g[c->nbase].mean, var / (double)g[c->nbase].n, df, &r->ratio);
	return 0;
}

/* VM/native of the same run, on the log scale: x = mean log VM unit - mean log native unit. */
static int ratio_test(const struct cmp *c, struct cmp_row *r, const char *native)
{
	struct grp gv[MAX_RUNS + 1], gn[MAX_RUNS + 1];
	double xb[MAX_RUNS], wb[MAX_RUNS], vv, dv, vn, dn, dfw, a, b, o = r->hib ? 1 : -1;
	size_t hbv, hbn, R = 0;
	int hcv, hcn, rc;

	test_init(&r->ratio);
	r->ratio.logscale = 1;
	r->ratio.hib = 1; /* oriented: VM/native, or native/VM when lower is better; > 1 better */
	if (!positive_everywhere(c, r->target, r->workload, r->metric) ||
	    !positive_everywhere(c, native, r->workload, r->metric)) {
		hb_strlcpy(r->ratio.why, "a value <= 0: no ratio", sizeof(r->ratio.why));
		return 0;
	}
	if ((rc = paired_ratio(c, r, native, o)) <= 0)
		return rc;
	if ((rc = gather(c, r->target, r->workload, r->metric, 1, gv, &hbv, &hcv)) ||
	    (rc = gather(c, native, r->workload, r->metric, 1, gn, &hbn, &hcn)))
		return rc;
	if (!hcv || !hcn) {
		hb_strlcpy(r->ratio.why, "no VM or no native samples in the current run",
			   sizeof(r->ratio.why));
		return 0;
	}
	pool(gv, c->nbase + 1, &vv, &dv);
	pool(gn, c->nbase + 1, &vn, &dn);
	vv = fmax(vv, quantum_floor(c, r->target, r->workload, r->metric, 1));
	vn = fmax(vn, quantum_floor(c, native, r->workload, r->metric, 1));
	for (size_t i = 0; i < c->nbase; i++) {
		if (!gv[i].n || !gn[i].n)
			continue;
		xb[R] = o * (gv[i].mean - gn[i].mean);
		wb[R++] = vv / (double)gv[i].n + vn / (double)gn[i].n;
		r->ratio.nb += gv[i].n;
	}
	if (!R) {
		hb_strlcpy(r->ratio.why, "no baseline run has both VM and native samples",
			   sizeof(r->ratio.why));
		return 0;
	}
	r->ratio.nc = gv[c->nbase].n;
	/* Welch-Satterthwaite df of the two pooled within variances */
	a = vv / (double)gv[c->nbase].n;
	b = vn / (double)gn[c->nbase].n;
	if (dv > 0 && dn > 0 && (a > 0 || b > 0))
		dfw = (a + b) * (a + b) / (a * a / dv + b * b / dn);
	else
		dfw = dv > 0 && dn > 0 ? dv + dn : 0;
	shift_test(xb, wb, R, o * (gv[c->nbase].mean - gn[c->nbase].mean), a + b, dfw, &r->ratio);
	return 0;
}

/* ---- building the rows ---- */

static struct cmp_row *new_row(struct cmp *c, const json_t *res)
{
	struct cmp_row *r;

	if (c->nrows == c->cap) {
		struct cmp_row *n = hb_grow(c->rows, &c->cap, 64, sizeof(*n));

		if (!n)
			return NULL;
		c->rows = n;
	}
	r = &c->rows[c->nrows++];
	memset(r, 0, sizeof(*r));
	r->target = hb_j_str(res, "target", "");
	r->workload = hb_j_str(res, "workload", "");
	r->metric = hb_j_str(res, "metric", "");
	r->unit = hb_j_str(res, "unit", "");
	r->hib = hb_j_bool(res, "higher_is_better", 1);
	r->role = row_role(res);
	test_init(&r->abs);
	test_init(&r->ratio);
	return r;
}

static int have_row(const struct cmp *c, const char *t, const char *w, const char *m)
{
	for (size_t i = 0; i < c->nrows; i++)
		if (!strcmp(c->rows[i].target, t) && !strcmp(c->rows[i].workload, w) &&
		    !strcmp(c->rows[i].metric, m))
			return 1;
	return 0;
}

/* Rows of every baseline and of the current run, each once, in first-seen order. */
static int collect_rows(struct cmp *c, struct hb_err *e)
{
	for (size_t d = 0; d <= c->nbase; d++) {
		const json_t *doc = d < c->nbase ? c->base[d] : c->cur;
		const json_t *a = json_object_get(doc, "results"), *x;
		size_t i;

		json_array_foreach (a, i, x) {
			if (have_row(c, hb_j_str(x, "target", ""), hb_j_str(x, "workload", ""),
				     hb_j_str(x, "metric", "")))
				continue;
			if (!new_row(c, x))
				return hb_err_set(e, HB_ENOMEM, "compare: out of memory");
		}
	}
	return 0;
}

/* Unit and direction must agree in every file holding the row. */
static int check_row_defs(const struct cmp *c, const struct cmp_row *r, struct hb_err *e)
{
	for (size_t d = 0; d <= c->nbase; d++) {
		const json_t *doc = d < c->nbase ? c->base[d] : c->cur;
		const json_t *x = hb_j_result(doc, r->target, r->workload, r->metric);

		if (!x)
			continue;
		if (strcmp(hb_j_str(x, "unit", ""), r->unit))
			return hb_err_set(e, HB_EINVAL,
					  "%s/%s/%s: unit \"%s\" in %s but \"%s\" in %s", r->target,
					  r->workload, r->metric, r->unit,
					  d < c->nbase ? c->bpath[d] : c->cpath,
					  hb_j_str(x, "unit", ""), c->bpath[0]);
		if (hb_j_bool(x, "higher_is_better", 1) != r->hib)
			return hb_err_set(e, HB_EINVAL,
					  "%s/%s/%s: higher_is_better differs between the files",
					  r->target, r->workload, r->metric);
	}
	return 0;
}

static double bad_change(const struct test *t)
{
	return t->hib ? -t->change : t->change;
}

static int sig_bad(const struct cmp *c, const struct test *t, double thr)
{
	return t->ok && t->q_bad < c->alpha && bad_change(t) > thr;
}

static int sig_good(const struct cmp *c, const struct test *t, double thr)
{
	return t->ok && t->q_good < c->alpha && -bad_change(t) > thr;
}

/* Adjusts the p-values of every test in the family together (BH), bad and good separately. */
static int adjust(struct cmp *c)
{
	size_t n = 2 * c->nrows;
	double *pb = malloc((n ? n : 1) * sizeof(*pb)), *pg = malloc((n ? n : 1) * sizeof(*pg));
	double *qb = malloc((n ? n : 1) * sizeof(*qb)), *qg = malloc((n ? n : 1) * sizeof(*qg));
	int rc = HB_ENOMEM;

	if (!pb || !pg || !qb || !qg)
		goto out;
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		pb[2 * i] = r->abs.family ? r->abs.p_bad : NAN;
		pg[2 * i] = r->abs.family ? r->abs.p_good : NAN;
		pb[2 * i + 1] = r->ratio.family ? r->ratio.p_bad : NAN;
		pg[2 * i + 1] = r->ratio.family ? r->ratio.p_good : NAN;
	}
	if (hb_bh_adjust(pb, n, qb) || hb_bh_adjust(pg, n, qg))
		goto out;
	for (size_t i = 0; i < c->nrows; i++) {
		struct cmp_row *r = &c->rows[i];

		r->abs.q_bad = qb[2 * i];
		r->abs.q_good = qg[2 * i];
		r->ratio.q_bad = qb[2 * i + 1];
		r->ratio.q_good = qg[2 * i + 1];
	}
	rc = 0;
out:
	free(pb);
	free(pg);
	free(qb);
	free(qg);
	return rc;
}

/* The row's status from its tests (after adjust()). */
static void decide(struct cmp *c, struct cmp_row *r)
{
	double thr = r->threshold;
	const struct test *main_t =
		r->decided_by && !strcmp(r->decided_by, "ratio") ? &r->ratio : &r->abs;
	int fail = 0, good = 0;

	if (!r->gated) {
		/* reported with the unadjusted p: it cannot fail, it only points at something */
		const struct test *t = &r->abs;

		if (t->ok && t->p_bad < c->alpha && bad_change(t) > thr)
			r->st = r->native_ref ? ST_DRIFT : ST_NOT_GATED;
		else if (!t->ok)
			r->st = ST_UNTESTABLE;
		else
			r->st = ST_UNCHANGED;
		return;
	}
	/* a VM row with a ratio is decided by its ratio alone (paired with native over the same
	 * repetitions, what moves both cancels); its absolute test is reported, not in the family
	 */
	fail = sig_bad(c, main_t, thr);
	good = sig_good(c, main_t, thr);
	main_t = r->decided_by && !strcmp(r->decided_by, "ratio") ? &r->ratio : &r->abs;
	if (fail)
		r->st = ST_REGRESSION;
	else if (good)
		r->st = ST_IMPROVED;
	else if (!main_t->ok)
		r->st = ST_UNTESTABLE;
	else if (bad_change(main_t) > thr || -bad_change(main_t) > thr)
		r->st = ST_NOT_SIGNIFICANT;
	else
		r->st = ST_UNCHANGED;
}

/*
 * Is r the native reference of a VM row of the current run (one with a ratio, or whose
 * comparison is a delta: VM latency minus native latency)? Then, in mode both, r is the host's
 * own figure: a host that got slower for everyone is not a hypervisor regression.
 */
static int is_native_reference(const struct cmp *c, const char *native, const struct cmp_row *r)
{
	if (!native || strcmp(r->target, native))
		return 0;
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *o = &c->rows[i];

		if (o != r && strcmp(o->target, native) &&
		    (o->has_ratio || o->cmp_kind == HB_CMP_DELTA) &&
		    !strcmp(o->workload, r->workload) && !strcmp(o->metric, r->metric))
			return 1;
	}
	return 0;
}

/*
 * Every --threshold-for key must name something compared: a METRIC, WORKLOAD/METRIC or
 * TARGET/WORKLOAD/METRIC of some row. A typo would otherwise leave the default threshold in
 * force without a word.
 */
static int check_thresholds(const struct cmp *c, struct hb_err *e)
{
	const char **names = NULL;
	char(*keys)[512] = NULL;
	int rc = 0;

	if (!c->nthr)
		return 0;
	names = calloc(c->nrows + 1, sizeof(*names));
	keys = calloc(c->nrows + 1, sizeof(*keys));
	if (!names || !keys) {
		rc = hb_err_set(e, HB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t t = 0; t < c->nthr && !rc; t++) {
		const char *key = c->thr[t].key, *sl = strchr(key, '/');
		int depth = !sl ? 0 : strchr(sl + 1, '/') ? 2 : 1, found = 0;
		char near[600];

		for (size_t i = 0; i < c->nrows; i++) {
			const struct cmp_row *r = &c->rows[i];

			if (depth == 0)
				hb_strlcpy(keys[i], r->metric, sizeof(keys[i]));
			else if (depth == 1)
				snprintf(keys[i], sizeof(keys[i]), "%s/%s", r->workload, r->metric);
			else
				snprintf(keys[i], sizeof(keys[i]), "%s/%s/%s", r->target,
					 r->workload, r->metric);
			names[i] = keys[i];
			found |= !strcmp(keys[i], key);
		}
		if (!found)
			rc = hb_err_set(e, HB_EINVAL,
					"--threshold-for: \"%s\" matches no %s of the compared "
					"files%s",
					key,
					depth == 0   ? "metric"
					: depth == 1 ? "WORKLOAD/METRIC"
						     : "TARGET/WORKLOAD/METRIC",
					hb_suggest(near, sizeof(near), key, names, c->nrows));
	}
out:
	free(names);
	free(keys);
	return rc;
}

/*
 * Fits the run-to-run priors over the tests of the rows that can fail — one over the absolute
 * tests, one over the ratio tests (a ratio cancels what moves native and VM alike, so its runs
 * differ in another way) — then computes every test.
 */
static int finish_tests(struct cmp *c)
{
	const struct test **ta = malloc((c->nrows + 1) * sizeof(*ta));
	const struct test **tr = malloc((c->nrows + 1) * sizeof(*tr));
	size_t na = 0, nr = 0;

	if (!ta || !tr) {
		free(ta);
		free(tr);
		return HB_ENOMEM;
	}
	for (size_t i = 0; i < c->nrows; i++) {
		if (!c->rows[i].gated)
			continue;
		ta[na++] = &c->rows[i].abs;
		if (c->rows[i].has_ratio)
			tr[nr++] = &c->rows[i].ratio;
	}
	prior_fit(ta, na, &c->prior_abs);
	prior_fit(tr, nr, &c->prior_ratio);
	free(ta);
	free(tr);
	for (size_t i = 0; i < c->nrows; i++) {
		shift_finish(&c->prior_abs, &c->rows[i].abs);
		shift_finish(&c->prior_ratio, &c->rows[i].ratio);
	}
	return 0;
}

/*
 * After the tests: adjusts the family's p-values, decides every row, counts, and sets the
 * run-level reasons to fail (common: rows present on both sides).
 */
static int tally(struct cmp *c, size_t common, struct hb_err *e)
{
	char why[512];
	int rc;

	if ((rc = adjust(c)))
		return hb_err_set(e, rc, "compare: out of memory");
	for (size_t i = 0; i < c->nrows; i++) {
		struct cmp_row *r = &c->rows[i];

		if (r->st != ST_MISSING && r->st != ST_BASE_ONLY && r->st != ST_CUR_ONLY)
			decide(c, r);
		if (r->gated)
			c->ngated++;
		if (r->gated && r->st != ST_UNTESTABLE)
			c->ntested++;
		c->count[r->st]++;
	}
	if (!common) {
		c->fatal = 0; /* the most basic reason first */
		if (c->ab_a)
			snprintf(why, sizeof(why), "targets %s and %s have no metric in common",
				 c->ab_a, c->ab_b);
		set_fatal(c,
			  c->ab_a ? why : "no metric is in both the baseline and the current run");
	} else if (!c->ntested)
		set_fatal(c, "no gated metric could be tested (no samples, or one unit per side)");
	if (c->count[ST_MISSING] && !c->allow_missing) {
		if (c->ab_a)
			snprintf(why, sizeof(why), "gated metrics of target %s are missing for %s",
				 c->ab_a, c->ab_b);
		set_fatal(
			c,
			c->ab_a ? why
				: "gated metrics of the baseline are missing from the current run");
	}
	return 0;
}

static int build(struct cmp *c, struct hb_err *e)
{
	const char *native = hb_j_native(c->cur);
	size_t common = 0;
	int rc;

	if ((rc = collect_rows(c, e)) || (rc = check_thresholds(c, e)))
		return rc;
	/* pass 1: tests and which of them can fail */
	for (size_t i = 0; i < c->nrows; i++) {
		struct cmp_row *r = &c->rows[i];
		const json_t *cres = hb_j_result(c->cur, r->target, r->workload, r->metric);
		int in_base = 0;

		for (size_t d = 0; d < c->nbase; d++)
			in_base |=
				hb_j_result(c->base[d], r->target, r->workload, r->metric) != NULL;
		if ((rc = check_row_defs(c, r, e)))
			return rc;
		r->threshold = threshold_for(c, r->target, r->workload, r->metric);
		r->gated = c->all_roles || r->role != HB_ROLE_DIAGNOSTIC;
		if (!cres) {
			r->st = r->gated ? ST_MISSING : ST_BASE_ONLY;
			r->gated = 0;
			continue;
		}
		if (!in_base) {
			r->st = ST_CUR_ONLY;
			r->gated = 0;
			continue;
		}
		common++;
		if ((rc = abs_test(c, r)))
			return rc;
		r->cmp_kind = row_cmp(c->cur, cres);
		r->has_ratio = native && strcmp(r->target, native) && r->cmp_kind == HB_CMP_RATIO;
		if (r->has_ratio && (rc = ratio_test(c, r, native)))
			return rc;
	}
	if ((rc = finish_tests(c)))
		return hb_err_set(e, rc, "compare: out of memory");
	for (size_t i = 0; i < c->nrows; i++)
		if (c->rows[i].has_ratio && !c->rows[i].ratio.ok)
			c->rows[i].has_ratio = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		struct cmp_row *r = &c->rows[i];

		if (r->st == ST_MISSING || r->st == ST_BASE_ONLY || r->st == ST_CUR_ONLY)
			continue;
		r->native_ref = c->mode == MODE_BOTH && is_native_reference(c, native, r);
		if (r->native_ref || (c->mode == MODE_RATIO && !r->has_ratio))
			r->gated = 0;
		if (!r->gated)
			continue;
		if (c->mode == MODE_ABSOLUTE || !r->has_ratio) {
			r->decided_by = "absolute";
			r->abs.family = r->abs.ok;
		} else {
			r->decided_by = "ratio";
			r->ratio.family = 1;
		}
	}
	return tally(c, common, e);
}

/* ---- apples and oranges ---- */

static void cmp_str(struct cmp *c, const char *what, const char *b, const char *cur)
{
	if (strcmp(b, cur))
		note_add(c, 1, "%s: baseline \"%s\", current \"%s\"", what, b, cur);
}

/* A note when b and cur differ: "WHAT: LB b-value, LC cur-value" (1 when they differ). */
static int diff_json(struct cmp *c, int mismatch, const char *what, const char *lb, const json_t *b,
		     const char *lc, const json_t *cur)
{
	char *sb, *sc;

	if ((!b && !cur) || (b && cur && json_equal((json_t *)b, (json_t *)cur)))
		return 0;
	sb = b ? json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
	       : strdup("(absent)");
	sc = cur ? json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
		 : strdup("(absent)");
	if (sb && sc && strlen(sb) + strlen(sc) < 700)
		note_add(c, mismatch, "%s: %s %s, %s %s", what, lb, sb, lc, sc);
	else
		note_add(c, mismatch, "%s differs", what);
	free(sb);
	free(sc);
	return 1;
}

static void cmp_json(struct cmp *c, const char *what, const json_t *b, const json_t *cur)
{
	diff_json(c, 1, what, "baseline", b, "current", cur);
}

/* A profile's workload entry by name (entries may omit "name": then the workload's). */
static const json_t *entry_named(const json_t *prof, const char *name)
{
	const json_t *a = json_object_get(prof, "workloads"), *x;
	size_t i;

	json_array_foreach (a, i, x) {
		const char *n = hb_j_str(x, "name", hb_j_str(x, "workload", ""));

		if (!strcmp(n, name))
			return x;
	}
	return NULL;
}

/*
 * Boots that overlapped other boots are slower (TCG on few cores most of all): a boot time
 * measured side by side with N VMs is not comparable with one measured alone. A VM recorded
 * before this fact existed booted alone (1).
 */
static void boot_concurrency_diff(struct cmp *c, const char *target, const json_t *bi,
				  const json_t *ci)
{
	const json_t *b = json_object_get(bi, "boot_concurrency");
	const json_t *cur = json_object_get(ci, "boot_concurrency");
	json_int_t nb = json_is_integer(b) ? json_integer_value(b) : 1;
	json_int_t nc = json_is_integer(cur) ? json_integer_value(cur) : 1;

	if ((!b && !cur) || nb == nc)
		return;
	note_add(c, 1,
		 "target %s boot_concurrency: baseline %lld, current %lld (boots that overlap "
		 "other VMs' boots take longer: its boot times do not compare)",
		 target, (long long)nb, (long long)nc);
}

/* One option of one side: its value, or its default when the run's hvbench predates it. */
static json_t *option_value(struct cmp *c, const json_t *t, const char *key, int *filled)
{
	json_t *v = json_object_get(json_object_get(t, "options"), key);

	*filled = 0;
	if (v)
		return json_incref(v);
	if (c->option_default && (v = c->option_default(hb_j_str(t, "kind", ""), key)))
		*filled = 1;
	return v;
}

/*
 * Two targets' options, key by key: a note "PREFIX KEY: LB value, LC value" per difference
 * (mismatch: as note_add), the count returned. An option one side lacks (its results come from
 * an hvbench that did not have it) stands at its default there: only a different value counts.
 */
static int options_diff(struct cmp *c, int mismatch, const char *prefix, const char *lb,
			const json_t *bt, const char *lc, const json_t *ct)
{
	const json_t *ob = json_object_get(bt, "options"), *oc = json_object_get(ct, "options");
	const char *k;
	json_t *v;
	int ndiff = 0;

	for (int side = 0; side < 2; side++)
		json_object_foreach ((json_t *)(side ? oc : ob), k, v) {
			json_t *bv, *cv;
			int bf, cf;
			char what[300];

			if (side && json_object_get(ob, k))
				continue; /* seen from the first side */
			bv = option_value(c, bt, k, &bf);
			cv = option_value(c, ct, k, &cf);
			if (bf || cf)
				snprintf(what, sizeof(what), "%s %s (absent from %s: its default)",
					 prefix, k, bf ? lb : lc);
			else
				snprintf(what, sizeof(what), "%s %s", prefix, k);
			ndiff += diff_json(c, mismatch, what, lb, bv, lc, cv);
			json_decref(bv);
			json_decref(cv);
		}
	return ndiff;
}

static void facts_diff(struct cmp *c, const json_t *b, const char *bname)
{
	static const char *const top[] = {"repetitions", "warmup",  "boots", "duration",
					  "ramp",	 "timeout", "probes"};
	static const char *const host[] = {"hostname", "cpu_model", "cores", "memory_bytes",
					   "kernel"};
	static const char *const tinfo[] = {"accel", "machine", "vcpus", "memory_mib", "net_mode"};
	const json_t *bp = json_object_get(b, "profile"), *cp = json_object_get(c->cur, "profile");
	const json_t *a, *x;
	char what[256];
	size_t i, before = c->nnotes;

	if (c->nbase > 1)
		note_add(c, 0, "comparing with baseline %s:", bname);
	cmp_str(c, "profile name", hb_j_str(b, "profile_name", "?"),
		hb_j_str(c->cur, "profile_name", "?"));
	cmp_str(c, "hvbench version", hb_j_str(b, "tool_version", "?"),
		hb_j_str(c->cur, "tool_version", "?"));
	for (i = 0; i < HB_ARRAY_SIZE(top); i++) {
		snprintf(what, sizeof(what), "profile %s", top[i]);
		cmp_json(c, what, json_object_get(bp, top[i]), json_object_get(cp, top[i]));
	}
	for (i = 0; i < HB_ARRAY_SIZE(host); i++) {
		snprintf(what, sizeof(what), "host %s", host[i]);
		cmp_json(c, what, json_object_get(json_object_get(b, "host"), host[i]),
			 json_object_get(json_object_get(c->cur, "host"), host[i]));
	}
	a = json_object_get(b, "targets");
	json_array_foreach (a, i, x) {
		const char *n = hb_j_str(x, "name", "");
		const json_t *ct = hb_j_target(c->cur, n);

		if (!ct) {
			note_add(c, 0, "target %s of the baseline is not in the current run", n);
			continue;
		}
		snprintf(what, sizeof(what), "target %s option", n);
		options_diff(c, 1, what, "baseline", x, "current", ct);
		for (size_t k = 0; k < HB_ARRAY_SIZE(tinfo); k++) {
			snprintf(what, sizeof(what), "target %s %s", n, tinfo[k]);
			cmp_json(c, what, json_object_get(json_object_get(x, "info"), tinfo[k]),
				 json_object_get(json_object_get(ct, "info"), tinfo[k]));
		}
		boot_concurrency_diff(c, n, json_object_get(x, "info"),
				      json_object_get(ct, "info"));
	}
	a = json_object_get(bp, "workloads");
	json_array_foreach (a, i, x) {
		const char *n = hb_j_str(x, "name", hb_j_str(x, "workload", ""));
		const json_t *ce = entry_named(cp, n);

		if (!ce) {
			if (cp)
				note_add(c, 1,
					 "workload %s of the baseline profile is not in the "
					 "current one",
					 n);
			continue;
		}
		snprintf(what, sizeof(what), "workload %s", n);
		cmp_json(c, what, x, ce);
	}
	/* a heading with nothing under it says nothing */
	if (c->nbase > 1 && c->nnotes == before + 1)
		free(c->notes[--c->nnotes]);
}

/* A target with results in a baseline but none now. */
static void missing_targets(struct cmp *c)
{
	for (size_t d = 0; d < c->nbase; d++) {
		const json_t *a = json_object_get(c->base[d], "results"), *x;
		size_t i;

		json_array_foreach (a, i, x) {
			const char *t = hb_j_str(x, "target", "");
			const json_t *cr = json_object_get(c->cur, "results"), *y;
			size_t j;
			int found = 0, said = 0;

			json_array_foreach (cr, j, y)
				if (!strcmp(hb_j_str(y, "target", ""), t)) {
					found = 1;
					break;
				}
			for (size_t k = 0; k < c->nnotes && !found; k++)
				said |= strstr(c->notes[k], "has no results in the current run") &&
					strstr(c->notes[k], t);
			if (!found && !said) {
				const json_t *ct = hb_j_target(c->cur, t);
				char why[600];

				snprintf(why, sizeof(why),
					 "target %s has no results in the current run%s%s", t,
					 ct && hb_j_str(ct, "error", NULL) ? ": " : "",
					 ct ? hb_j_str(ct, "error", "") : "");
				note_add(c, 0, "%s", why);
				if (!c->allow_missing)
					set_fatal(c, why);
			}
		}
	}
}

/* A current run that is not complete fails (unless --allow-missing). */
static void status_check(struct cmp *c)
{
	const char *st = hb_j_str(c->cur, "status", "?");

	if (strcmp(st, "complete")) {
		char why[256];
		size_t nf = json_array_size(json_object_get(c->cur, "failures"));

		snprintf(why, sizeof(why), "the %s run's status is \"%s\" (%zu failure%s)",
			 c->ab_a ? "A/B" : "current", st, nf, nf == 1 ? "" : "s");
		note_add(c, 0, "%s", why);
		if (!c->allow_missing)
			set_fatal(c, why);
	}
}

static void run_checks(struct cmp *c)
{
	status_check(c);
	for (size_t d = 0; d < c->nbase; d++)
		if (strcmp(hb_j_str(c->base[d], "status", "?"), "complete"))
			note_add(c, 0, "baseline %s has status \"%s\"", c->bpath[d],
				 hb_j_str(c->base[d], "status", "?"));
	for (size_t d = 0; d < c->nbase; d++)
		facts_diff(c, c->base[d], c->bpath[d]);
	missing_targets(c);
	if (c->strict && c->nmismatch)
		set_fatal(c, "baseline and current run differ (--strict)");
}

/* ---- A/B in one run (--ab) ---- */

/* Whether two samples of rows x and y (together) are equal: values on a grid (quantized). */
static int has_ties(const json_t *x, const json_t *y)
{
	const json_t *xs = json_object_get(x, "samples"), *ys = json_object_get(y, "samples");
	size_t nx = json_array_size(xs), n = nx + json_array_size(ys);
	double *v = malloc((n ? n : 1) * sizeof(*v));
	int ties = 0;

	if (!v)
		return 1; /* the floor then applies: the cautious side */
	for (size_t i = 0; i < n; i++)
		v[i] = json_number_value(json_array_get(i < nx ? xs : ys, i < nx ? i : i - nx));
	qsort(v, n, sizeof(*v), cmp_dbl);
	for (size_t i = 1; i < n && !ties; i++)
		ties = v[i] == v[i - 1];
	free(v);
	return ties;
}

/* The launch rank of target name in boot bi (info "launch_rank"), -1 when not recorded. */
static int launch_rank_of(const json_t *doc, const char *name, int bi)
{
	const json_t *v = json_array_get(
		json_object_get(json_object_get(hb_j_target(doc, name), "info"), "launch_rank"),
		(size_t)bi);

	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

/*
 * The launch order as a block (an AB/BA crossover): the runner rotates which VM of a boot group
 * is launched first, and the first-launched one boots slower under TCG (7% on the test host),
 * so the paired difference of boot g is delta + o when A was launched first, delta - o when B
 * was. With both orders present and n >= 4 the effect is fitted: delta = the mean of the two
 * orders' means, o = half their difference, the spread pooled within orders (n - 2 df). The
 * order then leaves the units' spread instead of inflating it. 0 and *vc filled when it
 * applies; -1 when it does not (no ranks recorded, one order only, n < 4).
 */
static int order_block(const struct cmp *c, const struct boot_units *bu, double floor_var,
		       struct test *t, double *est, struct hb_vcomp *vc)
{
	double sum[2] = {0, 0}, ss = 0, m[2];
	size_t k[2] = {0, 0};
	int *side;

	if (bu->n < 4 || !(side = malloc(bu->n * sizeof(*side))))
		return -1;
	for (size_t i = 0; i < bu->n; i++) {
		int ra = launch_rank_of(c->cur, c->ab_a, bu->boot[i]);
		int rb = launch_rank_of(c->cur, c->ab_b, bu->boot[i]);

		if (ra < 0 || rb < 0 || ra == rb) {
			free(side);
			return -1;
		}
		side[i] = ra < rb ? 0 : 1; /* 0: A launched first */
		sum[side[i]] += bu->u[i];
		k[side[i]]++;
	}
	if (!k[0] || !k[1]) {
		free(side);
		return -1;
	}
	m[0] = sum[0] / (double)k[0];
	m[1] = sum[1] / (double)k[1];
	for (size_t i = 0; i < bu->n; i++)
		ss += (bu->u[i] - m[side[i]]) * (bu->u[i] - m[side[i]]);
	free(side);
	*est = (m[0] + m[1]) / 2;
	t->order_effect = (m[0] - m[1]) / 2;
	t->n_afirst = k[0];
	t->n_bfirst = k[1];
	*vc = (struct hb_vcomp){fmax(ss / (double)(bu->n - 2), floor_var) / 4 *
					(1 / (double)k[0] + 1 / (double)k[1]),
				(double)(bu->n - 2)};
	return 0;
}

/*
 * The A/B test of one row (into r->abs): target B's samples against target A's of the same
 * run, paired (paired_units: boot g of B with boot g of A, else repetition r with repetition
 * r; each pair shares the host's state of its moment, so what drifts across the run cancels):
 * a one-sample t on the paired differences, n - 1 df. When the rows do not align (a boot or a
 * repetition missing on one side), Welch's test on the unpaired units, and the row says so.
 */
static int ab_test(const struct cmp *c, struct cmp_row *r, const json_t *ra, const json_t *rb)
{
	struct test *t = &r->abs;
	struct grp ga, gb, gd;
	struct boot_units bu = {0};
	struct hb_vcomp vc[2];
	struct hb_ttest tt;
	double qa, qb, est;
	size_t nv = 0;
	enum pairing how;
	int err, rc;

	t->hib = r->hib;
	t->logscale = all_positive(ra) && all_positive(rb);
	if ((rc = row_units(ra, t->logscale, &ga)) || (rc = row_units(rb, t->logscale, &gb)))
		return rc;
	t->nb = ga.n;
	t->nc = gb.n;
	if (!ga.n || !gb.n) {
		hb_strlcpy(t->why, "no samples on one side", sizeof(t->why));
		return 0;
	}
	t->base = t->logscale ? round12(exp(ga.mean)) : ga.mean;
	t->cur = t->logscale ? round12(exp(gb.mean)) : gb.mean;
	qa = quantum_floor(c, c->ab_a, r->workload, r->metric, t->logscale);
	qb = quantum_floor(c, c->ab_b, r->workload, r->metric, t->logscale);
	how = paired_units(c->cur, rb, ra, t->logscale, &gd, &err, &bu);
	if (err) {
		free(bu.u);
		free(bu.boot);
		return err;
	}
	if (how != PAIR_NONE) {
		/* the quantization floor only for values on a grid (ties among them): the
		 * smallest gap of a continuous metric is the spread across the run's boots,
		 * which pairing cancels */
		double fl = has_ties(ra, rb) ? qa + qb : 0;

		t->paired = 1;
		r->decided_by =
			how == PAIR_BOOT ? "A/B paired by boot" : "A/B paired by repetition";
		t->nb = t->nc = gd.n;
		est = gd.mean;
		if (how == PAIR_BOOT && order_block(c, &bu, fl, t, &est, &vc[0]) == 0) {
			r->decided_by = "A/B paired by boot, launch order as a block";
			nv = 1;
		} else if (gd.n >= 2) {
			vc[nv++] = (struct hb_vcomp){fmax(gd.var, fl) / (double)gd.n,
						     (double)(gd.n - 1)};
		}
	} else {
		r->decided_by = "A/B unpaired";
		est = gb.mean - ga.mean;
		if (ga.n >= 2 && gb.n >= 2) {
			vc[nv++] = (struct hb_vcomp){fmax(ga.var, qa) / (double)ga.n,
						     (double)(ga.n - 1)};
			vc[nv++] = (struct hb_vcomp){fmax(gb.var, qb) / (double)gb.n,
						     (double)(gb.n - 1)};
		}
	}
	free(bu.u);
	free(bu.boot);
	if (!nv || hb_ttest(est, vc, nv, &tt)) {
		hb_strlcpy(t->why,
			   t->paired ? "one paired unit: no spread to test against (boots >= 2 or "
				       "repetitions >= 2)"
				     : "one unit on a side: no spread to test against (boots >= 2 "
				       "or repetitions >= 2)",
			   sizeof(t->why));
		return 0;
	}
	t->var_within = tt.se * tt.se;
	t->var_runs = 0;
	test_fill(t, &tt, ga.mean);
	return 0;
}

/* Rows of A/B: every (workload, metric) of target A or B, named after B; each tested. */
static int ab_build(struct cmp *c, struct hb_err *e)
{
	const json_t *a = json_object_get(c->cur, "results"), *x;
	size_t i, common = 0;
	int rc;

	json_array_foreach (a, i, x) {
		const char *t = hb_j_str(x, "target", "");
		struct cmp_row *r;

		if ((strcmp(t, c->ab_a) && strcmp(t, c->ab_b)) ||
		    have_row(c, c->ab_b, hb_j_str(x, "workload", ""), hb_j_str(x, "metric", "")))
			continue;
		if (!(r = new_row(c, x)))
			return hb_err_set(e, HB_ENOMEM, "compare: out of memory");
		r->target = c->ab_b;
	}
	if ((rc = check_thresholds(c, e)))
		return rc;
	for (i = 0; i < c->nrows; i++) {
		struct cmp_row *r = &c->rows[i];
		const json_t *ra = hb_j_result(c->cur, c->ab_a, r->workload, r->metric);
		const json_t *rb = hb_j_result(c->cur, c->ab_b, r->workload, r->metric);

		if (ra && rb && strcmp(hb_j_str(ra, "unit", ""), hb_j_str(rb, "unit", "")))
			return hb_err_set(e, HB_EINVAL,
					  "%s/%s: unit \"%s\" for %s but \"%s\" for %s",
					  r->workload, r->metric, hb_j_str(ra, "unit", ""), c->ab_a,
					  hb_j_str(rb, "unit", ""), c->ab_b);
		if (ra && rb &&
		    hb_j_bool(ra, "higher_is_better", 1) != hb_j_bool(rb, "higher_is_better", 1))
			return hb_err_set(e, HB_EINVAL,
					  "%s/%s: higher_is_better differs between %s and %s",
					  r->workload, r->metric, c->ab_a, c->ab_b);
		r->threshold = threshold_for(c, c->ab_b, r->workload, r->metric);
		r->gated = c->all_roles || r->role != HB_ROLE_DIAGNOSTIC;
		if (!rb || !ra) {
			r->st = !rb ? (r->gated ? ST_MISSING : ST_BASE_ONLY) : ST_CUR_ONLY;
			r->gated = 0;
			continue;
		}
		common++;
		if ((rc = ab_test(c, r, ra, rb)))
			return hb_err_set(e, rc, "compare: out of memory");
		r->abs.family = r->gated && r->abs.ok;
	}
	return tally(c, common, e);
}

/*
 * What A and B are: they are meant to differ (that is the experiment), so their differences are
 * listed, not mismatches — kind, every option whose value differs, accel/machine/vCPUs/memory
 * as the run resolved them, how the boots overlapped; targets of different kinds or a native
 * one are said in so many words. A target without results fails (unless --allow-missing).
 */
static void ab_checks(struct cmp *c)
{
	static const char *const tinfo[] = {"accel",	  "machine",  "vcpus",
					    "memory_mib", "net_mode", "boot_concurrency"};
	const json_t *ta = hb_j_target(c->cur, c->ab_a), *tb = hb_j_target(c->cur, c->ab_b);
	const char *ka = hb_j_str(ta, "kind", "?"), *kb = hb_j_str(tb, "kind", "?");
	char what[300];
	int ndiff = 0;

	status_check(c);
	note_add(c, 0, "A/B in one run: target %s (%s) against target %s (%s)", c->ab_b, kb,
		 c->ab_a, ka);
	if (strcmp(ka, kb))
		note_add(c, 0,
			 "%s and %s are of different kinds (%s, %s): the change is the whole "
			 "target, not one option",
			 c->ab_a, c->ab_b, ka, kb);
	if (hb_j_is_native(ta) != hb_j_is_native(tb))
		note_add(c, 0, "%s is native (no hypervisor): the A/B change is the hypervisor",
			 hb_j_is_native(ta) ? c->ab_a : c->ab_b);
	ndiff += options_diff(c, 0, "option", c->ab_a, ta, c->ab_b, tb);
	for (size_t i = 0; i < HB_ARRAY_SIZE(tinfo); i++) {
		snprintf(what, sizeof(what), "%s (as run)", tinfo[i]);
		ndiff += diff_json(c, 0, what, c->ab_a,
				   json_object_get(json_object_get(ta, "info"), tinfo[i]), c->ab_b,
				   json_object_get(json_object_get(tb, "info"), tinfo[i]));
	}
	if (!ndiff && !strcmp(ka, kb))
		note_add(c, 0,
			 "%s and %s have the same options: an A/A run (a regression is a false "
			 "alarm)",
			 c->ab_a, c->ab_b);
	for (int s = 0; s < 2; s++) {
		const char *n = s ? c->ab_b : c->ab_a;
		const json_t *t = s ? tb : ta, *x;
		size_t i;
		int found = 0;
		char why[600];

		json_array_foreach (json_object_get(c->cur, "results"), i, x)
			found |= !strcmp(hb_j_str(x, "target", ""), n);
		if (found)
			continue;
		snprintf(why, sizeof(why), "target %s has no results in the run%s%s", n,
			 hb_j_str(t, "error", NULL) ? ": " : "", hb_j_str(t, "error", ""));
		note_add(c, 0, "%s", why);
		if (!c->allow_missing)
			set_fatal(c, why);
	}
}

/* ---- output ---- */

static int failed(const struct cmp *c)
{
	return c->fatal || c->count[ST_REGRESSION] > 0;
}

/* "+12.3%"; from +100000% on (a unit mix-up, not a drift) 3 significant digits: "+1e+32%". */
static void fmt_change(double ch, char *buf, size_t len)
{
	if (!isfinite(ch))
		hb_strlcpy(buf, isnan(ch) ? "n/a" : (ch > 0 ? "+inf" : "-inf"), len);
	else if (fabs(ch) >= 1000.0)
		snprintf(buf, len, "%+.3g%%", ch * 100.0);
	else
		snprintf(buf, len, "%+.1f%%", ch * 100.0);
}

static void fmt_p(double p, char *buf, size_t len)
{
	if (isnan(p))
		hb_strlcpy(buf, "n/a", len);
	else if (p < 1e-4)
		snprintf(buf, len, "%.1e", p);
	else
		snprintf(buf, len, "%.2g", p);
}

/* "-21.9% (95% CI -24.0% .. -19.7%), p 1.2e-06 (BH-adjusted 3.1e-05)" */
static void fmt_test(const struct test *t, char *buf, size_t len)
{
	char ch[32], lo[32], hi[32], p[32], q[32];

	if (!t->ok) {
		snprintf(buf, len, "not tested: %s", t->why);
		return;
	}
	fmt_change(t->change, ch, sizeof(ch));
	fmt_change(t->lo, lo, sizeof(lo));
	fmt_change(t->hi, hi, sizeof(hi));
	fmt_p(t->p_bad, p, sizeof(p));
	fmt_p(t->q_bad, q, sizeof(q));
	if (isnan(t->q_bad))
		snprintf(buf, len, "%s (95%% CI %s .. %s), p %s", ch, lo, hi, p);
	else
		snprintf(buf, len, "%s (95%% CI %s .. %s), p %s, adjusted %s", ch, lo, hi, p, q);
}

/* One line describing a row: values, change, CI, p (absolute, then vs native). */
static void describe(const struct cmp *c, const struct cmp_row *r, char *buf, size_t len)
{
	char b[32], cu[32], ta[300], tr[300], ob[32], oc[32];

	hb_fmt_value(r->abs.base, b, sizeof(b));
	hb_fmt_value(r->abs.cur, cu, sizeof(cu));
	fmt_test(&r->abs, ta, sizeof(ta));
	if (r->st == ST_MISSING || r->st == ST_BASE_ONLY) {
		if (c->ab_a)
			snprintf(buf, len, "in target %s, not in %s", c->ab_a, c->ab_b);
		else
			snprintf(buf, len, "in the baseline, not in the current run");
		return;
	}
	if (r->st == ST_CUR_ONLY) {
		if (c->ab_a)
			snprintf(buf, len, "in target %s only", c->ab_b);
		else
			snprintf(buf, len, "in the current run only");
		return;
	}
	if (!r->has_ratio) {
		snprintf(buf, len, "%s -> %s %s: %s%s", b, cu, r->unit, ta,
			 r->abs.ok && r->decided_by && !strcmp(r->decided_by, "A/B unpaired")
				 ? " (unpaired, Welch: the targets' boots or repetitions do not "
				   "align)"
				 : "");
		return;
	}
	hb_fmt_pct(r->ratio.base, ob, sizeof(ob));
	hb_fmt_pct(r->ratio.cur, oc, sizeof(oc));
	fmt_test(&r->ratio, tr, sizeof(tr));
	snprintf(buf, len, "%s -> %s %s: %s; vs native %s%% -> %s%% (>100%% better): %s", b, cu,
		 r->unit, ta, ob, oc, tr);
}

static void verdict(const struct cmp *c, char *buf, size_t len)
{
	if (c->count[ST_REGRESSION])
		snprintf(buf, len, "FAIL: %zu regression%s%s%s", c->count[ST_REGRESSION],
			 c->count[ST_REGRESSION] == 1 ? "" : "s", c->fatal ? "; " : "",
			 c->fatal ? c->fatal_why : "");
	else if (c->fatal)
		snprintf(buf, len, "FAIL: %s", c->fatal_why);
	else
		snprintf(buf, len, "PASS: no regression (%zu gated metric%s tested, %zu improved)",
			 c->ntested, c->ntested == 1 ? "" : "s", c->count[ST_IMPROVED]);
}

static const char *mode_name(enum gate_mode m)
{
	return m == MODE_ABSOLUTE ? "absolute" : m == MODE_RATIO ? "ratio" : "both";
}

static void method_line(const struct cmp *c, FILE *out, const char *pre)
{
	char th[32];

	hb_fmt_pct(c->threshold, th, sizeof(th));
	if (c->ab_a) {
		fprintf(out,
			"%sgate: A/B in one run (target %s against target %s of the same run), "
			"roles %s; paired units: per boot g, log median of %s's samples of boot g "
			"minus log median of %s's (the VMs booted several times; boot g of every "
			"VM "
			"is booted side by side with boot_parallel), else repetition r against "
			"repetition r (they run back to back): each pair shares the host's state, "
			"so the run's drift cancels; one-sample t on the paired differences (n-1 "
			"df; by boot with the launch order recorded and both orders present, the "
			"order as a block: the mean of the two orders' means, n-2 df; Welch on "
			"unpaired units where boots or repetitions do not align); "
			"regression = Benjamini-Hochberg adjusted p < %g over %zu gated metrics "
			"AND change beyond %s%% in the bad direction\n",
			pre, c->ab_b, c->ab_a, c->all_roles ? "all" : "headline+detail", c->ab_b,
			c->ab_a, c->alpha, c->ngated, th);
		return;
	}
	fprintf(out,
		"%sgate: %s (%s), roles %s; regression = Benjamini-Hochberg adjusted p < %g over "
		"%zu gated metrics AND change beyond %s%% in the bad direction; units: per-boot "
		"medians where a run booted its VM several times, else repetitions (a ratio pairs "
		"VM and native over the same repetitions); %zu baseline "
		"run%s%s\n",
		pre, mode_name(c->mode),
		c->mode == MODE_BOTH	? "VM rows by their ratio to native, other rows absolute"
		: c->mode == MODE_RATIO ? "VM/native ratios only"
					: "absolute values only",
		c->all_roles ? "all" : "headline+detail", c->alpha, c->ngated, th, c->nbase,
		c->nbase == 1 ? "" : "s",
		c->nbase == 1 ? " (run-to-run spread beyond the units' spread not estimated: "
				"give several baselines, BASE1 BASE2 -- CURRENT)"
			      : " (run-to-run spread estimated from them, moderated across the "
				"tests)");
}

static void row_name(const struct cmp_row *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s/%s", r->target, r->workload, r->metric);
}

static void out_text(const struct cmp *c, FILE *out)
{
	char v[700], d[1024], name[300];

	verdict(c, v, sizeof(v));
	fprintf(out, "hvbench compare: %s\n", v);
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		if (r->st != ST_REGRESSION && r->st != ST_MISSING)
			continue;
		row_name(r, name, sizeof(name));
		describe(c, r, d, sizeof(d));
		fprintf(out, "%s: %s%s%s: %s\n", r->st == ST_REGRESSION ? "REGRESSION" : "MISSING",
			name, r->decided_by ? " by " : "", r->decided_by ? r->decided_by : "", d);
	}
	for (size_t i = 0; i < c->nnotes; i++)
		fprintf(out, "note: %s\n", c->notes[i]);
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		if (r->st != ST_IMPROVED)
			continue;
		row_name(r, name, sizeof(name));
		describe(c, r, d, sizeof(d));
		fprintf(out, "improved: %s: %s\n", name, d);
	}
	if (c->ab_a) {
		fprintf(out, "baseline: target %s of %s (%s)\ncurrent: target %s of the same run\n",
			c->ab_a, c->cpath, hb_j_str(c->cur, "started_at", "?"), c->ab_b);
	} else {
		fprintf(out, "baseline: ");
		for (size_t i = 0; i < c->nbase; i++)
			fprintf(out, "%s%s (%s)", i ? ", " : "", c->bpath[i],
				hb_j_str(c->base[i], "started_at", "?"));
		fprintf(out, "\ncurrent: %s (%s)\n", c->cpath, hb_j_str(c->cur, "started_at", "?"));
	}
	method_line(c, out, "");
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		if (r->st == ST_REGRESSION || r->st == ST_MISSING || r->st == ST_IMPROVED)
			continue;
		if (!c->list_all &&
		    (r->st == ST_UNCHANGED || r->st == ST_CUR_ONLY || r->st == ST_BASE_ONLY ||
		     (!r->gated && r->st == ST_UNTESTABLE)))
			continue;
		row_name(r, name, sizeof(name));
		describe(c, r, d, sizeof(d));
		fprintf(out, "%s: %s: %s\n", st_name[r->st], name, d);
	}
	fprintf(out,
		"summary: %zu regression(s), %zu missing, %zu improved, %zu unchanged, %zu not "
		"significant, %zu n too small, %zu host drift, %zu changed but not gated, %zu only "
		"in baseline, %zu only in current%s\n",
		c->count[ST_REGRESSION], c->count[ST_MISSING], c->count[ST_IMPROVED],
		c->count[ST_UNCHANGED], c->count[ST_NOT_SIGNIFICANT], c->count[ST_UNTESTABLE],
		c->count[ST_DRIFT], c->count[ST_NOT_GATED], c->count[ST_BASE_ONLY],
		c->count[ST_CUR_ONLY],
		c->list_all ? "" : " (unchanged rows folded: --all lists them)");
	fprintf(out, "result: %s\n", failed(c) ? "FAIL" : "PASS");
}

static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++)
		fputs(*s == '|' ? "\\|" : (char[2]){*s, 0}, out);
}

static void md_table(const struct cmp *c, FILE *out, int (*want)(const struct cmp_row *))
{
	char b[32], cu[32], ch[32], lo[32], hi[32], p[32], ob[32], oc[32];

	fputs("| status | target | workload/metric | baseline | current | change (95% CI) | p "
	      "(adj.) | vs native |\n|---|---|---|---|---|---|---|---|\n",
	      out);
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];
		const struct test *t =
			r->decided_by && !strcmp(r->decided_by, "ratio") ? &r->ratio : &r->abs;

		if (!want(r))
			continue;
		hb_fmt_value(r->abs.base, b, sizeof(b));
		hb_fmt_value(r->abs.cur, cu, sizeof(cu));
		fmt_change(t->change, ch, sizeof(ch));
		fmt_change(t->lo, lo, sizeof(lo));
		fmt_change(t->hi, hi, sizeof(hi));
		fmt_p(isnan(t->q_bad) ? t->p_bad : t->q_bad, p, sizeof(p));
		fprintf(out, "| %s | ", r->st == ST_REGRESSION ? "**regression**" : st_name[r->st]);
		md_cell(out, r->target);
		fputs(" | ", out);
		md_cell(out, r->workload);
		fputc('/', out);
		md_cell(out, r->metric);
		fprintf(out, " | %s ", b);
		md_cell(out, r->unit);
		fprintf(out, " | %s ", cu);
		md_cell(out, r->unit);
		if (t->ok)
			fprintf(out, " | %s (%s .. %s)%s | %s | ", ch, lo, hi,
				t == &r->ratio ? " of the ratio" : "", p);
		else
			fputs(" | — | — | ", out);
		if (r->has_ratio) {
			hb_fmt_pct(r->ratio.base, ob, sizeof(ob));
			hb_fmt_pct(r->ratio.cur, oc, sizeof(oc));
			fprintf(out, "%s%% → %s%% |\n", ob, oc);
		} else {
			fputs("— |\n", out);
		}
	}
}

static int want_fail(const struct cmp_row *r)
{
	return r->st == ST_REGRESSION || r->st == ST_MISSING;
}

static int want_improved(const struct cmp_row *r)
{
	return r->st == ST_IMPROVED;
}

static int want_rest(const struct cmp_row *r)
{
	return !want_fail(r) && !want_improved(r);
}

static void out_md(const struct cmp *c, FILE *out)
{
	char v[700];
	size_t rest = 0;

	verdict(c, v, sizeof(v));
	fprintf(out, "## hvbench compare: %s %s\n\n", failed(c) ? "❌" : "✅", v);
	if (c->count[ST_REGRESSION] || c->count[ST_MISSING]) {
		fputs("### Regressions\n\n", out);
		md_table(c, out, want_fail);
		fputc('\n', out);
	}
	if (c->nnotes) {
		fputs("### Notes\n\n", out);
		for (size_t i = 0; i < c->nnotes; i++) {
			fputs("- ", out);
			md_cell(out, c->notes[i]);
			fputc('\n', out);
		}
		fputc('\n', out);
	}
	if (c->count[ST_IMPROVED]) {
		fputs("### Improvements\n\n", out);
		md_table(c, out, want_improved);
		fputc('\n', out);
	}
	for (size_t i = 0; i < c->nrows; i++)
		rest += want_rest(&c->rows[i]);
	method_line(c, out, "");
	fprintf(out,
		"\n<details><summary>%zu other rows (%zu unchanged, %zu not significant, "
		"%zu n too small, %zu host drift, %zu not gated, %zu one-sided)</summary>\n\n",
		rest, c->count[ST_UNCHANGED], c->count[ST_NOT_SIGNIFICANT], c->count[ST_UNTESTABLE],
		c->count[ST_DRIFT], c->count[ST_NOT_GATED],
		c->count[ST_BASE_ONLY] + c->count[ST_CUR_ONLY]);
	md_table(c, out, want_rest);
	fputs("\n</details>\n", out);
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *test_json(const struct test *t)
{
	json_t *o;

	if (!t->ok)
		return json_pack("{s:b, s:s}", "tested", 0, "why", t->why);
	o = json_pack("{s:b, s:o, s:o, s:o, s:[o, o], s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "tested",
		      1, "baseline", num_or_null(t->base), "current", num_or_null(t->cur), "change",
		      num_or_null(t->change), "change_ci95", num_or_null(t->lo), num_or_null(t->hi),
		      "p", num_or_null(t->p_bad), "p_adjusted", num_or_null(t->q_bad),
		      "p_improvement", num_or_null(t->p_good), "df", num_or_null(t->df),
		      "log_scale", json_boolean(t->logscale), "n_baseline", (json_int_t)t->nb,
		      "n_current", (json_int_t)t->nc);
	if (o) {
		json_object_set_new(o, "var_within", num_or_null(t->var_within));
		json_object_set_new(o, "var_runs", num_or_null(t->var_runs));
		if (t->R >= 2)
			json_object_set_new(o, "run_spread_z", num_or_null(t->z));
		if (t->own_spread)
			json_object_set_new(o, "run_spread_own", json_true());
		if (t->paired)
			json_object_set_new(o, "paired", json_true());
		if (t->n_afirst)
			json_object_set_new(
				o, "launch_order",
				json_pack("{s:I, s:I, s:o}", "a_first", (json_int_t)t->n_afirst,
					  "b_first", (json_int_t)t->n_bfirst, "effect",
					  num_or_null(t->logscale ? exp(t->order_effect) - 1
								  : t->order_effect)));
	}
	return o;
}

static json_t *prior_json(const struct prior *p)
{
	if (!(p->d0 > 0))
		return json_null();
	return json_pack("{s:o, s:o}", "d0", isinf(p->d0) ? json_string("inf") : json_real(p->d0),
			 "z0", num_or_null(p->z0));
}

static int out_json(const struct cmp *c, FILE *out)
{
	json_t *root = json_object(), *rows = json_array(), *sum = json_object(),
	       *notes = json_array(), *bases = json_array();
	char v[700];
	int rc = 0;

	if (!root || !rows || !sum || !notes || !bases) {
		json_decref(root);
		json_decref(rows);
		json_decref(sum);
		json_decref(notes);
		json_decref(bases);
		return HB_ENOMEM;
	}
	verdict(c, v, sizeof(v));
	for (size_t i = 0; i < c->nbase; i++)
		json_array_append_new(bases, json_string(c->bpath[i]));
	json_object_set_new(root, "schema", json_string("hvbench/compare/2"));
	json_object_set_new(root, "verdict", json_string(v));
	json_object_set_new(root, "fail", json_boolean(failed(c)));
	json_object_set_new(root, "baselines", bases);
	json_object_set_new(root, "current", json_string(c->cpath));
	json_object_set_new(root, "alpha", json_real(c->alpha));
	json_object_set_new(root, "threshold", json_real(c->threshold));
	json_object_set_new(root, "gate", json_string(c->ab_a ? "ab" : mode_name(c->mode)));
	if (c->ab_a)
		json_object_set_new(root, "ab",
				    json_pack("{s:s, s:s}", "baseline_target", c->ab_a,
					      "candidate_target", c->ab_b));
	json_object_set_new(root, "roles", json_string(c->all_roles ? "all" : "headline+detail"));
	if (c->nbase >= 2)
		json_object_set_new(root, "run_spread_prior",
				    json_pack("{s:o, s:o}", "absolute", prior_json(&c->prior_abs),
					      "ratio", prior_json(&c->prior_ratio)));
	for (size_t i = 0; i < c->nnotes; i++)
		json_array_append_new(notes, json_string(c->notes[i]));
	json_object_set_new(root, "notes", notes);
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];
		json_t *o =
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b, s:o, s:o}", "status",
				  st_name[r->st], "target", r->target, "workload", r->workload,
				  "metric", r->metric, "unit", r->unit, "higher_is_better", r->hib,
				  "role", hb_role_str(r->role), "gated", r->gated, "threshold",
				  num_or_null(r->threshold), "decided_by",
				  r->decided_by ? json_string(r->decided_by) : json_null());

		if (!o)
			continue;
		json_object_set_new(o, "absolute", test_json(&r->abs));
		if (r->has_ratio)
			json_object_set_new(o, "ratio", test_json(&r->ratio));
		json_array_append_new(rows, o);
	}
	json_object_set_new(root, "rows", rows);
	for (int s = 0; s < ST_COUNT; s++)
		json_object_set_new(sum, st_name[s], json_integer((json_int_t)c->count[s]));
	json_object_set_new(root, "summary", sum);
	json_object_set_new(root, "regression", json_boolean(c->count[ST_REGRESSION] > 0));
	if (json_dumpf(root, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10)))
		rc = HB_EIO;
	fputc('\n', out);
	json_decref(root);
	return rc;
}

static void xml_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc(' ', f);
			else
				fputc(*s, f);
		}
	}
}

/* One testcase per gated row (and per missing one); untestable rows are skipped, with why. */
static int write_junit(const struct cmp *c, const char *path, struct hb_err *e)
{
	char *buf = NULL, d[1024];
	size_t len = 0, tests = 0, skipped = 0, failures = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return hb_err_set(e, HB_ENOMEM, "junit: out of memory");
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		if (!r->gated && r->st != ST_MISSING)
			continue;
		tests++;
		skipped += r->st == ST_UNTESTABLE;
		failures += r->st == ST_REGRESSION || (r->st == ST_MISSING && !c->allow_missing);
	}
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		"<testsuite name=\"hvbench compare\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" "
		"skipped=\"%zu\">\n",
		tests, failures, c->fatal && !c->count[ST_MISSING] ? 1 : 0, skipped);
	if (c->fatal && !c->count[ST_MISSING]) {
		fputs("  <testcase classname=\"hvbench\" name=\"run\" time=\"0\">\n    <error "
		      "message=\"",
		      f);
		xml_esc(f, c->fatal_why);
		fputs("\"/>\n  </testcase>\n", f);
	}
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		if (!r->gated && r->st != ST_MISSING)
			continue;
		fputs("  <testcase classname=\"hvbench.", f);
		xml_esc(f, r->target);
		fputs("\" name=\"", f);
		xml_esc(f, r->workload);
		fputc('/', f);
		xml_esc(f, r->metric);
		fputs("\" time=\"0\">\n", f);
		describe(c, r, d, sizeof(d));
		if (r->st == ST_REGRESSION || (r->st == ST_MISSING && !c->allow_missing)) {
			fprintf(f, "    <failure type=\"%s\" message=\"", st_name[r->st]);
			xml_esc(f, st_name[r->st]);
			fputs(": ", f);
			xml_esc(f, d);
			fputs("\">", f);
			xml_esc(f, d);
			fputs("</failure>\n", f);
		} else if (r->st == ST_UNTESTABLE) {
			fputs("    <skipped message=\"", f);
			xml_esc(f, r->decided_by && !strcmp(r->decided_by, "ratio") ? r->ratio.why
										    : r->abs.why);
			fputs("\"/>\n", f);
		} else {
			fputs("    <system-out>", f);
			xml_esc(f, st_name[r->st]);
			fputs(": ", f);
			xml_esc(f, d);
			fputs("</system-out>\n", f);
		}
		fputs("  </testcase>\n", f);
	}
	fputs("</testsuite>\n</testsuites>\n", f);
	if (fclose(f)) {
		free(buf);
		return hb_err_set(e, HB_ENOMEM, "junit: out of memory");
	}
	rc = hb_write_atomic(path, buf, len, 0644, e);
	free(buf);
	return rc;
}

/* ---- A/A self-test ---- */

/*
 * Whether key j of nin (a boot, or a repetition in a row without boots) goes to half `half`
 * in split k: k = 0 even/odd, k = 1 first/second half, others a fixed-seed random balanced
 * assignment. The same key goes to the same half in every row, so a repetition's VM and
 * native samples stay together.
 */
static int aa_half(size_t j, size_t nin, int k, int half)
{
	struct hb_rng r;
	size_t *perm, pos = 0;
	int h;

	if (k == 0)
		return (int)(j % 2) == half;
	if (k == 1)
		return (j >= nin / 2) == (size_t)half;
	perm = malloc(nin * sizeof(*perm));
	if (!perm)
		return 0;
	for (size_t i = 0; i < nin; i++)
		perm[i] = i;
	hb_rng_seed(&r, HB_STATS_SEED + (uint64_t)k * 7919 + nin);
	for (size_t i = nin - 1; i > 0; i--) {
		size_t x = hb_rng_below(&r, i + 1), t = perm[i];

		perm[i] = perm[x];
		perm[x] = t;
	}
	for (size_t i = 0; i < nin; i++)
		if (perm[i] == j)
			pos = i;
	free(perm);
	h = pos < nin / 2 ? 0 : 1;
	return h == half;
}

/* Boots of a run (settings after CLI overrides, else the profile's; 1 when absent). */
static long run_boots(const json_t *doc)
{
	double v = hb_j_num(json_object_get(doc, "settings"), "boots");

	if (!(v > 0))
		v = hb_j_num(json_object_get(doc, "profile"), "boots");
	return v >= 1 && v < 1e6 ? (long)v : 1;
}

static json_t *aa_doc(const json_t *src, int k, int half)
{
	json_t *d = json_deep_copy(src), *a, *x;
	long reps = run_reps(src), boots = run_boots(src);
	size_t i;

	if (!d)
		return NULL;
	json_object_del(d, "comparisons");
	a = json_object_get(d, "results");
	json_array_foreach (a, i, x) {
		json_t *s = json_object_get(x, "samples"), *b = json_object_get(x, "boot");
		json_t *ns = json_array(), *nb = json_is_array(b) ? json_array() : NULL;
		size_t n = json_array_size(s), nkeys = n;
		json_int_t minb = 0, maxb = 0;
		long *rep = n ? malloc(n * sizeof(*rep)) : NULL;
		int known = rep && row_reps(src, x, rep, n), by_rep_boot = 0;
		json_t *nr = known ? json_array() : NULL;

		/* a row spanning several boots is split by boot: repetitions of one boot stay
		 * together (they share the boot; and within a boot the target rotation makes the
		 * first and second repetition differ systematically) */
		for (size_t j = 0; nb && j < n; j++) {
			json_int_t v = json_integer_value(json_array_get(b, j));

			minb = j == 0 || v < minb ? v : minb;
			maxb = j == 0 || v > maxb ? v : maxb;
		}
		if (nb && maxb > minb) {
			nkeys = (size_t)(maxb - minb + 1);
		} else if (!nb && known && boots >= 2 && reps >= boots) {
			/* a native row of a run with boots: its repetition r ran next to the VM's
			 * boot r * boots / reps, so it goes with that boot (the paired ratio units
			 * stay paired in each half) */
			nkeys = (size_t)boots;
			by_rep_boot = 1;
		}
		for (size_t j = 0; j < n; j++) {
			size_t key = j;

			if (by_rep_boot) {
				/* boot g holds repetitions [g*reps/boots, (g+1)*reps/boots) */
				key = 0;
				while ((long)key + 1 < boots &&
				       rep[j] >= ((long)key + 1) * reps / boots)
					key++;
			} else if (nkeys != n) {
				key = (size_t)(json_integer_value(json_array_get(b, j)) - minb);
			}
			if (nkeys < 2 ? half == 0 : aa_half(key, nkeys, k, half)) {
				json_array_append(ns, json_array_get(s, j));
				if (nb)
					json_array_append(nb, json_array_get(b, j));
				if (nr)
					json_array_append_new(nr, json_integer(rep[j]));
			}
		}
		free(rep);
		json_object_set_new(x, "samples", ns);
		json_object_set_new(x, "n", json_integer((json_int_t)json_array_size(ns)));
		if (nb)
			json_object_set_new(x, "boot", nb);
		if (nr)
			json_object_set_new(x, "rep", nr);
	}
	return d;
}

static void cmp_reset(struct cmp *c)
{
	free(c->rows);
	c->rows = NULL;
	c->nrows = c->cap = 0;
	memset(c->count, 0, sizeof(c->count));
	c->ngated = c->ntested = 0;
	for (size_t i = 0; i < c->nnotes; i++)
		free(c->notes[i]);
	free(c->notes);
	c->notes = NULL;
	c->nnotes = c->nmismatch = 0;
	c->fatal = 0;
	c->fatal_why[0] = '\0';
}

/* Runs the gate on split halves of one run (or on two runs); prints what it found. */
static int aa_main(struct cmp *c, FILE *out, struct hb_err *e)
{
	size_t splits = c->nbase == 1 && !c->cur ? AA_SPLITS : 1, fails = 0, alarms = 0, rows = 0;
	json_t *src = c->base[0];
	int rc = 0;

	fprintf(out, "hvbench compare --aa: %s\n",
		splits > 1 ? "one run split in halves (by boot where the VM was booted several "
			     "times, else by repetition), gate run on each split"
			   : "two runs of the same code compared");
	for (size_t k = 0; k < splits; k++) {
		if (splits > 1) {
			c->base[0] = aa_doc(src, (int)k, 0);
			c->cur = aa_doc(src, (int)k, 1);
			if (!c->base[0] || !c->cur) {
				rc = hb_err_set(e, HB_ENOMEM, "compare: out of memory");
				goto next;
			}
		}
		if ((rc = build(c, e)))
			goto next;
		fails += c->count[ST_REGRESSION] > 0;
		alarms += c->count[ST_REGRESSION];
		rows += c->ntested;
		fprintf(out, "split %zu: %zu false alarm%s in %zu tested gated metrics", k + 1,
			c->count[ST_REGRESSION], c->count[ST_REGRESSION] == 1 ? "" : "s",
			c->ntested);
		for (size_t i = 0; i < c->nrows; i++)
			if (c->rows[i].st == ST_REGRESSION)
				fprintf(out, "%s %s %s/%s", i ? "," : ":", c->rows[i].target,
					c->rows[i].workload, c->rows[i].metric);
		fputc('\n', out);
	next:
		if (splits > 1) {
			json_decref(c->base[0]);
			json_decref(c->cur);
			c->cur = NULL;
		}
		c->base[0] = src;
		if (rc)
			return rc;
		cmp_reset(c);
	}
	fprintf(out,
		"A/A: %zu of %zu comparison%s would fail the gate; %zu false alarm%s in %zu tests "
		"(observed per-metric false-alarm rate %.2g%%, gate alpha %g)\n",
		fails, splits, splits == 1 ? "" : "s", alarms, alarms == 1 ? "" : "s", rows,
		rows ? 100.0 * (double)alarms / (double)rows : 0.0, c->alpha);
	fprintf(out, "result: %s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
}

static void compare_usage(FILE *f)
{
	fputs("usage: hvbench compare BASELINE.json CURRENT.json [options]\n"
	      "       hvbench compare BASE1.json BASE2.json ... -- CURRENT.json [options]\n"
	      "       hvbench compare --aa RUN.json [RUN2.json] [options]\n"
	      "       hvbench compare --ab TARGET_A TARGET_B RUN.json [options]\n"
	      "The regression gate. A metric regresses when the Benjamini-Hochberg adjusted\n"
	      "one-sided p-value (t-test on log units: per-boot medians or repetitions) is below\n"
	      "alpha AND its change is beyond the threshold in the bad direction. Fails (exit 1)\n"
	      "also when the current run is not complete or lacks a gated metric or target.\n"
	      "  --gate MODE             both (default): VM rows by their ratio to native of the\n"
	      "                          same run, other rows absolute; ratio; absolute; all: let\n"
	      "                          diagnostics fail too (comma-separated: all,absolute)\n"
	      "  --alpha A               false-alarm rate of the gate, 0 < A < 1 (default 0.01)\n"
	      "  --threshold PCT         smallest change that can fail (default 5%)\n"
	      "  --threshold-for K=PCT   per-metric threshold; K is METRIC, WORKLOAD/METRIC or\n"
	      "                          TARGET/WORKLOAD/METRIC (most specific wins; repeatable)\n"
	      "  --strict                differing profile, targets, version or host fail the "
	      "gate\n"
	      "  --allow-missing         a failed/incomplete current run or missing metrics do "
	      "not\n"
	      "                          fail (they are still listed)\n"
	      "  --ab                    A/B in one run: TARGET_B (candidate) against TARGET_A\n"
	      "                          (baseline) of the same RUN.json (two targets that differ\n"
	      "                          in one option); paired by boot (the launch order as a\n"
	      "                          block when both orders occur), else by repetition\n"
	      "                          (--gate: only all applies)\n"
	      "  --aa                    A/A self-test: split one run in halves (8 splits), or\n"
	      "                          compare two runs of the same code; prints false alarms\n"
	      "  --junit FILE            also write JUnit XML (one testcase per gated metric)\n"
	      "  --format F              text (default), json or md\n"
	      "  --all                   text: list unchanged rows too\n"
	      "  --baseline-from db:last=K  instead of BASELINE.json ...: the last K complete "
	      "runs\n"
	      "                          of CURRENT's profile on its host from the history store,\n"
	      "                          each a baseline run\n"
	      "  --db STORE              the history store (default $HVBENCH_DB, else\n"
	      "                          $XDG_DATA_HOME/hvbench/history.db)\n"
	      "Exit status: 0 pass, 1 fail (regression, missing, failed run, --strict mismatch),\n"
	      "2 usage or input error.\n",
	      f);
}

static int parse_gate(struct cmp *c, const char *arg)
{
	char buf[128], *save = NULL, *tok;

	if (hb_strlcpy(buf, arg, sizeof(buf)))
		return HB_EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "both"))
			c->mode = MODE_BOTH;
		else if (!strcmp(tok, "ratio"))
			c->mode = MODE_RATIO;
		else if (!strcmp(tok, "absolute"))
			c->mode = MODE_ABSOLUTE;
		else if (!strcmp(tok, "all"))
			c->all_roles = 1;
		else
			return HB_EINVAL;
	}
	return 0;
}

/*
 * --ab: loads RUN.json as the current run (and as the one baseline document, so what reads the
 * baselines' samples reads this run's) and checks that both targets are in it: a target not in
 * the run is an input error naming the targets it has.
 */
static int ab_open(struct cmp *c, const char *a, const char *b, const char *path, FILE *err)
{
	struct hb_err e = {0};
	const json_t *t, *x;
	char names[600] = "", near[600];
	const char *cand[64];
	size_t i, n = 0;

	if (!strcmp(a, b)) {
		fprintf(err, "hvbench compare: --ab: TARGET_A and TARGET_B are both \"%s\"\n", a);
		return HB_EINVAL;
	}
	c->cpath = path;
	if (hb_results_load(path, &c->cur, &e)) {
		fprintf(err, "hvbench compare: %s\n", e.msg);
		return e.code ? e.code : HB_EINVAL;
	}
	c->base[0] = json_incref(c->cur);
	c->bpath[0] = path;
	c->nbase = 1;
	t = json_object_get(c->cur, "targets");
	json_array_foreach (t, i, x) {
		size_t l = strlen(names);

		if (n < HB_ARRAY_SIZE(cand))
			cand[n++] = hb_j_str(x, "name", "?");
		snprintf(names + l, sizeof(names) - l, "%s%s", i ? ", " : "",
			 hb_j_str(x, "name", "?"));
	}
	for (int s = 0; s < 2; s++) {
		const char *name = s ? b : a;

		if (hb_j_target(c->cur, name))
			continue;
		fprintf(err, "hvbench compare: --ab: no target \"%s\" in %s (its targets: %s)%s\n",
			name, path, n ? names : "none",
			hb_suggest(near, sizeof(near), name, cand, n));
		return HB_EINVAL;
	}
	c->ab_a = a;
	c->ab_b = b;
	return 0;
}

int hb_compare_main(int argc, char **argv, FILE *out, FILE *err,
		    const struct hb_baseline_source *src)
{
	static const struct option lopts[] = {
		{"alpha", required_argument, NULL, 'a'},
		{"threshold", required_argument, NULL, 't'},
		{"threshold-for", required_argument, NULL, 'T'},
		{"junit", required_argument, NULL, 'j'},
		{"format", required_argument, NULL, 'f'},
		{"gate", required_argument, NULL, 'g'},
		{"strict", no_argument, NULL, 's'},
		{"allow-missing", no_argument, NULL, 'm'},
		{"aa", no_argument, NULL, 'A'},
		{"ab", no_argument, NULL, 'b'},
		{"all", no_argument, NULL, 'l'},
		{"baseline-from", required_argument, NULL, 'B'},
		{"db", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmp *c = calloc(1, sizeof(*c));
	struct hb_err e = {0};
	const char *junit = NULL, *format = "text", *files[MAX_RUNS + 1];
	int opt, rc = 2, dashdash = -1, nfiles = 0, aa = 0, ab = 0;
	char **av = NULL;
	const char *curarg = NULL;
	const char *from = NULL, *db = NULL;
	json_t **sdocs = NULL;
	size_t nsdocs = 0;
	char from_names[MAX_RUNS][64];

	if (!c) {
		fprintf(err, "hvbench compare: out of memory\n");
		return 2;
	}
	c->option_default = src ? src->option_default : NULL;
	c->alpha = 0.01;
	c->threshold = 0.05;
	c->mode = MODE_BOTH;
	/* "--" separates the baselines from the current run (the one file right after it);
	 * options may stand anywhere, so it is taken out before getopt sees it */
	av = calloc((size_t)argc + 1, sizeof(*av));
	if (!av) {
		fprintf(err, "hvbench compare: out of memory\n");
		free(c);
		return 2;
	}
	for (int i = 0, k = 0; i < argc; i++) {
		if (dashdash < 0 && !strcmp(argv[i], "--")) {
			dashdash = i;
			curarg = i + 1 < argc ? argv[i + 1] : NULL;
			continue;
		}
		av[k++] = argv[i];
	}
	if (dashdash >= 0)
		argc--;
	argv = av;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			if (hb_parse_double(optarg, 0, 1, &c->alpha) || c->alpha <= 0 ||
			    c->alpha >= 1) {
				fprintf(err,
					"hvbench compare: --alpha: \"%s\" is not a number in (0, "
					"1)\n",
					optarg);
				goto out;
			}
			break;
		case 't':
			if (parse_pct(optarg, &c->threshold)) {
				fprintf(err,
					"hvbench compare: --threshold: \"%s\" is not a percentage "
					"such as 5%%\n",
					optarg);
				goto out;
			}
			break;
		case 'T': {
			const char *eq = strrchr(optarg, '=');
			struct thr *t;

			if (!eq || eq == optarg || c->nthr == MAX_THRESHOLDS ||
			    (size_t)(eq - optarg) >= sizeof(c->thr[0].key)) {
				fprintf(err,
					"hvbench compare: --threshold-for: \"%s\" is not "
					"METRIC=PCT\n",
					optarg);
				goto out;
			}
			t = &c->thr[c->nthr];
			memcpy(t->key, optarg, (size_t)(eq - optarg));
			t->key[eq - optarg] = '\0';
			if (parse_pct(eq + 1, &t->v)) {
				fprintf(err,
					"hvbench compare: --threshold-for: \"%s\" is not a "
					"percentage\n",
					eq + 1);
				goto out;
			}
			c->nthr++;
			break;
		}
		case 'j': junit = optarg; break;
		case 'B': from = optarg; break;
		case 'D': db = optarg; break;
		case 'f':
			format = optarg;
			if (strcmp(format, "text") && strcmp(format, "json") &&
			    strcmp(format, "md")) {
				fprintf(err,
					"hvbench compare: --format: \"%s\" is not text, json or "
					"md\n",
					optarg);
				goto out;
			}
			break;
		case 'g':
			if (parse_gate(c, optarg)) {
				fprintf(err,
					"hvbench compare: --gate: \"%s\" is not both, ratio, "
					"absolute or all\n",
					optarg);
				goto out;
			}
			break;
		case 's': c->strict = 1; break;
		case 'm': c->allow_missing = 1; break;
		case 'A': aa = 1; break;
		case 'b': ab = 1; break;
		case 'l': c->list_all = 1; break;
		case 'h':
			compare_usage(out);
			rc = 0;
			goto out;
		default:
			fprintf(err, "hvbench compare: unknown or incomplete option \"%s\"\n",
				argv[optind - 1]);
			compare_usage(err);
			goto out;
		}
	}
	for (int i = optind; i < argc && nfiles < MAX_RUNS + 1; i++)
		if (argv[i] != curarg)
			files[nfiles++] = argv[i];
	if (ab) {
		if (aa || from || dashdash >= 0 || nfiles != 3) {
			fprintf(err,
				"hvbench compare: --ab takes TARGET_A TARGET_B RUN.json (and no "
				"--aa, --baseline-from or --)\n");
			compare_usage(err);
			goto out;
		}
		if (ab_open(c, files[0], files[1], files[2], err))
			goto out;
		goto checked;
	}
	if (from) {
		/* the history store materialises the baselines: one document per stored run */
		if (nfiles != 1 || dashdash >= 0 || aa) {
			fprintf(err,
				"hvbench compare: with --baseline-from give only CURRENT.json\n");
			goto out;
		}
		if (!src) {
			fprintf(err, "hvbench compare: --baseline-from needs the history store\n");
			goto out;
		}
		c->cpath = files[0];
		if (hb_results_load(c->cpath, &c->cur, &e) ||
		    src->load(db, from, c->cur, &sdocs, &nsdocs, &e)) {
			fprintf(err, "hvbench compare: %s\n", e.msg);
			goto out;
		}
		for (size_t i = 0; i < nsdocs && c->nbase < MAX_RUNS; i++) {
			hb_snprintf(from_names[c->nbase], sizeof(from_names[0]), "%s #%zu", from,
				    i + 1);
			c->bpath[c->nbase] = from_names[c->nbase];
			c->base[c->nbase++] = json_incref(sdocs[i]);
		}
		goto checked;
	}
	if (dashdash >= 0) {
		if (!curarg || nfiles < 1 || aa || argc - optind != nfiles + 1) {
			fprintf(err, "hvbench compare: give BASELINE.json ... -- CURRENT.json (one "
				     "current run after --, at least one baseline before it)\n");
			compare_usage(err);
			goto out;
		}
		files[nfiles++] = curarg;
	} else if (aa ? (nfiles < 1 || nfiles > 2) : nfiles != 2) {
		fprintf(err, "hvbench compare: need %s (got %d file%s)\n",
			aa ? "RUN.json or two runs of the same code"
			   : "BASELINE.json and CURRENT.json",
			nfiles, nfiles == 1 ? "" : "s");
		compare_usage(err);
		goto out;
	}
	if (nfiles - 1 > MAX_RUNS) {
		fprintf(err, "hvbench compare: at most %d baselines\n", MAX_RUNS);
		goto out;
	}
	c->nbase = aa && nfiles == 1 ? 1 : (size_t)(nfiles - 1);
	for (size_t i = 0; i < c->nbase; i++) {
		c->bpath[i] = files[i];
		if (hb_results_load(files[i], &c->base[i], &e)) {
			fprintf(err, "hvbench compare: %s\n", e.msg);
			goto out;
		}
	}
	if (!(aa && nfiles == 1)) {
		c->cpath = files[nfiles - 1];
		if (hb_results_load(c->cpath, &c->cur, &e)) {
			fprintf(err, "hvbench compare: %s\n", e.msg);
			goto out;
		}
	} else {
		c->cpath = files[0];
	}
	if (aa) {
		int arc = aa_main(c, out, &e);

		if (arc < 0)
			fprintf(err, "hvbench compare: %s\n", e.msg);
		rc = arc < 0 ? 2 : arc;
		goto out;
	}
checked:
	if (c->ab_a)
		ab_checks(c);
	else
		run_checks(c);
	if ((c->ab_a ? ab_build(c, &e) : build(c, &e))) {
		fprintf(err, "hvbench compare: %s\n", e.msg);
		goto out;
	}
	if (!strcmp(format, "json")) {
		if (out_json(c, out)) {
			fprintf(err, "hvbench compare: cannot write the JSON output\n");
			goto out;
		}
	} else if (!strcmp(format, "md")) {
		out_md(c, out);
	} else {
		out_text(c, out);
	}
	if (junit && write_junit(c, junit, &e)) {
		fprintf(err, "hvbench compare: %s\n", e.msg);
		goto out;
	}
	rc = failed(c) ? 1 : 0;
out:
	fflush(out);
	for (size_t i = 0; i < c->nbase; i++)
		json_decref(c->base[i]);
	json_decref(c->cur);
	if (sdocs)
		src->free_docs(sdocs, nsdocs);
	cmp_reset(c);
	free(c);
	free(av);
	return rc;
}
