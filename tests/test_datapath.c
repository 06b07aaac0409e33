/*
 * test_datapath.c — the data search path (host-agent/datapath.c): a profile is found by name
 * with or without ".json" in $HVBENCH_PROFILES before ./configs, a path is used as given, a
 * missing profile's message lists every place searched; the guest image is found where both
 * of its files exist ($HVBENCH_BUILD first) and its absence says "guest image not built" with
 * the places and the first candidate in buf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "datapath.h"
#include "hb.h"

static char tmp[64];

static void touch(const char *dir, const char *name)
{
	char p[512];
	struct hb_err e = {0};

	snprintf(p, sizeof(p), "%s/%s", tmp, dir);
	assert_int_equal(hb_mkdirs(p, 0755, &e), 0);
	snprintf(p, sizeof(p), "%s/%s/%s", tmp, dir, name);
	assert_int_equal(hb_write_atomic(p, "{}", 2, 0644, &e), 0);
}

static void t_profile(void **state)
{
	char buf[HB_DATA_PATH_MAX], want[512], env[300];
	struct hb_err e = {0};

	(void)state;
	touch("p1", "mine.json");
	touch("p2", "other.json");
	snprintf(env, sizeof(env), "%s/p1:%s/p2", tmp, tmp);
	setenv("HVBENCH_PROFILES", env, 1);
	assert_int_equal(hb_data_path(HB_DATA_PROFILE, "mine", buf, sizeof(buf), &e), 0);
	snprintf(want, sizeof(want), "%s/p1/mine.json", tmp);
	assert_string_equal(buf, want);
	assert_int_equal(hb_data_path(HB_DATA_PROFILE, "other.json", buf, sizeof(buf), &e), 0);
	snprintf(want, sizeof(want), "%s/p2/other.json", tmp);
	assert_string_equal(buf, want);
	/* a path is a path, existing or not (the loader names the problem) */
	assert_int_equal(hb_data_path(HB_DATA_PROFILE, "./nope.json", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "./nope.json");
	assert_int_equal(hb_data_path(HB_DATA_PROFILE, "absent", buf, sizeof(buf), &e), HB_EUNSUPP);
	assert_non_null(strstr(e.msg, "no profile \"absent\": not a file, and not in the profile "
				      "search path ("));
	assert_non_null(strstr(e.msg, "/p1, "));
	assert_non_null(strstr(e.msg, "/etc/hvbench/profiles"));
	unsetenv("HVBENCH_PROFILES");
}

static void t_guest(void **state)
{
	char buf[HB_DATA_PATH_MAX], want[512], env[300];
	struct hb_err e = {0};

	(void)state;
	snprintf(env, sizeof(env), "%s/half", tmp);
	touch("half/guest", "vmlinux"); /* no initrd: not an image */
	touch("half/guest", "tools.img");
	touch("cache/hvbench/guest", "vmlinux");
	touch("cache/hvbench/guest", "initrd.img");
	touch("cache/hvbench/guest", "tools.img");
	touch("old/guest", "vmlinuz"); /* an image of before the tools disk: not an image */
	touch("old/guest", "initrd.img");
	setenv("HVBENCH_BUILD", env, 1);
	snprintf(env, sizeof(env), "%s/cache", tmp);
	setenv("XDG_CACHE_HOME", env, 1);
	assert_int_equal(chdir(tmp), 0); /* no ./build here */
	/* $HVBENCH_BUILD, when set, is the only place: half an image there is no image */
	assert_int_equal(hb_data_path(HB_DATA_GUEST, NULL, buf, sizeof(buf), &e), HB_EUNSUPP);
	snprintf(want, sizeof(want), "%s/half", tmp);
	assert_string_equal(buf, want);
	hb_err_clear(&e);
	unsetenv("HVBENCH_BUILD");
	assert_int_equal(hb_data_path(HB_DATA_GUEST, NULL, buf, sizeof(buf), &e), 0);
	snprintf(want, sizeof(want), "%s/cache/hvbench", tmp);
	assert_string_equal(buf, want);
	assert_int_equal(hb_data_path(HB_DATA_GUEST, "initrd.img", buf, sizeof(buf), &e), 0);
	snprintf(want, sizeof(want), "%s/cache/hvbench/guest/initrd.img", tmp);
	assert_string_equal(buf, want);
	snprintf(env, sizeof(env), "%s/old", tmp);
	setenv("HVBENCH_BUILD", env, 1);
	assert_int_equal(hb_data_path(HB_DATA_GUEST, NULL, buf, sizeof(buf), &e), HB_EUNSUPP);
	hb_err_clear(&e);
	touch("half/guest", "initrd.img"); /* now complete: $HVBENCH_BUILD is used */
	snprintf(env, sizeof(env), "%s/half", tmp);
	setenv("HVBENCH_BUILD", env, 1);
	assert_int_equal(hb_data_path(HB_DATA_GUEST, NULL, buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, env);
	snprintf(env, sizeof(env), "%s/none", tmp);
	setenv("HVBENCH_BUILD", env, 1);
	setenv("XDG_CACHE_HOME", env, 1);
	assert_int_equal(hb_data_path(HB_DATA_GUEST, NULL, buf, sizeof(buf), &e), HB_EUNSUPP);
	assert_non_null(strstr(e.msg, "guest image not built: no guest/vmlinux + "
				      "guest/initrd.img + guest/tools.img in "));
	assert_string_equal(buf, env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_profile),
		cmocka_unit_test(t_guest),
	};
	char cwd[4096];
	int rc;

	snprintf(tmp, sizeof(tmp), "/tmp/hb-test-datapath.XXXXXX");
	if (!mkdtemp(tmp) || !getcwd(cwd, sizeof(cwd)))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (chdir(cwd) == 0)
		hb_rmtree(tmp);
	return rc;
}
