/*
 * test_proto.c — the wire protocol: line framing (split writes, several messages per write,
 * oversized lines, EOF, timeouts), strict JSON decoding (invalid UTF-8, duplicates, NaN, huge
 * numbers, non-objects, missing op), whole-message sends, and the host-side client calls
 * against scripted agent replies (version mismatch, stale ids, error replies, garbage).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "proto.h"

struct pair {
	int host, agent;  /* socketpair ends */
	struct hb_conn c; /* on the host end */
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->host = sv[0];
	p->agent = sv[1];
	hb_conn_init(&p->c, p->host, p->host);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	hb_conn_free(&p->c);
	if (p->host >= 0)
		close(p->host);
	if (p->agent >= 0)
		close(p->agent);
	free(p);
	return 0;
}

static void put(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static void puts_(int fd, const char *s)
{
	put(fd, s, strlen(s));
}

/* Reads one line the host sent to the agent end (test side), as JSON. */
static json_t *agent_reads(int fd)
{
	char buf[65536];
	size_t n = 0;
	json_error_t je;

	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, 1);
		assert_int_equal(r, 1);
		if (buf[n] == '\n')
			break;
		n++;
	}
	return json_loadb(buf, n, 0, &je);
}

static void test_split_write(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *m = NULL;

	puts_(p->agent, "{\"op\":\"he");
	assert_int_equal(hb_conn_recv(&p->c, 0.05, &m, &e), HB_ETIMEDOUT);
	assert_null(m);
	puts_(p->agent, "llo\",\"proto\":1}\n");
	hb_err_clear(&e);
	assert_int_equal(hb_conn_recv(&p->c, 2, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "hello");
	assert_int_equal(json_integer_value(json_object_get(m, "proto")), 1);
	json_decref(m);
}

static void test_two_in_one_write(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *m = NULL;

	puts_(p->agent, "{\"op\":\"a\",\"id\":1}\r\n\n{\"op\":\"b\",\"id\":2}\n");
	assert_int_equal(hb_conn_recv(&p->c, 2, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "a");
	json_decref(m);
	assert_int_equal(hb_conn_recv(&p->c, 0, &m, &e), 0); /* already buffered: no wait */
	assert_string_equal(json_string_value(json_object_get(m, "op")), "b");
	assert_int_equal(json_integer_value(json_object_get(m, "id")), 2);
	json_decref(m);
}

struct writer {
	int fd;
	char *data;
	size_t len;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	size_t done = 0;

	while (done < w->len) {
		ssize_t n = write(w->fd, w->data + done, w->len - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return NULL;
}

/* A message of exactly len bytes (without newline): {"op":"x","pad":"aaa..."} */
static char *message_of(size_t len)
{
	const char *head = "{\"op\":\"x\",\"pad\":\"", *tail = "\"}";
	char *s = malloc(len + 2);
	size_t h = strlen(head), t = strlen(tail);

	memcpy(s, head, h);
	memset(s + h, 'a', len - h - t);
	memcpy(s + len - t, tail, t);
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

static void test_oversized_then_valid(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *m = NULL;
	char *big = message_of(HB_PROTO_MAX + 1), *fit = message_of(HB_PROTO_MAX);
	const char *next = "{\"op\":\"next\",\"id\":3}\n";
	size_t lb = strlen(big), lf = strlen(fit), ln = strlen(next);
	struct writer w = {.fd = p->agent, .len = lb + lf + ln};
	pthread_t th;

	w.data = malloc(w.len);
	memcpy(w.data, big, lb);
	memcpy(w.data + lb, fit, lf);
	memcpy(w.data + lb + lf, next, ln);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	assert_int_equal(hb_conn_recv(&p->c, 10, &m, &e), HB_EPROTO);
	assert_null(m);
	assert_non_null(strstr(e.msg, "over 1048576 bytes"));
	hb_err_clear(&e);
	/* exactly at the limit is accepted */
	assert_int_equal(hb_conn_recv(&p->c, 10, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "x");
	assert_int_equal(strlen(json_string_value(json_object_get(m, "pad"))),
			 HB_PROTO_MAX - strlen("{\"op\":\"x\",\"pad\":\"\"}"));
	json_decref(m);
	assert_int_equal(hb_conn_recv(&p->c, 10, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "next");
	json_decref(m);
	pthread_join(th, NULL);
	/* the buffer never holds more than one line plus two bytes */
	assert_true(p->c.cap <= (size_t)HB_PROTO_MAX + 2);
	free(w.data);
	free(big);
	free(fit);
}

static void test_oversized_without_newline_reported_once(void **state)
{
	struct hb_conn c;
	struct hb_err e = {0};
	json_t *m = NULL;
	size_t n = 3 * (size_t)HB_PROTO_MAX;
	char *data = malloc(n + 32);

	(void)state;
	memset(data, '{', n);
	memcpy(data + n, "\n{\"op\":\"ok\"}\n", 14);
	hb_conn_init(&c, -1, -1);
	hb_conn_set_source(&c, data, n + 13);
	assert_int_equal(hb_conn_recv(&c, 0, &m, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "discarded"));
	hb_err_clear(&e);
	assert_int_equal(hb_conn_recv(&c, 0, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "ok");
	json_decref(m);
	hb_err_clear(&e);
	assert_int_equal(hb_conn_recv(&c, 0, &m, &e), HB_EIO);
	hb_conn_free(&c);
	free(data);
}

static void test_byte_by_byte_source(void **state)
{
	const char *in = "{\"op\":\"a\"}\n{\"op\":\"b\"}\n{\"op\":\"c\"";
	struct hb_conn c;
	struct hb_err e = {0};
	json_t *m = NULL;

	(void)state;
	hb_conn_init(&c, -1, -1);
	hb_conn_set_source(&c, in, strlen(in));
	c.rchunk = 1;
	assert_int_equal(hb_conn_recv(&c, 0, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "a");
	json_decref(m);
	assert_int_equal(hb_conn_recv(&c, 0, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "b");
	json_decref(m);
	/* the last line has no newline: reported as truncated, then EOF */
	assert_int_equal(hb_conn_recv(&c, 0, &m, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "truncated"));
	hb_err_clear(&e);
	assert_int_equal(hb_conn_recv(&c, 0, &m, &e), HB_EIO);
	hb_conn_free(&c);
}

static void test_eof(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *m = NULL;

	puts_(p->agent, "{\"op\":\"last\"}\n");
	close(p->agent);
	p->agent = -1;
	assert_int_equal(hb_conn_recv(&p->c, 2, &m, &e), 0);
	json_decref(m);
	assert_int_equal(hb_conn_recv(&p->c, 2, &m, &e), HB_EIO);
	assert_null(m);
	assert_non_null(strstr(e.msg, "closed"));
	/* and stays at EOF */
	assert_int_equal(hb_conn_recv(&p->c, 2, &m, &e), HB_EIO);
}

static void test_zero_timeout_takes_waiting_data(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *m = NULL;

	puts_(p->agent, "{\"op\":\"ready\"}\n");
	assert_int_equal(hb_conn_recv(&p->c, 0, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "ready");
	json_decref(m);
	assert_int_equal(hb_conn_recv(&p->c, 0, &m, &e), HB_ETIMEDOUT);
}

static void test_timeout(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *m = NULL;
	double t0 = hb_now(), dt;

	assert_int_equal(hb_conn_recv(&p->c, 0.2, &m, &e), HB_ETIMEDOUT);
	dt = hb_now() - t0;
	assert_true(dt >= 0.19);
	assert_true(dt < 3.0);
	assert_null(m);
	assert_int_equal(e.code, HB_ETIMEDOUT);
}

/* One bad line, then a good one: the bad one is HB_EPROTO, the connection stays usable. */
static void expect_bad(struct pair *p, const char *line, const char *needle, long long echo_id)
{
	struct hb_err e = {0};
	json_t *m = NULL;

	put(p->agent, line, strlen(line));
	puts_(p->agent, "\n{\"op\":\"good\"}\n");
	assert_int_equal(hb_conn_recv(&p->c, 2, &m, &e), HB_EPROTO);
	if (!strstr(e.msg, needle))
		fail_msg("line %s: message \"%s\" lacks \"%s\"", line, e.msg, needle);
	if (echo_id >= 0) {
		assert_non_null(m);
		assert_int_equal(json_integer_value(json_object_get(m, "id")), echo_id);
	} else {
		assert_null(m);
	}
	json_decref(m);
	hb_err_clear(&e);
	assert_int_equal(hb_conn_recv(&p->c, 2, &m, &e), 0);
	assert_string_equal(json_string_value(json_object_get(m, "op")), "good");
	json_decref(m);
}

static void test_bad_json(void **state)
{
	struct pair *p = *state;

	expect_bad(p, "{\"op\":\"\xff\xfe\"}", "malformed JSON", -1); /* invalid UTF-8 */
	expect_bad(p, "not json", "malformed JSON", -1);
	expect_bad(p, "{\"op\":\"run\"", "malformed JSON", -1); /* truncated */
	expect_bad(p, "{\"op\":\"a\"} trailing", "malformed JSON", -1);
	expect_bad(p, "{\"op\":\"a\",\"op\":\"b\"}", "malformed JSON", -1); /* duplicate key */
	expect_bad(p, "{\"op\":\"a\",\"x\":NaN}", "malformed JSON", -1);
	expect_bad(p, "{\"op\":\"a\",\"x\":1e999}", "malformed JSON", -1);
	expect_bad(p, "{\"op\":\"a\",\"x\":99999999999999999999999}", "malformed JSON", -1);
	expect_bad(p, "[1,2,3]", "not a JSON object", -1);
	expect_bad(p, "\"op\"", "malformed JSON", -1); /* objects and arrays only */
	expect_bad(p, "{\"id\":4}", "no \"op\"", 4);
	expect_bad(p, "{\"op\":7,\"id\":5}", "not a string", 5);
	expect_bad(p, "{\"op\":\"a\",\"s\":\"\\u0000\"}", "malformed JSON", -1);
}

static void test_error_text_hides_input(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *m = NULL;

	/* jansson quotes the input near an error; a malformed hello may carry a token */
	puts_(p->agent, "{\"op\":\"hello\",\"token\":\"s3cr3t-t0ken\" x}\n");
	assert_int_equal(hb_conn_recv(&p->c, 2, &m, &e), HB_EPROTO);
	assert_null(strstr(e.msg, "s3cr3t"));
	assert_null(strstr(e.msg, "near"));
}

static void test_send_roundtrip_and_limits(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *msg = json_pack("{s:s, s:s}", "op", "x", "text", "line1\nline2"), *got;
	json_t *huge;
	char *pad;

	assert_int_equal(hb_conn_send(&p->c, msg, &e), 0);
	got = agent_reads(p->agent);
	assert_true(json_equal(got, msg)); /* the newline in a string is escaped, not framing */
	json_decref(got);
	json_decref(msg);
	pad = calloc(1, HB_PROTO_MAX + 1);
	memset(pad, 'a', HB_PROTO_MAX);
	huge = json_pack("{s:s, s:s}", "op", "x", "pad", pad);
	assert_int_equal(hb_conn_send(&p->c, huge, &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "over the"));
	json_decref(huge);
	free(pad);
}

static void test_send_large_short_writes(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	char *pad = calloc(1, 900000);
	json_t *msg;
	int sz = 4096;

	/* a tiny socket buffer forces many partial writes while the reader is slow */
	setsockopt(p->host, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(pad, 'b', 899999);
	msg = json_pack("{s:s, s:s}", "op", "big", "pad", pad);
	if (fork() == 0) {
		struct hb_conn c;
		json_t *m = NULL;
		usleep(100000);
		hb_conn_init(&c, p->agent, p->agent);
		_exit(hb_conn_recv(&c, 5, &m, NULL) == 0 &&
				      strlen(json_string_value(json_object_get(m, "pad"))) == 899999
			      ? 0
			      : 1);
	}
	assert_int_equal(hb_conn_send(&p->c, msg, &e), 0);
	{
		int st = 0;
		assert_true(wait(&st) > 0);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	json_decref(msg);
	free(pad);
}

static void test_send_epipe(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *msg = json_pack("{s:s}", "op", "x");
	int pp[2];
	struct hb_conn c;

	close(p->agent);
	p->agent = -1;
	assert_int_equal(hb_conn_send(&p->c, msg, &e), HB_EIO);
	assert_non_null(strstr(e.msg, "closed"));
	/* a pipe (not a socket): EPIPE with SIGPIPE ignored */
	assert_int_equal(pipe(pp), 0);
	close(pp[0]);
	hb_conn_init(&c, -1, pp[1]);
	hb_err_clear(&e);
	assert_int_equal(hb_conn_send(&c, msg, &e), HB_EIO);
	hb_conn_free(&c);
	close(pp[1]);
	json_decref(msg);
}

static void test_send_timeout(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	char *pad = calloc(1, 1000000);
	json_t *msg;
	double t0;

	memset(pad, 'c', 999999);
	msg = json_pack("{s:s, s:s}", "op", "x", "pad", pad);
	p->c.wtimeout = 0.3; /* nobody reads the agent end */
	t0 = hb_now();
	assert_int_equal(hb_conn_send(&p->c, msg, &e), HB_ETIMEDOUT);
	assert_true(hb_now() - t0 < 3.0);
	json_decref(msg);
	free(pad);
}

static void test_codes(void **state)
{
	const int codes[] = {HB_EINVAL,	 HB_ENOMEM, HB_EIO,   HB_ETIMEDOUT,
			     HB_EUNSUPP, HB_EPROTO, HB_EINTR, HB_ECHILD};
	size_t i;
	json_t *err;

	(void)state;
	for (i = 0; i < HB_ARRAY_SIZE(codes); i++)
		assert_int_equal(hb_proto_code_parse(hb_proto_code_name(codes[i])), codes[i]);
	assert_string_equal(hb_proto_code_name(HB_ETIMEDOUT), "ETIMEDOUT");
	assert_int_equal(hb_proto_code_parse("EWHATEVER"), HB_EPROTO);
	assert_int_equal(hb_proto_code_parse(NULL), HB_EPROTO);
	err = hb_proto_error(-1, HB_EINVAL, "bad \x01 \xff");
	assert_null(json_object_get(err, "id"));
	assert_string_equal(json_string_value(json_object_get(err, "code")), "EINVAL");
	assert_string_equal(json_string_value(json_object_get(err, "message")), "bad ? ?");
	json_decref(err);
}

/* ---- host-side client against scripted replies ---- */

static void test_hello_ok_and_request(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *hello = NULL, *req;

	puts_(p->agent, "{\"op\":\"hello\",\"proto\":1,\"agent\":\"hvbench-guest\"}\n");
	assert_int_equal(hb_agent_hello(&p->c, "tok", 2, &hello, &e), 0);
	assert_string_equal(json_string_value(json_object_get(hello, "agent")), "hvbench-guest");
	json_decref(hello);
	req = agent_reads(p->agent);
	assert_string_equal(json_string_value(json_object_get(req, "op")), "hello");
	assert_int_equal(json_integer_value(json_object_get(req, "proto")), HB_PROTO_VERSION);
	assert_string_equal(json_string_value(json_object_get(req, "token")), "tok");
	json_decref(req);
}

static void test_hello_version_mismatch(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *hello = NULL;

	puts_(p->agent, "{\"op\":\"hello\",\"proto\":2}\n");
	assert_int_equal(hb_agent_hello(&p->c, NULL, 2, &hello, &e), HB_EPROTO);
	assert_null(hello);
	assert_string_equal(e.msg, "agent speaks protocol 2, host speaks 1");
	/* an agent that refuses our version says so with its own proto */
	hb_err_clear(&e);
	puts_(p->agent,
	      "{\"op\":\"error\",\"code\":\"EPROTO\",\"message\":\"host speaks protocol 1, "
	      "agent speaks 3\",\"proto\":3}\n");
	assert_int_equal(hb_agent_hello(&p->c, NULL, 2, &hello, &e), HB_EPROTO);
	assert_string_equal(e.msg, "agent speaks protocol 3, host speaks 1");
}

static void test_hello_refused_timeout_garbage(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *hello = NULL;
	double t0;

	puts_(p->agent,
	      "{\"op\":\"error\",\"code\":\"EINVAL\",\"message\":\"authentication failed\"}\n");
	assert_int_equal(hb_agent_hello(&p->c, "wrong", 2, &hello, &e), HB_EINVAL);
	assert_string_equal(e.msg, "agent: hello refused: authentication failed");
	assert_null(strstr(e.msg, "wrong"));
	hb_err_clear(&e);
	t0 = hb_now();
	assert_int_equal(hb_agent_hello(&p->c, NULL, 0.2, &hello, &e), HB_ETIMEDOUT);
	assert_true(hb_now() - t0 < 2.0);
	hb_err_clear(&e);
	puts_(p->agent, "Linux version 6.1.0 garbage on the port\n");
	assert_int_equal(hb_agent_hello(&p->c, NULL, 2, &hello, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "malformed JSON"));
}

static void test_run_skips_stale_and_decodes(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	struct hb_sample s;
	struct hb_run_opts o = {.t = {.duration = 1, .ramp = 0.5, .timeout = 5},
				.server_addr = "198.18.0.1",
				.server_port = 5201};
	json_t *params = json_pack("{s:s}", "bs", "4k"), *req;
	const struct hb_metric *m;

	puts_(p->agent, "{\"op\":\"result\",\"id\":3,\"sample\":{\"metrics\":[]}}\n"
			"{\"op\":\"error\",\"id\":2,\"code\":\"ETIMEDOUT\",\"message\":\"old\"}\n"
			"{\"op\":\"result\",\"id\":4,\"sample\":{\"metrics\":[{\"name\":\"iops\","
			"\"unit\":\"IOPS\",\"higher_is_better\":true,\"value\":1234.5}],"
			"\"info\":{\"fio\":\"3.33\"}}}\n");
	assert_int_equal(hb_agent_run(&p->c, 4, "disk", params, &o, &s, &e), 0);
	assert_int_equal(s.n, 1);
	m = hb_sample_get(&s, "iops");
	assert_non_null(m);
	assert_true(m->value == 1234.5);
	assert_string_equal(m->unit, "IOPS");
	assert_true(m->higher_is_better);
	assert_string_equal(json_string_value(json_object_get(s.info, "fio")), "3.33");
	hb_sample_free(&s);
	req = agent_reads(p->agent);
	assert_string_equal(json_string_value(json_object_get(req, "op")), "run");
	assert_int_equal(json_integer_value(json_object_get(req, "id")), 4);
	assert_string_equal(json_string_value(json_object_get(req, "workload")), "disk");
	assert_true(json_equal(json_object_get(req, "params"), params));
	assert_true(json_number_value(json_object_get(req, "duration")) == 1.0);
	assert_true(json_number_value(json_object_get(req, "ramp")) == 0.5);
	assert_true(json_number_value(json_object_get(req, "timeout")) == 5.0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(req, "server"), "addr")),
		"198.18.0.1");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(req, "server"), "port")), 5201);
	json_decref(req);
	json_decref(params);
}

static void test_run_error_reply(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	struct hb_sample s;
	struct hb_run_opts o = {.t = {.duration = 1, .timeout = 5}};

	puts_(p->agent, "{\"op\":\"error\",\"id\":9,\"code\":\"ETIMEDOUT\",\"message\":\"cpu: no "
			"result within 5 s\\n\\u001b[31m\"}\n");
	assert_int_equal(hb_agent_run(&p->c, 9, "cpu", NULL, &o, &s, &e), HB_ETIMEDOUT);
	/* the agent's text is kept, its control characters are not */
	assert_string_equal(e.msg, "agent: run cpu (id 9): cpu: no result within 5 s??[31m");
	assert_int_equal(s.n, 0);
}

static void test_run_bad_replies(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	struct hb_sample s;
	struct hb_run_opts o = {.t = {.duration = 1, .timeout = 5}};

	/* a result whose sample is invalid */
	puts_(p->agent,
	      "{\"op\":\"result\",\"id\":1,\"sample\":{\"metrics\":[{\"name\":\"x\"}]}}\n");
	assert_int_equal(hb_agent_run(&p->c, 1, "cpu", NULL, &o, &s, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "metrics[0]"));
	/* garbage */
	hb_err_clear(&e);
	puts_(p->agent, "}}}\n");
	assert_int_equal(hb_agent_run(&p->c, 2, "cpu", NULL, &o, &s, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "malformed JSON"));
	/* an error the agent could not attribute (no id) ends the wait */
	hb_err_clear(&e);
	puts_(p->agent, "{\"op\":\"error\",\"code\":\"EPROTO\",\"message\":\"message over 1048576 "
			"bytes discarded\"}\n");
	assert_int_equal(hb_agent_run(&p->c, 3, "cpu", NULL, &o, &s, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "discarded"));
	/* the agent went away */
	hb_err_clear(&e);
	close(p->agent);
	p->agent = -1;
	assert_int_equal(hb_agent_run(&p->c, 4, "cpu", NULL, &o, &s, &e), HB_EIO);
}

static void test_shutdown_ack(void **state)
{
	struct pair *p = *state;
	struct hb_err e = {0};
	json_t *req;

	puts_(p->agent, "{\"op\":\"result\",\"id\":6}\n{\"op\":\"result\",\"id\":7}\n");
	assert_int_equal(hb_agent_shutdown(&p->c, 7, 2, &e), 0);
	req = agent_reads(p->agent);
	assert_string_equal(json_string_value(json_object_get(req, "op")), "shutdown");
	assert_int_equal(json_integer_value(json_object_get(req, "id")), 7);
	json_decref(req);
	hb_err_clear(&e);
	assert_int_equal(hb_agent_shutdown(&p->c, 8, 0.2, &e), HB_ETIMEDOUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_split_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_in_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_then_valid, setup, teardown),
		cmocka_unit_test(test_oversized_without_newline_reported_once),
		cmocka_unit_test(test_byte_by_byte_source),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_timeout_takes_waiting_data, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_text_hides_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_roundtrip_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_large_short_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_epipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_timeout, setup, teardown),
		cmocka_unit_test(test_codes),
		cmocka_unit_test_setup_teardown(test_hello_ok_and_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello_version_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello_refused_timeout_garbage, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_run_skips_stale_and_decodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_error_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_bad_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_ack, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
