/*
 * test_store.c — the history store, the same tests on each backend: SQLite always (a file in a
 * temp dir), PostgreSQL when HB_TEST_PG_HOST (socket directory) and HB_TEST_PG_USER name a
 * server (tests/it_store_pg.sh starts one; without it the PostgreSQL half is a printed SKIP).
 * A recorded run comes back as the same document and is queryable (metrics, samples, labels,
 * host facts); a second import is a duplicate, not a copy; baselines are the newest K complete
 * runs of the profile on the host without the current one; pooling joins samples; delete
 * removes every row; foreign, damaged and newer stores are refused and left byte-identical;
 * concurrent writers all land.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "hb.h"
#include "pool.h"
#include "report.h"
#include "store.h"
#include "testlib.h"

static char tmpdir[64];
static int use_pg; /* the backend of this group */
static int dbno;

/* A fresh, empty store spec for one test. */
static void fresh(char *spec, size_t len)
{
	dbno++;
	if (!use_pg) {
		snprintf(spec, len, "%s/h%d.db", tmpdir, dbno);
		return;
	}
	{
		char url[512], sql[128];
		PGconn *c;
		PGresult *r;

		snprintf(url, sizeof(url), "postgresql:///postgres?host=%s&user=%s",
			 getenv("HB_TEST_PG_HOST"), getenv("HB_TEST_PG_USER"));
		c = PQconnectdb(url);
		assert_int_equal(PQstatus(c), CONNECTION_OK);
		snprintf(sql, sizeof(sql), "CREATE DATABASE hbt_%d", dbno);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		snprintf(spec, len, "postgresql:///hbt_%d?host=%s&user=%s", dbno,
			 getenv("HB_TEST_PG_HOST"), getenv("HB_TEST_PG_USER"));
	}
}

/* One number from a query on the store (either backend). */
static double scalar(const char *spec, const char *sql)
{
	double v = -1;

	if (use_pg) {
		PGconn *c = PQconnectdb(spec);
		PGresult *r = PQexec(c, sql);

		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		v = strtod(PQgetvalue(r, 0, 0), NULL);
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db;
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_open(spec, &db), SQLITE_OK);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		v = sqlite3_column_double(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	return v;
}

static json_t *fixture(const char *name)
{
	char *txt = load_fixture(name);
	json_error_t je;
	json_t *doc = json_loads(txt, 0, &je);

	free(txt);
	assert_non_null(doc);
	return doc;
}

/* A copy of doc that started at another time (another run of the same profile and host). */
static json_t *at(const json_t *doc, const char *started, const char *status)
{
	json_t *d = json_deep_copy(doc);

	json_object_set_new(d, "started_at", json_string(started));
	if (status)
		json_object_set_new(d, "status", json_string(status));
	return d;
}

static long long record(struct hb_store *s, const json_t *doc, int want_dup)
{
	struct hb_err e = {0};
	long long id = 0;
	int dup = -1;

	if (hb_store_record(s, doc, "test", &id, &dup, &e))
		fail_msg("record: %s", e.msg);
	assert_int_equal(dup, want_dup);
	assert_true(id > 0);
	return id;
}

static struct hb_store *open_ok(const char *spec)
{
	struct hb_err e = {0};
	struct hb_store *s = NULL;

	if (hb_store_open(spec, &s, &e))
		fail_msg("open %s: %s", spec, e.msg);
	return s;
}

static void t_roundtrip(void **state)
{
	char spec[512], sql[256];
	struct hb_store *s;
	struct hb_store_query q = {0};
	struct hb_err e = {0};
	json_t *doc = fixture("results-base.json"), *back = NULL, *list = NULL;
	long long id;
	size_t nsamples = 0, i;
	json_t *r;

	(void)state;
	fresh(spec, sizeof(spec));
	json_object_set_new(doc, "labels",
			    json_pack("{s:s, s:s}", "commit", "abc", "branch", "main"));
	s = open_ok(spec);
	id = record(s, doc, 0);
	assert_int_equal(record(s, doc, 1), id);
	assert_int_equal(hb_store_get(s, id, &back, &e), 0);
	assert_true(json_equal(doc, back));
	assert_int_equal(hb_store_list(s, &q, &list, &e), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(list, 0), "labels"), "commit")),
			    "abc");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "metrics")),
			 json_array_size(json_object_get(doc, "results")));
	json_array_foreach (json_object_get(doc, "results"), i, r)
		nsamples += json_array_size(json_object_get(r, "samples"));
	hb_store_close(s);
	/* queryable from outside, with plain SQL */
	assert_int_equal((size_t)scalar(spec, "SELECT count(*) FROM hb_samples"), nsamples);
	assert_true(scalar(spec, "SELECT median FROM hb_metrics WHERE target = 'native' AND "
				 "workload = 'disk-randread' AND metric = 'iops'") == 51974.0);
	assert_true(scalar(spec, "SELECT value FROM hb_samples s JOIN hb_metrics m ON m.id = "
				 "s.metric_id WHERE m.target = 'native' AND m.metric = 'iops' "
				 "AND s.idx = 1") == 52208.0);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM hb_labels WHERE run_id = %lld AND value IN ('abc', "
		 "'main')",
		 id);
	assert_true(scalar(spec, sql) == 2);
	assert_true(scalar(spec, "SELECT count(*) FROM hb_host_facts WHERE key = 'cores' AND "
				 "value = '2'") == 1);
	assert_true(scalar(spec, "SELECT count(*) FROM hb_comparisons") ==
		    json_array_size(json_object_get(doc, "comparisons")));
	assert_true(scalar(spec, "SELECT count(*) FROM hb_targets WHERE kind = 'qemu' AND "
				 "emulation = 1") == 2);
	json_decref(list);
	json_decref(back);
	json_decref(doc);
}

static void t_baselines(void **state)
{
	char spec[512], name[256];
	struct hb_store *s;
	struct hb_err e = {0};
	json_t *base = fixture("results-base.json"), *cur = fixture("results-regress.json");
	json_t *d[4], **docs = NULL, *pooled = NULL, *other;
	size_t n = 0;

	(void)state;
	fresh(spec, sizeof(spec));
	s = open_ok(spec);
	d[0] = at(base, "2026-11-10T02:00:00.000Z", NULL);
	d[1] = at(base, "2026-11-12T02:00:00.000Z", "incomplete"); /* never a baseline */
	d[2] = at(base, "2026-11-14T02:00:00.000Z", NULL);
	d[3] = at(base, "2026-11-16T02:00:00.000Z", NULL);
	for (int i = 0; i < 4; i++)
		record(s, d[i], 0);
	record(s, cur, 0); /* the current run is already stored: it is not its own baseline */
	other = at(base, "2026-11-17T02:00:00.000Z", NULL);
	json_object_set_new(other, "profile_name", json_string("other"));
	record(s, other, 0);
	hb_store_close(s);

	assert_int_equal(hb_store_baselines(spec, "db:last=5", cur, &docs, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(json_string_value(json_object_get(docs[0], "started_at")),
			    "2026-11-16T02:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(docs[2], "started_at")),
			    "2026-11-10T02:00:00.000Z");
	assert_int_equal(hb_results_pool(docs, n, &pooled, &e), 0);
	{
		const json_t *r = json_array_get(json_object_get(pooled, "results"), 0);

		assert_int_equal(json_array_size(json_object_get(r, "samples")), 18);
		assert_int_equal(json_integer_value(json_object_get(r, "n")), 18);
		assert_int_equal(hb_results_validate(pooled, "pooled", &e), 0);
	}
	hb_store_docs_free(docs, n);
	assert_int_equal(hb_store_baselines(spec, "db:last=1", cur, &docs, &n, &e), 0);
	assert_int_equal(n, 1);
	hb_store_docs_free(docs, n);
	json_decref(pooled);
	assert_int_equal(hb_store_baseline(spec, "db:last=2", cur, &pooled, name, sizeof(name), &e),
			 0);
	assert_non_null(strstr(name, "db:last=2 (2 runs"));
	json_decref(pooled);

	assert_int_equal(hb_store_baselines(spec, "db:last=0", cur, &docs, &n, &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "is not db:last=K"));
	hb_err_clear(&e);
	json_object_set_new(cur, "profile_name", json_string("nosuch"));
	assert_int_equal(hb_store_baselines(spec, "db:last=5", cur, &docs, &n, &e), HB_EINVAL);
	assert_non_null(
		strstr(e.msg, "no complete run of profile \"nosuch\" on host \"bench-01\""));
	for (int i = 0; i < 4; i++)
		json_decref(d[i]);
	json_decref(other);
	json_decref(base);
	json_decref(cur);
}

static void t_delete(void **state)
{
	char spec[512];
	struct hb_store *s;
	struct hb_err e = {0};
	json_t *a = fixture("results-base.json"), *b = fixture("results-regress.json"), *x;
	long long ia, ib;

	(void)state;
	fresh(spec, sizeof(spec));
	s = open_ok(spec);
	ia = record(s, a, 0);
	ib = record(s, b, 0);
	assert_int_equal(hb_store_delete(s, ia, &e), 0);
	assert_int_equal(hb_store_delete(s, ia, &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "no run"));
	assert_int_equal(hb_store_get(s, ib, &x, &e), 0);
	json_decref(x);
	hb_store_close(s);
	assert_true(scalar(spec, "SELECT count(*) FROM hb_runs") == 1);
	assert_true(scalar(spec, "SELECT count(*) FROM hb_metrics") ==
		    json_array_size(json_object_get(b, "results")));
	assert_true(scalar(spec, "SELECT count(DISTINCT run_id) FROM hb_targets") == 1);
	assert_true(scalar(spec, "SELECT count(*) FROM hb_samples WHERE metric_id NOT IN "
				 "(SELECT id FROM hb_metrics)") == 0);
	json_decref(a);
	json_decref(b);
}

/* Four processes record five runs each into one new store at the same time: all 20 land. */
static void t_concurrent(void **state)
{
	char spec[512];
	json_t *base = fixture("results-base.json");
	pid_t pids[4];
	int st;

	(void)state;
	fresh(spec, sizeof(spec));
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			struct hb_err e = {0};
			struct hb_store *s = NULL;
			int bad = 0;

			if (hb_store_open(spec, &s, &e)) {
				fprintf(stderr, "child open: %s\n", e.msg);
				_exit(1);
			}
			for (int i = 0; i < 5; i++) {
				char ts[40];
				json_t *d;
				long long id;
				int dup;

				snprintf(ts, sizeof(ts), "2026-10-%02dT0%d:00:00.000Z", 10 + i, p);
				d = at(base, ts, NULL);
				if (hb_store_record(s, d, "child", &id, &dup, &e) || dup) {
					fprintf(stderr, "child record: %s\n", e.msg);
					bad = 1;
				}
				json_decref(d);
			}
			hb_store_close(s);
			_exit(bad);
		}
	}
	for (int p = 0; p < 4; p++) {
		assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_true(scalar(spec, "SELECT count(*) FROM hb_runs") == 20);
	assert_true(scalar(spec, "SELECT count(*) FROM hb_meta WHERE key = 'version'") == 1);
	json_decref(base);
}

/* A database that is not ours is refused; the PostgreSQL flavour: our names, no hb_meta. */
static void t_foreign(void **state)
{
	char spec[512];
	struct hb_err e = {0};
	struct hb_store *s = NULL;

	(void)state;
	fresh(spec, sizeof(spec));
	if (use_pg) {
		PGconn *c = PQconnectdb(spec);

		PQclear(PQexec(c, "CREATE TABLE hb_runs (x int)"));
		PQfinish(c);
	} else {
		sqlite3 *db;

		assert_int_equal(sqlite3_open(spec, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TABLE foo (x)", NULL, NULL, NULL), 0);
		sqlite3_close(db);
	}
	assert_int_equal(hb_store_open(spec, &s, &e), HB_EPROTO);
	assert_null(s);
	assert_non_null(strstr(e.msg, "is not an hvbench history store"));
	assert_true(scalar(spec, use_pg ? "SELECT count(*) FROM pg_tables WHERE tablename LIKE "
					  "'hb\\_%'"
					: "SELECT count(*) FROM sqlite_master") == 1);
}

/* A store made by a newer hvbench is refused, not downgraded. */
static void t_newer(void **state)
{
	char spec[512];
	struct hb_err e = {0};
	struct hb_store *s = open_ok((fresh(spec, sizeof(spec)), spec));

	(void)state;
	hb_store_close(s);
	if (use_pg) {
		PGconn *c = PQconnectdb(spec);

		PQclear(PQexec(c, "UPDATE hb_meta SET value = '99' WHERE key = 'version'"));
		PQfinish(c);
	} else {
		sqlite3 *db;

		assert_int_equal(sqlite3_open(spec, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db,
					      "UPDATE hb_meta SET value = '99' WHERE key = "
					      "'version'",
					      NULL, NULL, NULL),
				 0);
		sqlite3_close(db);
	}
	s = NULL;
	assert_int_equal(hb_store_open(spec, &s, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "store schema version 99 is newer than this hvbench knows"));
	assert_true(scalar(spec, "SELECT value FROM hb_meta WHERE key = 'version'") == 99);
}

/* SQLite only: a file that is not a database is refused and left byte for byte. */
static void t_corrupt_file(void **state)
{
	char spec[512], *back = NULL;
	static const char junk[] = "this is not an SQLite database, it is somebody's notes\n";
	struct hb_err e = {0};
	struct hb_store *s = NULL;
	size_t len = 0;

	(void)state;
	snprintf(spec, sizeof(spec), "%s/notes.db", tmpdir);
	assert_int_equal(hb_write_atomic(spec, junk, sizeof(junk) - 1, 0644, &e), 0);
	assert_int_equal(hb_store_open(spec, &s, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "not a usable SQLite database"));
	assert_int_equal(hb_read_file(spec, 4096, &back, &len, &e), 0);
	assert_int_equal(len, sizeof(junk) - 1);
	assert_memory_equal(back, junk, len);
	free(back);
}

/* SQLite only: recording from a results file, as `hvbench run` does, reports failure. */
static void t_record_file(void **state)
{
	char spec[512], path[300];
	struct hb_err e = {0};
	long long id = 0;
	const char *dirs[] = {"tests/fixtures", "../tests/fixtures"};

	(void)state;
	fresh(spec, sizeof(spec));
	for (size_t i = 0; i < HB_ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/results-base.json", dirs[i]);
		if (access(path, R_OK) == 0)
			break;
	}
	assert_int_equal(hb_store_record_file(spec, path, &id, &e), 0);
	assert_true(id > 0);
	snprintf(path, sizeof(path), "%s/no-such-results.json", tmpdir);
	assert_int_not_equal(hb_store_record_file(spec, path, &id, &e), 0);
	assert_non_null(strstr(e.msg, "no-such-results.json"));
}

static void t_parse_utc(void **state)
{
	double t = 0;

	(void)state;
	assert_int_equal(hb_parse_utc("1970-01-02T00:00:01.500Z", &t), 0);
	assert_true(t == 86401.5);
	assert_int_equal(hb_parse_utc("2026-11-20T02:00:00Z", &t), 0);
	assert_true(t == 1795140000.0);
	assert_int_equal(hb_parse_utc("2026-11-20 02:00:00", &t), HB_EINVAL);
	assert_int_equal(hb_parse_utc("2026-13-20T02:00:00Z", &t), HB_EINVAL);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hb-test-store.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	hb_rmtree(tmpdir);
	return 0;
}

static int pg_group(void **state)
{
	(void)state;
	use_pg = 1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest common[] = {
		cmocka_unit_test(t_roundtrip), cmocka_unit_test(t_baselines),
		cmocka_unit_test(t_delete),    cmocka_unit_test(t_concurrent),
		cmocka_unit_test(t_foreign),   cmocka_unit_test(t_newer),
	};
	const struct CMUnitTest sqlite_only[] = {
		cmocka_unit_test(t_corrupt_file),
		cmocka_unit_test(t_record_file),
		cmocka_unit_test(t_parse_utc),
	};
	int rc;

	setenv("HVBENCH_DB", "/nonexistent/never-used.db", 1);
	if (setup(NULL))
		return 1;
	rc = cmocka_run_group_tests_name("store-sqlite", common, NULL, NULL);
	rc |= cmocka_run_group_tests_name("store-sqlite-only", sqlite_only, NULL, NULL);
	if (getenv("HB_TEST_PG_HOST") && getenv("HB_TEST_PG_USER"))
		rc |= cmocka_run_group_tests_name("store-postgresql", common, pg_group, NULL);
	else
		printf("SKIP store-postgresql: no server (HB_TEST_PG_HOST/HB_TEST_PG_USER unset; "
		       "tests/it_store_pg.sh starts one)\n");
	teardown(NULL);
	return rc;
}
