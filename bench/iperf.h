/*
 * iperf.h — libiperf (iperf3 3.12) plumbing for the network workload and the QEMU backend: a
 * server child that serves test after test (optionally inside a network namespace), a client
 * run in a forked child whose JSON comes back through a pipe under a hard deadline, and the
 * parser from iperf3's client-side JSON to a sample. Server and client never share a process
 * (libiperf keeps global timer state).
 */
#ifndef HB_IPERF_H
#define HB_IPERF_H

#include <signal.h>
#include <sys/types.h>
#include "hb.h"
#include "metric.h"

struct hb_iperf_server {
	pid_t pid; /* server child (its own process group); 0 when stopped */
	int port;
	char addr[64];	/* bind address ("" = any) */
	char netns[64]; /* namespace it runs in ("" = the caller's) */
};

/*
 * Forks a server child (entering netns first when not NULL) that serves tests one after another
 * on bind_addr:port (bind_addr NULL or "": any address) until stopped. Returns once the port is
 * listening (up to 10 s), or fails with the server's own error (e.g. address in use).
 */
int hb_iperf_server_start(struct hb_iperf_server *s, const char *netns, const char *bind_addr,
			  int port, struct hb_err *e);
/* Kills and reaps the server child; safe to call twice or after a failed start. */
void hb_iperf_server_stop(struct hb_iperf_server *s);

struct hb_iperf_client {
	const char *addr; /* server address */
	int port;
	const char *netns;	 /* NULL: the caller's namespace */
	int reverse;		 /* 0: client sends (-c), 1: server sends (-R) */
	int streams;		 /* parallel streams (-P) */
	unsigned long long rate; /* bits/s per stream, 0 = unlimited (-b) */
	int duration;		 /* seconds (-t) */
	int omit;		 /* seconds omitted at the start (-O), run in addition */
	int connect_timeout_ms;	 /* 0: libiperf's default */
};

/*
 * Runs one client test in a forked child and returns its JSON text in *json (malloc'd, caller
 * frees). The child is killed when deadline (absolute hb_now(); <= 0: none) passes
 * (HB_ETIMEDOUT) or *stop is set (HB_EINTR). The JSON may carry an "error" key: parse it with
 * hb_iperf_parse. A "server is busy" answer (the server still closing its previous test) is
 * retried every 0.25 s, up to 20 times, within the deadline.
 */
int hb_iperf_client_run(const struct hb_iperf_client *c, double deadline,
			volatile sig_atomic_t *stop, char **json, struct hb_err *e);

/*
 * Parses iperf3 client-side JSON (-J / libiperf JSON output). Adds throughput (Gbit/s, from
 * end.sum_received), retransmits (count, lower better, end.sum_sent), sender_cpu and
 * receiver_cpu (% host_total of each side, lower better; which side is local follows
 * start.test_start.reverse), and info iperf_version, direction ("send"/"recv"), streams,
 * sender_gbps. A JSON "error" key gives HB_EIO with that message; malformed input HB_EPROTO.
 */
int hb_iperf_parse(const char *json, struct hb_sample *out, struct hb_err *e);

/* libiperf's version string ("3.12"). */
const char *hb_iperf_version(void);

#endif
