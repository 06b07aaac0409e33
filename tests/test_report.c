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

static json_t *load_fix(const char *name)
{
	char p[320];
	json_t *j = NULL;
	struct hb_err e = {0};

	snprintf(p, sizeof(p), "%s/%s", fixdir, name);
	if (hb_results_load(p, &j, &e))
		fail_msg("%s", e.msg);
	return j;
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

/* ---- Markdown table parsed back ---- */

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

static const json_t *find_res(const json_t *root, const char *t, const char *w, const char *m)
{
	const json_t *x;
	size_t i;

	json_array_foreach (json_object_get(root, "results"), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "target")), t) &&
		    !strcmp(json_string_value(json_object_get(x, "workload")), w) &&
		    !strcmp(json_string_value(json_object_get(x, "metric")), m))
			return x;
	return NULL;
}

static const json_t *find_cmp(const json_t *root, const char *t, const char *w, const char *m)
{
	const json_t *x;
	size_t i;

	json_array_foreach (json_object_get(root, "comparisons"), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "target")), t) &&
		    !strcmp(json_string_value(json_object_get(x, "workload")), w) &&
		    !strcmp(json_string_value(json_object_get(x, "metric")), m))
			return x;
	return NULL;
}

static const json_t *find_target(const json_t *root, const char *name)
{
	const json_t *x;
	size_t i;

	json_array_foreach (json_object_get(root, "targets"), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "name")), name))
			return x;
	return NULL;
}

/* Checks every cell of the "## Results" table against the fixture; returns cells checked. */
static size_t check_md_table(const char *md, const json_t *root)
{
	const char *sec = strstr(md, "\n## Results\n\n");
	char *copy, *line, *save = NULL;
	char *head[16], targets[16][64];
	size_t ncol = 0, checked = 0, rows = 0;

	assert_non_null(sec);
	copy = strdup(sec + strlen("\n## Results\n\n"));
	*strstr(copy, "\n\n") = '\0';
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *cells[16], lab[256], *dot;
		size_t n;

		if (!ncol) {
			ncol = split_row(line, head, 16);
			assert_true(ncol >= 2);
			assert_string_equal(head[0], "metric");
			for (size_t j = 1; j < ncol; j++) {
				const json_t *t, *info;

				sscanf(head[j], "%63s", targets[j]);
				t = find_target(root, targets[j]);
				assert_non_null(t);
				info = json_object_get(t, "info");
				/* the emulation mark is in the header iff the target is emulated */
				assert_int_equal(strstr(head[j], "TCG emulation") != NULL,
						 json_is_true(json_object_get(info, "emulation")));
			}
			continue;
		}
		if (!strncmp(line, "|---", 4))
			continue;
		n = split_row(line, cells, 16);
		assert_int_equal(n, ncol);
		if (!strncmp(cells[0], "**", 2))
			continue; /* area heading */
		hb_strlcpy(lab, cells[0], sizeof(lab));
		dot = strstr(lab, " \xc2\xb7 ");
		assert_non_null(dot);
		*dot = '\0';
		rows++;
		for (size_t j = 1; j < ncol; j++) {
			const char *w = lab, *m = dot + 4;
			const json_t *res = find_res(root, targets[j], w, m), *cmp, *info;
			const char *unit, *cell = cells[j], *p;
			char expect_tail[128];
			int usernet;

			if (!res) {
				assert_string_equal(cell, "\xe2\x80\x94");
				checked++;
				continue;
			}
			unit = json_string_value(json_object_get(res, "unit"));
			info = json_object_get(find_target(root, targets[j]), "info");
			usernet = !strcmp(json_string_value(json_object_get(res, "kind")), "net") &&
				  json_object_get(info, "net_mode") &&
				  !strcmp(json_string_value(json_object_get(info, "net_mode")),
					  "user");
			cmp = find_cmp(root, targets[j], w, m);
			p = cell;
			/* only a ratio comparison is shown as "% of native" */
			if (cmp && !strcmp(json_string_value(json_object_get(cmp, "comparison")),
					   "ratio")) {
				double pct, lo, hi;
				int used = 0;
				const json_t *ci = json_object_get(cmp, "ci95");

				assert_int_equal(
					sscanf(p,
					       "%lf%% of native (95%% CI %lf\xe2\x80\x93%lf) "
					       "\xc2\xb7 %n",
					       &pct, &lo, &hi, &used),
					3);
				assert_true(used > 0);
				assert_true(fabs(pct - 100 * json_number_value(json_object_get(
								     cmp, "ratio"))) <=
					    0.05 + 1e-9);
				assert_true(fabs(lo - 100 * json_number_value(json_array_get(
								    ci, 0))) <= 0.05 + 1e-9);
				assert_true(fabs(hi - 100 * json_number_value(json_array_get(
								    ci, 1))) <= 0.05 + 1e-9);
				p += used;
			}
			assert_printed(p, json_number_value(json_object_get(res, "median")));
			snprintf(expect_tail, sizeof(expect_tail), " %s%s", unit,
				 usernet ? " \xe2\x9a\xa0 user networking, not representative"
					 : "");
			p = strchr(p, ' ');
			assert_non_null(p);
			assert_string_equal(p, expect_tail);
			checked++;
		}
	}
	/* every (workload, metric) of the fixture has a row */
	{
		const json_t *x;
		size_t i, n = 0;
		char seen[64][128];

		json_array_foreach (json_object_get(root, "results"), i, x) {
			char k[128];
			size_t s;

			snprintf(k, sizeof(k), "%s/%s",
				 json_string_value(json_object_get(x, "workload")),
				 json_string_value(json_object_get(x, "metric")));
			for (s = 0; s < n && strcmp(seen[s], k); s++)
				;
			if (s == n && n < 64)
				hb_strlcpy(seen[n++], k, sizeof(seen[0]));
		}
		assert_int_equal(rows, n);
	}
	free(copy);
	return checked;
}

static void render_one(json_t *j, const char *dir, int want)
{
	struct hb_err e = {0};
	int rc = hb_report_render(&j, 1, dir, &e);

	if (rc != want)
		fail_msg("render: %d (%s)", rc, e.msg);
}

static void test_markdown_matches_fixture(void **state)
{
	json_t *j = load_fix("results-base.json");
	char dir[64], *md;
	size_t len;

	mkout(dir, sizeof(dir));
	render_one(j, dir, gnuplot_present() ? 0 : HB_EUNSUPP);
	md = slurp(dir, "report.md", &len);
	assert_non_null(md);
	/* 12 metric rows x 3 targets */
	assert_int_equal(check_md_table(md, j), 36);
	assert_non_null(strstr(md, "emulation: tests the measurement chain, not hardware "
				   "virtualization"));
	/* samples table: n and CV of a fixture row, the noisy metric warned, a quiet one not */
	assert_non_null(strstr(md, "| native | mem-lat \xc2\xb7 latency | 6 | 82.88 ns | "));
	assert_non_null(strstr(md, "| 70.12\xe2\x80\x93"
				   "102 | 17.9% | \xe2\x9a\xa0 high CV |"));
	assert_non_null(strstr(md, "- \xe2\x9a\xa0 native mem-lat, CV above 10.0% (n = 6): "
				   "latency 17.9%\n"));
	assert_non_null(strstr(md, "- \xe2\x9a\xa0 vm-usernet mem-lat, CV above 10.0% (n = 6): "
				   "latency 17.9%\n"));
	assert_null(strstr(md, "native disk-randread, CV above"));
	/* capacity: 7961.8 MiB (no footprint recorded: no reserve) over guest RAM + measured VMM
	 * overhead: 10.998 and 6.35 VMs; 2 threads / vCPUs: 2 and 1 */
	assert_non_null(strstr(md, "| this host: 2 threads, 8 GiB | vm-minimal (TCG) | 1 | 723.9 "
				   "MiB | 10 | 2 | not swept | 2 | vCPU ratio |\n"));
	assert_non_null(strstr(md, "| this host: 2 threads, 8 GiB | vm-usernet (TCG) | 2 | 1254 "
				   "MiB | 6 | 1 | not swept | 1 | vCPU ratio |\n"));
	/* failures section */
	assert_non_null(strstr(md, "| 1 | vm-usernet | net-tcp-rx | 2 | net: iperf3 client: unable "
				   "to connect <to> \"10.0.2.2\" & gave up after 10 s |"));
	free(md);
	rmout(dir);
	json_decref(j);
}

static void test_missing_ratios_bootstrapped(void **state)
{
	json_t *j = load_fix("results-base.json"), *copy = json_deep_copy(j);
	struct hb_report_opts o;
	struct hb_err e = {0};
	char dir[64], *md;
	size_t len;

	/* without "comparisons" the report bootstraps the ratios itself; the fixture's ratios were
	 * computed by an independent Python implementation of the same fixed-seed bootstrap */
	json_object_del(copy, "comparisons");
	hb_report_opts_init(&o);
	o.no_plots = 1;
	mkout(dir, sizeof(dir));
	assert_int_equal(hb_report_render_opts(&copy, 1, dir, &o, &e), 0);
	md = slurp(dir, "report.md", &len);
	assert_non_null(md);
	assert_non_null(strstr(md, "were bootstrapped by the report (10000 resamples"));
	assert_int_equal(check_md_table(md, j), 36);
	free(md);
	rmout(dir);
	json_decref(copy);
	json_decref(j);
}

static void test_cv_threshold_configurable(void **state)
{
	json_t *j = load_fix("results-base.json");
	struct hb_report_opts o;
	struct hb_err e = {0};
	char dir[64], *md;
	size_t len;

	hb_report_opts_init(&o);
	o.cv_warn = 0.5;
	o.no_plots = 1;
	mkout(dir, sizeof(dir));
	assert_int_equal(hb_report_render_opts(&j, 1, dir, &o, &e), 0);
	md = slurp(dir, "report.md", &len);
	assert_non_null(md);
	assert_null(strstr(md, "high CV |"));
	assert_non_null(strstr(md, "CV above 50.0% is flagged"));
	assert_non_null(strstr(md, "Plots were not requested"));
	free(md);
	rmout(dir);
	json_decref(j);
}

static void test_html_self_contained(void **state)
{
	json_t *j = load_fix("results-base.json");
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
	assert_non_null(strstr(html, "emulation: tests the measurement chain, not hardware "
				     "virtualization"));
	assert_non_null(strstr(html, "user networking, not representative"));
	/* escaped failure text */
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
	json_t *j = load_fix("results-base.json");
	char dir[64], *md, *gp;
	size_t len;

	if (!gnuplot_present()) {
		json_decref(j);
		skip();
	}
	mkout(dir, sizeof(dir));
	render_one(j, dir, 0);
	check_images(dir, "ratio");
	check_images(dir, "samples");
	check_images(dir, "memory");
	gp = slurp(dir, "plots/ratio.gp", &len);
	assert_non_null(strstr(gp, "set style histogram errorbars"));
	free(gp);
	md = slurp(dir, "report.md", &len);
	assert_non_null(strstr(md, "![Every metric as % of native"));
	assert_non_null(strstr(md, "(plots/ratio.png)"));
	free(md);
	rmout(dir);
	json_decref(j);
}

static void test_no_gnuplot_still_writes(void **state)
{
	json_t *j = load_fix("results-base.json");
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
	assert_int_equal(check_md_table(md, j), 36);
	free(md);
	free(html);
	rmout(dir);
	json_decref(j);
}

static void test_several_runs(void **state)
{
	json_t *j[2] = {load_fix("results-regress.json"), load_fix("results-base.json")};
	struct hb_err e = {0};
	char dir[64], *md;
	size_t len;
	int gp = gnuplot_present();

	mkout(dir, sizeof(dir));
	assert_int_equal(hb_report_render(j, 2, dir, &e), gp ? 0 : HB_EUNSUPP);
	md = slurp(dir, "report.md", &len);
	assert_non_null(md);
	assert_non_null(strstr(md, "## Comparison across runs"));
	/* ordered by started_at: the base run (11-20) is run 1 although given second */
	assert_non_null(strstr(md, "| metric | run 1: native | run 1: vm-minimal"));
	assert_non_null(strstr(md, "| disk-randread \xc2\xb7 iops | 51974 IOPS |"));
	assert_non_null(
		strstr(md, "| started | 2026-11-20T02:00:00.000Z | 2026-11-21T02:00:00.000Z |"));
	if (gp) {
		check_images(dir, "trend-disk");
		check_images(dir, "trend-overhead");
	}
	free(md);
	rmout(dir);
	json_decref(j[0]);
	json_decref(j[1]);
}

static void test_native_only(void **state)
{
	json_t *j = load_fix("results-native-only.json");
	char dir[64], *md;
	size_t len;

	mkout(dir, sizeof(dir));
	render_one(j, dir, gnuplot_present() ? 0 : HB_EUNSUPP);
	md = slurp(dir, "report.md", &len);
	assert_non_null(md);
	assert_null(strstr(md, "% of native ("));
	assert_null(strstr(md, "TCG emulation"));
	assert_null(strstr(md, "## Capacity")); /* no VM, no capacity estimate */
	assert_int_equal(check_md_table(md, j), 6);
	free(md);
	rmout(dir);
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

	mkout(dir, sizeof(dir));
	snprintf(p1, sizeof(p1), "%s/results-native-only.json", fixdir);
	snprintf(p2, sizeof(p2), "%s/results-malformed.json", fixdir);
	assert_int_equal(hb_report_main(1, a1, out, err), 2);
	assert_int_equal(hb_report_main(5, a2, out, err), 0);
	assert_int_equal(hb_report_main(4, a3, out, err), 2);
	assert_int_equal(hb_report_main(2, a4, out, err), 0);
	fclose(out);
	fclose(err);
	assert_non_null(strstr(e, "no results file given"));
	assert_non_null(strstr(e, "results-malformed.json: results[3].samples[1]: not a number"));
	assert_non_null(strstr(o, "/report.html"));
	assert_non_null(strstr(o, "usage: hvbench report"));
	free(o);
	free(e);
	rmout(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loader_errors),
		cmocka_unit_test(test_loader_size_limit),
		cmocka_unit_test(test_fmt_rule),
		cmocka_unit_test(test_markdown_matches_fixture),
		cmocka_unit_test(test_missing_ratios_bootstrapped),
		cmocka_unit_test(test_cv_threshold_configurable),
		cmocka_unit_test(test_html_self_contained),
		cmocka_unit_test(test_plots_valid),
		cmocka_unit_test(test_no_gnuplot_still_writes),
		cmocka_unit_test(test_several_runs),
		cmocka_unit_test(test_native_only),
		cmocka_unit_test(test_cmd_report),
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
