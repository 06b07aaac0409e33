/*
 * lathist.h — the latency histogram shared by the latency workloads (netrr round trips, noise
 * gaps): HDR-style log-linear buckets over nanoseconds, exact below 256 ns and within 1/128
 * (< 0.8%) above, fixed memory whatever the run length. Count, min, max and sum are exact;
 * quantiles come from the buckets (nearest rank) and are clamped to [min, max], so p100 is the
 * exact maximum. Pure arithmetic: no clock, no I/O, so tests feed it known series.
 */
#ifndef HB_LATHIST_H
#define HB_LATHIST_H

#include <stddef.h>
#include <stdint.h>

#define HB_HIST_SUB_BITS 7
#define HB_HIST_SUB	 (1u << HB_HIST_SUB_BITS) /* sub-buckets per power of two */
#define HB_HIST_N	 ((64 - HB_HIST_SUB_BITS + 1) * HB_HIST_SUB)

struct hb_hist {
	uint64_t count;
	uint64_t min, max; /* exact; min is UINT64_MAX while empty */
	double sum;	   /* exact sum of the values (ns) */
	uint64_t *b;	   /* HB_HIST_N counters; owned, freed by hb_hist_free */
};

/* 0, or HB_ENOMEM. */
int hb_hist_init(struct hb_hist *h);
void hb_hist_free(struct hb_hist *h);
void hb_hist_add(struct hb_hist *h, uint64_t ns);
/* Adds every value of src to dst (both initialised). */
void hb_hist_merge(struct hb_hist *dst, const struct hb_hist *src);
/* Bucket index of a value, and the value a bucket stands for (the floor of its midpoint). */
size_t hb_hist_index(uint64_t ns);
uint64_t hb_hist_value(size_t index);
/*
 * Nearest-rank quantile (q in [0, 1]): the value of the bucket holding the ceil(q * count)-th
 * smallest value, clamped to [min, max]. 0 when empty.
 */
uint64_t hb_hist_quantile(const struct hb_hist *h, double q);
/* Mean in ns; 0 when empty. */
double hb_hist_mean(const struct hb_hist *h);

#endif
