/*
 * probe.c — the probe registry (expanded from probes.def), the probe set the runner wraps
 * around every run (validate options, open/start/stop/read/close each probe, record what each
 * could not do and why), the derived "CPU tax" figures computed from a run's own metrics and
 * the probe readings, and the `hvbench probes` command that says what works on this host.
 */
#include "probe.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HB_PROBE(n) extern const struct hb_probe_ops hb_pr_##n;
#include "probes.def"
#undef HB_PROBE

const struct hb_probe_ops *const hb_probes[] = {
#define HB_PROBE(n) &hb_pr_##n,
#include "probes.def"
#undef HB_PROBE
	NULL,
};

#define MAX_PROBES 8

enum slot_state { SL_IDLE, SL_OPEN, SL_STARTED, SL_STOPPED };

struct slot {
	const struct hb_probe_ops *ops;
	json_t *opts; /* validated, every option present */
	void *priv;   /* priv_size bytes, zeroed before every open */
	enum slot_state state;
	const char *status; /* this run: "ok", "unavailable", "failed" */
	char reason[1024];
};

struct hb_probe_set {
	size_t n;
	struct slot s[MAX_PROBES];
	int active; /* between start and read */
	double t_start, t_stop;
};

const struct hb_probe_ops *hb_probe_find(const char *name)
{
	size_t i;

	for (i = 0; hb_probes[i]; i++)
		if (!strcmp(hb_probes[i]->name, name))
			return hb_probes[i];
	return NULL;
}

const char *hb_errno_name(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "EUNKNOWN";
}

json_t *hb_probe_info(struct hb_sample *out, const char *probe)
{
	json_t *all, *one;

	if (!out->info)
		out->info = json_object();
	all = json_object_get(out->info, "probes");
	if (!json_is_object(all)) {
		all = json_object();
		json_object_set_new(out->info, "probes", all);
	}
	one = json_object_get(all, probe);
	if (!json_is_object(one)) {
		one = json_object();
		json_object_set_new(all, probe, one);
	}
	return one;
}

void hb_probe_metric(struct hb_sample *out, const char *name, const char *unit,
		     int higher_is_better, double value)
{
	json_t *all, *d;

	int full = out->n >= HB_MAX_METRICS && !hb_sample_get(out, name);

	if (!isfinite(value) || hb_sample_add(out, name, unit, higher_is_better, value) == 0)
		return;
	hb_probe_info(out, "dropped_metrics"); /* ensures info.probes exists */
	all = json_object_get(out->info, "probes");
	d = json_object_get(all, "dropped_metrics");
	if (!json_is_array(d)) {
		d = json_array();
		json_object_set_new(all, "dropped_metrics", d);
	}
	json_array_append_new(
		d, json_pack("{s:s, s:f, s:s}", "name", name, "value", value, "why",
			     full ? "sample full (HB_MAX_METRICS)" : "name or unit too long"));
}

/*
 * Copies opts, turning arrays of strings given for string-typed options into one
 * comma-separated string (so {"events": ["a", "b"]} validates as "a,b").
 */
static int normalize_opts(const struct hb_probe_ops *ops, const json_t *in, const char *where,
			  json_t **out, struct hb_err *e)
{
	json_t *c = json_deep_copy(in);
	size_t i;

	if (!c)
		return hb_err_set(e, HB_ENOMEM, "%s: out of memory", where);
	for (i = 0; i < ops->nopts; i++) {
		json_t *v = json_object_get(c, ops->opts[i].name), *it;
		char buf[2048] = "";
		size_t k, len = 0;

		if (ops->opts[i].type != HB_P_STRING || !json_is_array(v))
			continue;
		json_array_foreach (v, k, it) {
			const char *s = json_string_value(it);
			if (!s || !*s || strchr(s, ',')) {
				json_decref(c);
				return hb_err_set(
					e, HB_EINVAL,
					"%s: \"%s\"[%zu] must be a non-empty string without commas",
					where, ops->opts[i].name, k);
			}
			if (hb_snprintf(buf + len, sizeof(buf) - len, "%s%s", k ? "," : "", s)) {
				json_decref(c);
				return hb_err_set(e, HB_EINVAL, "%s: \"%s\" list is too long",
						  where, ops->opts[i].name);
			}
			len = strlen(buf);
		}
		json_object_set_new(c, ops->opts[i].name, json_string(buf));
	}
	*out = c;
	return 0;
}

/* Validates one probe's options; *out (may be NULL to only check) gets the typed object. */
static int probe_opts(const struct hb_probe_ops *ops, const json_t *v, const char *where,
		      json_t **out, struct hb_err *e)
{
	char w[256];
	json_t *norm = NULL, *res = NULL;
	int rc;

	hb_snprintf(w, sizeof(w), "%s.%s", where, ops->name);
	if (v && !json_is_object(v) && !json_is_true(v))
		return hb_err_set(e, HB_EINVAL, "%s: must be an object of options, true or false",
				  w);
	if (v && json_is_object(v)) {
		rc = normalize_opts(ops, v, w, &norm, e);
		if (rc)
			return rc;
	}
	rc = hb_params_validate(ops->opts, ops->nopts, norm, w, &res, e);
	json_decref(norm);
	if (rc)
		return rc;
	if (out)
		*out = res;
	else
		json_decref(res);
	return 0;
}

/* Calls fn(ops, value) for every enabled probe of cfg after checking the names. */
static int walk_cfg(const json_t *cfg, const char *where, struct hb_probe_set *ps, struct hb_err *e)
{
	const char *names[MAX_PROBES + 1];
	const char *key;
	json_t *val;
	size_t i, n = 0;
	int rc;

	for (i = 0; hb_probes[i] && i < MAX_PROBES; i++)
		names[n++] = hb_probes[i]->name;
	names[n] = NULL;
	if (cfg && !json_is_object(cfg))
		return hb_err_set(e, HB_EINVAL,
				  "%s: must be an object like {\"pfm\": {}, \"proc\": {}}", where);
	if (cfg) {
		json_object_foreach ((json_t *)cfg, key, val) {
			const char *near;
			if (hb_probe_find(key))
				continue;
			near = hb_nearest(key, names, n);
			{
				char list[256] = "";
				for (i = 0; i < n; i++) {
					size_t l = strlen(list);
					hb_snprintf(list + l, sizeof(list) - l, "%s%s",
						    i ? ", " : "", names[i]);
				}
				return hb_err_set(e, HB_EINVAL,
						  "%s: unknown probe \"%s\"%s%s%s; probes are: %s",
						  where, key, near ? " (did you mean \"" : "",
						  near ? near : "", near ? "\"?)" : "", list);
			}
		}
	}
	for (i = 0; hb_probes[i] && i < MAX_PROBES; i++) {
		const struct hb_probe_ops *ops = hb_probes[i];
		json_t *v = cfg ? json_object_get(cfg, ops->name) : NULL;
		json_t *opts = NULL;

		if (cfg && (!v || json_is_false(v)))
			continue;
		rc = probe_opts(ops, v, where, ps ? &opts : NULL, e);
		if (rc)
			return rc;
		if (ps) {
			struct slot *sl = &ps->s[ps->n];
			sl->ops = ops;
			sl->opts = opts;
			sl->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
			if (!sl->priv) {
				json_decref(opts);
				return hb_err_set(e, HB_ENOMEM, "%s: out of memory", where);
			}
			ps->n++;
		}
	}
	return 0;
}

int hb_probes_validate(const json_t *cfg, const char *where, struct hb_err *e)
{
	return walk_cfg(cfg, where ? where : "probes", NULL, e);
}

int hb_probeset_new(const json_t *cfg, struct hb_probe_set **out, struct hb_err *e)
{
	struct hb_probe_set *ps;
	int rc;

	*out = NULL;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return hb_err_set(e, HB_ENOMEM, "probes: out of memory");
	rc = walk_cfg(cfg, "probes", ps, e);
	if (rc) {
		hb_probeset_free(ps);
		return rc;
	}
	*out = ps;
	return 0;
}

/* Stops and closes whatever is open, without reading. */
static void discard(struct hb_probe_set *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		struct slot *sl = &ps->s[i];
		struct hb_err pe = {0};

		if (sl->state == SL_STARTED)
			sl->ops->stop(sl->priv, &pe);
		if (sl->state != SL_IDLE)
			sl->ops->close(sl->priv);
		sl->state = SL_IDLE;
	}
	ps->active = 0;
}

int hb_probeset_start(struct hb_probe_set *ps, const struct hb_probe_target *t, struct hb_err *e)
{
	size_t i;

	if (!ps || !t)
		return hb_err_set(e, HB_EINVAL, "probes: start without a set or a target");
	if (ps->active)
		discard(ps); /* the previous run was never read (its run was abandoned) */
	ps->active = 1;
	ps->t_stop = 0;
	for (i = 0; i < ps->n; i++) {
		struct slot *sl = &ps->s[i];
		struct hb_err pe = {0};
		char why[512] = "";
		int rc;

		sl->state = SL_IDLE;
		sl->status = "ok";
		sl->reason[0] = '\0';
		memset(sl->priv, 0, sl->ops->priv_size ? sl->ops->priv_size : 1);
		if (sl->ops->supported && sl->ops->supported(why, sizeof(why))) {
			sl->status = "unavailable";
			hb_strlcpy(sl->reason, why[0] ? why : "not supported on this host",
				   sizeof(sl->reason));
			continue;
		}
		rc = sl->ops->open(sl->priv, sl->opts, t, &pe);
		if (rc) {
			sl->status = rc == HB_EUNSUPP ? "unavailable" : "failed";
			hb_strlcpy(sl->reason, pe.msg[0] ? pe.msg : hb_strerror(rc),
				   sizeof(sl->reason));
			continue;
		}
		sl->state = SL_OPEN;
	}
	/* Start all probes last-moment and back to back so their windows match. */
	ps->t_start = hb_now();
	for (i = 0; i < ps->n; i++) {
		struct slot *sl = &ps->s[i];
		struct hb_err pe = {0};
		int rc;

		if (sl->state != SL_OPEN)
			continue;
		rc = sl->ops->start(sl->priv, &pe);
		if (rc) {
			sl->status = rc == HB_EUNSUPP ? "unavailable" : "failed";
			hb_strlcpy(sl->reason, pe.msg[0] ? pe.msg : hb_strerror(rc),
				   sizeof(sl->reason));
			sl->ops->close(sl->priv);
			sl->state = SL_IDLE;
			continue;
		}
		sl->state = SL_STARTED;
	}
	return 0;
}

void hb_probeset_stop(struct hb_probe_set *ps)
{
	size_t i;

	if (!ps || !ps->active || ps->t_stop > 0)
		return;
	ps->t_stop = hb_now();
	for (i = 0; i < ps->n; i++) {
		struct slot *sl = &ps->s[i];
		struct hb_err pe = {0};
		int rc;

		if (sl->state != SL_STARTED)
			continue;
		rc = sl->ops->stop(sl->priv, &pe);
		if (rc) {
			sl->status = rc == HB_EUNSUPP ? "unavailable" : "failed";
			hb_strlcpy(sl->reason, pe.msg[0] ? pe.msg : hb_strerror(rc),
				   sizeof(sl->reason));
		}
		sl->state = SL_STOPPED;
	}
}

/* Converts a byte-rate metric to MiB/s; 0 when the unit is not a byte rate. */
static double to_mib_s(const struct hb_metric *m)
{
	static const struct {
		const char *u;
		double f;
	} units[] = {
		{"MiB/s", 1},
		{"KiB/s", 1.0 / 1024},
		{"GiB/s", 1024},
		{"B/s", 1.0 / 1048576},
		{"MB/s", 1e6 / 1048576},
		{"kB/s", 1e3 / 1048576},
		{"GB/s", 1e9 / 1048576},
	};
	size_t i;

	for (i = 0; i < HB_ARRAY_SIZE(units); i++)
		if (!strcmp(m->unit, units[i].u))
			return m->value * units[i].f;
	return 0;
}

static double to_gbit_s(const struct hb_metric *m)
{
	if (!strcmp(m->unit, "Gbit/s"))
		return m->value;
	if (!strcmp(m->unit, "Mbit/s"))
		return m->value / 1e3;
	if (!strcmp(m->unit, "bit/s"))
		return m->value / 1e9;
	return 0;
}

/* The derived figures: the CPU tax per unit of work, IPC, exits per I/O. */
static void derive(struct hb_sample *out, double duration, const char *dsrc)
{
	const struct hb_metric *cpu = hb_sample_get(out, "proc.cpu_s");
	const struct hb_metric *bw = hb_sample_get(out, "bw");
	const struct hb_metric *thr = hb_sample_get(out, "throughput");
	const struct hb_metric *iops = hb_sample_get(out, "iops");
	const struct hb_metric *ins = hb_sample_get(out, "pfm.instructions");
	const struct hb_metric *cyc = hb_sample_get(out, "pfm.cycles");
	const struct hb_metric *exits = hb_sample_get(out, "kvmstat.exits");
	json_t *d = hb_probe_info(out, "derived");
	double cpu_s = 0;
	const char *cpu_src = NULL;
	char cpu_name[64] = "";

	if (!cpu)
		cpu = hb_sample_get(out, "pfm.task_clock_s");
	if (cpu) {
		cpu_s = cpu->value;
		hb_strlcpy(cpu_name, cpu->name, sizeof(cpu_name));
		cpu_src = cpu_name;
	}
	json_object_set_new(d, "duration_s", json_real(duration));
	json_object_set_new(d, "duration_source", json_string(dsrc));
	if (bw) {
		double mib_s = to_mib_s(bw);
		if (!cpu_src || mib_s <= 0 || duration <= 0) {
			json_object_set_new(
				d, "tax.cpu_s_per_gib",
				json_pack("{s:s}", "not_computed",
					  !cpu_src ? "no CPU reading (proc.cpu_s, pfm.task_clock_s)"
					  : mib_s <= 0 ? "bw is zero or not a byte rate"
						       : "no duration"));
		} else {
			double gib = mib_s * duration / 1024.0;
			hb_probe_metric(out, "tax.cpu_s_per_gib", "s/GiB", 0, cpu_s / gib);
			json_object_set_new(d, "tax.cpu_s_per_gib",
					    json_pack("{s:s, s:f, s:f, s:f, s:f}", "cpu_from",
						      cpu_src, "cpu_s", cpu_s, "bw_mib_s", mib_s,
						      "duration_s", duration, "gib", gib));
		}
	}
	if (thr) {
		double g = to_gbit_s(thr);
		if (!cpu_src || g <= 0 || duration <= 0) {
			json_object_set_new(
				d, "tax.cpu_s_per_10gbit",
				json_pack("{s:s}", "not_computed",
					  !cpu_src ? "no CPU reading (proc.cpu_s, pfm.task_clock_s)"
					  : g <= 0 ? "throughput is zero or not a bit rate"
						   : "no duration"));
		} else {
			double gbit = g * duration;
			hb_probe_metric(out, "tax.cpu_s_per_10gbit", "s/10Gbit", 0,
					cpu_s * 10.0 / gbit);
			json_object_set_new(d, "tax.cpu_s_per_10gbit",
					    json_pack("{s:s, s:f, s:f, s:f, s:f}", "cpu_from",
						      cpu_src, "cpu_s", cpu_s, "throughput_gbit_s",
						      g, "duration_s", duration, "gbit", gbit));
		}
	}
	if (ins && cyc && cyc->value > 0) {
		hb_probe_metric(out, "pfm.ipc", "IPC", 1, ins->value / cyc->value);
		json_object_set_new(
			d, "pfm.ipc",
			json_pack("{s:f, s:f}", "instructions", ins->value, "cycles", cyc->value));
	}
	if (exits && iops) {
		double ios = iops->value * duration;
		if (ios > 0) {
			hb_probe_metric(out, "tax.exits_per_io", "exits/IO", 0, exits->value / ios);
			json_object_set_new(d, "tax.exits_per_io",
					    json_pack("{s:f, s:f, s:f, s:f}", "exits", exits->value,
						      "iops", iops->value, "duration_s", duration,
						      "ios", ios));
		}
	}
}

void hb_probeset_read(struct hb_probe_set *ps, struct hb_sample *out, double duration)
{
	size_t i;
	double window;

	if (!ps || !ps->active)
		return;
	hb_probeset_stop(ps);
	window = ps->t_stop - ps->t_start;
	for (i = 0; i < ps->n; i++) {
		struct slot *sl = &ps->s[i];
		struct hb_err pe = {0};
		json_t *info = hb_probe_info(out, sl->ops->name);

		if (sl->state == SL_STOPPED) {
			int rc = strcmp(sl->status, "ok") ? 0 : sl->ops->read(sl->priv, out, &pe);
			if (rc) {
				sl->status = rc == HB_EUNSUPP ? "unavailable" : "failed";
				hb_strlcpy(sl->reason, pe.msg[0] ? pe.msg : hb_strerror(rc),
					   sizeof(sl->reason));
			}
			sl->ops->close(sl->priv);
			sl->state = SL_IDLE;
		}
		/* A probe may have said "partial" itself; failures override it. */
		if (strcmp(sl->status, "ok") || !json_object_get(info, "status"))
			json_object_set_new(info, "status", json_string(sl->status));
		if (sl->reason[0])
			json_object_set_new(info, "reason", json_string(sl->reason));
	}
	json_object_set_new(hb_probe_info(out, "window"), "seconds", json_real(window));
	if (out->active_s > 0)
		derive(out, out->active_s, "measured by the workload (ramp + measured interval)");
	else if (duration > 0)
		derive(out, duration, "planned by the runner (the workload reported no interval)");
	else
		derive(out, window, "probe window (start..stop)");
	ps->active = 0;
}

void hb_probeset_free(struct hb_probe_set *ps)
{
	size_t i;

	if (!ps)
		return;
	discard(ps);
	for (i = 0; i < ps->n; i++) {
		struct slot *sl = &ps->s[i];
		json_decref(sl->opts);
		free(sl->priv);
	}
	free(ps);
}

json_t *hb_probe_summary(const struct hb_sample *s)
{
	const json_t *all = s && s->info ? json_object_get(s->info, "probes") : NULL;
	json_t *res, *v;
	const char *k;

	if (!json_is_object(all))
		return NULL;
	res = json_object();
	json_object_foreach ((json_t *)all, k, v) {
		const json_t *st = json_object_get(v, "status");
		json_t *o;
		if (!json_is_string(st))
			continue; /* window, derived, dropped_metrics */
		o = json_pack("{s:O}", "status", st);
		if (json_object_get(v, "reason"))
			json_object_set(o, "reason", json_object_get(v, "reason"));
		if (json_array_size(json_object_get(v, "unavailable")))
			json_object_set(o, "unavailable", json_object_get(v, "unavailable"));
		json_object_set_new(res, k, o);
	}
	return res;
}

/* ---- `hvbench probes` ---- */

static json_t *describe_all(void)
{
	json_t *arr = json_array();
	size_t i, k;

	for (i = 0; hb_probes[i]; i++) {
		const struct hb_probe_ops *ops = hb_probes[i];
		char why[512] = "";
		int ok = !ops->supported || ops->supported(why, sizeof(why)) == 0;
		json_t *o = json_pack("{s:s, s:s, s:b}", "name", ops->name, "help", ops->help,
				      "available", ok);
		json_t *opts = json_array(), *defs = NULL;
		struct hb_err e = {0};

		if (!ok)
			json_object_set_new(o, "reason", json_string(why));
		for (k = 0; k < ops->nopts; k++)
			json_array_append_new(opts, json_pack("{s:s, s:s?, s:s}", "name",
							      ops->opts[k].name, "default",
							      ops->opts[k].def, "help",
							      ops->opts[k].help));
		json_object_set_new(o, "options", opts);
		if (ops->describe &&
		    hb_params_validate(ops->opts, ops->nopts, NULL, "probes", &defs, &e) == 0) {
			json_t *d = ops->describe(defs);
			if (d)
				json_object_update(o, d);
			json_decref(d);
		}
		json_decref(defs);
		json_array_append_new(arr, o);
	}
	return arr;
}

int hb_cmd_probes(int argc, char **argv)
{
	int as_json = 0, i;
	json_t *all;
	size_t k;
	json_t *o;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			as_json = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: hvbench probes [--json]\n"
			       "Lists every host-side probe and event, whether it works on this "
			       "host,\n"
			       "and the reason when it does not.\n");
			return 0;
		} else {
			fprintf(stderr, "hvbench probes: unknown argument \"%s\" (try --json)\n",
				argv[i]);
			return 2;
		}
	}
	all = describe_all();
	if (as_json) {
		char *s = json_dumps(all, JSON_INDENT(2));
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(all);
		return 0;
	}
	json_array_foreach (all, k, o) {
		json_t *evs = json_object_get(o, "events"), *ev,
		       *notes = json_object_get(o, "notes");
		size_t j;

		printf("%-8s %-12s %s\n", json_string_value(json_object_get(o, "name")),
		       json_is_true(json_object_get(o, "available")) ? "available" : "UNAVAILABLE",
		       json_string_value(json_object_get(o, "help")));
		if (json_object_get(o, "reason"))
			printf("         reason: %s\n",
			       json_string_value(json_object_get(o, "reason")));
		json_array_foreach (evs, j, ev) {
			const char *why = json_string_value(json_object_get(ev, "reason"));
			if (why)
				printf("         %-24s UNAVAILABLE  %s\n",
				       json_string_value(json_object_get(ev, "event")), why);
			else
				printf("         %-24s works        -> pfm.%s\n",
				       json_string_value(json_object_get(ev, "event")),
				       json_string_value(json_object_get(ev, "metric")));
		}
		json_array_foreach (notes, j, ev)
			printf("         note: %s\n", json_string_value(ev));
	}
	json_decref(all);
	return 0;
}
