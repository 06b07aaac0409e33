/*
 * pr_proc.c — the `proc` probe: what the target process costs the host, from /proc. CPU time
 * (user, system) of the VMM or of the native worker with its reaped children over the run
 * (/proc/PID/stat utime+stime+cutime+cstime; when the runner has already reaped the worker,
 * the runner's own getrusage(RUSAGE_CHILDREN) delta, which then holds exactly it); RSS and PSS
 * sampled by a thread from /proc/PID/smaps_rollup (peak and mean); host MemAvailable at start
 * and end. For a VM whose vCPU thread ids are known (QMP), also the CPU time of those threads
 * alone (/proc/PID/task/TID/stat): what the guest got, against the whole VMM's cpu_s.
 */
#include "probe.h"
#include "procstat.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const struct hb_param proc_opts[] = {
	{"interval_ms", HB_P_INT, 10, 10000, "100", NULL,
	 "how often RSS/PSS are sampled during a run (milliseconds)"},
};

struct cpu_times {
	double user, sys; /* seconds, including reaped children */
	double children;  /* of which reaped children (cutime + cstime) */
	pid_t ppid;
};

struct proc_priv {
	pid_t pid;
	int is_vm;
	long interval_ms;
	double t0, t1;
	struct cpu_times c0, c1;
	int have_c1;
	int ntids; /* VM: vCPU threads */
	pid_t tids[64];
	double vcpu0, vcpu1; /* their summed utime + stime, seconds */
	int have_vcpu;	     /* read at start and at stop */
	int by_rusage;	     /* end reading came from getrusage(RUSAGE_CHILDREN) */
	struct rusage ru0;
	int runner_is_parent;
	long long avail0, avail1;
	/* sampler */
	pthread_t th;
	int th_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int sync_init;
	int quit;
	double rss_peak, pss_peak, pss_sum; /* MiB */
	long nsamples;
	int have_pss;
	char smaps_err[160];
};

/* utime, stime, cutime, cstime and ppid from a /proc stat file. */
static int read_stat(const char *path, struct cpu_times *c)
{
	struct hb_pid_ticks t;
	double tck = (double)sysconf(_SC_CLK_TCK);
	char buf[2048];
	FILE *f;
	size_t n;
	int rc;

	f = fopen(path, "re");
	if (!f)
		return HB_EIO;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rc = hb_pidstat_parse(buf, &t);
	if (rc)
		return rc;
	if (tck <= 0)
		return HB_EPROTO;
	c->ppid = t.ppid;
	c->user = (double)(t.utime + t.cutime) / tck;
	c->sys = (double)(t.stime + t.cstime) / tck;
	c->children = (double)(t.cutime + t.cstime) / tck;
	return 0;
}

static int read_cpu(pid_t pid, struct cpu_times *c)
{
	char path[64];

	hb_snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return read_stat(path, c);
}

/* utime + stime of thread tid of pid, seconds (a thread's stat repeats the process's
 * cutime and cstime: left out). */
static int read_thread_cpu(pid_t pid, pid_t tid, double *s)
{
	char path[64];
	struct cpu_times c;
	int rc;

	hb_snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	rc = read_stat(path, &c);
	if (!rc)
		*s = c.user + c.sys - c.children;
	return rc;
}

/* The vCPU threads' summed CPU time; HB_EIO when one of them is gone. */
static int read_vcpu(const struct proc_priv *p, double *s)
{
	*s = 0;
	for (int i = 0; i < p->ntids; i++) {
		double t;
		int rc = read_thread_cpu(p->pid, p->tids[i], &t);
		if (rc)
			return rc;
		*s += t;
	}
	return 0;
}

/* Rss and Pss of pid in MiB from smaps_rollup. */
static int read_mem(pid_t pid, double *rss, double *pss, char *why, size_t len)
{
	char path[64], line[256];
	FILE *f;
	int got = 0;

	hb_snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f) {
		hb_snprintf(why, len, "%s: %s", path, strerror(errno));
		return HB_EIO;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;
		if (sscanf(line, "Rss: %llu kB", &kb) == 1) {
			*rss = (double)kb / 1024.0;
			got |= 1;
		} else if (sscanf(line, "Pss: %llu kB", &kb) == 1) {
			*pss = (double)kb / 1024.0;
			got |= 2;
		}
	}
	fclose(f);
	if (got != 3) {
		/* A process that has exited (zombie) shows an empty rollup. */
		hb_snprintf(why, len, "%s: no Rss/Pss lines (process exited?)", path);
		return HB_EPROTO;
	}
	return 0;
}

static void sample_once(struct proc_priv *p)
{
	double rss = 0, pss = 0;
	char why[160];

	if (read_mem(p->pid, &rss, &pss, why, sizeof(why))) {
		pthread_mutex_lock(&p->mu);
		if (!p->smaps_err[0] && !p->nsamples)
			hb_strlcpy(p->smaps_err, why, sizeof(p->smaps_err));
		pthread_mutex_unlock(&p->mu);
		return;
	}
	pthread_mutex_lock(&p->mu);
	if (rss > p->rss_peak)
		p->rss_peak = rss;
	if (pss > p->pss_peak)
		p->pss_peak = pss;
	p->pss_sum += pss;
	p->nsamples++;
	p->have_pss = 1;
	pthread_mutex_unlock(&p->mu);
}

static void *sampler(void *arg)
{
	struct proc_priv *p = arg;
	struct timespec ts;

	pthread_mutex_lock(&p->mu);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	while (!p->quit) {
		ts.tv_nsec += (p->interval_ms % 1000) * 1000000L;
		ts.tv_sec += p->interval_ms / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!p->quit && pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT)
			;
		if (p->quit)
			break;
		pthread_mutex_unlock(&p->mu);
		sample_once(p);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void stop_sampler(struct proc_priv *p)
{
	if (!p->th_running)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	p->th_running = 0;
}

static int proc_supported(char *why, size_t len)
{
	if (access("/proc/self/smaps_rollup", R_OK)) {
		hb_snprintf(why, len, "/proc/self/smaps_rollup: %s (kernel older than 4.14?)",
			    strerror(errno));
		return HB_EUNSUPP;
	}
	return 0;
}

static int proc_open(void *priv, const json_t *opts, const struct hb_probe_target *t,
		     struct hb_err *e)
{
	struct proc_priv *p = priv;
	pthread_condattr_t ca;

	if (t->pid <= 0)
		return hb_err_set(e, HB_EUNSUPP, "proc: the target has no host process");
	p->pid = t->pid;
	p->is_vm = t->is_vm;
	p->interval_ms = (long)hb_param_int(opts, "interval_ms");
	if (read_cpu(p->pid, &p->c0))
		return hb_err_errno(e, HB_EUNSUPP, "proc: cannot read /proc/%d/stat", (int)p->pid);
	p->runner_is_parent = p->c0.ppid == getpid();
	if (t->is_vm && t->ntids > 0 && t->ntids <= (int)HB_ARRAY_SIZE(p->tids)) {
		p->ntids = t->ntids;
		memcpy(p->tids, t->tids, (size_t)t->ntids * sizeof(p->tids[0]));
	}
	if (pthread_mutex_init(&p->mu, NULL))
		return hb_err_set(e, HB_EIO, "proc: pthread_mutex_init failed");
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&p->cv, &ca)) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&p->mu);
		return hb_err_set(e, HB_EIO, "proc: pthread_cond_init failed");
	}
	pthread_condattr_destroy(&ca);
	p->sync_init = 1;
	return 0;
}

static int proc_start(void *priv, struct hb_err *e)
{
	struct proc_priv *p = priv;

	p->avail0 = hb_meminfo("MemAvailable");
	getrusage(RUSAGE_CHILDREN, &p->ru0);
	if (read_cpu(p->pid, &p->c0))
		return hb_err_errno(e, HB_EUNSUPP, "proc: cannot read /proc/%d/stat", (int)p->pid);
	p->have_vcpu = p->ntids > 0 && read_vcpu(p, &p->vcpu0) == 0;
	p->t0 = hb_now();
	sample_once(p);
	if (pthread_create(&p->th, NULL, sampler, p))
		return hb_err_set(e, HB_EIO, "proc: cannot start the sampler thread");
	p->th_running = 1;
	return 0;
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static int proc_stop(void *priv, struct hb_err *e)
{
	struct proc_priv *p = priv;
	struct rusage ru;

	/* CPU first: joining the sampler and a last smaps walk of a large VMM take milliseconds
	 * during which a busy VMM keeps burning CPU outside the other probes' window. */
	p->t1 = hb_now();
	if (p->have_vcpu && read_vcpu(p, &p->vcpu1))
		p->have_vcpu = 0;
	if (read_cpu(p->pid, &p->c1) == 0) {
		p->have_c1 = 1;
	} else if (p->runner_is_parent && getrusage(RUSAGE_CHILDREN, &ru) == 0) {
		/* The runner reaped the worker: its times (with its own reaped children) now sit
		 * in our RUSAGE_CHILDREN, and nothing else of ours ended during the run. */
		p->c1.user = p->c0.user + tv_s(&ru.ru_utime) - tv_s(&p->ru0.ru_utime);
		p->c1.sys = p->c0.sys + tv_s(&ru.ru_stime) - tv_s(&p->ru0.ru_stime);
		p->have_c1 = 1;
		p->by_rusage = 1;
	}
	p->avail1 = hb_meminfo("MemAvailable");
	stop_sampler(p);
	sample_once(p);
	(void)e;
	return 0;
}

static int proc_read(void *priv, struct hb_sample *out, struct hb_err *e)
{
	struct proc_priv *p = priv;
	json_t *info = hb_probe_info(out, "proc");
	int partial = 0;

	json_object_set_new(info, "pid", json_integer(p->pid));
	json_object_set_new(info, "wall_s", json_real(p->t1 - p->t0));
	if (p->have_c1) {
		double u = p->c1.user - p->c0.user, s = p->c1.sys - p->c0.sys;
		hb_probe_metric(out, "proc.cpu_s", "s", 0, u + s);
		hb_probe_metric(out, "proc.user_s", "s", 0, u);
		hb_probe_metric(out, "proc.sys_s", "s", 0, s);
		if (!p->by_rusage)
			json_object_set_new(info, "children_cpu_s",
					    json_real(p->c1.children - p->c0.children));
		json_object_set_new(
			info, "cpu_method",
			json_string(p->by_rusage
					    ? "getrusage(RUSAGE_CHILDREN) delta of the runner "
					      "(worker reaped before the probe stopped)"
					    : "/proc/PID/stat utime+stime+cutime+cstime delta"));
	} else {
		partial = 1;
		json_object_set_new(info, "cpu_unavailable",
				    json_string("the process was gone at the end of the run and is "
						"not the runner's child"));
	}
	if (p->have_vcpu) {
		hb_probe_metric(out, "proc.vcpu_s", "s", 0, p->vcpu1 - p->vcpu0);
		json_object_set_new(info, "vcpu_threads", json_integer(p->ntids));
	} else if (p->ntids > 0) {
		json_object_set_new(info, "vcpu_unavailable",
				    json_string("a vCPU thread's /proc/PID/task/TID/stat could not "
						"be read at the start or the end of the run"));
	}
	if (p->have_pss) {
		hb_probe_metric(out, "proc.rss_peak_mib", "MiB", 0, p->rss_peak);
		hb_probe_metric(out, "proc.pss_peak_mib", "MiB", 0, p->pss_peak);
		hb_probe_metric(out, "proc.pss_mean_mib", "MiB", 0,
				p->pss_sum / (double)p->nsamples);
		json_object_set_new(info, "mem_samples", json_integer(p->nsamples));
		json_object_set_new(info, "interval_ms", json_integer(p->interval_ms));
	} else {
		partial = 1;
		json_object_set_new(info, "mem_unavailable",
				    json_string(p->smaps_err[0] ? p->smaps_err : "no sample"));
	}
	if (p->avail0 >= 0 && p->avail1 >= 0) {
		hb_probe_metric(out, "proc.memavail_delta_mib", "MiB", 1,
				(double)(p->avail1 - p->avail0) / 1048576.0);
		json_object_set_new(info, "memavail_start_mib",
				    json_real((double)p->avail0 / 1048576.0));
		json_object_set_new(info, "memavail_end_mib",
				    json_real((double)p->avail1 / 1048576.0));
	}
	if (partial)
		json_object_set_new(info, "status", json_string("partial"));
	(void)e;
	return 0;
}

static void proc_close(void *priv)
{
	struct proc_priv *p = priv;

	stop_sampler(p);
	if (p->sync_init) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		p->sync_init = 0;
	}
}

static const struct hb_metric_def proc_metrics[] = {
	{"proc.cpu_s", "s", 0, HB_AREA_COST, HB_ROLE_DIAGNOSTIC, HB_CMP_DELTA,
	 "host CPU seconds of the native worker or the whole VMM over the probe window"},
	{"proc.vcpu_s", "s", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "host CPU seconds of the VM's vCPU threads alone over the probe window (what the guest "
	 "got; proc.cpu_s minus this is the VMM's own work)"},
	{"proc.user_s", "s", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "user CPU seconds (native worker vs VMM: different processes)"},
	{"proc.sys_s", "s", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "system CPU seconds (native worker vs VMM: different processes)"},
	{"proc.*", "", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "RSS/PSS of the native worker or the VMM, host MemAvailable change"},
};

const struct hb_probe_ops hb_pr_proc = {
	.name = "proc",
	.help = "CPU time, RSS/PSS (sampled) of the VMM or native worker; host MemAvailable",
	.opts = proc_opts,
	.nopts = HB_ARRAY_SIZE(proc_opts),
	.metrics = proc_metrics,
	.nmetrics = HB_ARRAY_SIZE(proc_metrics),
	.priv_size = sizeof(struct proc_priv),
	.supported = proc_supported,
	.open = proc_open,
	.start = proc_start,
	.stop = proc_stop,
	.read = proc_read,
	.close = proc_close,
};
