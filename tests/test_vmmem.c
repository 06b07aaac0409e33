/*
 * test_vmmem.c — unit tests of the VM memory accounting (host-agent/vmmem.c) on an smaps file
 * captured from a real QEMU 7.2 (TCG, microvm, 256 MiB memfd-backed guest booting the hvbench
 * guest: tests/fixtures/vmmem-smaps-qemu.txt) and on small hand-written cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb.h"
#include "vmmem.h"

static char *fixture(const char *name)
{
	char path[512], *dir = strdup(__FILE__), *slash = strrchr(dir, '/'), *text = NULL;
	size_t len;
	struct hb_err e = {0};

	if (slash)
		*slash = '\0';
	hb_snprintf(path, sizeof(path), "%s/fixtures/%s", slash ? dir : ".", name);
	free(dir);
	if (hb_read_file(path, 16 << 20, &text, &len, &e))
		fail_msg("%s", e.msg);
	return text;
}

/* Sums checked with awk on the fixture: Pss total 300472 kB, memfd mapping 191292 kB of 256 MiB. */
static void test_fixture(void **state)
{
	char *t = fixture("vmmem-smaps-qemu.txt");
	struct hb_vmmem m;
	struct hb_err e = {0};

	assert_int_equal(hb_vmmem_parse(t, HB_VMMEM_QEMU_MEMFD, &m, &e), 0);
	assert_int_equal(m.guest_mappings, 1);
	assert_true(m.vmm_pss_mib * 1024 == 300472);
	assert_true(m.vmm_rss_mib * 1024 == 302052);
	assert_true(m.guest_pss_mib * 1024 == 191292);
	assert_true(m.guest_size_mib == 256);
	json_t *o = hb_vmmem_overhead_json(&m, 3000, 2800, 256, 230.5);
	assert_true(json_real_value(json_object_get(o, "vmm_overhead_mib")) * 1024 ==
		    300472 - 191292);
	assert_true(json_real_value(json_object_get(o, "memavailable_drop_mib")) == 200);
	assert_true(json_real_value(json_object_get(o, "guest_visible_loss_mib")) == 25.5);
	json_decref(o);
	free(t);
}

static void test_other_name_not_matched(void **state)
{
	char *t = fixture("vmmem-smaps-qemu.txt");
	struct hb_vmmem m;
	struct hb_err e = {0};

	assert_int_equal(hb_vmmem_parse(t, "hbram", &m, &e), 0);
	assert_int_equal(m.guest_mappings, 0);
	assert_true(m.guest_pss_mib == 0);
	json_t *o = hb_vmmem_overhead_json(&m, -1, -1, 256, -1);
	assert_true(json_is_null(json_object_get(o, "vmm_overhead_mib")));
	assert_true(json_is_null(json_object_get(o, "memavailable_drop_mib")));
	assert_true(json_is_null(json_object_get(o, "guest_visible_loss_mib")));
	json_decref(o);
	free(t);
}

/* Only exact "Pss:" lines count (not Pss_Dirty), names must match exactly, anonymous maps count. */
static void test_small(void **state)
{
	static const char smaps[] =
		"00400000-00500000 r-xp 00000000 08:01 42   /usr/bin/qemu\n"
		"Size:               1024 kB\n"
		"Rss:                 100 kB\n"
		"Pss:                  50 kB\n"
		"Pss_Dirty:            10 kB\n"
		"7f0000000000-7f0010000000 rw-s 00000000 00:01 7   /memfd:memory-backend-memfd "
		"(deleted)\n"
		"Size:             262144 kB\n"
		"Rss:                2048 kB\n"
		"Pss:                2048 kB\n"
		"7f0010000000-7f0010100000 rw-s 00000000 00:01 8   /memfd:memory-backend-memfd-x\n"
		"Size:               1024 kB\n"
		"Pss:                   4 kB\n"
		"7f0020000000-7f0020100000 rw-p 00000000 00:00 0 \n"
		"Size:               1024 kB\n"
		"Rss:                   8 kB\n"
		"Pss:                   8 kB\n"
		"VmFlags: rd wr mr mw me ac sd\n";
	struct hb_vmmem m;
	struct hb_err e = {0};

	assert_int_equal(hb_vmmem_parse(smaps, HB_VMMEM_QEMU_MEMFD, &m, &e), 0);
	assert_int_equal(m.guest_mappings, 1);
	assert_true(m.vmm_pss_mib * 1024 == 50 + 2048 + 4 + 8);
	assert_true(m.vmm_rss_mib * 1024 == 100 + 2048 + 8);
	assert_true(m.guest_pss_mib * 1024 == 2048);
	assert_true(m.guest_size_mib == 256);
}

static void test_garbage(void **state)
{
	struct hb_vmmem m;
	struct hb_err e = {0};

	assert_int_equal(hb_vmmem_parse("hello\nworld\n", HB_VMMEM_QEMU_MEMFD, &m, &e), HB_EPROTO);
	assert_string_equal(e.msg, "smaps: no mapping with a Pss line");
	hb_err_clear(&e);
	assert_int_equal(hb_vmmem_parse("", HB_VMMEM_QEMU_MEMFD, &m, &e), HB_EPROTO);
}

/* The real file of this process: some PSS, no guest mapping; a dead pid is an I/O error. */
static void test_read_self(void **state)
{
	struct hb_vmmem m;
	struct hb_err e = {0};

	assert_int_equal(hb_vmmem_read(getpid(), HB_VMMEM_QEMU_MEMFD, &m, &e), 0);
	assert_true(m.vmm_pss_mib > 0);
	assert_int_equal(m.guest_mappings, 0);
	assert_int_equal(hb_vmmem_read(0x3ffffff, HB_VMMEM_QEMU_MEMFD, &m, &e), HB_EIO);
	assert_non_null(strstr(e.msg, "/proc/67108863/smaps"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),	  cmocka_unit_test(test_other_name_not_matched),
		cmocka_unit_test(test_small),	  cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_read_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
