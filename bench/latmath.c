/*
 * latmath.c — the pure arithmetic behind the netrr, noise and micro workloads (see latmath.h).
 */
#include "latmath.h"
#include "procstat.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hb_noise_loop(hb_clock_fn clk, void *arg, uint64_t duration_ns, uint64_t threshold_ns,
		  volatile sig_atomic_t *stop, struct hb_hist *gaps, struct hb_noise_result *r)
{
	uint64_t t0, prev, now, end;

	memset(r, 0, sizeof(*r));
	t0 = prev = clk(arg);
	end = t0 + duration_ns;
	for (;;) {
		now = clk(arg);
		if (now < prev)
			return HB_EPROTO; /* the clock went backwards */
		if (now - prev > threshold_ns) {
			r->noise_ns += now - prev;
			r->interruptions++;
			hb_hist_add(gaps, now - prev);
		}
		prev = now;
		r->reads++;
		r->elapsed_ns = now - t0;
		if (now >= end)
			break;
		if (!(r->reads & 1023) && stop && *stop)
			return HB_EINTR;
	}
	return 0;
}

int hb_noise_metrics(const struct hb_noise_result *r, const struct hb_hist *gaps,
		     struct hb_sample *out)
{
	double el = (double)r->elapsed_ns;

	if (r->elapsed_ns == 0)
		return HB_EINVAL;
	hb_sample_add(out, "available", "%", 1, 100.0 * (1.0 - (double)r->noise_ns / el));
	hb_sample_add(out, "interrupts", "1/s", 0, (double)r->interruptions / (el / 1e9));
	hb_sample_add(out, "gap_max", "us", 0, (double)(gaps->count ? gaps->max : 0) / 1e3);
	hb_sample_add(out, "gap_p99", "us", 0, (double)hb_hist_quantile(gaps, 0.99) / 1e3);
	hb_sample_add(out, "gap_p999", "us", 0, (double)hb_hist_quantile(gaps, 0.999) / 1e3);
	return 0;
}

int hb_proc_stat_steal(const char *text, int cpu, unsigned long long *ticks)
{
	struct hb_cpu_ticks t;
	int rc = hb_procstat_parse_cpu(text, cpu, &t);

	if (!rc)
		*ticks = t.steal;
	return rc;
}

int hb_rr_metrics(const struct hb_hist *rtt, const uint64_t *count, const double *elapsed,
		  size_t flows, struct hb_sample *out)
{
	double tps = 0;
	size_t i;

	if (!rtt->count)
		return HB_EINVAL;
	for (i = 0; i < flows; i++)
		if (elapsed[i] > 0)
			tps += (double)count[i] / elapsed[i];
	hb_sample_add(out, "tps", "trans/s", 1, tps);
	hb_sample_add(out, "rtt_p50", "us", 0, (double)hb_hist_quantile(rtt, 0.50) / 1e3);
	hb_sample_add(out, "rtt_p99", "us", 0, (double)hb_hist_quantile(rtt, 0.99) / 1e3);
	hb_sample_add(out, "rtt_p999", "us", 0, (double)hb_hist_quantile(rtt, 0.999) / 1e3);
	hb_sample_add(out, "rtt_mean", "us", 0, hb_hist_mean(rtt) / 1e3);
	hb_sample_add(out, "rtt_max", "us", 0, (double)rtt->max / 1e3);
	return 0;
}

double hb_micro_cost(const double *t_op, const double *t_empty, size_t n, uint64_t iters)
{
	double *d, c;
	size_t i;

	if (!n || !iters)
		return NAN;
	d = malloc(n * sizeof(*d));
	if (!d)
		return NAN;
	for (i = 0; i < n; i++)
		d[i] = (t_op[i] - t_empty[i]) / (double)iters;
	c = hb_median(d, n);
	free(d);
	return c > 0 ? c : 0;
}

void hb_clocksource(char *buf, size_t len)
{
	char *txt = NULL;

	hb_strlcpy(buf, "unknown", len);
	if (!hb_read_file("/sys/devices/system/clocksource/clocksource0/current_clocksource", 256,
			  &txt, NULL, NULL)) {
		txt[strcspn(txt, "\n")] = '\0';
		if (*txt)
			hb_strlcpy(buf, txt, len);
	}
	free(txt);
}

int hb_clocksource_vdso(const char *name)
{
	/* The clocksources with a vDSO clock mode (x86 TSC and paravirtual clocks, arm64). */
	static const char *const vdso[] = {"tsc", "kvm-clock", "hyperv_clocksource_tsc_page",
					   "arch_sys_counter", NULL};
	size_t i;

	for (i = 0; vdso[i]; i++)
		if (!strcmp(name, vdso[i]))
			return 1;
	return 0;
}

long long hb_steal_ticks(int cpu)
{
	char *txt = NULL;
	unsigned long long t;
	long long r = -1;

	if (!hb_read_file("/proc/stat", 1 << 20, &txt, NULL, NULL) &&
	    !hb_proc_stat_steal(txt, cpu, &t))
		r = (long long)t;
	free(txt);
	return r;
}
