/*
 * cgroup.c — CPU caps through control groups, v2 or v1 (see cgroup.h). Everything is found
 * from /proc/self/mountinfo (a unit test's fake: hb_cgroup_test_mounts); nothing outside the
 * groups hvbench names is ever written, except "+cpu" into a v2 root's
 * cgroup.subtree_control (enabling the controller for its children).
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes text into dir/file (one write: the kernel takes it whole or refuses). */
static int put(const char *dir, const char *file, const char *text, struct hb_err *e)
{
	char p[PATH_MAX + 64];
	int fd, rc = 0;
	size_t n = strlen(text);

	if (hb_snprintf(p, sizeof(p), "%s/%s", dir, file))
		return hb_err_set(e, HB_EINVAL, "cgroup: path too long");
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hb_err_errno(e, HB_EIO, "cgroup: cannot open %s", p);
	if (write(fd, text, n) != (ssize_t)n)
		rc = hb_err_errno(e, HB_EIO, "cgroup: cannot write \"%s\" to %s", text, p);
	close(fd);
	return rc;
}

/* 1 when the space-separated list holds word. */
static int has_word(const char *list, const char *word, const char *seps)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, seps);
		if (l == wl && !strncmp(p, word, wl))
			return 1;
		p += l;
		p += strspn(p, seps);
	}
	return 0;
}

/* hb_cgroup_test_mounts: the fake hierarchies of a unit test (test_set: in use). */
static int test_set;
static char test_v2[PATH_MAX], test_v1[PATH_MAX];

void hb_cgroup_test_mounts(const char *v2, const char *v1)
{
	test_set = v2 || v1;
	hb_strlcpy(test_v2, v2 ? v2 : "", sizeof(test_v2));
	hb_strlcpy(test_v1, v1 ? v1 : "", sizeof(test_v1));
}

/* The mount points of the cgroup2 hierarchy and of the v1 hierarchy holding "cpu". */
static void mounts(char *v2, char *v1, size_t len)
{
	FILE *f;
	char line[4096];

	v2[0] = v1[0] = '\0';
	if (test_set) {
		hb_strlcpy(v2, test_v2, len);
		hb_strlcpy(v1, test_v1, len);
		return;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], fstype[64], opts[1024];
		const char *dash = strstr(line, " - ");
		/* id parent maj:min root mountpoint ... - fstype source superopts */
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (!strcmp(fstype, "cgroup2") && !v2[0])
			hb_strlcpy(v2, mnt, len);
		else if (!strcmp(fstype, "cgroup") && has_word(opts, "cpu", ",") && !v1[0])
			hb_strlcpy(v1, mnt, len);
	}
	fclose(f);
}

int hb_cgroup_probe(struct hb_cgroup *cg, struct hb_err *e)
{
	char v2[PATH_MAX], v1[PATH_MAX], p[PATH_MAX + 32], *txt = NULL;
	size_t n = 0;
	struct hb_err re = {0};

	memset(cg, 0, sizeof(*cg));
	mounts(v2, v1, sizeof(v2));
	if (v2[0] && !hb_snprintf(p, sizeof(p), "%s/cgroup.controllers", v2) &&
	    hb_read_file(p, 4096, &txt, &n, &re) == 0) {
		int cpu = has_word(txt, "cpu", " \n");
		free(txt);
		if (cpu) {
			cg->v2 = 1;
			hb_strlcpy(cg->root, v2, sizeof(cg->root));
			return 0;
		}
	}
	if (v1[0]) {
		if (hb_snprintf(p, sizeof(p), "%s/cpu.cfs_quota_us", v1) || access(p, W_OK))
			return hb_err_set(e, HB_EUNSUPP,
					  "cgroup v1 cpu hierarchy %s is not writable", v1);
		hb_strlcpy(cg->root, v1, sizeof(cg->root));
		return 0;
	}
	if (v2[0])
		return hb_err_set(
			e, HB_EUNSUPP,
			"no cgroup hierarchy with the cpu controller: %s/cgroup.controllers "
			"lacks \"cpu\" (or is unreadable) and no v1 hierarchy has it",
			v2);
	return hb_err_set(e, HB_EUNSUPP,
			  "no cgroup hierarchy with the cpu controller: no cgroup2 mount and no v1 "
			  "hierarchy has it");
}

/* The quota of cpus CPUs per period_us on group dir. */
static int set_quota(int v2, const char *dir, double cpus, int period_us, struct hb_err *e)
{
	char q[64];
	long quota = (long)(cpus * period_us + 0.5);
	int rc;

	if (quota < 1000)
		quota = 1000; /* the kernel's least quota: 1 ms */
	if (v2) {
		hb_snprintf(q, sizeof(q), "%ld %d", quota, period_us);
		return put(dir, "cpu.max", q, e);
	}
	hb_snprintf(q, sizeof(q), "%d", period_us);
	rc = put(dir, "cpu.cfs_period_us", q, e);
	hb_snprintf(q, sizeof(q), "%ld", quota);
	if (!rc)
		rc = put(dir, "cpu.cfs_quota_us", q, e);
	return rc;
}

int hb_cgroup_create(struct hb_cgroup *cg, const char *tag, double cpus, int period_us,
		     struct hb_err *e)
{
	struct hb_err ce = {0}; /* enabling cpu for the root's children (may be on already) */
	int rc;

	if (!(cpus > 0) || cpus > 1024)
		return hb_err_set(e, HB_EINVAL, "cgroup: a cap of %g CPUs is out of range", cpus);
	if (!period_us)
		period_us = HB_CGROUP_PERIOD_US;
	if (period_us < HB_CGROUP_PERIOD_MIN_US || period_us > HB_CGROUP_PERIOD_MAX_US)
		return hb_err_set(e, HB_EINVAL,
				  "cgroup: a period of %d us is out of range (%d..%d us)",
				  period_us, HB_CGROUP_PERIOD_MIN_US, HB_CGROUP_PERIOD_MAX_US);
	rc = hb_cgroup_probe(cg, e);
	if (rc)
		return rc;
	hb_cgroup_cleanup_stale();
	if (hb_snprintf(cg->path, sizeof(cg->path), "%s/hvbench-%d-%s", cg->root, (int)getpid(),
			tag)) {
		cg->path[0] = '\0';
		return hb_err_set(e, HB_EINVAL, "cgroup: path too long");
	}
	/* the whole name: a '/' in the tag would name a group elsewhere */
	for (char *c = cg->path + strlen(cg->root) + 1; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
			    *c))
			*c = '_';
	if (cg->v2)
		put(cg->root, "cgroup.subtree_control", "+cpu", &ce);
	if (mkdir(cg->path, 0755) && errno != EEXIST) {
		rc = hb_err_errno(e, HB_EIO, "cgroup: cannot create %s", cg->path);
		cg->path[0] = '\0';
		return rc;
	}
	cg->cpus = cpus;
	cg->period_us = period_us;
	rc = set_quota(cg->v2, cg->path, cpus, period_us, e);
	if (rc && ce.code) /* the likely cause (e.g. EBUSY: a container's root has processes) */
		hb_err_prefix(e, "%s; then", ce.msg);
	if (rc)
		hb_cgroup_destroy(cg);
	return rc;
}

int hb_cgroup_add(struct hb_cgroup *cg, pid_t pid, struct hb_err *e)
{
	char p[32];

	if (!cg->path[0])
		return hb_err_set(e, HB_EINVAL, "cgroup: no group");
	hb_snprintf(p, sizeof(p), "%d", (int)pid);
	return put(cg->path, "cgroup.procs", p, e);
}

int hb_cgroup_add_threads(struct hb_cgroup *cg, pid_t pid, const pid_t *tids, int n,
			  struct hb_err *e)
{
	char sub[PATH_MAX + 32], num[32];
	int rc = 0;

	if (!cg->path[0])
		return hb_err_set(e, HB_EINVAL, "cgroup: no group");
	if (n < 1)
		return hb_err_set(e, HB_EINVAL, "cgroup: no thread ids to cap");
	cg->threaded = 1;
	if (!cg->v2) {
		/* v1 places threads one by one: the quota of the group is theirs alone */
		for (int i = 0; i < n && !rc; i++) {
			hb_snprintf(num, sizeof(num), "%d", (int)tids[i]);
			rc = put(cg->path, "tasks", num, e);
		}
		return rc;
	}
	/* v2 places processes in domain groups and threads only inside a threaded subtree: the
	 * group (its quota lifted) becomes the subtree's root holding the process, its threaded
	 * child the threads and the quota */
	if (hb_snprintf(sub, sizeof(sub), "%s/%s", cg->path, HB_CGROUP_THREADS))
		return hb_err_set(e, HB_EINVAL, "cgroup: path too long");
	rc = put(cg->path, "cpu.max", "max", e);
	if (!rc && mkdir(sub, 0755) && errno != EEXIST)
		rc = hb_err_errno(e, HB_EIO, "cgroup: cannot create %s", sub);
	if (!rc)
		rc = put(sub, "cgroup.type", "threaded", e);
	if (!rc)
		rc = put(cg->path, "cgroup.subtree_control", "+cpu", e);
	if (!rc)
		rc = set_quota(1, sub, cg->cpus, cg->period_us, e);
	hb_snprintf(num, sizeof(num), "%d", (int)pid);
	if (!rc)
		rc = put(cg->path, "cgroup.procs", num, e);
	for (int i = 0; i < n && !rc; i++) {
		hb_snprintf(num, sizeof(num), "%d", (int)tids[i]);
		rc = put(sub, "cgroup.threads", num, e);
	}
	return rc;
}

/* Removes the (emptied) child groups of dir: hvbench makes at most one level. */
static void rm_children(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX + 256];
	struct stat st;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || hb_snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) ||
		    lstat(p, &st) || !S_ISDIR(st.st_mode))
			continue;
		for (int i = 0; i < 50 && rmdir(p) && errno == EBUSY; i++)
			hb_sleep(0.02, NULL);
	}
	closedir(d);
}

/* Moves the processes of dir (with all their threads, wherever below dir) to root and
 * removes dir. */
static void remove_group(const char *root, const char *dir)
{
	char p[PATH_MAX + 32], *txt = NULL, *save = NULL, *tok;
	size_t n = 0;
	struct hb_err e = {0};

	if (hb_snprintf(p, sizeof(p), "%s/cgroup.procs", dir) == 0 &&
	    hb_read_file(p, 1 << 20, &txt, &n, &e) == 0) {
		for (tok = strtok_r(txt, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
			hb_err_clear(&e);
			put(root, "cgroup.procs", tok, &e);
		}
		free(txt);
	}
	/* children next (a threaded child: its threads left with their process above) */
	rm_children(dir);
	/* an exiting process may linger a moment in the group */
	for (int i = 0; i < 50 && rmdir(dir) && errno == EBUSY; i++)
		hb_sleep(0.02, NULL);
}

void hb_cgroup_destroy(struct hb_cgroup *cg)
{
	if (!cg->path[0])
		return;
	remove_group(cg->root, cg->path);
	cg->path[0] = '\0';
}

static void cleanup_in(const char *root)
{
	DIR *d;
	struct dirent *de;

	if (!root[0] || !(d = opendir(root)))
		return;
	while ((de = readdir(d))) {
		char num[16], path[PATH_MAX + 256];
		const char *p = de->d_name, *dash;
		long pid;
		if (strncmp(p, "hvbench-", 8))
			continue;
		dash = strchr(p + 8, '-');
		if (!dash || (size_t)(dash - (p + 8)) >= sizeof(num))
			continue;
		memcpy(num, p + 8, (size_t)(dash - (p + 8)));
		num[dash - (p + 8)] = '\0';
		if (hb_parse_long(num, 1, INT_MAX, &pid) || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		if (hb_snprintf(path, sizeof(path), "%s/%s", root, p) == 0)
			remove_group(root, path);
	}
	closedir(d);
}

void hb_cgroup_cleanup_stale(void)
{
	char v2[PATH_MAX], v1[PATH_MAX];

	mounts(v2, v1, sizeof(v2));
	cleanup_in(v2);
	cleanup_in(v1);
}
