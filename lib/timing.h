/*
 * timing.h — the one timing type of a workload run: how long it measures, how long it warms up
 * first, and the hard limit for the whole run. The profile loader, the run request the runner
 * gives a backend, the agent protocol and the agent's request all carry this struct, and there
 * is one rule for the default timeout and one for the time a host waits for a reply.
 */
#ifndef HB_TIMING_H
#define HB_TIMING_H

#include "hb.h"

struct hb_timing {
	double duration; /* measured seconds (after ramp), > 0 */
	double ramp;	 /* warm-up seconds inside the run, not measured, >= 0 */
	double timeout;	 /* hard limit for the whole run, seconds; 0 = not set (default rule) */
};

/* Seconds a host waits for a run's reply beyond its timeout (transport and agent overhead). */
#define HB_TIMING_REPLY_SLACK 10.0

/* The default timeout: 3 × (ramp + duration) + 60 s (fio lays out files, QEMU may be slow). */
double hb_timing_default_timeout(double duration, double ramp);
/*
 * Fills a timeout of 0 with the default (capped at max_timeout when > 0), then checks:
 * duration > 0, ramp >= 0, timeout >= ramp + duration. HB_EINVAL with "where: ..." otherwise.
 */
int hb_timing_check(struct hb_timing *t, double max_timeout, const char *where, struct hb_err *e);
/* A new duration (a command-line override): ramp capped at half of it, timeout at least the
 * default for the new figures. */
void hb_timing_override(struct hb_timing *t, double duration);

/*
 * The guest-clock check: a run's span on the target's clock (guest_s) must match its span on
 * the host's monotonic clock (host_s, protocol round trip removed) within HB_CLOCK_TOL_REL of
 * host_s or HB_CLOCK_TOL_ABS seconds, whichever is larger (the floor covers a short run's
 * scheduling jitter on a loaded host). Both spans contain the same fork, exec and file layout,
 * so they differ only when one clock runs at another rate, as a TCG guest's refined-jiffies
 * clocksource does (0.77-0.92x real time). Returns 1 when they agree, 0 when they do not, -1
 * when either is unknown (<= 0); *dev (may be NULL) gets guest_s / host_s - 1.
 */
#define HB_CLOCK_TOL_REL 0.02
#define HB_CLOCK_TOL_ABS 0.05
int hb_clock_agrees(double host_s, double guest_s, double *dev);

#endif
