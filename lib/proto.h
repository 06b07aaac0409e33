/*
 * proto.h — the agent wire protocol: newline-delimited JSON over any byte stream (virtio-serial
 * port, TCP, a socketpair or stdio in tests). Every message is an object with "op"; requests
 * carry an integer "id" echoed in the reply. A message is at most HB_PROTO_MAX bytes.
 *
 * Conversation (the host speaks first; see README "Agent protocol"):
 *   host  -> {"op":"hello","proto":1[,"token":"..."]}
 *   agent -> {"op":"hello","proto":1,"agent":"hvbench-guest","version":"0.1.0",
 *             "workloads":["disk","net","mem","cpu"],"facts":{...}}
 *   host  -> {"op":"run","id":7,"workload":"disk","params":{...},"duration":10,"ramp":2,
 *             "timeout":60[,"server":{"addr":"198.18.0.1","port":5201}]}
 *   agent -> {"op":"result","id":7,"sample":{"metrics":[...],"info":{...}}}
 *         |  {"op":"error","id":7,"code":"EINVAL","message":"..."}
 *   host  -> {"op":"shutdown","id":8}   agent -> {"op":"result","id":8} and exits
 */
#ifndef HB_PROTO_H
#define HB_PROTO_H

#include <jansson.h>
#include "hb.h"
#include "metric.h"

#define HB_PROTO_VERSION 1
#define HB_PROTO_MAX (1024 * 1024)

/* A buffered, bounded line reader/writer on a pair of fds (may be the same fd). */
struct hb_conn {
	int rfd, wfd;
	char *buf;       /* owned; freed by hb_conn_free */
	size_t len, cap;
	int discarding;  /* inside an oversized line: drop bytes up to the next newline */
	int eof;
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

/* Options of one run request (host side). */
struct hb_run_opts {
	double duration, ramp, timeout;
	const char *server_addr; /* NULL: none */
	int server_port;
};

/* Host side: sends hello (token may be NULL) and waits for the agent's hello; *hello is a new ref. */
int hb_agent_hello(struct hb_conn *c, const char *token, double timeout, json_t **hello,
		   struct hb_err *e);
/* Host side: one run request; waits opts->timeout + 10 s for the reply. */
int hb_agent_run(struct hb_conn *c, int id, const char *workload, const json_t *params,
		 const struct hb_run_opts *opts, struct hb_sample *out, struct hb_err *e);
/* Host side: asks the agent to shut down; waits up to timeout for the acknowledgement. */
int hb_agent_shutdown(struct hb_conn *c, int id, double timeout, struct hb_err *e);

#endif
