/*
 * tg_agent.c — the host side of a VM-agent session (see tg_agent.h). hb_agent_run blocks until
 * the reply; a watcher thread turns a stop signal into a closed channel (shutdown of the
 * socket), so an interrupted run ends at once instead of at the workload's end. The VM is then
 * out of step with the host and the session is not used again.
 */
#include "tg_agent.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

void hb_tg_agent_init(struct hb_tg_agent *a, volatile sig_atomic_t *stop)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->next_id = 1;
	a->stop = stop;
}

void hb_tg_agent_attach(struct hb_tg_agent *a, int fd)
{
	a->fd = fd;
	hb_conn_init(&a->conn, fd, fd);
	a->conn.stop = a->stop;
	a->open = 1;
	a->next_id = 1;
}

int hb_tg_agent_connect_unix(struct hb_tg_agent *a, const char *path, double deadline,
			     int (*check)(void *arg, struct hb_err *e), void *arg, struct hb_err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (hb_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)))
		return hb_err_set(e, HB_EINVAL, "agent socket path too long: %s", path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err, rc;

		if (fd < 0)
			return hb_err_errno(e, HB_EIO, "socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			hb_tg_agent_attach(a, fd);
			return 0;
		}
		err = errno;
		close(fd);
		if ((rc = check(arg, e)))
			return rc;
		if (hb_now() >= deadline) {
			errno = err;
			return hb_err_errno(e, HB_ETIMEDOUT, "agent socket %s did not open", path);
		}
		hb_sleep(0.02, NULL);
	}
}

int hb_tg_agent_hello(struct hb_tg_agent *a, const char *token, double timeout,
		      hb_hello_check_fn check, void *arg, json_t **hello, struct hb_err *e)
{
	int rc;

	*hello = NULL;
	if (!a->open)
		return hb_err_set(e, HB_EIO, "agent: no connection");
	rc = hb_agent_hello_wait(&a->conn, token, timeout, check, arg, hello, e);
	if (rc)
		return rc;
	/* the least of three: the cost of the protocol itself, not of a busy moment */
	a->rtt = 0;
	for (int i = 0; i < 3; i++) {
		struct hb_err pe = {0};
		double rtt;
		if (hb_agent_ping(&a->conn, a->next_id++, 5.0, &rtt, &pe))
			break; /* an older agent: spans are then compared without it */
		if (!a->rtt || rtt < a->rtt)
			a->rtt = rtt;
	}
	return 0;
}

/* ---- the stop watcher ---- */

struct watch {
	pthread_t th;
	int fd;
	volatile sig_atomic_t *stop;
	int done; /* guarded by mu */
	int fired;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *watch_main(void *arg)
{
	struct watch *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->done) {
		struct timespec ts;
		if (w->stop && *w->stop) {
			shutdown(w->fd, SHUT_RDWR);
			w->fired = 1;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int watch_start(struct watch *w, int fd, volatile sig_atomic_t *stop)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->stop = stop;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (!stop || pthread_create(&w->th, NULL, watch_main, w)) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	return 0;
}

/* Ends the watcher; 1 when it fired (cut the channel). */
static int watch_end(struct watch *w)
{
	int fired;

	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	fired = w->fired;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	return fired;
}

int hb_tg_agent_run(struct hb_tg_agent *a, const char *target, const struct hb_run_req *req,
		    const struct hb_run_hooks *hooks, const struct hb_probe_target *pt,
		    const struct hb_netpeer *peer, struct hb_sample *out,
		    struct hb_tg_run_result *res, struct hb_err *e)
{
	struct hb_run_opts ro = {0};
	struct watch w;
	double t0;
	int rc, watching;

	hb_sample_init(out);
	memset(res, 0, sizeof(*res));
	res->budget = req->t.timeout + HB_TIMING_REPLY_SLACK;
	if (!a->open)
		return hb_err_set(e, HB_EIO, "%s: no connection to the agent", target);
	ro.t = req->t;
	if (req->wl->peer != HB_PEER_NONE) {
		if (!peer || !peer->port)
			return hb_err_set(e, HB_EUNSUPP, "%s: %s", target,
					  peer && peer->why_none[0] ? peer->why_none
								    : "no network peer");
		ro.server_addr = peer->addr;
		ro.server_port = hb_netpeer_port(peer, req->wl->peer);
		if (!ro.server_port)
			return hb_err_set(e, HB_EUNSUPP, "%s: no %s server at the host end", target,
					  req->wl->peer == HB_PEER_ECHO ? "echo" : "iperf3");
	}
	if (hooks && hooks->on_start) {
		rc = hooks->on_start(hooks->arg, pt, e);
		if (rc) {
			if (hooks->on_stop)
				hooks->on_stop(hooks->arg);
			return rc;
		}
	}
	t0 = hb_now();
	watching = watch_start(&w, a->fd, a->stop) == 0;
	rc = hb_agent_run(&a->conn, a->next_id++, req->wl->name, req->params, &ro, out, e);
	res->interrupted = watching && watch_end(&w);
	res->elapsed = hb_now() - t0;
	if (hooks && hooks->on_stop)
		hooks->on_stop(hooks->arg);
	if (rc || res->interrupted) {
		hb_sample_free(out);
		hb_sample_init(out);
		if (!rc)
			rc = hb_err_set(e, HB_EINTR, "interrupted");
		return rc;
	}
	out->host_s = res->elapsed > a->rtt ? res->elapsed - a->rtt : res->elapsed;
	return 0;
}

int hb_tg_agent_failure(const char *target, const char *entry, int rc,
			const struct hb_tg_run_result *res, const struct hb_err *ae,
			int (*gone)(void *arg, double wait, char *msg, size_t len), void *arg,
			int *dead, struct hb_err *e)
{
	char g[700];

	/* a closed channel usually means the VMM died: give it a moment to be reaped */
	if (gone(arg, rc == HB_EIO ? 2.0 : rc == HB_ETIMEDOUT ? 0.1 : 0, g, sizeof(g))) {
		*dead = 1;
		return hb_err_set(e, HB_ECHILD, "%s: %s during %s", target, g, entry);
	}
	if (rc == HB_EIO || (rc == HB_ETIMEDOUT && res->elapsed >= res->budget - 0.5)) {
		*dead = 1;
		return hb_err_set(e, HB_EIO, "%s: agent stopped answering during %s: %s", target,
				  entry, ae->msg);
	}
	return hb_err_set(e, rc, "%s", ae->msg);
}

int hb_tg_vm_run(const struct hb_tg_vm *vm, const struct hb_run_req *req,
		 const struct hb_run_hooks *hooks, const struct hb_probe_target *pt,
		 struct hb_sample *out, struct hb_err *e)
{
	struct hb_tg_run_result res;
	struct hb_err ae = {0};
	char g[700];
	int rc;

	hb_sample_init(out);
	if (*vm->dead || !vm->agent->open || vm->stopped)
		return hb_err_set(e, HB_EIO, "%s: %s", vm->name, vm->down);
	if (vm->gone(vm->arg, 0, g, sizeof(g))) {
		*vm->dead = 1;
		return hb_err_set(e, HB_ECHILD, "%s: %s before %s", vm->name, g, req->entry);
	}
	rc = hb_tg_agent_run(vm->agent, vm->name, req, hooks, pt, vm->peer, out, &res, &ae);
	if (res.interrupted) {
		*vm->dead = 1;
		return hb_err_set(e, HB_EINTR, "%s: %s interrupted", vm->name, req->entry);
	}
	if (rc)
		return hb_tg_agent_failure(vm->name, req->entry, rc, &res, &ae, vm->gone, vm->arg,
					   vm->dead, e);
	return 0;
}

int hb_tg_agent_shutdown(struct hb_tg_agent *a, double timeout, struct hb_err *e)
{
	if (!a->open)
		return hb_err_set(e, HB_EIO, "agent: no connection");
	return hb_agent_shutdown(&a->conn, a->next_id++, timeout, e);
}

void hb_tg_agent_close(struct hb_tg_agent *a)
{
	if (a->open) {
		hb_conn_free(&a->conn);
		close(a->fd);
		a->open = 0;
	}
	a->fd = -1;
}
