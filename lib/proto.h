/*
 * proto.h — the agent wire protocol: newline-delimited JSON over any byte stream (virtio-serial
 * port, TCP, a socketpair or stdio in tests). Every message is an object with "op"; requests
 * carry an integer "id" echoed in the reply. A message is at most HB_PROTO_MAX bytes.
 *
 * Conversation (the host speaks first; see README "Agent protocol"):
 *   host  -> {"op":"hello","proto":1[,"token":"..."]}
 *   agent -> {"op":"hello","proto":1,"agent":"hvbench-guest","version":"0.1.0",
 *             "workloads":["disk","net","mem","cpu"],
 *             "capabilities":{"disk":{"kind","help","supported","why"?,"params":[{"name",
 *                             "type","min"?,"max"?,"default"?,"choices"?,"help"}]},...},
 *             "limits":{"max_message","max_duration","max_ramp","max_timeout"},
 *             "facts":{"kernel","arch","mem_total_bytes","vcpus","clocksource",
 *                      "kernel_boot_s" (uptime at agent start),"agent_started_at" (RFC 3339),
 *                      "agent_started_unix"}}
 *         |  {"op":"error","code":"EPROTO","message":"host speaks protocol 2, agent speaks 1",
 *             "proto":1}   (version mismatch; a bad token gets EINVAL and the line is closed)
 *   host  -> {"op":"run","id":7,"workload":"disk","params":{...},"duration":10,"ramp":2,
 *             "timeout":60[,"server":{"addr":"198.18.0.1","port":5201}]}
 *   agent -> {"op":"result","id":7,"sample":{"metrics":[...],"info":{...}},"elapsed_s":12.3}
 *            (elapsed_s: request received to reply sent, on the agent's own clock)
 *         |  {"op":"error","id":7,"code":"EINVAL","message":"..."}
 *   host  -> {"op":"ping","id":8}       agent -> {"op":"result","id":8}   (round-trip time)
 *   host  -> {"op":"shutdown","id":9}   agent -> {"op":"result","id":9} and exits
 * Ids are integers 0..2^53-1 that strictly increase within a session (a hello starts one).
 * Errors the agent cannot attribute (oversized or malformed lines) carry no id.
 */
#ifndef HB_PROTO_H
#define HB_PROTO_H

#include <signal.h>
#include <jansson.h>
#include "hb.h"
#include "timing.h"
#include "metric.h"

#define HB_PROTO_VERSION 1
#define HB_PROTO_MAX	 (1024 * 1024)

/* A buffered, bounded line reader/writer on a pair of fds (may be the same fd). */
struct hb_conn {
	int rfd, wfd;
	char *buf; /* owned; freed by hb_conn_free */
	size_t len, cap;
	int discarding; /* inside an oversized line: drop bytes up to the next newline */
	int eof;
	size_t off;	 /* start of the unread data in buf */
	size_t scan;	 /* bytes after off already known to hold no newline */
	int wsock;	 /* wfd is a socket: send() with MSG_NOSIGNAL | MSG_DONTWAIT */
	double wtimeout; /* seconds a send may wait for the peer to drain (default 60) */
	volatile sig_atomic_t
		*stop; /* NULL, or: a wait interrupted while *stop is set -> HB_EINTR */
	/* Memory source (tests, fuzzing): with rfd < 0 bytes come from src; EOF when exhausted. */
	const unsigned char *src;
	size_t srclen;
	size_t rchunk; /* 0, or the most bytes one read may take (exercises split reads) */
	int rlimited;  /* internal (hb_conn_recv_buffered): reads are counted */
	int rleft;     /* internal: reads left while rlimited */
};

void hb_conn_init(struct hb_conn *c, int rfd, int wfd);
void hb_conn_free(struct hb_conn *c); /* frees the buffer; does not close the fds */
/* Sends one message (compact JSON + '\n'). */
int hb_conn_send(struct hb_conn *c, const json_t *msg, struct hb_err *e);
/*
 * Receives one message within timeout seconds (< 0: wait forever). Returns 0 with *msg (new
 * reference, always an object with a string "op"); HB_ETIMEDOUT; HB_EIO at EOF or a read error;
 * HB_EPROTO for a malformed/oversized/non-object message — the connection stays usable and the
 * next call reads the next line. On HB_EPROTO *msg may hold the partial object (or NULL) so the
 * caller can echo its id.
 */
int hb_conn_recv(struct hb_conn *c, double timeout, json_t **msg, struct hb_err *e);

/*
 * hb_conn_recv that never waits: takes a message already buffered, reading from the fd at most
 * reads times first (call it with 1 when poll said the fd is readable, then with 0 for further
 * buffered messages). HB_ETIMEDOUT: no complete message yet. A server polling many peers uses
 * it so that one peer that sends without pause cannot hold it.
 */
int hb_conn_recv_buffered(struct hb_conn *c, int reads, json_t **msg, struct hb_err *e);

/* Sets a memory source (rfd must be < 0): recv then frames these bytes; EOF after them. */
void hb_conn_set_source(struct hb_conn *c, const void *data, size_t len);

/* Wire names of status codes ("EINVAL", "ETIMEDOUT", ...) and back (unknown -> HB_EPROTO). */
const char *hb_proto_code_name(int code);
int hb_proto_code_parse(const char *name);
/* An error reply {"op":"error"[,"id":id],"code":...,"message":...}; id < 0: none. New ref. */
json_t *hb_proto_error(long long id, int code, const char *message);

/* Options of one run request (host side). */
struct hb_run_opts {
	struct hb_timing t;
	const char *server_addr; /* NULL: none */
	int server_port;
};

/* Host side: sends hello (token may be NULL) and waits for the agent's hello; *hello is a new ref.
 */
int hb_agent_hello(struct hb_conn *c, const char *token, double timeout, json_t **hello,
		   struct hb_err *e);
/*
 * Called while hb_agent_hello_wait waits: every 0.25 s (closed = 0) and once when the channel
 * closes (closed = 1). 0 keeps waiting; an HB_E* code (message in e) ends the wait with it,
 * e.g. "QEMU exited (killed by signal 9)" or an interruption.
 */
typedef int (*hb_hello_check_fn)(void *arg, int closed, struct hb_err *e);
/* hb_agent_hello that asks check (may be NULL) whether waiting still makes sense. */
int hb_agent_hello_wait(struct hb_conn *c, const char *token, double timeout,
			hb_hello_check_fn check, void *arg, json_t **hello, struct hb_err *e);
/*
 * Host side: one run request; waits opts->timeout + 10 s for the reply. Ids must strictly
 * increase within one connection (the agent refuses a reused or lower id). Replies carrying
 * another id (stale, e.g. from a request that timed out earlier) are skipped. The reply's
 * "elapsed_s" (the agent's own span of the run, on its clock) goes into out->guest_s when
 * present (older agents: 0).
 */
int hb_agent_run(struct hb_conn *c, int id, const char *workload, const json_t *params,
		 const struct hb_run_opts *opts, struct hb_sample *out, struct hb_err *e);
/* Host side: one ping; *rtt is the round trip in seconds (request sent to reply read). */
int hb_agent_ping(struct hb_conn *c, int id, double timeout, double *rtt, struct hb_err *e);
/* Host side: asks the agent to shut down; waits up to timeout for the acknowledgement. */
int hb_agent_shutdown(struct hb_conn *c, int id, double timeout, struct hb_err *e);

#endif
