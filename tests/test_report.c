/*
 * test_report.c — the results loader and the report renderer on committed fixtures: loader
 * errors name the place (JSON line/column, field path), oversized files are refused; the
 * Markdown results table is parsed back and every cell checked against the fixture's numbers
 * (under the documented formatting rule); sample counts and CV warnings; the HTML is
 * self-contained; PNG/SVG plots are real images (skipped with a reason without gnuplot); a
 * missing gnuplot still yields report.md/report.html; several runs give a comparison + trend.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "hb.h"
#include "report.h"
#include "stats.h"

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
}

static char *slurp(const char *dir, const char *file, size_t *len)
{
	char p[512];
	char *buf = NULL;
	struct hb_err e = {0};

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (hb_read_file(p, 64u << 20, &buf, len, &e))
		return NULL;
	return buf;
}

static int gnuplot_present(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static void mkout(char *dir, size_t len)
{
	hb_strlcpy(dir, "/tmp/hb-report-XXXXXX", len);
	assert_non_null(mkdtemp(dir));
}

static void rmout(const char *dir)
{
	hb_rmtree(dir);
}

/* ---- loader ---- */

static int load_text(const char *text, char *msg, size_t mlen)
{
	char path[] = "/tmp/hb-res-XXXXXX";
	int fd = mkstemp(path), rc;
	json_t *j = NULL;
	struct hb_err e = {0};

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = hb_results_load(path, &j, &e);
	/* strip the temp path so messages can be compared */
	hb_strlcpy(msg, strncmp(e.msg, path, strlen(path)) ? e.msg : e.msg + strlen(path), mlen);
	unlink(path);
	json_decref(j);
	return rc;
}

#define HEAD                                                                                       \
	"{\"schema\":\"hvbench/result/1\",\"started_at\":\"2026-11-26T16:40:00Z\","                \
	"\"status\":\"complete\",\"targets\":[{\"name\":\"native\",\"kind\":\"native\"}],"
#define RES(extra)                                                                                 \
	"{\"target\":\"native\",\"workload\":\"cpu\",\"kind\":\"cpu\",\"metric\":\"ops\","         \
	"\"unit\":\"ops/s\",\"higher_is_better\":true,\"samples\":[1,2,3]" extra "}"

static void test_loader_errors(void **state)
{
	char m[1024];

	assert_int_equal(load_text(HEAD "\"results\":[" RES("") "]}", m, sizeof(m)), 0);
	assert_int_equal(load_text(HEAD "\"results\":[" RES("") "]", m, sizeof(m)), HB_EINVAL);
	assert_non_null(strstr(m, ": line 1, column "));
	assert_int_equal(
		load_text("{\n \"schema\": \"hvbench/result/1\",\n \"x\": [1,,2]\n}", m, sizeof(m)),
		HB_EINVAL);
	assert_true(!strncmp(m, ": line 3, column ", 17));
	assert_int_equal(load_text("{\"schema\":\"hvbench/result/9\"}", m, sizeof(m)), HB_EINVAL);
	assert_string_equal(m, ": schema: \"hvbench/result/9\" is not \"hvbench/result/2\" (or "
			       "\"hvbench/result/1\")");
	assert_int_equal(load_text(HEAD "\"results\":[" RES("") "," RES(
					   ",\"n\":3") ","
						       "{\"target\":\"native\",\"workload\":"
						       "\"cpu\",\"kind\":\"cpu\","
						       "\"metric\":\"x\",\"unit\":\"u\",\"higher_"
						       "is_better\":true,"
						       "\"samples\":[1,\"2\"]}]}",
				   m, sizeof(m)),
			 HB_EINVAL);
	/* the duplicate is found first: results[1] repeats results[0] */
	assert_string_equal(m, ": results[1]: duplicate of results[0] (native / cpu / ops)");
	assert_int_equal(load_text(HEAD "\"results\":[" RES(
					   "") ",{\"target\":\"native\","
					       "\"workload\":\"cpu\",\"kind\":\"cpu\",\"metric\":"
					       "\"x\",\"unit\":\"u\","
					       "\"higher_is_better\":true,\"samples\":[1,\"2\"]}]}",
				   m, sizeof(m)),
			 HB_EINVAL);
	assert_string_equal(m, ": results[1].samples[1]: not a number");
	assert_int_equal(load_text(HEAD "\"results\":[" RES(",\"n\":4") "]}", m, sizeof(m)),
			 HB_EINVAL);
	assert_string_equal(m, ": results[0].n: 4 but samples holds 3");
	assert_int_equal(load_text(HEAD "\"results\":[" RES(",\"ci95\":[1]") "]}", m, sizeof(m)),
			 HB_EINVAL);
	assert_string_equal(m, ": results[0].ci95: not an array of two numbers");
	assert_int_equal(
		load_text(HEAD "\"results\":[" RES(",\"median\":\"2\"") "]}", m, sizeof(m)),
		HB_EINVAL);
	assert_string_equal(m, ": results[0].median: not a number or null");
	assert_int_equal(load_text(HEAD "\"results\":[{\"target\":\"native\"}]}", m, sizeof(m)),
			 HB_EINVAL);
	assert_string_equal(m, ": results[0].workload: missing");
	assert_int_equal(load_text("{\"schema\":\"hvbench/result/1\",\"started_at\":\"x\","
				   "\"status\":\"done\"}",
				   m, sizeof(m)),
			 HB_EINVAL);
	assert_string_equal(m, ": status: \"done\" is not complete, incomplete or failed");
	assert_int_equal(load_text(HEAD "\"results\":[],\"targets\":[]}", m, sizeof(m)), HB_EINVAL);
	assert_true(!strncmp(m, ": line 1, column ", 17)); /* duplicate key rejected */
	assert_int_equal(load_text(HEAD "\"results\":[],\"failures\":[{\"rep\":1}]}", m, sizeof(m)),
			 HB_EINVAL);
	assert_string_equal(m, ": failures[0].error: missing");
	assert_int_equal(
		load_text(HEAD "\"results\":[],\"host\":{\"cores\":\"two\"}}", m, sizeof(m)),
		HB_EINVAL);
	assert_string_equal(m, ": host.cores: not a number");
}

static void test_loader_size_limit(void **state)
{
	char path[] = "/tmp/hb-big-XXXXXX";
	int fd = mkstemp(path);
	json_t *j = NULL;
	struct hb_err e = {0};

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)HB_RESULTS_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(hb_results_load(path, &j, &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "larger than the 64 MiB"));
	assert_null(j);
	unlink(path);
}

static void test_fmt_rule(void **state)
{
	char b[64];

	hb_fmt_value(51974, b, sizeof(b));
	assert_string_equal(b, "51974");
	hb_fmt_value(123456.7, b, sizeof(b));
	assert_string_equal(b, "123457");
	hb_fmt_value(7812.34, b, sizeof(b));
	assert_string_equal(b, "7812");
	hb_fmt_value(45.678, b, sizeof(b));
	assert_string_equal(b, "45.68");
	hb_fmt_value(0.012345, b, sizeof(b));
	assert_string_equal(b, "0.01235");
	hb_fmt_value(-2.5e-5, b, sizeof(b));
	assert_string_equal(b, "-2.500e-05");
	hb_fmt_value(3.5e12 + 0.5, b, sizeof(b));
	assert_string_equal(b, "3.500e+12");
	hb_fmt_value(NAN, b, sizeof(b));
	assert_string_equal(b, "n/a");
	hb_fmt_pct(0.98234, b, sizeof(b));
	assert_string_equal(b, "98.2");
}

/* ---- hvbench/result/2 fixtures ---- */

/* The results2-* fixtures are hvbench/result/2: they carry the metric model (area, role,
 * comparison; comparisons with oriented/delta). Loaded through the validating loader. */
static json_t *load_fix2(const char *name)
{
	char p[320];
	json_t *j = NULL;
	struct hb_err e = {0};

	snprintf(p, sizeof(p), "%s/%s", fixdir, name);
	if (hb_results_load(p, &j, &e))
		fail_msg("%s", e.msg);
	return j;
}

/* Splits a Markdown table row into trimmed cells (in place); returns the count. */
static size_t split_row(char *line, char **cells, size_t max)
{
	size_t n = 0;
	char *p = line;

	if (*p != '|')
		return 0;
	p++;
	while (*p && n < max) {
		char *end = p, *s, *t;

		while (*end && !(*end == '|' && end[-1] != '\\'))
			end++;
		if (!*end)
			break;
		*end = '\0';
		s = p;
		while (*s == ' ')
			s++;
		t = s + strlen(s);
		while (t > s && t[-1] == ' ')
			*--t = '\0';
		cells[n++] = s;
		p = end + 1;
	}
	return n;
}

/* Value printed under the documented rule: integers exact, else 4 significant digits. */
static void assert_printed(const char *text, double v)
{
	char *end;
	double got = strtod(text, &end);
	double tol = v == floor(v) ? 0 : 0.5 * pow(10, floor(log10(fabs(v))) - 3) * 1.000001;

	if (end == text || fabs(got - v) > tol)
		fail_msg("cell \"%s\" does not show %.17g (tolerance %g)", text, v, tol);
}

static const json_t *find_in(const json_t *root, const char *arr, const char *t, const char *w,
			     const char *m)
{
	const json_t *x;
	size_t i;

	json_array_foreach (json_object_get(root, arr), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "target")), t) &&
		    !strcmp(json_string_value(json_object_get(x, "workload")), w) &&
		    !strcmp(json_string_value(json_object_get(x, "metric")), m))
			return x;
	return NULL;
}

static double num(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static double idx(const json_t *o, const char *k, size_t i)
{
	return json_number_value(json_array_get(json_object_get(o, k), i));
}

/* The section of md starting at "## NAME\n" up to the next "\n## " (a new string). */
static char *section(const char *md, const char *name)
{
	char h[128];
	const char *a, *b;

	snprintf(h, sizeof(h), "\n## %s\n", name);
	a = strstr(md, h);
	if (!a)
		fail_msg("no section \"%s\"", name);
	a += 1;
	b = strstr(a + 3, "\n## ");
	return strndup(a, b ? (size_t)(b - a) : strlen(a));
}

/* Table lines of a section (lines starting with '|'), copied into rows[]; returns count. */
static size_t table_lines(const char *sec, char rows[][1024], size_t max)
{
	size_t n = 0;

	for (const char *p = sec; *p && n < max;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (*p == '|' && strncmp(p, "|---", 4)) {
			snprintf(rows[n], sizeof(rows[0]), "%.*s", (int)len, p);
			n++;
		}
		p += len + (nl ? 1 : 0);
	}
	return n;
}

/* "+1269 µs" / "−12 µs": checks sign and value against v; returns what follows. */
static const char *expect_signed(const char *p, double v, const char *unit)
{
	char *end;
	double got;

	if (!strncmp(p, "+", 1))
		p += 1;
	else if (!strncmp(p, "\xe2\x88\x92", 3))
		p += 3;
	else
		fail_msg("no sign in \"%s\"", p);
	assert_int_equal(p[-1] == '+', v >= 0);
	assert_printed(p, fabs(v));
	got = strtod(p, &end);
	(void)got;
	assert_true(!strncmp(end, " ", 1));
	assert_true(!strncmp(end + 1, unit, strlen(unit)));
	return end + 1 + strlen(unit);
}

static const char *disp_unit(const char *u)
{
	return !strcmp(u, "us") ? "\xc2\xb5s" : u;
}

/*
 * Checks every cell of the "Details by area" table of a one-run report against the fixture:
 * native cells and absolute rows print the median; ratio rows the oriented % with its CI from
 * the file's comparison and the median; delta rows "×F native (±D unit)" with the file's delta
 * and CI. Returns the number of cells checked.
 */
static size_t check_details(const char *md, const json_t *root, int from_file)
{
	char *sec = section(md, "Details by area"), rows[64][1024], *head[16] = {0}, *cells[16];
	char targets[16][64];
	size_t n = table_lines(sec, rows, 64), ncol, checked = 0;

	assert_true(n >= 2);
	ncol = split_row(rows[0], head, 16);
	assert_string_equal(head[0], "metric");
	for (size_t j = 1; j < ncol; j++)
		sscanf(head[j], "%63s", targets[j]);
	for (size_t i = 1; i < n; i++) {
		char lab[256], *dot, *paren;

		assert_int_equal(split_row(rows[i], cells, 16), ncol);
		if (!strncmp(cells[0], "**", 2))
			continue;
		hb_strlcpy(lab, cells[0], sizeof(lab));
		dot = strstr(lab, " \xc2\xb7 ");
		paren = strrchr(lab, ' ');
		assert_non_null(dot);
		*dot = '\0';
		*paren = '\0';
		for (size_t j = 1; j < ncol; j++) {
			const char *w = lab, *m = dot + 4, *cell = cells[j], *p = cell;
			const json_t *res = find_in(root, "results", targets[j], w, m), *cmp;
			const char *unit, *kind;
			char tail[128];

			checked++;
			if (!res) {
				assert_string_equal(cell, "\xe2\x80\x94");
				continue;
			}
			unit = disp_unit(json_string_value(json_object_get(res, "unit")));
			kind = json_string_value(json_object_get(res, "comparison"));
			/* the row says how it is compared */
			assert_non_null(strstr(cells[0], !strcmp(kind, "none")	  ? "(absolute)"
							 : !strcmp(kind, "ratio") ? "(ratio)"
										  : "(delta)"));
			cmp = find_in(root, "comparisons", targets[j], w, m);
			if (!strcmp(targets[j], "native") || !strcmp(kind, "none") ||
			    !find_in(root, "results", "native", w, m)) {
				assert_null(strstr(cell, "%"));
			} else if (!strcmp(kind, "ratio")) {
				double pct, lo, hi;
				int used = 0;

				const json_t *base = find_in(root, "results", "native", w, m);
				double o = num(res, "median") / num(base, "median");

				if (!json_is_true(json_object_get(res, "higher_is_better")))
					o = 1 / o;
				assert_non_null(cmp);
				assert_true(fabs(o - num(cmp, "oriented")) < 1e-9);
				assert_int_equal(sscanf(p,
							"%lf%% (95%% CI %lf%%\xe2\x80\x93%lf%%) "
							"\xc2\xb7 %n",
							&pct, &lo, &hi, &used),
						 3);
				assert_true(fabs(pct - 100 * num(cmp, "oriented")) <= 0.05 + 1e-9);
				if (from_file) {
					assert_true(fabs(lo - 100 * idx(cmp, "oriented_ci95", 0)) <=
						    0.05 + 1e-9);
					assert_true(fabs(hi - 100 * idx(cmp, "oriented_ci95", 1)) <=
						    0.05 + 1e-9);
				}
				assert_true(pct <= 1000);
				p += used;
			} else {
				double f;
				int used = 0;
				const json_t *base = find_in(root, "results", "native", w, m);

				assert_non_null(cmp);
				assert_int_equal(sscanf(p, "\xc3\x97%lf native (%n", &f, &used), 1);
				assert_true(fabs(f - num(res, "median") / num(base, "median")) <
					    0.01);
				p = expect_signed(p + used, num(cmp, "delta"), unit);
				assert_true(!strncmp(p, ") ", 2));
				p += 2;
				/* the CI: the file's, or bootstrapped by the report (checked where
				 * the report computes it, test_cross_run) */
				assert_true(!strncmp(p, "(95% CI ", 8));
				if (from_file) {
					p = expect_signed(p + 8, idx(cmp, "ci95", 0), unit);
					assert_true(!strncmp(p, "\xe2\x80\x93", 3));
					p = expect_signed(p + 3, idx(cmp, "ci95", 1), unit);
				} else {
					p = strchr(p, ')');
				}
				assert_true(!strncmp(p, ") ", 2));
				p += 2;
				assert_true(!strncmp(p, "\xc2\xb7 ", 3));
				p += 3;
			}
			assert_printed(p, num(res, "median"));
			snprintf(tail, sizeof(tail), " %s", unit);
			p = strchr(p, ' ');
			assert_non_null(p);
			assert_true(!strncmp(p, tail, strlen(tail)));
		}
	}
	free(sec);
	return checked;
}

static void render_one(json_t *j, const char *dir, int want)
{
	struct hb_err e = {0};
	int rc = hb_report_render(&j, 1, dir, &e);

	if (rc != want)
		fail_msg("render: %d (%s)", rc, e.msg);
}

/* The report's Markdown with plots off. */
static char *render_md(json_t **runs, size_t n, const struct hb_report_opts *in, char *dir,
		       size_t dlen)
{
	struct hb_report_opts o = *in;
	struct hb_err e = {0};
	size_t len;
	char *md;

	o.no_plots = 1;
	mkout(dir, dlen);
	if (hb_report_render_opts(runs, n, dir, &o, &e))
		fail_msg("render: %s", e.msg);
	md = slurp(dir, "report.md", &len);
	assert_non_null(md);
	return md;
}

static void test_glance_first(void **state)
{
	json_t *j = load_fix2("results2-base.json");
	struct hb_report_opts o;
	char dir[64], *md, *sec, rows[32][1024];
	size_t n;

	hb_report_opts_init(&o);
	md = render_md(&j, 1, &o, dir, sizeof(dir));
	/* the first section is the at-a-glance table, in the seed's form */
	assert_non_null(strstr(md, "\n## At a glance\n"));
	assert_true(strstr(md, "\n## At a glance\n") == strstr(md, "\n## "));
	assert_non_null(strstr(md, "\nPercentages are relative performance against the native "
				   "target of the same run"));
	assert_null(strstr(md, "No native target"));
	sec = section(md, "At a glance");
	n = table_lines(sec, rows, 32);
	assert_int_equal(n, 1 + 7); /* header + one row per headline metric of the fixture */
	assert_string_equal(rows[0],
			    "|  | native | vm-minimal \xe2\x9a\xa0 TCG emulation\xc2\xb9 | "
			    "vm-usernet \xe2\x9a\xa0 TCG emulation\xc2\xb9 (user "
			    "net\xc2\xb2) |");
	assert_string_equal(rows[1], "| Storage: disk-randread iops | 51974 IOPS | **15.0%** (7796 "
				     "IOPS) | **14.6%** (7596 IOPS) |");
	assert_string_equal(rows[2], "| Network: net-tcp-tx throughput | 23.99 Gbit/s | **7.5%** "
				     "(1.799 Gbit/s) | **1.7%** (0.4098 Gbit/s) \xc2\xb2 |");
	assert_string_equal(rows[3], "| Memory: mem-bw copy_bw | 9.595 GiB/s | **21.9%** (2.099 "
				     "GiB/s) | **21.4%** (2.049 GiB/s) |");
	assert_string_equal(rows[4], "| CPU: ops | 124937500 ops/s | **8.8%** (10994500 ops/s) "
				     "| **8.6%** (10794600 ops/s) |");
	assert_string_equal(rows[5], "| Boot: time_to_ready | \xe2\x80\x94 | 4.598 s | 4.698 s |");
	assert_string_equal(rows[6], "| Host memory: vmm_overhead | \xe2\x80\x94 | 211.9 MiB | "
				     "229.9 MiB |");
	assert_string_equal(rows[7], "| Host CPU cost: disk-randread tax.cpu_s_per_gib | "
				     "\xe2\x80\x94 | 12.39 s/GiB | 12.89 s/GiB |");
	/* one sentence per compared target */
	assert_non_null(strstr(sec,
			       "- vm-minimal: storage at 15.0% of native, network 7.5%, "
			       "memory 21.9%, CPU 8.8%; 211.9 MiB host memory per VM; ready in "
			       "4.598 s \xe2\x80\x94 under emulation (TCG)"));
	assert_non_null(strstr(sec, "- vm-usernet: storage at 14.6% of native, network 1.7%,"));
	free(sec);
	/* details: every cell under its declared comparison */
	assert_int_equal(check_details(md, j, 1), 11 * 3); /* 12 rows, 1 a diagnostic */
	/* diagnostics fold into the appendix, absolute only */
	sec = section(md, "Appendix: diagnostics and probe readings");
	assert_non_null(strstr(sec, "<details><summary>1 diagnostic rows</summary>"));
	assert_non_null(strstr(sec, "| disk-randread \xc2\xb7 proc.cpu_s | \xe2\x80\x94 | 9.495 s "
				    "| 9.795 s |"));
	free(sec);
	/* samples table: flagged rows only */
	sec = section(md, "Samples and variability");
	n = table_lines(sec, rows, 32);
	assert_int_equal(n, 1 + 3);
	assert_string_equal(rows[1], "| native | mem-lat \xc2\xb7 latency | 6 | 82.88 ns | "
				     "70.12\xe2\x80\x93"
				     "102 | \xe2\x9a\xa0 17.9% |");
	free(sec);
	/* capacity from the overhead headline; failures */
	/* capacity right after the at-a-glance table: ~7962 MiB over guest RAM + measured VMM
	 * overhead (10.998 and 6.35 VMs), 2 threads over vCPUs (2 and 1) */
	assert_true(strstr(md, "\n## Capacity\n") > strstr(md, "\n## At a glance\n"));
	assert_true(strstr(md, "\n## Capacity\n") < strstr(md, "\n## Details by area\n"));
	assert_non_null(strstr(md, "| this host: 2 threads, 8 GiB | vm-minimal (TCG) | 1 | 723.9 "
				   "MiB | 10 | 2 | not swept | 2 | vCPU ratio |\n"));
	assert_non_null(strstr(md, "| this host: 2 threads, 8 GiB | vm-usernet (TCG) | 2 | 1254 "
				   "MiB | 6 | 1 | not swept | 1 | vCPU ratio |\n"));
	assert_non_null(strstr(md,
			       "| 1 | vm-usernet | net-tcp-rx | 2 | net: iperf3 client: unable "
			       "to connect &lt;to&gt; \"10.0.2.2\" &amp; gave up after 10 s |"));
	free(md);
	rmout(dir);
	json_decref(j);
}

/*
 * The done criteria on a real quick-profile run: at most 12 glance rows, no "%" in a cell whose
 * metric is not compared as a ratio, no percentage over 1000%.
 */
static void test_no_percent_without_ratio(void **state)
{
	json_t *j = load_fix2("results2-base.json"), *res, *x;
	struct hb_report_opts o;
	char dir[64], *md, *sec, rows[64][1024], *cells[16];
	size_t n, i;

	/* a zero and a negative native figure: never a percentage of them */
	res = json_object_get(j, "results");
	json_array_foreach (res, i, x) {
		const char *t = json_string_value(json_object_get(x, "target"));
		const char *m = json_string_value(json_object_get(x, "metric"));

		if (!strcmp(t, "native") && !strcmp(m, "copy_bw"))
			json_object_set_new(x, "median", json_real(0));
		if (!strcmp(t, "native") && !strcmp(m, "ops"))
			json_object_set_new(x, "median", json_real(-5));
		/* a VM 50x faster than native: not "5000%" */
		if (!strcmp(t, "vm-minimal") && !strcmp(m, "iops"))
			json_object_set_new(x, "median", json_real(51974.0 * 50));
	}
	json_array_foreach (json_object_get(j, "comparisons"), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "target")), "vm-minimal") &&
		    !strcmp(json_string_value(json_object_get(x, "metric")), "iops")) {
			json_object_set_new(x, "ratio", json_real(50));
			json_object_set_new(x, "oriented", json_real(50));
		}
	hb_report_opts_init(&o);
	md = render_md(&j, 1, &o, dir, sizeof(dir));
	sec = section(md, "At a glance");
	n = table_lines(sec, rows, 64);
	assert_true(n - 1 <= 12);
	assert_non_null(strstr(sec, "| Storage: disk-randread iops | 51974 IOPS | **\xc3\x97"
				    "50.0** (2598700 IOPS) |"));
	assert_non_null(strstr(sec, "| Memory: mem-bw copy_bw | 0 GiB/s | 2.099 GiB/s | 2.049 "
				    "GiB/s |"));
	assert_non_null(strstr(sec, "| CPU: ops | -5 ops/s | 10994500 ops/s | 10794600 ops/s "
				    "|"));
	free(sec);
	sec = section(md, "Details by area");
	n = table_lines(sec, rows, 64);
	for (size_t k = 1; k < n; k++) {
		size_t nc = split_row(rows[k], cells, 16);

		for (size_t c = 1; c < nc; c++) {
			const char *pc = NULL;

			/* a percentage: a digit right before '%' ("95% CI" names the interval) */
			for (const char *q = cells[c]; *q && !pc; q++)
				if (q[0] >= '0' && q[0] <= '9' && q[1] == '%' &&
				    strncmp(q - 1, "95% CI", 6))
					pc = q;

			if (!strstr(cells[0], "(ratio)") && pc)
				fail_msg("%% in a row not compared as a ratio: %s | %s", cells[0],
					 cells[c]);
			if (pc) {
				const char *st = pc;
				double v;

				while (st > cells[c] &&
				       (st[-1] == '.' || (st[-1] >= '0' && st[-1] <= '9')))
					st--;
				v = strtod(st, NULL);
				assert_true(v >= 0 && v <= 1000);
			}
		}
	}
	free(sec);
	free(md);
	rmout(dir);
	json_decref(j);
}

static void test_missing_comparisons_computed(void **state)
{
	json_t *j = load_fix2("results2-base.json"), *copy = json_deep_copy(j);
	struct hb_report_opts o;
	char dir[64], *md;

	/* without "comparisons" the report bootstraps the ratios itself (the fixture's ratios
	 * were computed by an independent Python implementation of the same fixed-seed bootstrap)
	 * and takes deltas as the difference of medians */
	json_object_del(copy, "comparisons");
	hb_report_opts_init(&o);
	md = render_md(&copy, 1, &o, dir, sizeof(dir));
	assert_non_null(strstr(md, "computed by the report as the runner computes them "
				   "(bootstrap CI, 10000 resamples, fixed seed)"));
	assert_int_equal(check_details(md, j, 0), 33);
	free(md);
	rmout(dir);
	json_decref(copy);
	json_decref(j);
}

static void test_cv_threshold_configurable(void **state)
{
	json_t *j = load_fix2("results2-base.json");
	struct hb_report_opts o;
	char dir[64], *md;

	hb_report_opts_init(&o);
	o.cv_warn = 0.5;
	md = render_md(&j, 1, &o, dir, sizeof(dir));
	assert_non_null(strstr(md, "whose CV is above 50.0%"));
	assert_non_null(strstr(md, "None flagged."));
	assert_non_null(strstr(md, "Plots were not requested"));
	free(md);
	rmout(dir);
	json_decref(j);
}

static void test_results_csv(void **state)
{
	json_t *j = load_fix2("results2-base.json");
	struct hb_report_opts o;
	char dir[64], *md, *csv;
	size_t len, lines = 0;

	hb_report_opts_init(&o);
	md = render_md(&j, 1, &o, dir, sizeof(dir));
	csv = slurp(dir, "results.csv", &len);
	assert_non_null(csv);
	for (size_t i = 0; i < len; i++)
		lines += csv[i] == '\n';
	/* header + one line per results row */
	assert_int_equal(lines, 1 + json_array_size(json_object_get(j, "results")));
	assert_true(!strncmp(csv, "run,target,workload,metric,unit,area,role,comparison,", 53));
	assert_non_null(strstr(csv, "\n\"run 1\",\"vm-minimal\",\"disk-randread\",\"iops\","
				    "\"IOPS\",storage,headline,ratio,1,6,7796.1,"));
	assert_non_null(strstr(csv, ",\"native\",0.15,0.148881153"));
	free(csv);
	free(md);
	rmout(dir);
	json_decref(j);
}

static void test_html_self_contained(void **state)
{
	json_t *j = load_fix2("results2-base.json");
	char dir[64], *html;
	const char *p;
	size_t len;

	mkout(dir, sizeof(dir));
	render_one(j, dir, gnuplot_present() ? 0 : HB_EUNSUPP);
	html = slurp(dir, "report.html", &len);
	assert_non_null(html);
	assert_true(!strncmp(html, "<!DOCTYPE html>", 15));
	assert_null(strstr(html, "http://"));
	assert_null(strstr(html, "https://"));
	assert_null(strstr(html, "<link"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "url("));
	for (p = html; (p = strstr(p, "src=")); p++)
		assert_true(!strncmp(p, "src=\"data:image/png;base64,", 27));
	assert_non_null(strstr(html, "<style>"));
	assert_non_null(strstr(html, "class=\"badge emu\""));
	/* coloured, oriented glance cells; diagnostics folded */
	assert_non_null(strstr(html, "<td class=\"num bad\"><span class=\"pct\">15.0%</span> "
				     "<span class=\"abs\">7796 IOPS</span></td>"));
	assert_non_null(strstr(html, "<details><summary>1 diagnostic rows"));
	assert_non_null(strstr(html, "user networking, not representative"));
	assert_non_null(
		strstr(html, "unable to connect &lt;to&gt; &quot;10.0.2.2&quot; &amp; gave"));
	assert_non_null(strstr(html, "</body></html>"));
	free(html);
	rmout(dir);
	json_decref(j);
}

/* Minimal XML well-formedness: balanced, properly nested tags; quoted attributes. */
static int xml_well_formed(const char *s)
{
	char stack[64][64];
	int depth = 0, root_seen = 0;

	while ((s = strchr(s, '<'))) {
		if (!strncmp(s, "<?", 2)) {
			s = strstr(s, "?>");
			if (!s)
				return 0;
			continue;
		}
		if (!strncmp(s, "<!--", 4)) {
			s = strstr(s, "-->");
			if (!s)
				return 0;
			continue;
		}
		if (!strncmp(s, "<![CDATA[", 9)) {
			s = strstr(s, "]]>");
			if (!s)
				return 0;
			continue;
		}
		if (!strncmp(s, "<!", 2)) {
			s = strchr(s, '>');
			if (!s)
				return 0;
			continue;
		}
		{
			int closing = s[1] == '/';
			const char *n = s + 1 + closing, *e = n;
			char q = 0;
			size_t nl;

			while (*e && !strchr(" \t\r\n/>", *e))
				e++;
			nl = (size_t)(e - n);
			if (!nl || nl >= 64)
				return 0;
			while (*e && (q || *e != '>')) {
				if (q && *e == q)
					q = 0;
				else if (!q && (*e == '"' || *e == '\''))
					q = *e;
				e++;
			}
			if (!*e)
				return 0;
			if (closing) {
				if (!depth || strncmp(stack[depth - 1], n, nl) ||
				    stack[depth - 1][nl])
					return 0;
				depth--;
			} else if (e[-1] != '/') {
				if (depth == 64)
					return 0;
				if (!depth && root_seen)
					return 0;
				memcpy(stack[depth], n, nl);
				stack[depth++][nl] = '\0';
				root_seen = 1;
			}
			s = e;
		}
	}
	return depth == 0 && root_seen;
}

static void check_images(const char *dir, const char *name)
{
	char f[64], *buf;
	size_t len;
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	snprintf(f, sizeof(f), "plots/%s.png", name);
	buf = slurp(dir, f, &len);
	if (!buf)
		fail_msg("%s/%s missing", dir, f);
	assert_true(len > 1024);
	assert_memory_equal(buf, sig, 8);
	free(buf);
	snprintf(f, sizeof(f), "plots/%s.svg", name);
	buf = slurp(dir, f, &len);
	if (!buf)
		fail_msg("%s/%s missing", dir, f);
	assert_non_null(strstr(buf, "<svg"));
	assert_non_null(strstr(buf, "</svg>"));
	if (!xml_well_formed(buf))
		fail_msg("%s/%s is not well-formed XML", dir, f);
	free(buf);
	/* the data and script the plot came from are kept next to it */
	snprintf(f, sizeof(f), "plots/%s.dat", name);
	buf = slurp(dir, f, &len);
	assert_non_null(buf);
	free(buf);
	snprintf(f, sizeof(f), "plots/%s.gp", name);
	buf = slurp(dir, f, &len);
	assert_non_null(buf);
	assert_non_null(strstr(buf, "unset output"));
	free(buf);
}

static void test_plots_valid(void **state)
{
	json_t *j = load_fix2("results2-base.json");
	char dir[64], *md, *gp;
	size_t len;

	if (!gnuplot_present()) {
		json_decref(j);
		skip();
	}
	mkout(dir, sizeof(dir));
	render_one(j, dir, 0);
	check_images(dir, "headline");
	check_images(dir, "memory");
	gp = slurp(dir, "plots/headline.gp", &len);
	/* horizontal bars, labels on the y axis, a line at 100%, CI whiskers */
	assert_non_null(strstr(gp, "with boxxyerror"));
	assert_non_null(strstr(gp, "with xerrorbars"));
	assert_non_null(strstr(gp, "set ytics scale 0 ('Storage: disk-randread iops' 3, "));
	assert_non_null(strstr(gp, "set arrow from 100, graph 0 to 100, graph 1"));
	assert_null(strstr(gp, "logscale"));
	free(gp);
	/* one memory figure per VM; no CI claimed where n = 1 */
	gp = slurp(dir, "plots/memory.gp", &len);
	assert_non_null(strstr(gp, "median; whiskers: 95% CI where n > 1"));
	free(gp);
	md = slurp(dir, "report.md", &len);
	assert_non_null(strstr(md, "![Headline metrics: relative performance"));
	assert_non_null(strstr(md, "(plots/headline.png)"));
	free(md);
	rmout(dir);
	json_decref(j);
}

static void test_no_gnuplot_still_writes(void **state)
{
	json_t *j = load_fix2("results2-base.json");
	char dir[64], *md, *html, *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	struct hb_err e = {0};
	size_t len;
	int rc;

	mkout(dir, sizeof(dir));
	setenv("PATH", "/nonexistent-hb", 1);
	rc = hb_report_render(&j, 1, dir, &e);
	if (old)
		setenv("PATH", old, 1);
	free(old);
	assert_int_equal(rc, HB_EUNSUPP);
	assert_non_null(strstr(e.msg, "gnuplot not found in PATH"));
	md = slurp(dir, "report.md", &len);
	html = slurp(dir, "report.html", &len);
	assert_non_null(md);
	assert_non_null(html);
	assert_non_null(strstr(md, "No plots: gnuplot was not found in PATH"));
	assert_non_null(strstr(html, "No plots: gnuplot was not found in PATH"));
	assert_int_equal(check_details(md, j, 1), 33);
	free(md);
	free(html);
	rmout(dir);
	json_decref(j);
}

static void test_several_runs(void **state)
{
	json_t *j[2] = {load_fix2("results2-regress.json"), load_fix2("results2-base.json")};
	struct hb_err e = {0};
	char dir[64], *md, *gp;
	size_t len;
	int gpok = gnuplot_present();

	mkout(dir, sizeof(dir));
	assert_int_equal(hb_report_render(j, 2, dir, &e), gpok ? 0 : HB_EUNSUPP);
	md = slurp(dir, "report.md", &len);
	assert_non_null(md);
	assert_non_null(strstr(md, "# hvbench report: run 1 vs run 2\n"));
	/* without labels ordered by started_at: the base run (11-20) is run 1 although second */
	assert_non_null(strstr(md, "|  | run 1: native | run 1: vm-minimal"));
	assert_non_null(strstr(md, "| Storage: disk-randread iops | 51974 IOPS |"));
	assert_non_null(
		strstr(md, "| started | 2026-11-20T02:00:00.000Z | 2026-11-21T02:00:00.000Z |"));
	assert_non_null(strstr(md, "\n## Comparability\n"));
	if (gpok) {
		check_images(dir, "trend");
		gp = slurp(dir, "plots/trend.gp", &len);
		/* small multiples of the headline metrics only */
		assert_non_null(strstr(gp, "set multiplot layout 3,3"));
		assert_null(strstr(gp, "proc.cpu_s"));
		assert_null(strstr(gp, "clat_p99"));
		free(gp);
	}
	free(md);
	rmout(dir);
	json_decref(j[0]);
	json_decref(j[1]);
}

static void test_native_only(void **state)
{
	json_t *j = load_fix2("results2-native-only.json");
	struct hb_report_opts o;
	char dir[64], *md;

	hb_report_opts_init(&o);
	md = render_md(&j, 1, &o, dir, sizeof(dir));
	assert_null(strstr(md, "%) \xc2\xb7"));
	assert_null(strstr(md, "TCG emulation"));
	assert_null(strstr(md, "## Capacity")); /* no VM, no capacity estimate */
	assert_null(strstr(md, "of native, ")); /* no sentence without a compared target */
	assert_null(strstr(md, "No native target"));
	assert_int_equal(check_details(md, j, 1), 6);
	free(md);
	rmout(dir);
	json_decref(j);
}

/*
 * No native target (an A/B profile of two VMs): no percentage anywhere, the note says the
 * figures are absolute and points at compare --ab instead of explaining percentages.
 */
static void test_no_native_target(void **state)
{
	json_t *j = load_fix2("results2-base.json"), *res, *x;
	struct hb_report_opts o;
	char dir[64], *md;
	size_t i;

	res = json_array();
	json_array_foreach (json_object_get(j, "results"), i, x)
		if (strcmp(json_string_value(json_object_get(x, "target")), "native"))
			json_array_append(res, x);
	json_object_set_new(j, "results", res);
	json_object_set_new(j, "comparisons", json_array());
	res = json_array();
	json_array_foreach (json_object_get(j, "targets"), i, x)
		if (strcmp(json_string_value(json_object_get(x, "name")), "native"))
			json_array_append(res, x);
	json_object_set_new(j, "targets", res);
	hb_report_opts_init(&o);
	md = render_md(&j, 1, &o, dir, sizeof(dir));
	assert_non_null(strstr(md,
			       "\nNo native target in this run: every figure is absolute, none "
			       "is a percentage of native. Two targets of one run are compared, "
			       "with CIs, by `hvbench compare --ab TARGET_A TARGET_B "
			       "results.json`.\n"));
	assert_null(strstr(md, "Percentages are relative"));
	assert_null(strstr(md, "%)"));
	free(md);
	rmout(dir);
	json_decref(j);
}

/*
 * Two host configurations measured in separate runs, each with one guest (different target
 * names), compared with a bare-metal baseline from a third file: one seed-style table.
 */
static void test_cross_run(void **state)
{
	json_t *runs[2] = {load_fix2("results2-hostA.json"), load_fix2("results2-hostB.json")};
	json_t *base = load_fix2("results2-baremetal.json");
	const char *labels[2] = {"Type-1", "Full OS"};
	struct hb_report_opts o;
	char dir[64], *md, *sec, rows[32][1024], *csv;
	double r, lo, hi, a[3] = {98000, 97000, 99000}, b[3] = {100000, 101000, 99000};
	char expect[256];
	size_t n, len;

	hb_report_opts_init(&o);
	o.labels = labels;
	o.baseline = base;
	o.baseline_label = "bare metal";
	md = render_md(runs, 2, &o, dir, sizeof(dir));
	assert_non_null(strstr(md, "# hvbench report: Type-1 vs Full OS vs bare metal\n"));
	sec = section(md, "At a glance");
	n = table_lines(sec, rows, 32);
	assert_int_equal(n, 4);
	assert_string_equal(rows[0], "|  | bare metal: native | Type-1: type1-vm | Full OS: "
				     "fullos-vm |");
	assert_string_equal(rows[1], "| Storage: disk-randread iops | 100000 IOPS | **98.0%** "
				     "(98000 IOPS) | **95.0%** (95000 IOPS) |");
	assert_string_equal(rows[2], "| Network: net-send throughput | 9.900 Gbit/s | **99.0%** "
				     "(9.800 Gbit/s) | **97.0%** (9.600 Gbit/s) |");
	assert_string_equal(rows[3], "| Host memory: vmm_overhead | \xe2\x80\x94 | 300 MiB | 2048 "
				     "MiB |");
	assert_non_null(strstr(sec, "against the baseline's native target"));
	assert_non_null(strstr(sec, "- Type-1: type1-vm: storage at 98.0% of native, network "
				    "99.0%; 300 MiB host memory per VM.\n"));
	assert_non_null(strstr(sec, "- Full OS: fullos-vm: storage at 95.0% of native, network "
				    "97.0%; 2048 MiB host memory per VM.\n"));
	free(sec);
	/* details: ratios bootstrapped across files, deltas as the difference of medians */
	assert_int_equal(hb_ratio_ci(a, 3, b, 3, &r, &lo, &hi), 0);
	snprintf(expect, sizeof(expect),
		 "| disk-randread \xc2\xb7 iops (ratio) | 100000 IOPS | %.1f%% (95%% CI "
		 "%.1f%%\xe2\x80\x93%.1f%%) \xc2\xb7 98000 IOPS |",
		 100 * r, 100 * lo, 100 * hi);
	assert_non_null(strstr(md, expect));
	{
		double ca[3] = {96, 97, 95}, cb[3] = {120, 118, 122}, nat[3] = {80, 82, 78};
		json_t *da = hb_comparison_json(HB_CMP_DELTA, 0, ca, 3, nat, 3);
		json_t *db = hb_comparison_json(HB_CMP_DELTA, 0, cb, 3, nat, 3);

		assert_true(num(da, "delta") == 16 && num(db, "delta") == 40);
		snprintf(expect, sizeof(expect),
			 "| disk-randread \xc2\xb7 clat_p50 (delta) | 80 \xc2\xb5s | \xc3\x97"
			 "1.20 native (+16 \xc2\xb5s) (95%% CI +%g \xc2\xb5s\xe2\x80\x93+%g "
			 "\xc2\xb5s) \xc2\xb7 96 \xc2\xb5s | \xc3\x97"
			 "1.50 native (+40 \xc2\xb5s) (95%% CI +%g \xc2\xb5s\xe2\x80\x93+%g "
			 "\xc2\xb5s) \xc2\xb7 120 \xc2\xb5s |",
			 idx(da, "ci95", 0), idx(da, "ci95", 1), idx(db, "ci95", 0),
			 idx(db, "ci95", 1));
		assert_non_null(strstr(md, expect));
		json_decref(da);
		json_decref(db);
	}
	assert_non_null(strstr(md, "computed by the report as the runner computes them"));
	/* diagnostics side by side, absolute */
	assert_non_null(strstr(md, "| disk-randread \xc2\xb7 fio_usr_cpu | 5 % | 7 % | 9 % |"));
	/* comparable: same hardware and parameters; what differs is said */
	sec = section(md, "Comparability");
	assert_non_null(strstr(sec, "Same hardware (CPU model, cores, architecture, memory within "
				    "5%) and the same workload parameters in every file"));
	assert_non_null(strstr(sec, "- host kernel: Type-1 `\"hv-1.0\"` vs Full OS "
				    "`\"fullos-10.0\"`\n"));
	assert_non_null(strstr(sec, "- host hostname: Type-1 `\"box-type1\"` vs bare metal "
				    "`\"box-linux\"`\n"));
	free(sec);
	csv = slurp(dir, "results.csv", &len);
	assert_non_null(strstr(csv, "\n\"Full OS\",\"fullos-vm\",\"disk-randread\",\"iops\","
				    "\"IOPS\",storage,headline,ratio,1,3,95000,"));
	assert_non_null(strstr(csv, ",\"bare metal: native\",0.95,"));
	free(csv);
	free(md);
	rmout(dir);

	/* a workload parameter that differs is named */
	json_object_set_new(
		json_object_get(json_array_get(json_object_get(json_object_get(runs[1], "profile"),
							       "workloads"),
					       0),
				"params"),
		"iodepth", json_integer(1));
	json_object_set_new(json_object_get(runs[1], "host"), "cores", json_integer(8));
	md = render_md(runs, 2, &o, dir, sizeof(dir));
	sec = section(md, "Comparability");
	assert_non_null(strstr(sec, "\xe2\x9a\xa0 2 differences in hardware or workload "
				    "parameters: figures of these runs are not directly "
				    "comparable."));
	assert_non_null(strstr(sec, "- host cores: Type-1 `64` vs Full OS `8`\n"));
	assert_non_null(strstr(sec,
			       "- workload disk-randread: Type-1 `{\"name\":"
			       "\"disk-randread\",\"params\":{\"bs\":\"4k\",\"iodepth\":32,"
			       "\"rw\":\"randread\"},\"workload\":\"disk\"}` vs Full OS `{"
			       "\"name\":\"disk-randread\",\"params\":{\"bs\":\"4k\","
			       "\"iodepth\":1,\"rw\":\"randread\"},\"workload\":\"disk\"}`\n"));
	free(sec);
	free(md);
	rmout(dir);
	json_decref(runs[0]);
	json_decref(runs[1]);
	json_decref(base);
}

/* The terminal table: headline rows, compact cells, never wider than asked. */
/* Replaces, everywhere under j, the value from of every "target", "name", "workload" key. */
static void rename_all(json_t *j, const char *from, const char *to)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach (j, i, v)
			rename_all(v, from, to);
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_foreach (j, k, v) {
		if ((!strcmp(k, "target") || !strcmp(k, "name") || !strcmp(k, "workload")) &&
		    json_is_string(v) && !strcmp(json_string_value(v), from))
			json_object_set_new(j, k, json_string(to));
		else
			rename_all(v, from, to);
	}
}

/* Unescaped '|' in a Markdown line. */
static int pipes(const char *l, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		c += l[i] == '|' && (i == 0 || l[i - 1] != '\\');
	return c;
}

/* Names from a profile are data: in report.md they can neither inject HTML nor split cells. */
static void test_md_escapes_names(void **state)
{
	json_t *j = load_fix2("results2-base.json");
	struct hb_report_opts o;
	char dir[64], *md, *html;
	const char *l;
	size_t len;
	int tables = 0;

	(void)state;
	rename_all(j, "vm-minimal", "<script>alert(1)</script>");
	rename_all(j, "disk-randread", "a|b");
	hb_report_opts_init(&o);
	md = render_md(&j, 1, &o, dir, sizeof(dir));
	html = slurp(dir, "report.html", &len);
	assert_non_null(html);
	assert_null(strstr(md, "<script"));
	assert_null(strstr(html, "<script"));
	assert_non_null(strstr(md, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_null(strstr(md, "a|b"));
	assert_non_null(strstr(md, "a\\|b"));
	/* every row of a table has its header's number of cells */
	for (l = md; *l;) {
		size_t n = strcspn(l, "\n");
		if (*l == '|') {
			int want = pipes(l, n);
			tables++;
			while (*l == '|') {
				n = strcspn(l, "\n");
				if (pipes(l, n) != want)
					fail_msg("table row with %d cells, header %d: %.*s",
						 pipes(l, n) - 1, want - 1, (int)n, l);
				l += n + (l[n] == '\n');
			}
			continue;
		}
		l += n + (l[n] == '\n');
	}
	assert_true(tables >= 3);
	free(md);
	free(html);
	rmout(dir);
	json_decref(j);
}

static void test_glance_text(void **state)
{
	json_t *j = load_fix2("results2-base.json");
	struct hb_err e = {0};
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(hb_report_glance_text(j, f, 0, &e), 0);
	fclose(f);
	assert_non_null(strstr(buf, "At a glance (% = relative to native, >100% better):\n"));
	assert_non_null(strstr(buf, "\nStorage: disk-randread iops                          51974 "
				    "IOPS        15.0%        14.6%\n"));
	assert_non_null(strstr(buf, "\nvm-minimal: storage at 15.0% of native"));
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(hb_report_glance_text(j, f, 40, &e), 0);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t w = 0;

		for (const char *p = line; *p; p++)
			w += ((unsigned char)*p & 0xc0) != 0x80;
		assert_true(w <= 40);
		lines++;
	}
	assert_int_equal(lines, 1 + 1 + 7 + 2); /* title, header, 7 rows, 2 sentences */
	free(buf);
	json_decref(j);
}

static void test_cmd_report(void **state)
{
	char p1[320], p2[320], dir[64];
	char *o = NULL, *e = NULL;
	size_t lo, le;
	FILE *out = open_memstream(&o, &lo), *err = open_memstream(&e, &le);
	char *a1[] = {(char *)"report", NULL};
	char *a2[] = {(char *)"report", p1, (char *)"-o", dir, (char *)"--no-plots", NULL};
	char *a3[] = {(char *)"report", p2, (char *)"-o", dir, NULL};
	char *a4[] = {(char *)"report", (char *)"--help", NULL};
	char *a5[] = {(char *)"report", p1, (char *)"--label", (char *)"nosuch=X", NULL};
	char *a6[] = {(char *)"report", p1, (char *)"--label", (char *)"Y", NULL};
	char *a7[] = {(char *)"report",
		      p1,
		      (char *)"-o",
		      dir,
		      (char *)"--no-plots",
		      (char *)"--label",
		      (char *)"results-native-only=Bare",
		      NULL};
	char *a8[] = {(char *)"report", p1, (char *)"-o", dir, (char *)"--baseline", p2, NULL};

	mkout(dir, sizeof(dir));
	snprintf(p1, sizeof(p1), "%s/results-native-only.json", fixdir);
	snprintf(p2, sizeof(p2), "%s/results-malformed.json", fixdir);
	assert_int_equal(hb_report_main(1, a1, out, err), 2);
	assert_int_equal(hb_report_main(5, a2, out, err), 0);
	assert_int_equal(hb_report_main(4, a3, out, err), 2);
	assert_int_equal(hb_report_main(2, a4, out, err), 0);
	assert_int_equal(hb_report_main(4, a5, out, err), 2);
	assert_int_equal(hb_report_main(4, a6, out, err), 2);
	assert_int_equal(hb_report_main(7, a7, out, err), 0);
	assert_int_equal(hb_report_main(6, a8, out, err), 2);
	fclose(out);
	fclose(err);
	assert_non_null(strstr(e, "no results file given"));
	assert_non_null(strstr(e, "results-malformed.json: results[3].samples[1]: not a number"));
	assert_non_null(strstr(e, "--label nosuch=X: \"nosuch\" names none of the results files "
				  "given"));
	assert_non_null(strstr(e, "--label: \"Y\" is not FILE=TEXT"));
	assert_non_null(strstr(e, "--baseline: "));
	assert_non_null(strstr(o, "/report.html"));
	assert_non_null(strstr(o, "/results.csv"));
	assert_non_null(strstr(o, "usage: hvbench report"));
	free(o);
	free(e);
	o = slurp(dir, "report.md", &lo);
	assert_non_null(strstr(o, "# hvbench report: "));
	free(o);
	rmout(dir);
}

/* The command line of the cross-configuration comparison: labels by file name, by name
 * without .json and by position, one naming the --baseline file. */
static void test_cmd_report_cross(void **state)
{
	char pa[320], pb[320], pn[320], dir[64], *md;
	size_t len;
	FILE *out = fopen("/dev/null", "w"), *err = fopen("/dev/null", "w");
	char *argv[] = {(char *)"report",
			pa,
			pb,
			(char *)"--label",
			(char *)"results2-hostA.json=Type-1",
			(char *)"--label",
			(char *)"2=Full OS",
			(char *)"--label",
			(char *)"results2-baremetal=bare metal",
			(char *)"--baseline",
			pn,
			(char *)"--no-plots",
			(char *)"-o",
			dir,
			NULL};

	mkout(dir, sizeof(dir));
	snprintf(pa, sizeof(pa), "%s/results2-hostA.json", fixdir);
	snprintf(pb, sizeof(pb), "%s/results2-hostB.json", fixdir);
	snprintf(pn, sizeof(pn), "%s/results2-baremetal.json", fixdir);
	assert_int_equal(hb_report_main(14, argv, out, err), 0);
	fclose(out);
	fclose(err);
	md = slurp(dir, "report.md", &len);
	assert_non_null(md);
	assert_non_null(strstr(md, "|  | bare metal: native | Type-1: type1-vm | Full OS: "
				   "fullos-vm |\n"));
	assert_non_null(strstr(md, "| Storage: disk-randread iops | 100000 IOPS | **98.0%** "
				   "(98000 IOPS) | **95.0%** (95000 IOPS) |\n"));
	free(md);
	rmout(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loader_errors),
		cmocka_unit_test(test_loader_size_limit),
		cmocka_unit_test(test_fmt_rule),
		cmocka_unit_test(test_glance_first),
		cmocka_unit_test(test_no_percent_without_ratio),
		cmocka_unit_test(test_missing_comparisons_computed),
		cmocka_unit_test(test_cv_threshold_configurable),
		cmocka_unit_test(test_results_csv),
		cmocka_unit_test(test_html_self_contained),
		cmocka_unit_test(test_plots_valid),
		cmocka_unit_test(test_no_gnuplot_still_writes),
		cmocka_unit_test(test_several_runs),
		cmocka_unit_test(test_native_only),
		cmocka_unit_test(test_no_native_target),
		cmocka_unit_test(test_cross_run),
		cmocka_unit_test(test_glance_text),
		cmocka_unit_test(test_md_escapes_names),
		cmocka_unit_test(test_cmd_report),
		cmocka_unit_test(test_cmd_report_cross),
	};

	find_fixtures();
	if (!fixdir[0]) {
		fprintf(stderr,
			"tests/fixtures/results-base.json not found (run from the tree root)\n");
		return 1;
	}
	if (!gnuplot_present())
		printf("SKIP (plots only): gnuplot is not installed; plot checks are skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
