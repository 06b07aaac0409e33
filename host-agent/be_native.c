/*
 * be_native.c — the native target: the baseline every VM is compared with. Each run happens in
 * a forked worker process (its own process group, parent-death signal) that is held on a pipe
 * until the probes are attached, then runs the very workload code the guest agent runs and
 * sends its sample back as JSON. A worker that overruns its timeout is killed with its children;
 * a crashing workload costs one sample, not the run.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "disksafe.h"
#include "scratchdisk.h"
#include "proto.h"

struct native {
	const struct hb_env *env;
	const char *fio;	 /* borrowed from the target's options */
	const char *disk_target; /* NULL: scratch files; else points to resolved */
	char resolved[4096];	 /* disk_target as checked: absolute, no symlinks (fio opens it) */
	char disk[4096];	 /* the pre-filled scratch disk made at start ("" none) */
	struct hb_cgroup cg;	 /* cpu_limit: the group every worker joins (path "" none) */
};

static const struct hb_param native_opts[] = {
	{"fio", HB_P_STRING, 0, 4096, "fio", NULL, "fio binary used for disk workloads"},
	{"disk_target", HB_P_STRING, 0, 4096, "", NULL,
	 "existing file or block device for disk workloads instead of a scratch file "
	 "(needs allow_existing; mounted devices and ones holding a filesystem are refused)"},
	{"allow_existing", HB_P_BOOL, 0, 0, "false", NULL,
	 "consent to disk workloads writing over disk_target"},
	{"cpu_limit", HB_P_DOUBLE, 0, 1024, "0", NULL,
	 "CPUs the worker may use (a cgroup with a CPU quota over a 20 ms period; 0: no cap); "
	 "emulates a capped CPU share"},
	{"disk_size", HB_P_SIZE, 16 << 20, 1ULL << 40, "512M", NULL,
	 "size of the scratch disk file made and filled once at start, before anything is "
	 "measured (as a VM's scratch drive is); not used with disk_target"},
};

static void native_check(const json_t *opts, const char *name, const struct hb_check_env *env,
			 struct hb_target_facts *facts, const char *where, struct hb_diag *d)
{
	const char *target = hb_param_str(opts, "disk_target");
	struct hb_err e = {0};

	(void)name;
	(void)env;
	if (hb_param_double(opts, "cpu_limit") > 0) {
		struct hb_cgroup cg;
		if (hb_cgroup_probe(&cg, &e))
			hb_diag_error(d, "%scpu_limit: %s", where, e.msg);
		hb_err_clear(&e);
	}
	if (target && *target &&
	    hb_disk_target_check(target, hb_param_bool(opts, "allow_existing"), &e))
		hb_diag_error(d, "%s%s", where, e.msg);
}

static int native_start(void *priv, const struct hb_target *t, const struct hb_env *env,
			struct hb_target_facts *facts, json_t *info, struct hb_err *e)
{
	struct native *n = priv;

	n->env = env;
	n->fio = json_string_value(json_object_get(t->opts, "fio"));
	n->disk_target = json_string_value(json_object_get(t->opts, "disk_target"));
	if (n->disk_target && !*n->disk_target)
		n->disk_target = NULL;
	if (n->disk_target) {
		int rc = hb_disk_target_resolve(
			n->disk_target, json_is_true(json_object_get(t->opts, "allow_existing")),
			n->resolved, sizeof(n->resolved), e);
		if (rc)
			return rc;
		json_object_set_new(info, "disk_target", json_string(n->disk_target));
		json_object_set_new(info, "disk_target_resolved", json_string(n->resolved));
		n->disk_target = n->resolved;
	} else {
		/* laid out once here, as a VM's scratch drive is before boot: no run's measured
		 * window (nor its CPU tax) contains fio writing its file */
		int rc;
		if (hb_snprintf(n->disk, sizeof(n->disk), "%s/native-%s-disk.raw", env->scratch_dir,
				t->name))
			return hb_err_set(e, HB_EINVAL, "scratch path too long");
		rc = hb_scratch_disk_make(
			n->disk, (unsigned long long)hb_param_int(t->opts, "disk_size"), e);
		if (rc) {
			n->disk[0] = '\0';
			return rc;
		}
		n->disk_target = n->disk;
		json_object_set_new(info, "scratch_disk", json_string(n->disk));
	}
	if (hb_param_double(t->opts, "cpu_limit") > 0) {
		int rc =
			hb_cgroup_create(&n->cg, t->name, hb_param_double(t->opts, "cpu_limit"), e);
		if (rc)
			return rc;
		json_object_set_new(
			info, "cpu_limit",
			json_pack("{s:f, s:s}", "cpus", n->cg.cpus, "cgroup", n->cg.path));
	}
	facts->emulation = 0;
	json_object_set_new(info, "scratch_dir", json_string(env->scratch_dir));
	return 0;
}

static volatile sig_atomic_t worker_stop;

static void worker_sig(int sig)
{
	(void)sig;
	worker_stop = 1;
}

/* The worker: waits for the go byte, runs, writes {"rc":..,"error":..,"sample":..}. */
static int worker_main(const struct hb_run_req *req, const struct hb_env *env, const char *fio,
		       const char *disk_target, int go_fd, int res_fd)
{
	struct hb_wl_ctx ctx = {0};
	struct hb_sample s;
	struct hb_err err = {0};
	struct sigaction sa = {0};
	json_t *msg;
	char *txt, c;
	int rc;
	ssize_t r;

	sa.sa_handler = worker_sig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	do
		r = read(go_fd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		return 1; /* parent went away or aborted */
	hb_wl_ctx_timing(&ctx, &req->t);
	ctx.scratch_dir = env->scratch_dir;
	ctx.fio_path = fio;
	ctx.disk_path = disk_target;
	ctx.stop = &worker_stop;
	hb_sample_init(&s);
	rc = req->wl->run(&ctx, req->params, &s, &err);
	if (rc && !err.msg[0])
		hb_err_set(&err, rc, "%s", hb_strerror(rc));
	msg = json_pack("{s:i, s:s, s:o}", "rc", rc, "error", rc ? err.msg : "", "sample",
			rc ? json_object() : hb_sample_to_json(&s));
	txt = json_dumps(msg, JSON_COMPACT);
	if (txt) {
		size_t len = strlen(txt), off = 0;
		while (off < len) {
			ssize_t w = write(res_fd, txt + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(txt);
	json_decref(msg);
	hb_sample_free(&s);
	return rc ? 2 : 0;
}

static void kill_worker(pid_t pid, double grace)
{
	double end = hb_now() + grace;
	int status;

	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	while (hb_now() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			kill(-pid, SIGKILL);
			return;
		}
		hb_sleep(0.02, NULL);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

static int native_run(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		      struct hb_sample *out, struct hb_err *e)
{
	struct native *n = priv;
	int gop[2] = {-1, -1}, resp[2] = {-1, -1};
	char *buf = NULL;
	size_t len = 0, cap = 0;
	double deadline, t_go = 0;
	pid_t pid, parent;
	int rc = 0, started = 0, status;
	if (pipe2(gop, O_CLOEXEC) || pipe2(resp, O_CLOEXEC)) {
		rc = hb_err_errno(e, HB_EIO, "native: pipe");
		goto out;
	}
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		rc = hb_err_errno(e, HB_EIO, "native: fork");
		goto out;
	}
	if (pid == 0) {
		/* The worker: its own process group so a timeout kills fio/iperf children too. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1); /* the parent died before the death signal was armed */
		close(gop[1]);
		close(resp[0]);
		_exit(worker_main(req, n->env, n->fio, n->disk_target, gop[0], resp[1]));
	}
	setpgid(pid, pid);
	close(gop[0]);
	gop[0] = -1;
	close(resp[1]);
	resp[1] = -1;
	if (hooks && hooks->on_start) {
		struct hb_probe_target t = {0};
		t.pid = pid;
		rc = hooks->on_start(hooks->arg, &t, e);
		if (rc) {
			kill_worker(pid, 1);
			goto out;
		}
		started = 1;
	}
	if (n->cg.path[0] && (rc = hb_cgroup_add(&n->cg, pid, e))) {
		kill_worker(pid, 1);
		goto out;
	}
	t_go = hb_now();
	if (write(gop[1], "g", 1) != 1) {
		rc = hb_err_errno(e, HB_EIO, "native: cannot start worker");
		kill_worker(pid, 1);
		goto out;
	}
	deadline = hb_now() + req->t.timeout;
	for (;;) {
		struct pollfd pfd = {resp[0], POLLIN, 0};
		double left = deadline - hb_now();
		int pr;
		ssize_t r;

		if (n->env->stop && *n->env->stop) {
			kill_worker(pid, 5);
			rc = hb_err_set(e, HB_EINTR, "interrupted");
			goto out;
		}
		if (left <= 0) {
			kill_worker(pid, 2);
			rc = hb_err_set(e, HB_ETIMEDOUT,
					"%s did not finish within its timeout of %g s", req->entry,
					req->t.timeout);
			goto out;
		}
		pr = poll(&pfd, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR) {
			kill_worker(pid, 1);
			rc = hb_err_errno(e, HB_EIO, "native: poll");
			goto out;
		}
		if (pr <= 0)
			continue;
		if (cap - len < 4096) {
			char *nb;
			if (cap >= HB_PROTO_MAX) {
				kill_worker(pid, 1);
				rc = hb_err_set(e, HB_EPROTO, "native: worker reply over 1 MiB");
				goto out;
			}
			nb = realloc(buf, cap ? cap * 2 : 16384);
			if (!nb) {
				kill_worker(pid, 1);
				rc = hb_err_set(e, HB_ENOMEM, "native: out of memory");
				goto out;
			}
			buf = nb;
			cap = cap ? cap * 2 : 16384;
		}
		r = read(resp[0], buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL); /* anything the worker left behind in its group */
	if (!buf || !len) {
		if (WIFSIGNALED(status))
			rc = hb_err_set(e, HB_ECHILD, "%s: worker killed by signal %d (%s)",
					req->entry, WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			rc = hb_err_set(e, HB_ECHILD,
					"%s: worker exited with status %d and no result",
					req->entry, WEXITSTATUS(status));
		goto out;
	}
	buf[len] = '\0';
	{
		json_error_t je;
		json_t *j = json_loads(buf, 0, &je);
		json_t *jrc = json_object_get(j, "rc");
		if (!j || !json_is_integer(jrc)) {
			rc = hb_err_set(e, HB_EPROTO, "%s: malformed worker reply%s%s", req->entry,
					j ? "" : ": ", j ? "" : je.text);
		} else if (json_integer_value(jrc) != 0) {
			rc = hb_err_set(e, (int)json_integer_value(jrc), "%s",
					json_string_value(json_object_get(j, "error")));
		} else {
			rc = hb_sample_from_json(json_object_get(j, "sample"), out, e);
			out->host_s = hb_now() - t_go; /* the same clock: no guest_s */
		}
		json_decref(j);
	}
out:
	if (started && hooks->on_stop)
		hooks->on_stop(hooks->arg);
	free(buf);
	if (gop[0] >= 0)
		close(gop[0]);
	if (gop[1] >= 0)
		close(gop[1]);
	if (resp[0] >= 0)
		close(resp[0]);
	if (resp[1] >= 0)
		close(resp[1]);
	return rc;
}

static void native_stop(void *priv, json_t *info)
{
	struct native *n = priv;

	(void)info;
	if (n->disk[0])
		unlink(n->disk);
	n->disk[0] = '\0';
	hb_cgroup_destroy(&n->cg);
}

const struct hb_backend_ops hb_be_native = {
	.kind = "native",
	.help = "the host itself: the baseline every VM is compared with",
	.flags = HB_BE_BASELINE | HB_BE_HOST_VIEW,
	.opts = native_opts,
	.nopts = HB_ARRAY_SIZE(native_opts),
	.priv_size = sizeof(struct native),
	.check = native_check,
	.start = native_start,
	.run = native_run,
	.stop = native_stop,
};
