/*
 * test_profile.c — the profile validator: each kind of error names its place and cause, valid
 * profiles load with defaults filled, and command-line overrides are checked the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"

static const char *ok_profile =
	"{\"name\":\"t\",\"repetitions\":4,\"warmup\":0,\"duration\":1.5,\"ramp\":0.5,\n"
	" \"targets\":[{\"name\":\"native\",\"kind\":\"native\"}],\n"
	" \"workloads\":[{\"name\":\"d\",\"workload\":\"disk\",\"params\":{\"rw\":\"randwrite\","
	"\"bs\":\"8k\"}},\n"
	"               {\"workload\":\"cpu\",\"duration\":0.5}]}";

/* Parses text and expects failure whose message contains want. */
static void expect_error(const char *text, const char *want)
{
	struct hb_profile p;
	struct hb_err e = {0};
	int rc = hb_profile_parse(text, "p.json", &p, &e);

	if (rc == 0 || !strstr(e.msg, want))
		print_error("profile: %s\nwanted error containing: %s\ngot rc=%d: %s\n", text, want,
			    rc, e.msg);
	assert_int_equal(rc, HB_EINVAL);
	assert_non_null(strstr(e.msg, want));
	assert_null(p.json);
}

static void valid_profile_loads(void **state)
{
	struct hb_profile p;
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(hb_profile_parse(ok_profile, "p.json", &p, &e), 0);
	assert_string_equal(p.name, "t");
	assert_int_equal(p.reps, 4);
	assert_int_equal(p.warmup, 0);
	assert_int_equal(p.ntargets, 1);
	assert_string_equal(p.targets[0].ops->kind, "native");
	assert_int_equal(p.nentries, 2);
	assert_string_equal(p.entries[0].name, "d");
	assert_string_equal(hb_param_str(p.entries[0].params, "rw"), "randwrite");
	assert_int_equal(hb_param_int(p.entries[0].params, "bs"), 8192);
	assert_string_equal(p.entries[1].name, "cpu"); /* defaults to the workload's name */
	assert_true(p.entries[0].t.duration == 1.5);
	assert_true(p.entries[1].t.duration == 0.5);
	assert_true(p.entries[0].t.ramp == 0.5);
	/* default timeout, per entry: 3 * (its duration + ramp) + 60 */
	assert_true(p.entries[0].t.timeout == 66.0);
	assert_true(p.entries[1].t.timeout == 63.0); /* duration 0.5 of its own + ramp 0.5 */
	hb_profile_free(&p);
}

static void syntax_error_has_line_and_column(void **state)
{
	(void)state;
	expect_error("{\"name\":\"x\",\n \"targets\": [,]}", "line 2, column 14");
	expect_error("", "JSON syntax error at line");
	expect_error("[1,2]", "must be a JSON object");
}

static void unknown_keys_suggest(void **state)
{
	(void)state;
	expect_error("{\"repetiton\":3,\"targets\":[],\"workloads\":[]}",
		     "p.json: unknown key \"repetiton\" (did you mean \"repetitions\"?)");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\",\"optoins\":{}}],"
		     "\"workloads\":[{\"workload\":\"cpu\"}]}",
		     "targets[0]: unknown key \"optoins\" (did you mean \"options\"?)");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"nativ\"}],\"workloads\":[{"
		     "\"workload\":\"cpu\"}]}",
		     "unknown kind \"nativ\" (did you mean \"native\"?)");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}],\"workloads\":[{"
		     "\"workload\":\"dsk\"}]}",
		     "workloads[0] (dsk): unknown workload \"dsk\" (did you mean \"disk\"?)");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}],"
		     "\"workloads\":[{\"workload\":\"disk\",\"params\":{\"rww\":\"read\"}}]}",
		     "workloads[0] (disk).params: unknown key \"rww\" (did you mean \"rw\"?)");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}],"
		     "\"workloads\":[{\"workload\":\"disk\",\"params\":{\"rw\":\"randred\"}}]}",
		     "\"rw\" is \"randred\"; expected one of: ");
}

static void wrong_types(void **state)
{
	(void)state;
	expect_error("{\"repetitions\":\"3\",\"targets\":[],\"workloads\":[]}",
		     "\"repetitions\" must be a number, not a string");
	expect_error("{\"targets\":{},\"workloads\":[]}", "\"targets\" must be an array");
	expect_error("{\"targets\":[3],\"workloads\":[]}",
		     "targets[0]: must be an object, not an integer");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}],"
		     "\"workloads\":[{\"workload\":\"disk\",\"params\":{\"iodepth\":\"deep\"}}]}",
		     "\"iodepth\" must be a number, not a string");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}],\"workloads\":[{"
		     "\"workload\":\"cpu\"}],"
		     "\"probes\":[]}",
		     "\"probes\" must be an object, not an array");
}

static void out_of_range(void **state)
{
	(void)state;
	expect_error("{\"repetitions\":0,\"targets\":[],\"workloads\":[]}",
		     "\"repetitions\" is 0, outside 1..1000");
	expect_error("{\"repetitions\":2.5,\"targets\":[],\"workloads\":[]}",
		     "\"repetitions\" must be a whole number");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}],"
		     "\"workloads\":[{\"workload\":\"disk\",\"params\":{\"iodepth\":0}}]}",
		     "\"iodepth\" is 0, outside");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}],"
		     "\"workloads\":[{\"workload\":\"cpu\",\"duration\":5,\"timeout\":3}]}",
		     "timeout 3 s is shorter than ramp + duration");
}

static void structural_errors(void **state)
{
	(void)state;
	expect_error("{\"workloads\":[{\"workload\":\"cpu\"}]}", "\"targets\" is required");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}]}",
		     "\"workloads\" is required");
	expect_error("{\"targets\":[],\"workloads\":[]}", "\"targets\" needs 1..16 entries");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"},{\"name\":\"n\",\"kind\":"
		     "\"native\"}],"
		     "\"workloads\":[{\"workload\":\"cpu\"}]}",
		     "duplicate target name \"n\"");
	expect_error("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"}],"
		     "\"workloads\":[{\"workload\":\"cpu\"},{\"workload\":\"cpu\"}]}",
		     "duplicate workload name \"cpu\"");
	expect_error("{\"targets\":[{\"name\":\"a "
		     "b\",\"kind\":\"native\"}],\"workloads\":[{\"workload\":\"cpu\"}]}",
		     "\"name\" is \"a b\": use letters");
	expect_error("{\"targets\":[{\"kind\":\"native\"}],\"workloads\":[{\"workload\":\"cpu\"}]}",
		     "targets[0]: \"name\" is required");
	expect_error("{\"name\":\"x\",\"name\":\"y\",\"targets\":[],\"workloads\":[]}",
		     "duplicate object key");
	expect_error("{\"boot_parallel\":\"yes\",\"targets\":[],\"workloads\":[]}",
		     "p.json: \"boot_parallel\" must be true or false, not a string");
}

static void overrides(void **state)
{
	struct hb_profile p;
	struct hb_err e = {0};
	struct hb_overrides o = {"native", 7, 2, 3.0, 1};
	const char *two =
		"{\"targets\":[{\"name\":\"native\",\"kind\":\"native\"},"
		"{\"name\":\"other\",\"kind\":\"native\"}],\"workloads\":[{\"workload\":\"cpu\"}]}";

	(void)state;
	assert_int_equal(hb_profile_parse(two, "p.json", &p, &e), 0);
	assert_int_equal(hb_profile_apply(&p, &o, &e), 0);
	assert_int_equal(p.ntargets, 1);
	assert_string_equal(p.targets[0].name, "native");
	assert_int_equal(p.reps, 7);
	assert_int_equal(p.warmup, 2);
	assert_true(p.entries[0].t.duration == 3.0);
	assert_int_equal(p.boot_parallel, 1); /* --boot-parallel on over the default (off) */
	hb_profile_free(&p);

	assert_int_equal(hb_profile_parse(two, "p.json", &p, &e), 0);
	o.targets = "nativ";
	assert_int_equal(hb_profile_apply(&p, &o, &e), HB_EINVAL);
	assert_string_equal(
		e.msg, "--targets: the profile has no target \"nativ\" (did you mean \"native\"?)");
	hb_profile_free(&p);
}

static void shipped_profiles_are_valid(void **state)
{
	const char *files[] = {"configs/quick.json", "configs/nightly.json",
			       "configs/nightly-small.json", "configs/capacity.json",
			       "configs/latency.json"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct hb_profile p;
		struct hb_err e = {0};
		int rc = hb_profile_load(files[i], &p, &e);
		if (rc)
			print_error("%s: %s\n", files[i], e.msg);
		assert_int_equal(rc, 0);
		assert_true(p.ntargets >= 1);
		hb_profile_free(&p);
	}
}

/* Parses text (must be valid) and runs the static checks with scratch base and out dir. */
static void check_profile(const char *text, const char *scratch, const char *out, struct hb_diag *d)
{
	struct hb_profile p;
	struct hb_err e = {0};
	struct hb_check_env env = {"build", scratch, out};

	if (hb_profile_parse(text, "p.json", &p, &e))
		fail_msg("profile did not parse: %s", e.msg);
	hb_diag_init(d);
	hb_profile_check(&p, &env, d);
	hb_profile_free(&p);
}

static int has(const struct hb_diag *d, int warning, const char *msg)
{
	for (int i = 0; i < d->n; i++)
		if (d->it[i].warning == warning && !strcmp(d->it[i].msg, msg))
			return 1;
	for (int i = 0; i < d->n; i++)
		print_error("  %s: %s\n", d->it[i].warning ? "warning" : "error", d->it[i].msg);
	print_error("missing %s: %s\n", warning ? "warning" : "error", msg);
	return 0;
}

/* 1 when any diagnostic contains text (no listing: the caller expects it absent). */
static int has_text(const struct hb_diag *d, const char *text)
{
	for (int i = 0; i < d->n; i++)
		if (strstr(d->it[i].msg, text))
			return 1;
	return 0;
}

static void checks_name_every_qemu_problem(void **state)
{
	struct hb_diag d;

	(void)state;
	check_profile("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"},"
		      "{\"name\":\"vm\",\"kind\":\"qemu\",\"options\":{\"machine\":\"microvm\","
		      "\"full_featured\":true,\"disk_image\":\"/nonexistent/a,b:c.img\","
		      "\"initrd\":\"/nonexistent/initrd\",\"disk_aio\":\"native\","
		      "\"disk_cache\":\"writeback\"}},"
		      "{\"name\":\"small\",\"kind\":\"qemu\",\"options\":{\"memory\":128}}],"
		      "\"workloads\":[{\"workload\":\"cpu\"},{\"workload\":\"mem\"}]}",
		      "/var/tmp", "results/x", &d);
	assert_true(has(&d, 0,
			"targets[1] (vm): initrd /nonexistent/initrd: No such file or directory"));
	assert_true(has(&d, 0,
			"targets[1] (vm): disk_image /nonexistent/a,b:c.img: No such file or "
			"directory"));
	assert_true(
		has(&d, 0, "targets[1] (vm): give either disk_image or kernel+initrd, not both"));
	assert_true(has(&d, 0,
			"targets[1] (vm): machine microvm cannot boot disk_image (needs kernel)"));
	assert_true(has(&d, 0, "targets[1] (vm): full_featured needs a PCI machine (q35 or pc)"));
	assert_true(has(&d, 0, "targets[1] (vm): initrd given without kernel"));
	assert_true(has(&d, 0,
			"targets[1] (vm): disk_aio=native needs disk_cache none or directsync "
			"(O_DIRECT)"));
	assert_true(
		has(&d, 0,
		    "targets[1] (vm): disk_image \"/nonexistent/a,b:c.img\" contains ':', which "
		    "QEMU may take for a protocol prefix"));
	assert_true(has(&d, 0,
			"targets[2] (small): memory 128 MiB is too small for the embedded guest: "
			"it needs at least 192 to boot and run disk, net and cpu"));
	/* the mem workload's arrays (256 MiB by default) on top of the guest's own needs */
	assert_true(has(&d, 0,
			"targets[2] (small): memory 128 MiB is too small for workloads[1] (mem): "
			"one run holds 256 MiB, and the guest itself needs about 128; use at least "
			"384 MiB, or smaller parameters"));
	assert_int_equal(d.nerr, 10); /* a ',' is no problem: every value is escaped (",,") */
	assert_int_equal(d.nwarn, 0);
}

static void checks_paths_and_cross_checks(void **state)
{
	struct hb_diag d;

	(void)state;
	/* a ':' in the scratch base reaches the drive's file= (a protocol prefix to QEMU); a ','
	 * in the results directory is escaped and is no problem */
	check_profile("{\"targets\":[{\"name\":\"vm\",\"kind\":\"qemu\",\"options\":{"
		      "\"vcpus\":64,\"memory\":262144}}],\"workloads\":[{\"workload\":\"cpu\"}]}",
		      "/tmp/s:1", "/tmp/o,1", &d);
	assert_int_equal(d.nerr, 1);
	assert_non_null(strstr(d.it[0].msg, "targets[0] (vm): scratch disk \"/tmp/s:1/"));
	assert_non_null(
		strstr(d.it[0].msg, "contains ':', which QEMU may take for a protocol prefix"));
	if (sysconf(_SC_NPROCESSORS_ONLN) < 64) {
		char want[200];
		snprintf(want, sizeof(want),
			 "targets[0] (vm): 64 vCPUs on a host with %ld cores: vCPUs share cores "
			 "and the figures measure contention",
			 sysconf(_SC_NPROCESSORS_ONLN));
		assert_true(has(&d, 1, want));
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 64 && hb_meminfo("MemTotal") < (262144LL << 20))
		assert_int_equal(d.nwarn,
				 4); /* vCPUs, RAM of the VM, RAM of all VMs, no baseline */
	assert_true(has(&d, 1,
			"no baseline target (kind native): nothing to compare the VM figures "
			"with, so no ratios"));
	/* two VMs and no native: an A/B profile; the warning names its comparison instead */
	check_profile("{\"targets\":[{\"name\":\"a\",\"kind\":\"qemu\"},{\"name\":\"b\","
		      "\"kind\":\"qemu\"}],\"workloads\":[{\"workload\":\"cpu\"}]}",
		      "/var/tmp", NULL, &d);
	assert_true(has(&d, 1,
			"no baseline target (kind native): no VM/native ratios; the VMs compare "
			"with each other by hvbench compare --ab A B RESULTS.json"));
	assert_false(has_text(&d, "so no ratios"));
	/* native with a disk_target it must not write: disksafe's refusal is a check error */
	check_profile("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\",\"options\":{"
		      "\"disk_target\":\"/nonexistent/dev\"}}],\"workloads\":[{\"workload\":"
		      "\"cpu\"}],\"probes\":{\"pfm\":{\"events\":[\"cycles\",\"no_such_event\"]}}}",
		      "/var/tmp", NULL, &d);
	assert_int_equal(d.nwarn, 0);
	assert_non_null(strstr(d.it[0].msg, "targets[0] (n): "));
	assert_non_null(strstr(d.it[0].msg, "/nonexistent/dev"));
	assert_true(has(&d, 0,
			"probes.pfm: event \"no_such_event\" cannot be encoded (libpfm4: event "
			"not found)"));
	assert_int_equal(d.nerr, 2);
}

/* net_reply_delay: a range, and a peer to delay (qemu: not net none; remote: iperf_bind). */
static void checks_net_reply_delay(void **state)
{
	struct hb_diag d;

	(void)state;
	expect_error("{\"targets\":[{\"name\":\"vm\",\"kind\":\"qemu\",\"options\":{"
		     "\"net_reply_delay\":1000.5}}],\"workloads\":[{\"workload\":\"netrr\"}]}",
		     "targets[0] (vm).options: \"net_reply_delay\" is 1000.5, outside 0..1000");
	expect_error("{\"targets\":[{\"name\":\"vm\",\"kind\":\"qemu\",\"options\":{"
		     "\"net_reply_delay\":\"5ms\"}}],\"workloads\":[{\"workload\":\"netrr\"}]}",
		     "\"net_reply_delay\" must be a number, not a string");
	check_profile("{\"targets\":[{\"name\":\"n\",\"kind\":\"native\"},"
		      "{\"name\":\"tap\",\"kind\":\"qemu\",\"options\":{\"net_reply_delay\":5}},"
		      "{\"name\":\"user\",\"kind\":\"qemu\",\"options\":{\"net\":\"user\","
		      "\"net_reply_delay\":5}},"
		      "{\"name\":\"none\",\"kind\":\"qemu\",\"options\":{\"net\":\"none\","
		      "\"net_reply_delay\":5}},"
		      "{\"name\":\"r\",\"kind\":\"remote\",\"options\":{\"address\":\"h:1\","
		      "\"token_file\":\"/t\",\"net_reply_delay\":5}},"
		      "{\"name\":\"rb\",\"kind\":\"remote\",\"options\":{\"address\":\"h:1\","
		      "\"token_file\":\"/t\",\"iperf_bind\":\"10.0.0.1\",\"net_reply_delay\":5}}],"
		      "\"workloads\":[{\"workload\":\"netrr\"}]}",
		      "/var/tmp", NULL, &d);
	assert_true(has(&d, 0,
			"targets[3] (none): net_reply_delay delays the replies of the echo "
			"server at the host end: it needs net \"tap\" or \"user\", not \"none\""));
	assert_true(has(&d, 0,
			"targets[4] (r): net_reply_delay delays the replies of the echo server "
			"on iperf_bind: it needs iperf_bind"));
	assert_int_equal(d.nerr, 2);
}

static void estimate_counts_every_run(void **state)
{
	struct hb_profile p;
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(hb_profile_parse(ok_profile, "p.json", &p, &e), 0);
	/* 4 reps + 0 warm-up on 1 target: (1.5 + 0.5 + 1) * 4 + (0.5 + 0.5 + 1) * 4 */
	assert_true(hb_profile_estimate(&p) == 20.0);
	hb_profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_profile_loads),
		cmocka_unit_test(syntax_error_has_line_and_column),
		cmocka_unit_test(unknown_keys_suggest),
		cmocka_unit_test(wrong_types),
		cmocka_unit_test(out_of_range),
		cmocka_unit_test(structural_errors),
		cmocka_unit_test(overrides),
		cmocka_unit_test(shipped_profiles_are_valid),
		cmocka_unit_test(checks_name_every_qemu_problem),
		cmocka_unit_test(checks_paths_and_cross_checks),
		cmocka_unit_test(checks_net_reply_delay),
		cmocka_unit_test(estimate_counts_every_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
