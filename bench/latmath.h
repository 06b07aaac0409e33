/*
 * latmath.h — the arithmetic of the latency workloads (netrr, noise, micro), kept apart from
 * their clocks, sockets and CPU instructions so unit tests can feed it controlled inputs: the
 * noise loop runs on any clock function (a fake one with known gaps in tests), the request/
 * response figures come from a histogram and per-flow counts, the micro cost is a loop-overhead
 * subtraction over timed batches, and /proc/stat's steal column is parsed from text. Two
 * small readers of kernel facts (the clocksource, a CPU's steal ticks) sit at the end.
 */
#ifndef HB_LATMATH_H
#define HB_LATMATH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "lathist.h"
#include "metric.h"

/* ---- noise: a loop reading a clock, every gap above a threshold is an interruption ---- */

/* Returns the current time in ns (monotonic). */
typedef uint64_t (*hb_clock_fn)(void *arg);

struct hb_noise_result {
	uint64_t elapsed_ns;	/* from the first clock read to the last */
	uint64_t noise_ns;	/* sum of the gaps above the threshold */
	uint64_t interruptions; /* number of those gaps */
	uint64_t reads;		/* clock reads after the first */
};

/*
 * Reads clk until duration_ns have passed since its first reading. Each difference between two
 * consecutive readings above threshold_ns counts as one interruption of that length and goes
 * into gaps (initialised by the caller). *stop (may be NULL) is polled every 1024 reads:
 * HB_EINTR. A clock that goes backwards is HB_EPROTO.
 */
int hb_noise_loop(hb_clock_fn clk, void *arg, uint64_t duration_ns, uint64_t threshold_ns,
		  volatile sig_atomic_t *stop, struct hb_hist *gaps, struct hb_noise_result *r);

/*
 * Adds available (% of the elapsed time the loop ran: 100 * (1 - noise/elapsed)), interrupts
 * (per second), gap_max, gap_p99, gap_p999 (µs, over the interruptions; 0 when there were
 * none). HB_EINVAL when elapsed is 0.
 */
int hb_noise_metrics(const struct hb_noise_result *r, const struct hb_hist *gaps,
		     struct hb_sample *out);

/*
 * The steal column (8th value) of the "cpuN" line of /proc/stat text, in USER_HZ ticks; cpu < 0
 * reads the all-CPU "cpu" line. HB_EPROTO when the line is missing or has no steal column.
 */
int hb_proc_stat_steal(const char *text, int cpu, unsigned long long *ticks);

/* ---- netrr: request/response round trips ---- */

/*
 * Adds tps (transactions per second: the sum over flows of count[i] / elapsed[i]; flows with
 * elapsed 0 add nothing), rtt_p50, rtt_p99, rtt_p999, rtt_mean and rtt_max (µs) from the
 * round-trip histogram (ns). HB_EINVAL when no transaction was recorded.
 */
int hb_rr_metrics(const struct hb_hist *rtt, const uint64_t *count, const double *elapsed,
		  size_t flows, struct hb_sample *out);

/* ---- micro: cost per operation ---- */

/*
 * Cost of one operation in ns from n timed batches of iters operations each: t_op[i] is the
 * batch with the operation, t_empty[i] the same loop without it (both ns, timed back to back).
 * The median over batches of (t_op[i] - t_empty[i]) / iters, never below 0. NAN when n or
 * iters is 0.
 */
double hb_micro_cost(const double *t_op, const double *t_empty, size_t n, uint64_t iters);

/* ---- kernel facts ---- */

/* The clocksource behind CLOCK_MONOTONIC ("tsc", "kvm-clock", ...; "unknown") into buf. */
void hb_clocksource(char *buf, size_t len);
/* 1 when that clocksource is read in user space by the vDSO, 0 when clock_gettime traps. */
int hb_clocksource_vdso(const char *name);
/* Steal ticks (USER_HZ) of cpu (< 0: all CPUs) from /proc/stat; -1 when unreadable. */
long long hb_steal_ticks(int cpu);

#endif
