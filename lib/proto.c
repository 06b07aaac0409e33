/*
 * proto.c — the agent wire protocol: bounded newline framing over any pair of fds (or a memory
 * source for tests and fuzzing), strict JSON decoding with jansson, whole-message sends with a
 * deadline, and the host-side client calls (hello, run, shutdown) that check every reply the
 * agent sends before trusting it.
 */
#include "proto.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONN_MIN_CAP	 4096
#define CONN_MAX_CAP	 ((size_t)HB_PROTO_MAX + 2) /* room to see that a line is over the limit */
#define DEFAULT_WTIMEOUT 60.0

void hb_conn_init(struct hb_conn *c, int rfd, int wfd)
{
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->rfd = rfd;
	c->wfd = wfd;
	c->wtimeout = DEFAULT_WTIMEOUT;
	if (wfd >= 0 && fstat(wfd, &st) == 0 && S_ISSOCK(st.st_mode))
		c->wsock = 1;
}

void hb_conn_free(struct hb_conn *c)
{
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = c->off = c->scan = 0;
}

void hb_conn_set_source(struct hb_conn *c, const void *data, size_t len)
{
	c->src = data;
	c->srclen = len;
}

static const struct {
	int code;
	const char *name;
} code_names[] = {
	{HB_EINVAL, "EINVAL"},	     {HB_ENOMEM, "ENOMEM"},   {HB_EIO, "EIO"},
	{HB_ETIMEDOUT, "ETIMEDOUT"}, {HB_EUNSUPP, "EUNSUPP"}, {HB_EPROTO, "EPROTO"},
	{HB_EINTR, "EINTR"},	     {HB_ECHILD, "ECHILD"},
};

const char *hb_proto_code_name(int code)
{
	size_t i;

	for (i = 0; i < HB_ARRAY_SIZE(code_names); i++)
		if (code_names[i].code == code)
			return code_names[i].name;
	return "EPROTO";
}

int hb_proto_code_parse(const char *name)
{
	size_t i;

	for (i = 0; name && i < HB_ARRAY_SIZE(code_names); i++)
		if (!strcmp(code_names[i].name, name))
			return code_names[i].code;
	return HB_EPROTO;
}

json_t *hb_proto_error(long long id, int code, const char *message)
{
	json_t *m = json_object(), *v;

	json_object_set_new(m, "op", json_string("error"));
	if (id >= 0)
		json_object_set_new(m, "id", json_integer((json_int_t)id));
	json_object_set_new(m, "code", json_string(hb_proto_code_name(code)));
	/* json_string refuses invalid UTF-8; messages are ours, but be safe */
	char clean[1024];
	size_t i;

	/* control characters never reach a log; bytes of a truncated UTF-8 sequence neither */
	for (i = 0; message && message[i] && i + 1 < sizeof(clean); i++)
		clean[i] =
			((unsigned char)message[i] < 0x20 || message[i] == 0x7f) ? '?' : message[i];
	clean[i] = '\0';
	v = json_string(clean);
	if (!v) {
		for (i = 0; clean[i]; i++)
			if ((unsigned char)clean[i] >= 0x80)
				clean[i] = '?';
		v = json_string(clean);
	}
	json_object_set_new(m, "message", v);
	return m;
}

/* Waits for fd to become ready for events until deadline (< 0: forever). */
static int wait_fd(struct hb_conn *c, int fd, short events, double deadline, struct hb_err *e)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int ms = -1, r;

		if (deadline >= 0) {
			/* an expired deadline still polls once: data already there is taken */
			double left = deadline - hb_now();
			ms = left <= 0			       ? 0
			     : left > (double)(INT_MAX / 1000) ? INT_MAX
							       : (int)(left * 1000.0) + 1;
		}
		r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r == 0) {
			if (deadline >= 0 && hb_now() >= deadline)
				return HB_ETIMEDOUT;
			continue;
		}
		if (errno == EINTR) {
			if (c->stop && *c->stop)
				return hb_err_set(e, HB_EINTR, "interrupted");
			continue;
		}
		return hb_err_errno(e, HB_EIO, "poll");
	}
}

int hb_conn_send(struct hb_conn *c, const json_t *msg, struct hb_err *e)
{
	char *txt = json_dumps(msg, JSON_COMPACT);
	size_t len, done = 0;
	double deadline;
	int rc = 0;

	if (!txt)
		return hb_err_set(e, HB_EINVAL, "send: message cannot be encoded as JSON");
	len = strlen(txt);
	if (len > HB_PROTO_MAX) {
		rc = hb_err_set(e, HB_EINVAL,
				"send: message of %zu bytes is over the %d byte limit", len,
				HB_PROTO_MAX);
		goto out;
	}
	txt[len++] = '\n'; /* json_dumps leaves the NUL: that byte becomes the newline */
	deadline = c->wtimeout > 0 ? hb_now() + c->wtimeout : -1;
	while (done < len) {
		ssize_t w;

		rc = wait_fd(c, c->wfd, POLLOUT, deadline, e);
		if (rc == HB_ETIMEDOUT) {
			rc = hb_err_set(e, HB_ETIMEDOUT, "send: peer did not read for %.0f s",
					c->wtimeout);
			goto out;
		}
		if (rc)
			goto out;
		if (c->wsock)
			w = send(c->wfd, txt + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			w = write(c->wfd, txt + done, len - done);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
				if (errno == EINTR && c->stop && *c->stop) {
					rc = hb_err_set(e, HB_EINTR, "send: interrupted");
					goto out;
				}
				continue;
			}
			if (errno == EPIPE || errno == ECONNRESET) {
				rc = hb_err_set(e, HB_EIO, "send: peer closed the connection");
				goto out;
			}
			rc = hb_err_errno(e, HB_EIO, "send");
			goto out;
		}
		done += (size_t)w;
	}
	rc = 0;
out:
	free(txt);
	return rc;
}

/* Grows/compacts the buffer so at least one byte can be appended; returns bytes of room. */
static size_t make_room(struct hb_conn *c)
{
	if (c->off) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == c->cap && c->cap < CONN_MAX_CAP) {
		size_t ncap = c->cap ? c->cap * 2 : CONN_MIN_CAP;
		char *nb;

		if (ncap > CONN_MAX_CAP)
			ncap = CONN_MAX_CAP;
		nb = realloc(c->buf, ncap);
		if (!nb)
			return 0;
		c->buf = nb;
		c->cap = ncap;
	}
	return c->cap - c->len;
}

/* Reads what is available into the buffer: 0, HB_ETIMEDOUT, HB_EINTR, HB_EIO, HB_ENOMEM. */
static int fill(struct hb_conn *c, double deadline, struct hb_err *e)
{
	size_t room = make_room(c);
	ssize_t r;
	int rc;

	if (!room)
		return hb_err_set(e, HB_ENOMEM, "receive: out of memory");
	if (c->rchunk && room > c->rchunk)
		room = c->rchunk;
	if (c->rlimited) {
		if (c->rleft <= 0)
			return HB_ETIMEDOUT;
		c->rleft--;
	}
	if (c->rfd < 0) {
		if (!c->srclen) {
			c->eof = 1;
			return 0;
		}
		if (room > c->srclen)
			room = c->srclen;
		memcpy(c->buf + c->len, c->src, room);
		c->src += room;
		c->srclen -= room;
		c->len += room;
		return 0;
	}
	for (;;) {
		rc = wait_fd(c, c->rfd, POLLIN, deadline, e);
		if (rc)
			return rc;
		r = read(c->rfd, c->buf + c->len, room);
		if (r > 0) {
			c->len += (size_t)r;
			return 0;
		}
		if (r == 0) {
			c->eof = 1;
			return 0;
		}
		if (errno == EINTR) {
			if (c->stop && *c->stop)
				return hb_err_set(e, HB_EINTR, "receive: interrupted");
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		if (errno == ECONNRESET) {
			c->eof = 1;
			return 0;
		}
		return hb_err_errno(e, HB_EIO, "receive");
	}
}

/*
 * Jansson's messages quote the input near the error ("near 'abc'"); a malformed hello may
 * carry a token, so only the position and the reason without the quote are reported.
 */
static void json_reason(const json_error_t *je, char *buf, size_t len)
{
	const char *near = strstr(je->text, " near ");
	size_t n = near ? (size_t)(near - je->text) : strlen(je->text);

	if (n >= len)
		n = len - 1;
	memcpy(buf, je->text, n);
	buf[n] = '\0';
}

static int parse_line(const char *line, size_t n, json_t **msg, struct hb_err *e)
{
	json_error_t je;
	json_t *j, *op;
	char why[160];

	j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		json_reason(&je, why, sizeof(why));
		return hb_err_set(e, HB_EPROTO, "malformed JSON at byte %d: %s", je.position, why);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return hb_err_set(e, HB_EPROTO, "message is not a JSON object");
	}
	op = json_object_get(j, "op");
	*msg = j; /* even when invalid, so the caller can echo the id */
	if (!op)
		return hb_err_set(e, HB_EPROTO, "message has no \"op\"");
	if (!json_is_string(op))
		return hb_err_set(e, HB_EPROTO, "\"op\" is not a string");
	return 0;
}

int hb_conn_recv(struct hb_conn *c, double timeout, json_t **msg, struct hb_err *e)
{
	double deadline = timeout >= 0 ? hb_now() + timeout : -1;
	int rc;

	*msg = NULL;
	for (;;) {
		size_t avail = c->len - c->off;
		char *start = c->buf ? c->buf + c->off : NULL;
		char *nl = avail > c->scan ? memchr(start + c->scan, '\n', avail - c->scan) : NULL;

		if (nl) {
			size_t n = (size_t)(nl - start);

			c->off += n + 1;
			c->scan = 0;
			if (c->discarding) {
				c->discarding = 0;
				return hb_err_set(e, HB_EPROTO, "message over %d bytes discarded",
						  HB_PROTO_MAX);
			}
			if (n > HB_PROTO_MAX)
				return hb_err_set(e, HB_EPROTO, "message over %d bytes discarded",
						  HB_PROTO_MAX);
			if (n && start[n - 1] == '\r')
				n--;
			if (n == 0)
				continue; /* blank line: nothing to answer */
			return parse_line(start, n, msg, e);
		}
		c->scan = avail;
		if (c->discarding || avail > HB_PROTO_MAX) {
			/* the line is already too long: drop what we hold, keep dropping */
			c->discarding = 1;
			c->off = c->len = c->scan = 0;
			avail = 0;
		}
		if (c->eof) {
			if (c->discarding) {
				c->discarding = 0;
				return hb_err_set(e, HB_EPROTO, "message over %d bytes discarded",
						  HB_PROTO_MAX);
			}
			if (avail) {
				c->off = c->len = c->scan = 0;
				return hb_err_set(
					e, HB_EPROTO,
					"truncated message (%zu bytes without newline) at end "
					"of stream",
					avail);
			}
			return hb_err_set(e, HB_EIO, "connection closed by peer");
		}
		rc = fill(c, deadline, e);
		if (rc == HB_ETIMEDOUT && c->discarding && !c->rlimited)
			return hb_err_set(e, HB_EPROTO,
					  "message exceeds %d bytes (1 MiB) and no newline came "
					  "within %.3g s",
					  HB_PROTO_MAX, timeout);
		if (rc == HB_ETIMEDOUT)
			return hb_err_set(e, HB_ETIMEDOUT, "no message within %.3g s", timeout);
		if (rc)
			return rc;
	}
}

int hb_conn_recv_buffered(struct hb_conn *c, int reads, json_t **msg, struct hb_err *e)
{
	int rc;

	c->rlimited = 1;
	c->rleft = reads;
	rc = hb_conn_recv(c, 0, msg, e);
	c->rlimited = 0;
	return rc;
}

/* Copies an untrusted peer string into buf with control characters replaced. */
static void sanitize(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
}

/* An "error" reply turned into e: code from its "code", text from its "message". */
static int error_reply(const json_t *m, const char *what, struct hb_err *e)
{
	const char *code = json_string_value(json_object_get(m, "code"));
	const char *text = json_string_value(json_object_get(m, "message"));
	char clean[900];

	sanitize(text ? text : "(no message)", clean, sizeof(clean));
	return hb_err_set(e, hb_proto_code_parse(code), "agent: %s: %s", what, clean);
}

/* The reply id as a number, or -1 when absent or not an integer. */
static long long reply_id(const json_t *m)
{
	const json_t *id = json_object_get(m, "id");

	return json_is_integer(id) ? (long long)json_integer_value(id) : -1;
}

static int check_version(const json_t *m, struct hb_err *e)
{
	const json_t *p = json_object_get(m, "proto");

	if (!json_is_integer(p))
		return hb_err_set(e, HB_EPROTO, "agent: hello without an integer \"proto\"");
	if (json_integer_value(p) != HB_PROTO_VERSION)
		return hb_err_set(e, HB_EPROTO, "agent speaks protocol %lld, host speaks %d",
				  (long long)json_integer_value(p), HB_PROTO_VERSION);
	return 0;
}

int hb_agent_hello(struct hb_conn *c, const char *token, double timeout, json_t **hello,
		   struct hb_err *e)
{
	return hb_agent_hello_wait(c, token, timeout, NULL, NULL, hello, e);
}

int hb_agent_hello_wait(struct hb_conn *c, const char *token, double timeout,
			hb_hello_check_fn check, void *arg, json_t **hello, struct hb_err *e)
{
	double deadline = hb_now() + (timeout >= 0 ? timeout : 1e9);
	json_t *req, *m = NULL;
	int rc;

	*hello = NULL;
	req = json_pack("{s:s, s:i}", "op", "hello", "proto", HB_PROTO_VERSION);
	if (token)
		json_object_set_new(req, "token", json_string(token));
	rc = hb_conn_send(c, req, e);
	json_decref(req);
	if (rc)
		return rc;
	for (;;) {
		struct hb_err le = {0}, ce = {0};
		const char *op;
		double left = deadline - hb_now();

		if (left <= 0)
			return hb_err_set(e, HB_ETIMEDOUT,
					  "agent did not answer hello within %.3g s", timeout);
		rc = hb_conn_recv(c, check && left > 0.25 ? 0.25 : left, &m, &le);
		if (rc == HB_ETIMEDOUT) {
			json_decref(m);
			m = NULL;
			if (check && (rc = check(arg, 0, &ce)))
				return hb_err_set(e, rc, "%s", ce.msg);
			continue;
		}
		if (rc) {
			int crc;
			json_decref(m);
			if (check && rc == HB_EIO && (crc = check(arg, 1, &ce)))
				return hb_err_set(e, crc, "%s", ce.msg);
			return hb_err_set(e, rc, "agent hello: %s", le.msg);
		}
		op = json_string_value(json_object_get(m, "op"));
		if (!strcmp(op, "hello")) {
			rc = check_version(m, e);
			if (rc) {
				json_decref(m);
				return rc;
			}
			*hello = m;
			return 0;
		}
		if (!strcmp(op, "error") && reply_id(m) < 0) {
			const json_t *p = json_object_get(m, "proto");
			if (json_is_integer(p) && json_integer_value(p) != HB_PROTO_VERSION)
				rc = check_version(m, e);
			else
				rc = error_reply(m, "hello refused", e);
			json_decref(m);
			return rc;
		}
		json_decref(m); /* a stale reply from an earlier conversation */
		m = NULL;
	}
}

/*
 * Waits for the reply to request id until deadline: 0 with *reply (op "result"), or the
 * agent's error. Replies for other ids are stale and skipped.
 */
static int wait_reply(struct hb_conn *c, long long id, double deadline, double budget,
		      const char *what, json_t **reply, struct hb_err *e)
{
	json_t *m = NULL;
	int rc;

	*reply = NULL;
	for (;;) {
		const char *op;
		long long rid;
		double left = deadline - hb_now();

		if (left <= 0)
			return hb_err_set(e, HB_ETIMEDOUT, "agent: no reply to %s within %.0f s",
					  what, budget);
		rc = hb_conn_recv(c, left, &m, e);
		if (rc == HB_ETIMEDOUT) {
			json_decref(m);
			continue;
		}
		if (rc) {
			json_decref(m);
			hb_err_prefix(e, "agent: %s", what);
			return rc;
		}
		op = json_string_value(json_object_get(m, "op"));
		rid = reply_id(m);
		if (!strcmp(op, "error") && rid < 0) {
			/* the agent could not attribute it: our request was not understood */
			rc = error_reply(m, what, e);
			json_decref(m);
			return rc;
		}
		if (rid != id) {
			json_decref(m);
			continue;
		}
		if (!strcmp(op, "error")) {
			rc = error_reply(m, what, e);
			json_decref(m);
			return rc;
		}
		if (strcmp(op, "result")) {
			json_decref(m);
			return hb_err_set(e, HB_EPROTO, "agent: %s: unexpected reply op", what);
		}
		*reply = m;
		return 0;
	}
}

int hb_agent_run(struct hb_conn *c, int id, const char *workload, const json_t *params,
		 const struct hb_run_opts *opts, struct hb_sample *out, struct hb_err *e)
{
	json_t *req, *reply = NULL;
	double budget;
	char what[96];
	int rc;

	hb_sample_init(out);
	if (id < 0 || !workload || !opts || !isfinite(opts->t.timeout) || opts->t.timeout <= 0)
		return hb_err_set(e, HB_EINVAL, "agent run: bad arguments");
	hb_snprintf(what, sizeof(what), "run %s (id %d)", workload, id);
	req = json_pack("{s:s, s:i, s:s, s:o, s:f, s:f, s:f}", "op", "run", "id", id, "workload",
			workload, "params", params ? json_deep_copy(params) : json_object(),
			"duration", opts->t.duration, "ramp", opts->t.ramp, "timeout",
			opts->t.timeout);
	if (!req)
		return hb_err_set(e, HB_EINVAL, "%s: cannot build the request", what);
	if (opts->server_addr)
		json_object_set_new(req, "server",
				    json_pack("{s:s, s:i}", "addr", opts->server_addr, "port",
					      opts->server_port));
	rc = hb_conn_send(c, req, e);
	json_decref(req);
	if (rc) {
		hb_err_prefix(e, "agent: %s", what);
		return rc;
	}
	budget = opts->t.timeout + HB_TIMING_REPLY_SLACK;
	rc = wait_reply(c, id, hb_now() + budget, budget, what, &reply, e);
	if (rc)
		return rc;
	rc = hb_sample_from_json(json_object_get(reply, "sample"), out, e);
	if (!rc) {
		const json_t *el = json_object_get(reply, "elapsed_s");
		if (json_is_number(el) && json_number_value(el) > 0 && json_number_value(el) < 1e6)
			out->guest_s = json_number_value(el);
	}
	json_decref(reply);
	if (rc)
		hb_err_prefix(e, "agent: %s", what);
	return rc;
}

/* A request with nothing but op and id, answered by an empty result (ping, shutdown). */
static int bare_request(struct hb_conn *c, const char *op, int id, double timeout, struct hb_err *e)
{
	json_t *req = json_pack("{s:s, s:i}", "op", op, "id", id), *reply = NULL;
	int rc;

	rc = hb_conn_send(c, req, e);
	json_decref(req);
	if (rc) {
		hb_err_prefix(e, "agent: %s", op);
		return rc;
	}
	rc = wait_reply(c, id, hb_now() + timeout, timeout, op, &reply, e);
	json_decref(reply);
	return rc;
}

int hb_agent_ping(struct hb_conn *c, int id, double timeout, double *rtt, struct hb_err *e)
{
	double t0 = hb_now();
	int rc = bare_request(c, "ping", id, timeout, e);

	*rtt = rc ? 0 : hb_now() - t0;
	return rc;
}

int hb_agent_shutdown(struct hb_conn *c, int id, double timeout, struct hb_err *e)
{
	return bare_request(c, "shutdown", id, timeout, e);
}
