/*
 * backends.c — the target backend list, expanded from backends.def, and the log line every
 * backend writes through the run's sink.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "backend.h"

#define HB_BACKEND(n) extern const struct hb_backend_ops hb_be_##n;
#include "backends.def"
#undef HB_BACKEND

const struct hb_backend_ops *const hb_backends[] = {
#define HB_BACKEND(n) &hb_be_##n,
#include "backends.def"
#undef HB_BACKEND
	NULL,
};

const struct hb_backend_ops *hb_backend_find(const char *kind)
{
	size_t i;

	for (i = 0; hb_backends[i]; i++)
		if (!strcmp(hb_backends[i]->kind, kind))
			return hb_backends[i];
	return NULL;
}

void hb_target_log(const struct hb_env *env, const char *target, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!env || !env->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	env->log(env->log_arg, "%s: %s", target, msg);
}
