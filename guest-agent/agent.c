/*
 * agent.c — the guest agent's logic: facts and capabilities for hello, the request decoder and
 * validator (pure, fuzzable), the executor that isolates every workload run in a killable child
 * process, and the serve loop that answers every message — valid or not — and keeps serving.
 */
#include "agent.h"
#include "exec.h"
#include "procstat.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

void hb_agent_log(const struct hb_agent *a, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	size_t i;

	if (a->cfg.quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (i = 0; buf[i]; i++) /* a console must not be steered by peer-supplied text */
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	fprintf(stderr, "%s: %s\n", HB_AGENT_NAME, buf);
}

int hb_agent_token_ok(const char *given, const char *secret)
{
	size_t gl = strlen(given), sl = strlen(secret), i;
	volatile unsigned char d = (unsigned char)(gl != sl);

	/* time depends on the secret's length only, never on where the first difference is */
	for (i = 0; i < sl; i++)
		d |= (unsigned char)(secret[i] ^ (i < gl ? given[i] : 0));
	return d == 0;
}

int hb_agent_check_addr(const char *addr)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (!addr || strlen(addr) >= 64)
		return HB_EINVAL;
	if (inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1)
		return 0;
	return HB_EINVAL;
}

/* ---- facts and capabilities ---- */

static void read_line_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\r\n")] = '\0';
	fclose(f);
}

static json_t *capture_facts(void)
{
	json_t *f = json_object();
	struct utsname u;
	char line[256], when[40];
	long long mem = hb_meminfo("MemTotal");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct timespec ts;

	hb_utc_now(when, sizeof(when));
	clock_gettime(CLOCK_REALTIME, &ts);
	read_line_file("/proc/uptime", line, sizeof(line));
	if (line[0]) {
		double up = strtod(line, NULL);
		if (isfinite(up) && up >= 0)
			json_object_set_new(f, "kernel_boot_s", json_real(up));
	}
	if (uname(&u) == 0) {
		json_object_set_new(f, "kernel", json_string(u.release));
		json_object_set_new(f, "arch", json_string(u.machine));
	}
	if (mem > 0)
		json_object_set_new(f, "mem_total_bytes", json_integer(mem));
	if (ncpu > 0)
		json_object_set_new(f, "vcpus", json_integer(ncpu));
	read_line_file("/sys/devices/system/clocksource/clocksource0/current_clocksource", line,
		       sizeof(line));
	json_object_set_new(f, "clocksource", json_string(line[0] ? line : "unknown"));
	json_object_set_new(f, "agent_started_at", json_string(when));
	json_object_set_new(f, "agent_started_unix",
			    json_real((double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
	return f;
}

static const char *ptype_name(enum hb_ptype t)
{
	switch (t) {
	case HB_P_INT: return "int";
	case HB_P_DOUBLE: return "double";
	case HB_P_SIZE: return "size";
	case HB_P_BOOL: return "bool";
	case HB_P_ENUM: return "enum";
	case HB_P_STRING: return "string";
	}
	return "unknown";
}

static json_t *capabilities(void)
{
	json_t *caps = json_object();
	size_t i, k;

	for (i = 0; hb_workloads[i]; i++) {
		const struct hb_workload *w = hb_workloads[i];
		json_t *params = json_array(), *one;
		char why[256] = "";
		int ok = !w->supported || w->supported(why, sizeof(why)) == 0;

		for (k = 0; k < w->nparams; k++) {
			const struct hb_param *p = &w->params[k];
			json_t *jp = json_pack("{s:s, s:s}", "name", p->name, "type",
					       ptype_name(p->type));
			if (p->type == HB_P_INT || p->type == HB_P_DOUBLE || p->type == HB_P_SIZE) {
				json_object_set_new(jp, "min", json_real(p->min));
				json_object_set_new(jp, "max", json_real(p->max));
			}
			if (p->def)
				json_object_set_new(jp, "default", json_string(p->def));
			if (p->type == HB_P_ENUM && p->choices) {
				json_t *ch = json_array();
				size_t c;
				for (c = 0; p->choices[c]; c++)
					json_array_append_new(ch, json_string(p->choices[c]));
				json_object_set_new(jp, "choices", ch);
			}
			if (p->type == HB_P_STRING)
				json_object_set_new(jp, "host_only", json_true());
			if (p->help)
				json_object_set_new(jp, "help", json_string(p->help));
			json_array_append_new(params, jp);
		}
		one = json_pack("{s:s, s:s, s:b, s:o}", "kind", w->kind ? w->kind : w->name, "help",
				w->help ? w->help : "", "supported", ok, "params", params);
		if (!ok)
			json_object_set_new(one, "why", json_string(why));
		json_object_set_new(caps, w->name, one);
	}
	return caps;
}

/*
 * An agent killed with SIGKILL leaves its scratch directory (64 MiB fio files in run-N/). Each
 * live agent holds an flock on its directory; one that nobody holds, is ours (owner, 0700, a
 * real directory: the parent may be a world-writable /tmp) and carries our prefix is removed.
 */
static void cleanup_stale_scratch(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		int fd;

		if (strncmp(de->d_name, "hvbench-guest.", 14) ||
		    hb_snprintf(path, sizeof(path), "%s/%s", parent, de->d_name))
			continue;
		if (lstat(path, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 0777) != 0700)
			continue;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			hb_rmtree(path);
		close(fd);
	}
	closedir(d);
}

int hb_agent_init(struct hb_agent *a, const struct hb_agent_cfg *cfg, struct hb_err *e)
{
	const char *parent = cfg->scratch_dir ? cfg->scratch_dir : "/tmp";
	int tries;

	memset(a, 0, sizeof(*a));
	a->scratch_lock = -1;
	a->cfg = *cfg;
	a->facts = capture_facts();
	a->caps = capabilities();
	hb_agent_session_reset(a);
	cleanup_stale_scratch(parent);
	for (tries = 0; tries < 3 && a->scratch_lock < 0; tries++) {
		struct stat st;

		if (hb_snprintf(a->scratch, sizeof(a->scratch), "%s/hvbench-guest.XXXXXX",
				parent)) {
			a->scratch[0] = '\0';
			hb_agent_free(a);
			return hb_err_set(e, HB_EINVAL, "scratch directory %s: path too long",
					  parent);
		}
		if (!mkdtemp(a->scratch)) { /* mkdtemp makes it 0700: private */
			int rc = hb_err_errno(e, HB_EIO,
					      "cannot create a private directory under %s", parent);
			a->scratch[0] = '\0';
			hb_agent_free(a);
			return rc;
		}
		a->scratch_lock = open(a->scratch, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* another agent's cleanup may have taken it between mkdtemp and the lock */
		if (a->scratch_lock >= 0 && (flock(a->scratch_lock, LOCK_EX | LOCK_NB) ||
					     fstat(a->scratch_lock, &st) || st.st_nlink == 0)) {
			close(a->scratch_lock);
			a->scratch_lock = -1;
		}
	}
	if (a->scratch_lock < 0) {
		a->scratch[0] = '\0';
		hb_agent_free(a);
		return hb_err_set(e, HB_EIO, "cannot lock a private directory under %s", parent);
	}
	return 0;
}

void hb_agent_free(struct hb_agent *a)
{
	if (a->scratch[0])
		hb_rmtree(a->scratch);
	a->scratch[0] = '\0';
	if (a->scratch_lock >= 0)
		close(a->scratch_lock);
	a->scratch_lock = -1;
	json_decref(a->facts);
	json_decref(a->caps);
	a->facts = a->caps = NULL;
}

void hb_agent_session_reset(struct hb_agent *a)
{
	a->hello_done = 0;
	a->last_id = -1;
	a->shutdown = 0;
}

/* ---- decoding and validation ---- */

void hb_agent_req_free(struct hb_agent_req *req)
{
	json_decref(req->params);
	memset(req, 0, sizeof(*req));
}

/* A bounded number field: absent -> def (or an error when def is NAN). */
static int num_field(const json_t *msg, const char *key, double def, double lo, int lo_open,
		     double hi, double *out, struct hb_err *e)
{
	const json_t *v = json_object_get(msg, key);
	double d;

	if (!v) {
		if (isnan(def))
			return hb_err_set(e, HB_EINVAL, "run: \"%s\" is required", key);
		*out = def;
		return 0;
	}
	if (!json_is_number(v))
		return hb_err_set(e, HB_EINVAL, "run: \"%s\" must be a number, not %s", key,
				  hb_json_type_name(v));
	d = json_number_value(v);
	if (!isfinite(d) || d > hi || (lo_open ? d <= lo : d < lo))
		return hb_err_set(e, HB_EINVAL, "run: \"%s\" is %g, outside %c%g, %g]", key, d,
				  lo_open ? '(' : '[', lo, hi);
	*out = d;
	return 0;
}

static int decode_server(const json_t *srv, struct hb_agent_req *req, struct hb_err *e)
{
	const char *key;
	const json_t *v, *addr, *port;

	if (!json_is_object(srv))
		return hb_err_set(e, HB_EINVAL, "run: \"server\" must be an object, not %s",
				  hb_json_type_name(srv));
	json_object_foreach ((json_t *)srv, key, v) {
		if (strcmp(key, "addr") && strcmp(key, "port"))
			return hb_err_set(
				e, HB_EINVAL,
				"run: server: unknown key \"%.64s\" (expected addr, port)", key);
	}
	addr = json_object_get(srv, "addr");
	port = json_object_get(srv, "port");
	if (!json_is_string(addr) || hb_agent_check_addr(json_string_value(addr)))
		return hb_err_set(e, HB_EINVAL,
				  "run: server.addr must be an IPv4 or IPv6 address literal");
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535)
		return hb_err_set(e, HB_EINVAL, "run: server.port must be an integer in 1..65535");
	hb_strlcpy(req->server_addr, json_string_value(addr), sizeof(req->server_addr));
	req->server_port = (int)json_integer_value(port);
	return 0;
}

int hb_agent_decode_run(const json_t *msg, struct hb_agent_req *req, struct hb_err *e)
{
	static const char *const keys[] = {"op",   "id",      "workload", "params", "duration",
					   "ramp", "timeout", "server",	  NULL};
	const json_t *wl, *params, *srv;
	const char *key, *name;
	json_t *v;
	size_t i;
	int rc;

	memset(req, 0, sizeof(*req));
	json_object_foreach ((json_t *)msg, key, v) {
		int known = 0;
		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i], key))
				known = 1;
		if (!known) {
			char near[96];
			return hb_err_set(
				e, HB_EINVAL, "run: unknown key \"%.64s\"%s", key,
				hb_suggest(near, sizeof(near), key, keys, HB_ARRAY_SIZE(keys) - 1));
		}
	}
	wl = json_object_get(msg, "workload");
	if (!json_is_string(wl))
		return hb_err_set(e, HB_EINVAL, "run: \"workload\" must be a string, not %s",
				  wl ? hb_json_type_name(wl) : "missing");
	name = json_string_value(wl);
	req->wl = hb_workload_find(name);
	if (!req->wl) {
		const char *names[32];
		char near[96];
		size_t n = 0;
		for (i = 0; hb_workloads[i] && n < HB_ARRAY_SIZE(names); i++)
			names[n++] = hb_workloads[i]->name;
		return hb_err_set(e, HB_EINVAL, "run: unknown workload \"%.64s\"%s", name,
				  hb_suggest(near, sizeof(near), name, names, n));
	}
	rc = num_field(msg, "duration", NAN, 0, 1, HB_AGENT_MAX_DURATION, &req->t.duration, e);
	if (!rc)
		rc = num_field(msg, "ramp", 0, 0, 0, HB_AGENT_MAX_RAMP, &req->t.ramp, e);
	if (!rc)
		rc = num_field(msg, "timeout", 0, 0, 1, HB_AGENT_MAX_TIMEOUT, &req->t.timeout, e);
	if (!rc)
		rc = hb_timing_check(&req->t, HB_AGENT_MAX_TIMEOUT, "run", e);
	if (rc)
		return rc;
	srv = json_object_get(msg, "server");
	if (srv && !json_is_null(srv)) {
		if (!(req->wl->peer != HB_PEER_NONE))
			return hb_err_set(e, HB_EINVAL,
					  "run: \"server\" is only valid for net workloads");
		rc = decode_server(srv, req, e);
		if (rc)
			return rc;
	}
	params = json_object_get(msg, "params");
	if (json_is_null(params))
		params = NULL;
	if (params && json_is_object(params)) {
		/* host-side options (free text: paths, commands) never come from a request */
		for (i = 0; i < req->wl->nparams; i++)
			if (req->wl->params[i].type == HB_P_STRING &&
			    json_object_get(params, req->wl->params[i].name))
				return hb_err_set(e, HB_EINVAL,
						  "run: params: \"%s\" is a host-side option and "
						  "cannot be set in a request",
						  req->wl->params[i].name);
	}
	rc = hb_params_validate(req->wl->params, req->wl->nparams, params, "run: params",
				&req->params, e);
	if (rc) {
		req->params = NULL;
		return rc < 0 ? HB_EINVAL : rc;
	}
	return 0;
}

/* ---- handling one message ---- */

static json_t *error_reply(struct hb_agent *a, long long id, int code, const char *msg)
{
	if (id >= 0)
		hb_agent_log(a, "error id=%lld %s: %s", id, hb_proto_code_name(code), msg);
	else
		hb_agent_log(a, "error %s: %s", hb_proto_code_name(code), msg);
	return hb_proto_error(id, code, msg);
}

static json_t *hello_reply(struct hb_agent *a)
{
	json_t *names = json_array();
	size_t i;

	for (i = 0; hb_workloads[i]; i++)
		json_array_append_new(names, json_string(hb_workloads[i]->name));
	return json_pack("{s:s, s:i, s:s, s:s, s:o, s:O, s:O, s:{s:i, s:f, s:f, s:f}}", "op",
			 "hello", "proto", HB_PROTO_VERSION, "agent", HB_AGENT_NAME, "version",
			 HB_VERSION, "workloads", names, "capabilities", a->caps, "facts", a->facts,
			 "limits", "max_message", HB_PROTO_MAX, "max_duration",
			 HB_AGENT_MAX_DURATION, "max_ramp", HB_AGENT_MAX_RAMP, "max_timeout",
			 HB_AGENT_MAX_TIMEOUT);
}

static enum hb_agent_action handle_hello(struct hb_agent *a, const json_t *msg, json_t **reply)
{
	const json_t *proto = json_object_get(msg, "proto");
	const json_t *tok = json_object_get(msg, "token");

	if (a->cfg.token) {
		/* authentication first: nothing else is revealed to an unauthenticated peer */
		if (!json_is_string(tok) ||
		    !hb_agent_token_ok(json_string_value(tok), a->cfg.token)) {
			*reply = error_reply(a, -1, HB_EINVAL, "hello: authentication failed");
			return HB_ACT_CLOSE;
		}
	}
	if (!json_is_integer(proto)) {
		*reply = error_reply(a, -1, HB_EPROTO, "hello: \"proto\" must be an integer");
		return HB_ACT_REPLY;
	}
	if (json_integer_value(proto) != HB_PROTO_VERSION) {
		char m[128];
		hb_snprintf(m, sizeof(m), "host speaks protocol %lld, agent speaks %d",
			    (long long)json_integer_value(proto), HB_PROTO_VERSION);
		*reply = error_reply(a, -1, HB_EPROTO, m);
		json_object_set_new(*reply, "proto", json_integer(HB_PROTO_VERSION));
		return HB_ACT_REPLY;
	}
	a->hello_done = 1;
	a->last_id = -1;
	hb_agent_log(a, "hello from host (protocol %d)", HB_PROTO_VERSION);
	*reply = hello_reply(a);
	return HB_ACT_REPLY;
}

/* The id of a message when it is a valid integer id, else -1 (for echoing in errors). */
static long long msg_id(const json_t *msg)
{
	const json_t *id = json_object_get(msg, "id");

	if (!json_is_integer(id) || json_integer_value(id) < 0 ||
	    json_integer_value(id) > HB_AGENT_MAX_ID)
		return -1;
	return (long long)json_integer_value(id);
}

/* Checks and uses up the id of a run/shutdown request. */
static int take_id(struct hb_agent *a, const json_t *msg, const char *op, long long *out,
		   struct hb_err *e)
{
	const json_t *id = json_object_get(msg, "id");
	long long v;

	*out = -1;
	if (!id)
		return hb_err_set(e, HB_EINVAL, "%s: \"id\" is required", op);
	if (!json_is_integer(id))
		return hb_err_set(e, HB_EINVAL, "%s: \"id\" must be an integer, not %s", op,
				  hb_json_type_name(id));
	v = (long long)json_integer_value(id);
	if (v < 0 || v > HB_AGENT_MAX_ID)
		return hb_err_set(e, HB_EINVAL, "%s: \"id\" must be in 0..%lld", op,
				  HB_AGENT_MAX_ID);
	*out = v;
	if (v <= a->last_id)
		return hb_err_set(e, HB_EINVAL,
				  "%s: id %lld already used (ids must increase within a session; "
				  "last was %lld)",
				  op, v, a->last_id);
	a->last_id = v;
	return 0;
}

enum hb_agent_action hb_agent_handle(struct hb_agent *a, int rc, const json_t *msg,
				     const char *rerr, json_t **reply, struct hb_agent_req *req)
{
	struct hb_err e = {0};
	const char *op;
	long long id;

	*reply = NULL;
	memset(req, 0, sizeof(*req));
	if (rc) {
		/* framing or JSON problem: answer it, echoing the id when one could be read */
		*reply = error_reply(a, msg ? msg_id(msg) : -1, rc == HB_EPROTO ? HB_EPROTO : rc,
				     rerr && *rerr ? rerr : "malformed message");
		return a->cfg.token && !a->hello_done ? HB_ACT_CLOSE : HB_ACT_REPLY;
	}
	op = json_string_value(json_object_get(msg, "op"));
	if (!op) {
		*reply = error_reply(a, msg_id(msg), HB_EPROTO, "message has no string \"op\"");
		return a->cfg.token && !a->hello_done ? HB_ACT_CLOSE : HB_ACT_REPLY;
	}
	if (!strcmp(op, "hello"))
		return handle_hello(a, msg, reply);
	if (!a->hello_done) {
		*reply = error_reply(a, msg_id(msg), HB_EPROTO,
				     "hello first: the host must send {\"op\":\"hello\",...}");
		return a->cfg.token ? HB_ACT_CLOSE : HB_ACT_REPLY;
	}
	if (!strcmp(op, "run")) {
		if (take_id(a, msg, "run", &id, &e) || hb_agent_decode_run(msg, req, &e)) {
			hb_agent_req_free(req);
			*reply = error_reply(a, id, e.code ? e.code : HB_EINVAL, e.msg);
			return HB_ACT_REPLY;
		}
		req->id = id;
		return HB_ACT_RUN;
	}
	if (!strcmp(op, "shutdown")) {
		if (take_id(a, msg, "shutdown", &id, &e)) {
			*reply = error_reply(a, id, e.code, e.msg);
			return HB_ACT_REPLY;
		}
		hb_agent_log(a, "shutdown requested (id %lld)", id);
		a->shutdown = 1;
		*reply = json_pack("{s:s, s:I}", "op", "result", "id", (json_int_t)id);
		return HB_ACT_SHUTDOWN;
	}
	if (!strcmp(op, "ping")) {
		/* the host times the protocol's round trip with it (nothing runs) */
		if (take_id(a, msg, "ping", &id, &e)) {
			*reply = error_reply(a, id, e.code, e.msg);
			return HB_ACT_REPLY;
		}
		*reply = json_pack("{s:s, s:I}", "op", "result", "id", (json_int_t)id);
		return HB_ACT_REPLY;
	}
	{
		char m[128];
		hb_snprintf(m, sizeof(m),
			    "unknown op \"%.40s\" (expected hello, run, ping, shutdown)", op);
		*reply = error_reply(a, msg_id(msg), HB_EPROTO, m);
	}
	return HB_ACT_REPLY;
}

/* ---- execution ---- */

int hb_agent_exec(const struct hb_workload *wl, const json_t *params, const struct hb_wl_ctx *ctx,
		  const int *close_fds, size_t nclose, struct hb_sample *out, struct hb_err *e)
{
	struct hb_exec_opts o = {.close_fds = close_fds, .nclose = nclose};

	return hb_wl_exec(wl, params, ctx, &o, out, e);
}

json_t *hb_agent_execute(struct hb_agent *a, const struct hb_agent_req *req, const int *close_fds,
			 size_t nclose)
{
	struct hb_wl_ctx ctx;
	struct hb_sample s;
	struct hb_err e = {0};
	char dir[PATH_MAX + 32], why[256] = "";
	double t0 = hb_now();
	struct hb_cpu_ticks t0s, t1s;
	json_t *reply;
	int rc, have_ticks;

	if (req->wl->supported && req->wl->supported(why, sizeof(why))) {
		char m[400];
		hb_snprintf(m, sizeof(m), "%s: not supported here: %s", req->wl->name,
			    why[0] ? why : "no reason given");
		return error_reply(a, req->id, HB_EUNSUPP, m);
	}
	if (hb_snprintf(dir, sizeof(dir), "%s/run-%lld", a->scratch, req->id) || mkdir(dir, 0700))
		return error_reply(a, req->id, HB_EIO, "cannot create the run's scratch directory");
	memset(&ctx, 0, sizeof(ctx));
	hb_wl_ctx_timing(&ctx, &req->t);
	ctx.scratch_dir = dir;
	ctx.disk_path = a->cfg.disk_path;
	ctx.fio_path = a->cfg.fio_path;
	ctx.server_addr = req->server_addr[0] ? req->server_addr : NULL;
	ctx.server_port = req->server_port;
	ctx.stop = a->cfg.stop;
	hb_agent_log(a, "run id=%lld %s: duration %g s, ramp %g s, timeout %g s", req->id,
		     req->wl->name, req->t.duration, req->t.ramp, req->t.timeout);
	have_ticks = hb_procstat_read(&t0s) == 0;
	rc = hb_agent_exec(req->wl, req->params, &ctx, close_fds, nclose, &s, &e);
	hb_rmtree(dir);
	if (rc)
		return error_reply(a, req->id, rc, e.msg[0] ? e.msg : hb_strerror(rc));
	/* the time the hypervisor took from this system during the run (density sweeps) */
	if (have_ticks && hb_procstat_read(&t1s) == 0 &&
	    isfinite(hb_procstat_steal_pct(&t0s, &t1s)))
		hb_sample_info(&s, "steal_pct", json_real(hb_procstat_steal_pct(&t0s, &t1s)));
	hb_agent_log(a, "run id=%lld %s: ok in %.2f s", req->id, req->wl->name, hb_now() - t0);
	reply = json_pack("{s:s, s:I, s:o}", "op", "result", "id", (json_int_t)req->id, "sample",
			  hb_sample_to_json(&s));
	hb_sample_free(&s);
	return reply;
}

/* ---- serving ---- */

/*
 * The span a result reports. HVBENCH_TEST_BREAK=planned-interval makes it the planned
 * duration + ramp instead of the measured span: a deliberately broken chain that
 * `hvbench calibrate` must catch (its test sets it on an agent it runs on the host).
 */
static double reply_span(const struct hb_agent_req *req, double measured)
{
	const char *b = getenv("HVBENCH_TEST_BREAK");

	if (b && !strcmp(b, "planned-interval"))
		return req->t.duration + req->t.ramp;
	return measured;
}

int hb_agent_serve(struct hb_agent *a, int rfd, int wfd, struct hb_err *e)
{
	struct hb_conn c;
	int rc;

	hb_agent_session_reset(a);
	hb_conn_init(&c, rfd, wfd);
	c.stop = a->cfg.stop;
	rc = hb_agent_serve_conn(a, &c, e);
	hb_conn_free(&c);
	return rc;
}

int hb_agent_serve_conn(struct hb_agent *a, struct hb_conn *c, struct hb_err *e)
{
	double started = hb_now();
	int fds[2] = {c->rfd, c->wfd};
	int rc = 0;

	for (;;) {
		struct hb_err re = {0};
		struct hb_agent_req req;
		enum hb_agent_action act;
		json_t *msg = NULL, *reply = NULL;
		double timeout = -1, t_req;

		if (a->cfg.stop && *a->cfg.stop) {
			rc = hb_err_set(e, HB_EINTR, "stopped by a signal");
			break;
		}
		if (!a->hello_done && a->cfg.hello_timeout > 0) {
			timeout = started + a->cfg.hello_timeout - hb_now();
			if (timeout < 0)
				timeout = 0;
		} else if (a->hello_done && a->cfg.idle_timeout > 0) {
			timeout = a->cfg.idle_timeout; /* from the last message on */
		}
		rc = hb_conn_recv(c, timeout, &msg, &re);
		if (rc == HB_EIO || rc == HB_EINTR || rc == HB_ENOMEM) {
			json_decref(msg);
			rc = hb_err_set(e, rc, "%s", re.msg);
			break;
		}
		if (rc == HB_ETIMEDOUT) {
			json_decref(msg);
			if (a->hello_done)
				rc = hb_err_set(e, HB_ETIMEDOUT,
						"session idle for %g s: closed (idle timeout)",
						a->cfg.idle_timeout);
			else
				rc = hb_err_set(e, HB_ETIMEDOUT, "no hello within %g s",
						a->cfg.hello_timeout);
			break;
		}
		t_req = hb_now();
		act = hb_agent_handle(a, rc, msg, re.msg, &reply, &req);
		json_decref(msg);
		if (act == HB_ACT_RUN) {
			reply = hb_agent_execute(a, &req, fds, 2);
			/* the request-to-reply span on this machine's clock: the host compares it
			 * with its own to catch a guest clock that runs fast or slow */
			if (reply &&
			    !strcmp(json_string_value(json_object_get(reply, "op")), "result"))
				json_object_set_new(reply, "elapsed_s",
						    json_real(reply_span(&req, hb_now() - t_req)));
			hb_agent_req_free(&req);
		}
		rc = reply ? hb_conn_send(c, reply, &re) : 0;
		if (rc == HB_EINVAL) {
			/* the result did not fit the message limit: say so instead */
			long long id = msg_id(reply);
			json_decref(reply);
			reply = error_reply(a, id, HB_EPROTO, re.msg);
			hb_err_clear(&re);
			rc = hb_conn_send(c, reply, &re);
		}
		json_decref(reply);
		if (rc) {
			rc = hb_err_set(e, rc, "%s", re.msg);
			break;
		}
		if (act == HB_ACT_SHUTDOWN) {
			rc = 0;
			break;
		}
		if (act == HB_ACT_CLOSE) {
			rc = hb_err_set(e, HB_EPROTO, "connection closed: not authenticated");
			break;
		}
	}
	return rc;
}
