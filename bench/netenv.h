/*
 * netenv.h — private network paths for benchmarking: network namespaces, a veth pair between
 * two of them, and tap devices inside one (for QEMU). Addresses come from 198.18.0.0/15
 * (RFC 2544's benchmarking range) and nothing is ever added to the root namespace. The
 * namespaces are made with the `ip` command (iproute2) run as a child; entering one is setns().
 * Everything here needs root; callers fall back (loopback) when creation fails.
 */
#ifndef HB_NETENV_H
#define HB_NETENV_H

#include <stddef.h>
#include "hb.h"

/* `ip netns add NAME` and bring its loopback up. Names: [A-Za-z0-9_.-], at most 63 chars. */
int hb_netns_create(const char *name, struct hb_err *e);
/* `ip netns del NAME`; ignores errors (safe on a name that does not exist). */
void hb_netns_destroy(const char *name);
/* setns() the calling process (meant for a forked child) into /run/netns/NAME. */
int hb_netns_enter(const char *name, struct hb_err *e);
/* Creates tap device `tap` inside ns, assigns cidr (e.g. "198.18.1.1/24"), sets it up. */
int hb_netns_add_tap(const char *ns, const char *tap, const char *cidr, struct hb_err *e);
/*
 * For a VMM that opens its tap itself in the root namespace (libvirt's managed='no' ethernet
 * interface): creates tap device `tap` there, persistent, without an address and down; once
 * the VMM holds it, hb_netns_adopt_dev moves it into ns, assigns cidr and sets it up (the
 * VMM's open queue moves with it). hb_link_delete removes a device of the root namespace
 * (ignores errors).
 */
int hb_tap_create_root(const char *tap, struct hb_err *e);
int hb_netns_adopt_dev(const char *ns, const char *dev, const char *cidr, struct hb_err *e);
void hb_link_delete(const char *dev);
/* Deletes root-namespace devices named <prefix><pid>-... whose <pid> no longer exists. */
void hb_link_cleanup_stale(const char *prefix);
/*
 * Creates a veth pair with end if_a in ns_a and end if_b in ns_b (created directly inside the
 * namespaces, never in the root one), assigns the addresses and sets both up.
 */
int hb_netns_add_veth(const char *ns_a, const char *if_a, const char *cidr_a, const char *ns_b,
		      const char *if_b, const char *cidr_b, struct hb_err *e);
/*
 * The native network path of the net and netrr workloads: namespaces hb-<pid>-s (server) and
 * hb-<pid>-c (client) joined by a veth pair, server end HB_NETPAIR_SERVER_ADDR.
 */
#define HB_NETPAIR_SERVER_ADDR "198.18.0.1"
struct hb_netpair {
	char ns_s[64], ns_c[64];
	int made_s, made_c;
};
/* Makes the pair (cleaning stale ones of dead processes first); on failure nothing is left. */
int hb_netpair_create(struct hb_netpair *np, struct hb_err *e);
/* Deletes what hb_netpair_create made; safe to repeat. */
void hb_netpair_destroy(struct hb_netpair *np);

/*
 * Shapes what dev sends (its egress: for a VM's tap, host to guest): a rate of rate_mbit
 * Mbit/s alone is a tbf qdisc; delay_ms added to every packet (with the rate when both are
 * given) is netem (HB_EUNSUPP when the kernel has none). Rates count frames without FCS
 * (Ethernet + IP + TCP headers + payload). ns NULL: the caller's namespace. Replaces any
 * root qdisc of dev; hb_net_unshape restores the default.
 */
int hb_net_shape(const char *ns, const char *dev, double rate_mbit, double delay_ms,
		 struct hb_err *e);
void hb_net_unshape(const char *ns, const char *dev);

/* Deletes namespaces named hb-<pid>-s / hb-<pid>-c (the net workload's) whose <pid> no longer
 * exists (left by a killed run). */
void hb_netns_cleanup_stale(void);

#endif
