/*
 * test_exec.c — the one executor (bench/exec.c) as the native target uses it: the workload
 * process is held until on_forked has run (probes attach there), on_done runs while the process
 * still exists (before the reap), and a refusal in on_forked kills the held process and is
 * returned without the workload running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec.h"

static char g_dir[64];
static char g_marker[128];

/* Reports whether the marker on_forked creates existed when the workload started. */
static int wl_marker_run(const struct hb_wl_ctx *ctx, const json_t *params, struct hb_sample *out,
			 struct hb_err *e)
{
	(void)ctx;
	(void)params;
	(void)e;
	return hb_sample_add(out, "marker_seen", "count", 1, access(g_marker, F_OK) == 0 ? 1 : 0);
}

static const struct hb_workload wl_marker = {
	.name = "t-marker", .kind = "cpu", .run = wl_marker_run};

struct seen {
	pid_t pid;
	int forked, done, alive_at_done, refuse;
};

static int on_forked(void *arg, pid_t pid, struct hb_err *e)
{
	struct seen *s = arg;
	FILE *f;

	s->pid = pid;
	s->forked++;
	if (s->refuse)
		return hb_err_set(e, HB_EIO, "probe refused");
	f = fopen(g_marker, "w");
	if (f)
		fclose(f);
	return 0;
}

static void on_done(void *arg)
{
	struct seen *s = arg;
	char path[64];

	s->done++;
	hb_snprintf(path, sizeof(path), "/proc/%d", (int)s->pid);
	s->alive_at_done = access(path, F_OK) == 0; /* running or a zombie: not reaped yet */
}

static void held_until_attached(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.1, .timeout = 10, .scratch_dir = g_dir};
	struct seen s = {0};
	struct hb_exec_opts o = {on_forked, on_done, &s, NULL, 0};
	struct hb_sample out;
	struct hb_err e = {0};

	(void)state;
	unlink(g_marker);
	assert_int_equal(hb_wl_exec(&wl_marker, NULL, &ctx, &o, &out, &e), 0);
	assert_int_equal(s.forked, 1);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.alive_at_done, 1);
	assert_true(hb_sample_get(&out, "marker_seen")->value == 1);
	assert_int_not_equal(kill(s.pid, 0), 0); /* reaped afterwards */
	hb_sample_free(&out);
}

static void refusal_kills_the_held_process(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.1, .timeout = 10, .scratch_dir = g_dir};
	struct seen s = {.refuse = 1};
	struct hb_exec_opts o = {on_forked, on_done, &s, NULL, 0};
	struct hb_sample out;
	struct hb_err e = {0};

	(void)state;
	unlink(g_marker);
	assert_int_equal(hb_wl_exec(&wl_marker, NULL, &ctx, &o, &out, &e), HB_EIO);
	assert_string_equal(e.msg, "probe refused");
	assert_int_equal(s.done, 1);
	assert_int_equal(out.n, 0);
	assert_int_not_equal(kill(s.pid, 0), 0);
}

static int setup(void **state)
{
	(void)state;
	hb_strlcpy(g_dir, "/tmp/hb-test-exec.XXXXXX", sizeof(g_dir));
	if (!mkdtemp(g_dir))
		return -1;
	hb_snprintf(g_marker, sizeof(g_marker), "%s/attached", g_dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hb_rmtree(g_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(held_until_attached),
		cmocka_unit_test(refusal_kills_the_held_process),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
