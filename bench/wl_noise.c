/*
 * wl_noise.c — OS and hypervisor noise, the idea of the kernel's osnoise tracer done from user
 * space so it runs in any guest: one thread pinned to one CPU reads CLOCK_MONOTONIC in a tight
 * loop for the duration, and every gap between two readings above a threshold (default 1 µs)
 * is time the loop did not get — an interrupt, a softirq, another task, and in a VM also a VM
 * exit or the vCPU thread being descheduled on the host. Natively this is the host's noise; in a
 * VM, host + hypervisor + guest kernel. Reports the % of CPU left to the loop, interruptions
 * per second and the gap distribution; also the steal time of that CPU over the run
 * (/proc/stat: in a guest, the time the hypervisor ran something else).
 */
#include "workload.h"
#include "latmath.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct hb_param params[] = {
	{"threshold", HB_P_DOUBLE, 0.05, 1000, "1", NULL,
	 "µs: a gap between two clock readings above this is an interruption"},
	{"cpu", HB_P_INT, -1, 4095, "-1", NULL,
	 "CPU to pin the loop to (-1: the highest-numbered CPU this process may use)"},
};

static uint64_t mono_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int run(const struct hb_wl_ctx *ctx, const json_t *p, struct hb_sample *out,
	       struct hb_err *e)
{
	double thr_us = hb_param_double(p, "threshold"), ramp = ctx->ramp > 0 ? ctx->ramp : 0;
	int cpu = (int)hb_param_int(p, "cpu"), rc = 0, pinned = 0, i;
	uint64_t thr = (uint64_t)(thr_us * 1000.0 + 0.5);
	struct hb_noise_result r;
	struct hb_hist gaps = {0};
	cpu_set_t old, one;
	long long s0 = -1, s1 = -1;
	char cs[64];

	if (ctx->duration <= 0)
		return hb_err_set(e, HB_EINVAL, "noise: duration must be positive");
	if (ctx->timeout > 0 && ctx->timeout < ctx->duration + ramp)
		return hb_err_set(e, HB_EINVAL,
				  "noise: timeout %.1f s is shorter than ramp + duration",
				  ctx->timeout);
	if (sched_getaffinity(0, sizeof(old), &old))
		return hb_err_errno(e, HB_EIO, "noise: sched_getaffinity");
	if (cpu < 0)
		for (i = CPU_SETSIZE - 1; i >= 0 && cpu < 0; i--)
			if (CPU_ISSET(i, &old))
				cpu = i;
	if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &old))
		return hb_err_set(e, HB_EINVAL, "noise: CPU %d is not one this process may use",
				  cpu);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return hb_err_errno(e, HB_EIO, "noise: cannot pin to CPU %d", cpu);
	pinned = 1;
	if (hb_hist_init(&gaps)) {
		rc = hb_err_set(e, HB_ENOMEM, "noise: out of memory");
		goto out;
	}
	if (ramp > 0) {
		rc = hb_noise_loop(mono_ns, NULL, (uint64_t)(ramp * 1e9), thr, ctx->stop, &gaps,
				   &r);
		hb_hist_free(&gaps);
		if (!rc && hb_hist_init(&gaps))
			rc = HB_ENOMEM;
		if (rc)
			goto loop_err;
	}
	s0 = hb_steal_ticks(cpu);
	rc = hb_noise_loop(mono_ns, NULL, (uint64_t)(ctx->duration * 1e9), thr, ctx->stop, &gaps,
			   &r);
	s1 = hb_steal_ticks(cpu);
loop_err:
	if (rc == HB_EINTR) {
		rc = hb_err_set(e, HB_EINTR, "noise: interrupted");
		goto out;
	}
	if (rc) {
		rc = hb_err_set(e, rc, "noise: %s",
				rc == HB_EPROTO ? "CLOCK_MONOTONIC went backwards"
						: hb_strerror(rc));
		goto out;
	}
	if (hb_noise_metrics(&r, &gaps, out)) {
		rc = hb_err_set(e, HB_EIO, "noise: the loop measured no time");
		goto out;
	}
	if (s0 >= 0 && s1 >= s0) {
		long hz = sysconf(_SC_CLK_TCK);
		hb_sample_add(out, "steal", "%", 0,
			      100.0 * ((double)(s1 - s0) / (double)(hz > 0 ? hz : 100)) /
				      ((double)r.elapsed_ns / 1e9));
	}
	hb_clocksource(cs, sizeof(cs));
	hb_sample_info(out, "cpu", json_integer(cpu));
	hb_sample_info(out, "threshold_us", json_real(thr_us));
	hb_sample_info(out, "interruptions", json_integer((json_int_t)r.interruptions));
	hb_sample_info(out, "noise_us", json_real((double)r.noise_ns / 1e3));
	hb_sample_info(out, "ns_per_read", json_real((double)r.elapsed_ns / (double)r.reads));
	hb_sample_info(out, "clocksource", json_string(cs));
	hb_sample_info(out, "measured_s", json_real((double)r.elapsed_ns / 1e9));
out:
	hb_hist_free(&gaps);
	if (pinned)
		sched_setaffinity(0, sizeof(old), &old);
	return rc;
}

static const struct hb_metric_def metrics[] = {
	{"available", "%", 1, HB_AREA_LATENCY, HB_ROLE_HEADLINE, HB_CMP_DELTA,
	 "share of the run the pinned loop ran (100% minus the gaps above the threshold)"},
	{"interrupts", "1/s", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "interruptions of the loop per second (gaps above the threshold)"},
	{"gap_p99", "us", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "99th percentile length of an interruption"},
	{"gap_p999", "us", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "99.9th percentile length of an interruption"},
	{"gap_max", "us", 0, HB_AREA_LATENCY, HB_ROLE_DIAGNOSTIC, HB_CMP_DELTA,
	 "longest interruption"},
	{"steal", "%", 0, HB_AREA_LATENCY, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "steal time of the pinned CPU over the run (/proc/stat; in a guest: the hypervisor's)"},
};

const struct hb_workload hb_wl_noise = {
	.name = "noise",
	.kind = "latency",
	.help = "OS and hypervisor noise seen by a pinned clock-reading loop (osnoise-style)",
	.params = params,
	.nparams = HB_ARRAY_SIZE(params),
	.metrics = metrics,
	.nmetrics = HB_ARRAY_SIZE(metrics),
	.run = run,
};
