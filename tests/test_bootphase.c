/*
 * test_bootphase.c — unit tests of the boot phase split (host-agent/bootphase.c): host
 * timestamps joined with the guest init's "boot phases" console line, and the fallbacks when
 * the line or the guest clock is missing or odd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "bootphase.h"

static double get(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_real(v))
		fail_msg("missing %s", k);
	return json_real_value(v);
}

#define near(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static const char console[] = "[    0.333183] PCI: Fatal: No config space access function found\n"
			      "hvbench-init: init started (uptime 0.90 s)\n"
			      "hvbench-init: boot phases init=0.90 modules=1.15 devices=1.40 "
			      "tools=1.50 net=1.75\n"
			      "hvbench-guest: serving on virtio-serial port org.hvbench.agent\n";

static void test_full_split(void **state)
{
	struct hb_boot_times bt = {
		.t_exec = 100.0, .t_qmp = 100.25, .t_hello = 103.0, .agent_uptime = 2.0};
	json_t *o = hb_boot_phases(&bt, console);
	const char *keys[] = {"qemu_s",	 "firmware_s", "kernel_s", "modules_s", "devices_s",
			      "tools_s", "net_s",      "agent_s",  "total_s"};
	const char *k;
	json_t *v;
	size_t i = 0;

	json_object_foreach (o, k, v) {
		assert_true(i < sizeof(keys) / sizeof(keys[0]));
		assert_string_equal(k, keys[i]);
		i++;
	}
	assert_int_equal(i, 9);
	near(get(o, "qemu_s"), 0.25);
	near(get(o, "firmware_s"), 0.75);
	near(get(o, "kernel_s"), 0.90);
	near(get(o, "modules_s"), 0.25);
	near(get(o, "devices_s"), 0.25);
	near(get(o, "tools_s"), 0.10);
	near(get(o, "net_s"), 0.25);
	near(get(o, "agent_s"), 0.25);
	near(get(o, "total_s"), 3.0);
	json_decref(o);
}

/* The last phases line wins (a console log appended over two boots). */
static void test_last_line_wins(void **state)
{
	char text[1024];
	struct hb_boot_times bt = {.t_exec = 0, .t_qmp = 0.5, .t_hello = 10, .agent_uptime = 6};

	snprintf(text, sizeof(text), "hvbench-init: boot phases init=1 modules=2\n%s", console);
	json_t *o = hb_boot_phases(&bt, text);
	near(get(o, "kernel_s"), 0.90);
	near(get(o, "net_s"), 0.25);
	near(get(o, "agent_s"), 6 - 1.75);
	near(get(o, "firmware_s"), 10 - 0.5 - 6);
	json_decref(o);
}

static void test_no_console_line(void **state)
{
	struct hb_boot_times bt = {.t_exec = 0, .t_qmp = 0.5, .t_hello = 10, .agent_uptime = 6};
	json_t *o = hb_boot_phases(&bt, "no phases here\n");

	assert_int_equal(json_object_size(o), 4);
	near(get(o, "kernel_s"), 6);
	near(get(o, "firmware_s"), 3.5);
	json_decref(o);
	o = hb_boot_phases(&bt, NULL);
	assert_int_equal(json_object_size(o), 4);
	json_decref(o);
}

/* Garbage after valid tokens stops the parse; decreasing uptimes are refused. */
static void test_malformed_tokens(void **state)
{
	struct hb_boot_times bt = {.t_exec = 0, .t_qmp = 0.5, .t_hello = 10, .agent_uptime = 6};
	json_t *o = hb_boot_phases(&bt, "hvbench-init: boot phases init=1 modules=0.5 net=2\n");

	assert_int_equal(json_object_size(o), 5); /* qemu firmware kernel agent total */
	near(get(o, "kernel_s"), 1);
	near(get(o, "agent_s"), 5);
	json_decref(o);
	o = hb_boot_phases(&bt, "hvbench-init: boot phases init=x\n");
	assert_int_equal(json_object_size(o), 4);
	json_decref(o);
	o = hb_boot_phases(&bt, "hvbench-init: boot phases init=1 modules\n");
	near(get(o, "agent_s"), 5);
	json_decref(o);
}

/* A guest clock longer than the boot itself cannot be joined: one "guest" phase. */
static void test_unusable_guest_clock(void **state)
{
	struct hb_boot_times bt = {.t_exec = 0, .t_qmp = 0.5, .t_hello = 3, .agent_uptime = 9};
	json_t *o = hb_boot_phases(&bt, console);

	assert_int_equal(json_object_size(o), 3);
	near(get(o, "guest_s"), 2.5);
	json_decref(o);
	bt.agent_uptime = -1;
	bt.t_qmp = -1; /* unknown: counted in the guest phase */
	o = hb_boot_phases(&bt, console);
	near(get(o, "qemu_s"), 0);
	near(get(o, "guest_s"), 3);
	json_decref(o);
}

/* Steps reported after the agent started (clock oddity) are dropped. */
static void test_steps_after_agent(void **state)
{
	struct hb_boot_times bt = {.t_exec = 0, .t_qmp = 0.5, .t_hello = 10, .agent_uptime = 1.2};
	json_t *o = hb_boot_phases(&bt, console);

	near(get(o, "kernel_s"), 0.9);
	near(get(o, "modules_s"), 0.25);
	near(get(o, "agent_s"), 1.2 - 1.15);
	assert_null(json_object_get(o, "devices_s"));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_split),
		cmocka_unit_test(test_last_line_wins),
		cmocka_unit_test(test_no_console_line),
		cmocka_unit_test(test_malformed_tokens),
		cmocka_unit_test(test_unusable_guest_clock),
		cmocka_unit_test(test_steps_after_agent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
