/*
 * pool.h — pooling several results documents into one baseline (reports/pool.c).
 */
#ifndef HB_POOL_H
#define HB_POOL_H

#include <stddef.h>
#include <jansson.h>
#include "hb.h"

/*
 * Pools docs[0..n) (validated results documents of one profile, newest first) into one new
 * document (*out, a new reference): docs[0] with every results row's samples joined with the
 * samples of the same (target, workload, metric) row of the others, rows only in older
 * documents added, summaries recomputed, and "pooled_runs": n.
 */
int hb_results_pool(json_t *const *docs, size_t n, json_t **out, struct hb_err *e);

#endif
