/*
 * listen.c — the guest agent's TCP front door. One poll loop serves the handshake of every
 * connection at once (idle or trickling peers cannot hold the door: each has a short hello
 * deadline, and each poll round takes at most one read per peer), and runs the one
 * authenticated session at a time in a forked child, so the loop keeps answering — a second
 * host that authenticates meanwhile is told "busy" instead of waiting unanswered.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ACCEPT_BURST	 16  /* accepts per poll round: a connect flood cannot starve the rest */
#define PENDING_WTIMEOUT 1.0 /* a pre-hello reply is small; a peer that does not read is cut */
#define BUSY_MESSAGE	 "busy: another session is running"

struct pending {
	int fd;
	double deadline;
	double wtimeout; /* the connection's own send timeout, restored for a session */
	struct hb_conn c;
	char who[96];
};

struct listener {
	struct hb_agent *a;
	int lfd;
	struct pending p[HB_AGENT_MAX_PENDING];
	size_t n;
	double hello_timeout;
	pid_t session; /* the session child, -1: none */
	int pidfd;     /* readable when the session child ends; -1: none (then poll every 1 s) */
};

void hb_agent_addr_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		hb_snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		hb_snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	}
}

/*
 * A peer that vanished (host crashed, network cut) is noticed within about a minute: keepalive
 * probes after 30 s of silence, 3 unanswered 10 s apart; unacknowledged data times out after
 * 60 s (TCP_USER_TIMEOUT). A live but silent host is the idle timeout's business.
 */
static void tune_tcp(int fd)
{
	int one = 1, idle = 30, intvl = 10, cnt = 3;
	unsigned int user_ms = 60000;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms));
}

/* Forgets pending connection i (closing it unless keep_fd); the last one takes its place. */
static void forget(struct listener *l, size_t i, const char *why, int keep_fd)
{
	struct pending *p = &l->p[i];

	if (why)
		hb_agent_log(l->a, "connection from %s ended: %s", p->who, why);
	hb_conn_free(&p->c);
	if (!keep_fd)
		close(p->fd);
	l->p[i] = l->p[--l->n];
}

static void reap(struct listener *l, int block)
{
	int st = 0;

	if (l->session < 0 || waitpid(l->session, &st, block ? 0 : WNOHANG) != l->session)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		l->a->shutdown = 1; /* the session acknowledged a shutdown */
	l->session = -1;
	if (l->pidfd >= 0)
		close(l->pidfd);
	l->pidfd = -1;
}

/* The session child: serves the authenticated connection, then exits (never returns). */
static void session_child(struct listener *l, size_t i, json_t *reply)
{
	struct pending *p = &l->p[i];
	struct hb_err e = {0};
	size_t k;
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	close(l->lfd);
	for (k = 0; k < l->n; k++)
		if (k != i)
			close(l->p[k].fd);
	p->c.wtimeout = p->wtimeout;
	rc = hb_conn_send(&p->c, reply, &e);
	json_decref(reply);
	if (!rc)
		rc = hb_agent_serve_conn(l->a, &p->c, &e);
	hb_agent_log(l->a, "session from %s ended: %s", p->who,
		     l->a->shutdown ? "shutdown" : e.msg);
	_exit(l->a->shutdown ? 0 : 3);
}

/* Pending connection i said a good hello (reply is the agent's hello): a session, or busy. */
static void authenticated(struct listener *l, size_t i, json_t *reply)
{
	struct pending *p = &l->p[i];
	struct hb_err e = {0};
	pid_t pid;

	if (l->session >= 0) {
		json_decref(reply);
		reply = hb_proto_error(-1, HB_EIO, BUSY_MESSAGE);
		hb_agent_log(l->a, "connection from %s refused: %s", p->who, BUSY_MESSAGE);
		hb_conn_send(&p->c, reply, &e);
		json_decref(reply);
		forget(l, i, "busy", 0);
		return;
	}
	pid = fork();
	if (pid == 0)
		session_child(l, i, reply);
	json_decref(reply);
	if (pid < 0) {
		reply = hb_proto_error(-1, HB_EIO, "cannot start a session: fork failed");
		hb_conn_send(&p->c, reply, &e);
		json_decref(reply);
		forget(l, i, "fork failed", 0);
		return;
	}
	hb_agent_log(l->a, "session from %s started", p->who);
	l->session = pid;
	l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	forget(l, i, NULL, 0);
}

/* Pending connection i is readable: one read, then every complete message it holds. */
static void readable(struct listener *l, size_t i)
{
	struct hb_agent *a = l->a;
	int reads = 1;

	for (;;) {
		struct pending *p = &l->p[i];
		struct hb_err re = {0}, se = {0};
		struct hb_agent_req req;
		enum hb_agent_action act;
		json_t *msg = NULL, *reply = NULL;
		int rc = hb_conn_recv_buffered(&p->c, reads, &msg, &re);

		reads = 0;
		if (rc == HB_ETIMEDOUT) {
			json_decref(msg);
			return; /* no complete message yet */
		}
		if (rc == HB_EIO || rc == HB_ENOMEM || rc == HB_EINTR) {
			json_decref(msg);
			forget(l, i, re.msg, 0);
			return;
		}
		hb_agent_session_reset(a); /* every pending connection is before its hello */
		act = hb_agent_handle(a, rc, msg, re.msg, &reply, &req);
		json_decref(msg);
		if (act == HB_ACT_RUN) /* cannot happen before hello; never run anything here */
			hb_agent_req_free(&req);
		if (a->hello_done) { /* the session child goes on from this state */
			authenticated(l, i, reply);
			hb_agent_session_reset(a);
			return;
		}
		rc = reply ? hb_conn_send(&p->c, reply, &se) : 0;
		json_decref(reply);
		if (rc) {
			forget(l, i, se.msg, 0);
			return;
		}
		if (act == HB_ACT_CLOSE) {
			forget(l, i, "not authenticated", 0);
			return;
		}
	}
}

static void accept_some(struct listener *l)
{
	int k;

	for (k = 0; k < ACCEPT_BURST; k++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		struct pending *p;
		int fd = accept4(l->lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN: none left; other errors: the peer is gone, try later */
		if (l->n == HB_AGENT_MAX_PENDING) {
			size_t i, old = 0;
			for (i = 1; i < l->n; i++)
				if (l->p[i].deadline < l->p[old].deadline)
					old = i;
			forget(l, old, "dropped: too many connections waiting for hello", 0);
		}
		p = &l->p[l->n++];
		memset(p, 0, sizeof(*p));
		p->fd = fd;
		p->deadline = hb_now() + l->hello_timeout;
		tune_tcp(fd);
		hb_agent_addr_name(&peer, p->who, sizeof(p->who));
		hb_conn_init(&p->c, fd, fd);
		p->c.stop = l->a->cfg.stop;
		p->wtimeout = p->c.wtimeout;
		p->c.wtimeout = PENDING_WTIMEOUT;
		hb_agent_log(l->a, "connection from %s", p->who);
	}
}

/* Ends the session child: asked with SIGTERM, killed if it is still there after 10 s. */
static void stop_session(struct listener *l)
{
	double deadline = hb_now() + 10;

	if (l->session < 0)
		return;
	kill(l->session, SIGTERM);
	while (l->session >= 0 && hb_now() < deadline) {
		reap(l, 0);
		if (l->session >= 0)
			hb_sleep(0.05, NULL);
	}
	if (l->session >= 0) {
		kill(l->session, SIGKILL);
		reap(l, 1);
	}
}

int hb_agent_serve_listen(struct hb_agent *a, int lfd, struct hb_err *e)
{
	struct listener l;
	struct pollfd pf[HB_AGENT_MAX_PENDING + 2];
	int rc = 0;

	memset(&l, 0, sizeof(l));
	l.a = a;
	l.lfd = lfd;
	l.session = -1;
	l.pidfd = -1;
	l.hello_timeout = a->cfg.hello_timeout > 0 ? a->cfg.hello_timeout : HB_AGENT_HELLO_TIMEOUT;
	if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK))
		return hb_err_errno(e, HB_EIO, "cannot make the listening socket non-blocking");
	hb_agent_session_reset(a);
	while (!a->shutdown) {
		double now = hb_now(), next = now + 3600;
		size_t i, np = 0, base;
		int ms, r;

		if (a->cfg.stop && *a->cfg.stop) {
			rc = hb_err_set(e, HB_EINTR, "stopped by a signal");
			break;
		}
		for (i = l.n; i-- > 0;) {
			if (l.p[i].deadline <= now) {
				char why[64];
				hb_snprintf(why, sizeof(why), "no hello within %g s",
					    l.hello_timeout);
				forget(&l, i, why, 0);
			} else if (l.p[i].deadline < next) {
				next = l.p[i].deadline;
			}
		}
		pf[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		if (l.pidfd >= 0)
			pf[np++] = (struct pollfd){.fd = l.pidfd, .events = POLLIN};
		else if (l.session >= 0 && next > now + 1)
			next = now + 1;
		base = np;
		for (i = 0; i < l.n; i++)
			pf[np++] = (struct pollfd){.fd = l.p[i].fd, .events = POLLIN};
		ms = (int)((next - now) * 1000.0) + 1;
		r = poll(pf, np, ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = hb_err_errno(e, HB_EIO, "poll");
			break;
		}
		reap(&l, 0);
		/* by fd: handling one connection may reorder l.p */
		for (i = base; i < np; i++) {
			size_t k;
			if (!pf[i].revents)
				continue;
			for (k = 0; k < l.n && l.p[k].fd != pf[i].fd; k++)
				;
			if (k < l.n)
				readable(&l, k);
		}
		if (pf[0].revents & POLLIN)
			accept_some(&l);
	}
	while (l.n)
		forget(&l, l.n - 1, a->shutdown ? "shutdown" : "stopped", 0);
	stop_session(&l);
	hb_agent_session_reset(a);
	a->shutdown = !rc;
	return rc;
}
