/*
 * tg_qemu_argv.h — the QEMU command line of an hvbench guest, built from a plain description
 * of the VM (no process, no file is touched): machine, memfd-backed RAM, QMP and the agent's
 * virtio-serial port, the boot source, the raw scratch disk, the network device, the devices of
 * a "full-featured" VM and the user's extra arguments. The same description drives the static
 * checks `hvbench validate` runs (hb_qemu_check), so a profile QEMU would refuse is refused
 * before anything starts.
 */
#ifndef HB_TG_QEMU_ARGV_H
#define HB_TG_QEMU_ARGV_H

#include <jansson.h>
#include "hb.h"
#include "diag.h"

#define HB_QEMU_MAX_ARGS     160
#define HB_QEMU_TAP	     "hbtap0"
#define HB_QEMU_HOST_IP	     "198.18.1.1"
#define HB_QEMU_HOST_CIDR    "198.18.1.1/24"
#define HB_QEMU_GUEST_CIDR   "198.18.1.2/24"
#define HB_QEMU_USER_HOST_IP "10.0.2.2"
#define HB_QEMU_USER_CIDR    "10.0.2.15/24"
#define HB_QEMU_AGENT_PORT   "org.hvbench.agent"
/* Kernel command line a TCG guest gets for a clock that keeps real time (see tg_qemu_argv.c). */
#define HB_QEMU_TCG_CLOCK "clocksource=tsc tsc=reliable"
/* The scratch drive's id (-drive id=): QMP commands such as block_set_io_throttle name it. */
#define HB_QEMU_DISK_ID "hbdisk"
/* The serials the guest's init finds its disks by (device names follow probe order). */
#define HB_QEMU_SCRATCH_SERIAL "hbscratch"
#define HB_QEMU_TOOLS_SERIAL   "hbtools"
/*
 * The embedded guest's RAM floor: it boots and runs disk, net and cpu at their defaults.
 * Measured (TCG microvm, 1 vCPU, kernel 6.1, initramfs ~12 MiB unpacked, fio and iperf3 on
 * the read-only squashfs tools disk; 0.5 s runs of disk 4k randread iodepth 32, net send, cpu):
 * at 128, 144, 160 and 176 MiB fio cannot map its libraries ("cannot map zero-fill pages"),
 * at 192 all run. A workload holding much memory needs what the guest holds itself on top,
 * HB_QEMU_GUEST_BASE_MIB: mem at its defaults (256 MiB of arrays) is OOM-killed at 288, 304,
 * 320 and 352 MiB and runs at 384; with 128 MiB of arrays it is killed at 192 and 224 and runs
 * at 256. Validate checks every VM against every such entry.
 */
#define HB_QEMU_MIN_MEMORY_MIB 192
#define HB_QEMU_GUEST_BASE_MIB 128

/* What the VM is; every string non-NULL ("" when unset). Borrowed. */
struct hb_qemu_vm {
	const char *bin, *name, *machine;
	long vcpus, memory_mib;
	const char *kernel, *initrd, *disk_image, *append, *extra;
	/* make guest's tools image (fio, iperf3: a read-only squashfs the guest mounts on /usr),
	 * attached as a read-only virtio-blk disk with serial HB_QEMU_TOOLS_SERIAL; NULL or "":
	 * none (a user's kernel + initrd or disk image carries its own tools) */
	const char *tools_img;
	const char *disk_path, *disk_bus, *disk_cache, *disk_aio;
	unsigned long long disk_size;
	/* QEMU I/O throttling of the scratch drive (throttling.iops-total / bps-total), 0: none */
	unsigned long long disk_iops_limit, disk_bps_limit;
	const char *net_mode; /* "tap" | "user" | "none" */
	int full;	      /* full_featured */
	const char *qmp_path, *agent_path, *console_path;
	int console_fd; /* > 0: QEMU inherits the console log at this fd (path not opened) */
};

struct hb_argv {
	char *a[HB_QEMU_MAX_ARGS + 1]; /* NULL-terminated; owned */
	int n;
	int overflow;
};

/*
 * Builds argv for accel ("kvm"|"tcg") and cpu ("host", "max", ...). A KVM boot of hvbench's
 * guest logs to the console from its first instruction (earlyprintk): silence there is how a
 * KVM that cannot run the guest is told apart quickly (kvmprobe.h); TCG boots stay quiet. devices
 * (an array) gets a human line per device; cmdline (may be NULL) the command line joined with
 * blanks. Free v with hb_argv_free, also on failure.
 */
int hb_qemu_argv(const struct hb_qemu_vm *vm, const char *accel, const char *cpu, struct hb_argv *v,
		 json_t *devices, char *cmdline, size_t cmdlen, struct hb_err *e);
void hb_argv_free(struct hb_argv *v);

/* 1 for the virtio-mmio machine (no PCI). */
int hb_qemu_is_microvm(const struct hb_qemu_vm *vm);

/*
 * Every static problem of the description, as errors in d (all of them, not the first):
 * microvm with disk_image or full_featured, disk_image with kernel/initrd, initrd without
 * kernel, a tools image that is not a regular file, aio=native without O_DIRECT caching, memory
 * below HB_QEMU_MIN_MEMORY_MIB for the embedded guest (kernel and disk_image unset), a ':' in a
 * drive file's path (QEMU may take it for a protocol prefix; ',' is escaped as ",," in every
 * value), and kernel/initrd/disk_image that are not regular files. where is put before each message
 * as is ("vm1: ", or "").
 */
void hb_qemu_check(const struct hb_qemu_vm *vm, const char *where, struct hb_diag *d);

#endif
