/*
 * wl_netrr.c — network request/response latency, the netperf TCP_RR of virtualization: each of
 * `flows` flows sends a `size`-byte request and waits for the whole `size`-byte answer before the
 * next one (closed loop), over TCP (NODELAY) or UDP, against an echo server (bench/rrpeer.c).
 * Every round trip goes into a histogram; the run reports transactions per second and round-trip
 * percentiles. The path is the net workload's: with a server address (VM targets: the echo
 * server at the host end of the tap) only the client runs; natively the workload makes its own
 * veth pair between two namespaces (loopback, said in info "path", when it cannot).
 */
#include "workload.h"
#include "latmath.h"
#include "netenv.h"
#include "rrpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RR_MAX_FLOWS   64
#define RR_MAX_UDP     65507
#define RR_UDP_WAIT_MS 200 /* an unanswered UDP request is lost after this and resent */

static const char *const protocols[] = {"tcp", "udp", NULL};

static const struct hb_param params[] = {
	{"protocol", HB_P_ENUM, 0, 0, "tcp", protocols, "tcp (TCP_NODELAY) or udp"},
	{"size", HB_P_SIZE, 1, 65536, "1", NULL, "bytes per request and per response"},
	{"flows", HB_P_INT, 1, RR_MAX_FLOWS, "1", NULL, "concurrent closed-loop flows"},
};

struct flow {
	pthread_t th;
	const struct hb_wl_ctx *ctx;
	const char *addr, *netns;
	int port, udp;
	size_t size;
	uint64_t start, measure_from, measure_to, hard_end; /* absolute ns (CLOCK_MONOTONIC) */
	struct hb_hist rtt;
	uint64_t count, lost;
	double elapsed; /* seconds from the first measured request to the last answer */
	int rc;
	char err[300];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int flow_fail(struct flow *f, int rc, const char *what, int err)
{
	snprintf(f->err, sizeof(f->err), "%s%s%s", what, err ? ": " : "", err ? strerror(err) : "");
	f->rc = rc;
	return rc;
}

/* Connects fd to addr:port within timeout_ms (non-blocking connect + poll). */
static int connect_within(int fd, const struct sockaddr_in *sa, int timeout_ms)
{
	int fl = fcntl(fd, F_GETFL), err = 0;
	socklen_t el = sizeof(err);
	struct pollfd pf = {.fd = fd, .events = POLLOUT};

	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		if (errno != EINPROGRESS)
			return errno;
		if (poll(&pf, 1, timeout_ms) != 1)
			return ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el))
			return errno;
		if (err)
			return err;
	}
	return fcntl(fd, F_SETFL, fl) ? errno : 0;
}

/* Checks the clock against the flow's limits: 1 = measured interval over, <0 = stop/timeout. */
static int flow_limits(struct flow *f, uint64_t now)
{
	if (f->ctx->stop && *f->ctx->stop)
		return flow_fail(f, HB_EINTR, "interrupted", 0);
	if (now >= f->hard_end)
		return flow_fail(f, HB_ETIMEDOUT, "no answer before the run's timeout", 0);
	return now >= f->measure_to;
}

/* After a send or recv of n bytes: 1 when it was interrupted or would block (try again once
 * the flow's limits allow: their error, < 0, ends the flow), else 0 (errno kept). */
static int again(struct flow *f, ssize_t n)
{
	int l;

	if (n >= 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
		return 0;
	l = flow_limits(f, now_ns());
	return l < 0 ? l : 1;
}

/*
 * Sends (receive 0) or receives len bytes of buf; a UDP send is one datagram. Waits out
 * timeouts within the flow's limits.
 */
static int io_all(struct flow *f, int fd, char *buf, size_t len, int receive)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = receive ? recv(fd, buf + off, len - off, 0)
				    : send(fd, buf + off, len - off, MSG_NOSIGNAL);
		int a = again(f, n);

		if (a < 0)
			return a;
		if (a)
			continue;
		if (n < 0)
			return flow_fail(f, HB_EIO,
					 receive ? "receive from the echo server"
						 : "send to the echo server",
					 errno);
		if (n == 0)
			return receive ? flow_fail(f, HB_EIO,
						   "the echo server closed the connection", 0)
				       : flow_fail(f, HB_EIO, "send to the echo server", EPIPE);
		off += (size_t)n;
	}
	return 0;
}

/* One TCP transaction: 0 or <0. */
static int tcp_once(struct flow *f, int fd, char *out, char *in)
{
	int rc = io_all(f, fd, out, f->size, 0);

	return rc ? rc : io_all(f, fd, in, f->size, 1);
}

/* One UDP transaction; a request unanswered within RR_UDP_WAIT_MS counts as lost and is resent.
 * Requests of 4 bytes or more carry a sequence number so a late answer is never matched. */
static int udp_once(struct flow *f, int fd, char *out, char *in, uint32_t *seq, uint64_t *t0)
{
	for (;;) {
		uint64_t sent;
		int rc;

		(*seq)++;
		if (f->size >= 4)
			memcpy(out, seq, 4);
		*t0 = now_ns();
		rc = io_all(f, fd, out, f->size, 0);
		if (rc)
			return rc;
		sent = now_ns();
		for (;;) {
			ssize_t n = recv(fd, in, RR_MAX_UDP, 0);
			uint64_t now = now_ns();
			int l;
			if (n >= 0 && (size_t)n == f->size && (f->size < 4 || !memcmp(in, seq, 4)))
				return 0;
			if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNREFUSED)
				return flow_fail(f, HB_EIO, "receive from the echo server", errno);
			l = flow_limits(f, now);
			if (l < 0)
				return l;
			if (now - sent >= (uint64_t)RR_UDP_WAIT_MS * 1000000ULL) {
				f->lost++;
				if (l > 0)
					return 1;
				break;
			}
		}
	}
}

static void *flow_main(void *arg)
{
	struct flow *f = arg;
	struct sockaddr_in sa;
	struct timeval tv = {0, RR_UDP_WAIT_MS * 1000};
	struct hb_err ne;
	char *out = NULL, *in = NULL;
	uint64_t first = 0, last = 0;
	uint32_t seq = 0;
	int fd = -1, one = 1, err;

	hb_err_clear(&ne);
	/* setns() moves only this thread: its socket lives in the client namespace. */
	if (f->netns && hb_netns_enter(f->netns, &ne)) {
		flow_fail(f, HB_EIO, ne.msg, 0);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)f->port);
	if (inet_pton(AF_INET, f->addr, &sa.sin_addr) != 1) {
		flow_fail(f, HB_EINVAL, "server address is not an IPv4 address", 0);
		goto out;
	}
	out = calloc(1, f->size);
	in = malloc(RR_MAX_UDP);
	fd = socket(AF_INET, (f->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (!out || !in || fd < 0) {
		flow_fail(f, out && in ? HB_EIO : HB_ENOMEM, "socket", out && in ? errno : 0);
		goto out;
	}
	memset(out, 'r', f->size);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!f->udp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	{
		uint64_t now = now_ns();
		int ms = f->hard_end > now ? (int)((f->hard_end - now) / 1000000) : 1;
		err = connect_within(fd, &sa, ms < 10000 ? ms : 10000);
	}
	if (err) {
		char m[160];
		snprintf(m, sizeof(m), "cannot connect to %s:%d", f->addr, f->port);
		flow_fail(f, HB_EIO, m, err);
		goto out;
	}
	/* The window opens one ramp after the first answer, not at a fixed time from the start:
	 * an echo server (or a namespace) slow to come up on a loaded host delays the run
	 * instead of eating its measured time. */
	{
		uint64_t ramp_ns = f->measure_from - f->start,
			 dur_ns = f->measure_to - f->measure_from;
		uint64_t t0 = now_ns();
		f->measure_to = f->hard_end;
		if ((f->udp ? udp_once(f, fd, out, in, &seq, &t0) : tcp_once(f, fd, out, in)) != 0)
			goto out;
		f->measure_from = now_ns() + ramp_ns;
		f->measure_to = f->measure_from + dur_ns;
		f->lost = 0;
	}
	for (;;) {
		uint64_t t0 = now_ns(), t1;
		int rc = flow_limits(f, t0);
		if (rc)
			break;
		rc = f->udp ? udp_once(f, fd, out, in, &seq, &t0) : tcp_once(f, fd, out, in);
		if (rc)
			break;
		t1 = now_ns();
		if (t0 >= f->measure_from) {
			hb_hist_add(&f->rtt, t1 - t0);
			f->count++;
			if (!first)
				first = t0;
			last = t1;
		}
	}
	if (f->rc == 0 && last > first)
		f->elapsed = (double)(last - first) / 1e9;
out:
	if (fd >= 0)
		close(fd);
	free(out);
	free(in);
	return NULL;
}

/* Where the echo server is: the target's, or one of our own on a veth pair (loopback). */
struct rrpath {
	struct hb_netpair np;
	struct hb_rrpeer peer;
	const char *addr, *netns, *path;
	int port, udp_known, udp;
	char why[600];
};

static int path_up(const struct hb_wl_ctx *ctx, struct rrpath *rp, struct hb_err *e)
{
	struct hb_err ne;
	int rc;

	if (ctx->server_addr && *ctx->server_addr) {
		if (ctx->server_port <= 0)
			return hb_err_set(e, HB_EINVAL, "netrr: no port for the echo server");
		rp->addr = ctx->server_addr;
		rp->port = ctx->server_port;
		rp->netns = ctx->netns_client;
		rp->path = "remote-server";
		return 0;
	}
	hb_err_clear(&ne);
	if (!hb_netpair_create(&rp->np, &ne)) {
		rp->path = "veth-netns";
		rp->addr = HB_NETPAIR_SERVER_ADDR;
		rp->netns = rp->np.ns_c;
		rc = hb_rrpeer_start(&rp->peer, rp->np.ns_s, rp->addr, 0, e);
	} else {
		/* No namespaces here (not root, no ip): loopback, recorded as such. */
		hb_strlcpy(rp->why, ne.msg, sizeof(rp->why));
		rp->path = "loopback";
		rp->addr = "127.0.0.1";
		rc = hb_rrpeer_start(&rp->peer, NULL, rp->addr, 0, e);
	}
	rp->port = rp->peer.port;
	rp->udp_known = 1;
	rp->udp = rp->peer.udp;
	return rc;
}

static void path_down(struct rrpath *rp)
{
	hb_rrpeer_stop(&rp->peer);
	hb_netpair_destroy(&rp->np);
}

static int run(const struct hb_wl_ctx *ctx, const json_t *p, struct hb_sample *out,
	       struct hb_err *e)
{
	int udp = !strcmp(hb_param_str(p, "protocol"), "udp");
	int flows = (int)hb_param_int(p, "flows"), i, started = 0, rc = 0;
	size_t size = (size_t)hb_param_int(p, "size");
	struct rrpath rp;
	struct flow *f = NULL;
	struct hb_hist all = {0};
	uint64_t t0, lost = 0, total = 0, counts[RR_MAX_FLOWS];
	double ramp = ctx->ramp > 0 ? ctx->ramp : 0, elapsed[RR_MAX_FLOWS], measured = 0;

	memset(&rp, 0, sizeof(rp));
	if (ctx->duration <= 0 || flows < 1 || flows > RR_MAX_FLOWS)
		return hb_err_set(e, HB_EINVAL,
				  "netrr: duration and flows (1..%d) must be positive",
				  RR_MAX_FLOWS);
	if (udp && size > RR_MAX_UDP)
		return hb_err_set(e, HB_EINVAL, "netrr: size %zu is over the UDP limit of %d bytes",
				  size, RR_MAX_UDP);
	if (ctx->timeout > 0 && ctx->timeout < ctx->duration + ramp)
		return hb_err_set(e, HB_EINVAL,
				  "netrr: timeout %.1f s is shorter than ramp + duration",
				  ctx->timeout);
	rc = path_up(ctx, &rp, e);
	if (rc) {
		hb_err_prefix(e, "netrr");
		goto out;
	}
	if (udp && rp.udp_known && !rp.udp) {
		rc = hb_err_set(e, HB_EIO, "netrr: the echo server could not bind UDP port %d",
				rp.port);
		goto out;
	}
	f = calloc((size_t)flows, sizeof(*f));
	if (!f || hb_hist_init(&all)) {
		rc = hb_err_set(e, HB_ENOMEM, "netrr: out of memory");
		goto out;
	}
	t0 = now_ns();
	for (i = 0; i < flows; i++) {
		f[i].ctx = ctx;
		f[i].addr = rp.addr;
		f[i].netns = rp.netns;
		f[i].port = rp.port;
		f[i].udp = udp;
		f[i].size = size;
		f[i].start = t0;
		f[i].measure_from = t0 + (uint64_t)(ramp * 1e9);
		f[i].measure_to = f[i].measure_from + (uint64_t)(ctx->duration * 1e9);
		f[i].hard_end = ctx->timeout > 0 ? t0 + (uint64_t)(ctx->timeout * 1e9)
						 : f[i].measure_to + 30000000000ULL;
		if (hb_hist_init(&f[i].rtt) || pthread_create(&f[i].th, NULL, flow_main, &f[i])) {
			rc = hb_err_set(e, HB_EIO, "netrr: cannot start flow %d", i + 1);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(f[i].th, NULL);
	for (i = 0; i < started && !rc; i++)
		if (f[i].rc)
			rc = hb_err_set(e, f[i].rc, "netrr: flow %d to %s:%d (%s): %s", i + 1,
					rp.addr, rp.port, rp.path, f[i].err);
	if (rc)
		goto out;
	for (i = 0; i < started; i++) {
		hb_hist_merge(&all, &f[i].rtt);
		counts[i] = f[i].count;
		elapsed[i] = f[i].elapsed;
		lost += f[i].lost;
		total += f[i].count;
		if (f[i].elapsed > measured)
			measured = f[i].elapsed;
	}
	if (hb_rr_metrics(&all, counts, elapsed, (size_t)started, out)) {
		rc = hb_err_set(e, HB_EIO, "netrr: no transaction completed in %.1f s over %s",
				ctx->duration, rp.path);
		goto out;
	}
	hb_sample_info(out, "path", json_string(rp.path));
	if (rp.why[0]) {
		hb_sample_info(out, "path_reason", json_string(rp.why));
		hb_sample_info(out, "fallback",
			       json_sprintf("loopback instead of a veth pair between namespaces "
					    "(%s): latency is not a network path's",
					    rp.why));
	}
	hb_sample_info(out, "server", json_pack("{s:s, s:i}", "addr", rp.addr, "port", rp.port));
	hb_sample_info(out, "protocol", json_string(udp ? "UDP" : "TCP"));
	hb_sample_info(out, "size", json_integer((json_int_t)size));
	hb_sample_info(out, "flows", json_integer(flows));
	hb_sample_info(out, "transactions", json_integer((json_int_t)total));
	if (udp)
		hb_sample_info(out, "lost", json_integer((json_int_t)lost));
	hb_sample_info(out, "measured_s", json_real(measured));
out:
	if (f)
		for (i = 0; i < flows; i++)
			hb_hist_free(&f[i].rtt);
	free(f);
	hb_hist_free(&all);
	path_down(&rp);
	return rc;
}

static const struct hb_metric_def metrics[] = {
	{"rtt_p50", "us", 0, HB_AREA_LATENCY, HB_ROLE_HEADLINE, HB_CMP_DELTA,
	 "median request/response round trip"},
	{"rtt_p99", "us", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "99th percentile round trip"},
	{"rtt_p999", "us", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "99.9th percentile round trip"},
	{"tps", "trans/s", 1, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_RATIO,
	 "request/response transactions per second over all flows"},
	{"rtt_mean", "us", 0, HB_AREA_LATENCY, HB_ROLE_DIAGNOSTIC, HB_CMP_DELTA, "mean round trip"},
	{"rtt_max", "us", 0, HB_AREA_LATENCY, HB_ROLE_DIAGNOSTIC, HB_CMP_DELTA,
	 "longest round trip"},
};

const struct hb_workload hb_wl_netrr = {
	.name = "netrr",
	.kind = "net",
	.peer = HB_PEER_ECHO,
	.help = "network request/response latency, TCP_RR style (round-trip percentiles, "
		"transactions/s)",
	.params = params,
	.nparams = HB_ARRAY_SIZE(params),
	.metrics = metrics,
	.nmetrics = HB_ARRAY_SIZE(metrics),
	.run = run,
};
