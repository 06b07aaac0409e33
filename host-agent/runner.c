/*
 * runner.c — the run loop. For each workload entry, warm-ups then repetitions, and inside each
 * repetition every target in turn (rotating who goes first) so that drift on the host hits all
 * targets alike. Every run is wrapped by the probe set; every failure is recorded with its cause
 * and the run goes on where it can; a target whose VM died is not used again. results.json is
 * rewritten atomically after every entry and at the end, with the status it has at that moment.
 */
#include "runner.h"

#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <signal.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "density.h"
#include "netenv.h"
#include "probe.h"
#include "report.h"
#include "stats.h"
#include "store.h"

struct series {
	int target;	   /* index into the profile's targets */
	char workload[64]; /* entry name, or HB_ROWS_BOOT / HB_ROWS_MEMORY */
	char kind[16];
	char metric[64];
	char unit[24];
	int hib;
	enum hb_area area;
	enum hb_role role;
	enum hb_cmp cmp;
	double *v;
	int *boot; /* boot index of each sample (VM targets restarted between boot groups) */
	size_t n, cap;
};

struct tstate {
	void *priv;
	struct hb_target_facts facts;
	json_t *info;
	int up;	       /* started successfully */
	int launched;  /* launched (boot under way), start not called yet */
	int dead;      /* failed: not used again */
	char why[512]; /* why dead */
};

struct runner {
	struct hb_profile *p;
	const struct hb_run_cfg *cfg;
	volatile sig_atomic_t *stop;
	struct hb_env env;
	struct hb_run_memo memo;
	struct tstate ts[HB_MAX_TARGETS];
	struct series *ser;
	size_t nser, capser;
	json_t *failures;
	json_t *runs;	 /* every measured run: intervals and the workload's info (runs[]) */
	json_t *notes;	 /* fallbacks and doubts a reader must see (notes[]) */
	json_t *skipped; /* workloads a target cannot run here (HB_EUNSUPP): not failures */
	unsigned char skip[HB_MAX_TARGETS][HB_MAX_ENTRIES];
	json_t *host;
	json_t *density;   /* the density sweep's section (NULL: none in the profile) */
	json_t *footprint; /* the host footprint before any target started */
	char started_at[40];
	char results_path[4096];
	struct hb_probe_set *probes;
	/* progress: the line is drawn by a ticker thread once a second; pm guards it and what
	 * it shows (set by the run loop) and every write to stderr while it runs */
	int tty;
	size_t total_runs, done_runs;
	double t0;
	int progress_shown;
	int boot; /* current boot group, 0 .. p->boots - 1 */
	/* where the wall time went (the summary at the end): starting targets, runs (warm-ups
	 * included), their measured and ramp seconds, stopping */
	double boot_s, runs_s, measured_s, ramp_s, stop_s;
	size_t nruns;
	pthread_mutex_t pm;
	pthread_cond_t pc;
	pthread_t ticker;
	int ticking, tick_stop;
	char p_what[160];  /* "[vm-full] disk-randread rep 2/3" or "[vm-full] starting qemu" */
	char p_event[160]; /* the last thing a backend said (boot phases) */
	double p_since;	   /* when the current step began */
	int p_t, p_e;	   /* current (target, entry), -1 when none */
	/* ETA: observed run times per (target, entry) and the runs left of each */
	double obs_sum[HB_MAX_TARGETS][HB_MAX_ENTRIES];
	unsigned obs_n[HB_MAX_TARGETS][HB_MAX_ENTRIES];
	unsigned left[HB_MAX_TARGETS][HB_MAX_ENTRIES];
};

/* Called with pm held (or when no ticker runs). */
static void progress_clear(struct runner *r)
{
	if (r->progress_shown) {
		fputs("\r\033[K", stderr);
		r->progress_shown = 0;
	}
}

static void rlog(void *arg, const char *fmt, ...)
{
	struct runner *r = arg;
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&r->pm);
	progress_clear(r);
	fprintf(stderr, "hvbench: %s\n", msg);
	/* the latest message is the phase the progress line shows (e.g. "booting under TCG") */
	hb_strlcpy(r->p_event, msg, sizeof(r->p_event));
	pthread_mutex_unlock(&r->pm);
}

/*
 * Expected seconds of one run of entry e on target t: its own observed mean; else the mean of
 * that entry on the other targets; else the plan scaled by how all observed runs compared with
 * theirs. Observed times, not a running correction, so the estimate cannot compound.
 */
static double expect_run(const struct runner *r, int t, int e)
{
	double sum = 0, plan = 0, obs = 0;
	unsigned n = 0;

	if (r->obs_n[t][e])
		return r->obs_sum[t][e] / r->obs_n[t][e];
	for (int k = 0; k < r->p->ntargets; k++) {
		sum += r->obs_sum[k][e];
		n += r->obs_n[k][e];
	}
	if (n)
		return sum / n;
	for (int k = 0; k < r->p->ntargets; k++)
		for (int q = 0; q < r->p->nentries; q++) {
			obs += r->obs_sum[k][q];
			plan += hb_entry_cost(&r->p->entries[q]) * r->obs_n[k][q];
		}
	return hb_entry_cost(&r->p->entries[e]) * (plan > 0 ? obs / plan : 1.0);
}

/* Seconds left: every run still to do at its expected time, less what the current one has
 * already taken. */
static double eta_left(const struct runner *r, double now)
{
	double left = 0;

	for (int t = 0; t < r->p->ntargets; t++)
		for (int e = 0; e < r->p->nentries; e++)
			if (r->left[t][e] && !r->ts[t].dead && !r->skip[t][e])
				left += r->left[t][e] * expect_run(r, t, e);
	if (r->p_t >= 0 && r->p_e >= 0) {
		double cur = now - r->p_since, exp = expect_run(r, r->p_t, r->p_e);

		left -= cur < exp ? cur : exp;
	}
	return left > 0 ? left : 0;
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* Draws the line (pm held): never wider than the terminal, so it never wraps. */
static void progress_draw(struct runner *r)
{
	char line[512], el[32], eta[32], step[32];
	double now = hb_now();
	int w = term_width(), n;

	hb_fmt_duration(now - r->t0, el, sizeof(el));
	hb_fmt_duration(now - r->p_since, step, sizeof(step));
	if (r->p_e >= 0) {
		hb_fmt_duration(eta_left(r, now), eta, sizeof(eta));
		n = snprintf(line, sizeof(line), "%s %s | run %zu/%zu | %s elapsed, ETA %s",
			     r->p_what, step, r->done_runs + 1, r->total_runs, el, eta);
	} else {
		n = snprintf(line, sizeof(line), "%s %s%s%s | %s elapsed", r->p_what, step,
			     r->p_event[0] ? ": " : "", r->p_event, el);
	}
	if (n < 0)
		return;
	/* cut at a character boundary, one column short of the edge */
	if ((size_t)w - 1 < strlen(line)) {
		size_t cut = (size_t)w - 1;

		while (cut > 0 && ((unsigned char)line[cut] & 0xc0) == 0x80)
			cut--;
		line[cut] = '\0';
	}
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	r->progress_shown = 1;
}

static void *ticker(void *arg)
{
	struct runner *r = arg;

	pthread_mutex_lock(&r->pm);
	while (!r->tick_stop) {
		struct timespec ts;

		if (r->p_what[0])
			progress_draw(r);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&r->pc, &r->pm, &ts);
	}
	progress_clear(r);
	pthread_mutex_unlock(&r->pm);
	return NULL;
}

/* What the line shows now; t/e = -1 outside a workload run (a target starting). */
static void progress_set(struct runner *r, int t, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void progress_set(struct runner *r, int t, int e, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->pm);
	va_start(ap, fmt);
	vsnprintf(r->p_what, sizeof(r->p_what), fmt, ap);
	va_end(ap);
	r->p_t = t;
	r->p_e = e;
	r->p_since = hb_now();
	r->p_event[0] = '\0';
	if (r->ticking)
		progress_draw(r);
	pthread_mutex_unlock(&r->pm);
}

static void progress_start(struct runner *r)
{
	if (r->tty && !pthread_create(&r->ticker, NULL, ticker, r))
		r->ticking = 1;
}

static void progress_stop(struct runner *r)
{
	if (!r->ticking)
		return;
	pthread_mutex_lock(&r->pm);
	r->tick_stop = 1;
	pthread_cond_signal(&r->pc);
	pthread_mutex_unlock(&r->pm);
	pthread_join(r->ticker, NULL);
	r->ticking = 0;
}

static struct series *series_get(struct runner *r, int target, const char *workload,
				 const char *kind, const struct hb_metric *m)
{
	size_t i;
	struct series *s;

	for (i = 0; i < r->nser; i++) {
		s = &r->ser[i];
		if (s->target == target && !strcmp(s->workload, workload) &&
		    !strcmp(s->metric, m->name))
			return s;
	}
	if (r->nser == r->capser) {
		struct series *ns = hb_grow(r->ser, &r->capser, 64, sizeof(*ns));

		if (!ns)
			return NULL;
		r->ser = ns;
	}
	s = &r->ser[r->nser++];
	memset(s, 0, sizeof(*s));
	s->target = target;
	hb_strlcpy(s->workload, workload, sizeof(s->workload));
	hb_strlcpy(s->kind, kind, sizeof(s->kind));
	hb_strlcpy(s->metric, m->name, sizeof(s->metric));
	hb_strlcpy(s->unit, m->unit, sizeof(s->unit));
	s->hib = m->higher_is_better;
	s->area = m->area;
	s->role = m->role;
	s->cmp = m->cmp;
	return s;
}

static void series_add(struct series *s, double v, int boot)
{
	if (!s)
		return;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		double *nv = realloc(s->v, ncap * sizeof(*nv));
		int *nb;

		if (!nv)
			return;
		s->v = nv;
		nb = realloc(s->boot, ncap * sizeof(*nb));
		if (!nb)
			return;
		s->boot = nb;
		s->cap = ncap;
	}
	s->boot[s->n] = boot;
	s->v[s->n++] = v;
}

/* Targets that are booted again for every boot group (VMs); native runs on the host itself. */
static int rebooted(const struct runner *r, int t)
{
	return r->p->boots > 1 && (r->p->targets[t].ops->flags & HB_BE_VM);
}

static void add_failure(struct runner *r, const char *target, const char *workload, int rep,
			const char *msg)
{
	json_array_append_new(r->failures,
			      json_pack("{s:s, s:s, s:i, s:s}", "target", target, "workload",
					workload, "rep", rep, "error", msg));
}

/* A note for results.json's notes[] (once per target, workload and text), also logged. */
static void add_note(struct runner *r, const char *target, const char *workload, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));
static void add_note(struct runner *r, const char *target, const char *workload, const char *fmt,
		     ...)
{
	char msg[768];
	va_list ap;
	size_t i;
	json_t *n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_foreach (r->notes, i, n)
		if (!strcmp(json_string_value(json_object_get(n, "target")), target) &&
		    !strcmp(json_string_value(json_object_get(n, "workload")), workload) &&
		    !strcmp(json_string_value(json_object_get(n, "note")), msg))
			return;
	rlog(r, "note: [%s] %s: %s", target, workload, msg);
	json_array_append_new(r->notes, json_pack("{s:s, s:s, s:s}", "target", target, "workload",
						  workload, "note", msg));
}

/* Notes from what a target found at start: network fallback, an unreliable guest clock. */
static void target_notes(struct runner *r, int t)
{
	const char *name = r->p->targets[t].name;
	const char *fb = json_string_value(json_object_get(r->ts[t].info, "net_fallback"));
	const char *cs = r->ts[t].facts.guest_clocksource;

	if (fb)
		add_note(r, name, "start", "%s", fb);
	if (cs[0] && strstr(cs, "jiffies"))
		add_note(r, name, "start",
			 "guest clocksource is %s: in-guest rates may be off by 10-25%% (every run "
			 "is also timed from the host: see runs[].clock)",
			 cs);
}

/* What a workload said about how it ran (its sample info), as notes. */
static void sample_notes(struct runner *r, const char *target, const char *entry,
			 const struct hb_sample *s)
{
	const char *fb = json_string_value(json_object_get(s->info, "fallback"));
	const char *fw = json_string_value(json_object_get(s->info, "fio_warnings"));
	double dev;

	if (fb)
		add_note(r, target, entry, "%s", fb);
	if (fw)
		add_note(r, target, entry, "fio warned: %s", fw);
	if (hb_clock_agrees(s->host_s, s->guest_s, &dev) == 0)
		add_note(r, target, entry,
			 "guest clock disagrees with the host's: the run took %.3f s on the host "
			 "and %.3f s in the guest (%+.1f%%, tolerance %.0f%% or %.0f ms); in-guest "
			 "rates are off by as much",
			 s->host_s, s->guest_s, dev * 100, HB_CLOCK_TOL_REL * 100,
			 HB_CLOCK_TOL_ABS * 1000);
}

/* runs[]: one record per measured run (what the metrics alone do not say). */
static void add_run(struct runner *r, const char *target, const char *entry, int rep,
		    const struct hb_sample *s)
{
	json_t *o =
		json_pack("{s:s, s:s, s:i}", "target", target, "workload", entry, "rep", rep + 1);
	int agree = hb_clock_agrees(s->host_s, s->guest_s, NULL);
	static const struct {
		const char *key;
		size_t off;
	} spans[] = {
		{"measured_s", offsetof(struct hb_sample, measured_s)},
		{"active_s", offsetof(struct hb_sample, active_s)},
		{"host_s", offsetof(struct hb_sample, host_s)},
		{"guest_s", offsetof(struct hb_sample, guest_s)},
	};

	for (size_t i = 0; i < HB_ARRAY_SIZE(spans); i++) {
		double v = *(const double *)((const char *)s + spans[i].off);
		if (v > 0)
			json_object_set_new(o, spans[i].key, json_real(v));
	}
	json_object_set_new(o, "clock",
			    json_string(agree < 0 ? "unknown"
					: agree	  ? "ok"
						  : "mismatch"));
	json_object_set_new(o, "info", s->info ? json_deep_copy(s->info) : json_object());
	json_array_append_new(r->runs, o);
}

/* [lo, hi]; a bound that is not finite (e.g. a resampled baseline median of 0) is null. */
static json_t *ci_array(double lo, double hi)
{
	return json_pack("[o, o]", isfinite(lo) ? json_real(lo) : json_null(),
			 isfinite(hi) ? json_real(hi) : json_null());
}

/*
 * Where the wall time went so far: starting (booting) targets, the runs (warm-ups included)
 * and within them the planned measured and ramp seconds of the measured repetitions, stopping
 * targets; the rest is the run's own bookkeeping (results, report, density sweep).
 */
static json_t *timing_json(const struct runner *r)
{
	return json_pack("{s:f, s:f, s:I, s:f, s:f, s:f, s:f}", "wall_s", hb_now() - r->t0,
			 "boot_s", r->boot_s, "runs", (json_int_t)r->nruns, "runs_s", r->runs_s,
			 "measured_s", r->measured_s, "ramp_s", r->ramp_s, "stop_s", r->stop_s);
}

static void timing_summary(const struct runner *r)
{
	double wall = hb_now() - r->t0;

	fprintf(stderr,
		"hvbench: time: %.1f s wall = start/boot %.1f s%s + %zu runs %.1f s (measured "
		"%.1f s, ramp %.1f s, warm-ups and per-run overhead %.1f s) + stop %.1f s + "
		"other %.1f s\n",
		wall, r->boot_s, r->p->boot_parallel ? " (VMs boot side by side)" : "", r->nruns,
		r->runs_s, r->measured_s, r->ramp_s, r->runs_s - r->measured_s - r->ramp_s,
		r->stop_s, wall - r->boot_s - r->runs_s - r->stop_s);
}

static json_t *build_results(struct runner *r, const char *status)
{
	json_t *root, *targets, *results;
	struct hb_err e = {0}; /* out of memory only: the file then has no comparisons */
	char now[40];
	size_t i, j;
	int t, base = -1;

	hb_utc_now(now, sizeof(now));
	targets = json_array();
	for (t = 0; t < r->p->ntargets; t++) {
		json_t *jt = json_pack("{s:s, s:s, s:o}", "name", r->p->targets[t].name, "kind",
				       r->p->targets[t].ops->kind, "info",
				       r->ts[t].info ? json_incref(r->ts[t].info) : json_object());
		json_object_set(jt, "options", r->p->targets[t].opts);
		if (r->ts[t].dead)
			json_object_set_new(jt, "error", json_string(r->ts[t].why));
		json_array_append_new(targets, jt);
		if (base < 0 && (r->p->targets[t].ops->flags & HB_BE_BASELINE) && !r->ts[t].dead)
			base = t;
	}
	results = json_array();
	for (i = 0; i < r->nser; i++) {
		struct series *s = &r->ser[i];
		struct hb_summary sm;
		json_t *samples, *row, *boots = NULL;
		if (!s->n)
			continue;
		samples = json_array();
		if (rebooted(r, s->target))
			boots = json_array();
		for (j = 0; j < s->n; j++) {
			json_array_append_new(samples, json_real(s->v[j]));
			if (boots)
				json_array_append_new(boots, json_integer(s->boot[j]));
		}
		hb_summarize(s->v, s->n, &sm);
		row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:o, s:I, s:f, s:f, "
				"s:f, s:f, s:o}",
				"target", r->p->targets[s->target].name, "workload", s->workload,
				"kind", s->kind, "metric", s->metric, "unit", s->unit,
				"higher_is_better", s->hib, "area", hb_area_str(s->area), "role",
				hb_role_str(s->role), "comparison", hb_cmp_str(s->cmp), "samples",
				samples, "n", (json_int_t)s->n, "median", sm.median, "mean",
				sm.mean, "stdev", isfinite(sm.stdev) ? sm.stdev : DBL_MAX, "cv",
				isfinite(sm.cv) ? sm.cv : 0.0, "ci95",
				ci_array(sm.ci_lo, sm.ci_hi));
		if (row && boots)
			json_object_set_new(row, "boot", boots);
		else
			json_decref(boots);
		json_array_append_new(results, row);
	}
	root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:O, s:o, s:o, s:[], s:O}", "schema",
			 HB_RESULTS_SCHEMA, "tool_version", HB_VERSION, "started_at", r->started_at,
			 "finished_at", now, "status", status, "host", r->host, "profile_name",
			 r->p->name, "profile", r->p->json, "targets", targets, "results", results,
			 "comparisons", "failures", r->failures);
	if (root && base >= 0)
		hb_results_compare_baseline(root, r->p->targets[base].name, &e);
	json_object_set(root, "skipped", r->skipped);
	json_object_set(root, "runs", r->runs);
	json_object_set(root, "notes", r->notes);
	if (r->footprint)
		json_object_set(root, "host_footprint", r->footprint);
	if (r->density)
		json_object_set(root, "density", r->density);
	json_object_set_new(root, "labels",
			    r->cfg->labels ? json_deep_copy(r->cfg->labels) : json_object());
	json_object_set_new(root, "settings",
			    json_pack("{s:i, s:i, s:i, s:b}", "repetitions", r->p->reps, "warmup",
				      r->p->warmup, "boots", r->p->boots, "boot_parallel",
				      r->p->boot_parallel));
	json_object_set_new(root, "timing", timing_json(r));
	return root;
}

static int write_results(struct runner *r, const char *status)
{
	json_t *root = build_results(r, status);
	struct hb_err e = {0};
	char *txt = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	int rc;

	json_decref(root);
	if (!txt) {
		rlog(r, "cannot write results: out of memory while encoding JSON");
		return HB_ENOMEM;
	}
	rc = hb_write_atomic(r->results_path, txt, strlen(txt), 0644, &e);
	free(txt);
	if (rc)
		rlog(r, "cannot write results: %s", e.msg);
	return rc;
}

/* Boot and memory-overhead figures a backend put into its target info become results rows. */
static void info_rows(struct runner *r, int t)
{
	static const struct {
		const char *path, *obj, *workload, *metric;
	} rows[] = {
		{"time_to_ready_s", NULL, HB_ROWS_BOOT, "time_to_ready"},
		{"boot_cpu_s", NULL, HB_ROWS_BOOT, "boot_cpu"},
		{"guest_kernel_boot_s", NULL, HB_ROWS_BOOT, "guest_kernel_boot"},
		{"vmm_overhead_mib", "memory_overhead", HB_ROWS_MEMORY, "vmm_overhead"},
		{"memavailable_drop_mib", "memory_overhead", HB_ROWS_MEMORY, "memavailable_drop"},
		{"guest_visible_loss_mib", "memory_overhead", HB_ROWS_MEMORY, "guest_visible_loss"},
	};
	size_t i;

	for (i = 0; i < HB_ARRAY_SIZE(rows); i++) {
		const json_t *o = r->ts[t].info, *v;
		const struct hb_metric_def *d =
			hb_target_metric_def(rows[i].workload, rows[i].metric);
		struct hb_metric m;
		if (rows[i].obj)
			o = json_object_get(o, rows[i].obj);
		v = json_object_get(o, rows[i].path);
		if (!json_is_number(v) || !isfinite(json_number_value(v)) || !d)
			continue;
		memset(&m, 0, sizeof(m));
		hb_strlcpy(m.name, d->name, sizeof(m.name));
		hb_strlcpy(m.unit, d->unit, sizeof(m.unit));
		m.higher_is_better = d->higher_is_better;
		m.area = d->area;
		m.role = d->role;
		m.cmp = d->cmp;
		series_add(series_get(r, t, rows[i].workload, rows[i].workload, &m),
			   json_number_value(v), r->boot);
	}
}

/* HVBENCH_TEST_BREAK=NAME: a test build's deliberate break of the chain (tests only). */
static int test_break(const char *name)
{
	const char *b = getenv("HVBENCH_TEST_BREAK");
	return b && !strcmp(b, name);
}

struct hookctx {
	struct runner *r;
	int started;
};

static int hook_start(void *arg, const struct hb_probe_target *t, struct hb_err *e)
{
	struct hookctx *h = arg;
	struct hb_err pe = {0}; /* a probe that cannot start is recorded by the set, never fatal */

	(void)e;
	if (h->r->probes && hb_probeset_start(h->r->probes, t, &pe) == 0)
		h->started = 1;
	return 0;
}

static void hook_stop(void *arg)
{
	struct hookctx *h = arg;

	if (h->started)
		hb_probeset_stop(h->r->probes);
}

/* A target that could not start: recorded, stopped, not used again. */
static void start_failed(struct runner *r, int t, int rc, struct hb_err *e)
{
	struct hb_target *tg = &r->p->targets[t];
	struct tstate *ts = &r->ts[t];

	if (!e->msg[0])
		hb_err_set(e, rc, "%s", hb_strerror(rc));
	hb_err_prefix(e, "%s", tg->name);
	rlog(r, "target failed to start: %s", e->msg);
	ts->dead = 1;
	ts->launched = 0;
	hb_strlcpy(ts->why, e->msg, sizeof(ts->why));
	add_failure(r, tg->name, "start", r->boot, e->msg);
	if (ts->priv)
		tg->ops->stop(ts->priv, ts->info);
}

/* What every start (or launch) needs first: info, fresh facts, priv, the supported check. */
static int start_prepare(struct runner *r, int t, struct hb_err *e)
{
	struct hb_target *tg = &r->p->targets[t];
	struct tstate *ts = &r->ts[t];
	char why[512] = "";

	if (!ts->info)
		ts->info = json_object();
	hb_facts_free(&ts->facts);
	hb_facts_init(&ts->facts);
	if (!ts->priv)
		ts->priv = calloc(1, tg->ops->priv_size ? tg->ops->priv_size : 1);
	if (!ts->priv)
		return hb_err_set(e, HB_ENOMEM, "out of memory");
	if (tg->ops->supported && tg->ops->supported(why, sizeof(why)))
		return hb_err_set(e, HB_EUNSUPP, "not supported on this host: %s", why);
	return 0;
}

/* Launches target t (its backend's launch op: the boot begins, nobody waits for it yet). */
static void launch_target(struct runner *r, int t)
{
	struct hb_target *tg = &r->p->targets[t];
	struct tstate *ts = &r->ts[t];
	struct hb_err e = {0};
	int rc = start_prepare(r, t, &e);

	if (rc == 0) {
		progress_set(r, -1, -1, "[%s] launching %s target", tg->name, tg->ops->kind);
		rc = tg->ops->launch(ts->priv, tg, &r->env, &ts->facts, ts->info, &e);
	}
	if (rc)
		start_failed(r, t, rc, &e);
	else
		ts->launched = 1;
}

/* Starts target t, or completes its launch (again, for a later boot group: same priv and
 * info); 1 when it is up, 0 when it failed, 2 when it launched again (ask later). */
static int start_target(struct runner *r, int t)
{
	struct hb_target *tg = &r->p->targets[t];
	struct tstate *ts = &r->ts[t];
	struct hb_err e = {0};
	int rc = 0;

	if (!ts->launched)
		rc = start_prepare(r, t, &e);
	if (rc == 0) {
		progress_set(r, -1, -1, "[%s] %s %s target", tg->name,
			     ts->launched ? "waiting for the" : "starting", tg->ops->kind);
		rc = tg->ops->start(ts->priv, tg, &r->env, &ts->facts, ts->info, &e);
		if (rc == HB_EAGAIN && ts->launched)
			return 2; /* launched again (a fallback boot): completed on a later pass */
		ts->launched = 0;
		hb_facts_to_info(&ts->facts, ts->info);
	}
	if (rc) {
		start_failed(r, t, rc, &e);
		return 0;
	}
	ts->up = 1;
	target_notes(r, t);
	if (r->boot == 0 && ts->facts.emulation == 1 && (tg->ops->flags & HB_BE_VM))
		rlog(r,
		     "%s runs under emulation (%s): its figures test the measurement "
		     "chain, not hardware virtualization",
		     tg->name, ts->facts.accel[0] ? ts->facts.accel : "tcg");
	return 1;
}

/*
 * How many boots of the group overlapped each target's own (itself included), and with whom:
 * a fact next to its boot time, so that nobody compares a concurrent boot time with a
 * sequential one unawares.
 */
static void boot_overlaps(struct runner *r, const int *group, int n)
{
	for (int i = 0; i < n; i++) {
		struct hb_target_facts *f = &r->ts[group[i]].facts;
		size_t off = 0;

		if (!r->ts[group[i]].up || f->boot_t1 <= f->boot_t0 || f->boot_t0 <= 0)
			continue;
		f->boot_concurrency = 1;
		f->boot_concurrent_with[0] = '\0';
		for (int j = 0; j < n; j++) {
			const struct hb_target_facts *g = &r->ts[group[j]].facts;

			/* a boot that failed counts too: it took the host's CPU all the same */
			if (j == i || g->boot_t1 <= g->boot_t0 || g->boot_t0 <= 0 ||
			    g->boot_t0 >= f->boot_t1 || f->boot_t0 >= g->boot_t1)
				continue;
			f->boot_concurrency++;
			if (off < sizeof(f->boot_concurrent_with) &&
			    hb_snprintf(f->boot_concurrent_with + off,
					sizeof(f->boot_concurrent_with) - off, "%s%s",
					off ? ", " : "", r->p->targets[group[j]].name) == 0)
				off = strlen(f->boot_concurrent_with);
		}
		hb_facts_to_info(f, r->ts[group[i]].info);
	}
}

/*
 * Starts the targets of group (indexes into the profile's targets). With "boot_parallel" every
 * one whose backend can launch is launched first and then each is completed in turn, so the
 * VMs boot side by side; nothing is measured before all are up or given up. Who is launched
 * first rotates with the boot group (as the repetitions rotate who runs first): on the TCG test
 * host the VM launched first of two booted 7% slower in every boot of an A/A run, a bias an
 * A/B comparison of the two (compare --ab) would read as a change.
 */
/*
 * info "launch_rank": per boot (index), the target's place in its boot group's launch order
 * among the targets that launch (0: launched first; null: not booted in that boot). compare
 * --ab takes the order as a block (the first-launched VM boots slower under TCG).
 */
static void launch_rank(struct runner *r, int t, int rank)
{
	json_t *a;

	if (!r->ts[t].info && !(r->ts[t].info = json_object()))
		return;
	a = json_object_get(r->ts[t].info, "launch_rank");
	if (!json_is_array(a)) {
		a = json_array();
		if (!a || json_object_set_new(r->ts[t].info, "launch_rank", a))
			return;
	}
	while (json_array_size(a) <= (size_t)r->boot)
		if (json_array_append_new(a, json_null()))
			return;
	json_array_set_new(a, (size_t)r->boot, json_integer(rank));
}

static int start_group(struct runner *r, const int *group, int n)
{
	int up = 0, rank = 0;
	double t0 = hb_now();

	for (int k = 0; k < n; k++) {
		int i = (k + r->boot) % n;

		if (r->p->targets[group[i]].ops->launch)
			launch_rank(r, group[i], rank++);
	}
	for (int k = 0; r->p->boot_parallel && k < n && !*r->stop; k++) {
		int i = (k + r->boot) % n;

		if (r->p->targets[group[i]].ops->launch)
			launch_target(r, group[i]);
	}
	/* passes until every target is up or given up: one launched again (its fallback boot)
	 * is completed after the others */
	int done[HB_MAX_TARGETS] = {0}, left = n;
	while (left > 0) {
		for (int j = 0; j < n; j++) {
			int i = (j + r->boot) % n;
			struct tstate *ts = &r->ts[group[i]];
			int k = 0;

			if (done[i])
				continue;
			if (*r->stop && ts->launched) {
				/* interrupted before this one was completed: end its boot */
				r->p->targets[group[i]].ops->stop(ts->priv, ts->info);
				ts->launched = 0;
			} else if (!*r->stop && !ts->dead) {
				k = start_target(r, group[i]);
				if (k == 2)
					continue;
			}
			up += k;
			done[i] = 1;
			left--;
		}
	}
	boot_overlaps(r, group, n);
	for (int i = 0; i < n; i++)
		if (r->ts[group[i]].up)
			info_rows(r, group[i]);
	r->boot_s += hb_now() - t0;
	return up;
}

static int start_targets(struct runner *r)
{
	int group[HB_MAX_TARGETS], n = 0;

	for (int t = 0; t < r->p->ntargets; t++)
		group[n++] = t;
	return start_group(r, group, n);
}

/* A new boot group: every VM target still in use is shut down and booted again. */
static void reboot_targets(struct runner *r)
{
	int group[HB_MAX_TARGETS], n = 0;

	for (int t = 0; t < r->p->ntargets && !*r->stop; t++) {
		struct tstate *ts = &r->ts[t];

		if (!rebooted(r, t) || ts->dead || !ts->up)
			continue;
		r->p->targets[t].ops->stop(ts->priv, ts->info);
		ts->up = 0;
		group[n++] = t;
	}
	start_group(r, group, n);
}

static void stop_targets(struct runner *r)
{
	int t;

	for (t = 0; t < r->p->ntargets; t++) {
		struct tstate *ts = &r->ts[t];
		if (ts->priv && (ts->up || ts->launched))
			r->p->targets[t].ops->stop(ts->priv, ts->info);
		ts->up = ts->launched = 0;
	}
}

/* One run of entry en on target t; rep < 0 for warm-ups. Returns 0, or the error code. */
static int run_one(struct runner *r, int t, int ei, const struct hb_entry *en, int rep)
{
	struct hb_target *tg = &r->p->targets[t];
	struct tstate *ts = &r->ts[t];
	struct hb_run_req req = {en->name, en->wl, en->params, en->t};
	struct hookctx hc = {r, 0};
	struct hb_run_hooks hooks = {hook_start, hook_stop, &hc};
	struct hb_sample s;
	struct hb_err e = {0};
	int rc, i;

	hb_sample_init(&s);
	rc = tg->ops->run(ts->priv, &req, &hooks, &s, &e);
	if (hc.started)
		hb_probeset_read(r->probes, &s, en->t.ramp + en->t.duration);
	if (rc == HB_EUNSUPP) {
		/* cannot run here (e.g. a net workload on a remote target without iperf_bind):
		 * said once, recorded as skipped, not tried again, not a failure */
		if (!e.msg[0])
			hb_err_set(&e, rc, "%s", hb_strerror(rc));
		rlog(r, "[%s] %s skipped: %s", tg->name, en->name, e.msg);
		json_array_append_new(r->skipped, json_pack("{s:s, s:s, s:s}", "target", tg->name,
							    "workload", en->name, "reason", e.msg));
		r->skip[t][ei] = 1;
		hb_sample_free(&s);
		return rc;
	}
	if (rc) {
		if (!e.msg[0])
			hb_err_set(&e, rc, "%s", hb_strerror(rc));
		if (rc != HB_EINTR) {
			rlog(r, "[%s] %s %s %d failed: %s", tg->name, en->name,
			     rep < 0 ? "warm-up" : "rep", rep < 0 ? -rep : rep + 1, e.msg);
			add_failure(r, tg->name, en->name, rep < 0 ? rep : rep + 1, e.msg);
		}
		/* A VM that died or an agent that stopped answering is not used again. */
		if ((tg->ops->flags & HB_BE_VM) && (rc == HB_ECHILD || rc == HB_EIO)) {
			ts->dead = 1;
			hb_strlcpy(ts->why, e.msg, sizeof(ts->why));
			rlog(r, "[%s] target lost; its remaining runs are skipped", tg->name);
		}
		hb_sample_free(&s);
		return rc;
	}
	/* what each probe could and could not do (and why) goes into the target's info, once */
	if (!json_object_get(ts->info, "probes")) {
		json_t *ps = hb_probe_summary(&s);
		if (ps)
			json_object_set_new(ts->info, "probes", ps);
	}
	if (rep == 1 && t == 1 && test_break("drop-rep")) {
		/* a deliberately broken chain: the second repetition of the second target is
		 * lost on its way to results.json (`hvbench calibrate` must notice) */
		hb_sample_free(&s);
		return 0;
	}
	hb_metrics_annotate(&s, en->wl, en->params);
	sample_notes(r, tg->name, en->name, &s);
	if (rep >= 0)
		add_run(r, tg->name, en->name, rep, &s);
	if (rep >= 0)
		for (i = 0; i < s.n; i++) {
			char msg[256];
			if (!isfinite(s.m[i].value)) {
				/* JSON has no infinity: recorded as a failure, never dropped */
				snprintf(msg, sizeof(msg),
					 "metric %s is not a finite number (%g): not recorded",
					 s.m[i].name, s.m[i].value);
				rlog(r, "[%s] %s rep %d: %s", tg->name, en->name, rep + 1, msg);
				add_failure(r, tg->name, en->name, rep + 1, msg);
				continue;
			}
			series_add(series_get(r, t, en->name, en->wl->kind, &s.m[i]), s.m[i].value,
				   r->boot);
		}
	hb_sample_free(&s);
	return 0;
}

/* Without a terminal (CI logs) one line per finished workload says the run is alive. */
static void entry_done(struct runner *r, int ei)
{
	char eta[32], el[32];

	if (isatty(2)) /* a terminal has the progress line (or asked for quiet with -q) */
		return;
	pthread_mutex_lock(&r->pm);
	hb_fmt_duration(eta_left(r, hb_now()), eta, sizeof(eta));
	pthread_mutex_unlock(&r->pm);
	hb_fmt_duration(hb_now() - r->t0, el, sizeof(el));
	if (r->p->boots > 1)
		rlog(r,
		     "[%d/%d, boot %d/%d] %s done: run %zu/%zu, %zu failure%s, %s elapsed, ETA %s",
		     ei + 1, r->p->nentries, r->boot + 1, r->p->boots, r->p->entries[ei].name,
		     r->done_runs, r->total_runs, json_array_size(r->failures),
		     json_array_size(r->failures) == 1 ? "" : "s", el, eta);
	else
		rlog(r, "[%d/%d] %s done: run %zu/%zu, %zu failure%s, %s elapsed, ETA %s", ei + 1,
		     r->p->nentries, r->p->entries[ei].name, r->done_runs, r->total_runs,
		     json_array_size(r->failures), json_array_size(r->failures) == 1 ? "" : "s", el,
		     eta);
}

/*
 * Boot groups are the outer loop: repetitions [g*reps/boots, (g+1)*reps/boots) of every entry
 * run on boot g, after that boot's own warm-ups (a fresh guest is cold again). With boots = 1
 * this is the plain entry / repetition / target loop.
 */
static void run_all(struct runner *r)
{
	int ei, rep, k, g, w;

	for (g = 0; g < r->p->boots && !*r->stop; g++) {
		int r0 = g * r->p->reps / r->p->boots, r1 = (g + 1) * r->p->reps / r->p->boots;

		r->boot = g;
		if (g > 0)
			reboot_targets(r);
		for (ei = 0; ei < r->p->nentries && !*r->stop; ei++) {
			const struct hb_entry *en = &r->p->entries[ei];
			for (w = -r->p->warmup; w < r1 - r0 && !*r->stop; w++) {
				/* warm-ups: rep < 0; measured reps count on across boots */
				rep = w < 0 ? w : r0 + w;
				for (k = 0; k < r->p->ntargets && !*r->stop; k++) {
					/* rotate who goes first each repetition */
					int t = (k + (w + r->p->warmup)) % r->p->ntargets;
					double t1;
					if (r->ts[t].dead || !r->ts[t].up || r->skip[t][ei])
						continue;
					if (rep < 0)
						progress_set(r, t, ei, "[%s] %s warm-up %d",
							     r->p->targets[t].name, en->name,
							     rep + r->p->warmup + 1);
					else
						progress_set(r, t, ei, "[%s] %s rep %d/%d",
							     r->p->targets[t].name, en->name,
							     rep + 1, r->p->reps);
					t1 = hb_now();
					run_one(r, t, ei, en, rep);
					r->runs_s += hb_now() - t1;
					r->nruns++;
					if (rep >= 0) {
						r->measured_s += en->t.duration;
						r->ramp_s += en->t.ramp;
					}
					pthread_mutex_lock(&r->pm);
					r->done_runs++;
					r->obs_sum[t][ei] += hb_now() - t1;
					r->obs_n[t][ei]++;
					if (r->left[t][ei])
						r->left[t][ei]--;
					pthread_mutex_unlock(&r->pm);
				}
			}
			write_results(r, "incomplete");
			entry_done(r, ei);
		}
	}
}

static void density_checkpoint(void *arg)
{
	write_results(arg, "incomplete");
}

/*
 * A hvbench that was SIGKILLed cannot clean up: its scratch directory (named after its pid)
 * is removed by the next run once that pid is gone.
 */
static void cleanup_stale_scratch(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[4096], *end;
		struct stat st;
		long pid;
		if (strncmp(de->d_name, "hvbench-scratch.", 16))
			continue;
		pid = strtol(de->d_name + 16, &end, 10);
		if (end == de->d_name + 16 || *end != '.' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
			continue;
		if (hb_snprintf(path, sizeof(path), "%s/%s", base, de->d_name))
			continue;
		/* only what a run of ours made: a real 0700 directory owned by us (the base may be
		 * world-writable /var/tmp, where anybody can plant a look-alike name) */
		if (lstat(path, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 0777) != 0700)
			continue;
		hb_rmtree(path);
	}
	closedir(d);
}

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	/* lchown: a symlink is never followed out of the results directory */
	if (lchown(path, (uid_t)strtoul(getenv("SUDO_UID"), NULL, 10),
		   (gid_t)strtoul(getenv("SUDO_GID"), NULL, 10)))
		return -1;
	return 0;
}

/*
 * Under sudo the results belong to the user who ran sudo (SUDO_UID/SUDO_GID), so that an
 * unprivileged `hvbench compare` or report can write beside them (the nightly recipe).
 */
static void hand_back_results(struct runner *r, const char *dir)
{
	const char *u = getenv("SUDO_UID"), *g = getenv("SUDO_GID");
	long uid, gid;
	char *end;

	if (geteuid() != 0 || !u || !g || !*u || !*g)
		return;
	uid = strtol(u, &end, 10);
	if (*end || uid <= 0)
		return;
	gid = strtol(g, &end, 10);
	if (*end || gid < 0)
		return;
	if (nftw(dir, chown_one, 16, FTW_PHYS))
		rlog(r, "cannot give %s to uid %ld (SUDO_UID): %s", dir, uid, strerror(errno));
}

json_t *hb_host_facts(void)
{
	struct utsname u;
	char host[256] = "", model[256] = "unknown", line[512];
	FILE *f;
	int hyper = 0;
	const char *virt;

	gethostname(host, sizeof(host) - 1);
	uname(&u);
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "model name", 10) && !strcmp(model, "unknown")) {
				char *c = strchr(line, ':');
				if (c) {
					hb_strlcpy(model, c + 2, sizeof(model));
					model[strcspn(model, "\n")] = '\0';
				}
			}
			if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor"))
				hyper = 1;
		}
		fclose(f);
	}
	virt = hyper ? "guest (cpuid hypervisor flag set: this host is itself a VM)"
		     : "none detected";
	return json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:b}", "hostname", host, "cpu_model",
			 model, "cores", (int)sysconf(_SC_NPROCESSORS_ONLN), "memory_bytes",
			 (json_int_t)hb_meminfo("MemTotal"), "kernel", u.release, "arch", u.machine,
			 "virtualization", virt, "kvm_device",
			 access("/dev/kvm", R_OK | W_OK) == 0);
}

/*
 * Claims out_dir for this run: an exclusive flock on out_dir/.hvbench.lock, held until the
 * process exits (the fd is close-on-exec; forked workers hold it no longer than we do). Refuses
 * a directory another run is writing, and one holding an earlier run's results unless force.
 * Returns the lock fd, or -1 after printing why.
 */
static int lock_out_dir(const char *dir, int force)
{
	char path[4096];
	struct stat st;
	int fd;

	if (hb_snprintf(path, sizeof(path), "%s/.hvbench.lock", dir)) {
		fprintf(stderr, "hvbench: output path too long\n");
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "hvbench: cannot create the lock file %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr,
			"hvbench: %s is in use by another hvbench run (locked: %s); choose "
			"another -o directory\n",
			dir, errno == EWOULDBLOCK ? "busy" : strerror(errno));
		close(fd);
		return -1;
	}
	if (hb_snprintf(path, sizeof(path), "%s/results.json", dir) == 0 && !force &&
	    lstat(path, &st) == 0) {
		fprintf(stderr,
			"hvbench: %s already holds the results of another run (%s); choose "
			"another -o directory, or --force to replace them\n",
			dir, path);
		close(fd);
		return -1;
	}
	return fd;
}

int hb_run_profile(struct hb_profile *p, const struct hb_run_cfg *cfg, volatile sig_atomic_t *stop)
{
	struct runner r;
	struct hb_err e = {0};
	char scratch[4096];
	const char *status;
	int rc = HB_EXIT_OK, t, i, up, nok = 0, lockfd = -1;
	size_t k;

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.pm, NULL);
	pthread_cond_init(&r.pc, NULL);
	r.p_t = r.p_e = -1;
	r.p = p;
	r.cfg = cfg;
	r.stop = stop;
	r.tty = !cfg->quiet && isatty(2);
	r.failures = json_array();
	r.runs = json_array();
	r.notes = json_array();
	r.skipped = json_array();
	r.host = hb_host_facts();
	hb_utc_now(r.started_at, sizeof(r.started_at));

	if (hb_probeset_new(p->probes, &r.probes, &e)) {
		fprintf(stderr, "hvbench run: %s: probes: %s\n", p->path, e.msg);
		rc = HB_EXIT_USAGE;
		goto out_free;
	}
	if (hb_mkdirs(cfg->out_dir, 0755, &e)) {
		fprintf(stderr, "hvbench run: %s\n", e.msg);
		rc = HB_EXIT_FAILED;
		goto out_free;
	}
	lockfd = lock_out_dir(cfg->out_dir, cfg->force);
	if (lockfd < 0) {
		rc = HB_EXIT_USAGE;
		goto out_free;
	}
	if (hb_snprintf(r.results_path, sizeof(r.results_path), "%s/results.json", cfg->out_dir) ||
	    hb_snprintf(scratch, sizeof(scratch), "%s/hvbench-scratch.%ld.XXXXXX",
			cfg->scratch_base, (long)getpid())) {
		fprintf(stderr, "hvbench run: output path too long\n");
		rc = HB_EXIT_USAGE;
		goto out_free;
	}
	if (hb_mkdirs(cfg->scratch_base, 0755, &e) || !mkdtemp(scratch)) {
		fprintf(stderr, "hvbench run: cannot create a scratch directory under %s: %s\n",
			cfg->scratch_base, e.msg[0] ? e.msg : strerror(errno));
		rc = HB_EXIT_FAILED;
		goto out_free;
	}
	hb_netns_cleanup_stale();
	cleanup_stale_scratch(cfg->scratch_base);
	r.env.build_dir = cfg->build_dir;
	r.env.scratch_dir = scratch;
	r.env.out_dir = cfg->out_dir;
	r.env.stop = stop;
	r.env.verbose = cfg->verbose;
	r.env.memo = &r.memo;
	r.env.log = rlog;
	r.env.log_arg = &r;

	for (t = 0; t < p->ntargets; t++)
		for (i = 0; i < p->nentries; i++)
			r.left[t][i] = (unsigned)(p->reps + p->warmup * p->boots);
	r.total_runs = (size_t)p->nentries * (size_t)(p->reps + p->warmup * p->boots) *
		       (size_t)p->ntargets;
	r.t0 = hb_now();
	if (write_results(&r, "incomplete")) {
		/* no place to put results: do not measure for hours into the void */
		rc = HB_EXIT_FAILED;
		hb_rmtree(scratch);
		goto out_free;
	}

	progress_start(&r);
	r.footprint = hb_host_footprint();
	up = start_targets(&r);
	if (up > 0 && !*stop)
		run_all(&r);
	progress_set(&r, -1, -1, "stopping targets");
	double t_stop = hb_now();
	stop_targets(&r);
	r.stop_s = hb_now() - t_stop;
	progress_stop(&r);
	if (p->density.enabled && !*stop) {
		/* the sweep after the other targets are down: its VMs have the host to themselves
		 */
		r.density = json_object();
		progress_clear(&r);
		hb_density_run(p, &r.env, r.density, r.failures, density_checkpoint, &r);
	}

	for (k = 0; k < r.nser; k++)
		if (r.ser[k].n && !hb_entry_name_reserved(r.ser[k].workload))
			nok++;
	if (r.density && json_array_size(json_object_get(r.density, "steps")))
		nok++;
	if (*stop) {
		status = "incomplete";
		rc = HB_EXIT_INCOMPLETE;
	} else if (nok == 0) {
		status = "failed";
		rc = HB_EXIT_FAILED;
	} else if (json_array_size(r.failures) > 0) {
		status = "incomplete";
		rc = HB_EXIT_INCOMPLETE;
	} else {
		status = "complete";
	}
	if (*stop)
		rlog(&r, "interrupted: writing what was measured (status \"incomplete\")");
	if (write_results(&r, status)) {
		rlog(&r,
		     "%s run, but results.json could not be written: %s holds the last good copy",
		     status, r.results_path);
		status = "unsaved";
		rc = HB_EXIT_FAILED;
	}
	if (nok > 0 && strcmp(status, "unsaved") && (!cfg->no_report || !cfg->quiet)) {
		json_t *res = build_results(&r, status);
		struct hb_err re = {0};
		int rrc = 0;

		if (!cfg->no_report) {
			rrc = hb_report_render(&res, 1, cfg->out_dir, &re);
			if (rrc)
				rlog(&r, "report: %s", re.msg);
			if (rrc == 0 || rrc == HB_EUNSUPP)
				fprintf(stderr,
					"hvbench run: report: %s/report.html (and report.md)\n",
					cfg->out_dir);
			else if (rc == HB_EXIT_OK)
				rc = HB_EXIT_FAILED; /* a report that could not be written fails */
		}
		/* the answer, at the end of the run: the at-a-glance table on stdout */
		if (!cfg->quiet) {
			struct winsize ws;
			int w = isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;

			fputc('\n', stdout);
			hb_report_glance_text(res, stdout, w, &re);
			fflush(stdout);
		}
		json_decref(res);
	}
	if (!cfg->quiet)
		timing_summary(&r);
	if (strcmp(status, "unsaved"))
		fprintf(stderr, "hvbench run: %s: %s (%zu failure%s)\n", status, r.results_path,
			json_array_size(r.failures), json_array_size(r.failures) == 1 ? "" : "s");
	if (strcmp(status, "unsaved") && !cfg->no_history) {
		/* the store is a copy: results.json is already safe, and the run never fails here
		 */
		struct hb_err he = {0};
		long long id;

		if (hb_store_record_file(cfg->db, r.results_path, &id, &he))
			rlog(&r, "warning: run not recorded in the history store: %s", he.msg);
		else if (!cfg->quiet)
			fprintf(stderr, "hvbench: history: recorded as run %lld\n", id);
	}
	hb_rmtree(scratch);
	hand_back_results(&r, cfg->out_dir);
out_free:
	for (t = 0; t < p->ntargets; t++) {
		free(r.ts[t].priv);
		hb_facts_free(&r.ts[t].facts);
		json_decref(r.ts[t].info);
	}
	for (k = 0; k < r.nser; k++) {
		free(r.ser[k].v);
		free(r.ser[k].boot);
	}
	free(r.ser);
	json_decref(r.failures);
	json_decref(r.runs);
	json_decref(r.notes);
	json_decref(r.skipped);
	json_decref(r.host);
	json_decref(r.density);
	json_decref(r.footprint);
	if (r.probes)
		hb_probeset_free(r.probes);
	pthread_cond_destroy(&r.pc);
	pthread_mutex_destroy(&r.pm);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
