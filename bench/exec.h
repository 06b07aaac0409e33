/*
 * exec.h — the one way a workload run is executed, by the native target on the host and by the
 * guest agent in a VM alike, so both sides have the same isolation, limits, reply format and
 * error wording: the workload runs in a forked child (own process group, parent-death signal,
 * stdin /dev/null, stdout sent to stderr, given fds closed) that may be held until the caller
 * has attached its probes, sends its sample back through a pipe as one JSON object
 * {"rc","message","sample"} of at most HB_PROTO_MAX bytes, and is killed with everything it
 * started at ctx->timeout (HB_ETIMEDOUT) or when *ctx->stop is set (HB_EINTR). A crash is
 * HB_ECHILD; the workload's own failure keeps its code and message.
 */
#ifndef HB_EXEC_H
#define HB_EXEC_H

#include <sys/types.h>
#include <jansson.h>
#include "hb.h"
#include "workload.h"

struct hb_exec_opts {
	/*
	 * NULL, or called once the child exists and before the workload starts (the child waits
	 * for it): attach probes to pid. A non-zero return kills the child and is returned.
	 */
	int (*on_forked)(void *arg, pid_t pid, struct hb_err *e);
	/* With on_forked: called when the workload has ended, before the child is reaped. */
	void (*on_done)(void *arg);
	void *arg;
	const int *close_fds; /* fds the child closes (e.g. the agent's channel); may be NULL */
	size_t nclose;
};

/* One run of wl with validated params; o may be NULL. */
int hb_wl_exec(const struct hb_workload *wl, const json_t *params, const struct hb_wl_ctx *ctx,
	       const struct hb_exec_opts *o, struct hb_sample *out, struct hb_err *e);

#endif
