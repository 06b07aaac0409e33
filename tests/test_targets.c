/*
 * test_targets.c — the targets layer without a VM: the QEMU command line built from a VM
 * description (exact arguments for the devices, boot source, network and agent channel), and
 * the network peer's modes (bind on an address, user networking on 127.0.0.1 at a free port,
 * none) with every server gone after close.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tg_netpeer.h"
#include "rrpeer.h"
#include "iperf.h"
#include "tg_qemu_argv.h"

static struct hb_qemu_vm base_vm(void)
{
	struct hb_qemu_vm vm = {
		.bin = "qemu-system-x86_64",
		.name = "t1",
		.machine = "q35",
		.vcpus = 2,
		.memory_mib = 512,
		.kernel = "/k/vmlinuz",
		.initrd = "/k/initrd.img",
		.disk_image = "",
		.append = "",
		.extra = "",
		.disk_path = "/s/disk.raw",
		.disk_bus = "virtio-blk",
		.disk_cache = "none",
		.disk_aio = "threads",
		.disk_size = 64ULL << 20,
		.net_mode = "tap",
		.full = 0,
		.qmp_path = "/s/qmp.sock",
		.agent_path = "/s/agent.sock",
		.console_path = "/o/t1-console.log",
	};
	return vm;
}

/* Index of the argument equal to want, or -1. */
static int find_arg(const struct hb_argv *v, const char *want)
{
	for (int i = 0; i < v->n; i++)
		if (!strcmp(v->a[i], want))
			return i;
	return -1;
}

static void expect_pair(const struct hb_argv *v, const char *opt, const char *val)
{
	for (int i = 0; i + 1 < v->n; i++)
		if (!strcmp(v->a[i], opt) && !strcmp(v->a[i + 1], val))
			return;
	fail_msg("no \"%s %s\" in the command line", opt, val);
}

static void argv_q35_tap(void **state)
{
	struct hb_qemu_vm vm = base_vm();
	struct hb_argv v = {.n = 0};
	struct hb_err e = {0};
	json_t *dev = json_array();
	char cmd[4096];

	(void)state;
	assert_int_equal(hb_qemu_argv(&vm, "kvm", "host", &v, dev, cmd, sizeof(cmd), &e), 0);
	assert_string_equal(v.a[0], "qemu-system-x86_64");
	assert_null(v.a[v.n]);
	expect_pair(&v, "-name", "hvbench-t1");
	expect_pair(&v, "-machine", "q35,memory-backend=hbram");
	expect_pair(&v, "-accel", "kvm");
	expect_pair(&v, "-cpu", "host");
	expect_pair(&v, "-smp", "2");
	expect_pair(&v, "-object", "memory-backend-memfd,id=hbram,size=512M,share=on");
	expect_pair(&v, "-qmp", "unix:/s/qmp.sock,server=on,wait=off");
	expect_pair(&v, "-device", "virtio-serial-pci");
	expect_pair(&v, "-kernel", "/k/vmlinuz");
	expect_pair(&v, "-initrd", "/k/initrd.img");
	expect_pair(&v, "-drive",
		    "file=/s/disk.raw,if=none,id=hbdisk,format=raw,cache=none,aio=threads");
	expect_pair(&v, "-device", "virtio-blk-pci,drive=hbdisk,serial=hbscratch");
	expect_pair(&v, "-netdev", "tap,id=hbnet,ifname=hbtap0,script=no,downscript=no");
	expect_pair(&v, "-append",
		    "console=ttyS0 panic=-1 earlyprintk=ttyS0 hvbench.ip=198.18.1.2/24 "
		    "hvbench.disk=/dev/vda hvbench.port=org.hvbench.agent");
	assert_null(strstr(cmd, "hbtools")); /* no tools image given: no tools disk */
	assert_int_equal(find_arg(&v, "VGA"), -1);
	assert_int_equal(json_array_size(dev), 4); /* agent, console, scratch disk, net */
	assert_non_null(strstr(cmd, "qemu-system-x86_64 -name hvbench-t1 -nodefaults"));
	hb_argv_free(&v);
	json_decref(dev);
}

static void argv_microvm_user_scsi_full_extra(void **state)
{
	struct hb_qemu_vm vm = base_vm();
	struct hb_argv v = {.n = 0};
	struct hb_err e = {0};
	json_t *dev = json_array();

	(void)state;
	vm.machine = "microvm";
	vm.net_mode = "user";
	vm.disk_bus = "virtio-scsi";
	vm.extra = "-device  virtio-rng-device";
	assert_int_equal(hb_qemu_argv(&vm, "kvm", "host", &v, dev, NULL, 0, &e), 0);
	expect_pair(&v, "-device", "virtio-serial-device");
	expect_pair(&v, "-device", "virtio-scsi-device,id=hbscsi");
	expect_pair(&v, "-device", "scsi-hd,drive=hbdisk,bus=hbscsi.0,serial=hbscratch");
	expect_pair(&v, "-netdev", "user,id=hbnet");
	expect_pair(&v, "-device", "virtio-net-device,netdev=hbnet");
	expect_pair(&v, "-device", "virtio-rng-device"); /* extra: split on blanks */
	assert_string_equal(v.a[v.n - 1], "virtio-rng-device");
	hb_argv_free(&v);
	json_decref(dev);

	/* a boot image moves the scratch disk to the second device; full adds the PCI devices */
	vm = base_vm();
	vm.kernel = vm.initrd = "";
	vm.disk_image = "/i/guest.qcow2";
	vm.full = 1;
	vm.net_mode = "none";
	dev = json_array();
	assert_int_equal(hb_qemu_argv(&vm, "tcg", "max", &v, dev, NULL, 0, &e), 0);
	expect_pair(&v, "-drive", "file=/i/guest.qcow2,if=none,id=hbboot,format=qcow2,snapshot=on");
	assert_int_equal(find_arg(&v, "-append"), -1); /* the image's own kernel command line */
	assert_int_equal(find_arg(&v, "-netdev"), -1);
	assert_true(find_arg(&v, "VGA") > 0);
	assert_true(find_arg(&v, "virtio-balloon-pci") > 0);
	hb_argv_free(&v);
	json_decref(dev);
}

/* make guest's tools disk: read-only virtio-blk with serial hbtools, on every machine and bus,
 * never with a boot image (it carries its own tools); TCG boots stay quiet. */
static void argv_tools_disk(void **state)
{
	struct hb_qemu_vm vm = base_vm();
	struct hb_argv v = {.n = 0};
	struct hb_err e = {0};
	json_t *dev = json_array();

	(void)state;
	vm.tools_img = "/k/tools,1.img";
	assert_int_equal(hb_qemu_argv(&vm, "tcg", "max", &v, dev, NULL, 0, &e), 0);
	expect_pair(&v, "-drive", "file=/k/tools,,1.img,if=none,id=hbtools,format=raw,readonly=on");
	expect_pair(&v, "-device", "virtio-blk-pci,drive=hbtools,serial=hbtools");
	assert_non_null(strstr(v.a[find_arg(&v, "-append") + 1], "console=ttyS0 panic=-1 quiet "));
	assert_int_equal(json_array_size(dev), 5); /* agent, console, scratch, tools, net */
	hb_argv_free(&v);
	json_decref(dev);

	vm.machine = "microvm";
	vm.disk_bus = "virtio-scsi";
	dev = json_array();
	assert_int_equal(hb_qemu_argv(&vm, "kvm", "host", &v, dev, NULL, 0, &e), 0);
	expect_pair(&v, "-device", "virtio-blk-device,drive=hbtools,serial=hbtools");
	expect_pair(&v, "-device", "scsi-hd,drive=hbdisk,bus=hbscsi.0,serial=hbscratch");
	hb_argv_free(&v);
	json_decref(dev);

	vm = base_vm();
	vm.tools_img = "/k/tools.img";
	vm.kernel = vm.initrd = "";
	vm.disk_image = "/i/guest.raw";
	dev = json_array();
	assert_int_equal(hb_qemu_argv(&vm, "tcg", "max", &v, dev, NULL, 0, &e), 0);
	for (int i = 0; i < v.n; i++)
		assert_null(strstr(v.a[i], "hbtools"));
	hb_argv_free(&v);
	json_decref(dev);
}

static void argv_too_long(void **state)
{
	struct hb_qemu_vm vm = base_vm();
	struct hb_argv v = {.n = 0};
	struct hb_err e = {0};
	json_t *dev = json_array();
	char extra[2000] = "";

	(void)state;
	for (int i = 0; i < 200; i++)
		memcpy(extra + 3 * i, "-S ", 4);
	vm.extra = extra;
	assert_int_equal(hb_qemu_argv(&vm, "tcg", "max", &v, dev, NULL, 0, &e), HB_EINVAL);
	assert_string_equal(e.msg, "QEMU command line too long (extra_args?)");
	hb_argv_free(&v);
	json_decref(dev);
}

static int kernel_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void peer_modes(void **state)
{
	struct hb_netpeer np;
	struct hb_err e = {0};
	json_t *info = json_object();
	struct hb_netpeer_cfg none = {.mode = "none", .none_why = "no peer here"};
	struct hb_netpeer_cfg bind = {.mode = "bind", .bind_addr = "127.0.0.1"};
	struct hb_netpeer_cfg user = {.mode = "user", .user_gw = "10.0.2.2"};
	struct hb_netpeer_cfg bad = {.mode = "carrier-pigeon"};
	pid_t pid;

	(void)state;
	assert_int_equal(hb_netpeer_open(&np, &none, info, &e), 0);
	assert_int_equal(np.port, 0);
	assert_string_equal(np.why_none, "no peer here");
	hb_netpeer_close(&np);

	bind.base_port = kernel_port();
	assert_int_equal(hb_netpeer_open(&np, &bind, info, &e), 0);
	assert_string_equal(np.mode, "bind");
	assert_string_equal(np.addr, "127.0.0.1");
	assert_int_equal(np.port, bind.base_port);
	assert_int_equal(hb_netpeer_port(&np, HB_PEER_IPERF), bind.base_port);
	/* netrr's echo server: the next port, TCP and UDP */
	assert_int_equal(hb_netpeer_port(&np, HB_PEER_ECHO), bind.base_port + 1);
	assert_int_equal(hb_netpeer_port(&np, HB_PEER_NONE), 0);
	hb_netpeer_close(&np);
	hb_netpeer_close(&np); /* twice is fine */

	assert_int_equal(hb_netpeer_open(&np, &user, info, &e), 0);
	assert_string_equal(np.mode, "user");
	assert_string_equal(np.addr, "10.0.2.2");
	assert_true(np.port > 0);
	pid = ((struct hb_iperf_server *)np.svc[0].state)->pid;
	assert_true(pid > 0);
	assert_int_equal(kill(pid, 0), 0);
	hb_netpeer_close(&np);
	assert_int_not_equal(kill(pid, 0), 0); /* killed and reaped */
	assert_int_equal(np.port, 0);

	assert_int_equal(hb_netpeer_open(&np, &bad, info, &e), HB_EINVAL);
	assert_string_equal(e.msg, "network peer: unknown mode \"carrier-pigeon\"");
	assert_null(json_object_get(info, "net_error"));
	assert_null(json_object_get(info, "echo_reply_delay_ms")); /* none asked so far */

	/* a reply delay reaches the echo server (and info), not the iperf3 server */
	bind.base_port = kernel_port();
	bind.reply_delay_ms = 5;
	assert_int_equal(hb_netpeer_open(&np, &bind, info, &e), 0);
	assert_true(((struct hb_rrpeer *)np.svc[1].state)->delay_ms == 5);
	assert_true(json_real_value(json_object_get(info, "echo_reply_delay_ms")) == 5);
	hb_netpeer_close(&np);
	bind.reply_delay_ms = 1001;
	hb_err_clear(&e);
	assert_int_equal(hb_netpeer_open(&np, &bind, info, &e), HB_EINVAL);
	assert_string_equal(e.msg, "net_reply_delay: 1001 ms is not in 0..1000 ms");
	assert_int_equal(np.nsvc, 0);
	json_decref(info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(argv_q35_tap),
		cmocka_unit_test(argv_microvm_user_scsi_full_extra),
		cmocka_unit_test(argv_tools_disk),
		cmocka_unit_test(argv_too_long),
		cmocka_unit_test(peer_modes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
