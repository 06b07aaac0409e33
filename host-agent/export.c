/*
 * export.c — `hvbench export`: results documents (files, or runs from the history store) as
 * CSV for spreadsheets (RFC 4180, one line per results row, one column per run label),
 * OpenMetrics text for the node_exporter textfile collector or a Pushgateway (gauges, no
 * timestamps: one run per host and profile), InfluxDB line protocol (one point per results row,
 * timestamped with the run's start) or JSON (the documents themselves). Every format carries
 * the run's labels. docs/exports.md shows each with an example.
 */
#include "history.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "runner.h"
#include "store.h"

#define P "hvbench export: "

static const char *js(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

static double jnum(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static double jci(const json_t *o, const char *k, size_t i)
{
	const json_t *v = json_array_get(json_object_get(o, k), i);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

int hb_export_format(const char *name, enum hb_export_fmt *fmt)
{
	static const char *names[] = {"csv", "openmetrics", "influx", "json"};

	for (size_t i = 0; i < HB_ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i])) {
			*fmt = (enum hb_export_fmt)i;
			return 0;
		}
	return HB_EINVAL;
}

/* The comparison with the baseline target (native) for one results row, or NULL. */
static const json_t *cmp_for(const json_t *doc, const json_t *row)
{
	const json_t *c;
	size_t i;

	json_array_foreach (json_object_get(doc, "comparisons"), i, c)
		if (!strcmp(js(c, "target"), js(row, "target")) &&
		    !strcmp(js(c, "workload"), js(row, "workload")) &&
		    !strcmp(js(c, "metric"), js(row, "metric")))
			return c;
	return NULL;
}

static const char *target_kind(const json_t *doc, const char *name)
{
	const json_t *t;
	size_t i;

	json_array_foreach (json_object_get(doc, "targets"), i, t)
		if (!strcmp(js(t, "name"), name))
			return js(t, "kind");
	return "";
}

/* A comparison's ratio; a delta entry's "ci95" is the delta's CI, a ratio entry's the ratio's. */
static double cmp_num(const json_t *c, const char *what)
{
	int delta = !strcmp(js(c, "comparison"), "delta");

	if (!c)
		return NAN;
	if (!strcmp(what, "ratio"))
		return delta ? NAN : jnum(c, "ratio");
	if (!strcmp(what, "oriented")) {
		double r = jnum(c, "ratio"), o = jnum(c, "oriented");

		if (delta)
			return NAN;
		if (isfinite(o))
			return o;
		/* a hvbench/result/1 entry: orient it here */
		return json_is_false(json_object_get(c, "higher_is_better")) && r != 0 ? 1 / r : r;
	}
	return delta ? jnum(c, "delta") : NAN;
}

/* ---- CSV ---- */

static void csv_str(FILE *f, const char *s)
{
	fputc(',', f);
	hb_csv_field(f, s, 0);
}

static int w_csv(FILE *f, json_t *const *docs, const long long *ids, size_t n)
{
	static const char *cols[] = {
		"target",  "target_kind",      "workload", "kind",  "metric",
		"unit",	   "higher_is_better", "area",	   "role",  "comparison",
		"n",	   "median",	       "mean",	   "stdev", "cv",
		"ci95_lo", "ci95_hi",	       "baseline", "ratio", "oriented",
		"delta"};
	json_t *keys = json_object(), *v;
	const char *k;
	size_t i, j;

	for (i = 0; i < n; i++)
		json_object_foreach (json_object_get(docs[i], "labels"), k, v)
			json_object_set_new(keys, k, json_true());
	fputs("run_id,started_at,hostname,profile,status", f);
	json_object_foreach (keys, k, v) {
		char name[80];

		snprintf(name, sizeof(name), "label:%s", k);
		csv_str(f, name);
	}
	for (i = 0; i < HB_ARRAY_SIZE(cols); i++)
		csv_str(f, cols[i]);
	fputs("\r\n", f);
	for (i = 0; i < n; i++) {
		const json_t *d = docs[i], *r, *labels = json_object_get(d, "labels");

		json_array_foreach (json_object_get(d, "results"), j, r) {
			const json_t *c = cmp_for(d, r);

			if (ids && ids[i] > 0)
				fprintf(f, "%lld", ids[i]);
			csv_str(f, js(d, "started_at"));
			csv_str(f, js(json_object_get(d, "host"), "hostname"));
			csv_str(f, js(d, "profile_name"));
			csv_str(f, js(d, "status"));
			json_object_foreach (keys, k, v)
				csv_str(f, js(labels, k));
			csv_str(f, js(r, "target"));
			csv_str(f, target_kind(d, js(r, "target")));
			csv_str(f, js(r, "workload"));
			csv_str(f, js(r, "kind"));
			csv_str(f, js(r, "metric"));
			csv_str(f, js(r, "unit"));
			csv_str(f, json_is_true(json_object_get(r, "higher_is_better")) ? "true"
											: "false");
			csv_str(f, js(r, "area"));
			csv_str(f, js(r, "role"));
			csv_str(f, js(r, "comparison"));
			fprintf(f, ",%zu", json_array_size(json_object_get(r, "samples")));
			hb_csv_num(f, jnum(r, "median"));
			hb_csv_num(f, jnum(r, "mean"));
			hb_csv_num(f, jnum(r, "stdev"));
			hb_csv_num(f, jnum(r, "cv"));
			hb_csv_num(f, jci(r, "ci95", 0));
			hb_csv_num(f, jci(r, "ci95", 1));
			csv_str(f, c ? js(c, "baseline") : "");
			hb_csv_num(f, cmp_num(c, "ratio"));
			hb_csv_num(f, cmp_num(c, "oriented"));
			hb_csv_num(f, cmp_num(c, "delta"));
			fputs("\r\n", f);
		}
	}
	json_decref(keys);
	return 0;
}

/* ---- OpenMetrics ---- */

/* Label names the export sets itself; a run label of the same name is written label_NAME. */
static const char *const om_builtin[] = {"host", "profile", "target", "workload", "metric", "unit",
					 "area", "role",    "status", "baseline", "kind"};

static void om_value(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void om_label(FILE *f, int *first, const char *k, const char *v)
{
	if (!v || !*v)
		return;
	fputs(*first ? "{" : ",", f);
	*first = 0;
	fputs(k, f);
	fputc('=', f);
	om_value(f, v);
}

/* A run label's name in an export: as given, or label_KEY when it collides with a built-in. */
static void label_name(const char *k, char *buf, size_t len)
{
	int clash = 0;

	for (size_t i = 0; i < HB_ARRAY_SIZE(om_builtin); i++)
		clash |= !strcmp(k, om_builtin[i]);
	snprintf(buf, len, "%s%s", clash ? "label_" : "", k);
}

static void om_run_labels(FILE *f, int *first, const json_t *d)
{
	const json_t *labels = json_object_get(d, "labels"), *v;
	const char *k;

	om_label(f, first, "host", js(json_object_get(d, "host"), "hostname"));
	om_label(f, first, "profile", js(d, "profile_name"));
	json_object_foreach ((json_t *)labels, k, v) {
		char name[80];

		label_name(k, name, sizeof(name));
		om_label(f, first, name, json_string_value(v));
	}
}

struct om_family {
	const char *name, *help;
	int cmp; /* 0: a results-row value, 1: a comparison value */
	const char *field;
};

static const struct om_family om_fams[] = {
	{"hvbench_median", "Median of the measured repetitions, in the unit of label unit.", 0,
	 "median"},
	{"hvbench_mean", "Mean of the measured repetitions.", 0, "mean"},
	{"hvbench_cv", "Coefficient of variation of the repetitions (stdev / mean).", 0, "cv"},
	{"hvbench_ci95_low", "Lower bound of the bootstrap 95% confidence interval of the median.",
	 0, "ci_lo"},
	{"hvbench_ci95_high", "Upper bound of the bootstrap 95% confidence interval of the median.",
	 0, "ci_hi"},
	{"hvbench_repetitions", "Number of measured repetitions behind the median.", 0, "n"},
	{"hvbench_vs_baseline_ratio", "Median of the target over the baseline (native) median.", 1,
	 "ratio"},
	{"hvbench_vs_baseline_oriented",
	 "Ratio to the baseline oriented so that above 1 is better.", 1, "oriented"},
	{"hvbench_vs_baseline_delta",
	 "Target minus baseline (native), in the unit of label unit (delta metrics).", 1, "delta"},
};

static double om_get(const json_t *r, const struct om_family *fam, const json_t *c)
{
	if (fam->cmp)
		return cmp_num(c, fam->field);
	if (!strcmp(fam->field, "ci_lo"))
		return jci(r, "ci95", 0);
	if (!strcmp(fam->field, "ci_hi"))
		return jci(r, "ci95", 1);
	if (!strcmp(fam->field, "n"))
		return (double)json_array_size(json_object_get(r, "samples"));
	return jnum(r, fam->field);
}

static void om_num(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else
		fprintf(f, "%.10g", v);
}

/* One sample of a run-level family: the run's labels (and its status when given), then v. */
static void om_run_sample(FILE *f, const char *family, const json_t *doc, const char *status,
			  double v)
{
	int first = 1;

	fputs(family, f);
	om_run_labels(f, &first, doc);
	om_label(f, &first, "status", status);
	fputs(first ? " " : "} ", f);
	om_num(f, v);
	fputc('\n', f);
}

static int w_openmetrics(FILE *f, json_t *const *docs, size_t n, struct hb_err *e)
{
	size_t i, j, fi;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(js(json_object_get(docs[i], "host"), "hostname"),
				    js(json_object_get(docs[j], "host"), "hostname")) &&
			    !strcmp(js(docs[i], "profile_name"), js(docs[j], "profile_name")))
				return hb_err_set(
					e, HB_EINVAL,
					"OpenMetrics holds the current value of each series: one "
					"run per host and profile, but host \"%s\" has several "
					"runs of \"%s\" (use --last 1, or csv/influx for history)",
					js(json_object_get(docs[i], "host"), "hostname"),
					js(docs[i], "profile_name"));
	fputs("# TYPE hvbench_run_info gauge\n"
	      "# HELP hvbench_run_info One hvbench run: host, profile, status and run labels "
	      "(value 1).\n",
	      f);
	for (i = 0; i < n; i++)
		om_run_sample(f, "hvbench_run_info", docs[i], js(docs[i], "status"), 1);
	fputs("# TYPE hvbench_run_start_time_seconds gauge\n"
	      "# UNIT hvbench_run_start_time_seconds seconds\n"
	      "# HELP hvbench_run_start_time_seconds When the run started (Unix time).\n",
	      f);
	for (i = 0; i < n; i++) {
		double t = NAN;

		hb_parse_utc(js(docs[i], "started_at"), &t);
		om_run_sample(f, "hvbench_run_start_time_seconds", docs[i], NULL, t);
	}
	for (fi = 0; fi < HB_ARRAY_SIZE(om_fams); fi++) {
		const struct om_family *fam = &om_fams[fi];

		fprintf(f, "# TYPE %s gauge\n# HELP %s %s\n", fam->name, fam->name, fam->help);
		for (i = 0; i < n; i++) {
			const json_t *r;

			json_array_foreach (json_object_get(docs[i], "results"), j, r) {
				const json_t *c = cmp_for(docs[i], r);
				double v = om_get(r, fam, c);
				int first = 1;

				if (!isfinite(v))
					continue;
				fputs(fam->name, f);
				om_run_labels(f, &first, docs[i]);
				om_label(f, &first, "target", js(r, "target"));
				om_label(f, &first, "workload", js(r, "workload"));
				om_label(f, &first, "metric", js(r, "metric"));
				om_label(f, &first, "unit", js(r, "unit"));
				om_label(f, &first, "area", js(r, "area"));
				om_label(f, &first, "role", js(r, "role"));
				if (fam->cmp)
					om_label(f, &first, "baseline", js(c, "baseline"));
				fputs("} ", f);
				om_num(f, v);
				fputc('\n', f);
			}
		}
	}
	fputs("# EOF\n", f);
	return 0;
}

/* ---- InfluxDB line protocol ---- */

/* Escapes a measurement (spaces, commas) or a tag key/value (also '='). */
static void lp_esc(FILE *f, const char *s, int tag)
{
	for (; *s; s++) {
		if (*s == ' ' || *s == ',' || (tag && *s == '=') || *s == '\\')
			fputc('\\', f);
		if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

static void lp_tag(FILE *f, const char *k, const char *v)
{
	if (!v || !*v)
		return;
	fputc(',', f);
	lp_esc(f, k, 1);
	fputc('=', f);
	lp_esc(f, v, 1);
}

static void lp_field(FILE *f, int *first, const char *k, double v)
{
	if (!isfinite(v))
		return;
	fprintf(f, "%s%s=%.15g", *first ? " " : ",", k, v);
	*first = 0;
}

static int w_influx(FILE *f, json_t *const *docs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const json_t *d = docs[i], *r, *labels = json_object_get(d, "labels"), *v;
		double t = 0;
		const char *k;
		size_t j;

		if (hb_parse_utc(js(d, "started_at"), &t))
			t = 0;
		json_array_foreach (json_object_get(d, "results"), j, r) {
			const json_t *c = cmp_for(d, r);
			int first = 1;

			fputs("hvbench", f);
			lp_tag(f, "host", js(json_object_get(d, "host"), "hostname"));
			lp_tag(f, "profile", js(d, "profile_name"));
			lp_tag(f, "target", js(r, "target"));
			lp_tag(f, "workload", js(r, "workload"));
			lp_tag(f, "metric", js(r, "metric"));
			lp_tag(f, "unit", js(r, "unit"));
			lp_tag(f, "area", js(r, "area"));
			lp_tag(f, "role", js(r, "role"));
			json_object_foreach ((json_t *)labels, k, v) {
				char name[80];

				label_name(k, name, sizeof(name));
				lp_tag(f, name, json_string_value(v));
			}
			lp_field(f, &first, "median", jnum(r, "median"));
			lp_field(f, &first, "mean", jnum(r, "mean"));
			lp_field(f, &first, "stdev", jnum(r, "stdev"));
			lp_field(f, &first, "cv", jnum(r, "cv"));
			lp_field(f, &first, "ci95_lo", jci(r, "ci95", 0));
			lp_field(f, &first, "ci95_hi", jci(r, "ci95", 1));
			lp_field(f, &first, "ratio", cmp_num(c, "ratio"));
			lp_field(f, &first, "oriented", cmp_num(c, "oriented"));
			lp_field(f, &first, "delta", cmp_num(c, "delta"));
			fprintf(f, "%sn=%zui %.0f\n", first ? " " : ",",
				json_array_size(json_object_get(r, "samples")), floor(t) * 1e9);
		}
	}
	return 0;
}

int hb_export_write(FILE *f, enum hb_export_fmt fmt, json_t *const *docs, const long long *ids,
		    size_t n, struct hb_err *e)
{
	switch (fmt) {
	case HB_EXPORT_CSV: return w_csv(f, docs, ids, n);
	case HB_EXPORT_OPENMETRICS: return w_openmetrics(f, docs, n, e);
	case HB_EXPORT_INFLUX: return w_influx(f, docs, n);
	case HB_EXPORT_JSON: {
		json_t *all = json_array();
		int rc = 0;

		for (size_t i = 0; i < n; i++)
			json_array_append(all, docs[i]);
		if (json_dumpf(n == 1 ? docs[0] : all, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10)))
			rc = hb_err_set(e, HB_EIO, "cannot write the JSON");
		fputc('\n', f);
		json_decref(all);
		return rc;
	}
	}
	return hb_err_set(e, HB_EINVAL, "unknown export format");
}

int hb_write_output(const char *path, const char *buf, size_t len, struct hb_err *e)
{
	if (path)
		return hb_write_atomic(path, buf, len, 0644, e);
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout))
		return hb_err_errno(e, HB_EIO, "cannot write to stdout");
	return 0;
}

static const char usage[] =
	"usage: hvbench export RESULTS.json... --format FMT [-o FILE]\n"
	"       hvbench export --db STORE [--run ID]... [--last K] [--profile P] [--host H]\n"
	"                      --format FMT [-o FILE]\n"
	"\n"
	"FMT: csv (spreadsheets), openmetrics (node_exporter textfile collector, Pushgateway;\n"
	"     one run per host and profile), influx (InfluxDB line protocol), json.\n"
	"Run labels (hvbench run --label K=V) travel into every format. Output: stdout, or FILE\n"
	"written atomically.\n";

struct docs {
	json_t **d;
	long long *ids;
	size_t n;
};

static int docs_add(struct docs *ds, json_t *doc, long long id)
{
	json_t **nd = realloc(ds->d, (ds->n + 1) * sizeof(*nd));
	long long *ni;

	if (!nd)
		return HB_ENOMEM;
	ds->d = nd;
	ni = realloc(ds->ids, (ds->n + 1) * sizeof(*ni));
	if (!ni)
		return HB_ENOMEM;
	ds->ids = ni;
	ds->d[ds->n] = doc;
	ds->ids[ds->n++] = id;
	return 0;
}

/* Loads the runs the options name from the store (oldest first, as a series reads). */
static int from_store(const char *db, struct hb_store_query *qy, const long long *runs,
		      size_t nruns, struct docs *ds, struct hb_err *e)
{
	struct hb_store *s = NULL;
	json_t *list = NULL, *doc;
	int rc;

	if ((rc = hb_store_open(db, &s, e)))
		return rc;
	if (nruns) {
		for (size_t i = 0; i < nruns && !rc; i++)
			if (!(rc = hb_store_get(s, runs[i], &doc, e)) &&
			    docs_add(ds, doc, runs[i])) {
				json_decref(doc);
				rc = hb_err_set(e, HB_ENOMEM, "out of memory");
			}
	} else if (!(rc = hb_store_list(s, qy, &list, e))) {
		for (size_t i = json_array_size(list); i-- > 0 && !rc;) {
			long long id =
				json_integer_value(json_object_get(json_array_get(list, i), "id"));

			if (!(rc = hb_store_get(s, id, &doc, e)) && docs_add(ds, doc, id)) {
				json_decref(doc);
				rc = hb_err_set(e, HB_ENOMEM, "out of memory");
			}
		}
	}
	json_decref(list);
	hb_store_close(s);
	return rc;
}

int hb_cmd_export(int argc, char **argv)
{
	static const struct option lo[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"db", required_argument, NULL, 'D'},
		{"run", required_argument, NULL, 'r'},
		{"last", required_argument, NULL, 'l'},
		{"profile", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hb_store_query qy = {0};
	struct hb_err e = {0};
	struct docs ds = {0};
	enum hb_export_fmt fmt = HB_EXPORT_CSV;
	const char *fmtname = NULL, *out = NULL, *db = NULL;
	long long runs[256];
	size_t nruns = 0;
	int c, rc = HB_EXIT_USAGE, use_db = 0;
	char *buf = NULL;
	size_t blen = 0;
	FILE *mf = NULL;
	long v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmtname = optarg; break;
		case 'o': out = optarg; break;
		case 'D':
			db = optarg;
			use_db = 1;
			break;
		case 'p':
			qy.profile = optarg;
			use_db = 1;
			break;
		case 'H':
			qy.hostname = optarg;
			use_db = 1;
			break;
		case 'r':
		case 'l':
			if (hb_parse_long(optarg, 1, 0x7fffffffL, &v) ||
			    (c == 'r' && nruns == HB_ARRAY_SIZE(runs))) {
				fprintf(stderr, P "%s: \"%s\" is not a whole number from 1\n",
					c == 'r' ? "--run" : "--last", optarg);
				return HB_EXIT_USAGE;
			}
			if (c == 'r')
				runs[nruns++] = v;
			else
				qy.limit = v;
			use_db = 1;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return HB_EXIT_USAGE;
		}
	}
	if (!fmtname || hb_export_format(fmtname, &fmt)) {
		fprintf(stderr, P "--format: %s%s%s must be csv, openmetrics, influx or json\n",
			fmtname ? "\"" : "", fmtname ? fmtname : "the format", fmtname ? "\"" : "");
		return HB_EXIT_USAGE;
	}
	if (use_db == (optind < argc)) {
		fprintf(stderr, P "give either RESULTS.json files or --db with run options\n%s",
			usage);
		return HB_EXIT_USAGE;
	}
	if (use_db) {
		if (from_store(db, &qy, runs, nruns, &ds, &e)) {
			fprintf(stderr, P "%s\n", e.msg);
			rc = e.code == HB_EINVAL ? HB_EXIT_USAGE : HB_EXIT_FAILED;
			goto out;
		}
	} else {
		for (int i = optind; i < argc; i++) {
			json_t *doc;

			if (hb_results_load(argv[i], &doc, &e)) {
				fprintf(stderr, P "%s\n", e.msg);
				goto out;
			}
			if (docs_add(&ds, doc, 0)) {
				json_decref(doc);
				fprintf(stderr, P "out of memory\n");
				goto out;
			}
		}
	}
	if (ds.n == 0) {
		fprintf(stderr, P "no run in the store matches\n");
		goto out;
	}
	mf = open_memstream(&buf, &blen);
	if (!mf) {
		fprintf(stderr, P "out of memory\n");
		rc = HB_EXIT_FAILED;
		goto out;
	}
	if (hb_export_write(mf, fmt, ds.d, ds.ids, ds.n, &e)) {
		fprintf(stderr, P "%s\n", e.msg);
		goto out;
	}
	fclose(mf);
	mf = NULL;
	if (hb_write_output(out, buf, blen, &e)) {
		fprintf(stderr, P "%s\n", e.msg);
		rc = HB_EXIT_FAILED;
		goto out;
	}
	rc = 0;
out:
	if (mf)
		fclose(mf);
	free(buf);
	for (size_t i = 0; i < ds.n; i++)
		json_decref(ds.d[i]);
	free(ds.d);
	free(ds.ids);
	return rc;
}
