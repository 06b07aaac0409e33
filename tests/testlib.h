/*
 * testlib.h — helpers shared by the tests: load a committed fixture (from the source root or a
 * build subdirectory), check one metric's unit, direction and exact value, make a per-binary
 * temp directory, find the hvbench-guest binary under test. Include after <cmocka.h>;
 * everything is static inline so a test uses only what it needs.
 */
#ifndef HB_TESTLIB_H
#define HB_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hb.h"
#include "metric.h"

static inline char *load_fixture(const char *name)
{
	char path[512], *buf = NULL;
	struct hb_err e;
	const char *dirs[] = {"tests/fixtures", "../tests/fixtures", "../../tests/fixtures"};
	size_t i;

	hb_err_clear(&e);
	for (i = 0; i < HB_ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (!hb_read_file(path, 1 << 20, &buf, NULL, &e))
			return buf;
	}
	fail_msg("fixture %s not found (run from the source root)", name);
	return NULL;
}

#define check_metric(s, n, u, hib, v) check_metric_((s), (n), (u), (hib), (v), __LINE__)
static inline void check_metric_(const struct hb_sample *s, const char *name, const char *unit,
				 int hib, double want, int line)
{
	const struct hb_metric *m = hb_sample_get(s, name);

	if (!m)
		fail_msg("line %d: metric %s missing", line, name);
	if (strcmp(m->unit, unit))
		fail_msg("line %d: %s unit \"%s\", expected \"%s\"", line, name, m->unit, unit);
	if (m->higher_is_better != hib)
		fail_msg("line %d: %s higher_is_better %d, expected %d", line, name,
			 m->higher_is_better, hib);
	if (m->value != want)
		fail_msg("line %d: %s = %.17g, expected %.17g", line, name, m->value, want);
}

/* A fresh private directory $TMPDIR/TAG.XXXXXX (default /tmp) in buf: 0, or -1. */
static inline int test_mkdtemp(char *buf, size_t len, const char *tag)
{
	const char *t = getenv("TMPDIR");

	if (hb_snprintf(buf, len, "%s/%s.XXXXXX", t && *t ? t : "/tmp", tag))
		return -1;
	return mkdtemp(buf) ? 0 : -1;
}

/* The hvbench-guest binary tests/run.sh names in HB_GUEST_BIN, or NULL (then skip). */
static inline const char *test_guest_bin(void)
{
	const char *b = getenv("HB_GUEST_BIN");

	return b && access(b, X_OK) == 0 ? b : NULL;
}

#endif
