/*
 * test_proto_limits.c — the 1 MiB message limit as a peer sees it: a line that passes the
 * limit without a newline is reported as too long, not as "no message within N s".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"

static void oversized_line_named(void **state)
{
	struct hb_conn c;
	struct hb_err e = {0};
	json_t *msg = NULL;
	size_t len = HB_PROTO_MAX + 65536, off = 0;
	char *big = malloc(len);
	int sv[2];
	pid_t pid;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', len);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) { /* the peer: more than 1 MiB, no newline, then silence */
		close(sv[0]);
		while (off < len) {
			ssize_t w = write(sv[1], big + off, len - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		pause();
		_exit(0);
	}
	close(sv[1]);
	hb_conn_init(&c, sv[0], sv[0]);
	assert_int_equal(hb_conn_recv(&c, 2.0, &msg, &e), HB_EPROTO);
	assert_null(msg);
	assert_non_null(strstr(e.msg, "message exceeds 1048576 bytes (1 MiB)"));
	hb_conn_free(&c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(sv[0]);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(oversized_line_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
