/*
 * fuzz_results_scale.c — libFuzzer harness for the results loader at scale: a real results file
 * (tests/fixtures/results-base.json, read once) is grown from the input into a large document
 * (one row repeated up to 4000 times, its samples stretched to thousands of fuzzer-chosen
 * doubles, non-finite values included) and fed through hb_results_load from a file, as
 * `hvbench report` and `compare` read it. A refusal must carry a message; a document over the
 * size limit must be refused; an accepted one must keep its rows.
 * Input: bytes 0-1 repeat count, byte 2 which row, the rest 8-byte doubles for the samples.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report.h"

static json_t *g_base;
static char g_path[64];

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_results_scale: invariant violated: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_err e = {0};
	json_t *doc, *rows, *row, *samples, *loaded = NULL;
	size_t reps, nrows, i;
	char *txt;
	FILE *f;
	int rc;

	if (!g_base) {
		const char *fix = getenv("HB_FUZZ_RESULTS") ? getenv("HB_FUZZ_RESULTS")
							    : "tests/fixtures/results-base.json";
		int fd;
		if (hb_results_load(fix, &g_base, &e)) {
			fprintf(stderr, "fuzz_results_scale: %s (run from the source root)\n",
				e.msg);
			abort();
		}
		snprintf(g_path, sizeof(g_path), "/tmp/hb-fuzz-scale.XXXXXX");
		fd = mkstemp(g_path);
		check(fd >= 0, "temp file");
		close(fd);
	}
	if (size < 3)
		return 0;
	reps = ((size_t)data[0] | (size_t)data[1] << 8) % 4000 + 1;
	nrows = json_array_size(json_object_get(g_base, "results"));
	check(nrows > 0, "fixture has rows");
	doc = json_deep_copy(g_base);
	rows = json_object_get(doc, "results");
	row = json_deep_copy(json_array_get(rows, data[2] % nrows));
	samples = json_object_get(row, "samples");
	for (i = 3; i + 8 <= size; i += 8) {
		double v;
		memcpy(&v, data + i, 8);
		json_array_append_new(samples,
				      json_real(v)); /* NULL for inf/NaN: jansson refuses */
	}
	for (i = 0; i < reps; i++)
		json_array_append(rows, row);
	json_decref(row);
	txt = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	check(txt != NULL, "document encodes");
	f = fopen(g_path, "w");
	check(f && fputs(txt, f) >= 0 && fclose(f) == 0, "document written");
	rc = hb_results_load(g_path, &loaded, &e);
	if (rc) {
		check(e.msg[0] != '\0', "a refusal carries a message");
	} else {
		check(strlen(txt) <= HB_RESULTS_MAX_BYTES, "an oversized file is refused");
		check(json_array_size(json_object_get(loaded, "results")) == nrows + reps,
		      "every row kept");
		json_decref(loaded);
	}
	free(txt);
	return 0;
}
