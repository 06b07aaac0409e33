/*
 * test_agent.c — the guest agent on the host: the agent serves a socketpair from a forked
 * child and the test talks to it like the host does. Covers hello (capabilities and facts),
 * real cpu and mem runs, every bad-input class (each gets an error reply with the expected
 * code, and the agent keeps serving), ids, tokens, shutdown, the isolated executor (crash,
 * timeout, stop, stdout kept off the protocol) and the hvbench-guest binary (stdio, TCP).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"
#include "testlib.h"

#define TOKEN "test-token-0123456789abcdef"

static char g_tmp[PATH_MAX]; /* per-binary temp dir: parent of the agents' scratch dirs */

struct agent_proc {
	pid_t pid;
	int fd;
	struct hb_conn c;
};

static void reset_fatal_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	size_t i;

	for (i = 0; i < HB_ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL); /* cmocka's handlers must not run in a child */
}

static void start_agent(struct agent_proc *ap, const char *token)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fflush(NULL);
	ap->pid = fork();
	assert_true(ap->pid >= 0);
	if (ap->pid == 0) {
		struct hb_agent_cfg cfg = {.quiet = 1, .scratch_dir = g_tmp, .token = token};
		struct hb_agent a;
		struct hb_err e = {0};
		int rc;

		reset_fatal_signals();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		if (hb_agent_init(&a, &cfg, &e))
			_exit(2);
		rc = hb_agent_serve(&a, sv[1], sv[1], &e);
		hb_agent_free(&a);
		/* exit, not _exit: an asan build then checks the agent for leaks */
		exit(rc == 0 ? 0 : rc == HB_EIO ? 3 : rc == HB_EPROTO ? 4 : 1);
	}
	close(sv[1]);
	ap->fd = sv[0];
	hb_conn_init(&ap->c, ap->fd, ap->fd);
}

/* Closes the host end and reaps the agent (killing it after 10 s); returns its exit code. */
static int stop_agent(struct agent_proc *ap)
{
	double deadline = hb_now() + 10;
	int st = 0;

	hb_conn_free(&ap->c);
	if (ap->fd >= 0)
		close(ap->fd);
	ap->fd = -1;
	while (waitpid(ap->pid, &st, WNOHANG) == 0) {
		if (hb_now() > deadline) {
			kill(ap->pid, SIGKILL);
			waitpid(ap->pid, &st, 0);
			return -1;
		}
		usleep(10000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void send_line(struct agent_proc *ap, const char *line)
{
	size_t n = strlen(line);
	const char *p = line;

	while (n) {
		ssize_t w = write(ap->fd, p, n);
		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
	assert_int_equal(write(ap->fd, "\n", 1), 1);
}

static json_t *recv_reply(struct agent_proc *ap)
{
	struct hb_err e = {0};
	json_t *m = NULL;
	int rc = hb_conn_recv(&ap->c, 30, &m, &e);

	if (rc)
		fail_msg("no reply from the agent: %s", e.msg);
	return m;
}

static json_t *ask(struct agent_proc *ap, const char *line)
{
	send_line(ap, line);
	return recv_reply(ap);
}

/* Sends line; the reply must be an error with code, echoing id (-1: no id), saying needle. */
static void expect_error(struct agent_proc *ap, const char *line, const char *code, long long id,
			 const char *needle)
{
	json_t *r = ask(ap, line);
	const char *op = json_string_value(json_object_get(r, "op"));
	const char *c = json_string_value(json_object_get(r, "code"));
	const char *msg = json_string_value(json_object_get(r, "message"));
	const json_t *rid = json_object_get(r, "id");

	if (!op || strcmp(op, "error") || !c || strcmp(c, code))
		fail_msg("request %.200s: expected error %s, got op=%s code=%s message=%s", line,
			 code, op ? op : "?", c ? c : "-", msg ? msg : "-");
	if (id < 0 && rid)
		fail_msg("request %.200s: error should carry no id", line);
	if (id >= 0 && (!json_is_integer(rid) || json_integer_value(rid) != id))
		fail_msg("request %.200s: error should echo id %lld", line, id);
	if (needle && (!msg || !strstr(msg, needle)))
		fail_msg("request %.200s: message \"%s\" lacks \"%s\"", line, msg ? msg : "",
			 needle);
	json_decref(r);
}

static void hello(struct agent_proc *ap)
{
	json_t *r = ask(ap, "{\"op\":\"hello\",\"proto\":1}");

	assert_string_equal(json_string_value(json_object_get(r, "op")), "hello");
	json_decref(r);
}

static int workload_is_placeholder(const char *name)
{
	const struct hb_workload *w = hb_workload_find(name);

	return !w || !w->help || !strcmp(w->help, "placeholder");
}

/* ---- hello ---- */

static void test_hello_fields(void **state)
{
	struct agent_proc ap;
	struct hb_err e = {0};
	json_t *h = NULL, *facts, *caps, *names, *disk, *p;
	struct utsname u;
	char up[64];
	FILE *f;
	double uptime_now;
	size_t i;
	int found_bs = 0;

	(void)state;
	start_agent(&ap, NULL);
	assert_int_equal(hb_agent_hello(&ap.c, NULL, 10, &h, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(h, "proto")), HB_PROTO_VERSION);
	assert_string_equal(json_string_value(json_object_get(h, "agent")), "hvbench-guest");
	assert_string_equal(json_string_value(json_object_get(h, "version")), HB_VERSION);
	names = json_object_get(h, "workloads");
	for (i = 0; hb_workloads[i]; i++)
		;
	assert_int_equal(json_array_size(names), i); /* every registered workload, in order */
	for (i = 0; hb_workloads[i]; i++)
		assert_string_equal(json_string_value(json_array_get(names, i)),
				    hb_workloads[i]->name);
	caps = json_object_get(h, "capabilities");
	disk = json_object_get(caps, "disk");
	assert_non_null(disk);
	assert_string_equal(json_string_value(json_object_get(disk, "kind")), "disk");
	json_array_foreach (json_object_get(disk, "params"), i, p) {
		if (!strcmp(json_string_value(json_object_get(p, "name")), "bs")) {
			found_bs = 1;
			assert_string_equal(json_string_value(json_object_get(p, "type")), "size");
		}
	}
	assert_int_equal(found_bs, hb_workload_find("disk")->nparams ? 1 : 0);
	assert_true(json_is_boolean(json_object_get(json_object_get(caps, "cpu"), "supported")));
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(h, "limits"), "max_message")),
		HB_PROTO_MAX);

	facts = json_object_get(h, "facts");
	assert_int_equal(uname(&u), 0);
	assert_string_equal(json_string_value(json_object_get(facts, "kernel")), u.release);
	assert_int_equal(json_integer_value(json_object_get(facts, "mem_total_bytes")),
			 hb_meminfo("MemTotal"));
	assert_int_equal(json_integer_value(json_object_get(facts, "vcpus")),
			 sysconf(_SC_NPROCESSORS_ONLN));
	assert_true(strlen(json_string_value(json_object_get(facts, "clocksource"))) > 0);
	f = fopen("/proc/uptime", "r");
	assert_non_null(f);
	assert_non_null(fgets(up, sizeof(up), f));
	fclose(f);
	uptime_now = strtod(up, NULL);
	assert_true(json_real_value(json_object_get(facts, "kernel_boot_s")) > 0);
	assert_true(json_real_value(json_object_get(facts, "kernel_boot_s")) <= uptime_now);
	assert_int_equal(strlen(json_string_value(json_object_get(facts, "agent_started_at"))), 24);
	json_decref(h);
	assert_int_equal(stop_agent(&ap), 3); /* EOF without shutdown */
}

static void test_hello_first_and_version(void **state)
{
	struct agent_proc ap;
	json_t *r;

	(void)state;
	start_agent(&ap, NULL);
	expect_error(&ap, "{\"op\":\"run\",\"id\":1,\"workload\":\"cpu\",\"duration\":1}", "EPROTO",
		     1, "hello first");
	r = ask(&ap, "{\"op\":\"hello\",\"proto\":2}");
	assert_string_equal(json_string_value(json_object_get(r, "op")), "error");
	assert_string_equal(json_string_value(json_object_get(r, "code")), "EPROTO");
	assert_string_equal(json_string_value(json_object_get(r, "message")),
			    "host speaks protocol 2, agent speaks 1");
	assert_int_equal(json_integer_value(json_object_get(r, "proto")), 1);
	json_decref(r);
	expect_error(&ap, "{\"op\":\"hello\",\"proto\":\"1\"}", "EPROTO", -1, "integer");
	/* still not past hello */
	expect_error(&ap, "{\"op\":\"shutdown\",\"id\":2}", "EPROTO", 2, "hello first");
	hello(&ap);
	/* the id refused before hello was not used up */
	r = ask(&ap, "{\"op\":\"shutdown\",\"id\":1}");
	assert_string_equal(json_string_value(json_object_get(r, "op")), "result");
	json_decref(r);
	assert_int_equal(stop_agent(&ap), 0);
}

/* ---- real workloads ---- */

static void test_cpu_run(void **state)
{
	struct agent_proc ap;
	struct hb_err e = {0};
	struct hb_sample s;
	struct hb_run_opts o = {.t = {.duration = 0.3, .ramp = 0, .timeout = 30}};
	const struct hb_metric *m;
	json_t *h = NULL;

	(void)state;
	if (workload_is_placeholder("cpu")) {
		printf("SKIP: bench/wl_cpu.c is still a placeholder\n");
		skip();
	}
	start_agent(&ap, NULL);
	assert_int_equal(hb_agent_hello(&ap.c, NULL, 10, &h, &e), 0);
	json_decref(h);
	if (hb_agent_run(&ap.c, 1, "cpu", NULL, &o, &s, &e))
		fail_msg("cpu run failed: %s", e.msg);
	m = hb_sample_get(&s, "ops");
	assert_non_null(m);
	assert_true(m->value > 0);
	assert_true(m->higher_is_better);
	hb_sample_free(&s);
	assert_int_equal(hb_agent_shutdown(&ap.c, 2, 10, &e), 0);
	assert_int_equal(stop_agent(&ap), 0);
}

static void test_mem_run(void **state)
{
	struct agent_proc ap;
	struct hb_err e = {0};
	struct hb_sample s;
	struct hb_run_opts o = {.t = {.duration = 0.3, .timeout = 60}};
	json_t *h = NULL, *params = json_pack("{s:s, s:s}", "size", "4M", "chase_size", "64k");
	const char *metrics[] = {"copy_bw", "triad_bw", "latency"};
	size_t i;

	(void)state;
	if (workload_is_placeholder("mem")) {
		json_decref(params);
		printf("SKIP: bench/wl_mem.c is still a placeholder\n");
		skip();
	}
	start_agent(&ap, NULL);
	assert_int_equal(hb_agent_hello(&ap.c, NULL, 10, &h, &e), 0);
	json_decref(h);
	if (hb_agent_run(&ap.c, 5, "mem", params, &o, &s, &e))
		fail_msg("mem run failed: %s", e.msg);
	for (i = 0; i < HB_ARRAY_SIZE(metrics); i++) {
		const struct hb_metric *m = hb_sample_get(&s, metrics[i]);
		if (!m)
			fail_msg("mem result lacks metric %s", metrics[i]);
		assert_true(m->value > 0);
	}
	hb_sample_free(&s);
	json_decref(params);
	assert_int_equal(hb_agent_shutdown(&ap.c, 6, 10, &e), 0);
	assert_int_equal(stop_agent(&ap), 0);
}

/* ---- bad input ---- */

static void test_bad_inputs(void **state)
{
	static const struct {
		const char *line, *code;
		long long id;
		const char *needle;
	} cases[] = {
		/* framing and JSON */
		{"not json", "EPROTO", -1, "malformed JSON"},
		{"{\"op\":\"run\",\"id\":3", "EPROTO", -1, "malformed JSON"},
		{"{\"op\":\"\xc3\x28\"}", "EPROTO", -1, "malformed JSON"},
		{"[1,2]", "EPROTO", -1, "not a JSON object"},
		{"{}", "EPROTO", -1, "no \"op\""},
		{"{\"id\":7}", "EPROTO", 7, "no \"op\""},
		{"{\"op\":5,\"id\":8}", "EPROTO", 8, "not a string"},
		{"{\"op\":\"frobnicate\",\"id\":9}", "EPROTO", 9, "unknown op"},
		{"{\"op\":\"run\",\"op\":\"run\",\"id\":10}", "EPROTO", -1, "malformed JSON"},
		{"{\"op\":\"run\",\"id\":11,\"workload\":\"cpu\",\"duration\":NaN}", "EPROTO", -1,
		 "malformed JSON"},
		{"{\"op\":\"run\",\"id\":12,\"workload\":\"cpu\",\"duration\":1e999}", "EPROTO", -1,
		 "malformed JSON"},
		{"{\"op\":\"run\",\"id\":123456789012345678901234567890}", "EPROTO", -1,
		 "malformed JSON"},
		/* ids */
		{"{\"op\":\"run\",\"workload\":\"cpu\",\"duration\":1}", "EINVAL", -1,
		 "\"id\" is required"},
		{"{\"op\":\"run\",\"id\":\"13\",\"workload\":\"cpu\",\"duration\":1}", "EINVAL", -1,
		 "must be an integer"},
		{"{\"op\":\"run\",\"id\":-1,\"workload\":\"cpu\",\"duration\":1}", "EINVAL", -1,
		 "0..9007199254740991"},
		{"{\"op\":\"run\",\"id\":9007199254740992,\"workload\":\"cpu\",\"duration\":1}",
		 "EINVAL", -1, "0..9007199254740991"},
		{"{\"op\":\"run\",\"id\":1.5,\"workload\":\"cpu\",\"duration\":1}", "EINVAL", -1,
		 "must be an integer"},
		/* fields */
		{"{\"op\":\"run\",\"id\":20,\"duration\":1}", "EINVAL", 20, "\"workload\""},
		{"{\"op\":\"run\",\"id\":21,\"workload\":\"cpux\",\"duration\":1}", "EINVAL", 21,
		 "unknown workload \"cpux\" (did you mean \"cpu\"?)"},
		{"{\"op\":\"run\",\"id\":22,\"workload\":[\"cpu\"],\"duration\":1}", "EINVAL", 22,
		 "must be a string"},
		{"{\"op\":\"run\",\"id\":23,\"workload\":\"cpu\"}", "EINVAL", 23,
		 "\"duration\" is required"},
		{"{\"op\":\"run\",\"id\":24,\"workload\":\"cpu\",\"duration\":0}", "EINVAL", 24,
		 "outside"},
		{"{\"op\":\"run\",\"id\":25,\"workload\":\"cpu\",\"duration\":3600.5}", "EINVAL",
		 25, "outside"},
		{"{\"op\":\"run\",\"id\":26,\"workload\":\"cpu\",\"duration\":\"1\"}", "EINVAL", 26,
		 "must be a number"},
		{"{\"op\":\"run\",\"id\":27,\"workload\":\"cpu\",\"duration\":1e308}", "EINVAL", 27,
		 "outside"},
		{"{\"op\":\"run\",\"id\":28,\"workload\":\"cpu\",\"duration\":1,\"ramp\":-1}",
		 "EINVAL", 28, "\"ramp\""},
		{"{\"op\":\"run\",\"id\":29,\"workload\":\"cpu\",\"duration\":1,\"ramp\":601}",
		 "EINVAL", 29, "\"ramp\""},
		{"{\"op\":\"run\",\"id\":30,\"workload\":\"cpu\",\"duration\":1,\"timeout\":7201}",
		 "EINVAL", 30, "\"timeout\""},
		{"{\"op\":\"run\",\"id\":31,\"workload\":\"cpu\",\"duration\":10,\"timeout\":5}",
		 "EINVAL", 31, "shorter than ramp + duration"},
		{"{\"op\":\"run\",\"id\":32,\"workload\":\"cpu\",\"duration\":1,\"timeout\":null}",
		 "EINVAL", 32, "must be a number"},
		{"{\"op\":\"run\",\"id\":33,\"workload\":\"cpu\",\"duration\":1,\"command\":"
		 "\"sh\"}",
		 "EINVAL", 33, "unknown key \"command\""},
		{"{\"op\":\"run\",\"id\":34,\"workload\":\"cpu\",\"duration\":1,\"params\":[1]}",
		 "EINVAL", 34, "must be an object"},
		{"{\"op\":\"run\",\"id\":35,\"workload\":\"cpu\",\"duration\":1,"
		 "\"params\":{\"nosuch\":1}}",
		 "EINVAL", 35, "unknown key \"nosuch\""},
		/* server */
		{"{\"op\":\"run\",\"id\":40,\"workload\":\"cpu\",\"duration\":1,"
		 "\"server\":{\"addr\":\"127.0.0.1\",\"port\":5201}}",
		 "EINVAL", 40, "only valid for net"},
		{"{\"op\":\"run\",\"id\":41,\"workload\":\"net\",\"duration\":1,"
		 "\"server\":{\"addr\":\"example.com\",\"port\":5201}}",
		 "EINVAL", 41, "address literal"},
		{"{\"op\":\"run\",\"id\":42,\"workload\":\"net\",\"duration\":1,"
		 "\"server\":{\"addr\":\"10.0.0.1;reboot\",\"port\":5201}}",
		 "EINVAL", 42, "address literal"},
		{"{\"op\":\"run\",\"id\":43,\"workload\":\"net\",\"duration\":1,"
		 "\"server\":{\"addr\":\"::1\",\"port\":0}}",
		 "EINVAL", 43, "1..65535"},
		{"{\"op\":\"run\",\"id\":44,\"workload\":\"net\",\"duration\":1,"
		 "\"server\":{\"addr\":\"::1\",\"port\":65536}}",
		 "EINVAL", 44, "1..65535"},
		{"{\"op\":\"run\",\"id\":45,\"workload\":\"net\",\"duration\":1,"
		 "\"server\":{\"addr\":\"::1\",\"port\":5201,\"cmd\":\"x\"}}",
		 "EINVAL", 45, "unknown key \"cmd\""},
		{"{\"op\":\"run\",\"id\":46,\"workload\":\"net\",\"duration\":1,\"server\":\"::"
		 "1\"}",
		 "EINVAL", 46, "must be an object"},
		/* duplicate and lower ids (46 was the last one used) */
		{"{\"op\":\"run\",\"id\":46,\"workload\":\"cpu\",\"duration\":1}", "EINVAL", 46,
		 "id 46 already used"},
		{"{\"op\":\"shutdown\",\"id\":3}", "EINVAL", 3, "id 3 already used"},
		{"{\"op\":\"shutdown\"}", "EINVAL", -1, "\"id\" is required"},
	};
	struct agent_proc ap;
	json_t *r;
	size_t i;

	(void)state;
	start_agent(&ap, NULL);
	hello(&ap);
	for (i = 0; i < HB_ARRAY_SIZE(cases); i++)
		expect_error(&ap, cases[i].line, cases[i].code, cases[i].id, cases[i].needle);
	/* still serving: a valid request is answered */
	hello(&ap);
	r = ask(&ap, "{\"op\":\"shutdown\",\"id\":47}");
	assert_string_equal(json_string_value(json_object_get(r, "op")), "result");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 47);
	json_decref(r);
	assert_int_equal(stop_agent(&ap), 0);
}

static void test_disk_path_refused(void **state)
{
	struct agent_proc ap;

	(void)state;
	start_agent(&ap, NULL);
	hello(&ap);
	expect_error(&ap,
		     "{\"op\":\"run\",\"id\":1,\"workload\":\"disk\",\"duration\":1,"
		     "\"params\":{\"filename\":\"/etc/passwd\"}}",
		     "EINVAL", 1, "unknown key \"filename\"");
	expect_error(&ap,
		     "{\"op\":\"run\",\"id\":2,\"workload\":\"disk\",\"duration\":1,"
		     "\"params\":{\"path\":\"/dev/sda\"}}",
		     "EINVAL", 2, "unknown key \"path\"");
	expect_error(&ap,
		     "{\"op\":\"run\",\"id\":3,\"workload\":\"disk\",\"duration\":1,"
		     "\"disk_path\":\"/dev/sda\"}",
		     "EINVAL", 3, "unknown key \"disk_path\"");
	expect_error(&ap,
		     "{\"op\":\"run\",\"id\":4,\"workload\":\"disk\",\"duration\":1,"
		     "\"params\":{\"bs\":\"4k;rm -rf /\"}}",
		     "EINVAL", 4, "\"bs\"");
	assert_int_equal(stop_agent(&ap), 3);
}

struct flood {
	int fd;
	size_t n;
	const char *line;
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	size_t i, len = strlen(f->line);

	for (i = 0; i < f->n; i++) {
		size_t done = 0;
		while (done < len) {
			ssize_t w = write(f->fd, f->line + done, len - done);
			if (w <= 0)
				return NULL;
			done += (size_t)w;
		}
	}
	return NULL;
}

static void test_oversized_and_flood(void **state)
{
	struct agent_proc ap;
	struct flood fl;
	pthread_t th;
	size_t big = 2 * (size_t)HB_PROTO_MAX, i;
	char *line = malloc(big + 1);

	(void)state;
	start_agent(&ap, NULL);
	hello(&ap);
	/* 2 MiB without a newline, then a newline: one EPROTO, nothing else */
	memset(line, 'x', big);
	line[big] = '\0';
	send_line(&ap, line);
	free(line);
	expect_error(&ap, "{\"op\":\"shutdown\",\"id\":\"x\"}", "EPROTO", -1, "discarded");
	/* ...and the request after it got its own answer */
	{
		json_t *r = recv_reply(&ap);
		assert_string_equal(json_string_value(json_object_get(r, "code")), "EINVAL");
		assert_non_null(strstr(json_string_value(json_object_get(r, "message")),
				       "must be an integer"));
		json_decref(r);
	}
	/* a flood of 3000 bad requests written while we read: 3000 replies, in order */
	fl.fd = ap.fd;
	fl.n = 3000;
	fl.line = "{\"op\":\"nope\",\"id\":1}\n";
	assert_int_equal(pthread_create(&th, NULL, flood_main, &fl), 0);
	for (i = 0; i < fl.n; i++) {
		json_t *r = recv_reply(&ap);
		assert_string_equal(json_string_value(json_object_get(r, "code")), "EPROTO");
		json_decref(r);
	}
	pthread_join(th, NULL);
	hello(&ap);
	assert_int_equal(stop_agent(&ap), 3);
}

static void test_oversized_reply_order(void **state)
{
	struct agent_proc ap;
	size_t big = (size_t)HB_PROTO_MAX + 1;
	char *line = malloc(big + 1);
	json_t *r;

	(void)state;
	start_agent(&ap, NULL);
	hello(&ap);
	memset(line, ' ', big);
	line[big] = '\0';
	memcpy(line, "{\"op\":\"run\",\"id\":1,\"pad\":\"", 26);
	send_line(&ap, line);
	free(line);
	r = recv_reply(&ap);
	assert_string_equal(json_string_value(json_object_get(r, "code")), "EPROTO");
	assert_string_equal(json_string_value(json_object_get(r, "message")),
			    "message over 1048576 bytes discarded");
	assert_null(json_object_get(r, "id"));
	json_decref(r);
	/* id 1 was never read, so it is still free */
	r = ask(&ap, "{\"op\":\"shutdown\",\"id\":1}");
	assert_string_equal(json_string_value(json_object_get(r, "op")), "result");
	json_decref(r);
	assert_int_equal(stop_agent(&ap), 0);
}

/* ---- token ---- */

static void test_token(void **state)
{
	static const char *bad[] = {
		"{\"op\":\"hello\",\"proto\":1}",
		"{\"op\":\"hello\",\"proto\":1,\"token\":\"test-token-0123456789abcdeX\"}",
		"{\"op\":\"hello\",\"proto\":1,\"token\":\"test-token\"}",
		"{\"op\":\"hello\",\"proto\":1,\"token\":\"" TOKEN "extra\"}",
		"{\"op\":\"hello\",\"proto\":1,\"token\":42}",
		"{\"op\":\"run\",\"id\":1,\"workload\":\"cpu\",\"duration\":1}",
		"garbage",
	};
	struct agent_proc ap;
	struct hb_err e = {0};
	json_t *h = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < HB_ARRAY_SIZE(bad); i++) {
		json_t *r, *m = NULL;
		char *txt;
		start_agent(&ap, TOKEN);
		r = ask(&ap, bad[i]);
		assert_string_equal(json_string_value(json_object_get(r, "op")), "error");
		txt = json_dumps(r, 0);
		assert_null(strstr(txt, "test-token")); /* never echo the secret */
		free(txt);
		json_decref(r);
		/* and the connection is closed */
		hb_err_clear(&e);
		assert_int_equal(hb_conn_recv(&ap.c, 10, &m, &e), HB_EIO);
		assert_int_equal(stop_agent(&ap), 4);
	}
	start_agent(&ap, TOKEN);
	assert_int_equal(hb_agent_hello(&ap.c, TOKEN, 10, &h, &e), 0);
	json_decref(h);
	assert_int_equal(hb_agent_shutdown(&ap.c, 1, 10, &e), 0);
	assert_int_equal(stop_agent(&ap), 0);
	assert_int_equal(hb_agent_token_ok(TOKEN, TOKEN), 1);
	assert_int_equal(hb_agent_token_ok("", TOKEN), 0);
	assert_int_equal(hb_agent_token_ok(TOKEN "x", TOKEN), 0);
}

static void test_shutdown_cleans_scratch(void **state)
{
	struct agent_proc ap;
	struct hb_err e = {0};
	json_t *h = NULL;
	char path[PATH_MAX + 32];
	int entries = 0;
	DIR *d;
	struct dirent *de;

	(void)state;
	start_agent(&ap, NULL);
	assert_int_equal(hb_agent_hello(&ap.c, NULL, 10, &h, &e), 0);
	json_decref(h);
	assert_int_equal(hb_agent_shutdown(&ap.c, 100, 10, &e), 0);
	assert_int_equal(stop_agent(&ap), 0);
	d = opendir(g_tmp);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			fprintf(stderr, "left in %s: %s\n", g_tmp, de->d_name);
			entries++;
		}
	closedir(d);
	assert_int_equal(entries, 0);
	(void)path;
}

/* ---- the executor ---- */

static int g_pids[2] = {-1, -1}; /* pipe the test workloads report their pids through */

static int wl_ok_run(const struct hb_wl_ctx *ctx, const json_t *params, struct hb_sample *out,
		     struct hb_err *e)
{
	/* stdout must not reach the protocol stream */
	fputs("{\"op\":\"result\",\"id\":999}\n", stdout);
	fflush(stdout);
	hb_sample_add(out, "x", "units", 1, 42.5);
	hb_sample_info(out, "param", json_integer(hb_param_int(params, "n")));
	hb_sample_info(out, "duration", json_real(ctx->duration));
	return 0;
}

static int wl_fail_run(const struct hb_wl_ctx *ctx, const json_t *params, struct hb_sample *out,
		       struct hb_err *e)
{
	return hb_err_set(e, HB_EIO, "disk full on scratch");
}

static int wl_crash_run(const struct hb_wl_ctx *ctx, const json_t *params, struct hb_sample *out,
			struct hb_err *e)
{
	raise(SIGSEGV);
	return 0;
}

static int wl_hang_run(const struct hb_wl_ctx *ctx, const json_t *params, struct hb_sample *out,
		       struct hb_err *e)
{
	pid_t me = getpid(), kid = fork();

	if (kid == 0) {
		pid_t self = getpid();
		if (write(g_pids[1], &self, sizeof(self)) < 0)
			_exit(1);
		sleep(60);
		_exit(0);
	}
	if (write(g_pids[1], &me, sizeof(me)) < 0)
		return HB_EIO;
	sleep(60);
	return 0;
}

static const struct hb_param test_params[] = {
	{"n", HB_P_INT, 0, 10, "3", NULL, "a number"},
};
static const struct hb_workload wl_ok = {
	.name = "t-ok", .kind = "cpu", .run = wl_ok_run, .params = test_params, .nparams = 1};
static const struct hb_workload wl_fail = {.name = "t-fail", .kind = "cpu", .run = wl_fail_run};
static const struct hb_workload wl_crash = {.name = "t-crash", .kind = "cpu", .run = wl_crash_run};
static const struct hb_workload wl_hang = {.name = "t-hang", .kind = "cpu", .run = wl_hang_run};

static void test_exec_ok_keeps_stdout_clean(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.5, .timeout = 10, .scratch_dir = g_tmp};
	struct hb_sample s;
	struct hb_err e = {0};
	json_t *params = NULL;
	int p[2], saved = dup(1), rc;
	char buf[256];
	ssize_t n;

	(void)state;
	assert_int_equal(hb_params_validate(test_params, 1, NULL, "t", &params, &e), 0);
	fflush(stdout);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	dup2(p[1], 1); /* as if the protocol ran over our stdout */
	rc = hb_agent_exec(&wl_ok, params, &ctx, NULL, 0, &s, &e);
	dup2(saved, 1);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf));
	close(p[0]);
	assert_int_equal(rc, 0);
	assert_true(n <= 0); /* nothing reached "stdout" */
	assert_int_equal(s.n, 1);
	assert_true(hb_sample_get(&s, "x")->value == 42.5);
	assert_int_equal(json_integer_value(json_object_get(s.info, "param")), 3);
	assert_true(json_real_value(json_object_get(s.info, "duration")) == 0.5);
	hb_sample_free(&s);
	json_decref(params);
}

static void test_exec_failure_keeps_code(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 1, .timeout = 10, .scratch_dir = g_tmp};
	struct hb_sample s;
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(hb_agent_exec(&wl_fail, NULL, &ctx, NULL, 0, &s, &e), HB_EIO);
	assert_string_equal(e.msg, "disk full on scratch");
	assert_int_equal(s.n, 0);
}

static void test_exec_crash(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 1, .timeout = 10, .scratch_dir = g_tmp};
	struct hb_sample s;
	struct hb_err e = {0};

	(void)state;
	assert_int_equal(hb_agent_exec(&wl_crash, NULL, &ctx, NULL, 0, &s, &e), HB_ECHILD);
	assert_non_null(strstr(e.msg, "t-crash: workload process crashed (signal 11"));
}

static int gone(pid_t pid)
{
	char path[64], st[512];
	FILE *f;
	char *rp;

	if (kill(pid, 0) && errno == ESRCH)
		return 1;
	hb_snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	rp = fgets(st, sizeof(st), f);
	fclose(f);
	rp = rp ? strrchr(st, ')') : NULL;
	return rp && rp[2] == 'Z'; /* a zombie waiting for init is dead */
}

static void test_exec_timeout_kills_group(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.1, .timeout = 0.5, .scratch_dir = g_tmp};
	struct hb_sample s;
	struct hb_err e = {0};
	pid_t pids[2];
	double t0 = hb_now(), dt;
	int i;

	(void)state;
	assert_int_equal(pipe(g_pids), 0);
	assert_int_equal(hb_agent_exec(&wl_hang, NULL, &ctx, NULL, 0, &s, &e), HB_ETIMEDOUT);
	dt = hb_now() - t0;
	assert_true(dt >= 0.45);
	assert_true(dt < 5.0);
	assert_string_equal(e.msg, "t-hang: no result within 0.5 s; workload killed");
	close(g_pids[1]);
	assert_int_equal(read(g_pids[0], pids, sizeof(pids)), sizeof(pids));
	close(g_pids[0]);
	for (i = 0; i < 2; i++) {
		double deadline = hb_now() + 3;
		while (!gone(pids[i]) && hb_now() < deadline)
			usleep(10000);
		if (!gone(pids[i]))
			fail_msg("process %d of the timed-out workload survived", (int)pids[i]);
	}
}

static volatile sig_atomic_t g_stop_flag;

static void *set_stop(void *arg)
{
	(void)arg;
	usleep(300000);
	g_stop_flag = 1;
	return NULL;
}

static void test_exec_stop(void **state)
{
	struct hb_wl_ctx ctx = {
		.duration = 1, .timeout = 30, .scratch_dir = g_tmp, .stop = &g_stop_flag};
	struct hb_sample s;
	struct hb_err e = {0};
	pthread_t th;
	double t0 = hb_now();

	(void)state;
	assert_int_equal(pipe(g_pids), 0);
	g_stop_flag = 0;
	assert_int_equal(pthread_create(&th, NULL, set_stop, NULL), 0);
	assert_int_equal(hb_agent_exec(&wl_hang, NULL, &ctx, NULL, 0, &s, &e), HB_EINTR);
	assert_true(hb_now() - t0 < 5.0);
	pthread_join(th, NULL);
	close(g_pids[0]);
	close(g_pids[1]);
}

/* ---- the binary ---- */

static void test_binary_stdio(void **state)
{
	const char *bin = test_guest_bin();
	struct agent_proc ap;
	struct hb_err e = {0};
	json_t *h = NULL;
	int sv[2];

	(void)state;
	if (!bin) {
		printf("SKIP: HB_GUEST_BIN not set or not executable\n");
		skip();
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ap.pid = fork();
	if (ap.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		close(sv[0]);
		close(sv[1]);
		execl(bin, bin, "--stdio", "--quiet", "--scratch-dir", g_tmp, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ap.fd = sv[0];
	hb_conn_init(&ap.c, ap.fd, ap.fd);
	if (hb_agent_hello(&ap.c, NULL, 10, &h, &e))
		fail_msg("hello: %s", e.msg);
	assert_string_equal(json_string_value(json_object_get(h, "agent")), "hvbench-guest");
	json_decref(h);
	expect_error(&ap, "{\"op\":\"run\",\"id\":1,\"workload\":\"nope\",\"duration\":1}",
		     "EINVAL", 1, "unknown workload");
	assert_int_equal(hb_agent_shutdown(&ap.c, 2, 10, &e), 0);
	assert_int_equal(stop_agent(&ap), 0);
}

static int count_scratch_dirs(void)
{
	DIR *d = opendir(g_tmp);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "hvbench-guest.", 14))
			n++;
	closedir(d);
	return n;
}

static void test_binary_sigterm(void **state)
{
	const char *bin = test_guest_bin();
	struct agent_proc ap;
	struct hb_err e = {0};
	json_t *h = NULL;
	int sv[2], code;
	double t0;

	(void)state;
	if (!bin) {
		printf("SKIP: HB_GUEST_BIN not set or not executable\n");
		skip();
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fflush(NULL);
	ap.pid = fork();
	if (ap.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		close(sv[0]);
		close(sv[1]);
		execl(bin, bin, "--stdio", "--quiet", "--scratch-dir", g_tmp, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ap.fd = sv[0];
	hb_conn_init(&ap.c, ap.fd, ap.fd);
	if (hb_agent_hello(&ap.c, NULL, 10, &h, &e))
		fail_msg("hello: %s", e.msg);
	json_decref(h);
	assert_int_equal(count_scratch_dirs(), 1);
	t0 = hb_now();
	kill(ap.pid, SIGTERM);
	/* the connection stays open: the signal alone must end the agent */
	{
		int st = 0;
		while (waitpid(ap.pid, &st, WNOHANG) == 0 && hb_now() - t0 < 5)
			usleep(10000);
		code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	assert_true(hb_now() - t0 < 5);
	assert_int_equal(code, 1);
	assert_int_equal(count_scratch_dirs(), 0); /* its private directory is gone */
	hb_conn_free(&ap.c);
	close(ap.fd);
}

/* Runs the binary with args; returns its exit code, stderr in err. */
static int run_bin(const char *const *args, char *err, size_t len)
{
	int p[2], st = 0;
	pid_t pid;
	size_t n = 0;
	ssize_t r;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < len && (r = read(p[0], err + n, len - n - 1)) > 0)
		n += (size_t)r;
	err[n] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_binary_options(void **state)
{
	const char *bin = test_guest_bin();
	char err[4096];

	(void)state;
	if (!bin) {
		printf("SKIP: HB_GUEST_BIN not set or not executable\n");
		skip();
	}
	{
		const char *a[] = {bin, "--tcp", "0.0.0.0:0", NULL};
		assert_int_equal(run_bin(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "refusing to listen on a non-loopback address without "
					    "--token-file"));
	}
	{
		const char *a[] = {bin, "--tcp", "localhost:80", NULL};
		assert_int_equal(run_bin(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "expected ADDR:PORT"));
	}
	{
		const char *a[] = {bin, NULL};
		assert_int_equal(run_bin(a, err, sizeof(err)), 2);
		assert_non_null(strstr(err, "choose exactly one"));
	}
	{
		const char *a[] = {bin, "--stdio", "--disk", "/nonexistent/disk", NULL};
		assert_int_equal(run_bin(a, err, sizeof(err)), 2);
		assert_non_null(strstr(err, "--disk /nonexistent/disk"));
	}
	{
		const char *a[] = {bin, "--virtio-serial", "org.hvbench.none", "--wait", "0.2",
				   NULL};
		assert_int_equal(run_bin(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "no virtio-serial port named \"org.hvbench.none\""));
	}
}

static void test_binary_tcp_token(void **state)
{
	const char *bin = test_guest_bin();
	char tokfile[PATH_MAX + 16], err[4096];
	int p[2], fd, port = 0, st;
	size_t n = 0;
	pid_t pid;
	struct sockaddr_in sa;
	struct agent_proc ap;
	struct hb_err e = {0};
	json_t *h = NULL, *m = NULL;
	const char *at;

	(void)state;
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
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execl(bin, bin, "--tcp", "127.0.0.1:0", "--token-file", tokfile, "--scratch-dir",
		      g_tmp, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* "hvbench-guest: listening on 127.0.0.1:PORT (token required)" */
	while (n + 1 < sizeof(err) && !strchr(err, '\n')) {
		ssize_t r = read(p[0], err + n, 1);
		if (r <= 0)
			break;
		n++;
		err[n] = '\0';
	}
	at = strstr(err, "listening on 127.0.0.1:");
	if (!at) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("agent did not listen: %s", err);
	}
	port = (int)strtol(at + strlen("listening on 127.0.0.1:"), NULL, 10);
	assert_true(port > 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* wrong token: refused, connection closed, the secret not echoed */
	ap.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(ap.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	hb_conn_init(&ap.c, ap.fd, ap.fd);
	assert_int_equal(hb_agent_hello(&ap.c, "wrong-token", 10, &h, &e), HB_EINVAL);
	assert_string_equal(e.msg, "agent: hello refused: hello: authentication failed");
	hb_err_clear(&e);
	assert_int_equal(hb_conn_recv(&ap.c, 10, &m, &e), HB_EIO);
	hb_conn_free(&ap.c);
	close(ap.fd);

	/* right token: served, then shutdown ends the agent */
	ap.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(ap.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	hb_conn_init(&ap.c, ap.fd, ap.fd);
	hb_err_clear(&e);
	if (hb_agent_hello(&ap.c, TOKEN, 10, &h, &e))
		fail_msg("hello: %s", e.msg);
	json_decref(h);
	assert_int_equal(hb_agent_shutdown(&ap.c, 1, 10, &e), 0);
	ap.pid = pid;
	assert_int_equal(stop_agent(&ap), 0);
	/* nothing the agent printed contains the token */
	while (n + 1 < sizeof(err)) {
		ssize_t r = read(p[0], err + n, sizeof(err) - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	err[n] = '\0';
	close(p[0]);
	assert_null(strstr(err, TOKEN));
	unlink(tokfile);
}

/* Range errors name a closed interval: "(0, 3600]" (open below), "[0, 600]". */
static void test_range_messages(void **state)
{
	static const struct {
		const char *req, *msg;
	} cases[] = {
		{"{\"workload\":\"cpu\",\"duration\":0}",
		 "run: \"duration\" is 0, outside (0, 3600]"},
		{"{\"workload\":\"cpu\",\"duration\":3600.5}",
		 "run: \"duration\" is 3600.5, outside (0, 3600]"},
		{"{\"workload\":\"cpu\",\"duration\":1,\"ramp\":601}",
		 "run: \"ramp\" is 601, outside [0, 600]"},
		{"{\"workload\":\"cpu\",\"duration\":1,\"timeout\":0}",
		 "run: \"timeout\" is 0, outside (0, 7200]"},
	};

	(void)state;
	for (size_t i = 0; i < HB_ARRAY_SIZE(cases); i++) {
		json_t *m = json_loads(cases[i].req, 0, NULL);
		struct hb_agent_req req;
		struct hb_err e = {0};

		assert_non_null(m);
		assert_int_equal(hb_agent_decode_run(m, &req, &e), HB_EINVAL);
		assert_string_equal(e.msg, cases[i].msg);
		hb_agent_req_free(&req);
		json_decref(m);
	}
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return test_mkdtemp(g_tmp, sizeof(g_tmp), "hb-test-agent");
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
		cmocka_unit_test(test_hello_fields),
		cmocka_unit_test(test_hello_first_and_version),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_range_messages),
		cmocka_unit_test(test_disk_path_refused),
		cmocka_unit_test(test_oversized_and_flood),
		cmocka_unit_test(test_oversized_reply_order),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_shutdown_cleans_scratch),
		cmocka_unit_test(test_exec_ok_keeps_stdout_clean),
		cmocka_unit_test(test_exec_failure_keeps_code),
		cmocka_unit_test(test_exec_crash),
		cmocka_unit_test(test_exec_timeout_kills_group),
		cmocka_unit_test(test_exec_stop),
		cmocka_unit_test(test_cpu_run),
		cmocka_unit_test(test_mem_run),
		cmocka_unit_test(test_binary_stdio),
		cmocka_unit_test(test_binary_options),
		cmocka_unit_test(test_binary_sigterm),
		cmocka_unit_test(test_binary_tcp_token),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
