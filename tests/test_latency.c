/*
 * test_latency.c — the latency workloads (netrr, noise, micro): their arithmetic on controlled
 * inputs (the histogram's buckets and quantiles on known series, round-trip figures, the noise
 * loop on a fake clock with known gaps, /proc/stat's steal column, the micro loop-overhead
 * subtraction), then each workload run for real for a fraction of a second, checking names,
 * units, declarations and the relations that must hold (p50 <= p99 <= max), never speed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "hb.h"
#include "latmath.h"
#include "lathist.h"
#include "metric.h"
#include "rrpeer.h"
#include "testlib.h"
#include "workload.h"

/* ---- histogram ---- */

static void test_hist_exact_below_256(void **state)
{
	struct hb_hist h;
	uint64_t v;

	assert_int_equal(hb_hist_init(&h), 0);
	for (v = 1; v <= 200; v++)
		hb_hist_add(&h, v);
	assert_int_equal(h.count, 200);
	assert_int_equal(h.min, 1);
	assert_int_equal(h.max, 200);
	/* nearest rank: ceil(q * 200)-th smallest */
	assert_int_equal(hb_hist_quantile(&h, 0.5), 100);
	assert_int_equal(hb_hist_quantile(&h, 0.99), 198);
	assert_int_equal(hb_hist_quantile(&h, 0.999), 200);
	assert_int_equal(hb_hist_quantile(&h, 0.001), 1);
	assert_int_equal(hb_hist_quantile(&h, 1), 200);
	assert_true(fabs(hb_hist_mean(&h) - 100.5) < 1e-12);
	hb_hist_free(&h);
}

static void test_hist_buckets(void **state)
{
	/* 1,000,000 ns: top bit 19, sub-buckets 2^12 = 4096 wide; lower bound 999,424. */
	assert_int_equal(hb_hist_index(255), 255);
	assert_int_equal(hb_hist_index(256), 256);
	assert_int_equal(hb_hist_index(257), 256);
	assert_int_equal(hb_hist_value(256), 256);
	assert_int_equal(hb_hist_index(1000000), (19 - 7 + 1) * 128 + (1000000 >> 12) - 128);
	assert_int_equal(hb_hist_value(hb_hist_index(1000000)), 999424 + 2047);
	assert_int_equal(hb_hist_index(UINT64_MAX), HB_HIST_N - 1);
	/* every value's bucket stands for a value within 1/128 of it */
	for (uint64_t v = 1; v < (1ULL << 40); v = v * 3 + 7) {
		uint64_t r = hb_hist_value(hb_hist_index(v));
		assert_true(fabs((double)r - (double)v) <= (double)v / 128.0);
	}
}

static void test_hist_merge_and_clamp(void **state)
{
	struct hb_hist a, b;
	int i;

	assert_int_equal(hb_hist_init(&a), 0);
	assert_int_equal(hb_hist_init(&b), 0);
	assert_int_equal(hb_hist_quantile(&a, 0.5), 0); /* empty */
	for (i = 0; i < 98; i++)
		hb_hist_add(&a, 10000); /* 10 µs */
	hb_hist_add(&b, 1000000);	/* 1 ms */
	hb_hist_add(&b, 1000001);
	hb_hist_merge(&a, &b);
	assert_int_equal(a.count, 100);
	assert_int_equal(a.min, 10000);
	assert_int_equal(a.max, 1000001);
	/* 10000 sits in a 64-wide bucket [9984, 10048): its value 10015 */
	assert_int_equal(hb_hist_quantile(&a, 0.5), 10015);
	assert_int_equal(hb_hist_quantile(&a, 0.98), 10015);
	/* rank 99 is 1,000,000 (bucket value 1,001,471), clamped to the exact max 1,000,001 */
	assert_int_equal(hb_hist_quantile(&a, 0.99), 1000001);
	assert_int_equal(hb_hist_quantile(&a, 0.999), 1000001);
	hb_hist_free(&a);
	hb_hist_free(&b);
}

/* ---- netrr arithmetic ---- */

static void test_rr_metrics_known_series(void **state)
{
	struct hb_hist h;
	struct hb_sample s;
	uint64_t count[2] = {600, 400};
	double elapsed[2] = {2.0, 0.5};
	int i;

	assert_int_equal(hb_hist_init(&h), 0);
	hb_sample_init(&s);
	assert_int_equal(hb_rr_metrics(&h, count, elapsed, 2, &s), HB_EINVAL);
	/* 1000 round trips, all in the histogram's exact range: 990 x 100 ns, 9 x 200, 1 x 250 */
	for (i = 0; i < 990; i++)
		hb_hist_add(&h, 100);
	for (i = 0; i < 9; i++)
		hb_hist_add(&h, 200);
	hb_hist_add(&h, 250);
	assert_int_equal(hb_rr_metrics(&h, count, elapsed, 2, &s), 0);
	check_metric(&s, "tps", "trans/s", 1, 600 / 2.0 + 400 / 0.5);
	check_metric(&s, "rtt_p50", "us", 0, 0.1);
	check_metric(&s, "rtt_p99", "us", 0, 0.1);  /* rank 990 */
	check_metric(&s, "rtt_p999", "us", 0, 0.2); /* rank 999 */
	check_metric(&s, "rtt_max", "us", 0, 0.25);
	check_metric(&s, "rtt_mean", "us", 0, (990 * 100 + 9 * 200 + 250) / 1000.0 / 1e3);
	hb_sample_free(&s);
	hb_hist_free(&h);
}

/* ---- noise arithmetic: the loop on a fake clock ---- */

struct fake_clock {
	const uint64_t *t;
	size_t n, i;
	uint64_t step; /* after the series: advance by this per read */
};

static uint64_t fake_now(void *arg)
{
	struct fake_clock *c = arg;
	uint64_t last;

	if (c->i < c->n)
		return c->t[c->i++];
	last = c->n ? c->t[c->n - 1] : 0;
	return last + c->step * (++c->i - c->n);
}

static void test_noise_loop_known_gaps(void **state)
{
	/* gaps: 10 10 1000 10 10 2000 10 2000 (ns); threshold 1000 is strict: 1000 is no gap */
	static const uint64_t t[] = {0, 10, 20, 1020, 1030, 1040, 3040, 3050, 5050, 9999};
	struct fake_clock c = {t, HB_ARRAY_SIZE(t), 0, 1};
	struct hb_noise_result r;
	struct hb_hist g;
	struct hb_sample s;

	assert_int_equal(hb_hist_init(&g), 0);
	hb_sample_init(&s);
	assert_int_equal(hb_noise_loop(fake_now, &c, 5000, 1000, NULL, &g, &r), 0);
	assert_int_equal(c.i, 9); /* stopped at the first reading >= 5000 */
	assert_int_equal(r.elapsed_ns, 5050);
	assert_int_equal(r.reads, 8);
	assert_int_equal(r.interruptions, 2);
	assert_int_equal(r.noise_ns, 4000);
	assert_int_equal(g.count, 2);
	assert_int_equal(hb_noise_metrics(&r, &g, &s), 0);
	check_metric(&s, "available", "%", 1, 100.0 * (1.0 - 4000.0 / 5050.0));
	check_metric(&s, "interrupts", "1/s", 0, 2.0 / (5050.0 / 1e9));
	check_metric(&s, "gap_max", "us", 0, 2.0);
	/* 2000 ns sits in the 8-wide bucket [2000, 2008): value 2003, clamped to the max 2000 */
	check_metric(&s, "gap_p99", "us", 0, 2.0);
	check_metric(&s, "gap_p999", "us", 0, 2.0);
	hb_sample_free(&s);
	hb_hist_free(&g);

	/* a quiet loop: 100% available, no interruption, gap figures 0 */
	{
		struct fake_clock q = {NULL, 0, 0, 20};
		assert_int_equal(hb_hist_init(&g), 0);
		hb_sample_init(&s);
		assert_int_equal(hb_noise_loop(fake_now, &q, 100000, 1000, NULL, &g, &r), 0);
		assert_int_equal(r.reads, 5000);
		assert_int_equal(hb_noise_metrics(&r, &g, &s), 0);
		check_metric(&s, "available", "%", 1, 100.0);
		check_metric(&s, "interrupts", "1/s", 0, 0.0);
		check_metric(&s, "gap_max", "us", 0, 0.0);
		check_metric(&s, "gap_p99", "us", 0, 0.0);
		hb_sample_free(&s);
		hb_hist_free(&g);
	}
}

static void test_noise_loop_errors(void **state)
{
	static const uint64_t back[] = {100, 200, 150};
	struct fake_clock c = {back, HB_ARRAY_SIZE(back), 0, 1};
	struct fake_clock slow = {NULL, 0, 0, 1};
	volatile sig_atomic_t stop = 1;
	struct hb_noise_result r;
	struct hb_hist g;

	assert_int_equal(hb_hist_init(&g), 0);
	assert_int_equal(hb_noise_loop(fake_now, &c, 1000, 10, NULL, &g, &r), HB_EPROTO);
	/* the stop flag is seen within 1024 reads */
	assert_int_equal(hb_noise_loop(fake_now, &slow, 1000000, 10, &stop, &g, &r), HB_EINTR);
	assert_int_equal(r.reads, 1024);
	r.elapsed_ns = 0;
	assert_int_equal(hb_noise_metrics(&r, &g, NULL), HB_EINVAL);
	hb_hist_free(&g);
}

static void test_proc_stat_steal(void **state)
{
	static const char txt[] = "cpu  1 2 3 4 5 6 7 8 9 10\n"
				  "cpu10 5 5 5 5 5 5 5 555 5 5\n"
				  "cpu1 10 20 30 40 50 60 70 80 90 100\n"
				  "cpu2 1 2 3 4 5 6 7\n"
				  "intr 12345\n";
	unsigned long long t = 0;

	assert_int_equal(hb_proc_stat_steal(txt, 1, &t), 0);
	assert_int_equal(t, 80);
	assert_int_equal(hb_proc_stat_steal(txt, 10, &t), 0);
	assert_int_equal(t, 555);
	assert_int_equal(hb_proc_stat_steal(txt, -1, &t), 0);
	assert_int_equal(t, 8);
	assert_int_equal(hb_proc_stat_steal(txt, 2, &t), HB_EPROTO); /* no steal column */
	assert_int_equal(hb_proc_stat_steal(txt, 3, &t), HB_EPROTO); /* no such CPU */
}

/* ---- micro arithmetic ---- */

static void test_micro_cost(void **state)
{
	const double op[] = {1100, 1300, 1200, 5000, 1150};
	const double empty[] = {100, 100, 100, 100, 150};
	const double slower_empty[] = {2000, 2000, 2000, 2000, 2000};

	/* per batch (op - empty) / 10: 100 120 110 490 100 -> median 110 */
	assert_true(hb_micro_cost(op, empty, 5, 10) == 110.0);
	/* an even count of batches: the mean of the middle two of 100 110 120 490 */
	assert_true(hb_micro_cost(op, empty, 4, 10) == (120.0 + 110.0) / 2);
	/* the loop alone was slower: never a negative cost */
	assert_true(hb_micro_cost(op, slower_empty, 5, 10) == 0.0);
	assert_true(isnan(hb_micro_cost(op, empty, 0, 10)));
	assert_true(isnan(hb_micro_cost(op, empty, 5, 0)));
}

/* ---- netrr for real ---- */

static const struct hb_workload *wl(const char *name)
{
	const struct hb_workload *w = hb_workload_find(name);
	assert_non_null(w);
	return w;
}

static int run_wl(const char *name, const char *pj, const struct hb_wl_ctx *ctx,
		  struct hb_sample *s, struct hb_err *e)
{
	const struct hb_workload *w = wl(name);
	json_t *in = pj ? json_loads(pj, 0, NULL) : NULL, *p = NULL;
	int rc;

	hb_err_clear(e);
	hb_sample_init(s);
	if (pj)
		assert_non_null(in);
	rc = hb_params_validate(w->params, w->nparams, in, "test", &p, e);
	if (!rc)
		rc = w->run(ctx, p, s, e);
	if (!rc)
		hb_sample_annotate(s, w->metrics, w->nmetrics, w->headline ? w->headline(p) : NULL);
	json_decref(in);
	json_decref(p);
	return rc;
}

/* Every metric of s is declared, latency-area, with the declared role and comparison. */
static void check_declared(const struct hb_sample *s, const char *wname, const char *headline)
{
	const struct hb_workload *w = wl(wname);
	int i, heads = 0;

	assert_true(s->n > 0);
	for (i = 0; i < s->n; i++) {
		const struct hb_metric_def *d =
			hb_metric_def_find(w->metrics, w->nmetrics, s->m[i].name);
		if (!d)
			fail_msg("%s: metric %s is not declared", wname, s->m[i].name);
		assert_string_equal(s->m[i].unit, d->unit);
		assert_int_equal(s->m[i].area, HB_AREA_LATENCY);
		assert_int_equal(s->m[i].cmp, d->cmp);
		assert_true(isfinite(s->m[i].value));
		assert_true(s->m[i].value >= 0);
		heads += s->m[i].role == HB_ROLE_HEADLINE;
	}
	assert_int_equal(heads, 1);
	assert_int_equal(hb_sample_get(s, headline)->role, HB_ROLE_HEADLINE);
}

static double val(const struct hb_sample *s, const char *name)
{
	const struct hb_metric *m = hb_sample_get(s, name);
	if (!m)
		fail_msg("metric %s missing", name);
	return m->value;
}

static void check_rr(const struct hb_sample *s)
{
	check_declared(s, "netrr", "rtt_p50");
	assert_int_equal(hb_sample_get(s, "tps")->cmp, HB_CMP_RATIO);
	assert_int_equal(hb_sample_get(s, "rtt_p50")->cmp, HB_CMP_DELTA);
	assert_true(val(s, "tps") > 0);
	assert_true(val(s, "rtt_p50") > 0);
	assert_true(val(s, "rtt_p50") <= val(s, "rtt_p99"));
	assert_true(val(s, "rtt_p99") <= val(s, "rtt_p999"));
	assert_true(val(s, "rtt_p999") <= val(s, "rtt_max"));
	assert_true(json_integer_value(json_object_get(s->info, "transactions")) > 0);
}

static void test_netrr_against_given_server(void **state)
{
	struct hb_rrpeer peer;
	struct hb_wl_ctx ctx = {.duration = 0.3, .timeout = 30};
	struct hb_sample s;
	struct hb_err e;

	hb_err_clear(&e);
	if (hb_rrpeer_start(&peer, NULL, "127.0.0.1", 0, &e))
		fail_msg("%s", e.msg);
	assert_true(peer.port > 0);
	assert_int_equal(peer.udp, 1);
	ctx.server_addr = "127.0.0.1";
	ctx.server_port = peer.port;
	if (run_wl("netrr", "{\"flows\":2,\"size\":\"4k\"}", &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_rr(&s);
	assert_string_equal(json_string_value(json_object_get(s.info, "path")), "remote-server");
	assert_int_equal(json_integer_value(json_object_get(s.info, "size")), 4096);
	hb_sample_free(&s);
	if (run_wl("netrr", "{\"protocol\":\"udp\",\"size\":100}", &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_rr(&s);
	assert_string_equal(json_string_value(json_object_get(s.info, "protocol")), "UDP");
	hb_sample_free(&s);
	hb_rrpeer_stop(&peer);
	hb_rrpeer_stop(&peer); /* twice is harmless */
	assert_int_equal(peer.pid, 0);
}

/* Without a server address the workload makes its own path (veth pair as root). */
static void test_netrr_own_path(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.3, .ramp = 0.1, .timeout = 30};
	struct hb_sample s;
	struct hb_err e;
	char ns[64];

	if (run_wl("netrr", NULL, &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_rr(&s);
	if (geteuid() == 0 && access("/run/netns", F_OK) == 0)
		assert_string_equal(json_string_value(json_object_get(s.info, "path")),
				    "veth-netns");
	snprintf(ns, sizeof(ns), "/run/netns/hb-%d-s", (int)getpid());
	assert_int_equal(access(ns, F_OK), -1);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* the echo server was reaped */
	hb_sample_free(&s);
}

static void test_netrr_errors(void **state)
{
	struct hb_rrpeer peer, busy;
	struct hb_wl_ctx ctx = {.duration = 0.2, .timeout = 5};
	struct hb_sample s;
	struct hb_err e;
	char port[16];

	hb_err_clear(&e);
	assert_int_equal(hb_rrpeer_start(&peer, NULL, "not-an-ip", 0, &e), HB_ECHILD);
	assert_non_null(strstr(e.msg, "bad IPv4 bind address \"not-an-ip\""));
	assert_int_equal(peer.pid, 0);
	/* the port is taken: the child's own error comes back */
	hb_err_clear(&e);
	assert_int_equal(hb_rrpeer_start(&busy, NULL, "127.0.0.1", 0, &e), 0);
	assert_int_equal(hb_rrpeer_start(&peer, NULL, "127.0.0.1", busy.port, &e), HB_ECHILD);
	snprintf(port, sizeof(port), ":%d", busy.port);
	assert_non_null(strstr(e.msg, port));
	assert_non_null(strstr(e.msg, "Address already in use"));
	/* nobody listens on a stopped server's port */
	ctx.server_addr = "127.0.0.1";
	ctx.server_port = busy.port;
	hb_rrpeer_stop(&busy);
	assert_int_equal(run_wl("netrr", NULL, &ctx, &s, &e), HB_EIO);
	assert_non_null(strstr(e.msg, "cannot connect to 127.0.0.1"));
	assert_non_null(strstr(e.msg, "Connection refused"));
	hb_sample_free(&s);
	/* bad parameters are named */
	assert_int_equal(run_wl("netrr", "{\"protocol\":\"udp\",\"size\":\"64k\"}", &ctx, &s, &e),
			 HB_EINVAL);
	assert_non_null(strstr(e.msg, "over the UDP limit of 65507 bytes"));
	hb_sample_free(&s);
	assert_int_equal(run_wl("netrr", "{\"protocl\":\"udp\"}", &ctx, &s, &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "did you mean \"protocol\""));
	hb_sample_free(&s);
}

/* ---- noise and micro for real ---- */

static void same_affinity(const cpu_set_t *before)
{
	cpu_set_t now;

	assert_int_equal(sched_getaffinity(0, sizeof(now), &now), 0);
	assert_true(CPU_EQUAL(before, &now));
}

static void test_noise_run(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.2, .ramp = 0.05, .timeout = 10};
	struct hb_sample s;
	struct hb_err e;
	cpu_set_t before;

	assert_int_equal(sched_getaffinity(0, sizeof(before), &before), 0);
	if (run_wl("noise", "{\"threshold\":2}", &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_declared(&s, "noise", "available");
	assert_true(val(&s, "available") > 0 && val(&s, "available") <= 100);
	assert_true(val(&s, "gap_p99") <= val(&s, "gap_p999"));
	assert_true(val(&s, "gap_p999") <= val(&s, "gap_max"));
	if (val(&s, "interrupts") > 0)
		assert_true(val(&s, "gap_p99") > 2.0); /* every interruption is above 2 µs */
	assert_true(json_real_value(json_object_get(s.info, "threshold_us")) == 2.0);
	assert_true(json_real_value(json_object_get(s.info, "measured_s")) >= 0.2);
	assert_true(CPU_ISSET(json_integer_value(json_object_get(s.info, "cpu")), &before));
	same_affinity(&before);
	hb_sample_free(&s);
	/* a CPU this process may not use is named */
	assert_int_equal(run_wl("noise", "{\"cpu\":4095}", &ctx, &s, &e), HB_EINVAL);
	assert_string_equal(e.msg, "noise: CPU 4095 is not one this process may use");
	hb_sample_free(&s);
	same_affinity(&before);
}

static void test_micro_run(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.6, .timeout = 30};
	struct hb_sample s;
	struct hb_err e;
	cpu_set_t before;
	const char *path;
	static const char *const names[] = {"cpuid",   "rdtsc",	     "clock_gettime",
					    "syscall", "page_fault", "wakeup"};
	size_t i;

	assert_int_equal(sched_getaffinity(0, sizeof(before), &before), 0);
	if (run_wl("micro", NULL, &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_declared(&s, "micro", "cpuid");
	for (i = 0; i < HB_ARRAY_SIZE(names); i++) {
		if (!strcmp(names[i], "wakeup") && CPU_COUNT(&before) < 2) {
			assert_null(hb_sample_get(&s, "wakeup"));
			assert_non_null(json_object_get(s.info, "wakeup_skipped"));
			continue;
		}
		assert_non_null(hb_sample_get(&s, names[i]));
		assert_string_equal(hb_sample_get(&s, names[i])->unit, "ns");
	}
	/* these cannot be free: a trap or a kernel entry, a page zeroed, a thread woken */
	assert_true(val(&s, "syscall") > 0);
	assert_true(val(&s, "page_fault") > 0);
	path = json_string_value(json_object_get(s.info, "clock_gettime_path"));
	assert_non_null(path);
	assert_true(!strcmp(path, "vdso") || !strcmp(path, "syscall"));
	same_affinity(&before);
	hb_sample_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_exact_below_256),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_hist_merge_and_clamp),
		cmocka_unit_test(test_rr_metrics_known_series),
		cmocka_unit_test(test_noise_loop_known_gaps),
		cmocka_unit_test(test_noise_loop_errors),
		cmocka_unit_test(test_proc_stat_steal),
		cmocka_unit_test(test_micro_cost),
		cmocka_unit_test(test_netrr_against_given_server),
		cmocka_unit_test(test_netrr_own_path),
		cmocka_unit_test(test_netrr_errors),
		cmocka_unit_test(test_noise_run),
		cmocka_unit_test(test_micro_run),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
