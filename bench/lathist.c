/*
 * lathist.c — log-linear latency histogram (see lathist.h). A value v below 2 * 128 has its own
 * bucket; above, with m the index of its top bit, it falls in one of 128 equal sub-buckets of
 * [2^m, 2^(m+1)), each 2^(m-7) wide.
 */
#include "lathist.h"
#include "hb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hb_hist_init(struct hb_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
	h->b = calloc(HB_HIST_N, sizeof(*h->b));
	return h->b ? 0 : HB_ENOMEM;
}

void hb_hist_free(struct hb_hist *h)
{
	free(h->b);
	h->b = NULL;
}

size_t hb_hist_index(uint64_t v)
{
	int m;

	if (v < 2 * HB_HIST_SUB)
		return (size_t)v;
	m = 63 - __builtin_clzll(v);
	return (size_t)(m - HB_HIST_SUB_BITS + 1) * HB_HIST_SUB +
	       (size_t)((v >> (m - HB_HIST_SUB_BITS)) - HB_HIST_SUB);
}

uint64_t hb_hist_value(size_t i)
{
	int m;
	uint64_t off, shift, lower, width;

	if (i < 2 * HB_HIST_SUB)
		return i;
	m = (int)(i / HB_HIST_SUB) + HB_HIST_SUB_BITS - 1;
	off = i % HB_HIST_SUB;
	shift = (uint64_t)(m - HB_HIST_SUB_BITS);
	lower = (HB_HIST_SUB + off) << shift;
	width = (uint64_t)1 << shift;
	return lower + (width - 1) / 2;
}

void hb_hist_add(struct hb_hist *h, uint64_t v)
{
	h->b[hb_hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hb_hist_merge(struct hb_hist *dst, const struct hb_hist *src)
{
	size_t i;

	if (!src->count)
		return;
	for (i = 0; i < HB_HIST_N; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hb_hist_quantile(const struct hb_hist *h, double q)
{
	uint64_t rank, seen = 0, v = 0;
	size_t i;

	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)ceil(q * (double)h->count - 1e-9);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HB_HIST_N; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			v = hb_hist_value(i);
			break;
		}
	}
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

double hb_hist_mean(const struct hb_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0;
}
