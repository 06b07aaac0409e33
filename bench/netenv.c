/*
 * netenv.c — network namespaces, veth pairs and tap devices for the network workload and the
 * QEMU backend. Changes are made by running iproute2's `ip` as a child (with a timeout), using
 * `ip -n NS ...` so every device is created inside its namespace from the start.
 */
#include "netenv.h"
#include "child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IP_TIMEOUT 10.0

static int name_ok(const char *s, size_t max)
{
	size_t i, l = s ? strlen(s) : 0;

	if (l == 0 || l > max || s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < l; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static int cidr_ok(const char *s)
{
	size_t i, l = s ? strlen(s) : 0;

	if (l == 0 || l > 64)
		return 0;
	for (i = 0; i < l; i++)
		if (!strchr("0123456789abcdefABCDEF.:/", s[i]))
			return 0;
	return strchr(s, '/') != NULL;
}

/* Runs `ip ARGS...` (NULL-terminated) with a timeout. */
static int ip_run(struct hb_err *e, const char *a0, ...)
{
	char *argv[16];
	va_list ap;
	int n = 0;

	argv[n++] = "ip";
	argv[n++] = (char *)a0;
	va_start(ap, a0);
	while (n < 15) {
		char *a = va_arg(ap, char *);
		if (!a)
			break;
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;
	return hb_child_run(argv, NULL, IP_TIMEOUT, NULL, NULL, e);
}

int hb_netns_create(const char *name, struct hb_err *e)
{
	int rc;

	if (!name_ok(name, 63))
		return hb_err_set(e, HB_EINVAL, "netns: bad namespace name \"%s\"",
				  name ? name : "");
	if (geteuid() != 0)
		return hb_err_set(e, HB_EUNSUPP, "netns: creating namespaces needs root");
	rc = ip_run(e, "netns", "add", name, NULL);
	if (rc) {
		hb_err_prefix(e, "netns %s", name);
		return rc;
	}
	rc = ip_run(e, "-n", name, "link", "set", "lo", "up", NULL);
	if (rc) {
		hb_err_prefix(e, "netns %s", name);
		hb_netns_destroy(name);
	}
	return rc;
}

void hb_netns_destroy(const char *name)
{
	char path[PATH_MAX];

	if (!name_ok(name, 63))
		return;
	if (hb_snprintf(path, sizeof(path), "/run/netns/%s", name) || access(path, F_OK))
		return;
	ip_run(NULL, "netns", "del", name, NULL);
}

int hb_netns_enter(const char *name, struct hb_err *e)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	if (!name_ok(name, 63))
		return hb_err_set(e, HB_EINVAL, "netns: bad namespace name \"%s\"",
				  name ? name : "");
	if (hb_snprintf(path, sizeof(path), "/run/netns/%s", name))
		return hb_err_set(e, HB_EINVAL, "netns: name too long");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hb_err_errno(e, HB_EIO, "netns: cannot open %s", path);
	if (setns(fd, CLONE_NEWNET))
		rc = hb_err_errno(e, HB_EIO, "netns: setns into %s failed", name);
	close(fd);
	return rc;
}

/* Gives dev (inside ns) the address cidr and brings it up. */
static int ns_addr_up(const char *ns, const char *dev, const char *cidr, struct hb_err *e)
{
	int rc = ip_run(e, "-n", ns, "addr", "add", cidr, "dev", dev, NULL);

	return rc ? rc : ip_run(e, "-n", ns, "link", "set", dev, "up", NULL);
}

int hb_netns_add_tap(const char *ns, const char *tap, const char *cidr, struct hb_err *e)
{
	int rc;

	if (!name_ok(ns, 63) || !name_ok(tap, 15) || !cidr_ok(cidr))
		return hb_err_set(e, HB_EINVAL, "netns: bad namespace/tap name or address");
	rc = ip_run(e, "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap", NULL);
	if (!rc)
		rc = ns_addr_up(ns, tap, cidr, e);
	if (rc)
		hb_err_prefix(e, "netns %s: tap %s", ns, tap);
	return rc;
}

int hb_tap_create_root(const char *tap, struct hb_err *e)
{
	if (!name_ok(tap, 15))
		return hb_err_set(e, HB_EINVAL, "netns: bad tap name \"%s\"", tap ? tap : "");
	if (geteuid() != 0)
		return hb_err_set(e, HB_EUNSUPP, "netns: creating a tap device needs root");
	int rc = ip_run(e, "tuntap", "add", "dev", tap, "mode", "tap", NULL);

	if (rc)
		hb_err_prefix(e, "tap %s", tap);
	return rc;
}

int hb_netns_adopt_dev(const char *ns, const char *dev, const char *cidr, struct hb_err *e)
{
	int rc;

	if (!name_ok(ns, 63) || !name_ok(dev, 15) || !cidr_ok(cidr))
		return hb_err_set(e, HB_EINVAL, "netns: bad namespace/device name or address");
	rc = ip_run(e, "link", "set", "dev", dev, "netns", ns, NULL);
	if (!rc)
		rc = ns_addr_up(ns, dev, cidr, e);
	if (rc)
		hb_err_prefix(e, "netns %s: moving %s in", ns, dev);
	return rc;
}

void hb_link_delete(const char *dev)
{
	char path[PATH_MAX];

	if (!name_ok(dev, 15) || hb_snprintf(path, sizeof(path), "/sys/class/net/%s", dev) ||
	    access(path, F_OK))
		return;
	ip_run(NULL, "link", "del", "dev", dev, NULL);
}

/* The <pid> of "<prefix><pid>-...", or 0. */
static long owner_pid(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix);
	const char *dash;
	char num[32];
	long pid;

	if (strncmp(name, prefix, pl))
		return 0;
	dash = strchr(name + pl, '-');
	if (!dash || (size_t)(dash - (name + pl)) >= sizeof(num))
		return 0;
	memcpy(num, name + pl, (size_t)(dash - (name + pl)));
	num[dash - (name + pl)] = '\0';
	if (hb_parse_long(num, 1, INT_MAX, &pid))
		return 0;
	return pid;
}

static int pid_dead(long pid)
{
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void hb_link_cleanup_stale(const char *prefix)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		long pid = owner_pid(de->d_name, prefix);
		if (pid && pid_dead(pid))
			hb_link_delete(de->d_name);
	}
	closedir(d);
}

int hb_netns_add_veth(const char *ns_a, const char *if_a, const char *cidr_a, const char *ns_b,
		      const char *if_b, const char *cidr_b, struct hb_err *e)
{
	int rc;

	if (!name_ok(ns_a, 63) || !name_ok(ns_b, 63) || !name_ok(if_a, 15) || !name_ok(if_b, 15) ||
	    !cidr_ok(cidr_a) || !cidr_ok(cidr_b))
		return hb_err_set(e, HB_EINVAL, "netns: bad namespace/interface name or address");
	rc = ip_run(e, "-n", ns_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b,
		    "netns", ns_b, NULL);
	if (!rc)
		rc = ip_run(e, "-n", ns_a, "addr", "add", cidr_a, "dev", if_a, NULL);
	if (!rc)
		rc = ip_run(e, "-n", ns_b, "addr", "add", cidr_b, "dev", if_b, NULL);
	if (!rc)
		rc = ip_run(e, "-n", ns_a, "link", "set", if_a, "up", NULL);
	if (!rc)
		rc = ip_run(e, "-n", ns_b, "link", "set", if_b, "up", NULL);
	if (rc)
		hb_err_prefix(e, "netns: veth %s/%s", ns_a, ns_b);
	return rc;
}

void hb_netns_cleanup_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		/* hvbench owns the "hb-<pid>-" prefix (net workload: -s/-c; qemu: -<target>). */
		long pid = owner_pid(de->d_name, "hb-");
		if (!pid || !pid_dead(pid))
			continue;
		hb_netns_destroy(de->d_name);
	}
	closedir(d);
}

int hb_netpair_create(struct hb_netpair *np, struct hb_err *e)
{
	int rc;

	memset(np, 0, sizeof(*np));
	hb_netns_cleanup_stale();
	if (hb_snprintf(np->ns_s, sizeof(np->ns_s), "hb-%d-s", (int)getpid()) ||
	    hb_snprintf(np->ns_c, sizeof(np->ns_c), "hb-%d-c", (int)getpid()))
		return hb_err_set(e, HB_EINVAL, "netns: namespace name too long");
	/* Names carry our pid: anything by these names is a leftover of ours. */
	hb_netns_destroy(np->ns_s);
	hb_netns_destroy(np->ns_c);
	rc = hb_netns_create(np->ns_s, e);
	if (!rc) {
		np->made_s = 1;
		rc = hb_netns_create(np->ns_c, e);
	}
	if (!rc) {
		np->made_c = 1;
		rc = hb_netns_add_veth(np->ns_s, "hbv0", HB_NETPAIR_SERVER_ADDR "/30", np->ns_c,
				       "hbv1", "198.18.0.2/30", e);
	}
	if (rc)
		hb_netpair_destroy(np);
	return rc;
}

void hb_netpair_destroy(struct hb_netpair *np)
{
	if (np->made_c)
		hb_netns_destroy(np->ns_c);
	if (np->made_s)
		hb_netns_destroy(np->ns_s);
	np->made_s = np->made_c = 0;
}

/* Runs `[ip netns exec NS] tc ARGS...` with a timeout. */
static int tc_run(const char *ns, char *const *args, int nargs, struct hb_err *e)
{
	char *argv[24];
	int n = 0;

	if (ns) {
		argv[n++] = "ip";
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = (char *)ns;
	}
	argv[n++] = "tc";
	for (int i = 0; i < nargs && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return hb_child_run(argv, NULL, IP_TIMEOUT, NULL, NULL, e);
}

int hb_net_shape(const char *ns, const char *dev, double rate_mbit, double delay_ms,
		 struct hb_err *e)
{
	char rate[48], delay[48], burst[48];
	char *args[20] = {"qdisc", "replace", "dev", (char *)dev, "root"};
	int n = 5, rc;

	if ((ns && !name_ok(ns, 63)) || !name_ok(dev, 15))
		return hb_err_set(e, HB_EINVAL, "tc: bad namespace or device name");
	if (!(rate_mbit >= 0) || !(delay_ms >= 0) || rate_mbit > 1e6 || delay_ms > 1e5 ||
	    (rate_mbit <= 0 && delay_ms <= 0))
		return hb_err_set(e, HB_EINVAL, "tc: rate or delay out of range");
	hb_snprintf(rate, sizeof(rate), "%.0fbit", rate_mbit * 1e6);
	if (delay_ms > 0) {
		/* netem: a delay, with its own rate when both are asked */
		hb_snprintf(delay, sizeof(delay), "%.3fms", delay_ms);
		args[n++] = "netem";
		args[n++] = "delay";
		args[n++] = delay;
		if (rate_mbit > 0) {
			args[n++] = "rate";
			args[n++] = rate;
		}
		args[n++] = "limit"; /* deep enough that TCP, not tail drop, finds the rate */
		args[n++] = "10000";
	} else {
		/* tbf: a bucket of 4 ms of traffic (at least 32 KiB) and a queue of 100 ms */
		double b = rate_mbit * 1e6 / 8 * 0.004;
		hb_snprintf(burst, sizeof(burst), "%.0f", b > 32768 ? b : 32768);
		args[n++] = "tbf";
		args[n++] = "rate";
		args[n++] = rate;
		args[n++] = "burst";
		args[n++] = burst;
		args[n++] = "latency";
		args[n++] = "100ms";
	}
	rc = tc_run(ns, args, n, e);
	if (rc && delay_ms > 0 && strstr(e->msg, "qdisc kind is unknown")) {
		hb_err_clear(e);
		return hb_err_set(e, HB_EUNSUPP,
				  "a delay needs the netem qdisc, which this kernel does not have "
				  "(CONFIG_NET_SCH_NETEM)");
	}
	if (rc)
		hb_err_prefix(e, "tc on %s%s%s", dev, ns ? " in netns " : "", ns ? ns : "");
	return rc;
}

void hb_net_unshape(const char *ns, const char *dev)
{
	char *args[] = {"qdisc", "del", "dev", (char *)dev, "root"};
	struct hb_err e = {0};

	if ((ns && !name_ok(ns, 63)) || !name_ok(dev, 15))
		return;
	tc_run(ns, args, (int)HB_ARRAY_SIZE(args), &e);
}
