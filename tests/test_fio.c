/*
 * test_fio.c — the fio JSON parser and job generator (bench/fio.c) on real fio 3.33 output
 * captured on this machine (tests/fixtures/fio-*.json: `fio --output-format=json+`, 4 MiB file,
 * 1 s; trimmed only by dropping the clat histogram bins and the latency_* / iodepth_* blocks).
 * The expected numbers are the ones in those files, converted as the parser documents
 * (bw_bytes / 2^20, clat ns / 1000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fio.h"
#include "hb.h"
#include "metric.h"
#include "testlib.h"

static const char *info_str(const struct hb_sample *s, const char *key)
{
	return json_string_value(json_object_get(s->info, key));
}

static void test_randread(void **state)
{
	char *txt = load_fixture("fio-randread-4k.json");
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse(txt, &s, &e), 0);
	assert_int_equal(s.n, 7);
	check_metric(&s, "iops", "IOPS", 1, 87858.141858);
	check_metric(&s, "bw", "MiB/s", 1, 359866949 / 1048576.0);
	check_metric(&s, "clat_p50", "us", 0, 325.632);
	check_metric(&s, "clat_p99", "us", 0, 514.048);
	check_metric(&s, "clat_p999", "us", 0, 4292.608);
	check_metric(&s, "fio_usr_cpu", "%", 0, 3.7);
	check_metric(&s, "fio_sys_cpu", "%", 0, 51.1);
	assert_string_equal(info_str(&s, "fio_version"), "fio-3.33");
	assert_string_equal(info_str(&s, "latency_from"), "read");
	assert_true(json_is_false(json_object_get(s.info, "mixed")));
	assert_int_equal(json_integer_value(json_object_get(s.info, "jobs")), 1);
	hb_sample_free(&s);
	free(txt);
}

static void test_randrw_mixed_sums_and_read_latency(void **state)
{
	char *txt = load_fixture("fio-randrw-4k.json");
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse(txt, &s, &e), 0);
	check_metric(&s, "iops", "IOPS", 1, 67820.17982 + 29083.916084);
	check_metric(&s, "bw", "MiB/s", 1, (277791456.0 + 119127720.0) / 1048576.0);
	/* latency from reads (write p50 in the file is 333824 ns) */
	check_metric(&s, "clat_p50", "us", 0, 292.864);
	check_metric(&s, "clat_p99", "us", 0, 501.76);
	check_metric(&s, "clat_p999", "us", 0, 2637.824);
	check_metric(&s, "fio_usr_cpu", "%", 0, 2.55);
	check_metric(&s, "fio_sys_cpu", "%", 0, 28.35);
	assert_string_equal(info_str(&s, "latency_from"), "read");
	assert_true(json_is_true(json_object_get(s.info, "mixed")));
	assert_true(json_real_value(json_object_get(s.info, "write_iops")) == 29083.916084);
	assert_non_null(strstr(info_str(&s, "note"), "latency percentiles are from reads"));
	hb_sample_free(&s);
	free(txt);
}

static void test_write_latency_from_writes(void **state)
{
	char *txt = load_fixture("fio-write-1m.json");
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse(txt, &s, &e), 0);
	check_metric(&s, "iops", "IOPS", 1, 2264.735265);
	check_metric(&s, "bw", "MiB/s", 1, 2374747044 / 1048576.0);
	check_metric(&s, "clat_p50", "us", 0, 387.072);
	check_metric(&s, "clat_p99", "us", 0, 659.456);
	check_metric(&s, "clat_p999", "us", 0, 1843.2);
	check_metric(&s, "fio_usr_cpu", "%", 0, 13.3);
	check_metric(&s, "fio_sys_cpu", "%", 0, 14.8);
	assert_string_equal(info_str(&s, "latency_from"), "write");
	hb_sample_free(&s);
	free(txt);
}

/* Real failing run: fio printed two warning lines on stdout before the JSON; job error 22. */
static void test_job_error(void **state)
{
	char *txt = load_fixture("fio-error.json");
	struct hb_sample s;
	struct hb_err e;

	assert_true(strncmp(txt, "fio: first direct IO errored", 28) == 0);
	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse(txt, &s, &e), HB_EIO);
	assert_string_equal(e.msg, "fio: job \"x\" failed with error 22 (Invalid argument)");
	assert_int_equal(s.n, 0);
	hb_sample_free(&s);
	free(txt);
}

static void test_text_before_json(void **state)
{
	char *txt = load_fixture("fio-randread-4k.json");
	size_t l = strlen(txt) + 200;
	char *mixed = malloc(l);
	struct hb_sample s;
	struct hb_err e;

	snprintf(mixed, l,
		 "fio: this platform does not support process shared mutexes {x}\n"
		 "  note: {indented brace is not a start}\n%s\ntrailing text\n",
		 txt);
	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse(mixed, &s, &e), 0);
	check_metric(&s, "iops", "IOPS", 1, 87858.141858);
	hb_sample_free(&s);
	free(mixed);
	free(txt);
}

static void test_garbage(void **state)
{
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse("fio: engine libaio not loadable\nfio: failed\n", &s, &e),
			 HB_EPROTO);
	assert_non_null(strstr(e.msg, "no JSON in its output"));
	assert_non_null(strstr(e.msg, "engine libaio not loadable"));
	hb_err_clear(&e);
	assert_int_equal(
		hb_fio_parse("{\n  \"fio version\" : \"fio-3.33\",\n  \"jobs\" : [ {\n", &s, &e),
		HB_EPROTO);
	assert_non_null(strstr(e.msg, "not valid JSON"));
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse("", &s, &e), HB_EPROTO);
	assert_int_equal(s.n, 0);
}

static void test_missing_jobs(void **state)
{
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse("{\"fio version\" : \"fio-3.33\"}\n", &s, &e), HB_EPROTO);
	assert_string_equal(e.msg, "fio: output has no \"jobs\" array (or it is empty)");
	hb_err_clear(&e);
	assert_int_equal(hb_fio_parse("{\"fio version\" : \"fio-3.33\", \"jobs\": []}", &s, &e),
			 HB_EPROTO);
	hb_err_clear(&e);
	/* a job that completed nothing */
	assert_int_equal(hb_fio_parse("{\"jobs\":[{\"jobname\":\"x\",\"error\":0,"
				      "\"read\":{\"total_ios\":0},\"write\":{\"total_ios\":0}}]}",
				      &s, &e),
			 HB_EPROTO);
	assert_string_equal(e.msg, "fio: no I/O completed");
	assert_int_equal(s.n, 0);
}

static void test_job_text(void **state)
{
	struct hb_fio_job j = {.filename = "/dev/vda",
			       .rw = "randrw",
			       .bs = 4096,
			       .size = 4 << 20,
			       .iodepth = 32,
			       .numjobs = 2,
			       .ioengine = "io_uring",
			       .direct = 1,
			       .time_based = 1,
			       .rwmixread = 70,
			       .runtime = 1.5,
			       .ramp = 0.25};
	char buf[2048];
	struct hb_err e;

	hb_err_clear(&e);
	assert_int_equal(hb_fio_job_text(&j, buf, sizeof(buf), &e), 0);
	assert_non_null(strstr(buf, "\n[global]\nioengine=io_uring\ndirect=1\ntime_based=1\n"
				    "runtime=1500ms\nramp_time=250ms\ngroup_reporting=1\n"));
	assert_non_null(strstr(buf, "\nfilename=/dev/vda\nsize=4194304\n[hvbench]\nrw=randrw\n"
				    "rwmixread=70\nbs=4096\niodepth=32\nnumjobs=2\n"));
	assert_null(strstr(buf, "allow_file_create"));
	j.rw = "randread";
	j.no_create = 1;
	assert_int_equal(hb_fio_job_text(&j, buf, sizeof(buf), &e), 0);
	assert_null(strstr(buf, "rwmixread"));
	assert_non_null(strstr(buf, "\nrandrepeat=1\nthread=1\nclocksource=clock_gettime\n"
				    "allow_file_create=0\nfilename=/dev/vda\n"));
	/* fio treats ':' in filename= as a list separator */
	j.filename = "/tmp/a:b";
	assert_int_equal(hb_fio_job_text(&j, buf, sizeof(buf), &e), HB_EINVAL);
	/* fio trims blanks and expands ${VAR}: it would open another file than named */
	{
		static const char *const bad[] = {" /dev/x",
						  "/tmp/trail ",
						  "/tmp/e${HOME}",
						  "/tmp/$ncpus",
						  "/tmp/a\\b",
						  "/tmp/a\tb",
						  ""};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			hb_err_clear(&e);
			j.filename = bad[i];
			assert_int_equal(hb_fio_job_text(&j, buf, sizeof(buf), &e), HB_EINVAL);
			assert_non_null(strstr(e.msg, "fio: "));
		}
	}
	hb_err_clear(&e);
	j.filename = "/tmp/x";
	assert_int_equal(hb_fio_job_text(&j, buf, 40, &e), HB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_randread),
		cmocka_unit_test(test_randrw_mixed_sums_and_read_latency),
		cmocka_unit_test(test_write_latency_from_writes),
		cmocka_unit_test(test_job_error),
		cmocka_unit_test(test_text_before_json),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_missing_jobs),
		cmocka_unit_test(test_job_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
