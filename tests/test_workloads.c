/*
 * test_workloads.c — runs each workload for real with tiny durations (disk: 1 s on a 4 MiB
 * scratch file through fio; net: 1 s of libiperf; mem: small buffers; cpu: 0.3 s) and checks the
 * metric names, units, directions and that values are positive — never speed. Also: the
 * parameter validator's "did you mean", hard timeouts that leave no child behind, the stop flag,
 * and clear errors for a missing fio and an iperf server that refuses or does not answer.
 *
 * Driver mode (used by tools/crosscheck.sh until `hvbench run` exists): with HB_WL_RUN=<workload>
 * set, runs that workload once (HB_WL_PARAMS: JSON object, HB_WL_DURATION, HB_WL_RAMP,
 * HB_WL_SCRATCH, HB_WL_SERVER=addr:port) and prints the sample as JSON on stdout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "hb.h"
#include "metric.h"
#include "workload.h"

struct want {
	const char *name, *unit;
	int hib;
};

static void check_sample(const struct hb_sample *s, const struct want *w, size_t n)
{
	size_t i;

	if ((size_t)s->n != n)
		fail_msg("expected %zu metrics, got %d", n, s->n);
	for (i = 0; i < n; i++) {
		const struct hb_metric *m = hb_sample_get(s, w[i].name);
		if (!m)
			fail_msg("metric %s missing", w[i].name);
		if (strcmp(m->unit, w[i].unit) || m->higher_is_better != w[i].hib)
			fail_msg("metric %s: unit %s hib %d, expected %s %d", w[i].name, m->unit,
				 m->higher_is_better, w[i].unit, w[i].hib);
		if (!(m->value > 0) && strcmp(w[i].name, "retransmits"))
			fail_msg("metric %s = %g, expected > 0", w[i].name, m->value);
		if (!strcmp(w[i].name, "retransmits") && m->value < 0)
			fail_msg("retransmits = %g", m->value);
	}
}

static json_t *params_for(const struct hb_workload *wl, const char *json)
{
	json_t *in = json ? json_loads(json, 0, NULL) : NULL, *out = NULL;
	struct hb_err e;

	hb_err_clear(&e);
	if (hb_params_validate(wl->params, wl->nparams, in, "test", &out, &e))
		fail_msg("params: %s", e.msg);
	json_decref(in);
	return out;
}

static int run_wl(const char *name, const char *params, struct hb_wl_ctx *ctx, struct hb_sample *s,
		  struct hb_err *e)
{
	const struct hb_workload *wl = hb_workload_find(name);
	json_t *p;
	int rc;

	assert_non_null(wl);
	p = params_for(wl, params);
	hb_sample_init(s);
	hb_err_clear(e);
	rc = wl->run(ctx, p, s, e);
	json_decref(p);
	return rc;
}

/* Live (non-zombie) processes whose parent is us: with CHILD_SUBREAPER set in main, any
 * orphaned descendant (e.g. a fio job process whose fio died) is reparented to us. Reaps
 * zombies on the way. */
static int live_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	while (d && (de = readdir(d))) {
		char path[300], buf[512], *p;
		int ppid;
		char st;
		FILE *f;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %c %d", &st, &ppid) == 2 && ppid == getpid() && st != 'Z') {
			fprintf(stderr, "live child: %s", buf);
			n++;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

static char scratch[64];

static int have_fio(void)
{
	char why[128];
	return hb_workload_find("disk")->supported(why, sizeof(why)) == 0;
}

#define NEED_FIO()                                                                                 \
	do {                                                                                       \
		if (!have_fio()) {                                                                 \
			printf("SKIP: fio not installed\n");                                       \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static const struct want disk_metrics[] = {
	{"iops", "IOPS", 1},	 {"bw", "MiB/s", 1},	 {"clat_p50", "us", 0},
	{"clat_p99", "us", 0},	 {"clat_p999", "us", 0}, {"fio_usr_cpu", "%", 0},
	{"fio_sys_cpu", "%", 0},
};

static void test_disk_scratch_file(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 1, .ramp = 0, .timeout = 30, .scratch_dir = scratch};
	struct hb_sample s;
	struct hb_err e;
	const char *path;

	NEED_FIO();
	if (run_wl("disk", "{\"size\":\"4M\"}", &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_sample(&s, disk_metrics, HB_ARRAY_SIZE(disk_metrics));
	path = json_string_value(json_object_get(s.info, "path"));
	assert_non_null(path);
	assert_true(strncmp(path, scratch, strlen(scratch)) == 0);
	assert_string_equal(json_string_value(json_object_get(s.info, "target")), "scratch-file");
	assert_non_null(strstr(json_string_value(json_object_get(s.info, "job")), "rw=randread\n"));
	assert_string_equal(json_string_value(json_object_get(s.info, "latency_from")), "read");
	assert_int_equal(dir_entries(scratch), 0); /* scratch file removed */
	hb_sample_free(&s);
}

/* The guest case: a path the suite created is used as is and never deleted. */
static void test_disk_given_path_kept(void **state)
{
	char path[128];
	struct hb_wl_ctx ctx = {.duration = 1, .timeout = 30, .disk_path = path};
	struct hb_sample s;
	struct hb_err e;
	struct stat st;
	int fd;

	NEED_FIO();
	snprintf(path, sizeof(path), "%s/disk.img", scratch);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 << 20), 0);
	close(fd);
	if (run_wl("disk",
		   "{\"size\":\"4M\",\"rw\":\"randwrite\",\"ioengine\":\"psync\","
		   "\"iodepth\":1}",
		   &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_sample(&s, disk_metrics, HB_ARRAY_SIZE(disk_metrics));
	assert_string_equal(json_string_value(json_object_get(s.info, "target")), "device");
	assert_string_equal(json_string_value(json_object_get(s.info, "latency_from")), "write");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4 << 20);
	unlink(path);
	hb_sample_free(&s);
}

/* fio would unlink and re-create a file smaller than size=: refused before fio runs. */
static void test_disk_given_path_too_small(void **state)
{
	char path[128];
	struct hb_wl_ctx ctx = {.duration = 1, .timeout = 30, .disk_path = path};
	struct hb_sample s;
	struct hb_err e;
	struct stat st, st2;
	char want[300];
	int fd;

	snprintf(path, sizeof(path), "%s/small.img", scratch);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(run_wl("disk", "{\"size\":\"4M\"}", &ctx, &s, &e), HB_EINVAL);
	snprintf(want, sizeof(want),
		 "disk: %s has 1048576 bytes, less than the job's size 4194304; lower \"size\" or "
		 "give a larger disk",
		 path);
	assert_string_equal(e.msg, want);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st.st_ino == st2.st_ino && st2.st_size == 1 << 20);
	unlink(path);
	ctx.disk_path = "/dev/null";
	assert_int_equal(run_wl("disk", NULL, &ctx, &s, &e), HB_EINVAL);
	assert_string_equal(e.msg, "disk: /dev/null is neither a regular file nor a block device");
}

static void test_disk_timeout_kills_fio(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 5, .timeout = 1.0, .scratch_dir = scratch};
	struct hb_sample s;
	struct hb_err e;
	double t0 = hb_now(), took;

	NEED_FIO();
	assert_int_equal(run_wl("disk", "{\"size\":\"4M\"}", &ctx, &s, &e), HB_ETIMEDOUT);
	took = hb_now() - t0;
	assert_true(took >= 1.0 && took < 4.0);
	assert_non_null(strstr(e.msg, "disk: fio did not finish within the 1.0 s timeout"));
	assert_int_equal(s.n, 0);
	assert_int_equal(live_children(), 0);
	assert_int_equal(dir_entries(scratch), 0);
	hb_sample_free(&s);
}

static void test_disk_stop_flag(void **state)
{
	volatile sig_atomic_t stop = 1;
	struct hb_wl_ctx ctx = {
		.duration = 5, .timeout = 30, .scratch_dir = scratch, .stop = &stop};
	struct hb_sample s;
	struct hb_err e;
	double t0 = hb_now();

	NEED_FIO();
	assert_int_equal(run_wl("disk", "{\"size\":\"4M\"}", &ctx, &s, &e), HB_EINTR);
	assert_true(hb_now() - t0 < 2.0);
	assert_int_equal(live_children(), 0);
	assert_int_equal(dir_entries(scratch), 0);
}

static void test_disk_fio_missing(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 1,
				.timeout = 10,
				.scratch_dir = scratch,
				.fio_path = "/nonexistent/fio"};
	struct hb_sample s;
	struct hb_err e;

	assert_int_equal(run_wl("disk", "{\"size\":\"4M\"}", &ctx, &s, &e), HB_ECHILD);
	assert_non_null(strstr(e.msg, "disk: fio failed (exit status 127)"));
	assert_non_null(strstr(e.msg, "cannot run /nonexistent/fio: No such file or directory"));
	assert_int_equal(dir_entries(scratch), 0);
}

static void test_disk_bad_rw_did_you_mean(void **state)
{
	const struct hb_workload *wl = hb_workload_find("disk");
	json_t *in = json_pack("{s:s}", "rw", "randreed"), *out = NULL;
	struct hb_err e;

	hb_err_clear(&e);
	assert_int_equal(
		hb_params_validate(wl->params, wl->nparams, in, "profile: disk-randread", &out, &e),
		HB_EINVAL);
	assert_null(out);
	assert_string_equal(e.msg,
			    "profile: disk-randread: \"rw\" is \"randreed\"; expected one of: "
			    "randread, randwrite, read, write, randrw (did you mean "
			    "\"randread\"?)");
	json_decref(in);
	in = json_pack("{s:s}", "ioengine", "io-uring");
	hb_err_clear(&e);
	assert_int_equal(hb_params_validate(wl->params, wl->nparams, in, "x", &out, &e), HB_EINVAL);
	assert_non_null(strstr(e.msg, "(did you mean \"io_uring\"?)"));
	json_decref(in);
}

static void test_all_defaults_validate(void **state)
{
	size_t i;

	for (i = 0; hb_workloads[i]; i++) {
		json_t *p = params_for(hb_workloads[i], NULL);
		assert_int_equal(json_object_size(p), hb_workloads[i]->nparams);
		json_decref(p);
	}
	{
		json_t *p = params_for(hb_workload_find("disk"), NULL);
		assert_string_equal(hb_param_str(p, "rw"), "randread");
		assert_int_equal(hb_param_int(p, "bs"), 4096);
		assert_int_equal(hb_param_int(p, "iodepth"), 32);
		assert_string_equal(hb_param_str(p, "ioengine"), "libaio");
		json_decref(p);
	}
}

static const struct want net_metrics[] = {
	{"throughput", "Gbit/s", 1},
	{"retransmits", "count", 0},
	{"sender_cpu", "%", 0},
	{"receiver_cpu", "%", 0},
};

static void test_net_own_path(void **state)
{
	/* planned 0.6 s + 0.4 s ramp; libiperf runs whole seconds: 1 s + 0 s omit */
	struct hb_wl_ctx ctx = {.duration = 0.6, .ramp = 0.4, .timeout = 30};
	struct hb_sample s;
	struct hb_err e;
	char ns[64];
	const char *path;

	if (run_wl("net", "{\"direction\":\"recv\",\"streams\":2}", &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_sample(&s, net_metrics, HB_ARRAY_SIZE(net_metrics));
	/* the interval that really ran, not the planned one */
	assert_true(s.measured_s == 1.0);
	assert_true(s.active_s == 1.0);
	path = json_string_value(json_object_get(s.info, "path"));
	assert_non_null(path);
	if (geteuid() == 0 && access("/usr/sbin/ip", X_OK) == 0 && access("/run/netns", F_OK) == 0)
		assert_string_equal(path, "veth-netns");
	else
		assert_true(!strcmp(path, "loopback") || !strcmp(path, "veth-netns"));
	assert_string_equal(json_string_value(json_object_get(s.info, "direction")), "recv");
	assert_int_equal(json_integer_value(json_object_get(s.info, "streams")), 2);
	snprintf(ns, sizeof(ns), "/run/netns/hb-%d-s", (int)getpid());
	assert_int_equal(access(ns, F_OK), -1);
	snprintf(ns, sizeof(ns), "/run/netns/hb-%d-c", (int)getpid());
	assert_int_equal(access(ns, F_OK), -1);
	assert_int_equal(live_children(), 0);
	hb_sample_free(&s);
}

/* Without `ip` (PATH emptied) no namespace can be made: loopback, said so in info. */
static void test_net_loopback_fallback(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 1, .timeout = 30};
	struct hb_sample s;
	struct hb_err e;
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin");
	int rc;

	setenv("PATH", "/nonexistent", 1);
	rc = run_wl("net", NULL, &ctx, &s, &e);
	setenv("PATH", path, 1);
	free(path);
	if (rc)
		fail_msg("%s", e.msg);
	check_sample(&s, net_metrics, HB_ARRAY_SIZE(net_metrics));
	assert_string_equal(json_string_value(json_object_get(s.info, "path")), "loopback");
	assert_non_null(json_string_value(json_object_get(s.info, "path_reason")));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(s.info, "server"), "addr")),
		"127.0.0.1");
	assert_int_equal(live_children(), 0);
	hb_sample_free(&s);
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

static void test_net_server_refuses(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 1, .timeout = 10, .server_addr = "127.0.0.1"};
	struct hb_sample s;
	struct hb_err e;
	char want[160];
	int fd;

	ctx.server_port = bound_port(&fd);
	assert_int_equal(run_wl("net", NULL, &ctx, &s, &e), HB_EIO);
	snprintf(want, sizeof(want),
		 "net: test against 127.0.0.1:%d: iperf3: unable to connect to server: Connection "
		 "refused",
		 ctx.server_port);
	assert_string_equal(e.msg, want);
	assert_non_null(strstr(e.msg, "iperf3: unable to connect to server: Connection refused"));
	assert_int_equal(s.n, 0);
	assert_int_equal(live_children(), 0);
	close(fd);
}

/* A "server" that accepts connections but never speaks: the deadline must end the run. */
static void test_net_server_silent(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 1, .timeout = 2.0, .server_addr = "127.0.0.1"};
	struct hb_sample s;
	struct hb_err e;
	double t0 = hb_now();
	char want[160];
	int fd;

	ctx.server_port = bound_port(&fd);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(run_wl("net", NULL, &ctx, &s, &e), HB_ETIMEDOUT);
	assert_true(hb_now() - t0 < 5.0);
	snprintf(want, sizeof(want),
		 "net (timeout 2.0 s): iperf3 client to 127.0.0.1:%d did not finish before the "
		 "deadline, killed it",
		 ctx.server_port);
	assert_string_equal(e.msg, want);
	assert_int_equal(live_children(), 0);
	close(fd);
}

static void test_mem_small(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.3, .timeout = 30};
	struct hb_sample s;
	struct hb_err e;
	static const struct want w[] = {
		{"copy_bw", "GiB/s", 1}, {"triad_bw", "GiB/s", 1}, {"latency", "ns", 0}};

	if (run_wl("mem", "{\"size\":\"12M\",\"chase_size\":\"1M\"}", &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_sample(&s, w, HB_ARRAY_SIZE(w));
	assert_int_equal(json_integer_value(json_object_get(s.info, "array_bytes")), 4 << 20);
	assert_int_equal(json_integer_value(json_object_get(s.info, "chase_bytes")), 1 << 20);
	assert_true(json_integer_value(json_object_get(s.info, "copy_passes")) >= 1);
	hb_sample_free(&s);
}

static void test_mem_timeout(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 3, .timeout = 0.3};
	struct hb_sample s;
	struct hb_err e;
	double t0 = hb_now();

	assert_int_equal(run_wl("mem", "{\"size\":\"12M\",\"chase_size\":\"1M\"}", &ctx, &s, &e),
			 HB_ETIMEDOUT);
	assert_true(hb_now() - t0 < 1.5);
	assert_non_null(strstr(e.msg, "mem: run exceeded its 0.3 s timeout"));
}

static void test_cpu(void **state)
{
	struct hb_wl_ctx ctx = {.duration = 0.3, .timeout = 10};
	struct hb_sample s;
	struct hb_err e;
	static const struct want w[] = {{"ops", "ops/s", 1}};
	double t0 = hb_now();

	if (run_wl("cpu", NULL, &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_sample(&s, w, 1);
	assert_true(hb_now() - t0 < 1.5);
	assert_int_equal(json_integer_value(json_object_get(s.info, "threads")), 1);
	hb_sample_free(&s);
	if (run_wl("cpu", "{\"threads\":2}", &ctx, &s, &e))
		fail_msg("%s", e.msg);
	check_sample(&s, w, 1);
	assert_int_equal(json_integer_value(json_object_get(s.info, "threads")), 2);
	hb_sample_free(&s);
}

static void test_cpu_timeout_and_stop(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct hb_wl_ctx ctx = {.duration = 2, .timeout = 0.2, .stop = &stop};
	struct hb_sample s;
	struct hb_err e;
	double t0 = hb_now();

	assert_int_equal(run_wl("cpu", NULL, &ctx, &s, &e), HB_ETIMEDOUT);
	assert_true(hb_now() - t0 < 1.0);
	assert_non_null(strstr(e.msg, "cpu: run would exceed its 0.2 s timeout"));
	stop = 1;
	ctx.timeout = 10;
	assert_int_equal(run_wl("cpu", NULL, &ctx, &s, &e), HB_EINTR);
}

/* Driver mode for tools/crosscheck.sh. */
static int drive(const char *name)
{
	const struct hb_workload *wl = hb_workload_find(name);
	const char *pj = getenv("HB_WL_PARAMS"), *srv = getenv("HB_WL_SERVER");
	struct hb_wl_ctx ctx = {.duration = 5, .ramp = 0, .timeout = 120};
	char addr[64] = "";
	json_t *in = NULL, *p = NULL, *j;
	struct hb_sample s;
	struct hb_err e;
	int rc;

	hb_err_clear(&e);
	hb_sample_init(&s);
	if (!wl) {
		fprintf(stderr, "unknown workload %s\n", name);
		return 2;
	}
	if (getenv("HB_WL_DURATION"))
		hb_parse_double(getenv("HB_WL_DURATION"), 0.1, 3600, &ctx.duration);
	if (getenv("HB_WL_RAMP"))
		hb_parse_double(getenv("HB_WL_RAMP"), 0, 3600, &ctx.ramp);
	ctx.timeout = ctx.duration + ctx.ramp + 60;
	ctx.scratch_dir = getenv("HB_WL_SCRATCH") ? getenv("HB_WL_SCRATCH") : "/tmp";
	if (srv) {
		const char *colon = strrchr(srv, ':');
		long port;
		if (!colon || hb_parse_long(colon + 1, 1, 65535, &port) ||
		    hb_snprintf(addr, sizeof(addr), "%.*s", (int)(colon - srv), srv)) {
			fprintf(stderr, "HB_WL_SERVER must be addr:port\n");
			return 2;
		}
		ctx.server_addr = addr;
		ctx.server_port = (int)port;
	}
	if (pj && !(in = json_loads(pj, 0, NULL))) {
		fprintf(stderr, "HB_WL_PARAMS is not JSON\n");
		return 2;
	}
	rc = hb_params_validate(wl->params, wl->nparams, in, "HB_WL_PARAMS", &p, &e);
	if (!rc)
		rc = wl->run(&ctx, p, &s, &e);
	if (rc) {
		fprintf(stderr, "%s: %s\n", name, e.msg);
	} else {
		j = hb_sample_to_json(&s);
		json_dumpf(j, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(j);
	}
	hb_sample_free(&s);
	json_decref(in);
	json_decref(p);
	return rc ? 1 : 0;
}

static int setup(void **state)
{
	snprintf(scratch, sizeof(scratch), "/tmp/hb-test-wl-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int teardown(void **state)
{
	return hb_rmtree(scratch) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_defaults_validate),
		cmocka_unit_test(test_disk_bad_rw_did_you_mean),
		cmocka_unit_test(test_disk_scratch_file),
		cmocka_unit_test(test_disk_given_path_kept),
		cmocka_unit_test(test_disk_given_path_too_small),
		cmocka_unit_test(test_disk_timeout_kills_fio),
		cmocka_unit_test(test_disk_stop_flag),
		cmocka_unit_test(test_disk_fio_missing),
		cmocka_unit_test(test_net_own_path),
		cmocka_unit_test(test_net_loopback_fallback),
		cmocka_unit_test(test_net_server_refuses),
		cmocka_unit_test(test_net_server_silent),
		cmocka_unit_test(test_mem_small),
		cmocka_unit_test(test_mem_timeout),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_cpu_timeout_and_stop),
	};

	if (getenv("HB_WL_RUN"))
		return drive(getenv("HB_WL_RUN"));
	/* Orphaned descendants come to us, so live_children() sees any leftover. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return cmocka_run_group_tests(tests, setup, teardown);
}
