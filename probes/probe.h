/*
 * probe.h — host-side measurement around every workload run, for native and VM targets alike.
 * One file per probe (probes/pr_*.c) exporting one `const struct hb_probe_ops hb_pr_NAME`,
 * listed in probes/probes.def; private state of priv_size bytes is allocated by the core.
 */
#ifndef HB_PROBE_H
#define HB_PROBE_H

#include <jansson.h>
#include "hb.h"
#include "metric.h"
#include "workload.h"
#include "backend.h"

struct hb_probe_ops {
	const char *name; /* "pfm", "proc", "kvmstat" */
	const char *help;
	const struct hb_param *opts;
	size_t nopts;
	size_t priv_size;
	/* 0 when usable on this host, else HB_EUNSUPP with the reason in why. */
	int (*supported)(char *why, size_t len);
	/* Prepares counters for one run on t (opts validated against the table). */
	int (*open)(void *priv, const json_t *opts, const struct hb_probe_target *t, struct hb_err *e);
	int (*start)(void *priv, struct hb_err *e);
	int (*stop)(void *priv, struct hb_err *e);
	/* Adds readings as metrics named "<probe>.<what>" (e.g. "proc.vmm_cpu_s"), and info such as
	 * unavailable events with reasons into out->info["probes"]["<probe>"]. */
	int (*read)(void *priv, struct hb_sample *out, struct hb_err *e);
	void (*close)(void *priv);
};

extern const struct hb_probe_ops *const hb_probes[];
const struct hb_probe_ops *hb_probe_find(const char *name);

#endif
