/*
 * facts.c — typed target facts and their results.json form (see facts.h).
 */
#include "facts.h"

#include <string.h>

#include "hb.h"

void hb_facts_init(struct hb_target_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->emulation = -1;
	f->time_to_ready_s = f->boot_cpu_s = f->guest_kernel_boot_s = HB_FACT_UNKNOWN;
	f->avail_before_mib = f->avail_after_mib = f->guest_memtotal_mib = HB_FACT_UNKNOWN;
}

void hb_facts_free(struct hb_target_facts *f)
{
	json_decref(f->guest);
	f->guest = NULL;
}

void hb_facts_from_hello(struct hb_target_facts *f, const json_t *hello, int booted)
{
	json_t *facts = json_object_get(hello, "facts");
	const json_t *v;

	if (!json_is_object(facts))
		return;
	json_decref(f->guest);
	f->guest = json_incref(facts);
	v = json_object_get(facts, "kernel_boot_s");
	if (booted && json_is_number(v))
		f->guest_kernel_boot_s = json_number_value(v);
	v = json_object_get(facts, "mem_total_bytes");
	if (json_is_number(v))
		f->guest_memtotal_mib = json_number_value(v) / 1048576.0;
	if (json_is_string(json_object_get(facts, "kernel")))
		hb_strlcpy(f->guest_kernel, json_string_value(json_object_get(facts, "kernel")),
			   sizeof(f->guest_kernel));
	if (json_is_string(json_object_get(facts, "clocksource")))
		hb_strlcpy(f->guest_clocksource,
			   json_string_value(json_object_get(facts, "clocksource")),
			   sizeof(f->guest_clocksource));
}

void hb_facts_to_info(const struct hb_target_facts *f, json_t *info)
{
	if (f->accel[0]) {
		json_object_set_new(info, "accel", json_string(f->accel));
		json_object_set_new(info, "accel_reason", json_string(f->accel_reason));
	}
	if (f->emulation >= 0)
		json_object_set_new(info, "emulation", json_boolean(f->emulation));
	if (f->machine[0])
		json_object_set_new(info, "machine", json_string(f->machine));
	if (f->vcpus > 0)
		json_object_set_new(info, "vcpus", json_integer(f->vcpus));
	if (f->memory_mib > 0)
		json_object_set_new(info, "memory_mib", json_integer(f->memory_mib));
	if (f->net_mode[0]) {
		json_object_set_new(info, "net_mode", json_string(f->net_mode));
		if (!strcmp(f->net_mode, "user"))
			json_object_set_new(info, "net_representative", json_false());
	}
	if (f->time_to_ready_s >= 0)
		json_object_set_new(info, "time_to_ready_s", json_real(f->time_to_ready_s));
	if (f->boot_cpu_s >= 0)
		json_object_set_new(info, "boot_cpu_s", json_real(f->boot_cpu_s));
	if (f->guest_kernel_boot_s >= 0)
		json_object_set_new(info, "guest_kernel_boot_s", json_real(f->guest_kernel_boot_s));
	if (f->boot_concurrency > 0)
		json_object_set_new(info, "boot_concurrency", json_integer(f->boot_concurrency));
	if (f->boot_concurrent_with[0])
		json_object_set_new(info, "boot_concurrent_with",
				    json_string(f->boot_concurrent_with));
	if (f->guest)
		json_object_set(info, "guest", f->guest);
	if (f->have_mem)
		json_object_set_new(
			info, "memory_overhead",
			hb_vmmem_overhead_json(&f->mem, f->avail_before_mib, f->avail_after_mib,
					       (double)f->memory_mib, f->guest_memtotal_mib));
	else if (f->mem_error[0])
		json_object_set_new(info, "memory_overhead_error", json_string(f->mem_error));
}

const char *hb_memo_kvm_failed(const struct hb_run_memo *m, const char *guest)
{
	for (int i = 0; m && i < m->nkvm; i++)
		if (!strcmp(m->kvm_failed[i].guest, guest))
			return m->kvm_failed[i].reason;
	return NULL;
}

void hb_memo_set_kvm_failed(struct hb_run_memo *m, const char *guest, const char *reason)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < m->nkvm; i++)
		if (!strcmp(m->kvm_failed[i].guest, guest))
			break;
	if (i == m->nkvm) {
		if (m->nkvm >= (int)HB_ARRAY_SIZE(m->kvm_failed))
			return;
		m->nkvm++;
	}
	hb_strlcpy(m->kvm_failed[i].guest, guest, sizeof(m->kvm_failed[i].guest));
	hb_strlcpy(m->kvm_failed[i].reason, reason, sizeof(m->kvm_failed[i].reason));
}

void hb_memo_vmm_set(struct hb_run_memo *m, const char *name, pid_t pid)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < m->nvmm; i++)
		if (!strcmp(m->vmm[i].name, name))
			break;
	if (i == m->nvmm) {
		if (m->nvmm >= (int)HB_ARRAY_SIZE(m->vmm))
			return;
		m->nvmm++;
	}
	hb_strlcpy(m->vmm[i].name, name, sizeof(m->vmm[i].name));
	m->vmm[i].pid = pid;
}
