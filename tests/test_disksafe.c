/*
 * test_disksafe.c — the guard in front of user-named disk targets: a missing path, an existing
 * file without consent, filesystem and partition-table signatures, a directory and the mounted
 * root device are refused with their reasons; a blank file with consent is accepted. The check
 * applies to what fio will open: names fio rewrites (trimmed blanks, ${VAR}, ':') are refused and
 * a symlink is resolved once, the resolved path being what fio gets (also on a loop device).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disksafe.h"

static char dir[] = "/tmp/hb-disksafe.XXXXXX";

/* A 128 KiB file of zeros with magic written at off (magic NULL: none). */
static void make_file(const char *path, size_t off, const void *magic, size_t len)
{
	char zero[4096] = {0};
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), i;

	assert_true(fd >= 0);
	for (i = 0; i < 32; i++)
		assert_int_equal(write(fd, zero, sizeof(zero)), sizeof(zero));
	if (magic)
		assert_int_equal(pwrite(fd, magic, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void expect(const char *path, int allow, int rc_want, const char *want)
{
	struct hb_err e = {0};
	int rc = hb_disk_target_check(path, allow, &e);

	if (rc != rc_want || (want && !strstr(e.msg, want)))
		print_error("%s: rc %d msg \"%s\", wanted %d \"%s\"\n", path, rc, e.msg, rc_want,
			    want ? want : "");
	assert_int_equal(rc, rc_want);
	if (want)
		assert_non_null(strstr(e.msg, want));
}

static void missing_and_consent(void **state)
{
	char p[256];

	(void)state;
	snprintf(p, sizeof(p), "%s/none", dir);
	expect(p, 1, HB_EINVAL, "does not exist");
	snprintf(p, sizeof(p), "%s/blank", dir);
	make_file(p, 0, NULL, 0);
	expect(p, 0, HB_EINVAL, "set \"allow_existing\": true");
	expect(p, 1, 0, NULL);
	expect(dir, 1, HB_EINVAL, "neither a regular file nor a block device");
}

static void signatures_refused(void **state)
{
	static const struct {
		size_t off;
		const char *magic;
		size_t len;
		const char *name;
	} cases[] = {
		{0x438, "\x53\xef", 2, "ext2/3/4 filesystem"},
		{0, "XFSB", 4, "XFS filesystem"},
		{0x10040, "_BHRfS_M", 8, "Btrfs filesystem"},
		{4086, "SWAPSPACE2", 10, "swap space"},
		{0, "LUKS\xba\xbe", 6, "LUKS encrypted volume"},
		{512, "EFI PART", 8, "GPT partition table"},
	};
	char p[256], want[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(p, sizeof(p), "%s/sig%zu", dir, i);
		make_file(p, cases[i].off, cases[i].magic, cases[i].len);
		snprintf(want, sizeof(want), "holds data (%s signature): refused", cases[i].name);
		expect(p, 1, HB_EINVAL, want);
	}
	/* MBR: 0x55AA plus a partition entry with a type byte */
	snprintf(p, sizeof(p), "%s/mbr", dir);
	make_file(p, 510, "\x55\xaa", 2);
	expect(p, 1, 0, NULL); /* boot signature alone, no partition: not a table */
	make_file(p, 446 + 4, "\x83", 1);
	{
		int fd = open(p, O_RDWR);
		assert_int_equal(pwrite(fd, "\x55\xaa", 2, 510), 2);
		close(fd);
	}
	expect(p, 1, HB_EINVAL, "MBR partition table");
}

static void mounted_root_device_refused(void **state)
{
	struct stat st;
	char uevent[128], line[256], dev[300] = "";
	FILE *f;

	(void)state;
	assert_int_equal(stat("/", &st), 0);
	snprintf(uevent, sizeof(uevent), "/sys/dev/block/%u:%u/uevent", major(st.st_dev),
		 minor(st.st_dev));
	f = fopen(uevent, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(dev, sizeof(dev), "/dev/%s", line + 8);
		}
	if (f)
		fclose(f);
	if (!dev[0] || access(dev, F_OK)) {
		print_message("SKIP: the root filesystem has no block device node here\n");
		skip();
	}
	expect(dev, 1, HB_EINVAL, "is mounted on /: refused");
}

/* Each name here passed the old check (it names a blank file) while fio opened the victim. */
static void names_fio_rewrites_refused(void **state)
{
	char p[PATH_MAX], q[PATH_MAX], cwd[PATH_MAX];
	static const char ext4[] = "\x53\xef";

	(void)state;
	snprintf(p, sizeof(p), "%s/victim", dir);
	make_file(p, 0x438, ext4, 2);
	/* "trail " (blank) next to "trail" -> victim: fio trims the blank */
	snprintf(p, sizeof(p), "%s/trail", dir);
	assert_int_equal(symlink("victim", p), 0);
	snprintf(p, sizeof(p), "%s/trail ", dir);
	make_file(p, 0, NULL, 0);
	expect(p, 1, HB_EINVAL, "ends with a blank, which fio strips");
	/* "e${HOME}" (blank) next to "e/<home>" -> victim: fio expands ${HOME} */
	snprintf(p, sizeof(p), "%s/e${HOME}", dir);
	make_file(p, 0, NULL, 0);
	expect(p, 1, HB_EINVAL, "contains '$', which fio reinterprets");
	/* " /dev/x" relative: a directory named " " in the cwd; fio would open /dev/x */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(mkdir(" ", 0700), 0);
	assert_int_equal(mkdir(" /dev", 0700), 0);
	make_file(" /dev/x", 0, NULL, 0);
	expect(" /dev/x", 1, HB_EINVAL, "starts or ends with a blank");
	assert_int_equal(chdir(cwd), 0);
	/* ':' is fio's file list separator, '\\' its escape */
	snprintf(p, sizeof(p), "%s/a:b", dir);
	make_file(p, 0, NULL, 0);
	expect(p, 1, HB_EINVAL, "contains ':'");
	/* a harmless link whose target fio would misread is refused too */
	snprintf(q, sizeof(q), "%s/colon-link", dir);
	assert_int_equal(symlink("a:b", q), 0);
	expect(q, 1, HB_EINVAL, "resolves to");
	snprintf(p, sizeof(p), "%s/back\\slash", dir);
	make_file(p, 0, NULL, 0);
	expect(p, 1, HB_EINVAL, "contains '\\'");
}

/* A symlink is resolved once; the result is what the caller gives fio. */
static void link_resolved(void **state)
{
	char p[PATH_MAX], l[PATH_MAX], got[PATH_MAX], want[PATH_MAX];
	struct hb_err e = {0};

	(void)state;
	snprintf(p, sizeof(p), "%s/plain", dir);
	make_file(p, 0, NULL, 0);
	snprintf(l, sizeof(l), "%s/plain-link", dir);
	assert_int_equal(symlink(p, l), 0);
	assert_int_equal(hb_disk_target_resolve(l, 1, got, sizeof(got), &e), 0);
	assert_non_null(realpath(p, want));
	assert_string_equal(got, want);
	/* a link to a file holding data is refused by what it points to */
	snprintf(p, sizeof(p), "%s/victim2", dir);
	make_file(p, 0, "XFSB", 4);
	snprintf(l, sizeof(l), "%s/victim2-link", dir);
	assert_int_equal(symlink(p, l), 0);
	expect(l, 1, HB_EINVAL, "XFS filesystem");
}

/* The same on a real block device: a loop device over a file of ours. */
static void loop_device(void **state)
{
	char img[PATH_MAX], cmd[PATH_MAX + 64], dev[64] = "", l[PATH_MAX], got[PATH_MAX];
	struct hb_err e = {0};
	FILE *f;
	int rc;

	(void)state;
	snprintf(img, sizeof(img), "%s/loop.img", dir);
	make_file(img, 0, NULL, 0);
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", img);
	f = geteuid() == 0 ? popen(cmd, "r") : NULL;
	if (f) {
		if (!fgets(dev, sizeof(dev), f))
			dev[0] = '\0';
		pclose(f);
	}
	dev[strcspn(dev, "\n")] = '\0';
	if (!dev[0]) {
		print_message("SKIP: no loop device (needs root and losetup)\n");
		skip();
	}
	snprintf(l, sizeof(l), "%s/loop-link", dir);
	assert_int_equal(symlink(dev, l), 0);
	rc = hb_disk_target_resolve(l, 1, got, sizeof(got), &e);
	if (rc == 0)
		assert_string_equal(got, dev);
	/* an ext4 signature on the device is seen through the link */
	if (rc == 0) {
		int fd = open(dev, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "\x53\xef", 2, 0x438), 2);
		fsync(fd);
		close(fd);
		hb_err_clear(&e);
		rc = hb_disk_target_resolve(l, 1, got, sizeof(got), &e) == HB_EINVAL &&
				     strstr(e.msg, "ext2/3/4")
			     ? 0
			     : -1;
	}
	snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
	assert_int_equal(system(cmd), 0);
	if (rc)
		print_error("loop device %s: %s\n", dev, e.msg);
	assert_int_equal(rc, 0);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(missing_and_consent),
		cmocka_unit_test(signatures_refused),
		cmocka_unit_test(mounted_root_device_refused),
		cmocka_unit_test(names_fio_rewrites_refused),
		cmocka_unit_test(link_resolved),
		cmocka_unit_test(loop_device),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
