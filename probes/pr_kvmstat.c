/*
 * pr_kvmstat.c — the `kvmstat` probe: KVM's own exit statistics for a VM target over the run.
 * Preferred source: QMP query-stats (targets vcpu and vm, provider kvm; QEMU >= 7.1 on a kernel
 * with KVM binary stats) before and after the run, giving the deltas of exits, io_exits,
 * mmio_exits, halt_exits, irq_exits and insn_emulation summed over vCPUs, and exits per second.
 * Fallback (kernel without binary stats, or no QMP): the kvm:kvm_exit tracepoint counted with
 * perf on the vCPU threads, which gives exits only. Native targets and TCG VMs are unsupported,
 * with the reason. The reply parser is exported so tests can feed it captured replies.
 */
#include "probe.h"
#include "qmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <perfmon/pfmlib_perf_event.h>

static const char *const STATS[] = {"exits",	  "io_exits",  "mmio_exits",
				    "halt_exits", "irq_exits", "insn_emulation"};

static const char *const SOURCES[] = {"auto", "qmp", "tracepoint", NULL};

static const struct hb_param kvm_opts[] = {
	{"timeout", HB_P_DOUBLE, 0.1, 60, "5", NULL, "seconds to wait for each QMP reply"},
	{"source", HB_P_ENUM, 0, 0, "auto", SOURCES,
	 "qmp (query-stats), tracepoint (perf kvm:kvm_exit on the vCPU threads: exits only), or "
	 "auto (qmp when the kvm stats provider exists, else tracepoint)"},
};

#define MAX_TP 256

struct kvm_priv {
	struct hb_qmp *q;
	double timeout;
	json_t *vcpu0, *vcpu1, *vm0, *vm1; /* summed stats */
	int nvcpu;
	double t0, t1;
	char vm_err[256];
	/* tracepoint source */
	int tp;
	int nfd;
	int fds[MAX_TP];
	char why_tp[256]; /* why auto fell back to the tracepoint */
};

int hb_kvmstat_parse(const json_t *reply, json_t **sums, int *nentries, struct hb_err *e)
{
	const json_t *arr = reply, *ent;
	json_t *res;
	size_t i, k;
	int n = 0;

	*sums = NULL;
	if (nentries)
		*nentries = 0;
	if (json_is_object(reply)) {
		if (json_object_get(reply, "error"))
			return hb_err_set(e, HB_EPROTO, "query-stats: %s",
					  json_string_value(json_object_get(
						  json_object_get(reply, "error"), "desc")));
		arr = json_object_get(reply, "return");
	}
	if (!json_is_array(arr))
		return hb_err_set(e, HB_EPROTO, "query-stats: reply is not a list of stats");
	res = json_object();
	json_array_foreach (arr, i, ent) {
		const json_t *st = json_object_get(ent, "stats"), *s;
		const char *prov = json_string_value(json_object_get(ent, "provider"));
		if (!prov || strcmp(prov, "kvm"))
			continue;
		if (!json_is_array(st)) {
			json_decref(res);
			return hb_err_set(e, HB_EPROTO,
					  "query-stats: entry %zu has no \"stats\" list", i);
		}
		n++;
		json_array_foreach (st, k, s) {
			const char *name = json_string_value(json_object_get(s, "name"));
			const json_t *v = json_object_get(s, "value"), *old;
			if (!name || !json_is_number(v))
				continue; /* booleans (instant) and histograms (arrays) */
			old = json_object_get(res, name);
			if (json_is_integer(v) && (!old || json_is_integer(old)))
				json_object_set_new(
					res, name,
					json_integer(json_integer_value(v) +
						     (old ? json_integer_value(old) : 0)));
			else
				json_object_set_new(res, name,
						    json_real(json_number_value(v) +
							      (old ? json_number_value(old) : 0)));
		}
	}
	if (!n) {
		json_decref(res);
		return hb_err_set(e, HB_EUNSUPP, "query-stats: provider kvm not present");
	}
	*sums = res;
	if (nentries)
		*nentries = n;
	return 0;
}

int hb_kvmstat_delta(const json_t *before, const json_t *after, double seconds,
		     struct hb_sample *out, json_t *info)
{
	char name[64];
	size_t i;
	int added = 0;
	json_t *missing = json_array();

	for (i = 0; i < HB_ARRAY_SIZE(STATS); i++) {
		const json_t *a = json_object_get(before, STATS[i]);
		const json_t *b = json_object_get(after, STATS[i]);
		double d;
		if (!json_is_number(a) || !json_is_number(b)) {
			json_array_append_new(missing, json_string(STATS[i]));
			continue;
		}
		if (json_is_integer(a) && json_is_integer(b))
			d = (double)(json_integer_value(b) - json_integer_value(a));
		else
			d = json_number_value(b) - json_number_value(a);
		hb_snprintf(name, sizeof(name), "kvmstat.%s", STATS[i]);
		hb_probe_metric(out, name, "count", 0, d);
		added++;
		if (!strcmp(STATS[i], "exits") && seconds > 0) {
			hb_probe_metric(out, "kvmstat.exits_per_s", "exits/s", 0, d / seconds);
			added++;
		}
	}
	if (info && json_array_size(missing))
		json_object_set(info, "missing", missing);
	json_decref(missing);
	return added;
}

/* One query-stats call for target ("vcpu" or "vm"), summed. */
static int snapshot(struct kvm_priv *p, const char *target, json_t **sums, int *n, struct hb_err *e)
{
	json_t *args =
		json_pack("{s:s, s:[{s:s}]}", "target", target, "providers", "provider", "kvm");
	json_t *ret = NULL;
	int rc;

	if (!args)
		return hb_err_set(e, HB_ENOMEM, "kvmstat: out of memory");
	rc = hb_qmp_cmd(p->q, "query-stats", args, p->timeout, &ret, e);
	if (rc) {
		hb_err_prefix(e, "kvmstat: query-stats %s", target);
		return rc == HB_EPROTO ? HB_EUNSUPP : rc; /* e.g. a QEMU without query-stats */
	}
	rc = hb_kvmstat_parse(ret, sums, n, e);
	json_decref(ret);
	return rc;
}

/* 1 when the kernel exports KVM binary stats (what query-stats' kvm provider reads). */
static int binary_stats(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return 0;
	r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD);
	close(fd);
	return r > 0;
}

static int kvm_supported(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		hb_snprintf(why, len, "/dev/kvm: %s: no KVM statistics", strerror(errno));
		return HB_EUNSUPP;
	}
	close(fd);
	return 0;
}

/* Does pid hold a KVM VM file descriptor (QEMU with accel=kvm)? */
static int uses_kvm(pid_t pid)
{
	char dir[64], path[320], link[128];
	DIR *d;
	struct dirent *de;
	int found = 0;

	hb_snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while (!found && (de = readdir(d))) {
		ssize_t n;
		if (de->d_name[0] == '.')
			continue;
		hb_snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = !strcmp(link, "anon_inode:kvm-vm");
	}
	closedir(d);
	return found;
}

/* The perf id of tracepoint kvm:kvm_exit, from tracefs; -1 with why. */
static long tracepoint_id(char *why, size_t len)
{
	static const char *const paths[] = {"/sys/kernel/tracing/events/kvm/kvm_exit/id",
					    "/sys/kernel/debug/tracing/events/kvm/kvm_exit/id"};
	size_t i;

	for (i = 0; i < HB_ARRAY_SIZE(paths); i++) {
		FILE *f = fopen(paths[i], "r");
		char buf[32] = "";
		long id;
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		buf[strcspn(buf, "\n")] = '\0';
		if (hb_parse_long(buf, 0, 1L << 30, &id) == 0)
			return id;
	}
	hb_snprintf(why, len,
		    "tracepoint kvm:kvm_exit not found (tracefs not mounted at "
		    "/sys/kernel/tracing, or no kvm module)");
	return -1;
}

static void close_tp(struct kvm_priv *p)
{
	int i;

	for (i = 0; i < p->nfd; i++)
		close(p->fds[i]);
	p->nfd = 0;
}

/* Opens a kvm:kvm_exit counter on every vCPU thread (every QEMU thread when none is known). */
static int open_tp(struct kvm_priv *p, const struct hb_probe_target *t, struct hb_err *e)
{
	struct perf_event_attr a;
	pid_t tids[MAX_TP];
	int n = 0, i;
	char why[256];
	long id = tracepoint_id(why, sizeof(why));

	if (id < 0)
		return hb_err_set(e, HB_EUNSUPP, "%s", why);
	if (t->ntids > 0) {
		for (i = 0; i < t->ntids && i < (int)HB_ARRAY_SIZE(t->tids) && n < MAX_TP; i++)
			tids[n++] = t->tids[i];
	} else {
		char dir[64];
		DIR *d;
		struct dirent *de;
		hb_snprintf(dir, sizeof(dir), "/proc/%d/task", (int)t->pid);
		d = opendir(dir);
		if (!d)
			return hb_err_errno(e, HB_EUNSUPP, "kvmstat: %s", dir);
		while ((de = readdir(d)) && n < MAX_TP) {
			long v;
			if (hb_parse_long(de->d_name, 1, 1L << 30, &v) == 0)
				tids[n++] = (pid_t)v;
		}
		closedir(d);
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_TRACEPOINT;
	a.config = (unsigned long long)id;
	a.disabled = 1;
	a.inherit = 1;
	for (i = 0; i < n; i++) {
		int fd = (int)syscall(__NR_perf_event_open, &a, tids[i], -1, -1,
				      PERF_FLAG_FD_CLOEXEC);
		if (fd < 0 && errno == ESRCH)
			continue;
		if (fd < 0) {
			int err = errno;
			close_tp(p);
			return hb_err_set(e, HB_EUNSUPP, "perf_event_open(kvm:kvm_exit): %s — %s",
					  hb_errno_name(err), strerror(err));
		}
		p->fds[p->nfd++] = fd;
	}
	if (!p->nfd)
		return hb_err_set(e, HB_EUNSUPP, "kvmstat: no vCPU thread to count");
	p->nvcpu = n;
	p->tp = 1;
	return 0;
}

static int kvm_open(void *priv, const json_t *opts, const struct hb_probe_target *t,
		    struct hb_err *e)
{
	struct kvm_priv *p = priv;
	const char *src = hb_param_str(opts, "source");
	json_t *ret = NULL, *sums = NULL;
	struct hb_err qe = {0};
	int rc;

	if (!t->is_vm)
		return hb_err_set(e, HB_EUNSUPP, "native target: no KVM statistics");
	p->q = t->qmp;
	p->timeout = hb_param_double(opts, "timeout");
	if (p->q) {
		rc = hb_qmp_cmd(p->q, "query-kvm", NULL, p->timeout, &ret, e);
		if (rc) {
			hb_err_prefix(e, "kvmstat: query-kvm");
			return rc;
		}
		rc = json_is_true(json_object_get(ret, "enabled"));
		json_decref(ret);
		if (!rc)
			return hb_err_set(e, HB_EUNSUPP, "target uses TCG: no KVM statistics");
	} else if (uses_kvm(t->pid) == 0) {
		return hb_err_set(
			e, HB_EUNSUPP,
			"target does not use KVM (no kvm-vm descriptor): no KVM statistics");
	}
	if (!strcmp(src, "tracepoint"))
		return open_tp(p, t, e);
	if (!p->q) {
		if (!strcmp(src, "qmp"))
			return hb_err_set(e, HB_EUNSUPP,
					  "no QMP connection to the VMM: no KVM statistics");
		hb_strlcpy(p->why_tp, "no QMP connection to the VMM", sizeof(p->why_tp));
		return open_tp(p, t, e);
	}
	/* One cheap query tells whether the kvm provider exists (kernel binary stats). */
	rc = hb_qmp_cmd(p->q, "query-stats",
			json_pack("{s:s, s:[{s:s, s:[s]}]}", "target", "vcpu", "providers",
				  "provider", "kvm", "names", "exits"),
			p->timeout, &ret, &qe);
	if (rc == 0)
		rc = hb_kvmstat_parse(ret, &sums, NULL, &qe);
	json_decref(ret);
	json_decref(sums);
	if (rc == 0)
		return 0;
	if (!strcmp(src, "qmp") || rc == HB_ETIMEDOUT || rc == HB_EIO)
		return hb_err_set(e, rc == HB_EPROTO ? HB_EUNSUPP : rc, "%s", qe.msg);
	hb_strlcpy(p->why_tp, qe.msg, sizeof(p->why_tp));
	rc = open_tp(p, t, e);
	if (rc)
		hb_err_prefix(e, "%s; fallback", qe.msg);
	return rc;
}

static int kvm_start(void *priv, struct hb_err *e)
{
	struct kvm_priv *p = priv;
	struct hb_err ve = {0};
	int rc, i;

	if (p->tp) {
		for (i = 0; i < p->nfd; i++)
			if (ioctl(p->fds[i], PERF_EVENT_IOC_RESET, 0) < 0 ||
			    ioctl(p->fds[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
				return hb_err_errno(e, HB_EIO,
						    "kvmstat: enable kvm:kvm_exit counter");
		p->t0 = hb_now();
		return 0;
	}
	rc = snapshot(p, "vcpu", &p->vcpu0, &p->nvcpu, e);
	if (rc)
		return rc;
	/* The vm target is extra detail; its absence is noted, not fatal. */
	if (snapshot(p, "vm", &p->vm0, NULL, &ve))
		hb_strlcpy(p->vm_err, ve.msg, sizeof(p->vm_err));
	p->t0 = hb_now();
	return 0;
}

static int kvm_stop(void *priv, struct hb_err *e)
{
	struct kvm_priv *p = priv;
	struct hb_err ve = {0};
	int rc, i;

	p->t1 = hb_now();
	if (p->tp) {
		for (i = 0; i < p->nfd; i++)
			ioctl(p->fds[i], PERF_EVENT_IOC_DISABLE, 0);
		return 0;
	}
	rc = snapshot(p, "vcpu", &p->vcpu1, NULL, e);
	if (rc)
		return rc;
	if (p->vm0 && snapshot(p, "vm", &p->vm1, NULL, &ve))
		hb_strlcpy(p->vm_err, ve.msg, sizeof(p->vm_err));
	return 0;
}

/* Tracepoint source: exits only. */
static int read_tp(struct kvm_priv *p, struct hb_sample *out, json_t *info)
{
	double sum = 0;
	int i;

	for (i = 0; i < p->nfd; i++) {
		unsigned long long v = 0;
		if (read(p->fds[i], &v, sizeof(v)) == (ssize_t)sizeof(v))
			sum += (double)v;
	}
	hb_probe_metric(out, "kvmstat.exits", "count", 0, sum);
	if (p->t1 > p->t0)
		hb_probe_metric(out, "kvmstat.exits_per_s", "exits/s", 0, sum / (p->t1 - p->t0));
	json_object_set_new(info, "source",
			    json_string("tracepoint kvm:kvm_exit (perf, per vCPU "
					"thread)"));
	if (p->why_tp[0])
		json_object_set_new(info, "fallback_because", json_string(p->why_tp));
	json_object_set_new(info, "missing",
			    json_pack("[s, s, s, s, s]", "io_exits", "mmio_exits", "halt_exits",
				      "irq_exits", "insn_emulation"));
	if (sum == 0)
		json_object_set_new(
			info, "warning",
			json_string("kvm:kvm_exit counted nothing: on some nested or "
				    "paravirtual KVM hosts the tracepoint never fires"));
	json_object_set_new(info, "threads", json_integer(p->nfd));
	json_object_set_new(info, "seconds", json_real(p->t1 - p->t0));
	json_object_set_new(info, "status", json_string("partial"));
	return 0;
}

static int kvm_read(void *priv, struct hb_sample *out, struct hb_err *e)
{
	struct kvm_priv *p = priv;
	json_t *info = hb_probe_info(out, "kvmstat");

	if (p->tp)
		return read_tp(p, out, info);
	json_object_set_new(info, "source", json_string("qmp query-stats"));
	if (!p->vcpu0 || !p->vcpu1)
		return hb_err_set(e, HB_EIO, "kvmstat: missing a query-stats snapshot");
	if (!hb_kvmstat_delta(p->vcpu0, p->vcpu1, p->t1 - p->t0, out, info))
		return hb_err_set(e, HB_EUNSUPP,
				  "query-stats: none of the exit statistics present");
	json_object_set_new(info, "vcpus", json_integer(p->nvcpu));
	json_object_set_new(info, "seconds", json_real(p->t1 - p->t0));
	if (p->vm0 && p->vm1) {
		json_t *vm = json_object(), *v;
		const char *k;
		json_object_foreach (p->vm1, k, v) {
			const json_t *a = json_object_get(p->vm0, k);
			if (json_is_number(a) && json_number_value(v) != json_number_value(a))
				json_object_set_new(
					vm, k,
					json_real(json_number_value(v) - json_number_value(a)));
		}
		json_object_set_new(info, "vm_deltas", vm);
	} else if (p->vm_err[0]) {
		json_object_set_new(info, "vm_unavailable", json_string(p->vm_err));
	}
	return 0;
}

static void kvm_close(void *priv)
{
	struct kvm_priv *p = priv;

	json_decref(p->vcpu0);
	json_decref(p->vcpu1);
	json_decref(p->vm0);
	json_decref(p->vm1);
	p->vcpu0 = p->vcpu1 = p->vm0 = p->vm1 = NULL;
	close_tp(p);
}

static json_t *kvm_describe(const json_t *opts)
{
	char why[256] = "", note[512];
	json_t *notes = json_array();
	int bs = binary_stats();
	long id = tracepoint_id(why, sizeof(why));

	(void)opts;
	json_array_append_new(notes,
			      json_string("works for VM targets running with accel=kvm; "
					  "native and TCG targets are reported unavailable"));
	hb_snprintf(note, sizeof(note), "source qmp (query-stats, all six exit counters): %s",
		    bs ? "kernel has KVM binary stats"
		       : "UNAVAILABLE: kernel has no KVM binary stats (KVM_CAP_BINARY_STATS_FD)");
	json_array_append_new(notes, json_string(note));
	hb_snprintf(note, sizeof(note), "source tracepoint (kvm:kvm_exit, exits only): %s",
		    id >= 0 ? "available" : why);
	json_array_append_new(notes, json_string(note));
	return json_pack("{s:o, s:b}", "notes", notes, "binary_stats", bs);
}

static const struct hb_metric_def kvm_metrics[] = {
	{"kvmstat.*", "", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "KVM exit statistics of the VM (no native counterpart)"},
};

const struct hb_probe_ops hb_pr_kvmstat = {
	.name = "kvmstat",
	.help = "KVM exit statistics of a VM over the run (QMP query-stats, provider kvm)",
	.opts = kvm_opts,
	.nopts = HB_ARRAY_SIZE(kvm_opts),
	.metrics = kvm_metrics,
	.nmetrics = HB_ARRAY_SIZE(kvm_metrics),
	.priv_size = sizeof(struct kvm_priv),
	.supported = kvm_supported,
	.open = kvm_open,
	.start = kvm_start,
	.stop = kvm_stop,
	.read = kvm_read,
	.close = kvm_close,
	.describe = kvm_describe,
};
