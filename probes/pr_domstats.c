/*
 * pr_domstats.c — the `domstats` probe: the hypervisor's own per-VM counters over a run, as the
 * management layer reports them (libvirt's domain stats: virConnectGetAllDomainStats). The
 * backend supplies the counters through struct hb_probe_target.vmm_stats as one flat object
 * with libvirt's key names ("cpu.time", "vcpu.0.time", "block.0.rd.reqs", "net.0.rx.bytes",
 * "balloon.rss", ...); the probe reads them before and after the run and reports the deltas
 * (summed over vCPUs, disks and interfaces) and the balloon figures at the end. Targets
 * without such a source (native, a QEMU hvbench drives itself, a remote VM) are unavailable
 * with the reason.
 */
#include "probe.h"

#include <stdio.h>
#include <string.h>

struct ds_priv {
	int (*stats)(void *arg, json_t **stats, struct hb_err *e); /* copied from the target */
	void *arg;
	json_t *before, *after;
};

/* One figure: a libvirt key pattern ('*' = any index) summed over its matches. */
static const struct {
	const char *metric, *unit;
	const char *prefix,
		*suffix; /* key = prefix [index "."] suffix; prefix NULL: key is suffix */
	double scale;	 /* value * scale */
	int delta;	 /* 1: after - before; 0: the value after */
} figures[] = {
	{"domstats.cpu_s", "s", NULL, "cpu.time", 1e-9, 1},
	{"domstats.cpu_user_s", "s", NULL, "cpu.user", 1e-9, 1},
	{"domstats.cpu_system_s", "s", NULL, "cpu.system", 1e-9, 1},
	{"domstats.vcpu_s", "s", "vcpu.", "time", 1e-9, 1},
	{"domstats.vcpu_wait_s", "s", "vcpu.", "wait", 1e-9, 1},
	{"domstats.vcpu_delay_s", "s", "vcpu.", "delay", 1e-9, 1},
	{"domstats.block_rd_reqs", "count", "block.", "rd.reqs", 1, 1},
	{"domstats.block_rd_mib", "MiB", "block.", "rd.bytes", 1.0 / 1048576, 1},
	{"domstats.block_wr_reqs", "count", "block.", "wr.reqs", 1, 1},
	{"domstats.block_wr_mib", "MiB", "block.", "wr.bytes", 1.0 / 1048576, 1},
	{"domstats.block_fl_reqs", "count", "block.", "fl.reqs", 1, 1},
	{"domstats.net_rx_mib", "MiB", "net.", "rx.bytes", 1.0 / 1048576, 1},
	{"domstats.net_tx_mib", "MiB", "net.", "tx.bytes", 1.0 / 1048576, 1},
	{"domstats.net_rx_pkts", "count", "net.", "rx.pkts", 1, 1},
	{"domstats.net_tx_pkts", "count", "net.", "tx.pkts", 1, 1},
	{"domstats.balloon_current_mib", "MiB", NULL, "balloon.current", 1.0 / 1024, 0},
	{"domstats.balloon_rss_mib", "MiB", NULL, "balloon.rss", 1.0 / 1024, 0},
};

static const struct hb_metric_def ds_metrics[] = {
	{"domstats.cpu_s", "s", 0, HB_AREA_COST, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "CPU seconds of the VM's QEMU as the hypervisor accounts them (libvirt cpu.time)"},
	{"domstats.vcpu_s", "s", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "seconds the vCPUs ran (sum over vCPUs)"},
	{"domstats.vcpu_delay_s", "s", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "seconds the vCPUs were runnable but waited for a host CPU (sum over vCPUs)"},
	{"domstats.*", "", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "the hypervisor's per-VM counters (block, net, balloon, vCPU wait) over the run"},
};

static int ds_open(void *priv, const json_t *opts, const struct hb_probe_target *t,
		   struct hb_err *e)
{
	struct ds_priv *p = priv;

	(void)opts;
	if (!t->is_vm)
		return hb_err_set(e, HB_EUNSUPP, "native target: no hypervisor statistics");
	if (!t->vmm_stats)
		return hb_err_set(e, HB_EUNSUPP,
				  "the target's backend has no per-VM statistics source (libvirt "
				  "domains have one)");
	p->stats = t->vmm_stats;
	p->arg = t->vmm_stats_arg;
	return 0;
}

/* One reading of the domain's statistics into *into. */
static int ds_take(struct ds_priv *p, json_t **into, struct hb_err *e)
{
	int rc = p->stats(p->arg, into, e);

	if (rc)
		hb_err_prefix(e, "domstats");
	return rc;
}

static int ds_start(void *priv, struct hb_err *e)
{
	struct ds_priv *p = priv;

	return ds_take(p, &p->before, e);
}

static int ds_stop(void *priv, struct hb_err *e)
{
	struct ds_priv *p = priv;

	return ds_take(p, &p->after, e);
}

/* Sum of the values of every key matching the figure; 0 matches: -1. */
static double sum_of(const json_t *stats, const char *prefix, const char *suffix, int *n)
{
	const char *key;
	json_t *v;
	double sum = 0;

	*n = 0;
	json_object_foreach ((json_t *)stats, key, v) {
		if (!json_is_number(v))
			continue;
		if (!prefix) {
			if (strcmp(key, suffix))
				continue;
		} else {
			size_t pl = strlen(prefix);
			const char *p = key + pl;
			if (strncmp(key, prefix, pl) || *p < '0' || *p > '9')
				continue;
			while (*p >= '0' && *p <= '9')
				p++;
			if (*p != '.' || strcmp(p + 1, suffix))
				continue;
		}
		sum += json_number_value(v);
		(*n)++;
	}
	return sum;
}

static int ds_read(void *priv, struct hb_sample *out, struct hb_err *e)
{
	struct ds_priv *p = priv;
	json_t *info = hb_probe_info(out, "domstats"), *missing = json_array();
	size_t i;

	(void)e;
	for (i = 0; i < HB_ARRAY_SIZE(figures); i++) {
		int na = 0, nb = 0;
		double a = sum_of(p->after, figures[i].prefix, figures[i].suffix, &na);
		double b = figures[i].delta
				   ? sum_of(p->before, figures[i].prefix, figures[i].suffix, &nb)
				   : 0;
		if (!na || (figures[i].delta && nb != na)) {
			json_array_append_new(missing, json_string(figures[i].metric));
			continue;
		}
		hb_probe_metric(out, figures[i].metric, figures[i].unit, 0,
				(a - b) * figures[i].scale);
	}
	/* e.g. interface counters when the tap lives in another network namespace */
	if (json_array_size(missing))
		json_object_set_new(info, "missing", missing);
	else
		json_decref(missing);
	json_object_set_new(info, "source", json_string("libvirt domain stats"));
	return 0;
}

static void ds_close(void *priv)
{
	struct ds_priv *p = priv;

	json_decref(p->before);
	json_decref(p->after);
	p->before = p->after = NULL;
}

const struct hb_probe_ops hb_pr_domstats = {
	.name = "domstats",
	.help = "the hypervisor's per-VM counters over the run (libvirt domain stats: CPU, vCPU "
		"time and delay, block and interface counters, balloon)",
	.metrics = ds_metrics,
	.nmetrics = HB_ARRAY_SIZE(ds_metrics),
	.priv_size = sizeof(struct ds_priv),
	.open = ds_open,
	.start = ds_start,
	.stop = ds_stop,
	.read = ds_read,
	.close = ds_close,
};
