/*
 * store.c — the history store over either SQL backend (store_sqlite.c, store_pg.c): opening
 * with schema creation, version check and forward migrations; refusing foreign or damaged
 * databases; recording a results document atomically into the queryable tables (and verbatim);
 * listing, fetching and deleting runs; and materialising "the last K complete runs of this
 * profile on this host" as results documents for the gate and the report.
 */
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"
#include "report.h"

struct hb_store {
	const struct hb_sqldrv *drv;
	void *conn;
	char name[4200];
};

/*
 * Migrations: entry i takes the schema from version i to i + 1. Statements are separated by
 * ";\n"; @ID@ is the backend's auto-numbered primary key. Never edit a released entry: add one.
 */
static const char *const migrations[HB_STORE_VERSION] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE hb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
	"CREATE TABLE hb_runs (id @ID@, hostname TEXT NOT NULL, profile TEXT NOT NULL,"
	" started_at TEXT NOT NULL, started_epoch DOUBLE PRECISION NOT NULL, finished_at TEXT,"
	" status TEXT NOT NULL, doc_schema TEXT NOT NULL, tool_version TEXT, source TEXT,"
	" recorded_at TEXT NOT NULL, document TEXT NOT NULL,"
	" UNIQUE (hostname, profile, started_at));\n"
	"CREATE INDEX hb_runs_recent ON hb_runs (profile, hostname, started_epoch);\n"
	"CREATE TABLE hb_labels (run_id BIGINT NOT NULL REFERENCES hb_runs (id),"
	" key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key));\n"
	"CREATE TABLE hb_host_facts (run_id BIGINT NOT NULL REFERENCES hb_runs (id),"
	" key TEXT NOT NULL, value TEXT, PRIMARY KEY (run_id, key));\n"
	"CREATE TABLE hb_targets (run_id BIGINT NOT NULL REFERENCES hb_runs (id),"
	" name TEXT NOT NULL, kind TEXT NOT NULL, accel TEXT, emulation INTEGER, error TEXT,"
	" info TEXT, options TEXT, PRIMARY KEY (run_id, name));\n"
	"CREATE TABLE hb_metrics (id @ID@, run_id BIGINT NOT NULL REFERENCES hb_runs (id),"
	" target TEXT NOT NULL, workload TEXT NOT NULL, kind TEXT, metric TEXT NOT NULL,"
	" unit TEXT, higher_is_better INTEGER NOT NULL, area TEXT, role TEXT, comparison TEXT,"
	" n INTEGER NOT NULL, median DOUBLE PRECISION, mean DOUBLE PRECISION,"
	" stdev DOUBLE PRECISION, cv DOUBLE PRECISION, ci_lo DOUBLE PRECISION,"
	" ci_hi DOUBLE PRECISION, UNIQUE (run_id, target, workload, metric));\n"
	"CREATE INDEX hb_metrics_by_name ON hb_metrics (workload, metric, target);\n"
	"CREATE TABLE hb_samples (metric_id BIGINT NOT NULL REFERENCES hb_metrics (id),"
	" idx INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL, measured_s DOUBLE PRECISION,"
	" PRIMARY KEY (metric_id, idx));\n"
	"CREATE TABLE hb_comparisons (run_id BIGINT NOT NULL REFERENCES hb_runs (id),"
	" target TEXT NOT NULL, baseline TEXT NOT NULL, workload TEXT NOT NULL,"
	" metric TEXT NOT NULL, comparison TEXT, ratio DOUBLE PRECISION,"
	" ci_lo DOUBLE PRECISION, ci_hi DOUBLE PRECISION, oriented DOUBLE PRECISION,"
	" oriented_ci_lo DOUBLE PRECISION, oriented_ci_hi DOUBLE PRECISION,"
	" delta DOUBLE PRECISION, PRIMARY KEY (run_id, target, baseline, workload, metric));\n"
	"CREATE TABLE hb_failures (run_id BIGINT NOT NULL REFERENCES hb_runs (id),"
	" target TEXT, workload TEXT, rep INTEGER, error TEXT NOT NULL)",
};

/* Tables of one run, children first (the order deletes must go in). */
static const char *const run_tables[] = {"hb_labels",	   "hb_host_facts", "hb_targets",
					 "hb_comparisons", "hb_failures",   "hb_runs"};

const char *hb_store_name(const struct hb_store *s)
{
	return s->name;
}

static int q(struct hb_store *s, const char *sql, int n, const char *const *p, hb_sql_row_fn fn,
	     void *arg, struct hb_err *e)
{
	return s->drv->query(s->conn, sql, n, p, fn, arg, e);
}

static int q0(struct hb_store *s, const char *sql, struct hb_err *e)
{
	return q(s, sql, 0, NULL, NULL, NULL, e);
}

static void rollback(struct hb_store *s)
{
	struct hb_err ignore = {0};

	q0(s, "ROLLBACK", &ignore);
}

/* row callbacks */
static int row_first_text(void *arg, int n, const char *const *v)
{
	char *buf = arg;

	if (n > 0 && v[0])
		hb_strlcpy(buf, v[0], 512);
	return 1;
}

static int row_first_ll(void *arg, int n, const char *const *v)
{
	long long *out = arg;
	char *end;

	if (n > 0 && v[0]) {
		errno = 0;
		*out = strtoll(v[0], &end, 10);
		if (errno || *end)
			*out = -1;
	}
	return 1;
}

int hb_store_default_path(char *buf, size_t len, struct hb_err *e)
{
	const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	if (x && x[0] == '/') {
		if (hb_snprintf(buf, len, "%s/hvbench/history.db", x))
			return hb_err_set(e, HB_EINVAL, "XDG_DATA_HOME too long");
		return 0;
	}
	if (!home || !*home)
		return hb_err_set(e, HB_EINVAL,
				  "no default store: neither XDG_DATA_HOME nor HOME is set "
				  "(give --db PATH)");
	if (hb_snprintf(buf, len, "%s/.local/share/hvbench/history.db", home))
		return hb_err_set(e, HB_EINVAL, "HOME too long");
	return 0;
}

/* ---- schema ---- */

struct tables {
	int meta, ours, other;
};

static int row_table(void *arg, int n, const char *const *v)
{
	struct tables *t = arg;

	if (n < 1 || !v[0])
		return 0;
	if (!strcmp(v[0], "hb_meta"))
		t->meta = 1;
	else if (!strncmp(v[0], "hb_", 3))
		t->ours++;
	else
		t->other++;
	return 0;
}

/* Schema version of an hvbench store; 0 = empty database; HB_EPROTO when foreign. */
static int schema_version(struct hb_store *s, long long *ver, struct hb_err *e)
{
	struct tables t = {0};
	char kind[512] = "";
	int rc;

	*ver = 0;
	if ((rc = q(s, s->drv->tables_sql, 0, NULL, row_table, &t, e)))
		return rc;
	if (!t.meta) {
		/* an SQLite file is ours alone; a PostgreSQL database may hold others' tables */
		if (t.ours || (t.other && s->drv == &hb_sqldrv_sqlite))
			return hb_err_set(e, HB_EPROTO,
					  "%s: holds tables but is not an hvbench history store "
					  "(no hb_meta table); refusing to touch it",
					  s->name);
		return 0;
	}
	if ((rc = q(s, "SELECT value FROM hb_meta WHERE key = 'kind'", 0, NULL, row_first_text,
		    kind, e)))
		return rc;
	if (strcmp(kind, "hvbench-history"))
		return hb_err_set(e, HB_EPROTO,
				  "%s: hb_meta does not name an hvbench history store; refusing to "
				  "touch it",
				  s->name);
	*ver = -1;
	if ((rc = q(s, "SELECT value FROM hb_meta WHERE key = 'version'", 0, NULL, row_first_ll,
		    ver, e)))
		return rc;
	if (*ver < 1)
		return hb_err_set(e, HB_EPROTO, "%s: hb_meta has no valid schema version", s->name);
	if (*ver > HB_STORE_VERSION)
		return hb_err_set(e, HB_EPROTO,
				  "%s: store schema version %lld is newer than this hvbench knows "
				  "(%d): upgrade hvbench",
				  s->name, *ver, HB_STORE_VERSION);
	return 0;
}

/* Runs one migration's statements. */
static int run_ddl(struct hb_store *s, const char *ddl, struct hb_err *e)
{
	char stmt[4096];
	const char *p = ddl;

	while (*p) {
		const char *end = strstr(p, ";\n");
		size_t l = end ? (size_t)(end - p) : strlen(p), o = 0;
		int rc;

		for (size_t i = 0; i < l && o + 1 < sizeof(stmt);) {
			if (!strncmp(p + i, "@ID@", 4)) {
				size_t il = strlen(s->drv->id_ddl);

				if (o + il + 1 >= sizeof(stmt))
					break;
				memcpy(stmt + o, s->drv->id_ddl, il);
				o += il;
				i += 4;
			} else {
				stmt[o++] = p[i++];
			}
		}
		stmt[o] = '\0';
		if ((rc = q0(s, stmt, e)))
			return rc;
		p += l;
		if (end)
			p += 2;
	}
	return 0;
}

static int migrate(struct hb_store *s, struct hb_err *e)
{
	long long ver;
	char vs[24];
	const char *p[1] = {vs};
	int rc;

	if ((rc = q0(s, s->drv->begin_sql, e)))
		return rc;
	if (s->drv->lock_sql && (rc = q0(s, s->drv->lock_sql, e)))
		goto fail;
	/* again under the lock: another writer may have created or migrated it meanwhile */
	if ((rc = schema_version(s, &ver, e)))
		goto fail;
	for (; ver < HB_STORE_VERSION; ver++)
		if ((rc = run_ddl(s, migrations[ver], e))) {
			hb_err_prefix(e, "migrating the store to version %lld", ver + 1);
			goto fail;
		}
	snprintf(vs, sizeof(vs), "%d", HB_STORE_VERSION);
	if ((rc = q0(s, "DELETE FROM hb_meta WHERE key IN ('kind', 'version')", e)) ||
	    (rc = q0(s, "INSERT INTO hb_meta (key, value) VALUES ('kind', 'hvbench-history')",
		     e)) ||
	    (rc = q(s, "INSERT INTO hb_meta (key, value) VALUES ('version', $1)", 1, p, NULL, NULL,
		    e)))
		goto fail;
	return q0(s, "COMMIT", e);
fail:
	rollback(s);
	return rc;
}

static int is_pg_url(const char *spec)
{
	return !strncmp(spec, "postgresql://", 13) || !strncmp(spec, "postgres://", 11);
}

int hb_store_open(const char *spec, struct hb_store **out, struct hb_err *e)
{
	struct hb_store *s;
	char path[4096];
	long long ver;
	int rc;

	*out = NULL;
	if (!spec || !*spec)
		spec = getenv("HVBENCH_DB");
	if (!spec || !*spec) {
		char dir[4096], *slash;

		if ((rc = hb_store_default_path(path, sizeof(path), e)))
			return rc;
		hb_strlcpy(dir, path, sizeof(dir));
		slash = strrchr(dir, '/');
		if (slash) {
			*slash = '\0';
			if ((rc = hb_mkdirs(dir, 0755, e)))
				return rc;
		}
		spec = path;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return hb_err_set(e, HB_ENOMEM, "out of memory");
	s->drv = is_pg_url(spec) ? &hb_sqldrv_pg : &hb_sqldrv_sqlite;
	if (s->drv == &hb_sqldrv_sqlite)
		snprintf(s->name, sizeof(s->name), "history store %s", spec);
	if ((rc = s->drv->open(spec, &s->conn, e)))
		goto fail;
	if (s->drv == &hb_sqldrv_pg)
		snprintf(s->name, sizeof(s->name), "history store (%s)", "postgresql");
	if ((rc = schema_version(s, &ver, e)))
		goto fail;
	if (ver < HB_STORE_VERSION && (rc = migrate(s, e)))
		goto fail;
	*out = s;
	return 0;
fail:
	hb_store_close(s);
	return rc;
}

void hb_store_close(struct hb_store *s)
{
	if (!s)
		return;
	if (s->conn)
		s->drv->close(s->conn);
	free(s);
}

/* ---- recording ---- */

/* Text of a JSON scalar for a parameter: numbers in full precision, non-finite -> NULL. */
static const char *num(const json_t *v, char *buf, size_t len)
{
	double d;

	if (!json_is_number(v))
		return NULL;
	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	d = json_number_value(v);
	if (!isfinite(d))
		return NULL;
	snprintf(buf, len, "%.17g", d);
	return buf;
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int hb_parse_utc(const char *s, double *epoch)
{
	struct tm tm;
	double sec;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &sec, &n) != 6)
		return HB_EINVAL;
	if (strcmp(s + n, "Z") && strcmp(s + n, "+00:00"))
		return HB_EINVAL;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || sec < 0 ||
	    sec >= 61)
		return HB_EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = (int)sec;
	*epoch = (double)timegm(&tm) + (sec - floor(sec));
	return 0;
}

/* Text of any JSON value for a key/value table: strings as they are, the rest as JSON. */
static char *as_text(const json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
}

static int put_kv(struct hb_store *s, const char *sql, const char *id, const json_t *obj,
		  struct hb_err *e)
{
	const char *k;
	json_t *v;
	int rc = 0;

	json_object_foreach ((json_t *)obj, k, v) {
		char *t = as_text(v);
		const char *p[3] = {id, k, t};

		if (!t)
			return hb_err_set(e, HB_ENOMEM, "out of memory");
		rc = q(s, sql, 3, p, NULL, NULL, e);
		free(t);
		if (rc)
			break;
	}
	return rc;
}

static int put_targets(struct hb_store *s, const char *id, const json_t *doc, struct hb_err *e)
{
	const json_t *t;
	size_t i;
	int rc = 0;

	json_array_foreach (json_object_get(doc, "targets"), i, t) {
		const json_t *info = json_object_get(t, "info");
		const json_t *em = json_object_get(info, "emulation");
		char *it = info ? as_text(info) : NULL;
		char *ot = json_object_get(t, "options") ? as_text(json_object_get(t, "options"))
							 : NULL;
		const char *p[8] = {id,
				    str(t, "name"),
				    str(t, "kind"),
				    str(info, "accel"),
				    json_is_boolean(em) ? (json_is_true(em) ? "1" : "0") : NULL,
				    str(t, "error"),
				    it,
				    ot};

		rc = q(s,
		       "INSERT INTO hb_targets (run_id, name, kind, accel, emulation, error, info,"
		       " options) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		       8, p, NULL, NULL, e);
		free(it);
		free(ot);
		if (rc)
			break;
	}
	return rc;
}

static const char *ci(const json_t *o, const char *key, size_t i, char *buf, size_t len)
{
	return num(json_array_get(json_object_get(o, key), i), buf, len);
}

static int put_metrics(struct hb_store *s, const char *id, const json_t *doc, struct hb_err *e)
{
	const json_t *r;
	size_t i;
	int rc = 0;

	json_array_foreach (json_object_get(doc, "results"), i, r) {
		char b[8][40], mid[32], ns[32];
		const json_t *samples = json_object_get(r, "samples"),
			     *meas = json_object_get(r, "measured_s"), *x;
		long long metric_id = -1;
		size_t j;
		const char *p[18];

		snprintf(ns, sizeof(ns), "%zu", json_array_size(samples));
		p[0] = id;
		p[1] = str(r, "target");
		p[2] = str(r, "workload");
		p[3] = str(r, "kind");
		p[4] = str(r, "metric");
		p[5] = str(r, "unit");
		p[6] = json_is_true(json_object_get(r, "higher_is_better")) ? "1" : "0";
		p[7] = str(r, "area");
		p[8] = str(r, "role");
		p[9] = str(r, "comparison");
		p[10] = ns;
		p[11] = num(json_object_get(r, "median"), b[0], 40);
		p[12] = num(json_object_get(r, "mean"), b[1], 40);
		p[13] = num(json_object_get(r, "stdev"), b[2], 40);
		p[14] = num(json_object_get(r, "cv"), b[3], 40);
		p[15] = ci(r, "ci95", 0, b[4], 40);
		p[16] = ci(r, "ci95", 1, b[5], 40);
		rc = q(s,
		       "INSERT INTO hb_metrics (run_id, target, workload, kind, metric, unit,"
		       " higher_is_better, area, role, comparison, n, median, mean, stdev, cv,"
		       " ci_lo, ci_hi) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
		       " $13, $14, $15, $16, $17) RETURNING id",
		       17, p, row_first_ll, &metric_id, e);
		if (rc)
			return rc;
		if (metric_id < 0)
			return hb_err_set(e, HB_EIO, "%s: no id for a new metric row", s->name);
		snprintf(mid, sizeof(mid), "%lld", metric_id);
		json_array_foreach (samples, j, x) {
			char is[24];
			const json_t *m = json_is_array(meas) ? json_array_get(meas, j) : NULL;
			const char *sp[4] = {mid, is, num(x, b[6], 40),
					     num(m ? m : (j == 0 ? meas : NULL), b[7], 40)};

			snprintf(is, sizeof(is), "%zu", j);
			if (!sp[2])
				continue;
			if ((rc = q(s,
				    "INSERT INTO hb_samples (metric_id, idx, value, measured_s)"
				    " VALUES ($1, $2, $3, $4)",
				    4, sp, NULL, NULL, e)))
				return rc;
		}
	}
	return 0;
}

/* The parameters of one row after the run id ($2 on), numbers formatted into b. */
typedef void (*row_params_fn)(const json_t *x, const char **p, char (*b)[40]);

/* A table filled with one INSERT per element of a document's array. */
struct row_table {
	const char *member; /* the document's array */
	const char *sql;    /* the INSERT: $1 the run id */
	int n;		    /* its parameters, the run id included (at most 16) */
	row_params_fn params;
};

static int put_rows(struct hb_store *s, const char *id, const json_t *doc,
		    const struct row_table *t, struct hb_err *e)
{
	const json_t *x;
	size_t i;
	int rc;

	json_array_foreach (json_object_get(doc, t->member), i, x) {
		char b[8][40];
		const char *p[16] = {id};

		t->params(x, p + 1, b);
		if ((rc = q(s, t->sql, t->n, p, NULL, NULL, e)))
			return rc;
	}
	return 0;
}

/* a delta's ci95 is the delta's CI: kept in the document, columns hold ratio CIs */
static void comparison_params(const json_t *c, const char **p, char (*b)[40])
{
	const char *kind = str(c, "comparison");
	int delta = kind && hb_cmp_parse(kind) == HB_CMP_DELTA;

	p[0] = str(c, "target");
	p[1] = str(c, "baseline");
	p[2] = str(c, "workload");
	p[3] = str(c, "metric");
	p[4] = kind ? kind : "ratio";
	p[5] = num(json_object_get(c, "ratio"), b[0], 40);
	p[6] = delta ? NULL : ci(c, "ci95", 0, b[1], 40);
	p[7] = delta ? NULL : ci(c, "ci95", 1, b[2], 40);
	p[8] = num(json_object_get(c, "oriented"), b[3], 40);
	p[9] = ci(c, "oriented_ci95", 0, b[4], 40);
	p[10] = ci(c, "oriented_ci95", 1, b[5], 40);
	p[11] = num(json_object_get(c, "delta"), b[6], 40);
}

static void failure_params(const json_t *f, const char **p, char (*b)[40])
{
	p[0] = str(f, "target");
	p[1] = str(f, "workload");
	p[2] = num(json_object_get(f, "rep"), b[0], 40);
	p[3] = str(f, "error");
}

static const struct row_table comparisons_table = {
	"comparisons",
	"INSERT INTO hb_comparisons (run_id, target, baseline, workload, metric, comparison,"
	" ratio, ci_lo, ci_hi, oriented, oriented_ci_lo, oriented_ci_hi, delta) VALUES ($1, $2,"
	" $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
	13, comparison_params};

static const struct row_table failures_table = {
	"failures",
	"INSERT INTO hb_failures (run_id, target, workload, rep, error) VALUES ($1, $2, $3, $4,"
	" $5)",
	5, failure_params};

int hb_store_record(struct hb_store *s, const json_t *doc, const char *source, long long *id,
		    int *dup, struct hb_err *e)
{
	const json_t *host = json_object_get(doc, "host");
	const char *hostname = str(host, "hostname"), *profile = str(doc, "profile_name");
	const char *started = str(doc, "started_at");
	char ep[40], now[40], ids[32], *text = NULL;
	double epoch;
	long long existing = -1;
	int rc;

	*id = -1;
	*dup = 0;
	if (!hostname)
		hostname = "unknown";
	if (!profile)
		profile = str(json_object_get(doc, "profile"), "name");
	if (!profile)
		profile = "unnamed";
	if (hb_parse_utc(started, &epoch))
		return hb_err_set(e, HB_EINVAL,
				  "started_at: \"%s\" is not an RFC 3339 UTC time such as "
				  "2026-01-31T12:00:00Z",
				  started ? started : "(missing)");
	snprintf(ep, sizeof(ep), "%.3f", epoch);
	hb_utc_now(now, sizeof(now));
	text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
	if (!text)
		return hb_err_set(e, HB_ENOMEM, "out of memory while encoding the document");

	if ((rc = q0(s, s->drv->begin_sql, e)))
		goto out;
	{
		const char *p[3] = {hostname, profile, started};

		if ((rc = q(s,
			    "SELECT id FROM hb_runs WHERE hostname = $1 AND profile = $2 AND"
			    " started_at = $3",
			    3, p, row_first_ll, &existing, e)))
			goto fail;
	}
	if (existing >= 0) {
		rollback(s);
		*id = existing;
		*dup = 1;
		goto out;
	}
	{
		const char *p[11] = {hostname,
				     profile,
				     started,
				     ep,
				     str(doc, "finished_at"),
				     str(doc, "status") ? str(doc, "status") : "unknown",
				     str(doc, "schema") ? str(doc, "schema") : "?",
				     str(doc, "tool_version"),
				     source,
				     now,
				     text};

		if ((rc = q(s,
			    "INSERT INTO hb_runs (hostname, profile, started_at, started_epoch,"
			    " finished_at, status, doc_schema, tool_version, source, recorded_at,"
			    " document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
			    " RETURNING id",
			    11, p, row_first_ll, id, e)))
			goto fail;
	}
	if (*id < 0) {
		rc = hb_err_set(e, HB_EIO, "%s: no id for the new run", s->name);
		goto fail;
	}
	snprintf(ids, sizeof(ids), "%lld", *id);
	if ((rc = put_kv(s, "INSERT INTO hb_labels (run_id, key, value) VALUES ($1, $2, $3)", ids,
			 json_object_get(doc, "labels"), e)) ||
	    (rc = put_kv(s, "INSERT INTO hb_host_facts (run_id, key, value) VALUES ($1, $2, $3)",
			 ids, host, e)) ||
	    (rc = put_targets(s, ids, doc, e)) || (rc = put_metrics(s, ids, doc, e)) ||
	    (rc = put_rows(s, ids, doc, &comparisons_table, e)) ||
	    (rc = put_rows(s, ids, doc, &failures_table, e)))
		goto fail;
	rc = q0(s, "COMMIT", e);
	goto out;
fail:
	rollback(s);
	*id = -1;
out:
	free(text);
	return rc;
}

int hb_store_record_file(const char *db, const char *path, long long *id, struct hb_err *e)
{
	struct hb_store *s = NULL;
	json_t *doc = NULL;
	int rc, dup;

	if ((rc = hb_results_load(path, &doc, e)) || (rc = hb_store_open(db, &s, e)))
		goto out;
	rc = hb_store_record(s, doc, path, id, &dup, e);
out:
	hb_store_close(s);
	json_decref(doc);
	return rc;
}

/* ---- reading ---- */

struct listctx {
	json_t *arr;
	int oom;
};

static int row_run(void *arg, int n, const char *const *v)
{
	struct listctx *c = arg;
	json_t *o;

	if (n < 6 || !v[0])
		return 1;
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o}", "id",
		      (json_int_t)strtoll(v[0], NULL, 10), "started_at", v[1] ? v[1] : "",
		      "hostname", v[2] ? v[2] : "", "profile", v[3] ? v[3] : "", "status",
		      v[4] ? v[4] : "", "metrics", (json_int_t)(v[5] ? strtoll(v[5], NULL, 10) : 0),
		      "labels", json_object());
	if (!o || json_array_append_new(c->arr, o)) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

static int row_label(void *arg, int n, const char *const *v)
{
	json_t *labels = arg;

	if (n >= 2 && v[0] && v[1])
		json_object_set_new(labels, v[0], json_string(v[1]));
	return 0;
}

int hb_store_list(struct hb_store *s, const struct hb_store_query *qy, json_t **out,
		  struct hb_err *e)
{
	char sql[1024], ids[32], lim[32] = "";
	const char *p[5];
	struct listctx c = {json_array(), 0};
	json_t *x;
	size_t i;
	int rc;

	*out = NULL;
	snprintf(ids, sizeof(ids), "%lld", qy->exclude_id);
	p[0] = qy->profile;
	p[1] = qy->hostname;
	p[2] = ids;
	p[3] = qy->exclude_host;
	p[4] = qy->exclude_started_at;
	if (qy->limit > 0)
		snprintf(lim, sizeof(lim), " LIMIT %ld", qy->limit);
	snprintf(sql, sizeof(sql),
		 "SELECT r.id, r.started_at, r.hostname, r.profile, r.status,"
		 " (SELECT count(*) FROM hb_metrics m WHERE m.run_id = r.id) FROM hb_runs r"
		 " WHERE (CAST($1 AS TEXT) IS NULL OR r.profile = CAST($1 AS TEXT))"
		 " AND (CAST($2 AS TEXT) IS NULL OR r.hostname = CAST($2 AS TEXT))"
		 " AND r.id <> CAST($3 AS BIGINT) %s"
		 " AND NOT (r.hostname = CAST($4 AS TEXT) AND r.started_at = CAST($5 AS TEXT))"
		 " ORDER BY r.started_epoch DESC, r.id DESC%s",
		 qy->complete_only ? "AND r.status = 'complete'" : "", lim);
	if (!qy->exclude_host || !qy->exclude_started_at)
		p[3] = p[4] = "";
	rc = q(s, sql, 5, p, row_run, &c, e);
	if (!rc && c.oom)
		rc = hb_err_set(e, HB_ENOMEM, "out of memory");
	json_array_foreach (c.arr, i, x) {
		char id[32];
		const char *lp[1] = {id};

		if (rc)
			break;
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(x, "id")));
		rc = q(s,
		       "SELECT key, value FROM hb_labels WHERE run_id = CAST($1 AS BIGINT)"
		       " ORDER BY key",
		       1, lp, row_label, json_object_get(x, "labels"), e);
	}
	if (rc) {
		json_decref(c.arr);
		return rc;
	}
	*out = c.arr;
	return 0;
}

static int row_doc(void *arg, int n, const char *const *v)
{
	char **out = arg;

	if (n >= 1 && v[0])
		*out = strdup(v[0]);
	return 1;
}

int hb_store_get(struct hb_store *s, long long id, json_t **out, struct hb_err *e)
{
	char ids[32], *text = NULL, name[64];
	const char *p[1] = {ids};
	json_error_t je;
	int rc;

	*out = NULL;
	snprintf(ids, sizeof(ids), "%lld", id);
	if ((rc = q(s, "SELECT document FROM hb_runs WHERE id = CAST($1 AS BIGINT)", 1, p, row_doc,
		    &text, e)))
		return rc;
	if (!text)
		return hb_err_set(e, HB_EINVAL, "%s: no run %lld", s->name, id);
	*out = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!*out)
		return hb_err_set(e, HB_EPROTO, "%s: run %lld: stored document is damaged: %s",
				  s->name, id, je.text);
	snprintf(name, sizeof(name), "run %lld", id);
	if ((rc = hb_results_validate(*out, name, e))) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int hb_store_delete(struct hb_store *s, long long id, struct hb_err *e)
{
	char ids[32], sql[256];
	const char *p[1] = {ids};
	long long found = -1;
	int rc;

	snprintf(ids, sizeof(ids), "%lld", id);
	if ((rc = q0(s, s->drv->begin_sql, e)))
		return rc;
	if ((rc = q(s, "SELECT id FROM hb_runs WHERE id = CAST($1 AS BIGINT)", 1, p, row_first_ll,
		    &found, e)))
		goto fail;
	if (found < 0) {
		rc = hb_err_set(e, HB_EINVAL, "%s: no run %lld", s->name, id);
		goto fail;
	}
	if ((rc = q(s,
		    "DELETE FROM hb_samples WHERE metric_id IN (SELECT id FROM hb_metrics WHERE"
		    " run_id = CAST($1 AS BIGINT))",
		    1, p, NULL, NULL, e)) ||
	    (rc = q(s, "DELETE FROM hb_metrics WHERE run_id = CAST($1 AS BIGINT)", 1, p, NULL, NULL,
		    e)))
		goto fail;
	for (size_t i = 0; i < HB_ARRAY_SIZE(run_tables); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = CAST($1 AS BIGINT)",
			 run_tables[i], strcmp(run_tables[i], "hb_runs") ? "run_id" : "id");
		if ((rc = q(s, sql, 1, p, NULL, NULL, e)))
			goto fail;
	}
	return q0(s, "COMMIT", e);
fail:
	rollback(s);
	return rc;
}

/* ---- baselines ---- */

void hb_store_docs_free(json_t **docs, size_t n)
{
	for (size_t i = 0; docs && i < n; i++)
		json_decref(docs[i]);
	free(docs);
}

int hb_store_baselines(const char *db, const char *from, const json_t *cur, json_t ***docs,
		       size_t *n, struct hb_err *e)
{
	struct hb_store_query qy = {0};
	struct hb_store *s = NULL;
	json_t *list = NULL, *x, **out = NULL;
	long k;
	size_t i;
	int rc;

	*docs = NULL;
	*n = 0;
	if (strncmp(from, "db:last=", 8) || hb_parse_long(from + 8, 1, 1000, &k))
		return hb_err_set(e, HB_EINVAL,
				  "--baseline-from: \"%s\" is not db:last=K (K in 1..1000)", from);
	qy.profile = str(cur, "profile_name");
	qy.hostname = str(json_object_get(cur, "host"), "hostname");
	qy.complete_only = 1;
	qy.exclude_host = qy.hostname;
	qy.exclude_started_at = str(cur, "started_at");
	qy.limit = k;
	if (!qy.profile || !qy.hostname)
		return hb_err_set(e, HB_EINVAL,
				  "the current results name no profile_name or host.hostname to "
				  "look baselines up by");
	if ((rc = hb_store_open(db, &s, e)) || (rc = hb_store_list(s, &qy, &list, e)))
		goto out;
	if (json_array_size(list) == 0) {
		rc = hb_err_set(e, HB_EINVAL,
				"%s: no complete run of profile \"%s\" on host \"%s\" to use as "
				"the baseline",
				hb_store_name(s), qy.profile, qy.hostname);
		goto out;
	}
	out = calloc(json_array_size(list), sizeof(*out));
	if (!out) {
		rc = hb_err_set(e, HB_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach (list, i, x) {
		if ((rc = hb_store_get(s, json_integer_value(json_object_get(x, "id")), &out[i],
				       e))) {
			hb_store_docs_free(out, i);
			out = NULL;
			goto out;
		}
	}
	*docs = out;
	*n = json_array_size(list);
out:
	json_decref(list);
	hb_store_close(s);
	return rc;
}

int hb_store_baseline(const char *db, const char *from, const json_t *cur, json_t **base,
		      char *name, size_t namelen, struct hb_err *e)
{
	json_t **docs = NULL;
	size_t n = 0;
	int rc;

	*base = NULL;
	if ((rc = hb_store_baselines(db, from, cur, &docs, &n, e)))
		return rc;
	rc = hb_results_pool(docs, n, base, e);
	snprintf(name, namelen, "%s (%zu run%s of this profile and host from the history store)",
		 from, n, n == 1 ? "" : "s");
	hb_store_docs_free(docs, n);
	return rc;
}
