/*
 * child.c — starting, watching and killing helper processes for the workloads. Every child
 * runs in its own process group with PR_SET_PDEATHSIG, so killing the group takes its own
 * children (fio's job processes) with it, and a crash of ours does not leave it behind. Waits
 * poll the pipes in short slices so a deadline or the stop flag is noticed within 100 ms.
 */
#include "child.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define ERR_KEEP (16 * 1024)

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Common first steps in a new child: own process group, die with the parent, clean signals. */
static void child_setup(pid_t parent)
{
	sigset_t none;
	struct sigaction sa;
	int s;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int hb_child_spawn(struct hb_child *c, char *const argv[], const char *in, struct hb_err *e)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1}, inp[2] = {-1, -1};
	size_t inlen = in ? strlen(in) : 0;
	pid_t parent = getpid(), pid;

	c->pid = 0;
	c->out_fd = c->err_fd = -1;
	if (inlen > 60 * 1024)
		return hb_err_set(e, HB_EINVAL, "%s: input of %zu bytes is too large", argv[0],
				  inlen);
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || (in && pipe2(inp, O_CLOEXEC))) {
		hb_err_errno(e, HB_EIO, "%s: cannot create pipes", argv[0]);
		goto fail;
	}
	/* The input fits in the pipe buffer, so it is written before the fork and never blocks. */
	if (in && write(inp[1], in, inlen) != (ssize_t)inlen) {
		hb_err_errno(e, HB_EIO, "%s: cannot write its input", argv[0]);
		goto fail;
	}
	close_fd(&inp[1]);
	pid = fork();
	if (pid < 0) {
		hb_err_errno(e, HB_EIO, "%s: fork failed", argv[0]);
		goto fail;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		child_setup(parent);
		dup2(in ? inp[0] : nul, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&inp[0]);
	c->pid = pid;
	c->out_fd = out[0];
	c->err_fd = err[0];
	return 0;
fail:
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&inp[0]);
	close_fd(&inp[1]);
	return HB_EIO;
}

int hb_child_fork(struct hb_child *c, hb_child_fn fn, void *arg, struct hb_err *e)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	pid_t parent = getpid(), pid;

	c->pid = 0;
	c->out_fd = c->err_fd = -1;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		hb_err_errno(e, HB_EIO, "cannot create pipes");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		hb_err_errno(e, HB_EIO, "fork failed");
		goto fail;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR), rc;
		child_setup(parent);
		signal(SIGPIPE, SIG_IGN);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		rc = fn(arg, out[1]);
		_exit(rc & 255);
	}
	setpgid(pid, pid);
	close_fd(&out[1]);
	close_fd(&err[1]);
	c->pid = pid;
	c->out_fd = out[0];
	c->err_fd = err[0];
	return 0;
fail:
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	return HB_EIO;
}

/* Whether pid exists and is not a zombie. */
static int proc_alive(pid_t pid)
{
	char path[64], buf[512], *p, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 1, " %c", &st);
	fclose(f);
	return st != 0 && st != 'Z' && st != 'X';
}

/*
 * SIGKILLs root and all its descendants. Some helpers leave our process group (fio's job
 * processes call setsid()), so the group kill is not enough: freeze root so it cannot fork,
 * walk the parent links in /proc, then kill everything found.
 */
static void kill_tree(pid_t root)
{
	pid_t *pid = NULL, *ppid = NULL, *tree = NULL;
	size_t n = 0, cap = 0, nt = 0, i, j;
	DIR *d;
	struct dirent *de;

	kill(root, SIGSTOP);
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		char path[300], buf[512], *p;
		long v;
		int pp;
		FILE *f;
		if (hb_parse_long(de->d_name, 1, INT_MAX, &v))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %*c %d", &pp) == 1) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				pid_t *a = realloc(pid, nc * sizeof(*a)), *b;
				if (a)
					pid = a;
				b = a ? realloc(ppid, nc * sizeof(*b)) : NULL;
				if (b)
					ppid = b;
				if (!a || !b) {
					fclose(f);
					break;
				}
				cap = nc;
			}
			pid[n] = (pid_t)v;
			ppid[n++] = (pid_t)pp;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	tree = malloc((n + 1) * sizeof(*tree));
	if (tree) {
		tree[nt++] = root;
		for (i = 0; i < nt; i++)
			for (j = 0; j < n; j++)
				if (ppid[j] == tree[i] && pid[j] != root && nt <= n)
					tree[nt++] = pid[j];
		for (i = 1; i < nt; i++)
			kill(tree[i], SIGKILL);
	}
	kill(root, SIGKILL);
	/* A killed process may sit in uninterruptible I/O (direct I/O in flight) for a while:
	 * wait (bounded) until every descendant is gone or a zombie, so none outlives the call. */
	for (j = 0; tree && j < 500; j++) {
		int alive = 0;
		for (i = 1; i < nt && !alive; i++)
			alive = proc_alive(tree[i]);
		if (!alive)
			break;
		usleep(10000);
	}
	free(tree);
	free(pid);
	free(ppid);
}

void hb_child_kill(struct hb_child *c)
{
	int st, i;

	if (c->pid > 0) {
		kill_tree(c->pid);
		kill(-c->pid, SIGKILL);
		/* SIGKILL cannot be ignored; a child stuck in uninterruptible I/O gets 10 s. */
		for (i = 0; i < 1000; i++) {
			pid_t r = waitpid(c->pid, &st, WNOHANG);
			if (r == c->pid || (r < 0 && errno != EINTR))
				break;
			usleep(10000);
		}
		c->pid = 0;
	}
	close_fd(&c->out_fd);
	close_fd(&c->err_fd);
}

void hb_child_out_free(struct hb_child_out *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

const char *hb_tail(const char *s, size_t max)
{
	size_t l;
	const char *p;

	if (!s)
		return "";
	l = strlen(s);
	if (l <= max)
		return s;
	p = s + l - max;
	{
		const char *nl = strchr(p, '\n');
		if (nl && nl[1])
			p = nl + 1;
	}
	return p;
}

/* Appends n bytes to a growing buffer; returns -1 on allocation failure. */
static int buf_add(char **b, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 16384;
		char *nb;
		while (nc < *len + n + 1)
			nc *= 2;
		nb = realloc(*b, nc);
		if (!nb)
			return -1;
		*b = nb;
		*cap = nc;
	}
	memcpy(*b + *len, data, n);
	*len += n;
	(*b)[*len] = '\0';
	return 0;
}

int hb_child_wait(struct hb_child *c, const char *what, double deadline,
		  volatile sig_atomic_t *stop, size_t max_out, struct hb_child_out *r,
		  struct hb_err *e)
{
	size_t ocap = 0, ecap = 0;
	int exited = 0, rc = 0;
	char chunk[65536];

	memset(r, 0, sizeof(*r));
	if (c->pid <= 0)
		return hb_err_set(e, HB_EINVAL, "%s: not running", what);
	for (;;) {
		struct pollfd pfd[2];
		int nfd = 0, ms = 100, i;
		siginfo_t si;

		if (stop && *stop) {
			rc = hb_err_set(e, HB_EINTR, "%s: interrupted, killed", what);
			goto kill;
		}
		if (deadline > 0) {
			double left = deadline - hb_now();
			if (left <= 0) {
				rc = hb_err_set(e, HB_ETIMEDOUT,
						"%s did not finish before its deadline, killed",
						what);
				goto kill;
			}
			if (left < 0.1)
				ms = (int)(left * 1000) + 1;
		}
		if (!exited) {
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == c->pid) {
				/* Leader gone: kill stragglers of its group while the id is still
				 * ours. */
				exited = 1;
				kill(-c->pid, SIGKILL);
			}
		}
		if (exited && c->out_fd < 0 && c->err_fd < 0)
			break;
		if (c->out_fd >= 0)
			pfd[nfd++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
		if (c->err_fd >= 0)
			pfd[nfd++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
		if (poll(pfd, (nfds_t)nfd, exited && !nfd ? 0 : ms) < 0) {
			if (errno == EINTR)
				continue;
			rc = hb_err_errno(e, HB_EIO, "%s: poll failed", what);
			goto kill;
		}
		for (i = 0; i < nfd; i++) {
			ssize_t n;
			int is_out = pfd[i].fd == c->out_fd;
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close_fd(is_out ? &c->out_fd : &c->err_fd);
				continue;
			}
			if (is_out) {
				if (r->outlen + (size_t)n > max_out) {
					rc = hb_err_set(e, HB_EPROTO,
							"%s: more than %zu bytes of output", what,
							max_out);
					goto kill;
				}
				if (buf_add(&r->out, &r->outlen, &ocap, chunk, (size_t)n)) {
					rc = hb_err_set(e, HB_ENOMEM, "%s: out of memory", what);
					goto kill;
				}
			} else {
				if (buf_add(&r->err, &r->errlen, &ecap, chunk, (size_t)n)) {
					rc = hb_err_set(e, HB_ENOMEM, "%s: out of memory", what);
					goto kill;
				}
				if (r->errlen > 2 * ERR_KEEP) {
					memmove(r->err, r->err + r->errlen - ERR_KEEP,
						ERR_KEEP + 1);
					r->errlen = ERR_KEEP;
				}
			}
		}
	}
	for (;;) {
		pid_t w = waitpid(c->pid, &r->status, 0);
		if (w == c->pid)
			break;
		if (w < 0 && errno != EINTR) {
			rc = hb_err_errno(e, HB_EIO, "%s: waitpid failed", what);
			break;
		}
	}
	c->pid = 0;
	goto out;
kill:
	hb_child_kill(c);
out:
	close_fd(&c->out_fd);
	close_fd(&c->err_fd);
	if (!r->out && !buf_add(&r->out, &r->outlen, &ocap, "", 0))
		r->outlen = 0;
	if (!r->err && !buf_add(&r->err, &r->errlen, &ecap, "", 0))
		r->errlen = 0;
	return rc;
}

int hb_child_run(char *const argv[], const char *in, double timeout, volatile sig_atomic_t *stop,
		 struct hb_child_out *r, struct hb_err *e)
{
	struct hb_child c;
	struct hb_child_out tmp;
	char st[64];
	int rc;

	rc = hb_child_spawn(&c, argv, in, e);
	if (rc)
		return rc;
	rc = hb_child_wait(&c, argv[0], timeout > 0 ? hb_now() + timeout : 0, stop, 16 << 20, &tmp,
			   e);
	if (!rc && !(WIFEXITED(tmp.status) && WEXITSTATUS(tmp.status) == 0)) {
		hb_status_str(tmp.status, st, sizeof(st));
		rc = hb_err_set(e, HB_ECHILD, "%s failed (%s): %s", argv[0], st,
				tmp.err && tmp.err[0] ? hb_tail(tmp.err, 400) : "(no message)");
	}
	if (r)
		*r = tmp;
	else
		hb_child_out_free(&tmp);
	return rc;
}

struct hb_server_at hb_server_at(const char *netns, const char *bind, int port)
{
	struct hb_server_at at = {.netns = netns && *netns ? netns : NULL,
				  .bind = bind && *bind ? bind : NULL,
				  .port = port};

	return at;
}

int hb_child_server_fork(struct hb_child *c, const char *what, hb_child_fn fn,
			 const struct hb_server_at *at, char addr[64], char netns[64],
			 struct hb_err *e)
{
	struct hb_err ce;
	int rc;

	hb_strlcpy(addr, at->bind ? at->bind : "", 64);
	hb_strlcpy(netns, at->netns ? at->netns : "", 64);
	hb_err_clear(&ce);
	rc = hb_child_fork(c, fn, (void *)at, &ce);
	return rc ? hb_err_set(e, rc, "%s: %s", what, ce.msg) : 0;
}

int hb_child_server_failed(struct hb_child *c, const char *what, const struct hb_server_at *at,
			   struct hb_err *e)
{
	struct hb_child_out r;
	struct hb_err ce;
	int rc;

	hb_err_clear(&ce);
	hb_child_wait(c, what, hb_now() + 2, NULL, 1 << 16, &r, &ce);
	rc = hb_err_set(e, HB_ECHILD, "%s on %s:%d%s%s exited: %s", what, at->bind ? at->bind : "*",
			at->port, at->netns ? " in netns " : "", at->netns ? at->netns : "",
			r.err && r.err[0] ? hb_tail(r.err, 300) : "(no message)");
	hb_child_out_free(&r);
	return rc;
}

pid_t hb_child_detach(struct hb_child *c)
{
	pid_t pid = c->pid;

	close_fd(&c->out_fd);
	close_fd(&c->err_fd);
	c->pid = 0;
	return pid;
}

void hb_child_stop_pid(pid_t *pid)
{
	struct hb_child c = {.pid = *pid, .out_fd = -1, .err_fd = -1};

	if (*pid > 0)
		hb_child_kill(&c);
	*pid = 0;
}
