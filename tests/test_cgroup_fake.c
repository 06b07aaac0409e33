/*
 * test_cgroup_fake.c — the cgroup v2 path of host-agent/cgroup.c (and v1's writes) against a
 * fake cgroupfs in a temporary directory, for hosts whose cpu controller is bound to v1 (this
 * CI box: a real cgroup2 mount there has no cpu controller, so test_cgroup.c runs v1 only).
 * hb_cgroup_test_mounts points the code at the fake; this file interposes write(), mkdir()
 * and rmdir() (the executable's definitions win over libc's for the code linked into it) to
 * log every write, mkdir and rmdir under the fake root in order, and to act like cgroupfs
 * where the code relies on it: mkdir creates a group's control files, cpu.max exists only
 * where the parent's cgroup.subtree_control has "+cpu", cgroup.threads refuses a thread
 * unless the group's cgroup.type is "threaded" (EOPNOTSUPP, as the kernel does), rmdir
 * removes a group with its control files. The tests assert the exact sequence of operations.
 * The fake does not model membership (cgroup.procs holds what was last written to it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "hb.h"

static char fake[PATH_MAX];	  /* the fake's directory ("" when off): v2/ and v1/ */
static char v2root[PATH_MAX + 8]; /* fake/v2 */
static char v1root[PATH_MAX + 8]; /* fake/v1 */
static char oplog[8192];	  /* "mkdir|rmdir|write PATH[ TEXT]\n"..., PATH from fake/ */
static char fail_at[256];	  /* a file (from fake/) whose writes fail with EINVAL */
static int quiet;		  /* the fake's own file setup: not logged */

/* The part of path below the fake's directory, or NULL when outside it (or the fake off). */
static const char *below(const char *path)
{
	size_t n = strlen(fake);

	if (!fake[0] || strncmp(path, fake, n) || path[n] != '/')
		return NULL;
	return path + n + 1;
}

static void logop(const char *op, const char *rel, const char *text, size_t n)
{
	size_t l = strlen(oplog);

	if (quiet)
		return;
	snprintf(oplog + l, sizeof(oplog) - l, "%s %s%s%.*s\n", op, rel, text ? " " : "",
		 text ? (int)n : 0, text ? text : "");
}

/* Creates dir/name holding text (not logged). */
static void mkfile(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* 1 when dir/name exists and holds word. */
static int holds(const char *dir, const char *name, const char *word)
{
	char p[PATH_MAX + 64], buf[256] = "";
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!(f = fopen(p, "re")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, word) != NULL;
}

/* The control files of a new group dir (its parent: parent) in hierarchy v1 or v2. */
static void control_files(const char *dir, const char *parent, int v1)
{
	quiet++;
	mkfile(dir, "cgroup.procs", "");
	if (v1) {
		mkfile(dir, "tasks", "");
		mkfile(dir, "cpu.cfs_period_us", "100000\n");
		mkfile(dir, "cpu.cfs_quota_us", "-1\n");
	} else {
		mkfile(dir, "cgroup.threads", "");
		mkfile(dir, "cgroup.type", "domain\n");
		mkfile(dir, "cgroup.subtree_control", "");
		mkfile(dir, "cgroup.controllers", "");
		if (parent && holds(parent, "cgroup.subtree_control", "cpu"))
			mkfile(dir, "cpu.max", "max 100000\n");
	}
	quiet--;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	char link[64], path[PATH_MAX], dir[PATH_MAX];
	const char *rel, *slash;
	ssize_t l;

	if (!fake[0])
		return syscall(SYS_write, fd, buf, n);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	l = readlink(link, path, sizeof(path) - 1);
	if (l <= 0)
		return syscall(SYS_write, fd, buf, n);
	path[l] = '\0';
	if (!(rel = below(path)))
		return syscall(SYS_write, fd, buf, n);
	logop("write", rel, buf, n);
	if (!strcmp(rel, fail_at)) {
		errno = EINVAL;
		return -1;
	}
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (!strcmp(slash, "/cgroup.threads") && !holds(dir, "cgroup.type", "threaded")) {
		errno = EOPNOTSUPP;
		return -1;
	}
	l = syscall(SYS_write, fd, buf, n);
	/* enabling cpu for the children makes their cpu.max appear */
	if (l > 0 && !strcmp(slash, "/cgroup.subtree_control") && memmem(buf, n, "+cpu", 4)) {
		DIR *d = opendir(dir);
		struct dirent *de;
		char sub[PATH_MAX + 256];
		struct stat st;
		assert_non_null(d);
		while ((de = readdir(d))) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
			if (de->d_name[0] != '.' && !lstat(sub, &st) && S_ISDIR(st.st_mode)) {
				quiet++;
				mkfile(sub, "cpu.max", "max 100000\n");
				quiet--;
			}
		}
		closedir(d);
	}
	return l;
}

int mkdir(const char *path, mode_t mode)
{
	const char *rel = below(path);
	char parent[PATH_MAX];
	int rc = mkdirat(AT_FDCWD, path, mode);

	if (!rel || rc)
		return rc;
	logop("mkdir", rel, NULL, 0);
	snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(path, '/') - path), path);
	control_files(path, parent, !strncmp(rel, "v1", 2) && (rel[2] == '/' || !rel[2]));
	return 0;
}

/* Like cgroupfs: a group goes with its control files (not with a child group). */
int rmdir(const char *path)
{
	const char *rel = below(path);
	DIR *d;
	struct dirent *de;
	char p[PATH_MAX + 256];
	struct stat st;

	if (rel && (d = opendir(path))) {
		logop("rmdir", rel, NULL, 0);
		while ((de = readdir(d))) {
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			if (!lstat(p, &st) && S_ISREG(st.st_mode))
				unlink(p);
		}
		closedir(d);
	}
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

/* A fake root: v2 with controllers ctl in its cgroup.controllers, v1 with the cpu files. */
static int setup(void **state)
{
	char tmpl[] = "/tmp/hb-cgfake-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, fake));
	snprintf(v2root, sizeof(v2root), "%s/v2", fake);
	snprintf(v1root, sizeof(v1root), "%s/v1", fake);
	quiet++;
	assert_int_equal(mkdir(v2root, 0755), 0);
	assert_int_equal(mkdir(v1root, 0755), 0);
	mkfile(v2root, "cgroup.controllers", "cpuset cpu io memory pids\n");
	quiet--;
	oplog[0] = fail_at[0] = '\0';
	hb_cgroup_test_mounts(v2root, "");
	return 0;
}

static int teardown(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	hb_cgroup_test_mounts(NULL, NULL);
	hb_strlcpy(dir, fake, sizeof(dir));
	fake[0] = '\0';
	hb_rmtree(dir);
	return 0;
}

/* The name of this process's group with tag under hierarchy h ("v2" or "v1"). */
static void group(char *buf, size_t len, const char *h, const char *tag)
{
	snprintf(buf, len, "%s/hvbench-%d-%s", h, (int)getpid(), tag);
}

/* cpu_limit on a VM: the process in the group without a quota, its vCPU threads in the
 * threaded child with it; the order of the writes is the kernel's (cgroup-v2 "Threads"). */
static void v2_threads(void **state)
{
	struct hb_cgroup cg;
	struct hb_err e = {0};
	const pid_t tids[] = {4243, 4244};
	char g[64], want[4096], p[PATH_MAX + 64];
	struct stat st;

	(void)state;
	group(g, sizeof(g), "v2", "vm");
	assert_int_equal(hb_cgroup_create(&cg, "vm", 0.25, 20000, &e), 0);
	assert_int_equal(cg.v2, 1);
	assert_string_equal(cg.root, v2root);
	snprintf(p, sizeof(p), "%s/%s", fake, g);
	assert_string_equal(cg.path, p);
	assert_int_equal(hb_cgroup_add_threads(&cg, 4242, tids, 2, &e), 0);
	assert_int_equal(cg.threaded, 1);
	hb_cgroup_destroy(&cg);
	assert_string_equal(cg.path, "");
	assert_int_not_equal(stat(p, &st), 0);
	snprintf(want, sizeof(want),
		 "write v2/cgroup.subtree_control +cpu\n"
		 "mkdir %s\n"
		 "write %s/cpu.max 5000 20000\n"
		 /* hb_cgroup_add_threads */
		 "write %s/cpu.max max\n"
		 "mkdir %s/threads\n"
		 "write %s/threads/cgroup.type threaded\n"
		 "write %s/cgroup.subtree_control +cpu\n"
		 "write %s/threads/cpu.max 5000 20000\n"
		 "write %s/cgroup.procs 4242\n"
		 "write %s/threads/cgroup.threads 4243\n"
		 "write %s/threads/cgroup.threads 4244\n"
		 /* hb_cgroup_destroy: the process back to the root, the groups gone */
		 "write v2/cgroup.procs 4242\n"
		 "rmdir %s/threads\n"
		 "rmdir %s\n",
		 g, g, g, g, g, g, g, g, g, g, g, g);
	assert_string_equal(oplog, want);
}

/* cpu_limit on a native worker: the whole process in the group with the quota. */
static void v2_process(void **state)
{
	struct hb_cgroup cg;
	struct hb_err e = {0};
	char g[64], want[1024];

	(void)state;
	group(g, sizeof(g), "v2", "w_1");
	assert_int_equal(hb_cgroup_create(&cg, "w/1", 1.5, 20000, &e), 0); /* '/' is no name char */
	assert_int_equal(hb_cgroup_add(&cg, 4242, &e), 0);
	assert_int_equal(cg.threaded, 0);
	hb_cgroup_destroy(&cg);
	hb_cgroup_destroy(&cg); /* safe to repeat */
	snprintf(want, sizeof(want),
		 "write v2/cgroup.subtree_control +cpu\n"
		 "mkdir %s\n"
		 "write %s/cpu.max 30000 20000\n"
		 "write %s/cgroup.procs 4242\n"
		 "write v2/cgroup.procs 4242\n"
		 "rmdir %s\n",
		 g, g, g, g);
	assert_string_equal(oplog, want);
}

/* The quota's rounding and its floor (1 ms, the kernel's least), the range of the cap. */
static void v2_quota(void **state)
{
	struct hb_cgroup cg;
	struct hb_err e = {0};
	char g[64], want[1024];

	(void)state;
	group(g, sizeof(g), "v2", "q");
	assert_int_equal(hb_cgroup_create(&cg, "q", 0.01, 20000, &e),
			 0); /* 200 us: raised to 1 ms */
	hb_cgroup_destroy(&cg);
	assert_int_equal(hb_cgroup_create(&cg, "q", 0.33333, 20000, &e), 0); /* 6666.6 us */
	hb_cgroup_destroy(&cg);
	snprintf(want, sizeof(want),
		 "write v2/cgroup.subtree_control +cpu\n"
		 "mkdir %s\n"
		 "write %s/cpu.max 1000 20000\n"
		 "rmdir %s\n"
		 "write v2/cgroup.subtree_control +cpu\n"
		 "mkdir %s\n"
		 "write %s/cpu.max 6667 20000\n"
		 "rmdir %s\n",
		 g, g, g, g, g, g);
	assert_string_equal(oplog, want);
	oplog[0] = '\0';
	assert_int_equal(hb_cgroup_create(&cg, "q", 0, 20000, &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "a cap of 0 CPUs is out of range"));
	assert_int_equal(hb_cgroup_create(&cg, "q", 1025, 20000, &e), HB_EINVAL);
	hb_err_clear(&e);
	assert_int_equal(hb_cgroup_create(&cg, "q", 0.5, 999, &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "a period of 999 us is out of range (1000..1000000 us)"));
	assert_int_equal(hb_cgroup_create(&cg, "q", 0.5, 1000001, &e), HB_EINVAL);
	assert_string_equal(oplog, "");
	/* period 0: the kernel's default period, 100 ms */
	assert_int_equal(hb_cgroup_create(&cg, "q", 0.5, 0, &e), 0);
	assert_int_equal(cg.period_us, 100000);
	hb_cgroup_destroy(&cg);
	snprintf(want, sizeof(want),
		 "write v2/cgroup.subtree_control +cpu\n"
		 "mkdir %s\n"
		 "write %s/cpu.max 50000 100000\n"
		 "rmdir %s\n",
		 g, g, g);
	assert_string_equal(oplog, want);
}

/* A cgroup2 root without the cpu controller (and no v1 one): unsupported, naming the file;
 * nothing is written. */
static void v2_no_cpu(void **state)
{
	struct hb_cgroup cg;
	struct hb_err e = {0};
	char want[PATH_MAX + 64];

	(void)state;
	quiet++;
	mkfile(v2root, "cgroup.controllers", "cpuset io memory pids\n");
	quiet--;
	assert_int_equal(hb_cgroup_probe(&cg, &e), HB_EUNSUPP);
	snprintf(want, sizeof(want), "%s/cgroup.controllers lacks \"cpu\"", v2root);
	assert_non_null(strstr(e.msg, want));
	hb_err_clear(&e);
	assert_int_equal(hb_cgroup_create(&cg, "vm", 0.5, 20000, &e), HB_EUNSUPP);
	assert_non_null(strstr(e.msg, want));
	assert_string_equal(cg.path, "");
	assert_string_equal(oplog, "");
}

/* A write the kernel refuses: the error names the file and the text, the sequence stops
 * there; a group whose quota cannot be set is removed again. */
static void v2_write_fails(void **state)
{
	struct hb_cgroup cg;
	struct hb_err e = {0};
	const pid_t tid = 4243, two[] = {4243, 4244};
	char g[64], want[2048], p[PATH_MAX + 64];
	struct stat st;

	(void)state;
	group(g, sizeof(g), "v2", "vm");
	assert_int_equal(hb_cgroup_create(&cg, "vm", 0.5, 20000, &e), 0);
	snprintf(fail_at, sizeof(fail_at), "%s/threads/cgroup.type", g);
	assert_int_equal(hb_cgroup_add_threads(&cg, 4242, &tid, 1, &e), HB_EIO);
	snprintf(want, sizeof(want), "cannot write \"threaded\" to %s/%s", fake, fail_at);
	assert_non_null(strstr(e.msg, want));
	assert_non_null(strstr(e.msg, strerror(EINVAL)));
	hb_cgroup_destroy(&cg);
	snprintf(want, sizeof(want),
		 "write v2/cgroup.subtree_control +cpu\n"
		 "mkdir %s\n"
		 "write %s/cpu.max 10000 20000\n"
		 "write %s/cpu.max max\n"
		 "mkdir %s/threads\n"
		 "write %s/threads/cgroup.type threaded\n"
		 "rmdir %s/threads\n"
		 "rmdir %s\n",
		 g, g, g, g, g, g, g);
	assert_string_equal(oplog, want);

	/* the root refuses "+cpu" for its children: no cpu.max in the group, which goes */
	oplog[0] = '\0';
	hb_err_clear(&e);
	quiet++;
	mkfile(v2root, "cgroup.subtree_control", ""); /* cpu off again (on since the above) */
	quiet--;
	hb_strlcpy(fail_at, "v2/cgroup.subtree_control", sizeof(fail_at));
	assert_int_equal(hb_cgroup_create(&cg, "vm", 0.5, 20000, &e), HB_EIO);
	snprintf(p, sizeof(p), "%s/%s", fake, g);
	snprintf(want, sizeof(want), "cannot write \"+cpu\" to %s/cgroup.subtree_control: %s",
		 v2root, strerror(EINVAL));
	assert_non_null(strstr(e.msg, want));
	snprintf(want, sizeof(want), "cannot open %s/cpu.max", p);
	assert_non_null(strstr(e.msg, want));
	assert_string_equal(cg.path, "");
	assert_int_not_equal(stat(p, &st), 0);

	/* a thread that is gone (ESRCH from the kernel; EINVAL here): named, no further one */
	oplog[0] = '\0';
	hb_err_clear(&e);
	snprintf(fail_at, sizeof(fail_at), "%s/threads/cgroup.threads", g);
	assert_int_equal(hb_cgroup_create(&cg, "vm", 0.5, 20000, &e), 0);
	assert_int_equal(hb_cgroup_add_threads(&cg, 4242, two, 2, &e), HB_EIO);
	snprintf(want, sizeof(want), "cannot write \"4243\" to %s/%s", fake, fail_at);
	assert_non_null(strstr(e.msg, want));
	snprintf(want, sizeof(want), "write %s/threads/cgroup.threads 4243\n", g);
	assert_non_null(strstr(oplog, want));
	assert_null(strstr(oplog, "4244"));
	hb_cgroup_destroy(&cg);
	assert_string_equal(cg.path, "");
}

/* hb_cgroup_cleanup_stale: a dead process's group goes (its processes to the root, its
 * threaded child first), a live process's stays, other directories are not touched. */
static void v2_cleanup_stale(void **state)
{
	char stale[PATH_MAX + 64], live[PATH_MAX + 64], init[PATH_MAX + 64], other[PATH_MAX + 64];
	char sub[PATH_MAX + 80], want[512];
	struct stat st;

	(void)state;
	/* INT_MAX is above any pid_max (at most 2^22): no such process */
	snprintf(stale, sizeof(stale), "%s/hvbench-%d-vm", v2root, INT_MAX);
	snprintf(live, sizeof(live), "%s/hvbench-%d-vm", v2root, (int)getpid());
	snprintf(init, sizeof(init), "%s/hvbench-1-vm", v2root);
	snprintf(other, sizeof(other), "%s/hvbench-x-vm", v2root);
	snprintf(sub, sizeof(sub), "%s/threads", stale);
	assert_int_equal(mkdir(stale, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(live, 0755), 0);
	assert_int_equal(mkdir(init, 0755), 0);
	assert_int_equal(mkdir(other, 0755), 0);
	quiet++;
	mkfile(stale, "cgroup.procs", "31337\n");
	quiet--;
	oplog[0] = '\0';
	hb_cgroup_cleanup_stale();
	snprintf(stale, sizeof(stale), "hvbench-%d-vm", INT_MAX);
	snprintf(want, sizeof(want),
		 "write v2/cgroup.procs 31337\n"
		 "rmdir v2/%s/threads\n"
		 "rmdir v2/%s\n",
		 stale, stale);
	assert_string_equal(oplog, want);
	assert_int_equal(stat(live, &st), 0);
	assert_int_equal(stat(init, &st), 0);
	assert_int_equal(stat(other, &st), 0);
}

/* v1: the quota in cfs_period_us/cfs_quota_us, the threads alone in tasks. */
static void v1_threads(void **state)
{
	struct hb_cgroup cg;
	struct hb_err e = {0};
	const pid_t tids[] = {4243, 4244};
	char g[64], want[1024];

	(void)state;
	hb_cgroup_test_mounts("", v1root);
	group(g, sizeof(g), "v1", "vm");
	assert_int_equal(hb_cgroup_create(&cg, "vm", 0.5, 20000, &e), 0);
	assert_int_equal(cg.v2, 0);
	assert_int_equal(hb_cgroup_add_threads(&cg, 4242, tids, 2, &e), 0);
	hb_cgroup_destroy(&cg);
	snprintf(want, sizeof(want),
		 "mkdir %s\n"
		 "write %s/cpu.cfs_period_us 20000\n"
		 "write %s/cpu.cfs_quota_us 10000\n"
		 "write %s/tasks 4243\n"
		 "write %s/tasks 4244\n"
		 "rmdir %s\n",
		 g, g, g, g, g, g);
	assert_string_equal(oplog, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(v2_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(v2_process, setup, teardown),
		cmocka_unit_test_setup_teardown(v2_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(v2_no_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(v2_write_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(v2_cleanup_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(v1_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
