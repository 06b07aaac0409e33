/*
 * test_fifo.c — files that are not files: `hvbench validate` on a FIFO once blocked forever
 * waiting for a writer. hb_read_file (profiles, results, tokens) refuses a FIFO, a directory
 * and a device at once, naming what it is; the CLI says so and exits 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb.h"

static char dir[] = "/tmp/hb-fifo.XXXXXX";

static void expect_refused(const char *path, const char *what)
{
	struct hb_err e = {0};
	char *buf = NULL, want[PATH_MAX + 64];

	alarm(10); /* a blocking open would hang: fail instead */
	assert_int_equal(hb_read_file(path, 4096, &buf, NULL, &e), HB_EINVAL);
	alarm(0);
	assert_null(buf);
	snprintf(want, sizeof(want), "%s is not a regular file (%s): refused", path, what);
	assert_string_equal(e.msg, want);
}

static void non_regular_refused(void **state)
{
	char p[PATH_MAX];

	(void)state;
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	expect_refused(p, "a FIFO");
	expect_refused(dir, "a directory");
	expect_refused("/dev/null", "a device");
}

static void cli_validate_fifo(void **state)
{
	const char *bin = getenv("HB_BIN") ? getenv("HB_BIN") : "build/hvbench";
	char p[PATH_MAX], cmd[2 * PATH_MAX + 64], out[512] = "";
	FILE *f;
	int st;

	(void)state;
	if (access(bin, X_OK)) {
		print_message("SKIP: %s not built\n", bin);
		skip();
	}
	snprintf(p, sizeof(p), "%s/profile-fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	snprintf(cmd, sizeof(cmd), "timeout 10 %s validate %s 2>&1", bin, p);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(out, sizeof(out), f))
		out[0] = '\0';
	st = pclose(f);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	assert_non_null(strstr(out, "is not a regular file (a FIFO): refused"));
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return hb_rmtree(dir) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(non_regular_refused),
		cmocka_unit_test(cli_validate_fifo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
