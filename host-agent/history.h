/*
 * history.h — the command handlers over the history store and the exports: `hvbench history
 * list|show|import|export|prune` and the store behind `hvbench compare --baseline-from`
 * (history.c), `hvbench export` (export.c), plus the run labels (`--label KEY=VALUE`) they and
 * `hvbench run` share. Each handler takes argv with argv[0] = its command name and returns the
 * process exit status.
 */
#ifndef HB_HISTORY_H
#define HB_HISTORY_H

#include <stdio.h>
#include <jansson.h>
#include "hb.h"

/* `hvbench history ...`: 0 ok, 2 usage or input error, 3 store error. */
int hb_cmd_history(int argc, char **argv);
/* `hvbench compare ...`: hb_compare_main (report.h) with the history store as baseline source. */
int hb_cmd_compare(int argc, char **argv);
/* A new JSON value of the default of option key of a target of kind (the backend's table), or
 * NULL when the kind or key is unknown or has no default: what compare fills in for an option
 * one run's results lack. */
json_t *hb_target_option_default(const char *kind, const char *key);
/* `hvbench export ...`: 0 ok, 2 usage or input error, 3 store or write error. */
int hb_cmd_export(int argc, char **argv);

/*
 * Adds "KEY=VALUE" to the labels object. KEY: [A-Za-z_][A-Za-z0-9_]{0,63} (valid in every
 * export format), VALUE: up to 256 bytes of UTF-8 without control characters; a repeated KEY
 * replaces the value. Errors name the problem.
 */
int hb_label_add(json_t *labels, const char *kv, struct hb_err *e);

/* Export formats (hb_export_write). */
enum hb_export_fmt { HB_EXPORT_CSV, HB_EXPORT_OPENMETRICS, HB_EXPORT_INFLUX, HB_EXPORT_JSON };
/* "csv" | "openmetrics" | "influx" | "json" -> fmt; HB_EINVAL otherwise. */
int hb_export_format(const char *name, enum hb_export_fmt *fmt);
/*
 * Writes docs[0..n) (validated results documents; ids[i] their store ids or 0) in fmt to f.
 * OpenMetrics holds the current value of each series, so at most one run per host and profile
 * (HB_EINVAL naming the pair otherwise).
 */
int hb_export_write(FILE *f, enum hb_export_fmt fmt, json_t *const *docs, const long long *ids,
		    size_t n, struct hb_err *e);

/* Writes buf to path atomically, or to stdout when path is NULL. */
int hb_write_output(const char *path, const char *buf, size_t len, struct hb_err *e);

#endif
