/*
 * fuzz_profile.c — libFuzzer harness for the profile loader: arbitrary bytes go through
 * hb_profile_parse (JSON syntax, top-level keys, targets with backend option tables, workload
 * entries with parameter tables, probe configuration). A valid profile must also survive the
 * command-line overrides and be freed cleanly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_profile p;
	struct hb_overrides o = {NULL, 2, 0, 0.5};
	struct hb_err e = {0};
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (hb_profile_parse(text, "fuzz.json", &p, &e) == 0) {
		if (p.ntargets < 1 || p.nentries < 1 || p.reps < 1)
			__builtin_trap(); /* the validator let an empty or invalid plan through */
		hb_err_clear(&e);
		o.targets = p.targets[0].name;
		hb_profile_apply(&p, &o, &e);
		hb_profile_free(&p);
	} else if (!e.msg[0]) {
		__builtin_trap(); /* every refusal must say why */
	}
	free(text);
	return 0;
}
