/*
 * iperf.c — libiperf in child processes. libiperf 3.12 keeps global timer state, prints JSON to
 * stdout unless told otherwise, returns success from iperf_run_client on some failures in JSON
 * mode and has no overall deadline, so: the server and each client run in their own forked
 * child (own process group, killed past the deadline), client JSON comes back through a pipe,
 * and the "error" key decides failure.
 */
#include <stdint.h>
#include <iperf_api.h>

#include "iperf.h"
#include "child.h"
#include "netenv.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ---- server ---- */

static int server_fn(void *arg, int outfd)
{
	const struct hb_server_at *a = arg;
	struct iperf_test *t;
	struct hb_err e;

	(void)outfd;
	hb_err_clear(&e);
	if (a->netns && hb_netns_enter(a->netns, &e)) {
		dprintf(2, "%s\n", e.msg);
		return 3;
	}
	t = iperf_new_test();
	if (!t || iperf_defaults(t) < 0) {
		dprintf(2, "iperf3 server: cannot create a test\n");
		return 3;
	}
	iperf_set_test_role(t, 's');
	iperf_set_test_server_port(t, a->port);
	if (a->bind)
		iperf_set_test_bind_address(t, a->bind);
	iperf_set_test_logfile(t, "/dev/null");
	/* Serve test after test, like iperf3 -s; a failed test just ends that test. */
	for (;;) {
		int rc;
		i_errno = 0;
		rc = iperf_run_server(t);
		if (rc < -1 || (rc < 0 && i_errno == IELISTEN)) {
			dprintf(2, "iperf3 server: %s\n", iperf_strerror(i_errno));
			iperf_free_test(t);
			return 2;
		}
		iperf_reset_test(t);
	}
}

/* Socket inodes listening on TCP port in /proc/PID/net/tcp{,6}; returns how many (max n). */
static int listen_inodes(pid_t pid, int port, unsigned long *ino, int n)
{
	static const char *const files[] = {"tcp", "tcp6"};
	int found = 0;
	size_t f;

	for (f = 0; f < 2; f++) {
		char path[64], line[512];
		FILE *fp;
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, files[f]);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp) && found < n) {
			char local[128], remote[128], st[8];
			unsigned long inode;
			char *colon;
			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*s %127s %127s %7s %*s %*s %*s %*s %*s %lu", local,
				   remote, st, &inode) != 4)
				continue;
			colon = strrchr(local, ':');
			if (!colon || strcmp(st, "0A") || strtol(colon + 1, NULL, 16) != port)
				continue;
			ino[found++] = inode;
		}
		fclose(fp);
	}
	return found;
}

/* Whether the process pid holds a socket with one of the inodes (its listener, not another's). */
static int holds_socket(pid_t pid, const unsigned long *ino, int n)
{
	char dir[64];
	DIR *d;
	struct dirent *de;
	int hit = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while (!hit && (de = readdir(d))) {
		char p[PATH_MAX], link[128];
		ssize_t l;
		int i;
		if (de->d_name[0] == '.' || hb_snprintf(p, sizeof(p), "%s/%s", dir, de->d_name))
			continue;
		l = readlink(p, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		for (i = 0; i < n; i++) {
			char want[64];
			snprintf(want, sizeof(want), "socket:[%lu]", ino[i]);
			if (!strcmp(link, want))
				hit = 1;
		}
	}
	closedir(d);
	return hit;
}

/* Leaves in ino[] the inodes pid does not hold; returns how many. */
static int drop_held(pid_t pid, unsigned long *ino, int n)
{
	int i, kept = 0;

	for (i = 0; i < n; i++)
		if (!holds_socket(pid, &ino[i], 1))
			ino[kept++] = ino[i];
	return kept;
}

int hb_iperf_server_start(struct hb_iperf_server *s, const char *netns, const char *bind_addr,
			  int port, struct hb_err *e)
{
	struct hb_server_at a = hb_server_at(netns, bind_addr, port);
	struct hb_child c;
	double deadline = hb_now() + 10.0;
	int rc;

	memset(s, 0, sizeof(*s));
	if (port <= 0 || port > 65535)
		return hb_err_set(e, HB_EINVAL, "iperf3 server: bad port %d", port);
	s->port = port;
	rc = hb_child_server_fork(&c, "iperf3 server", server_fn, &a, s->addr, s->netns, e);
	if (rc)
		return rc;
	for (;;) {
		unsigned long ino[16];
		int n = listen_inodes(c.pid, port, ino, 16);
		siginfo_t si;

		/* a listener this process holds on the port is in the forked child too, until
		 * libiperf's bind fails and it exits: it says nothing of the server */
		n = drop_held(getpid(), ino, n);
		if (n > 0 && holds_socket(c.pid, ino, n))
			break;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)c.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == c.pid) {
			return hb_child_server_failed(&c, "iperf3 server", &a, e);
		}
		if (hb_now() > deadline) {
			hb_child_kill(&c);
			return hb_err_set(e, HB_ETIMEDOUT,
					  "iperf3 server on %s:%d was not listening after 10 s",
					  a.bind ? a.bind : "*", port);
		}
		usleep(10000);
	}
	s->pid = hb_child_detach(&c);
	return 0;
}

void hb_iperf_server_stop(struct hb_iperf_server *s)
{
	hb_child_stop_pid(&s->pid);
}

/* ---- client ---- */

static void write_error_json(int fd, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (txt)
		write_all(fd, txt, strlen(txt));
	free(txt);
	json_decref(o);
}

static int client_fn(void *arg, int outfd)
{
	const struct hb_iperf_client *c = arg;
	struct iperf_test *t;
	struct hb_err e;
	char *js;
	int rc;

	hb_err_clear(&e);
	if (c->netns && hb_netns_enter(c->netns, &e)) {
		write_error_json(outfd, e.msg);
		return 3;
	}
	t = iperf_new_test();
	if (!t || iperf_defaults(t) < 0) {
		write_error_json(outfd, "cannot create an iperf test");
		return 3;
	}
	iperf_set_test_role(t, 'c');
	iperf_set_test_server_hostname(t, c->addr);
	iperf_set_test_server_port(t, c->port);
	iperf_set_test_duration(t, c->duration);
	iperf_set_test_omit(t, c->omit);
	iperf_set_test_num_streams(t, c->streams);
	iperf_set_test_reverse(t, c->reverse);
	iperf_set_test_rate(t, c->rate);
	if (c->connect_timeout_ms > 0)
		iperf_set_test_connect_timeout(t, c->connect_timeout_ms);
	iperf_set_test_json_output(t, 1);
	iperf_set_test_logfile(t, "/dev/null");
	i_errno = 0;
	rc = iperf_run_client(t);
	js = iperf_get_test_json_output_string(t);
	if (js && *js) {
		json_t *root = json_loads(js, 0, NULL);
		/* A failure without an "error" key still has to read as a failure. */
		if (root && rc < 0 && !json_object_get(root, "error")) {
			char *fixed;
			json_object_set_new(root, "error", json_string(iperf_strerror(i_errno)));
			fixed = json_dumps(root, JSON_COMPACT);
			if (fixed)
				write_all(outfd, fixed, strlen(fixed));
			free(fixed);
		} else {
			write_all(outfd, js, strlen(js));
		}
		json_decref(root);
	} else {
		write_error_json(outfd, i_errno ? iperf_strerror(i_errno)
						: "iperf client ended without output");
	}
	iperf_free_test(t);
	return rc < 0 ? 1 : 0;
}

int hb_iperf_client_run(const struct hb_iperf_client *c, double deadline,
			volatile sig_atomic_t *stop, char **json, struct hb_err *e)
{
	struct hb_child ch;
	struct hb_child_out r;
	struct hb_err ce;
	int rc, busy = 0;

	*json = NULL;
	if (!c->addr || !*c->addr || c->port <= 0 || c->port > 65535 || c->streams < 1 ||
	    c->duration < 1)
		return hb_err_set(e, HB_EINVAL,
				  "iperf3 client: bad address, port, streams or duration");
again:
	hb_err_clear(&ce);
	rc = hb_child_fork(&ch, client_fn, (void *)c, &ce);
	if (rc)
		return hb_err_set(e, rc, "iperf3 client: %s", ce.msg);
	rc = hb_child_wait(&ch, "iperf3 client", deadline, stop, 32 << 20, &r, &ce);
	/* A long-lived server may still be closing the previous test (e.g. a killed client's):
	 * it answers "busy"; try again shortly, within the deadline. */
	if (!rc && r.out && strstr(r.out, "the server is busy running a test") && ++busy <= 20 &&
	    (deadline <= 0 || hb_now() + 0.25 < deadline) && !(stop && *stop)) {
		hb_child_out_free(&r);
		usleep(250000);
		goto again;
	}
	if (rc == HB_ETIMEDOUT) {
		rc = hb_err_set(
			e, rc,
			"iperf3 client to %s:%d did not finish before the deadline, killed it",
			c->addr, c->port);
		goto out;
	}
	if (rc) {
		hb_err_set(e, rc, "%s", ce.msg);
		goto out;
	}
	if (!r.out || !r.out[0]) {
		char st[64];
		hb_status_str(r.status, st, sizeof(st));
		rc = hb_err_set(e, HB_ECHILD, "iperf3 client to %s:%d gave no result (%s)%s%s",
				c->addr, c->port, st, r.err && r.err[0] ? ": " : "",
				r.err ? hb_tail(r.err, 300) : "");
		goto out;
	}
	*json = r.out;
	r.out = NULL;
out:
	hb_child_out_free(&r);
	return rc;
}

const char *hb_iperf_version(void)
{
	const char *v = iperf_get_iperf_version();
	return v ? v : "unknown";
}

/* ---- parser ---- */

static int get_num(const json_t *o, const char *key, double *v)
{
	const json_t *x = json_object_get(o, key);

	if (!json_is_number(x))
		return -1;
	*v = json_number_value(x);
	return 0;
}

int hb_iperf_parse(const char *json, struct hb_sample *out, struct hb_err *e)
{
	json_t *root;
	const json_t *err, *end, *start, *ts, *recv, *sent, *cpu, *ver;
	json_error_t jerr;
	double bps, sbps = 0, retr = 0, host = 0, remote = 0, streams = 0;
	int rc = 0, reverse;

	root = json_loads(json ? json : "", JSON_DECODE_INT_AS_REAL, &jerr);
	if (!root)
		return hb_err_set(e, HB_EPROTO, "iperf3: output is not valid JSON (line %d: %s)",
				  jerr.line, jerr.text);
	if (!json_is_object(root)) {
		rc = hb_err_set(e, HB_EPROTO, "iperf3: output is not a JSON object");
		goto out;
	}
	err = json_object_get(root, "error");
	if (err) {
		rc = hb_err_set(e, HB_EIO, "iperf3: %s",
				json_is_string(err) ? json_string_value(err)
						    : "error (no message)");
		goto out;
	}
	end = json_object_get(root, "end");
	start = json_object_get(root, "start");
	ts = json_object_get(start, "test_start");
	recv = json_object_get(end, "sum_received");
	sent = json_object_get(end, "sum_sent");
	cpu = json_object_get(end, "cpu_utilization_percent");
	if (!json_is_object(ts) || get_num(recv, "bits_per_second", &bps)) {
		rc = hb_err_set(
			e, HB_EPROTO,
			"iperf3: JSON lacks start.test_start or end.sum_received.bits_per_second");
		goto out;
	}
	if (get_num(cpu, "host_total", &host) || get_num(cpu, "remote_total", &remote)) {
		rc = hb_err_set(e, HB_EPROTO, "iperf3: JSON lacks end.cpu_utilization_percent");
		goto out;
	}
	get_num(sent, "bits_per_second", &sbps);
	get_num(sent, "retransmits", &retr); /* absent on systems without TCP_INFO: 0 */
	get_num(ts, "num_streams", &streams);
	reverse = json_is_true(json_object_get(ts, "reverse")) ||
		  (json_is_number(json_object_get(ts, "reverse")) &&
		   json_number_value(json_object_get(ts, "reverse")) != 0);
	hb_sample_add(out, "throughput", "Gbit/s", 1, bps / 1e9);
	hb_sample_add(out, "retransmits", "count", 0, retr);
	hb_sample_add(out, "sender_cpu", "%", 0, reverse ? remote : host);
	hb_sample_add(out, "receiver_cpu", "%", 0, reverse ? host : remote);
	ver = json_object_get(start, "version");
	hb_sample_info(out, "iperf_version",
		       json_string(json_is_string(ver) ? json_string_value(ver) : "unknown"));
	hb_sample_info(out, "direction", json_string(reverse ? "recv" : "send"));
	hb_sample_info(out, "streams", json_integer((json_int_t)streams));
	hb_sample_info(out, "sender_gbps", json_real(sbps / 1e9));
out:
	json_decref(root);
	return rc;
}
