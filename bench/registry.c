/*
 * registry.c — the workload list (expanded from workloads.def) and the one parameter validator
 * that checks profiles on the host and `run` requests in the guest agent against each
 * workload's parameter table.
 */
#include "workload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HB_WORKLOAD(n) extern const struct hb_workload hb_wl_##n;
#include "workloads.def"
#undef HB_WORKLOAD

const struct hb_workload *const hb_workloads[] = {
#define HB_WORKLOAD(n) &hb_wl_##n,
#include "workloads.def"
#undef HB_WORKLOAD
	NULL,
};

const struct hb_workload *hb_workload_find(const char *name)
{
	size_t i;

	for (i = 0; hb_workloads[i]; i++)
		if (!strcmp(hb_workloads[i]->name, name))
			return hb_workloads[i];
	return NULL;
}

int hb_entry_name_reserved(const char *name)
{
	return !strcmp(name, HB_ROWS_BOOT) || !strcmp(name, HB_ROWS_MEMORY);
}

const char *hb_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Converts one value (JSON, or the default text when v is NULL) to its typed form. */
static int param_value(const struct hb_param *p, const json_t *v, const char *where, json_t **out,
		       struct hb_err *e)
{
	const char *txt = NULL;
	double d;
	size_t i;

	if (!v) {
		txt = p->def;
		if (!txt)
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" is required", where, p->name);
	}
	switch (p->type) {
	case HB_P_INT:
	case HB_P_DOUBLE:
		if (txt) {
			if (hb_parse_double(txt, -INFINITY, INFINITY, &d))
				return hb_err_set(e, HB_EINVAL, "%s: bad default for %s", where,
						  p->name);
		} else if (json_is_number(v)) {
			d = json_number_value(v);
		} else {
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be a number, not %s",
					  where, p->name, hb_json_type_name(v));
		}
		if (!isfinite(d) || (p->type == HB_P_INT && d != floor(d)))
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be %s", where, p->name,
					  p->type == HB_P_INT ? "a whole number"
							      : "a finite number");
		if (d < p->min || d > p->max)
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" is %g, outside %g..%g", where,
					  p->name, d, p->min, p->max);
		*out = p->type == HB_P_INT ? json_integer((json_int_t)d) : json_real(d);
		return 0;
	case HB_P_SIZE: {
		unsigned long long sz;
		if (!txt && json_is_integer(v) && json_integer_value(v) >= 0) {
			sz = (unsigned long long)json_integer_value(v);
		} else {
			const char *s = txt ? txt : json_string_value(v);
			if (!s || hb_parse_size(s, &sz))
				return hb_err_set(
					e, HB_EINVAL,
					"%s: \"%s\" must be a size like 4k, 1M, 2G or a byte count",
					where, p->name);
		}
		if ((double)sz < p->min || (double)sz > p->max)
			return hb_err_set(e, HB_EINVAL,
					  "%s: \"%s\" is %llu bytes, outside %.0f..%.0f", where,
					  p->name, sz, p->min, p->max);
		*out = json_integer((json_int_t)sz);
		return 0;
	}
	case HB_P_BOOL:
		if (txt) {
			*out = json_boolean(!strcmp(txt, "true"));
			return 0;
		}
		if (!json_is_boolean(v))
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be true or false, not %s",
					  where, p->name, hb_json_type_name(v));
		*out = json_boolean(json_is_true(v));
		return 0;
	case HB_P_ENUM: {
		const char *s = txt ? txt : json_string_value(v);
		size_t n = 0;
		if (!s)
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be a string, not %s",
					  where, p->name, hb_json_type_name(v));
		for (i = 0; p->choices && p->choices[i]; i++, n++)
			if (!strcmp(p->choices[i], s)) {
				*out = json_string(s);
				return 0;
			}
		{
			char list[512] = "", near[96];
			for (i = 0; i < n; i++) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "",
					 p->choices[i]);
			}
			return hb_err_set(
				e, HB_EINVAL, "%s: \"%s\" is \"%s\"; expected one of: %s%s", where,
				p->name, s, list, hb_suggest(near, sizeof(near), s, p->choices, n));
		}
	}
	case HB_P_STRING: {
		const char *s = txt ? txt : json_string_value(v);
		if (!s)
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" must be a string, not %s",
					  where, p->name, hb_json_type_name(v));
		if ((double)strlen(s) > p->max)
			return hb_err_set(e, HB_EINVAL, "%s: \"%s\" is longer than %.0f characters",
					  where, p->name, p->max);
		*out = json_string(s);
		return 0;
	}
	}
	return hb_err_set(e, HB_EINVAL, "%s: \"%s\" has an unknown type", where, p->name);
}

int hb_params_validate(const struct hb_param *p, size_t n, const json_t *in, const char *where,
		       json_t **out, struct hb_err *e)
{
	json_t *res;
	const char *key;
	json_t *val;
	size_t i;

	*out = NULL;
	if (in && !json_is_object(in))
		return hb_err_set(e, HB_EINVAL, "%s: must be an object, not %s", where,
				  hb_json_type_name(in));
	if (in) {
		json_object_foreach ((json_t *)in, key, val) {
			const char *names[64];
			char near[96];
			int found = 0;
			for (i = 0; i < n && i < 64; i++) {
				names[i] = p[i].name;
				if (!strcmp(p[i].name, key))
					found = 1;
			}
			if (found)
				continue;
			return hb_err_set(
				e, HB_EINVAL, "%s: unknown key \"%s\"%s", where, key,
				hb_suggest(near, sizeof(near), key, names, n < 64 ? n : 64));
		}
	}
	res = json_object();
	for (i = 0; i < n; i++) {
		json_t *v = NULL;
		int rc = param_value(&p[i], in ? json_object_get(in, p[i].name) : NULL, where, &v,
				     e);
		if (rc) {
			json_decref(res);
			return rc;
		}
		json_object_set_new(res, p[i].name, v);
	}
	*out = res;
	return 0;
}

json_t *hb_param_default(const struct hb_param *p, size_t n, const char *name)
{
	struct hb_err e = {0};
	json_t *v = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(p[i].name, name))
			return p[i].def && !param_value(&p[i], NULL, "default", &v, &e) ? v : NULL;
	return NULL;
}

long long hb_param_int(const json_t *params, const char *name)
{
	return (long long)json_integer_value(json_object_get(params, name));
}

double hb_param_double(const json_t *params, const char *name)
{
	return json_number_value(json_object_get(params, name));
}

int hb_param_bool(const json_t *params, const char *name)
{
	return json_is_true(json_object_get(params, name));
}

const char *hb_param_str(const json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}
