/*
 * capacity_model.c — the capacity planner's arithmetic (see capacity_model.h): pure functions
 * on numbers, no I/O, so tests/test_capacity.c checks every figure exactly. The report
 * (capacity.c) and the density sweep (host-agent/density.c) both compute with these.
 */
#include "capacity_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "workload.h"

double hb_cap_jain(const double *x, size_t n)
{
	double s = 0, s2 = 0;

	if (!n)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]) || x[i] < 0)
			return NAN;
		s += x[i];
		s2 += x[i] * x[i];
	}
	return s2 > 0 ? s * s / ((double)n * s2) : NAN;
}

double hb_cap_rel(double v, double base, int higher_is_better)
{
	if (!isfinite(v) || !isfinite(base) || v <= 0 || base <= 0)
		return NAN;
	return higher_is_better ? v / base : base / v;
}

void hb_cap_knee(const int *k, const double *worst, size_t n, double threshold,
		 struct hb_cap_knee *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (isnan(worst[i]))
			break; /* not measured: nothing is known beyond */
		if (worst[i] < threshold) {
			out->limited = 1;
			out->first_below_k = k[i];
			break;
		}
		out->knee_k = k[i];
	}
}

int hb_cap_overhead_fit(const double *guest_gib, const double *overhead_mib, size_t n,
			struct hb_cap_ofit *out)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, sse = 0;

	memset(out, 0, sizeof(*out));
	out->r2 = NAN;
	if (n < 2)
		return HB_EINVAL;
	out->min_gib = out->max_gib = guest_gib[0];
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(guest_gib[i]) || !isfinite(overhead_mib[i]))
			return HB_EINVAL;
		mx += guest_gib[i];
		my += overhead_mib[i];
		if (guest_gib[i] < out->min_gib)
			out->min_gib = guest_gib[i];
		if (guest_gib[i] > out->max_gib)
			out->max_gib = guest_gib[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		sxx += (guest_gib[i] - mx) * (guest_gib[i] - mx);
		sxy += (guest_gib[i] - mx) * (overhead_mib[i] - my);
		syy += (overhead_mib[i] - my) * (overhead_mib[i] - my);
	}
	if (!(sxx > 0))
		return HB_EINVAL; /* one size only: no slope can be fitted */
	out->n = (int)n;
	out->per_gib_mib = sxy / sxx;
	out->fixed_mib = my - out->per_gib_mib * mx;
	for (size_t i = 0; i < n; i++) {
		double r = overhead_mib[i] - (out->fixed_mib + out->per_gib_mib * guest_gib[i]);

		sse += r * r;
		if (fabs(r) > out->max_resid_mib)
			out->max_resid_mib = fabs(r);
	}
	out->rmse_mib = sqrt(sse / (double)n);
	if (syy > 0)
		out->r2 = 1.0 - sse / syy;
	{
		double span = fabs(out->per_gib_mib) * (out->max_gib - out->min_gib);

		out->flat = span < 10.0 || span < 2.0 * out->rmse_mib + 1.0;
	}
	return 0;
}

void hb_cap_topo_count(const int *package, const int *core, size_t n, struct hb_cap_topo *out)
{
	memset(out, 0, sizeof(*out));
	out->threads = (int)n;
	for (size_t i = 0; i < n; i++) {
		int seen_core = 0, seen_pkg = 0;

		for (size_t j = 0; j < i; j++) {
			if (package[j] == package[i]) {
				seen_pkg = 1;
				if (core[j] == core[i])
					seen_core = 1;
			}
		}
		out->cores += !seen_core;
		out->packages += !seen_pkg;
	}
}

/* ---- planning options ---- */

static const char *const cpu_units[] = {"threads", "cores", NULL};

static const struct hb_param plan_params[] = {
	{"host_cores", HB_P_INT, 0, 1e6, "0", NULL, "physical cores of the described host"},
	{"host_threads", HB_P_INT, 0, 1e7, "0", NULL,
	 "hardware threads of the described host (0: as many as cores, no SMT)"},
	{"host_memory", HB_P_SIZE, 0, 1e18, "0", NULL, "RAM of the described host"},
	{"reserve", HB_P_SIZE, 0, 1e18, "0", NULL,
	 "RAM the host keeps for itself (default: this host's measured footprint)"},
	{"vcpu_ratio", HB_P_DOUBLE, 0.01, 1000, "1", NULL,
	 "vCPUs per CPU unit (1 = no CPU overcommit)"},
	{"mem_overcommit", HB_P_DOUBLE, 0.01, 100, "1", NULL,
	 "guest RAM promised per byte of host RAM (1 = no memory overcommit)"},
	{"cpu_unit", HB_P_ENUM, 0, 0, "threads", cpu_units,
	 "what a vCPU ratio counts: hardware threads or physical cores"},
};

const char *const hb_cap_plan_flags[] = {"host-cores", "host-threads",	 "host-memory", "reserve",
					 "vcpu-ratio", "mem-overcommit", "cpu-unit",	NULL};

void hb_cap_plan_init(struct hb_cap_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->reserve_mib = -1;
	p->vcpu_ratio = 1;
	p->mem_overcommit = 1;
	p->per_thread = 1;
}

int hb_cap_plan_parse(const json_t *obj, const char *where, struct hb_cap_plan *p, struct hb_err *e)
{
	json_t *v = NULL;
	int rc;

	if (!obj)
		return 0;
	rc = hb_params_validate(plan_params, HB_ARRAY_SIZE(plan_params), obj, where, &v, e);
	if (rc)
		return rc;
	if (json_object_get(obj, "host_cores"))
		p->host_cores = (double)hb_param_int(v, "host_cores");
	if (json_object_get(obj, "host_threads"))
		p->host_threads = (double)hb_param_int(v, "host_threads");
	if (json_object_get(obj, "host_memory"))
		p->host_mem_mib = (double)hb_param_int(v, "host_memory") / 1048576.0;
	if (json_object_get(obj, "reserve"))
		p->reserve_mib = (double)hb_param_int(v, "reserve") / 1048576.0;
	if (json_object_get(obj, "vcpu_ratio")) {
		p->vcpu_ratio = hb_param_double(v, "vcpu_ratio");
		p->vcpu_set = 1;
	}
	if (json_object_get(obj, "mem_overcommit")) {
		p->mem_overcommit = hb_param_double(v, "mem_overcommit");
		p->mem_set = 1;
	}
	if (json_object_get(obj, "cpu_unit"))
		p->per_thread = !strcmp(hb_param_str(v, "cpu_unit"), "threads");
	json_decref(v);
	if ((p->host_cores > 0) != (p->host_mem_mib > 0))
		return hb_err_set(e, HB_EINVAL,
				  "%s: a described host needs both host_cores and host_memory",
				  where);
	if (p->host_threads > 0 && p->host_threads < p->host_cores)
		return hb_err_set(e, HB_EINVAL,
				  "%s: host_threads (%.0f) is fewer than host_cores (%.0f)", where,
				  p->host_threads, p->host_cores);
	if (p->host_mem_mib > 0 && p->reserve_mib >= p->host_mem_mib)
		return hb_err_set(e, HB_EINVAL, "%s: reserve is not below host_memory", where);
	p->described = p->host_cores > 0;
	return 0;
}

int hb_cap_plan_flag(json_t **obj, const char *name, const char *val, struct hb_err *e)
{
	char key[32];
	size_t i;
	int found = 0;

	for (i = 0; hb_cap_plan_flags[i]; i++)
		if (!strcmp(hb_cap_plan_flags[i], name))
			found = 1;
	if (!found)
		return 1;
	if (hb_strlcpy(key, name, sizeof(key)))
		return hb_err_set(e, HB_EINVAL, "--%s: flag name too long", name);
	for (i = 0; key[i]; i++)
		if (key[i] == '-')
			key[i] = '_';
	if (!*obj && !(*obj = json_object()))
		return hb_err_set(e, HB_ENOMEM, "out of memory");
	for (i = 0; i < HB_ARRAY_SIZE(plan_params); i++) {
		const struct hb_param *pp = &plan_params[i];
		double d;

		if (strcmp(pp->name, key))
			continue;
		if (pp->type == HB_P_SIZE || pp->type == HB_P_ENUM)
			return json_object_set_new(*obj, key, json_string(val)) ? HB_ENOMEM : 0;
		if (hb_parse_double(val, -INFINITY, INFINITY, &d))
			return hb_err_set(e, HB_EINVAL, "--%s: \"%s\" is not a number", name, val);
		return json_object_set_new(*obj, key, json_real(d)) ? HB_ENOMEM : 0;
	}
	return 1;
}

/* ---- projection ---- */

const char *hb_cap_bound_name(enum hb_cap_bound b)
{
	switch (b) {
	case HB_CAP_BY_MEMORY: return "memory";
	case HB_CAP_BY_VCPU: return "vCPU ratio";
	case HB_CAP_BY_KNEE: return "measured knee";
	}
	return "?";
}

int hb_cap_project(const struct hb_cap_host *h, const struct hb_cap_plan *p,
		   const struct hb_cap_shape *s, struct hb_cap_fit *out)
{
	double units = p->per_thread ? (h->threads > 0 ? h->threads : h->cores) : h->cores;
	double left = h->mem_mib - (h->reserve_mib > 0 ? h->reserve_mib : 0);

	memset(out, 0, sizeof(*out));
	out->by_knee = NAN;
	if (!(units > 0) || !(h->mem_mib > 0) || !(s->vcpus > 0) || !(s->guest_mib > 0) ||
	    !(s->overhead_mib >= 0) || !(p->vcpu_ratio > 0) || !(p->mem_overcommit > 0))
		return HB_EINVAL;
	out->units = units;
	out->mem_per_vm_mib = s->guest_mib / p->mem_overcommit + s->overhead_mib;
	out->by_mem = left > 0 ? floor(left / out->mem_per_vm_mib) : 0;
	/* a hair of tolerance: 64 * 0.1 / 0.2 must be 32, not 31.999 */
	out->by_vcpu = floor(units * p->vcpu_ratio / s->vcpus + 1e-9);
	out->fit = out->by_mem;
	out->binds = HB_CAP_BY_MEMORY;
	if (out->by_vcpu < out->fit) {
		out->fit = out->by_vcpu;
		out->binds = HB_CAP_BY_VCPU;
	}
	if (s->knee.limited && s->knee.knee_k > 0 && s->knee_units > 0) {
		out->by_knee = floor((double)s->knee.knee_k * units / s->knee_units + 1e-9);
		if (out->by_knee < out->fit) {
			out->fit = out->by_knee;
			out->binds = HB_CAP_BY_KNEE;
		}
	}
	return 0;
}
