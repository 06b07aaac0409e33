/*
 * test_procstat.c — lib/procstat's /proc/PID/stat reading (the VMM's boot_cpu figure and the
 * proc probe's CPU time): the parser on known lines (a command name holding spaces and
 * parentheses, short and malformed lines), then the live read of this process: the CPU time
 * a helper thread burned is counted (every thread, as QEMU's vCPU threads must be), matching
 * the kernel's process CPU clock within two clock ticks; a pid that cannot exist is HB_EIO.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "procstat.h"

static void parse_known(void **state)
{
	(void)state;
	struct hb_pid_ticks t;
	/* fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime ... */
	const char *line = "4242 (qemu) (x y)) S 17 4242 4242 0 -1 4194560 100 0 0 0 "
			   "1234 567 8 9 20 0 3 0 12345 1000000 100\n";

	assert_int_equal(hb_pidstat_parse(line, &t), 0);
	assert_int_equal(t.ppid, 17);
	assert_int_equal(t.utime, 1234);
	assert_int_equal(t.stime, 567);
	assert_int_equal(t.cutime, 8);
	assert_int_equal(t.cstime, 9);
	/* exactly up to cstime is enough */
	assert_int_equal(hb_pidstat_parse("1 (a) R 0 1 1 0 -1 0 0 0 0 0 5 6 7 8", &t), 0);
	assert_int_equal(t.utime + t.stime + t.cutime + t.cstime, 26);
}

static void parse_bad(void **state)
{
	(void)state;
	struct hb_pid_ticks t;

	assert_int_equal(hb_pidstat_parse("", &t), HB_EPROTO);
	assert_int_equal(hb_pidstat_parse("1 a R 0 1 1 0 -1 0 0 0 0 0 5 6 7 8", &t), HB_EPROTO);
	assert_int_equal(hb_pidstat_parse("1 (a) R 0 1 1 0 -1 0 0 0 0 0 5 6 7\n", &t),
			 HB_EPROTO); /* no cstime */
	assert_int_equal(hb_pidstat_parse("1 (a) R 0 1 1 0 -1 0 0 0 0 0 5 x 7 8", &t), HB_EPROTO);
}

static double cpu_clock(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *burn(void *arg)
{
	volatile unsigned long x = 0;

	(void)arg;
	while (cpu_clock(CLOCK_THREAD_CPUTIME_ID) < 0.3)
		x++;
	return NULL;
}

static void live_read(void **state)
{
	(void)state;
	pthread_t th;
	double before, after, s = -1, tick = 1.0 / (double)sysconf(_SC_CLK_TCK);

	assert_int_equal(pthread_create(&th, NULL, burn, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	before = cpu_clock(CLOCK_PROCESS_CPUTIME_ID);
	assert_int_equal(hb_pidstat_cpu_s(getpid(), &s), 0);
	after = cpu_clock(CLOCK_PROCESS_CPUTIME_ID);
	assert_true(before >= 0.3);	     /* the thread's time is the process's */
	assert_true(s >= before - 2 * tick); /* ... and /proc counts it too */
	assert_true(s <= after + 2 * tick);
	assert_int_equal(hb_pidstat_cpu_s((pid_t)0x7fffffff, &s), HB_EIO); /* > pid_max */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_known),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(live_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
