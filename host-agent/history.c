/*
 * history.c — `hvbench history list|show|import|export|prune`: the command line over the
 * history store (store.h). Output for people goes to stdout, problems to stderr with the
 * command's prefix; every file written is written atomically.
 */
#include "history.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "report.h"
#include "runner.h"
#include "store.h"

#define P "hvbench history: "

static const char usage[] =
	"usage: hvbench history <subcommand> [--db STORE] [options]\n"
	"\n"
	"  list [--profile P] [--host H] [-n N] [--json]   runs, newest first\n"
	"  show ID                                         one run: facts, labels, results\n"
	"  import RESULTS.json...                          record result files\n"
	"  export ID [-o FILE]                             the run's results.json\n"
	"  prune (--keep-last N | --before DATE | --run ID) [--profile P] [--host H] [--dry-run]\n"
	"                                                  delete runs (--keep-last: per host\n"
	"                                                  and profile; DATE: 2026-01-31 or\n"
	"                                                  RFC 3339)\n"
	"\n"
	"STORE: an SQLite file, or postgresql://... (default $HVBENCH_DB, else\n"
	"$XDG_DATA_HOME/hvbench/history.db, i.e. ~/.local/share/hvbench/history.db).\n";

int hb_label_add(json_t *labels, const char *kv, struct hb_err *e)
{
	const char *eq = strchr(kv, '=');
	char key[65];
	size_t kl, i;

	if (!eq)
		return hb_err_set(e, HB_EINVAL, "label \"%s\" is not KEY=VALUE", kv);
	kl = (size_t)(eq - kv);
	if (kl == 0 || kl >= sizeof(key))
		return hb_err_set(e, HB_EINVAL, "label \"%s\": the key must have 1..64 characters",
				  kv);
	for (i = 0; i < kl; i++) {
		char c = kv[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			 (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return hb_err_set(e, HB_EINVAL,
					  "label \"%s\": the key may hold letters, digits and _ "
					  "and must not start with a digit",
					  kv);
	}
	memcpy(key, kv, kl);
	key[kl] = '\0';
	if (strlen(eq + 1) > 256)
		return hb_err_set(e, HB_EINVAL, "label %s: the value is longer than 256 bytes",
				  key);
	for (const char *p = eq + 1; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return hb_err_set(e, HB_EINVAL,
					  "label %s: the value holds a control character", key);
	if (json_object_set_new(labels, key, json_string(eq + 1)))
		return hb_err_set(e, HB_EINVAL, "label %s: the value is not valid UTF-8", key);
	return 0;
}

static int open_store(const char *db, struct hb_store **s)
{
	struct hb_err e = {0};

	if (hb_store_open(db, s, &e)) {
		fprintf(stderr, P "%s\n", e.msg);
		return HB_EXIT_FAILED;
	}
	return 0;
}

static int parse_id(const char *s, long long *id)
{
	long v;

	if (hb_parse_long(s, 1, 0x7fffffffL, &v)) {
		fprintf(stderr, P "\"%s\" is not a run id (a whole number from `history list`)\n",
			s);
		return HB_EXIT_USAGE;
	}
	*id = v;
	return 0;
}

static void print_labels(const json_t *labels)
{
	const char *k;
	json_t *v;
	int first = 1;

	json_object_foreach ((json_t *)labels, k, v) {
		printf("%s%s=%s", first ? "" : ",", k, json_string_value(v));
		first = 0;
	}
}

static int h_list(struct hb_store *s, struct hb_store_query *qy, int as_json)
{
	struct hb_err e = {0};
	json_t *list, *x;
	size_t i;

	if (hb_store_list(s, qy, &list, &e)) {
		fprintf(stderr, P "%s\n", e.msg);
		return HB_EXIT_FAILED;
	}
	if (as_json) {
		json_dumpf(list, stdout, JSON_INDENT(1));
		putchar('\n');
	} else {
		printf("%6s  %-24s  %-20s  %-12s  %-10s  %7s  %s\n", "id", "started_at", "host",
		       "profile", "status", "metrics", "labels");
		json_array_foreach (list, i, x) {
			printf("%6" JSON_INTEGER_FORMAT
			       "  %-24s  %-20s  %-12s  %-10s  %7" JSON_INTEGER_FORMAT "  ",
			       json_integer_value(json_object_get(x, "id")),
			       json_string_value(json_object_get(x, "started_at")),
			       json_string_value(json_object_get(x, "hostname")),
			       json_string_value(json_object_get(x, "profile")),
			       json_string_value(json_object_get(x, "status")),
			       json_integer_value(json_object_get(x, "metrics")));
			print_labels(json_object_get(x, "labels"));
			putchar('\n');
		}
	}
	json_decref(list);
	return 0;
}

static const char *js(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

static int h_show(struct hb_store *s, long long id)
{
	struct hb_err e = {0};
	json_t *doc, *x;
	const json_t *host;
	size_t i;

	if (hb_store_get(s, id, &doc, &e)) {
		fprintf(stderr, P "%s\n", e.msg);
		return HB_EXIT_USAGE;
	}
	host = json_object_get(doc, "host");
	printf("run %lld: profile %s on %s, %s, started %s, finished %s\n", id,
	       js(doc, "profile_name"), js(host, "hostname"), js(doc, "status"),
	       js(doc, "started_at"), js(doc, "finished_at"));
	{
		char cores[32];

		hb_fmt_value(json_number_value(json_object_get(host, "cores")), cores,
			     sizeof(cores));
		printf("host: %s, %s cores, kernel %s\n", js(host, "cpu_model"), cores,
		       js(host, "kernel"));
	}
	printf("labels: ");
	print_labels(json_object_get(doc, "labels"));
	printf("\ntargets:");
	json_array_foreach (json_object_get(doc, "targets"), i, x)
		printf(" %s (%s)", js(x, "name"), js(x, "kind"));
	printf("\n\n%-14s %-18s %-28s %14s  %-8s %3s  %s\n", "target", "workload", "metric",
	       "median", "unit", "n", "role");
	json_array_foreach (json_object_get(doc, "results"), i, x) {
		char v[64];

		hb_fmt_value(json_number_value(json_object_get(x, "median")), v, sizeof(v));
		printf("%-14s %-18s %-28s %14s  %-8s %3zu  %s\n", js(x, "target"),
		       js(x, "workload"), js(x, "metric"), v, js(x, "unit"),
		       json_array_size(json_object_get(x, "samples")), js(x, "role"));
	}
	json_decref(doc);
	return 0;
}

static int h_import(struct hb_store *s, int n, char **files)
{
	int rc = 0;

	for (int i = 0; i < n; i++) {
		struct hb_err e = {0};
		json_t *doc = NULL;
		long long id;
		int dup;

		if (hb_results_load(files[i], &doc, &e) ||
		    hb_store_record(s, doc, files[i], &id, &dup, &e)) {
			fprintf(stderr, P "%s\n", e.msg);
			rc = e.code == HB_EINVAL ? HB_EXIT_USAGE : HB_EXIT_FAILED;
		} else if (dup) {
			printf("%s: already stored as run %lld\n", files[i], id);
		} else {
			printf("%s: stored as run %lld\n", files[i], id);
		}
		json_decref(doc);
	}
	return rc;
}

static int h_export(struct hb_store *s, long long id, const char *out)
{
	struct hb_err e = {0};
	json_t *doc;
	char *txt;
	int rc = 0;

	if (hb_store_get(s, id, &doc, &e)) {
		fprintf(stderr, P "%s\n", e.msg);
		return HB_EXIT_USAGE;
	}
	txt = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	json_decref(doc);
	if (!txt) {
		fprintf(stderr, P "out of memory\n");
		return HB_EXIT_FAILED;
	}
	if (hb_write_output(out, txt, strlen(txt), &e) ||
	    (!out && hb_write_output(NULL, "\n", 1, &e))) {
		fprintf(stderr, P "%s\n", e.msg);
		rc = HB_EXIT_FAILED;
	}
	free(txt);
	return rc;
}

/* Which runs prune deletes: keep the newest keep_last per (host, profile), or older than
 * before, or the one run. */
static int h_prune(struct hb_store *s, struct hb_store_query *qy, long keep_last,
		   const char *before, long long run, int dry)
{
	struct hb_err e = {0};
	json_t *list, *x, *seen = json_object();
	double cut = 0;
	size_t i, ndel = 0;
	int rc = 0;

	if (before) {
		char full[64];

		if (strlen(before) == 10 &&
		    !hb_snprintf(full, sizeof(full), "%sT00:00:00Z", before))
			before = full;
		if (hb_parse_utc(before, &cut)) {
			fprintf(stderr,
				P "--before: \"%s\" is not a date such as 2026-01-31 or "
				  "2026-01-31T12:00:00Z\n",
				before);
			json_decref(seen);
			return HB_EXIT_USAGE;
		}
	}
	if (hb_store_list(s, qy, &list, &e)) {
		fprintf(stderr, P "%s\n", e.msg);
		json_decref(seen);
		return HB_EXIT_FAILED;
	}
	json_array_foreach (list, i, x) {
		long long id = json_integer_value(json_object_get(x, "id"));
		int del;

		if (run) {
			del = id == run;
		} else if (before) {
			double t = 0;

			del = !hb_parse_utc(js(x, "started_at"), &t) && t < cut;
		} else {
			char key[600];
			json_int_t k;

			snprintf(key, sizeof(key), "%s\n%s", js(x, "hostname"), js(x, "profile"));
			k = json_integer_value(json_object_get(seen, key)) + 1;
			json_object_set_new(seen, key, json_integer(k));
			del = k > keep_last;
		}
		if (!del)
			continue;
		if (!dry && hb_store_delete(s, id, &e)) {
			fprintf(stderr, P "%s\n", e.msg);
			rc = HB_EXIT_FAILED;
			break;
		}
		printf("%s run %lld (%s, %s, %s)\n", dry ? "would delete" : "deleted", id,
		       js(x, "started_at"), js(x, "hostname"), js(x, "profile"));
		ndel++;
	}
	if (run && !ndel && !rc) {
		fprintf(stderr, P "no run %lld in %s\n", run, hb_store_name(s));
		rc = HB_EXIT_USAGE;
	}
	if (!rc)
		printf("%zu run%s %s\n", ndel, ndel == 1 ? "" : "s",
		       dry ? "would be deleted" : "deleted");
	json_decref(list);
	json_decref(seen);
	return rc;
}

int hb_cmd_history(int argc, char **argv)
{
	static const struct option lo[] = {
		{"db", required_argument, NULL, 'D'},
		{"profile", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"limit", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"output", required_argument, NULL, 'o'},
		{"keep-last", required_argument, NULL, 'k'},
		{"before", required_argument, NULL, 'b'},
		{"run", required_argument, NULL, 'r'},
		{"dry-run", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hb_store_query qy = {0};
	struct hb_store *s = NULL;
	const char *db = NULL, *out = NULL, *before = NULL, *sub;
	long keep = -1, lim = 0;
	long long run = 0, id = 0;
	int c, as_json = 0, dry = 0, rc, nargs;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? HB_EXIT_USAGE : 0;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "n:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'D': db = optarg; break;
		case 'p': qy.profile = optarg; break;
		case 'H': qy.hostname = optarg; break;
		case 'j': as_json = 1; break;
		case 'o': out = optarg; break;
		case 'b': before = optarg; break;
		case 'y': dry = 1; break;
		case 'n':
		case 'k':
			if (hb_parse_long(optarg, c == 'k' ? 0 : 1, 1000000,
					  c == 'k' ? &keep : &lim)) {
				fprintf(stderr, P "%s: \"%s\" is not a whole number\n",
					c == 'k' ? "--keep-last" : "--limit", optarg);
				return HB_EXIT_USAGE;
			}
			break;
		case 'r':
			if ((rc = parse_id(optarg, &run)))
				return rc;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return HB_EXIT_USAGE;
		}
	}
	argc--;
	argv++;
	nargs = argc - optind;
	if (!strcmp(sub, "list") || !strcmp(sub, "prune")) {
		if (nargs) {
			fprintf(stderr, P "%s takes no arguments (\"%s\")\n", sub, argv[optind]);
			return HB_EXIT_USAGE;
		}
		if (!strcmp(sub, "prune") && (keep >= 0) + (before != NULL) + (run != 0) != 1) {
			fprintf(stderr,
				P "prune needs one of --keep-last N, --before DATE, --run ID\n");
			return HB_EXIT_USAGE;
		}
	} else if (!strcmp(sub, "show") || !strcmp(sub, "export")) {
		if (nargs != 1) {
			fprintf(stderr, P "%s needs exactly one run ID\n", sub);
			return HB_EXIT_USAGE;
		}
		if ((rc = parse_id(argv[optind], &id)))
			return rc;
	} else if (!strcmp(sub, "import")) {
		if (nargs < 1) {
			fprintf(stderr, P "import needs at least one RESULTS.json\n");
			return HB_EXIT_USAGE;
		}
	} else {
		fprintf(stderr, P "unknown subcommand \"%s\"\n%s", sub, usage);
		return HB_EXIT_USAGE;
	}
	if ((rc = open_store(db, &s)))
		return rc;
	if (!strcmp(sub, "list")) {
		qy.limit = lim;
		rc = h_list(s, &qy, as_json);
	} else if (!strcmp(sub, "show")) {
		rc = h_show(s, id);
	} else if (!strcmp(sub, "export")) {
		rc = h_export(s, id, out);
	} else if (!strcmp(sub, "import")) {
		rc = h_import(s, nargs, argv + optind);
	} else {
		rc = h_prune(s, &qy, keep, before, run, dry);
	}
	hb_store_close(s);
	return rc;
}

/* The default of a target option, from the backend's own table (compare's option_default). */
json_t *hb_target_option_default(const char *kind, const char *key)
{
	const struct hb_backend_ops *ops = hb_backend_find(kind);

	return ops ? hb_param_default(ops->opts, ops->nopts, key) : NULL;
}

/* `hvbench compare`: the reports' gate, its --baseline-from served by the history store. */
int hb_cmd_compare(int argc, char **argv)
{
	static const struct hb_baseline_source store = {hb_store_baselines, hb_store_docs_free,
							hb_target_option_default};

	return hb_compare_main(argc, argv, stdout, stderr, &store);
}
