/*
 * be_libvirt.c — the libvirt target: benchmark the VMs people actually run, through libvirt's C
 * API (never virsh). Two modes. Create: hvbench's guest image (kernel + initrd, as the qemu
 * backend boots) wrapped in the user's own domain XML (`domain_xml`: their production
 * definition; hvbench changes only what it lists in info.xml_changes — name, boot source, its
 * agent channel, its scratch disk in place of the template's disks with their driver settings
 * kept, its network interface with the template's NIC model kept, a console log, the lifecycle
 * actions) or in a minimal template of its own, started as a transient domain with
 * VIR_DOMAIN_START_AUTODESTROY so libvirtd destroys it when hvbench's connection goes away (stop,
 * Ctrl-C, failure, even SIGKILL). Attach: an existing running domain (`domain`) whose guest runs
 * hvbench-guest on the virtio-serial channel org.hvbench.agent; hvbench connects, runs and leaves
 * it as it found it. The agent session is tg_agent.c's, the network peer tg_netpeer.c's: libvirt
 * opens a tap in its own (root) namespace, so hvbench creates it there (managed='no') and moves
 * it into the peer's private namespace once QEMU holds it. Host view: QEMU's pid (proc, pfm
 * probes, memory overhead), vCPU threads, libvirt's domain stats (domstats probe) and QMP via
 * libvirt's monitor passthrough (kvmstat probe) where allowed.
 */
#include "backend.h"

#ifdef HB_HAVE_LIBVIRT

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "datapath.h"
#include "netenv.h"
#include "procstat.h"
#include "qmp.h"
#include "tg_agent.h"
#include "tg_netpeer.h"
#include "tg_qemu_argv.h"
#include "tg_scratch.h"
#include "vmmem.h"

#define TAP_PREFIX  "hbl" /* root-namespace taps: hbl<pid>-<hash> (stale ones are removed) */
#define QMP_TIMEOUT 5.0

static const char *const dtypes[] = {"template", "qemu", "kvm", NULL};
static const char *const nets[] = {"tap", "user", "none", NULL};
static const char *const qmps[] = {"auto", "on", "off", NULL};

static const struct hb_param lv_opts[] = {
	{"uri", HB_P_STRING, 1, 1024, "qemu:///system", NULL, "libvirt connection URI"},
	{"domain", HB_P_STRING, 0, 256, "", NULL,
	 "an existing running domain (name or UUID) whose guest runs hvbench-guest on the "
	 "virtio-serial channel org.hvbench.agent: attached to and left running"},
	{"domain_xml", HB_P_STRING, 0, 4096, "", NULL,
	 "your domain XML: hvbench's guest image runs in it as a transient domain (\"\": a "
	 "minimal template of hvbench's)"},
	{"domain_type", HB_P_ENUM, 0, 0, "template", dtypes,
	 "domain type: as the template says (the minimal one: qemu), qemu (TCG) or kvm"},
	{"machine", HB_P_STRING, 1, 64, "q35", NULL, "minimal template: machine type"},
	{"vcpus", HB_P_INT, 1, 64, "1", NULL, "minimal template: virtual CPUs"},
	{"memory", HB_P_INT, 64, 262144, "512", NULL,
	 "minimal template: guest RAM in MiB (memfd-backed; the embedded guest needs at least "
	 "192, and more for workloads that hold memory: validate says)"},
	{"disk_size", HB_P_SIZE, 16 << 20, 1ULL << 40, "512M", NULL,
	 "size of the raw scratch disk (in the run's scratch directory)"},
	{"net", HB_P_ENUM, 0, 0, "tap", nets,
	 "tap: a tap moved into a private netns with the servers (user networking if no tap "
	 "can be made); user: libvirt user networking (not representative); none"},
	{"kernel", HB_P_STRING, 0, 4096, "", NULL, "guest kernel (default: make guest's)"},
	{"initrd", HB_P_STRING, 0, 4096, "", NULL, "guest initramfs (default: make guest's)"},
	{"append", HB_P_STRING, 0, 2048, "", NULL, "extra kernel command line"},
	{"boot_timeout", HB_P_INT, 5, 3600, "120", NULL,
	 "seconds from domain start to the agent's hello (attach: to connect and hello)"},
	{"qmp", HB_P_ENUM, 0, 0, "auto", qmps,
	 "QMP through libvirt's monitor passthrough (vCPU threads, KVM stats); libvirt marks a "
	 "domain that used it as tainted, so auto = only for domains hvbench creates"},
	{"iperf_bind", HB_P_STRING, 0, 63, "", NULL,
	 "attach: host address the guest reaches for network workloads (\"\": none)"},
	{"iperf_port", HB_P_INT, 1, 65534, "5201", NULL,
	 "attach: port of that iperf3 server (the echo server: this port + 1)"},
};

struct lv {
	const struct hb_env *env;
	char name[64];
	const json_t *o;
	int attach; /* 1: an existing domain (left running) */
	virConnectPtr conn;
	virDomainPtr dom;
	char dom_name[128];
	int created, gone;
	/* files */
	char dir[PATH_MAX], disk_path[PATH_MAX], console_path[PATH_MAX];
	char kernel[PATH_MAX], initrd[PATH_MAX], agent_path[108];
	char tools_img[PATH_MAX]; /* make guest's tools disk ("" none: the user's own kernel) */
	int dir_made;
	/* network */
	char tap[16];
	int tap_made;
	const char *net; /* what the domain got: "tap" | "user" | "none" */
	struct hb_netpeer peer;
	/* the running VM */
	pid_t pid; /* QEMU (0: not visible from here) */
	int ntids;
	pid_t tids[64];
	struct hb_qmp *qmp;
	struct hb_tg_agent agent;
	double t_start;
	int dead, stopped;
};

/* ---- small helpers ---- */

/* libvirt prints every error to stderr unless told otherwise; we report them ourselves. */
static void quiet(void *arg, virErrorPtr err)
{
	(void)arg;
	(void)err;
}

/* The last libvirt error of this thread as text (static buffer of libvirt's). */
static const char *lv_errmsg(void)
{
	virErrorPtr err = virGetLastError();

	return err && err->message ? err->message : "unknown libvirt error";
}

static int lv_err(struct hb_err *e, int code, const char *what)
{
	return hb_err_set(e, code, "%s: %s", what, lv_errmsg());
}

static void version_str(unsigned long long v, char *buf, size_t len)
{
	hb_snprintf(buf, len, "%llu.%llu.%llu", v / 1000000, v / 1000 % 1000, v % 1000);
}

/* A UUID in its canonical text form. */
static int is_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* ---- XML ---- */

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST name))
			return c;
	return NULL;
}

/* The attribute's value (a copy in buf; "" when absent). */
static const char *attr(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	xmlChar *v = n ? xmlGetProp(n, BAD_CAST name) : NULL;

	hb_strlcpy(buf, v ? (const char *)v : "", len);
	xmlFree(v);
	return buf;
}

static const char *text_of(xmlNodePtr n, char *buf, size_t len)
{
	xmlChar *v = n ? xmlNodeGetContent(n) : NULL;

	hb_strlcpy(buf, v ? (const char *)v : "", len);
	xmlFree(v);
	return buf;
}

/* Sets the element's text, creating the element under parent when missing. */
static xmlNodePtr set_child_text(xmlNodePtr parent, const char *name, const char *text)
{
	xmlNodePtr c = child(parent, name);

	if (!c)
		c = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
	xmlNodeSetContent(c, BAD_CAST text);
	return c;
}

static void drop(xmlNodePtr n)
{
	xmlUnlinkNode(n);
	xmlFreeNode(n);
}

static void change(json_t *changes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void change(json_t *changes, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (changes)
		json_array_append_new(changes, json_string(msg));
}

/* libxml2 prints parse errors to stderr unless given a handler; we take xmlGetLastError(). */
static void xml_quiet(void *arg, const char *fmt, ...)
{
	(void)arg;
	(void)fmt;
}

/* Parses text (no network, no entities) into a document whose root is <domain>. */
static int parse_domain(const char *text, const char *what, xmlDocPtr *out, struct hb_err *e)
{
	xmlDocPtr doc;

	xmlResetLastError();
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	doc = xmlReadMemory(text, (int)strlen(text), what, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	xmlSetGenericErrorFunc(NULL, NULL);
	*out = NULL;
	if (!doc) {
		const xmlError *xe = xmlGetLastError();
		char msg[256] = "";
		if (xe && xe->message) {
			hb_strlcpy(msg, xe->message, sizeof(msg));
			msg[strcspn(msg, "\n")] = '\0';
		}
		return hb_err_set(e, HB_EINVAL, "%s: not well-formed XML%s%s%s%.0d", what,
				  msg[0] ? ": " : "", msg, xe && xe->line ? " at line " : "",
				  xe ? xe->line : 0);
	}
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!root || xmlStrcmp(root->name, BAD_CAST "domain")) {
		xmlFreeDoc(doc);
		return hb_err_set(e, HB_EINVAL, "%s: the root element is not <domain>", what);
	}
	*out = doc;
	return 0;
}

static int load_template(const char *path, xmlDocPtr *out, struct hb_err *e)
{
	char *text = NULL;
	size_t n = 0;
	int rc = hb_read_file(path, 1 << 20, &text, &n, e);

	if (rc) {
		hb_err_prefix(e, "domain_xml");
		return rc;
	}
	rc = parse_domain(text, path, out, e);
	free(text);
	return rc;
}

/* Memory of a <memory>/<currentMemory> element in MiB (unit attribute honoured), 0 unknown. */
static long mem_mib(xmlNodePtr n)
{
	char t[64], u[16];
	long v;

	if (!n || hb_parse_long(text_of(n, t, sizeof(t)), 1, LONG_MAX, &v))
		return 0;
	attr(n, "unit", u, sizeof(u));
	if (!u[0] || !strcasecmp(u, "KiB") || !strcasecmp(u, "k"))
		return v / 1024;
	if (!strcasecmp(u, "MiB") || !strcasecmp(u, "M"))
		return v;
	if (!strcasecmp(u, "GiB") || !strcasecmp(u, "G"))
		return v * 1024;
	if (!strcasecmp(u, "b") || !strcasecmp(u, "bytes"))
		return v / 1048576;
	return 0;
}

/* Machine, vCPUs and memory a domain document says. */
static void doc_facts(xmlDocPtr doc, struct hb_target_facts *f)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	char buf[64];
	long v;

	attr(child(child(root, "os"), "type"), "machine", f->machine, sizeof(f->machine));
	if (!hb_parse_long(text_of(child(root, "vcpu"), buf, sizeof(buf)), 1, 4096, &v))
		f->vcpus = (int)v;
	f->memory_mib = mem_mib(child(root, "memory"));
}

/* The minimal template (what hvbench runs when the user gives no domain_xml). */
static int minimal_template(const json_t *o, xmlDocPtr *out, struct hb_err *e)
{
	char xml[2048];
	long mem = (long)hb_param_int(o, "memory");

	hb_snprintf(xml, sizeof(xml),
		    "<domain type='qemu'>"
		    "<name>hvbench</name>"
		    "<memory unit='MiB'>%ld</memory>"
		    "<vcpu>%ld</vcpu>"
		    "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>"
		    "<os><type arch='x86_64' machine='%s'>hvm</type></os>"
		    "<cpu mode='maximum'/>"
		    "<clock offset='utc'/>"
		    "<devices>"
		    "<controller type='usb' model='none'/>"
		    "<memballoon model='none'/>"
		    "</devices>"
		    "</domain>",
		    mem, (long)hb_param_int(o, "vcpus"), hb_param_str(o, "machine"));
	return parse_domain(xml, "minimal template", out, e);
}

/* The guest's name for the first disk on a bus ("" when hvbench's guest has no driver). */
static const char *bus_dev(const char *bus)
{
	if (!bus[0] || !strcmp(bus, "virtio"))
		return "vda";
	if (!strcmp(bus, "scsi") || !strcmp(bus, "sata"))
		return "sda";
	return "";
}

/* The disks: the first <disk device='disk'> lends its driver and bus to the scratch disk. */
static void edit_disks(xmlNodePtr devs, const struct lv *l, json_t *changes, char *guest_dev,
		       size_t glen)
{
	xmlNodePtr model = NULL, c, next, d, drv;
	char dev[32] = "", bus[32] = "", src[PATH_MAX] = "", b1[64], buf[64];
	char cache[32] = "";

	for (c = devs->children; c; c = next) {
		next = c->next;
		if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "disk"))
			continue;
		attr(child(c, "target"), "dev", dev, sizeof(dev));
		xmlNodePtr s = child(c, "source");
		src[0] = '\0';
		if (s) {
			attr(s, "file", src, sizeof(src));
			if (!src[0])
				attr(s, "dev", src, sizeof(src));
			if (!src[0])
				attr(s, "name", src, sizeof(src));
		}
		attr(c, "device", b1, sizeof(b1));
		if (!model && (!b1[0] || !strcmp(b1, "disk"))) {
			model = c;
			attr(child(c, "target"), "bus", bus, sizeof(bus));
			change(changes,
			       "disk %s (%s): replaced by hvbench's scratch disk; its driver "
			       "settings and bus kept",
			       dev[0] ? dev : "?", src[0] ? src : "no source");
			continue;
		}
		change(changes,
		       "disk %s (%s) removed: hvbench's guest boots from its own initrd and must "
		       "never see your disks",
		       dev[0] ? dev : "?", src[0] ? src : "no source");
		drop(c);
	}
	if (!bus_dev(bus)[0]) {
		change(changes, "scratch disk bus %s has no driver in hvbench's guest: virtio used",
		       bus);
		bus[0] = '\0';
	}
	d = xmlNewNode(NULL, BAD_CAST "disk");
	xmlNewProp(d, BAD_CAST "type", BAD_CAST "file");
	xmlNewProp(d, BAD_CAST "device", BAD_CAST "disk");
	drv = model ? child(model, "driver") : NULL;
	drv = drv ? xmlCopyNode(drv, 1) : xmlNewNode(NULL, BAD_CAST "driver");
	xmlSetProp(drv, BAD_CAST "name", BAD_CAST "qemu");
	xmlSetProp(drv, BAD_CAST "type", BAD_CAST "raw");
	if (!model) {
		xmlSetProp(drv, BAD_CAST "cache", BAD_CAST "none");
		xmlSetProp(drv, BAD_CAST "io", BAD_CAST "threads");
	}
	xmlAddChild(d, drv);
	xmlNodePtr s = xmlNewChild(d, NULL, BAD_CAST "source", NULL);
	xmlNewProp(s, BAD_CAST "file", BAD_CAST l->disk_path);
	xmlNodePtr t = xmlNewChild(d, NULL, BAD_CAST "target", NULL);
	xmlNewProp(t, BAD_CAST "dev", BAD_CAST bus_dev(bus));
	xmlNewProp(t, BAD_CAST "bus", BAD_CAST(bus[0] ? bus : "virtio"));
	xmlNewChild(d, NULL, BAD_CAST "serial", BAD_CAST HB_QEMU_SCRATCH_SERIAL);
	if (model) {
		xmlAddPrevSibling(model, d);
		drop(model);
	} else {
		xmlAddChild(devs, d);
		change(changes, "scratch disk added (virtio, cache=none, io=threads)");
	}
	attr(drv, "cache", cache, sizeof(cache));
	change(changes, "scratch disk: raw file %s, %llu MiB, bus %s, cache %s, io %s",
	       l->disk_path, (unsigned long long)hb_param_int(l->o, "disk_size") >> 20,
	       bus[0] ? bus : "virtio", cache[0] ? cache : "hypervisor default",
	       attr(drv, "io", buf, sizeof(buf))[0] ? buf : "hypervisor default");
	hb_snprintf(guest_dev, glen, "/dev/%s", bus_dev(bus));
	if (!l->tools_img[0])
		return;
	/* make guest's tools (fio, iperf3): read-only virtio disk the guest finds by serial */
	d = xmlNewChild(devs, NULL, BAD_CAST "disk", NULL);
	xmlNewProp(d, BAD_CAST "type", BAD_CAST "file");
	xmlNewProp(d, BAD_CAST "device", BAD_CAST "disk");
	drv = xmlNewChild(d, NULL, BAD_CAST "driver", NULL);
	xmlNewProp(drv, BAD_CAST "name", BAD_CAST "qemu");
	xmlNewProp(drv, BAD_CAST "type", BAD_CAST "raw");
	s = xmlNewChild(d, NULL, BAD_CAST "source", NULL);
	xmlNewProp(s, BAD_CAST "file", BAD_CAST l->tools_img);
	t = xmlNewChild(d, NULL, BAD_CAST "target", NULL);
	xmlNewProp(t, BAD_CAST "dev", BAD_CAST(strcmp(bus_dev(bus), "vda") ? "vda" : "vdb"));
	xmlNewProp(t, BAD_CAST "bus", BAD_CAST "virtio");
	xmlNewChild(d, NULL, BAD_CAST "readonly", NULL);
	xmlNewChild(d, NULL, BAD_CAST "serial", BAD_CAST HB_QEMU_TOOLS_SERIAL);
	change(changes, "tools disk added: %s, read-only, virtio, serial " HB_QEMU_TOOLS_SERIAL,
	       l->tools_img);
}

/* The NICs: one of hvbench's on its network peer, with the template's first NIC model. */
static void edit_nics(xmlNodePtr devs, const struct lv *l, json_t *changes)
{
	xmlNodePtr model = NULL, drv = NULL, c, next, n;
	char type[32], mtype[32] = "";

	for (c = devs->children; c; c = next) {
		next = c->next;
		if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "interface"))
			continue;
		if (!model) {
			model = child(c, "model");
			drv = child(c, "driver");
			model = model ? xmlCopyNode(model, 1) : NULL;
			drv = drv ? xmlCopyNode(drv, 1) : NULL;
		}
		change(changes, "interface (type %s) removed%s",
		       attr(c, "type", type, sizeof(type)),
		       strcmp(l->net, "none") ? ": hvbench's NIC on its network peer replaces it"
					      : " (net: none)");
		drop(c);
	}
	if (!strcmp(l->net, "none")) {
		xmlFreeNode(model);
		xmlFreeNode(drv);
		return;
	}
	n = xmlNewNode(NULL, BAD_CAST "interface");
	if (!strcmp(l->net, "tap")) {
		xmlNewProp(n, BAD_CAST "type", BAD_CAST "ethernet");
		xmlNodePtr t = xmlNewChild(n, NULL, BAD_CAST "target", NULL);
		xmlNewProp(t, BAD_CAST "dev", BAD_CAST l->tap);
		xmlNewProp(t, BAD_CAST "managed", BAD_CAST "no");
	} else {
		xmlNewProp(n, BAD_CAST "type", BAD_CAST "user");
	}
	if (!model) {
		model = xmlNewNode(NULL, BAD_CAST "model");
		xmlNewProp(model, BAD_CAST "type", BAD_CAST "virtio");
	}
	attr(model, "type", mtype, sizeof(mtype));
	xmlAddChild(n, model);
	if (drv)
		xmlAddChild(n, drv);
	xmlAddChild(devs, n);
	if (!strcmp(l->net, "tap"))
		change(changes,
		       "interface added: type ethernet, tap %s (made by hvbench, managed='no', "
		       "moved "
		       "into its network namespace once QEMU holds it), model %s%s",
		       l->tap, mtype, drv ? ", driver settings of your first interface" : "");
	else
		change(changes,
		       "interface added: type user (libvirt user networking: NOT representative), "
		       "model %s",
		       mtype);
}

/* The agent channel (libvirt picks the host socket path) and a console log. */
static void edit_channels(xmlNodePtr devs, const struct lv *l, json_t *changes)
{
	xmlNodePtr c, next, ch, s, t, serial = NULL, log;
	char name[128];

	for (c = devs->children; c; c = next) {
		next = c->next;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!serial && !xmlStrcmp(c->name, BAD_CAST "serial"))
			serial = c;
		if (xmlStrcmp(c->name, BAD_CAST "channel") ||
		    strcmp(attr(child(c, "target"), "name", name, sizeof(name)),
			   HB_QEMU_AGENT_PORT))
			continue;
		change(changes, "channel %s of the template removed (hvbench adds its own)",
		       HB_QEMU_AGENT_PORT);
		drop(c);
	}
	ch = xmlNewChild(devs, NULL, BAD_CAST "channel", NULL);
	xmlNewProp(ch, BAD_CAST "type", BAD_CAST "unix");
	s = xmlNewChild(ch, NULL, BAD_CAST "source", NULL);
	xmlNewProp(s, BAD_CAST "mode", BAD_CAST "bind");
	t = xmlNewChild(ch, NULL, BAD_CAST "target", NULL);
	xmlNewProp(t, BAD_CAST "type", BAD_CAST "virtio");
	xmlNewProp(t, BAD_CAST "name", BAD_CAST HB_QEMU_AGENT_PORT);
	change(changes,
	       "channel added: unix socket (path chosen by libvirt) <-> virtio-serial port "
	       "%s (hvbench's agent)",
	       HB_QEMU_AGENT_PORT);
	if (!serial) {
		serial = xmlNewChild(devs, NULL, BAD_CAST "serial", NULL);
		xmlNewProp(serial, BAD_CAST "type", BAD_CAST "pty");
		change(changes, "serial port added (pty) for the guest console");
	}
	if (!child(serial, "log")) {
		log = xmlNewChild(serial, NULL, BAD_CAST "log", NULL);
		xmlNewProp(log, BAD_CAST "file", BAD_CAST l->console_path);
		xmlNewProp(log, BAD_CAST "append", BAD_CAST "off");
		change(changes, "serial port logs to %s (virtlogd)", l->console_path);
	}
}

/*
 * Turns the template into the domain hvbench starts; every change goes into changes (an array
 * of sentences) so the report can say exactly what differs from the user's definition.
 */
static int make_domain_xml(struct lv *l, xmlDocPtr doc, json_t *changes, char **xml,
			   struct hb_err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), os, n, next, devs;
	const char *dtype = hb_param_str(l->o, "domain_type");
	const char *append = hb_param_str(l->o, "append");
	char buf[256], cmdline[3072], guest_dev[32];
	xmlChar *out = NULL;
	int size = 0;

	if (strcmp(dtype, "template") && strcmp(attr(root, "type", buf, sizeof(buf)), dtype)) {
		change(changes, "domain type %s -> %s (domain_type)", buf, dtype);
		xmlSetProp(root, BAD_CAST "type", BAD_CAST dtype);
	}
	text_of(child(root, "name"), buf, sizeof(buf));
	set_child_text(root, "name", l->dom_name);
	change(changes, "name %s -> %s (transient, destroyed at the end)", buf[0] ? buf : "(none)",
	       l->dom_name);
	if ((n = child(root, "uuid"))) {
		change(changes, "uuid %s removed (libvirt makes a fresh one)",
		       text_of(n, buf, sizeof(buf)));
		drop(n);
	}
	for (const char *const *ev =
		     (const char *const[]){"on_poweroff", "on_reboot", "on_crash", NULL};
	     *ev; ev++) {
		n = child(root, *ev);
		if (n && !strcmp(text_of(n, buf, sizeof(buf)), "destroy"))
			continue;
		if (n)
			change(changes, "%s %s -> destroy (the guest powers off at the end)", *ev,
			       buf);
		set_child_text(root, *ev, "destroy");
	}
	os = child(root, "os");
	if (!os)
		os = xmlNewChild(root, NULL, BAD_CAST "os", NULL);
	if (!child(os, "type")) {
		n = xmlNewChild(os, NULL, BAD_CAST "type", BAD_CAST "hvm");
		xmlNewProp(n, BAD_CAST "arch", BAD_CAST "x86_64");
	}
	for (n = os->children; n; n = next) {
		next = n->next;
		if (n->type == XML_ELEMENT_NODE && (!xmlStrcmp(n->name, BAD_CAST "boot") ||
						    !xmlStrcmp(n->name, BAD_CAST "kernel") ||
						    !xmlStrcmp(n->name, BAD_CAST "initrd") ||
						    !xmlStrcmp(n->name, BAD_CAST "cmdline"))) {
			change(changes, "os/%s removed (direct kernel boot of hvbench's guest)",
			       (const char *)n->name);
			drop(n);
		}
	}
	devs = child(root, "devices");
	if (!devs)
		devs = xmlNewChild(root, NULL, BAD_CAST "devices", NULL);
	/* per-device boot order conflicts with direct kernel boot */
	for (n = devs->children; n; n = n->next) {
		xmlNodePtr b = n->type == XML_ELEMENT_NODE ? child(n, "boot") : NULL;
		if (b && xmlStrcmp(n->name, BAD_CAST "disk") &&
		    xmlStrcmp(n->name, BAD_CAST "interface")) {
			change(changes, "%s: boot order removed", (const char *)n->name);
			drop(b);
		}
	}
	edit_disks(devs, l, changes, guest_dev, sizeof(guest_dev));
	edit_nics(devs, l, changes);
	edit_channels(devs, l, changes);
	hb_snprintf(cmdline, sizeof(cmdline),
		    "console=ttyS0 panic=-1 quiet hvbench.disk=%s hvbench.port=%s%s%s%s%s",
		    guest_dev, HB_QEMU_AGENT_PORT, !strcmp(l->net, "none") ? "" : " hvbench.ip=",
		    !strcmp(l->net, "tap")    ? HB_QEMU_GUEST_CIDR
		    : !strcmp(l->net, "user") ? HB_QEMU_USER_CIDR
					      : "",
		    append && append[0] ? " " : "", append ? append : "");
	xmlNewChild(os, NULL, BAD_CAST "kernel", BAD_CAST l->kernel);
	xmlNewChild(os, NULL, BAD_CAST "initrd", BAD_CAST l->initrd);
	n = xmlNewChild(os, NULL, BAD_CAST "cmdline", NULL);
	xmlNodeSetContent(n, BAD_CAST cmdline); /* escapes what needs it */
	change(changes, "os: direct kernel boot of %s with %s, cmdline \"%s\"", l->kernel,
	       l->initrd, cmdline);
	xmlDocDumpFormatMemory(doc, &out, &size, 1);
	if (!out)
		return hb_err_set(e, HB_ENOMEM, "cannot serialise the domain XML");
	*xml = strdup((const char *)out);
	xmlFree(out);
	return *xml ? 0 : hb_err_set(e, HB_ENOMEM, "out of memory");
}

/* The host path of the agent channel in a (live) domain XML; error names what is wrong. */
static int agent_channel(const char *xml, const char *dom, char *path, size_t len, struct hb_err *e)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr devs, c;
	char name[128], type[32], mode[32];
	int rc = parse_domain(xml, dom, &doc, e);

	if (rc)
		return rc;
	devs = child(xmlDocGetRootElement(doc), "devices");
	for (c = devs ? devs->children : NULL; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "channel") ||
		    strcmp(attr(child(c, "target"), "name", name, sizeof(name)),
			   HB_QEMU_AGENT_PORT))
			continue;
		attr(c, "type", type, sizeof(type));
		attr(child(c, "source"), "mode", mode, sizeof(mode));
		attr(child(c, "source"), "path", path, len);
		if (strcmp(type, "unix") || strcmp(mode, "bind") || !path[0])
			rc = hb_err_set(
				e, HB_EUNSUPP,
				"domain %s: channel %s is type '%s' mode '%s': hvbench needs "
				"<channel type='unix'><source mode='bind' .../>",
				dom, HB_QEMU_AGENT_PORT, type, mode);
		xmlFreeDoc(doc);
		return rc;
	}
	xmlFreeDoc(doc);
	return hb_err_set(e, HB_EUNSUPP,
			  "domain %s has no virtio channel %s (add <channel type='unix'><source "
			  "mode='bind'/><target type='virtio' name='%s'/></channel> and run "
			  "hvbench-guest --virtio-serial %s in the guest)",
			  dom, HB_QEMU_AGENT_PORT, HB_QEMU_AGENT_PORT, HB_QEMU_AGENT_PORT);
}

/* ---- the host view ---- */

static int uri_is_local(const char *uri)
{
	/* a transport (qemu+ssh://) or a host (qemu://host/) means another machine */
	return !strncmp(uri, "qemu:///", 8);
}

/* QEMU's pid: the process whose argv has "-name guest=NAME,..." (libvirt's form). */
static pid_t find_qemu(const char *dom)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char want[200];
	pid_t found = 0;

	if (!d)
		return 0;
	hb_snprintf(want, sizeof(want), "guest=%s,", dom);
	while (!found && (de = readdir(d))) {
		char path[64], *text = NULL, *p, *end;
		size_t n = 0;
		long pid;
		if (hb_parse_long(de->d_name, 1, INT_MAX, &pid))
			continue;
		hb_snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		if (hb_read_file(path, 1 << 20, &text, &n, NULL))
			continue;
		end = text + n;
		for (p = text; p < end; p += strlen(p) + 1)
			if (!strcmp(p, "-name") && p + 6 < end &&
			    !strncmp(p + 6, want, strlen(want))) {
				found = (pid_t)pid;
				break;
			}
		free(text);
	}
	closedir(d);
	return found;
}

/* vCPU threads: QEMU names them "CPU <n>/KVM" or "CPU <n>/TCG". */
static void find_vcpus(struct lv *l)
{
	char path[64];
	DIR *d;
	struct dirent *de;

	l->ntids = 0;
	hb_snprintf(path, sizeof(path), "/proc/%d/task", (int)l->pid);
	if (l->pid <= 0 || !(d = opendir(path)))
		return;
	while ((de = readdir(d)) && l->ntids < (int)HB_ARRAY_SIZE(l->tids)) {
		char cpath[128], *comm = NULL;
		size_t n = 0;
		long tid;
		if (hb_parse_long(de->d_name, 1, INT_MAX, &tid))
			continue;
		hb_snprintf(cpath, sizeof(cpath), "%s/%ld/comm", path, tid);
		if (hb_read_file(cpath, 256, &comm, &n, NULL))
			continue;
		if (!strncmp(comm, "CPU ", 4) && (strstr(comm, "/KVM") || strstr(comm, "/TCG")))
			l->tids[l->ntids++] = (pid_t)tid;
		free(comm);
	}
	closedir(d);
}

/* QMP over libvirt's monitor passthrough (lib/qmp.h custom transport). */
static int qmp_passthrough(void *arg, const char *cmd, double timeout, char **reply,
			   struct hb_err *e)
{
	struct lv *l = arg;

	(void)timeout; /* libvirt bounds monitor commands itself */
	*reply = NULL;
	if (virDomainQemuMonitorCommand(l->dom, cmd, reply, 0) < 0)
		return lv_err(e, HB_EIO, "qemu-monitor-command");
	return 0;
}

/* The domstats probe's source: libvirt's domain stats as one flat object. */
static int dom_stats(void *arg, json_t **out, struct hb_err *e)
{
	struct lv *l = arg;
	virDomainPtr doms[] = {l->dom, NULL};
	virDomainStatsRecordPtr *recs = NULL;
	unsigned int what = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL |
			    VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU |
			    VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK;
	json_t *o;
	int n;

	*out = NULL;
	n = virDomainListGetStats(doms, what, &recs, 0);
	if (n < 0)
		return lv_err(e, HB_EIO, "virDomainListGetStats");
	o = json_object();
	for (int r = 0; r < n && o; r++)
		for (int i = 0; i < recs[r]->nparams; i++) {
			virTypedParameterPtr p = &recs[r]->params[i];
			double v;
			switch (p->type) {
			case VIR_TYPED_PARAM_INT: v = p->value.i; break;
			case VIR_TYPED_PARAM_UINT: v = p->value.ui; break;
			case VIR_TYPED_PARAM_LLONG: v = (double)p->value.l; break;
			case VIR_TYPED_PARAM_ULLONG: v = (double)p->value.ul; break;
			case VIR_TYPED_PARAM_DOUBLE: v = p->value.d; break;
			default: continue;
			}
			json_object_set_new(o, p->field, json_real(v));
		}
	virDomainStatsRecordListFree(recs);
	if (!o)
		return hb_err_set(e, HB_ENOMEM, "out of memory");
	*out = o;
	return 0;
}

/* Is the domain (and its QEMU) still there? */
static int dom_alive(struct lv *l)
{
	if (l->gone)
		return 0;
	if (l->pid > 0 && kill(l->pid, 0) && errno == ESRCH)
		l->gone = 1;
	else if (virDomainIsActive(l->dom) != 1)
		l->gone = 1;
	return !l->gone;
}

static void gone_msg(struct lv *l, char *buf, size_t len)
{
	int state = 0, reason = 0;

	if (virDomainGetState(l->dom, &state, &reason, 0) == 0)
		hb_snprintf(buf, len, "domain %s stopped (libvirt state %d, reason %d)",
			    l->dom_name, state, reason);
	else if (l->pid > 0)
		hb_snprintf(buf, len, "QEMU (pid %d) of domain %s exited", (int)l->pid,
			    l->dom_name);
	else
		hb_snprintf(buf, len, "domain %s is gone", l->dom_name);
}

static int hello_check(void *arg, int closed, struct hb_err *e)
{
	struct lv *l = arg;
	char g[300];

	if (!closed && l->env->stop && *l->env->stop)
		return hb_err_set(e, HB_EINTR, "interrupted while waiting for the guest");
	if (!dom_alive(l)) {
		gone_msg(l, g, sizeof(g));
		return hb_err_set(e, HB_ECHILD, "%s before the agent said hello", g);
	}
	return 0;
}

/* While connecting to the agent socket: hello_check's question before any hello. */
static int socket_check(void *arg, struct hb_err *e)
{
	return hello_check(arg, 0, e);
}

/* ---- ops ---- */

static int lv_supported(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 0; /* whether a daemon answers is the target's business (start says why not) */
}

static void lv_check(const json_t *o, const char *name, const struct hb_check_env *env,
		     struct hb_target_facts *facts, const char *where, struct hb_diag *d)
{
	const char *dom = hb_param_str(o, "domain"), *tpl = hb_param_str(o, "domain_xml");
	const char *k = hb_param_str(o, "kernel"), *i = hb_param_str(o, "initrd");
	struct stat st;

	(void)name;
	(void)env;
	if (dom[0]) {
		if (tpl[0])
			hb_diag_error(d,
				      "%sdomain and domain_xml exclude each other (attach to a "
				      "running domain, or create one from your XML)",
				      where);
		if (k[0] || i[0] || hb_param_str(o, "append")[0])
			hb_diag_warn(d,
				     "%skernel/initrd/append are ignored when attaching to "
				     "domain %s",
				     where, dom);
		return;
	}
	if (hb_param_str(o, "iperf_bind")[0])
		hb_diag_warn(d,
			     "%siperf_bind is only used when attaching (created domains get "
			     "hvbench's network peer)",
			     where);
	if (i[0] && !k[0])
		hb_diag_error(d, "%sinitrd given without kernel", where);
	if (k[0] && (stat(k, &st) || !S_ISREG(st.st_mode)))
		hb_diag_error(d, "%skernel %s is not a readable file", where, k);
	if (i[0] && (stat(i, &st) || !S_ISREG(st.st_mode)))
		hb_diag_error(d, "%sinitrd %s is not a readable file", where, i);
	if (tpl[0]) {
		struct hb_err e = {0};
		xmlDocPtr doc = NULL;
		if (load_template(tpl, &doc, &e)) {
			hb_diag_error(d, "%s%s", where, e.msg);
			return;
		}
		doc_facts(doc, facts);
		xmlFreeDoc(doc);
		if (!k[0] && facts->memory_mib && facts->memory_mib < HB_QEMU_MIN_MEMORY_MIB)
			hb_diag_error(d,
				      "%sdomain_xml gives %ld MiB: hvbench's guest image needs at "
				      "least %d",
				      where, facts->memory_mib, HB_QEMU_MIN_MEMORY_MIB);
		return;
	}
	hb_strlcpy(facts->machine, hb_param_str(o, "machine"), sizeof(facts->machine));
	facts->vcpus = (int)hb_param_int(o, "vcpus");
	facts->memory_mib = (long)hb_param_int(o, "memory");
	if (!k[0] && facts->memory_mib < HB_QEMU_MIN_MEMORY_MIB)
		hb_diag_error(d, "%smemory %ld MiB: hvbench's guest image needs at least %d", where,
			      facts->memory_mib, HB_QEMU_MIN_MEMORY_MIB);
}

/* Files of a created domain: QEMU runs as libvirt's unprivileged user, so the directory is
 * traversable (0711, names not listable) and libvirt relabels the disk for it. */
static int make_files(struct lv *l, struct hb_err *e)
{
	const struct hb_env *env = l->env;
	const char *b = env->build_dir ? env->build_dir : "build";
	const char *k = hb_param_str(l->o, "kernel"), *i = hb_param_str(l->o, "initrd");
	char kb[PATH_MAX], ib[PATH_MAX], tb[PATH_MAX];
	int rc;

	l->tools_img[0] = '\0';
	if (!k[0]) {
		/* the uncompressed kernel, booted through its PVH entry, and the tools disk */
		hb_snprintf(kb, sizeof(kb), "%s/guest/" HB_GUEST_KERNEL, b);
		hb_snprintf(ib, sizeof(ib), "%s/guest/" HB_GUEST_INITRD, b);
		hb_snprintf(tb, sizeof(tb), "%s/guest/" HB_GUEST_TOOLS, b);
		k = kb;
		i = ib;
		if (access(k, R_OK) || access(i, R_OK) || access(tb, R_OK))
			return hb_err_set(e, HB_EUNSUPP,
					  "guest image %s/guest/{" HB_GUEST_KERNEL
					  "," HB_GUEST_INITRD "," HB_GUEST_TOOLS
					  "} not built (run: make guest)",
					  b);
		if (!realpath(tb, l->tools_img))
			return hb_err_errno(e, HB_EINVAL, "tools image %s", tb);
	}
	/* libvirt needs absolute paths */
	if (!realpath(k, l->kernel))
		return hb_err_errno(e, HB_EINVAL, "kernel %s", k);
	if (i[0] && !realpath(i, l->initrd))
		return hb_err_errno(e, HB_EINVAL, "initrd %s", i);
	if (hb_snprintf(l->dir, sizeof(l->dir), "%s/libvirt-%s", env->scratch_dir, l->name) ||
	    hb_snprintf(l->disk_path, sizeof(l->disk_path), "%s/disk.raw", l->dir))
		return hb_err_set(e, HB_EINVAL, "scratch path too long");
	if (hb_snprintf(l->console_path, sizeof(l->console_path), "%s/%s-console.log",
			env->out_dir ? env->out_dir : env->scratch_dir, l->name))
		return hb_err_set(e, HB_EINVAL, "console log path too long");
	if (chmod(env->scratch_dir, 0711))
		return hb_err_errno(e, HB_EIO, "chmod %s", env->scratch_dir);
	rc = hb_mkdirs(l->dir, 0711, e);
	if (rc)
		return rc;
	l->dir_made = 1;
	if (chmod(l->dir, 0711))
		return hb_err_errno(e, HB_EIO, "chmod %s", l->dir);
	/* virtlogd (root) creates the log: nothing of someone else's may stand at that name */
	unlink(l->console_path);
	return 0;
}

/* The tap libvirt opens (root namespace, managed='no'); user networking when none can be made. */
static void make_tap(struct lv *l, json_t *info)
{
	struct hb_err e = {0};
	unsigned h = 2166136261u;

	l->net = hb_param_str(l->o, "net");
	if (strcmp(l->net, "tap"))
		return;
	hb_link_cleanup_stale(TAP_PREFIX);
	for (const char *p = l->name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	hb_snprintf(l->tap, sizeof(l->tap), TAP_PREFIX "%d-%04x", (int)getpid(), h & 0xffff);
	hb_link_delete(l->tap); /* a leftover of ours by this name */
	if (hb_tap_create_root(l->tap, &e) == 0) {
		l->tap_made = 1;
		return;
	}
	json_object_set_new(info, "net_fallback",
			    json_sprintf("no tap (%s); libvirt user networking used: network "
					 "figures are not representative",
					 e.msg));
	hb_target_log(l->env, l->name, "no tap (%s): user networking (not representative)", e.msg);
	l->net = "user";
}

static int open_peer(struct lv *l, struct hb_target_facts *facts, json_t *info, struct hb_err *e)
{
	struct hb_netpeer_cfg c = {
		.mode = l->net,
		.tag = l->name,
		.tap = l->tap,
		.adopt_tap = 1,
		.host_cidr = HB_QEMU_HOST_CIDR,
		.host_ip = HB_QEMU_HOST_IP,
		.user_gw = HB_QEMU_USER_HOST_IP,
		.none_why = "net: none",
		.log = l->env->log,
		.log_arg = l->env->log_arg,
	};
	int rc = hb_netpeer_open(&l->peer, &c, info, e);

	if (rc)
		return rc;
	hb_strlcpy(facts->net_mode, l->peer.port ? l->peer.mode : "none", sizeof(facts->net_mode));
	return 0;
}

/* Versions and the host view, common to both modes. */
static void host_view(struct lv *l, const char *uri, const char *qmp_mode, json_t *info)
{
	unsigned long long v = 0;
	char buf[64];
	const char *type;

	if (virConnectGetLibVersion(l->conn, (unsigned long *)&v) == 0) {
		version_str(v, buf, sizeof(buf));
		json_object_set_new(info, "libvirt_version", json_string(buf));
	}
	if (virGetVersion((unsigned long *)&v, NULL, NULL) == 0) {
		version_str(v, buf, sizeof(buf));
		json_object_set_new(info, "libvirt_client_version", json_string(buf));
	}
	type = virConnectGetType(l->conn);
	if (type)
		json_object_set_new(info, "hypervisor", json_string(type));
	if (virConnectGetVersion(l->conn, (unsigned long *)&v) == 0) {
		version_str(v, buf, sizeof(buf));
		json_object_set_new(info, "qemu_version", json_string(buf));
	}
	json_object_set_new(info, "libvirt_uri", json_string(uri));
	if (uri_is_local(uri))
		l->pid = find_qemu(l->dom_name);
	if (l->pid > 0) {
		find_vcpus(l);
		json_object_set_new(info, "qemu_pid", json_integer(l->pid));
		json_t *tids = json_array();
		for (int i = 0; i < l->ntids; i++)
			json_array_append_new(tids, json_integer(l->tids[i]));
		json_object_set_new(info, "vcpu_tids", tids);
	} else {
		json_object_set_new(
			info, "host_view",
			json_string(uri_is_local(uri)
					    ? "QEMU process of the domain not found"
					    : "libvirt on another host: no QEMU pid (proc, "
					      "pfm probes and memory overhead unavailable)"));
	}
	if (!strcmp(qmp_mode, "off") || (!strcmp(qmp_mode, "auto") && l->attach)) {
		json_object_set_new(
			info, "qmp_passthrough",
			json_string(!strcmp(qmp_mode, "off")
					    ? "off (qmp: off)"
					    : "off: libvirt would mark the attached domain "
					      "tainted (custom-monitor); set qmp: on"));
		return;
	}
	struct hb_err e = {0};
	json_t *ret = NULL;
	if (hb_qmp_open_custom(qmp_passthrough, l, &l->qmp, &e) ||
	    hb_qmp_cmd(l->qmp, "query-kvm", NULL, QMP_TIMEOUT, &ret, &e)) {
		json_object_set_new(info, "qmp_passthrough",
				    json_sprintf("unavailable: %s", e.msg));
		hb_qmp_close(l->qmp);
		l->qmp = NULL;
	} else {
		json_object_set_new(info, "qmp_passthrough",
				    json_string("virDomainQemuMonitorCommand (libvirt-qemu)"));
	}
	json_decref(ret);
}

static int live_xml(struct lv *l, json_t *info, struct hb_err *e)
{
	char *xml = virDomainGetXMLDesc(l->dom, 0);
	int rc;

	if (!xml)
		return lv_err(e, HB_EIO, "virDomainGetXMLDesc");
	json_object_set_new(info, "domain_xml", json_string(xml));
	rc = agent_channel(xml, l->dom_name, l->agent_path, sizeof(l->agent_path), e);
	free(xml);
	if (!rc)
		json_object_set_new(info, "agent_channel", json_string(l->agent_path));
	return rc;
}

static void dom_facts(struct lv *l, struct hb_target_facts *f, json_t *info)
{
	char *xml = virDomainGetXMLDesc(l->dom, 0);
	xmlDocPtr doc = NULL;
	char type[16] = "", uuid[VIR_UUID_STRING_BUFLEN];
	struct hb_err e = {0};

	if (virDomainGetUUIDString(l->dom, uuid) == 0)
		json_object_set_new(info, "domain_uuid", json_string(uuid));
	json_object_set_new(info, "domain_name", json_string(l->dom_name));
	if (xml && parse_domain(xml, l->dom_name, &doc, &e) == 0) {
		doc_facts(doc, f);
		attr(xmlDocGetRootElement(doc), "type", type, sizeof(type));
		xmlFreeDoc(doc);
	}
	free(xml);
	hb_strlcpy(f->accel,
		   !strcmp(type, "kvm")	   ? "kvm"
		   : !strcmp(type, "qemu") ? "tcg"
					   : type,
		   sizeof(f->accel));
	hb_snprintf(f->accel_reason, sizeof(f->accel_reason), "libvirt domain type %s%s", type,
		    l->attach ? " (attached domain)" : "");
	f->emulation = !strcmp(type, "qemu");
}

/*
 * Host memory of the VM, as the qemu backend measures it (vmmem.c): QEMU's PSS minus the PSS of
 * guest RAM, which is identifiable only when RAM is a memfd (<memoryBacking><source
 * type='memfd'/>: the minimal template has it). Otherwise guest RAM is anonymous memory inside
 * QEMU's PSS and the overhead is not separable: said in info.memory_overhead_note.
 */
static void measure_memory(struct lv *l, struct hb_target_facts *f, double avail_before,
			   json_t *info)
{
	struct hb_err me = {0};

	if (l->pid <= 0) {
		hb_strlcpy(f->mem_error, "QEMU not visible from here", sizeof(f->mem_error));
		return;
	}
	if (hb_vmmem_read(l->pid, HB_VMMEM_QEMU_MEMFD, &f->mem, &me)) {
		hb_strlcpy(f->mem_error, me.msg, sizeof(f->mem_error));
		return;
	}
	f->have_mem = 1;
	f->avail_before_mib = avail_before;
	f->avail_after_mib = avail_before >= 0 ? hb_meminfo("MemAvailable") / 1048576.0 : -1;
	if (!f->mem.guest_mappings)
		json_object_set_new(
			info, "memory_overhead_note",
			json_string("guest RAM is not a memfd (the domain has no <memoryBacking>"
				    "<source type='memfd'/>): QEMU's PSS includes guest RAM, the "
				    "overhead beyond it cannot be told apart"));
}

/*
 * A root-only /dev/kvm (no udev rule ran: 0600 root:root) cannot be opened by libvirt's
 * unprivileged QEMU user; libvirt 9 then finds its cached QEMU capabilities stale at every
 * lookup and probes QEMU again (8-15 s a call on the TCG test host), so a domain start took
 * 100-110 s instead of 3.5: said, since the boot time includes it.
 */
static void kvm_dev_check(const struct lv *l)
{
	struct stat st;

	if (stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode) && !(st.st_mode & 0066))
		hb_target_log(
			l->env, l->name,
			"warning: /dev/kvm is accessible to its owner only (mode %04o): "
			"libvirt's QEMU user cannot open it, and libvirt then probes QEMU's "
			"capabilities again at every call (10 s or more each), which this boot "
			"time includes; give it to the kvm group (chgrp kvm /dev/kvm; chmod "
			"0660 /dev/kvm), as udev does",
			(unsigned)(st.st_mode & 07777));
}

static int start_created(struct lv *l, const struct hb_target *t, struct hb_target_facts *facts,
			 json_t *info, struct hb_err *e)
{
	const char *tpl = hb_param_str(l->o, "domain_xml");
	double timeout = (double)hb_param_int(l->o, "boot_timeout");
	json_t *changes = json_array(), *hello = NULL;
	xmlDocPtr doc = NULL;
	char *xml = NULL, cache[32] = "none";
	double avail_before;
	int rc;

	hb_snprintf(l->dom_name, sizeof(l->dom_name), "hvbench-%s-%d", t->name, (int)getpid());
	for (char *p = l->dom_name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			*p = '_';
	rc = make_files(l, e);
	if (rc)
		goto out;
	rc = tpl[0] ? load_template(tpl, &doc, e) : minimal_template(l->o, &doc, e);
	if (rc)
		goto out;
	json_object_set_new(info, "template", json_string(tpl[0] ? tpl : "(hvbench's minimal)"));
	make_tap(l, info);
	rc = make_domain_xml(l, doc, changes, &xml, e);
	if (rc)
		goto out;
	/* the cache mode the XML gives the scratch disk decides whether it needs O_DIRECT */
	{
		const char *c = strstr(xml, "cache=\"");
		size_t n = c ? strcspn(c + 7, "\"") : 0;
		if (c && n < sizeof(cache)) {
			memcpy(cache, c + 7, n);
			cache[n] = '\0';
		}
	}
	json_object_set(info, "xml_changes", changes);
	rc = hb_scratch_disk_create(l->disk_path,
				    (unsigned long long)hb_param_int(l->o, "disk_size"), cache, e);
	if (rc)
		goto out;
	if (l->env->stop && *l->env->stop) {
		rc = hb_err_set(e, HB_EINTR, "interrupted before the domain started");
		goto out;
	}
	avail_before = hb_meminfo("MemAvailable") / 1048576.0;
	kvm_dev_check(l);
	hb_target_log(l->env, l->name, "starting transient domain %s", l->dom_name);
	l->t_start = hb_now();
	/* AUTODESTROY: libvirtd destroys the domain when this connection closes, however we end */
	l->dom = virDomainCreateXML(l->conn, xml, VIR_DOMAIN_START_AUTODESTROY);
	if (!l->dom) {
		rc = lv_err(e, HB_EIO, "virDomainCreateXML");
		goto out;
	}
	l->created = 1;
	rc = open_peer(l, facts, info, e);
	if (!rc)
		rc = live_xml(l, info, e);
	if (rc)
		goto out;
	host_view(l, hb_param_str(l->o, "uri"), hb_param_str(l->o, "qmp"), info);
	rc = hb_tg_agent_connect_unix(&l->agent, l->agent_path, l->t_start + timeout, socket_check,
				      l, e);
	if (!rc)
		rc = hb_tg_agent_hello(&l->agent, NULL, l->t_start + timeout - hb_now(),
				       hello_check, l, &hello, e);
	if (rc == HB_ETIMEDOUT) {
		hb_err_clear(e);
		rc = hb_err_set(e, HB_ETIMEDOUT, "guest did not say hello within %.0f s", timeout);
	}
	if (rc)
		goto out;
	facts->time_to_ready_s = hb_now() - l->t_start;
	/* the domain's QEMU started after t_start: its CPU time is this boot's (when visible) */
	if (l->pid > 0 && hb_pidstat_cpu_s(l->pid, &facts->boot_cpu_s))
		facts->boot_cpu_s = HB_FACT_UNKNOWN;
	hb_facts_from_hello(facts, hello, 1);
	dom_facts(l, facts, info);
	measure_memory(l, facts, avail_before, info);
	json_object_set_new(info, "console_log", json_string(l->console_path));
	json_object_set_new(info, "guest_kernel", json_string(l->kernel));
out:
	json_decref(hello);
	json_decref(changes);
	free(xml);
	xmlFreeDoc(doc);
	return rc;
}

static int start_attached(struct lv *l, const struct hb_target *t, struct hb_target_facts *facts,
			  json_t *info, struct hb_err *e)
{
	const char *dom = hb_param_str(l->o, "domain");
	double timeout = (double)hb_param_int(l->o, "boot_timeout");
	struct hb_netpeer_cfg pc = {
		.mode = "bind",
		.tag = t->name,
		.bind_addr = hb_param_str(l->o, "iperf_bind"),
		.base_port = (int)hb_param_int(l->o, "iperf_port"),
		.none_why = "network workloads on an attached domain need the option iperf_bind",
	};
	json_t *hello = NULL;
	double t0 = hb_now();
	const char *name;
	int rc;

	l->attach = 1;
	l->dom = is_uuid(dom) ? virDomainLookupByUUIDString(l->conn, dom)
			      : virDomainLookupByName(l->conn, dom);
	if (!l->dom)
		return lv_err(e, HB_EINVAL, dom);
	name = virDomainGetName(l->dom);
	hb_strlcpy(l->dom_name, name ? name : dom, sizeof(l->dom_name));
	if (virDomainIsActive(l->dom) != 1)
		return hb_err_set(e, HB_EINVAL,
				  "domain %s is not running (hvbench attaches only to a running "
				  "domain and never starts one)",
				  l->dom_name);
	rc = live_xml(l, info, e);
	if (rc)
		return rc;
	host_view(l, hb_param_str(l->o, "uri"), hb_param_str(l->o, "qmp"), info);
	rc = hb_tg_agent_connect_unix(&l->agent, l->agent_path, t0 + timeout, socket_check, l, e);
	if (!rc)
		rc = hb_tg_agent_hello(&l->agent, NULL, t0 + timeout - hb_now(), hello_check, l,
				       &hello, e);
	if (rc)
		goto out;
	/* not a boot time: the domain was already running */
	json_object_set_new(info, "connect_s", json_real(hb_now() - t0));
	hb_facts_from_hello(facts, hello, 0);
	dom_facts(l, facts, info);
	measure_memory(l, facts, -1, info);
	rc = hb_netpeer_open(&l->peer, &pc, info, e);
	if (!rc)
		hb_strlcpy(facts->net_mode, l->peer.port ? "bind" : "none",
			   sizeof(facts->net_mode));
out:
	json_decref(hello);
	return rc;
}

static int lv_start(void *priv, const struct hb_target *t, const struct hb_env *env,
		    struct hb_target_facts *facts, json_t *info, struct hb_err *e)
{
	struct lv *l = priv;
	const char *uri = hb_param_str(t->opts, "uri");
	int rc;

	memset(l, 0, sizeof(*l));
	l->env = env;
	l->o = t->opts;
	l->net = "none";
	hb_tg_agent_init(&l->agent, env->stop);
	hb_strlcpy(l->name, t->name, sizeof(l->name));
	virSetErrorFunc(NULL, quiet);
	l->conn = virConnectOpen(uri);
	if (!l->conn)
		return hb_err_set(e, HB_EUNSUPP, "cannot connect to libvirt at %s: %s", uri,
				  lv_errmsg());
	rc = hb_param_str(t->opts, "domain")[0] ? start_attached(l, t, facts, info, e)
						: start_created(l, t, facts, info, e);
	json_object_set_new(info, "domain_mode", json_string(l->attach ? "attached" : "created"));
	return rc;
}

/* hb_tg_agent_failure's question: waits up to wait s for the domain to go; 1 (and why) if it did.
 */
static int dom_is_gone(void *arg, double wait, char *msg, size_t len)
{
	struct lv *l = arg;
	double end = hb_now() + wait;

	while (wait > 0 && dom_alive(l) && hb_now() < end)
		hb_sleep(0.05, NULL);
	if (dom_alive(l))
		return 0;
	gone_msg(l, msg, len);
	return 1;
}

static int lv_run(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		  struct hb_sample *out, struct hb_err *e)
{
	struct lv *l = priv;
	struct hb_probe_target pt = {.pid = l->pid,
				     .is_vm = 1,
				     .ntids = l->ntids,
				     .qmp = l->qmp,
				     .vmm_stats = dom_stats,
				     .vmm_stats_arg = l};
	struct hb_tg_vm vm = {.name = l->name,
			      .down = "the domain is not usable",
			      .agent = &l->agent,
			      .peer = &l->peer,
			      .gone = dom_is_gone,
			      .arg = l,
			      .stopped = l->stopped,
			      .dead = &l->dead};

	memcpy(pt.tids, l->tids, sizeof(pt.tids));
	return hb_tg_vm_run(&vm, req, hooks, &pt, out, e);
}

/* Waits up to secs for the created domain to go away; 1 when it did. */
static int wait_inactive(struct lv *l, double secs)
{
	double end = hb_now() + secs;

	while (virDomainIsActive(l->dom) == 1) {
		if (hb_now() >= end)
			return 0;
		hb_sleep(0.05, NULL);
	}
	return 1;
}

static void lv_stop(void *priv, json_t *info)
{
	struct lv *l = priv;
	struct hb_err e = {0};
	const char *how = NULL;

	if (l->stopped)
		return;
	l->stopped = 1;
	if (l->created && l->dom) {
		/* the agent powers the guest off after acknowledging; on_poweroff destroys it */
		if (!l->dead && dom_alive(l) && l->agent.open &&
		    hb_tg_agent_shutdown(&l->agent, 5.0, &e) == 0 && wait_inactive(l, 5.0))
			how = "powered off by the agent";
		if (!how && virDomainIsActive(l->dom) == 1) {
			how = virDomainDestroy(l->dom) == 0 ? "destroyed" : "destroy failed";
			if (!strcmp(how, "destroy failed"))
				hb_target_log(l->env, l->name, "virDomainDestroy %s: %s",
					      l->dom_name, lv_errmsg());
		}
		if (!how)
			how = "gone before stop (QEMU exited)";
		if (info)
			json_object_set_new(info, "domain_exit", json_string(how));
	}
	hb_tg_agent_close(&l->agent);
	if (l->qmp)
		hb_qmp_close(l->qmp);
	l->qmp = NULL;
	if (l->dom)
		virDomainFree(l->dom);
	l->dom = NULL;
	/* closing the connection also makes libvirtd destroy an AUTODESTROY domain */
	if (l->conn)
		virConnectClose(l->conn);
	l->conn = NULL;
	hb_netpeer_close(&l->peer); /* the namespace goes, and the tap in it */
	if (l->tap_made)
		hb_link_delete(l->tap); /* still in the root namespace when the move failed */
	l->tap_made = 0;
	if (l->dir_made)
		hb_rmtree(l->dir);
	l->dir_made = 0;
}

const struct hb_backend_ops hb_be_libvirt = {
	.kind = "libvirt",
	.help = "a libvirt domain: hvbench's guest in your domain XML (transient), or an existing "
		"domain running hvbench-guest",
	.flags = HB_BE_VM | HB_BE_HOST_VIEW,
	.opts = lv_opts,
	.nopts = HB_ARRAY_SIZE(lv_opts),
	.priv_size = sizeof(struct lv),
	.supported = lv_supported,
	.check = lv_check,
	.start = lv_start,
	.run = lv_run,
	.stop = lv_stop,
};

#else /* !HB_HAVE_LIBVIRT */

static int lv_supported(char *why, size_t len)
{
	hb_snprintf(why, len,
		    "hvbench was built without libvirt (install libvirt-dev and "
		    "libxml2-dev: sh tools/deps.sh, then rebuild)");
	return HB_EUNSUPP;
}

static int lv_start(void *priv, const struct hb_target *t, const struct hb_env *env,
		    struct hb_target_facts *facts, json_t *info, struct hb_err *e)
{
	char why[200];

	(void)priv, (void)t, (void)env, (void)facts, (void)info;
	lv_supported(why, sizeof(why));
	return hb_err_set(e, HB_EUNSUPP, "%s", why);
}

static int lv_run(void *priv, const struct hb_run_req *req, const struct hb_run_hooks *hooks,
		  struct hb_sample *out, struct hb_err *e)
{
	(void)priv, (void)req, (void)hooks;
	hb_sample_init(out);
	return hb_err_set(e, HB_EUNSUPP, "libvirt backend not built");
}

static void lv_stop(void *priv, json_t *info)
{
	(void)priv, (void)info;
}

const struct hb_backend_ops hb_be_libvirt = {
	.kind = "libvirt",
	.help = "a libvirt domain (not built: libvirt-dev missing)",
	.flags = HB_BE_VM | HB_BE_HOST_VIEW,
	.supported = lv_supported,
	.start = lv_start,
	.run = lv_run,
	.stop = lv_stop,
};

#endif
