/*
 * test_cgroup.c — the CPU cap on some threads of a process only (what `cpu_limit` does to a
 * VM's vCPU threads): a spinning thread of this test process is capped, the main thread is
 * not; the capped thread never gets more CPU than its quota (an upper bound: it holds on a
 * loaded host too); the group is gone after hb_cgroup_destroy, the test process back where it
 * was. Needs root and a cgroup hierarchy with the cpu controller (else SKIP).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "hb.h"

struct spinner {
	pthread_t th;
	atomic_int tid, go, quit;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;
	volatile uint64_t x = 1;

	atomic_store(&s->tid, (int)syscall(SYS_gettid));
	while (!atomic_load(&s->go))
		usleep(1000);
	while (!atomic_load(&s->quit))
		x = x * 6364136223846793005ULL + 1;
	return NULL;
}

/* utime + stime of thread tid of this process, seconds (clock ticks). */
static double thread_cpu(int tid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "re");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	assert_non_null(p);
	/* fields 3..13 skipped, 14 utime, 15 stime */
	assert_int_equal(
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st),
		2);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* 1 when /proc/self/task/tid/cgroup names a group whose path contains needle. */
static int in_group(int tid, const char *needle)
{
	char path[64], line[1024];
	FILE *f;
	int hit = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/cgroup", tid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			hit = 1;
	fclose(f);
	return hit;
}

static void threads_only(void **state)
{
	struct hb_cgroup cg;
	struct hb_err e = {0};
	struct spinner s;
	char name[64], sub[PATH_MAX + 32];
	pid_t tid;
	double c0, c1, t0, t1;
	struct stat st;

	(void)state;
	if (geteuid() != 0 || hb_cgroup_probe(&cg, &e)) {
		print_message("SKIP: no writable cgroup hierarchy with the cpu controller: %s\n",
			      geteuid() ? "needs root" : e.msg);
		skip();
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(pthread_create(&s.th, NULL, spin, &s), 0);
	while (!atomic_load(&s.tid))
		usleep(1000);
	tid = (pid_t)atomic_load(&s.tid);
	assert_int_equal(hb_cgroup_create(&cg, "test-threads", 0.2, 20000, &e), 0);
	snprintf(name, sizeof(name), "hvbench-%d-test-threads", (int)getpid());
	assert_non_null(strstr(cg.path, name));
	if (hb_cgroup_add_threads(&cg, getpid(), &tid, 1, &e)) {
		hb_cgroup_destroy(&cg);
		fail_msg("hb_cgroup_add_threads: %s", e.msg);
	}
	assert_int_equal(cg.threaded, 1);
	/* the spinner is in the capped group (v2: its threaded child), the main thread not in
	 * a capped one */
	if (cg.v2) {
		snprintf(sub, sizeof(sub), "%s/" HB_CGROUP_THREADS, name);
		assert_true(in_group(tid, sub));
		assert_false(in_group((int)getpid(), sub));
		assert_true(in_group((int)getpid(), name));
	} else {
		assert_true(in_group(tid, name));
		assert_false(in_group((int)getpid(), name));
	}
	/* the cap: 0.2 CPU over 20 ms periods; 1 s of spinning gets at most 0.2 s (+ a tick
	 * of accounting and part of a 5 ms slice) however idle or busy the host is */
	c0 = thread_cpu(tid);
	t0 = hb_now();
	atomic_store(&s.go, 1);
	hb_sleep(1.0, NULL);
	c1 = thread_cpu(tid);
	t1 = hb_now();
	atomic_store(&s.quit, 1);
	pthread_join(s.th, NULL);
	print_message("capped thread: %.3f CPU-s in %.3f s\n", c1 - c0, t1 - t0);
	assert_true(c1 - c0 <= 0.2 * (t1 - t0) + 0.03);
	hb_cgroup_destroy(&cg);
	assert_int_equal(cg.path[0], '\0');
	snprintf(sub, sizeof(sub), "%s/%s", cg.root, name);
	assert_int_not_equal(stat(sub, &st), 0);
	assert_false(in_group((int)getpid(), name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
