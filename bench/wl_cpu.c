/*
 * wl_cpu.c — the CPU workload: a fixed compute kernel whose work per unit never changes (an
 * integer multiply/xor-shift mix chain plus a dependent floating-point multiply-add), run in
 * fixed-size chunks by `threads` threads until the duration is spent. Reports operations per
 * second (one op = one kernel iteration), so native and guest numbers are directly comparable.
 */
#include "workload.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define CPU_CHUNK 65536 /* iterations between clock checks */

static const struct hb_param params[] = {
	{"threads", HB_P_INT, 1, 256, "1", NULL, "worker threads, each running the kernel"},
};

struct worker {
	pthread_t th;
	const struct hb_wl_ctx *ctx;
	double measure_from, measure_to, hard_end; /* absolute hb_now() times */
	long long ops;
	double elapsed;
	int hit_limit;
	uint64_t checksum;
};

/* One chunk of the kernel: constant work, results folded so nothing can be optimised away. */
static __attribute__((noinline)) uint64_t kernel(uint64_t x, double *f)
{
	double y = *f;
	int i;

	for (i = 0; i < CPU_CHUNK; i++) {
		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdULL;
		x ^= x >> 29;
		x += (uint64_t)i;
		y = y * 0.9999999 + (double)(x & 0xffff) * 1e-6;
	}
	*f = y;
	return x;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t x = 0x243f6a8885a308d3ULL ^ (uint64_t)(uintptr_t)w;
	double f = 1.0, now = hb_now(), start = 0;
	int measuring = 0;

	for (;;) {
		if (w->ctx->stop && *w->ctx->stop)
			break;
		if (!measuring && now >= w->measure_from) {
			measuring = 1;
			start = now;
		}
		if (now >= w->measure_to)
			break;
		if (now >= w->hard_end) {
			w->hit_limit = 1;
			break;
		}
		x = kernel(x, &f);
		now = hb_now();
		if (measuring)
			w->ops += CPU_CHUNK;
	}
	w->elapsed = measuring ? now - start : 0;
	w->checksum = x ^ (uint64_t)(f * 1e6);
	return NULL;
}

static int run(const struct hb_wl_ctx *ctx, const json_t *p, struct hb_sample *out,
	       struct hb_err *e)
{
	int threads = (int)hb_param_int(p, "threads"), i, started = 0, rc = 0, limit = 0;
	struct worker w[256];
	double t0 = hb_now(), ramp = ctx->ramp > 0 ? ctx->ramp : 0, rate = 0;
	uint64_t sum = 0;

	if (ctx->duration <= 0)
		return hb_err_set(e, HB_EINVAL, "cpu: duration must be positive");
	if (threads < 1 || threads > 256)
		return hb_err_set(e, HB_EINVAL, "cpu: threads must be 1..256");
	memset(w, 0, sizeof(w));
	for (i = 0; i < threads; i++) {
		w[i].ctx = ctx;
		w[i].measure_from = t0 + ramp;
		w[i].measure_to = t0 + ramp + ctx->duration;
		w[i].hard_end = ctx->timeout > 0 ? t0 + ctx->timeout : w[i].measure_to + 1;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i])) {
			rc = hb_err_set(e, HB_EIO, "cpu: cannot start thread %d", i + 1);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].elapsed > 0)
			rate += (double)w[i].ops / w[i].elapsed;
		limit |= w[i].hit_limit;
		sum ^= w[i].checksum;
	}
	if (rc)
		return rc;
	if (ctx->stop && *ctx->stop)
		return hb_err_set(e, HB_EINTR, "cpu: interrupted");
	if (limit)
		return hb_err_set(
			e, HB_ETIMEDOUT,
			"cpu: run would exceed its %.1f s timeout (duration %.1f s + ramp %.1f s)",
			ctx->timeout, ctx->duration, ramp);
	hb_sample_add(out, "ops", "ops/s", 1, rate);
	out->measured_s = started ? w[0].elapsed : 0;
	out->active_s = hb_now() - t0;
	hb_sample_info(out, "threads", json_integer(threads));
	hb_sample_info(out, "chunk_ops", json_integer(CPU_CHUNK));
	hb_sample_info(out, "kernel",
		       json_string("per op: 64-bit xor-shift/multiply mix step + one "
				   "dependent double multiply-add"));
	hb_sample_info(out, "checksum", json_integer((json_int_t)(sum & 0x7fffffffffffffffULL)));
	return 0;
}

static const struct hb_metric_def metrics[] = {
	{"ops", "ops/s", 1, HB_AREA_CPU, HB_ROLE_HEADLINE, HB_CMP_RATIO,
	 "integer/floating-point operations per second over all threads"},
};

const struct hb_workload hb_wl_cpu = {
	.name = "cpu",
	.kind = "cpu",
	.help = "integer + floating-point compute kernel (operations per second)",
	.params = params,
	.nparams = HB_ARRAY_SIZE(params),
	.metrics = metrics,
	.nmetrics = HB_ARRAY_SIZE(metrics),
	.run = run,
};
