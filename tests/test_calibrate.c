/*
 * test_calibrate.c — the pieces `hvbench calibrate` injects with and judges by, without
 * starting anything: the scratch drive's throttling and the TCG clock options on the QEMU
 * command line, and the guest-clock agreement rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hb.h"
#include "timing.h"
#include "tg_qemu_argv.h"

static void describe(struct hb_qemu_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->bin = "qemu-system-x86_64";
	vm->name = "t";
	vm->machine = "microvm";
	vm->vcpus = 1;
	vm->memory_mib = 512;
	vm->kernel = "/k";
	vm->initrd = "/i";
	vm->disk_image = vm->append = vm->extra = "";
	vm->disk_path = "/var/tmp/d.raw";
	vm->disk_bus = "virtio-blk";
	vm->disk_cache = "none";
	vm->disk_aio = "threads";
	vm->disk_size = 128 << 20;
	vm->net_mode = "none";
	vm->qmp_path = "/q";
	vm->agent_path = "/a";
	vm->console_path = "/c";
}

/* The argument after the first one equal to flag that contains needle (NULL: none). */
static const char *find(const struct hb_argv *v, const char *flag, const char *needle)
{
	for (int i = 0; i + 1 < v->n; i++)
		if (!strcmp(v->a[i], flag) && strstr(v->a[i + 1], needle))
			return v->a[i + 1];
	return NULL;
}

static void throttled_drive(void **state)
{
	struct hb_qemu_vm vm;
	struct hb_argv v = {.n = 0};
	struct hb_err e = {0};
	json_t *dev = json_array();
	const char *d;

	(void)state;
	describe(&vm);
	vm.disk_iops_limit = 300;
	vm.disk_bps_limit = 8 << 20;
	assert_int_equal(hb_qemu_argv(&vm, "tcg", "max", &v, dev, NULL, 0, &e), 0);
	d = find(&v, "-drive", "id=" HB_QEMU_DISK_ID);
	assert_non_null(d);
	assert_string_equal(strstr(d, ",throttling"),
			    ",throttling.iops-total=300,throttling.bps-total=8388608");
	hb_argv_free(&v);
	/* no limit: no throttling at all */
	vm.disk_iops_limit = vm.disk_bps_limit = 0;
	assert_int_equal(hb_qemu_argv(&vm, "tcg", "max", &v, dev, NULL, 0, &e), 0);
	assert_null(strstr(find(&v, "-drive", "id=" HB_QEMU_DISK_ID), "throttling"));
	hb_argv_free(&v);
	json_decref(dev);
}

static void tcg_clock(void **state)
{
	struct hb_qemu_vm vm;
	struct hb_argv v = {.n = 0};
	struct hb_err e = {0};
	json_t *dev = json_array();

	(void)state;
	describe(&vm);
	assert_int_equal(hb_qemu_argv(&vm, "tcg", "max", &v, dev, NULL, 0, &e), 0);
	assert_non_null(find(&v, "-append", " " HB_QEMU_TCG_CLOCK));
	hb_argv_free(&v);
	/* KVM guests keep kvm-clock */
	assert_int_equal(hb_qemu_argv(&vm, "kvm", "host", &v, dev, NULL, 0, &e), 0);
	assert_null(find(&v, "-append", "clocksource="));
	hb_argv_free(&v);
	json_decref(dev);
}

static void clock_agreement(void **state)
{
	double dev;

	(void)state;
	assert_int_equal(hb_clock_agrees(10.0, 10.19, &dev), 1); /* 1.9% */
	assert_true(dev > 0.0189 && dev < 0.0191);
	assert_int_equal(hb_clock_agrees(10.0, 10.21, NULL), 0); /* 2.1% */
	assert_int_equal(hb_clock_agrees(10.0, 8.0, &dev), 0);	 /* refined-jiffies: 0.8x */
	assert_true(dev < -0.199 && dev > -0.201);
	assert_int_equal(hb_clock_agrees(1.0, 1.049, NULL), 1); /* the 50 ms floor */
	assert_int_equal(hb_clock_agrees(1.0, 1.051, NULL), 0);
	assert_int_equal(hb_clock_agrees(2.1, 1.5, NULL), 0); /* planned instead of measured */
	assert_int_equal(hb_clock_agrees(0, 1.0, NULL), -1);
	assert_int_equal(hb_clock_agrees(1.0, 0, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(throttled_drive),
		cmocka_unit_test(tcg_clock),
		cmocka_unit_test(clock_agreement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
