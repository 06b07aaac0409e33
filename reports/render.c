/*
 * render.c — writes report.md, a self-contained report.html (inline CSS, PNG plots inlined as
 * data: URIs, no scripts, no external references) and results.csv from the report model, and
 * implements `hvbench report`. The documents open with the at-a-glance table (headline metrics,
 * one column per target, oriented % of native), then the details by area under each metric's
 * declared comparison, and fold the diagnostics into an appendix. Markdown and HTML come from
 * the same walk over the model, so they say the same thing; every number goes through
 * hb_fmt_value/hb_fmt_pct and every cell through hb_rep_cell_text. The same table, as text, ends
 * `hvbench run` (hb_report_glance_text).
 */
#include "rep_int.h"
#include "capacity_model.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
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

void hb_rep_md_text(FILE *md, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '|': fputs("\\|", md); break;
		case '<': fputs("&lt;", md); break;
		case '>': fputs("&gt;", md); break;
		case '&': fputs("&amp;", md); break;
		case '\n':
		case '\r': fputc(' ', md); break;
		default: fputc(*s, md);
		}
	}
}

void hb_rep_html_text(FILE *html, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", html); break;
		case '<': fputs("&lt;", html); break;
		case '>': fputs("&gt;", html); break;
		case '"': fputs("&quot;", html); break;
		default: fputc(*s, html);
		}
	}
}

static void md_esc(struct doc *d, const char *s)
{
	hb_rep_md_text(d->md, s);
}

static void html_esc(struct doc *d, const char *s)
{
	hb_rep_html_text(d->html, s);
}

/* The same text into both documents. */
static void both(struct doc *d, const char *s)
{
	md_esc(d, s);
	html_esc(d, s);
}

/* Plain text with nothing to escape (a separator, a fixed word) into both documents. */
static void lit(struct doc *d, const char *s)
{
	fputs(s, d->md);
	fputs(s, d->html);
}

/* A sentence on its own (a literal, not escaped): a line in Markdown, a paragraph in HTML. */
static void para(struct doc *d, const char *s)
{
	md(d, "%s\n", s);
	ht(d, "<p>%s</p>\n", s);
}

/* Opens a table row with its label cell; the caller closes the label (" |", "</th>"). */
static void row_head(struct doc *d, const char *label)
{
	md(d, "| ");
	md_esc(d, label);
	ht(d, "<tr><th>");
	html_esc(d, label);
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
	".scroll{overflow-x:auto}"
	"table.glance .pct{white-space:nowrap}"
	"td.good{background:#c6f6d5}td.fair{background:#fefcbf}td.poor{background:#feebc8}"
	"td.bad{background:#fed7d7}"
	"details{margin:1em 0}summary{cursor:pointer;font-weight:600}"
	"ul.sentences li{margin:.2em 0}";

static int row_is_net(const struct hb_rep_row *row)
{
	return row->area == HB_AREA_NETWORK;
}

static const char *area_short(int area)
{
	static const char *names[HB_AREA_COUNT] = {
		"Storage", "Network",	  "Memory",	   "CPU",	 "Latency",
		"Boot",	   "Host memory", "Host CPU cost", "Diagnostic",
	};

	return area >= 0 && area < HB_AREA_COUNT ? names[area] : "Diagnostic";
}

static const char *cls_name(int cls)
{
	static const char *names[] = {"", "good", "fair", "poor", "bad"};

	return cls >= 0 && cls < (int)HB_ARRAY_SIZE(names) ? names[cls] : "";
}

static const char *cmp_word(int cmp)
{
	return cmp == HB_CMP_RATIO ? "ratio" : cmp == HB_CMP_DELTA ? "delta" : "absolute";
}

/* Header cells: the column label with its emulation / user-net marks. */
static void col_heads(struct doc *d, const struct hb_rep *r, const char *first)
{
	char h[256];

	md(d, "| %s |", first);
	ht(d, "<thead><tr><th>%s</th>", first);
	for (size_t j = 0; j < r->ncols; j++) {
		const struct hb_rep_col *c = &r->cols[j];

		hb_rep_col_label(r, c, h, sizeof(h));
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
}

/* ---- at a glance ---- */

#define GLANCE_MAX 12

/* Geometric mean of the oriented headline ratios of one area in one column; NAN if none. */
static double area_score(const struct hb_rep *r, size_t col, int area, size_t *nused)
{
	double s = 0;
	size_t n = 0;

	for (size_t i = 0; i < r->nrows; i++) {
		const struct hb_rep_cell *c = hb_rep_cell(r, i, col);

		if (r->rows[i].area != area || r->rows[i].role != HB_ROLE_HEADLINE ||
		    r->rows[i].cmp != HB_CMP_RATIO || !c->has_cmp || !(c->oriented > 0))
			continue;
		s += log(c->oriented);
		n++;
	}
	*nused = n;
	return n ? exp(s / (double)n) : NAN;
}

/* First headline cell of an area in one column (its row via *row), or NULL. */
static const struct hb_rep_cell *area_first(const struct hb_rep *r, size_t col, int area,
					    size_t *row)
{
	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].area == area && r->rows[i].role == HB_ROLE_HEADLINE &&
		    hb_rep_cell(r, i, col)->res) {
			*row = i;
			return hb_rep_cell(r, i, col);
		}
	return NULL;
}

/*
 * One sentence per compared column: "vm-minimal: storage at 4.0% of native, network 3.1%,
 * CPU 12.0%; 134 MiB host memory per VM; ready in 4.5 s — under emulation (TCG)."
 */
static void glance_sentence(const struct hb_rep *r, size_t col, char *buf, size_t len)
{
	static const int areas[] = {HB_AREA_STORAGE, HB_AREA_NETWORK, HB_AREA_MEMORY, HB_AREA_CPU};
	static const char *words[] = {"storage", "network", "memory", "CPU"};
	const struct hb_rep_col *c = &r->cols[col];
	const struct hb_rep_cell *x;
	char h[256], m[96], a[96], ci[8];
	size_t off, nused, row;
	int cls, any = 0;

	hb_rep_col_label(r, c, h, sizeof(h));
	off = (size_t)snprintf(buf, len, "%s:", h);
	for (size_t k = 0; k < HB_ARRAY_SIZE(areas) && off < len; k++) {
		double s = area_score(r, col, areas[k], &nused);

		if (!isfinite(s))
			continue;
		if (s >= 10)
			snprintf(m, sizeof(m), "\xc3\x97%.1f", s);
		else
			snprintf(m, sizeof(m), "%.1f%%", 100 * s);
		off += (size_t)snprintf(buf + off, len - off,
					any ? ", %s %s" : " %s at %s of native", words[k], m);
		any = 1;
	}
	if (off < len && (x = area_first(r, col, HB_AREA_LATENCY, &row)) && x->has_cmp) {
		hb_rep_cell_text(&r->rows[row], c, x, m, sizeof(m), NULL, 0, ci, sizeof(ci), &cls);
		off += (size_t)snprintf(buf + off, len - off, "%s latency %s", any ? "," : "", m);
		any = 1;
	}
	if (off < len && (x = area_first(r, col, HB_AREA_OVERHEAD, &row))) {
		hb_rep_cell_text(&r->rows[row], c, x, m, sizeof(m), a, sizeof(a), ci, sizeof(ci),
				 &cls);
		off += (size_t)snprintf(buf + off, len - off, "%s %s host memory per VM",
					any ? ";" : "", a);
		any = 1;
	}
	if (off < len && (x = area_first(r, col, HB_AREA_BOOT, &row))) {
		hb_rep_cell_text(&r->rows[row], c, x, m, sizeof(m), a, sizeof(a), ci, sizeof(ci),
				 &cls);
		off += (size_t)snprintf(buf + off, len - off, "%s ready in %s", any ? ";" : "", a);
		any = 1;
	}
	if (off < len && !any)
		off += (size_t)snprintf(buf + off, len - off, " no headline comparison");
	if (off < len)
		snprintf(buf + off, len - off, "%s.",
			 c->emulated ? " \xe2\x80\x94 under emulation (TCG): tests the measurement "
				       "chain, not hardware virtualization"
				     : "");
}

static size_t glance_rows(const struct hb_rep *r, size_t *idx, size_t max, size_t *total)
{
	size_t n = 0;

	*total = 0;
	for (size_t i = 0; i < r->nrows; i++) {
		if (r->rows[i].role != HB_ROLE_HEADLINE)
			continue;
		(*total)++;
		if (n < max)
			idx[n++] = i;
	}
	return n;
}

/* "Storage: disk-randread iops"; a target-level row (boot, memory: the workload is its own
 * kind) without the repetition: "Boot: time_to_ready". */
static void glance_label(const struct hb_rep_row *row, char *buf, size_t len)
{
	if (row->name_is_kind)
		snprintf(buf, len, "%s: %s", area_short(row->area), row->metric);
	else
		snprintf(buf, len, "%s: %s %s", area_short(row->area), row->workload, row->metric);
}

static void glance_table(struct doc *d, const struct hb_rep *r)
{
	size_t idx[GLANCE_MAX], total, n = glance_rows(r, idx, GLANCE_MAX, &total);
	char label[300], m[128], a[96], sent[1024];
	int cls;

	md(d, "## At a glance\n\n");
	ht(d, "<h2>At a glance</h2>\n");
	if (!n) {
		para(d, "No headline metrics in these results.");
		return;
	}
	ht(d, "<div class=\"scroll\"><table class=\"glance\">");
	col_heads(d, r, "");
	for (size_t k = 0; k < n; k++) {
		const struct hb_rep_row *row = &r->rows[idx[k]];

		glance_label(row, label, sizeof(label));
		row_head(d, label);
		md(d, " |");
		ht(d, "</th>");
		for (size_t j = 0; j < r->ncols; j++) {
			const struct hb_rep_cell *c = hb_rep_cell(r, idx[k], j);
			int un = r->cols[j].user_net && row_is_net(row) && c->res;

			hb_rep_cell_text(row, &r->cols[j], c, m, sizeof(m), a, sizeof(a), NULL, 0,
					 &cls);
			md(d, " ");
			ht(d, "<td class=\"num %s\">", cls_name(cls));
			if (c->has_cmp && row->cmp == HB_CMP_RATIO) {
				md(d, "**%s** (", m);
				md_esc(d, a);
				md(d, ")");
				ht(d, "<span class=\"pct\">%s</span> <span class=\"abs\">", m);
				html_esc(d, a);
				ht(d, "</span>");
			} else {
				both(d, m);
			}
			if (un) {
				md(d, " \xc2\xb2");
				ht(d, "<sup>2</sup>");
			}
			md(d, " |");
			ht(d, "</td>");
		}
		md(d, "\n");
		ht(d, "</tr>\n");
	}
	ht(d, "</tbody></table></div>\n");
	if (total > n) {
		md(d, "\n%zu more headline metrics are in the details below.\n", total - n);
		ht(d, "<p class=\"meta\">%zu more headline metrics are in the details below.</p>\n",
		   total - n);
	}
	size_t nref = 0, nvm = 0, nnat = 0;
	for (size_t j = 0; j < r->ncols; j++) {
		nref += r->cols[j].ref >= 0;
		nnat += r->cols[j].is_native != 0;
		nvm += !r->cols[j].is_native && !r->cols[j].is_baseline;
	}
	if (!nref && !nnat) {
		/* no native target: nothing is a percentage, and two VMs are compared by --ab */
		const char *no = "No native target in this run: every figure is absolute, none "
				 "is a percentage of native.";
		const char *ab = " Two targets of one run are compared, with CIs, by `hvbench "
				 "compare --ab TARGET_A TARGET_B results.json`.";
		md(d, "\n%s%s\n\n", no, nvm >= 2 ? ab : "");
		ht(d, "<p class=\"meta\">%s%s</p>\n", no,
		   nvm >= 2 ? " Two targets of one run are compared, with CIs, by <code>hvbench "
			      "compare --ab TARGET_A TARGET_B results.json</code>."
			    : "");
		return;
	}
	md(d,
	   "\nPercentages are relative performance against %s, oriented: 100%% = native, "
	   "above is better, below is worse (for lower-is-better metrics the ratio is "
	   "inverted); latency-like figures read \"\xc3\x97N native (+X)\"; other figures are "
	   "absolute. Area figures below are geometric means of the area's headline "
	   "percentages.\n\n",
	   r->has_baseline ? "the baseline's native target" : "the native target of the same run");
	ht(d,
	   "<p class=\"meta\">Percentages are relative performance against %s, oriented: "
	   "100%% = native, above is better, below is worse (for lower-is-better metrics the "
	   "ratio is inverted); latency-like figures read \"\xc3\x97N native (+X)\"; other "
	   "figures are absolute. Area figures below are geometric means of the area's "
	   "headline percentages.</p>\n<ul class=\"sentences\">\n",
	   r->has_baseline ? "the baseline's native target" : "the native target of the same run");
	for (size_t j = 0; j < r->ncols; j++) {
		if (r->cols[j].ref < 0)
			continue;
		glance_sentence(r, j, sent, sizeof(sent));
		md(d, "- ");
		md_esc(d, sent);
		md(d, "\n");
		ht(d, "<li>");
		html_esc(d, sent);
		ht(d, "</li>\n");
	}
	ht(d, "</ul>\n");
}

/* ---- details by area ---- */

static void details_table(struct doc *d, const struct hb_rep *r)
{
	char label[300], m[128], a[96], ci[96];
	int area = -1, cls, any = 0;

	md(d, "\n## Details by area\n\nEach metric is compared with native as its model declares: "
	      "ratio (oriented %%, 95%% CI, value), delta (VM \xe2\x88\x92 native in the metric's "
	      "unit) or absolute.\n\n");
	ht(d, "<h2 id=\"details\">Details by area</h2>\n<p class=\"meta\">Each metric is compared "
	      "with native "
	      "as its model declares: ratio (oriented %%, 95%% CI, value), delta (VM "
	      "\xe2\x88\x92 native in the metric's unit) or absolute.</p>\n");
	for (size_t i = 0; i < r->nrows; i++)
		any |= r->rows[i].role != HB_ROLE_DIAGNOSTIC;
	if (!any) {
		para(d, "No headline or detail metrics.");
		return;
	}
	ht(d, "<div class=\"scroll\"><table class=\"results\">");
	col_heads(d, r, "metric");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct hb_rep_row *row = &r->rows[i];

		if (row->role == HB_ROLE_DIAGNOSTIC)
			continue;
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
		row_head(d, label);
		md(d, " (%s) |", cmp_word(row->cmp));
		ht(d, " <span class=\"meta\">(%s, %s, %s)</span></th>", row->unit,
		   row->higher_is_better ? "higher is better" : "lower is better",
		   cmp_word(row->cmp));
		for (size_t j = 0; j < r->ncols; j++) {
			const struct hb_rep_col *c = &r->cols[j];
			const struct hb_rep_cell *cell = hb_rep_cell(r, i, j);
			int usernet = c->user_net && row_is_net(row) && cell->res;

			hb_rep_cell_text(row, c, cell, m, sizeof(m), a, sizeof(a), ci, sizeof(ci),
					 &cls);
			md(d, " ");
			ht(d, "<td class=\"num %s%s\">", cls_name(cls),
			   c->ref < 0 && cell->res ? " native" : "");
			if (cell->has_cmp) {
				md(d, "%s", m);
				ht(d, "<div class=\"pct\">%s</div>", m);
				if (ci[0]) {
					md(d, " (%s)", ci);
					ht(d, "<div class=\"ci\">%s</div>", ci);
				}
				md(d, " \xc2\xb7 ");
				md_esc(d, a);
				ht(d, "<div class=\"abs\">");
				html_esc(d, a);
				ht(d, "</div>");
			} else {
				both(d, m);
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

/* ---- appendix: diagnostics and probe readings, absolute values side by side ---- */

static void appendix(struct doc *d, const struct hb_rep *r)
{
	char label[300], m[128], a[96];
	size_t n = 0;
	int cls;

	for (size_t i = 0; i < r->nrows; i++)
		n += r->rows[i].role == HB_ROLE_DIAGNOSTIC;
	md(d, "\n## Appendix: diagnostics and probe readings\n\n");
	ht(d, "<h2 id=\"appendix\">Appendix: diagnostics and probe readings</h2>\n");
	if (!n) {
		para(d, "None.");
		return;
	}
	md(d,
	   "Absolute values side by side (medians); their meaning differs between host and "
	   "guest, so they are not compared.\n\n<details><summary>%zu diagnostic rows"
	   "</summary>\n\n",
	   n);
	ht(d,
	   "<details><summary>%zu diagnostic rows: absolute values side by side (medians); "
	   "their meaning differs between host and guest, so they are not compared"
	   "</summary>\n<div class=\"scroll\"><table class=\"diag\">",
	   n);
	col_heads(d, r, "metric");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct hb_rep_row *row = &r->rows[i];

		if (row->role != HB_ROLE_DIAGNOSTIC)
			continue;
		hb_rep_row_label(row, label, sizeof(label));
		row_head(d, label);
		md(d, " |");
		ht(d, "</th>");
		for (size_t j = 0; j < r->ncols; j++) {
			const struct hb_rep_cell *c = hb_rep_cell(r, i, j);
			struct hb_rep_cell plain = *c;

			plain.has_cmp = 0; /* absolute only */
			hb_rep_cell_text(row, &r->cols[j], &plain, m, sizeof(m), a, sizeof(a), NULL,
					 0, &cls);
			md(d, " ");
			ht(d, "<td class=\"num\">");
			both(d, m);
			md(d, " |");
			ht(d, "</td>");
		}
		md(d, "\n");
		ht(d, "</tr>\n");
	}
	md(d, "\n</details>\n");
	ht(d, "</tbody></table></div></details>\n");
}

static void notes(struct doc *d, const struct hb_rep *r)
{
	int emu = 0, usernet = 0, computed = 0;

	for (size_t j = 0; j < r->ncols; j++) {
		emu |= r->cols[j].emulated;
		usernet |= r->cols[j].user_net;
	}
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		computed |= r->cells[i].has_cmp && !r->cells[i].cmp_from_file;
	if (computed) {
		md(d,
		   "\nSome comparisons were not in the results files "
		   "and were computed by the report as the runner computes them (bootstrap "
		   "CI, %d resamples, fixed seed).\n",
		   HB_BOOT_ITERS);
		ht(d,
		   "<p class=\"meta\">Some comparisons were not in the results files "
		   "and were computed by the report as the runner computes "
		   "them (bootstrap CI, %d resamples, fixed seed).</p>\n",
		   HB_BOOT_ITERS);
	}
	if (emu) {
		md(d, "\n\xc2\xb9 " WARN_SIGN
		      " TCG: these targets ran under QEMU TCG \xe2\x80\x94 " EMU_NOTE ".\n");
		ht(d,
		   "<p class=\"note\"><span class=\"badge emu\">TCG emulation</span> These targets "
		   "ran under QEMU TCG \xe2\x80\x94 " EMU_NOTE ".</p>\n");
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

/* Every document shown: the runs and, last, the baseline. */
static size_t ndocs(const struct hb_rep *r)
{
	return r->nruns + (r->has_baseline ? 1 : 0);
}

/* "run 2", its --label, or the baseline's label. */
static void run_name(const struct hb_rep *r, size_t i, char *buf, size_t len)
{
	if (i >= r->nruns)
		hb_strlcpy(buf, r->opts.baseline_label ? r->opts.baseline_label : "baseline", len);
	else if (r->opts.labels && r->opts.labels[i])
		hb_strlcpy(buf, r->opts.labels[i], len);
	else
		snprintf(buf, len, "run %zu", i + 1);
}

static void kv_row(struct doc *d, const struct hb_rep *r, const char *label, const char *key,
		   const char *sub)
{
	md(d, "| %s |", label);
	ht(d, "<tr><th>%s</th>", label);
	for (size_t i = 0; i < ndocs(r); i++) {
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
	for (size_t i = 0; i < ndocs(r); i++) {
		char nm[128];

		run_name(r, i, nm, sizeof(nm));
		md(d, " ");
		md_esc(d, nm);
		md(d, " |");
		ht(d, "<th>");
		html_esc(d, nm);
		ht(d, "</th>");
	}
	md(d, "\n|---|");
	for (size_t i = 0; i < ndocs(r); i++)
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

	int multi = ndocs(r) > 1;

	md(d, "\n## Targets\n\n| %starget | kind |", multi ? "run | " : "");
	ht(d, "<h2>Targets</h2>\n<table><thead><tr>%s<th>target</th><th>kind</th>",
	   multi ? "<th>run</th>" : "");
	for (size_t k = 0; k < HB_ARRAY_SIZE(heads); k++) {
		md(d, " %s |", heads[k]);
		ht(d, "<th>%s</th>", heads[k]);
	}
	md(d, "\n|%s---|---|", multi ? "---|" : "");
	for (size_t k = 0; k < HB_ARRAY_SIZE(heads); k++)
		md(d, "---|");
	md(d, "\n");
	ht(d, "</tr></thead><tbody>\n");
	for (size_t j = 0; j < r->ncols; j++) {
		const struct hb_rep_col *c = &r->cols[j];
		const json_t *t = hb_j_target(r->runs[c->run], c->target);

		md(d, "|");
		ht(d, "<tr>");
		if (multi) {
			run_name(r, c->run, buf, sizeof(buf));
			md(d, " ");
			ht(d, "<td>");
			both(d, buf);
			md(d, " |");
			ht(d, "</td>");
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
	for (size_t i = 0; i < ndocs(r); i++) {
		const json_t *p = json_object_get(r->runs[i], "profile"), *v;
		const char *key;
		char buf[1024];

		if (ndocs(r) > 1) {
			run_name(r, i, buf, sizeof(buf));
			md(d, "\n");
			md_esc(d, buf);
			md(d, ":\n");
			ht(d, "<h3>");
			html_esc(d, buf);
			ht(d, "</h3>\n");
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
			md(d, "- ");
			md_esc(d, key);
			md(d, ": ");
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

static int cv_high(const struct hb_rep *r, size_t row, const struct hb_rep_cell *c)
{
	return r->rows[row].role != HB_ROLE_DIAGNOSTIC && c->res && isfinite(c->cv) &&
	       c->cv > r->opts.cv_warn;
}

/* Only the flagged rows; every sample is in results.csv. */
static void samples_table(struct doc *d, const struct hb_rep *r)
{
	char label[300], h[256], v[64], lo[64], hi[64], cv[32], th[32];
	size_t nwarn = 0, ncv = 0;

	hb_fmt_pct(r->opts.cv_warn, th, sizeof(th));
	for (size_t j = 0; j < r->ncols; j++)
		for (size_t i = 0; i < r->nrows; i++)
			nwarn += cv_high(r, i, hb_rep_cell(r, i, j)) != 0;
	md(d,
	   "\n## Samples and variability\n\nHeadline and detail metrics whose CV is above %s%%: "
	   "their medians are not trustworthy (rerun with more repetitions or on a quieter "
	   "host). Every sample of every metric is in `results.csv` next to this report.\n\n",
	   th);
	ht(d,
	   "<h2 id=\"samples\">Samples and variability</h2>\n<p>Headline and detail metrics whose "
	   "CV is above "
	   "%s%%: their medians are not trustworthy (rerun with more repetitions or on a quieter "
	   "host). Every sample of every metric is in <a href=\"results.csv\">results.csv</a> "
	   "next to this report.</p>\n",
	   th);
	if (!nwarn) {
		para(d, "None flagged.");
		goto warnings;
	}
	ncv = nwarn;
	md(d, "| target | metric | n | median | 95%% CI of median | CV |\n"
	      "|---|---|---|---|---|---|\n");
	ht(d, "<table><thead><tr><th>target</th><th>metric</th><th>n</th><th>median</th>"
	      "<th>95%% CI of median</th><th>CV</th></tr></thead><tbody>\n");
	for (size_t j = 0; j < r->ncols; j++) {
		for (size_t i = 0; i < r->nrows; i++) {
			const struct hb_rep_cell *c = hb_rep_cell(r, i, j);

			if (!cv_high(r, i, c))
				continue;
			hb_rep_col_label(r, &r->cols[j], h, sizeof(h));
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
			md(d, " | %s" EN_DASH "%s | " WARN_SIGN " %s%% |\n", lo, hi, cv);
			ht(d,
			   "</td><td class=\"num\">%s" EN_DASH
			   "%s</td><td class=\"num warn\">" WARN_SIGN " %s%%</td></tr>\n",
			   lo, hi, cv);
		}
	}
	ht(d, "</tbody></table>\n");

warnings:
	md(d, "\n## Warnings\n\n");
	ht(d, "<h2>Warnings</h2>\n<ul>\n");
	for (size_t i = 0; i < ndocs(r); i++) {
		const char *st = hb_j_str(r->runs[i], "status", "");
		char nm[128];

		if (!strcmp(st, "complete"))
			continue;
		run_name(r, i, nm, sizeof(nm));
		md(d, "- " WARN_SIGN " ");
		ht(d, "<li class=\"warn\">" WARN_SIGN " ");
		both(d, nm);
		lit(d, " has status \"");
		both(d, st);
		md(d, "\": some measurements are missing.\n");
		ht(d, "\": some measurements are missing.</li>\n");
		nwarn++;
	}
	if (ncv) {
		md(d,
		   "- " WARN_SIGN " %zu headline or detail figure%s with a CV above %s%% (see "
		   "Samples and variability).\n",
		   ncv, ncv == 1 ? "" : "s", th);
		ht(d,
		   "<li class=\"warn\">" WARN_SIGN " %zu headline or detail figure%s with a CV "
		   "above %s%% (see Samples and variability).</li>\n",
		   ncv, ncv == 1 ? "" : "s", th);
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
		para(d, "None.");
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

/* ---- comparability of several runs ---- */

static char *compact(const json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

/* One difference line: "- KEY: NAME0 A vs NAMEi B". */
static void diff_line(struct doc *d, const struct hb_rep *r, size_t i, const char *what,
		      const char *a, const char *b)
{
	char n0[128], ni[128];

	run_name(r, 0, n0, sizeof(n0));
	run_name(r, i, ni, sizeof(ni));
	md(d, "- ");
	ht(d, "<li>");
	both(d, what);
	lit(d, ": ");
	both(d, n0);
	md(d, " `");
	ht(d, " <code>");
	both(d, a);
	md(d, "` vs ");
	ht(d, "</code> vs ");
	both(d, ni);
	md(d, " `");
	ht(d, " <code>");
	both(d, b);
	md(d, "`\n");
	ht(d, "</code></li>\n");
}

static int differs(struct doc *d, const struct hb_rep *r, size_t i, const char *what,
		   const json_t *a, const json_t *b)
{
	char *sa, *sb;
	int diff;

	if (json_equal((json_t *)a, (json_t *)b))
		return 0;
	sa = compact(a);
	sb = compact(b);
	diff = 1;
	if (d)
		diff_line(d, r, i, what, sa ? sa : "(absent)", sb ? sb : "(absent)");
	free(sa);
	free(sb);
	return diff;
}

/* Hardware and workload parameters that must match; d == NULL counts only. */
static size_t must_match(struct doc *d, const struct hb_rep *r)
{
	static const char *hw[] = {"cpu_model", "cores", "arch"};
	const json_t *h0 = json_object_get(r->runs[0], "host");
	const json_t *p0 = json_object_get(r->runs[0], "profile");
	size_t n = 0;

	for (size_t i = 1; i < ndocs(r); i++) {
		const json_t *hi = json_object_get(r->runs[i], "host");
		const json_t *pi = json_object_get(r->runs[i], "profile"), *x, *v;
		double m0 = hb_j_num(h0, "memory_bytes"), mi = hb_j_num(hi, "memory_bytes");
		const char *key;
		char what[160];
		size_t k;

		for (size_t q = 0; q < HB_ARRAY_SIZE(hw); q++) {
			snprintf(what, sizeof(what), "host %s", hw[q]);
			n += differs(d, r, i, what, json_object_get(h0, hw[q]),
				     json_object_get(hi, hw[q]));
		}
		/* MemTotal moves with the kernel and its reservations: 5% is the same machine */
		if (isfinite(m0) && isfinite(mi) && fabs(mi - m0) > 0.05 * m0)
			n += differs(d, r, i, "host memory_bytes (more than 5% apart)",
				     json_object_get(h0, "memory_bytes"),
				     json_object_get(hi, "memory_bytes"));
		json_object_foreach ((json_t *)p0, key, v) {
			if (json_is_array(v) || json_is_object(v) || !strcmp(key, "name") ||
			    !strcmp(key, "description"))
				continue;
			snprintf(what, sizeof(what), "profile %s", key);
			n += differs(d, r, i, what, v, json_object_get(pi, key));
		}
		json_array_foreach (json_object_get(p0, "workloads"), k, x) {
			const char *nm = hb_j_str(x, "name", "");
			const json_t *y = hb_j_find(json_object_get(pi, "workloads"), "name", nm);

			if (!y)
				continue; /* not measured by both: its rows show "—" */
			snprintf(what, sizeof(what), "workload %s", nm);
			n += differs(d, r, i, what, x, y);
		}
	}
	return n;
}

static void comparability(struct doc *d, const struct hb_rep *r)
{
	static const char *cfg[] = {"hostname", "kernel", "virtualization"};
	const json_t *h0 = json_object_get(r->runs[0], "host");
	size_t bad;

	if (ndocs(r) < 2)
		return;
	md(d, "\n## Comparability\n\n");
	ht(d, "<h2>Comparability</h2>\n");
	bad = must_match(NULL, r);
	if (!bad) {
		md(d,
		   "Same hardware (CPU model, cores, architecture, memory within 5%%) and the same "
		   "workload parameters in every file: the runs are comparable.\n");
		ht(d,
		   "<p>Same hardware (CPU model, cores, architecture, memory within 5%%) and the "
		   "same workload parameters in every file: the runs are comparable.</p>\n");
	} else {
		md(d,
		   WARN_SIGN " %zu difference%s in hardware or workload parameters: figures of "
			     "these runs are not directly comparable.\n\n",
		   bad, bad == 1 ? "" : "s");
		ht(d,
		   "<p class=\"warn\">" WARN_SIGN " %zu difference%s in hardware or workload "
		   "parameters: figures of these runs are not directly comparable.</p>\n<ul>\n",
		   bad, bad == 1 ? "" : "s");
		must_match(d, r);
		ht(d, "</ul>\n");
	}
	md(d, "\nWhat differs by configuration (expected when host setups are compared):\n\n");
	ht(d, "<p>What differs by configuration (expected when host setups are compared):</p>\n"
	      "<ul>\n");
	bad = 0;
	for (size_t i = 1; i < ndocs(r); i++)
		for (size_t q = 0; q < HB_ARRAY_SIZE(cfg); q++) {
			char what[64];

			snprintf(what, sizeof(what), "host %s", cfg[q]);
			bad += differs(
				d, r, i, what, json_object_get(h0, cfg[q]),
				json_object_get(json_object_get(r->runs[i], "host"), cfg[q]));
		}
	if (!bad) {
		md(d, "- nothing in host name, kernel or virtualization\n");
		ht(d, "<li>nothing in host name, kernel or virtualization</li>\n");
	}
	ht(d, "</ul>\n");
}

/* ---- results.csv: every figure of the report with its samples ---- */

static int build_csv(const struct hb_rep *r, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	char nm[128];

	if (!f)
		return HB_ENOMEM;
	fputs("run,target,workload,metric,unit,area,role,comparison,higher_is_better,n,median,"
	      "cv,ci95_lo,ci95_hi,reference,ratio,ratio_ci95_lo,ratio_ci95_hi,oriented,"
	      "oriented_ci95_lo,oriented_ci95_hi,delta,delta_ci95_lo,delta_ci95_hi,samples\n",
	      f);
	for (size_t j = 0; j < r->ncols; j++) {
		const struct hb_rep_col *c = &r->cols[j];

		for (size_t i = 0; i < r->nrows; i++) {
			const struct hb_rep_row *row = &r->rows[i];
			const struct hb_rep_cell *x = hb_rep_cell(r, i, j);
			const json_t *s, *v;
			size_t k;
			const char *names[] = {nm, c->target, row->workload, row->metric,
					       row->unit};
			const double stats[] = {x->median, x->cv, x->ci_lo, x->ci_hi};
			const double cmps[] = {x->ratio, x->lo,	   x->hi,  x->oriented, x->olo,
					       x->ohi,	 x->delta, x->dlo, x->dhi};

			if (!x->res)
				continue;
			run_name(r, c->run, nm, sizeof(nm));
			for (k = 0; k < HB_ARRAY_SIZE(names); k++) {
				if (k)
					fputc(',', f);
				hb_csv_field(f, names[k], 1);
			}
			fprintf(f, ",%s,%s,%s,%d,%zu", hb_area_str(row->area),
				hb_role_str(row->role), hb_cmp_str(row->cmp), row->higher_is_better,
				x->n);
			for (k = 0; k < HB_ARRAY_SIZE(stats); k++)
				hb_csv_num(f, stats[k]);
			fputc(',', f);
			if (x->has_cmp) {
				hb_rep_col_label(r, &r->cols[c->ref], nm, sizeof(nm));
				hb_csv_field(f, nm, 1);
			}
			for (k = 0; k < HB_ARRAY_SIZE(cmps); k++)
				hb_csv_num(f, cmps[k]);
			fputs(",\"", f);
			s = json_object_get(x->res, "samples");
			json_array_foreach (s, k, v)
				fprintf(f, "%s%.10g", k ? " " : "", json_number_value(v));
			fputs("\"\n", f);
		}
	}
	return fclose(f) ? HB_ENOMEM : 0;
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
	ht(d, "<h2 id=\"plots\">Plots</h2>\n");
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

	md(d, "![");
	md_esc(d, p->title);
	md(d, "](plots/%s.png)\n\n", p->name);
	md_esc(d, p->title);
	md(d, " ([PNG](plots/%s.png), [SVG](plots/%s.svg))\n\n", p->name, p->name);
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

/* The one place the report's own files are written (report.md, report.html, results.csv). */
static int write_out(const char *outdir, const char *name, const char *buf, size_t len,
		     struct hb_err *e)
{
	char path[PATH_MAX];

	if (hb_snprintf(path, sizeof(path), "%s/%s", outdir, name))
		return hb_err_set(e, HB_EINVAL, "%s: path too long", outdir);
	return hb_write_atomic(path, buf, len, 0644, e);
}

static void title(struct doc *d, const struct hb_rep *r)
{
	const char *prof = hb_j_str(r->runs[0], "profile_name", "results");
	char nm[128];

	ht(d, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	      "<title>hvbench report: ");
	if (ndocs(r) > 1) {
		md(d, "# hvbench report: ");
		ht(d,
		   "%zu runs compared</title><style>%s</style></head><body>\n<h1>hvbench report: ",
		   ndocs(r), CSS);
		for (size_t i = 0; i < ndocs(r); i++) {
			run_name(r, i, nm, sizeof(nm));
			lit(d, i ? " vs " : "");
			both(d, nm);
		}
		md(d, "\n\n");
		ht(d, "</h1>\n<p class=\"meta\">");
		for (size_t i = 0; i < ndocs(r); i++) {
			const json_t *x = r->runs[i];

			run_name(r, i, nm, sizeof(nm));
			lit(d, i ? "; " : "");
			both(d, nm);
			lit(d, ": profile ");
			both(d, hb_j_str(x, "profile_name", "?"));
			lit(d, ", started ");
			both(d, hb_j_str(x, "started_at", "?"));
			lit(d, " on ");
			both(d,
			     hb_j_str(json_object_get(x, "host"), "hostname", "an unnamed host"));
			lit(d, ", status ");
			both(d, hb_j_str(x, "status", "?"));
		}
	} else {
		md(d, "# hvbench report: ");
		html_esc(d, prof);
		ht(d, "</title><style>%s</style></head><body>\n<h1>hvbench report: ", CSS);
		both(d, prof);
		md(d, "\n\n");
		ht(d, "</h1>\n<p class=\"meta\">");
		lit(d, "Started ");
		both(d, hb_j_str(r->runs[0], "started_at", "?"));
		lit(d, " on ");
		both(d,
		     hb_j_str(json_object_get(r->runs[0], "host"), "hostname", "an unnamed host"));
		lit(d, ", status ");
		both(d, hb_j_str(r->runs[0], "status", "?"));
	}
	md(d, ". Every figure is the median of the repetitions.\n\n");
	ht(d, ". Every figure is the median of the repetitions.</p>\n");
}

static int write_docs(const struct hb_rep *r, const char *outdir, const struct hb_rep_plots *pl,
		      int plots_ran, struct hb_err *e)
{
	struct doc d = {0};
	char *mdbuf = NULL, *htbuf = NULL, *csv = NULL;
	size_t mdlen = 0, htlen = 0, csvlen = 0;
	int rc = 0;

	d.md = open_memstream(&mdbuf, &mdlen);
	d.html = open_memstream(&htbuf, &htlen);
	if (!d.md || !d.html || build_csv(r, &csv, &csvlen)) {
		rc = hb_err_set(e, HB_ENOMEM, "report: out of memory");
		goto out;
	}
	title(&d, r);
	if (r->nrows && r->ncols) {
		glance_table(&d, r);
		notes(&d, r);
		/* the planner's answer right after the at-a-glance one */
		hb_rep_capacity(d.md, d.html, r, outdir, pl);
		details_table(&d, r);
	} else {
		md(&d, "## At a glance\n\nNo results.\n");
		ht(&d, "<h2>At a glance</h2>\n<p>No results.</p>\n");
	}
	comparability(&d, r);
	plots_section(&d, outdir, pl, plots_ran);
	samples_table(&d, r);
	failures(&d, r);
	runs_table(&d, r);
	targets_table(&d, r);
	profile_summary(&d, r);
	if (r->nrows && r->ncols)
		appendix(&d, r);
	md(&d,
	   "\n---\nGenerated by hvbench %s. Number format: integers in full, other values with "
	   "4 significant digits (no exponent between 0.001 and 1e9), percentages with one "
	   "decimal. All data: results.csv.\n",
	   HB_VERSION);
	ht(&d,
	   "<hr><p class=\"meta\">Generated by hvbench %s. Number format: integers in full, other "
	   "values with 4 significant digits (no exponent between 0.001 and 1e9), percentages "
	   "with one decimal. All data: results.csv.</p>\n</body></html>\n",
	   HB_VERSION);
	if (fclose(d.md) | fclose(d.html)) {
		d.md = d.html = NULL;
		rc = hb_err_set(e, HB_ENOMEM, "report: out of memory");
		goto out;
	}
	d.md = d.html = NULL;
	if ((rc = write_out(outdir, "report.md", mdbuf, mdlen, e)) ||
	    (rc = write_out(outdir, "report.html", htbuf, htlen, e)) ||
	    (rc = write_out(outdir, "results.csv", csv, csvlen, e)))
		goto out;
out:
	if (d.md)
		fclose(d.md);
	if (d.html)
		fclose(d.html);
	free(mdbuf);
	free(htbuf);
	free(csv);
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
	/* Labelled runs keep the order given (the labels are parallel to it); otherwise runs in
	 * time order (RFC 3339 UTC strings sort as text); insertion sort keeps ties. */
	for (size_t i = 0; i < n && o && o->labels; i++)
		sorted[i] = results[i];
	for (size_t i = 0; i < n && !(o && o->labels); i++) {
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
	      "                      [--no-plots] [--label FILE=TEXT ...] [--baseline FILE]\n"
	      "Renders report.md, report.html, results.csv and plots/ (gnuplot PNG + SVG) into\n"
	      "DIR (default: the directory of the first results file). Several files give one\n"
	      "table whose columns are (run, target) pairs, a comparability check and trends.\n"
	      "  -o, --output DIR    where to write\n"
	      "  --cv-warn PCT       flag metrics whose CV exceeds PCT percent (default 10)\n"
	      "  --no-plots          do not run gnuplot\n"
	      "  --label FILE=TEXT   name a results file in the tables (FILE: the path as given,\n"
	      "                      its file name, that without .json, or its position 1, 2..);\n"
	      "                      with labels the runs keep the order given, otherwise they\n"
	      "                      are ordered by start time\n"
	      "  --baseline FILE     compare every column with the native target of FILE (bare\n"
	      "                      metal on the same hardware) instead of each run's own\n"
	      "Capacity planning for a described host (override the profile's \"planning\"):\n"
	      "  --host-cores N --host-memory SIZE   the host (both; e.g. 64 and 512G)\n"
	      "  --host-threads N    its hardware threads (default: = cores, no SMT)\n"
	      "  --vcpu-ratio R      vCPUs per CPU unit (default 1: no CPU overcommit)\n"
	      "  --mem-overcommit R  guest RAM per byte of host RAM (default 1: none)\n"
	      "  --reserve SIZE      RAM the host keeps (default: this host's measured footprint)\n"
	      "  --cpu-unit threads|cores  what the vCPU ratio counts (default threads)\n"
	      "Exit status: 0 written, 1 written without plots (gnuplot missing or failed),\n"
	      "2 usage or input error.\n",
	      f);
}

/* Which of files[0..n) "key" names: the path, its file name, that without ".json", or the
 * 1-based position; -1 when none. */
static long label_target(const char *key, size_t klen, char **files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *f = files[i], *base = strrchr(f, '/');
		size_t bl;

		base = base ? base + 1 : f;
		bl = strlen(base);
		if ((strlen(f) == klen && !strncmp(f, key, klen)) ||
		    (bl == klen && !strncmp(base, key, klen)) ||
		    (bl > 5 && !strcmp(base + bl - 5, ".json") && bl - 5 == klen &&
		     !strncmp(base, key, klen)))
			return (long)i;
	}
	if (klen > 0 && klen < 6 && strspn(key, "0123456789") == klen) {
		long v = strtol(key, NULL, 10);

		if (v >= 1 && (size_t)v <= n)
			return v - 1;
	}
	return -1;
}

int hb_report_main(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option lopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"cv-warn", required_argument, NULL, 'c'},
		{"no-plots", no_argument, NULL, 'n'},
		{"label", required_argument, NULL, 'l'},
		{"baseline", required_argument, NULL, 'b'},
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
	const char *outdir = NULL, *basefile = NULL;
	char dir[PATH_MAX];
	char **labels_raw = NULL;
	const char **labels = NULL;
	json_t **runs = NULL, *base = NULL, *plan = NULL;
	struct hb_cap_plan pchk;
	size_t nruns = 0, nlab = 0, nfiles;
	int c, rc = 2, li = 0;

	hb_report_opts_init(&o);
	optind = 0;
	opterr = 0;
	labels_raw = calloc((size_t)argc + 1, sizeof(*labels_raw));
	if (!labels_raw) {
		fprintf(err, "hvbench report: out of memory\n");
		return 2;
	}
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
				goto out;
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
				goto out;
			}
			o.cv_warn = v / 100.0;
			break;
		}
		case 'n': o.no_plots = 1; break;
		case 'l':
			if (!strchr(optarg, '=') || optarg[0] == '=' || !strchr(optarg, '=')[1]) {
				fprintf(err,
					"hvbench report: --label: \"%s\" is not FILE=TEXT (e.g. "
					"--label kvm.json=KVM)\n",
					optarg);
				goto out;
			}
			labels_raw[nlab++] = optarg;
			break;
		case 'b': basefile = optarg; break;
		case 'h':
			report_usage(out);
			rc = 0;
			goto out;
		default:
			fprintf(err, "hvbench report: unknown or incomplete option \"%s\"\n",
				argv[optind - 1]);
			report_usage(err);
			goto out;
		}
	}
	hb_err_clear(&e);
	hb_cap_plan_init(&pchk);
	if (plan && hb_cap_plan_parse(plan, "hvbench report", &pchk, &e)) {
		fprintf(err, "hvbench report: %s\n", e.msg);
		goto out;
	}
	o.planning = plan;
	if (optind >= argc) {
		fprintf(err, "hvbench report: no results file given\n");
		report_usage(err);
		goto out;
	}
	nfiles = (size_t)(argc - optind);
	runs = calloc(nfiles, sizeof(*runs));
	labels = calloc(nfiles, sizeof(*labels));
	if (!runs || !labels) {
		fprintf(err, "hvbench report: out of memory\n");
		goto out;
	}
	for (size_t k = 0; k < nlab; k++) {
		const char *eq = strchr(labels_raw[k], '=');
		long i = label_target(labels_raw[k], (size_t)(eq - labels_raw[k]), argv + optind,
				      nfiles);
		char *bf[1] = {(char *)basefile};

		if (i < 0 && basefile &&
		    label_target(labels_raw[k], (size_t)(eq - labels_raw[k]), bf, 1) == 0) {
			o.baseline_label = eq + 1;
			continue;
		}
		if (i < 0) {
			fprintf(err,
				"hvbench report: --label %s: \"%.*s\" names none of the results "
				"files given\n",
				labels_raw[k], (int)(eq - labels_raw[k]), labels_raw[k]);
			goto out;
		}
		labels[i] = eq + 1;
	}
	if (nlab)
		o.labels = labels;
	for (int i = optind; i < argc; i++) {
		if (hb_results_load(argv[i], &runs[nruns], &e)) {
			fprintf(err, "hvbench report: %s\n", e.msg);
			goto out;
		}
		nruns++;
	}
	if (basefile) {
		if (hb_results_load(basefile, &base, &e)) {
			fprintf(err, "hvbench report: --baseline: %s\n", e.msg);
			goto out;
		}
		if (!hb_j_native(base)) {
			fprintf(err,
				"hvbench report: --baseline %s: the file has no native target\n",
				basefile);
			goto out;
		}
		o.baseline = base;
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
		fprintf(out, "%s/report.md\n%s/report.html\n%s/results.csv\n", outdir, outdir,
			outdir);
		rc = 1;
	} else if (c) {
		fprintf(err, "hvbench report: %s\n", e.msg);
	} else {
		fprintf(out, "%s/report.md\n%s/report.html\n%s/results.csv\n%s/plots/\n", outdir,
			outdir, outdir, outdir);
		rc = 0;
	}
out:
	for (size_t i = 0; i < nruns; i++)
		json_decref(runs[i]);
	json_decref(base);
	free(runs);
	free(labels);
	free(labels_raw);
	json_decref(plan);
	return rc;
}

int hb_cmd_report(int argc, char **argv)
{
	return hb_report_main(argc, argv, stdout, stderr);
}

/* ---- the terminal: the at-a-glance table as text ---- */

/* Display width of UTF-8 text (code points; every one we print is one column wide). */
static size_t u8_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Writes s padded to w columns (left-aligned when left), keeping the line within limit. */
static void put_cell(FILE *f, const char *s, size_t w, int left, size_t *col, size_t limit)
{
	size_t sw = u8_width(s), pad = sw < w ? w - sw : 0;

	for (size_t k = 0; !left && k < pad && *col < limit; k++, (*col)++)
		fputc(' ', f);
	for (; *s && *col < limit; s++) {
		fputc(*s, f);
		/* continuation bytes of the last code point still go out */
		while (((unsigned char)s[1] & 0xc0) == 0x80)
			fputc(*++s, f);
		(*col)++;
	}
	for (size_t k = 0; left && k < pad && *col < limit; k++, (*col)++)
		fputc(' ', f);
}

int hb_report_glance_text(json_t *results, FILE *out, int width, struct hb_err *e)
{
	struct hb_rep r;
	size_t idx[GLANCE_MAX], total, n, *w = NULL, limit = width > 0 ? (size_t)width : SIZE_MAX;
	char m[128], a[96], buf[256], sent[1024];
	int rc, cls;

	if ((rc = hb_rep_build(&r, &results, 1, NULL, e)))
		return rc;
	n = glance_rows(&r, idx, GLANCE_MAX, &total);
	if (!n || !r.ncols)
		goto out;
	w = calloc(r.ncols + 1, sizeof(*w));
	if (!w) {
		rc = hb_err_set(e, HB_ENOMEM, "report: out of memory");
		goto out;
	}
	/* column widths: the label column, then one per target */
	for (size_t k = 0; k < n; k++) {
		glance_label(&r.rows[idx[k]], buf, sizeof(buf));
		if (u8_width(buf) > w[0])
			w[0] = u8_width(buf);
		for (size_t j = 0; j < r.ncols; j++) {
			const struct hb_rep_cell *c = hb_rep_cell(&r, idx[k], j);

			hb_rep_cell_text(&r.rows[idx[k]], &r.cols[j], c, m, sizeof(m), a, sizeof(a),
					 NULL, 0, &cls);
			if (u8_width(m) > w[j + 1])
				w[j + 1] = u8_width(m);
		}
	}
	for (size_t j = 0; j < r.ncols; j++) {
		hb_rep_col_label(&r, &r.cols[j], buf, sizeof(buf));
		if (u8_width(buf) > w[j + 1])
			w[j + 1] = u8_width(buf);
	}
	{
		size_t col = 0;

		put_cell(out, "At a glance (% = relative to native, >100% better):", 0, 1, &col,
			 limit);
		fputc('\n', out);
	}
	for (size_t k = 0; k <= n; k++) {
		size_t col = 0;

		if (k == 0)
			put_cell(out, "", w[0], 1, &col, limit);
		else {
			glance_label(&r.rows[idx[k - 1]], buf, sizeof(buf));
			put_cell(out, buf, w[0], 1, &col, limit);
		}
		for (size_t j = 0; j < r.ncols; j++) {
			put_cell(out, "  ", 2, 1, &col, limit);
			if (k == 0) {
				hb_rep_col_label(&r, &r.cols[j], buf, sizeof(buf));
			} else {
				const struct hb_rep_cell *c = hb_rep_cell(&r, idx[k - 1], j);
				const struct hb_rep_row *row = &r.rows[idx[k - 1]];

				/* compact: the native column gives the scale */
				hb_rep_cell_text(row, &r.cols[j], c, buf, sizeof(buf), a, sizeof(a),
						 NULL, 0, &cls);
			}
			put_cell(out, buf, w[j + 1], 0, &col, limit);
		}
		fputc('\n', out);
	}
	for (size_t j = 0; j < r.ncols; j++) {
		size_t col = 0;

		if (r.cols[j].ref < 0)
			continue;
		glance_sentence(&r, j, sent, sizeof(sent));
		put_cell(out, sent, 0, 1, &col, limit);
		fputc('\n', out);
	}
out:
	free(w);
	hb_rep_free(&r);
	return rc;
}
