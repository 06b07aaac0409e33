/*
 * test_hb.c — the core helpers: sizes and numbers are parsed exactly or refused, error
 * messages stay valid UTF-8 when cut, the first error wins, atomic writes leave the old file
 * or the new one, and hb_rmtree never follows a symlink out of the tree it removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb.h"
#include "timing.h"

static void parse_size_exact(void **state)
{
	unsigned long long v;

	(void)state;
	assert_int_equal(hb_parse_size("4k", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(hb_parse_size("1M", &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(hb_parse_size("2GiB", &v), 0);
	assert_true(v == 2147483648ULL);
	assert_int_equal(hb_parse_size("512", &v), 0);
	assert_true(v == 512);
	assert_int_equal(hb_parse_size("", &v), HB_EINVAL);
	assert_int_equal(hb_parse_size("-1k", &v), HB_EINVAL);
	assert_int_equal(hb_parse_size("4q", &v), HB_EINVAL);
	assert_int_equal(hb_parse_size("99999999999999999999", &v), HB_EINVAL);
	assert_int_equal(hb_parse_size("20000000000T", &v), HB_EINVAL); /* overflows */
}

static void parse_numbers_checked(void **state)
{
	long l;
	double d;

	(void)state;
	assert_int_equal(hb_parse_long("42", 0, 100, &l), 0);
	assert_int_equal(l, 42);
	assert_int_equal(hb_parse_long("101", 0, 100, &l), HB_EINVAL);
	assert_int_equal(hb_parse_long("4x", 0, 100, &l), HB_EINVAL);
	assert_int_equal(hb_parse_double("0.5", 0.1, 1, &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(hb_parse_double("nan", 0, 1, &d), HB_EINVAL);
	assert_int_equal(hb_parse_double("inf", 0, 1e300, &d), HB_EINVAL);
}

static void utf8_cut_becomes_question_mark(void **state)
{
	char buf[8];
	char s[] = "ok \xc3\xa9 \xff end \xe2\x80"; /* é valid; 0xff invalid; — cut short */

	(void)state;
	hb_utf8_sanitize(s);
	assert_string_equal(s, "ok \xc3\xa9 ? end ??");
	/* "abcdef—" cut at 8 bytes: the em dash (3 bytes) loses its last byte */
	assert_int_equal(hb_strlcpy(buf, "abcde\xe2\x80\x94", sizeof(buf)), HB_EINVAL);
	assert_string_equal(buf, "abcde??");
}

static void first_error_wins(void **state)
{
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(hb_err_set(&e, HB_EIO, "root cause %d", 1), HB_EIO);
	assert_int_equal(hb_err_set(&e, HB_EINVAL, "later"), HB_EINVAL);
	hb_err_prefix(&e, "target %s", "vm");
	assert_string_equal(e.msg, "target vm: root cause 1");
	assert_int_equal(e.code, HB_EIO);
}

static void atomic_write_and_rmtree(void **state)
{
	char dir[] = "/tmp/hb-test-hb.XXXXXX", outside[] = "/tmp/hb-test-out.XXXXXX";
	char p[256], q[256], *txt = NULL;
	size_t len;
	struct hb_err e = {0};
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(outside));
	snprintf(p, sizeof(p), "%s/f.json", dir);
	assert_int_equal(hb_write_atomic(p, "old", 3, 0640, &e), 0);
	assert_int_equal(hb_write_atomic(p, "new!", 4, 0640, &e), 0);
	assert_int_equal(hb_read_file(p, 100, &txt, &len, &e), 0);
	assert_string_equal(txt, "new!");
	free(txt);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* a failed write (directory gone) leaves no temporary file and says why */
	snprintf(q, sizeof(q), "%s/missing/f.json", dir);
	assert_int_equal(hb_write_atomic(q, "x", 1, 0644, &e), HB_EIO);
	assert_non_null(strstr(e.msg, "cannot create temporary file for"));

	/* rmtree: a symlink inside points outside; the outside file must survive */
	snprintf(q, sizeof(q), "%s/keep", outside);
	assert_int_equal(hb_write_atomic(q, "keep", 4, 0644, &e), 0);
	snprintf(p, sizeof(p), "%s/sub/deeper", dir);
	assert_int_equal(hb_mkdirs(p, 0700, &e), 0);
	snprintf(p, sizeof(p), "%s/sub/link", dir);
	assert_int_equal(symlink(outside, p), 0);
	assert_int_equal(hb_rmtree(dir), 0);
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(access(q, F_OK), 0);
	assert_int_equal(hb_rmtree(outside), 0);
	assert_int_equal(hb_mkdirs("", 0700, &e), HB_EINVAL);
}

/* The one timing rule shared by profile, protocol and agent. */
static void timing_rules(void **state)
{
	struct hb_timing t = {.duration = 2, .ramp = 1, .timeout = 0};
	struct hb_err e;

	(void)state;
	hb_err_clear(&e);
	assert_true(hb_timing_default_timeout(2, 1) == 69.0);
	assert_int_equal(hb_timing_check(&t, 0, "w", &e), 0);
	assert_true(t.timeout == 69.0);
	t.timeout = 0;
	assert_int_equal(hb_timing_check(&t, 50, "w", &e), 0);
	assert_true(t.timeout == 50.0); /* capped by the agent's limit */
	t.timeout = 2.5;
	assert_int_equal(hb_timing_check(&t, 0, "w", &e), HB_EINVAL);
	assert_string_equal(e.msg, "w: timeout 2.5 s is shorter than ramp + duration (3 s)");
	hb_err_clear(&e);
	t = (struct hb_timing){.duration = 0, .ramp = 0, .timeout = 10};
	assert_int_equal(hb_timing_check(&t, 0, "run", &e), HB_EINVAL);
	assert_string_equal(e.msg, "run: duration must be positive");
	/* --duration 1 on an entry of 10 s + 4 s ramp, timeout 20: ramp halved, timeout raised to
	 * the default of the new figures (3 * 1.5 + 60) */
	t = (struct hb_timing){.duration = 10, .ramp = 4, .timeout = 20};
	hb_timing_override(&t, 1);
	assert_true(t.duration == 1 && t.ramp == 0.5 && t.timeout == 64.5);
	t = (struct hb_timing){.duration = 10, .ramp = 4, .timeout = 20};
	hb_timing_override(&t, 30);
	assert_true(t.ramp == 4 && t.timeout == 3 * 34 + 60); /* 20 s is below the default */
}

/* CSV fields: quoted only when needed (or asked), inner quotes doubled; numbers after a comma. */
static void csv_fields(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	hb_csv_field(f, "plain", 0);
	hb_csv_field(f, "a,b", 0);
	hb_csv_field(f, "say \"hi\"", 0);
	hb_csv_field(f, "plain", 1);
	hb_csv_num(f, 1.5);
	hb_csv_num(f, NAN);
	hb_csv_num(f, 123456789012.0); /* 10 significant digits */
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "plain\"a,b\"\"say \"\"hi\"\"\"\"plain\",1.5,,1.23456789e+11");
	free(buf);
}

/* hb_grow doubles from first and keeps the elements; *cap moves only on success. */
static void grow_doubles(void **state)
{
	size_t cap = 0;
	int *a = NULL, *n;

	(void)state;
	n = hb_grow(a, &cap, 4, sizeof(*a));
	assert_non_null(n);
	assert_int_equal(cap, 4);
	a = n;
	for (int i = 0; i < 4; i++)
		a[i] = i + 10;
	n = hb_grow(a, &cap, 4, sizeof(*a));
	assert_non_null(n);
	assert_int_equal(cap, 8);
	a = n;
	assert_int_equal(a[3], 13);
	n = hb_grow(a, &cap, 4, SIZE_MAX / 4); /* 16 elements of that size overflow */
	assert_null(n);
	assert_int_equal(cap, 8);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_size_exact),
		cmocka_unit_test(parse_numbers_checked),
		cmocka_unit_test(utf8_cut_becomes_question_mark),
		cmocka_unit_test(first_error_wins),
		cmocka_unit_test(atomic_write_and_rmtree),
		cmocka_unit_test(timing_rules),
		cmocka_unit_test(csv_fields),
		cmocka_unit_test(grow_doubles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
