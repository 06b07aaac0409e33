/*
 * metric.c — the sample set one workload run produces, and its JSON form (the same on the wire
 * between agents and inside results.json).
 */
#include "metric.h"

#include <math.h>
#include <string.h>

static const char *const area_names[HB_AREA_COUNT] = {
	"storage", "network", "memory", "cpu", "latency", "boot", "overhead", "cost", "diagnostic",
};
static const char *const role_names[HB_ROLE_COUNT] = {"headline", "detail", "diagnostic"};
static const char *const cmp_names[HB_CMP_COUNT] = {"ratio", "delta", "none"};

const char *hb_area_str(enum hb_area a)
{
	return (unsigned)a < HB_AREA_COUNT ? area_names[a] : NULL;
}

const char *hb_role_str(enum hb_role r)
{
	return (unsigned)r < HB_ROLE_COUNT ? role_names[r] : NULL;
}

const char *hb_cmp_str(enum hb_cmp c)
{
	return (unsigned)c < HB_CMP_COUNT ? cmp_names[c] : NULL;
}

static int parse_name(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int hb_area_parse(const char *s)
{
	return parse_name(s, area_names, HB_AREA_COUNT);
}

int hb_role_parse(const char *s)
{
	return parse_name(s, role_names, HB_ROLE_COUNT);
}

int hb_cmp_parse(const char *s)
{
	return parse_name(s, cmp_names, HB_CMP_COUNT);
}

const struct hb_metric_def *hb_metric_def_find(const struct hb_metric_def *defs, size_t n,
					       const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t len = strlen(defs[i].name);
		if (len && defs[i].name[len - 1] == '*') {
			if (!strncmp(defs[i].name, name, len - 1))
				return &defs[i];
		} else if (!strcmp(defs[i].name, name)) {
			return &defs[i];
		}
	}
	return NULL;
}

static void metric_unannotated(struct hb_metric *m)
{
	m->area = HB_AREA_DIAG;
	m->role = HB_ROLE_DIAGNOSTIC;
	m->cmp = HB_CMP_NONE;
}

void hb_sample_annotate(struct hb_sample *s, const struct hb_metric_def *defs, size_t n,
			const char *headline)
{
	int i;

	for (i = 0; i < s->n; i++) {
		struct hb_metric *m = &s->m[i];
		const struct hb_metric_def *d = hb_metric_def_find(defs, n, m->name);
		if (!d)
			continue;
		m->area = d->area;
		m->role = d->role;
		m->cmp = d->cmp;
		m->higher_is_better = d->higher_is_better;
		if (d->unit && *d->unit)
			hb_strlcpy(m->unit, d->unit, sizeof(m->unit));
		if (headline && !strcmp(m->name, headline))
			m->role = HB_ROLE_HEADLINE;
		else if (headline && m->role == HB_ROLE_HEADLINE)
			m->role = HB_ROLE_DETAIL;
	}
}

void hb_sample_init(struct hb_sample *s)
{
	memset(s, 0, sizeof(*s));
}

void hb_sample_free(struct hb_sample *s)
{
	json_decref(s->info);
	memset(s, 0, sizeof(*s));
}

int hb_sample_add(struct hb_sample *s, const char *name, const char *unit, int higher_is_better,
		  double value)
{
	struct hb_metric *m = NULL;
	int i;

	if (strlen(name) >= sizeof(m->name) || strlen(unit) >= sizeof(m->unit) || !*name)
		return HB_EINVAL;
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->m[i].name, name))
			m = &s->m[i];
	if (!m) {
		if (s->n >= HB_MAX_METRICS)
			return HB_EINVAL;
		m = &s->m[s->n++];
		metric_unannotated(m);
	}
	hb_strlcpy(m->name, name, sizeof(m->name));
	hb_strlcpy(m->unit, unit, sizeof(m->unit));
	m->higher_is_better = !!higher_is_better;
	m->value = value;
	return 0;
}

const struct hb_metric *hb_sample_get(const struct hb_sample *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->m[i].name, name))
			return &s->m[i];
	return NULL;
}

void hb_sample_info(struct hb_sample *s, const char *key, json_t *value)
{
	if (!s->info)
		s->info = json_object();
	json_object_set_new(s->info, key, value);
}

json_t *hb_sample_to_json(const struct hb_sample *s)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; i < s->n; i++)
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:b, s:f}", "name", s->m[i].name,
						"unit", s->m[i].unit, "higher_is_better",
						s->m[i].higher_is_better, "value", s->m[i].value));
	json_t *j = json_pack("{s:o, s:o}", "metrics", arr, "info",
			      s->info ? json_incref(s->info) : json_object());

	if (j && s->measured_s > 0)
		json_object_set_new(j, "measured_s", json_real(s->measured_s));
	if (j && s->active_s > 0)
		json_object_set_new(j, "active_s", json_real(s->active_s));
	return j;
}

/* An optional interval field: absent = 0; present = a number in [0, 1e6] seconds. */
static int interval_get(const json_t *j, const char *key, double *out)
{
	const json_t *v = json_object_get(j, key);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1e6))
		return -1;
	*out = json_number_value(v);
	return 0;
}

int hb_sample_from_json(const json_t *j, struct hb_sample *s, struct hb_err *e)
{
	const json_t *arr, *info, *m;
	size_t i;

	hb_sample_init(s);
	if (!json_is_object(j))
		return hb_err_set(e, HB_EPROTO, "sample: not an object");
	arr = json_object_get(j, "metrics");
	if (!json_is_array(arr))
		return hb_err_set(e, HB_EPROTO, "sample: \"metrics\" is not an array");
	if (json_array_size(arr) > HB_MAX_METRICS)
		return hb_err_set(e, HB_EPROTO, "sample: more than %d metrics", HB_MAX_METRICS);
	json_array_foreach (arr, i, m) {
		const json_t *name = json_object_get(m, "name"), *unit = json_object_get(m, "unit");
		const json_t *hib = json_object_get(m, "higher_is_better"),
			     *val = json_object_get(m, "value");
		if (!json_is_string(name) || !json_is_string(unit) || !json_is_boolean(hib) ||
		    !json_is_number(val) || !isfinite(json_number_value(val))) {
			hb_sample_free(s);
			return hb_err_set(e, HB_EPROTO,
					  "sample: metrics[%zu] needs string name, string unit, "
					  "boolean higher_is_better and a finite number value",
					  i);
		}
		if (hb_sample_add(s, json_string_value(name), json_string_value(unit),
				  json_is_true(hib), json_number_value(val))) {
			hb_sample_free(s);
			return hb_err_set(e, HB_EPROTO,
					  "sample: metrics[%zu]: name or unit too long", i);
		}
	}
	if (interval_get(j, "measured_s", &s->measured_s) ||
	    interval_get(j, "active_s", &s->active_s)) {
		hb_sample_free(s);
		return hb_err_set(
			e, HB_EPROTO,
			"sample: \"measured_s\"/\"active_s\" must be numbers in [0, 1e6]");
	}
	info = json_object_get(j, "info");
	if (info && !json_is_object(info)) {
		hb_sample_free(s);
		return hb_err_set(e, HB_EPROTO, "sample: \"info\" is not an object");
	}
	if (info && json_object_size(info))
		s->info = json_deep_copy(info);
	return 0;
}
