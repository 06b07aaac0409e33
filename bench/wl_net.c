/*
 * wl_net.c — the network workload: one TCP iperf3 test through libiperf. With a server address
 * (guest agent, VM targets) only the client runs, against that server. Without one (native), the
 * workload builds its own path: two network namespaces joined by a veth pair with addresses from
 * 198.18.0.0/15, the server child in one and the client child in the other, all torn down on every
 * path; when namespaces cannot be made it falls back to loopback and says so in info "path".
 */
#include "workload.h"
#include "iperf.h"
#include "netenv.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NET_DEFAULT_PORT 5201

static const char *const directions[] = {"send", "recv", NULL};

static const struct hb_param params[] = {
	{"direction", HB_P_ENUM, 0, 0, "send", directions,
	 "send: client to server; recv: server to client (iperf3 -R)"},
	{"streams", HB_P_INT, 1, 128, "1", NULL, "parallel TCP streams (iperf3 -P)"},
	{"bitrate", HB_P_INT, 0, 1e12, "0", NULL, "bits/s per stream, 0 = unlimited (iperf3 -b)"},
};

/* A free TCP port on 127.0.0.1 (for the loopback fallback, shared with other programs). */
static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &sl))
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int run(const struct hb_wl_ctx *ctx, const json_t *p, struct hb_sample *out,
	       struct hb_err *e)
{
	struct hb_iperf_server srv = {0};
	struct hb_iperf_client cl;
	struct hb_netpair np = {0};
	char why[600] = "";
	const char *path;
	char *json = NULL;
	double deadline = ctx->timeout > 0 ? hb_now() + ctx->timeout : 0;
	double left;
	int rc = 0;

	memset(&cl, 0, sizeof(cl));
	cl.reverse =
		!strcmp(hb_param_str(p, "direction") ? hb_param_str(p, "direction") : "", "recv");
	cl.streams = (int)hb_param_int(p, "streams");
	cl.rate = (unsigned long long)hb_param_int(p, "bitrate");
	if (ctx->duration <= 0 || cl.streams < 1)
		return hb_err_set(e, HB_EINVAL, "net: duration and streams must be positive");
	/* libiperf counts whole seconds. */
	cl.duration = (int)ceil(ctx->duration - 1e-9);
	cl.omit = ctx->ramp > 0 ? (int)lround(ctx->ramp) : 0;
	cl.port = ctx->server_port > 0 ? ctx->server_port : NET_DEFAULT_PORT;
	/* What libiperf will really run, whatever was planned: rates cover cl.duration, the
	 * probes see cl.omit + cl.duration of traffic. */
	out->measured_s = cl.duration;
	out->active_s = cl.duration + cl.omit;

	if (ctx->server_addr && *ctx->server_addr) {
		cl.addr = ctx->server_addr;
		cl.netns = ctx->netns_client;
		path = "remote-server";
	} else {
		struct hb_err ne;
		hb_err_clear(&ne);
		if (!hb_netpair_create(&np, &ne)) {
			path = "veth-netns";
			rc = hb_iperf_server_start(&srv, np.ns_s, HB_NETPAIR_SERVER_ADDR, cl.port,
						   e);
			cl.addr = HB_NETPAIR_SERVER_ADDR;
			cl.netns = np.ns_c;
		} else {
			/* No namespaces here (not root, no ip): loopback, recorded as such. */
			snprintf(why, sizeof(why), "%s", ne.msg);
			path = "loopback";
			cl.port = free_port();
			if (cl.port <= 0) {
				rc = hb_err_errno(e, HB_EIO, "net: no free TCP port on 127.0.0.1");
				goto out;
			}
			rc = hb_iperf_server_start(&srv, NULL, "127.0.0.1", cl.port, e);
			cl.addr = "127.0.0.1";
			cl.netns = NULL;
		}
		if (rc) {
			hb_err_prefix(e, "net");
			goto out;
		}
	}
	left = deadline > 0 ? deadline - hb_now() : 10;
	cl.connect_timeout_ms = (int)(left > 10 ? 10000 : (left > 0.1 ? left * 1000 : 100));
	if (ctx->stop && *ctx->stop) {
		rc = hb_err_set(e, HB_EINTR, "net: interrupted");
		goto out;
	}
	rc = hb_iperf_client_run(&cl, deadline, ctx->stop, &json, e);
	if (rc) {
		if (rc == HB_ETIMEDOUT)
			hb_err_prefix(e, "net (timeout %.1f s)", ctx->timeout);
		else
			hb_err_prefix(e, "net");
		goto out;
	}
	rc = hb_iperf_parse(json, out, e);
	if (rc) {
		hb_err_prefix(e, "net: test against %s:%d", cl.addr, cl.port);
		goto out;
	}
	hb_sample_info(out, "path", json_string(path));
	if (why[0]) {
		hb_sample_info(out, "path_reason", json_string(why));
		hb_sample_info(out, "fallback",
			       json_sprintf("loopback instead of a veth pair between namespaces "
					    "(%s): throughput is not a network path's",
					    why));
	}
	hb_sample_info(out, "server", json_pack("{s:s, s:i}", "addr", cl.addr, "port", cl.port));
	hb_sample_info(out, "libiperf_version", json_string(hb_iperf_version()));
	hb_sample_info(out, "duration_s", json_integer(cl.duration));
	hb_sample_info(out, "omit_s", json_integer(cl.omit));
	hb_sample_info(out, "protocol", json_string("TCP"));
out:
	free(json);
	hb_iperf_server_stop(&srv);
	hb_netpair_destroy(&np);
	return rc;
}

static const struct hb_metric_def metrics[] = {
	{"throughput", "Gbit/s", 1, HB_AREA_NETWORK, HB_ROLE_HEADLINE, HB_CMP_RATIO,
	 "TCP goodput (libiperf, receiver side)"},
	{"retransmits", "count", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "TCP retransmissions by the sender"},
	{"sender_cpu", "%", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "iperf sender CPU (of its own clock)"},
	{"receiver_cpu", "%", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "iperf receiver CPU (of its own clock)"},
};

const struct hb_workload hb_wl_net = {
	.name = "net",
	.kind = "net",
	.peer = HB_PEER_IPERF,
	.help = "TCP throughput with libiperf (Gbit/s, retransmits, CPU of each side)",
	.params = params,
	.nparams = HB_ARRAY_SIZE(params),
	.metrics = metrics,
	.nmetrics = HB_ARRAY_SIZE(metrics),
	.run = run,
};
