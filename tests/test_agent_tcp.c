/*
 * test_agent_tcp.c — the hvbench-guest binary's TCP front door under abuse: connections that
 * never say hello must not delay a good host (the handshake is served concurrently), a client
 * that trickles its hello one byte a second is cut at the hello deadline, and a second
 * authenticated host gets "busy" while a session runs instead of waiting unanswered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"
#include "testlib.h"

#define TOKEN	 "tcp-test-token-0123456789abcdef"
#define N_IDLE	 100 /* more than the agent keeps waiting for hello: evictions happen too */
#define HELLO_DL 5.0 /* the agent's hello deadline (HB_AGENT_HELLO_TIMEOUT) */

static char g_tmp[PATH_MAX];

struct tcp_agent {
	pid_t pid;
	int err; /* the agent's stderr */
	struct sockaddr_in sa;
};

/* Starts the binary on 127.0.0.1:0 with a token and learns its port from its first line. */
static void start(struct tcp_agent *t)
{
	const char *bin = test_guest_bin();
	char tokfile[PATH_MAX + 16], line[512] = "";
	const char *at;
	size_t n = 0;
	int p[2], fd;

	if (!bin) {
		printf("SKIP: HB_GUEST_BIN not set or not executable\n");
		skip();
	}
	hb_snprintf(tokfile, sizeof(tokfile), "%s/token", g_tmp);
	fd = open(tokfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, TOKEN "\n", strlen(TOKEN) + 1), (ssize_t)strlen(TOKEN) + 1);
	close(fd);
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execl(bin, bin, "--tcp", "127.0.0.1:0", "--token-file", tokfile, "--scratch-dir",
		      g_tmp, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	t->err = p[0];
	while (n + 1 < sizeof(line) && !strchr(line, '\n')) {
		ssize_t r = read(t->err, line + n, 1);
		if (r <= 0)
			break;
		line[++n] = '\0';
	}
	at = strstr(line, "listening on 127.0.0.1:");
	if (!at)
		fail_msg("agent did not listen: %s", line);
	memset(&t->sa, 0, sizeof(t->sa));
	t->sa.sin_family = AF_INET;
	t->sa.sin_port = htons((unsigned short)strtol(at + 23, NULL, 10));
	t->sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(ntohs(t->sa.sin_port) > 0);
}

/* Waits for the agent to exit (killing it after 10 s); returns its exit code. */
static int stop(struct tcp_agent *t)
{
	double deadline = hb_now() + 10;
	int st = 0;

	while (waitpid(t->pid, &st, WNOHANG) == 0) {
		if (hb_now() > deadline) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &st, 0);
			break;
		}
		usleep(10000);
	}
	close(t->err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A connected client socket; nonblock: do not wait for the handshake (idle clients). */
static int dial(const struct tcp_agent *t, int nonblock)
{
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	int rc;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* bounds connect() */
	rc = connect(fd, (const struct sockaddr *)&t->sa, sizeof(t->sa));
	assert_true(rc == 0 || (nonblock && errno == EINPROGRESS));
	return fd;
}

/* Seconds until the peer closes fd (EOF or reset), at most limit; -1 if it stays open. */
static double closed_within(int fd, double limit)
{
	double t0 = hb_now();
	char b[256];

	while (hb_now() - t0 < limit) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 100) > 0) {
			ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				return hb_now() - t0;
		}
	}
	return -1;
}

static void idle_connections_do_not_delay_a_host(void **state)
{
	struct tcp_agent t;
	struct hb_conn c;
	struct hb_err e = {0};
	json_t *h = NULL;
	int idle[N_IDLE], fd, i;
	double t0, took;

	(void)state;
	start(&t);
	for (i = 0; i < N_IDLE; i++)
		idle[i] = dial(&t, 1);
	t0 = hb_now();
	fd = dial(&t, 0);
	hb_conn_init(&c, fd, fd);
	if (hb_agent_hello(&c, TOKEN, 10, &h, &e))
		fail_msg("hello behind %d idle connections: %s", N_IDLE, e.msg);
	took = hb_now() - t0;
	printf("hello reply behind %d idle connections after %.3f s\n", N_IDLE, took);
	assert_true(took < 3.0); /* served one at a time this took 10 s per idle connection */
	json_decref(h);
	/* the idle connections are cut at the hello deadline, not held */
	for (i = 0; i < N_IDLE; i++)
		assert_true(closed_within(idle[i], HELLO_DL + 5) >= 0);
	assert_int_equal(hb_agent_shutdown(&c, 1, 10, &e), 0);
	hb_conn_free(&c);
	close(fd);
	for (i = 0; i < N_IDLE; i++)
		close(idle[i]);
	assert_int_equal(stop(&t), 0);
}

static void slowloris_cut_at_hello_deadline(void **state)
{
	static const char hello[] = "{\"op\":\"hello\",\"proto\":1,\"token\":\"" TOKEN "\"}";
	struct tcp_agent t;
	struct hb_conn c;
	struct hb_err e = {0};
	json_t *h = NULL;
	double t0, cut = -1;
	size_t i;
	int fd, good = -1;

	(void)state;
	memset(&c, 0, sizeof(c));
	start(&t);
	fd = dial(&t, 0);
	t0 = hb_now();
	/* one byte a second: the whole hello would take 60 s; the agent must not wait for it */
	for (i = 0; i < sizeof(hello) - 1 && hb_now() - t0 < 20; i++) {
		double left;
		if (send(fd, hello + i, 1, MSG_NOSIGNAL) != 1) {
			cut = hb_now() - t0;
			break;
		}
		left = closed_within(fd, 1.0);
		if (left >= 0) {
			cut = hb_now() - t0;
			break;
		}
		if (i == 1) {
			/* meanwhile a good host is served at once */
			double g0 = hb_now();
			good = dial(&t, 0);
			hb_conn_init(&c, good, good);
			if (hb_agent_hello(&c, TOKEN, 10, &h, &e))
				fail_msg("hello beside a slow client: %s", e.msg);
			assert_true(hb_now() - g0 < 3.0);
			json_decref(h);
		}
	}
	printf("slow client cut after %.2f s (hello deadline %g s)\n", cut, HELLO_DL);
	assert_true(cut >= HELLO_DL - 0.5);
	assert_true(cut < HELLO_DL + 3.0);
	close(fd);
	assert_true(good >= 0);
	assert_int_equal(hb_agent_shutdown(&c, 1, 10, &e), 0);
	hb_conn_free(&c);
	close(good);
	assert_int_equal(stop(&t), 0);
}

static void second_host_gets_busy(void **state)
{
	struct tcp_agent t;
	struct hb_conn a, b;
	struct hb_err e = {0};
	json_t *h = NULL, *m = NULL;
	double rtt, t0;
	int fa, fb, rc;

	(void)state;
	start(&t);
	fa = dial(&t, 0);
	hb_conn_init(&a, fa, fa);
	if (hb_agent_hello(&a, TOKEN, 10, &h, &e))
		fail_msg("first hello: %s", e.msg);
	json_decref(h);

	/* a second host with the token: told at once, then closed */
	fb = dial(&t, 0);
	hb_conn_init(&b, fb, fb);
	t0 = hb_now();
	assert_int_equal(hb_agent_hello(&b, TOKEN, 10, &h, &e), HB_EIO);
	assert_string_equal(e.msg, "agent: hello refused: busy: another session is running");
	assert_true(hb_now() - t0 < 3.0);
	hb_err_clear(&e);
	assert_int_equal(hb_conn_recv(&b, 10, &m, &e), HB_EIO);
	hb_conn_free(&b);
	close(fb);

	/* without the token it learns nothing, busy or not */
	fb = dial(&t, 0);
	hb_conn_init(&b, fb, fb);
	hb_err_clear(&e);
	assert_int_equal(hb_agent_hello(&b, "wrong-token-0123456789", 10, &h, &e), HB_EINVAL);
	assert_string_equal(e.msg, "agent: hello refused: hello: authentication failed");
	hb_conn_free(&b);
	close(fb);

	/* the first session is untouched */
	hb_err_clear(&e);
	assert_int_equal(hb_agent_ping(&a, 1, 10, &rtt, &e), 0);

	/* once it ends (the host closes), the next host gets a session */
	hb_conn_free(&a);
	close(fa);
	t0 = hb_now();
	for (;;) {
		fb = dial(&t, 0);
		hb_conn_init(&b, fb, fb);
		hb_err_clear(&e);
		rc = hb_agent_hello(&b, TOKEN, 10, &h, &e);
		if (rc == 0 || hb_now() - t0 > 10)
			break;
		/* the agent may not have seen the first session end yet */
		assert_string_equal(e.msg,
				    "agent: hello refused: busy: another session is running");
		hb_conn_free(&b);
		close(fb);
	}
	if (rc)
		fail_msg("hello after the first session ended: %s", e.msg);
	json_decref(h);
	assert_int_equal(hb_agent_shutdown(&b, 1, 10, &e), 0);
	hb_conn_free(&b);
	close(fb);
	assert_int_equal(stop(&t), 0);
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return test_mkdtemp(g_tmp, sizeof(g_tmp), "hb-test-agent-tcp");
}

static int group_teardown(void **state)
{
	(void)state;
	hb_rmtree(g_tmp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(idle_connections_do_not_delay_a_host),
		cmocka_unit_test(slowloris_cut_at_hello_deadline),
		cmocka_unit_test(second_host_gets_busy),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
