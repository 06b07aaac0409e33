/*
 * wl_disk.c — the disk workload: one fio job (generated from the parameter table, fed to fio on
 * stdin), run as a child with a hard deadline, its JSON parsed by bench/fio.c. fio does all the
 * I/O. The target is the file or device the suite created (ctx->disk_path, resolved once with
 * realpath and that name given to fio; names fio would reinterpret are refused) or a
 * scratch file created here inside ctx->scratch_dir and deleted on every path.
 */
#include "workload.h"
#include "child.h"
#include "fio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const rw_modes[] = {"randread", "randwrite", "read", "write", "randrw", NULL};
static const char *const engines[] = {"libaio", "io_uring", "psync", "sync", NULL};

static const struct hb_param params[] = {
	{"rw", HB_P_ENUM, 0, 0, "randread", rw_modes, "I/O pattern (fio rw=)"},
	{"bs", HB_P_SIZE, 512, 64 << 20, "4k", NULL, "block size"},
	{"iodepth", HB_P_INT, 1, 1024, "32", NULL, "I/Os in flight per job (async engines)"},
	{"numjobs", HB_P_INT, 1, 64, "1", NULL, "parallel fio jobs (reported as one group)"},
	{"ioengine", HB_P_ENUM, 0, 0, "libaio", engines, "fio I/O engine"},
	{"size", HB_P_SIZE, 64 << 10, 1ULL << 40, "256M", NULL,
	 "bytes of the file/device used (the scratch file's size)"},
	{"direct", HB_P_BOOL, 0, 0, "true", NULL, "O_DIRECT (bypass the page cache)"},
	{"time_based", HB_P_BOOL, 0, 0, "true", NULL, "run for the duration, rewinding as needed"},
	{"rwmixread", HB_P_INT, 0, 100, "50", NULL, "percent reads for randrw"},
};

/* Finds an executable named name in PATH (or takes it as is when it has a '/'). */
static int find_exe(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	const char *p;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 && !hb_strlcpy(buf, name, len) ? 0 : -1;
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path; *p;) {
		const char *end = strchr(p, ':');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		if (l > 0 && !hb_snprintf(buf, len, "%.*s/%s", (int)l, p, name) &&
		    access(buf, X_OK) == 0)
			return 0;
		p += l;
		if (*p == ':')
			p++;
	}
	return -1;
}

static int supported(char *why, size_t len)
{
	char exe[PATH_MAX];

	if (find_exe("fio", exe, sizeof(exe))) {
		snprintf(why, len, "fio not found in PATH");
		return HB_EUNSUPP;
	}
	return 0;
}

/* Size of the suite-provided target: a regular file or a block device, nothing else. */
static int target_size(const char *path, unsigned long long *size, struct hb_err *e)
{
	struct stat st;
	int fd, rc = 0;

	if (stat(path, &st))
		return hb_err_errno(e, HB_EIO, "disk: %s", path);
	if (S_ISREG(st.st_mode)) {
		*size = (unsigned long long)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return hb_err_set(e, HB_EINVAL,
				  "disk: %s is neither a regular file nor a block device", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hb_err_errno(e, HB_EIO, "disk: cannot open %s", path);
	if (ioctl(fd, BLKGETSIZE64, size))
		rc = hb_err_errno(e, HB_EIO, "disk: cannot get the size of %s", path);
	close(fd);
	return rc;
}

/* The text fio printed on stdout before its JSON (warnings, e.g. about O_DIRECT). */
static void pre_json(const char *out, char *buf, size_t len)
{
	const char *p = out;
	size_t n;

	while (p && *p && *p != '{') {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	n = p ? (size_t)(p - out) : strlen(out);
	if (n >= len)
		n = len - 1;
	memcpy(buf, out, n);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
}

static int run(const struct hb_wl_ctx *ctx, const json_t *p, struct hb_sample *out,
	       struct hb_err *e)
{
	const char *fio = ctx->fio_path ? ctx->fio_path : "fio";
	char scratch[PATH_MAX] = "", target[PATH_MAX], job[4096], pre[512], st[64];
	char *argv[] = {(char *)fio, "--output-format=json+", "--eta=never", "-", NULL};
	struct hb_fio_job j;
	struct hb_child c;
	struct hb_child_out r;
	struct hb_err cerr;
	const char *ferr = "", *fout = "";
	double deadline;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(&j, 0, sizeof(j));
	j.rw = hb_param_str(p, "rw");
	j.bs = (unsigned long long)hb_param_int(p, "bs");
	j.size = (unsigned long long)hb_param_int(p, "size");
	j.iodepth = (int)hb_param_int(p, "iodepth");
	j.numjobs = (int)hb_param_int(p, "numjobs");
	j.ioengine = hb_param_str(p, "ioengine");
	j.direct = hb_param_bool(p, "direct");
	j.time_based = hb_param_bool(p, "time_based");
	j.rwmixread = (int)hb_param_int(p, "rwmixread");
	j.runtime = ctx->duration;
	j.ramp = ctx->ramp > 0 ? ctx->ramp : 0;
	if (!j.rw || !j.ioengine)
		return hb_err_set(e, HB_EINVAL, "disk: parameters were not validated");
	if (ctx->duration <= 0)
		return hb_err_set(e, HB_EINVAL, "disk: duration must be positive");
	if (j.bs > j.size)
		return hb_err_set(e, HB_EINVAL, "disk: bs (%llu) is larger than size (%llu)", j.bs,
				  j.size);

	if (ctx->disk_path && *ctx->disk_path) {
		unsigned long long have;
		/* resolve once: fio gets the very file that was sized and checked */
		if (!realpath(ctx->disk_path, target))
			return hb_err_errno(e, HB_EIO, "disk: %s", ctx->disk_path);
		rc = target_size(target, &have, e);
		if (rc)
			return rc;
		/* fio would re-create (unlink!) a file smaller than size= */
		if (have < j.size)
			return hb_err_set(e, HB_EINVAL,
					  "disk: %s has %llu bytes, less than the job's size %llu; "
					  "lower \"size\" or give a larger disk",
					  ctx->disk_path, have, j.size);
		j.filename = target;
		j.no_create = 1;
	} else if (ctx->scratch_dir && *ctx->scratch_dir) {
		struct timespec ts;
		int fd;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (hb_snprintf(scratch, sizeof(scratch), "%s/hvbench-fio-%d-%ld.dat",
				ctx->scratch_dir, (int)getpid(), (long)ts.tv_nsec))
			return hb_err_set(e, HB_EINVAL, "disk: scratch path too long");
		/* Claim the name: never touch a file someone else owns. fio sizes it. */
		fd = open(scratch, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return hb_err_errno(e, HB_EIO, "disk: cannot create scratch file %s",
					    scratch);
		close(fd);
		j.filename = scratch;
	} else {
		return hb_err_set(e, HB_EINVAL,
				  "disk: neither a disk path nor a scratch directory given");
	}

	rc = hb_fio_job_text(&j, job, sizeof(job), e);
	if (rc)
		goto out;
	deadline = ctx->timeout > 0 ? hb_now() + ctx->timeout : 0;
	hb_err_clear(&cerr);
	rc = hb_child_spawn(&c, argv, job, &cerr);
	if (rc) {
		hb_err_set(e, rc, "disk: cannot start %s: %s", fio, cerr.msg);
		goto out;
	}
	rc = hb_child_wait(&c, "fio", deadline, ctx->stop, 64 << 20, &r, &cerr);
	ferr = r.err ? r.err : "";
	fout = r.out ? r.out : "";
	if (rc == HB_ETIMEDOUT) {
		hb_err_set(
			e, rc,
			"disk: fio did not finish within the %.1f s timeout (runtime %.1f s + ramp "
			"%.1f s + file layout), killed it%s%s",
			ctx->timeout, j.runtime, j.ramp, ferr[0] ? "; fio stderr: " : "",
			hb_tail(ferr, 300));
		goto out;
	}
	if (rc == HB_EINTR) {
		hb_err_set(e, rc, "disk: interrupted, fio killed");
		goto out;
	}
	if (rc) {
		hb_err_set(e, rc, "disk: %s", cerr.msg);
		goto out;
	}
	pre_json(fout, pre, sizeof(pre));
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
		struct hb_sample tmp;
		struct hb_err perr;
		hb_sample_init(&tmp);
		hb_err_clear(&perr);
		hb_fio_parse(fout, &tmp, &perr);
		hb_sample_free(&tmp);
		hb_child_status_str(r.status, st, sizeof(st));
		rc = hb_err_set(e, HB_ECHILD, "disk: fio failed (%s) on %s%s%s%s%s%s%s", st,
				j.filename, perr.msg[0] ? ": " : "", perr.msg,
				pre[0] ? "; fio said: " : "", pre, ferr[0] ? "; stderr: " : "",
				hb_tail(ferr, 300));
		goto out;
	}
	hb_err_clear(&cerr);
	rc = hb_fio_parse(fout, out, &cerr);
	if (rc) {
		hb_err_set(e, rc, "disk: %s%s%s", cerr.msg, ferr[0] ? "; fio stderr: " : "",
			   hb_tail(ferr, 300));
		goto out;
	}
	if (out->measured_s > 0)
		out->active_s = out->measured_s + j.ramp;
	hb_sample_info(out, "fio_path", json_string(fio));
	hb_sample_info(out, "path", json_string(j.filename));
	hb_sample_info(out, "target", json_string(scratch[0] ? "scratch-file" : "device"));
	hb_sample_info(out, "job", json_string(job));
	if (pre[0])
		hb_sample_info(out, "fio_warnings", json_string(pre));
out:
	hb_child_out_free(&r);
	if (scratch[0] && unlink(scratch) && errno != ENOENT && !rc)
		rc = hb_err_errno(e, HB_EIO, "disk: cannot remove scratch file %s", scratch);
	return rc;
}

static const struct hb_metric_def metrics[] = {
	{"iops", "IOPS", 1, HB_AREA_STORAGE, HB_ROLE_HEADLINE, HB_CMP_RATIO,
	 "I/O operations per second (fio, read + write)"},
	{"bw", "MiB/s", 1, HB_AREA_STORAGE, HB_ROLE_HEADLINE, HB_CMP_RATIO,
	 "bandwidth (fio, read + write)"},
	{"clat_p50", "us", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "median completion latency"},
	{"clat_p99", "us", 0, HB_AREA_LATENCY, HB_ROLE_DETAIL, HB_CMP_DELTA,
	 "99th percentile completion latency"},
	{"clat_p999", "us", 0, HB_AREA_LATENCY, HB_ROLE_DIAGNOSTIC, HB_CMP_DELTA,
	 "99.9th percentile completion latency"},
	{"fio_usr_cpu", "%", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "fio's user CPU (of its own clock: host and guest differ in meaning)"},
	{"fio_sys_cpu", "%", 0, HB_AREA_DIAG, HB_ROLE_DIAGNOSTIC, HB_CMP_NONE,
	 "fio's system CPU (of its own clock: host and guest differ in meaning)"},
};

/* Queue depth 1 answers with latency, large blocks with bandwidth, small ones with IOPS. */
static const char *headline(const json_t *p)
{
	if (hb_param_int(p, "iodepth") == 1 && hb_param_int(p, "numjobs") == 1)
		return "clat_p50";
	return hb_param_int(p, "bs") >= 65536 ? "bw" : "iops";
}

const struct hb_workload hb_wl_disk = {
	.name = "disk",
	.kind = "disk",
	.help = "storage I/O with fio (IOPS, MiB/s, completion latency percentiles)",
	.params = params,
	.nparams = HB_ARRAY_SIZE(params),
	.metrics = metrics,
	.nmetrics = HB_ARRAY_SIZE(metrics),
	.headline = headline,
	.supported = supported,
	.run = run,
};
