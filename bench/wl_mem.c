/*
 * wl_mem.c — the memory workload, in plain C so it runs the same on the host and in a tiny guest:
 * STREAM-style copy and triad bandwidth over three arrays much larger than the last-level cache,
 * repeated pass after pass until their share of the duration is spent, then load latency from a
 * dependent pointer chase over a random cyclic permutation of cache lines. Buffers are freed
 * between phases so the peak stays at one phase's memory (the guest has 512 MiB).
 */
#include "workload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LINE	    64
#define CHASE_CHUNK (1 << 18)

static const struct hb_param params[] = {
	{"size", HB_P_SIZE, 3 << 20, 16ULL << 30, "256M", NULL,
	 "total bytes of the three bandwidth arrays (copy reads one and writes one, triad reads "
	 "two)"},
	{"chase_size", HB_P_SIZE, 64 << 10, 4ULL << 30, "64M", NULL,
	 "bytes walked by the latency pointer chase (one pointer per 64-byte line)"},
};

struct phase {
	const struct hb_wl_ctx *ctx;
	double t0; /* start of the run, for the timeout */
	struct hb_err *e;
};

/* Fails with HB_EINTR/HB_ETIMEDOUT when the run must stop now. */
static int check(const struct phase *ph)
{
	if (ph->ctx->stop && *ph->ctx->stop)
		return hb_err_set(ph->e, HB_EINTR, "mem: interrupted");
	if (ph->ctx->timeout > 0 && hb_now() - ph->t0 > ph->ctx->timeout)
		return hb_err_set(
			ph->e, HB_ETIMEDOUT,
			"mem: run exceeded its %.1f s timeout (duration %.1f s, ramp %.1f s)",
			ph->ctx->timeout, ph->ctx->duration, ph->ctx->ramp);
	return 0;
}

static __attribute__((noinline)) void copy_pass(double *restrict c, const double *restrict a,
						size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = a[i];
}

static __attribute__((noinline)) void triad_pass(double *restrict a, const double *restrict b,
						 const double *restrict c, double s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		a[i] = b[i] + s * c[i];
}

/*
 * Runs kind (0 copy, 1 triad) pass after pass for secs; returns bytes moved per second in
 * *rate (0 when secs is 0: only the warm-up).
 */
static int bw_phase(const struct phase *ph, int kind, double *a, double *b, double *c, size_t n,
		    double secs, double *rate, long *passes)
{
	volatile double sink_d;
	double start = hb_now(), now;
	long k = 0;
	int rc;

	do {
		if (kind == 0)
			copy_pass(c, a, n);
		else
			triad_pass(a, b, c, 3.0 + (double)(k & 1), n);
		sink_d = a[k % (long)n] + c[(k * 7) % (long)n];
		(void)sink_d;
		k++;
		now = hb_now();
		if ((rc = check(ph)))
			return rc;
	} while (now - start < secs);
	*rate = (double)k * (double)n * sizeof(double) * (kind == 0 ? 2.0 : 3.0) / (now - start);
	*passes = k;
	return 0;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int chase_phase(const struct phase *ph, size_t bytes, double secs, double *ns_per_load,
		       long long *loads_out)
{
	size_t n = bytes / LINE, i;
	char *buf = NULL;
	uint32_t *order = NULL;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	void **p;
	volatile uintptr_t sink_p;
	long long loads = 0;
	double start, now;
	int rc = 0;

	if (n < 2 || n > UINT32_MAX)
		return hb_err_set(ph->e, HB_EINVAL, "mem: chase_size gives %zu lines", n);
	if (posix_memalign((void **)&buf, 4096, n * LINE) ||
	    !(order = malloc(n * sizeof(*order)))) {
		rc = hb_err_set(ph->e, HB_ENOMEM, "mem: cannot allocate %zu bytes for the chase",
				n * LINE);
		goto out;
	}
	/* A random order of all lines, linked into one cycle: every load depends on the last. */
	for (i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)(xorshift(&seed) % (i + 1));
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		*(void **)(buf + (size_t)order[i] * LINE) = buf + (size_t)order[(i + 1) % n] * LINE;
	free(order);
	order = NULL;
	if ((rc = check(ph)))
		goto out;
	p = (void **)buf;
	start = hb_now();
	do {
		int k;
		for (k = 0; k < CHASE_CHUNK; k += 8) {
			p = *p;
			p = *p;
			p = *p;
			p = *p;
			p = *p;
			p = *p;
			p = *p;
			p = *p;
		}
		loads += CHASE_CHUNK;
		now = hb_now();
		if ((rc = check(ph)))
			goto out;
	} while (now - start < secs);
	sink_p = (uintptr_t)p;
	(void)sink_p;
	*ns_per_load = (now - start) * 1e9 / (double)loads;
	*loads_out = loads;
out:
	free(order);
	free(buf);
	return rc;
}

static int run(const struct hb_wl_ctx *ctx, const json_t *params_in, struct hb_sample *out,
	       struct hb_err *e)
{
	size_t size = (size_t)hb_param_int(params_in, "size");
	size_t chase = (size_t)hb_param_int(params_in, "chase_size");
	size_t n = size / 3 / sizeof(double), i;
	struct phase ph = {.ctx = ctx, .t0 = hb_now(), .e = e};
	double *a = NULL, *b = NULL, *c = NULL, copy_bw = 0, triad_bw = 0, lat = 0,
	       d = ctx->duration;
	long copy_passes = 0, triad_passes = 0, warm = 0;
	long long loads = 0;
	int rc = 0;

	if (d <= 0)
		return hb_err_set(e, HB_EINVAL, "mem: duration must be positive");
	a = malloc(n * sizeof(double));
	b = malloc(n * sizeof(double));
	c = malloc(n * sizeof(double));
	if (!a || !b || !c) {
		rc = hb_err_set(e, HB_ENOMEM, "mem: cannot allocate 3 x %zu bytes",
				n * sizeof(double));
		goto out;
	}
	/* First touch: pages are faulted in here, not inside the measured passes. */
	for (i = 0; i < n; i++) {
		a[i] = 1.0;
		b[i] = 2.0;
		c[i] = 0.5;
	}
	if (ctx->ramp > 0 && (rc = bw_phase(&ph, 1, a, b, c, n, ctx->ramp, &triad_bw, &warm)))
		goto out;
	/* Duration split: 40% copy, 40% triad, 20% chase. */
	if ((rc = bw_phase(&ph, 0, a, b, c, n, 0.4 * d, &copy_bw, &copy_passes)))
		goto out;
	if ((rc = bw_phase(&ph, 1, a, b, c, n, 0.4 * d, &triad_bw, &triad_passes)))
		goto out;
	free(a);
	free(b);
	free(c);
	a = b = c = NULL;
	if ((rc = chase_phase(&ph, chase, 0.2 * d, &lat, &loads)))
		goto out;
	hb_sample_add(out, "copy_bw", "GiB/s", 1, copy_bw / (1024.0 * 1024 * 1024));
	out->active_s = hb_now() - ph.t0;
	out->measured_s = d;
	hb_sample_add(out, "triad_bw", "GiB/s", 1, triad_bw / (1024.0 * 1024 * 1024));
	hb_sample_add(out, "latency", "ns", 0, lat);
	hb_sample_info(out, "array_bytes", json_integer((json_int_t)(n * sizeof(double))));
	hb_sample_info(out, "chase_bytes", json_integer((json_int_t)(chase / LINE * LINE)));
	hb_sample_info(out, "copy_passes", json_integer(copy_passes));
	hb_sample_info(out, "triad_passes", json_integer(triad_passes));
	hb_sample_info(out, "chase_loads", json_integer(loads));
	hb_sample_info(
		out, "method",
		json_string("copy c=a (16 B/elem) and triad a=b+s*c (24 B/elem) over three "
			    "double arrays, 40%+40% of the duration; latency = dependent loads "
			    "over a random single-cycle permutation of 64-byte lines, 20%"));
out:
	free(a);
	free(b);
	free(c);
	return rc;
}

static const struct hb_metric_def metrics[] = {
	{"copy_bw", "GiB/s", 1, HB_AREA_MEMORY, HB_ROLE_HEADLINE, HB_CMP_RATIO,
	 "memory copy bandwidth (STREAM-style copy)"},
	{"triad_bw", "GiB/s", 1, HB_AREA_MEMORY, HB_ROLE_DETAIL, HB_CMP_RATIO,
	 "memory triad bandwidth (STREAM-style triad)"},
	{"latency", "ns", 0, HB_AREA_MEMORY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "dependent-load (pointer chase) latency"},
};

/* The bandwidth arrays, or the chase buffer and its 4-byte-per-line order (freed between). */
static unsigned long long mem_peak(const json_t *p)
{
	unsigned long long size = (unsigned long long)hb_param_int(p, "size");
	unsigned long long chase = (unsigned long long)hb_param_int(p, "chase_size");

	chase += chase / LINE * sizeof(uint32_t);
	return size > chase ? size : chase;
}

const struct hb_workload hb_wl_mem = {
	.name = "mem",
	.kind = "mem",
	.help = "memory bandwidth (copy, triad; GiB/s) and load latency (ns, pointer chase)",
	.params = params,
	.nparams = HB_ARRAY_SIZE(params),
	.metrics = metrics,
	.nmetrics = HB_ARRAY_SIZE(metrics),
	.mem_peak = mem_peak,
	.run = run,
};
