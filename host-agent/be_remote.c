/*
 * be_remote.c — a target that is any VM already running somewhere (Hyper-V, ESXi, a cloud
 * instance) with hvbench-guest listening on TCP. The host connects, proves the shared token in
 * its hello, and sends the same run requests the QEMU backend sends over virtio-serial. For
 * network workloads the host starts an iperf3 server on an address the guest can reach
 * ("iperf_bind") and tells the agent to use it. Host-side VMM probes cannot see a remote VMM:
 * the probe target carries no pid, so only the workloads' own figures are recorded.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_agent.h"
#include "tg_netpeer.h"

struct remote {
	const struct hb_env *env;
	char name[64];
	struct hb_tg_agent agent;
	int dead;
	struct hb_netpeer peer;
};

static const struct hb_param remote_opts[] = {
	{"address", HB_P_STRING, 0, 255, NULL, NULL,
	 "HOST:PORT of hvbench-guest --tcp (IPv6 as [ADDR]:PORT)"},
	{"token_file", HB_P_STRING, 0, 4096, NULL, NULL,
	 "file holding the shared token the agent was started with"},
	{"iperf_bind", HB_P_STRING, 0, 63, "", NULL,
	 "host address the guest reaches for network workloads (\"\": no network workloads)"},
	{"iperf_port", HB_P_INT, 1, 65534, "5201", NULL,
	 "port of that iperf3 server (netrr's echo server: this port + 1, TCP and UDP)"},
	{"connect_timeout", HB_P_INT, 1, 600, "20", NULL, "seconds to connect and get hello"},
	{"net_reply_delay", HB_P_DOUBLE, 0, 1000, "0", NULL,
	 "milliseconds the echo server on iperf_bind (netrr's peer) holds every reply after its "
	 "request arrived: a known, application-level latency (not on the network path; 0: "
	 "none)"},
};

static int split_hostport(const char *s, char *host, size_t hl, char *port, size_t pl)
{
	const char *colon;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= hl)
			return HB_EINVAL;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		return hb_strlcpy(port, end + 2, pl);
	}
	colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) >= hl || strchr(s, ':') != colon)
		return HB_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	return hb_strlcpy(port, colon + 1, pl);
}

/* One non-blocking connect attempt bounded by end: 0 with *fd, or -1 (errno set). */
static int try_connect(const struct addrinfo *ai, double end, volatile sig_atomic_t *stop, int *out)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		goto fail;
	for (;;) {
		struct pollfd p = {fd, POLLOUT, 0};
		double left = end - hb_now();
		int r;
		if ((stop && *stop) || left <= 0) {
			errno = (stop && *stop) ? EINTR : ETIMEDOUT;
			goto fail;
		}
		r = poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			goto fail;
		if (r > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
		errno = err ? err : errno;
		goto fail;
	}
	*out = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int connect_to(const char *address, double end, volatile sig_atomic_t *stop, int *out,
		      struct hb_err *e)
{
	char host[256], port[16];
	struct addrinfo hints = {0}, *res = NULL, *ai;
	long pn;
	int rc;

	if (split_hostport(address, host, sizeof(host), port, sizeof(port)) ||
	    hb_parse_long(port, 1, 65535, &pn))
		return hb_err_set(e, HB_EINVAL, "address \"%s\" is not HOST:PORT", address);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return hb_err_set(e, HB_EINVAL, "cannot resolve %s: %s", host, gai_strerror(rc));
	/* retry until the deadline: the VM may still be booting its agent */
	for (;;) {
		for (ai = res; ai; ai = ai->ai_next)
			if (try_connect(ai, end, stop, out) == 0) {
				freeaddrinfo(res);
				return 0;
			}
		if ((stop && *stop) || hb_now() >= end)
			break;
		hb_sleep(0.5, NULL);
	}
	freeaddrinfo(res);
	if (stop && *stop)
		return hb_err_set(e, HB_EINTR, "interrupted while connecting to %s", address);
	return hb_err_errno(e, HB_ETIMEDOUT, "cannot connect to %s before connect_timeout",
			    address);
}

static int read_token(const char *path, char *buf, size_t len, struct hb_err *e)
{
	char *txt = NULL;
	size_t n = 0;
	struct stat st;
	int rc;

	rc = hb_read_file(path, 4096, &txt, &n, e);
	if (rc)
		return rc;
	while (n > 0 && (txt[n - 1] == '\n' || txt[n - 1] == '\r' || txt[n - 1] == ' '))
		txt[--n] = '\0';
	if (n == 0 || n >= len) {
		free(txt);
		return hb_err_set(e, HB_EINVAL, "token file %s: empty or longer than %zu bytes",
				  path, len - 1);
	}
	memcpy(buf, txt, n + 1);
	memset(txt, 0, n);
	free(txt);
	if (stat(path, &st) == 0 && (st.st_mode & 0077))
		return hb_err_set(e, HB_EINVAL,
				  "token file %s is readable by group or others (chmod 600 it)",
				  path);
	return 0;
}

static int remote_start(void *priv, const struct hb_target *t, const struct hb_env *env,
			struct hb_target_facts *facts, json_t *info, struct hb_err *e)
{
	struct remote *r = priv;
	const char *address = hb_param_str(t->opts, "address");
	const char *token_file = hb_param_str(t->opts, "token_file");
	struct hb_netpeer_cfg pc = {
		.mode = "bind",
		.tag = t->name,
		.bind_addr = hb_param_str(t->opts, "iperf_bind"),
		.base_port = (int)hb_param_int(t->opts, "iperf_port"),
		.none_why = "network workloads need the target option iperf_bind",
		.reply_delay_ms = hb_param_double(t->opts, "net_reply_delay"),
	};
	double timeout = (double)hb_param_int(t->opts, "connect_timeout");
	char token[4096];
	json_t *hello = NULL;
	double t0 = hb_now();
	int rc, fd = -1;

	r->env = env;
	hb_tg_agent_init(&r->agent, env->stop);
	hb_strlcpy(r->name, t->name, sizeof(r->name));
	rc = read_token(token_file, token, sizeof(token), e);
	if (rc)
		return rc;
	rc = connect_to(address, t0 + timeout, env->stop, &fd, e);
	if (rc)
		goto out; /* connect_to closed what it opened */
	{
		/* the socket was non-blocking for the bounded connect; the protocol polls itself */
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	hb_tg_agent_attach(&r->agent, fd);
	rc = hb_tg_agent_hello(&r->agent, token,
			       t0 + timeout - hb_now() > 1 ? t0 + timeout - hb_now() : 1, NULL,
			       NULL, &hello, e);
	if (rc)
		goto out;
	json_object_set_new(info, "address", json_string(address));
	/* not a boot time (the VM was already running): connect + hello */
	json_object_set_new(info, "connect_s", json_real(hb_now() - t0));
	hb_facts_from_hello(facts, hello, 0);
	facts->emulation = 0;
	hb_strlcpy(facts->accel, "unknown (remote hypervisor)", sizeof(facts->accel));
	rc = hb_netpeer_open(&r->peer, &pc, info, e);
	if (rc)
		goto out;
	if (r->peer.port)
		hb_strlcpy(facts->net_mode, "remote", sizeof(facts->net_mode));
out:
	memset(token, 0, sizeof(token));
	json_decref(hello);
	return rc;
}

static int remote_run(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		      struct hb_sample *out, struct hb_err *e)
{
	struct remote *r = priv;
	struct hb_probe_target pt = {0};
	struct hb_tg_run_result res;
	int rc;

	if (r->dead)
		return hb_err_set(e, HB_EIO, "%s: connection to the agent was lost earlier",
				  r->name);
	pt.is_vm = 1; /* the VMM is on another host: no pid for the probes */
	rc = hb_tg_agent_run(&r->agent, r->name, req, hooks, &pt, &r->peer, out, &res, e);
	if (res.interrupted) {
		r->dead = 1;
		return rc;
	}
	if (rc == HB_EIO || rc == HB_ETIMEDOUT) {
		r->dead = 1;
		rc = HB_EIO;
	}
	return rc;
}

static void remote_stop(void *priv, json_t *info)
{
	struct remote *r = priv;

	/* the remote VM keeps running: end the session only (no shutdown request) */
	hb_tg_agent_close(&r->agent);
	hb_netpeer_close(&r->peer);
	(void)info;
}

static void remote_check(const json_t *opts, const char *name, const struct hb_check_env *env,
			 struct hb_target_facts *facts, const char *where, struct hb_diag *d)
{
	const char *bind = hb_param_str(opts, "iperf_bind");

	(void)name;
	(void)env;
	(void)facts;
	if (hb_param_double(opts, "net_reply_delay") > 0 && (!bind || !*bind))
		hb_diag_error(d,
			      "%snet_reply_delay delays the replies of the echo server on "
			      "iperf_bind: it needs iperf_bind",
			      where);
}

const struct hb_backend_ops hb_be_remote = {
	.kind = "remote",
	.help = "a VM on any hypervisor running hvbench-guest --tcp (token required)",
	.flags = HB_BE_VM,
	.opts = remote_opts,
	.nopts = HB_ARRAY_SIZE(remote_opts),
	.priv_size = sizeof(struct remote),
	.check = remote_check,
	.start = remote_start,
	.run = remote_run,
	.stop = remote_stop,
};
