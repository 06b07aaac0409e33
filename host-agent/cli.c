/*
 * cli.c — the `hvbench` command line (see cli.h): the command table, the option-table parser
 * and the handlers of the commands that live in the host agent (run, validate, list). Adding a
 * command is one line in commands[] and a handler `int fn(int argc, char **argv)` whose argv[0]
 * is the command's name.
 */
#include "cli.h"

#include <getopt.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calibrate.h"
#include "datapath.h"
#include "hb.h"
#include "history.h"
#include "probe.h"
#include "profile.h"
#include "proto.h"
#include "report.h"
#include "runner.h"

/* Set once by hb_cli_main before any command runs; read-only afterwards. */
static volatile sig_atomic_t *g_stop;
static void (*g_arm)(void);

/* ---- option tables ---- */

void hb_cli_usage(const struct hb_cli_cmd_usage *u, FILE *f)
{
	fprintf(f, "usage: hvbench %s %s\n", u->name, u->synopsis);
	if (u->blurb)
		fprintf(f, "\n%s", u->blurb);
	if (u->nopts)
		fputc('\n', f);
	for (size_t i = 0; i < u->nopts; i++) {
		const struct hb_cli_opt *o = &u->opts[i];
		char left[64];
		if (o->key < 256)
			hb_snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
				    o->arg ? " " : "", o->arg ? o->arg : "");
		else
			hb_snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
				    o->arg ? o->arg : "");
		fprintf(f, "  %-24s%s\n", left, o->help);
	}
	fprintf(f, "  %-24s%s\n", "-h, --help", "this text");
	if (u->epilog)
		fprintf(f, "\n%s", u->epilog);
}

int hb_cli_parse(const struct hb_cli_cmd_usage *u, int argc, char **argv,
		 int (*on)(void *arg, int key, const char *val), void *arg, int *first_operand)
{
	struct option lo[32];
	char so[80] = "";
	size_t n = 0, k = 0;
	int c;

	for (size_t i = 0; i < u->nopts && n < HB_ARRAY_SIZE(lo) - 2; i++) {
		const struct hb_cli_opt *o = &u->opts[i];
		lo[n++] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
					  o->key};
		if (o->key < 256 && k < sizeof(so) - 3) {
			so[k++] = (char)o->key;
			if (o->arg)
				so[k++] = ':';
		}
	}
	lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
	lo[n] = (struct option){NULL, 0, NULL, 0};
	so[k++] = 'h';
	so[k] = '\0';
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (c == 'h') {
			hb_cli_usage(u, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "hvbench %s: unknown or incomplete option \"%s\"\n",
				u->name, argv[optind - 1]);
			hb_cli_usage(u, stderr);
			return 2;
		}
		if (on(arg, c, optarg))
			return 2;
	}
	*first_operand = optind;
	return 0;
}

/* ---- run and validate ---- */

enum {
	O_TARGETS = 256,
	O_REPS,
	O_WARMUP,
	O_DURATION,
	O_BUILD,
	O_SCRATCH,
	O_NOREPORT,
	O_FORCE,
	O_LABEL,
	O_DB,
	O_NOHISTORY,
	O_BOOTPAR
};

static const struct hb_cli_opt run_opts[] = {
	{"output", 'o', "DIR", "results directory (default results/<UTC timestamp>-<profile>)"},
	{"targets", O_TARGETS, "A,B", "run only these targets of the profile, in this order"},
	{"reps", O_REPS, "N", "measured repetitions per workload and target (1..1000)"},
	{"warmup", O_WARMUP, "N", "discarded warm-up runs before them (0..100)"},
	{"duration", O_DURATION, "S",
	 "measured seconds of every workload run (overrides the profile)"},
	{"boot-parallel", O_BOOTPAR, "on|off",
	 "boot the VMs side by side, or one after the other (overrides \"boot_parallel\")"},
	{"build", O_BUILD, "DIR",
	 "directory holding guest/ (the guest image; default: the first with one of "
	 "$HVBENCH_BUILD, ./build, the binary's directory, ~/.cache/hvbench, /var/lib/hvbench)"},
	{"scratch-dir", O_SCRATCH, "D",
	 "where scratch files and disks are created (default /var/tmp)"},
	/* validate takes the options above; the ones below are for run only */
	{"no-report", O_NOREPORT, NULL, "write results.json only"},
	{"force", O_FORCE, NULL, "replace the results of an earlier run in the -o directory"},
	{"label", O_LABEL, "KEY=VALUE",
	 "label the run (repeatable): results.json, history, exports"},
	{"db", O_DB, "STORE",
	 "history store to record the run in (SQLite file or postgresql://...; default "
	 "$HVBENCH_DB, else $XDG_DATA_HOME/hvbench/history.db)"},
	{"no-history", O_NOHISTORY, NULL, "do not record the run in the history store"},
	{"quiet", 'q', NULL, "no progress line"},
	{"verbose", 'v', NULL, "more detail on stderr"},
};
#define RUN_ONLY_OPTS 7 /* no-report .. verbose */

static const struct hb_cli_cmd_usage run_usage = {
	"run",
	"PROFILE [options]",
	"Checks the profile (as validate does; a problem stops it before anything starts), then\n"
	"runs it: results.json and the report go to the results directory.\n",
	run_opts,
	HB_ARRAY_SIZE(run_opts),
	"Ctrl-C stops after cleaning up: what was measured is written with status "
	"\"incomplete\".\n"};

/* validate takes the same options (the paths matter to the checks), minus the run-only ones. */
static const struct hb_cli_cmd_usage validate_usage = {
	"validate",
	"PROFILE [options]",
	"Runs every static check a run would meet (profile, target options, paths, probe events,\n"
	"this host's cores and RAM) without starting anything, names every problem, and prints\n"
	"the plan with an estimate of its wall time. Exit 0 when the run would start, 2 with the\n"
	"problems otherwise.\n",
	run_opts,
	HB_ARRAY_SIZE(run_opts) - RUN_ONLY_OPTS,
	NULL};

struct run_args {
	const char *cmd;
	struct hb_overrides ov;
	struct hb_run_cfg cfg;
};

/* A number option in [lo, hi] (whole when integer); 2 with the message when it is not. */
static int num_opt(const char *cmd, const char *opt, const char *val, double lo, double hi,
		   int integer, double *out)
{
	long l;

	if (integer ? hb_parse_long(val, (long)lo, (long)hi, &l)
		    : hb_parse_double(val, lo, hi, out)) {
		fprintf(stderr, "hvbench %s: --%s: \"%s\" is not %s in %g..%g\n", cmd, opt, val,
			integer ? "a whole number" : "a number of seconds", lo, hi);
		return 2;
	}
	if (integer)
		*out = (double)l;
	return 0;
}

static int on_run_opt(void *arg, int key, const char *val)
{
	struct run_args *a = arg;
	double d;

	switch (key) {
	case 'o': a->cfg.out_dir = val; break;
	case O_TARGETS: a->ov.targets = val; break;
	case O_REPS:
		if (num_opt(a->cmd, "reps", val, 1, 1000, 1, &d))
			return 2;
		a->ov.reps = (int)d;
		break;
	case O_WARMUP:
		if (num_opt(a->cmd, "warmup", val, 0, 100, 1, &d))
			return 2;
		a->ov.warmup = (int)d;
		break;
	case O_DURATION: return num_opt(a->cmd, "duration", val, 0.1, 3600, 0, &a->ov.duration);
	case O_BOOTPAR:
		if (strcmp(val, "on") && strcmp(val, "off")) {
			fprintf(stderr, "hvbench %s: --boot-parallel takes on or off, not \"%s\"\n",
				a->cmd, val);
			return 2;
		}
		a->ov.boot_parallel = !strcmp(val, "on") ? 1 : -1;
		break;
	case O_BUILD: a->cfg.build_dir = val; break;
	case O_SCRATCH: a->cfg.scratch_base = val; break;
	case O_NOREPORT: a->cfg.no_report = 1; break;
	case O_FORCE: a->cfg.force = 1; break;
	case O_LABEL: {
		struct hb_err e = {0};
		if (!a->cfg.labels)
			a->cfg.labels = json_object();
		if (hb_label_add(a->cfg.labels, val, &e)) {
			fprintf(stderr, "hvbench %s: --label: %s\n", a->cmd, e.msg);
			return 2;
		}
		break;
	}
	case O_DB: a->cfg.db = val; break;
	case O_NOHISTORY: a->cfg.no_history = 1; break;
	case 'q': a->cfg.quiet = 1; break;
	case 'v': a->cfg.verbose = 1; break;
	}
	return 0;
}

static void print_plan(const char *path, const struct hb_profile *p)
{
	char est[32];
	int i;

	printf("%s: valid profile \"%s\": %d target%s, %d workload%s, %d repetition%s + %d "
	       "warm-up\n",
	       path, p->name, p->ntargets, p->ntargets == 1 ? "" : "s", p->nentries,
	       p->nentries == 1 ? "" : "s", p->reps, p->reps == 1 ? "" : "s", p->warmup);
	for (i = 0; i < p->ntargets; i++)
		printf("  target %-16s %s\n", p->targets[i].name, p->targets[i].ops->kind);
	for (i = 0; i < p->nentries; i++)
		printf("  workload %-24s %-5s %gs + %gs ramp (timeout %gs)\n", p->entries[i].name,
		       p->entries[i].wl->name, p->entries[i].t.duration, p->entries[i].t.ramp,
		       p->entries[i].t.timeout);
	if (p->density.enabled) {
		printf("  density  k =");
		for (i = 0; i < p->density.ncounts; i++)
			printf("%s %d", i ? "," : "", p->density.counts[i]);
		printf(" clones of %s, knee %g, on", p->density.target.name, p->density.knee);
		for (i = 0; i < p->density.nentries; i++)
			printf("%s %s", i ? "," : "", p->entries[p->density.entries[i]].name);
		printf("\n");
	}
	hb_fmt_duration(hb_profile_estimate(p), est, sizeof(est));
	printf("estimated wall time: about %s\n", est);
}

/* Everything after option parsing; a is owned by the caller (labels freed there). */
static int run_parsed(int argc, char **argv, int first, const struct hb_cli_cmd_usage *u,
		      int validate_only, struct run_args *a)
{
	char profile_path[HB_DATA_PATH_MAX], build_dir[HB_DATA_PATH_MAX], outbuf[1024];
	struct hb_check_env ce;
	struct hb_profile p;
	struct hb_err e = {0};
	struct hb_diag d;
	int rc;

	if ((a->cfg.out_dir && !*a->cfg.out_dir) || !*a->cfg.scratch_base ||
	    (a->cfg.build_dir && !*a->cfg.build_dir)) {
		fprintf(stderr, "hvbench %s: -o, --scratch-dir and --build need a non-empty path\n",
			u->name);
		return HB_EXIT_USAGE;
	}
	if (first != argc - 1) {
		fprintf(stderr, "hvbench %s: needs exactly one PROFILE\n", u->name);
		hb_cli_usage(u, stderr);
		return HB_EXIT_USAGE;
	}
	/* a path, or the name of a profile in the search path (installed: no source tree) */
	if (hb_data_path(HB_DATA_PROFILE, argv[first], profile_path, sizeof(profile_path), &e)) {
		fprintf(stderr, "hvbench %s: %s\n", u->name, e.msg);
		return HB_EXIT_USAGE;
	}
	if (!a->cfg.build_dir) {
		struct hb_err ge = {0}; /* nothing found: the qemu check names where it looked */

		hb_data_path(HB_DATA_GUEST, NULL, build_dir, sizeof(build_dir), &ge);
		if (build_dir[0])
			a->cfg.build_dir = build_dir;
		else if (getenv("HVBENCH_BUILD") && *getenv("HVBENCH_BUILD"))
			a->cfg.build_dir = getenv("HVBENCH_BUILD"); /* the message names it */
		else
			a->cfg.build_dir = "build";
	}
	if (hb_profile_load(profile_path, &p, &e) || hb_profile_apply(&p, &a->ov, &e)) {
		fprintf(stderr, "hvbench %s: %s\n", u->name, e.msg);
		if (p.json)
			hb_profile_free(&p);
		return HB_EXIT_USAGE;
	}
	ce = (struct hb_check_env){a->cfg.build_dir, a->cfg.scratch_base, a->cfg.out_dir};
	hb_diag_init(&d);
	hb_profile_check(&p, &ce, &d);
	{
		char prefix[32];
		hb_snprintf(prefix, sizeof(prefix), "hvbench %s", u->name);
		hb_diag_print(&d, prefix, stderr);
	}
	if (d.nerr) {
		fprintf(stderr, "hvbench %s: %s: %d problem%s; nothing was started\n", u->name,
			argv[first], d.nerr, d.nerr == 1 ? "" : "s");
		hb_profile_free(&p);
		return HB_EXIT_USAGE;
	}
	if (validate_only) {
		print_plan(argv[first], &p);
		hb_profile_free(&p);
		return HB_EXIT_OK;
	}
	if (!a->cfg.out_dir) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
		hb_snprintf(outbuf, sizeof(outbuf), "results/%s-%s", ts, p.name);
		a->cfg.out_dir = outbuf;
	}
	if (g_arm)
		g_arm();
	rc = hb_run_profile(&p, &a->cfg, g_stop);
	hb_profile_free(&p);
	return rc;
}

static int run_or_validate(int argc, char **argv, const struct hb_cli_cmd_usage *u,
			   int validate_only)
{
	struct run_args a = {u->name, {NULL, 0, -1, 0, 0}, {.scratch_base = "/var/tmp"}};
	int first, rc = hb_cli_parse(u, argc, argv, on_run_opt, &a, &first);

	if (!rc)
		rc = run_parsed(argc, argv, first, u, validate_only, &a);
	else
		rc = rc == 1 ? HB_EXIT_OK : HB_EXIT_USAGE;
	json_decref(a.cfg.labels);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	return run_or_validate(argc, argv, &run_usage, 0);
}

static int cmd_validate(int argc, char **argv)
{
	return run_or_validate(argc, argv, &validate_usage, 1);
}

/* ---- list ---- */

static void print_params(const struct hb_param *ps, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct hb_param *p = &ps[i];
		printf("      %-18s", p->name);
		switch (p->type) {
		case HB_P_INT: printf("int %.0f..%.0f", p->min, p->max); break;
		case HB_P_DOUBLE: printf("number %g..%g", p->min, p->max); break;
		case HB_P_SIZE: printf("size"); break;
		case HB_P_BOOL: printf("bool"); break;
		case HB_P_STRING: printf("string"); break;
		case HB_P_ENUM:
			for (j = 0; p->choices && p->choices[j]; j++)
				printf("%s%s", j ? "|" : "", p->choices[j]);
			break;
		}
		printf("  (default %s)  %s\n", p->def ? p->def : "none", p->help ? p->help : "");
	}
}

/* One workload or target kind: name, help, whether it works here, its parameters. */
static void print_module(const char *name, const char *help, int (*supported)(char *, size_t),
			 const struct hb_param *ps, size_t n)
{
	char why[256] = "";

	printf("  %-6s %s%s%s%s\n", name, help,
	       supported && supported(why, sizeof(why)) ? " [unavailable here: " : "",
	       why[0] ? why : "", why[0] ? "]" : "");
	print_params(ps, n);
}

static const struct hb_cli_cmd_usage list_usage = {
	"list",
	"",
	"Shows workloads with their parameters, target kinds with their options, and the\n"
	"profiles in configs/.\n",
	NULL,
	0,
	NULL};

static int ignore_opt(void *arg, int key, const char *val)
{
	(void)arg;
	(void)key;
	(void)val;
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	size_t i;
	glob_t g;
	int first, rc = hb_cli_parse(&list_usage, argc, argv, ignore_opt, NULL, &first);

	if (rc)
		return rc == 1 ? HB_EXIT_OK : HB_EXIT_USAGE;
	if (first < argc) {
		fprintf(stderr, "hvbench list: unexpected argument \"%s\"\n", argv[first]);
		return HB_EXIT_USAGE;
	}
	puts("workloads:");
	for (i = 0; hb_workloads[i]; i++)
		print_module(hb_workloads[i]->name, hb_workloads[i]->help,
			     hb_workloads[i]->supported, hb_workloads[i]->params,
			     hb_workloads[i]->nparams);
	puts("target kinds:");
	for (i = 0; hb_backends[i]; i++)
		print_module(hb_backends[i]->kind, hb_backends[i]->help, hb_backends[i]->supported,
			     hb_backends[i]->opts, hb_backends[i]->nopts);
	puts("profiles (run them by name or path):");
	{
		char dirs[HB_DATA_MAX_DIRS][HB_DATA_PATH_MAX], pat[HB_DATA_PATH_MAX + 8];
		int nd = hb_data_dirs(HB_DATA_PROFILE, dirs, HB_DATA_MAX_DIRS), found = 0;

		for (int k = 0; k < nd; k++) {
			if (hb_snprintf(pat, sizeof(pat), "%s/*.json", dirs[k]) ||
			    glob(pat, 0, NULL, &g))
				continue;
			for (i = 0; i < g.gl_pathc; i++)
				printf("  %s\n", g.gl_pathv[i]);
			found += (int)g.gl_pathc;
			globfree(&g);
		}
		if (!found)
			puts("  (none in the profile search path: see hvbench(1), FILES)");
	}
	return 0;
}

/* `calibrate` runs profiles like `run`: Ctrl-C stops it cleanly */
static int cmd_calibrate(int argc, char **argv)
{
	if (g_arm)
		g_arm();
	return hb_cmd_calibrate(argc, argv, g_stop);
}

/* ---- the table ---- */

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{"run", cmd_run, "run a profile, write results.json and the report"},
	{"validate", cmd_validate, "check a profile (every static check) and print the plan"},
	{"report", hb_cmd_report, "render report.md, report.html and plots from result files"},
	{"compare", hb_cmd_compare, "regression gate between two result files"},
	{"list", cmd_list, "workloads with their parameters, target kinds, profiles"},
	{"probes", hb_cmd_probes, "host-side probes and whether they work on this host"},
	{"history", hb_cmd_history, "the run history store: list, show, import, export, prune"},
	{"export", hb_cmd_export, "results as csv, openmetrics, influx or json"},
	{"calibrate", cmd_calibrate, "inject known overheads and check that they are measured"},
	{"help", cmd_help, "help on a command: hvbench help CMD"},
	{"version", cmd_version, "the version, results schema and agent protocol"},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < HB_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage_main(FILE *f)
{
	fputs("usage: hvbench <command> [options]\n"
	      "\n"
	      "Hypervisor benchmark and overhead measurement: the same workloads natively and in "
	      "VMs,\n"
	      "every VM figure as a ratio to native with a 95% confidence interval.\n"
	      "\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < HB_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fputs("\n"
	      "options: -h/--help (also after any command), -V/--version\n"
	      "exit codes: 0 ok, 1 regression (compare) or report written without plots (report),\n"
	      "            2 usage or profile error, 3 run failed,\n"
	      "            4 run incomplete (interrupted or some runs failed)\n",
	      f);
}

static int cmd_version(int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "hvbench version: unexpected argument \"%s\"\n", argv[1]);
		return HB_EXIT_USAGE;
	}
	printf("hvbench %s (results schema " HB_RESULTS_SCHEMA ", agent protocol %d)\n", HB_VERSION,
	       HB_PROTO_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c;
	char *help_argv[] = {NULL, "--help", NULL};

	if (argc < 2) {
		usage_main(stdout);
		return 0;
	}
	if (argc > 2) {
		fprintf(stderr, "hvbench help: give one command\n");
		return HB_EXIT_USAGE;
	}
	c = find_command(argv[1]);
	if (!c) {
		const char *names[HB_ARRAY_SIZE(commands)];
		char near[96];
		for (size_t i = 0; i < HB_ARRAY_SIZE(commands); i++)
			names[i] = commands[i].name;
		fprintf(stderr, "hvbench help: unknown command \"%s\"%s\n", argv[1],
			hb_suggest(near, sizeof(near), argv[1], names, HB_ARRAY_SIZE(names)));
		return HB_EXIT_USAGE;
	}
	if (c->fn == cmd_help || c->fn == cmd_version) {
		printf("usage: hvbench %s%s\n\n%s\n", c->name,
		       c->fn == cmd_help ? " [COMMAND]" : "", c->help);
		return 0;
	}
	help_argv[0] = (char *)c->name;
	return c->fn(2, help_argv);
}

int hb_cli_main(int argc, char **argv, volatile sig_atomic_t *stop, void (*arm)(void))
{
	const struct command *c;
	const char *cmd;

	g_stop = stop;
	g_arm = arm;
	if (argc < 2) {
		usage_main(stderr);
		return HB_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))
		return cmd_help(1, argv + 1);
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version"))
		return cmd_version(argc - 1, argv + 1);
	c = find_command(cmd);
	if (!c) {
		const char *names[HB_ARRAY_SIZE(commands)];
		char near[96];
		for (size_t i = 0; i < HB_ARRAY_SIZE(commands); i++)
			names[i] = commands[i].name;
		fprintf(stderr, "hvbench: unknown command \"%s\"%s\n", cmd,
			hb_suggest(near, sizeof(near), cmd, names, HB_ARRAY_SIZE(names)));
		usage_main(stderr);
		return HB_EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
