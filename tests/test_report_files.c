/*
 * test_report_files.c — how report files are written, not what they say: a symlink planted in
 * the output directory (plots/headline.log, plots/headline.png, report.md) is replaced, never
 * followed, so its target survives; on a full disk (RLIMIT_FSIZE, in a child) rendering fails
 * with a code a run must not hide, and no truncated or temporary file is left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hb.h"
#include "report.h"

static const char precious[] = "precious data, not to be overwritten\n";

static json_t *load_results(void)
{
	const char *dirs[] = {"tests/fixtures", "../tests/fixtures", "../../tests/fixtures"};
	char p[256];
	json_t *j = NULL;

	for (size_t i = 0; i < HB_ARRAY_SIZE(dirs); i++) {
		struct hb_err e = {0};
		snprintf(p, sizeof(p), "%s/results-base.json", dirs[i]);
		if (!hb_results_load(p, &j, &e))
			return j;
	}
	fail_msg("tests/fixtures/results-base.json not found (run from the source root)");
	return NULL;
}

static int gnuplot_present(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static void write_file(const char *path, const char *text)
{
	struct hb_err e = {0};

	assert_int_equal(hb_write_atomic(path, text, strlen(text), 0644, &e), 0);
}

static void assert_file_is(const char *path, const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	struct hb_err e = {0};

	if (hb_read_file(path, 1 << 20, &buf, &len, &e))
		fail_msg("%s: %s", path, e.msg);
	if (len != strlen(text) || memcmp(buf, text, len))
		fail_msg("%s was overwritten (%zu bytes now)", path, len);
	free(buf);
}

static void assert_regular(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	if (!S_ISREG(st.st_mode))
		fail_msg("%s is not a regular file (mode %o)", path, st.st_mode);
}

static void planted_symlinks_not_followed(void **state)
{
	char dir[] = "/tmp/hb-repfiles-XXXXXX", p[256], v[256];
	static const char *const planted[] = {"plots/headline.log", "plots/headline.png",
					      "plots/memory.svg", "report.md"};
	json_t *j = load_results();
	struct hb_err e = {0};
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/out", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/out/plots", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	for (size_t i = 0; i < HB_ARRAY_SIZE(planted); i++) {
		snprintf(v, sizeof(v), "%s/victim%zu", dir, i);
		write_file(v, precious);
		snprintf(p, sizeof(p), "%s/out/%s", dir, planted[i]);
		assert_int_equal(symlink(v, p), 0);
	}
	snprintf(p, sizeof(p), "%s/out", dir);
	rc = hb_report_render(&j, 1, p, &e);
	assert_int_equal(rc, gnuplot_present() ? 0 : HB_EUNSUPP);
	for (size_t i = 0; i < HB_ARRAY_SIZE(planted); i++) {
		snprintf(v, sizeof(v), "%s/victim%zu", dir, i);
		assert_file_is(v, precious);
		snprintf(p, sizeof(p), "%s/out/%s", dir, planted[i]);
		if (i < 3 && !gnuplot_present())
			continue;
		assert_regular(p);
	}
	json_decref(j);
	hb_rmtree(dir);
}

/* Every file under dir is whole: no temp files or work dirs, images end as images do. */
static void assert_no_partial(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char p[512], *buf = NULL;
		size_t len = 0, n = strlen(de->d_name);
		struct hb_err e = {0};

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
			fail_msg("leftover temporary %s", p);
		if (!strcmp(de->d_name, "plots")) {
			assert_no_partial(p);
			continue;
		}
		assert_int_equal(hb_read_file(p, 1 << 22, &buf, &len, &e), 0);
		if (n > 4 && !strcmp(de->d_name + n - 4, ".png") &&
		    (len < 12 || memcmp(buf + len - 8, "IEND", 4)))
			fail_msg("truncated image %s (%zu bytes)", p, len);
		if (n > 4 && !strcmp(de->d_name + n - 4, ".svg") && !strstr(buf, "</svg>"))
			fail_msg("truncated image %s (%zu bytes)", p, len);
		if (n > 5 && !strcmp(de->d_name + n - 5, ".html") && !strstr(buf, "</html>"))
			fail_msg("truncated report %s (%zu bytes)", p, len);
		free(buf);
	}
	closedir(d);
}

/* Renders in a child whose files may not exceed limit bytes; returns the render's code. */
static int render_limited(const char *out, rlim_t limit)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {limit, limit};
		struct hb_err e = {0};
		json_t *j = load_results();
		int rc;

		signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG, like ENOSPC */
		setrlimit(RLIMIT_FSIZE, &rl);
		rc = hb_report_render(&j, 1, out, &e);
		fprintf(stderr, "render with %lu-byte files: %d %s\n", (unsigned long)limit, rc,
			e.msg);
		_exit(-rc);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return -WEXITSTATUS(st);
}

static void disk_full_fails_without_partial_files(void **state)
{
	char dir[] = "/tmp/hb-repfiles-XXXXXX";
	/* 20 KB: the scripts and data fit, most images and report.html do not */
	int rc;

	(void)state;
	if (!gnuplot_present()) {
		print_message("SKIP: gnuplot is not installed\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	rc = render_limited(dir, 20000);
	/* neither success nor the "gnuplot not installed" code a run may shrug off */
	assert_true(rc != 0 && rc != HB_EUNSUPP);
	assert_no_partial(dir);
	hb_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(planted_symlinks_not_followed),
		cmocka_unit_test(disk_full_fails_without_partial_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
