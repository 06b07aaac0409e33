/*
 * be_native.c — the native target: the baseline every VM is compared with. Each run goes
 * through the one executor (bench/exec.c) the guest agent uses too: a forked worker process
 * (its own process group, parent-death signal) held until the probes are attached, running the
 * very workload code the guest runs and sending its sample back. A worker that overruns its
 * timeout is killed with its children; a crashing workload costs one sample, not the run.
 * disk_target safety (disksafe.c) is a static check, so `validate` reports it too.
 */
#include "backend.h"

#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "disksafe.h"
#include "exec.h"
#include "scratchdisk.h"

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
	 "CPUs the worker may use (a cgroup with a CPU quota per cpu_limit_period; 0: no cap); "
	 "emulates a capped CPU share"},
	{"cpu_limit_period", HB_P_DOUBLE, 1, 1000, "100", NULL,
	 "milliseconds of cpu_limit's quota period (the kernel's default 100)"},
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
		/* fio is handed the file that was checked, never a name it could reinterpret */
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
		int rc = hb_cgroup_create(
			&n->cg, t->name, hb_param_double(t->opts, "cpu_limit"),
			(int)(hb_param_double(t->opts, "cpu_limit_period") * 1000 + 0.5), e);
		if (rc)
			return rc;
		json_object_set_new(info, "cpu_limit",
				    json_pack("{s:f, s:f, s:s}", "cpus", n->cg.cpus, "period_ms",
					      n->cg.period_us / 1000.0, "cgroup", n->cg.path));
	}
	facts->emulation = 0;
	json_object_set_new(info, "scratch_dir", json_string(env->scratch_dir));
	return 0;
}

/* Probes attach to the held worker, and stop counting before it is reaped. */
struct attach {
	const struct hb_run_hooks *hooks;
	int started;
	struct native *n;
};

/* The held worker joins the cpu_limit cgroup and gets its probes before it may start. */
static int on_forked(void *arg, pid_t pid, struct hb_err *e)
{
	struct attach *a = arg;
	struct hb_probe_target t = {0};
	int rc;

	if (a->n->cg.path[0] && (rc = hb_cgroup_add(&a->n->cg, pid, e)))
		return rc;
	if (!a->hooks || !a->hooks->on_start)
		return 0;
	t.pid = pid;
	rc = a->hooks->on_start(a->hooks->arg, &t, e);
	a->started = 1; /* on_stop follows even after a refusal, as for VM targets */
	return rc;
}

static void on_done(void *arg)
{
	struct attach *a = arg;

	if (a->started && a->hooks->on_stop)
		a->hooks->on_stop(a->hooks->arg);
	a->started = 0;
}

static int native_run(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		      struct hb_sample *out, struct hb_err *e)
{
	struct native *n = priv;
	struct hb_wl_ctx ctx = {0};
	struct attach at = {hooks, 0, n};
	struct hb_exec_opts o = {on_forked, on_done, &at, NULL, 0};
	double t_go;
	int rc;

	hb_wl_ctx_timing(&ctx, &req->t);
	ctx.scratch_dir = n->env->scratch_dir;
	ctx.fio_path = n->fio;
	ctx.disk_path = n->disk_target;
	ctx.stop = n->env->stop;
	t_go = hb_now();
	rc = hb_wl_exec(req->wl, req->params, &ctx, &o, out, e);
	if (!rc)
		out->host_s = hb_now() - t_go; /* the same clock as the worker's: no guest_s */
	on_done(&at);
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
