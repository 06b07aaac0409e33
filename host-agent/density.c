/*
 * density.c — the density sweep and the host footprint (see density.h). The sweep drives the
 * target's own backend through its ops table, k instances at a time, so anything that can be
 * a VM target can be swept; it adds VMs step by step (k = 1, then one more, ...), keeps every
 * VM booted until the sweep ends and stops them all on every exit path. The arithmetic (Jain's
 * index, the knee) is reports/capacity_model.c's.
 */
#include "density.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capacity_model.h"
#include "procstat.h"
#include "profile.h"
#include "stats.h"
#include "vmmem.h"

#define TOP_CONSUMERS 8

/* ---- the profile section ---- */

static const struct hb_param density_params[] = {
	{"target", HB_P_STRING, 0, 63, NULL, NULL, "the VM target cloned k times"},
	{"knee", HB_P_DOUBLE, 0.01, 1, "0.9", NULL,
	 "fraction of the lone VM's figure every VM must keep (the knee)"},
	{"repetitions", HB_P_INT, 1, 100, "1", NULL, "runs of each workload at each k"},
	{"headroom", HB_P_SIZE, 0, 1ULL << 40, "256M", NULL,
	 "MemAvailable kept free beyond what the next step's VMs need"},
	{"duration", HB_P_DOUBLE, 0, 3600, "0", NULL,
	 "measured seconds of each sweep run (0: the workload entry's own)"},
};

void hb_density_free(struct hb_density *d)
{
	json_decref(d->target.opts);
	memset(d, 0, sizeof(*d));
}

static int parse_counts(const json_t *a, struct hb_density *d, const char *where, struct hb_err *e)
{
	const json_t *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > HB_DENSITY_MAX_COUNTS)
		return hb_err_set(e, HB_EINVAL, "%s: \"counts\" must be an array of 1..%d counts",
				  where, HB_DENSITY_MAX_COUNTS);
	json_array_foreach (a, i, v) {
		double c = json_number_value(v);

		if (!json_is_integer(v) || c < 1 || c > HB_DENSITY_MAX_VMS)
			return hb_err_set(e, HB_EINVAL,
					  "%s: counts[%zu] must be a whole number in 1..%d", where,
					  i, HB_DENSITY_MAX_VMS);
		if (i == 0 && c != 1)
			return hb_err_set(e, HB_EINVAL,
					  "%s: counts must start with 1 (the lone VM every step is "
					  "compared with)",
					  where);
		if (i > 0 && c <= d->counts[i - 1])
			return hb_err_set(e, HB_EINVAL,
					  "%s: counts must increase (counts[%zu] = %g)", where, i,
					  c);
		d->counts[i] = (int)c;
		d->ncounts = (int)i + 1;
	}
	return 0;
}

static int parse_workloads(const json_t *a, const struct hb_profile *p, struct hb_density *d,
			   const char *where, struct hb_err *e)
{
	const json_t *v;
	size_t i;

	if (!a) { /* every entry of the profile */
		for (int j = 0; j < p->nentries; j++)
			d->entries[d->nentries++] = j;
		return 0;
	}
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > HB_ARRAY_SIZE(d->entries))
		return hb_err_set(e, HB_EINVAL,
				  "%s: \"workloads\" must be a non-empty array of workload entry "
				  "names",
				  where);
	json_array_foreach (a, i, v) {
		const char *name = json_string_value(v), *names[HB_MAX_ENTRIES];
		char near[96];
		int found = -1;

		for (int j = 0; j < p->nentries; j++) {
			names[j] = p->entries[j].name;
			if (name && !strcmp(name, p->entries[j].name))
				found = j;
		}
		if (!name)
			return hb_err_set(e, HB_EINVAL, "%s: workloads[%zu] must be a string",
					  where, i);
		if (found < 0)
			return hb_err_set(
				e, HB_EINVAL,
				"%s: workloads[%zu]: the profile has no workload entry "
				"\"%s\"%s",
				where, i, name,
				hb_suggest(near, sizeof(near), name, names, (size_t)p->nentries));
		for (int j = 0; j < d->nentries; j++)
			if (d->entries[j] == found)
				return hb_err_set(e, HB_EINVAL, "%s: workloads: \"%s\" given twice",
						  where, name);
		d->entries[d->nentries++] = found;
	}
	return 0;
}

int hb_density_parse(const json_t *obj, struct hb_profile *p, const char *where, struct hb_err *e)
{
	struct hb_density *d = &p->density;
	json_t *scalars, *v = NULL;
	const char *tname, *names[HB_MAX_TARGETS];
	char near[96];
	int rc;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(obj))
		return hb_err_set(e, HB_EINVAL, "%s: must be an object, not %s", where,
				  hb_json_type_name(obj));
	/* the scalar keys through the one validator; the two arrays by hand */
	scalars = json_copy((json_t *)obj);
	if (!scalars)
		return hb_err_set(e, HB_ENOMEM, "out of memory");
	json_object_del(scalars, "counts");
	json_object_del(scalars, "workloads");
	rc = hb_params_validate(density_params, HB_ARRAY_SIZE(density_params), scalars, where, &v,
				e);
	json_decref(scalars);
	if (rc)
		return rc;
	d->knee = hb_param_double(v, "knee");
	d->reps = (int)hb_param_int(v, "repetitions");
	d->headroom_mib = (double)hb_param_int(v, "headroom") / 1048576.0;
	d->duration = hb_param_double(v, "duration");
	tname = hb_param_str(v, "target");
	for (int i = 0; i < p->ntargets; i++) {
		names[i] = p->targets[i].name;
		if (!strcmp(p->targets[i].name, tname)) {
			d->target = p->targets[i];
			json_incref(d->target.opts); /* ours from here: hb_density_free drops it */
		}
	}
	if (!d->target.ops) {
		rc = hb_err_set(e, HB_EINVAL, "%s: \"target\": the profile has no target \"%s\"%s",
				where, tname,
				hb_suggest(near, sizeof(near), tname, names, (size_t)p->ntargets));
		goto out;
	}
	if ((d->target.ops->flags & (HB_BE_VM | HB_BE_HOST_VIEW)) != (HB_BE_VM | HB_BE_HOST_VIEW)) {
		rc = hb_err_set(
			e, HB_EINVAL,
			"%s: \"target\": %s is a %s target; a sweep needs VMs whose VMM the "
			"host sees (kind qemu)",
			where, tname, d->target.ops->kind);
		goto out;
	}
	if (!json_object_get(obj, "counts")) {
		rc = hb_err_set(e, HB_EINVAL, "%s: \"counts\" is required", where);
		goto out;
	}
	if ((rc = parse_counts(json_object_get(obj, "counts"), d, where, e)) ||
	    (rc = parse_workloads(json_object_get(obj, "workloads"), p, d, where, e)))
		goto out;
	d->enabled = 1;
out:
	json_decref(v);
	if (rc)
		hb_density_free(d);
	return rc;
}

double hb_density_estimate(const struct hb_profile *p)
{
	const struct hb_density *d = &p->density;
	double s;

	if (!d->enabled)
		return 0;
	s = HB_VM_START_ESTIMATE_S * d->counts[d->ncounts - 1];
	for (int i = 0; i < d->ncounts; i++)
		for (int w = 0; w < d->nentries; w++)
			s += (d->duration > 0 ? d->duration + 1.0
					      : hb_entry_cost(&p->entries[d->entries[w]])) *
			     d->reps;
	return s;
}

/* ---- host facts ---- */

static int read_long(const char *path, long long *out)
{
	char *txt = NULL, *end;
	int rc = hb_read_file(path, 4096, &txt, NULL, NULL);

	if (!rc) {
		*out = strtoll(txt, &end, 10);
		if (end == txt)
			rc = HB_EPROTO;
	}
	free(txt);
	return rc;
}

/* KSM state: {"run", "pages_sharing", "pages_shared"}, or null when the kernel has none. */
static json_t *ksm_json(void)
{
	long long run, sharing, shared;

	if (read_long("/sys/kernel/mm/ksm/run", &run) ||
	    read_long("/sys/kernel/mm/ksm/pages_sharing", &sharing) ||
	    read_long("/sys/kernel/mm/ksm/pages_shared", &shared))
		return json_null();
	return json_pack("{s:I, s:I, s:I}", "run", (json_int_t)run, "pages_sharing",
			 (json_int_t)sharing, "pages_shared", (json_int_t)shared);
}

/* Online CPUs counted as hardware threads, physical cores (package, core) and packages. */
static json_t *cpu_topology(void)
{
	int pkg[1024], core[1024];
	size_t n = 0;
	DIR *dir = opendir("/sys/devices/system/cpu");
	struct dirent *de;
	struct hb_cap_topo t;

	while (dir && (de = readdir(dir)) && n < HB_ARRAY_SIZE(pkg)) {
		char path[300];
		long long p, c, online = 1;

		if (strncmp(de->d_name, "cpu", 3) || !isdigit((unsigned char)de->d_name[3]))
			continue;
		hb_snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s/online", de->d_name);
		read_long(path, &online); /* cpu0 often has no such file: online */
		if (!online)
			continue;
		hb_snprintf(path, sizeof(path),
			    "/sys/devices/system/cpu/%s/topology/physical_package_id", de->d_name);
		if (read_long(path, &p))
			continue;
		hb_snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s/topology/core_id",
			    de->d_name);
		if (read_long(path, &c))
			continue;
		pkg[n] = (int)p;
		core[n] = (int)c;
		n++;
	}
	if (dir)
		closedir(dir);
	if (!n) /* no sysfs topology: every online CPU counted as a core */
		return json_pack("{s:i, s:i, s:i, s:s}", "threads",
				 (int)sysconf(_SC_NPROCESSORS_ONLN), "cores",
				 (int)sysconf(_SC_NPROCESSORS_ONLN), "packages", 1, "source",
				 "sysconf (no sysfs topology)");
	hb_cap_topo_count(pkg, core, n, &t);
	return json_pack("{s:i, s:i, s:i, s:s}", "threads", t.threads, "cores", t.cores, "packages",
			 t.packages, "source",
			 "/sys/devices/system/cpu/cpu*/topology (physical_package_id, core_id)");
}

struct consumer {
	long pid;
	char comm[64];
	double rss_mib;
};

/* The processes with the most resident memory (VmRSS of /proc/PID/status). */
static json_t *top_consumers(void)
{
	struct consumer top[TOP_CONSUMERS];
	size_t n = 0;
	DIR *dir = opendir("/proc");
	struct dirent *de;
	json_t *arr = json_array();

	while (dir && (de = readdir(dir))) {
		char path[300], *txt = NULL, *p;
		struct consumer c = {0};
		long pid;

		if (hb_parse_long(de->d_name, 1, 1L << 30, &pid))
			continue;
		hb_snprintf(path, sizeof(path), "/proc/%ld/status", pid);
		if (hb_read_file(path, 1 << 16, &txt, NULL, NULL))
			continue;
		c.pid = pid;
		if ((p = strstr(txt, "Name:\t")))
			hb_snprintf(c.comm, sizeof(c.comm), "%.*s", (int)strcspn(p + 6, "\n"),
				    p + 6);
		if ((p = strstr(txt, "\nVmRSS:")))
			c.rss_mib = strtod(p + 7, NULL) / 1024.0;
		free(txt);
		if (c.rss_mib <= 0)
			continue;
		/* insertion into the sorted top list */
		size_t at = n < TOP_CONSUMERS ? n : TOP_CONSUMERS;
		while (at > 0 && top[at - 1].rss_mib < c.rss_mib)
			at--;
		if (at >= TOP_CONSUMERS)
			continue;
		memmove(&top[at + 1], &top[at],
			(n < TOP_CONSUMERS ? n - at : TOP_CONSUMERS - 1 - at) * sizeof(top[0]));
		top[at] = c;
		if (n < TOP_CONSUMERS)
			n++;
	}
	if (dir)
		closedir(dir);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr,
				      json_pack("{s:I, s:s, s:f}", "pid", (json_int_t)top[i].pid,
						"comm", top[i].comm, "rss_mib", top[i].rss_mib));
	return arr;
}

json_t *hb_host_footprint(void)
{
	double total = (double)hb_meminfo("MemTotal") / 1048576.0;
	double avail = (double)hb_meminfo("MemAvailable") / 1048576.0;

	return json_pack("{s:f, s:f, s:f, s:o, s:o, s:o, s:s}", "memtotal_mib", total,
			 "memavailable_mib", avail, "in_use_mib", total - avail, "top",
			 top_consumers(), "ksm", ksm_json(), "cpu", cpu_topology(), "method",
			 "MemTotal - MemAvailable with no VM of this run up; top: VmRSS of "
			 "/proc/*/status");
}

/* ---- the sweep ---- */

struct sweep;

struct dvm {
	struct hb_target t; /* name suffixed; ops and opts borrowed */
	void *priv;
	struct hb_target_facts facts;
	json_t *info;
	int up;
	pid_t pid; /* the VMM, from the run hooks */
	/* one concurrent run */
	struct sweep *sw;
	const struct hb_run_req *req;
	struct hb_sample s;
	struct hb_err e;
	int rc, arrived;
};

struct sweep {
	const struct hb_profile *p;
	const struct hb_density *d;
	struct hb_env env; /* the run's, with a serialised log */
	const struct hb_env *outer;
	pthread_mutex_t logmu;
	/* the start gate: every VM thread arrives, then all go at once */
	pthread_mutex_t gmu;
	pthread_cond_t gcv;
	int arrived, go;
	struct dvm vms[HB_DENSITY_MAX_VMS];
	int nup;
	json_t *out, *failures;
	char stopped[1024];
};

static void dlog(void *arg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dlog(void *arg, const char *fmt, ...)
{
	struct sweep *sw = arg;
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&sw->logmu);
	sw->outer->log(sw->outer->log_arg, "%s", msg);
	pthread_mutex_unlock(&sw->logmu);
}

/* Counts a VM thread in; with wait, blocks until the gate opens. */
static void gate_arrive(struct sweep *sw, int wait)
{
	pthread_mutex_lock(&sw->gmu);
	sw->arrived++;
	pthread_cond_broadcast(&sw->gcv);
	while (wait && !sw->go)
		pthread_cond_wait(&sw->gcv, &sw->gmu);
	pthread_mutex_unlock(&sw->gmu);
}

/* Opens the gate once n threads arrived. */
static void gate_open(struct sweep *sw, int n)
{
	pthread_mutex_lock(&sw->gmu);
	while (sw->arrived < n)
		pthread_cond_wait(&sw->gcv, &sw->gmu);
	sw->go = 1;
	pthread_cond_broadcast(&sw->gcv);
	pthread_mutex_unlock(&sw->gmu);
}

static int hook_start(void *arg, const struct hb_probe_target *pt, struct hb_err *e)
{
	struct dvm *v = arg;

	(void)e;
	v->pid = pt->pid;
	v->arrived = 1;
	gate_arrive(v->sw, 1); /* every VM sends its request at the same moment */
	return 0;
}

static void hook_stop(void *arg)
{
	(void)arg;
}

static void *vm_thread(void *arg)
{
	struct dvm *v = arg;
	struct hb_run_hooks hooks = {hook_start, hook_stop, v};

	v->arrived = 0;
	hb_err_clear(&v->e);
	v->rc = v->t.ops->run(v->priv, v->req, &hooks, &v->s, &v->e);
	if (!v->arrived) /* failed before its start: still counted once at the gate */
		gate_arrive(v->sw, 0);
	return NULL;
}

static void add_failure(struct sweep *sw, const char *target, const char *workload, int rep,
			const char *msg)
{
	json_array_append_new(sw->failures,
			      json_pack("{s:s, s:s, s:i, s:s}", "target", target, "workload",
					workload, "rep", rep, "error", msg));
}

static int start_vm(struct sweep *sw, int i, struct hb_err *e)
{
	struct dvm *v = &sw->vms[i];
	int rc;

	memset(v, 0, sizeof(*v));
	v->t = sw->d->target;
	v->sw = sw;
	if (hb_snprintf(v->t.name, sizeof(v->t.name), "%.58s-d%d", sw->d->target.name, i + 1))
		return hb_err_set(e, HB_EINVAL, "target name too long");
	v->info = json_object();
	hb_facts_init(&v->facts);
	v->priv = calloc(1, v->t.ops->priv_size ? v->t.ops->priv_size : 1);
	if (!v->priv || !v->info)
		return hb_err_set(e, HB_ENOMEM, "out of memory");
	v->up = 1; /* from here on stop() must run, even after a failed start */
	rc = v->t.ops->start(v->priv, &v->t, &sw->env, &v->facts, v->info, e);
	hb_facts_to_info(&v->facts, v->info);
	if (rc && !e->msg[0])
		hb_err_set(e, rc, "%s", hb_strerror(rc));
	return rc;
}

static void stop_vms(struct sweep *sw)
{
	for (int i = HB_DENSITY_MAX_VMS - 1; i >= 0; i--) {
		struct dvm *v = &sw->vms[i];

		if (v->up)
			v->t.ops->stop(v->priv, v->info);
		v->up = 0;
		free(v->priv);
		v->priv = NULL;
		hb_facts_free(&v->facts);
		json_decref(v->info);
		v->info = NULL;
	}
}

/* The headline metric of an entry: the workload's choice for its params, else its first. */
static const struct hb_metric_def *headline_def(const struct hb_entry *en)
{
	const char *h = en->wl->headline ? en->wl->headline(en->params) : NULL;

	if (h)
		return hb_metric_def_find(en->wl->metrics, en->wl->nmetrics, h);
	for (size_t i = 0; i < en->wl->nmetrics; i++)
		if (en->wl->metrics[i].role == HB_ROLE_HEADLINE)
			return &en->wl->metrics[i];
	return en->wl->nmetrics ? &en->wl->metrics[0] : NULL;
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/*
 * The k running VMs run entry en reps times, aligned; the step's figures for it. Returns 0, or
 * non-zero when a VM was lost or the run interrupted (sw->stopped says which).
 */
static int run_entry(struct sweep *sw, int k, const struct hb_entry *en, double *base,
		     json_t **wout)
{
	const struct hb_density *d = sw->d;
	const struct hb_metric_def *hd = headline_def(en);
	struct hb_run_req req = {en->name, en->wl, en->params, en->t};
	double vals[HB_DENSITY_MAX_VMS][100], steal[HB_DENSITY_MAX_VMS][100], busy[100];
	int nv[HB_DENSITY_MAX_VMS] = {0}, ns[HB_DENSITY_MAX_VMS] = {0}, nb = 0, lost = 0;
	double per_vm[HB_DENSITY_MAX_VMS], st[HB_DENSITY_MAX_VMS], agg = 0, worst = INFINITY;
	json_t *w, *jpv, *jst, *errs = json_array();

	if (!hd) {
		json_decref(errs);
		return 0;
	}
	if (d->duration > 0)
		hb_timing_override(&req.t, d->duration);
	for (int rep = 0; rep < d->reps && !lost && !*sw->env.stop; rep++) {
		pthread_t th[HB_DENSITY_MAX_VMS];
		struct hb_cpu_ticks c0, c1;
		int started = 0, have0;

		sw->arrived = sw->go = 0;
		for (int i = 0; i < k; i++) {
			struct dvm *v = &sw->vms[i];

			v->req = &req;
			hb_sample_init(&v->s);
			if (pthread_create(&th[i], NULL, vm_thread, v))
				break;
			started++;
		}
		gate_open(sw, started); /* the ones started go even when not all could */
		have0 = hb_procstat_read(&c0) == 0;
		for (int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		if (started < k) {
			for (int i = 0; i < started; i++)
				hb_sample_free(&sw->vms[i].s);
			hb_snprintf(sw->stopped, sizeof(sw->stopped), "cannot start a thread");
			json_decref(errs);
			return 1;
		}
		if (have0 && hb_procstat_read(&c1) == 0)
			busy[nb++] = hb_procstat_busy_pct(&c0, &c1);
		for (int i = 0; i < k; i++) {
			struct dvm *v = &sw->vms[i];
			const struct hb_metric *m = hb_sample_get(&v->s, hd->name);
			const json_t *sp = json_object_get(v->s.info, "steal_pct");

			if (v->rc == 0 && m && isfinite(m->value))
				vals[i][nv[i]++] = m->value;
			if (json_is_number(sp))
				steal[i][ns[i]++] = json_number_value(sp);
			if (v->rc && v->rc != HB_EINTR) {
				char msg[1200];

				hb_snprintf(msg, sizeof(msg), "k=%d: %s", k, v->e.msg);
				if (v->rc != HB_EUNSUPP) /* cannot run there: said, not a failure */
					add_failure(sw, v->t.name, en->name, rep + 1, msg);
				json_array_append_new(errs, json_pack("{s:s, s:s}", "vm", v->t.name,
								      "error", v->e.msg));
				dlog(sw, "density k=%d: [%s] %s failed: %s", k, v->t.name, en->name,
				     v->e.msg);
				if (v->rc == HB_ECHILD || v->rc == HB_EIO) {
					lost = 1;
					hb_snprintf(sw->stopped, sizeof(sw->stopped),
						    "VM %s was lost at k=%d during %s: %s",
						    v->t.name, k, en->name, v->e.msg);
				}
			}
			if (v->rc == 0 && !m) {
				add_failure(sw, v->t.name, en->name, rep + 1,
					    "the run reported no headline metric");
			}
			hb_sample_free(&v->s);
		}
	}
	jpv = json_array();
	jst = json_array();
	for (int i = 0; i < k; i++) {
		per_vm[i] = nv[i] ? hb_median(vals[i], (size_t)nv[i]) : NAN;
		st[i] = ns[i] ? hb_median(steal[i], (size_t)ns[i]) : NAN;
		json_array_append_new(jpv, num_or_null(per_vm[i]));
		json_array_append_new(jst, num_or_null(st[i]));
		agg += per_vm[i];
	}
	if (k == 1)
		*base = per_vm[0];
	for (int i = 0; i < k; i++) {
		double rel = hb_cap_rel(per_vm[i], *base, hd->higher_is_better);

		if (!isfinite(rel)) {
			worst = NAN;
			break;
		}
		if (rel < worst)
			worst = rel;
	}
	w = json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "workload",
		      en->name, "metric", hd->name, "unit", hd->unit, "higher_is_better",
		      hd->higher_is_better, "per_vm", jpv, "aggregate", num_or_null(agg),
		      "per_vm_mean", num_or_null(agg / k), "fairness",
		      num_or_null(hb_cap_jain(per_vm, (size_t)k)), "worst_rel", num_or_null(worst),
		      "steal_pct", jst, "host_cpu_busy_pct",
		      num_or_null(nb ? hb_median(busy, (size_t)nb) : NAN), "errors", errs);
	*wout = w;
	if (*sw->env.stop) {
		hb_strlcpy(sw->stopped, "interrupted", sizeof(sw->stopped));
		return 1;
	}
	return lost;
}

/* Memory of each running VM now: PSS of its VMM split into guest RAM and overhead. */
static json_t *vm_memory(struct sweep *sw, int k, double *max_overhead)
{
	json_t *arr = json_array();

	for (int i = 0; i < k; i++) {
		struct dvm *v = &sw->vms[i];
		struct hb_vmmem m;
		struct hb_err e = {0};
		json_t *o = json_pack("{s:s, s:I}", "name", v->t.name, "pid", (json_int_t)v->pid);

		if (v->pid > 0 && hb_vmmem_read(v->pid, HB_VMMEM_QEMU_MEMFD, &m, &e) == 0) {
			double over = m.vmm_pss_mib - m.guest_pss_mib;

			json_object_set_new(o, "pss_mib", json_real(m.vmm_pss_mib));
			json_object_set_new(o, "rss_mib", json_real(m.vmm_rss_mib));
			json_object_set_new(o, "guest_ram_pss_mib", json_real(m.guest_pss_mib));
			json_object_set_new(o, "vmm_overhead_mib", json_real(over));
			if (over > *max_overhead)
				*max_overhead = over;
		} else {
			json_object_set_new(o, "error", json_string(v->pid > 0 ? e.msg : "no pid"));
		}
		json_object_set_new(o, "accel", json_string(v->facts.accel));
		if (v->facts.time_to_ready_s >= 0)
			json_object_set_new(o, "time_to_ready_s",
					    json_real(v->facts.time_to_ready_s));
		if (v->facts.boot_cpu_s >= 0)
			json_object_set_new(o, "boot_cpu_s", json_real(v->facts.boot_cpu_s));
		json_array_append_new(arr, o);
	}
	return arr;
}

static void knees(struct sweep *sw, json_t *steps)
{
	json_t *arr = json_array();

	for (int w = 0; w < sw->d->nentries; w++) {
		const char *name = sw->p->entries[sw->d->entries[w]].name;
		int ks[HB_DENSITY_MAX_COUNTS];
		double worst[HB_DENSITY_MAX_COUNTS];
		size_t n = 0, i;
		json_t *st, *x;
		struct hb_cap_knee kn;

		json_array_foreach (steps, i, st) {
			size_t j;

			ks[n] = (int)json_integer_value(json_object_get(st, "k"));
			worst[n] = NAN;
			json_array_foreach (json_object_get(st, "workloads"), j, x)
				if (!strcmp(json_string_value(json_object_get(x, "workload")),
					    name) &&
				    json_is_number(json_object_get(x, "worst_rel")))
					worst[n] =
						json_number_value(json_object_get(x, "worst_rel"));
			n++;
		}
		hb_cap_knee(ks, worst, n, sw->d->knee, &kn);
		json_array_append_new(
			arr,
			json_pack("{s:s, s:i, s:b, s:o}", "workload", name, "knee_k", kn.knee_k,
				  "limited", kn.limited, "first_below_k",
				  kn.first_below_k ? json_integer(kn.first_below_k) : json_null()));
	}
	json_object_set_new(sw->out, "knees", arr);
}

void hb_density_run(const struct hb_profile *p, const struct hb_env *env, json_t *out,
		    json_t *failures, hb_density_checkpoint_fn cp, void *cp_arg)
{
	const struct hb_density *d = &p->density;
	struct sweep *sw = calloc(1, sizeof(*sw));
	struct hb_target_facts sf;
	struct hb_diag diag;
	json_t *steps = json_array(), *counts = json_array();
	double base[64], max_over = -1, guest_mib;

	if (!sw) {
		env->log(env->log_arg, "density: out of memory");
		json_decref(steps);
		json_decref(counts);
		return;
	}
	for (int w = 0; w < 64; w++)
		base[w] = NAN;
	sw->p = p;
	sw->d = d;
	sw->outer = env;
	sw->env = *env;
	sw->env.log = dlog;
	sw->env.log_arg = sw;
	sw->out = out;
	sw->failures = failures;
	pthread_mutex_init(&sw->logmu, NULL);
	pthread_mutex_init(&sw->gmu, NULL);
	pthread_cond_init(&sw->gcv, NULL);
	/* the shape: what the options say */
	hb_facts_init(&sf);
	hb_diag_init(&diag);
	if (d->target.ops->check)
		d->target.ops->check(d->target.opts, d->target.name, NULL, &sf, "", &diag);
	guest_mib = (double)sf.memory_mib;
	for (int i = 0; i < d->ncounts; i++)
		json_array_append_new(counts, json_integer(d->counts[i]));
	json_object_set_new(out, "target", json_string(d->target.name));
	json_object_set_new(out, "kind", json_string(d->target.ops->kind));
	json_object_set_new(out, "shape",
			    json_pack("{s:i, s:I, s:s}", "vcpus", sf.vcpus, "memory_mib",
				      (json_int_t)sf.memory_mib, "machine", sf.machine));
	json_object_set_new(out, "counts", counts);
	json_object_set_new(out, "knee_threshold", json_real(d->knee));
	json_object_set_new(out, "repetitions", json_integer(d->reps));
	json_object_set_new(out, "steps", steps);
	json_object_set_new(out, "stopped", json_null());
	hb_facts_free(&sf);

	for (int ci = 0; ci < d->ncounts && !sw->stopped[0]; ci++) {
		int k = d->counts[ci];
		double per_vm = guest_mib + (max_over >= 0 ? max_over : 256.0);
		double need = (k - sw->nup) * per_vm + d->headroom_mib;
		double avail = (double)hb_meminfo("MemAvailable") / 1048576.0;
		json_t *step, *wls;
		int bad = 0;

		if (*env->stop) {
			hb_strlcpy(sw->stopped, "interrupted", sizeof(sw->stopped));
			break;
		}
		if (avail < need) {
			hb_snprintf(sw->stopped, sizeof(sw->stopped),
				    "host memory headroom: MemAvailable %.0f MiB is below the %.0f "
				    "MiB k=%d needs (%d more VM%s x %.0f MiB + %.0f MiB headroom)",
				    avail, need, k, k - sw->nup, k - sw->nup == 1 ? "" : "s",
				    per_vm, d->headroom_mib);
			dlog(sw, "density: stopping before k=%d: %s", k, sw->stopped);
			break;
		}
		dlog(sw, "density: k=%d (%d VM%s of %s)", k, k, k == 1 ? "" : "s", d->target.name);
		while (sw->nup < k && !sw->stopped[0]) {
			struct hb_err e = {0};
			int i = sw->nup;

			if (start_vm(sw, i, &e)) {
				char msg[1200];

				if (e.code == HB_EINTR || *env->stop) {
					hb_strlcpy(sw->stopped, "interrupted", sizeof(sw->stopped));
					break;
				}
				hb_snprintf(msg, sizeof(msg), "%s failed to start at k=%d: %s",
					    sw->vms[i].t.name, k, e.msg);
				hb_strlcpy(sw->stopped, msg, sizeof(sw->stopped));
				add_failure(sw, sw->vms[i].t.name, "start", 0, msg);
				dlog(sw, "density: %s", msg);
				break;
			}
			sw->nup++;
		}
		if (sw->stopped[0])
			break;
		step = json_pack("{s:i, s:[]}", "k", k, "workloads");
		wls = json_object_get(step, "workloads");
		for (int w = 0; w < d->nentries && !bad; w++) {
			json_t *wj = NULL;

			bad = run_entry(sw, k, &p->entries[d->entries[w]], &base[w], &wj);
			if (wj)
				json_array_append_new(wls, wj);
		}
		if (*env->stop) { /* an interrupted step measured nothing whole: not recorded */
			hb_strlcpy(sw->stopped, "interrupted", sizeof(sw->stopped));
			json_decref(step);
			break;
		}
		{
			double pss = 0;
			size_t i;
			json_t *vms = vm_memory(sw, k, &max_over), *x;

			json_array_foreach (vms, i, x)
				pss += json_number_value(json_object_get(x, "pss_mib"));
			json_object_set_new(step, "vms", vms);
			json_object_set_new(step, "pss_total_mib", json_real(pss));
			json_object_set_new(
				step, "memavailable_mib",
				json_real((double)hb_meminfo("MemAvailable") / 1048576.0));
			json_object_set_new(step, "ksm", ksm_json());
		}
		json_array_append_new(steps, step);
		knees(sw, steps);
		if (sw->stopped[0])
			json_object_set_new(out, "stopped", json_string(sw->stopped));
		if (cp)
			cp(cp_arg);
	}
	if (sw->stopped[0])
		json_object_set_new(out, "stopped", json_string(sw->stopped));
	knees(sw, steps);
	stop_vms(sw);
	pthread_mutex_destroy(&sw->logmu);
	pthread_mutex_destroy(&sw->gmu);
	pthread_cond_destroy(&sw->gcv);
	free(sw);
}
