/*
 * wl_micro.c — what single operations cost, native vs guest, in ns: `cpuid` (always traps to
 * the hypervisor under VMX/SVM), `rdtsc`, `clock_gettime` of CLOCK_MONOTONIC (vDSO or a system
 * call depending on the clocksource, recorded in info), a trivial system call (getppid), a
 * first-touch page fault on fresh anonymous memory (EPT/NPT in a VM) and, with two CPUs or more,
 * a cross-CPU wakeup over an eventfd pair (the IPI path). Each operation is timed in batches of
 * many iterations; each batch is paired with the same loop without the operation, run back to
 * back, and the cost is the median over batches of the difference per iteration
 * (hb_micro_cost). The duration is shared equally between the operations.
 */
#include "workload.h"
#include "latmath.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#define MICRO_X86 1
#endif

#define MICRO_MAX_BATCHES 2000
#define MICRO_MIN_BATCHES 5
#define MICRO_BATCH_NS	  200000.0 /* grow a batch until it takes this long */
#define MICRO_MAX_ITERS	  (1u << 24)
#define MICRO_MAX_PAGES	  4096 /* 16 MiB of 4k pages per page-fault batch */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the operations: called through a pointer, like the empty one they are paired with ---- */

typedef void (*op_fn)(void);

static __attribute__((noinline)) void op_empty(void)
{
	__asm__ volatile("" ::: "memory");
}

#ifdef MICRO_X86
static __attribute__((noinline)) void op_cpuid(void)
{
	unsigned a = 0, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
}

static __attribute__((noinline)) void op_rdtsc(void)
{
	unsigned lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
}
#endif

static __attribute__((noinline)) void op_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	__asm__ volatile("" : : "r"(&ts) : "memory");
}

static __attribute__((noinline)) void op_syscall(void)
{
	syscall(SYS_getppid);
}

/* Time of iters calls of fn, ns. The pointer is re-read each call so nothing is inlined. */
static double time_calls(op_fn fn, uint64_t iters)
{
	op_fn volatile f = fn;
	uint64_t i, t0 = now_ns();

	for (i = 0; i < iters; i++)
		f();
	return (double)(now_ns() - t0);
}

/* ---- page faults: touching fresh anonymous pages vs touching the same pages again ---- */

static double time_touch(volatile char *m, size_t pages, size_t psz)
{
	uint64_t t0 = now_ns();
	size_t i;

	for (i = 0; i < pages; i++)
		m[i * psz] = (char)i;
	return (double)(now_ns() - t0);
}

/* One batch: t_op = first touch of `pages` fresh pages, t_empty = the second touch. */
static int fault_batch(size_t pages, double *t_op, double *t_empty)
{
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	char *m =
		mmap(NULL, pages * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return HB_ENOMEM;
	madvise(m, pages * psz, MADV_NOHUGEPAGE); /* one fault per 4k page, not per 2M */
	*t_op = time_touch(m, pages, psz);
	*t_empty = time_touch(m, pages, psz);
	munmap(m, pages * psz);
	return 0;
}

/* ---- cross-CPU wakeup: ping-pong over two eventfds between threads on two CPUs ---- */

struct pong {
	int ping, pong, cpu;
};

static void *pong_main(void *arg)
{
	struct pong *p = arg;
	cpu_set_t one;
	uint64_t v;

	CPU_ZERO(&one);
	CPU_SET(p->cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
	for (;;) {
		if (read(p->ping, &v, sizeof(v)) != sizeof(v)) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (v > 1) /* the stop value */
			break;
		v = 1;
		if (write(p->pong, &v, sizeof(v)) != sizeof(v))
			break;
	}
	return NULL;
}

/* Time of iters round trips (two wakeups each), ns; < 0 when the eventfds fail. */
static double time_pingpong(const struct pong *p, uint64_t iters)
{
	uint64_t i, v, t0 = now_ns();

	for (i = 0; i < iters; i++) {
		v = 1;
		if (write(p->ping, &v, sizeof(v)) != sizeof(v))
			return -1;
		while (read(p->pong, &v, sizeof(v)) != sizeof(v))
			if (errno != EINTR)
				return -1;
	}
	return (double)(now_ns() - t0);
}

/* ---- the driver ---- */

enum op_kind { OP_CALL, OP_FAULT, OP_WAKEUP };

struct op {
	const char *name;
	enum op_kind kind;
	op_fn fn;
};

static const struct op ops[] = {
#ifdef MICRO_X86
	{"cpuid", OP_CALL, op_cpuid},	      {"rdtsc", OP_CALL, op_rdtsc},
#endif
	{"clock_gettime", OP_CALL, op_clock}, {"syscall", OP_CALL, op_syscall},
	{"page_fault", OP_FAULT, NULL},	      {"wakeup", OP_WAKEUP, NULL},
};

/* One timed batch of iters operations (and its empty twin), ns. */
static int batch(const struct op *o, const struct pong *pp, uint64_t iters, double *t_op,
		 double *t_empty)
{
	switch (o->kind) {
	case OP_CALL:
		*t_empty = time_calls(op_empty, iters);
		*t_op = time_calls(o->fn, iters);
		return 0;
	case OP_FAULT: return fault_batch((size_t)iters, t_op, t_empty);
	case OP_WAKEUP:
		/* the eventfd writes and reads are part of the wakeup path: nothing to subtract */
		*t_empty = 0;
		*t_op = time_pingpong(pp, iters);
		return *t_op < 0 ? HB_EIO : 0;
	}
	return HB_EINVAL;
}

/* Measures one operation for about budget_ns; cost per operation in *ns. */
static int measure(const struct hb_wl_ctx *ctx, const struct op *o, const struct pong *pp,
		   double budget_ns, double *ns, uint64_t *iters_out, size_t *nb_out)
{
	uint64_t iters = o->kind == OP_FAULT ? 16 : 64, end;
	uint64_t cap = o->kind == OP_FAULT ? MICRO_MAX_PAGES : MICRO_MAX_ITERS;
	double *top = malloc(MICRO_MAX_BATCHES * sizeof(double));
	double *tem = malloc(MICRO_MAX_BATCHES * sizeof(double));
	size_t n = 0;
	int rc = 0;

	if (!top || !tem) {
		rc = HB_ENOMEM;
		goto out;
	}
	/* calibrate: double the batch until it takes MICRO_BATCH_NS (doubles as warm-up) */
	for (;;) {
		rc = batch(o, pp, iters, &top[0], &tem[0]);
		if (rc || top[0] >= MICRO_BATCH_NS || iters >= cap)
			break;
		iters *= 2;
	}
	end = now_ns() + (uint64_t)budget_ns;
	while (!rc && n < MICRO_MAX_BATCHES && (n < MICRO_MIN_BATCHES || now_ns() < end)) {
		if (ctx->stop && *ctx->stop)
			rc = HB_EINTR;
		else
			rc = batch(o, pp, iters, &top[n], &tem[n]);
		if (!rc)
			n++;
	}
	if (!rc) {
		/* a wakeup round trip is two wakeups */
		*ns = hb_micro_cost(top, tem, n, iters) / (o->kind == OP_WAKEUP ? 2 : 1);
		*iters_out = iters;
		*nb_out = n;
	}
out:
	free(top);
	free(tem);
	return rc;
}

static int run(const struct hb_wl_ctx *ctx, const json_t *p, struct hb_sample *out,
	       struct hb_err *e)
{
	struct pong pp = {-1, -1, -1};
	pthread_t th;
	cpu_set_t old, one;
	int cpus[2] = {-1, -1}, ncpu = 0, i, rc = 0, have_pong = 0, pinned = 0;
	size_t k, nops = HB_ARRAY_SIZE(ops);
	double budget, t0 = hb_now();
	json_t *detail = json_object();
	char cs[64];
	const char *why_no_wakeup = NULL;

	(void)p;
	if (ctx->duration <= 0)
		return hb_err_set(e, HB_EINVAL, "micro: duration must be positive");
	if (sched_getaffinity(0, sizeof(old), &old))
		return hb_err_errno(e, HB_EIO, "micro: sched_getaffinity");
	for (i = 0; i < CPU_SETSIZE && ncpu < 2; i++)
		if (CPU_ISSET(i, &old))
			cpus[ncpu++] = i;
	if (ncpu < 2) {
		why_no_wakeup = "one CPU: no cross-CPU wakeup";
		nops--;
	}
	/* Everything on one CPU: the wakeup's peer runs on the second. */
	CPU_ZERO(&one);
	CPU_SET(cpus[0], &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return hb_err_errno(e, HB_EIO, "micro: cannot pin to CPU %d", cpus[0]);
	pinned = 1;
	if (ncpu >= 2) {
		pp.ping = eventfd(0, EFD_CLOEXEC);
		pp.pong = eventfd(0, EFD_CLOEXEC);
		pp.cpu = cpus[1];
		if (pp.ping < 0 || pp.pong < 0 || pthread_create(&th, NULL, pong_main, &pp)) {
			rc = hb_err_errno(e, HB_EIO, "micro: cannot start the wakeup peer thread");
			goto out;
		}
		have_pong = 1;
	}
	/* the whole budget, ramp included, goes to measuring; nothing else needs warming */
	budget = (ctx->duration + (ctx->ramp > 0 ? ctx->ramp : 0)) * 1e9 / (double)nops;
	for (k = 0; k < nops; k++) {
		double ns = 0;
		uint64_t iters = 0;
		size_t nb = 0;
		if (ctx->timeout > 0 && hb_now() - t0 > ctx->timeout) {
			rc = hb_err_set(e, HB_ETIMEDOUT, "micro: over its %.1f s timeout before %s",
					ctx->timeout, ops[k].name);
			goto out;
		}
		rc = measure(ctx, &ops[k], &pp, budget, &ns, &iters, &nb);
		if (rc == HB_EINTR) {
			rc = hb_err_set(e, rc, "micro: interrupted");
			goto out;
		}
		if (rc) {
			rc = hb_err_set(e, rc, "micro: %s: %s", ops[k].name, hb_strerror(rc));
			goto out;
		}
		hb_sample_add(out, ops[k].name, "ns", 0, ns);
		json_object_set_new(detail, ops[k].name,
				    json_pack("{s:I, s:I}", "iterations", (json_int_t)iters,
					      "batches", (json_int_t)nb));
	}
	hb_clocksource(cs, sizeof(cs));
	hb_sample_info(out, "clocksource", json_string(cs));
	hb_sample_info(out, "clock_gettime_path",
		       json_string(hb_clocksource_vdso(cs) ? "vdso" : "syscall"));
	hb_sample_info(out, "cpus", json_pack("[i, i]", cpus[0], cpus[1]));
	if (why_no_wakeup)
		hb_sample_info(out, "wakeup_skipped", json_string(why_no_wakeup));
#ifdef MICRO_X86
	{
		unsigned a = 1, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		/* CPUID.1:ECX[31]: a hypervisor is present, i.e. "native" is itself a VM */
		hb_sample_info(out, "hypervisor_bit", json_boolean((c >> 31) & 1));
	}
#endif
	hb_sample_info(out, "batches", json_incref(detail));
	hb_sample_info(out, "measured_s", json_real(hb_now() - t0));
out:
	json_decref(detail);
	if (have_pong) {
		uint64_t v = 2;
		if (write(pp.ping, &v, sizeof(v)) == sizeof(v))
			pthread_join(th, NULL);
		else
			pthread_detach(th);
	}
	if (pp.ping >= 0)
		close(pp.ping);
	if (pp.pong >= 0)
		close(pp.pong);
	if (pinned)
		sched_setaffinity(0, sizeof(old), &old);
	return rc;
}

static const struct hb_metric_def metrics[] = {
	{"cpuid", "ns", 0, HB_AREA_LATENCY, HB_ROLE_HEADLINE, HB_CMP_DELTA,
	 "one CPUID instruction (leaf 0): a VM exit under VMX/SVM"},
	{"rdtsc", "ns", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA, "one RDTSC instruction"},
	{"clock_gettime", "ns", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "clock_gettime(CLOCK_MONOTONIC): vDSO or system call after the clocksource"},
	{"syscall", "ns", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "a trivial system call (getppid)"},
	{"page_fault", "ns", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "first touch of a fresh anonymous 4k page (EPT/NPT fault in a VM)"},
	{"wakeup", "ns", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "waking a thread blocked on another CPU through an eventfd (IPI path)"},
};

const struct hb_workload hb_wl_micro = {
	.name = "micro",
	.kind = "latency",
	.help = "cost per operation in ns: cpuid, rdtsc, clock_gettime, syscall, page fault, "
		"cross-CPU wakeup",
	.metrics = metrics,
	.nmetrics = HB_ARRAY_SIZE(metrics),
	.run = run,
};
