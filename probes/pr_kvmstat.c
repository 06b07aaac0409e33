/*
 * pr_kvmstat.c — the `kvmstat` probe: KVM's own exit statistics for a VM target, read through
 * QMP query-stats (targets vcpu and vm, provider kvm; QEMU >= 7.1 on a kernel with KVM binary
 * stats) before and after the run. Reports the deltas of exits, io_exits, mmio_exits,
 * halt_exits, irq_exits and insn_emulation summed over vCPUs, and exits per second. Native
 * targets and TCG VMs are unsupported, with the reason. The reply parser is exported so tests
 * can feed it captured replies.
 */
#include "probe.h"
#include "qmp.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const STATS[] = { "exits", "io_exits", "mmio_exits", "halt_exits", "irq_exits",
				     "insn_emulation" };

static const struct hb_param kvm_opts[] = {
	{ "timeout", HB_P_DOUBLE, 0.1, 60, "5", NULL, "seconds to wait for each QMP reply" },
};

struct kvm_priv {
	struct hb_qmp *q;
	double timeout;
	json_t *vcpu0, *vcpu1, *vm0, *vm1; /* summed stats */
	int nvcpu;
	double t0, t1;
	char vm_err[256];
};

int hb_kvmstat_parse(const json_t *reply, json_t **sums, int *nentries, struct hb_err *e)
{
	const json_t *arr = reply, *ent;
	json_t *res;
	size_t i, k;
	int n = 0;

	*sums = NULL;
	if (nentries)
		*nentries = 0;
	if (json_is_object(reply)) {
		if (json_object_get(reply, "error"))
			return hb_err_set(e, HB_EPROTO, "query-stats: %s",
					  json_string_value(json_object_get(
						  json_object_get(reply, "error"), "desc")));
		arr = json_object_get(reply, "return");
	}
	if (!json_is_array(arr))
		return hb_err_set(e, HB_EPROTO, "query-stats: reply is not a list of stats");
	res = json_object();
	json_array_foreach (arr, i, ent) {
		const json_t *st = json_object_get(ent, "stats"), *s;
		const char *prov = json_string_value(json_object_get(ent, "provider"));
		if (!prov || strcmp(prov, "kvm"))
			continue;
		if (!json_is_array(st)) {
			json_decref(res);
			return hb_err_set(e, HB_EPROTO, "query-stats: entry %zu has no \"stats\" list", i);
		}
		n++;
		json_array_foreach (st, k, s) {
			const char *name = json_string_value(json_object_get(s, "name"));
			const json_t *v = json_object_get(s, "value"), *old;
			if (!name || !json_is_number(v))
				continue; /* booleans (instant) and histograms (arrays) */
			old = json_object_get(res, name);
			if (json_is_integer(v) && (!old || json_is_integer(old)))
				json_object_set_new(res, name,
						    json_integer(json_integer_value(v) +
								 (old ? json_integer_value(old) : 0)));
			else
				json_object_set_new(res, name,
						    json_real(json_number_value(v) +
							      (old ? json_number_value(old) : 0)));
		}
	}
	if (!n) {
		json_decref(res);
		return hb_err_set(e, HB_EUNSUPP, "query-stats: provider kvm not present");
	}
	*sums = res;
	if (nentries)
		*nentries = n;
	return 0;
}

int hb_kvmstat_delta(const json_t *before, const json_t *after, double seconds,
		     struct hb_sample *out, json_t *info)
{
	char name[64];
	size_t i;
	int added = 0;
	json_t *missing = json_array();

	for (i = 0; i < HB_ARRAY_SIZE(STATS); i++) {
		const json_t *a = json_object_get(before, STATS[i]);
		const json_t *b = json_object_get(after, STATS[i]);
		double d;
		if (!json_is_number(a) || !json_is_number(b)) {
			json_array_append_new(missing, json_string(STATS[i]));
			continue;
		}
		if (json_is_integer(a) && json_is_integer(b))
			d = (double)(json_integer_value(b) - json_integer_value(a));
		else
			d = json_number_value(b) - json_number_value(a);
		hb_snprintf(name, sizeof(name), "kvmstat.%s", STATS[i]);
		hb_probe_metric(out, name, "count", 0, d);
		added++;
		if (!strcmp(STATS[i], "exits") && seconds > 0) {
			hb_probe_metric(out, "kvmstat.exits_per_s", "exits/s", 0, d / seconds);
			added++;
		}
	}
	if (info && json_array_size(missing))
		json_object_set(info, "missing", missing);
	json_decref(missing);
	return added;
}

/* One query-stats call for target ("vcpu" or "vm"), summed. */
static int snapshot(struct kvm_priv *p, const char *target, json_t **sums, int *n,
		    struct hb_err *e)
{
	json_t *args = json_pack("{s:s, s:[{s:s}]}", "target", target, "providers", "provider",
				 "kvm");
	json_t *ret = NULL;
	int rc;

	if (!args)
		return hb_err_set(e, HB_ENOMEM, "kvmstat: out of memory");
	rc = hb_qmp_cmd(p->q, "query-stats", args, p->timeout, &ret, e);
	if (rc) {
		hb_err_prefix(e, "kvmstat: query-stats %s", target);
		return rc == HB_EPROTO ? HB_EUNSUPP : rc; /* e.g. a QEMU without query-stats */
	}
	rc = hb_kvmstat_parse(ret, sums, n, e);
	json_decref(ret);
	return rc;
}

static int kvm_supported(char *why, size_t len)
{
	if (access("/dev/kvm", R_OK | W_OK)) {
		hb_snprintf(why, len, "/dev/kvm is not usable here: no KVM statistics");
		return HB_EUNSUPP;
	}
	return 0;
}

static int kvm_open(void *priv, const json_t *opts, const struct hb_probe_target *t,
		    struct hb_err *e)
{
	struct kvm_priv *p = priv;
	json_t *ret = NULL;
	int rc;

	if (!t->is_vm)
		return hb_err_set(e, HB_EUNSUPP, "native target: no KVM statistics");
	if (!t->qmp)
		return hb_err_set(e, HB_EUNSUPP, "no QMP connection to the VMM: no KVM statistics");
	p->q = t->qmp;
	p->timeout = hb_param_double(opts, "timeout");
	rc = hb_qmp_cmd(p->q, "query-kvm", NULL, p->timeout, &ret, e);
	if (rc) {
		hb_err_prefix(e, "kvmstat: query-kvm");
		return rc;
	}
	if (!json_is_true(json_object_get(ret, "enabled"))) {
		json_decref(ret);
		return hb_err_set(e, HB_EUNSUPP, "target uses TCG: no KVM statistics");
	}
	json_decref(ret);
	return 0;
}

static int kvm_start(void *priv, struct hb_err *e)
{
	struct kvm_priv *p = priv;
	struct hb_err ve = { 0 };
	int rc;

	rc = snapshot(p, "vcpu", &p->vcpu0, &p->nvcpu, e);
	if (rc)
		return rc;
	/* The vm target is extra detail; its absence is noted, not fatal. */
	if (snapshot(p, "vm", &p->vm0, NULL, &ve))
		hb_strlcpy(p->vm_err, ve.msg, sizeof(p->vm_err));
	p->t0 = hb_now();
	return 0;
}

static int kvm_stop(void *priv, struct hb_err *e)
{
	struct kvm_priv *p = priv;
	struct hb_err ve = { 0 };
	int rc;

	p->t1 = hb_now();
	rc = snapshot(p, "vcpu", &p->vcpu1, NULL, e);
	if (rc)
		return rc;
	if (p->vm0 && snapshot(p, "vm", &p->vm1, NULL, &ve))
		hb_strlcpy(p->vm_err, ve.msg, sizeof(p->vm_err));
	return 0;
}

static int kvm_read(void *priv, struct hb_sample *out, struct hb_err *e)
{
	struct kvm_priv *p = priv;
	json_t *info = hb_probe_info(out, "kvmstat");

	if (!p->vcpu0 || !p->vcpu1)
		return hb_err_set(e, HB_EIO, "kvmstat: missing a query-stats snapshot");
	if (!hb_kvmstat_delta(p->vcpu0, p->vcpu1, p->t1 - p->t0, out, info))
		return hb_err_set(e, HB_EUNSUPP, "query-stats: none of the exit statistics present");
	json_object_set_new(info, "vcpus", json_integer(p->nvcpu));
	json_object_set_new(info, "seconds", json_real(p->t1 - p->t0));
	if (p->vm0 && p->vm1) {
		json_t *vm = json_object(), *v;
		const char *k;
		json_object_foreach (p->vm1, k, v) {
			const json_t *a = json_object_get(p->vm0, k);
			if (json_is_number(a) && json_number_value(v) != json_number_value(a))
				json_object_set_new(vm, k, json_real(json_number_value(v) -
								     json_number_value(a)));
		}
		json_object_set_new(info, "vm_deltas", vm);
	} else if (p->vm_err[0]) {
		json_object_set_new(info, "vm_unavailable", json_string(p->vm_err));
	}
	return 0;
}

static void kvm_close(void *priv)
{
	struct kvm_priv *p = priv;

	json_decref(p->vcpu0);
	json_decref(p->vcpu1);
	json_decref(p->vm0);
	json_decref(p->vm1);
	p->vcpu0 = p->vcpu1 = p->vm0 = p->vm1 = NULL;
}

static json_t *kvm_describe(const json_t *opts)
{
	(void)opts;
	return json_pack("{s:[s]}", "notes",
			 "works for VM targets running with accel=kvm on a kernel with KVM binary "
			 "stats (QMP query-stats); native and TCG targets are reported unavailable");
}

const struct hb_probe_ops hb_pr_kvmstat = {
	.name = "kvmstat",
	.help = "KVM exit statistics of a VM over the run (QMP query-stats, provider kvm)",
	.opts = kvm_opts,
	.nopts = HB_ARRAY_SIZE(kvm_opts),
	.priv_size = sizeof(struct kvm_priv),
	.supported = kvm_supported,
	.open = kvm_open,
	.start = kvm_start,
	.stop = kvm_stop,
	.read = kvm_read,
	.close = kvm_close,
	.describe = kvm_describe,
};
