/*
 * rrpeer.c — the echo server for the netrr workload (see rrpeer.h). The child reports
 * "PORT UDP\n" on its output pipe once both sockets are bound and listening, so the parent
 * needs no polling of /proc and port 0 works.
 */
#include "rrpeer.h"
#include "child.h"
#include "netenv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RR_BUF		 65536
#define RR_START_TIMEOUT 10.0

static void *tcp_echo(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(RR_BUF);

	while (buf) {
		ssize_t n = recv(fd, buf, RR_BUF, 0), off = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (off < n) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

static void *udp_echo(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(RR_BUF);

	while (buf) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, RR_BUF, 0, (struct sockaddr *)&from, &fl);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
	free(buf);
	return NULL;
}

static int spawn_detached(void *(*fn)(void *), int fd)
{
	pthread_t th;
	pthread_attr_t at;
	int rc;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, fn, (void *)(intptr_t)fd);
	pthread_attr_destroy(&at);
	return rc;
}

/* The child: bind, report the port, serve until killed. */
static int peer_fn(void *arg, int outfd)
{
	const struct hb_server_at *a = arg;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct hb_err e;
	int ls, us, one = 1, udp = 0;

	hb_err_clear(&e);
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
	    !spawn_detached(udp_echo, us))
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
		if (spawn_detached(tcp_echo, fd))
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
	struct hb_server_at a = hb_server_at(netns, bind_addr, port);
	struct hb_child c;
	double deadline = hb_now() + RR_START_TIMEOUT;
	char line[64];
	size_t len = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if (port < 0 || port > 65535)
		return hb_err_set(e, HB_EINVAL, "echo server: bad port %d", port);
	rc = hb_child_server_fork(&c, "echo server", peer_fn, &a, p->addr, p->netns, e);
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
