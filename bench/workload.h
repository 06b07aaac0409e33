/*
 * workload.h — the workload descriptor. Each workload lives in one file (bench/wl_*.c) that
 * exports exactly one `const struct hb_workload hb_wl_NAME`, and is named once in
 * bench/workloads.def. The same code is linked into the host agent (native runs) and the guest
 * agent (in-guest runs), so the two sides are comparable by construction.
 *
 * Parameters are data (fio-style): a table of name/type/range/default/help that one validator
 * checks, for profiles on the host and for `run` requests in the agent alike.
 */
#ifndef HB_WORKLOAD_H
#define HB_WORKLOAD_H

#include <signal.h>
#include <jansson.h>
#include "hb.h"
#include "metric.h"
#include "timing.h"

enum hb_ptype {
	HB_P_INT,    /* integer within [min, max] */
	HB_P_DOUBLE, /* number within [min, max] */
	HB_P_SIZE,   /* "4k", "1M" or an integer number of bytes, within [min, max] bytes */
	HB_P_BOOL,
	HB_P_ENUM,   /* one of choices[] (NULL-terminated) */
	HB_P_STRING, /* free text of at most max characters (host-side options only) */
};

struct hb_param {
	const char *name;
	enum hb_ptype type;
	double min, max;	    /* for INT, DOUBLE, SIZE */
	const char *def;	    /* default, as text ("4k", "1", "randread", "true") */
	const char *const *choices; /* for ENUM */
	const char *help;
};

/* What a run may use. Filled by the caller (native backend or guest agent), read-only here. */
struct hb_wl_ctx {
	double duration;	 /* measured seconds (after ramp) */
	double ramp;		 /* warm-up seconds inside the run, not measured */
	double timeout;		 /* hard limit for the whole run, seconds */
	const char *scratch_dir; /* private directory for scratch files (native) */
	const char
		*disk_path;   /* if set: a scratch file/device the suite created (guest /dev/vda) */
	const char *fio_path; /* fio binary ("fio" when NULL) */
	const char *server_addr;  /* net: peer server address (NULL: the workload starts its own) */
	int server_port;	  /* net: peer server port (iperf3 or echo, after wl->peer) */
	const char *netns_client; /* net, native: netns to run the client in (NULL: current) */
	const char *netns_server; /* net, native: netns to run the server in (NULL: current) */
	volatile sig_atomic_t *stop; /* set to non-zero on SIGINT/SIGTERM: abort soon, HB_EINTR */
};

/*
 * The host-side server a run of the workload needs: whoever provides the network path of a
 * target (host-agent/tg_netpeer.c for VMs, the workload itself natively) starts it and passes
 * its address in ctx->server_addr/server_port. Backends and the agent ask this, never the
 * workload's name.
 */
enum hb_peer {
	HB_PEER_NONE,
	HB_PEER_IPERF, /* an iperf3 server (hb_iperf_server_start) */
	HB_PEER_ECHO,  /* a TCP/UDP echo server (hb_rrpeer_start) */
};

/*
 * Results rows about a target itself rather than a workload run (boot times, memory overhead)
 * carry these workload names; a profile entry may not use them (hb_entry_name_reserved).
 */
#define HB_ROWS_BOOT   "boot"
#define HB_ROWS_MEMORY "memory"
int hb_entry_name_reserved(const char *name);

struct hb_workload {
	const char *name;  /* "disk", "net", "mem", "cpu", ... */
	const char *kind;  /* result kind: "disk" | "net" | "mem" | "cpu" | "latency" */
	enum hb_peer peer; /* the server its runs need at the host end */
	const char *help;  /* one line */
	const struct hb_param *params;
	size_t nparams;
	/* Every metric the workload reports, with unit, direction, area, role and comparison. */
	const struct hb_metric_def *metrics;
	size_t nmetrics;
	/* NULL, or the name of the one headline metric for these (validated) params, e.g. "bw"
	 * for a 1M sequential disk job and "iops" for a 4k random one. */
	const char *(*headline)(const json_t *params);
	/* NULL or returns 0 when runnable here; otherwise HB_EUNSUPP with the reason in why. */
	int (*supported)(char *why, size_t len);
	/* NULL, or the most memory one run holds at once, in bytes (validated params): a VM
	 * needs its guest's own base memory plus this (validate checks it). */
	unsigned long long (*mem_peak)(const json_t *params);
	/* One measured run. params: validated object with every parameter present (defaults
	 * filled). A run that had to fall back to something less representative says so in
	 * out->info "fallback" (one sentence): results.json lists it in notes[]. */
	int (*run)(const struct hb_wl_ctx *ctx, const json_t *params, struct hb_sample *out,
		   struct hb_err *e);
};

/* Sets ctx's duration, ramp and timeout from t. */
static inline void hb_wl_ctx_timing(struct hb_wl_ctx *ctx, const struct hb_timing *t)
{
	ctx->duration = t->duration;
	ctx->ramp = t->ramp;
	ctx->timeout = t->timeout;
}

/* The registry (NULL-terminated), generated from bench/workloads.def. */
extern const struct hb_workload *const hb_workloads[];
const struct hb_workload *hb_workload_find(const char *name);

/*
 * Checks `in` (an object, or NULL for "all defaults") against the table and returns in *out a new
 * object with every parameter present and typed: INT/SIZE as json integer, DOUBLE as real, BOOL as
 * boolean, ENUM as string. `where` names the place for messages ("profile: workloads[2].params").
 * Unknown keys are errors that suggest the nearest valid name.
 */
int hb_params_validate(const struct hb_param *p, size_t n, const json_t *in, const char *where,
		       json_t **out, struct hb_err *e);

/* A new JSON value of the default of the parameter called name (what hb_params_validate fills
 * in when it is absent), or NULL when the table has no such parameter or it has no default. */
json_t *hb_param_default(const struct hb_param *p, size_t n, const char *name);

/* Typed getters on a validated object (no checks needed after hb_params_validate). */
long long hb_param_int(const json_t *params, const char *name);
double hb_param_double(const json_t *params, const char *name);
int hb_param_bool(const json_t *params, const char *name);
const char *hb_param_str(const json_t *params, const char *name);

/* "an object", "a string", ... for messages about a JSON value's type. */
const char *hb_json_type_name(const json_t *v);

#endif
