/*
 * agent.h — the guest agent (hvbench-guest) as a library: session state, the request decoder
 * and validator (callable on its own, for tests and the fuzzer), the isolated executor that runs
 * one workload in a forked child, and the serve loop over one byte stream. main.c only picks
 * the transport (virtio-serial, TCP, stdio) and calls hb_agent_serve.
 *
 * Protocol decisions (see lib/proto.h for the message shapes):
 * - The host speaks first with hello; any other op before it gets an EPROTO error (and, when a
 *   token is configured, the connection is closed). A hello with a wrong or missing token gets
 *   EINVAL "authentication failed" and the connection is closed; the token is never echoed.
 * - A protocol version mismatch gets an EPROTO error naming both versions and carrying the
 *   agent's "proto", so the host can say "agent speaks protocol N, host speaks M".
 * - run and shutdown need an integer "id" in 0..2^53-1 that is strictly greater than every id
 *   already used in this session (a connection; a new hello starts a new session): a
 *   reused or lower id is refused with EINVAL
 *   (requests are served one at a time, so "in flight" and "reused" are the same case). The id
 *   is used up even when the request is then refused.
 * - Error codes: EPROTO for framing/JSON/op problems (oversized, malformed, not an object, no or
 *   unknown op, hello missing); EINVAL for bad fields, types, ranges, ids, parameters and
 *   unknown workloads; EUNSUPP for a workload that cannot run here; ETIMEDOUT when the workload
 *   outlives its timeout (the child is killed); ECHILD when the workload process crashed;
 *   otherwise the workload's own code (EIO, ...).
 * - The disk path comes from the agent's configuration only; parameters of type HB_P_STRING
 *   (host-side options) are refused in requests, so a request cannot name a path or command.
 */
#ifndef HB_AGENT_H
#define HB_AGENT_H

#include <limits.h>
#include <signal.h>
#include <sys/socket.h>
#include <jansson.h>
#include "hb.h"
#include "proto.h"
#include "workload.h"

#define HB_AGENT_NAME	       "hvbench-guest"
#define HB_AGENT_MAX_DURATION  3600.0
#define HB_AGENT_MAX_RAMP      600.0
#define HB_AGENT_MAX_TIMEOUT   7200.0
#define HB_AGENT_MAX_ID	       9007199254740991LL /* 2^53 - 1: exact in any JSON reader */
#define HB_AGENT_HELLO_TIMEOUT 5.0 /* TCP: seconds a new connection has to say hello */
#define HB_AGENT_MAX_PENDING   64  /* TCP: connections waiting for hello at once (oldest go) */

struct hb_agent_cfg {
	const char *disk_path;	 /* scratch device/file for disk workloads; NULL: a scratch file */
	const char *scratch_dir; /* parent of the agent's private temp dir; NULL: /tmp */
	const char *token;    /* NULL: no token; else hello must carry it (constant-time check) */
	const char *fio_path; /* NULL: "fio" from PATH */
	double hello_timeout; /* > 0: a session without hello within this many seconds ends */
	double idle_timeout;  /* > 0: a session silent this long after hello ends (the next
			       * client may connect); must exceed the host's longest pause */
	volatile sig_atomic_t *stop; /* NULL or set by the signal handler: stop serving soon */
	int quiet;		     /* no diagnostics on stderr */
};

struct hb_agent {
	struct hb_agent_cfg cfg;
	char scratch[PATH_MAX]; /* private 0700 directory; removed by hb_agent_free */
	int scratch_lock;	/* fd of scratch, flock'ed while we live (-1: none); a directory
				 * nobody holds is a dead agent's and the next agent removes it */
	json_t *facts;		/* captured by hb_agent_init (agent start); owned */
	json_t *caps;		/* workload capabilities; owned */
	/* session state (reset per connection) */
	int hello_done;
	long long last_id; /* highest id used in this session, -1: none */
	int shutdown;	   /* a shutdown request was acknowledged */
};

/* What hb_agent_handle decided. */
enum hb_agent_action {
	HB_ACT_REPLY,	 /* send *reply, keep serving */
	HB_ACT_RUN,	 /* run *req (validated), then reply */
	HB_ACT_SHUTDOWN, /* send *reply, then stop serving (shutdown acknowledged) */
	HB_ACT_CLOSE,	 /* send *reply, then close this connection (authentication failed) */
};

/* A decoded, validated run request. */
struct hb_agent_req {
	long long id;
	const struct hb_workload *wl;
	json_t *params; /* validated, every parameter present; owned, freed by hb_agent_req_free */
	struct hb_timing t;
	char server_addr[64]; /* "" when the request has no "server" */
	int server_port;
};

/*
 * Captures the facts (kernel release, MemTotal, vCPUs, clocksource, kernel boot time = uptime
 * at agent start, agent start timestamp), builds the capabilities and creates the private
 * scratch directory. Call it first thing in main so the boot time is the agent's start.
 */
int hb_agent_init(struct hb_agent *a, const struct hb_agent_cfg *cfg, struct hb_err *e);
void hb_agent_free(struct hb_agent *a);
/* Forgets the session (hello, ids): a new connection starts. */
void hb_agent_session_reset(struct hb_agent *a);

/*
 * Decides what to do with one received message: rc and msg are what hb_conn_recv returned
 * (rc may be HB_EPROTO with msg NULL or the partial object; rerr its message). Never runs
 * anything: for HB_ACT_RUN, *req holds the validated request (free with hb_agent_req_free)
 * and *reply is NULL; otherwise *reply is a new reference to send. msg is not consumed.
 */
enum hb_agent_action hb_agent_handle(struct hb_agent *a, int rc, const json_t *msg,
				     const char *rerr, json_t **reply, struct hb_agent_req *req);
/* Validates the body of a run request (everything but op and id) into *req. */
int hb_agent_decode_run(const json_t *msg, struct hb_agent_req *req, struct hb_err *e);
void hb_agent_req_free(struct hb_agent_req *req);

/*
 * Runs wl in a forked child (own process group, parent-death signal, stdout sent to stderr,
 * the fds in close_fds closed) that sends its sample back through a pipe. The child and
 * everything it started are killed at ctx->timeout (HB_ETIMEDOUT) or when *ctx->stop is set
 * (HB_EINTR). A crash is HB_ECHILD; the workload's own failure keeps its code and message.
 */
int hb_agent_exec(const struct hb_workload *wl, const json_t *params, const struct hb_wl_ctx *ctx,
		  const int *close_fds, size_t nclose, struct hb_sample *out, struct hb_err *e);
/* Executes a validated request in a fresh per-run scratch directory; returns the reply. */
json_t *hb_agent_execute(struct hb_agent *a, const struct hb_agent_req *req, const int *close_fds,
			 size_t nclose);

/*
 * Serves one connection until shutdown (0), end of stream (HB_EIO), hello timeout
 * (HB_ETIMEDOUT), failed authentication (HB_EPROTO) or a stop signal (HB_EINTR). Starts a new
 * session. a->shutdown tells whether a shutdown was acknowledged.
 */
int hb_agent_serve(struct hb_agent *a, int rfd, int wfd, struct hb_err *e);
/*
 * hb_agent_serve on a connection already set up (c->stop set): the session state is a's as it
 * is (reset, or a hello already handled); c stays the caller's (not freed, fds not closed).
 */
int hb_agent_serve_conn(struct hb_agent *a, struct hb_conn *c, struct hb_err *e);

/*
 * Serves TCP on the listening socket lfd (guest-agent/listen.c) until a shutdown is
 * acknowledged (0, a->shutdown set) or a stop signal (HB_EINTR; a running session is stopped
 * first). Handshakes are served concurrently: up to HB_AGENT_MAX_PENDING connections wait for
 * their hello, each for a->cfg.hello_timeout seconds (HB_AGENT_HELLO_TIMEOUT when <= 0), and
 * one that sends no complete hello by then is closed, however slowly it trickles bytes. One
 * authenticated session runs at a time, in a forked child; a host that authenticates while
 * it runs gets the error "busy: another session is running" and is closed (unauthenticated
 * peers never learn whether a session runs). lfd is made non-blocking; the caller closes it.
 */
int hb_agent_serve_listen(struct hb_agent *a, int lfd, struct hb_err *e);
/* "A.B.C.D:PORT" or "[v6]:PORT" for a socket address. */
void hb_agent_addr_name(const struct sockaddr_storage *ss, char *buf, size_t len);
/* Diagnostics on stderr unless quiet, prefixed with the agent's name; control characters from
 * peers are replaced. */
void hb_agent_log(const struct hb_agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Constant-time comparison of a presented secret with the expected one: 1 when equal. */
int hb_agent_token_ok(const char *given, const char *secret);
/* Parses an IPv4/IPv6 literal: 0, or HB_EINVAL. */
int hb_agent_check_addr(const char *addr);

#endif
