/*
 * render.c — writes report.md and a self-contained report.html (inline CSS, PNG plots inlined
 * as data: URIs, no scripts, no external references) from the report model, and implements
 * `hvbench report`. Both documents come from the same walk over the model, so the HTML says
 * exactly what the Markdown says; every number goes through hb_fmt_value/hb_fmt_pct.
 */
#include "rep_int.h"
#include "capacity_model.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EMU_NOTE     "emulation: tests the measurement chain, not hardware virtualization"
#define USERNET_NOTE "user networking, not representative"
#define WARN_SIGN    "\xe2\x9a\xa0" /* U+26A0 */
#define EN_DASH	     "\xe2\x80\x93"

void hb_report_opts_init(struct hb_report_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cv_warn = 0.10;
}

struct doc {
	FILE *md, *html;
};

static void md(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void md(struct doc *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(d->md, fmt, ap);
	va_end(ap);
}

static void ht(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ht(struct doc *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(d->html, fmt, ap);
	va_end(ap);
}

/* Markdown table-cell text: '|' escaped, newlines flattened. */
static void md_esc(struct doc *d, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", d->md);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', d->md);
		else
			fputc(*s, d->md);
	}
}

static void html_esc(struct doc *d, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", d->html); break;
		case '<': fputs("&lt;", d->html); break;
		case '>': fputs("&gt;", d->html); break;
		case '"': fputs("&quot;", d->html); break;
		default: fputc(*s, d->html);
		}
	}
}

/* The same text into both documents. */
static void both(struct doc *d, const char *s)
{
	md_esc(d, s);
	html_esc(d, s);
}

static const char *CSS =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"margin:2em auto;max-width:1200px;padding:0 1.5em;color:#1d2330;line-height:1.45}"
	"h1{font-size:1.7em;border-bottom:3px solid #2b6cb0;padding-bottom:.3em}"
	"h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #d5dbe5;padding-bottom:.2em}"
	"table{border-collapse:collapse;margin:1em 0;font-size:.92em}"
	"th,td{border:1px solid #d5dbe5;padding:.35em .6em;text-align:left;vertical-align:top}"
	"thead th{background:#edf2f7;position:sticky;top:0}"
	"tr.area th{background:#2b6cb0;color:#fff;font-weight:600;text-align:left}"
	"td.native{background:#f7fafc;font-weight:600}"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}"
	".pct{font-size:1.1em;font-weight:600}"
	".ci{color:#4a5568;font-size:.85em}"
	".abs{color:#4a5568;font-size:.85em}"
	".badge{display:inline-block;border-radius:4px;padding:0 .4em;margin-left:.3em;"
	"font-size:.75em;font-weight:700;vertical-align:middle}"
	".emu{background:#fefcbf;color:#744210;border:1px solid #d69e2e}"
	".usernet{background:#fed7d7;color:#822727;border:1px solid #e53e3e}"
	".warn{color:#9c4221;font-weight:600}"
	".note{background:#fffaf0;border-left:4px solid #d69e2e;padding:.5em 1em;margin:1em 0}"
	".meta{color:#4a5568}"
	"figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #d5dbe5}"
	"figcaption{color:#4a5568;font-size:.9em}"
	"dl.kv{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}"
	"dl.kv dt{font-weight:600}dl.kv dd{margin:0}"
	".scroll{overflow-x:auto}";

static void col_header(const struct hb_rep *r, const struct hb_rep_col *c, char *buf, size_t len)
{
	if (r->nruns > 1)
		snprintf(buf, len, "run %zu: %s", c->run + 1, c->target);
	else
		hb_strlcpy(buf, c->target, len);
}

static int row_is_net(const struct hb_rep_row *row)
{
	return !strcmp(row->kind, "net");
}

/* ---- main table ---- */

static void main_table(struct doc *d, const struct hb_rep *r)
{
	char h[256], v[64], p[32], lo[32], hi[32], label[300];
	int area = -1;

	md(d, "| metric |");
	ht(d, "<div class=\"scroll\"><table class=\"results\"><thead><tr><th>metric</th>");
	for (size_t j = 0; j < r->ncols; j++) {
		const struct hb_rep_col *c = &r->cols[j];

		col_header(r, c, h, sizeof(h));
		md(d, " ");
		md_esc(d, h);
		ht(d, "<th>");
		html_esc(d, h);
		if (c->emulated) {
			md(d, " " WARN_SIGN " TCG emulation\xc2\xb9");
			ht(d, " <span class=\"badge emu\" title=\"" EMU_NOTE
			      "\">TCG emulation</span>");
		}
		if (c->user_net) {
			md(d, " (user net\xc2\xb2)");
			ht(d, " <span class=\"badge usernet\" title=\"net: " USERNET_NOTE
			      "\">user net</span>");
		}
		md(d, " |");
		ht(d, "</th>");
	}
	md(d, "\n|---|");
	for (size_t j = 0; j < r->ncols; j++)
		md(d, "---|");
	md(d, "\n");
	ht(d, "</tr></thead><tbody>\n");

	for (size_t i = 0; i < r->nrows; i++) {
		const struct hb_rep_row *row = &r->rows[i];

		if (row->area != area) {
			area = row->area;
			md(d, "| **%s** |", hb_area_name(area));
			for (size_t j = 0; j < r->ncols; j++)
				md(d, " |");
			md(d, "\n");
			ht(d, "<tr class=\"area\"><th colspan=\"%zu\">%s</th></tr>\n", r->ncols + 1,
			   hb_area_name(area));
		}
		hb_rep_row_label(row, label, sizeof(label));
		md(d, "| ");
		md_esc(d, label);
		md(d, " |");
		ht(d, "<tr><th>");
		html_esc(d, label);
		ht(d, " <span class=\"meta\">(%s, %s)</span></th>", row->unit,
		   row->higher_is_better ? "higher is better" : "lower is better");
		for (size_t j = 0; j < r->ncols; j++) {
			const struct hb_rep_col *c = &r->cols[j];
			const struct hb_rep_cell *cell = hb_rep_cell(r, i, j);
			int usernet = c->user_net && row_is_net(row);

			if (!cell->res) {
				md(d, " \xe2\x80\x94 |");
				ht(d, "<td>\xe2\x80\x94</td>");
				continue;
			}
			hb_fmt_value(cell->median, v, sizeof(v));
			if (cell->has_ratio) {
				hb_fmt_pct(cell->ratio, p, sizeof(p));
				hb_fmt_pct(cell->lo, lo, sizeof(lo));
				hb_fmt_pct(cell->hi, hi, sizeof(hi));
				md(d, " %s%% of native (95%% CI %s" EN_DASH "%s) \xc2\xb7 %s ", p,
				   lo, hi, v);
				md_esc(d, row->unit);
				ht(d,
				   "<td><div class=\"pct\">%s%% of native</div><div "
				   "class=\"ci\">95%% CI "
				   "%s" EN_DASH "%s</div><div class=\"abs\">%s ",
				   p, lo, hi, v);
				html_esc(d, row->unit);
				ht(d, "</div>");
			} else {
				md(d, " %s ", v);
				md_esc(d, row->unit);
				ht(d, "<td class=\"%s\">%s ", c->is_native ? "native" : "", v);
				html_esc(d, row->unit);
			}
			if (usernet) {
				md(d, " " WARN_SIGN " " USERNET_NOTE);
				ht(d, "<div class=\"warn\">" WARN_SIGN " " USERNET_NOTE "</div>");
			}
			md(d, " |");
			ht(d, "</td>");
		}
		md(d, "\n");
		ht(d, "</tr>\n");
	}
	ht(d, "</tbody></table></div>\n");
}

static void notes(struct doc *d, const struct hb_rep *r)
{
	int emu = 0, usernet = 0, computed = 0, ratios = 0;

	for (size_t j = 0; j < r->ncols; j++) {
		emu |= r->cols[j].emulated;
		usernet |= r->cols[j].user_net;
	}
	for (size_t i = 0; i < r->nrows * r->ncols; i++) {
		computed |= r->cells[i].has_ratio && !r->cells[i].ratio_from_file;
		ratios |= r->cells[i].has_ratio;
	}
	if (ratios)
		md(d,
		   "\nNon-native cells read \"NN.N%% of native (95%% CI lo" EN_DASH "hi) \xc2\xb7 "
		   "median\": the ratio of medians to the native target of the same run and its "
		   "bootstrap CI. Native cells show the median with its unit.\n");
	if (ratios)
		ht(d, "<p class=\"meta\">Non-native cells: the ratio of medians to the native "
		      "target of the "
		      "same run, its bootstrap 95%% CI, and the median. Native cells show the "
		      "median.</p>\n");
	if (computed) {
		md(d,
		   "\nSome ratios were not in the results file and were bootstrapped by the report "
		   "(%d resamples, fixed seed).\n",
		   HB_BOOT_ITERS);
		ht(d,
		   "<p class=\"meta\">Some ratios were not in the results file and were "
		   "bootstrapped by the report (%d resamples, fixed seed).</p>\n",
		   HB_BOOT_ITERS);
	}
	if (emu) {
		md(d, "\n\xc2\xb9 " WARN_SIGN " TCG: these targets ran under QEMU TCG. " EMU_NOTE
		      ".\n");
		ht(d,
		   "<p class=\"note\"><span class=\"badge emu\">TCG emulation</span> These targets "
		   "ran under QEMU TCG. " EMU_NOTE ".</p>\n");
	}
	if (usernet) {
		md(d,
		   "\n\xc2\xb2 " WARN_SIGN " network results of targets using QEMU user networking "
		   "(slirp): " USERNET_NOTE ".\n");
		ht(d, "<p class=\"note\"><span class=\"badge usernet\">user net</span> network "
		      "results "
		      "of these targets go through QEMU user networking (slirp): " USERNET_NOTE
		      ".</p>\n");
	}
}

/* ---- runs, host, targets, profile ---- */

static void kv_row(struct doc *d, const struct hb_rep *r, const char *label, const char *key,
		   const char *sub)
{
	md(d, "| %s |", label);
	ht(d, "<tr><th>%s</th>", label);
	for (size_t i = 0; i < r->nruns; i++) {
		const json_t *o = sub ? json_object_get(r->runs[i], sub) : r->runs[i];
		const json_t *v = json_object_get(o, key);
		char buf[128];

		if (json_is_string(v))
			hb_strlcpy(buf, json_string_value(v), sizeof(buf));
		else if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		else if (json_is_number(v))
			hb_fmt_value(json_number_value(v), buf, sizeof(buf));
		else
			hb_strlcpy(buf, "\xe2\x80\x94", sizeof(buf));
		if (!strcmp(key, "memory_bytes") && json_is_number(v))
			snprintf(buf, sizeof(buf), "%.1f GiB", json_number_value(v) / 1073741824.0);
		md(d, " ");
		md_esc(d, buf);
		md(d, " |");
		ht(d, "<td>");
		html_esc(d, buf);
		ht(d, "</td>");
	}
	md(d, "\n");
	ht(d, "</tr>\n");
}

static void runs_table(struct doc *d, const struct hb_rep *r)
{
	md(d, "\n## Runs and host\n\n|  |");
	ht(d, "<h2>Runs and host</h2>\n<table><thead><tr><th></th>");
	for (size_t i = 0; i < r->nruns; i++) {
		md(d, " run %zu |", i + 1);
		ht(d, "<th>run %zu</th>", i + 1);
	}
	md(d, "\n|---|");
	for (size_t i = 0; i < r->nruns; i++)
		md(d, "---|");
	md(d, "\n");
	ht(d, "</tr></thead><tbody>\n");
	kv_row(d, r, "profile", "profile_name", NULL);
	kv_row(d, r, "started", "started_at", NULL);
	kv_row(d, r, "finished", "finished_at", NULL);
	kv_row(d, r, "status", "status", NULL);
	kv_row(d, r, "hvbench", "tool_version", NULL);
	kv_row(d, r, "host", "hostname", "host");
	kv_row(d, r, "CPU", "cpu_model", "host");
	kv_row(d, r, "cores", "cores", "host");
	kv_row(d, r, "memory", "memory_bytes", "host");
	kv_row(d, r, "kernel", "kernel", "host");
	kv_row(d, r, "virtualization", "virtualization", "host");
	{
		/* run labels (hvbench run --label): one row per key any run has */
		json_t *keys = json_object(), *v;
		const char *k;

		for (size_t i = 0; i < r->nruns; i++)
			json_object_update_missing(keys, json_object_get(r->runs[i], "labels"));
		json_object_foreach (keys, k, v) {
			char label[96];

			snprintf(label, sizeof(label), "label %s", k);
			kv_row(d, r, label, k, "labels");
		}
		json_decref(keys);
	}
	ht(d, "</tbody></table>\n");
}

static void info_str(const json_t *info, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(info, key);

	if (json_is_string(v))
		hb_strlcpy(buf, json_string_value(v), len);
	else if (json_is_number(v))
		hb_fmt_value(json_number_value(v), buf, len);
	else if (json_is_boolean(v))
		hb_strlcpy(buf, json_is_true(v) ? "yes" : "no", len);
	else
		hb_strlcpy(buf, "", len);
}

static void targets_table(struct doc *d, const struct hb_rep *r)
{
	static const char *keys[] = {"accel",	   "machine",  "vcpus",
				     "memory_mib", "net_mode", "accel_reason"};
	static const char *heads[] = {"accel", "machine", "vCPUs", "memory MiB", "net", "notes"};
	char buf[512];

	md(d, "\n## Targets\n\n| %starget | kind |", r->nruns > 1 ? "run | " : "");
	ht(d, "<h2>Targets</h2>\n<table><thead><tr>%s<th>target</th><th>kind</th>",
	   r->nruns > 1 ? "<th>run</th>" : "");
	for (size_t k = 0; k < HB_ARRAY_SIZE(heads); k++) {
		md(d, " %s |", heads[k]);
		ht(d, "<th>%s</th>", heads[k]);
	}
	md(d, "\n|%s---|---|", r->nruns > 1 ? "---|" : "");
	for (size_t k = 0; k < HB_ARRAY_SIZE(heads); k++)
		md(d, "---|");
	md(d, "\n");
	ht(d, "</tr></thead><tbody>\n");
	for (size_t j = 0; j < r->ncols; j++) {
		const struct hb_rep_col *c = &r->cols[j];
		const json_t *t = hb_j_target(r->runs[c->run], c->target);

		md(d, "|");
		ht(d, "<tr>");
		if (r->nruns > 1) {
			md(d, " %zu |", c->run + 1);
			ht(d, "<td>%zu</td>", c->run + 1);
		}
		md(d, " ");
		ht(d, "<td>");
		both(d, c->target);
		if (c->emulated) {
			md(d, " " WARN_SIGN " TCG emulation\xc2\xb9");
			ht(d, " <span class=\"badge emu\">TCG emulation</span>");
		}
		md(d, " | ");
		ht(d, "</td><td>");
		both(d, hb_j_str(t, "kind", ""));
		md(d, " |");
		ht(d, "</td>");
		for (size_t k = 0; k < HB_ARRAY_SIZE(keys); k++) {
			info_str(c->info, keys[k], buf, sizeof(buf));
			md(d, " ");
			ht(d, "<td>");
			both(d, buf);
			md(d, " |");
			ht(d, "</td>");
		}
		md(d, "\n");
		ht(d, "</tr>\n");
	}
	ht(d, "</tbody></table>\n");
}

static void profile_summary(struct doc *d, const struct hb_rep *r)
{
	md(d, "\n## Profile\n");
	ht(d, "<h2>Profile</h2>\n");
	for (size_t i = 0; i < r->nruns; i++) {
		const json_t *p = json_object_get(r->runs[i], "profile"), *v;
		const char *key;
		char buf[1024];

		if (r->nruns > 1) {
			md(d, "\nRun %zu:\n", i + 1);
			ht(d, "<h3>Run %zu</h3>\n", i + 1);
		}
		md(d, "\n- name: ");
		ht(d, "<dl class=\"kv\"><dt>name</dt><dd>");
		both(d, hb_j_str(r->runs[i], "profile_name", hb_j_str(p, "name", "(unnamed)")));
		md(d, "\n");
		ht(d, "</dd>");
		json_object_foreach ((json_t *)p, key, v) {
			size_t len = 0;

			if (!strcmp(key, "name"))
				continue;
			buf[0] = '\0';
			if (json_is_string(v))
				hb_strlcpy(buf, json_string_value(v), sizeof(buf));
			else if (json_is_number(v))
				hb_fmt_value(json_number_value(v), buf, sizeof(buf));
			else if (json_is_boolean(v))
				hb_strlcpy(buf, json_is_true(v) ? "true" : "false", sizeof(buf));
			else if (json_is_array(v) || json_is_object(v)) {
				size_t k;
				const json_t *x;
				const char *sk;

				len = (size_t)snprintf(buf, sizeof(buf), "%zu",
						       json_is_array(v) ? json_array_size(v)
									: json_object_size(v));
				if (json_is_array(v)) {
					json_array_foreach (v, k, x) {
						const char *nm =
							json_is_string(x)
								? json_string_value(x)
								: hb_j_str(x, "name", NULL);
						if (!nm || len + strlen(nm) + 8 >= sizeof(buf))
							continue;
						len += (size_t)snprintf(buf + len,
									sizeof(buf) - len, "%s%s",
									k ? ", " : " (", nm);
					}
					if (len < sizeof(buf) - 2 && strchr(buf, '('))
						hb_strlcpy(buf + len, ")", sizeof(buf) - len);
				} else {
					int first = 1;

					json_object_foreach ((json_t *)v, sk, x) {
						if (len + strlen(sk) + 8 >= sizeof(buf))
							break;
						len += (size_t)snprintf(buf + len,
									sizeof(buf) - len, "%s%s",
									first ? " (" : ", ", sk);
						first = 0;
					}
					if (!first && len < sizeof(buf) - 2)
						hb_strlcpy(buf + len, ")", sizeof(buf) - len);
				}
			}
			md(d, "- %s: ", key);
			ht(d, "<dt>");
			html_esc(d, key);
			ht(d, "</dt><dd>");
			both(d, buf);
			md(d, "\n");
			ht(d, "</dd>");
		}
		ht(d, "</dl>\n");
	}
}

/* ---- samples, variability, warnings, failures ---- */

static int cv_high(const struct hb_rep *r, const struct hb_rep_cell *c)
{
	return c->res && isfinite(c->cv) && c->cv > r->opts.cv_warn;
}

static void samples_table(struct doc *d, const struct hb_rep *r)
{
	char label[300], v[64], lo[64], hi[64], cv[32], th[32];
	size_t nwarn = 0;

	hb_fmt_pct(r->opts.cv_warn, th, sizeof(th));
	md(d,
	   "\n## Samples and variability\n\nCV above %s%% is flagged " WARN_SIGN
	   ": the median of such a metric is not trustworthy.\n\n"
	   "| target | metric | n | median | 95%% CI of median | CV |  |\n"
	   "|---|---|---|---|---|---|---|\n",
	   th);
	ht(d,
	   "<h2>Samples and variability</h2>\n<p>CV above %s%% is flagged " WARN_SIGN
	   ": the median of such a metric is not trustworthy.</p>\n<table><thead><tr>"
	   "<th>target</th><th>metric</th><th>n</th><th>median</th><th>95%% CI of median</th>"
	   "<th>CV</th><th></th></tr></thead><tbody>\n",
	   th);
	for (size_t j = 0; j < r->ncols; j++) {
		for (size_t i = 0; i < r->nrows; i++) {
			const struct hb_rep_cell *c = hb_rep_cell(r, i, j);
			char h[256];

			if (!c->res)
				continue;
			col_header(r, &r->cols[j], h, sizeof(h));
			hb_rep_row_label(&r->rows[i], label, sizeof(label));
			hb_fmt_value(c->median, v, sizeof(v));
			hb_fmt_value(c->ci_lo, lo, sizeof(lo));
			hb_fmt_value(c->ci_hi, hi, sizeof(hi));
			hb_fmt_pct(c->cv, cv, sizeof(cv));
			md(d, "| ");
			ht(d, "<tr><td>");
			both(d, h);
			md(d, " | ");
			ht(d, "</td><td>");
			both(d, label);
			md(d, " | %zu | %s ", c->n, v);
			ht(d, "</td><td class=\"num\">%zu</td><td class=\"num\">%s ", c->n, v);
			both(d, r->rows[i].unit);
			md(d, " | %s" EN_DASH "%s | %s%s |", lo, hi, cv,
			   strcmp(cv, "n/a") ? "%" : "");
			ht(d,
			   "</td><td class=\"num\">%s" EN_DASH "%s</td><td class=\"num\">%s%s</td>",
			   lo, hi, cv, strcmp(cv, "n/a") ? "%" : "");
			if (cv_high(r, c)) {
				md(d, " " WARN_SIGN " high CV |\n");
				ht(d, "<td class=\"warn\">" WARN_SIGN " high CV</td></tr>\n");
				nwarn++;
			} else {
				md(d, "  |\n");
				ht(d, "<td></td></tr>\n");
			}
		}
	}
	ht(d, "</tbody></table>\n");

	md(d, "\n## Warnings\n\n");
	ht(d, "<h2>Warnings</h2>\n<ul>\n");
	for (size_t i = 0; i < r->nruns; i++) {
		const char *st = hb_j_str(r->runs[i], "status", "");

		if (strcmp(st, "complete")) {
			md(d,
			   "- " WARN_SIGN " run %zu has status \"%s\": some measurements are "
			   "missing.\n",
			   i + 1, st);
			ht(d,
			   "<li class=\"warn\">" WARN_SIGN " run %zu has status \"%s\": some "
			   "measurements are missing.</li>\n",
			   i + 1, st);
			nwarn++;
		}
	}
	/* one line per target and workload: "native disk-randread: iops CV 25.1%, bw CV 25.1%" */
	for (size_t j = 0; j < r->ncols; j++) {
		for (size_t i = 0; i < r->nrows; i++) {
			const char *wl = r->rows[i].workload;
			int first_of_wl = 1, any = 0;
			char h[256];

			for (size_t k = 0; k < i; k++)
				if (!strcmp(r->rows[k].workload, wl))
					first_of_wl = 0;
			if (!first_of_wl)
				continue;
			for (size_t k = i; k < r->nrows; k++) {
				const struct hb_rep_cell *c = hb_rep_cell(r, k, j);

				if (strcmp(r->rows[k].workload, wl) || !cv_high(r, c))
					continue;
				hb_fmt_pct(c->cv, cv, sizeof(cv));
				if (!any) {
					col_header(r, &r->cols[j], h, sizeof(h));
					md(d, "- " WARN_SIGN " ");
					ht(d, "<li class=\"warn\">" WARN_SIGN " ");
					both(d, h);
					md(d, " ");
					ht(d, " ");
					both(d, wl);
					md(d, ", CV above %s%% (n = %zu): ", th, c->n);
					ht(d, ", CV above %s%% (n = %zu): ", th, c->n);
				} else {
					md(d, ", ");
					ht(d, ", ");
				}
				both(d, r->rows[k].metric);
				md(d, " %s%%", cv);
				ht(d, " %s%%", cv);
				any = 1;
				nwarn++;
			}
			if (any) {
				md(d, "\n");
				ht(d, "</li>\n");
			}
		}
	}
	if (nwarn) {
		md(d, "\nMetrics with a high CV: rerun with more repetitions or on a quieter host "
		      "before "
		      "trusting their medians.\n");
		ht(d, "</ul><p>Metrics with a high CV: rerun with more repetitions or on a quieter "
		      "host "
		      "before trusting their medians.</p><ul>\n");
	}
	if (!nwarn) {
		md(d, "None.\n");
		ht(d, "<li>None.</li>\n");
	}
	ht(d, "</ul>\n");
}

static void failures(struct doc *d, const struct hb_rep *r)
{
	size_t nf = 0;

	md(d, "\n## Failures\n\n");
	ht(d, "<h2>Failures</h2>\n");
	for (size_t i = 0; i < r->nruns; i++)
		nf += json_array_size(json_object_get(r->runs[i], "failures"));
	if (!nf) {
		md(d, "None.\n");
		ht(d, "<p>None.</p>\n");
		return;
	}
	md(d, "| run | target | workload | rep | error |\n|---|---|---|---|---|\n");
	ht(d, "<table><thead><tr><th>run</th><th>target</th><th>workload</th><th>rep</th>"
	      "<th>error</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < r->nruns; i++) {
		const json_t *f = json_object_get(r->runs[i], "failures"), *x;
		size_t k;

		json_array_foreach (f, k, x) {
			const json_t *rep = json_object_get(x, "rep");
			char rs[32];

			if (json_is_number(rep))
				snprintf(rs, sizeof(rs), "%lld", (long long)json_number_value(rep));
			else
				hb_strlcpy(rs, "\xe2\x80\x94", sizeof(rs));
			md(d, "| %zu | ", i + 1);
			ht(d, "<tr><td>%zu</td><td>", i + 1);
			both(d, hb_j_str(x, "target", "\xe2\x80\x94"));
			md(d, " | ");
			ht(d, "</td><td>");
			both(d, hb_j_str(x, "workload", "\xe2\x80\x94"));
			md(d, " | %s | ", rs);
			ht(d, "</td><td>%s</td><td>", rs);
			both(d, hb_j_str(x, "error", ""));
			md(d, " |\n");
			ht(d, "</td></tr>\n");
		}
	}
	ht(d, "</tbody></table>\n");
}

/* ---- plots ---- */

void hb_rep_base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		fputc(tab[(v >> 18) & 63], f);
		fputc(tab[(v >> 12) & 63], f);
		fputc(i + 1 < n ? tab[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? tab[v & 63] : '=', f);
	}
}

static void plots_section(struct doc *d, const char *outdir, const struct hb_rep_plots *pl,
			  int plots_ran)
{
	md(d, "\n## Plots\n\n");
	ht(d, "<h2>Plots</h2>\n");
	if (pl->why[0]) {
		md(d, WARN_SIGN " ");
		ht(d, "<p class=\"warn\">" WARN_SIGN " ");
		both(d, pl->why);
		md(d, "\n\n");
		ht(d, "</p>\n");
	}
	if (!plots_ran)
		return;
	for (size_t i = 0; i < pl->n; i++)
		if (pl->p[i].ok)
			hb_rep_figure(d->md, d->html, outdir, &pl->p[i]);
}

void hb_rep_figure(FILE *mdf, FILE *html, const char *outdir, const struct hb_rep_plot *p)
{
	struct doc dd = {mdf, html}, *d = &dd;
	char path[PATH_MAX];
	char *png = NULL;
	size_t len = 0;
	struct hb_err e2 = {0};

	md(d, "![%s](plots/%s.png)\n\n%s ([PNG](plots/%s.png), [SVG](plots/%s.svg))\n\n", p->title,
	   p->name, p->title, p->name, p->name);
	ht(d, "<figure>");
	if (!hb_snprintf(path, sizeof(path), "%s/plots/%s.png", outdir, p->name) &&
	    !hb_read_file(path, 16u << 20, &png, &len, &e2)) {
		ht(d, "<img alt=\"");
		html_esc(d, p->title);
		ht(d, "\" src=\"data:image/png;base64,");
		hb_rep_base64(d->html, (const unsigned char *)png, len);
		ht(d, "\">");
		free(png);
	}
	ht(d, "<figcaption>");
	html_esc(d, p->title);
	ht(d, " (files: plots/%s.png, plots/%s.svg)</figcaption></figure>\n", p->name, p->name);
}

/* ---- entry points ---- */

static int write_docs(const struct hb_rep *r, const char *outdir, const struct hb_rep_plots *pl,
		      int plots_ran, struct hb_err *e)
{
	struct doc d = {0};
	char *mdbuf = NULL, *htbuf = NULL, path[PATH_MAX];
	size_t mdlen = 0, htlen = 0;
	const char *prof = hb_j_str(r->runs[0], "profile_name", "results");
	int rc = 0;

	d.md = open_memstream(&mdbuf, &mdlen);
	d.html = open_memstream(&htbuf, &htlen);
	if (!d.md || !d.html) {
		rc = hb_err_set(e, HB_ENOMEM, "report: out of memory");
		goto out;
	}
	ht(&d, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	       "<title>hvbench report: ");
	if (r->nruns > 1) {
		md(&d, "# hvbench report: %zu runs compared\n\n", r->nruns);
		ht(&d,
		   "%zu runs compared</title><style>%s</style></head><body>\n"
		   "<h1>hvbench report: %zu runs compared</h1>\n",
		   r->nruns, CSS, r->nruns);
	} else {
		md(&d, "# hvbench report: ");
		html_esc(&d, prof);
		ht(&d, "</title><style>%s</style></head><body>\n<h1>hvbench report: ", CSS);
		both(&d, prof);
		md(&d, "\n\n");
		ht(&d, "</h1>\n");
	}
	md(&d, "Started ");
	ht(&d, "<p class=\"meta\">Started ");
	both(&d, hb_j_str(r->runs[0], "started_at", "?"));
	if (r->nruns > 1) {
		md(&d, " (first run) to ");
		ht(&d, " (first run) to ");
		both(&d, hb_j_str(r->runs[r->nruns - 1], "started_at", "?"));
		md(&d, " (last run)");
		ht(&d, " (last run)");
	}
	md(&d, " on ");
	ht(&d, " on ");
	both(&d, hb_j_str(json_object_get(r->runs[0], "host"), "hostname", "an unnamed host"));
	md(&d, ", status ");
	ht(&d, ", status ");
	both(&d, hb_j_str(r->runs[0], "status", "?"));
	md(&d,
	   ". Every figure is the median of the repetitions; ratios are to the native target of "
	   "the same run.\n\n");
	ht(&d, ". Every figure is the median of the repetitions; ratios are to the native target "
	       "of the same run.</p>\n");

	md(&d, "## %s\n\n", r->nruns > 1 ? "Comparison across runs" : "Results");
	ht(&d, "<h2>%s</h2>\n", r->nruns > 1 ? "Comparison across runs" : "Results");
	if (r->nrows && r->ncols) {
		main_table(&d, r);
		notes(&d, r);
	} else {
		md(&d, "No results.\n");
		ht(&d, "<p>No results.</p>\n");
	}
	hb_rep_capacity(d.md, d.html, r, outdir, pl);
	runs_table(&d, r);
	targets_table(&d, r);
	profile_summary(&d, r);
	samples_table(&d, r);
	failures(&d, r);
	plots_section(&d, outdir, pl, plots_ran);
	md(&d,
	   "\n---\nGenerated by hvbench %s. Number format: integers in full, other values with "
	   "4 significant digits (no exponent between 0.001 and 1e9), percentages with one "
	   "decimal.\n",
	   HB_VERSION);
	ht(&d,
	   "<hr><p class=\"meta\">Generated by hvbench %s. Number format: integers in full, other "
	   "values "
	   "with 4 significant digits (no exponent between 0.001 and 1e9), percentages with one "
	   "decimal.</p>\n"
	   "</body></html>\n",
	   HB_VERSION);
	if (fclose(d.md) | fclose(d.html)) {
		d.md = d.html = NULL;
		rc = hb_err_set(e, HB_ENOMEM, "report: out of memory");
		goto out;
	}
	d.md = d.html = NULL;
	if ((rc = hb_snprintf(path, sizeof(path), "%s/report.md", outdir)) ||
	    (rc = hb_write_atomic(path, mdbuf, mdlen, 0644, e)))
		goto out;
	if ((rc = hb_snprintf(path, sizeof(path), "%s/report.html", outdir)) ||
	    (rc = hb_write_atomic(path, htbuf, htlen, 0644, e)))
		goto out;
out:
	if (rc == HB_EINVAL && !e->msg[0])
		hb_err_set(e, rc, "%s: path too long", outdir);
	if (d.md)
		fclose(d.md);
	if (d.html)
		fclose(d.html);
	free(mdbuf);
	free(htbuf);
	return rc;
}

int hb_report_render_opts(json_t *const *results, size_t n, const char *outdir,
			  const struct hb_report_opts *o, struct hb_err *e)
{
	struct hb_rep r;
	struct hb_rep_plots pl;
	struct hb_err pe = {0};
	json_t **sorted;
	char plotdir[PATH_MAX];
	int rc, prc = 0, plots_ran = 0;

	memset(&pl, 0, sizeof(pl));
	if (n == 0 || !results)
		return hb_err_set(e, HB_EINVAL, "report: no results given");
	if ((rc = hb_mkdirs(outdir, 0755, e)))
		return rc;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return hb_err_set(e, HB_ENOMEM, "report: out of memory");
	/* Runs in time order (RFC 3339 UTC strings sort as text); insertion sort keeps ties. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && strcmp(hb_j_str(sorted[j - 1], "started_at", ""),
				       hb_j_str(results[i], "started_at", "")) > 0) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = results[i];
	}
	rc = hb_rep_build(&r, sorted, n, o, e);
	if (rc) {
		free(sorted);
		return rc;
	}
	if (r.opts.no_plots) {
		hb_strlcpy(pl.why, "Plots were not requested (--no-plots).", sizeof(pl.why));
	} else if (hb_snprintf(plotdir, sizeof(plotdir), "%s/plots", outdir)) {
		prc = hb_err_set(&pe, HB_EINVAL, "%s: path too long", outdir);
	} else {
		prc = hb_rep_plots(&r, plotdir, &pl, &pe);
		plots_ran = prc != HB_EUNSUPP || pl.n > 0;
	}
	if (prc && !pl.why[0])
		snprintf(pl.why, sizeof(pl.why), "Plots are missing: %s", pe.msg);
	rc = write_docs(&r, outdir, &pl, plots_ran, e);
	hb_rep_free(&r);
	free(sorted);
	if (rc)
		return rc;
	/* gnuplot absent is a known limitation; a plot that failed (gnuplot error, disk full)
	 * is a failure the caller must not hide */
	if (prc)
		return hb_err_set(e, prc == HB_EUNSUPP ? HB_EUNSUPP : HB_ECHILD,
				  "%s (report.md and report.html were written without them)",
				  pe.msg);
	return 0;
}

int hb_report_render(json_t *const *results, size_t n, const char *outdir, struct hb_err *e)
{
	return hb_report_render_opts(results, n, outdir, NULL, e);
}

static void report_usage(FILE *f)
{
	fputs("usage: hvbench report RESULTS.json [MORE.json ...] [-o DIR] [--cv-warn PCT]\n"
	      "                      [--no-plots]\n"
	      "Renders report.md, report.html and plots/ (gnuplot PNG + SVG) into DIR\n"
	      "(default: the directory of the first results file). Several files give a\n"
	      "comparison across runs, ordered by started_at, and a trend plot.\n"
	      "  -o, --output DIR   where to write\n"
	      "  --cv-warn PCT      flag metrics whose CV exceeds PCT percent (default 10)\n"
	      "  --no-plots         do not run gnuplot\n"
	      "Capacity planning for a described host (override the profile's \"planning\"):\n"
	      "  --host-cores N --host-memory SIZE   the host (both; e.g. 64 and 512G)\n"
	      "  --host-threads N   its hardware threads (default: = cores, no SMT)\n"
	      "  --vcpu-ratio R     vCPUs per CPU unit (default 1: no CPU overcommit)\n"
	      "  --mem-overcommit R guest RAM per byte of host RAM (default 1: none)\n"
	      "  --reserve SIZE     RAM the host keeps (default: this host's measured footprint)\n"
	      "  --cpu-unit threads|cores  what the vCPU ratio counts (default threads)\n"
	      "Exit status: 0 written, 1 written without plots (gnuplot missing or failed),\n"
	      "2 usage or input error.\n",
	      f);
}

int hb_report_main(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option lopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"cv-warn", required_argument, NULL, 'c'},
		{"no-plots", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		/* planning: a described host for the capacity section (capacity_model.c's table) */
		{"host-cores", required_argument, NULL, 'P'},
		{"host-threads", required_argument, NULL, 'P'},
		{"host-memory", required_argument, NULL, 'P'},
		{"reserve", required_argument, NULL, 'P'},
		{"vcpu-ratio", required_argument, NULL, 'P'},
		{"mem-overcommit", required_argument, NULL, 'P'},
		{"cpu-unit", required_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	struct hb_report_opts o;
	struct hb_err e = {0};
	const char *outdir = NULL;
	char dir[PATH_MAX];
	json_t **runs = NULL, *plan = NULL;
	struct hb_cap_plan pchk;
	size_t nruns = 0;
	int c, rc = 2, li = 0;

	hb_report_opts_init(&o);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", lopts, &li)) != -1) {
		switch (c) {
		case 'o': outdir = optarg; break;
		case 'P':
			hb_cap_plan_init(&pchk);
			if (hb_cap_plan_flag(&plan, lopts[li].name, optarg, &e) < 0 ||
			    hb_cap_plan_parse(plan, "hvbench report", &pchk, &e)) {
				if (strstr(e.msg, "needs both"))
					break; /* --host-cores without --host-memory yet */
				fprintf(err, "hvbench report: %s\n", e.msg);
				json_decref(plan);
				return 2;
			}
			break;
		case 'c': {
			char buf[64];
			size_t l;
			double v;

			hb_strlcpy(buf, optarg, sizeof(buf));
			l = strlen(buf);
			if (l && buf[l - 1] == '%')
				buf[l - 1] = '\0';
			if (hb_parse_double(buf, 0, 1000, &v)) {
				fprintf(err,
					"hvbench report: --cv-warn: \"%s\" is not a percentage\n",
					optarg);
				json_decref(plan);
				return 2;
			}
			o.cv_warn = v / 100.0;
			break;
		}
		case 'n': o.no_plots = 1; break;
		case 'h':
			report_usage(out);
			json_decref(plan);
			return 0;
		default:
			fprintf(err, "hvbench report: unknown or incomplete option \"%s\"\n",
				argv[optind - 1]);
			report_usage(err);
			json_decref(plan);
			return 2;
		}
	}
	hb_err_clear(&e);
	hb_cap_plan_init(&pchk);
	if (plan && hb_cap_plan_parse(plan, "hvbench report", &pchk, &e)) {
		fprintf(err, "hvbench report: %s\n", e.msg);
		json_decref(plan);
		return 2;
	}
	o.planning = plan;
	if (optind >= argc) {
		fprintf(err, "hvbench report: no results file given\n");
		report_usage(err);
		json_decref(plan);
		return 2;
	}
	runs = calloc((size_t)(argc - optind), sizeof(*runs));
	if (!runs) {
		fprintf(err, "hvbench report: out of memory\n");
		json_decref(plan);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		if (hb_results_load(argv[i], &runs[nruns], &e)) {
			fprintf(err, "hvbench report: %s\n", e.msg);
			goto out;
		}
		nruns++;
	}
	if (!outdir) {
		const char *slash = strrchr(argv[optind], '/');

		if (!slash)
			hb_strlcpy(dir, ".", sizeof(dir));
		else if (hb_snprintf(dir, sizeof(dir), "%.*s", (int)(slash - argv[optind]),
				     argv[optind]) ||
			 !dir[0])
			hb_strlcpy(dir, "/", sizeof(dir));
		outdir = dir;
	}
	c = hb_report_render_opts(runs, nruns, outdir, &o, &e);
	if (c == HB_EUNSUPP || c == HB_ECHILD) {
		fprintf(err, "hvbench report: %s\n", e.msg);
		fprintf(out, "%s/report.md\n%s/report.html\n", outdir, outdir);
		rc = 1;
	} else if (c) {
		fprintf(err, "hvbench report: %s\n", e.msg);
	} else {
		fprintf(out, "%s/report.md\n%s/report.html\n%s/plots/\n", outdir, outdir, outdir);
		rc = 0;
	}
out:
	for (size_t i = 0; i < nruns; i++)
		json_decref(runs[i]);
	free(runs);
	json_decref(plan);
	return rc;
}

int hb_cmd_report(int argc, char **argv)
{
	return hb_report_main(argc, argv, stdout, stderr);
}
