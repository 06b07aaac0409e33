/*
 * tg_qemu_argv.c — the QEMU command line of an hvbench guest and the static checks on its
 * description (see tg_qemu_argv.h). Guest RAM is a named memfd so the memory overhead can be
 * split from guest RAM in /proc/PID/smaps; the embedded guest learns its disk, address and
 * agent port from the kernel command line.
 */
#include "tg_qemu_argv.h"
#include "qemuopt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void arg(struct hb_argv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct hb_argv *v, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (v->n >= HB_QEMU_MAX_ARGS) {
		v->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		v->overflow = 1;
		return;
	}
	v->a[v->n++] = s;
	v->a[v->n] = NULL;
}

/*
 * An option value made from a path or a name, with ',' doubled (QEMU reads ",," as a comma;
 * a single one would end the value and start another option: an injection). Returns buf, or ""
 * with v->overflow set when it does not fit.
 */
static const char *esc(struct hb_argv *v, const char *s, char *buf, size_t len)
{
	if (hb_qemu_opt_escape(s, buf, len)) {
		v->overflow = 1;
		return "";
	}
	return buf;
}

void hb_argv_free(struct hb_argv *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->a[i]);
	v->n = 0;
}

int hb_qemu_is_microvm(const struct hb_qemu_vm *vm)
{
	return !strcmp(vm->machine, "microvm");
}

/* Device name for the bus: virtio-X-device on microvm (virtio-mmio), virtio-X-pci elsewhere. */
static const char *dev(const struct hb_qemu_vm *vm, const char *base, char *buf, size_t len)
{
	hb_snprintf(buf, len, "%s-%s", base, hb_qemu_is_microvm(vm) ? "device" : "pci");
	return buf;
}

/*
 * The host's TSC rate in kHz (from /proc/cpuinfo), 0 if unknown. Under TCG the guest's TSC
 * runs at the host's rate; telling the guest kernel (tsc_early_khz=) spares it the PIT
 * calibration, which fails on a loaded host and leaves a microvm guest (no HPET, no ACPI PM
 * timer) hanging with a clock stuck at zero.
 */
static long host_tsc_khz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256];
	long khz = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		double mhz;
		const char *colon = strchr(line, ':');
		if (!strncmp(line, "cpu MHz", 7) && colon && sscanf(colon + 1, "%lf", &mhz) == 1 &&
		    mhz > 100 && mhz < 100000) {
			khz = (long)(mhz * 1000.0);
			break;
		}
	}
	fclose(f);
	return khz;
}

static void add_boot(const struct hb_qemu_vm *vm, struct hb_argv *v, json_t *devices)
{
	char d[64], x[2 * 4096 + 2];

	if (vm->disk_image[0]) {
		const char *dot = strrchr(vm->disk_image, '.');
		arg(v, "-drive");
		arg(v, "file=%s,if=none,id=hbboot,format=%s,snapshot=on",
		    esc(v, vm->disk_image, x, sizeof(x)),
		    dot && !strcmp(dot, ".qcow2") ? "qcow2" : "raw");
		arg(v, "-device");
		arg(v, "%s,drive=hbboot,bootindex=0", dev(vm, "virtio-blk", d, sizeof(d)));
		json_array_append_new(devices, json_sprintf("%s (boot image, snapshot=on)", d));
		return;
	}
	arg(v, "-kernel");
	arg(v, "%s", vm->kernel);
	if (vm->initrd[0]) {
		arg(v, "-initrd");
		arg(v, "%s", vm->initrd);
	}
}

/* The scratch disk; returns the guest's name for it. */
static const char *add_disk(const struct hb_qemu_vm *vm, struct hb_argv *v, json_t *devices)
{
	char d[64], x[2 * 4096 + 2], thr[96] = "";
	int n = 0;

	/* QEMU's token bucket: the average is the limit, the burst defaults to a tenth of it */
	if (vm->disk_iops_limit)
		n = snprintf(thr, sizeof(thr), ",throttling.iops-total=%llu", vm->disk_iops_limit);
	if (vm->disk_bps_limit && n >= 0 && (size_t)n < sizeof(thr))
		snprintf(thr + n, sizeof(thr) - (size_t)n, ",throttling.bps-total=%llu",
			 vm->disk_bps_limit);
	arg(v, "-drive");
	arg(v, "file=%s,if=none,id=" HB_QEMU_DISK_ID ",format=raw,cache=%s,aio=%s%s",
	    esc(v, vm->disk_path, x, sizeof(x)), vm->disk_cache, vm->disk_aio, thr);
	if (thr[0])
		json_array_append_new(devices, json_sprintf("scratch drive throttled:%s", thr));
	if (!strcmp(vm->disk_bus, "virtio-scsi")) {
		arg(v, "-device");
		arg(v, "%s,id=hbscsi", dev(vm, "virtio-scsi", d, sizeof(d)));
		arg(v, "-device");
		arg(v, "scsi-hd,drive=" HB_QEMU_DISK_ID
		       ",bus=hbscsi.0,serial=" HB_QEMU_SCRATCH_SERIAL);
		json_array_append_new(
			devices,
			json_sprintf("%s + scsi-hd (scratch %llu MiB raw, cache=%s, aio=%s)", d,
				     vm->disk_size >> 20, vm->disk_cache, vm->disk_aio));
		return vm->disk_image[0] ? "/dev/sdb" : "/dev/sda";
	}
	arg(v, "-device");
	arg(v, "%s,drive=" HB_QEMU_DISK_ID ",serial=" HB_QEMU_SCRATCH_SERIAL,
	    dev(vm, "virtio-blk", d, sizeof(d)));
	json_array_append_new(devices,
			      json_sprintf("%s (scratch %llu MiB raw, cache=%s, aio=%s)", d,
					   vm->disk_size >> 20, vm->disk_cache, vm->disk_aio));
	return vm->disk_image[0] ? "/dev/vdb" : "/dev/vda";
}

/* The tools image: read-only, shared by every VM booting it (QEMU takes a shared lock). */
static void add_tools(const struct hb_qemu_vm *vm, struct hb_argv *v, json_t *devices)
{
	char d[64], x[2 * 4096 + 2];

	if (!vm->tools_img || !vm->tools_img[0] || vm->disk_image[0])
		return;
	arg(v, "-drive");
	arg(v, "file=%s,if=none,id=hbtools,format=raw,readonly=on",
	    esc(v, vm->tools_img, x, sizeof(x)));
	arg(v, "-device");
	arg(v, "%s,drive=hbtools,serial=" HB_QEMU_TOOLS_SERIAL,
	    dev(vm, "virtio-blk", d, sizeof(d)));
	json_array_append_new(devices, json_sprintf("%s (tools image: fio, iperf3; read-only)", d));
}

/* The network device; returns the guest's address (NULL: no network). */
static const char *add_net(const struct hb_qemu_vm *vm, struct hb_argv *v, json_t *devices)
{
	const char *ipcidr = NULL;
	char d[64];

	if (!strcmp(vm->net_mode, "tap")) {
		arg(v, "-netdev");
		arg(v, "tap,id=hbnet,ifname=%s,script=no,downscript=no", HB_QEMU_TAP);
		ipcidr = HB_QEMU_GUEST_CIDR;
	} else if (!strcmp(vm->net_mode, "user")) {
		arg(v, "-netdev");
		arg(v, "user,id=hbnet");
		ipcidr = HB_QEMU_USER_CIDR;
	}
	if (ipcidr) {
		arg(v, "-device");
		arg(v, "%s,netdev=hbnet", dev(vm, "virtio-net", d, sizeof(d)));
		json_array_append_new(devices, json_sprintf("%s (%s)", d,
							    !strcmp(vm->net_mode, "tap")
								    ? "tap in a private netns"
								    : "user networking (slirp)"));
	}
	return ipcidr;
}

int hb_qemu_argv(const struct hb_qemu_vm *vm, const char *accel, const char *cpu, struct hb_argv *v,
		 json_t *devices, char *cmdline, size_t cmdlen, struct hb_err *e)
{
	char d[64], x[2 * 4096 + 2];
	const char *disk_dev, *ipcidr;

	arg(v, "%s", vm->bin);
	arg(v, "-name");
	arg(v, "hvbench-%s", esc(v, vm->name, x, sizeof(x)));
	arg(v, "-nodefaults");
	arg(v, "-no-user-config");
	arg(v, "-display");
	arg(v, "none");
	arg(v, "-no-reboot");
	arg(v, "-machine");
	arg(v, "%s,memory-backend=hbram", vm->machine);
	arg(v, "-accel");
	arg(v, "%s", accel);
	arg(v, "-cpu");
	arg(v, "%s", cpu);
	arg(v, "-smp");
	arg(v, "%ld", vm->vcpus);
	arg(v, "-m");
	arg(v, "%ld", vm->memory_mib);
	arg(v, "-object");
	arg(v, "memory-backend-memfd,id=hbram,size=%ldM,share=on", vm->memory_mib);
	/* QMP and the agent channel */
	arg(v, "-qmp");
	arg(v, "unix:%s,server=on,wait=off", esc(v, vm->qmp_path, x, sizeof(x)));
	arg(v, "-chardev");
	arg(v, "socket,id=hbagent,path=%s,server=on,wait=off",
	    esc(v, vm->agent_path, x, sizeof(x)));
	arg(v, "-device");
	arg(v, "%s", dev(vm, "virtio-serial", d, sizeof(d)));
	arg(v, "-device");
	arg(v, "virtserialport,chardev=hbagent,name=%s", HB_QEMU_AGENT_PORT);
	json_array_append_new(
		devices, json_sprintf("%s + virtserialport %s (agent)", d, HB_QEMU_AGENT_PORT));
	/* serial console to the results directory (appended: a KVM probe's log is kept); when the
	 * caller created the file (O_EXCL|O_NOFOLLOW), QEMU writes it through the fd it inherits
	 * and never opens the path itself */
	arg(v, "-chardev");
	if (vm->console_fd > 0)
		arg(v, "file,id=hbcon,path=/proc/self/fd/%d,append=on", vm->console_fd);
	else
		arg(v, "file,id=hbcon,path=%s,append=on", esc(v, vm->console_path, x, sizeof(x)));
	arg(v, "-serial");
	arg(v, "chardev:hbcon");
	json_array_append_new(devices, json_string("serial console (log file)"));
	add_boot(vm, v, devices);
	disk_dev = add_disk(vm, v, devices);
	add_tools(vm, v, devices);
	ipcidr = add_net(vm, v, devices);
	if (!vm->disk_image[0]) {
		char tsc[96] = "";
		long khz = strcmp(accel, "tcg") ? 0 : host_tsc_khz();
		/* Under TCG the guest kernel may judge the TSC unstable and fall back to
		 * refined-jiffies, whose clock runs at 0.77-0.92x real time on a loaded host:
		 * every in-guest rate is then off by as much. The TCG TSC follows the host's
		 * clock, so the guest is told to trust it. KVM guests keep kvm-clock. */
		if (khz)
			hb_snprintf(tsc, sizeof(tsc), " tsc_early_khz=%ld %s", khz,
				    HB_QEMU_TCG_CLOCK);
		else if (!strcmp(accel, "tcg"))
			hb_snprintf(tsc, sizeof(tsc), " %s", HB_QEMU_TCG_CLOCK);
		arg(v, "-append");
		arg(v, "console=ttyS0 panic=-1 %s%s%s%s hvbench.disk=%s hvbench.port=%s%s%s",
		    strcmp(accel, "tcg") ? "earlyprintk=ttyS0" : "quiet", tsc,
		    ipcidr ? " hvbench.ip=" : "", ipcidr ? ipcidr : "", disk_dev,
		    HB_QEMU_AGENT_PORT, vm->append[0] ? " " : "", vm->append);
	}
	if (vm->full) {
		static const char *const full_devs[] = {"VGA", "qemu-xhci,id=hbxhci",
							"usb-tablet,bus=hbxhci.0",
							"virtio-balloon-pci", "virtio-rng-pci"};
		for (size_t i = 0; i < HB_ARRAY_SIZE(full_devs); i++) {
			arg(v, "-device");
			arg(v, "%s", full_devs[i]);
			json_array_append_new(devices, json_string(full_devs[i]));
		}
	}
	/* extra arguments: split on blanks, no shell */
	if (vm->extra[0]) {
		char *copy = strdup(vm->extra), *save = NULL, *tok;
		if (!copy)
			return hb_err_set(e, HB_ENOMEM, "out of memory");
		for (tok = strtok_r(copy, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			arg(v, "%s", tok);
		free(copy);
		json_array_append_new(devices, json_sprintf("extra: %s", vm->extra));
	}
	if (v->overflow)
		return hb_err_set(e, HB_EINVAL, "QEMU command line too long (extra_args?)");
	if (cmdline && cmdlen) {
		size_t off = 0;
		cmdline[0] = '\0';
		for (int i = 0; i < v->n && off < cmdlen - 1; i++) {
			int w = snprintf(cmdline + off, cmdlen - off, "%s%s", i ? " " : "",
					 v->a[i]);
			if (w < 0)
				break;
			off += (size_t)w;
		}
	}
	return 0;
}

/* A path QEMU reads inside a "key=value,..." option: ',' splits it, ':' may name a protocol. */
static void check_opt_path(const char *where, const char *what, const char *path, int colon,
			   struct hb_diag *d)
{
	if (!path || !path[0])
		return;
	if (colon && strchr(path, ':'))
		hb_diag_error(d,
			      "%s%s \"%s\" contains ':', which QEMU may take for a protocol "
			      "prefix",
			      where, what, path);
}

static void check_file(const char *where, const char *what, const char *path, struct hb_diag *d)
{
	struct stat st;

	if (!path || !path[0])
		return;
	if (stat(path, &st))
		hb_diag_error(d, "%s%s %s: %s", where, what, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		hb_diag_error(d, "%s%s %s: not a regular file", where, what, path);
}

void hb_qemu_check(const struct hb_qemu_vm *vm, const char *where, struct hb_diag *d)
{
	int micro = hb_qemu_is_microvm(vm);

	check_file(where, "kernel", vm->kernel, d);
	check_file(where, "initrd", vm->initrd, d);
	check_file(where, "disk_image", vm->disk_image, d);
	check_file(where, "tools image", vm->tools_img, d);
	if (vm->disk_image[0] && (vm->kernel[0] || vm->initrd[0]))
		hb_diag_error(d, "%sgive either disk_image or kernel+initrd, not both", where);
	if (vm->disk_image[0] && micro)
		hb_diag_error(d, "%smachine microvm cannot boot disk_image (needs kernel)", where);
	if (vm->full && micro)
		hb_diag_error(d, "%sfull_featured needs a PCI machine (q35 or pc)", where);
	if (vm->initrd[0] && !vm->kernel[0])
		hb_diag_error(d, "%sinitrd given without kernel", where);
	if (!vm->disk_image[0] && !vm->kernel[0] && vm->memory_mib < HB_QEMU_MIN_MEMORY_MIB)
		hb_diag_error(d,
			      "%smemory %ld MiB is too small for the embedded guest: it needs at "
			      "least %d to boot and run disk, net and cpu",
			      where, vm->memory_mib, HB_QEMU_MIN_MEMORY_MIB);
	if (!strcmp(vm->disk_aio, "native") && strcmp(vm->disk_cache, "none") &&
	    strcmp(vm->disk_cache, "directsync"))
		hb_diag_error(d, "%sdisk_aio=native needs disk_cache none or directsync (O_DIRECT)",
			      where);
	check_opt_path(where, "disk_image", vm->disk_image, 1, d);
	check_opt_path(where, "scratch disk", vm->disk_path, 1, d);
	check_opt_path(where, "tools image", vm->tools_img, 1, d);
	check_opt_path(where, "console log", vm->console_path, 0, d);
	check_opt_path(where, "QMP socket", vm->qmp_path, 0, d);
	check_opt_path(where, "agent socket", vm->agent_path, 0, d);
}
