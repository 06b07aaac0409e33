/*
 * fuzz_sample.c — libFuzzer harness for hb_sample_from_json, the decoder the host uses on every
 * result an agent sends: arbitrary bytes parsed as JSON, decoded, and on success re-encoded
 * and decoded again, which must give the same metrics.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "metric.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_sample s, s2;
	struct hb_err e = {0};
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je), *back;
	int i;

	if (!j)
		return 0;
	if (hb_sample_from_json(j, &s, &e) == 0) {
		back = hb_sample_to_json(&s);
		hb_err_clear(&e);
		if (!back || hb_sample_from_json(back, &s2, &e) != 0 || s2.n != s.n) {
			fprintf(stderr, "fuzz_sample: round trip failed: %s\n", e.msg);
			abort();
		}
		for (i = 0; i < s.n; i++)
			if (strcmp(s.m[i].name, s2.m[i].name) || s.m[i].value != s2.m[i].value ||
			    !isfinite(s.m[i].value))
				abort();
		hb_sample_free(&s2);
		json_decref(back);
		hb_sample_free(&s);
	} else if (!e.msg[0]) {
		abort(); /* every failure names its cause */
	}
	json_decref(j);
	return 0;
}
