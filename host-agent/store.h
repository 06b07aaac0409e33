/*
 * store.h — the history store: every `hvbench run` (and every imported results.json) kept in a
 * database with one schema on two backends — an embedded SQLite file by default
 * ($XDG_DATA_HOME/hvbench/history.db) or a shared PostgreSQL database for a team
 * ("postgresql://..."). The whole results document is kept verbatim (so a stored run comes
 * back byte for byte as a results document) and its parts are spread into queryable tables:
 * hb_runs, hb_labels, hb_host_facts, hb_targets, hb_metrics, hb_samples, hb_comparisons,
 * hb_failures (docs/history.md describes them). The schema carries a version and is migrated
 * forward on open; a database that is not an hvbench store is refused and never written.
 */
#ifndef HB_STORE_H
#define HB_STORE_H

#include <stddef.h>
#include <jansson.h>
#include "hb.h"

#define HB_STORE_VERSION 1

struct hb_store; /* opaque; hb_store_close() frees it */

/* The default store path: $XDG_DATA_HOME/hvbench/history.db, else ~/.local/share/hvbench/... */
int hb_store_default_path(char *buf, size_t len, struct hb_err *e);

/*
 * Opens (creating or migrating as needed) the store named by spec: NULL or "" = $HVBENCH_DB
 * when set, else the default path (its directory is created), "postgresql://..." / "postgres://..."
 * = PostgreSQL, anything else = an SQLite file path. Errors name the store and the cause.
 */
int hb_store_open(const char *spec, struct hb_store **out, struct hb_err *e);
void hb_store_close(struct hb_store *s);
/* "sqlite FILE" or "postgresql database NAME": for messages. Borrowed. */
const char *hb_store_name(const struct hb_store *s);

/*
 * Records one results document (validated by the caller). source: where it came from (a path;
 * may be NULL). A run already in the store (same host, profile and started_at) is not stored
 * twice: *dup is set and *id names the stored copy. Atomic: all of it or nothing.
 */
int hb_store_record(struct hb_store *s, const json_t *doc, const char *source, long long *id,
		    int *dup, struct hb_err *e);

struct hb_store_query {
	const char *profile;		/* NULL = any */
	const char *hostname;		/* NULL = any */
	int complete_only;		/* only status "complete" */
	long long exclude_id;		/* 0 = none */
	const char *exclude_started_at; /* with exclude_host: skip that one run (NULL = none) */
	const char *exclude_host;
	long limit; /* newest first; 0 = all */
};

/*
 * Runs matching q, newest first, as a new JSON array of summaries:
 * {"id", "started_at", "hostname", "profile", "status", "metrics" (count), "labels" {..}}.
 */
int hb_store_list(struct hb_store *s, const struct hb_store_query *q, json_t **out,
		  struct hb_err *e);
/* The stored results document of run id (new reference); HB_EINVAL naming the id if absent. */
int hb_store_get(struct hb_store *s, long long id, json_t **out, struct hb_err *e);
/* Deletes run id and everything it owns; HB_EINVAL if absent. */
int hb_store_delete(struct hb_store *s, long long id, struct hb_err *e);

/*
 * Baselines from the store for the gate and the report. from is "db:last=K" (1..1000): the
 * newest K complete runs of cur's profile on cur's host, cur itself excluded. On success
 * *docs is a malloc'd array of *n (1..K) new references, newest first; free with
 * hb_store_docs_free(). No matching run is an error naming profile, host and store.
 */
int hb_store_baselines(const char *db, const char *from, const json_t *cur, json_t ***docs,
		       size_t *n, struct hb_err *e);
void hb_store_docs_free(json_t **docs, size_t n);

/*
 * hb_store_baselines() pooled into one baseline document (*base, new reference) for a gate
 * that takes one baseline; name gets a description such as "db:last=5 (5 runs: 12, 9, ...)".
 */
int hb_store_baseline(const char *db, const char *from, const json_t *cur, json_t **base,
		      char *name, size_t namelen, struct hb_err *e);

/* Parses "2026-01-31T12:00:00.123Z" (UTC, as results.json has it) into epoch seconds. */
int hb_parse_utc(const char *s, double *epoch);

/*
 * Records results.json at path into the store named by db (NULL = default). Used by
 * `hvbench run`: never fails the run — returns non-zero with the reason in e, and the caller
 * prints a warning.
 */
int hb_store_record_file(const char *db, const char *path, long long *id, struct hb_err *e);

#endif
