/*
 * kvmprobe.c — the fast KVM verdict (see kvmprobe.h). A guest that boots under KVM writes to
 * its serial console within a fraction of a second (the kernel runs with earlyprintk while
 * probed); one that cannot boot stays silent with its vCPU parked at one instruction. The
 * watch reads both, so the "KVM cannot boot here" verdict takes ~2 s instead of a full hello
 * timeout, and the verdict cache makes it 0 s on every later run on the same host.
 */
#include "kvmprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#define CACHE_FILE   "kvm-verdicts.json"
#define CACHE_SCHEMA "hvbench/kvm-verdicts/1"
#define CACHE_MAX    64 /* entries; the file is cleared beyond (hosts rarely change this often) */

/* Appends "name=value;" to the facts, bounded. */
static void fact(struct hb_kvm_key *k, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fact(struct hb_kvm_key *k, const char *name, const char *fmt, ...)
{
	size_t off = strlen(k->facts);
	char v[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	hb_snprintf(k->facts + off, sizeof(k->facts) - off, "%s=%s;", name, v);
}

static void file_fact(struct hb_kvm_key *k, const char *name, const char *path)
{
	struct stat st;

	if (path && path[0] && stat(path, &st) == 0)
		fact(k, name, "%s:%lld:%lld", path, (long long)st.st_size, (long long)st.st_mtime);
	else
		fact(k, name, "%s:missing", path ? path : "");
}

/* The first line of a small file, trimmed ("" when unreadable). */
static void line_of(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

int hb_kvm_key(const char *qemu_bin, const char *guest_kernel, struct hb_kvm_key *k)
{
	struct utsname u;
	struct stat st;
	char qpath[PATH_MAX], line[512], model[256] = "", nested[64];
	int fd, hyper = 0;
	unsigned long long h = 1469598103934665603ULL;
	FILE *f;

	memset(k, 0, sizeof(*k));
	if (uname(&u) == 0)
		fact(k, "host", "%s %s", u.release, u.version);
	if (stat("/dev/kvm", &st) == 0)
		fact(k, "dev", "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		fact(k, "api", "%d", ioctl(fd, KVM_GET_API_VERSION, 0));
		close(fd);
	}
	line_of("/sys/module/kvm_intel/parameters/nested", nested, sizeof(nested));
	if (nested[0])
		fact(k, "kvm_intel.nested", "%s", nested);
	line_of("/sys/module/kvm_amd/parameters/nested", nested, sizeof(nested));
	if (nested[0])
		fact(k, "kvm_amd.nested", "%s", nested);
	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (!model[0] && !strncmp(line, "model name", 10) && strchr(line, ':'))
			hb_strlcpy(model, strchr(line, ':') + 2, sizeof(model));
		if (!strncmp(line, "flags", 5)) {
			hyper = strstr(line, " hypervisor") != NULL;
			break;
		}
	}
	if (f)
		fclose(f);
	model[strcspn(model, "\n")] = '\0';
	fact(k, "cpu", "%s%s", model, hyper ? " (hypervisor)" : "");
	file_fact(k, "qemu", hb_find_exe(qemu_bin, qpath, sizeof(qpath)) == 0 ? qpath : qemu_bin);
	if (guest_kernel)
		file_fact(k, "guest", guest_kernel);
	else /* a finding about this host and QEMU, whatever the guest */
		fact(k, "finding", "-cpu host refused (MSR)");
	for (const unsigned char *p = (const unsigned char *)k->facts; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	hb_snprintf(k->hash, sizeof(k->hash), "%016llx", h);
	return 0;
}

int hb_kvm_cache_path(char *buf, size_t len)
{
	const char *d = getenv("HVBENCH_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"),
		   *home = getenv("HOME");
	int rc;

	if (d && d[0])
		rc = hb_snprintf(buf, len, "%s/%s", d, CACHE_FILE);
	else if (x && x[0])
		rc = hb_snprintf(buf, len, "%s/hvbench/%s", x, CACHE_FILE);
	else if (home && home[0])
		rc = hb_snprintf(buf, len, "%s/.cache/hvbench/%s", home, CACHE_FILE);
	else
		return HB_EUNSUPP;
	return rc ? HB_EUNSUPP : 0;
}

static const char *str_or(const json_t *s)
{
	return json_is_string(s) ? json_string_value(s) : "";
}

static json_t *load(const char *path)
{
	json_t *root = json_load_file(path, 0, NULL);

	if (!json_is_object(root) ||
	    strcmp(str_or(json_object_get(root, "schema")), CACHE_SCHEMA) ||
	    !json_is_object(json_object_get(root, "verdicts"))) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int hb_kvm_cache_get(const char *path, const struct hb_kvm_key *k, json_t **entry)
{
	json_t *root = load(path), *v;

	*entry = NULL;
	if (!root)
		return 0;
	v = json_object_get(json_object_get(root, "verdicts"), k->hash);
	if (json_is_object(v) && json_is_string(json_object_get(v, "verdict")) &&
	    !strcmp(str_or(json_object_get(v, "facts")), k->facts))
		*entry = json_incref(v);
	json_decref(root);
	return *entry != NULL;
}

int hb_kvm_cache_put(const char *path, const struct hb_kvm_key *k, int ok, const char *reason,
		     double probe_s, struct hb_err *e)
{
	json_t *root = load(path), *verdicts;
	char dir[PATH_MAX], when[40], *slash, *txt = NULL;
	int rc;

	if (!root || json_object_size(json_object_get(root, "verdicts")) >= CACHE_MAX) {
		json_decref(root);
		root = json_pack("{s:s, s:{}}", "schema", CACHE_SCHEMA, "verdicts");
		if (!root)
			return hb_err_set(e, HB_ENOMEM, "out of memory");
	}
	verdicts = json_object_get(root, "verdicts");
	hb_utc_now(when, sizeof(when));
	json_object_set_new(verdicts, k->hash,
			    json_pack("{s:s, s:s, s:s, s:f, s:s}", "verdict", ok ? "ok" : "fail",
				      "reason", reason ? reason : "", "when", when, "probe_s",
				      probe_s, "facts", k->facts));
	if (hb_strlcpy(dir, path, sizeof(dir))) {
		rc = hb_err_set(e, HB_EINVAL, "cache path too long");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = hb_mkdirs(dir, 0700, e);
		if (rc)
			goto out;
	}
	txt = json_dumps(root, JSON_INDENT(1));
	if (!txt) {
		rc = hb_err_set(e, HB_ENOMEM, "out of memory");
		goto out;
	}
	rc = hb_write_atomic(path, txt, strlen(txt), 0644, e);
out:
	free(txt);
	json_decref(root);
	return rc;
}

int hb_kvm_verdict_lookup(const char *mode, const char *qemu_bin, const char *guest_kernel,
			  char *reason, size_t len)
{
	struct hb_kvm_key k;
	char path[PATH_MAX];
	json_t *v = NULL;
	int hit = 0;

	if (strcmp(mode, "use") || hb_kvm_cache_path(path, sizeof(path)))
		return 0;
	hb_kvm_key(qemu_bin, guest_kernel, &k);
	if (hb_kvm_cache_get(path, &k, &v) &&
	    !strcmp(str_or(json_object_get(v, "verdict")), "fail")) {
		const char *why = json_string_value(json_object_get(v, "reason"));
		const char *when = json_string_value(json_object_get(v, "when"));
		hb_snprintf(reason, len,
			    "kvm: %s; fell back to tcg (verdict cached %s in %s; "
			    "kvm_probe_cache \"refresh\" probes again)",
			    why ? why : "cannot boot", when ? when : "?", path);
		hit = 1;
	}
	json_decref(v);
	return hit;
}

void hb_kvm_verdict_record(const char *mode, const char *qemu_bin, const char *guest_kernel, int ok,
			   const char *reason, double probe_s)
{
	struct hb_kvm_key k;
	char path[PATH_MAX];
	struct hb_err e = {0};

	if (!strcmp(mode, "off") || hb_kvm_cache_path(path, sizeof(path)))
		return;
	hb_kvm_key(qemu_bin, guest_kernel, &k);
	hb_kvm_cache_put(path, &k, ok, reason, probe_s, &e);
}

int hb_kvm_msr_lookup(const char *mode, const char *qemu_bin)
{
	struct hb_kvm_key k;
	char path[PATH_MAX];
	json_t *v = NULL;
	int hit;

	if (strcmp(mode, "use") || hb_kvm_cache_path(path, sizeof(path)))
		return 0;
	hb_kvm_key(qemu_bin, NULL, &k);
	hit = hb_kvm_cache_get(path, &k, &v) &&
	      !strcmp(str_or(json_object_get(v, "verdict")), "fail");
	json_decref(v);
	return hit;
}

/* The MSR finding is a failed verdict keyed by host and QEMU alone (no guest). */
void hb_kvm_msr_record(const char *mode, const char *qemu_bin, const char *reason)
{
	hb_kvm_verdict_record(mode, qemu_bin, NULL, 0, reason, 0);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

void hb_kvm_watch_init(struct hb_kvm_watch *w, const char *console_path, double window)
{
	memset(w, 0, sizeof(*w));
	hb_strlcpy(w->console, console_path, sizeof(w->console));
	w->console0 = file_size(console_path);
	w->t0 = hb_now();
	w->window = window;
}

int hb_kvm_parse_rip(const char *text, unsigned long long *rip)
{
	const char *p = text ? strstr(text, "RIP=") : NULL;
	char *end;

	if (!p)
		return HB_EPROTO;
	errno = 0;
	*rip = strtoull(p + 4, &end, 16);
	return errno || end == p + 4 ? HB_EPROTO : 0;
}

/* RIP of the first vCPU through HMP; 0 when read. */
static int read_rip(struct hb_qmp *qmp, unsigned long long *rip)
{
	json_t *ret = NULL;
	struct hb_err e = {0};
	int rc = hb_qmp_cmd(qmp, "human-monitor-command",
			    json_pack("{s:s}", "command-line", "info registers"), 2.0, &ret, &e);

	if (rc == 0)
		rc = hb_kvm_parse_rip(json_string_value(ret), rip);
	json_decref(ret);
	return rc;
}

/* vCPU 0's thread id through QMP (0: not yet, -1: QMP cannot say). */
static pid_t vcpu0_tid(struct hb_qmp *qmp)
{
	json_t *ret = NULL, *tid;
	struct hb_err e = {0};
	pid_t t = -1;

	if (hb_qmp_cmd(qmp, "query-cpus-fast", NULL, 2.0, &ret, &e))
		return 0;
	tid = json_object_get(json_array_get(ret, 0), "thread-id");
	if (json_is_integer(tid) && json_integer_value(tid) > 0)
		t = (pid_t)json_integer_value(tid);
	json_decref(ret);
	return t;
}

/* CPU seconds (user + system: guest time is in user) of thread tid; -1 when unreadable. */
static double thread_cpu_s(pid_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	if (hb_snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
	 * stime */
	if (!p ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int hb_kvm_watch_stalled(struct hb_kvm_watch *w, struct hb_qmp *qmp, char *why, size_t len)
{
	unsigned long long rip[3];
	int i;

	if (w->progress)
		return 0;
	if (file_size(w->console) > w->console0) {
		w->progress = 1;
		return 0;
	}
	if (!qmp)
		return 0;
	if (w->vcpu_tid == 0)
		w->vcpu_tid = vcpu0_tid(qmp);
	if (w->vcpu_tid > 0)
		w->vcpu_cpu_s = thread_cpu_s(w->vcpu_tid);
	if (hb_now() - w->t0 < w->window && w->vcpu_cpu_s < HB_KVM_STALL_CPU_S)
		return 0;
	for (i = 0; i < 3; i++) {
		if (i)
			hb_sleep(0.1, NULL);
		if (read_rip(qmp, &rip[i]))
			return 0; /* no evidence: keep waiting for the hello */
	}
	if (file_size(w->console) > w->console0) {
		w->progress = 1;
		return 0;
	}
	if (rip[0] != rip[1] || rip[1] != rip[2])
		return 0;
	if (w->vcpu_tid > 0)
		w->vcpu_cpu_s = thread_cpu_s(w->vcpu_tid);
	hb_snprintf(why, len,
		    "guest made no progress: no console output in %.1f s (%.2f s of vCPU 0 CPU "
		    "time) and vCPU 0 stuck at RIP=%#llx",
		    hb_now() - w->t0, w->vcpu_cpu_s > 0 ? w->vcpu_cpu_s : 0.0, rip[0]);
	return 1;
}
