/*
 * test_agent_idle.c — a client that said hello and then fell silent no longer holds the agent
 * forever: the session ends after the idle timeout with a message saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

struct served {
	struct hb_agent a;
	int fd, rc;
	struct hb_err e;
};

static void *serve(void *arg)
{
	struct served *s = arg;

	s->rc = hb_agent_serve(&s->a, s->fd, s->fd, &s->e);
	return NULL;
}

static void silent_after_hello_closed(void **state)
{
	struct hb_agent_cfg cfg = {.quiet = 1, .idle_timeout = 1.0};
	struct served s = {0};
	struct hb_conn c;
	struct hb_err e = {0};
	json_t *hello = NULL;
	pthread_t th;
	int sv[2];
	double t0;

	(void)state;
	assert_int_equal(hb_agent_init(&s.a, &cfg, &e), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s.fd = sv[0];
	assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);
	hb_conn_init(&c, sv[1], sv[1]);
	assert_int_equal(hb_agent_hello(&c, NULL, 30, &hello, &e), 0);
	json_decref(hello);
	t0 = hb_now();
	alarm(60); /* without an idle timeout the join below would wait forever */
	assert_int_equal(pthread_join(th, NULL), 0);
	alarm(0);
	assert_true(hb_now() - t0 >= 0.9);
	assert_int_equal(s.rc, HB_ETIMEDOUT);
	assert_string_equal(s.e.msg, "session idle for 1 s: closed (idle timeout)");
	hb_conn_free(&c);
	close(sv[0]);
	close(sv[1]);
	hb_agent_free(&s.a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(silent_after_hello_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
