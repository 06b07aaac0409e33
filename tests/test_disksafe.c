/*
 * test_disksafe.c — the guard in front of user-named disk targets: a missing path, an existing
 * file without consent, filesystem and partition-table signatures, a directory and the mounted
 * root device are refused with their reasons; a blank file with consent is accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
