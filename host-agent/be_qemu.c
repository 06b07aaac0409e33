/*
 * be_qemu.c — the QEMU target: boots the hvbench guest (the embedded image from `make guest`,
 * or a user's kernel + initrd or disk image) in a QEMU it starts and controls, and runs
 * workloads through the guest agent on a virtio-serial port. Guest RAM comes from a named memfd
 * so the memory overhead can be split from guest RAM in /proc/PID/smaps; QMP (a UNIX socket in
 * the run's scratch directory) gives status, vCPU thread ids for the probes and a clean quit;
 * the scratch disk is a raw file created here and deleted at stop; the network is a tap device
 * in a private network namespace with the iperf3 server at its host end (user networking,
 * flagged as not representative, when the namespace cannot be made). accel "auto" tries KVM
 * only when the guest actually says hello under it within a short probe timeout, and falls back
 * to TCG with the reason recorded. QEMU runs in its own process group with a parent-death
 * signal, and every wait is bounded: no QEMU outlives hvbench.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iperf.h"
#include "netenv.h"
#include "proto.h"
#include "qmp.h"
#include "rrpeer.h"
#include "vmmem.h"

#define QEMU_MAX_ARGS 160
#define QEMU_HOST_IP "198.18.1.1"
#define QEMU_GUEST_CIDR "198.18.1.2/24"
#define QEMU_HOST_CIDR "198.18.1.1/24"
#define QEMU_USER_HOST_IP "10.0.2.2"
#define QEMU_USER_GUEST_CIDR "10.0.2.15/24"
#define QEMU_TAP "hbtap0"
#define QEMU_AGENT_PORT "org.hvbench.agent"
#define QEMU_IPERF_PORT 5201
#define QMP_TIMEOUT 5.0

static const char *const machines[] = { "q35", "microvm", "pc", NULL };
static const char *const accels[] = { "auto", "kvm", "tcg", NULL };
static const char *const buses[] = { "virtio-blk", "virtio-scsi", NULL };
static const char *const caches[] = { "none", "writeback", "writethrough", "directsync", "unsafe",
				      NULL };
static const char *const aios[] = { "threads", "native", "io_uring", NULL };
static const char *const nets[] = { "tap", "user", "none", NULL };

static const struct hb_param qemu_opts[] = {
	{ "machine", HB_P_ENUM, 0, 0, "q35", machines, "QEMU machine type" },
	{ "vcpus", HB_P_INT, 1, 64, "1", NULL, "virtual CPUs" },
	{ "memory", HB_P_INT, 64, 262144, "512", NULL,
	  "guest RAM in MiB (memfd-backed; the embedded guest needs at least 320)" },
	{ "accel", HB_P_ENUM, 0, 0, "auto", accels,
	  "auto: KVM when the guest says hello under it within kvm_probe_timeout, else TCG" },
	{ "disk_bus", HB_P_ENUM, 0, 0, "virtio-blk", buses, "scratch disk controller" },
	{ "disk_cache", HB_P_ENUM, 0, 0, "none", caches, "QEMU cache mode of the scratch disk" },
	{ "disk_aio", HB_P_ENUM, 0, 0, "threads", aios, "QEMU aio engine of the scratch disk" },
	{ "disk_size", HB_P_SIZE, 16 << 20, 1ULL << 40, "512M", NULL,
	  "size of the raw scratch disk (sparse file in the run's scratch directory)" },
	{ "net", HB_P_ENUM, 0, 0, "tap", nets,
	  "tap: tap device in a private netns (user networking if that fails); user: slirp" },
	{ "kernel", HB_P_STRING, 0, 4096, "", NULL, "guest kernel (default: make guest's)" },
	{ "initrd", HB_P_STRING, 0, 4096, "", NULL, "guest initramfs (with kernel)" },
	{ "disk_image", HB_P_STRING, 0, 4096, "", NULL,
	  "boot disk with hvbench-guest installed (opened with snapshot=on, never modified)" },
	{ "append", HB_P_STRING, 0, 2048, "", NULL, "extra kernel command line" },
	{ "extra_args", HB_P_STRING, 0, 4096, "", NULL,
	  "extra QEMU arguments split on blanks (e.g. \"-device virtio-rng-pci\"); host-side "
	  "trust: the profile author runs them" },
	{ "boot_timeout", HB_P_INT, 5, 3600, "120", NULL,
	  "seconds from QEMU exec to the agent's hello" },
	{ "kvm_probe_timeout", HB_P_INT, 2, 3600, "15", NULL,
	  "accel auto: seconds KVM gets to reach the agent's hello before falling back to TCG" },
	{ "qemu", HB_P_STRING, 0, 4096, "qemu-system-x86_64", NULL, "QEMU binary" },
	{ "full_featured", HB_P_BOOL, 0, 0, "false", NULL,
	  "add the devices a typical VM carries: VGA, USB (xHCI + tablet), virtio-balloon, "
	  "virtio-rng (PCI machines only)" },
};

struct qemu {
	const struct hb_env *env;
	char name[64];
	/* options */
	const char *machine, *accel, *disk_bus, *disk_cache, *disk_aio, *net, *append, *extra;
	const char *qemu_bin;
	char kernel[PATH_MAX], initrd[PATH_MAX], disk_image[PATH_MAX];
	long vcpus, memory_mib, boot_timeout, kvm_probe_timeout;
	int full;
	unsigned long long disk_size;
	/* files */
	char dir[PATH_MAX], qmp_path[108], agent_path[108], disk_path[PATH_MAX];
	char console_path[PATH_MAX], log_path[PATH_MAX];
	int disk_made, dir_made;
	/* network */
	char netns[64];
	int netns_made;
	struct hb_iperf_server iperf;
	struct hb_rrpeer rr; /* netrr's echo server, next to the iperf3 server */
	const char *net_mode; /* "tap" | "user" | "none" */
	char server_addr[64];
	int server_port;
	/* the running VM */
	pid_t pid;
	int exited, wstatus;
	double t_exec;
	struct hb_qmp *qmp;
	int agent_fd;
	struct hb_conn conn;
	int conn_ok;
	int next_id;
	int ntids;
	pid_t tids[64];
	int dead;
	int stopped;
	char cmdline[8192];
};

/* ---- small helpers ---- */

static void vlog(struct qemu *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(struct qemu *q, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!q->env || !q->env->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q->env->log(q->env->log_arg, "%s: %s", q->name, msg);
}

static int in_path(const char *bin)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(bin, '/'))
		return access(bin, X_OK) == 0;
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n && n < sizeof(buf) - 2 - strlen(bin) &&
		    hb_snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, bin) == 0 &&
		    access(buf, X_OK) == 0)
			return 1;
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

static void describe_status(int st, char *buf, size_t len)
{
	if (WIFSIGNALED(st))
		hb_snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else if (WIFEXITED(st))
		hb_snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else
		hb_snprintf(buf, len, "ended (status 0x%x)", st);
}

/* Non-blocking: 1 when QEMU has exited (and was reaped). */
static int qemu_gone(struct qemu *q)
{
	if (q->pid <= 0 || q->exited)
		return 1;
	pid_t r = waitpid(q->pid, &q->wstatus, WNOHANG);
	if (r == q->pid || (r < 0 && errno == ECHILD)) {
		q->exited = 1;
		return 1;
	}
	return 0;
}

static int wait_gone(struct qemu *q, double secs)
{
	double end = hb_now() + secs;

	while (!qemu_gone(q)) {
		if (hb_now() >= end)
			return 0;
		hb_sleep(0.02, NULL);
	}
	return 1;
}

/* The last line(s) of QEMU's stderr log, for error messages. */
static void log_tail(struct qemu *q, char *buf, size_t len)
{
	char *text = NULL, *p, *start;
	size_t n = 0;
	struct hb_err e = { 0 };

	buf[0] = '\0';
	if (hb_read_file(q->log_path, 1 << 20, &text, &n, &e))
		return;
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	start = text;
	/* last two lines at most */
	p = strrchr(text, '\n');
	if (p) {
		*p = ' ';
		char *q2 = strrchr(text, '\n');
		*p = '\n';
		start = q2 ? q2 + 1 : text;
	}
	for (p = start; *p; p++)
		if (*p == '\n')
			*p = ' ';
	hb_strlcpy(buf, start, len);
	free(text);
}

static int opt_path(const json_t *o, const char *name, char *dst, size_t len, struct hb_err *e)
{
	const char *v = hb_param_str(o, name);
	struct stat st;

	dst[0] = '\0';
	if (!v || !v[0])
		return 0;
	if (stat(v, &st))
		return hb_err_errno(e, HB_EINVAL, "%s %s", name, v);
	if (!S_ISREG(st.st_mode))
		return hb_err_set(e, HB_EINVAL, "%s %s: not a regular file", name, v);
	if (hb_strlcpy(dst, v, len))
		return hb_err_set(e, HB_EINVAL, "%s: path too long", name);
	return 0;
}

/* A free TCP port on 127.0.0.1 (for the user-networking iperf server). */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
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
		if (!strncmp(line, "cpu MHz", 7) && sscanf(strchr(line, ':') ? strchr(line, ':') + 1 : "",
							 "%lf", &mhz) == 1 && mhz > 100 && mhz < 100000) {
			khz = (long)(mhz * 1000.0);
			break;
		}
	}
	fclose(f);
	return khz;
}

/* ---- command line ---- */

struct argv {
	char *a[QEMU_MAX_ARGS + 1];
	int n;
	int overflow;
};

static void arg(struct argv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv *v, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (v->n >= QEMU_MAX_ARGS) {
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

static void argv_free(struct argv *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->a[i]);
	v->n = 0;
}

static int is_microvm(const struct qemu *q)
{
	return !strcmp(q->machine, "microvm");
}

/* Device name for the bus: virtio-X-device on microvm (virtio-mmio), virtio-X-pci elsewhere. */
static const char *dev(const struct qemu *q, const char *base, char *buf, size_t len)
{
	hb_snprintf(buf, len, "%s-%s", base, is_microvm(q) ? "device" : "pci");
	return buf;
}

static int build_argv(struct qemu *q, const char *accel, const char *cpu, struct argv *v,
		      json_t *devices, struct hb_err *e)
{
	char d[64];
	const char *disk_dev = "/dev/vda";

	arg(v, "%s", q->qemu_bin);
	arg(v, "-name");
	arg(v, "hvbench-%s", q->name);
	arg(v, "-nodefaults");
	arg(v, "-no-user-config");
	arg(v, "-display");
	arg(v, "none");
	arg(v, "-no-reboot");
	arg(v, "-machine");
	arg(v, "%s,memory-backend=hbram", q->machine);
	arg(v, "-accel");
	arg(v, "%s", accel);
	arg(v, "-cpu");
	arg(v, "%s", cpu);
	arg(v, "-smp");
	arg(v, "%ld", q->vcpus);
	arg(v, "-m");
	arg(v, "%ld", q->memory_mib);
	arg(v, "-object");
	arg(v, "memory-backend-memfd,id=hbram,size=%ldM,share=on", q->memory_mib);
	/* QMP and the agent channel */
	arg(v, "-qmp");
	arg(v, "unix:%s,server=on,wait=off", q->qmp_path);
	arg(v, "-chardev");
	arg(v, "socket,id=hbagent,path=%s,server=on,wait=off", q->agent_path);
	arg(v, "-device");
	arg(v, "%s", dev(q, "virtio-serial", d, sizeof(d)));
	arg(v, "-device");
	arg(v, "virtserialport,chardev=hbagent,name=%s", QEMU_AGENT_PORT);
	json_array_append_new(devices, json_sprintf("%s + virtserialport %s (agent)", d,
						    QEMU_AGENT_PORT));
	/* serial console to the results directory (appended: a KVM probe's log is kept) */
	arg(v, "-chardev");
	arg(v, "file,id=hbcon,path=%s,append=on", q->console_path);
	arg(v, "-serial");
	arg(v, "chardev:hbcon");
	json_array_append_new(devices, json_string("serial console (log file)"));
	/* boot */
	if (q->disk_image[0]) {
		const char *dot = strrchr(q->disk_image, '.');
		arg(v, "-drive");
		arg(v, "file=%s,if=none,id=hbboot,format=%s,snapshot=on", q->disk_image,
		    dot && !strcmp(dot, ".qcow2") ? "qcow2" : "raw");
		arg(v, "-device");
		arg(v, "%s,drive=hbboot,bootindex=0", dev(q, "virtio-blk", d, sizeof(d)));
		json_array_append_new(devices, json_sprintf("%s (boot image, snapshot=on)", d));
		disk_dev = "/dev/vdb";
	} else {
		arg(v, "-kernel");
		arg(v, "%s", q->kernel);
		if (q->initrd[0]) {
			arg(v, "-initrd");
			arg(v, "%s", q->initrd);
		}
	}
	/* scratch disk */
	arg(v, "-drive");
	arg(v, "file=%s,if=none,id=hbdisk,format=raw,cache=%s,aio=%s", q->disk_path, q->disk_cache,
	    q->disk_aio);
	if (!strcmp(q->disk_bus, "virtio-scsi")) {
		arg(v, "-device");
		arg(v, "%s,id=hbscsi", dev(q, "virtio-scsi", d, sizeof(d)));
		arg(v, "-device");
		arg(v, "scsi-hd,drive=hbdisk,bus=hbscsi.0,serial=hbscratch");
		disk_dev = q->disk_image[0] ? "/dev/sdb" : "/dev/sda";
		json_array_append_new(devices,
				      json_sprintf("%s + scsi-hd (scratch %llu MiB raw, cache=%s, aio=%s)",
						   d, q->disk_size >> 20, q->disk_cache, q->disk_aio));
	} else {
		arg(v, "-device");
		arg(v, "%s,drive=hbdisk,serial=hbscratch", dev(q, "virtio-blk", d, sizeof(d)));
		json_array_append_new(devices,
				      json_sprintf("%s (scratch %llu MiB raw, cache=%s, aio=%s)", d,
						   q->disk_size >> 20, q->disk_cache, q->disk_aio));
	}
	/* network */
	const char *ipcidr = NULL;
	if (!strcmp(q->net_mode, "tap")) {
		arg(v, "-netdev");
		arg(v, "tap,id=hbnet,ifname=%s,script=no,downscript=no", QEMU_TAP);
		ipcidr = QEMU_GUEST_CIDR;
	} else if (!strcmp(q->net_mode, "user")) {
		arg(v, "-netdev");
		arg(v, "user,id=hbnet");
		ipcidr = QEMU_USER_GUEST_CIDR;
	}
	if (ipcidr) {
		arg(v, "-device");
		arg(v, "%s,netdev=hbnet", dev(q, "virtio-net", d, sizeof(d)));
		json_array_append_new(devices, json_sprintf("%s (%s)", d,
							    !strcmp(q->net_mode, "tap")
								    ? "tap in a private netns"
								    : "user networking (slirp)"));
	}
	if (!q->disk_image[0]) {
		char tsc[48] = "";
		long khz = strcmp(accel, "tcg") ? 0 : host_tsc_khz();
		if (khz)
			/* tsc=reliable: no watchdog check against jiffies, which lag on a loaded
			 * host and would demote the TSC to refined-jiffies (4 ms clock steps) */
			hb_snprintf(tsc, sizeof(tsc), " tsc_early_khz=%ld tsc=reliable", khz);
		arg(v, "-append");
		arg(v, "console=ttyS0 panic=-1 quiet%s%s%s hvbench.disk=%s hvbench.port=%s%s%s",
		    tsc, ipcidr ? " hvbench.ip=" : "", ipcidr ? ipcidr : "", disk_dev,
		    QEMU_AGENT_PORT, q->append[0] ? " " : "", q->append);
	}
	if (q->full) {
		static const char *const full_devs[] = { "VGA", "qemu-xhci,id=hbxhci",
							 "usb-tablet,bus=hbxhci.0",
							 "virtio-balloon-pci", "virtio-rng-pci" };
		for (size_t i = 0; i < HB_ARRAY_SIZE(full_devs); i++) {
			arg(v, "-device");
			arg(v, "%s", full_devs[i]);
			json_array_append_new(devices, json_string(full_devs[i]));
		}
	}
	/* extra arguments: split on blanks, no shell */
	if (q->extra[0]) {
		char *copy = strdup(q->extra), *save = NULL, *tok;
		if (!copy)
			return hb_err_set(e, HB_ENOMEM, "out of memory");
		for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			arg(v, "%s", tok);
		free(copy);
		json_array_append_new(devices, json_sprintf("extra: %s", q->extra));
	}
	if (v->overflow)
		return hb_err_set(e, HB_EINVAL, "QEMU command line too long (extra_args?)");
	/* the recorded command line */
	size_t off = 0;
	q->cmdline[0] = '\0';
	for (int i = 0; i < v->n && off < sizeof(q->cmdline) - 1; i++) {
		int w = snprintf(q->cmdline + off, sizeof(q->cmdline) - off, "%s%s", i ? " " : "",
				 v->a[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return 0;
}

/* ---- launching and talking ---- */

static int spawn(struct qemu *q, struct argv *v, struct hb_err *e)
{
	pid_t parent = getpid();
	int logfd, nullfd;

	logfd = open(q->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return hb_err_errno(e, HB_EIO, "cannot create %s", q->log_path);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0) {
		close(logfd);
		return hb_err_errno(e, HB_EIO, "/dev/null");
	}
	q->exited = 0;
	q->wstatus = 0;
	q->t_exec = hb_now();
	q->pid = fork();
	if (q->pid < 0) {
		close(logfd);
		close(nullfd);
		q->pid = 0;
		return hb_err_errno(e, HB_EIO, "fork");
	}
	if (q->pid == 0) {
		struct hb_err ce = { 0 };
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (q->netns_made && hb_netns_enter(q->netns, &ce)) {
			dprintf(2, "hvbench: cannot enter netns %s: %s\n", q->netns, ce.msg);
			_exit(126);
		}
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close_range(3, ~0U, 0);
		execvp(v->a[0], v->a);
		dprintf(2, "hvbench: exec %s: %s\n", v->a[0], strerror(errno));
		_exit(127);
	}
	setpgid(q->pid, q->pid);
	close(logfd);
	close(nullfd);
	return 0;
}

/* SIGTERM, then SIGKILL the process group after grace seconds; reaps. */
static void kill_qemu(struct qemu *q, double grace)
{
	if (q->pid <= 0)
		return;
	if (qemu_gone(q))
		return;
	kill(-q->pid, SIGTERM);
	if (!wait_gone(q, grace)) {
		kill(-q->pid, SIGKILL);
		if (!wait_gone(q, 10))
			vlog(q, "QEMU pid %d could not be reaped", (int)q->pid);
	}
}

static void close_channels(struct qemu *q)
{
	if (q->qmp) {
		hb_qmp_close(q->qmp);
		q->qmp = NULL;
	}
	if (q->conn_ok) {
		hb_conn_free(&q->conn);
		close(q->agent_fd);
		q->agent_fd = -1;
		q->conn_ok = 0;
	}
}

/* Error text for a QEMU that went away: "QEMU exited (killed by signal 9)" + its last words. */
static void gone_msg(struct qemu *q, char *buf, size_t len)
{
	char st[64], tail[400];

	describe_status(q->wstatus, st, sizeof(st));
	log_tail(q, tail, sizeof(tail));
	hb_snprintf(buf, len, "QEMU exited (%s)%s%s", st, tail[0] ? ": " : "", tail);
}

static int connect_agent(struct qemu *q, double deadline, struct hb_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	hb_strlcpy(sa.sun_path, q->agent_path, sizeof(sa.sun_path));
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return hb_err_errno(e, HB_EIO, "socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			q->agent_fd = fd;
			hb_conn_init(&q->conn, fd, fd);
			q->conn_ok = 1;
			return 0;
		}
		close(fd);
		if (qemu_gone(q)) {
			char m[600];
			gone_msg(q, m, sizeof(m));
			return hb_err_set(e, HB_ECHILD, "%s before the agent socket opened", m);
		}
		if (hb_now() >= deadline)
			return hb_err_set(e, HB_ETIMEDOUT, "agent socket %s did not open",
					  q->agent_path);
		hb_sleep(0.02, NULL);
	}
}

/*
 * Sends hello and waits for the agent's, in short slices so a dying QEMU or a stop signal is
 * noticed at once. Distinguishes: QEMU exited (HB_ECHILD), no hello in time (HB_ETIMEDOUT).
 */
static int agent_hello(struct qemu *q, double deadline, json_t **hello, struct hb_err *e)
{
	json_t *req = json_pack("{s:s, s:i}", "op", "hello", "proto", HB_PROTO_VERSION), *m = NULL;
	int rc;

	*hello = NULL;
	rc = hb_conn_send(&q->conn, req, e);
	json_decref(req);
	if (rc)
		return rc;
	for (;;) {
		struct hb_err le = { 0 };
		double left = deadline - hb_now();
		if (q->env->stop && *q->env->stop)
			return hb_err_set(e, HB_EINTR, "interrupted while waiting for the guest");
		if (left <= 0)
			return hb_err_set(e, HB_ETIMEDOUT, "guest did not say hello");
		rc = hb_conn_recv(&q->conn, left < 0.25 ? left : 0.25, &m, &le);
		if (rc == HB_ETIMEDOUT) {
			json_decref(m);
			m = NULL;
			if (qemu_gone(q)) {
				char g[600];
				gone_msg(q, g, sizeof(g));
				return hb_err_set(e, HB_ECHILD, "%s before the agent said hello", g);
			}
			continue;
		}
		if (rc == HB_EIO) {
			json_decref(m);
			wait_gone(q, 2);
			if (qemu_gone(q)) {
				char g[600];
				gone_msg(q, g, sizeof(g));
				return hb_err_set(e, HB_ECHILD, "%s before the agent said hello", g);
			}
			return hb_err_set(e, HB_EIO, "agent channel closed before hello: %s", le.msg);
		}
		if (rc) {
			json_decref(m);
			return hb_err_set(e, rc, "agent hello: %s", le.msg);
		}
		const char *op = json_string_value(json_object_get(m, "op"));
		if (!strcmp(op, "hello")) {
			json_t *p = json_object_get(m, "proto");
			if (!json_is_integer(p) || json_integer_value(p) != HB_PROTO_VERSION) {
				rc = hb_err_set(e, HB_EPROTO, "agent speaks protocol %lld, host speaks %d",
						json_is_integer(p) ? (long long)json_integer_value(p) : -1LL,
						HB_PROTO_VERSION);
				json_decref(m);
				return rc;
			}
			*hello = m;
			return 0;
		}
		if (!strcmp(op, "error")) {
			const char *msg = json_string_value(json_object_get(m, "message"));
			rc = hb_err_set(e, HB_EPROTO, "agent refused hello: %s", msg ? msg : "?");
			json_decref(m);
			return rc;
		}
		json_decref(m);
		m = NULL;
	}
}

/* One boot attempt: launch, QMP, agent hello. On failure QEMU is killed and reaped. */
static int boot(struct qemu *q, const char *accel, const char *cpu, double timeout, json_t *info,
		json_t **hello, struct hb_err *e)
{
	struct argv v = { .n = 0 };
	json_t *devices = json_array();
	double deadline;
	int rc;

	unlink(q->qmp_path);
	unlink(q->agent_path);
	rc = build_argv(q, accel, cpu, &v, devices, e);
	if (rc)
		goto out;
	json_object_set(info, "devices", devices);
	json_object_set_new(info, "qemu_cmdline", json_string(q->cmdline));
	rc = spawn(q, &v, e);
	if (rc)
		goto out;
	deadline = q->t_exec + timeout;
	/* QMP: the socket appears within a second of exec unless QEMU fails its options */
	for (;;) {
		struct hb_err qe = { 0 };
		if (access(q->qmp_path, F_OK) == 0 &&
		    hb_qmp_connect(q->qmp_path, 5.0, &q->qmp, &qe) == 0)
			break;
		if (qemu_gone(q)) {
			char g[600];
			gone_msg(q, g, sizeof(g));
			rc = hb_err_set(e, HB_ECHILD, "%s", g);
			goto out;
		}
		if (hb_now() > q->t_exec + 15.0) {
			rc = hb_err_set(e, HB_ETIMEDOUT, "QMP socket did not come up within 15 s%s%s",
					qe.msg[0] ? ": " : "", qe.msg);
			goto out;
		}
		hb_sleep(0.02, NULL);
	}
	rc = connect_agent(q, deadline, e);
	if (rc)
		goto out;
	rc = agent_hello(q, deadline, hello, e);
	if (rc == HB_ETIMEDOUT) {
		hb_err_clear(e);
		rc = hb_err_set(e, HB_ETIMEDOUT, "guest did not say hello within %.0f s", timeout);
	}
out:
	if (rc) {
		close_channels(q);
		kill_qemu(q, 2.0);
	}
	json_decref(devices);
	argv_free(&v);
	return rc;
}

static int kvm_usable(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		hb_snprintf(why, len, "/dev/kvm: %s", strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

/* Boots with KVM (-cpu host, or host without arch-capabilities when the MSR is refused). */
static int boot_kvm(struct qemu *q, double timeout, json_t *info, json_t **hello, char *note,
		    size_t nlen, struct hb_err *e)
{
	int rc = boot(q, "kvm", "host", timeout, info, hello, e);

	note[0] = '\0';
	if (rc == HB_ECHILD && strstr(e->msg, "MSR")) {
		/* nested/paravirt KVM refusing IA32_ARCH_CAPABILITIES (MSR 0x10a) */
		hb_snprintf(note, nlen, "-cpu host failed (%s); used host,-arch-capabilities",
			    e->msg);
		hb_err_clear(e);
		rc = boot(q, "kvm", "host,-arch-capabilities", timeout, info, hello, e);
	}
	return rc;
}

/* ---- ops ---- */

static int qemu_supported(char *why, size_t len)
{
	if (!in_path("qemu-system-x86_64")) {
		hb_snprintf(why, len, "qemu-system-x86_64 not found in PATH");
		return HB_EUNSUPP;
	}
	return 0;
}

static int setup_network(struct qemu *q, json_t *info, struct hb_err *e)
{
	struct hb_err ne = { 0 };
	char nsname[64];
	size_t i, n;

	q->net_mode = q->net;
	if (!strcmp(q->net, "none"))
		return 0;
	if (!strcmp(q->net, "tap")) {
		hb_netns_cleanup_stale(); /* namespaces of an hvbench that was SIGKILLed */
		hb_snprintf(nsname, sizeof(nsname), "hb-%d-%s", (int)getpid(), q->name);
		n = strlen(nsname);
		for (i = 0; i < n; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
				    nsname[i]))
				nsname[i] = '_';
		hb_strlcpy(q->netns, nsname, sizeof(q->netns));
		if (hb_netns_create(q->netns, &ne) == 0) {
			q->netns_made = 1;
			if (hb_netns_add_tap(q->netns, QEMU_TAP, QEMU_HOST_CIDR, &ne) == 0 &&
			    hb_iperf_server_start(&q->iperf, q->netns, QEMU_HOST_IP, QEMU_IPERF_PORT,
						  &ne) == 0) {
				hb_strlcpy(q->server_addr, QEMU_HOST_IP, sizeof(q->server_addr));
				q->server_port = QEMU_IPERF_PORT;
				json_object_set_new(info, "netns", json_string(q->netns));
				if (hb_rrpeer_start(&q->rr, q->netns, QEMU_HOST_IP, 0, &ne))
					json_object_set_new(info, "rr_error", json_string(ne.msg));
				return 0;
			}
			hb_iperf_server_stop(&q->iperf);
			hb_netns_destroy(q->netns);
			q->netns_made = 0;
		}
		json_object_set_new(info, "net_fallback",
				    json_sprintf("tap in a private netns impossible (%s); user "
						 "networking used: network figures are not "
						 "representative",
						 ne.msg));
		vlog(q, "tap networking impossible (%s); using user networking (not representative)",
		     ne.msg);
		q->net_mode = "user";
		hb_err_clear(&ne);
	}
	/* user networking: the guest reaches the host's 127.0.0.1 as 10.0.2.2 */
	q->server_port = free_port();
	if (!q->server_port)
		return hb_err_set(e, HB_EIO, "no free TCP port for the iperf3 server");
	if (hb_iperf_server_start(&q->iperf, NULL, "127.0.0.1", q->server_port, &ne)) {
		json_object_set_new(info, "net_error", json_string(ne.msg));
		q->server_port = 0;
		return 0; /* net workloads will fail with a clear error; others still run */
	}
	hb_strlcpy(q->server_addr, QEMU_USER_HOST_IP, sizeof(q->server_addr));
	if (hb_rrpeer_start(&q->rr, NULL, "127.0.0.1", 0, &ne))
		json_object_set_new(info, "rr_error", json_string(ne.msg));
	return 0;
}

/* Writes size bytes of a non-repeating pattern (xorshift) and syncs: -1 with errno on failure. */
static int fill_disk(int fd, unsigned long long size)
{
	enum { CHUNK = 1 << 20 };
	uint64_t *buf = malloc(CHUNK), x = 0x9e3779b97f4a7c15ULL;
	unsigned long long off = 0;
	size_t i;

	if (!buf)
		return -1;
	while (off < size) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		for (i = 0; i < CHUNK / sizeof(*buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		ssize_t w = pwrite(fd, buf, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			free(buf);
			return -1;
		}
		off += (unsigned long long)w;
	}
	free(buf);
	return fdatasync(fd);
}

static int make_files(struct qemu *q, struct hb_err *e)
{
	const struct hb_env *env = q->env;
	const char *out = env->out_dir ? env->out_dir : env->scratch_dir;
	int fd, rc;

	if (hb_snprintf(q->dir, sizeof(q->dir), "%s/qemu-%s", env->scratch_dir, q->name))
		return hb_err_set(e, HB_EINVAL, "scratch path too long");
	rc = hb_mkdirs(q->dir, 0700, e);
	if (rc)
		return rc;
	q->dir_made = 1;
	if (hb_snprintf(q->qmp_path, sizeof(q->qmp_path), "%s/qmp.sock", q->dir) ||
	    hb_snprintf(q->agent_path, sizeof(q->agent_path), "%s/agent.sock", q->dir))
		return hb_err_set(e, HB_EINVAL,
				  "scratch directory %s too long for a UNIX socket path", q->dir);
	hb_snprintf(q->disk_path, sizeof(q->disk_path), "%s/disk.raw", q->dir);
	hb_snprintf(q->log_path, sizeof(q->log_path), "%s/qemu-stderr.log", q->dir);
	if (hb_snprintf(q->console_path, sizeof(q->console_path), "%s/%s-console.log", out, q->name))
		return hb_err_set(e, HB_EINVAL, "console log path too long");
	unlink(q->console_path);
	fd = open(q->disk_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return hb_err_errno(e, HB_EIO, "cannot create scratch disk %s", q->disk_path);
	q->disk_made = 1;
	if (ftruncate(fd, (off_t)q->disk_size)) {
		rc = hb_err_errno(e, HB_EIO, "cannot size scratch disk %s", q->disk_path);
		close(fd);
		return rc;
	}
	/* Written, not sparse: reads of holes never reach the host disk, so a sparse scratch
	 * disk would make guest reads look faster than native ones (fio lays out its native
	 * file with real data before reading it). */
	rc = fill_disk(fd, q->disk_size);
	if (rc) {
		rc = hb_err_errno(e, HB_EIO, "cannot fill scratch disk %s", q->disk_path);
		close(fd);
		return rc;
	}
	close(fd);
	/* cache=none/directsync need O_DIRECT, which e.g. tmpfs refuses */
	if (!strcmp(q->disk_cache, "none") || !strcmp(q->disk_cache, "directsync")) {
		fd = open(q->disk_path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (fd < 0)
			return hb_err_errno(e, HB_EINVAL,
					    "disk_cache=%s needs O_DIRECT on the scratch directory",
					    q->disk_cache);
		close(fd);
	}
	return 0;
}

static int qemu_start(void *priv, const struct hb_target *t, const struct hb_env *env, json_t *info,
		      struct hb_err *e)
{
	struct qemu *q = priv;
	const json_t *o = t->opts;
	json_t *hello = NULL, *ret = NULL;
	char why[256] = "", note[700] = "", reason[1200] = "";
	const char *accel_used = NULL;
	double avail_before = -1, avail_after;
	int rc;

	memset(q, 0, sizeof(*q));
	q->agent_fd = -1;
	q->env = env;
	hb_strlcpy(q->name, t->name, sizeof(q->name));
	q->machine = hb_param_str(o, "machine");
	q->accel = hb_param_str(o, "accel");
	q->disk_bus = hb_param_str(o, "disk_bus");
	q->disk_cache = hb_param_str(o, "disk_cache");
	q->disk_aio = hb_param_str(o, "disk_aio");
	q->net = hb_param_str(o, "net");
	q->append = hb_param_str(o, "append");
	q->extra = hb_param_str(o, "extra_args");
	q->qemu_bin = hb_param_str(o, "qemu");
	q->vcpus = (long)hb_param_int(o, "vcpus");
	q->memory_mib = (long)hb_param_int(o, "memory");
	q->boot_timeout = (long)hb_param_int(o, "boot_timeout");
	q->kvm_probe_timeout = (long)hb_param_int(o, "kvm_probe_timeout");
	q->disk_size = (unsigned long long)hb_param_int(o, "disk_size");
	q->full = hb_param_bool(o, "full_featured");
	q->next_id = 1;
	if (!q->append)
		q->append = "";
	if (!q->extra)
		q->extra = "";
	if (!q->qemu_bin || !q->qemu_bin[0])
		q->qemu_bin = "qemu-system-x86_64";

	/* the guest: a disk image, a user's kernel (+initrd), or make guest's image */
	if ((rc = opt_path(o, "kernel", q->kernel, sizeof(q->kernel), e)) ||
	    (rc = opt_path(o, "initrd", q->initrd, sizeof(q->initrd), e)) ||
	    (rc = opt_path(o, "disk_image", q->disk_image, sizeof(q->disk_image), e)))
		return rc;
	if (q->disk_image[0] && (q->kernel[0] || q->initrd[0]))
		return hb_err_set(e, HB_EINVAL, "give either disk_image or kernel+initrd, not both");
	if (q->disk_image[0] && is_microvm(q))
		return hb_err_set(e, HB_EINVAL, "machine microvm cannot boot disk_image (needs kernel)");
	if (q->full && is_microvm(q))
		return hb_err_set(e, HB_EINVAL, "full_featured needs a PCI machine (q35 or pc)");
	if (q->initrd[0] && !q->kernel[0])
		return hb_err_set(e, HB_EINVAL, "initrd given without kernel");
	if (!q->disk_image[0] && !q->kernel[0]) {
		const char *b = env->build_dir ? env->build_dir : "build";
		hb_snprintf(q->kernel, sizeof(q->kernel), "%s/guest/vmlinuz", b);
		hb_snprintf(q->initrd, sizeof(q->initrd), "%s/guest/initrd.img", b);
		if (access(q->kernel, R_OK) || access(q->initrd, R_OK))
			return hb_err_set(e, HB_EUNSUPP,
					  "guest image %s/guest/{vmlinuz,initrd.img} not built (run: "
					  "make guest)",
					  b);
		/* the initramfs (fio's libraries) unpacks to ~90 MiB into a tmpfs capped at half
		 * of RAM: below this the unpacking fails with "write error" */
		if (q->memory_mib < 320)
			return hb_err_set(e, HB_EINVAL,
					  "memory %ld MiB is too small for the embedded guest (its "
					  "initramfs unpacks to ~90 MiB); use at least 320",
					  q->memory_mib);
	}
	if (!strcmp(q->disk_aio, "native") && strcmp(q->disk_cache, "none") &&
	    strcmp(q->disk_cache, "directsync"))
		return hb_err_set(e, HB_EINVAL,
				  "disk_aio=native needs disk_cache none or directsync (O_DIRECT)");
	if (!in_path(q->qemu_bin))
		return hb_err_set(e, HB_EUNSUPP, "QEMU binary %s not found", q->qemu_bin);

	rc = make_files(q, e);
	if (rc)
		return rc;
	rc = setup_network(q, info, e);
	if (rc)
		return rc;

	/* boot: KVM first when asked or when auto and /dev/kvm opens, TCG otherwise */
	int try_kvm = !strcmp(q->accel, "kvm") || (!strcmp(q->accel, "auto") && kvm_usable(why, sizeof(why)));
	if (!strcmp(q->accel, "auto") && !try_kvm)
		hb_snprintf(reason, sizeof(reason), "kvm unusable (%s); used tcg", why);
	/* one failed KVM boot of this guest is enough per run: later targets go straight to TCG */
	char memo_key[PATH_MAX + 32];
	hb_snprintf(memo_key, sizeof(memo_key), "qemu.kvm_failed:%s", q->disk_image[0] ? q->disk_image : q->kernel);
	const char *memo = env->memo ? json_string_value(json_object_get(env->memo, memo_key)) : NULL;
	if (try_kvm && !strcmp(q->accel, "auto") && memo) {
		try_kvm = 0;
		hb_snprintf(reason, sizeof(reason), "%s (found by an earlier target of this run)", memo);
		vlog(q, "KVM could not boot this guest earlier in this run: booting under TCG");
	}
	if (try_kvm) {
		double to = !strcmp(q->accel, "kvm") ? (double)q->boot_timeout
						      : (double)q->kvm_probe_timeout;
		avail_before = hb_meminfo("MemAvailable") / 1048576.0;
		vlog(q, "booting under KVM (%.0f s to say hello)", to);
		rc = boot_kvm(q, to, info, &hello, note, sizeof(note), e);
		if (rc == 0) {
			accel_used = "kvm";
			hb_snprintf(reason, sizeof(reason), "%s%s%s",
				    !strcmp(q->accel, "kvm") ? "kvm requested" : "kvm: guest said hello",
				    note[0] ? "; " : "", note);
		} else if (!strcmp(q->accel, "auto") && rc != HB_EINTR) {
			hb_snprintf(reason, sizeof(reason), "kvm: %s%s%s; fell back to tcg", e->msg,
				    note[0] ? " (after " : "", note[0] ? "-cpu host was refused: MSR)" : "");
			vlog(q, "%s", reason);
			if (env->memo)
				json_object_set_new(env->memo, memo_key, json_string(reason));
			hb_err_clear(e);
			rc = 0;
		} else {
			hb_err_prefix(e, "accel=kvm");
			return rc;
		}
	}
	if (!accel_used) {
		if (!strcmp(q->accel, "tcg"))
			hb_strlcpy(reason, "tcg requested", sizeof(reason));
		avail_before = hb_meminfo("MemAvailable") / 1048576.0;
		vlog(q, "booting under TCG (emulation)");
		rc = boot(q, "tcg", "max", (double)q->boot_timeout, info, &hello, e);
		if (rc) {
			hb_err_prefix(e, "accel=tcg");
			return rc;
		}
		accel_used = "tcg";
	}
	double ttr = hb_now() - q->t_exec;
	avail_after = hb_meminfo("MemAvailable") / 1048576.0;

	/* facts for results.json */
	json_t *facts = json_object_get(hello, "facts");
	json_object_set_new(info, "accel", json_string(accel_used));
	json_object_set_new(info, "accel_reason", json_string(reason));
	json_object_set_new(info, "emulation", json_boolean(!strcmp(accel_used, "tcg")));
	json_object_set_new(info, "machine", json_string(q->machine));
	json_object_set_new(info, "vcpus", json_integer(q->vcpus));
	json_object_set_new(info, "memory_mib", json_integer(q->memory_mib));
	json_object_set_new(info, "net_mode", json_string(q->net_mode));
	if (!strcmp(q->net_mode, "user"))
		json_object_set_new(info, "net_representative", json_false());
	json_object_set_new(info, "console_log", json_string(q->console_path));
	json_object_set_new(info, "time_to_ready_s", json_real(ttr));
	json_t *kb = json_object_get(facts, "kernel_boot_s");
	if (json_is_number(kb))
		json_object_set_new(info, "guest_kernel_boot_s", json_real(json_number_value(kb)));
	if (facts)
		json_object_set(info, "guest", facts);
	json_object_set_new(info, "guest_kernel", json_string(q->kernel[0] ? q->kernel : ""));
	if (hb_qmp_cmd(q->qmp, "query-version", NULL, QMP_TIMEOUT, &ret, e) == 0) {
		json_t *qv = json_object_get(ret, "qemu");
		json_object_set_new(info, "qemu_version",
				    json_sprintf("%lld.%lld.%lld",
						 (long long)json_integer_value(json_object_get(qv, "major")),
						 (long long)json_integer_value(json_object_get(qv, "minor")),
						 (long long)json_integer_value(json_object_get(qv, "micro"))));
		json_decref(ret);
		ret = NULL;
	}
	hb_err_clear(e);
	if (hb_qmp_cmd(q->qmp, "query-cpus-fast", NULL, QMP_TIMEOUT, &ret, e) == 0) {
		size_t i;
		json_t *c;
		json_array_foreach(ret, i, c) {
			json_t *tid = json_object_get(c, "thread-id");
			if (json_is_integer(tid) && q->ntids < (int)HB_ARRAY_SIZE(q->tids))
				q->tids[q->ntids++] = (pid_t)json_integer_value(tid);
		}
		json_decref(ret);
		ret = NULL;
	}
	hb_err_clear(e);
	json_t *tids = json_array();
	for (int i = 0; i < q->ntids; i++)
		json_array_append_new(tids, json_integer(q->tids[i]));
	json_object_set_new(info, "vcpu_tids", tids);
	json_object_set_new(info, "qemu_pid", json_integer(q->pid));

	/* memory overhead */
	struct hb_vmmem mm;
	struct hb_err me = { 0 };
	if (hb_vmmem_read(q->pid, HB_VMMEM_QEMU_MEMFD, &mm, &me) == 0) {
		json_t *mt = json_object_get(facts, "mem_total_bytes");
		double guest_total = json_is_number(mt) ? json_number_value(mt) / 1048576.0 : -1;
		json_object_set_new(info, "memory_overhead",
				    hb_vmmem_overhead_json(&mm, avail_before, avail_after,
							   (double)q->memory_mib, guest_total));
	} else {
		json_object_set_new(info, "memory_overhead_error", json_string(me.msg));
	}
	json_decref(hello);
	return 0;
}

/* After a failed run: is the VM still usable? Builds the message naming target and cause. */
static int classify_failure(struct qemu *q, const struct hb_run_req *req, int rc, double elapsed,
			    double budget, const struct hb_err *ae, struct hb_err *e)
{
	char g[700];

	if (rc == HB_EIO || rc == HB_ETIMEDOUT)
		wait_gone(q, rc == HB_EIO ? 2.0 : 0.1);
	if (qemu_gone(q)) {
		q->dead = 1;
		gone_msg(q, g, sizeof(g));
		return hb_err_set(e, HB_ECHILD, "%s: %s during %s", q->name, g, req->entry);
	}
	if (rc == HB_EIO || (rc == HB_ETIMEDOUT && elapsed >= budget - 0.5)) {
		q->dead = 1;
		return hb_err_set(e, HB_EIO, "%s: agent stopped answering during %s: %s", q->name,
				  req->entry, ae->msg);
	}
	return hb_err_set(e, rc, "%s", ae->msg);
}

/*
 * hb_agent_run blocks until the reply; a watcher thread turns a stop signal into a closed
 * channel (shutdown of the socket) so an interrupted run ends at once instead of at the
 * workload's end. The VM is then out of step with us and is not used again.
 */
struct watch {
	pthread_t th;
	int fd;
	volatile sig_atomic_t *stop;
	int done; /* guarded by mu */
	int fired;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *watch_main(void *arg)
{
	struct watch *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->done) {
		struct timespec ts;
		if (w->stop && *w->stop) {
			shutdown(w->fd, SHUT_RDWR);
			w->fired = 1;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int watch_start(struct watch *w, int fd, volatile sig_atomic_t *stop)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->stop = stop;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (!stop || pthread_create(&w->th, NULL, watch_main, w)) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	return 0;
}

static int watch_end(struct watch *w)
{
	int fired;

	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	fired = w->fired;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	return fired;
}

static int qemu_run(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		    struct hb_sample *out, struct hb_err *e)
{
	struct qemu *q = priv;
	struct hb_probe_target pt = { 0 };
	struct hb_run_opts ro = { 0 };
	struct hb_err ae = { 0 };
	double t0;
	int rc;

	hb_sample_init(out);
	if (q->dead || !q->conn_ok || q->stopped)
		return hb_err_set(e, HB_EIO, "%s: the VM is not running", q->name);
	if (qemu_gone(q)) {
		char g[700];
		q->dead = 1;
		gone_msg(q, g, sizeof(g));
		return hb_err_set(e, HB_ECHILD, "%s: %s before %s", q->name, g, req->entry);
	}
	pt.pid = q->pid;
	pt.is_vm = 1;
	pt.ntids = q->ntids;
	memcpy(pt.tids, q->tids, sizeof(pt.tids));
	pt.qmp_path = q->qmp_path;
	pt.qmp = q->qmp;
	ro.duration = req->duration;
	ro.ramp = req->ramp;
	ro.timeout = req->timeout;
	if (!strcmp(req->wl->kind, "net")) {
		int echo = req->wl->peer == HB_PEER_ECHO;
		if (!(echo ? q->rr.port : q->server_port))
			return hb_err_set(e, HB_EUNSUPP, "%s: no network path to %s", q->name,
					  echo ? "an echo server" : "an iperf3 server");
		ro.server_addr = q->server_addr;
		ro.server_port = echo ? q->rr.port : q->server_port;
	}
	if (hooks && hooks->on_start) {
		rc = hooks->on_start(hooks->arg, &pt, e);
		if (rc) {
			if (hooks->on_stop)
				hooks->on_stop(hooks->arg);
			return rc;
		}
	}
	t0 = hb_now();
	struct watch w;
	int watching = watch_start(&w, q->agent_fd, q->env->stop) == 0;
	rc = hb_agent_run(&q->conn, q->next_id++, req->wl->name, req->params, &ro, out, &ae);
	int interrupted = watching && watch_end(&w);
	if (hooks && hooks->on_stop)
		hooks->on_stop(hooks->arg);
	if (interrupted) {
		q->dead = 1;
		hb_sample_free(out);
		hb_sample_init(out);
		return hb_err_set(e, HB_EINTR, "%s: %s interrupted", q->name, req->entry);
	}
	if (rc) {
		hb_sample_free(out);
		hb_sample_init(out);
		return classify_failure(q, req, rc, hb_now() - t0, req->timeout + 10.0, &ae, e);
	}
	return 0;
}

static void qemu_stop(void *priv, json_t *info)
{
	struct qemu *q = priv;
	struct hb_err e = { 0 };
	int clean = 0;

	if (q->stopped)
		return;
	q->stopped = 1;
	if (q->pid > 0 && !qemu_gone(q)) {
		/* the agent powers the guest off after acknowledging shutdown */
		if (q->conn_ok && !q->dead && hb_agent_shutdown(&q->conn, q->next_id++, 5.0, &e) == 0)
			clean = wait_gone(q, 5.0);
		if (!clean && q->qmp && !q->exited) {
			hb_err_clear(&e);
			if (hb_qmp_cmd(q->qmp, "quit", NULL, 3.0, NULL, &e) == 0)
				clean = wait_gone(q, 5.0);
		}
	}
	close_channels(q);
	kill_qemu(q, 3.0);
	if (info && q->pid > 0) {
		char st[64];
		describe_status(q->wstatus, st, sizeof(st));
		json_object_set_new(info, "qemu_exit", json_string(st));
	}
	hb_iperf_server_stop(&q->iperf);
	hb_rrpeer_stop(&q->rr);
	if (q->netns_made) {
		hb_netns_destroy(q->netns);
		q->netns_made = 0;
	}
	if (q->disk_made)
		unlink(q->disk_path);
	if (q->dir_made) {
		unlink(q->qmp_path);
		unlink(q->agent_path);
		hb_rmtree(q->dir);
	}
	q->disk_made = q->dir_made = 0;
}

const struct hb_backend_ops hb_be_qemu = {
	.kind = "qemu",
	.help = "a Linux guest under QEMU (KVM or TCG), workloads run by hvbench-guest",
	.opts = qemu_opts,
	.nopts = HB_ARRAY_SIZE(qemu_opts),
	.priv_size = sizeof(struct qemu),
	.supported = qemu_supported,
	.start = qemu_start,
	.run = qemu_run,
	.stop = qemu_stop,
};
