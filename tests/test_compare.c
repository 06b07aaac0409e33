/*
 * test_compare.c — the regression gate (`hvbench compare`) on hand-made hvbench/result/2
 * fixtures (tests/fixtures/gate/NAME.json, written by tests/fixtures/gate/make.py: native + a VM
 * booted 3 times, 2 repetitions per boot). Each test asserts the exact outcome (exit status,
 * verdict line, which row is named first): identical code passes; ties on a quantized metric,
 * half the vCPUs, a slower hypervisor under a faster host, a 20% boot-time change fail; a host
 * slower for everyone passes (ratio gate); a failed or empty or disjoint current run fails;
 * mismatches are listed (--strict fails); multiplicity (one change among 7 or 47 tests);
 * boots as units; several baselines; n too small; JUnit, Markdown, JSON and the A/A self-test;
 * ratios paired with native by repetition; the run-to-run spread moderated across tests; native
 * rows of delta metrics as references; A/B in one run (--ab: two targets of one run, paired by
 * boot: a +20% boot time under a drift that hides it unpaired, ties, n too small, missing, bad
 * target names).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hb.h"
#include "history.h"
#include "report.h"

static char fixdir[256];
/* what the host agent hands in (NULL: compare on its own, as most tests run it) */
static const struct hb_baseline_source *use_src;

static void find_fixtures(void)
{
	const char *dirs[] = {"tests/fixtures/gate", "../tests/fixtures/gate",
			      "../../tests/fixtures/gate"};

	for (size_t i = 0; i < HB_ARRAY_SIZE(dirs); i++) {
		char p[300];

		snprintf(p, sizeof(p), "%s/base.json", dirs[i]);
		if (access(p, R_OK) == 0) {
			hb_strlcpy(fixdir, dirs[i], sizeof(fixdir));
			return;
		}
	}
	fixdir[0] = '\0';
}

struct run {
	int rc;
	char *out, *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/*
 * Runs hvbench compare; arguments ending in ".json" are fixture names (no directory) unless
 * they contain a '/', everything else is passed as is. NULL-terminated.
 */
static struct run compare(const char *first, ...)
{
	static char paths[16][320];
	char *argv[32];
	int argc = 0, np = 0;
	size_t lo = 0, le = 0;
	struct run r = {0};
	FILE *out = open_memstream(&r.out, &lo), *err = open_memstream(&r.err, &le);
	va_list ap;
	const char *a = first;

	argv[argc++] = (char *)"compare";
	va_start(ap, first);
	for (; a && argc < 31; a = va_arg(ap, const char *)) {
		size_t l = strlen(a);

		if (l > 5 && !strcmp(a + l - 5, ".json") && !strchr(a, '/') && np < 16) {
			snprintf(paths[np], sizeof(paths[np]), "%s/%s", fixdir, a);
			argv[argc++] = paths[np++];
		} else {
			argv[argc++] = (char *)a;
		}
	}
	va_end(ap);
	argv[argc] = NULL;
	r.rc = hb_compare_main(argc, argv, out, err, use_src);
	fclose(out);
	fclose(err);
	return r;
}

/* Line n (0-based) of s into buf ("" past the end). */
static const char *line(const char *s, int n, char *buf, size_t len)
{
	const char *p = s;

	for (int i = 0; i < n && p; i++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	buf[0] = '\0';
	if (p) {
		size_t l = strcspn(p, "\n");

		if (l >= len)
			l = len - 1;
		memcpy(buf, p, l);
		buf[l] = '\0';
	}
	return buf;
}

/* Asserts that line n of the output starts with prefix. */
#define assert_line(out, n, prefix)                                                                \
	do {                                                                                       \
		char lb_[2048];                                                                    \
		line((out), (n), lb_, sizeof(lb_));                                                \
		if (strncmp(lb_, (prefix), strlen(prefix)))                                        \
			fail_msg("line %d: \"%s\"\n   expected to start with \"%s\"", (n), lb_,    \
				 (prefix));                                                        \
	} while (0)

static void test_same_code_passes(void **state)
{
	struct run r = compare("base.json", "same.json", NULL);

	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS: no regression (4 gated metrics tested");
	/* the diagnostic moved +60% (like pfm.context_switches did): reported, never failed */
	assert_non_null(strstr(r.out, "changed, not gated: native cpu/proc.cpu_s"));
	assert_non_null(strstr(r.out, "result: PASS\n"));
	assert_string_equal(r.err, "");
	run_free(&r);
	/* --gate all lets diagnostics fail */
	r = compare("base.json", "same.json", "--gate", "all", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1, "REGRESSION: native cpu/proc.cpu_s by absolute");
	run_free(&r);
}

/* Six identical samples per side, -20%: the median-difference permutation test gave 0.284. */
static void test_ties_quantized(void **state)
{
	struct run r = compare("base.json", "clat-worse.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: 1 regression");
	assert_line(r.out, 1,
		    "REGRESSION: vm disk-randread/clat_p99 by ratio: 128 -> 153.6 us: +20.0%");
	assert_non_null(strstr(r.out, "vs native 100.0% -> 83.3% (>100% better): -16.7%"));
	run_free(&r);
}

/* Coarse buckets seen inside the baseline set a resolution: a one-bucket jump is not certain. */
static void test_quantum_floor(void **state)
{
	struct run r = compare("buckets-a.json", "buckets-b.json", NULL);

	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out,
			       "not significant: vm disk-randread/clat_p99: 6021 -> 8028 us: "
			       "+33.3%"));
	run_free(&r);
}

static void test_vcpus_halved(void **state)
{
	struct run r = compare("base.json", "vcpu-half.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: 1 regression");
	assert_line(r.out, 1, "REGRESSION: vm cpu/ops by ratio: 801.6 -> 400.8 ops/s: -50.0%");
	assert_line(r.out, 2, "note: target vm option vcpus: baseline 2, current 1");
	assert_line(r.out, 3, "note: target vm vcpus: baseline 2, current 1");
	run_free(&r);
}

/* base.json with the VM's options extended by extra (a JSON object), written to path. */
static void with_vm_options(const char *extra, const char *path)
{
	char src[320];
	json_t *root, *x, *v;
	size_t i;

	snprintf(src, sizeof(src), "%s/base.json", fixdir);
	root = json_load_file(src, 0, NULL);
	x = json_loads(extra, 0, NULL);
	assert_non_null(root);
	assert_non_null(x);
	json_array_foreach (json_object_get(root, "targets"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")), "vm"))
			json_object_update(json_object_get(v, "options"), x);
	assert_int_equal(json_dump_file(root, path, 0), 0);
	json_decref(x);
	json_decref(root);
}

/*
 * A baseline from an hvbench that predates an option lacks it; the current run records it at
 * its default (results hold validated options, typed): not a difference, even with --strict.
 * The same option at another value is named, with where the baseline's value came from.
 */
static void test_new_option_at_default(void **state)
{
	static const struct hb_baseline_source host = {NULL, NULL, hb_target_option_default};
	char dir[] = "/tmp/hb-cmp-opt.XXXXXX", cur[300];
	struct run r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cur, sizeof(cur), "%s/cur.json", dir);
	use_src = &host;
	with_vm_options("{\"cpu_limit_period\": 100.0, \"accel\": \"auto\", "
			"\"net_reply_delay\": 0.0}",
			cur);
	r = compare("base.json", cur, "--strict", NULL);
	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS");
	assert_null(strstr(r.out, "option"));
	run_free(&r);

	with_vm_options("{\"cpu_limit_period\": 20.0, \"accel\": \"auto\"}", cur);
	r = compare("base.json", cur, NULL);
	assert_int_equal(r.rc, 0);
	assert_line(r.out, 1,
		    "note: target vm option cpu_limit_period (absent from baseline: its "
		    "default): baseline 100.0, current 20.0");
	assert_null(strstr(r.out, "option accel"));
	run_free(&r);
	r = compare("base.json", cur, "--strict", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: baseline and current run differ (--strict)");
	run_free(&r);

	/* compare on its own (no backend tables): an option one side lacks is a difference */
	use_src = NULL;
	r = compare("base.json", cur, NULL);
	assert_non_null(strstr(r.out, "note: target vm option accel: baseline (absent), "
				      "current \"auto\""));
	run_free(&r);
	unlink(cur);
	rmdir(dir);
}

/* The ratio gate: host drift cancels; a slower hypervisor fails even on a faster host. */
static void test_ratio_gate(void **state)
{
	struct run r = compare("base.json", "host-slow.json", NULL);

	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS");
	assert_non_null(strstr(r.out, "host drift: native cpu/ops: 1002 -> 801.6 ops/s: -20.0%"));
	run_free(&r);
	r = compare("base.json", "host-slow.json", "--gate", "absolute", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: 4 regressions");
	run_free(&r);

	r = compare("base.json", "hv-slow.json", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: 1 regression");
	assert_line(r.out, 1, "REGRESSION: vm cpu/ops by ratio: 801.6 -> 769.5 ops/s: -4.0%");
	assert_non_null(strstr(r.out, "vs native 80.0% -> 64.0% (>100% better): -20.0%"));
	run_free(&r);
	/* absolute alone misses it: -4% is within the threshold, native improved */
	r = compare("base.json", "hv-slow.json", "--gate", "absolute", NULL);
	assert_int_equal(r.rc, 0);
	run_free(&r);
	r = compare("base.json", "hv-slow.json", "--gate", "ratio", NULL);
	assert_int_equal(r.rc, 1);
	run_free(&r);
}

static void test_boot_time(void **state)
{
	struct run r = compare("base.json", "boot-slow.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1,
		    "REGRESSION: vm boot/time_to_ready by absolute: 20.03 -> 24.07 s: "
		    "+20.1%");
	run_free(&r);
	/* booted side by side with another VM: said, and a mismatch --strict fails on */
	r = compare("base.json", "boot-parallel.json", NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "note: target vm boot_concurrency: baseline 1, current 2 "
				      "(boots that overlap other VMs' boots take longer: its boot "
				      "times do not compare)"));
	run_free(&r);
	/* one boot per run and one baseline: one unit per side, said and not failed */
	r = compare("oneunit-a.json", "oneunit-b.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "n too small: vm boot/time_to_ready: 20 -> 26 s: not tested: "
				      "one unit per run and one baseline run"));
	run_free(&r);
}

static void test_failed_run(void **state)
{
	struct run r = compare("base.json", "vm-failed.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0,
		    "hvbench compare: FAIL: the current run's status is \"failed\" (1 "
		    "failure)");
	assert_line(r.out, 1, "MISSING: vm cpu/ops: in the baseline, not in the current run");
	assert_non_null(strstr(r.out, "note: target vm has no results in the current run"));
	run_free(&r);
	r = compare("base.json", "vm-failed.json", "--allow-missing", NULL);
	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS");
	run_free(&r);
}

static void test_nothing_to_compare(void **state)
{
	struct run r = compare("base.json", "disjoint.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0,
		    "hvbench compare: FAIL: no metric is in both the baseline and the current run");
	run_free(&r);
	r = compare("base.json", "empty.json", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: no gated metric could be tested");
	run_free(&r);
}

static void test_mismatch(void **state)
{
	struct run r = compare("base.json", "other-host.json", NULL);

	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS");
	assert_line(r.out, 1, "note: host hostname: baseline \"bench-01\", current \"bench-02\"");
	run_free(&r);
	r = compare("base.json", "other-host.json", "--strict", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: baseline and current run differ (--strict)");
	run_free(&r);
}

/* The same change (unadjusted p 0.0011) among 7 tests fails, among 47 (BH) does not. */
static void test_multiplicity(void **state)
{
	struct run r = compare("base.json", "one-change.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1,
		    "REGRESSION: vm cpu/ops by ratio: 801.6 -> 749.9 ops/s: -6.5% (95% "
		    "CI -8.9% .. -4.0%), p 0.0011; vs native 80.0% -> 74.8% (>100% better): "
		    "-6.5% (95% CI -8.6% .. -4.2%), p 0.00073, adjusted 0.0029");
	run_free(&r);
	r = compare("many-base.json", "many-change.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "not significant: vm cpu/ops: 801.6 -> 749.9 ops/s: -6.5% "
				      "(95% CI -8.9% .. -4.0%), p 0.0011; vs native 80.0% -> 74.8% "
				      "(>100% better): -6.5% (95% CI -8.6% .. -4.2%), p 0.00073, "
				      "adjusted 0.032"));
	run_free(&r);
}

/* A boot-level shift of 5.7%: a false alarm with one boot per run, none with three. */
static void test_boots_are_units(void **state)
{
	struct run r = compare("oneboot-a.json", "oneboot-b.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1, "REGRESSION: vm cpu/ops by ratio");
	run_free(&r);
	r = compare("boots-a.json", "boots-b.json", NULL);
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

/* Two baselines 8% apart: a current run at the lower one is within the run-to-run spread. */
static void test_several_baselines(void **state)
{
	struct run r = compare("runs-1.json", "runs-cur.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1, "REGRESSION: vm disk-randread/iops by ratio: 8717 -> 8026 IOPS");
	run_free(&r);
	r = compare("runs-1.json", "runs-2.json", "--", "runs-cur.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS");
	assert_non_null(strstr(r.out,
			       "2 baseline runs (run-to-run spread estimated from them, moderated "
			       "across the tests)"));
	run_free(&r);
	/* options after the current run are options */
	r = compare("runs-1.json", "runs-2.json", "--", "runs-cur.json", "--format", "json", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "\"schema\": \"hvbench/compare/2\""));
	run_free(&r);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	assert_non_null(f);
	assert_non_null(buf);
	(void)fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static void test_junit(void **state)
{
	char dir[] = "/tmp/hb-junit.XXXXXX", path[300];
	struct run r;
	char *x;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	r = compare("base.json", "clat-worse.json", "--junit", path, NULL);
	assert_int_equal(r.rc, 1);
	run_free(&r);
	x = slurp(path);
	/* one testcase per gated row: vm cpu/ops, iops, clat_p99, boot (native rows are the
	 * ratios' reference, diagnostics are not tests) */
	assert_non_null(strstr(x, "tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"0\""));
	assert_int_equal(count(x, "<testcase "), 4);
	assert_non_null(strstr(x, "<failure type=\"regression\" message=\"regression: 128 -&gt; "
				  "153.6 us: +20.0%"));
	assert_null(strstr(x, "proc.cpu_s"));
	free(x);
	r = compare("oneunit-a.json", "oneunit-b.json", "--junit", path, NULL);
	assert_int_equal(r.rc, 0);
	run_free(&r);
	x = slurp(path);
	assert_non_null(strstr(x, "tests=\"4\" failures=\"0\" errors=\"0\" skipped=\"1\""));
	assert_non_null(strstr(x, "name=\"boot/time_to_ready\" time=\"0\">\n    <skipped "
				  "message=\"one unit per run and one baseline run"));
	free(x);
	unlink(path);
	rmdir(dir);
}

static void test_markdown_and_json(void **state)
{
	struct run r = compare("base.json", "vcpu-half.json", "--format", "md", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "## hvbench compare: ❌ FAIL: 1 regression");
	assert_line(r.out, 2, "### Regressions");
	assert_line(r.out, 6,
		    "| **regression** | vm | cpu/ops | 801.6 ops/s | 400.8 ops/s | "
		    "-50.0% (-50.4% .. -49.5%) of the ratio |");
	assert_non_null(strstr(r.out, "<details><summary>"));
	assert_true(strstr(r.out, "### Notes") > strstr(r.out, "### Regressions"));
	run_free(&r);
	r = compare("base.json", "vcpu-half.json", "--format", "json", NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "\"verdict\": \"FAIL: 1 regression\""));
	assert_non_null(strstr(r.out, "\"fail\": true"));
	run_free(&r);
}

static void test_aa_self_test(void **state)
{
	struct run r = compare("--aa", "base.json", NULL);

	assert_int_equal(r.rc, 0);
	assert_line(r.out, 1, "split 1: 0 false alarms in 4 tested gated metrics");
	assert_non_null(strstr(r.out, "A/A: 0 of 8 comparisons would fail the gate; 0 false "
				      "alarms in 32 tests"));
	run_free(&r);
	r = compare("--aa", "base.json", "same.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "A/A: 0 of 1 comparison would fail the gate"));
	run_free(&r);
	/* two runs that differ: the A/A check says the gate would alarm */
	r = compare("--aa", "oneboot-a.json", "oneboot-b.json", NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "A/A: 1 of 1 comparison would fail the gate"));
	run_free(&r);
}

static void test_input_errors(void **state)
{
	struct run r = compare("base.json", "../results-malformed.json", NULL);

	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "results-malformed.json"));
	run_free(&r);
	r = compare("base.json", "does-not-exist.json", NULL);
	assert_int_equal(r.rc, 2);
	run_free(&r);
	r = compare("base.json", "same.json", "--gate", "sideways", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--gate: \"sideways\" is not both, ratio, absolute or all"));
	run_free(&r);
	r = compare("base.json", "same.json", "runs-1.json", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "need BASELINE.json and CURRENT.json (got 3 files)"));
	run_free(&r);
	r = compare("base.json", "--", NULL);
	assert_int_equal(r.rc, 2);
	run_free(&r);
	r = compare("base.json", "same.json", "--alpha", "1.5", NULL);
	assert_int_equal(r.rc, 2);
	run_free(&r);
}

/* A change of x1e30 (a unit mix-up) prints 3 significant digits, not 30-digit numbers. */
static void test_huge_change(void **state)
{
	struct run r = compare("base.json", "huge.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1,
		    "REGRESSION: vm boot/time_to_ready by absolute: 20.03 -> 2.003e+31 s: +1e+32% "
		    "(95% CI +9.72e+31% .. +1.03e+32%), p 1.5e-15, adjusted 5.8e-15");
	assert_non_null(strstr(r.out, "vs native 80.0% -> 8e+31% (>100% better): +1e+32% (95% "
				      "CI +9.91e+31% .. +1.01e+32%)"));
	/* no line carries a run of 10 digits */
	for (const char *p = r.out; *p; p++) {
		size_t n = strspn(p, "0123456789");
		if (n >= 10)
			fail_msg("a %zu-digit number in: %.80s", n, p);
		p += n ? n - 1 : 0;
	}
	run_free(&r);
	r = compare("base.json", "huge.json", "--format", "md", NULL);
	assert_non_null(strstr(r.out,
			       "| **regression** | vm | boot/time_to_ready | 20.03 s | "
			       "2.003e+31 s | +1e+32% (+9.72e+31% .. +1.03e+32%) | 5.8e-15 |"));
	run_free(&r);
}

/*
 * Host load that moves within a run slows native and the VM of the same repetitions alike: the
 * ratio is taken per boot over the same repetitions (paired), so a -15% VM change stands out
 * of a 40% load swing; with a native repetition lost the rows cannot be paired and the unpaired
 * means see only the swing.
 */
static void test_paired_ratio(void **state)
{
	struct run r = compare("swing-base.json", "swing-cur.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: 1 regression");
	assert_line(r.out, 1,
		    "REGRESSION: vm cpu/ops by ratio: 676.1 -> 574.7 ops/s: -15.0% (95% CI -56.6% "
		    ".. +66.5%), p 0.27; vs native 80.0% -> 68.0% (>100% better): -15.0% (95% CI "
		    "-15.8% .. -14.2%), p 4.8e-07, adjusted 1.9e-06");
	run_free(&r);
	r = compare("swing-base.json", "swing-cur.json", "--format", "json", NULL);
	assert_non_null(strstr(r.out, "\"paired\": true"));
	run_free(&r);
	r = compare("swing-base.json", "swing-gap.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "not significant: vm cpu/ops: 676.1 -> 574.7 ops/s: -15.0% "
				      "(95% CI -56.6% .. +66.5%), p 0.27; vs native "
				      "80.0% -> 70.4% (>100% better): -11.9%"));
	run_free(&r);
}

/*
 * Three baselines whose runs differ ~1% (all rows alike), a current run with the VM 20% slower
 * on CPU, absolute gate: each test's own run-to-run spread has 2 df (t quantile far out of
 * reach after BH over 47 tests); moderated across the tests (the prior: all alike, d0 = inf)
 * the -20% fails and the same code passes.
 */
static void test_run_spread_prior(void **state)
{
	struct run r = compare("prior-1.json", "prior-2.json", "prior-3.json", "--",
			       "prior-cur.json", "--gate", "absolute", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: 1 regression");
	assert_line(r.out, 1,
		    "REGRESSION: vm cpu/ops by absolute: 801.6 -> 641.3 ops/s: -20.0% (95% CI "
		    "-21.9% .. -18.1%), p 1.4e-32, adjusted 6.8e-31");
	run_free(&r);
	r = compare("prior-1.json", "prior-2.json", "prior-3.json", "--", "prior-cur.json",
		    "--format", "json", NULL);
	assert_non_null(strstr(r.out, "\"absolute\": {\n      \"d0\": \"inf\""));
	run_free(&r);
	r = compare("prior-1.json", "prior-2.json", "prior-3.json", "--", "prior-same.json",
		    "--gate", "absolute", NULL);
	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS: no regression (47 gated metrics tested");
	run_free(&r);
}

/* A native latency row whose VM row compares as a delta is the VM's reference: host drift. */
static void test_delta_reference(void **state)
{
	struct run r = compare("delta-base.json", "delta-host.json", NULL);

	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "host drift: native disk-randread/clat_p50: 300.6 -> 360.7 "
				      "us: +20.0%"));
	run_free(&r);
	r = compare("delta-base.json", "delta-host.json", "--gate", "absolute", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1,
		    "REGRESSION: native disk-randread/clat_p50 by absolute: 300.6 -> "
		    "360.7 us: +20.0%");
	run_free(&r);
}

/* A --threshold-for key that names nothing compared is refused, not silently ignored. */
static void test_threshold_for_unknown(void **state)
{
	struct run r = compare("base.json", "same.json", "--threshold-for", "nosuch=5%", NULL);

	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "hvbench compare: --threshold-for: \"nosuch\" matches no "
				   "metric of the compared files\n");
	assert_string_equal(r.out, "");
	run_free(&r);
	r = compare("base.json", "same.json", "--threshold-for", "clat_p98=5%", NULL);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "hvbench compare: --threshold-for: \"clat_p98\" matches no "
				   "metric of the compared files (did you mean \"clat_p99\"?)\n");
	run_free(&r);
	r = compare("base.json", "same.json", "--threshold-for", "cpu/opz=5%", NULL);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "hvbench compare: --threshold-for: \"cpu/opz\" matches no "
				   "WORKLOAD/METRIC of the compared files (did you mean "
				   "\"cpu/ops\"?)\n");
	run_free(&r);
	r = compare("base.json", "same.json", "--threshold-for", "vm/cpu/opz=5%", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "\"vm/cpu/opz\" matches no TARGET/WORKLOAD/METRIC of the "
				      "compared files (did you mean \"vm/cpu/ops\"?)"));
	run_free(&r);
	/* every form that names a compared metric is accepted */
	r = compare("base.json", "same.json", "--threshold-for", "iops=5%", "--threshold-for",
		    "disk-randread/clat_p99=10%", "--threshold-for", "vm/cpu/ops=2%", NULL);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	run_free(&r);
}

/*
 * A/B in one run (--ab vm-a vm-b RUN.json): two microvms of one run, 5 boots side by side,
 * both drifting 3.4 -> 2.2 s across the run. Same options: passes, and says it is an A/A run.
 */
static void test_ab_same_options(void **state)
{
	struct run r = compare("--ab", "vm-a", "vm-b", "ab-aa.json", NULL);

	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0,
		    "hvbench compare: PASS: no regression (4 gated metrics tested, 0 "
		    "improved)");
	assert_line(r.out, 1,
		    "note: A/B in one run: target vm-b (qemu) against target vm-a (qemu)");
	assert_line(r.out, 2,
		    "note: vm-a and vm-b have the same options: an A/A run (a regression is a "
		    "false alarm)");
	assert_line(r.out, 3, "baseline: target vm-a of ");
	assert_line(r.out, 4, "current: target vm-b of the same run");
	assert_line(r.out, 5,
		    "gate: A/B in one run (target vm-b against target vm-a of the same "
		    "run), roles headline+detail; paired units: per boot g");
	/* the diagnostic moved +50%: reported, never failed */
	assert_non_null(strstr(r.out, "changed, not gated: vm-b cpu/proc.cpu_s"));
	assert_string_equal(r.err, "");
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-aa.json", "--all", NULL);
	assert_non_null(strstr(r.out, "unchanged: vm-b boot/time_to_ready: 2.767 -> 2.767 s: "
				      "-0.0% (95% CI -0.8% .. +0.8%), p 0.5, adjusted 1\n"));
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-aa.json", "--format", "json", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "\"gate\": \"ab\""));
	assert_non_null(strstr(r.out, "\"baseline_target\": \"vm-a\""));
	assert_non_null(strstr(r.out, "\"decided_by\": \"A/B paired by boot\""));
	/* the cpu rows span the boots too: paired by boot, none by repetition */
	assert_null(strstr(r.out, "\"decided_by\": \"A/B paired by repetition\""));
	run_free(&r);
	/* --gate all lets the diagnostic fail */
	r = compare("--ab", "vm-a", "vm-b", "ab-aa.json", "--gate", "all", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1,
		    "REGRESSION: vm-b cpu/proc.cpu_s by A/B paired by boot: 1.0000 -> "
		    "1.500 s: +50.0%");
	run_free(&r);
}

/*
 * vm-b boots 20% slower. Paired by boot the +20% stands out of the drift (CI +19 .. +21%);
 * the same data without vm-b's boot indices cannot be paired, and Welch's test on the
 * per-boot units sees the drift: not significant (what a comparison across runs faces).
 */
static void test_ab_boot_slower(void **state)
{
	struct run r = compare("--ab", "vm-a", "vm-b", "ab-boot-slow.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: 1 regression");
	assert_line(r.out, 1,
		    "REGRESSION: vm-b boot/time_to_ready by A/B paired by boot: 2.767 -> 3.321 s: "
		    "+20.0% (95% CI +19.0% .. +21.0%), p 1.8e-07, adjusted 7.3e-07");
	assert_line(r.out, 2,
		    "note: A/B in one run: target vm-b (qemu) against target vm-a (qemu)");
	assert_line(r.out, 3,
		    "note: option append: vm-a (absent), vm-b \"slub_debug=FZPU init_on_free=1\"");
	assert_line(r.out, 4, "baseline: target vm-a of ");
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-boot-slow-unpaired.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS");
	assert_non_null(strstr(r.out, "not significant: vm-b boot/time_to_ready: 2.767 -> 3.321 s: "
				      "+20.0% (95% CI -6.7% .. +54.3%), p 0.066, adjusted 0.27 "
				      "(unpaired, Welch: the targets' boots or repetitions do not "
				      "align)\n"));
	run_free(&r);
	/* the other way round it is an improvement (B = vm-a is 17% faster than A = vm-b) */
	r = compare("--ab", "vm-b", "vm-a", "ab-boot-slow.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0,
		    "hvbench compare: PASS: no regression (4 gated metrics tested, 1 "
		    "improved)");
	assert_non_null(
		strstr(r.out, "improved: vm-a boot/time_to_ready: 3.321 -> 2.767 s: -16.7%"));
	run_free(&r);
	/* a threshold above the change: not a regression */
	r = compare("--ab", "vm-a", "vm-b", "ab-boot-slow.json", "--threshold-for",
		    "time_to_ready=25%", NULL);
	assert_int_equal(r.rc, 0);
	run_free(&r);
}

/*
 * The launch order as a block: 6 boots side by side, the VM launched first 8% slower, vm-b 10%
 * slower throughout. With the launch ranks the order is fitted (n - 2 df) and the +10% fails
 * with a tight CI; without them (an older file) the order's +-8% is in the paired differences'
 * spread and the +10% is not significant (adjusted p 0.018).
 */
static void test_ab_launch_order(void **state)
{
	struct run r = compare("--ab", "vm-a", "vm-b", "ab-order.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0, "hvbench compare: FAIL: 1 regression");
	assert_line(r.out, 1,
		    "REGRESSION: vm-b boot/time_to_ready by A/B paired by boot, launch order as a "
		    "block: 3.115 -> 3.426 s: +10.0% (95% CI +9.6% .. +10.4%), p 7.9e-08, "
		    "adjusted 7.9e-08");
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-order.json", "--format", "json", NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "\"df\": 4.0"));
	assert_non_null(strstr(r.out, "\"launch_order\": {\n"));
	assert_non_null(strstr(r.out, "\"a_first\": 3,"));
	assert_non_null(strstr(r.out, "\"b_first\": 3,"));
	/* vm-a launched first: vm-b - vm-a is 1.1 / 1.08 (the mean) against 1.1 * 1.08 */
	assert_non_null(strstr(r.out, "\"effect\": -0.0715977"));
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-order-norank.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0,
		    "hvbench compare: PASS: no regression (1 gated metric tested, 0 "
		    "improved)");
	assert_non_null(strstr(r.out,
			       "not significant: vm-b boot/time_to_ready: 3.115 -> 3.426 "
			       "s: +10.0% (95% CI +1.0% .. +19.8%), p 0.018, adjusted 0.018\n"));
	run_free(&r);
	/* the other way round: the order effect flips sign, the change is an improvement */
	r = compare("--ab", "vm-b", "vm-a", "ab-order.json", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(
		strstr(r.out, "improved: vm-a boot/time_to_ready: 3.426 -> 3.115 s: -9.1%"));
	run_free(&r);
}

/* A quantized metric: identical samples per target; equal differences are exact (p 0 / 1). */
static void test_ab_ties(void **state)
{
	struct run r = compare("--ab", "vm-a", "vm-b", "ab-ties.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1,
		    "REGRESSION: vm-b disk/clat_p99 by A/B paired by boot: 128 -> 153.6 us: "
		    "+20.0% (95% CI +20.0% .. +20.0%), p 0.0e+00, adjusted 0.0e+00");
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-aa.json", "--all", NULL);
	assert_non_null(strstr(r.out, "unchanged: vm-b disk/clat_p99: 128 -> 128 us: +0.0% (95% CI "
				      "+0.0% .. +0.0%), p 1, adjusted 1\n"));
	run_free(&r);
}

/* One boot: boot time has one unit per target (n too small, listed); CPU pairs by repetition. */
static void test_ab_n_too_small(void **state)
{
	struct run r = compare("--ab", "vm-a", "vm-b", "ab-oneboot.json", "--all", NULL);

	assert_int_equal(r.rc, 0);
	assert_line(r.out, 0, "hvbench compare: PASS: no regression (1 gated metric tested");
	assert_non_null(strstr(r.out,
			       "n too small: vm-b boot/time_to_ready: 2.900 -> 3.500 s: not "
			       "tested: one unit on a side: no spread to test against (boots "
			       ">= 2 or repetitions >= 2)\n"));
	assert_non_null(strstr(r.out, "unchanged: vm-b cpu/ops: 400.5 -> 400.5 ops/s: +0.0% (95% "
				      "CI -0.3% .. +0.3%), p 0.5"));
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-oneboot.json", "--format", "json", NULL);
	assert_non_null(strstr(r.out, "\"decided_by\": \"A/B paired by repetition\""));
	run_free(&r);
}

/* A metric of A missing for B fails (--allow-missing: listed only); bad target names exit 2. */
static void test_ab_missing_and_errors(void **state)
{
	struct run r = compare("--ab", "vm-a", "vm-b", "ab-missing.json", NULL);

	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0,
		    "hvbench compare: FAIL: gated metrics of target vm-a are missing for "
		    "vm-b");
	assert_line(r.out, 1, "MISSING: vm-b cpu/ops: in target vm-a, not in vm-b");
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-missing.json", "--allow-missing", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "MISSING: vm-b cpu/ops: in target vm-a, not in vm-b\n"));
	run_free(&r);
	/* a guest hung in one boot: the run is incomplete and fails; its rows do not pair */
	r = compare("--ab", "vm-a", "vm-b", "ab-incomplete.json", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 0,
		    "hvbench compare: FAIL: the A/B run's status is \"incomplete\" (1 failure)");
	assert_non_null(strstr(r.out, "n too small: vm-b boot/time_to_ready: 3.400 -> 2.767 s: not "
				      "tested: one unit on a side"));
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-b", "ab-incomplete.json", "--allow-missing", NULL);
	assert_int_equal(r.rc, 0);
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-c", "ab-aa.json", NULL);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "hvbench compare: --ab: no target \"vm-c\" in "));
	assert_non_null(strstr(r.err, "ab-aa.json (its targets: vm-a, vm-b) (did you mean "
				      "\"vm-a\"?)\n"));
	run_free(&r);
	r = compare("--ab", "vm-a", "vm-a", "ab-aa.json", NULL);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err,
			    "hvbench compare: --ab: TARGET_A and TARGET_B are both \"vm-a\"\n");
	run_free(&r);
	r = compare("--ab", "vm-a", "ab-aa.json", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--ab takes TARGET_A TARGET_B RUN.json"));
	run_free(&r);
	/* targets of different kinds: said (a VM against native is the whole hypervisor) */
	r = compare("--ab", "native", "vm", "base.json", NULL);
	assert_int_equal(r.rc, 1);
	assert_line(r.out, 1,
		    "REGRESSION: vm cpu/ops by A/B paired by repetition: 1002 -> 801.6 "
		    "ops/s: -20.0%");
	assert_non_null(strstr(r.out,
			       "note: native and vm are of different kinds (native, qemu): "
			       "the change is the whole target, not one option\n"
			       "note: native is native (no hypervisor): the A/B change is the "
			       "hypervisor\n"));
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_code_passes),
		cmocka_unit_test(test_ties_quantized),
		cmocka_unit_test(test_quantum_floor),
		cmocka_unit_test(test_vcpus_halved),
		cmocka_unit_test(test_new_option_at_default),
		cmocka_unit_test(test_ratio_gate),
		cmocka_unit_test(test_boot_time),
		cmocka_unit_test(test_failed_run),
		cmocka_unit_test(test_nothing_to_compare),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_multiplicity),
		cmocka_unit_test(test_boots_are_units),
		cmocka_unit_test(test_several_baselines),
		cmocka_unit_test(test_junit),
		cmocka_unit_test(test_markdown_and_json),
		cmocka_unit_test(test_aa_self_test),
		cmocka_unit_test(test_input_errors),
		cmocka_unit_test(test_threshold_for_unknown),
		cmocka_unit_test(test_huge_change),
		cmocka_unit_test(test_paired_ratio),
		cmocka_unit_test(test_run_spread_prior),
		cmocka_unit_test(test_delta_reference),
		cmocka_unit_test(test_ab_same_options),
		cmocka_unit_test(test_ab_boot_slower),
		cmocka_unit_test(test_ab_launch_order),
		cmocka_unit_test(test_ab_ties),
		cmocka_unit_test(test_ab_n_too_small),
		cmocka_unit_test(test_ab_missing_and_errors),
	};

	find_fixtures();
	if (!fixdir[0]) {
		fprintf(stderr, "test_compare: tests/fixtures/gate not found (run from the source "
				"tree)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
