/*
 * main.c — the `hvbench` command line: parses the subcommand and its options and calls the
 * library. Nothing but argument handling lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "disksafe.h"
#include "calibrate.h"
#include "datapath.h"
#include "hb.h"
#include "history.h"
#include "probe.h"
#include "profile.h"
#include "report.h"
#include "runner.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static const char usage_main[] =
	"usage: hvbench <command> [options]\n"
	"\n"
	"Hypervisor benchmark and overhead measurement: the same workloads natively and in VMs,\n"
	"every VM figure as a ratio to native with a 95% confidence interval.\n"
	"\n"
	"commands:\n"
	"  run PROFILE        run a profile, write results.json and the report\n"
	"  validate PROFILE   check a profile and print what it would run\n"
	"  report RESULTS...  render report.md, report.html and plots from result files\n"
	"  compare BASE CUR   regression gate between two result files\n"
	"  calibrate          inject known overheads and check hvbench measures them\n"
	"  history ...        the run history store: list, show, import, export, prune\n"
	"  export ...         results as csv, openmetrics, influx or json\n"
	"  list               workloads with their parameters, target kinds, profiles\n"
	"  probes             host-side probes and whether they work on this host\n"
	"\n"
	"options: -h/--help (also after any command), --version\n"
	"exit codes: 0 ok, 1 regression (compare) or report written without plots (report),\n"
	"            2 usage or profile error, 3 run failed,\n"
	"            4 run incomplete (interrupted or some runs failed)\n";

static const char usage_run[] =
	"usage: hvbench run PROFILE [options]\n"
	"\n"
	"  -o, --output DIR      results directory (default results/<UTC timestamp>-<profile>)\n"
	"      --targets A,B     run only these targets of the profile, in this order\n"
	"      --reps N          measured repetitions per workload and target (1..1000)\n"
	"      --warmup N        discarded warm-up runs before them (0..100)\n"
	"      --duration S      measured seconds of every workload run (overrides the profile)\n"
	"      --build DIR       directory holding guest/ (the guest image; default: the\n"
	"                        first with one of $HVBENCH_BUILD, ./build, the binary's\n"
	"                        directory, ~/.cache/hvbench, /var/lib/hvbench)\n"
	"      --scratch-dir D   where scratch files and disks are created (default /var/tmp)\n"
	"      --no-report       write results.json only\n"
	"      --force           replace the results of an earlier run in the -o directory\n"
	"      --label KEY=VALUE label the run (repeatable): results.json, history, exports\n"
	"      --db STORE        history store to record the run in (SQLite file or\n"
	"                        postgresql://...; default $HVBENCH_DB, else\n"
	"                        $XDG_DATA_HOME/hvbench/history.db)\n"
	"      --no-history      do not record the run in the history store\n"
	"  -q, --quiet           no progress line\n"
	"  -v, --verbose         more detail on stderr\n"
	"  -h, --help            this text\n"
	"\n"
	"Ctrl-C stops after cleaning up: what was measured is written with status "
	"\"incomplete\".\n";

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int cmd_run(int argc, char **argv, int validate_only)
{
	static const struct option lo[] = {
		{"output", required_argument, NULL, 'o'},
		{"targets", required_argument, NULL, 't'},
		{"reps", required_argument, NULL, 'r'},
		{"warmup", required_argument, NULL, 'w'},
		{"duration", required_argument, NULL, 'd'},
		{"build", required_argument, NULL, 'b'},
		{"scratch-dir", required_argument, NULL, 's'},
		{"no-report", no_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'f'},
		{"label", required_argument, NULL, 'L'},
		{"db", required_argument, NULL, 'D'},
		{"no-history", no_argument, NULL, 'N'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hb_overrides ov = {NULL, 0, -1, 0};
	struct hb_run_cfg cfg = {.scratch_base = "/var/tmp"};
	char profile_path[HB_DATA_PATH_MAX], build_dir[HB_DATA_PATH_MAX];
	struct hb_profile p;
	struct hb_err e = {0};
	char outbuf[1024];
	int c, i, rc;
	long l;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:qvh", lo, NULL)) != -1) {
		switch (c) {
		case 'o': cfg.out_dir = optarg; break;
		case 't': ov.targets = optarg; break;
		case 'r':
			if (hb_parse_long(optarg, 1, 1000, &l)) {
				fprintf(stderr,
					"hvbench: --reps: \"%s\" is not a whole number in "
					"1..1000\n",
					optarg);
				return HB_EXIT_USAGE;
			}
			ov.reps = (int)l;
			break;
		case 'w':
			if (hb_parse_long(optarg, 0, 100, &l)) {
				fprintf(stderr,
					"hvbench: --warmup: \"%s\" is not a whole number in "
					"0..100\n",
					optarg);
				return HB_EXIT_USAGE;
			}
			ov.warmup = (int)l;
			break;
		case 'd':
			if (hb_parse_double(optarg, 0.1, 3600, &ov.duration)) {
				fprintf(stderr,
					"hvbench: --duration: \"%s\" is not a number of seconds in "
					"0.1..3600\n",
					optarg);
				return HB_EXIT_USAGE;
			}
			break;
		case 'b': cfg.build_dir = optarg; break;
		case 's': cfg.scratch_base = optarg; break;
		case 'n': cfg.no_report = 1; break;
		case 'f': cfg.force = 1; break;
		case 'L':
			if (!cfg.labels)
				cfg.labels = json_object();
			if (hb_label_add(cfg.labels, optarg, &e)) {
				fprintf(stderr, "hvbench: --label: %s\n", e.msg);
				json_decref(cfg.labels);
				return HB_EXIT_USAGE;
			}
			break;
		case 'D': cfg.db = optarg; break;
		case 'N': cfg.no_history = 1; break;
		case 'q': cfg.quiet = 1; break;
		case 'v': cfg.verbose = 1; break;
		case 'h':
			if (validate_only)
				fputs("usage: hvbench validate PROFILE [--targets A,B] [--reps N] "
				      "[--warmup N]\n"
				      "                        [--duration S]\n\n"
				      "Checks a profile (and the overrides) without running "
				      "anything and prints\n"
				      "the plan. Exit 0 when valid, 2 with the problem and its "
				      "place otherwise.\n",
				      stdout);
			else
				fputs(usage_run, stdout);
			return 0;
		default: fputs(usage_run, stderr); return HB_EXIT_USAGE;
		}
	}
	if ((cfg.out_dir && !*cfg.out_dir) || !*cfg.scratch_base ||
	    (cfg.build_dir && !*cfg.build_dir)) {
		fprintf(stderr, "hvbench: -o, --scratch-dir and --build need a non-empty path\n");
		return HB_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "hvbench: %s needs exactly one PROFILE\n%s", argv[0], usage_run);
		return HB_EXIT_USAGE;
	}
	/* installed, the profiles and the guest image live outside any source tree */
	if (hb_data_path(HB_DATA_PROFILE, argv[optind], profile_path, sizeof(profile_path), &e)) {
		fprintf(stderr, "hvbench: %s\n", e.msg);
		return HB_EXIT_USAGE;
	}
	if (!cfg.build_dir) {
		struct hb_err ge = {0};

		hb_data_path(HB_DATA_GUEST, NULL, build_dir, sizeof(build_dir), &ge);
		cfg.build_dir = build_dir[0] ? build_dir : "build";
	}
	if (hb_profile_load(profile_path, &p, &e) || hb_profile_apply(&p, &ov, &e)) {
		fprintf(stderr, "hvbench: %s\n", e.msg);
		if (p.json)
			hb_profile_free(&p);
		return HB_EXIT_USAGE;
	}
	{
		struct hb_check_env ce = {cfg.build_dir, cfg.scratch_base, cfg.out_dir};
		struct hb_diag d;
		hb_diag_init(&d);
		hb_profile_check(&p, &ce, &d);
		hb_diag_print(&d, validate_only ? "hvbench validate" : "hvbench run", stderr);
		if (d.nerr) {
			fprintf(stderr, "hvbench %s: %s: %d problem%s; nothing was started\n",
				validate_only ? "validate" : "run", argv[optind], d.nerr,
				d.nerr == 1 ? "" : "s");
			hb_profile_free(&p);
			return HB_EXIT_USAGE;
		}
	}
	if (validate_only) {
		char real[HB_MAX_TARGETS][4096];
		for (i = 0; i < p.ntargets; i++) {
			const char *dt = json_string_value(
				json_object_get(p.targets[i].opts, "disk_target"));
			real[i][0] = '\0';
			/* the check `run` makes, on the file fio would open */
			if (dt && *dt &&
			    hb_disk_target_resolve(dt,
						   json_is_true(json_object_get(p.targets[i].opts,
										"allow_existing")),
						   real[i], sizeof(real[i]), &e)) {
				fprintf(stderr, "hvbench: %s: target %s: %s\n", argv[optind],
					p.targets[i].name, e.msg);
				hb_profile_free(&p);
				return HB_EXIT_USAGE;
			}
		}
		char est[32];
		printf("%s: valid profile \"%s\": %d target%s, %d workload%s, %d repetition%s + %d "
		       "warm-up\n",
		       argv[optind], p.name, p.ntargets, p.ntargets == 1 ? "" : "s", p.nentries,
		       p.nentries == 1 ? "" : "s", p.reps, p.reps == 1 ? "" : "s", p.warmup);
		for (i = 0; i < p.ntargets; i++) {
			printf("  target %-16s %s\n", p.targets[i].name, p.targets[i].ops->kind);
			if (real[i][0])
				printf("    disk_target %s (fio opens %s)\n",
				       json_string_value(
					       json_object_get(p.targets[i].opts, "disk_target")),
				       real[i]);
		}
		for (i = 0; i < p.nentries; i++)
			printf("  workload %-24s %-5s %gs + %gs ramp (timeout %gs)\n",
			       p.entries[i].name, p.entries[i].wl->name, p.entries[i].t.duration,
			       p.entries[i].t.ramp, p.entries[i].t.timeout);
		hb_fmt_duration(hb_profile_estimate(&p), est, sizeof(est));
		printf("estimated wall time: about %s\n", est);
		hb_profile_free(&p);
		return 0;
	}
	if (!cfg.out_dir) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(outbuf, sizeof(outbuf), "results/%s-%s", ts, p.name);
		cfg.out_dir = outbuf;
	}
	install_signals();
	rc = hb_run_profile(&p, &cfg, &g_stop);
	hb_profile_free(&p);
	json_decref(cfg.labels);
	return rc;
}

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

static int cmd_list(int argc, char **argv)
{
	size_t i;
	char why[256];
	glob_t g;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		puts("usage: hvbench list\n\nShows workloads with their parameters, target kinds "
		     "with "
		     "their options, and the profiles in configs/.");
		return 0;
	}
	puts("workloads:");
	for (i = 0; hb_workloads[i]; i++) {
		const struct hb_workload *w = hb_workloads[i];
		why[0] = '\0';
		printf("  %-6s %s%s%s%s\n", w->name, w->help,
		       w->supported && w->supported(why, sizeof(why)) ? " [unavailable here: " : "",
		       why[0] ? why : "", why[0] ? "]" : "");
		print_params(w->params, w->nparams);
	}
	puts("target kinds:");
	for (i = 0; hb_backends[i]; i++) {
		const struct hb_backend_ops *b = hb_backends[i];
		why[0] = '\0';
		printf("  %-6s %s%s%s%s\n", b->kind, b->help,
		       b->supported && b->supported(why, sizeof(why)) ? " [unavailable here: " : "",
		       why[0] ? why : "", why[0] ? "]" : "");
		print_params(b->opts, b->nopts);
	}
	puts("profiles (run them by name or path):");
	{
		char dirs[HB_DATA_MAX_DIRS][HB_DATA_PATH_MAX], pat[HB_DATA_PATH_MAX + 8];
		int nd = hb_data_dirs(HB_DATA_PROFILE, dirs, HB_DATA_MAX_DIRS), found = 0;

		for (int d = 0; d < nd; d++) {
			if (hb_snprintf(pat, sizeof(pat), "%s/*.json", dirs[d]) ||
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

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		fputs(usage_main, stderr);
		return HB_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("hvbench %s (results schema " HB_RESULTS_SCHEMA ", agent protocol %d)\n",
		       HB_VERSION, 1);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1, 0);
	if (!strcmp(cmd, "validate"))
		return cmd_run(argc - 1, argv + 1, 1);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return hb_cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "compare"))
		return hb_cmd_compare(argc - 1, argv + 1);
	if (!strcmp(cmd, "probes"))
		return hb_cmd_probes(argc - 1, argv + 1);
	if (!strcmp(cmd, "history"))
		return hb_cmd_history(argc - 1, argv + 1);
	if (!strcmp(cmd, "export"))
		return hb_cmd_export(argc - 1, argv + 1);
	if (!strcmp(cmd, "calibrate")) {
		install_signals();
		return hb_cmd_calibrate(argc - 1, argv + 1, &g_stop);
	}
	fprintf(stderr, "hvbench: unknown command \"%s\"\n%s", cmd, usage_main);
	return HB_EXIT_USAGE;
}
