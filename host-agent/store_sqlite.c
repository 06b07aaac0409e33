/*
 * store_sqlite.c — the embedded SQLite backend of the history store. A store file that is not
 * an SQLite database (or is damaged) is reported and never written to: the file is opened
 * without truncation and every statement stops at the first error. Concurrent writers are safe
 * through WAL journaling and a generous busy timeout.
 */
#include "store_int.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUSY_TIMEOUT_MS 30000

struct sq {
	sqlite3 *db;
	char path[4096];
};

static int sq_fail(struct sq *s, int rc, struct hb_err *e)
{
	const char *why = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

	if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
		return hb_err_set(e, HB_EPROTO,
				  "%s: not a usable SQLite database (%s); it is left untouched",
				  s->path, why);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return hb_err_set(e, HB_ETIMEDOUT, "%s: still locked by another writer after %d s",
				  s->path, BUSY_TIMEOUT_MS / 1000);
	return hb_err_set(e, HB_EIO, "%s: %s", s->path, why);
}

static int sq_query(void *conn, const char *sql, int nparams, const char *const *params,
		    hb_sql_row_fn fn, void *arg, struct hb_err *e)
{
	struct sq *s = conn;
	sqlite3_stmt *st = NULL;
	int rc, i, ret = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, e);
	for (i = 0; i < nparams; i++) {
		char name[16];
		int idx;

		snprintf(name, sizeof(name), "$%d", i + 1);
		idx = sqlite3_bind_parameter_index(st, name);
		if (!idx)
			continue;
		rc = params[i] ? sqlite3_bind_text(st, idx, params[i], -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, idx);
		if (rc != SQLITE_OK) {
			ret = sq_fail(s, rc, e);
			goto out;
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *vals[64];
		int n = sqlite3_column_count(st);

		if (n > (int)HB_ARRAY_SIZE(vals))
			n = (int)HB_ARRAY_SIZE(vals);
		for (i = 0; i < n; i++)
			vals[i] = (const char *)sqlite3_column_text(st, i);
		if (fn && fn(arg, n, vals))
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = sq_fail(s, rc, e);
out:
	sqlite3_finalize(st);
	return ret;
}

static void sq_close(void *conn)
{
	struct sq *s = conn;

	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

static int sq_open(const char *path, void **conn, struct hb_err *e)
{
	struct sq *s = calloc(1, sizeof(*s));
	struct stat st;
	int rc;

	*conn = NULL;
	if (!s)
		return hb_err_set(e, HB_ENOMEM, "out of memory");
	if (hb_strlcpy(s->path, path, sizeof(s->path))) {
		free(s);
		return hb_err_set(e, HB_EINVAL, "store path too long");
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		free(s);
		return hb_err_set(e, HB_EINVAL, "%s: not a regular file", path);
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		rc = sq_fail(s, rc, e);
		sq_close(s);
		return rc;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* touches the header first: a foreign or damaged file fails here, before any write */
	rc = sq_query(s, "SELECT count(*) FROM sqlite_master", 0, NULL, NULL, NULL, e);
	if (!rc)
		rc = sq_query(s, "PRAGMA journal_mode=WAL", 0, NULL, NULL, NULL, e);
	if (rc) {
		sq_close(s);
		return rc;
	}
	*conn = s;
	return 0;
}

const struct hb_sqldrv hb_sqldrv_sqlite = {
	.name = "sqlite",
	.id_ddl = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.tables_sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
		      "'sqlite_%'",
	.begin_sql = "BEGIN IMMEDIATE",
	.lock_sql = NULL,
	.open = sq_open,
	.query = sq_query,
	.close = sq_close,
};
