/*
 * diag.h — a list of problems found by static checks (profile validation, backend checks):
 * errors and warnings, each one message, collected rather than stopping at the first so
 * `hvbench validate` names them all. Fixed size; what does not fit is counted in dropped.
 */
#ifndef HB_DIAG_H
#define HB_DIAG_H

#include <stdio.h>

#define HB_DIAG_MAX 64

struct hb_diag_item {
	int warning; /* 0: error (the run is refused), 1: warning */
	char msg[512];
};

struct hb_diag {
	int n, nerr, nwarn, dropped;
	struct hb_diag_item it[HB_DIAG_MAX];
};

void hb_diag_init(struct hb_diag *d);
void hb_diag_error(struct hb_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hb_diag_warn(struct hb_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "PREFIX: error: MSG" / "PREFIX: warning: MSG" lines, errors first. */
void hb_diag_print(const struct hb_diag *d, const char *prefix, FILE *f);

#endif
