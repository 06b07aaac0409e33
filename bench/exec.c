/*
 * exec.c — the isolated executor every workload run goes through (see exec.h): the native
 * target and the guest agent share it, so reply keys, poll interval, size limit, timeouts and
 * messages cannot drift apart.
 */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"

#define EXEC_GRACE 5.0 /* seconds a finished child gets to exit before SIGKILL */

/* Child side: runs the workload and writes {"rc","message","sample"} to fd. Never returns. */
static void child_run(const struct hb_workload *wl, const json_t *params,
		      const struct hb_wl_ctx *ctx, int fd, int go_fd, pid_t parent,
		      const int *close_fds, size_t nclose)
{
	static const int fatal[] = {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGSEGV,
				    SIGBUS, SIGILL, SIGFPE,  SIGABRT};
	struct hb_sample s;
	struct hb_err e = {0};
	json_t *res;
	char *txt;
	size_t i, len, done = 0;
	int devnull, rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	setpgid(0, 0);
	/* default dispositions: a crash is a death by signal the parent can name */
	for (i = 0; i < HB_ARRAY_SIZE(fatal); i++)
		signal(fatal[i], SIG_DFL);
	for (i = 0; i < nclose; i++)
		if (close_fds[i] > 2 && close_fds[i] != fd && close_fds[i] != go_fd)
			close(close_fds[i]);
	/* the protocol may run over stdin/stdout: keep workloads (and what they exec) off it */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 0);
		close(devnull);
	}
	dup2(2, 1);
	if (go_fd >= 0) {
		/* held until the parent has attached its probes (or gave up: then exit) */
		char c;
		ssize_t r;
		do
			r = read(go_fd, &c, 1);
		while (r < 0 && errno == EINTR);
		if (r != 1)
			_exit(124);
		close(go_fd);
	}

	hb_sample_init(&s);
	rc = wl->run(ctx, params, &s, &e);
	if (rc && !e.msg[0])
		hb_err_set(&e, rc, "%s failed: %s", wl->name, hb_strerror(rc));
	res = json_pack("{s:i, s:s}", "rc", rc, "message", e.msg);
	if (!res)
		res = json_pack("{s:i, s:s}", "rc", rc ? rc : HB_EPROTO, "message",
				"(message not valid UTF-8)");
	if (!rc)
		json_object_set_new(res, "sample", hb_sample_to_json(&s));
	hb_sample_free(&s);
	txt = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	if (!txt)
		_exit(126);
	len = strlen(txt);
	while (done < len) {
		ssize_t w = write(fd, txt + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(125);
		done += (size_t)w;
	}
	free(txt);
	_exit(0);
}

/* Waits for pid until deadline; SIGKILLs its group when the deadline passes. */
static int reap(pid_t pid, double grace, int *status)
{
	double deadline = hb_now() + grace;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (hb_now() > deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			deadline = hb_now() + 10.0;
			grace = -1;
		}
		if (grace < 0 && hb_now() > deadline)
			return -1; /* unkillable (D state): give up rather than hang */
		hb_sleep(0.01, NULL);
	}
}

int hb_wl_exec(const struct hb_workload *wl, const json_t *params, const struct hb_wl_ctx *ctx,
	       const struct hb_exec_opts *o, struct hb_sample *out, struct hb_err *e)
{
	int p[2], go[2] = {-1, -1}, status = 0, rc = 0, exited = 0, timed_out = 0, stopped = 0;
	int held = o && o->on_forked;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	double deadline = hb_now() + ctx->timeout;
	pid_t pid, self = getpid();
	json_t *res = NULL;
	json_error_t je;

	hb_sample_init(out);
	if (pipe2(p, O_CLOEXEC))
		return hb_err_errno(e, HB_EIO, "%s: pipe", wl->name);
	if (held && pipe2(go, O_CLOEXEC)) {
		close(p[0]);
		close(p[1]);
		return hb_err_errno(e, HB_EIO, "%s: pipe", wl->name);
	}
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		if (held) {
			close(go[0]);
			close(go[1]);
		}
		return hb_err_errno(e, HB_EIO, "%s: fork", wl->name);
	}
	if (pid == 0) {
		close(p[0]);
		if (held)
			close(go[1]);
		child_run(wl, params, ctx, p[1], go[0], self, o ? o->close_fds : NULL,
			  o ? o->nclose : 0);
	}
	setpgid(pid, pid); /* also done by the child: whichever runs first */
	close(p[1]);
	if (held) {
		close(go[0]);
		rc = o->on_forked(o->arg, pid, e);
		if (rc == 0 && write(go[1], "g", 1) != 1)
			rc = hb_err_errno(e, HB_EIO, "%s: cannot start the workload process",
					  wl->name);
		close(go[1]);
		if (rc) {
			close(p[0]);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			reap(pid, 0.0, &status);
			if (o->on_done)
				o->on_done(o->arg);
			return rc;
		}
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		double left = deadline - hb_now();
		int r;

		if (ctx->stop && *ctx->stop) {
			stopped = 1;
			break;
		}
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		r = poll(&pf, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR) {
			rc = hb_err_errno(e, HB_EIO, "%s: poll", wl->name);
			break;
		}
		if (r > 0) {
			ssize_t n;
			if (cap - len < 65536) {
				char *nb;
				if (cap >= HB_PROTO_MAX) {
					rc = hb_err_set(e, HB_EPROTO,
							"%s: result larger than %d bytes", wl->name,
							HB_PROTO_MAX);
					break;
				}
				nb = realloc(buf, cap ? cap * 2 : 65536);
				if (!nb) {
					rc = hb_err_set(e, HB_ENOMEM, "%s: out of memory",
							wl->name);
					break;
				}
				buf = nb;
				cap = cap ? cap * 2 : 65536;
			}
			n = read(p[0], buf + len, cap - len - 1);
			if (n > 0) {
				len += (size_t)n;
				continue;
			}
			if (n == 0)
				break; /* EOF: the child wrote everything and closed */
			if (errno != EINTR && errno != EAGAIN)
				break;
		}
		/* a grandchild that inherited the pipe must not keep us waiting after the child */
		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = 1;
		} else if (exited) {
			break;
		}
	}
	close(p[0]);
	if (held && o->on_done)
		o->on_done(o->arg); /* before the reap: probes still see the process */
	if (timed_out || stopped || rc) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	if (!exited && reap(pid, timed_out || stopped || rc ? 0.0 : EXEC_GRACE, &status)) {
		if (!rc)
			rc = hb_err_set(e, HB_ECHILD, "%s: workload process could not be reaped",
					wl->name);
	}
	kill(-pid, SIGKILL); /* whatever the workload left behind in its group */
	if (rc)
		goto out;
	if (stopped) {
		rc = hb_err_set(e, HB_EINTR, "%s: interrupted; workload killed", wl->name);
		goto out;
	}
	if (timed_out) {
		rc = hb_err_set(e, HB_ETIMEDOUT, "%s: no result within %g s; workload killed",
				wl->name, ctx->timeout);
		goto out;
	}
	if (WIFSIGNALED(status)) {
		rc = hb_err_set(e, HB_ECHILD, "%s: workload process crashed (signal %d, %s)",
				wl->name, WTERMSIG(status), strsignal(WTERMSIG(status)));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !len) {
		rc = hb_err_set(e, HB_ECHILD, "%s: workload process exited with status %d",
				wl->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	res = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(res) || !json_is_integer(json_object_get(res, "rc"))) {
		rc = hb_err_set(e, HB_EPROTO, "%s: workload process sent an unreadable result",
				wl->name);
		goto out;
	}
	rc = (int)json_integer_value(json_object_get(res, "rc"));
	if (rc) {
		const char *m = json_string_value(json_object_get(res, "message"));
		if (rc > 0 || rc < HB_ECHILD)
			rc = HB_EIO;
		hb_err_set(e, rc, "%s", m && *m ? m : hb_strerror(rc));
		goto out;
	}
	rc = hb_sample_from_json(json_object_get(res, "sample"), out, e);
out:
	json_decref(res);
	free(buf);
	return rc;
}
