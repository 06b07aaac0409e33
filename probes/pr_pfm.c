/*
 * pr_pfm.c — the `pfm` probe: hardware and software counters through libpfm4 (event names to
 * perf_event_attr) and perf_event_open. Native target: one counter per event on the held
 * worker with inherit=1, opened before it starts, so its children are counted when they exit.
 * VM target: one counter per event per QEMU thread (pid+inherit would miss threads that already
 * exist), vCPU threads summed apart from the VMM's other threads, exclude_guest cleared so
 * guest-mode time counts. Multiplexed counts are scaled by enabled/running time and the scaling
 * reported. An event that cannot be opened (no PMU: ENOENT) is listed with its reason while the
 * others still count.
 */
#include "probe.h"

#include <dirent.h>
#include <errno.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <perfmon/pfmlib_perf_event.h>

#define MAX_EV	    16
#define MAX_THREADS 512

static const char DEFAULT_EVENTS[] = "cycles,instructions,perf::CACHE-MISSES,perf::BRANCH-MISSES";
static const char *const SOFT_EVENTS[] = {"perf::TASK-CLOCK", "perf::CONTEXT-SWITCHES",
					  "perf::PAGE-FAULTS"};

static const struct hb_param pfm_opts[] = {
	{"events", HB_P_STRING, 0, 2000, DEFAULT_EVENTS, NULL,
	 "libpfm4 event names (a list or comma-separated), e.g. cycles, instructions, "
	 "perf::CACHE-MISSES, or PMU-specific names"},
	{"software", HB_P_BOOL, 0, 0, "true", NULL,
	 "also count perf::TASK-CLOCK, perf::CONTEXT-SWITCHES, perf::PAGE-FAULTS (they work "
	 "without a hardware PMU)"},
	{"kernel", HB_P_BOOL, 0, 0, "true", NULL, "count kernel mode too (not only user mode)"},
};

struct ev {
	char name[128]; /* as given */
	char key[48];	/* metric name part: "cycles", "task_clock_s" */
	const char *unit;
	double scale; /* raw count -> reported value */
	struct perf_event_attr attr;
	int ok;
	char why[256];
	double val[3];	  /* total, vcpu, other (scaled) */
	double max_ratio; /* largest enabled/running over its counters */
	int never_ran;	  /* counters enabled but never scheduled (count unknown) */
};

struct cnt {
	int fd;
	int ev;
	int vcpu;
};

struct pfm_priv {
	pid_t pid;
	int is_vm;
	int nev;
	struct ev ev[MAX_EV];
	int ncnt;
	struct cnt *cnt; /* malloc'd; closed and freed by close */
	int nthreads;
	pid_t threads[MAX_THREADS];
	int nvcpu_given, nvcpu_found;
	int gone; /* threads that vanished between listing and opening */
	int user_only;
};

static int perf_open(struct perf_event_attr *a, pid_t pid)
{
	return (int)syscall(__NR_perf_event_open, a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static int pfm_init(char *why, size_t len)
{
	int rc = pfm_initialize();

	if (rc != PFM_SUCCESS) {
		hb_snprintf(why, len, "libpfm4: pfm_initialize: %s", pfm_strerror(rc));
		return HB_EUNSUPP;
	}
	return 0;
}

/* Metric key and unit: canonical for the generic events, else derived from the name. */
static void name_event(struct ev *v)
{
	const struct perf_event_attr *a = &v->attr;
	const char *s = v->name;
	size_t i = 0;

	v->unit = "count";
	v->scale = 1;
	if (a->type == PERF_TYPE_HARDWARE) {
		static const char *const hw[] = {"cycles",
						 "instructions",
						 "cache_references",
						 "cache_misses",
						 "branches",
						 "branch_misses",
						 "bus_cycles",
						 "stalled_cycles_frontend",
						 "stalled_cycles_backend",
						 "ref_cycles"};
		if (a->config < HB_ARRAY_SIZE(hw)) {
			hb_strlcpy(v->key, hw[a->config], sizeof(v->key));
			return;
		}
	}
	if (a->type == PERF_TYPE_SOFTWARE) {
		switch (a->config) {
		case PERF_COUNT_SW_TASK_CLOCK:
			hb_strlcpy(v->key, "task_clock_s", sizeof(v->key));
			v->unit = "s";
			v->scale = 1e-9;
			return;
		case PERF_COUNT_SW_CPU_CLOCK:
			hb_strlcpy(v->key, "cpu_clock_s", sizeof(v->key));
			v->unit = "s";
			v->scale = 1e-9;
			return;
		case PERF_COUNT_SW_CONTEXT_SWITCHES:
			hb_strlcpy(v->key, "context_switches", sizeof(v->key));
			return;
		case PERF_COUNT_SW_PAGE_FAULTS:
			hb_strlcpy(v->key, "page_faults", sizeof(v->key));
			return;
		case PERF_COUNT_SW_CPU_MIGRATIONS:
			hb_strlcpy(v->key, "cpu_migrations", sizeof(v->key));
			return;
		default: break;
		}
	}
	if (!strncasecmp(s, "perf::", 6))
		s += 6;
	for (; *s && i + 1 < sizeof(v->key) - 8; s++) {
		char c = (char)tolower((unsigned char)*s);
		if (!isalnum((unsigned char)c))
			c = '_';
		if (c == '_' && (i == 0 || v->key[i - 1] == '_'))
			continue;
		v->key[i++] = c;
	}
	while (i && v->key[i - 1] == '_')
		i--;
	v->key[i] = '\0';
	if (!i)
		hb_strlcpy(v->key, "event", sizeof(v->key));
}

/* Encodes one event with libpfm4; 0 or HB_EUNSUPP with v->why. */
static int encode(struct ev *v, int kernel)
{
	pfm_perf_encode_arg_t arg;
	int rc;

	memset(&v->attr, 0, sizeof(v->attr));
	memset(&arg, 0, sizeof(arg));
	v->attr.size = sizeof(v->attr); /* before encoding: libpfm checks it */
	arg.attr = &v->attr;
	arg.size = sizeof(arg);
	rc = pfm_get_os_event_encoding(v->name, PFM_PLM3 | (kernel ? PFM_PLM0 : 0),
				       PFM_OS_PERF_EVENT_EXT, &arg);
	if (rc != PFM_SUCCESS) {
		hb_snprintf(v->why, sizeof(v->why), "libpfm4: %s", pfm_strerror(rc));
		return HB_EUNSUPP;
	}
	v->attr.size = sizeof(v->attr);
	v->attr.exclude_guest = 0; /* libpfm sets it: guest-mode time is what a VM costs */
	v->attr.disabled = 1;
	v->attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	name_event(v);
	return 0;
}

static void open_reason(struct ev *v, int err)
{
	int hw = v->attr.type == PERF_TYPE_HARDWARE || v->attr.type == PERF_TYPE_HW_CACHE ||
		 v->attr.type == PERF_TYPE_RAW || v->attr.type >= PERF_TYPE_MAX;

	if ((err == ENOENT || err == ENODEV || err == EOPNOTSUPP) && hw)
		hb_snprintf(v->why, sizeof(v->why),
			    "perf_event_open: %s — no hardware PMU (virtualized host?)",
			    hb_errno_name(err));
	else if (err == EACCES || err == EPERM)
		hb_snprintf(
			v->why, sizeof(v->why),
			"perf_event_open: %s — not permitted (perf_event_paranoid; run as root)",
			hb_errno_name(err));
	else
		hb_snprintf(v->why, sizeof(v->why), "perf_event_open: %s — %s", hb_errno_name(err),
			    strerror(err));
}

/* Parses the event list; encodes each (failures kept with their reason). */
static int build_events(struct pfm_priv *p, const json_t *opts, struct hb_err *e)
{
	const char *list = hb_param_str(opts, "events");
	int kernel = hb_param_bool(opts, "kernel");
	char buf[2048];
	char *save = NULL, *tok;
	size_t i;
	int j;

	hb_strlcpy(buf, list ? list : "", sizeof(buf));
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		for (i = strlen(tok); i && isspace((unsigned char)tok[i - 1]); i--)
			tok[i - 1] = '\0';
		if (!*tok)
			continue;
		if (p->nev >= MAX_EV)
			return hb_err_set(e, HB_EINVAL, "pfm: more than %d events", MAX_EV);
		hb_strlcpy(p->ev[p->nev].name, tok, sizeof(p->ev[0].name));
		p->ev[p->nev].ok = encode(&p->ev[p->nev], kernel) == 0;
		p->nev++;
	}
	if (hb_param_bool(opts, "software")) {
		for (i = 0; i < HB_ARRAY_SIZE(SOFT_EVENTS); i++) {
			struct ev tmp;
			int dup = 0;
			memset(&tmp, 0, sizeof(tmp));
			hb_strlcpy(tmp.name, SOFT_EVENTS[i], sizeof(tmp.name));
			if (encode(&tmp, kernel))
				continue;
			for (j = 0; j < p->nev; j++)
				if (p->ev[j].ok && p->ev[j].attr.type == tmp.attr.type &&
				    p->ev[j].attr.config == tmp.attr.config)
					dup = 1;
			if (dup)
				continue;
			if (p->nev >= MAX_EV)
				return hb_err_set(e, HB_EINVAL, "pfm: more than %d events", MAX_EV);
			tmp.ok = 1;
			p->ev[p->nev++] = tmp;
		}
	}
	/* Two events with the same metric name would overwrite each other. */
	for (j = 0; j < p->nev; j++) {
		int k;
		for (k = 0; k < j; k++)
			if (p->ev[j].ok && p->ev[k].ok && !strcmp(p->ev[j].key, p->ev[k].key))
				return hb_err_set(e, HB_EINVAL,
						  "pfm: events \"%s\" and \"%s\" both map to "
						  "pfm.%s",
						  p->ev[k].name, p->ev[j].name, p->ev[j].key);
	}
	return 0;
}

/* Lists /proc/PID/task into p->threads. */
static int list_threads(pid_t pid, pid_t *out, int max, int *n, struct hb_err *e)
{
	char path[64];
	DIR *d;
	struct dirent *de;

	*n = 0;
	hb_snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return hb_err_errno(e, HB_EUNSUPP, "pfm: %s", path);
	while ((de = readdir(d))) {
		long t;
		if (de->d_name[0] == '.' || hb_parse_long(de->d_name, 1, 1L << 30, &t))
			continue;
		if (*n < max)
			out[(*n)++] = (pid_t)t;
	}
	closedir(d);
	return 0;
}

static int add_cnt(struct pfm_priv *p, int fd, int ev, int vcpu, int *cap, struct hb_err *e)
{
	if (p->ncnt == *cap) {
		int nc = *cap ? *cap * 2 : 64;
		struct cnt *c = realloc(p->cnt, (size_t)nc * sizeof(*c));
		if (!c) {
			close(fd);
			return hb_err_set(e, HB_ENOMEM, "pfm: out of memory");
		}
		p->cnt = c;
		*cap = nc;
	}
	p->cnt[p->ncnt].fd = fd;
	p->cnt[p->ncnt].ev = ev;
	p->cnt[p->ncnt].vcpu = vcpu;
	p->ncnt++;
	return 0;
}

/* Drops every counter of event ev (when one of its opens failed for a reason other than a
 * vanished thread: a half-counted event would be wrong). */
static void drop_event(struct pfm_priv *p, int ev)
{
	int i, k = 0;

	for (i = 0; i < p->ncnt; i++) {
		if (p->cnt[i].ev == ev)
			close(p->cnt[i].fd);
		else
			p->cnt[k++] = p->cnt[i];
	}
	p->ncnt = k;
	p->ev[ev].ok = 0;
}

static int pfm_supported(char *why, size_t len)
{
	struct ev v;
	int fd;

	if (pfm_init(why, len))
		return HB_EUNSUPP;
	memset(&v, 0, sizeof(v));
	hb_strlcpy(v.name, "perf::TASK-CLOCK", sizeof(v.name));
	if (encode(&v, 0)) {
		hb_snprintf(why, len, "%s", v.why);
		return HB_EUNSUPP;
	}
	fd = perf_open(&v.attr, 0);
	if (fd < 0) {
		open_reason(&v, errno);
		hb_snprintf(why, len, "%s", v.why);
		return HB_EUNSUPP;
	}
	close(fd);
	return 0;
}

static void pfm_close(void *priv)
{
	struct pfm_priv *p = priv;
	int i;

	for (i = 0; i < p->ncnt; i++)
		close(p->cnt[i].fd);
	free(p->cnt);
	p->cnt = NULL;
	p->ncnt = 0;
}

static int is_vcpu(const struct hb_probe_target *t, pid_t tid)
{
	int i;

	for (i = 0; i < t->ntids && i < (int)HB_ARRAY_SIZE(t->tids); i++)
		if (t->tids[i] == tid)
			return 1;
	return 0;
}

static int pfm_open(void *priv, const json_t *opts, const struct hb_probe_target *t,
		    struct hb_err *e)
{
	struct pfm_priv *p = priv;
	char why[256];
	int rc, i, k, cap = 0, nok = 0;

	if (pfm_init(why, sizeof(why)))
		return hb_err_set(e, HB_EUNSUPP, "%s", why);
	if (t->pid <= 0)
		return hb_err_set(e, HB_EUNSUPP, "pfm: the target has no host process to count");
	p->pid = t->pid;
	p->is_vm = t->is_vm;
	rc = build_events(p, opts, e);
	if (rc)
		goto fail;
	if (p->is_vm) {
		rc = list_threads(p->pid, p->threads, MAX_THREADS, &p->nthreads, e);
		if (rc)
			goto fail;
		p->nvcpu_given = t->ntids;
		for (k = 0; k < p->nthreads; k++)
			p->nvcpu_found += is_vcpu(t, p->threads[k]);
	} else {
		p->threads[0] = p->pid;
		p->nthreads = 1;
	}
	for (i = 0; i < p->nev; i++) {
		struct ev *v = &p->ev[i];
		int opened = 0;

		if (!v->ok)
			continue;
		/* Native: follow the worker's future children. VM: also follow threads a counted
		 * thread creates later (QEMU's thread pool), folded in when they exit. */
		v->attr.inherit = 1;
		for (k = 0; k < p->nthreads; k++) {
			int fd = perf_open(&v->attr, p->threads[k]);
			if (fd < 0 && (errno == EACCES || errno == EPERM) &&
			    !v->attr.exclude_kernel) {
				/* Kernel counting forbidden: count user mode only, and say so. */
				v->attr.exclude_kernel = 1;
				v->attr.exclude_hv = 1;
				fd = perf_open(&v->attr, p->threads[k]);
				if (fd >= 0)
					p->user_only = 1;
			}
			if (fd < 0 && errno == ESRCH && p->is_vm) {
				p->gone++;
				continue;
			}
			if (fd < 0) {
				open_reason(v, errno);
				drop_event(p, i);
				break;
			}
			rc = add_cnt(p, fd, i, p->is_vm && is_vcpu(t, p->threads[k]), &cap, e);
			if (rc)
				goto fail;
			opened++;
		}
		if (v->ok && !opened) {
			hb_snprintf(v->why, sizeof(v->why),
				    "perf_event_open: no thread left to count");
			v->ok = 0;
		}
		nok += v->ok;
	}
	if (!nok) {
		char list[1024] = "";
		for (i = 0; i < p->nev; i++) {
			size_t l = strlen(list);
			hb_snprintf(list + l, sizeof(list) - l, "%s%s: %s", i ? "; " : "",
				    p->ev[i].name, p->ev[i].why);
		}
		rc = hb_err_set(e, HB_EUNSUPP, "pfm: no event could be opened (%s)", list);
		goto fail;
	}
	return 0;
fail:
	pfm_close(p);
	return rc;
}

static int pfm_start(void *priv, struct hb_err *e)
{
	struct pfm_priv *p = priv;
	int i;

	for (i = 0; i < p->ncnt; i++) {
		if (ioctl(p->cnt[i].fd, PERF_EVENT_IOC_RESET, 0) < 0 ||
		    ioctl(p->cnt[i].fd, PERF_EVENT_IOC_ENABLE, 0) < 0)
			return hb_err_errno(e, HB_EIO, "pfm: enable counter");
	}
	return 0;
}

static int pfm_stop(void *priv, struct hb_err *e)
{
	struct pfm_priv *p = priv;
	int i;

	/* A counter whose task has exited may refuse the ioctl; its count is final anyway. */
	for (i = 0; i < p->ncnt; i++)
		ioctl(p->cnt[i].fd, PERF_EVENT_IOC_DISABLE, 0);
	return 0;
}

static int pfm_read(void *priv, struct hb_sample *out, struct hb_err *e)
{
	struct pfm_priv *p = priv;
	json_t *info = hb_probe_info(out, "pfm");
	json_t *evinfo = json_object(), *unavail = json_array();
	char name[64];
	int i, nunavail = 0;

	for (i = 0; i < p->ncnt; i++) {
		struct cnt *c = &p->cnt[i];
		struct ev *v = &p->ev[c->ev];
		uint64_t buf[3];
		double val, ratio = 1;

		if (read(c->fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			continue; /* counts as zero; a closed thread's counter */
		val = (double)buf[0];
		if (buf[2] > 0 && buf[2] < buf[1]) {
			ratio = (double)buf[1] / (double)buf[2];
			val *= ratio;
		} else if (buf[2] == 0 && buf[1] > 0) {
			v->never_ran = 1;
		}
		if (ratio > v->max_ratio)
			v->max_ratio = ratio;
		v->val[0] += val;
		v->val[c->vcpu ? 1 : 2] += val;
	}
	for (i = 0; i < p->nev; i++) {
		struct ev *v = &p->ev[i];
		if (!v->ok) {
			nunavail++;
			json_array_append_new(unavail, json_pack("{s:s, s:s}", "event", v->name,
								 "reason", v->why));
			continue;
		}
		hb_snprintf(name, sizeof(name), "pfm.%s", v->key);
		hb_probe_metric(out, name, v->unit, 0, v->val[0] * v->scale);
		if (p->is_vm && p->nvcpu_found) {
			hb_snprintf(name, sizeof(name), "pfm.vcpu.%s", v->key);
			hb_probe_metric(out, name, v->unit, 0, v->val[1] * v->scale);
			hb_snprintf(name, sizeof(name), "pfm.vmm_other.%s", v->key);
			hb_probe_metric(out, name, v->unit, 0, v->val[2] * v->scale);
		}
		json_object_set_new(evinfo, v->name,
				    json_pack("{s:s, s:f, s:b, s:b}", "metric", v->key, "scaling",
					      v->max_ratio > 0 ? v->max_ratio : 1.0, "multiplexed",
					      v->max_ratio > 1.0, "never_scheduled", v->never_ran));
	}
	json_object_set_new(info, "events", evinfo);
	json_object_set_new(info, "unavailable", unavail);
	json_object_set_new(
		info, "mode",
		json_string(p->is_vm ? "per-thread (every QEMU thread)" : "worker pid, inherit=1"));
	json_object_set_new(info, "exclude_guest", json_false());
	json_object_set_new(info, "user_only", json_boolean(p->user_only));
	if (p->is_vm) {
		pid_t now[MAX_THREADS];
		int n = 0, k, j, fresh = 0;
		struct hb_err ie = {0};

		json_object_set_new(info, "threads", json_integer(p->nthreads));
		json_object_set_new(info, "vcpu_threads", json_integer(p->nvcpu_found));
		json_object_set_new(info, "vcpu_tids_given", json_integer(p->nvcpu_given));
		json_object_set_new(info, "threads_gone_before_open", json_integer(p->gone));
		if (!p->nvcpu_found)
			json_object_set_new(info, "vcpu_split",
					    json_string("not reported: no vCPU thread id from QMP "
							"matched a QEMU thread"));
		/* Threads created during the run (QEMU's thread pool) are counted through inherit,
		 * in the bucket of the thread that created them; say how many there were. */
		if (list_threads(p->pid, now, MAX_THREADS, &n, &ie) == 0) {
			for (k = 0; k < n; k++) {
				int known = 0;
				for (j = 0; j < p->nthreads; j++)
					known |= now[k] == p->threads[j];
				fresh += !known;
			}
			json_object_set_new(info, "threads_created_during_run",
					    json_integer(fresh));
		}
	}
	if (nunavail)
		json_object_set_new(info, "status", json_string("partial"));
	(void)e;
	return 0;
}

/* `hvbench probes`: every default event and whether it opens here (on this process). */
static json_t *pfm_describe(const json_t *opts)
{
	struct pfm_priv *p = calloc(1, sizeof(*p));
	struct hb_err e = {0};
	json_t *evs = json_array(), *notes = json_array();
	char why[256];
	int i;

	if (!p)
		return NULL;
	if (pfm_init(why, sizeof(why)) || build_events(p, opts, &e)) {
		free(p);
		json_decref(evs);
		json_decref(notes);
		return NULL;
	}
	for (i = 0; i < p->nev; i++) {
		struct ev *v = &p->ev[i];
		int ok = v->ok;
		if (ok) {
			int fd = perf_open(&v->attr, 0);
			if (fd < 0) {
				open_reason(v, errno);
				ok = 0;
			} else {
				close(fd);
			}
		}
		json_array_append_new(evs,
				      json_pack("{s:s, s:s, s:b, s:s?}", "event", v->name, "metric",
						v->key[0] ? v->key : "-", "available", ok, "reason",
						ok ? NULL : v->why));
	}
	json_array_append_new(notes, json_string("VM targets: one counter per QEMU thread; vCPU "
						 "threads reported as pfm.vcpu.*, the rest as "
						 "pfm.vmm_other.*; guest mode counted"));
	free(p);
	return json_pack("{s:o, s:o}", "events", evs, "notes", notes);
}

/* validate: every event named in the options must be one libpfm4 can encode. */
static void pfm_check(const json_t *opts, const char *where, struct hb_diag *d)
{
	struct pfm_priv *p = calloc(1, sizeof(*p));
	struct hb_err e = {0};
	char why[256];

	if (!p) {
		hb_diag_error(d, "%sout of memory", where);
		return;
	}
	if (pfm_init(why, sizeof(why))) {
		hb_diag_warn(d, "%sevents not checked: %s", where, why);
	} else if (build_events(p, opts, &e)) {
		hb_diag_error(d, "%s%s", where, e.msg);
	} else {
		for (int i = 0; i < p->nev; i++)
			if (!p->ev[i].ok)
				hb_diag_error(d, "%sevent \"%s\" cannot be encoded (%s)", where,
					      p->ev[i].name, p->ev[i].why);
	}
	free(p);
}

static const struct hb_metric_def pfm_metrics[] = {
	{"pfm.*", "", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "perf counters of the native worker or of the QEMU threads (different processes)"},
};

const struct hb_probe_ops hb_pr_pfm = {
	.name = "pfm",
	.help = "libpfm4 + perf_event_open counters of the worker (native) or every QEMU thread "
		"(VM)",
	.opts = pfm_opts,
	.nopts = HB_ARRAY_SIZE(pfm_opts),
	.metrics = pfm_metrics,
	.nmetrics = HB_ARRAY_SIZE(pfm_metrics),
	.priv_size = sizeof(struct pfm_priv),
	.supported = pfm_supported,
	.open = pfm_open,
	.start = pfm_start,
	.stop = pfm_stop,
	.read = pfm_read,
	.close = pfm_close,
	.describe = pfm_describe,
	.check = pfm_check,
};
