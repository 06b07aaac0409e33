/*
 * compare.c — `hvbench compare`, the CI regression gate. For every (target, workload, metric)
 * in a baseline and a current results file it compares the sample medians, runs a one-sided
 * permutation test in the bad direction (from higher_is_better) and calls a regression only
 * when p < alpha AND the change is beyond the threshold in the bad direction. Improvements are
 * reported and never fail; metrics on one side only are listed; when the sample counts are too
 * small for any p below alpha the output says so instead of pretending to have tested.
 * Output as text, JSON or Markdown, plus optional JUnit XML.
 */
#include "rep_int.h"
#include "stats.h"
#include "store.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THRESHOLDS 64

enum cmp_status {
	ST_REGRESSION,
	ST_IMPROVED,
	ST_UNCHANGED,
	ST_NOT_SIGNIFICANT,
	ST_UNTESTABLE,
	ST_NO_SAMPLES,
	ST_BASE_ONLY,
	ST_CUR_ONLY,
	ST_COUNT
};

static const char *st_name[ST_COUNT] = {
	"regression",  "improved",   "unchanged",	 "not significant",
	"n too small", "no samples", "only in baseline", "only in current",
};

struct cmp_row {
	const char *target, *workload, *metric, *unit;
	int hib;
	enum cmp_status st;
	size_t nb, nc;
	double mb, mc, change, p_bad, p_good, min_p, threshold;
};

struct thr {
	char key[192];
	double v;
};

struct cmp {
	double alpha, threshold;
	struct thr thr[MAX_THRESHOLDS];
	size_t nthr;
	const char *bpath, *cpath;
	json_t *base, *cur;
	struct cmp_row *rows;
	size_t nrows, cap;
	size_t count[ST_COUNT];
	size_t n_small; /* rows with data on both sides whose smallest p >= alpha */
	double small_min_p;
	size_t small_nb, small_nc;
};

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

static struct cmp_row *new_row(struct cmp *c, const json_t *res)
{
	struct cmp_row *r;

	if (c->nrows == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		struct cmp_row *n = realloc(c->rows, nc * sizeof(*n));

		if (!n)
			return NULL;
		c->rows = n;
		c->cap = nc;
	}
	r = &c->rows[c->nrows++];
	memset(r, 0, sizeof(*r));
	r->target = hb_j_str(res, "target", "");
	r->workload = hb_j_str(res, "workload", "");
	r->metric = hb_j_str(res, "metric", "");
	r->unit = hb_j_str(res, "unit", "");
	r->hib = hb_j_bool(res, "higher_is_better", 1);
	r->mb = r->mc = r->change = r->p_bad = r->p_good = r->min_p = NAN;
	return r;
}

static int judge(struct cmp *c, struct cmp_row *r, const json_t *bres, const json_t *cres,
		 struct hb_err *e)
{
	double *bs = NULL, *cs = NULL, bad;

	if (strcmp(hb_j_str(bres, "unit", ""), hb_j_str(cres, "unit", "")))
		return hb_err_set(e, HB_EINVAL,
				  "%s/%s/%s: unit \"%s\" in the baseline but \"%s\" now", r->target,
				  r->workload, r->metric, hb_j_str(bres, "unit", ""),
				  hb_j_str(cres, "unit", ""));
	if (hb_j_bool(bres, "higher_is_better", 1) != hb_j_bool(cres, "higher_is_better", 1))
		return hb_err_set(e, HB_EINVAL,
				  "%s/%s/%s: higher_is_better differs between the files", r->target,
				  r->workload, r->metric);
	r->threshold = threshold_for(c, r->target, r->workload, r->metric);
	r->nb = hb_j_samples(bres, &bs);
	r->nc = hb_j_samples(cres, &cs);
	if (!r->nb || !r->nc) {
		r->st = ST_NO_SAMPLES;
		goto out;
	}
	r->mb = hb_median(bs, r->nb);
	r->mc = hb_median(cs, r->nc);
	if (r->mb != 0)
		r->change = (r->mc - r->mb) / fabs(r->mb);
	else
		r->change = r->mc == 0 ? 0 : (r->mc > 0 ? INFINITY : -INFINITY);
	r->p_bad = hb_perm_test(bs, r->nb, cs, r->nc, r->hib);
	r->p_good = hb_perm_test(bs, r->nb, cs, r->nc, !r->hib);
	r->min_p = hb_perm_min_p(r->nb, r->nc);
	if (r->min_p >= c->alpha) {
		c->n_small++;
		if (c->n_small == 1 || r->min_p > c->small_min_p) {
			c->small_min_p = r->min_p;
			c->small_nb = r->nb;
			c->small_nc = r->nc;
		}
	}
	bad = r->hib ? -r->change : r->change;
	if (bad > r->threshold)
		r->st = r->p_bad < c->alpha    ? ST_REGRESSION
			: r->min_p >= c->alpha ? ST_UNTESTABLE
					       : ST_NOT_SIGNIFICANT;
	else if (-bad > r->threshold)
		r->st = r->p_good < c->alpha   ? ST_IMPROVED
			: r->min_p >= c->alpha ? ST_UNTESTABLE
					       : ST_NOT_SIGNIFICANT;
	else
		r->st = ST_UNCHANGED;
out:
	free(bs);
	free(cs);
	return 0;
}

static int build(struct cmp *c, struct hb_err *e)
{
	const json_t *br = json_object_get(c->base, "results"),
		     *cr = json_object_get(c->cur, "results");
	const json_t *x;
	size_t i;
	int rc;

	json_array_foreach (br, i, x) {
		struct cmp_row *r = new_row(c, x);
		const json_t *other;

		if (!r)
			return hb_err_set(e, HB_ENOMEM, "compare: out of memory");
		other = hb_j_result(c->cur, r->target, r->workload, r->metric);
		if (!other)
			r->st = ST_BASE_ONLY;
		else if ((rc = judge(c, r, x, other, e)))
			return rc;
	}
	json_array_foreach (cr, i, x) {
		struct cmp_row *r;

		if (hb_j_result(c->base, hb_j_str(x, "target", ""), hb_j_str(x, "workload", ""),
				hb_j_str(x, "metric", "")))
			continue;
		r = new_row(c, x);
		if (!r)
			return hb_err_set(e, HB_ENOMEM, "compare: out of memory");
		r->st = ST_CUR_ONLY;
	}
	for (i = 0; i < c->nrows; i++)
		c->count[c->rows[i].st]++;
	return 0;
}

static void fmt_change(double ch, char *buf, size_t len)
{
	if (!isfinite(ch))
		hb_strlcpy(buf, isnan(ch) ? "n/a" : (ch > 0 ? "+inf" : "-inf"), len);
	else
		snprintf(buf, len, "%+.1f%%", ch * 100.0);
}

static void fmt_p(double p, char *buf, size_t len)
{
	if (isnan(p))
		hb_strlcpy(buf, "n/a", len);
	else
		snprintf(buf, len, "%.3g", p);
}

/* One sentence per regression, used by text/md output and JUnit failures. */
static void describe(const struct cmp *c, const struct cmp_row *r, char *buf, size_t len)
{
	char mb[32], mc[32], ch[32], p[32], pg[32], th[32];

	hb_fmt_value(r->mb, mb, sizeof(mb));
	hb_fmt_value(r->mc, mc, sizeof(mc));
	fmt_change(r->change, ch, sizeof(ch));
	fmt_p(r->p_bad, p, sizeof(p));
	fmt_p(r->p_good, pg, sizeof(pg));
	hb_fmt_pct(r->threshold, th, sizeof(th));
	switch (r->st) {
	case ST_REGRESSION:
		snprintf(buf, len,
			 "%s -> %s %s (%s, %s is better; n %zu vs %zu; p = %s < alpha %g; "
			 "threshold %s%%)",
			 mb, mc, r->unit, ch, r->hib ? "higher" : "lower", r->nb, r->nc, p,
			 c->alpha, th);
		break;
	case ST_IMPROVED:
		snprintf(buf, len,
			 "%s -> %s %s (%s, %s is better; n %zu vs %zu; p(improvement) = %s)", mb,
			 mc, r->unit, ch, r->hib ? "higher" : "lower", r->nb, r->nc, pg);
		break;
	case ST_NOT_SIGNIFICANT:
		snprintf(buf, len,
			 "%s -> %s %s (%s beyond the %s%% threshold but p = %s / "
			 "p(improvement) = %s >= alpha %g: within noise)",
			 mb, mc, r->unit, ch, th, p, pg, c->alpha);
		break;
	case ST_UNTESTABLE:
		snprintf(buf, len,
			 "%s -> %s %s (%s beyond the %s%% threshold, but with n %zu vs %zu "
			 "the smallest achievable p is %.3g >= alpha %g)",
			 mb, mc, r->unit, ch, th, r->nb, r->nc, r->min_p, c->alpha);
		break;
	case ST_NO_SAMPLES:
		snprintf(buf, len, "no samples on one side (n %zu vs %zu)", r->nb, r->nc);
		break;
	case ST_BASE_ONLY: snprintf(buf, len, "present in the baseline only"); break;
	case ST_CUR_ONLY: snprintf(buf, len, "present in the current run only"); break;
	default: snprintf(buf, len, "%s -> %s %s (%s)", mb, mc, r->unit, ch);
	}
}

static void small_n_line(const struct cmp *c, FILE *out, const char *prefix)
{
	if (!c->n_small)
		return;
	fprintf(out,
		"%sn too small for alpha=%g: %zu metric(s) cannot reach p < alpha (e.g. %zu vs "
		"%zu samples: smallest achievable p = %.3g), so the gate cannot fail on them. "
		"Use >= 6 repetitions per side (smallest p 6/924 = 0.0065) or a larger alpha.\n",
		prefix, c->alpha, c->n_small, c->small_nb, c->small_nc, c->small_min_p);
}

static void out_text(const struct cmp *c, FILE *out)
{
	char name[512], mb[32], mc[32], ch[32], p[32], th[32], d[1024];

	hb_fmt_pct(c->threshold, th, sizeof(th));
	fprintf(out, "hvbench compare: baseline %s (%s) vs current %s (%s)\n", c->bpath,
		hb_j_str(c->base, "started_at", "?"), c->cpath,
		hb_j_str(c->cur, "started_at", "?"));
	fprintf(out, "alpha %g (one-sided permutation test, bad direction), threshold %s%%",
		c->alpha, th);
	for (size_t i = 0; i < c->nthr; i++) {
		char t2[32];

		hb_fmt_pct(c->thr[i].v, t2, sizeof(t2));
		fprintf(out, ", %s: %s%%", c->thr[i].key, t2);
	}
	fprintf(out, "\n\n%-16s %-14s %-36s %12s %12s %9s %8s  %s\n", "status", "target",
		"workload/metric", "baseline", "current", "change", "p", "unit");
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		if (r->st == ST_BASE_ONLY || r->st == ST_CUR_ONLY)
			continue;
		snprintf(name, sizeof(name), "%s/%s", r->workload, r->metric);
		hb_fmt_value(r->mb, mb, sizeof(mb));
		hb_fmt_value(r->mc, mc, sizeof(mc));
		fmt_change(r->change, ch, sizeof(ch));
		fmt_p(r->p_bad, p, sizeof(p));
		fprintf(out, "%-16s %-14s %-36s %12s %12s %9s %8s  %s\n",
			r->st == ST_REGRESSION ? "REGRESSION" : st_name[r->st], r->target, name, mb,
			mc, ch, p, r->unit);
	}
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		if (r->st == ST_BASE_ONLY || r->st == ST_CUR_ONLY)
			fprintf(out, "%s: %s %s/%s (%s)\n", st_name[r->st], r->target, r->workload,
				r->metric, r->unit);
	}
	fputc('\n', out);
	small_n_line(c, out, "");
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		if (r->st != ST_REGRESSION && r->st != ST_IMPROVED)
			continue;
		describe(c, r, d, sizeof(d));
		fprintf(out, "%s: %s %s/%s: %s\n",
			r->st == ST_REGRESSION ? "REGRESSION" : "improved", r->target, r->workload,
			r->metric, d);
	}
	fprintf(out,
		"summary: %zu regression(s), %zu improved, %zu unchanged, %zu not significant, "
		"%zu n too small, %zu no samples, %zu only in baseline, %zu only in current\n",
		c->count[ST_REGRESSION], c->count[ST_IMPROVED], c->count[ST_UNCHANGED],
		c->count[ST_NOT_SIGNIFICANT], c->count[ST_UNTESTABLE], c->count[ST_NO_SAMPLES],
		c->count[ST_BASE_ONLY], c->count[ST_CUR_ONLY]);
	fprintf(out, "result: %s\n", c->count[ST_REGRESSION] ? "REGRESSION" : "no regression");
}

static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++)
		fputs(*s == '|' ? "\\|" : (char[2]){*s, 0}, out);
}

static void out_md(const struct cmp *c, FILE *out)
{
	char mb[32], mc[32], ch[32], p[32], th[32];

	hb_fmt_pct(c->threshold, th, sizeof(th));
	fprintf(out,
		"## hvbench compare\n\nBaseline `%s` (%s) vs current `%s` (%s); alpha %g, "
		"threshold %s%%.\n\n**%s**: %zu regression(s), %zu improved, %zu unchanged, "
		"%zu not significant, %zu n too small, %zu only in baseline, %zu only in "
		"current.\n\n",
		c->bpath, hb_j_str(c->base, "started_at", "?"), c->cpath,
		hb_j_str(c->cur, "started_at", "?"), c->alpha, th,
		c->count[ST_REGRESSION] ? "REGRESSION" : "No regression", c->count[ST_REGRESSION],
		c->count[ST_IMPROVED], c->count[ST_UNCHANGED], c->count[ST_NOT_SIGNIFICANT],
		c->count[ST_UNTESTABLE], c->count[ST_BASE_ONLY], c->count[ST_CUR_ONLY]);
	small_n_line(c, out, "> ");
	if (c->n_small)
		fputc('\n', out);
	fputs("| status | target | workload/metric | baseline | current | change | p | unit |\n"
	      "|---|---|---|---|---|---|---|---|\n",
	      out);
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		hb_fmt_value(r->mb, mb, sizeof(mb));
		hb_fmt_value(r->mc, mc, sizeof(mc));
		fmt_change(r->change, ch, sizeof(ch));
		fmt_p(r->p_bad, p, sizeof(p));
		fprintf(out, "| %s | ", r->st == ST_REGRESSION ? "**REGRESSION**" : st_name[r->st]);
		md_cell(out, r->target);
		fputs(" | ", out);
		md_cell(out, r->workload);
		fputc('/', out);
		md_cell(out, r->metric);
		fprintf(out, " | %s | %s | %s | %s | ", mb, mc, ch, p);
		md_cell(out, r->unit);
		fputs(" |\n", out);
	}
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static int out_json(const struct cmp *c, FILE *out)
{
	json_t *root = json_object(), *rows = json_array(), *sum = json_object();
	char note[512];
	int rc = 0;

	if (!root || !rows || !sum) {
		json_decref(root);
		json_decref(rows);
		json_decref(sum);
		return HB_ENOMEM;
	}
	json_object_set_new(root, "schema", json_string("hvbench/compare/1"));
	json_object_set_new(root, "baseline", json_string(c->bpath));
	json_object_set_new(root, "current", json_string(c->cpath));
	json_object_set_new(root, "alpha", json_real(c->alpha));
	json_object_set_new(root, "threshold", json_real(c->threshold));
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];
		json_t *o = json_object();

		json_object_set_new(o, "status", json_string(st_name[r->st]));
		json_object_set_new(o, "target", json_string(r->target));
		json_object_set_new(o, "workload", json_string(r->workload));
		json_object_set_new(o, "metric", json_string(r->metric));
		json_object_set_new(o, "unit", json_string(r->unit));
		json_object_set_new(o, "higher_is_better", json_boolean(r->hib));
		json_object_set_new(o, "n_baseline", json_integer((json_int_t)r->nb));
		json_object_set_new(o, "n_current", json_integer((json_int_t)r->nc));
		json_object_set_new(o, "baseline_median", num_or_null(r->mb));
		json_object_set_new(o, "current_median", num_or_null(r->mc));
		json_object_set_new(o, "change", num_or_null(r->change));
		json_object_set_new(o, "p", num_or_null(r->p_bad));
		json_object_set_new(o, "p_improvement", num_or_null(r->p_good));
		json_object_set_new(o, "min_p", num_or_null(r->min_p));
		json_object_set_new(o, "threshold", num_or_null(r->threshold));
		json_array_append_new(rows, o);
	}
	json_object_set_new(root, "rows", rows);
	for (int s = 0; s < ST_COUNT; s++)
		json_object_set_new(sum, st_name[s], json_integer((json_int_t)c->count[s]));
	json_object_set_new(root, "summary", sum);
	json_object_set_new(root, "regression", json_boolean(c->count[ST_REGRESSION] > 0));
	if (c->n_small) {
		snprintf(note, sizeof(note),
			 "n too small for alpha=%g: %zu metric(s) cannot reach "
			 "p < alpha (smallest achievable p %.3g with %zu vs %zu samples)",
			 c->alpha, c->n_small, c->small_min_p, c->small_nb, c->small_nc);
		json_object_set_new(root, "note", json_string(note));
	}
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

static int write_junit(const struct cmp *c, const char *path, struct hb_err *e)
{
	char *buf = NULL, d[1024], mb[32], mc[32], ch[32], p[32];
	size_t len = 0, tests = 0, skipped = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return hb_err_set(e, HB_ENOMEM, "junit: out of memory");
	for (size_t i = 0; i < c->nrows; i++) {
		enum cmp_status s = c->rows[i].st;

		tests++;
		skipped += s == ST_BASE_ONLY || s == ST_CUR_ONLY || s == ST_UNTESTABLE ||
			   s == ST_NO_SAMPLES;
	}
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		"<testsuite name=\"hvbench compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"%zu\">\n",
		tests, c->count[ST_REGRESSION], skipped);
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];

		fputs("  <testcase classname=\"hvbench.", f);
		xml_esc(f, r->target);
		fputs("\" name=\"", f);
		xml_esc(f, r->workload);
		fputc('/', f);
		xml_esc(f, r->metric);
		fputs("\" time=\"0\"", f);
		describe(c, r, d, sizeof(d));
		switch (r->st) {
		case ST_REGRESSION:
			hb_fmt_value(r->mb, mb, sizeof(mb));
			hb_fmt_value(r->mc, mc, sizeof(mc));
			fmt_change(r->change, ch, sizeof(ch));
			fmt_p(r->p_bad, p, sizeof(p));
			fputs(">\n    <failure type=\"regression\" message=\"regression: ", f);
			xml_esc(f, d);
			fputs("\">", f);
			fprintf(f, "baseline median: %s ", mb);
			xml_esc(f, r->unit);
			fprintf(f, " (n=%zu)\ncurrent median: %s ", r->nb, mc);
			xml_esc(f, r->unit);
			fprintf(f,
				" (n=%zu)\nchange: %s\np: %s (alpha %g)\n</failure>\n  "
				"</testcase>\n",
				r->nc, ch, p, c->alpha);
			break;
		case ST_BASE_ONLY:
		case ST_CUR_ONLY:
		case ST_UNTESTABLE:
		case ST_NO_SAMPLES:
			fputs(">\n    <skipped message=\"", f);
			xml_esc(f, st_name[r->st]);
			fputs(": ", f);
			xml_esc(f, d);
			fputs("\"/>\n  </testcase>\n", f);
			break;
		default:
			fputs(">\n    <system-out>", f);
			xml_esc(f, st_name[r->st]);
			fputs(": ", f);
			xml_esc(f, d);
			fputs("</system-out>\n  </testcase>\n", f);
		}
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

static void compare_usage(FILE *f)
{
	fputs("usage: hvbench compare BASELINE.json CURRENT.json [--alpha 0.01] [--threshold 5%]\n"
	      "                       [--threshold-for METRIC=PCT] [--junit FILE]\n"
	      "                       [--format text|json|md]\n"
	      "Compares every (target, workload, metric) of CURRENT with BASELINE. A regression "
	      "is\n"
	      "a one-sided permutation test p < alpha in the bad direction (from "
	      "higher_is_better)\n"
	      "AND a change of the median beyond the threshold in that direction. Improvements "
	      "are\n"
	      "reported and never fail; metrics on one side only are listed.\n"
	      "  --alpha A               significance level, 0 < A < 1 (default 0.01)\n"
	      "  --threshold PCT         noise threshold in percent (default 5%)\n"
	      "  --threshold-for K=PCT   per-metric threshold; K is METRIC, WORKLOAD/METRIC or\n"
	      "                          TARGET/WORKLOAD/METRIC (most specific wins; repeatable)\n"
	      "  --junit FILE            also write JUnit XML (one testcase per metric and "
	      "target)\n"
	      "  --format F              text (default), json or md\n"
	      "  --baseline-from db:last=K  instead of BASELINE.json: the last K complete runs of\n"
	      "                          CURRENT's profile on its host from the history store\n"
	      "                          (samples pooled)\n"
	      "  --db STORE              the history store (default $HVBENCH_DB, else\n"
	      "                          $XDG_DATA_HOME/hvbench/history.db)\n"
	      "With n samples per side the smallest achievable p is limited (3 vs 3: 0.1,\n"
	      "6 vs 6: 0.0065); such metrics are reported as \"n too small\" and cannot fail.\n"
	      "Exit status: 0 no regression, 1 regression, 2 usage or input error.\n",
	      f);
}

int hb_compare_main(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option lopts[] = {
		{"alpha", required_argument, NULL, 'a'},
		{"threshold", required_argument, NULL, 't'},
		{"threshold-for", required_argument, NULL, 'T'},
		{"junit", required_argument, NULL, 'j'},
		{"format", required_argument, NULL, 'f'},
		{"baseline-from", required_argument, NULL, 'B'},
		{"db", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmp *c = calloc(1, sizeof(*c));
	struct hb_err e = {0};
	const char *junit = NULL, *format = "text", *from = NULL, *db = NULL;
	char from_name[600];
	int opt, rc = 2;

	if (!c) {
		fprintf(err, "hvbench compare: out of memory\n");
		return 2;
	}
	c->alpha = 0.01;
	c->threshold = 0.05;
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
	if (from) {
		/* the history store materialises the baseline; the gate below is unchanged */
		if (argc - optind != 1) {
			fprintf(err,
				"hvbench compare: with --baseline-from give only CURRENT.json\n");
			goto out;
		}
		c->cpath = argv[optind];
		if (hb_results_load(c->cpath, &c->cur, &e) ||
		    hb_store_baseline(db, from, c->cur, &c->base, from_name, sizeof(from_name),
				      &e) ||
		    build(c, &e)) {
			fprintf(err, "hvbench compare: %s\n", e.msg);
			goto out;
		}
		c->bpath = from_name;
	} else if (argc - optind != 2) {
		fprintf(err,
			"hvbench compare: need exactly BASELINE.json and CURRENT.json (got %d "
			"file%s)\n",
			argc - optind, argc - optind == 1 ? "" : "s");
		compare_usage(err);
		goto out;
	}
	if (!from)
		c->bpath = argv[optind], c->cpath = argv[optind + 1];
	if (!from && (hb_results_load(c->bpath, &c->base, &e) ||
		      hb_results_load(c->cpath, &c->cur, &e) || build(c, &e))) {
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
	if (c->n_small && strcmp(format, "text"))
		small_n_line(c, err, "hvbench compare: ");
	if (junit && write_junit(c, junit, &e)) {
		fprintf(err, "hvbench compare: %s\n", e.msg);
		goto out;
	}
	rc = c->count[ST_REGRESSION] ? 1 : 0;
out:
	fflush(out);
	json_decref(c->base);
	json_decref(c->cur);
	free(c->rows);
	free(c);
	return rc;
}

int hb_cmd_compare(int argc, char **argv)
{
	return hb_compare_main(argc, argv, stdout, stderr);
}
