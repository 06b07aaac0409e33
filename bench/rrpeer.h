/*
 * rrpeer.h — the host-side peer of the netrr workload: an echo server for TCP and UDP on one
 * port, in a forked child (optionally inside a network namespace), the request/response
 * counterpart of the iperf3 server. Every TCP connection gets its own thread that writes back
 * whatever it reads; one thread answers every UDP datagram with the same bytes. Whoever brings
 * up a network path for a target (the net workload's own veth pair, the QEMU backend's tap
 * namespace, a remote target's bind address) starts one next to its iperf3 server and passes
 * its address and port to netrr runs.
 *
 * A reply delay (hb_rrpeer_start_delayed) makes the peer hold every reply for exactly that
 * long after the request arrived: a known, application-level latency for `hvbench calibrate`
 * where the kernel has no netem. It proves the round-trip timing chain (the guest's clock,
 * the histogram, the VM - reference delta), not the network path the delay would sit on.
 */
#ifndef HB_RRPEER_H
#define HB_RRPEER_H

#include <sys/types.h>
#include "hb.h"

struct hb_rrpeer {
	pid_t pid;	 /* server child (its own process group); 0 when stopped */
	int port;	 /* TCP port (and UDP port when udp) */
	int udp;	 /* 1 when the UDP echo is bound too */
	char addr[64];	 /* bind address ("" = any) */
	char netns[64];	 /* namespace it runs in ("" = the caller's) */
	double delay_ms; /* every reply held this long after its request arrived (0: none) */
};

#define HB_RRPEER_MAX_DELAY_MS 1000

/*
 * Forks the server (entering netns first when not NULL), binds bind_addr:port (NULL or "": any
 * address; port 0: one the kernel picks, read back into p->port) for TCP, and UDP on the same
 * port when that is free. Returns once it listens (up to 10 s) or fails with its own error.
 */
int hb_rrpeer_start(struct hb_rrpeer *p, const char *netns, const char *bind_addr, int port,
		    struct hb_err *e);
/*
 * The same with every reply (TCP: every received segment; UDP: every datagram) held until
 * its receive time + delay_ms (0..HB_RRPEER_MAX_DELAY_MS; 0 is hb_rrpeer_start), on the
 * monotonic clock (a sleep with a timer slack of 1 ns to 300 us before it, then polling);
 * concurrent flows do not wait for each other.
 */
int hb_rrpeer_start_delayed(struct hb_rrpeer *p, const char *netns, const char *bind_addr, int port,
			    double delay_ms, struct hb_err *e);
/* Kills and reaps the server child; safe to call twice or after a failed start. */
void hb_rrpeer_stop(struct hb_rrpeer *p);

#endif
