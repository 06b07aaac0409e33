/*
 * test_capacity.c — the capacity planner's arithmetic (reports/capacity_model.c) on fixed
 * numbers: Jain's index, the knee of a sweep (a dip ends it, a recovery later does not count),
 * the overhead fit (exact line, flat overhead as measured here: 118/114/115 MiB for
 * 0.5/2/4 GiB), the topology count, the planning options table and the projection for this
 * host and a described 64-core / 512 GiB host with a vCPU ratio of 4, each with its binding
 * constraint. Then the report on tests/fixtures/results-density.json (a sweep of k = 1, 2, 4
 * whose disk workload falls below the knee at k = 2): the validator, the capacity section's
 * exact rows with the profile's planning block and with `hvbench report` flags over it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capacity_model.h"
#include "profile.h"
#include "report.h"

static void test_jain(void **state)
{
	const double eq[] = {5, 5, 5, 5}, one[] = {8, 0, 0, 0}, mix[] = {1, 2, 3};
	const double bad[] = {1, -1};

	(void)state;
	assert_float_equal(hb_cap_jain(eq, 4), 1.0, 1e-12);
	assert_float_equal(hb_cap_jain(one, 4), 0.25, 1e-12);
	/* (1+2+3)^2 / (3 * (1+4+9)) = 36/42 */
	assert_float_equal(hb_cap_jain(mix, 3), 36.0 / 42.0, 1e-12);
	assert_true(isnan(hb_cap_jain(bad, 2)));
	assert_true(isnan(hb_cap_jain(eq, 0)));
}

static void test_rel(void **state)
{
	(void)state;
	assert_float_equal(hb_cap_rel(90, 100, 1), 0.9, 1e-12);
	/* latency: 125 us against 100 us alone is 80% as good */
	assert_float_equal(hb_cap_rel(125, 100, 0), 0.8, 1e-12);
	assert_true(isnan(hb_cap_rel(0, 100, 1)));
}

static void test_knee(void **state)
{
	const int k[] = {1, 2, 4, 8};
	const double held[] = {1.0, 0.97, 0.93, 0.91};
	const double dip[] = {1.0, 0.95, 0.62, 0.95};
	const double partial[] = {1.0, 0.96, NAN, NAN};
	const double first[] = {1.0, 0.89, 0.95, 0.95};
	struct hb_cap_knee kn;

	(void)state;
	hb_cap_knee(k, held, 4, 0.9, &kn);
	assert_int_equal(kn.knee_k, 8);
	assert_int_equal(kn.limited, 0);
	assert_int_equal(kn.first_below_k, 0);
	hb_cap_knee(k, dip, 4, 0.9, &kn);
	assert_int_equal(kn.knee_k, 2);
	assert_int_equal(kn.limited, 1);
	assert_int_equal(kn.first_below_k, 4);
	/* the sweep stopped after k = 2 (memory headroom): a lower bound only */
	hb_cap_knee(k, partial, 4, 0.9, &kn);
	assert_int_equal(kn.knee_k, 2);
	assert_int_equal(kn.limited, 0);
	hb_cap_knee(k, first, 4, 0.9, &kn);
	assert_int_equal(kn.knee_k, 1);
	assert_int_equal(kn.first_below_k, 2);
	/* exactly at the threshold holds */
	hb_cap_knee(k, (const double[]){1.0, 0.9, 0.8999, 1}, 4, 0.9, &kn);
	assert_int_equal(kn.knee_k, 2);
}

static void test_fit_line(void **state)
{
	/* 100 MiB + 8 MiB/GiB, exactly */
	const double g[] = {0.5, 2, 4}, o[] = {104, 116, 132};
	struct hb_cap_ofit f;

	(void)state;
	assert_int_equal(hb_cap_overhead_fit(g, o, 3, &f), 0);
	assert_float_equal(f.fixed_mib, 100.0, 1e-9);
	assert_float_equal(f.per_gib_mib, 8.0, 1e-9);
	assert_float_equal(f.r2, 1.0, 1e-12);
	assert_float_equal(f.rmse_mib, 0.0, 1e-9);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.flat, 0);
}

static void test_fit_flat(void **state)
{
	/* the TCG figures this issue started from: 118/114/115 MiB for 0.5/2/4 GiB */
	const double g[] = {0.5, 2, 4}, o[] = {118, 114, 115};
	struct hb_cap_ofit f;
	double mx = 6.5 / 3, my = 347.0 / 3, sxx, sxy;

	(void)state;
	sxx = (0.5 - mx) * (0.5 - mx) + (2 - mx) * (2 - mx) + (4 - mx) * (4 - mx);
	sxy = (0.5 - mx) * (118 - my) + (2 - mx) * (114 - my) + (4 - mx) * (115 - my);
	assert_int_equal(hb_cap_overhead_fit(g, o, 3, &f), 0);
	assert_float_equal(f.per_gib_mib, sxy / sxx, 1e-9);
	assert_float_equal(f.fixed_mib, my - sxy / sxx * mx, 1e-9);
	assert_true(f.per_gib_mib < 0 && f.per_gib_mib > -1);
	assert_int_equal(f.flat, 1);
	assert_true(f.max_resid_mib > 1.5 && f.max_resid_mib < 2.5);
	/* all equal: flat and exact, R^2 undefined */
	assert_int_equal(hb_cap_overhead_fit(g, (const double[]){115, 115, 115}, 3, &f), 0);
	assert_float_equal(f.fixed_mib, 115, 1e-9);
	assert_float_equal(f.per_gib_mib, 0, 1e-12);
	assert_true(isnan(f.r2));
	assert_int_equal(f.flat, 1);
	/* one size only: no fit */
	assert_int_equal(hb_cap_overhead_fit((const double[]){1, 1}, o, 2, &f), HB_EINVAL);
	assert_int_equal(hb_cap_overhead_fit(g, o, 1, &f), HB_EINVAL);
}

static void test_topo(void **state)
{
	/* 2 packages x 2 cores x 2 threads */
	const int pkg[] = {0, 0, 0, 0, 1, 1, 1, 1}, core[] = {0, 1, 0, 1, 0, 1, 0, 1};
	struct hb_cap_topo t;

	(void)state;
	hb_cap_topo_count(pkg, core, 8, &t);
	assert_int_equal(t.threads, 8);
	assert_int_equal(t.cores, 4);
	assert_int_equal(t.packages, 2);
	hb_cap_topo_count((const int[]){0, 0}, (const int[]){0, 1}, 2, &t);
	assert_int_equal(t.cores, 2);
	assert_int_equal(t.packages, 1);
}

static void test_plan(void **state)
{
	struct hb_cap_plan p;
	struct hb_err e = {0};
	json_t *o = NULL;

	(void)state;
	hb_cap_plan_init(&p);
	assert_int_equal(hb_cap_plan_flag(&o, "host-cores", "64", &e), 0);
	assert_int_equal(hb_cap_plan_flag(&o, "host-memory", "512G", &e), 0);
	assert_int_equal(hb_cap_plan_flag(&o, "vcpu-ratio", "4", &e), 0);
	assert_int_equal(hb_cap_plan_flag(&o, "reserve", "8G", &e), 0);
	assert_int_equal(hb_cap_plan_flag(&o, "output", "x", &e), 1); /* not ours */
	assert_int_equal(hb_cap_plan_parse(o, "report", &p, &e), 0);
	assert_int_equal(p.described, 1);
	assert_float_equal(p.host_cores, 64, 0);
	assert_float_equal(p.host_mem_mib, 512 * 1024, 0);
	assert_float_equal(p.reserve_mib, 8192, 0);
	assert_float_equal(p.vcpu_ratio, 4, 0);
	assert_int_equal(p.vcpu_set, 1);
	assert_float_equal(p.mem_overcommit, 1, 0);
	assert_int_equal(p.mem_set, 0);
	assert_int_equal(p.per_thread, 1);
	json_decref(o);

	/* bad input names its cause */
	hb_cap_plan_init(&p);
	o = json_pack("{s:i}", "host_cores", 64);
	assert_int_equal(hb_cap_plan_parse(o, "profile: planning", &p, &e), HB_EINVAL);
	assert_string_equal(e.msg, "profile: planning: a described host needs both host_cores "
				   "and host_memory");
	json_decref(o);
	hb_err_clear(&e);
	o = json_pack("{s:f}", "vcpu_ration", 4.0);
	assert_int_equal(hb_cap_plan_parse(o, "planning", &p, &e), HB_EINVAL);
	assert_non_null(
		strstr(e.msg, "unknown key \"vcpu_ration\" (did you mean \"vcpu_ratio\"?)"));
	json_decref(o);
	hb_err_clear(&e);
	o = NULL;
	assert_int_equal(hb_cap_plan_flag(&o, "vcpu-ratio", "four", &e), HB_EINVAL);
	assert_string_equal(e.msg, "--vcpu-ratio: \"four\" is not a number");
	json_decref(o);
}

/* This host (2 threads = 2 cores, 23.5 GiB, 1.2 GiB footprint), small TCG VMs, knee at 2. */
static void test_project_here(void **state)
{
	struct hb_cap_host h = {.cores = 2, .threads = 2, .mem_mib = 24105, .reserve_mib = 1246};
	struct hb_cap_plan p;
	struct hb_cap_shape s = {.vcpus = 1, .guest_mib = 384, .overhead_mib = 116};
	struct hb_cap_fit f;

	(void)state;
	hb_cap_plan_init(&p);
	assert_int_equal(hb_cap_project(&h, &p, &s, &f), 0);
	/* (24105 - 1246) / 500 = 45.7 -> 45; 2 * 1 / 1 = 2 */
	assert_float_equal(f.mem_per_vm_mib, 500, 0);
	assert_float_equal(f.by_mem, 45, 0);
	assert_float_equal(f.by_vcpu, 2, 0);
	assert_true(isnan(f.by_knee));
	assert_float_equal(f.fit, 2, 0);
	assert_int_equal(f.binds, HB_CAP_BY_VCPU);
	assert_string_equal(hb_cap_bound_name(f.binds), "vCPU ratio");
	/* a vCPU ratio of 8 and a knee at k = 2 (k = 4 fell below) on 2 threads */
	p.vcpu_ratio = 8;
	s.knee.knee_k = 2;
	s.knee.limited = 1;
	s.knee_units = 2;
	assert_int_equal(hb_cap_project(&h, &p, &s, &f), 0);
	assert_float_equal(f.by_vcpu, 16, 0);
	assert_float_equal(f.by_knee, 2, 0);
	assert_float_equal(f.fit, 2, 0);
	assert_int_equal(f.binds, HB_CAP_BY_KNEE);
	/* a knee that never fell is not a limit */
	s.knee.limited = 0;
	assert_int_equal(hb_cap_project(&h, &p, &s, &f), 0);
	assert_true(isnan(f.by_knee));
	assert_float_equal(f.fit, 16, 0);
	/* missing figures are refused */
	s.vcpus = 0;
	assert_int_equal(hb_cap_project(&h, &p, &s, &f), HB_EINVAL);
}

/* The described host of the issue: 64 cores / 512 GiB, vCPU ratio 4, reserve 8 GiB. */
static void test_project_described(void **state)
{
	struct hb_cap_plan p;
	struct hb_cap_host h;
	struct hb_cap_shape small = {.vcpus = 1, .guest_mib = 384, .overhead_mib = 116};
	struct hb_cap_shape large = {.vcpus = 4, .guest_mib = 4096, .overhead_mib = 115};
	struct hb_cap_fit f;

	(void)state;
	hb_cap_plan_init(&p);
	p.vcpu_ratio = 4;
	h = (struct hb_cap_host){.cores = 64, .threads = 0, .mem_mib = 524288, .reserve_mib = 8192};
	/* small: memory (524288 - 8192) / 500 = 1032.19 -> 1032; vCPU 64 * 4 / 1 = 256 */
	assert_int_equal(hb_cap_project(&h, &p, &small, &f), 0);
	assert_float_equal(f.units, 64, 0);
	assert_float_equal(f.by_mem, 1032, 0);
	assert_float_equal(f.by_vcpu, 256, 0);
	assert_float_equal(f.fit, 256, 0);
	assert_int_equal(f.binds, HB_CAP_BY_VCPU);
	/* large: memory 516096 / 4211 = 122.56 -> 122; vCPU 256 / 4 = 64 */
	assert_int_equal(hb_cap_project(&h, &p, &large, &f), 0);
	assert_float_equal(f.by_mem, 122, 0);
	assert_float_equal(f.by_vcpu, 64, 0);
	assert_int_equal(f.binds, HB_CAP_BY_VCPU);
	/* with 128 SMT threads counted, large is bound by memory: 128 * 4 / 4 = 128 > 122 */
	h.threads = 128;
	assert_int_equal(hb_cap_project(&h, &p, &large, &f), 0);
	assert_float_equal(f.by_vcpu, 128, 0);
	assert_float_equal(f.fit, 122, 0);
	assert_int_equal(f.binds, HB_CAP_BY_MEMORY);
	/* counting physical cores instead */
	p.per_thread = 0;
	assert_int_equal(hb_cap_project(&h, &p, &large, &f), 0);
	assert_float_equal(f.units, 64, 0);
	assert_float_equal(f.by_vcpu, 64, 0);
	/* memory overcommit 1.5: 516096 / (4096/1.5 + 115) = 181.35 -> 181 */
	p.per_thread = 1;
	p.mem_overcommit = 1.5;
	assert_int_equal(hb_cap_project(&h, &p, &large, &f), 0);
	assert_float_equal(f.by_mem, 181, 0);
	assert_int_equal(f.binds, HB_CAP_BY_VCPU);
	/* the knee measured here (k = 2 on 2 threads) scaled to 128 threads: 128 */
	small.knee.knee_k = 2;
	small.knee.limited = 1;
	small.knee_units = 2;
	p.mem_overcommit = 1;
	assert_int_equal(hb_cap_project(&h, &p, &small, &f), 0);
	assert_float_equal(f.by_knee, 128, 0);
	assert_float_equal(f.fit, 128, 0);
	assert_int_equal(f.binds, HB_CAP_BY_KNEE);
}

static json_t *fixture(void)
{
	char path[512], *dir = strdup(__FILE__), *slash = strrchr(dir, '/');
	struct hb_err e = {0};
	json_t *j = NULL;

	if (slash)
		*slash = '\0';
	hb_snprintf(path, sizeof(path), "%s/fixtures/results-density.json", slash ? dir : ".");
	free(dir);
	if (hb_results_load(path, &j, &e))
		fail_msg("%s", e.msg);
	return j;
}

static void test_results_checked(void **state)
{
	json_t *j = fixture(), *w;
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(hb_results_validate(j, "r.json", &e), 0);
	/* a step of k = 2 with one figure */
	w = json_array_get(
		json_object_get(
			json_array_get(json_object_get(json_object_get(j, "density"), "steps"), 1),
			"workloads"),
		0);
	json_array_remove(json_object_get(w, "per_vm"), 1);
	assert_int_equal(hb_results_validate(j, "r.json", &e), HB_EINVAL);
	assert_string_equal(e.msg,
			    "r.json: density.steps[1].workloads[0].per_vm: 1 values, expected 2");
	json_decref(j);
	j = fixture();
	hb_err_clear(&e);
	json_object_set_new(json_object_get(j, "host_footprint"), "in_use_mib", json_string("x"));
	assert_int_equal(hb_results_validate(j, "r.json", &e), HB_EINVAL);
	assert_string_equal(e.msg, "r.json: host_footprint.in_use_mib: not a number");
	json_decref(j);
}

/* report.md of the fixture rendered with opts into a fresh directory (caller frees). */
static char *render(const json_t *planning)
{
	char dir[] = "/tmp/hb-test-capacity.XXXXXX", path[600], *md = NULL;
	struct hb_report_opts o;
	struct hb_err e = {0};
	json_t *j = fixture();

	hb_report_opts_init(&o);
	o.no_plots = 1;
	o.planning = planning;
	assert_non_null(mkdtemp(dir));
	if (hb_report_render_opts(&j, 1, dir, &o, &e))
		fail_msg("%s", e.msg);
	snprintf(path, sizeof(path), "%s/report.md", dir);
	assert_int_equal(hb_read_file(path, 1 << 22, &md, NULL, &e), 0);
	json_decref(j);
	hb_rmtree(dir);
	return md;
}

static void test_report_section(void **state)
{
	char *md = render(NULL), *cap, *runs;

	(void)state;
	cap = strstr(md, "\n## Capacity\n");
	runs = strstr(md, "\n## Runs");
	assert_non_null(cap);
	assert_true(strstr(md, "\n## Results\n") < cap && (!runs || cap < runs));
	/* this host: (7961.77 - 1000 footprint) / 723.9 = 9.6; 2 threads x 4 / 1 = 8; knee 1 */
	assert_non_null(strstr(md, "| this host: 2 threads, 8 GiB | vm-minimal (TCG) | 1 | 723.9 "
				   "MiB | 9 | 8 | 1 (disk-randread) | 1 | measured knee |\n"));
	/* described: (524288 - 8192) / 723.9 = 712.9; 64 x 4 = 256; knee 1 x 64 / 2 = 32 */
	assert_non_null(strstr(md,
			       "| described: 64 cores, 512 GiB | vm-minimal (TCG) | 1 | 723.9 "
			       "MiB | 712 | 256 | 32 (disk-randread) | 32 | measured knee |\n"));
	/* not swept: (516096 / 1253.9) = 411.6; 256 / 2 = 128 */
	assert_non_null(strstr(md, "| described: 64 cores, 512 GiB | vm-usernet (TCG) | 2 | 1254 "
				   "MiB | 411 | 128 | not swept | 128 | vCPU ratio |\n"));
	/* the sweep: knee marked, worst VM, Jain's index (95 + 93)^2 / (2 (95^2 + 93^2)) */
	assert_non_null(strstr(md, "| 2 (knee) | 94 ops/s | 93 .. 95 | 93.0% | 188 ops/s | 0.9999 "
				   "| 100 % | 0 % |\n"));
	assert_non_null(strstr(md, "Knee: k = 2 (at k = 4 the slowest VM fell below 90.0% of the "
				   "lone VM)."));
	assert_non_null(strstr(md, "Knee: k = 1 (at k = 2 the slowest VM fell below 90.0% of the "
				   "lone VM)."));
	assert_non_null(strstr(md, "| 4 | 396 MiB | 210 MiB | 1584 MiB | 5300 MiB | 0 (off) |\n"));
	/* caveats; a process name with markup is escaped */
	assert_non_null(strstr(md, "- Emulation: the VMs ran under TCG"));
	assert_non_null(strstr(md, "memory overcommit 1 (default: no memory overcommit assumed)"));
	assert_non_null(strstr(md, "a&lt;b\\|c 3 MiB"));
	free(md);
}

static void test_report_flags(void **state)
{
	json_t *o = NULL;
	struct hb_err e = {0};
	char *md;

	(void)state;
	assert_int_equal(hb_cap_plan_flag(&o, "host-cores", "8", &e), 0);
	assert_int_equal(hb_cap_plan_flag(&o, "host-memory", "16G", &e), 0);
	assert_int_equal(hb_cap_plan_flag(&o, "reserve", "2G", &e), 0);
	md = render(o);
	/* (16384 - 2048) / 723.9 = 19.8; 8 x 4 (the profile's ratio) = 32; knee 1 x 8 / 2 = 4 */
	assert_non_null(strstr(md, "| described: 8 cores, 16 GiB | vm-minimal (TCG) | 1 | 723.9 "
				   "MiB | 19 | 32 | 4 (disk-randread) | 4 | measured knee |\n"));
	assert_null(strstr(md, "described: 64 cores"));
	free(md);
	json_decref(o);
}

/* The profile's density section: every problem named with its place. */
static void test_density_profile(void **state)
{
	static const char *head =
		"{\"name\": \"p\", \"targets\": [{\"name\": \"native\", \"kind\": \"native\"}, "
		"{\"name\": \"vm\", \"kind\": \"qemu\", \"options\": {\"memory\": 384}}], "
		"\"workloads\": [{\"name\": \"cpu\", \"workload\": \"cpu\"}, {\"name\": "
		"\"disk-rr\", "
		"\"workload\": \"disk\"}], \"density\": ";
	static const struct {
		const char *density, *msg;
	} bad[] = {
		{"{\"target\": \"vm\", \"counts\": [2, 4]}",
		 "p.json: density: counts must start with 1 (the lone VM every step is compared "
		 "with)"},
		{"{\"target\": \"vm\", \"counts\": [1, 4, 2]}",
		 "p.json: density: counts must increase (counts[2] = 2)"},
		{"{\"target\": \"vn\", \"counts\": [1]}",
		 "p.json: density: \"target\": the profile has no target \"vn\" (did you mean "
		 "\"vm\"?)"},
		{"{\"target\": \"native\", \"counts\": [1]}",
		 "p.json: density: \"target\": native is a native target; a sweep needs VMs whose "
		 "VMM the host sees (kind qemu)"},
		{"{\"target\": \"vm\", \"counts\": [1], \"workloads\": [\"disk-r\"]}",
		 "p.json: density: workloads[0]: the profile has no workload entry \"disk-r\" (did "
		 "you mean \"disk-rr\"?)"},
		{"{\"target\": \"vm\", \"counts\": [1], \"knee\": 1.5}",
		 "p.json: density: \"knee\" is 1.5, outside 0.01..1"},
		{"{\"target\": \"vm\"}", "p.json: density: \"counts\" is required"},
	};
	struct hb_profile p;
	struct hb_err e;
	char text[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hb_err_clear(&e);
		snprintf(text, sizeof(text), "%s%s}", head, bad[i].density);
		assert_int_equal(hb_profile_parse(text, "p.json", &p, &e), HB_EINVAL);
		assert_string_equal(e.msg, bad[i].msg);
	}
	hb_err_clear(&e);
	snprintf(text, sizeof(text), "%s%s}", head,
		 "{\"target\": \"vm\", \"counts\": [1, 2, 4], \"workloads\": [\"disk-rr\"], "
		 "\"duration\": 3}");
	assert_int_equal(hb_profile_parse(text, "p.json", &p, &e), 0);
	assert_int_equal(p.density.enabled, 1);
	assert_int_equal(p.density.ncounts, 3);
	assert_int_equal(p.density.counts[2], 4);
	assert_int_equal(p.density.nentries, 1);
	assert_int_equal(p.density.entries[0], 1);
	assert_float_equal(p.density.knee, 0.9, 1e-12);
	assert_float_equal(p.density.duration, 3, 0);
	assert_string_equal(p.density.target.name, "vm");
	/* 4 VM starts + 3 steps x (3 s + 1 s) */
	assert_float_equal(hb_density_estimate(&p), 4 * HB_VM_START_ESTIMATE_S + 12, 1e-9);
	hb_profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jain),
		cmocka_unit_test(test_rel),
		cmocka_unit_test(test_knee),
		cmocka_unit_test(test_fit_line),
		cmocka_unit_test(test_fit_flat),
		cmocka_unit_test(test_topo),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_project_here),
		cmocka_unit_test(test_project_described),
		cmocka_unit_test(test_results_checked),
		cmocka_unit_test(test_report_section),
		cmocka_unit_test(test_report_flags),
		cmocka_unit_test(test_density_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
