/*
 * be_qemu.c — the QEMU target: boots the hvbench guest (the embedded image from `make guest`,
 * or a user's kernel + initrd or disk image) in a QEMU it starts and controls, and runs
 * workloads through the guest agent on a virtio-serial port. This file is the QEMU-specific
 * glue: options, the QEMU process (its own process group, a parent-death signal, every wait
 * bounded: no QEMU outlives hvbench), QMP for status, vCPU thread ids and a clean quit, the raw
 * scratch disk (created here, deleted at stop) and the accelerator choice: accel "auto" tries
 * KVM only when the guest actually says hello under it within a short probe timeout (a silent
 * guest with a stuck vCPU is given up after ~2 s, and that verdict cached per host: kvmprobe.h),
 * and falls back to TCG with the reason recorded. Where the boot time went (QEMU start,
 * firmware, kernel, each init step, agent) is recorded from the console (bootphase.h). The command
 * line is tg_qemu_argv.c's, the agent session tg_agent.c's and the network peer (tap in a private
 * namespace, user networking as a flagged fallback) tg_netpeer.c's.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootphase.h"
#include "cgroup.h"
#include "child.h"
#include "datapath.h"
#include "kvmprobe.h"
#include "procstat.h"
#include "proto.h"
#include "qmp.h"
#include "scratchdisk.h"
#include "tg_agent.h"
#include "tg_netpeer.h"
#include "tg_qemu_argv.h"
#include "tg_scratch.h"
#include "vmmem.h"

#define QMP_TIMEOUT	 5.0
#define QEMU_CONSOLE_FD	 3   /* the console log's fd in QEMU (path=/proc/self/fd/3) */
#define KVM_STALL_WINDOW 2.0 /* s from exec a KVM guest gets to write to its console */

static const char *const machines[] = {"q35", "microvm", "pc", NULL};
static const char *const accels[] = {"auto", "kvm", "tcg", NULL};
static const char *const buses[] = {"virtio-blk", "virtio-scsi", NULL};
static const char *const caches[] = {"none",	   "writeback", "writethrough",
				     "directsync", "unsafe",	NULL};
static const char *const aios[] = {"threads", "native", "io_uring", NULL};
static const char *const nets[] = {"tap", "user", "none", NULL};
static const char *const probe_caches[] = {"use", "refresh", "off", NULL};

static const struct hb_param qemu_opts[] = {
	{"machine", HB_P_ENUM, 0, 0, "q35", machines, "QEMU machine type"},
	{"vcpus", HB_P_INT, 1, 64, "1", NULL, "virtual CPUs"},
	{"memory", HB_P_INT, 64, 262144, "512", NULL,
	 "guest RAM in MiB (memfd-backed; the embedded guest needs at least 192, and more for "
	 "workloads that hold memory: validate says)"},
	{"accel", HB_P_ENUM, 0, 0, "auto", accels,
	 "auto: KVM when the guest says hello under it within kvm_probe_timeout, else TCG"},
	{"disk_bus", HB_P_ENUM, 0, 0, "virtio-blk", buses, "scratch disk controller"},
	{"disk_cache", HB_P_ENUM, 0, 0, "none", caches, "QEMU cache mode of the scratch disk"},
	{"disk_aio", HB_P_ENUM, 0, 0, "threads", aios, "QEMU aio engine of the scratch disk"},
	{"disk_size", HB_P_SIZE, 16 << 20, 1ULL << 40, "512M", NULL,
	 "size of the raw scratch disk (sparse file in the run's scratch directory)"},
	{"disk_iops_limit", HB_P_INT, 0, 1e9, "0", NULL,
	 "QEMU I/O throttling of the scratch drive (id hbdisk): I/O operations per second, "
	 "reads + writes (throttling.iops-total; 0: none); emulates a cloud disk's IOPS cap"},
	{"disk_bps_limit", HB_P_SIZE, 0, 1ULL << 40, "0", NULL,
	 "QEMU I/O throttling of the scratch drive: bytes per second, reads + writes "
	 "(throttling.bps-total, e.g. 20M; 0: none)"},
	{"net_rate_limit", HB_P_DOUBLE, 0, 1e6, "0", NULL,
	 "Mbit/s the host end of the tap sends to the guest (tc tbf on the tap, netem with "
	 "net_delay; counts Ethernet frames without FCS; net tap only; 0: none)"},
	{"net_delay", HB_P_DOUBLE, 0, 10000, "0", NULL,
	 "milliseconds added to every packet the host end of the tap sends to the guest (tc "
	 "netem delay; net tap only; 0: none)"},
	{"net_reply_delay", HB_P_DOUBLE, 0, 1000, "0", NULL,
	 "milliseconds the echo server at the host end (netrr's peer) holds every reply after "
	 "its request arrived: a known, application-level latency for kernels without netem "
	 "(not on the network path; net tap or user; 0: none)"},
	{"cpu_limit", HB_P_DOUBLE, 0, 1024, "0", NULL,
	 "CPUs the VM's vCPU threads may use once booted (a cgroup with a CPU quota per "
	 "cpu_limit_period on the threads QMP names; QEMU's own threads stay uncapped; 0: no "
	 "cap); emulates a capped or contended vCPU"},
	{"cpu_limit_period", HB_P_DOUBLE, 1, 1000, "100", NULL,
	 "milliseconds of cpu_limit's quota period (the kernel's default 100; shorter periods "
	 "throttle more often, and each throttle costs a TCG vCPU work)"},
	{"net", HB_P_ENUM, 0, 0, "tap", nets,
	 "tap: tap device in a private netns (user networking if that fails); user: slirp"},
	{"kernel", HB_P_STRING, 0, 4096, "", NULL, "guest kernel (default: make guest's)"},
	{"initrd", HB_P_STRING, 0, 4096, "", NULL, "guest initramfs (with kernel)"},
	{"disk_image", HB_P_STRING, 0, 4096, "", NULL,
	 "boot disk with hvbench-guest installed (opened with snapshot=on, never modified)"},
	{"append", HB_P_STRING, 0, 2048, "", NULL, "extra kernel command line"},
	{"extra_args", HB_P_STRING, 0, 4096, "", NULL,
	 "extra QEMU arguments split on blanks (e.g. \"-device virtio-rng-pci\"); host-side "
	 "trust: the profile author runs them"},
	{"boot_timeout", HB_P_INT, 5, 3600, "120", NULL,
	 "seconds from QEMU exec to the agent's hello"},
	{"kvm_probe_timeout", HB_P_INT, 2, 3600, "15", NULL,
	 "accel auto: seconds KVM gets to reach the agent's hello before falling back to TCG "
	 "(a guest that stays silent with a stuck vCPU is given up after ~2 s)"},
	{"kvm_probe_cache", HB_P_ENUM, 0, 0, "use", probe_caches,
	 "accel auto: use: a cached \"KVM cannot boot this guest here\" verdict skips the probe "
	 "(cache in $XDG_CACHE_HOME/hvbench or ~/.cache/hvbench, keyed by host kernel, KVM, "
	 "CPU, QEMU and guest kernel); refresh: probe again and record; off: no cache"},
	{"qemu", HB_P_STRING, 0, 4096, "qemu-system-x86_64", NULL, "QEMU binary"},
	{"full_featured", HB_P_BOOL, 0, 0, "false", NULL,
	 "add the devices a typical VM carries: VGA, USB (xHCI + tablet), virtio-balloon, "
	 "virtio-rng (PCI machines only)"},
};

struct qemu {
	const struct hb_env *env;
	char name[64];
	const char *accel, *net, *probe_cache;
	double net_rate_mbit, net_delay_ms, net_reply_delay_ms, cpu_limit, cpu_limit_period_ms;
	struct hb_cgroup cg; /* cpu_limit: QEMU's group (path "" none) */
	long boot_timeout, kvm_probe_timeout;
	struct hb_qemu_vm vm; /* what the command line is built from */
	/* files */
	char kernel[PATH_MAX], initrd[PATH_MAX], disk_image[PATH_MAX];
	char tools_img[PATH_MAX]; /* make guest's fio/iperf3 squashfs, attached read-only */
	char dir[PATH_MAX], qmp_path[108], agent_path[108], disk_path[PATH_MAX];
	char console_path[PATH_MAX], log_path[PATH_MAX];
	int console_fd; /* the console log, created by us (O_EXCL|O_NOFOLLOW); -1: none */
	int disk_made, dir_made;
	struct hb_netpeer peer;
	/* the running VM */
	pid_t pid;
	int exited, wstatus;
	double t_exec, t_qmp, t_hello; /* t_hello: the hello, or the failed attempt's end */
	double cpu_hello; /* QEMU's CPU seconds (all threads) at the hello; -1 unknown */
	/* accel auto: the KVM boot being watched for a stall (kvmprobe.h) */
	int probing, stalled;
	struct hb_kvm_watch watch;
	double probe_spent;   /* seconds the KVM attempts of a probe took */
	double probe_each[4]; /* and each attempt (-cpu host, then without arch-capabilities) */
	int nprobe;
	/* start's first half (qemu_prepare, and qemu_launch's first boot) */
	int prepared, try_kvm;
	int msr_refused; /* cached: KVM here refuses -cpu host's arch-capabilities MSR */
	char reason[1200];
	const char *guest; /* kernel or disk image: the KVM verdict's key */
	/* host memory when the boot began: MemAvailable and the other QEMUs of the run */
	double avail_before, others_before;
	/* qemu_launch's boot attempt, awaited by a thread (it owns the boot fields until
	 * joined): the hello of a VM ready while the runner completes another is timed when it
	 * arrives */
	pthread_t wth;
	int waiting, w_rc;
	double w_timeout;
	json_t *w_hello;
	struct hb_err w_err;
	struct hb_qmp *qmp;
	struct hb_tg_agent agent;
	int ntids;
	pid_t tids[64];
	int dead;
	int stopped;
	char cmdline[8192];
};

/* ---- small helpers ---- */

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
	struct hb_err e = {0};

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

/* Error text for a QEMU that went away: "QEMU exited (killed by signal 9)" + its last words. */
static void gone_msg(struct qemu *q, char *buf, size_t len)
{
	char st[64], tail[400];

	hb_status_str(q->wstatus, st, sizeof(st));
	log_tail(q, tail, sizeof(tail));
	hb_snprintf(buf, len, "QEMU exited (%s)%s%s", st, tail[0] ? ": " : "", tail);
}

/* The VM description from validated options; paths point into q (filled later). */
static void describe(struct qemu *q, const json_t *o)
{
	struct hb_qemu_vm *vm = &q->vm;
	const char *s;

	q->accel = hb_param_str(o, "accel");
	q->net = hb_param_str(o, "net");
	q->boot_timeout = (long)hb_param_int(o, "boot_timeout");
	q->kvm_probe_timeout = (long)hb_param_int(o, "kvm_probe_timeout");
	q->probe_cache = hb_param_str(o, "kvm_probe_cache");
	vm->name = q->name;
	vm->machine = hb_param_str(o, "machine");
	vm->vcpus = (long)hb_param_int(o, "vcpus");
	vm->memory_mib = (long)hb_param_int(o, "memory");
	vm->disk_bus = hb_param_str(o, "disk_bus");
	vm->disk_cache = hb_param_str(o, "disk_cache");
	vm->disk_aio = hb_param_str(o, "disk_aio");
	vm->disk_size = (unsigned long long)hb_param_int(o, "disk_size");
	vm->disk_iops_limit = (unsigned long long)hb_param_int(o, "disk_iops_limit");
	vm->disk_bps_limit = (unsigned long long)hb_param_int(o, "disk_bps_limit");
	q->net_rate_mbit = hb_param_double(o, "net_rate_limit");
	q->net_delay_ms = hb_param_double(o, "net_delay");
	q->net_reply_delay_ms = hb_param_double(o, "net_reply_delay");
	q->cpu_limit = hb_param_double(o, "cpu_limit");
	q->cpu_limit_period_ms = hb_param_double(o, "cpu_limit_period");
	vm->full = hb_param_bool(o, "full_featured");
	s = hb_param_str(o, "append");
	vm->append = s ? s : "";
	s = hb_param_str(o, "extra_args");
	vm->extra = s ? s : "";
	s = hb_param_str(o, "qemu");
	vm->bin = s && *s ? s : "qemu-system-x86_64";
	s = hb_param_str(o, "kernel");
	hb_strlcpy(q->kernel, s ? s : "", sizeof(q->kernel));
	s = hb_param_str(o, "initrd");
	hb_strlcpy(q->initrd, s ? s : "", sizeof(q->initrd));
	s = hb_param_str(o, "disk_image");
	hb_strlcpy(q->disk_image, s ? s : "", sizeof(q->disk_image));
	vm->kernel = q->kernel;
	vm->initrd = q->initrd;
	vm->disk_image = q->disk_image;
	vm->tools_img = q->tools_img;
	vm->net_mode = q->net;
	vm->disk_path = q->disk_path;
	vm->qmp_path = q->qmp_path;
	vm->agent_path = q->agent_path;
	vm->console_path = q->console_path;
}

/* The files of a run under scratch (the run's private directory) and out (results). */
static int name_files(struct qemu *q, const char *scratch, const char *out)
{
	if (hb_snprintf(q->dir, sizeof(q->dir), "%s/qemu-%s", scratch, q->name))
		return HB_EINVAL;
	if (hb_snprintf(q->qmp_path, sizeof(q->qmp_path), "%s/qmp.sock", q->dir) ||
	    hb_snprintf(q->agent_path, sizeof(q->agent_path), "%s/agent.sock", q->dir))
		return HB_ENOMEM; /* too long for a UNIX socket path */
	hb_snprintf(q->disk_path, sizeof(q->disk_path), "%s/disk.raw", q->dir);
	hb_snprintf(q->log_path, sizeof(q->log_path), "%s/qemu-stderr.log", q->dir);
	if (hb_snprintf(q->console_path, sizeof(q->console_path), "%s/%s-console.log", out,
			q->name))
		return HB_EIO;
	return 0;
}

static void qemu_check(const json_t *opts, const char *name, const struct hb_check_env *env,
		       struct hb_target_facts *facts, const char *where, struct hb_diag *d)
{
	struct qemu *q = calloc(1, sizeof(*q));
	char scratch[PATH_MAX];

	if (!q) {
		hb_diag_error(d, "%sout of memory", where);
		return;
	}
	hb_strlcpy(q->name, name, sizeof(q->name));
	describe(q, opts);
	/* the run's scratch directory gets a unique suffix: this one has the same length */
	hb_snprintf(scratch, sizeof(scratch), "%s/hvbench-scratch.%ld.XXXXXX",
		    env && env->scratch_base ? env->scratch_base : "/var/tmp", (long)getpid());
	switch (name_files(q, scratch, env && env->out_dir ? env->out_dir : "results")) {
	case HB_EINVAL: hb_diag_error(d, "%sscratch path too long", where); break;
	case HB_ENOMEM:
		hb_diag_error(d, "%sscratch directory %s too long for a UNIX socket path", where,
			      q->dir);
		break;
	case HB_EIO: hb_diag_error(d, "%sconsole log path too long", where); break;
	}
	if (!env || !env->out_dir)
		q->console_path[0] = '\0'; /* the results directory is not chosen yet */
	hb_qemu_check(&q->vm, where, d);
	if ((q->net_rate_mbit > 0 || q->net_delay_ms > 0) && strcmp(q->net, "tap"))
		hb_diag_error(d,
			      "%snet_rate_limit and net_delay shape the tap: they need net \"tap\"",
			      where);
	if (q->net_reply_delay_ms > 0 && !strcmp(q->net, "none"))
		hb_diag_error(d,
			      "%snet_reply_delay delays the replies of the echo server at the host "
			      "end: it needs net \"tap\" or \"user\", not \"none\"",
			      where);
	hb_strlcpy(facts->machine, q->vm.machine, sizeof(facts->machine));
	facts->vcpus = (int)q->vm.vcpus;
	facts->memory_mib = q->vm.memory_mib;
	free(q);
}

static int spawn(struct qemu *q, struct hb_argv *v, struct hb_err *e)
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
		struct hb_err ce = {0};
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (hb_netpeer_enter(&q->peer, &ce)) {
			dprintf(2, "hvbench: cannot enter netns %s: %s\n", q->peer.netns, ce.msg);
			_exit(126);
		}
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* the console log travels as QEMU_CONSOLE_FD (argv says /proc/self/fd/N) */
		if (q->console_fd >= 0) {
			if (q->console_fd == QEMU_CONSOLE_FD)
				fcntl(QEMU_CONSOLE_FD, F_SETFD, 0);
			else if (dup2(q->console_fd, QEMU_CONSOLE_FD) < 0)
				_exit(126);
		}
		close_range(q->console_fd >= 0 ? QEMU_CONSOLE_FD + 1 : 3, ~0U, 0);
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
			hb_target_log(q->env, q->name, "QEMU pid %d could not be reaped",
				      (int)q->pid);
	}
}

static void close_channels(struct qemu *q)
{
	if (q->qmp) {
		hb_qmp_close(q->qmp);
		q->qmp = NULL;
	}
	hb_tg_agent_close(&q->agent);
}

/* While waiting for hello: is QEMU still there, and was the run interrupted? */
static int hello_check(void *arg, int closed, struct hb_err *e)
{
	struct qemu *q = arg;
	char g[600];

	if (!closed && q->env->stop && *q->env->stop)
		return hb_err_set(e, HB_EINTR, "interrupted while waiting for the guest");
	if (!closed && q->probing) {
		char why[256];
		if (hb_kvm_watch_stalled(&q->watch, q->qmp, why, sizeof(why))) {
			q->stalled = 1;
			return hb_err_set(e, HB_ETIMEDOUT, "%s", why);
		}
	}
	if (closed)
		wait_gone(q, 2);
	if (qemu_gone(q)) {
		gone_msg(q, g, sizeof(g));
		return hb_err_set(e, HB_ECHILD, "%s before the agent said hello", g);
	}
	return 0;
}

/* While connecting to the agent socket: is QEMU still there? */
static int socket_check(void *arg, struct hb_err *e)
{
	struct qemu *q = arg;
	char m[600];

	if (!qemu_gone(q))
		return 0;
	gone_msg(q, m, sizeof(m));
	return hb_err_set(e, HB_ECHILD, "%s before the agent socket opened", m);
}

/* Seconds since path was last modified (0 when unknown): when QEMU made its QMP socket. */
static double file_age(const char *path)
{
	struct stat st;
	struct timespec now;
	double age;

	if (stat(path, &st) || clock_gettime(CLOCK_REALTIME, &now))
		return 0;
	age = (double)(now.tv_sec - st.st_mtim.tv_sec) +
	      (double)(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
	return age > 0 && age < 3600 ? age : 0;
}

/* Spawns QEMU for one boot attempt without waiting for it; on failure nothing runs. */
static int boot_spawn(struct qemu *q, const char *accel, const char *cpu, json_t *info,
		      struct hb_err *e)
{
	struct hb_argv v = {.n = 0};
	json_t *devices = json_array();
	int rc;

	unlink(q->qmp_path);
	unlink(q->agent_path);
	rc = hb_qemu_argv(&q->vm, accel, cpu, &v, devices, q->cmdline, sizeof(q->cmdline), e);
	if (rc)
		goto out;
	json_object_set(info, "devices", devices);
	json_object_set_new(info, "qemu_cmdline", json_string(q->cmdline));
	q->stalled = 0;
	if (q->probing)
		hb_kvm_watch_init(&q->watch, q->console_path, KVM_STALL_WINDOW);
	rc = spawn(q, &v, e);
	if (rc == 0 && q->env->memo)
		hb_memo_vmm_set(q->env->memo, q->name, q->pid);
out:
	json_decref(devices);
	hb_argv_free(&v);
	return rc;
}

/* The rest of a boot attempt: QMP, agent hello. On failure QEMU is killed and reaped. */
static int boot_wait(struct qemu *q, double timeout, json_t **hello, struct hb_err *e)
{
	double deadline = q->t_exec + timeout;
	int rc;

	/*
	 * QMP: the socket appears within a second of exec unless QEMU fails its options. A QEMU
	 * that died leaves its socket file behind, refusing connections until the connect's
	 * timeout: so liveness first, and short connects (a KVM refusing -cpu host aborts QEMU
	 * within 0.05 s; a 5 s connect made that a 5 s probe), longer only once a QEMU that is
	 * alive was slow to greet.
	 */
	double cto = 1.0;
	for (;;) {
		struct hb_err qe = {0};
		if (qemu_gone(q)) {
			char g[600];
			gone_msg(q, g, sizeof(g));
			rc = hb_err_set(e, HB_ECHILD, "%s", g);
			goto out;
		}
		if (access(q->qmp_path, F_OK) == 0) {
			if (hb_qmp_connect(q->qmp_path, cto, &q->qmp, &qe) == 0) {
				q->t_qmp = hb_now() - file_age(q->qmp_path);
				break;
			}
			if (qe.code == HB_ETIMEDOUT && !qemu_gone(q))
				cto = 5.0;
		}
		if (hb_now() > q->t_exec + 15.0) {
			rc = hb_err_set(e, HB_ETIMEDOUT,
					"QMP socket did not come up within 15 s%s%s",
					qe.msg[0] ? ": " : "", qe.msg);
			goto out;
		}
		hb_sleep(0.02, NULL);
	}
	rc = hb_tg_agent_connect_unix(&q->agent, q->agent_path, deadline, socket_check, q, e);
	if (rc)
		goto out;
	rc = hb_tg_agent_hello(&q->agent, NULL, deadline - hb_now(), hello_check, q, hello, e);
	if (rc == HB_ETIMEDOUT && !q->stalled) {
		hb_err_clear(e);
		rc = hb_err_set(e, HB_ETIMEDOUT, "guest did not say hello within %.0f s", timeout);
	}
out:
	q->t_hello = hb_now();
	q->cpu_hello = -1;
	if (!rc && hb_pidstat_cpu_s(q->pid, &q->cpu_hello))
		q->cpu_hello = -1;
	if (q->probing) {
		q->probe_spent += q->t_hello - q->t_exec;
		if (q->nprobe < (int)HB_ARRAY_SIZE(q->probe_each))
			q->probe_each[q->nprobe++] = q->t_hello - q->t_exec;
	}
	if (rc) {
		close_channels(q);
		kill_qemu(q, 2.0);
	}
	return rc;
}

/* The launched boot's waiter (no fork here: a child's parent-death signal follows the thread
 * that forked it). */
static void *waiter_main(void *arg)
{
	struct qemu *q = arg;

	q->w_rc = boot_wait(q, q->w_timeout, &q->w_hello, &q->w_err);
	return NULL;
}

static int waiter_join(struct qemu *q, json_t **hello, struct hb_err *e)
{
	pthread_join(q->wth, NULL);
	q->waiting = 0;
	if (hello)
		*hello = q->w_hello;
	else
		json_decref(q->w_hello);
	q->w_hello = NULL;
	return q->w_rc ? hb_err_set(e, q->w_rc, "%s", q->w_err.msg) : 0;
}

/* Spawns a boot attempt whose hello a thread awaits (boot() joins it). */
static int boot_launch(struct qemu *q, const char *accel, const char *cpu, double timeout,
		       json_t *info, struct hb_err *e)
{
	int rc = boot_spawn(q, accel, cpu, info, e);

	if (rc)
		return rc;
	q->w_timeout = timeout;
	if (pthread_create(&q->wth, NULL, waiter_main, q)) {
		kill_qemu(q, 0); /* no waiter: nothing may run unwatched */
		return hb_err_set(e, HB_ENOMEM, "cannot create the boot waiter thread");
	}
	q->waiting = 1;
	return 0;
}

/*
 * One boot attempt: spawn, QMP, agent hello (or, the first time after qemu_launch, the result
 * of the launched attempt). On failure QEMU is killed and reaped.
 */
static int boot(struct qemu *q, const char *accel, const char *cpu, double timeout, json_t *info,
		json_t **hello, struct hb_err *e)
{
	int rc;

	if (q->waiting)
		return waiter_join(q, hello, e);
	rc = boot_spawn(q, accel, cpu, info, e);
	if (rc)
		return rc;
	return boot_wait(q, timeout, hello, e);
}

/* -cpu for a KVM boot: host, unless this host is known to refuse its arch-capabilities MSR. */
static const char *kvm_cpu(const struct qemu *q)
{
	return q->msr_refused ? "host,-arch-capabilities" : "host";
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
	int rc = boot(q, "kvm", kvm_cpu(q), timeout, info, hello, e);

	note[0] = '\0';
	if (q->msr_refused) {
		hb_snprintf(note, nlen,
			    "-cpu host refused on this host (MSR, cached); used "
			    "host,-arch-capabilities");
		return rc;
	}
	/* a VM booting side by side found meanwhile that KVM cannot boot this guest: no retry */
	if (rc == HB_ECHILD && q->probing && hb_memo_kvm_failed(q->env->memo, q->guest))
		return rc;
	if (rc == HB_ECHILD && strstr(e->msg, "MSR")) {
		/* nested/paravirt KVM refusing IA32_ARCH_CAPABILITIES (MSR 0x10a) */
		hb_snprintf(note, nlen, "-cpu host failed (%s); used host,-arch-capabilities",
			    e->msg);
		hb_kvm_msr_record(q->probe_cache, q->vm.bin, e->msg);
		hb_err_clear(e);
		rc = boot(q, "kvm", "host,-arch-capabilities", timeout, info, hello, e);
	}
	return rc;
}

/* Where the boot time went (bootphase.h), from host times and the console's phases line. */
static void boot_phases(struct qemu *q, double agent_uptime, json_t *info)
{
	struct hb_boot_times bt = {q->t_exec, q->t_qmp, q->t_hello, agent_uptime};
	struct hb_err e = {0};
	char *text = NULL;
	size_t n;

	if (hb_read_file(q->console_path, 4 << 20, &text, &n, &e))
		text = NULL;
	json_object_set_new(info, "boot_phases", hb_boot_phases(&bt, text));
	free(text);
}

/* ---- ops ---- */

static int qemu_supported(char *why, size_t len)
{
	if (!hb_in_path("qemu-system-x86_64")) {
		hb_snprintf(why, len, "qemu-system-x86_64 not found in PATH");
		return HB_EUNSUPP;
	}
	return 0;
}

static int setup_network(struct qemu *q, struct hb_target_facts *facts, json_t *info,
			 struct hb_err *e)
{
	struct hb_netpeer_cfg c = {
		.mode = q->net,
		.tag = q->name,
		.tap = HB_QEMU_TAP,
		.host_cidr = HB_QEMU_HOST_CIDR,
		.host_ip = HB_QEMU_HOST_IP,
		.user_gw = HB_QEMU_USER_HOST_IP,
		.none_why = "no network path to an iperf3 server",
		.rate_mbit = q->net_rate_mbit,
		.delay_ms = q->net_delay_ms,
		.reply_delay_ms = q->net_reply_delay_ms,
		.log = q->env->log,
		.log_arg = q->env->log_arg,
	};
	int rc = hb_netpeer_open(&q->peer, &c, info, e);

	if (rc)
		return rc;
	q->vm.net_mode = q->peer.mode;
	hb_strlcpy(facts->net_mode, q->peer.mode, sizeof(facts->net_mode));
	return 0;
}

static int make_files(struct qemu *q, struct hb_err *e)
{
	const struct hb_env *env = q->env;
	const char *out = env->out_dir ? env->out_dir : env->scratch_dir;
	int rc;

	switch (name_files(q, env->scratch_dir, out)) {
	case HB_EINVAL: return hb_err_set(e, HB_EINVAL, "scratch path too long");
	case HB_ENOMEM:
		return hb_err_set(e, HB_EINVAL,
				  "scratch directory %s too long for a UNIX socket path", q->dir);
	case HB_EIO: return hb_err_set(e, HB_EINVAL, "console log path too long");
	}
	rc = hb_mkdirs(q->dir, 0700, e);
	if (rc)
		return rc;
	q->dir_made = 1;
	/* a fresh file of ours: never follow or reuse what is at that name (a planted symlink) */
	unlink(q->console_path);
	q->console_fd =
		open(q->console_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (q->console_fd < 0)
		return hb_err_errno(e, HB_EIO, "cannot create console log %s", q->console_path);
	q->vm.console_fd = QEMU_CONSOLE_FD;
	/* Written, not sparse: reads of holes never reach the host disk, so a sparse scratch
	 * disk would make guest reads look faster than native ones. */
	rc = hb_scratch_disk_create(q->disk_path, q->vm.disk_size, q->vm.disk_cache, e);
	if (rc)
		return rc;
	q->disk_made = 1;
	return 0;
}

/* Host memory of the other QEMUs of this run (anonymous + shmem: guest RAM is a memfd), MiB. */
static double others_mib(const struct qemu *q)
{
	const struct hb_run_memo *m = q->env->memo;
	double mib = 0;

	for (int i = 0; m && i < m->nvmm; i++) {
		char path[64], line[256];
		long long kb;
		FILE *f;

		if (!m->vmm[i].pid || !strcmp(m->vmm[i].name, q->name))
			continue;
		hb_snprintf(path, sizeof(path), "/proc/%d/status", (int)m->vmm[i].pid);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "RssAnon: %lld", &kb) == 1 ||
			    sscanf(line, "RssShmem: %lld", &kb) == 1)
				mib += (double)kb / 1024.0;
		if (f)
			fclose(f);
	}
	return mib;
}

/* MemAvailable before a boot, and what the run's other QEMUs held then (boots may overlap). */
static void mem_before(struct qemu *q)
{
	q->avail_before = hb_meminfo("MemAvailable") / 1048576.0;
	q->others_before = others_mib(q);
}

/*
 * MemAvailable after the boot, as if this VM alone had changed it: what the other QEMUs of the
 * run took meanwhile (a VM booting concurrently, or one that went away) is added back, and
 * recorded.
 */
static double mem_after(struct qemu *q, json_t *info)
{
	double avail = hb_meminfo("MemAvailable") / 1048576.0,
	       grew = others_mib(q) - q->others_before;

	json_object_set_new(info, "memavailable_other_vms_mib", json_real(grew));
	return avail + grew;
}

/*
 * Start's first half: options, files, network and the accelerator to try first (into
 * q->try_kvm and q->reason). Touches no other target's state but the run memo.
 */
static int qemu_prepare(struct qemu *q, const struct hb_target *t, const struct hb_env *env,
			struct hb_target_facts *facts, json_t *info, struct hb_err *e)
{
	const json_t *o = t->opts;
	char why[256] = "";
	struct hb_diag d;
	int rc;

	memset(q, 0, sizeof(*q));
	q->console_fd = -1;
	hb_tg_agent_init(&q->agent, env->stop);
	q->env = env;
	q->prepared = 1;
	hb_strlcpy(q->name, t->name, sizeof(q->name));
	describe(q, o);
	hb_strlcpy(facts->machine, q->vm.machine, sizeof(facts->machine));
	facts->vcpus = (int)q->vm.vcpus;
	facts->memory_mib = q->vm.memory_mib;
	/* the static checks validate ran, on the real paths: the first problem is the error */
	hb_diag_init(&d);
	name_files(q, env->scratch_dir, env->out_dir ? env->out_dir : env->scratch_dir);
	hb_qemu_check(&q->vm, "", &d);
	for (int i = 0; i < d.n; i++)
		if (!d.it[i].warning)
			return hb_err_set(e, HB_EINVAL, "%s", d.it[i].msg);
	if (!q->disk_image[0] && !q->kernel[0]) {
		const char *b = env->build_dir ? env->build_dir : "build";
		/* the uncompressed kernel, booted through its PVH entry */
		hb_snprintf(q->kernel, sizeof(q->kernel), "%s/guest/" HB_GUEST_KERNEL, b);
		hb_snprintf(q->initrd, sizeof(q->initrd), "%s/guest/" HB_GUEST_INITRD, b);
		hb_snprintf(q->tools_img, sizeof(q->tools_img), "%s/guest/" HB_GUEST_TOOLS, b);
		if (access(q->kernel, R_OK) || access(q->initrd, R_OK) ||
		    access(q->tools_img, R_OK))
			return hb_err_set(
				e, HB_EUNSUPP,
				"guest image not found: looked for %s/guest/" HB_GUEST_KERNEL
				", " HB_GUEST_INITRD " and " HB_GUEST_TOOLS
				" (run `make guest`, or point --build or "
				"HVBENCH_BUILD at the build directory that holds guest/)",
				b);
	}
	if (!hb_in_path(q->vm.bin))
		return hb_err_set(e, HB_EUNSUPP, "QEMU binary %s not found", q->vm.bin);

	rc = make_files(q, e);
	if (rc)
		return rc;
	rc = setup_network(q, facts, info, e);
	if (rc)
		return rc;

	/* boot: KVM first when asked or when auto and /dev/kvm opens, TCG otherwise */
	q->try_kvm = !strcmp(q->accel, "kvm") ||
		     (!strcmp(q->accel, "auto") && kvm_usable(why, sizeof(why)));
	if (!strcmp(q->accel, "auto") && !q->try_kvm)
		hb_snprintf(q->reason, sizeof(q->reason), "kvm unusable (%s); used tcg", why);
	/* one failed KVM boot of this guest is enough per run: later targets go straight to TCG */
	q->guest = q->disk_image[0] ? q->disk_image : q->kernel;
	const char *memo = hb_memo_kvm_failed(env->memo, q->guest);
	if (q->try_kvm && !strcmp(q->accel, "auto") && memo) {
		q->try_kvm = 0;
		hb_snprintf(q->reason, sizeof(q->reason), "%s (found earlier in this run)", memo);
		hb_target_log(q->env, q->name,
			      "KVM cannot boot this guest (found earlier in this run): booting "
			      "under TCG");
	}
	if (q->try_kvm && !strcmp(q->accel, "auto") &&
	    hb_kvm_verdict_lookup(q->probe_cache, q->vm.bin, q->guest, q->reason,
				  sizeof(q->reason))) {
		/* said once per run: later targets and boots take the memo's short line */
		q->try_kvm = 0;
		hb_target_log(q->env, q->name, "%s", q->reason);
		hb_memo_set_kvm_failed(env->memo, q->guest, q->reason);
	}
	if (q->try_kvm)
		q->msr_refused = hb_kvm_msr_lookup(q->probe_cache, q->vm.bin);
	return 0;
}

/* Seconds the first boot attempt gets: a KVM probe's timeout under accel auto. */
static double first_timeout(const struct qemu *q)
{
	return q->try_kvm && !strcmp(q->accel, "auto") ? (double)q->kvm_probe_timeout
						       : (double)q->boot_timeout;
}

/*
 * Start's first half without waiting: prepares and spawns the first boot attempt, whose hello
 * a thread awaits; qemu_start completes it. The runner launches every VM of a boot group
 * before completing any, so their boots overlap.
 */
static int qemu_launch(void *priv, const struct hb_target *t, const struct hb_env *env,
		       struct hb_target_facts *facts, json_t *info, struct hb_err *e)
{
	struct qemu *q = priv;
	int rc = qemu_prepare(q, t, env, facts, info, e);

	if (rc)
		return rc;
	q->probing = q->try_kvm && !strcmp(q->accel, "auto");
	hb_target_log(q->env, q->name, "launching under %s (%.0f s to say hello)",
		      q->try_kvm ? "KVM" : "TCG (emulation)", first_timeout(q));
	mem_before(q);
	return q->try_kvm ? boot_launch(q, "kvm", kvm_cpu(q), first_timeout(q), info, e)
			  : boot_launch(q, "tcg", "max", first_timeout(q), info, e);
}

/* The last boot attempt's interval (a failed one too: it took the host's CPU all the same). */
static void boot_interval(const struct qemu *q, struct hb_target_facts *facts)
{
	if (q->t_exec > 0 && q->t_hello >= q->t_exec) {
		facts->boot_t0 = q->t_exec;
		facts->boot_t1 = q->t_hello;
	}
}

static int qemu_start(void *priv, const struct hb_target *t, const struct hb_env *env,
		      struct hb_target_facts *facts, json_t *info, struct hb_err *e)
{
	struct qemu *q = priv;
	json_t *hello = NULL, *ret = NULL;
	char note[700] = "", *reason = q->reason;
	const size_t rlen = sizeof(q->reason);
	const char *accel_used = NULL;
	double avail_after;
	int rc, launched = q->waiting;

	if (!launched) {
		rc = qemu_prepare(q, t, env, facts, info, e);
		if (rc)
			return rc;
	}
	if (q->try_kvm) {
		double to = first_timeout(q);
		if (!launched) {
			mem_before(q);
			hb_target_log(q->env, q->name, "booting under KVM (%.0f s to say hello)",
				      to);
		}
		q->probing = !strcmp(q->accel, "auto");
		rc = boot_kvm(q, to, info, &hello, note, sizeof(note), e);
		boot_interval(q, facts);
		if (q->probing && rc != HB_EINTR)
			hb_kvm_verdict_record(q->probe_cache, q->vm.bin, q->guest, rc == 0,
					      rc ? e->msg : "", q->probe_spent);
		q->probing = 0;
		if (rc == 0) {
			accel_used = "kvm";
			hb_snprintf(reason, rlen, "%s%s%s",
				    !strcmp(q->accel, "kvm") ? "kvm requested"
							     : "kvm: guest said hello",
				    note[0] ? "; " : "", note);
		} else if (!strcmp(q->accel, "auto") && rc != HB_EINTR) {
			hb_snprintf(reason, rlen, "kvm: %s%s%s; fell back to tcg", e->msg,
				    note[0] ? " (after " : "",
				    note[0] ? "-cpu host was refused: MSR)" : "");
			hb_target_log(q->env, q->name, "%s", reason);
			json_object_set_new(info, "kvm_probe_s", json_real(q->probe_spent));
			json_t *each = json_array();
			for (int i = 0; i < q->nprobe; i++)
				json_array_append_new(each, json_real(q->probe_each[i]));
			json_object_set_new(info, "kvm_probe_attempts_s", each);
			hb_memo_set_kvm_failed(env->memo, q->guest, reason);
			hb_err_clear(e);
			rc = 0;
			q->try_kvm = 0;
			if (launched) {
				/* the TCG boot side by side with the others: launched again */
				mem_before(q);
				hb_target_log(q->env, q->name,
					      "booting under TCG (emulation), launched again");
				rc = boot_launch(q, "tcg", "max", (double)q->boot_timeout, info, e);
				if (rc) {
					hb_err_prefix(e, "accel=tcg");
					return rc;
				}
				return HB_EAGAIN;
			}
		} else {
			hb_err_prefix(e, "accel=kvm");
			return rc;
		}
	}
	if (!accel_used) {
		if (!strcmp(q->accel, "tcg"))
			hb_strlcpy(reason, "tcg requested", rlen);
		if (!q->waiting) { /* a fresh TCG boot (not the launched one) */
			mem_before(q);
			hb_target_log(q->env, q->name, "booting under TCG (emulation)");
		}
		rc = boot(q, "tcg", "max", (double)q->boot_timeout, info, &hello, e);
		boot_interval(q, facts);
		if (rc) {
			hb_err_prefix(e, "accel=tcg");
			return rc;
		}
		accel_used = "tcg";
	}
	double ttr = q->t_hello - q->t_exec;
	avail_after = mem_after(q, info);

	/* facts for results.json */
	hb_strlcpy(facts->accel, accel_used, sizeof(facts->accel));
	hb_strlcpy(facts->accel_reason, reason, sizeof(facts->accel_reason));
	facts->emulation = !strcmp(accel_used, "tcg");
	facts->time_to_ready_s = ttr;
	if (q->cpu_hello >= 0)
		facts->boot_cpu_s = q->cpu_hello;
	hb_facts_from_hello(facts, hello, 1);
	boot_phases(q, facts->guest_kernel_boot_s, info);
	json_object_set_new(info, "console_log", json_string(q->console_path));
	json_object_set_new(info, "guest_kernel", json_string(q->kernel[0] ? q->kernel : ""));
	if (hb_qmp_cmd(q->qmp, "query-version", NULL, QMP_TIMEOUT, &ret, e) == 0) {
		json_t *qv = json_object_get(ret, "qemu");
		json_object_set_new(
			info, "qemu_version",
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
		json_array_foreach (ret, i, c) {
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

	/* the cap applies once booted (a boot under it would only be slower), to the vCPU
	 * threads only: the guest gets exactly the quota, QEMU's other threads are not its own */
	if (q->cpu_limit > 0) {
		if (!q->ntids)
			return hb_err_set(e, HB_EUNSUPP,
					  "cpu_limit: QMP query-cpus-fast named no vCPU thread");
		rc = hb_cgroup_create(&q->cg, q->name, q->cpu_limit,
				      (int)(q->cpu_limit_period_ms * 1000 + 0.5), e);
		if (!rc)
			rc = hb_cgroup_add_threads(&q->cg, q->pid, q->tids, q->ntids, e);
		if (rc)
			return rc;
		json_object_set_new(info, "cpu_limit",
				    json_pack("{s:f, s:f, s:s, s:s}", "cpus", q->cg.cpus,
					      "period_ms", q->cg.period_us / 1000.0, "cgroup",
					      q->cg.path, "applies_to", "vcpu threads"));
	}

	/* memory overhead */
	struct hb_err me = {0};
	if (hb_vmmem_read(q->pid, HB_VMMEM_QEMU_MEMFD, &facts->mem, &me) == 0) {
		facts->have_mem = 1;
		facts->avail_before_mib = q->avail_before;
		facts->avail_after_mib = avail_after;
	} else {
		hb_strlcpy(facts->mem_error, me.msg, sizeof(facts->mem_error));
	}
	json_decref(hello);
	return 0;
}

/* hb_tg_agent_failure's question: waits up to wait s for QEMU to exit; 1 (and why) if it did. */
static int qemu_is_gone(void *arg, double wait, char *msg, size_t len)
{
	struct qemu *q = arg;

	if (wait > 0)
		wait_gone(q, wait);
	if (!qemu_gone(q))
		return 0;
	gone_msg(q, msg, len);
	return 1;
}

static int qemu_run(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		    struct hb_sample *out, struct hb_err *e)
{
	struct qemu *q = priv;
	struct hb_probe_target pt = {.pid = q->pid,
				     .is_vm = 1,
				     .ntids = q->ntids,
				     .qmp_path = q->qmp_path,
				     .qmp = q->qmp};
	struct hb_tg_vm vm = {.name = q->name,
			      .down = "the VM is not running",
			      .agent = &q->agent,
			      .peer = &q->peer,
			      .gone = qemu_is_gone,
			      .arg = q,
			      .stopped = q->stopped,
			      .dead = &q->dead};

	memcpy(pt.tids, q->tids, sizeof(pt.tids));
	return hb_tg_vm_run(&vm, req, hooks, &pt, out, e);
}

static void qemu_stop(void *priv, json_t *info)
{
	struct qemu *q = priv;
	struct hb_err e = {0};
	int clean = 0;

	if (q->stopped || !q->prepared)
		return;
	q->stopped = 1;
	if (q->waiting) {
		/* launched, never completed (another target failed, or Ctrl-C): end the boot,
		 * then its waiter (which sees QEMU gone at its next check) */
		if (q->pid > 0 && !q->exited)
			kill(-q->pid, SIGKILL);
		waiter_join(q, NULL, &e);
		hb_err_clear(&e);
	}
	if (q->env->memo)
		hb_memo_vmm_set(q->env->memo, q->name, 0);
	if (q->pid > 0 && !qemu_gone(q)) {
		/* the agent powers the guest off after acknowledging shutdown */
		if (q->agent.open && !q->dead && hb_tg_agent_shutdown(&q->agent, 5.0, &e) == 0)
			clean = wait_gone(q, 5.0);
		if (!clean && q->qmp && !q->exited) {
			hb_err_clear(&e);
			if (hb_qmp_cmd(q->qmp, "quit", NULL, 3.0, NULL, &e) == 0)
				clean = wait_gone(q, 5.0);
		}
	}
	close_channels(q);
	kill_qemu(q, 3.0);
	hb_cgroup_destroy(&q->cg);
	if (info && q->pid > 0) {
		char st[64];
		hb_status_str(q->wstatus, st, sizeof(st));
		json_object_set_new(info, "qemu_exit", json_string(st));
	}
	hb_netpeer_close(&q->peer);
	if (q->console_fd >= 0)
		close(q->console_fd);
	q->console_fd = -1;
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
	.flags = HB_BE_VM | HB_BE_HOST_VIEW,
	.opts = qemu_opts,
	.nopts = HB_ARRAY_SIZE(qemu_opts),
	.priv_size = sizeof(struct qemu),
	.supported = qemu_supported,
	.check = qemu_check,
	.launch = qemu_launch,
	.start = qemu_start,
	.run = qemu_run,
	.stop = qemu_stop,
};
