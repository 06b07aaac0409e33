/*
 * test_probes.c — the probe framework and the pfm/proc probes on real processes: a forked
 * child (and its own child) burning a known amount of CPU is measured by perf task-clock and by
 * /proc within 10% of its own getrusage figure, whether the runner reaps it before or after the
 * probes stop; per-thread counting sees a thread created before the counters were opened (which
 * pid+inherit misses); RSS sampling sees memory a child touches; hardware events that cannot be
 * opened are listed with their reason while software events still count; option validation
 * (unknown probe -> "did you mean"); the derived figures on known inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <perfmon/pfmlib_perf_event.h>

#include "hb.h"
#include "probe.h"

#define BURN_S 0.5

/* ---- helpers ---- */

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static double cpu_of(int who)
{
	struct rusage r;

	getrusage(who, &r);
	return tv_s(&r.ru_utime) + tv_s(&r.ru_stime);
}

static void spin_until_self(double s)
{
	while (cpu_of(RUSAGE_SELF) < s) {
		volatile unsigned x = 0;
		unsigned i;
		for (i = 0; i < 200000; i++)
			x += i;
	}
}

/* Reads exactly len bytes within timeout seconds; 0 or -1. */
static int read_full(int fd, void *buf, size_t len, double timeout)
{
	double end = hb_now() + timeout;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {fd, POLLIN, 0};
		double left = end - hb_now();
		ssize_t r;
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return -1;
		r = read(fd, (char *)buf + got, len - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void kill_reap(pid_t pid)
{
	int st, i;

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	for (i = 0; i < 500; i++) {
		if (waitpid(pid, &st, WNOHANG) != 0)
			return;
		usleep(10000);
	}
}

/* Reaps pid within timeout seconds (it is about to exit); 0 or -1. */
static int reap(pid_t pid, double timeout)
{
	double end = hb_now() + timeout;
	int st;

	while (hb_now() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		usleep(2000);
	}
	return -1;
}

static const json_t *pinfo(const struct hb_sample *s, const char *probe)
{
	return json_object_get(json_object_get(s->info, "probes"), probe);
}

static double metric(const struct hb_sample *s, const char *name)
{
	const struct hb_metric *m = hb_sample_get(s, name);

	if (!m) {
		fprintf(stderr, "metric %s missing\n", name);
		return NAN;
	}
	return m->value;
}

static void assert_within(double got, double want, double frac, const char *what)
{
	if (!(fabs(got - want) <= frac * want))
		fail_msg("%s: got %.4f, want %.4f within %.0f%%", what, got, want, frac * 100);
}

static struct hb_probe_set *new_set(const char *cfg_text)
{
	struct hb_probe_set *ps = NULL;
	struct hb_err e = {0};
	json_t *cfg = cfg_text ? json_loads(cfg_text, 0, NULL) : NULL;

	if (cfg_text)
		assert_non_null(cfg);
	if (hb_probeset_new(cfg, &ps, &e))
		fail_msg("probeset_new(%s): %s", cfg_text ? cfg_text : "NULL", e.msg);
	json_decref(cfg);
	return ps;
}

/* ---- validation ---- */

static void test_unknown_probe_suggests(void **state)
{
	struct hb_probe_set *ps = NULL;
	struct hb_err e = {0};
	json_t *cfg = json_pack("{s:{}}", "pfmm");

	(void)state;
	assert_int_equal(hb_probeset_new(cfg, &ps, &e), HB_EINVAL);
	assert_null(ps);
	assert_non_null(strstr(e.msg, "unknown probe \"pfmm\" (did you mean \"pfm\"?)"));
	hb_err_clear(&e);
	assert_int_equal(hb_probes_validate(cfg, "profile: probes", &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "profile: probes: unknown probe \"pfmm\""));
	json_decref(cfg);

	/* An unknown option of a known probe suggests too. */
	hb_err_clear(&e);
	cfg = json_pack("{s:{s:[s]}}", "pfm", "event", "cycles");
	assert_int_equal(hb_probes_validate(cfg, "probes", &e), HB_EINVAL);
	assert_non_null(
		strstr(e.msg, "probes.pfm: unknown key \"event\" (did you mean \"events\"?)"));
	json_decref(cfg);

	/* A list of events validates; a non-string entry does not. */
	hb_err_clear(&e);
	cfg = json_pack("{s:{s:[s, s]}, s:b, s:{}}", "pfm", "events", "cycles", "perf::TASK-CLOCK",
			"proc", 0, "kvmstat");
	assert_int_equal(hb_probes_validate(cfg, "probes", &e), 0);
	json_decref(cfg);
	cfg = json_pack("{s:{s:[i]}}", "pfm", "events", 3);
	assert_int_equal(hb_probes_validate(cfg, "probes", &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "\"events\"[0] must be a non-empty string"));
	json_decref(cfg);
	hb_err_clear(&e);
	cfg = json_pack("{s:i}", "proc", 3);
	assert_int_equal(hb_probes_validate(cfg, "probes", &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "probes.proc: must be an object of options, true or false"));
	json_decref(cfg);
	hb_err_clear(&e);
	cfg = json_pack("{s:{s:i}}", "proc", "interval_ms", 1);
	assert_int_equal(hb_probes_validate(cfg, "probes", &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "interval_ms"));
	json_decref(cfg);
	/* NULL means every probe with defaults. */
	assert_int_equal(hb_probes_validate(NULL, "probes", &e), 0);
}

/* ---- a child that burns a known amount of CPU ---- */

/*
 * The child waits for "go", forks a grandchild that burns BURN_S/2, reaps it, burns BURN_S/2
 * itself, and reports its own figure (self + reaped children, getrusage) through the pipe.
 */
static pid_t burner(int *resfd, int *gofd)
{
	int go[2], res[2];
	pid_t pid;

	if (pipe(go) || pipe(res))
		return -1;
	pid = fork();
	if (pid == 0) {
		char c;
		double fig, base;
		pid_t g;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		close(res[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		g = fork();
		if (g == 0) {
			spin_until_self(BURN_S / 2);
			_exit(0);
		}
		while (waitpid(g, NULL, 0) < 0 && errno == EINTR)
			;
		base = cpu_of(RUSAGE_SELF);
		spin_until_self(base + BURN_S / 2);
		fig = cpu_of(RUSAGE_SELF) + cpu_of(RUSAGE_CHILDREN);
		if (write(res[1], &fig, sizeof(fig)) != (ssize_t)sizeof(fig))
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	*resfd = res[0];
	*gofd = go[1];
	return pid;
}

static int pmu_present(void)
{
	struct perf_event_attr a;
	pfm_perf_encode_arg_t arg;
	int fd;

	if (pfm_initialize() != PFM_SUCCESS)
		return 0;
	memset(&a, 0, sizeof(a));
	memset(&arg, 0, sizeof(arg));
	a.size = sizeof(a);
	arg.attr = &a;
	arg.size = sizeof(arg);
	if (pfm_get_os_event_encoding("cycles", PFM_PLM3, PFM_OS_PERF_EVENT, &arg) != PFM_SUCCESS)
		return 0;
	fd = (int)syscall(__NR_perf_event_open, &a, 0, -1, -1, 0);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* reap_first: the runner reaps the worker before stopping the probes (as be_native does). */
static void burn_and_measure(int reap_first)
{
	struct hb_probe_set *ps = new_set(NULL);
	struct hb_probe_target t;
	struct hb_err e = {0};
	struct hb_sample s;
	int resfd = -1, gofd = -1;
	double fig = 0, task, cpu;
	pid_t pid = burner(&resfd, &gofd);
	const char *method;

	assert_true(pid > 0);
	hb_sample_init(&s);
	memset(&t, 0, sizeof(t));
	t.pid = pid;
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	if (write(gofd, "g", 1) != 1 || read_full(resfd, &fig, sizeof(fig), 30)) {
		kill_reap(pid);
		fail_msg("burner did not report");
	}
	if (reap_first) {
		assert_int_equal(reap(pid, 10), 0);
		hb_probeset_stop(ps);
	} else {
		/* Wait until it has exited (a zombie), then stop before reaping. */
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
		hb_probeset_stop(ps);
		assert_int_equal(reap(pid, 10), 0);
	}
	hb_probeset_read(ps, &s, 0);
	close(resfd);
	close(gofd);
	hb_probeset_free(ps);

	assert_true(fig >= BURN_S);
	task = metric(&s, "pfm.task_clock_s");
	cpu = metric(&s, "proc.cpu_s");
	print_message("child's own figure %.3f s; pfm.task_clock_s %.3f; proc.cpu_s %.3f (%s)\n",
		      fig, task, cpu, reap_first ? "reaped first" : "zombie");
	assert_within(task, fig, 0.10, "pfm.task_clock_s vs the child's getrusage");
	assert_within(cpu, fig, 0.10, "proc.cpu_s vs the child's getrusage");
	assert_within(metric(&s, "proc.user_s") + metric(&s, "proc.sys_s"), cpu, 0.001,
		      "user + sys");
	method = json_string_value(json_object_get(pinfo(&s, "proc"), "cpu_method"));
	assert_non_null(method);
	assert_non_null(
		strstr(method, reap_first ? "getrusage(RUSAGE_CHILDREN)" : "/proc/PID/stat"));
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "pfm"), "mode")),
			    "worker pid, inherit=1");
	/* The compact summary for results.json carries the same statuses and reasons. */
	{
		json_t *sum = hb_probe_summary(&s);
		assert_non_null(sum);
		assert_int_equal(json_object_size(sum), 4); /* pfm, proc, kvmstat, domstats */
		char why[256];
		if (hb_probe_find("kvmstat")->supported(why, sizeof(why)) == 0)
			assert_string_equal(json_string_value(json_object_get(
						    json_object_get(sum, "kvmstat"), "reason")),
					    "native target: no KVM statistics");
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(sum, "proc"), "status")),
			"ok");
		assert_null(json_object_get(sum, "derived"));
		if (!pmu_present())
			assert_true(json_array_size(json_object_get(json_object_get(sum, "pfm"),
								    "unavailable")) >= 4);
		json_decref(sum);
	}
	/* Native target: kvmstat says why it has nothing. */
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "kvmstat"), "status")),
			    "unavailable");
	assert_non_null(json_string_value(json_object_get(pinfo(&s, "kvmstat"), "reason")));

	/* Hardware events: unavailable here with the reason; software ones counted anyway. */
	if (pmu_present()) {
		print_message("note: this machine has a hardware PMU; the 'cycles unavailable' "
			      "assertion is skipped\n");
		assert_true(metric(&s, "pfm.cycles") > 0);
	} else {
		const json_t *un = json_object_get(pinfo(&s, "pfm"), "unavailable"), *it;
		size_t i;
		int seen = 0;
		json_array_foreach (un, i, it) {
			if (!strcmp(json_string_value(json_object_get(it, "event")), "cycles")) {
				seen = 1;
				assert_string_equal(
					json_string_value(json_object_get(it, "reason")),
					"perf_event_open: ENOENT — no hardware PMU (virtualized "
					"host?)");
			}
		}
		assert_true(seen);
		assert_null(hb_sample_get(&s, "pfm.cycles"));
		assert_string_equal(json_string_value(json_object_get(pinfo(&s, "pfm"), "status")),
				    "partial");
		assert_true(metric(&s, "pfm.context_switches") >= 0);
		assert_true(metric(&s, "pfm.page_faults") > 0); /* the fork alone faults pages */
	}
	hb_sample_free(&s);
}

static void test_burn_reaped_first(void **state)
{
	(void)state;
	burn_and_measure(1);
}

static void test_burn_zombie(void **state)
{
	(void)state;
	burn_and_measure(0);
}

/* ---- a thread created before the counters were opened ---- */

struct spinner {
	int go, res;
};

static void *spin_thread(void *arg)
{
	struct spinner *sp = arg;
	struct timespec a, b;
	double d;
	char c;

	if (read(sp->go, &c, 1) != 1)
		return NULL;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do {
		volatile unsigned x = 0;
		unsigned i;
		for (i = 0; i < 200000; i++)
			x += i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		d = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	} while (d < BURN_S);
	if (write(sp->res, &d, sizeof(d)) != (ssize_t)sizeof(d))
		return NULL;
	for (;;)
		pause();
	return NULL;
}

static void test_thread_before_open(void **state)
{
	int go[2], res[2];
	pid_t pid, tid = 0;
	double fig = 0, vcpu, other, whole;
	struct hb_probe_set *vm = new_set("{\"pfm\": {}}");
	struct hb_probe_set *nat = new_set("{\"pfm\": {}}");
	struct hb_probe_target tv, tn;
	struct hb_sample sv, sn;
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(res), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Main thread: start the spinner (blocked on go), report its tid, then sleep. */
		struct spinner sp = {go[0], res[1]};
		pthread_t th;
		pid_t mine;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (pthread_create(&th, NULL, spin_thread, &sp))
			_exit(1);
		for (;;) {
			/* The spinner's tid: the one task that is not us. */
			char path[64];
			long t;
			for (t = getpid() + 1; t < getpid() + 64; t++) {
				hb_snprintf(path, sizeof(path), "/proc/self/task/%ld", t);
				if (access(path, F_OK) == 0)
					break;
			}
			mine = (pid_t)t;
			if (t < getpid() + 64)
				break;
			usleep(1000);
		}
		if (write(res[1], &mine, sizeof(mine)) != (ssize_t)sizeof(mine))
			_exit(1);
		for (;;)
			pause();
	}
	if (read_full(res[0], &tid, sizeof(tid), 10)) {
		kill_reap(pid);
		fail_msg("child did not report its thread id");
	}
	hb_sample_init(&sv);
	hb_sample_init(&sn);
	/* VM-style: one counter per existing thread, the spinner as a "vCPU". */
	memset(&tv, 0, sizeof(tv));
	tv.pid = pid;
	tv.is_vm = 1;
	tv.ntids = 1;
	tv.tids[0] = tid;
	/* Native-style on the same process: pid + inherit, which misses the existing thread. */
	memset(&tn, 0, sizeof(tn));
	tn.pid = pid;
	assert_int_equal(hb_probeset_start(vm, &tv, &e), 0);
	assert_int_equal(hb_probeset_start(nat, &tn, &e), 0);
	if (write(go[1], "g", 1) != 1 || read_full(res[0], &fig, sizeof(fig), 30)) {
		kill_reap(pid);
		fail_msg("spinner did not report");
	}
	hb_probeset_stop(vm);
	hb_probeset_stop(nat);
	hb_probeset_read(vm, &sv, 0);
	hb_probeset_read(nat, &sn, 0);
	kill_reap(pid);
	hb_probeset_free(vm);
	hb_probeset_free(nat);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);

	vcpu = metric(&sv, "pfm.vcpu.task_clock_s");
	other = metric(&sv, "pfm.vmm_other.task_clock_s");
	whole = metric(&sn, "pfm.task_clock_s");
	print_message("thread's own figure %.3f s; per-thread vcpu %.3f, other %.3f; "
		      "pid+inherit %.3f\n",
		      fig, vcpu, other, whole);
	assert_within(vcpu, fig, 0.10, "per-TID counter of the pre-existing thread");
	assert_true(other < 0.05);
	assert_within(metric(&sv, "pfm.task_clock_s"), vcpu + other, 0.001, "total = vcpu + other");
	assert_int_equal(json_integer_value(json_object_get(pinfo(&sv, "pfm"), "threads")), 2);
	assert_int_equal(json_integer_value(json_object_get(pinfo(&sv, "pfm"), "vcpu_threads")), 1);
	/* The contrast that motivates per-TID counting. */
	assert_true(whole < 0.05);
	hb_sample_free(&sv);
	hb_sample_free(&sn);
}

/* A thread created AFTER the per-thread counters opened (QEMU's thread pool does this) is
 * counted through inherit, while it is still alive at read time. */
static void test_thread_after_open(void **state)
{
	int go[2], res[2];
	pid_t pid;
	double fig = 0, got;
	struct hb_probe_set *ps = new_set("{\"pfm\": {}}");
	struct hb_probe_target t;
	struct hb_sample s;
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(res), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct spinner sp = {go[0], res[1]};
		pthread_t th;
		char c;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		/* Now create the thread, and let it go at once (a second "g" is already queued). */
		if (pthread_create(&th, NULL, spin_thread, &sp))
			_exit(1);
		for (;;)
			pause();
	}
	memset(&t, 0, sizeof(t));
	t.pid = pid;
	t.is_vm = 1; /* per-thread mode, no vCPU thread */
	hb_sample_init(&s);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	if (write(go[1], "gg", 2) != 2 || read_full(res[0], &fig, sizeof(fig), 30)) {
		kill_reap(pid);
		fail_msg("spinner did not report");
	}
	hb_probeset_read(ps, &s, 0); /* the thread is still alive (in pause) */
	kill_reap(pid);
	hb_probeset_free(ps);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);
	got = metric(&s, "pfm.task_clock_s");
	print_message(
		"thread created after open: own figure %.3f s, counted %.3f s, created %lld\n", fig,
		got,
		json_integer_value(
			json_object_get(pinfo(&s, "pfm"), "threads_created_during_run")));
	assert_within(got, fig, 0.10, "inherited thread's task clock");
	assert_int_equal(
		json_integer_value(json_object_get(pinfo(&s, "pfm"), "threads_created_during_run")),
		1);
	assert_null(hb_sample_get(&s, "pfm.vcpu.task_clock_s")); /* no vCPU tid given */
	hb_sample_free(&s);
}

/* Short-lived threads created and joined during the run (a thread pool's churn) are folded into
 * the per-thread counters when they exit. */
static void *short_spin(void *arg)
{
	struct timespec a, b;
	double d;

	(void)arg;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do {
		volatile unsigned x = 0;
		unsigned i;
		for (i = 0; i < 20000; i++)
			x += i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		d = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	} while (d < 0.025);
	return NULL;
}

static void test_thread_churn(void **state)
{
	int go[2], res[2];
	pid_t pid;
	double fig = 0, got;
	struct hb_probe_set *ps = new_set("{\"pfm\": {}, \"proc\": {}}");
	struct hb_probe_target t;
	struct hb_sample s;
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(res), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		double c0;
		int i;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		c0 = cpu_of(RUSAGE_SELF);
		for (i = 0; i < 20; i++) {
			pthread_t th;
			if (pthread_create(&th, NULL, short_spin, NULL) || pthread_join(th, NULL))
				_exit(1);
		}
		fig = cpu_of(RUSAGE_SELF) - c0;
		if (write(res[1], &fig, sizeof(fig)) != (ssize_t)sizeof(fig))
			_exit(1);
		for (;;)
			pause();
	}
	memset(&t, 0, sizeof(t));
	t.pid = pid;
	t.is_vm = 1;
	hb_sample_init(&s);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	if (write(go[1], "g", 1) != 1 || read_full(res[0], &fig, sizeof(fig), 30)) {
		kill_reap(pid);
		fail_msg("churner did not report");
	}
	hb_probeset_read(ps, &s, 0);
	kill_reap(pid);
	hb_probeset_free(ps);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);
	got = metric(&s, "pfm.task_clock_s");
	print_message("20 short threads: own figure %.3f s, pfm %.3f s, proc %.3f s\n", fig, got,
		      metric(&s, "proc.cpu_s"));
	assert_within(got, fig, 0.10, "task clock of threads that came and went");
	assert_within(metric(&s, "proc.cpu_s"), fig, 0.10, "proc of threads that came and went");
	hb_sample_free(&s);
}

/* ---- RSS/PSS sampling ---- */

/* A thread that burns `want` seconds of its own CPU, then stays alive until told to quit. */
struct burner {
	double want, got;
	_Atomic int tid, done, quit;
};

static double thread_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *burn(void *arg)
{
	struct burner *b = arg;
	volatile uint64_t x = 1;
	double t0;

	b->tid = (int)syscall(SYS_gettid);
	while (!b->done) /* done: 1 = go */
		hb_sleep(0.001, NULL);
	t0 = thread_cpu_now();
	while (thread_cpu_now() - t0 < b->want)
		x = x * 6364136223846793005ULL + 1;
	b->got = thread_cpu_now() - t0;
	b->done = 2;
	while (!b->quit)
		hb_sleep(0.001, NULL);
	return NULL;
}

/* proc.vcpu_s counts the named (vCPU) threads alone; proc.cpu_s the whole process. */
static void test_vcpu_threads(void **state)
{
	struct hb_probe_set *ps = new_set("{\"proc\": {}}");
	struct hb_probe_target t;
	struct hb_sample s;
	struct hb_err e = {0};
	struct burner b = {.want = 0.3};
	pthread_t th;
	volatile uint64_t x = 1;
	double t0, mine, vcpu, cpu;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, burn, &b), 0);
	while (!b.tid)
		hb_sleep(0.001, NULL);
	memset(&t, 0, sizeof(t));
	t.pid = getpid();
	t.is_vm = 1;
	t.tids[0] = (pid_t)b.tid;
	t.ntids = 1;
	hb_sample_init(&s);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	b.done = 1;
	/* this (not named) thread burns as much CPU as the named one */
	t0 = thread_cpu_now();
	while (thread_cpu_now() - t0 < 0.3)
		x = x * 6364136223846793005ULL + 1;
	mine = thread_cpu_now() - t0;
	while (b.done != 2)
		hb_sleep(0.001, NULL);
	hb_probeset_stop(ps);
	hb_probeset_read(ps, &s, 0);
	b.quit = 1;
	pthread_join(th, NULL);
	hb_probeset_free(ps);
	vcpu = metric(&s, "proc.vcpu_s");
	cpu = metric(&s, "proc.cpu_s");
	print_message(
		"named thread %.3f s, this thread %.3f s; proc.vcpu_s %.3f, proc.cpu_s %.3f\n",
		b.got, mine, vcpu, cpu);
	/* the accounting is in 10 ms ticks, read twice */
	if (!(fabs(vcpu - b.got) <= 0.03))
		fail_msg("proc.vcpu_s %.3f, the named thread burnt %.3f", vcpu, b.got);
	assert_true(cpu >= b.got + mine - 0.03);
	assert_int_equal(json_integer_value(json_object_get(pinfo(&s, "proc"), "vcpu_threads")), 1);
	hb_sample_free(&s);
}

static void test_rss_sampled(void **state)
{
	int go[2], res[2];
	pid_t pid;
	char c;
	struct hb_probe_set *ps = new_set("{\"proc\": {\"interval_ms\": 20}}");
	struct hb_probe_target t;
	struct hb_sample s;
	struct hb_err e = {0};
	double peak, mean;

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(res), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		volatile char *m;
		size_t i;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		m = malloc(64 << 20); /* volatile: the compiler may not drop the touching */
		if (!m)
			_exit(1);
		for (i = 0; i < (64u << 20); i += 4096)
			m[i] = 1;
		if (write(res[1], "d", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	hb_sample_init(&s);
	memset(&t, 0, sizeof(t));
	t.pid = pid;
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	if (write(go[1], "g", 1) != 1 || read_full(res[0], &c, 1, 10)) {
		kill_reap(pid);
		fail_msg("child did not allocate");
	}
	hb_sleep(0.2, NULL);
	hb_probeset_read(ps, &s, 0);
	kill_reap(pid);
	hb_probeset_free(ps);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);

	peak = metric(&s, "proc.rss_peak_mib");
	mean = metric(&s, "proc.pss_mean_mib");
	print_message("rss peak %.1f MiB, pss peak %.1f, pss mean %.1f, samples %lld\n", peak,
		      metric(&s, "proc.pss_peak_mib"), mean,
		      json_integer_value(json_object_get(pinfo(&s, "proc"), "mem_samples")));
	assert_true(peak >= 64.0 && peak < 64.0 + 32.0);
	assert_true(metric(&s, "proc.pss_peak_mib") >= 64.0);
	assert_true(mean <
		    metric(&s, "proc.pss_peak_mib")); /* the first sample was before malloc */
	assert_true(json_integer_value(json_object_get(pinfo(&s, "proc"), "mem_samples")) >= 5);
	assert_non_null(hb_sample_get(&s, "proc.memavail_delta_mib"));
	hb_sample_free(&s);
}

/* ---- a target that is gone ---- */

static void test_missing_target_not_fatal(void **state)
{
	struct hb_probe_set *ps = new_set(NULL);
	struct hb_probe_target t;
	struct hb_sample s;
	struct hb_err e = {0};
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(reap(pid, 10), 0); /* a pid that surely does not exist now */
	memset(&t, 0, sizeof(t));
	t.pid = pid;
	hb_sample_init(&s);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_read(ps, &s, 0);
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "pfm"), "status")),
			    "unavailable");
	assert_non_null(
		strstr(json_string_value(json_object_get(pinfo(&s, "pfm"), "reason")), "ESRCH"));
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "proc"), "status")),
			    "unavailable");
	assert_int_equal(s.n, 0);
	hb_sample_free(&s);
	/* Reusable after that; a start that was never read is discarded by the next one. */
	t.pid = getpid();
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_sample_init(&s);
	hb_probeset_read(ps, &s, 0);
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "proc"), "status")), "ok");
	assert_non_null(hb_sample_get(&s, "pfm.task_clock_s"));
	hb_sample_free(&s);
	/* Started and never read: free cleans up (the sampler thread is joined, fds closed). */
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_free(ps);
	assert_int_equal(hb_probeset_start(NULL, &t, &e), HB_EINVAL);
}

/* ---- event options ---- */

static void test_event_options(void **state)
{
	struct hb_probe_set *ps =
		new_set("{\"pfm\": {\"events\": [\"perf::TASK-CLOCK\", \"no_such_event\"], "
			"\"software\": false}}");
	struct hb_probe_target t;
	struct hb_sample s;
	struct hb_err e = {0};
	const json_t *un;
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	memset(&t, 0, sizeof(t));
	t.pid = pid;
	hb_sample_init(&s);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_read(ps, &s, 0);
	kill_reap(pid);
	hb_probeset_free(ps);
	/* Only the events asked for: the listed one, no software extras, the unknown one listed. */
	assert_non_null(hb_sample_get(&s, "pfm.task_clock_s"));
	assert_null(hb_sample_get(&s, "pfm.context_switches"));
	assert_null(hb_sample_get(&s, "proc.cpu_s")); /* proc not named: off */
	un = json_object_get(pinfo(&s, "pfm"), "unavailable");
	assert_int_equal(json_array_size(un), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(un, 0), "event")),
			    "no_such_event");
	assert_string_equal(json_string_value(json_object_get(json_array_get(un, 0), "reason")),
			    "libpfm4: event not found");
	assert_null(pinfo(&s, "proc"));
	hb_sample_free(&s);
}

/* ---- derived figures ---- */

static void test_derived(void **state)
{
	struct hb_probe_set *ps = new_set("{}"); /* no probes: only the derivation runs */
	struct hb_probe_target t;
	struct hb_sample s;
	struct hb_err e = {0};
	const json_t *d;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.pid = getpid();
	hb_sample_init(&s);
	hb_sample_add(&s, "bw", "MiB/s", 1, 512);
	hb_sample_add(&s, "iops", "IOPS", 1, 1000);
	hb_sample_add(&s, "throughput", "Gbit/s", 1, 5);
	hb_sample_add(&s, "proc.cpu_s", "s", 0, 2.0);
	hb_sample_add(&s, "pfm.instructions", "count", 0, 3e9);
	hb_sample_add(&s, "pfm.cycles", "count", 0, 2e9);
	hb_sample_add(&s, "kvmstat.exits", "count", 0, 8000);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_read(ps, &s, 4.0);
	/* 512 MiB/s x 4 s = 2 GiB for 2 CPU-seconds */
	assert_true(metric(&s, "tax.cpu_s_per_gib") == 1.0);
	assert_string_equal(hb_sample_get(&s, "tax.cpu_s_per_gib")->unit, "s/GiB");
	/* 5 Gbit/s x 4 s = 20 Gbit: 2 s per 20 Gbit = 1 s per 10 Gbit */
	assert_true(metric(&s, "tax.cpu_s_per_10gbit") == 1.0);
	assert_true(metric(&s, "pfm.ipc") == 1.5);
	/* 1000 IOPS x 4 s = 4000 I/Os for 8000 exits */
	assert_true(metric(&s, "tax.exits_per_io") == 2.0);
	d = pinfo(&s, "derived");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(d, "tax.cpu_s_per_gib"), "cpu_from")),
			    "proc.cpu_s");
	assert_true(json_real_value(json_object_get(json_object_get(d, "tax.cpu_s_per_gib"),
						    "gib")) == 2.0);
	assert_string_equal(json_string_value(json_object_get(d, "duration_source")),
			    "planned by the runner (the workload reported no interval)");
	hb_sample_free(&s);

	/*
	 * The quick profile's net entry: planned 1.5 s + 0.5 s ramp, but libiperf runs whole
	 * seconds (2 s + 1 s omit) and says so in active_s. 3 CPU-seconds over 3 s at 10 Gbit/s
	 * = 30 Gbit moved: 1 s per 10 Gbit. With the planned 2 s it would read 1.5 (the bug).
	 */
	hb_sample_init(&s);
	hb_sample_add(&s, "throughput", "Gbit/s", 1, 10);
	hb_sample_add(&s, "proc.cpu_s", "s", 0, 3.0);
	s.measured_s = 2.0;
	s.active_s = 3.0;
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_read(ps, &s, 1.5 + 0.5);
	assert_true(metric(&s, "tax.cpu_s_per_10gbit") == 1.0);
	assert_string_equal(
		json_string_value(json_object_get(pinfo(&s, "derived"), "duration_source")),
		"measured by the workload (ramp + measured interval)");
	hb_sample_free(&s);

	/* Without proc the task clock is used; without a duration, the probe window. */
	hb_sample_init(&s);
	hb_sample_add(&s, "bw", "GiB/s", 1, 1.0);
	hb_sample_add(&s, "pfm.task_clock_s", "s", 0, 0.5);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_sleep(0.1, NULL);
	hb_probeset_read(ps, &s, 0);
	d = pinfo(&s, "derived");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(d, "tax.cpu_s_per_gib"), "cpu_from")),
			    "pfm.task_clock_s");
	assert_string_equal(json_string_value(json_object_get(d, "duration_source")),
			    "probe window (start..stop)");
	{
		double w = json_real_value(json_object_get(d, "duration_s"));
		assert_true(w >= 0.1 && w < 5);
		assert_within(metric(&s, "tax.cpu_s_per_gib"), 0.5 / w, 1e-9, "task-clock tax");
	}
	hb_sample_free(&s);

	/* No CPU reading at all: not computed, and the reason recorded. */
	hb_sample_init(&s);
	hb_sample_add(&s, "bw", "MiB/s", 1, 100);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_read(ps, &s, 1.0);
	assert_null(hb_sample_get(&s, "tax.cpu_s_per_gib"));
	assert_non_null(json_object_get(json_object_get(pinfo(&s, "derived"), "tax.cpu_s_per_gib"),
					"not_computed"));
	hb_sample_free(&s);
	hb_probeset_free(ps);
}

/* ---- `hvbench probes --json` ---- */

static void test_probes_command(void **state)
{
	char path[] = "/tmp/hbprobesXXXXXX";
	int fd = mkstemp(path), saved;
	char *argv[] = {"probes", "--json", NULL};
	char *argv_bad[] = {"probes", "--bogus", NULL};
	char *text = NULL;
	size_t len;
	json_t *j, *pfm = NULL, *it, *ev;
	struct hb_err e = {0};
	size_t i;
	int rc, seen_task = 0;

	(void)state;
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	rc = hb_cmd_probes(2, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
	assert_int_equal(rc, 0);
	assert_int_equal(hb_read_file(path, 1 << 20, &text, &len, &e), 0);
	unlink(path);
	j = json_loads(text, 0, NULL);
	free(text);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 4);
	json_array_foreach (j, i, it)
		if (!strcmp(json_string_value(json_object_get(it, "name")), "pfm"))
			pfm = it;
	assert_non_null(pfm);
	json_array_foreach (json_object_get(pfm, "events"), i, ev) {
		if (!strcmp(json_string_value(json_object_get(ev, "event")), "perf::TASK-CLOCK")) {
			seen_task = 1;
			assert_true(json_is_true(json_object_get(ev, "available")));
		}
		if (!strcmp(json_string_value(json_object_get(ev, "event")), "cycles") &&
		    !pmu_present())
			assert_non_null(
				strstr(json_string_value(json_object_get(ev, "reason")), "ENOENT"));
	}
	assert_true(seen_task);
	json_decref(j);
	assert_int_equal(hb_cmd_probes(2, argv_bad), 2);
}

/* ---- domstats: the hypervisor's per-VM counters (libvirt keys) before and after a run ---- */

struct fake_stats {
	int calls;
	int fail_at; /* call number that fails (0: none) */
};

static int fake_vmm_stats(void *arg, json_t **out, struct hb_err *e)
{
	struct fake_stats *f = arg;
	int n = ++f->calls;

	if (n == f->fail_at)
		return hb_err_set(e, HB_EIO, "virDomainListGetStats: domain gone");
	/* before: call 1, after: call 2; two vCPUs and two disks, no interface counters */
	*out = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "cpu.time",
			 n == 1 ? 1e9 : 3.5e9, "vcpu.0.time", n == 1 ? 1e9 : 2e9, "vcpu.1.time",
			 n == 1 ? 0.0 : 0.5e9, "vcpu.0.delay", 0.0, "vcpu.1.delay",
			 n == 1 ? 0.0 : 0.25e9, "block.0.rd.reqs", n == 1 ? 100.0 : 1100.0,
			 "block.1.rd.reqs", n == 1 ? 0.0 : 24.0, "block.0.rd.bytes",
			 n == 1 ? 0.0 : 4194304.0, "block.1.rd.bytes", 0.0, "balloon.current",
			 524288.0, "vcpu.current", 2.0);
	return 0;
}

static void test_domstats(void **state)
{
	struct hb_probe_set *ps = new_set("{\"domstats\": {}}");
	struct fake_stats f = {0};
	struct hb_probe_target t = {.is_vm = 1, .vmm_stats = fake_vmm_stats, .vmm_stats_arg = &f};
	struct hb_probe_target nat = {.pid = getpid()};
	struct hb_sample s;
	struct hb_err e = {0};
	const json_t *missing;

	(void)state;
	hb_sample_init(&s);
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_read(ps, &s, 1.0);
	assert_int_equal(f.calls, 2);
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "domstats"), "status")),
			    "ok");
	assert_true(fabs(metric(&s, "domstats.cpu_s") - 2.5) < 1e-9);
	assert_true(fabs(metric(&s, "domstats.vcpu_s") - 1.5) < 1e-9); /* summed over vCPUs */
	assert_true(fabs(metric(&s, "domstats.vcpu_delay_s") - 0.25) < 1e-9);
	assert_true(fabs(metric(&s, "domstats.block_rd_reqs") - 1024) < 1e-9); /* over disks */
	assert_true(fabs(metric(&s, "domstats.block_rd_mib") - 4) < 1e-9);
	assert_true(fabs(metric(&s, "domstats.balloon_current_mib") - 512) < 1e-9);
	/* "vcpu.current" is not a per-vCPU "vcpu.<n>.time" key and must not be summed */
	assert_null(hb_sample_get(&s, "domstats.net_rx_mib"));
	missing = json_object_get(pinfo(&s, "domstats"), "missing");
	/* cpu user/system, vCPU wait, block writes and flushes, net x4, balloon rss */
	assert_int_equal(json_array_size(missing), 11);
	hb_sample_free(&s);

	/* the source failing at the end: the probe failed with the reason, no figures */
	hb_sample_init(&s);
	f.calls = 0;
	f.fail_at = 2;
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_read(ps, &s, 1.0);
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "domstats"), "status")),
			    "failed");
	assert_non_null(strstr(json_string_value(json_object_get(pinfo(&s, "domstats"), "reason")),
			       "domain gone"));
	assert_null(hb_sample_get(&s, "domstats.cpu_s"));
	hb_sample_free(&s);

	/* native and a VM without the source: unavailable, said why */
	hb_sample_init(&s);
	assert_int_equal(hb_probeset_start(ps, &nat, &e), 0);
	hb_probeset_read(ps, &s, 1.0);
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "domstats"), "reason")),
			    "native target: no hypervisor statistics");
	hb_sample_free(&s);
	hb_sample_init(&s);
	t.vmm_stats = NULL;
	assert_int_equal(hb_probeset_start(ps, &t, &e), 0);
	hb_probeset_read(ps, &s, 1.0);
	assert_string_equal(json_string_value(json_object_get(pinfo(&s, "domstats"), "status")),
			    "unavailable");
	hb_sample_free(&s);
	hb_probeset_free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_probe_suggests),
		cmocka_unit_test(test_burn_reaped_first),
		cmocka_unit_test(test_burn_zombie),
		cmocka_unit_test(test_thread_before_open),
		cmocka_unit_test(test_thread_after_open),
		cmocka_unit_test(test_thread_churn),
		cmocka_unit_test(test_rss_sampled),
		cmocka_unit_test(test_vcpu_threads),
		cmocka_unit_test(test_missing_target_not_fatal),
		cmocka_unit_test(test_event_options),
		cmocka_unit_test(test_derived),
		cmocka_unit_test(test_probes_command),
		cmocka_unit_test(test_domstats),
	};
	char why[256] = "";
	const struct hb_probe_ops *pfm = hb_probe_find("pfm");

	signal(SIGPIPE, SIG_IGN);
	if (pfm->supported(why, sizeof(why))) {
		printf("SKIP: perf_event_open of software events does not work here: %s\n", why);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
