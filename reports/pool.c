/*
 * pool.c — joins several results documents of one profile into one baseline document, so a
 * gate that takes one baseline file can be handed "the last K runs" from the history store:
 * the newest document, with every results row's samples joined with the same row's samples
 * of the others and the row's summary recomputed from them.
 */
#include "pool.h"
#include "rep_int.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>

/* Recomputes the summary fields of one results row from its samples. */
static void resummarize(json_t *row)
{
	double *v = NULL;
	size_t n = hb_j_samples(row, &v);
	struct hb_summary sm;

	json_object_set_new(row, "n", json_integer((json_int_t)n));
	if (n) {
		hb_summarize(v, n, &sm);
		json_object_set_new(row, "median", json_real(sm.median));
		json_object_set_new(row, "mean", json_real(sm.mean));
		json_object_set_new(row, "stdev",
				    isfinite(sm.stdev) ? json_real(sm.stdev) : json_null());
		json_object_set_new(row, "cv", isfinite(sm.cv) ? json_real(sm.cv) : json_null());
		json_object_set_new(
			row, "ci95",
			json_pack("[o, o]", isfinite(sm.ci_lo) ? json_real(sm.ci_lo) : json_null(),
				  isfinite(sm.ci_hi) ? json_real(sm.ci_hi) : json_null()));
	}
	json_object_del(row, "measured_s");
	free(v);
}

int hb_results_pool(json_t *const *docs, size_t n, json_t **out, struct hb_err *e)
{
	json_t *pool, *rows, *r;
	size_t i, j;

	*out = NULL;
	if (n == 0)
		return hb_err_set(e, HB_EINVAL, "no results to pool");
	pool = json_deep_copy(docs[0]);
	if (!pool)
		return hb_err_set(e, HB_ENOMEM, "out of memory");
	rows = json_object_get(pool, "results");
	for (i = 1; i < n; i++) {
		json_array_foreach (json_object_get(docs[i], "results"), j, r) {
			json_t *mine = (json_t *)hb_j_result(pool, hb_j_str(r, "target", ""),
							     hb_j_str(r, "workload", ""),
							     hb_j_str(r, "metric", ""));

			if (!mine)
				json_array_append_new(rows, json_deep_copy(r));
			else
				json_array_extend(json_object_get(mine, "samples"),
						  json_object_get(r, "samples"));
		}
	}
	json_array_foreach (rows, j, r)
		resummarize(r);
	json_object_set_new(pool, "pooled_runs", json_integer((json_int_t)n));
	*out = pool;
	return 0;
}
