/*
 * profile.c — the profile loader and validator. The top level and the entries are checked here
 * key by key; workload parameters and target options go through the one parameter validator
 * (hb_params_validate) against the workload's and backend's own tables.
 */
#include "profile.h"
#include "capacity_model.h"
#include "probe.h"
#include "tg_qemu_argv.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROFILE_MAX_BYTES (4 * 1024 * 1024)

static const char *const top_keys[] = {"name",	    "description",   "repetitions", "warmup",
				       "duration",  "ramp",	     "timeout",	    "targets",
				       "workloads", "probes",	     "boots",	    "density",
				       "planning",  "boot_parallel", NULL};
static const char *const target_keys[] = {"name", "kind", "options", NULL};
static const char *const entry_keys[] = {"name", "workload", "params", "duration",
					 "ramp", "timeout",  NULL};

static int check_keys(const json_t *obj, const char *const *keys, const char *where,
		      struct hb_err *e)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	while (keys[n])
		n++;
	json_object_foreach ((json_t *)obj, key, v) {
		size_t i;
		int ok = 0;
		char near[96];
		for (i = 0; i < n; i++)
			if (!strcmp(keys[i], key))
				ok = 1;
		if (ok)
			continue;
		return hb_err_set(e, HB_EINVAL, "%s: unknown key \"%s\"%s", where, key,
				  hb_suggest(near, sizeof(near), key, keys, n));
	}
	return 0;
}

static int get_name(const json_t *obj, const char *key, const char *where, int required, char *out,
		    size_t len, struct hb_err *e)
{
	const json_t *v = json_object_get(obj, key);
	const char *s, *c;

	if (!v) {
		if (required)
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" is required", where, key);
		return 0;
	}
	if (!json_is_string(v))
		return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be a string, not %s", where, key,
				  hb_json_type_name(v));
	s = json_string_value(v);
	if (!*s || strlen(s) >= len)
		return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be 1..%zu characters", where, key,
				  len - 1);
	for (c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return hb_err_set(
				e, HB_EINVAL,
				"%s: \"%s\" is \"%s\": use letters, digits, '-', '_', '.'", where,
				key, s);
	hb_strlcpy(out, s, len);
	return 0;
}

static int get_num(const json_t *obj, const char *key, const char *where, double min, double max,
		   int integer, double *out, struct hb_err *e)
{
	const json_t *v = json_object_get(obj, key);
	double d;

	if (!v)
		return 0; /* keep the default in *out */
	if (!json_is_number(v))
		return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be a number, not %s", where, key,
				  hb_json_type_name(v));
	d = json_number_value(v);
	if (integer && d != floor(d))
		return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be a whole number", where, key);
	if (!(d >= min && d <= max))
		return hb_err_set(e, HB_EINVAL, "%s: \"%s\" is %g, outside %g..%g", where, key, d,
				  min, max);
	*out = d;
	return 0;
}

static int parse_targets(struct hb_profile *p, const json_t *arr, const char *pname,
			 struct hb_err *e)
{
	const json_t *t;
	size_t i;
	char where[160];

	if (!json_is_array(arr))
		return hb_err_set(e, HB_EINVAL, "%s: \"targets\" must be an array", pname);
	if (json_array_size(arr) == 0 || json_array_size(arr) > HB_MAX_TARGETS)
		return hb_err_set(e, HB_EINVAL, "%s: \"targets\" needs 1..%d entries", pname,
				  HB_MAX_TARGETS);
	json_array_foreach (arr, i, t) {
		struct hb_target *tg = &p->targets[i];
		char kind[32] = "";
		const json_t *opts;
		int j, rc;

		snprintf(where, sizeof(where), "%s: targets[%zu]", pname, i);
		if (!json_is_object(t))
			return hb_err_set(e, HB_EINVAL, "%s: must be an object, not %s", where,
					  hb_json_type_name(t));
		if ((rc = check_keys(t, target_keys, where, e)) ||
		    (rc = get_name(t, "name", where, 1, tg->name, sizeof(tg->name), e)) ||
		    (rc = get_name(t, "kind", where, 1, kind, sizeof(kind), e)))
			return rc;
		snprintf(where, sizeof(where), "%s: targets[%zu] (%s)", pname, i, tg->name);
		for (j = 0; j < (int)i; j++)
			if (!strcmp(p->targets[j].name, tg->name))
				return hb_err_set(e, HB_EINVAL, "%s: duplicate target name \"%s\"",
						  where, tg->name);
		tg->ops = hb_backend_find(kind);
		if (!tg->ops) {
			const char *kinds[16];
			char near[96];
			size_t k;
			for (k = 0; hb_backends[k] && k < 15; k++)
				kinds[k] = hb_backends[k]->kind;
			return hb_err_set(e, HB_EINVAL, "%s: unknown kind \"%s\"%s", where, kind,
					  hb_suggest(near, sizeof(near), kind, kinds, k));
		}
		opts = json_object_get(t, "options");
		snprintf(where, sizeof(where), "%s: targets[%zu] (%s).options", pname, i, tg->name);
		rc = hb_params_validate(tg->ops->opts, tg->ops->nopts, opts, where, &tg->opts, e);
		if (rc)
			return rc;
		p->ntargets = (int)i + 1;
	}
	return 0;
}

static int parse_entries(struct hb_profile *p, const json_t *arr, const char *pname,
			 double duration, double ramp, double timeout, struct hb_err *e)
{
	const json_t *w;
	size_t i;
	char where[160];

	if (!json_is_array(arr))
		return hb_err_set(e, HB_EINVAL, "%s: \"workloads\" must be an array", pname);
	if (json_array_size(arr) == 0 || json_array_size(arr) > HB_MAX_ENTRIES)
		return hb_err_set(e, HB_EINVAL, "%s: \"workloads\" needs 1..%d entries", pname,
				  HB_MAX_ENTRIES);
	json_array_foreach (arr, i, w) {
		struct hb_entry *en = &p->entries[i];
		char wl[32] = "";
		int j, rc;

		snprintf(where, sizeof(where), "%s: workloads[%zu]", pname, i);
		if (!json_is_object(w))
			return hb_err_set(e, HB_EINVAL, "%s: must be an object, not %s", where,
					  hb_json_type_name(w));
		if ((rc = check_keys(w, entry_keys, where, e)) ||
		    (rc = get_name(w, "workload", where, 1, wl, sizeof(wl), e)))
			return rc;
		hb_strlcpy(en->name, wl, sizeof(en->name));
		if ((rc = get_name(w, "name", where, 0, en->name, sizeof(en->name), e)))
			return rc;
		snprintf(where, sizeof(where), "%s: workloads[%zu] (%s)", pname, i, en->name);
		if (hb_entry_name_reserved(en->name))
			return hb_err_set(e, HB_EINVAL, "%s: the name \"%s\" is reserved", where,
					  en->name);
		for (j = 0; j < (int)i; j++)
			if (!strcmp(p->entries[j].name, en->name))
				return hb_err_set(e, HB_EINVAL,
						  "%s: duplicate workload name \"%s\" (give each "
						  "entry a unique \"name\")",
						  where, en->name);
		en->wl = hb_workload_find(wl);
		if (!en->wl) {
			const char *names[32];
			char near[96];
			size_t k;
			for (k = 0; hb_workloads[k] && k < 31; k++)
				names[k] = hb_workloads[k]->name;
			return hb_err_set(e, HB_EINVAL, "%s: unknown workload \"%s\"%s", where, wl,
					  hb_suggest(near, sizeof(near), wl, names, k));
		}
		en->t.duration = duration;
		en->t.ramp = ramp;
		en->t.timeout = timeout;
		if ((rc = get_num(w, "duration", where, 0.1, 3600, 0, &en->t.duration, e)) ||
		    (rc = get_num(w, "ramp", where, 0, 600, 0, &en->t.ramp, e)) ||
		    (rc = get_num(w, "timeout", where, 1, 7200, 0, &en->t.timeout, e)) ||
		    (rc = hb_timing_check(&en->t, 0, where, e)))
			return rc;
		snprintf(where, sizeof(where), "%s: workloads[%zu] (%s).params", pname, i,
			 en->name);
		rc = hb_params_validate(en->wl->params, en->wl->nparams,
					json_object_get(w, "params"), where, &en->params, e);
		if (rc)
			return rc;
		p->nentries = (int)i + 1;
	}
	return 0;
}

int hb_profile_parse(const char *text, const char *name, struct hb_profile *p, struct hb_err *e)
{
	json_error_t je;
	json_t *j;
	double reps = 3, warmup = 1, duration = 10, ramp = 2, timeout = 0, boots = 1;
	const json_t *probes;
	int rc;

	memset(p, 0, sizeof(*p));
	j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return hb_err_set(e, HB_EINVAL, "%s: JSON syntax error at line %d, column %d: %s",
				  name, je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return hb_err_set(e, HB_EINVAL, "%s: the profile must be a JSON object", name);
	}
	p->json = j;
	hb_strlcpy(p->name, "profile", sizeof(p->name));
	if ((rc = check_keys(j, top_keys, name, e)) ||
	    (rc = get_name(j, "name", name, 0, p->name, sizeof(p->name), e)))
		goto fail;
	if (json_object_get(j, "description") &&
	    !json_is_string(json_object_get(j, "description"))) {
		rc = hb_err_set(e, HB_EINVAL, "%s: \"description\" must be a string", name);
		goto fail;
	}
	if ((rc = get_num(j, "repetitions", name, 1, 1000, 1, &reps, e)) ||
	    (rc = get_num(j, "warmup", name, 0, 100, 1, &warmup, e)) ||
	    (rc = get_num(j, "duration", name, 0.1, 3600, 0, &duration, e)) ||
	    (rc = get_num(j, "ramp", name, 0, 600, 0, &ramp, e)) ||
	    (rc = get_num(j, "boots", name, 1, 100, 1, &boots, e)))
		goto fail;
	if (boots > reps) {
		rc = hb_err_set(
			e, HB_EINVAL,
			"%s: \"boots\" %g is more than \"repetitions\" %g: every boot needs "
			"at least one repetition",
			name, boots, reps);
		goto fail;
	}
	timeout = 0; /* not given: each entry's default is 3 * (its duration + ramp) + 60 */
	if ((rc = get_num(j, "timeout", name, 1, 7200, 0, &timeout, e)))
		goto fail;
	p->reps = (int)reps;
	p->warmup = (int)warmup;
	p->boots = (int)boots;
	if (json_object_get(j, "boot_parallel") &&
	    !json_is_boolean(json_object_get(j, "boot_parallel"))) {
		rc = hb_err_set(e, HB_EINVAL, "%s: \"boot_parallel\" must be true or false, not %s",
				name, hb_json_type_name(json_object_get(j, "boot_parallel")));
		goto fail;
	}
	p->boot_parallel = json_is_true(json_object_get(j, "boot_parallel"));
	if (!json_object_get(j, "targets")) {
		rc = hb_err_set(e, HB_EINVAL, "%s: \"targets\" is required", name);
		goto fail;
	}
	if (!json_object_get(j, "workloads")) {
		rc = hb_err_set(e, HB_EINVAL, "%s: \"workloads\" is required", name);
		goto fail;
	}
	if ((rc = parse_targets(p, json_object_get(j, "targets"), name, e)) ||
	    (rc = parse_entries(p, json_object_get(j, "workloads"), name, duration, ramp, timeout,
				e)))
		goto fail;
	probes = json_object_get(j, "probes");
	if (probes && !json_is_object(probes)) {
		rc = hb_err_set(e, HB_EINVAL, "%s: \"probes\" must be an object, not %s", name,
				hb_json_type_name(probes));
		goto fail;
	}
	if (probes && (rc = hb_probes_validate(probes, "probes", e))) {
		hb_err_prefix(e, "%s", name);
		goto fail;
	}
	p->probes = probes;
	if (json_object_get(j, "density")) {
		char where[600];
		snprintf(where, sizeof(where), "%s: density", name);
		if ((rc = hb_density_parse(json_object_get(j, "density"), p, where, e)))
			goto fail;
	}
	if (json_object_get(j, "planning")) {
		struct hb_cap_plan plan;
		char where[600];
		hb_cap_plan_init(&plan);
		snprintf(where, sizeof(where), "%s: planning", name);
		if ((rc = hb_cap_plan_parse(json_object_get(j, "planning"), where, &plan, e)))
			goto fail;
	}
	return 0;
fail:
	hb_profile_free(p);
	return rc;
}

int hb_profile_load(const char *path, struct hb_profile *p, struct hb_err *e)
{
	char *text = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = hb_read_file(path, PROFILE_MAX_BYTES, &text, NULL, e);
	if (rc)
		return rc;
	rc = hb_profile_parse(text, path, p, e);
	free(text);
	if (!rc)
		hb_strlcpy(p->path, path, sizeof(p->path));
	return rc;
}

void hb_profile_free(struct hb_profile *p)
{
	int i;

	for (i = 0; i < HB_MAX_TARGETS; i++)
		json_decref(p->targets[i].opts);
	for (i = 0; i < HB_MAX_ENTRIES; i++)
		json_decref(p->entries[i].params);
	hb_density_free(&p->density);
	json_decref(p->json);
	memset(p, 0, sizeof(*p));
}

int hb_profile_apply(struct hb_profile *p, const struct hb_overrides *o, struct hb_err *e)
{
	int i;

	if (o->reps > 0)
		p->reps = o->reps;
	if (p->boots > p->reps) /* fewer repetitions asked on the command line: one per boot */
		p->boots = p->reps;
	if (o->warmup >= 0)
		p->warmup = o->warmup;
	if (o->boot_parallel)
		p->boot_parallel = o->boot_parallel > 0;
	if (o->duration > 0) {
		for (i = 0; i < p->nentries; i++)
			hb_timing_override(&p->entries[i].t, o->duration);
	}
	if (o->targets) {
		struct hb_target keep[HB_MAX_TARGETS];
		int n = 0, used[HB_MAX_TARGETS] = {0};
		char buf[1024], *save = NULL, *tok;

		if (hb_strlcpy(buf, o->targets, sizeof(buf)))
			return hb_err_set(e, HB_EINVAL, "--targets: list too long");
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int found = -1;
			for (i = 0; i < p->ntargets; i++)
				if (!strcmp(p->targets[i].name, tok))
					found = i;
			if (found < 0) {
				const char *names[HB_MAX_TARGETS];
				char near[96];
				for (i = 0; i < p->ntargets; i++)
					names[i] = p->targets[i].name;
				return hb_err_set(e, HB_EINVAL,
						  "--targets: the profile has no target \"%s\"%s",
						  tok,
						  hb_suggest(near, sizeof(near), tok, names,
							     (size_t)p->ntargets));
			}
			if (used[found])
				return hb_err_set(e, HB_EINVAL, "--targets: \"%s\" given twice",
						  tok);
			used[found] = 1;
			keep[n++] = p->targets[found];
		}
		if (n == 0)
			return hb_err_set(e, HB_EINVAL, "--targets: empty list");
		for (i = 0; i < p->ntargets; i++)
			if (!used[i])
				json_decref(p->targets[i].opts);
		memset(p->targets, 0, sizeof(p->targets));
		memcpy(p->targets, keep, sizeof(keep[0]) * (size_t)n);
		p->ntargets = n;
	}
	return 0;
}

/* ---- static checks and the estimate ---- */

/* A VM too small for what a workload entry allocates (on top of the guest's own needs). */
static void check_mem_peak(const struct hb_profile *p, const struct hb_target_facts *f,
			   const char *where, struct hb_diag *d)
{
	for (int k = 0; f->memory_mib > 0 && k < p->nentries; k++) {
		const struct hb_entry *en = &p->entries[k];
		double need;

		if (!en->wl->mem_peak)
			continue;
		need = (double)en->wl->mem_peak(en->params) / 1048576.0;
		if ((double)f->memory_mib < need + HB_QEMU_GUEST_BASE_MIB)
			hb_diag_error(
				d,
				"%smemory %ld MiB is too small for workloads[%d] (%s): one "
				"run holds %.0f MiB, and the guest itself needs about %d; use "
				"at least %.0f MiB, or smaller parameters",
				where, f->memory_mib, k, en->name, need, HB_QEMU_GUEST_BASE_MIB,
				need + HB_QEMU_GUEST_BASE_MIB);
	}
}

void hb_profile_check(const struct hb_profile *p, const struct hb_check_env *env, struct hb_diag *d)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long long host_ram = hb_meminfo("MemTotal");
	double host_mib = host_ram > 0 ? (double)host_ram / 1048576.0 : 0, vm_mib = 0;
	int baseline = 0, nvm = 0, i;

	for (i = 0; i < p->ntargets; i++) {
		const struct hb_target *t = &p->targets[i];
		struct hb_target_facts f;
		char where[128];

		hb_facts_init(&f);
		hb_snprintf(where, sizeof(where), "targets[%d] (%s): ", i, t->name);
		if (t->ops->check)
			t->ops->check(t->opts, t->name, env, &f, where, d);
		if (t->ops->flags & HB_BE_BASELINE)
			baseline = 1;
		if (t->ops->flags & HB_BE_VM)
			nvm++;
		if ((t->ops->flags & HB_BE_HOST_VIEW) && (t->ops->flags & HB_BE_VM)) {
			if (cores > 0 && f.vcpus > cores)
				hb_diag_warn(
					d,
					"%s%d vCPUs on a host with %ld cores: vCPUs share cores "
					"and the figures measure contention",
					where, f.vcpus, cores);
			if (host_mib > 0 && f.memory_mib > host_mib)
				hb_diag_warn(d, "%s%ld MiB of guest RAM on a host with %.0f MiB",
					     where, f.memory_mib, host_mib);
			vm_mib += (double)f.memory_mib;
			check_mem_peak(p, &f, where, d);
		}
		hb_facts_free(&f);
	}
	if (host_mib > 0 && vm_mib > host_mib)
		hb_diag_warn(d,
			     "the VM targets run side by side with %.0f MiB of guest RAM together, "
			     "more than the host's %.0f MiB",
			     vm_mib, host_mib);
	if (p->density.enabled) {
		struct hb_target_facts f;
		int kmax = p->density.counts[p->density.ncounts - 1];

		hb_facts_init(&f);
		if (p->density.target.ops->check)
			p->density.target.ops->check(p->density.target.opts, p->density.target.name,
						     env, &f, "density: ", d);
		if (host_mib > 0 && (double)kmax * (double)f.memory_mib > host_mib)
			hb_diag_warn(d,
				     "density: k=%d VMs of %ld MiB need more than the host's %.0f "
				     "MiB: the sweep will stop early for lack of memory",
				     kmax, f.memory_mib, host_mib);
		hb_facts_free(&f);
	}
	/* two VMs and no native: an A/B profile, whose comparison is compare --ab, not a ratio */
	if (!baseline && nvm >= 2)
		hb_diag_warn(d, "no baseline target (kind native): no VM/native ratios; the VMs "
				"compare with each other by hvbench compare --ab A B RESULTS.json");
	else if (!baseline)
		hb_diag_warn(d, "no baseline target (kind native): nothing to compare the VM "
				"figures with, so no ratios");
	hb_probes_check(p->probes, d);
}

double hb_entry_cost(const struct hb_entry *en)
{
	return en->t.duration + en->t.ramp + 1.0;
}

double hb_profile_estimate(const struct hb_profile *p)
{
	double s = 0;
	int i, nvm = 0;

	for (i = 0; i < p->nentries; i++)
		s += hb_entry_cost(&p->entries[i]) * (p->reps + p->warmup) * p->ntargets;
	for (i = 0; i < p->ntargets; i++)
		nvm += (p->targets[i].ops->flags & HB_BE_VM) != 0;
	/* side by side, the boots of a group take about as long as the slowest one */
	s += HB_VM_START_ESTIMATE_S * (p->boot_parallel && nvm ? 1 : nvm) * p->boots;
	return s + hb_density_estimate(p);
}
