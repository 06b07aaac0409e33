/*
 * tg_agent.h — the host's session with hvbench-guest inside a VM, whatever carries it
 * (virtio-serial socket of a local QEMU, TCP to a remote VM, a future libvirt channel): hello
 * with an optional token and a liveness check of the VM while waiting, one run request at a
 * time with the probes attached around it, a stop watcher that cuts the channel at Ctrl-C so an
 * interrupted run ends at once, and a polite shutdown. Backends keep only the transport (how
 * the fd is made) and what a failure means for their VM.
 */
#ifndef HB_TG_AGENT_H
#define HB_TG_AGENT_H

#include <signal.h>
#include <jansson.h>
#include "backend.h"
#include "hb.h"
#include "proto.h"
#include "tg_netpeer.h"

struct hb_tg_agent {
	struct hb_conn conn;
	int fd;	     /* owned; -1 when closed */
	int open;    /* conn initialised on fd */
	int next_id; /* next request id (ids increase within a session) */
	double rtt;  /* the protocol's round trip (least of a few pings after hello); 0: unknown */
	volatile sig_atomic_t *stop;
};

/* Zeroes the session (fd -1); stop: the run's stop flag (may be NULL). */
void hb_tg_agent_init(struct hb_tg_agent *a, volatile sig_atomic_t *stop);
/* Takes ownership of a connected fd (blocking mode) and starts a session on it. */
void hb_tg_agent_attach(struct hb_tg_agent *a, int fd);
/*
 * Connects the session to the agent's unix socket at path (a VMM's chardev server, open a moment
 * after the VMM starts): tries until deadline, every 20 ms; after each refusal check(arg, e)
 * may end the wait with its code and message (the VM is gone). On timeout HB_ETIMEDOUT naming
 * the socket and the last refusal.
 */
int hb_tg_agent_connect_unix(struct hb_tg_agent *a, const char *path, double deadline,
			     int (*check)(void *arg, struct hb_err *e), void *arg,
			     struct hb_err *e);
/*
 * hello (token may be NULL) within timeout seconds; check (may be NULL) is asked every 0.25 s
 * and when the channel closes whether the VM is still there (see hb_hello_check_fn).
 * *hello: the agent's hello, a new reference. Then times the protocol's round trip (a->rtt)
 * with a few pings; an agent that does not know ping leaves it 0.
 */
int hb_tg_agent_hello(struct hb_tg_agent *a, const char *token, double timeout,
		      hb_hello_check_fn check, void *arg, json_t **hello, struct hb_err *e);

/* What one run through the agent produced beyond the sample. */
struct hb_tg_run_result {
	int interrupted; /* the stop watcher cut the channel: the session is unusable */
	double elapsed;	 /* seconds from the request to its end (out->host_s: minus a->rtt) */
	double budget;	 /* the reply budget the protocol allowed (timeout + 10 s) */
};

/*
 * One measured run: a workload that needs a network peer gets peer's address (HB_EUNSUPP
 * naming target and peer->why_none when there is none), then hooks->on_start(pt), the request,
 * hooks->on_stop. On failure the agent's message is in e (no target prefix) and out is empty.
 */
int hb_tg_agent_run(struct hb_tg_agent *a, const char *target, const struct hb_run_req *req,
		    const struct hb_run_hooks *hooks, const struct hb_probe_target *pt,
		    const struct hb_netpeer *peer, struct hb_sample *out,
		    struct hb_tg_run_result *res, struct hb_err *e);
/*
 * What a failed hb_tg_agent_run means for the VM. gone(arg, wait, msg, len) waits up to wait
 * seconds for the VM to be gone and returns 1 with a description ("QEMU exited (killed by
 * signal 9)") in msg when it is. Returns, with the message naming target and cause in e:
 * HB_ECHILD (the VM is gone) or HB_EIO (the agent stopped answering), both setting *dead;
 * else rc with the agent's message.
 */
int hb_tg_agent_failure(const char *target, const char *entry, int rc,
			const struct hb_tg_run_result *res, const struct hb_err *ae,
			int (*gone)(void *arg, double wait, char *msg, size_t len), void *arg,
			int *dead, struct hb_err *e);
/* A local VM (QEMU, a libvirt domain) as hb_tg_vm_run sees it; pointers are borrowed. */
struct hb_tg_vm {
	const char *name;	   /* the target */
	const char *down;	   /* why a stopped VM cannot run ("the VM is not running") */
	struct hb_tg_agent *agent; /* its session */
	const struct hb_netpeer *peer;
	int (*gone)(void *arg, double wait, char *msg, size_t len); /* as hb_tg_agent_failure's */
	void *arg;
	int stopped; /* the backend's stop has run */
	int *dead;   /* set when the VM or its session is gone for good */
};

/*
 * One measured run in a local VM: refused (HB_EIO, vm->down) when the VM is dead, stopped or
 * has no session, HB_ECHILD when it is gone already; else hb_tg_agent_run with pt, an
 * interrupted run (HB_EINTR) or hb_tg_agent_failure's verdict marking it dead.
 */
int hb_tg_vm_run(const struct hb_tg_vm *vm, const struct hb_run_req *req,
		 const struct hb_run_hooks *hooks, const struct hb_probe_target *pt,
		 struct hb_sample *out, struct hb_err *e);

/* Asks the agent to power the guest off; waits up to timeout for the acknowledgement. */
int hb_tg_agent_shutdown(struct hb_tg_agent *a, double timeout, struct hb_err *e);
/* Ends the session and closes the fd; safe to repeat. */
void hb_tg_agent_close(struct hb_tg_agent *a);

#endif
