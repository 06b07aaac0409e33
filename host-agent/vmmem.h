/*
 * vmmem.h — host memory overhead of a VM, from /proc/PID/smaps of its VMM. Guest RAM is backed
 * by a named memfd (QEMU names it "memory-backend-memfd"), so its mapping is identifiable:
 * VMM overhead = PSS of the whole VMM − PSS of the guest-RAM mapping. The backend adds the
 * host MemAvailable drop (before launch vs after the agent's hello) and the guest-visible loss
 * (configured memory − guest MemTotal) and records all three in MiB.
 */
#ifndef HB_VMMEM_H
#define HB_VMMEM_H

#include <sys/types.h>
#include <jansson.h>
#include "hb.h"

/* The memfd name QEMU 7.2 gives a memory-backend-memfd object (smaps: "/memfd:NAME (deleted)"). */
#define HB_VMMEM_QEMU_MEMFD "memory-backend-memfd"

struct hb_vmmem {
	double vmm_pss_mib;    /* PSS of every mapping of the VMM */
	double vmm_rss_mib;    /* RSS of every mapping of the VMM */
	double guest_pss_mib;  /* PSS of the guest-RAM memfd mapping(s) */
	double guest_size_mib; /* virtual size of those mappings (= configured guest RAM) */
	int guest_mappings;    /* how many mappings matched the memfd name (0: not found) */
};

/*
 * Parses the text of a /proc/PID/smaps file. memfd_name: the memfd's name without the
 * "/memfd:" prefix. HB_EPROTO when the text holds no mapping with a Pss line; a missing guest
 * mapping is not an error (guest_mappings = 0).
 */
int hb_vmmem_parse(const char *smaps, const char *memfd_name, struct hb_vmmem *out,
		   struct hb_err *e);
/* Reads and parses /proc/PID/smaps. */
int hb_vmmem_read(pid_t pid, const char *memfd_name, struct hb_vmmem *out, struct hb_err *e);

/*
 * The "memory_overhead" info object (new reference), all in MiB:
 * {"vmm_pss_mib","guest_ram_pss_mib","vmm_overhead_mib","memavailable_drop_mib",
 *  "guest_visible_loss_mib","configured_mib","guest_memtotal_mib","method"}.
 * A value < 0 passed for memavail_*, guest_memtotal_mib means unknown: that key is null.
 */
json_t *hb_vmmem_overhead_json(const struct hb_vmmem *m, double memavail_before_mib,
			       double memavail_after_mib, double configured_mib,
			       double guest_memtotal_mib);

#endif
