/*
 * bootphase.h — where a guest's boot time goes: splits QEMU exec → agent hello into phases
 * (QEMU start, firmware + kernel load, kernel to /init, each step of the guest's init, agent
 * start) from host timestamps and the "hvbench-init: boot phases k=v ..." line that
 * tools/guest-init writes to the serial console. The result goes into targets[].info.
 */
#ifndef HB_BOOTPHASE_H
#define HB_BOOTPHASE_H

#include <jansson.h>
#include <stddef.h>

struct hb_boot_times {
	double t_exec;	     /* QEMU exec (hb_now()) */
	double t_qmp;	     /* QMP connected; < t_exec when unknown */
	double t_hello;	     /* the agent's hello received */
	double agent_uptime; /* guest uptime when the agent started (hello facts); < 0 unknown */
};

/*
 * Builds {"qemu_s", "firmware_s", "kernel_s", <one "<step>_s" per init step>, "agent_s",
 * "total_s"} in boot order; the phases add up to total_s (t_hello - t_exec). firmware_s is
 * what is left between QMP and the guest kernel's clock zero (firmware, kernel load,
 * decompression) and so also holds the hello's transit. console (NUL-terminated, may be NULL)
 * is the serial console text; without its phases line, kernel_s covers kernel and init.
 * Returns a new reference (caller decrefs), NULL when out of memory.
 */
json_t *hb_boot_phases(const struct hb_boot_times *bt, const char *console);

#endif
