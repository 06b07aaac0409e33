/*
 * store_int.h — private to the history store (store*.c): the small SQL driver interface both
 * backends implement. Every statement is one SQL string with $1..$n placeholders and text
 * parameters (NULL = SQL NULL); every result row arrives as text (NULL = SQL NULL). Keeping the
 * interface this narrow is what lets SQLite and PostgreSQL share one schema and one set of
 * statements.
 */
#ifndef HB_STORE_INT_H
#define HB_STORE_INT_H

#include "hb.h"

/* Called once per result row; vals[i] is NULL for SQL NULL. Non-zero stops the query. */
typedef int (*hb_sql_row_fn)(void *arg, int ncols, const char *const *vals);

struct hb_sqldrv {
	const char *name; /* "sqlite" / "postgresql" */
	/* DDL of an auto-numbered primary key column */
	const char *id_ddl;
	/* one text column: the tables of this database an hvbench store may own */
	const char *tables_sql;
	/* starts a write transaction that also serialises schema changes between processes */
	const char *begin_sql;
	const char *lock_sql; /* run after begin_sql when schema changes (may be NULL) */
	/* Opens the database named by spec; *conn is freed by close. */
	int (*open)(const char *spec, void **conn, struct hb_err *e);
	/* Runs one statement; fn may be NULL when rows are not wanted. */
	int (*query)(void *conn, const char *sql, int nparams, const char *const *params,
		     hb_sql_row_fn fn, void *arg, struct hb_err *e);
	void (*close)(void *conn);
};

extern const struct hb_sqldrv hb_sqldrv_sqlite;
extern const struct hb_sqldrv hb_sqldrv_pg;

#endif
