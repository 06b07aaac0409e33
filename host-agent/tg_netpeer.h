/*
 * tg_netpeer.h — the host end of a VM's network path: what network workloads in the guest talk
 * to. Modes: "tap" makes a private network namespace holding a tap device (the VMM joins the
 * namespace) with the servers at the host end — and falls back to "user" when the namespace
 * cannot be made; "user" runs the servers on the host's 127.0.0.1 at free ports, reached from
 * the guest through the VMM's user networking (slirp: not representative, and said so);
 * "bind" runs them on an address a remote guest can reach; "none" has no peer. Every server
 * is a child process in its own process group; hb_netpeer_close kills them and removes the
 * namespace, and is safe on every exit path (also after a failed open, and twice).
 *
 * Servers are a table (tg_netpeer.c: services[]: the iperf3 server, the TCP/UDP echo server of
 * netrr): adding one is one start/stop pair, one enum hb_peer value and one line there; its
 * port is then found with hb_netpeer_port(np, kind).
 */
#ifndef HB_TG_NETPEER_H
#define HB_TG_NETPEER_H

#include <jansson.h>
#include "hb.h"
#include "workload.h"

#define HB_NETPEER_MAX_SVC 4

struct hb_netpeer_cfg {
	const char *mode;      /* "tap" | "user" | "bind" | "none" */
	const char *tag;       /* names the namespace: hb-<pid>-<tag> (the target's name) */
	const char *tap;       /* tap: device name inside the namespace */
	int adopt_tap;	       /* tap: `tap` already exists in the root namespace, held by the
				  VMM (libvirt opens it there): move it in instead of creating
				  one; no user-networking fallback (the VM has no such NIC) */
	const char *host_cidr; /* tap: address of the host end, e.g. "198.18.1.1/24" */
	const char *host_ip;   /* tap: the same without the prefix length */
	const char *user_gw;   /* user: how the guest reaches the host's 127.0.0.1 (10.0.2.2) */
	const char *bind_addr; /* bind: address the servers listen on */
	int base_port;	       /* tap/bind: port of the first service (others follow); 0: 5201 */
	const char *none_why;  /* what a network workload is told when there is no peer */
	/* tap: shaping of the host end's egress (host to guest; hb_net_shape), 0: none. A peer
	 * asked to shape that cannot (no tap) fails to open instead of measuring unshaped. */
	double rate_mbit, delay_ms;
	/* every mode: the echo server holds each reply this long after its request arrived
	 * (hb_rrpeer_start_delayed; 0..HB_RRPEER_MAX_DELAY_MS, 0: none) — an application-level
	 * latency where the kernel has no netem; recorded in info as "echo_reply_delay_ms" */
	double reply_delay_ms;
	void (*log)(void *arg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void *log_arg;
};

struct hb_peer_service; /* one kind of server (tg_netpeer.c) */

struct hb_netpeer_svc {
	const struct hb_peer_service *ops;
	int port;
	void *state; /* owned */
};

struct hb_netpeer {
	const char *mode; /* the mode in use: "tap" | "user" | "bind" | "none" (static string) */
	char netns[64];	  /* tap: the namespace ("" when none) */
	int netns_made;
	char addr[64];	    /* address the guest connects to ("" when none) */
	int port;	    /* port of the iperf3 server (0: no peer for network workloads) */
	char why_none[256]; /* why port is 0 */
	struct hb_netpeer_svc svc[HB_NETPEER_MAX_SVC];
	int nsvc;
};

/*
 * Opens the peer. Facts go into info: "netns" (tap), "echo_reply_delay_ms" (a reply delay),
 * "net_shaping" (tap with a rate or delay), "net_fallback" (tap impossible: user networking used,
 * with the reason), "net_error" (user: the server could not start; network workloads then fail with
 * a clear error, others still run). Only "bind" failures and programming errors are returned as
 * errors; np is closed then.
 */
int hb_netpeer_open(struct hb_netpeer *np, const struct hb_netpeer_cfg *cfg, json_t *info,
		    struct hb_err *e);
/* Kills every server and removes the namespace; safe to repeat and on a zeroed np. */
void hb_netpeer_close(struct hb_netpeer *np);
/* For a forked VMM child: joins the peer's namespace when there is one (else nothing). */
int hb_netpeer_enter(const struct hb_netpeer *np, struct hb_err *e);
/* Port of the server of that kind (0 when it is not running). */
int hb_netpeer_port(const struct hb_netpeer *np, enum hb_peer kind);

#endif
