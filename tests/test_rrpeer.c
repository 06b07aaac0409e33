/*
 * test_rrpeer.c — the echo peer's reply delay (hb_rrpeer_start_delayed), the injection
 * `hvbench calibrate` uses for its latency experiment where the kernel has no netem: over TCP
 * and UDP, with concurrent flows, every reply comes back no sooner than the delay after its
 * request and well before twice the delay, and the one UDP thread does not serialize the flows
 * (16 concurrent UDP requests all answered within D + a generous bound, where holding them one
 * after another would take 16 D). The bounds are loose on purpose (a loaded machine); the
 * lower one is exact (a reply can never come early). Bad delays are refused by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "hb.h"
#include "rrpeer.h"
#include "testlib.h"

#define D_MS	 20.0
#define SLACK_MS 200.0 /* generous: the machine is shared and loaded */
#define MAXF	 16

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int connect_to(const struct hb_rrpeer *p, int udp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
	int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (!udp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * nflows flows each send one request at (nearly) the same moment; every reply must carry the
 * flow's bytes and come back in [D, D + SLACK) after its own send. Returns the latest RTT.
 */
static double round_trip(int *fd, int nflows, int round)
{
	double sent[MAXF], worst = 0;
	int done[MAXF] = {0}, left = nflows;

	for (int i = 0; i < nflows; i++) {
		char req[8];
		snprintf(req, sizeof(req), "%02d:%03d", i, round);
		sent[i] = now_ms();
		assert_int_equal(send(fd[i], req, 6, 0), 6);
	}
	while (left) {
		struct pollfd pf[MAXF];
		for (int i = 0; i < nflows; i++)
			pf[i] = (struct pollfd){.fd = done[i] ? -1 : fd[i], .events = POLLIN};
		int r = poll(pf, (nfds_t)nflows, 5000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail_msg("no reply within 5 s (%d of %d flows unanswered)", left, nflows);
		for (int i = 0; i < nflows; i++) {
			char got[16], want[8];
			ssize_t n;
			double rtt;
			if (done[i] || !(pf[i].revents & POLLIN))
				continue;
			n = recv(fd[i], got, sizeof(got), 0);
			rtt = now_ms() - sent[i];
			/* 6 bytes over loopback TCP come in one segment */
			snprintf(want, sizeof(want), "%02d:%03d", i, round);
			assert_int_equal(n, 6);
			assert_memory_equal(got, want, 6);
			if (rtt < D_MS || rtt >= D_MS + SLACK_MS)
				fail_msg("flow %d round %d: RTT %.3f ms, expected [%.0f, %.0f)", i,
					 round, rtt, D_MS, D_MS + SLACK_MS);
			worst = rtt > worst ? rtt : worst;
			done[i] = 1;
			left--;
		}
	}
	return worst;
}

static void flows(int udp, int nflows, int rounds)
{
	struct hb_rrpeer p;
	struct hb_err e;
	int fd[MAXF];
	double worst = 0;

	hb_err_clear(&e);
	if (hb_rrpeer_start_delayed(&p, NULL, "127.0.0.1", 0, D_MS, &e))
		fail_msg("%s", e.msg);
	assert_true(p.delay_ms == D_MS);
	if (udp)
		assert_int_equal(p.udp, 1);
	for (int i = 0; i < nflows; i++)
		fd[i] = connect_to(&p, udp);
	for (int r = 0; r < rounds; r++) {
		double w = round_trip(fd, nflows, r);
		worst = w > worst ? w : worst;
	}
	print_message("%s, %d flows x %d rounds, delay %.0f ms: worst RTT %.3f ms\n",
		      udp ? "UDP" : "TCP", nflows, rounds, D_MS, worst);
	for (int i = 0; i < nflows; i++)
		close(fd[i]);
	hb_rrpeer_stop(&p);
	assert_int_equal(p.pid, 0);
}

static void test_tcp_two_flows(void **state)
{
	(void)state;
	flows(0, 2, 5);
}

static void test_udp_two_flows(void **state)
{
	(void)state;
	flows(1, 2, 5);
}

/* One thread serves every UDP flow: held one after another, the 16th would wait 16 x 20 ms =
 * 320 ms > D + SLACK; held side by side every flow gets its 20 ms. */
static void test_udp_flows_not_serialized(void **state)
{
	(void)state;
	flows(1, MAXF, 3);
}

/* Connections may come and go: a closed flow's thread ends, the next one is served. */
static void test_tcp_reconnect(void **state)
{
	struct hb_rrpeer p;
	struct hb_err e;
	int fd;

	(void)state;
	hb_err_clear(&e);
	assert_int_equal(hb_rrpeer_start_delayed(&p, NULL, "127.0.0.1", 0, D_MS, &e), 0);
	for (int k = 0; k < 3; k++) {
		fd = connect_to(&p, 0);
		round_trip(&fd, 1, k);
		close(fd);
	}
	hb_rrpeer_stop(&p);
}

static void test_bad_delay(void **state)
{
	struct hb_rrpeer p;
	struct hb_err e;
	const double bad[] = {-1, HB_RRPEER_MAX_DELAY_MS + 0.5, NAN, INFINITY};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hb_err_clear(&e);
		assert_int_equal(hb_rrpeer_start_delayed(&p, NULL, "127.0.0.1", 0, bad[i], &e),
				 HB_EINVAL);
		assert_non_null(strstr(e.msg, "reply delay"));
		assert_non_null(strstr(e.msg, "not in 0..1000 ms"));
		assert_int_equal(p.pid, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_two_flows),
		cmocka_unit_test(test_udp_two_flows),
		cmocka_unit_test(test_udp_flows_not_serialized),
		cmocka_unit_test(test_tcp_reconnect),
		cmocka_unit_test(test_bad_delay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
