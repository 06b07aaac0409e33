/*
 * rrpeer.c — the echo server for the netrr workload (see rrpeer.h). The child reports
 * "PORT UDP\n" on its output pipe once both sockets are bound and listening, so the parent
 * needs no polling of /proc and port 0 works. With a reply delay, every echo thread holds what
 * it received in a FIFO of replies, each due at its receive time + the delay, and waits in
 * ppoll for whichever comes first: more input or the earliest due reply. The one UDP thread
 * serves every flow, so a sleep per reply there would queue one flow's reply behind another's
 * delay; the FIFO keeps every reply at exactly its own receive time + delay (the delay is
 * constant, so receive order is due order and a FIFO is the deadline queue).
 */
#include "rrpeer.h"
#include "child.h"
#include "netenv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RR_BUF		 65536
#define RR_START_TIMEOUT 10.0
/* replies held per thread (netrr has at most 64 flows); beyond, the thread stops reading and
 * the socket buffers what comes (stamped when read) */
#define RR_HOLD_MAX 256
#define RR_SPIN_NS  300000 /* a held reply's last 300 us are waited for by polling */

/* What the server child gets: where to listen and how long to hold each reply. */
struct peer_arg {
	struct hb_server_at at;
	int64_t delay_ns;
};
_Static_assert(offsetof(struct peer_arg, at) == 0, "the child is handed &peer_arg.at");

/* The echo loop of one socket (TCP: a connection; UDP: the bound socket). */
struct echo {
	int fd, udp;
	int64_t delay_ns;
};

/* ---- held replies (reply delay > 0) ---- */

struct held {
	int64_t due; /* CLOCK_MONOTONIC ns */
	char *buf;
	size_t len;
	struct sockaddr_storage to; /* UDP: the sender */
	socklen_t tl;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sends all of buf on a connected stream; -1 when the connection is gone. */
static int send_all(int fd, const char *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/*
 * The delayed echo: what arrives at time t goes back at t + delay (its own deadline, whatever
 * else is held). A TCP stream's segments are held each from its own arrival, so a request in
 * several pieces is answered piece by piece, the last piece delay after the request's end.
 * Returns when the socket fails or (TCP) the peer closed and every held reply went out.
 */
static void echo_delayed(const struct echo *x)
{
	struct held q[RR_HOLD_MAX];
	size_t head = 0, n = 0;
	int eof = 0;

	memset(q, 0, sizeof(q));
	for (;;) {
		int64_t now = mono_ns();
		struct pollfd pf = {.fd = x->fd, .events = 0};
		struct timespec ts, *tp = NULL;
		int r;

		while (n && q[head].due <= now) {
			struct held *h = &q[head];
			if (x->udp)
				sendto(x->fd, h->buf, h->len, 0, (struct sockaddr *)&h->to, h->tl);
			else if (send_all(x->fd, h->buf, h->len))
				eof = 2; /* the connection is gone: drop the rest */
			free(h->buf);
			h->buf = NULL;
			head = (head + 1) % RR_HOLD_MAX;
			n--;
			now = mono_ns();
		}
		if (eof == 2 || (eof && !n))
			break;
		if (n) {
			/* sleep to RR_SPIN_NS before the deadline, then poll without sleeping: a
			 * wake-up from a sleep of milliseconds comes 50-150 us late on a loaded
			 * host (more the longer the sleep), a busy poll at the deadline */
			int64_t left = q[head].due - now - RR_SPIN_NS;
			if (left < 0)
				left = 0;
			ts.tv_sec = (time_t)(left / 1000000000);
			ts.tv_nsec = (long)(left % 1000000000);
			tp = &ts;
		}
		if (!eof && n < RR_HOLD_MAX)
			pf.events = POLLIN;
		else if (!n)
			break;
		r = ppoll(&pf, 1, tp, NULL);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (pf.revents & (POLLERR | POLLNVAL)) && !(pf.revents & POLLIN))
			break;
		if (r <= 0 || !(pf.revents & (POLLIN | POLLHUP)))
			continue;
		{
			struct held *h = &q[(head + n) % RR_HOLD_MAX];
			char *buf = malloc(RR_BUF);
			ssize_t got;

			if (!buf)
				break;
			h->tl = sizeof(h->to);
			got = x->udp ? recvfrom(x->fd, buf, RR_BUF, MSG_DONTWAIT,
						(struct sockaddr *)&h->to, &h->tl)
				     : recv(x->fd, buf, RR_BUF, MSG_DONTWAIT);
			now = mono_ns();
			if (got < 0 || (got == 0 && !x->udp)) { /* UDP: an empty datagram is one */
				free(buf);
				if (got == 0 && !x->udp)
					eof = 1; /* answer what is held, then close */
				else if (got < 0 && errno != EINTR && errno != EAGAIN &&
					 !(x->udp && errno == ECONNREFUSED))
					break;
				continue;
			}
			h->buf = got ? realloc(buf, (size_t)got) : NULL;
			if (!h->buf)
				h->buf = buf;
			h->len = (size_t)got;
			h->due = now + x->delay_ns;
			n++;
		}
	}
	for (; n; n--, head = (head + 1) % RR_HOLD_MAX)
		free(q[head].buf);
}

/* The undelayed echo: every read written straight back. */
static void echo_now(const struct echo *x)
{
	char *buf = malloc(RR_BUF);

	while (buf) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = x->udp ? recvfrom(x->fd, buf, RR_BUF, 0, (struct sockaddr *)&from, &fl)
				   : recv(x->fd, buf, RR_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (!x->udp && n == 0))
			break;
		if (x->udp)
			sendto(x->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		else if (send_all(x->fd, buf, (size_t)n))
			break;
	}
	free(buf);
}

/* A thread per TCP connection (closes it when done) and one for the UDP socket. */
static void *echo_thread(void *arg)
{
	struct echo x = *(struct echo *)arg;

	free(arg);
	if (x.delay_ns > 0)
		echo_delayed(&x);
	else
		echo_now(&x);
	if (!x.udp)
		close(x.fd);
	return NULL;
}

/* Starts echo_thread on its own struct echo (which it frees); nonzero when it could not. */
static int spawn_detached(int fd, int udp, int64_t delay_ns)
{
	struct echo *x = malloc(sizeof(*x));
	pthread_t th;
	pthread_attr_t at;
	int rc;

	if (!x)
		return -1;
	x->fd = fd;
	x->udp = udp;
	x->delay_ns = delay_ns;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, echo_thread, x);
	pthread_attr_destroy(&at);
	if (rc)
		free(x);
	return rc;
}

/* The child: bind, report the port, serve until killed. */
static int peer_fn(void *arg, int outfd)
{
	const struct peer_arg *pa = arg;
	const struct hb_server_at *a = &pa->at;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct hb_err e;
	int ls, us, one = 1, udp = 0;

	hb_err_clear(&e);
	/* a held reply leaves at its deadline, not up to 50 us later (the default timer slack;
	 * threads inherit it) */
	if (pa->delay_ns > 0)
		prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (a->netns && hb_netns_enter(a->netns, &e)) {
		dprintf(2, "%s\n", e.msg);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)a->port);
	if (a->bind && inet_pton(AF_INET, a->bind, &sa.sin_addr) != 1) {
		dprintf(2, "bad IPv4 bind address \"%s\"\n", a->bind);
		return 1;
	}
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 128) ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl)) {
		dprintf(2, "cannot listen on TCP %s:%d: %s\n", a->bind ? a->bind : "*", a->port,
			strerror(errno));
		return 1;
	}
	us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (us >= 0 && !bind(us, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !spawn_detached(us, 1, pa->delay_ns))
		udp = 1;
	dprintf(outfd, "%d %d\n", ntohs(sa.sin_port), udp);
	close(outfd);
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				continue;
			dprintf(2, "accept: %s\n", strerror(errno));
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (spawn_detached(fd, 0, pa->delay_ns))
			close(fd);
	}
}

/* "PORT UDP\n" from the child into p; -1 when the line is not that. */
static int parse_ready(char *line, struct hb_rrpeer *p)
{
	char *nl = strchr(line, '\n'), *sp;
	long port, udp;

	if (!nl)
		return -1;
	*nl = '\0';
	sp = strchr(line, ' ');
	if (!sp)
		return -1;
	*sp = '\0';
	if (hb_parse_long(line, 1, 65535, &port) || hb_parse_long(sp + 1, 0, 1, &udp))
		return -1;
	p->port = (int)port;
	p->udp = (int)udp;
	return 0;
}

int hb_rrpeer_start(struct hb_rrpeer *p, const char *netns, const char *bind_addr, int port,
		    struct hb_err *e)
{
	return hb_rrpeer_start_delayed(p, netns, bind_addr, port, 0, e);
}

int hb_rrpeer_start_delayed(struct hb_rrpeer *p, const char *netns, const char *bind_addr, int port,
			    double delay_ms, struct hb_err *e)
{
	struct peer_arg pa = {.at = hb_server_at(netns, bind_addr, port)};
	const struct hb_server_at a = pa.at;
	struct hb_child c;
	double deadline = hb_now() + RR_START_TIMEOUT;
	char line[64];
	size_t len = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if (port < 0 || port > 65535)
		return hb_err_set(e, HB_EINVAL, "echo server: bad port %d", port);
	if (!(delay_ms >= 0 && delay_ms <= HB_RRPEER_MAX_DELAY_MS))
		return hb_err_set(e, HB_EINVAL, "echo server: reply delay %g ms is not in 0..%d ms",
				  delay_ms, HB_RRPEER_MAX_DELAY_MS);
	pa.delay_ns = (int64_t)(delay_ms * 1e6 + 0.5);
	p->delay_ms = delay_ms;
	/* the child gets &pa.at, i.e. &pa (at is its first member): peer_fn reads the delay */
	rc = hb_child_server_fork(&c, "echo server", peer_fn, &pa.at, p->addr, p->netns, e);
	if (rc)
		return rc;
	for (;;) {
		struct pollfd pf = {.fd = c.out_fd, .events = POLLIN};
		double left = deadline - hb_now();
		ssize_t n;

		if (left <= 0) {
			hb_child_kill(&c);
			return hb_err_set(e, HB_ETIMEDOUT,
					  "echo server on %s:%d was not listening after %.0f s",
					  a.bind ? a.bind : "*", port, RR_START_TIMEOUT);
		}
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = read(c.out_fd, line + len, sizeof(line) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			len += (size_t)n;
			line[len] = '\0';
			if (!strchr(line, '\n') && len < sizeof(line) - 1)
				continue;
			if (!parse_ready(line, p))
				break;
		}
		/* EOF or garbage: the child failed; its stderr says why. */
		return hb_child_server_failed(&c, "echo server", &a, e);
	}
	p->pid = hb_child_detach(&c);
	return 0;
}

void hb_rrpeer_stop(struct hb_rrpeer *p)
{
	hb_child_stop_pid(&p->pid);
}
