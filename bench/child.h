/*
 * child.h — the one way workloads start helper processes (fio, ip, the iperf client/server
 * children): each child gets its own process group and PR_SET_PDEATHSIG, its stdout and stderr
 * come back through pipes, and every wait has a deadline and watches the stop flag. When the
 * deadline passes or stop is set, the whole process group is killed with SIGKILL and reaped, so
 * no helper outlives the call that started it.
 */
#ifndef HB_CHILD_H
#define HB_CHILD_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include "hb.h"

struct hb_child {
	pid_t pid;  /* also the process group id; 0 when not running */
	int out_fd; /* read end of the child's output pipe, -1 when closed */
	int err_fd; /* read end of the child's stderr pipe, -1 when closed */
};

/* What a child produced; buffers are malloc'd, NUL-terminated, freed by hb_child_out_free. */
struct hb_child_out {
	char *out;
	size_t outlen;
	char *err;
	size_t errlen;
	int status; /* waitpid status */
};

/*
 * Function run in a forked child: write results to outfd (stdout is /dev/null, stderr is the
 * err pipe). Its return value becomes the exit code (0..255).
 */
typedef int (*hb_child_fn)(void *arg, int outfd);

/* Starts argv (PATH search) with stdin = the bytes of in (NULL: /dev/null; at most 60 KiB). */
int hb_child_spawn(struct hb_child *c, char *const argv[], const char *in, struct hb_err *e);
/* Forks a child that runs fn(arg, outfd) and exits with its return value. */
int hb_child_fork(struct hb_child *c, hb_child_fn fn, void *arg, struct hb_err *e);

/*
 * Collects output until the child exits and its pipes close. deadline: absolute hb_now() time
 * (<= 0: none). On deadline: kills the group, HB_ETIMEDOUT; on *stop: kills, HB_EINTR (stop may
 * be NULL). `what` names the child in messages ("fio"). Output beyond max_out bytes is an error
 * (HB_EPROTO); stderr keeps only its last 16 KiB. Always leaves c reaped and closed; *r is filled
 * (possibly partially) even on failure and must be freed.
 */
int hb_child_wait(struct hb_child *c, const char *what, double deadline,
		  volatile sig_atomic_t *stop, size_t max_out, struct hb_child_out *r,
		  struct hb_err *e);

/* Kills the child's process group with SIGKILL, reaps it and closes the pipes. Safe to repeat. */
void hb_child_kill(struct hb_child *c);

void hb_child_out_free(struct hb_child_out *r);

/* Where a server child listens: its namespace and bind address (NULL: the caller's / any). */
struct hb_server_at {
	const char *netns, *bind;
	int port;
};

/* at from a start call's arguments ("" in netns or bind means none). */
struct hb_server_at hb_server_at(const char *netns, const char *bind, int port);

/*
 * The start of a server child (iperf3, echo): records where it listens in addr and netns (each
 * 64 bytes, "" for none), then forks fn(at); a failure to fork is named after what.
 */
int hb_child_server_fork(struct hb_child *c, const char *what, hb_child_fn fn,
			 const struct hb_server_at *at, char addr[64], char netns[64],
			 struct hb_err *e);

/*
 * For server children (iperf3, echo) that outlive the call starting them. hb_child_server_failed:
 * the child did not come up; reaps it (2 s, then killed) and sets e to "WHAT on BIND:PORT[ in
 * netns NS] exited: <its stderr tail>", returning HB_ECHILD. hb_child_detach: it is up; closes
 * its pipes (its later writes fail with EPIPE, ignored) and returns its pid. hb_child_stop_pid:
 * kills and reaps the group of *pid and sets it to 0 (no-op when 0).
 */
int hb_child_server_failed(struct hb_child *c, const char *what, const struct hb_server_at *at,
			   struct hb_err *e);
pid_t hb_child_detach(struct hb_child *c);
void hb_child_stop_pid(pid_t *pid);

/* Last `max` characters of s, starting at a line boundary when possible (for error messages). */
const char *hb_tail(const char *s, size_t max);

/*
 * Convenience: spawn argv, wait up to timeout seconds, fail with HB_ECHILD (naming the exit
 * status and the stderr tail) unless it exits 0. r may be NULL when the output is not needed.
 */
int hb_child_run(char *const argv[], const char *in, double timeout, volatile sig_atomic_t *stop,
		 struct hb_child_out *r, struct hb_err *e);

#endif
