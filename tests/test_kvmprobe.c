/*
 * test_kvmprobe.c — unit tests of the per-host KVM verdict cache and the RIP parser
 * (host-agent/kvmprobe.c): key stability and sensitivity, round trip through the cache file,
 * the "use" / "refresh" / "off" modes, and a damaged cache file read as empty.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmprobe.h"

static char dir[64], kernel[128], kernel2[128];

static int setup(void **state)
{
	FILE *f;

	hb_snprintf(dir, sizeof(dir), "/tmp/hb-test-kvmprobe.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	hb_snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	hb_snprintf(kernel2, sizeof(kernel2), "%s/vmlinux2", dir);
	f = fopen(kernel, "w");
	fputs("kernel one", f);
	fclose(f);
	f = fopen(kernel2, "w");
	fputs("kernel two, longer", f);
	fclose(f);
	char cache[128];
	hb_snprintf(cache, sizeof(cache), "%s/cache", dir);
	setenv("HVBENCH_CACHE_DIR", cache, 1);
	return 0;
}

static int teardown(void **state)
{
	hb_rmtree(dir);
	unsetenv("HVBENCH_CACHE_DIR");
	return 0;
}

static void test_key(void **state)
{
	struct hb_kvm_key a, b, c;

	hb_kvm_key("sh", kernel, &a);
	hb_kvm_key("sh", kernel, &b);
	hb_kvm_key("sh", kernel2, &c);
	assert_string_equal(a.facts, b.facts);
	assert_string_equal(a.hash, b.hash);
	assert_int_equal(strlen(a.hash), 16);
	assert_string_not_equal(a.hash, c.hash);
	assert_non_null(strstr(a.facts, "host="));
	assert_non_null(strstr(a.facts, ";qemu=/"));
	assert_non_null(strstr(a.facts, kernel));
}

static void test_cache_paths(void **state)
{
	char p[256];

	assert_int_equal(hb_kvm_cache_path(p, sizeof(p)), 0);
	assert_true(strncmp(p, dir, strlen(dir)) == 0);
	assert_non_null(strstr(p, "/cache/kvm-verdicts.json"));
	unsetenv("HVBENCH_CACHE_DIR");
	setenv("XDG_CACHE_HOME", "/x/y", 1);
	assert_int_equal(hb_kvm_cache_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/x/y/hvbench/kvm-verdicts.json");
	unsetenv("XDG_CACHE_HOME");
	char cache[128];
	hb_snprintf(cache, sizeof(cache), "%s/cache", dir);
	setenv("HVBENCH_CACHE_DIR", cache, 1);
}

static void test_verdict_modes(void **state)
{
	char reason[512] = "";

	/* nothing cached yet */
	assert_int_equal(hb_kvm_verdict_lookup("use", "sh", kernel, reason, sizeof(reason)), 0);
	/* "off" records nothing */
	hb_kvm_verdict_record("off", "sh", kernel, 0, "stuck", 2.0);
	assert_int_equal(hb_kvm_verdict_lookup("use", "sh", kernel, reason, sizeof(reason)), 0);
	hb_kvm_verdict_record("use", "sh", kernel, 0, "vCPU 0 stuck at RIP=0x1000", 2.25);
	assert_int_equal(hb_kvm_verdict_lookup("use", "sh", kernel, reason, sizeof(reason)), 1);
	assert_true(strncmp(reason, "kvm: vCPU 0 stuck at RIP=0x1000; fell back to tcg", 49) == 0);
	assert_non_null(strstr(reason, "kvm-verdicts.json"));
	/* only "use" reads the cache; another guest kernel has no verdict */
	assert_int_equal(hb_kvm_verdict_lookup("refresh", "sh", kernel, reason, sizeof(reason)), 0);
	assert_int_equal(hb_kvm_verdict_lookup("off", "sh", kernel, reason, sizeof(reason)), 0);
	assert_int_equal(hb_kvm_verdict_lookup("use", "sh", kernel2, reason, sizeof(reason)), 0);
	/* a refresh that boots replaces the verdict */
	hb_kvm_verdict_record("refresh", "sh", kernel, 1, "", 0.8);
	assert_int_equal(hb_kvm_verdict_lookup("use", "sh", kernel, reason, sizeof(reason)), 0);
	struct hb_kvm_key k;
	json_t *v = NULL;
	char p[256];
	hb_kvm_key("sh", kernel, &k);
	assert_int_equal(hb_kvm_cache_path(p, sizeof(p)), 0);
	assert_int_equal(hb_kvm_cache_get(p, &k, &v), 1);
	assert_string_equal(json_string_value(json_object_get(v, "verdict")), "ok");
	assert_true(json_real_value(json_object_get(v, "probe_s")) == 0.8);
	json_decref(v);
	/* -cpu host refused: a finding about host and QEMU, whatever the guest; not under "off" */
	assert_int_equal(hb_kvm_msr_lookup("use", "sh"), 0);
	hb_kvm_msr_record("off", "sh", "QEMU exited: failed to set MSR 0x10a");
	assert_int_equal(hb_kvm_msr_lookup("use", "sh"), 0);
	hb_kvm_msr_record("refresh", "sh", "QEMU exited: failed to set MSR 0x10a");
	assert_int_equal(hb_kvm_msr_lookup("use", "sh"), 1);
	assert_int_equal(hb_kvm_msr_lookup("refresh", "sh"), 0);
	/* the guest verdicts are untouched by it */
	assert_int_equal(hb_kvm_verdict_lookup("use", "sh", kernel, reason, sizeof(reason)), 0);
}

static void test_damaged_cache(void **state)
{
	char p[256], reason[256];
	FILE *f;

	hb_kvm_verdict_record("use", "sh", kernel, 0, "stuck", 2.0);
	assert_int_equal(hb_kvm_cache_path(p, sizeof(p)), 0);
	f = fopen(p, "w");
	fputs("{\"schema\": \"hvbench/kvm-verdicts/1\", \"verdicts\": [", f);
	fclose(f);
	assert_int_equal(hb_kvm_verdict_lookup("use", "sh", kernel, reason, sizeof(reason)), 0);
	/* recording over a damaged file starts it afresh */
	hb_kvm_verdict_record("use", "sh", kernel, 0, "stuck", 2.0);
	assert_int_equal(hb_kvm_verdict_lookup("use", "sh", kernel, reason, sizeof(reason)), 1);
}

static void test_parse_rip(void **state)
{
	unsigned long long rip = 0;

	assert_int_equal(hb_kvm_parse_rip("RAX=0000000000000000 RBX=0000000000000000\n"
					  "RIP=ffffffff81000000 RFL=00000002 [-------] CPL=0\n",
					  &rip),
			 0);
	assert_true(rip == 0xffffffff81000000ULL);
	assert_int_equal(hb_kvm_parse_rip("no registers", &rip), HB_EPROTO);
	assert_int_equal(hb_kvm_parse_rip("RIP=zz", &rip), HB_EPROTO);
	assert_int_equal(hb_kvm_parse_rip(NULL, &rip), HB_EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),	      cmocka_unit_test(test_cache_paths),
		cmocka_unit_test(test_verdict_modes), cmocka_unit_test(test_damaged_cache),
		cmocka_unit_test(test_parse_rip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
