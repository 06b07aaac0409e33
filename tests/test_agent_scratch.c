/*
 * test_agent_scratch.c — the guest agent's scratch directories: an agent killed with SIGKILL
 * leaves hvbench-guest.XXXXXX (with 64 MiB fio files); the next agent removes it. A directory a
 * live agent holds (its flock), someone else's look-alike (wrong mode) and a symlink are kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void stale_removed_live_kept(void **state)
{
	char parent[] = "/tmp/hb-agent-scratch.XXXXXX", stale[PATH_MAX], held[PATH_MAX],
	     open_mode[PATH_MAX], link[PATH_MAX], f[PATH_MAX + 32];
	struct hb_agent_cfg cfg = {0};
	struct hb_agent a, b;
	struct hb_err e = {0};
	int fd, hold;

	(void)state;
	assert_non_null(mkdtemp(parent));
	/* a dead agent's directory, with a leftover run file */
	snprintf(stale, sizeof(stale), "%s/hvbench-guest.dead01", parent);
	assert_int_equal(mkdir(stale, 0700), 0);
	snprintf(f, sizeof(f), "%s/run-1", stale);
	assert_int_equal(mkdir(f, 0700), 0);
	snprintf(f, sizeof(f), "%s/run-1/hvbench-fio.dat", stale);
	fd = open(f, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* one a live agent holds */
	snprintf(held, sizeof(held), "%s/hvbench-guest.live01", parent);
	assert_int_equal(mkdir(held, 0700), 0);
	hold = open(held, O_RDONLY | O_DIRECTORY);
	assert_true(hold >= 0);
	assert_int_equal(flock(hold, LOCK_EX), 0);
	/* not ours to judge: not 0700, and a symlink */
	snprintf(open_mode, sizeof(open_mode), "%s/hvbench-guest.other1", parent);
	assert_int_equal(mkdir(open_mode, 0700), 0);
	assert_int_equal(chmod(open_mode, 0755), 0);
	snprintf(link, sizeof(link), "%s/hvbench-guest.link01", parent);
	assert_int_equal(symlink(held, link), 0);

	cfg.scratch_dir = parent;
	cfg.quiet = 1;
	assert_int_equal(hb_agent_init(&a, &cfg, &e), 0);
	assert_false(exists(stale));
	assert_true(exists(held));
	assert_true(exists(open_mode));
	assert_true(exists(link));
	assert_true(exists(a.scratch));
	/* a second agent keeps the first one's directory: it is held */
	assert_int_equal(hb_agent_init(&b, &cfg, &e), 0);
	assert_true(exists(a.scratch));
	hb_agent_free(&b);
	hb_agent_free(&a);
	close(hold);
	hb_rmtree(parent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stale_removed_live_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
