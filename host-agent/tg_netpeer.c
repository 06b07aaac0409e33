/*
 * tg_netpeer.c — the host end of a VM's network path (see tg_netpeer.h): the private namespace
 * with its tap device, the user-networking fallback, and the servers guests talk to.
 */
#include "tg_netpeer.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iperf.h"
#include "netenv.h"
#include "rrpeer.h"

/* One kind of server at the host end. start: netns NULL = the caller's namespace. */
struct hb_peer_service {
	const char *name;
	enum hb_peer kind;
	size_t state_size;
	int (*start)(void *state, const struct hb_netpeer_cfg *c, const char *netns,
		     const char *bind, int port, struct hb_err *e);
	void (*stop)(void *state);
};

static int iperf_start(void *state, const struct hb_netpeer_cfg *c, const char *netns,
		       const char *bind, int port, struct hb_err *e)
{
	(void)c;
	return hb_iperf_server_start(state, netns, bind, port, e);
}

static void iperf_stop(void *state)
{
	hb_iperf_server_stop(state);
}

static int echo_start(void *state, const struct hb_netpeer_cfg *c, const char *netns,
		      const char *bind, int port, struct hb_err *e)
{
	return hb_rrpeer_start_delayed(state, netns, bind, port, c->reply_delay_ms, e);
}

static void echo_stop(void *state)
{
	hb_rrpeer_stop(state);
}

/*
 * The servers every peer runs, in port order (base_port, base_port + 1, ...), each for the
 * workloads whose descriptor names it (struct hb_workload.peer).
 */
static const struct hb_peer_service services[] = {
	{"iperf3", HB_PEER_IPERF, sizeof(struct hb_iperf_server), iperf_start, iperf_stop},
	{"echo", HB_PEER_ECHO, sizeof(struct hb_rrpeer), echo_start, echo_stop},
};

/* A free TCP port on 127.0.0.1 (user networking: the guest reaches it through slirp). */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void stop_services(struct hb_netpeer *np)
{
	for (int i = np->nsvc - 1; i >= 0; i--) {
		np->svc[i].ops->stop(np->svc[i].state);
		free(np->svc[i].state);
		np->svc[i].state = NULL;
	}
	np->nsvc = 0;
	np->port = 0;
}

/* Starts every service on bind (netns may be NULL); port 0 asks for a free port each. */
static int start_services(struct hb_netpeer *np, const struct hb_netpeer_cfg *c, const char *netns,
			  const char *bind, int base_port, struct hb_err *e)
{
	for (size_t i = 0; i < HB_ARRAY_SIZE(services) && i < HB_NETPEER_MAX_SVC; i++) {
		const struct hb_peer_service *s = &services[i];
		struct hb_netpeer_svc *slot = &np->svc[np->nsvc];
		int port = base_port ? base_port + (int)i : free_port(), rc;

		if (!port) {
			stop_services(np);
			return hb_err_set(e, HB_EIO, "no free TCP port for the %s server", s->name);
		}
		slot->state = calloc(1, s->state_size);
		if (!slot->state) {
			stop_services(np);
			return hb_err_set(e, HB_ENOMEM, "out of memory");
		}
		rc = s->start(slot->state, c, netns, bind, port, e);
		if (rc) {
			free(slot->state);
			slot->state = NULL;
			stop_services(np);
			return rc;
		}
		slot->ops = s;
		slot->port = port;
		np->nsvc++;
	}
	np->port = np->nsvc ? np->svc[0].port : 0;
	return 0;
}

static void set_none(struct hb_netpeer *np, const struct hb_netpeer_cfg *c)
{
	hb_strlcpy(np->why_none, c->none_why ? c->none_why : "no network peer",
		   sizeof(np->why_none));
}

/* tap: a private namespace with a tap device and the servers at its host end. */
static int open_tap(struct hb_netpeer *np, const struct hb_netpeer_cfg *c, struct hb_err *e)
{
	char nsname[64];
	int rc;

	hb_netns_cleanup_stale(); /* namespaces of an hvbench that was SIGKILLed */
	hb_snprintf(nsname, sizeof(nsname), "hb-%d-%s", (int)getpid(), c->tag ? c->tag : "vm");
	for (size_t i = 0; nsname[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
			    nsname[i]))
			nsname[i] = '_';
	hb_strlcpy(np->netns, nsname, sizeof(np->netns));
	rc = hb_netns_create(np->netns, e);
	if (rc)
		return rc;
	np->netns_made = 1;
	rc = c->adopt_tap ? hb_netns_adopt_dev(np->netns, c->tap, c->host_cidr, e)
			  : hb_netns_add_tap(np->netns, c->tap, c->host_cidr, e);
	if (!rc)
		rc = start_services(np, c, np->netns, c->host_ip,
				    c->base_port ? c->base_port : 5201, e);
	if (rc) {
		hb_netns_destroy(np->netns);
		np->netns_made = 0;
		np->netns[0] = '\0';
		return rc;
	}
	hb_strlcpy(np->addr, c->host_ip, sizeof(np->addr));
	return 0;
}

int hb_netpeer_open(struct hb_netpeer *np, const struct hb_netpeer_cfg *c, json_t *info,
		    struct hb_err *e)
{
	struct hb_err ne = {0};
	int rc;

	memset(np, 0, sizeof(*np));
	np->mode = "none";
	set_none(np, c);
	if (!(c->reply_delay_ms >= 0 && c->reply_delay_ms <= HB_RRPEER_MAX_DELAY_MS))
		return hb_err_set(e, HB_EINVAL, "net_reply_delay: %g ms is not in 0..%d ms",
				  c->reply_delay_ms, HB_RRPEER_MAX_DELAY_MS);
	if (c->reply_delay_ms > 0)
		json_object_set_new(info, "echo_reply_delay_ms", json_real(c->reply_delay_ms));
	if (!c->mode || !strcmp(c->mode, "none"))
		return 0;
	if (!strcmp(c->mode, "bind")) {
		if (!c->bind_addr || !*c->bind_addr)
			return 0; /* no address: no network workloads (why_none says so) */
		rc = start_services(np, c, NULL, c->bind_addr, c->base_port ? c->base_port : 5201,
				    e);
		if (rc)
			return rc;
		np->mode = "bind";
		hb_strlcpy(np->addr, c->bind_addr, sizeof(np->addr));
		return 0;
	}
	if (!strcmp(c->mode, "tap")) {
		if (open_tap(np, c, &ne) == 0) {
			np->mode = "tap";
			json_object_set_new(info, "netns", json_string(np->netns));
			if (c->rate_mbit <= 0 && c->delay_ms <= 0)
				return 0;
			rc = hb_net_shape(np->netns, c->tap, c->rate_mbit, c->delay_ms, e);
			if (rc) {
				hb_netpeer_close(np);
				return rc;
			}
			json_object_set_new(info, "net_shaping",
					    json_pack("{s:f, s:f, s:s, s:s}", "rate_mbit",
						      c->rate_mbit, "delay_ms", c->delay_ms,
						      "qdisc", c->delay_ms > 0 ? "netem" : "tbf",
						      "device", c->tap));
			return 0;
		}
		if (c->adopt_tap) {
			json_object_set_new(info, "net_error", json_string(ne.msg));
			hb_snprintf(np->why_none, sizeof(np->why_none), "no network peer: %s",
				    ne.msg);
			return 0;
		}
		if (c->rate_mbit > 0 || c->delay_ms > 0)
			return hb_err_set(e, HB_EUNSUPP,
					  "net_rate_limit/net_delay need tap networking, which is "
					  "impossible here: %s",
					  ne.msg);
		json_object_set_new(info, "net_fallback",
				    json_sprintf("tap in a private netns impossible (%s); user "
						 "networking used: network figures are not "
						 "representative",
						 ne.msg));
		if (c->log)
			c->log(c->log_arg,
			       "%s: tap networking impossible (%s); using user networking (not "
			       "representative)",
			       c->tag ? c->tag : "vm", ne.msg);
		hb_err_clear(&ne);
	} else if (strcmp(c->mode, "user")) {
		return hb_err_set(e, HB_EINVAL, "network peer: unknown mode \"%s\"", c->mode);
	}
	/* user networking: the guest reaches the host's 127.0.0.1 as user_gw */
	np->mode = "user";
	if (start_services(np, c, NULL, "127.0.0.1", 0, &ne)) {
		json_object_set_new(info, "net_error", json_string(ne.msg));
		hb_strlcpy(np->why_none, "no network path to an iperf3 server",
			   sizeof(np->why_none));
		return 0; /* net workloads will fail with a clear error; others still run */
	}
	hb_strlcpy(np->addr, c->user_gw ? c->user_gw : "10.0.2.2", sizeof(np->addr));
	return 0;
}

void hb_netpeer_close(struct hb_netpeer *np)
{
	stop_services(np);
	if (np->netns_made) {
		hb_netns_destroy(np->netns);
		np->netns_made = 0;
	}
}

int hb_netpeer_enter(const struct hb_netpeer *np, struct hb_err *e)
{
	if (!np->netns_made)
		return 0;
	return hb_netns_enter(np->netns, e);
}

int hb_netpeer_port(const struct hb_netpeer *np, enum hb_peer kind)
{
	for (int i = 0; i < np->nsvc; i++)
		if (np->svc[i].ops->kind == kind)
			return np->svc[i].port;
	return 0;
}
