/*
 * test_iperf.c — the iperf3 JSON parser (bench/iperf.c) on real client-side JSON captured on this
 * machine with iperf3 3.12 (tests/fixtures/iperf-*.json: loopback, 1 s; "send" is a plain
 * client, "recv-p2" is -R -P 2, "error" a client against a closed port), plus the libiperf server
 * and client children for real on loopback, and the namespace/tap helpers the QEMU backend uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "child.h"
#include "hb.h"
#include "iperf.h"
#include "metric.h"
#include "testlib.h"
#include "netenv.h"

static void test_parse_send(void **state)
{
	char *txt = load_fixture("iperf-send.json");
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_parse(txt, &s, &e), 0);
	assert_int_equal(s.n, 4);
	check_metric(&s, "throughput", "Gbit/s", 1, 24525739919.99568 / 1e9);
	check_metric(&s, "retransmits", "count", 0, 14);
	/* client sends: sender = host side, receiver = remote side */
	check_metric(&s, "sender_cpu", "%", 0, 86.9869210168415);
	check_metric(&s, "receiver_cpu", "%", 0, 49.3426504087632);
	assert_string_equal(json_string_value(json_object_get(s.info, "direction")), "send");
	assert_string_equal(json_string_value(json_object_get(s.info, "iperf_version")),
			    "iperf 3.12");
	assert_int_equal(json_integer_value(json_object_get(s.info, "streams")), 1);
	assert_true(json_real_value(json_object_get(s.info, "sender_gbps")) ==
		    24526916687.158512 / 1e9);
	hb_sample_free(&s);
	free(txt);
}

static void test_parse_recv_two_streams(void **state)
{
	char *txt = load_fixture("iperf-recv-p2.json");
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_parse(txt, &s, &e), 0);
	/* receiver side sum (the client, with -R) */
	check_metric(&s, "throughput", "Gbit/s", 1, 17130715969.5327 / 1e9);
	check_metric(&s, "retransmits", "count", 0, 7);
	/* reverse: the server sends, so sender = remote, receiver = host */
	check_metric(&s, "sender_cpu", "%", 0, 94.6930856866561);
	check_metric(&s, "receiver_cpu", "%", 0, 42.816250896071665);
	assert_string_equal(json_string_value(json_object_get(s.info, "direction")), "recv");
	assert_int_equal(json_integer_value(json_object_get(s.info, "streams")), 2);
	hb_sample_free(&s);
	free(txt);
}

static void test_parse_error_key(void **state)
{
	char *txt = load_fixture("iperf-error.json");
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_parse(txt, &s, &e), HB_EIO);
	assert_string_equal(e.msg, "iperf3: unable to connect to server: Connection refused");
	assert_int_equal(s.n, 0);
	free(txt);
}

static void test_parse_malformed(void **state)
{
	struct hb_sample s;
	struct hb_err e;

	hb_sample_init(&s);
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_parse("Connecting to host 127.0.0.1", &s, &e), HB_EPROTO);
	assert_non_null(strstr(e.msg, "not valid JSON"));
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_parse("[1,2]", &s, &e), HB_EPROTO);
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_parse("{\"start\":{\"test_start\":{}},\"end\":{}}", &s, &e),
			 HB_EPROTO);
	assert_non_null(strstr(e.msg, "sum_received"));
	assert_int_equal(s.n, 0);
}

static int bound_port(int *fd_out)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*fd_out = fd;
	return ntohs(sa.sin_port);
}

/* The server the QEMU backend uses: serves test after test, stops cleanly. */
static void test_server_and_client_loopback(void **state)
{
	struct hb_iperf_server srv;
	struct hb_iperf_client cl = {.addr = "127.0.0.1", .streams = 1, .duration = 1};
	struct hb_err e;
	int fd, port = bound_port(&fd), round;
	pid_t pid;

	close(fd); /* free again: the server takes it */
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_server_start(&srv, NULL, "127.0.0.1", port, &e), 0);
	assert_true(srv.pid > 0);
	assert_int_equal(srv.port, port);
	assert_string_equal(srv.addr, "127.0.0.1");
	cl.port = port;
	for (round = 0; round < 2; round++) {
		char *json = NULL;
		struct hb_sample s;
		cl.reverse = round;
		hb_sample_init(&s);
		if (hb_iperf_client_run(&cl, hb_now() + 20, NULL, &json, &e))
			fail_msg("client round %d: %s", round, e.msg);
		if (hb_iperf_parse(json, &s, &e))
			fail_msg("parse round %d: %s", round, e.msg);
		assert_true(hb_sample_get(&s, "throughput")->value > 0);
		assert_string_equal(json_string_value(json_object_get(s.info, "direction")),
				    round ? "recv" : "send");
		hb_sample_free(&s);
		free(json);
	}
	pid = srv.pid;
	hb_iperf_server_stop(&srv);
	assert_int_equal(srv.pid, 0);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	hb_iperf_server_stop(&srv); /* twice is fine */
}

/* A client killed mid-test (its deadline) must not wedge the long-lived server. */
static void test_server_survives_killed_client(void **state)
{
	struct hb_iperf_server srv;
	struct hb_iperf_client cl = {.addr = "127.0.0.1", .streams = 1, .duration = 5};
	struct hb_sample s;
	struct hb_err e;
	char *json = NULL;
	int fd, port = bound_port(&fd);
	double t0;

	close(fd);
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_server_start(&srv, NULL, "127.0.0.1", port, &e), 0);
	cl.port = port;
	t0 = hb_now();
	assert_int_equal(hb_iperf_client_run(&cl, hb_now() + 1.0, NULL, &json, &e), HB_ETIMEDOUT);
	assert_true(hb_now() - t0 < 3.0);
	assert_null(json);
	cl.duration = 1;
	hb_err_clear(&e);
	/* the server notices the dead control connection and takes the next test */
	if (hb_iperf_client_run(&cl, hb_now() + 20, NULL, &json, &e))
		fail_msg("second client: %s", e.msg);
	hb_sample_init(&s);
	if (hb_iperf_parse(json, &s, &e))
		fail_msg("second client: %s", e.msg);
	assert_true(hb_sample_get(&s, "throughput")->value > 0);
	hb_sample_free(&s);
	free(json);
	hb_iperf_server_stop(&srv);
}

static void test_server_port_in_use(void **state)
{
	struct hb_iperf_server srv;
	struct hb_err e;
	int fd, port = bound_port(&fd);

	assert_int_equal(listen(fd, 1), 0);
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_server_start(&srv, NULL, "127.0.0.1", port, &e), HB_ECHILD);
	assert_non_null(strstr(e.msg, "Address already in use"));
	assert_int_equal(srv.pid, 0);
	close(fd);
}

static void test_client_refused(void **state)
{
	struct hb_iperf_client cl = {.addr = "127.0.0.1", .streams = 1, .duration = 1};
	struct hb_sample s;
	struct hb_err e;
	char *json = NULL;
	int fd;

	cl.port = bound_port(&fd); /* bound, not listening: refused */
	hb_err_clear(&e);
	assert_int_equal(hb_iperf_client_run(&cl, hb_now() + 10, NULL, &json, &e), 0);
	hb_sample_init(&s);
	assert_int_equal(hb_iperf_parse(json, &s, &e), HB_EIO);
	assert_string_equal(e.msg, "iperf3: unable to connect to server: Connection refused");
	free(json);
	close(fd);
}

static int have_netns(void)
{
	char *argv[] = {"ip", "netns", "list", NULL};
	struct hb_err e;

	hb_err_clear(&e);
	return geteuid() == 0 && hb_child_run(argv, NULL, 10, NULL, NULL, &e) == 0;
}

/* The tap helper the QEMU backend uses: the device exists inside the namespace only. */
static void test_netns_tap(void **state)
{
	char ns[64], *show[] = {"ip", "-n", ns, "-br", "addr", "show", "dev", "hbtap0", NULL};
	char *root[] = {"ip", "link", "show", "dev", "hbtap0", NULL};
	char path[128];
	struct hb_child_out r;
	struct hb_err e;

	if (!have_netns()) {
		printf("SKIP: network namespaces need root and iproute2\n");
		skip();
	}
	snprintf(ns, sizeof(ns), "hb-%d-t", (int)getpid());
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	hb_err_clear(&e);
	assert_int_equal(hb_netns_create(ns, &e), 0);
	assert_int_equal(access(path, F_OK), 0);
	if (hb_netns_add_tap(ns, "hbtap0", "198.18.1.1/24", &e)) {
		hb_netns_destroy(ns);
		fail_msg("%s", e.msg);
	}
	assert_int_equal(hb_child_run(show, NULL, 10, NULL, &r, &e), 0);
	assert_non_null(strstr(r.out, "hbtap0"));
	assert_non_null(strstr(r.out, "198.18.1.1/24"));
	hb_child_out_free(&r);
	hb_err_clear(&e);
	assert_int_equal(hb_child_run(root, NULL, 10, NULL, NULL, &e), HB_ECHILD);
	hb_netns_destroy(ns);
	assert_int_equal(access(path, F_OK), -1);
	hb_err_clear(&e);
	assert_int_equal(hb_netns_create("bad name", &e), HB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_send),
		cmocka_unit_test(test_parse_recv_two_streams),
		cmocka_unit_test(test_parse_error_key),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_server_and_client_loopback),
		cmocka_unit_test(test_server_survives_killed_client),
		cmocka_unit_test(test_server_port_in_use),
		cmocka_unit_test(test_client_refused),
		cmocka_unit_test(test_netns_tap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
