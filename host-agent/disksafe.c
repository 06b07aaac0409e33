/*
 * disksafe.c — refuses disk targets that hold data (see disksafe.h). Signatures are checked
 * at their documented offsets: ext2/3/4, XFS, Btrfs, swap, LVM2, Linux md (1.1/1.2), LUKS,
 * NTFS, FAT, ISO 9660, and MBR/GPT partition tables.
 */
#include "disksafe.h"
#include "fio.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROBE_BYTES (68 * 1024)

struct sig {
	const char *name;
	size_t off;
	const char *magic;
	size_t len;
};

static const struct sig sigs[] = {
	{"ext2/3/4 filesystem", 0x438, "\x53\xef", 2},
	{"XFS filesystem", 0, "XFSB", 4},
	{"Btrfs filesystem", 0x10040, "_BHRfS_M", 8},
	{"swap space", 4086, "SWAPSPACE2", 10},
	{"swap space", 4086, "SWAP-SPACE", 10},
	{"LVM2 physical volume", 512 + 24, "LVM2 001", 8},
	{"Linux md RAID member", 4096, "\xfc\x4e\x2b\xa9", 4},
	{"Linux md RAID member", 0, "\xfc\x4e\x2b\xa9", 4},
	{"LUKS encrypted volume", 0, "LUKS\xba\xbe", 6},
	{"NTFS filesystem", 3, "NTFS    ", 8},
	{"FAT filesystem", 0x36, "FAT", 3},
	{"FAT32 filesystem", 0x52, "FAT32", 5},
	{"ISO 9660 filesystem", 0x8001, "CD001", 5},
	{"GPT partition table", 512, "EFI PART", 8},
};

const char *hb_disk_signature(int fd)
{
	unsigned char *buf = malloc(PROBE_BYTES);
	const char *found = NULL;
	ssize_t n;
	size_t i;

	if (!buf)
		return NULL;
	n = pread(fd, buf, PROBE_BYTES, 0);
	if (n <= 0)
		goto out;
	for (i = 0; i < HB_ARRAY_SIZE(sigs); i++)
		if (sigs[i].off + sigs[i].len <= (size_t)n &&
		    !memcmp(buf + sigs[i].off, sigs[i].magic, sigs[i].len)) {
			found = sigs[i].name;
			goto out;
		}
	/* An MBR: boot signature plus at least one partition entry with a type. */
	if (n >= 512 && buf[510] == 0x55 && buf[511] == 0xaa) {
		for (i = 0; i < 4; i++)
			if (buf[446 + 16 * i + 4] != 0)
				found = "MBR partition table";
	}
out:
	free(buf);
	return found;
}

/* Is major:minor (or, for a whole disk, one of its partitions) mounted or used as swap? */
static int dev_in_use(dev_t rdev, const char *path, char *why, size_t len)
{
	char line[4096], sysdir[256];
	FILE *f;
	DIR *d;
	struct dirent *de;
	unsigned ma = major(rdev), mi = minor(rdev);

	f = fopen("/proc/self/mountinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			unsigned a, b;
			char mnt[2048];
			/* id parent major:minor root mountpoint ... */
			if (sscanf(line, "%*d %*d %u:%u %*s %2047s", &a, &b, mnt) == 3 && a == ma) {
				if (b == mi) {
					snprintf(why, len, "mounted on %s", mnt);
					fclose(f);
					return 1;
				}
			}
		}
		fclose(f);
	}
	f = fopen("/proc/swaps", "r");
	if (f) {
		char real[4096];
		if (!realpath(path, real))
			hb_strlcpy(real, path, sizeof(real));
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, real, strlen(real)) && line[strlen(real)] == ' ') {
				snprintf(why, len, "in use as swap");
				fclose(f);
				return 1;
			}
		}
		fclose(f);
	}
	/* holders: a device under LVM, md, dm-crypt ... */
	snprintf(sysdir, sizeof(sysdir), "/sys/dev/block/%u:%u/holders", ma, mi);
	d = opendir(sysdir);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(why, len, "held by %s", de->d_name);
			closedir(d);
			return 1;
		}
		closedir(d);
	}
	/* a whole disk with partitions: /sys/dev/block/M:m/<name>N/partition exists */
	snprintf(sysdir, sizeof(sysdir), "/sys/dev/block/%u:%u", ma, mi);
	d = opendir(sysdir);
	if (d) {
		while ((de = readdir(d))) {
			char pfile[600];
			if (de->d_name[0] == '.')
				continue;
			snprintf(pfile, sizeof(pfile), "%s/%s/partition", sysdir, de->d_name);
			if (access(pfile, R_OK) == 0) {
				snprintf(why, len, "partitioned (has %s)", de->d_name);
				closedir(d);
				return 1;
			}
		}
		closedir(d);
	}
	return 0;
}

/* The checks proper, on a path that is already absolute and free of symlinks. */
static int check_resolved(const char *path, int allow_existing, struct hb_err *e)
{
	struct stat st;
	const char *sig;
	char why[512];
	int fd;

	if (stat(path, &st))
		return hb_err_errno(e, HB_EINVAL, "disk_target %s", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return hb_err_set(e, HB_EINVAL,
				  "disk_target %s is neither a regular file nor a block "
				  "device",
				  path);
	if (!allow_existing)
		return hb_err_set(e, HB_EINVAL,
				  "disk_target %s exists and disk workloads write over it; set "
				  "\"allow_existing\": true in the target's options to allow that",
				  path);
	if (S_ISBLK(st.st_mode) && dev_in_use(st.st_rdev, path, why, sizeof(why)))
		return hb_err_set(e, HB_EINVAL, "disk_target %s is %s: refused", path, why);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return hb_err_errno(e, HB_EINVAL, "disk_target %s", path);
	sig = hb_disk_signature(fd);
	close(fd);
	if (sig)
		return hb_err_set(
			e, HB_EINVAL,
			"disk_target %s holds data (%s signature): refused (wipe it yourself "
			"if it really is scratch)",
			path, sig);
	return 0;
}

int hb_disk_target_resolve(const char *path, int allow_existing, char *resolved, size_t len,
			   struct hb_err *e)
{
	char real[PATH_MAX];
	struct hb_err fe = {0};
	int rc;

	/* Check what fio will open, not what the profile says: a name fio would rewrite
	 * (trimmed blanks, ${VAR}, ':' lists) is refused before anything else. */
	if (hb_fio_filename_check(path, &fe))
		return hb_err_set(e, HB_EINVAL, "disk_target: %s", fe.msg);
	if (!realpath(path, real)) {
		if (errno == ENOENT)
			return hb_err_set(
				e, HB_EINVAL,
				"disk_target %s does not exist (hvbench makes its own scratch "
				"files: leave disk_target empty for that)",
				path);
		return hb_err_errno(e, HB_EINVAL, "disk_target %s", path);
	}
	if (hb_fio_filename_check(real, &fe))
		return hb_err_set(e, HB_EINVAL, "disk_target %s resolves to %s: %s", path, real,
				  fe.msg);
	rc = check_resolved(real, allow_existing, e);
	if (rc)
		return rc;
	if (resolved && hb_strlcpy(resolved, real, len))
		return hb_err_set(e, HB_EINVAL, "disk_target %s: resolved path too long", path);
	return 0;
}

int hb_disk_target_check(const char *path, int allow_existing, struct hb_err *e)
{
	return hb_disk_target_resolve(path, allow_existing, NULL, 0, e);
}
