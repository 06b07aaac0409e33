/*
 * metrics.c — the metric catalogue. Workloads and probes declare their own metrics in their
 * descriptors; this file declares the rest (figures derived from several readings, and the
 * per-target facts a backend measures once per boot) and holds the one lookup that finds the
 * declaration of any metric: the runner stamps area/role/comparison with it, and the results
 * loader fills them into files written before the metric model (schema hvbench/result/1).
 */
#include "probe.h"

#include <string.h>

/* Derived by probe.c from a workload's rate and the probes' readings. */
static const struct hb_metric_def derived_metrics[] = {
	{"tax.cpu_s_per_gib", "s/GiB", 0, HB_AREA_COST, HB_ROLE_HEADLINE, HB_CMP_RATIO,
	 "host CPU seconds per GiB moved (native worker or whole VMM)"},
	{"tax.cpu_s_per_10gbit", "s/10Gbit", 0, HB_AREA_COST, HB_ROLE_HEADLINE, HB_CMP_RATIO,
	 "host CPU seconds per 10 Gbit moved (native worker or whole VMM)"},
	{"tax.exits_per_io", "exits/IO", 0, HB_AREA_COST, HB_ROLE_DETAIL, HB_CMP_NONE,
	 "KVM exits per I/O (VM only)"},
	{"pfm.ipc", "IPC", 1, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "instructions per cycle of the measured processes"},
};

/* Measured once per boot by a VM backend (results rows of workload HB_ROWS_BOOT/MEMORY). */
static const struct hb_metric_def boot_metrics[] = {
	{"time_to_ready", "s", 0, HB_AREA_BOOT, HB_ROLE_HEADLINE, HB_CMP_NONE,
	 "VMM exec to the guest agent's hello"},
	{"boot_cpu", "s", 0, HB_AREA_BOOT, HB_ROLE_DETAIL, HB_CMP_NONE,
	 "CPU seconds the VMM process (all its threads) used from its exec to the guest agent's "
	 "hello: the boot's cost in host CPU (what a boot storm takes from its neighbours); "
	 "under TCG it tracks time_to_ready, load included"},
	{"guest_kernel_boot", "s", 0, HB_AREA_BOOT, HB_ROLE_DETAIL, HB_CMP_NONE,
	 "guest kernel clock at agent start"},
};
static const struct hb_metric_def memory_metrics[] = {
	{"vmm_overhead", "MiB", 0, HB_AREA_OVERHEAD, HB_ROLE_HEADLINE, HB_CMP_NONE,
	 "host memory of the VMM beyond guest RAM (PSS minus guest-RAM PSS)"},
	{"guest_visible_loss", "MiB", 0, HB_AREA_OVERHEAD, HB_ROLE_DETAIL, HB_CMP_NONE,
	 "configured guest RAM the guest does not see (RAM - MemTotal)"},
	{"memavailable_drop", "MiB", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "host MemAvailable drop across the boot (shared host: noisy)"},
};

static const struct {
	const char *workload; /* results row workload/kind of target facts */
	const struct hb_metric_def *defs;
	size_t n;
} target_tables[] = {
	{HB_ROWS_BOOT, boot_metrics, HB_ARRAY_SIZE(boot_metrics)},
	{HB_ROWS_MEMORY, memory_metrics, HB_ARRAY_SIZE(memory_metrics)},
};

const struct hb_metric_def *hb_target_metric_def(const char *workload, const char *metric)
{
	size_t i;

	for (i = 0; i < HB_ARRAY_SIZE(target_tables); i++)
		if (!strcmp(target_tables[i].workload, workload))
			return hb_metric_def_find(target_tables[i].defs, target_tables[i].n,
						  metric);
	return NULL;
}

/* A probe's or a derived figure's declaration (names carry a "<probe>." prefix). */
static const struct hb_metric_def *probe_metric_def(const char *metric)
{
	const struct hb_metric_def *d =
		hb_metric_def_find(derived_metrics, HB_ARRAY_SIZE(derived_metrics), metric);
	size_t i;

	for (i = 0; !d && hb_probes[i]; i++)
		d = hb_metric_def_find(hb_probes[i]->metrics, hb_probes[i]->nmetrics, metric);
	return d;
}

const struct hb_metric_def *hb_metric_lookup(const char *kind, const char *metric)
{
	const struct hb_workload *wl = hb_workload_find(kind);
	const struct hb_metric_def *d = probe_metric_def(metric);

	if (d)
		return d;
	if (wl)
		return hb_metric_def_find(wl->metrics, wl->nmetrics, metric);
	return hb_target_metric_def(kind, metric);
}

void hb_metrics_annotate(struct hb_sample *s, const struct hb_workload *wl, const json_t *params)
{
	size_t i;

	hb_sample_annotate(s, wl->metrics, wl->nmetrics,
			   wl->headline && params ? wl->headline(params) : NULL);
	for (i = 0; hb_probes[i]; i++)
		hb_sample_annotate(s, hb_probes[i]->metrics, hb_probes[i]->nmetrics, NULL);
	/* derived last: "pfm.ipc" is declared here, not by the pfm family */
	hb_sample_annotate(s, derived_metrics, HB_ARRAY_SIZE(derived_metrics), NULL);
}
