/*
 * fuzz_resultfile.c — libFuzzer harness for the result-file loader that `hvbench report` and
 * `hvbench compare` trust: arbitrary bytes parsed as JSON and validated against
 * hvbench/result/1. A refusal must carry a message; an accepted document is rendered to
 * Markdown numbers through the same formatting code the reports use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_err e = {0};
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	char buf[64];

	if (!j)
		return 0;
	if (hb_results_validate(j, "fuzz.json", &e) == 0) {
		json_t *res = json_object_get(j, "results"), *x;
		size_t i;
		json_array_foreach (res, i, x) {
			hb_fmt_value(json_number_value(json_object_get(x, "median")), buf,
				     sizeof(buf));
			hb_fmt_pct(json_number_value(json_object_get(x, "cv")), buf, sizeof(buf));
		}
	} else if (!e.msg[0]) {
		__builtin_trap();
	}
	json_decref(j);
	return 0;
}
