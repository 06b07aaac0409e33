/*
 * qmp.c — a small synchronous QMP client over a UNIX socket (see qmp.h). It waits for the
 * socket while QEMU starts, reads the greeting, negotiates qmp_capabilities, then runs one
 * command at a time. Each command carries an "id" so a stale reply left over from an earlier
 * timed-out command can never be taken for the answer to a later one; asynchronous events are
 * skipped. A mutex serialises commands so a probe thread and the backend may share the client.
 * A handle may instead carry commands over a caller's transport (hb_qmp_open_custom: libvirt's
 * monitor passthrough), with the same reply handling.
 */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define QMP_MAX_LINE (8 * 1024 * 1024)

struct hb_qmp {
	int fd; /* -1 with a custom transport */
	hb_qmp_send_fn send;
	void *send_arg;
	char *buf; /* received bytes not yet consumed */
	size_t len, cap;
	long long next_id;
	int broken; /* EOF or I/O error seen: every later command fails fast */
	pthread_mutex_t lock;
};

/* Reads one line (without the newline) into a malloc'd string before the deadline. */
static int read_line(struct hb_qmp *q, double deadline, char **line, struct hb_err *e)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - q->buf);
			char *s = malloc(n + 1);
			if (!s)
				return hb_err_set(e, HB_ENOMEM, "qmp: out of memory");
			memcpy(s, q->buf, n);
			s[n] = '\0';
			memmove(q->buf, nl + 1, q->len - n - 1);
			q->len -= n + 1;
			*line = s;
			return 0;
		}
		if (q->len >= QMP_MAX_LINE) {
			q->broken = 1;
			return hb_err_set(e, HB_EPROTO, "qmp: message longer than %d bytes",
					  QMP_MAX_LINE);
		}
		double left = deadline - hb_now();
		if (left <= 0)
			return hb_err_set(e, HB_ETIMEDOUT, "qmp: no reply from QEMU");
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		int ms = (int)(left * 1000) + 1;
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			q->broken = 1;
			return hb_err_errno(e, HB_EIO, "qmp: poll");
		}
		if (r == 0)
			continue;
		if (q->cap - q->len < 4096) {
			size_t ncap = q->cap ? q->cap * 2 : 16384;
			char *nb = realloc(q->buf, ncap);
			if (!nb)
				return hb_err_set(e, HB_ENOMEM, "qmp: out of memory");
			q->buf = nb;
			q->cap = ncap;
		}
		ssize_t got = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			q->broken = 1;
			return hb_err_errno(e, HB_EIO, "qmp: read");
		}
		if (got == 0) {
			q->broken = 1;
			return hb_err_set(e, HB_EIO, "qmp: connection closed by QEMU");
		}
		q->len += (size_t)got;
	}
}

/* Reads one JSON object (skipping blank lines). */
static int read_msg(struct hb_qmp *q, double deadline, json_t **out, struct hb_err *e)
{
	for (;;) {
		char *line = NULL;
		json_error_t jerr;
		int rc = read_line(q, deadline, &line, e);
		if (rc)
			return rc;
		if (line[strspn(line, " \t\r")] == '\0') {
			free(line);
			continue;
		}
		json_t *j = json_loads(line, 0, &jerr);
		if (!j && strstr(jerr.text, "too big"))
			/* a u64 counter above INT64_MAX: take every number as a double instead */
			j = json_loads(line, JSON_DECODE_INT_AS_REAL, &jerr);
		free(line);
		if (!j || !json_is_object(j)) {
			json_decref(j);
			return hb_err_set(e, HB_EPROTO, "qmp: malformed message from QEMU: %s",
					  j ? "not an object" : jerr.text);
		}
		*out = j;
		return 0;
	}
}

static int send_all(struct hb_qmp *q, const char *s, size_t n, double deadline, struct hb_err *e)
{
	while (n) {
		double left = deadline - hb_now();
		if (left <= 0)
			return hb_err_set(e, HB_ETIMEDOUT, "qmp: QEMU does not read its socket");
		struct pollfd p = {.fd = q->fd, .events = POLLOUT};
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t w = send(q->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0) {
			q->broken = 1;
			return hb_err_errno(e, HB_EIO, "qmp: send");
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The socket transport: sends msg (one line) and waits for the reply carrying id. */
static int exchange_socket(struct hb_qmp *q, const char *text, long long id, double deadline,
			   json_t **reply, struct hb_err *e)
{
	int rc = send_all(q, text, strlen(text), deadline, e);

	while (!rc) {
		rc = read_msg(q, deadline, reply, e);
		if (rc)
			break;
		json_t *rid = json_object_get(*reply, "id");
		if (!json_object_get(*reply, "event") &&
		    !(rid && !(json_is_integer(rid) && json_integer_value(rid) == id)))
			return 0;
		/* an event, or the late reply to an earlier command that timed out */
		json_decref(*reply);
		*reply = NULL;
	}
	return rc;
}

/* A caller's transport (e.g. libvirt's monitor passthrough): one command, one reply text. */
static int exchange_custom(struct hb_qmp *q, const char *text, double timeout, json_t **reply,
			   struct hb_err *e)
{
	char *rtext = NULL;
	json_error_t jerr;
	int rc = q->send(q->send_arg, text, timeout, &rtext, e);

	if (rc)
		return rc;
	*reply = json_loads(rtext ? rtext : "", 0, &jerr);
	if (!*reply && strstr(jerr.text, "too big"))
		*reply = json_loads(rtext, JSON_DECODE_INT_AS_REAL, &jerr);
	free(rtext);
	if (!json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		return hb_err_set(e, HB_EPROTO, "qmp: malformed reply: %s", jerr.text);
	}
	return 0;
}

/* Sends one command and waits for its reply; caller holds the lock. */
static int cmd_locked(struct hb_qmp *q, const char *cmd, json_t *args, double timeout, json_t **ret,
		      struct hb_err *e)
{
	double deadline = hb_now() + timeout;
	json_t *msg = NULL, *reply = NULL;
	char *text = NULL;
	long long id = ++q->next_id;
	int rc;

	if (args && !json_is_object(args)) {
		json_decref(args);
		return hb_err_set(e, HB_EINVAL, "qmp: %s: arguments must be an object", cmd);
	}
	if (q->broken) {
		json_decref(args);
		return hb_err_set(e, HB_EIO, "qmp: %s: connection to QEMU is gone", cmd);
	}
	msg = json_object();
	if (!msg) {
		json_decref(args);
		return hb_err_set(e, HB_ENOMEM, "qmp: out of memory");
	}
	json_object_set_new(msg, "execute", json_string(cmd));
	if (args)
		json_object_set_new(msg, "arguments", args);
	if (!q->send) /* a custom transport matches replies itself */
		json_object_set_new(msg, "id", json_integer(id));
	text = json_dumps(msg, JSON_COMPACT);
	if (!text) {
		rc = hb_err_set(e, HB_ENOMEM, "qmp: cannot encode %s", cmd);
		goto out;
	}
	size_t n = strlen(text);
	char *nl = realloc(text, n + 2);
	if (!nl) {
		rc = hb_err_set(e, HB_ENOMEM, "qmp: out of memory");
		goto out;
	}
	text = nl;
	if (!q->send) {
		text[n] = '\n';
		text[n + 1] = '\0';
	}
	rc = q->send ? exchange_custom(q, text, timeout, &reply, e)
		     : exchange_socket(q, text, id, deadline, &reply, e);
	if (rc)
		goto out;
	json_t *err = json_object_get(reply, "error");
	if (err) {
		const char *cls = json_string_value(json_object_get(err, "class"));
		const char *desc = json_string_value(json_object_get(err, "desc"));
		rc = hb_err_set(e, HB_EPROTO, "qmp: %s failed: %s: %s", cmd, cls ? cls : "?",
				desc ? desc : "(no description)");
		goto out;
	}
	json_t *r = json_object_get(reply, "return");
	if (!r) {
		rc = hb_err_set(e, HB_EPROTO, "qmp: %s: reply has neither return nor error", cmd);
		goto out;
	}
	if (ret)
		*ret = json_incref(r);
	rc = 0;
out:
	if (rc == HB_ETIMEDOUT)
		hb_err_prefix(e, "%s (%.1f s)", cmd, timeout);
	free(text);
	json_decref(reply);
	json_decref(msg);
	return rc;
}

int hb_qmp_cmd(struct hb_qmp *q, const char *cmd, json_t *args, double timeout, json_t **ret,
	       struct hb_err *e)
{
	int rc;

	if (ret)
		*ret = NULL;
	if (!q || !cmd) {
		json_decref(args);
		return hb_err_set(e, HB_EINVAL, "qmp: no connection");
	}
	pthread_mutex_lock(&q->lock);
	rc = cmd_locked(q, cmd, args, timeout, ret, e);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int hb_qmp_open_custom(hb_qmp_send_fn send, void *arg, struct hb_qmp **out, struct hb_err *e)
{
	struct hb_qmp *q;

	*out = NULL;
	if (!send)
		return hb_err_set(e, HB_EINVAL, "qmp: no transport");
	q = calloc(1, sizeof(*q));
	if (!q)
		return hb_err_set(e, HB_ENOMEM, "qmp: out of memory");
	q->fd = -1;
	q->send = send;
	q->send_arg = arg;
	pthread_mutex_init(&q->lock, NULL);
	*out = q;
	return 0;
}

int hb_qmp_connect(const char *path, double timeout, struct hb_qmp **out, struct hb_err *e)
{
	double deadline = hb_now() + timeout;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct hb_qmp *q = NULL;
	json_t *greet = NULL;
	int rc;

	*out = NULL;
	if (hb_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)))
		return hb_err_set(e, HB_EINVAL, "qmp: socket path too long: %s", path);
	q = calloc(1, sizeof(*q));
	if (!q)
		return hb_err_set(e, HB_ENOMEM, "qmp: out of memory");
	q->fd = -1;
	pthread_mutex_init(&q->lock, NULL);
	for (;;) {
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0) {
			rc = hb_err_errno(e, HB_EIO, "qmp: socket");
			goto out;
		}
		if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int err = errno;
		close(q->fd);
		q->fd = -1;
		if (err != ENOENT && err != ECONNREFUSED && err != EINTR && err != EAGAIN) {
			errno = err;
			rc = hb_err_errno(e, HB_EIO, "qmp: connect %s", path);
			goto out;
		}
		if (hb_now() >= deadline) {
			rc = hb_err_set(e, HB_ETIMEDOUT, "qmp: %s did not accept within %.1f s",
					path, timeout);
			goto out;
		}
		hb_sleep(0.02, NULL);
	}
	rc = read_msg(q, deadline, &greet, e);
	if (rc) {
		hb_err_prefix(e, "qmp greeting");
		goto out;
	}
	if (!json_is_object(json_object_get(greet, "QMP"))) {
		rc = hb_err_set(e, HB_EPROTO, "qmp: %s: first message is not a QMP greeting", path);
		goto out;
	}
	double left = deadline - hb_now();
	rc = cmd_locked(q, "qmp_capabilities", NULL, left > 1.0 ? left : 1.0, NULL, e);
	if (rc)
		goto out;
	*out = q;
	q = NULL;
out:
	json_decref(greet);
	hb_qmp_close(q);
	return rc;
}

void hb_qmp_close(struct hb_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	pthread_mutex_destroy(&q->lock);
	free(q->buf);
	free(q);
}
