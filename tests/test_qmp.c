/*
 * test_qmp.c — unit tests of the QMP client (host-agent/qmp.c) against a fake QMP server: a
 * thread on a UNIX socket that replays replies captured from a real QEMU 7.2
 * (tests/fixtures/qmp-*.json) following a small script (expect a command, send a reply with
 * the request's id, send an event, stay silent, hang up). One last test talks to a real
 * `qemu-system-x86_64 -M none` when it is installed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hb.h"
#include "qmp.h"

enum act { RECV, REPLY, SEND, CLOSE, SILENT, END };
struct step {
	enum act a;
	const char
		*arg; /* RECV: expected command; REPLY: fixture name or literal JSON; SEND: same */
};

struct server {
	char dir[64], path[128];
	int lfd;
	const struct step *steps;
	pthread_t th;
	char failure[256]; /* first script mismatch, empty when the script ran as written */
	long long last_id;
};

static char *fixture_text(const char *name)
{
	char path[512], *dir, *slash, *text = NULL;
	size_t len;
	struct hb_err e = {0};

	if (name[0] == '{')
		return strdup(name);
	dir = strdup(__FILE__);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	hb_snprintf(path, sizeof(path), "%s/fixtures/%s", slash ? dir : ".", name);
	free(dir);
	if (hb_read_file(path, 1 << 20, &text, &len, &e)) {
		fprintf(stderr, "fixture %s: %s\n", path, e.msg);
		return NULL;
	}
	return text;
}

static void fail_srv(struct server *s, const char *msg, const char *arg)
{
	if (!s->failure[0])
		snprintf(s->failure, sizeof(s->failure), "%s %s", msg, arg ? arg : "");
}

static int send_json(int fd, const char *name, long long id, int with_id)
{
	char *t = fixture_text(name), *out;
	json_t *j;
	int rc = -1;

	if (!t)
		return -1;
	j = json_loads(t, 0, NULL);
	free(t);
	if (!j)
		return -1;
	if (with_id)
		json_object_set_new(j, "id", json_integer(id));
	out = json_dumps(j, JSON_COMPACT);
	if (out && write(fd, out, strlen(out)) == (ssize_t)strlen(out) && write(fd, "\n", 1) == 1)
		rc = 0;
	free(out);
	json_decref(j);
	return rc;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	char buf[4096];
	size_t len = 0;
	const struct step *st;

	if (fd < 0) {
		fail_srv(s, "accept failed", NULL);
		return NULL;
	}
	for (st = s->steps; st->a != END; st++) {
		if (st->a == RECV) {
			char *nl;
			while (!(nl = memchr(buf, '\n', len))) {
				ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
				if (n <= 0) {
					fail_srv(s, "client hung up before", st->arg);
					goto out;
				}
				len += (size_t)n;
			}
			*nl = '\0';
			json_t *j = json_loads(buf, 0, NULL);
			const char *cmd = json_string_value(json_object_get(j, "execute"));
			if (!cmd || strcmp(cmd, st->arg))
				fail_srv(s, "unexpected command, wanted", st->arg);
			s->last_id = json_integer_value(json_object_get(j, "id"));
			json_decref(j);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		} else if (st->a == REPLY || st->a == SEND) {
			if (send_json(fd, st->arg, s->last_id, st->a == REPLY))
				fail_srv(s, "cannot send", st->arg);
		} else if (st->a == SILENT) {
			/* wait until the client gives up and closes */
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		} else if (st->a == CLOSE) {
			break;
		}
	}
out:
	close(fd);
	return NULL;
}

static void server_start(struct server *s, const struct step *steps)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(s, 0, sizeof(*s));
	hb_strlcpy(s->dir, "/tmp/hbqmpXXXXXX", sizeof(s->dir));
	assert_non_null(mkdtemp(s->dir));
	hb_snprintf(s->path, sizeof(s->path), "%s/qmp.sock", s->dir);
	hb_strlcpy(sa.sun_path, s->path, sizeof(sa.sun_path));
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 1), 0);
	s->steps = steps;
	assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_finish(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
	if (s->failure[0])
		fail_msg("fake QMP server: %s", s->failure);
}

#define HANDSHAKE                                                                                  \
	{SEND, "qmp-greeting.json"}, {RECV, "qmp_capabilities"},                                   \
	{                                                                                          \
		REPLY, "{\"return\":{}}"                                                           \
	}

static void test_status(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE, {RECV, "query-status"}, {REPLY, "qmp-query-status.json"}, {END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	json_t *ret = NULL;

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), 0);
	assert_int_equal(hb_qmp_cmd(q, "query-status", NULL, 5, &ret, &e), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
	assert_true(json_is_true(json_object_get(ret, "running")));
	json_decref(ret);
	hb_qmp_close(q);
	server_finish(&s);
}

static void test_cpus_fast(void **state)
{
	static const struct step steps[] = {HANDSHAKE,
					    {RECV, "query-cpus-fast"},
					    {REPLY, "qmp-query-cpus-fast.json"},
					    {END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	json_t *ret = NULL;

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), 0);
	assert_int_equal(hb_qmp_cmd(q, "query-cpus-fast", NULL, 5, &ret, &e), 0);
	assert_int_equal(json_array_size(ret), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ret, 0), "thread-id")),
			 10777);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ret, 1), "thread-id")),
			 10778);
	json_decref(ret);
	hb_qmp_close(q);
	server_finish(&s);
}

/* Events arrive before the reply (QEMU sends STOP before the return of "stop"): skipped. */
static void test_events_skipped(void **state)
{
	static const struct step steps[] = {HANDSHAKE,
					    {RECV, "stop"},
					    {SEND, "qmp-event-stop.json"},
					    {REPLY, "{\"return\":{}}"},
					    {RECV, "quit"},
					    {SEND, "qmp-event-shutdown.json"},
					    {REPLY, "{\"return\":{}}"},
					    {END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	json_t *ret = NULL;

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), 0);
	assert_int_equal(hb_qmp_cmd(q, "stop", NULL, 5, &ret, &e), 0);
	assert_true(json_is_object(ret));
	assert_int_equal(json_object_size(ret), 0);
	json_decref(ret);
	assert_int_equal(hb_qmp_cmd(q, "quit", NULL, 5, NULL, &e), 0);
	hb_qmp_close(q);
	server_finish(&s);
}

static void test_error_reply(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE, {RECV, "no-such-command"}, {REPLY, "qmp-error.json"}, {END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	json_t *ret = NULL;

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), 0);
	assert_int_equal(hb_qmp_cmd(q, "no-such-command", NULL, 5, &ret, &e), HB_EPROTO);
	assert_null(ret);
	assert_string_equal(e.msg, "qmp: no-such-command failed: CommandNotFound: The command "
				   "no-such-command has not been found");
	hb_qmp_close(q);
	server_finish(&s);
}

/* A reply carrying another id (the late answer to a command that timed out) is not ours. */
static void test_stale_reply_skipped(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE,
		{RECV, "query-status"},
		{SEND, "{\"return\":{\"status\":\"stale\"},\"id\":999}"},
		{REPLY, "qmp-query-status.json"},
		{END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	json_t *ret = NULL;

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), 0);
	assert_int_equal(hb_qmp_cmd(q, "query-status", NULL, 5, &ret, &e), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
	json_decref(ret);
	hb_qmp_close(q);
	server_finish(&s);
}

static void test_timeout(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE, {RECV, "query-status"}, {SILENT, NULL}, {END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	double t0;

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), 0);
	t0 = hb_now();
	assert_int_equal(hb_qmp_cmd(q, "query-status", NULL, 0.3, NULL, &e), HB_ETIMEDOUT);
	assert_true(hb_now() - t0 >= 0.29);
	assert_true(hb_now() - t0 < 3.0);
	assert_string_equal(e.msg, "query-status (0.3 s): qmp: no reply from QEMU");
	hb_qmp_close(q);
	server_finish(&s);
}

/* QEMU going away mid-command: HB_EIO naming the cause; later commands fail fast. */
static void test_eof(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE, {RECV, "query-status"}, {CLOSE, NULL}, {END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), 0);
	assert_int_equal(hb_qmp_cmd(q, "query-status", NULL, 5, NULL, &e), HB_EIO);
	assert_string_equal(e.msg, "qmp: connection closed by QEMU");
	hb_err_clear(&e);
	assert_int_equal(hb_qmp_cmd(q, "query-status", NULL, 5, NULL, &e), HB_EIO);
	assert_string_equal(e.msg, "qmp: query-status: connection to QEMU is gone");
	hb_qmp_close(q);
	server_finish(&s);
}

static void test_not_a_greeting(void **state)
{
	static const struct step steps[] = {{SEND, "qmp-query-status.json"}, {END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), HB_EPROTO);
	assert_null(q);
	assert_non_null(strstr(e.msg, "first message is not a QMP greeting"));
	server_finish(&s);
}

static void test_capabilities_refused(void **state)
{
	static const struct step steps[] = {
		{SEND, "qmp-greeting.json"},
		{RECV, "qmp_capabilities"},
		{REPLY, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"nope\"}}"},
		{END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), HB_EPROTO);
	assert_null(q);
	assert_string_equal(e.msg, "qmp: qmp_capabilities failed: GenericError: nope");
	server_finish(&s);
}

static void test_connect_timeout(void **state)
{
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	double t0 = hb_now();

	assert_int_equal(hb_qmp_connect("/nonexistent/hb-qmp.sock", 0.2, &q, &e), HB_ETIMEDOUT);
	assert_null(q);
	assert_true(hb_now() - t0 >= 0.19);
	assert_true(hb_now() - t0 < 3.0);
	assert_string_equal(e.msg, "qmp: /nonexistent/hb-qmp.sock did not accept within 0.2 s");
}

/* The captured KVM stats reply decodes: two vCPUs, each with an "exits" counter. */
static void test_stats_fixture(void **state)
{
	static const struct step steps[] = {HANDSHAKE,
					    {RECV, "query-stats"},
					    {REPLY, "qmp-query-stats-vcpu.json"},
					    {RECV, "query-stats"},
					    {REPLY, "qmp-query-stats-vm.json"},
					    {END, NULL}};
	struct server s;
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	json_t *ret = NULL, *args;
	size_t i, found = 0;

	server_start(&s, steps);
	assert_int_equal(hb_qmp_connect(s.path, 5, &q, &e), 0);
	args = json_pack("{s:s, s:[{s:s}]}", "target", "vcpu", "providers", "provider", "kvm");
	assert_int_equal(hb_qmp_cmd(q, "query-stats", args, 5, &ret, &e), 0);
	assert_int_equal(json_array_size(ret), 2);
	for (i = 0; i < 2; i++) {
		json_t *ent = json_array_get(ret, i), *st;
		size_t k;
		assert_string_equal(json_string_value(json_object_get(ent, "provider")), "kvm");
		json_array_foreach (json_object_get(ent, "stats"), k, st)
			if (!strcmp(json_string_value(json_object_get(st, "name")), "exits"))
				found++;
	}
	assert_int_equal(found, 2);
	json_decref(ret);
	args = json_pack("{s:s}", "target", "vm");
	assert_int_equal(hb_qmp_cmd(q, "query-stats", args, 5, &ret, &e), 0);
	assert_int_equal(json_array_size(ret), 1);
	json_decref(ret);
	hb_qmp_close(q);
	server_finish(&s);
}

/* The same client against a real QEMU (machine "none": nothing to boot). */
static void test_real_qemu(void **state)
{
	char dir[] = "/tmp/hbqmpqXXXXXX", path[128], qmparg[200];
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	json_t *ret = NULL;
	pid_t pid;
	int st;

	if (access("/usr/bin/qemu-system-x86_64", X_OK)) {
		print_message("SKIP: qemu-system-x86_64 not installed\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	hb_snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	hb_snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/usr/bin/qemu-system-x86_64", "qemu-system-x86_64", "-M", "none",
		      "-nodefaults", "-no-user-config", "-display", "none", "-qmp", qmparg,
		      (char *)NULL);
		_exit(127);
	}
	int rc = hb_qmp_connect(path, 10, &q, &e);
	if (rc)
		kill(pid, SIGKILL);
	assert_int_equal(rc, 0);
	assert_int_equal(hb_qmp_cmd(q, "query-status", NULL, 5, &ret, &e), 0);
	assert_non_null(json_string_value(json_object_get(ret, "status")));
	json_decref(ret);
	assert_int_equal(hb_qmp_cmd(q, "no-such-command", NULL, 5, NULL, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "CommandNotFound"));
	hb_err_clear(&e);
	assert_int_equal(hb_qmp_cmd(q, "quit", NULL, 5, NULL, &e), 0);
	hb_qmp_close(q);
	for (int i = 0; i < 500 && waitpid(pid, &st, WNOHANG) == 0; i++)
		hb_sleep(0.01, NULL);
	if (kill(pid, 0) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("QEMU did not exit after quit");
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
	rmdir(dir);
}

/* A caller's transport (libvirt's monitor passthrough): one command text in, one reply out. */
struct xport {
	char last[256];
	const char *reply; /* NULL: the transport fails */
};

static int fake_send(void *arg, const char *cmd, double timeout, char **reply, struct hb_err *e)
{
	struct xport *x = arg;

	(void)timeout;
	hb_strlcpy(x->last, cmd, sizeof(x->last));
	if (!x->reply)
		return hb_err_set(e, HB_EIO, "qemu-monitor-command: domain is not running");
	*reply = strdup(x->reply);
	return 0;
}

static void test_custom_transport(void **state)
{
	struct xport x = {.reply = "{\"return\": {\"enabled\": false, \"present\": true}, "
				   "\"id\": \"libvirt-12\"}"};
	struct hb_qmp *q = NULL;
	struct hb_err e = {0};
	json_t *ret = NULL;

	(void)state;
	assert_int_equal(hb_qmp_open_custom(fake_send, &x, &q, &e), 0);
	assert_int_equal(hb_qmp_cmd(q, "query-kvm", NULL, 1.0, &ret, &e), 0);
	/* no id of ours and no newline: libvirt numbers the commands itself */
	assert_string_equal(x.last, "{\"execute\":\"query-kvm\"}");
	assert_true(json_is_false(json_object_get(ret, "enabled")));
	json_decref(ret);
	x.reply = "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no such command\"}}";
	assert_int_equal(
		hb_qmp_cmd(q, "query-stats", json_pack("{s:s}", "target", "vm"), 1.0, &ret, &e),
		HB_EPROTO);
	assert_string_equal(x.last,
			    "{\"execute\":\"query-stats\",\"arguments\":{\"target\":\"vm\"}}");
	assert_string_equal(e.msg, "qmp: query-stats failed: CommandNotFound: no such command");
	assert_null(ret);
	hb_err_clear(&e);
	x.reply = "not json";
	assert_int_equal(hb_qmp_cmd(q, "query-kvm", NULL, 1.0, &ret, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "qmp: malformed reply"));
	hb_err_clear(&e);
	x.reply = NULL;
	assert_int_equal(hb_qmp_cmd(q, "query-kvm", NULL, 1.0, &ret, &e), HB_EIO);
	assert_string_equal(e.msg, "qemu-monitor-command: domain is not running");
	hb_qmp_close(q);
	assert_int_equal(hb_qmp_open_custom(NULL, NULL, &q, &e), HB_EINVAL);
	assert_null(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),		cmocka_unit_test(test_custom_transport),
		cmocka_unit_test(test_cpus_fast),	cmocka_unit_test(test_events_skipped),
		cmocka_unit_test(test_error_reply),	cmocka_unit_test(test_stale_reply_skipped),
		cmocka_unit_test(test_timeout),		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_not_a_greeting),	cmocka_unit_test(test_capabilities_refused),
		cmocka_unit_test(test_connect_timeout), cmocka_unit_test(test_stats_fixture),
		cmocka_unit_test(test_real_qemu),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
