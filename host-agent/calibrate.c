/*
 * calibrate.c — `hvbench calibrate` (see calibrate.h). Each experiment is a pair of targets,
 * one with a known overhead injected, run by the ordinary runner (so the chain under test is
 * the real one: backends, agent protocol, probes, results.json) with the pair interleaved over
 * the repetitions; the verdicts are computed from the results.json the runner wrote, never from
 * values held in memory. Groups of experiments share one profile run: "native" (CPU cap on the
 * native worker), "vm" (a VM and a limited twin: disk throttles, tap rate limit, a round-trip
 * delay — netem on the tap when the kernel has netem, else the echo peer holding each reply —,
 * CPU cap on the vCPU threads; the guest clock against the host's),
 * "remote" (two hvbench-guest agents in namespaces of their own, one behind a rate-limited
 * veth; their clocks) and "memory" (a VM whose VMM overhead is read both by hvbench and here,
 * independently, from smaps_rollup). Everything made here — namespaces, veths, agents, the
 * token file — is removed on every exit path; a SIGKILLed run's leftovers carry its pid and are
 * removed by the next start (namespaces, cgroups, scratch directories).
 */
#include "calibrate.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cgroup.h"
#include "child.h"
#include "datapath.h"
#include "netenv.h"
#include "profile.h"
#include "report.h"
#include "runner.h"
#include "stats.h"
#include "vmmem.h"

/* What is injected (docs/calibrate.md says why these sizes). */
#define INJ_IOPS      ((double)INJ_IOPS_INT) /* QEMU throttling.iops-total */
#define INJ_BPS	      (8 << 20)		     /* QEMU throttling.bps-total, bytes/s */
#define INJ_RATE_MBIT 40.0		     /* tbf on the host end of the tap / veth */
#define INJ_CPUS      0.5		     /* cgroup CPU quota */
#define INJ_DELAY_MS  5.0		     /* netem delay on the tap / echo peer's reply delay */
#define MSS	      1448.0	    /* TCP payload per segment: MTU 1500 - IP 20 - TCP 20 - TS 12 */
#define FRAME	      (MSS + 66.0)  /* what tbf counts: + TCP/IP headers 52 + Ethernet 14 */
#define GOODPUT	      (MSS / FRAME) /* 0.9564 */
#define AGENT_PORT    7000
/* The twin's drive carries both disk limits: each experiment's block size must leave the other
 * limit at least 2x away, or that one binds (64k blocks at 100 IOPS are 6.25 MiB/s < 8). */
#define IOPS_BS	     4096	 /* disk-iops: 4k random reads */
#define BW_BS	     (256 << 10) /* disk-bps: 256k sequential reads */
#define INJ_IOPS_INT 100
_Static_assert(2L * IOPS_BS * INJ_IOPS_INT <= INJ_BPS, "disk-iops would be bandwidth-bound");
_Static_assert(1L * BW_BS * INJ_IOPS_INT >= 2 * INJ_BPS, "disk-bps would be IOPS-bound");
/* how far above its quota a capped side's accounted CPU may be: the accounting is in 10 ms
 * ticks (0.7% of a 1.5 s window) and CFS bandwidth control may overrun a period by part of
 * its 5 ms slice; a cap that does not hold at all gives the capped side ~2x its quota */
#define CPU_CAP_SLACK 0.05
/* a capped TCG guest's CPU runs last at least this long, --quick or not (docs/calibrate.md:
 * at 1.5 s its ops per CPU-second scattered by -19%..-1% against the reference's) */
#define CPU_VM_MIN_S 5.0
/* the remote agents' /30s: 198.19.N.0/29 with N from our pid, so that two calibrations on one
 * machine (whose veths both live in the root namespace) do not route to each other's agents */
#define REMOTE_NET "198.19.%d.%d"
#define NET_OCTET  ((int)(getpid() % 256))

enum exit_code { X_PASS = 0, X_FAIL = 1, X_SETUP = 2 };
enum kind { K_LIMIT, K_CPU, K_DELTA, K_CLOCK, K_MEMORY };
enum verdict { V_NONE, V_PASS, V_FAIL, V_SETUP };
/* How latency-vm injects its delay: netem on the tap (the network path), the echo peer
 * holding each reply (the RR timing chain alone), or not at all (netem asked, none here). */
enum lat { LAT_NONE, LAT_NETEM, LAT_PEER_AUTO, LAT_PEER_ASKED };
/* The groups, run in this order: one profile each; memory boots its own VM, no profile. */
enum group { G_NATIVE, G_REMOTE, G_VM, G_MEMORY, G_N };
static const char *const group_names[G_N] = {"native", "remote", "vm", "memory"};

struct exp {
	const char *name;
	enum group group;
	const char *entry, *ref, *inj, *metric;
	enum kind kind;
	double injected;      /* in inj_unit */
	const char *inj_unit; /* how the injection is stated */
	double to_metric;     /* injected * to_metric * factor = expected, in the metric's unit */
	double factor;	      /* expected loss on top (protocol overhead) */
	const char *unit;     /* the metric's unit */
	double tol;	      /* |measured / expected - 1| allowed (below, when tol_above is set) */
	const char *what;     /* one line: what is injected, how */
	double tol_above;     /* 0, or measured / expected - 1 allowed above (a one-sided bias) */
};

static const struct exp exps[] = {
	{"disk-iops", G_VM, "disk-iops", "vm", "vm-limited", "iops", K_LIMIT, INJ_IOPS, "IOPS", 1,
	 1, "IOPS", 0.05, "QEMU throttling.iops-total on the scratch drive (disk_iops_limit)", 0},
	{"disk-bps", G_VM, "disk-bw", "vm", "vm-limited", "bw", K_LIMIT, INJ_BPS / 1048576.0,
	 "MiB/s", 1, 1, "MiB/s", 0.05,
	 "QEMU throttling.bps-total on the scratch drive (disk_bps_limit)", 0},
	{"net-vm", G_VM, "net-recv", "vm", "vm-limited", "throughput", K_LIMIT, INJ_RATE_MBIT,
	 "Mbit/s", 1e-3, GOODPUT, "Gbit/s", 0.05,
	 "tc tbf rate on the host end of the VM's tap, host to guest (net_rate_limit)", 0},
	/* a held reply never comes early; the guest's wake-up after idling adds (docs) */
	{"latency-vm", G_VM, "netrr", "vm", "vm-limited", "rtt_p50", K_DELTA, INJ_DELAY_MS, "ms",
	 1000, 1, "us", 0.05, NULL /* inj_what(): netem or the echo peer */, 0.25},
	{"cpu-native", G_NATIVE, "cpu", "native", "native-capped", "ops", K_CPU, INJ_CPUS, "CPUs",
	 1, 1, "ops/s", 0.05, "cgroup CPU quota on the native worker (cpu_limit)", 0},
	{"cpu-vm", G_VM, "cpu", "vm", "vm-limited", "ops", K_CPU, INJ_CPUS, "CPUs", 1, 1, "ops/s",
	 0.08, "cgroup CPU quota on the VM's vCPU threads (cpu_limit)", 0},
	{"clock-vm", G_VM, NULL, "vm", "vm-limited", NULL, K_CLOCK, 1, "x", 1, 1, "x",
	 HB_CLOCK_TOL_REL, "none: each run's span on the guest clock against the host's", 0},
	{"net-remote", G_REMOTE, "net-recv", "remote", "remote-limited", "throughput", K_LIMIT,
	 INJ_RATE_MBIT, "Mbit/s", 1e-3, GOODPUT, "Gbit/s", 0.05,
	 "tc tbf rate on the host end of the veth to a remote agent's namespace", 0},
	{"clock-remote", G_REMOTE, NULL, "remote", "remote-limited", NULL, K_CLOCK, 1, "x", 1, 1,
	 "x", HB_CLOCK_TOL_REL, "none: each run's span on the agent's clock against the host's", 0},
	{"memory", G_MEMORY, NULL, "vm-mem", NULL, NULL, K_MEMORY, 512, "MiB guest RAM", 1, 1,
	 "MiB", 0.02, "none: a 512 MiB VM; hvbench's VMM overhead against smaps_rollup read here",
	 0},
};
#define NEXP HB_ARRAY_SIZE(exps)

/* Whether ratio is inside x's tolerance. */
static int within(const struct exp *x, double ratio)
{
	return ratio - 1 >= -x->tol && ratio - 1 <= (x->tol_above > 0 ? x->tol_above : x->tol);
}

/* x's tolerance as text: "±5%", or "-5/+25%" when it is one-sided. */
static const char *tol_str(const struct exp *x, char *buf, size_t len)
{
	if (x->tol_above > 0)
		hb_snprintf(buf, len, "-%.0f/+%.0f%%", x->tol * 100, x->tol_above * 100);
	else
		hb_snprintf(buf, len, "±%.0f%%", x->tol * 100);
	return buf;
}

struct result {
	enum verdict v;
	char reason[512];
	double expected, measured, ratio, lo, hi, ref;
	double inj_share; /* K_CPU: CPUs the capped side got (host accounting), NAN unknown */
	double ref_share; /* K_CPU: CPUs the reference got, NAN unknown */
	int n;
};

struct cal {
	const char *out, *build, *scratch_base;
	char exe_dir[PATH_MAX];
	int reps, quick, quiet, verbose;
	double duration, ramp;
	int want[NEXP];
	struct result res[NEXP];
	int netem; /* the kernel has netem */
	char netem_why[256];
	const char *lat_method; /* --latency-method: "auto" | "netem" | "peer" */
	enum lat lat;		/* how latency-vm injects its delay (choose_latency) */
	volatile sig_atomic_t *stop;
	struct hb_run_memo memo;
};

static void say(const struct cal *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where latency-vm's delay sits (results.json "injected_at"); NULL for other experiments. */
static const char *lat_at(const struct cal *c, const struct exp *x)
{
	if (x->kind != K_DELTA)
		return NULL;
	switch (c->lat) {
	case LAT_NETEM: return "tap (tc netem)";
	case LAT_PEER_AUTO: return "echo peer (netem unavailable)";
	case LAT_PEER_ASKED: return "echo peer (--latency-method peer)";
	default: return "tap (tc netem): not available here";
	}
}

/* What an experiment injects, how (results.json "injection"). */
static const char *inj_what(const struct cal *c, const struct exp *x)
{
	if (x->kind != K_DELTA)
		return x->what;
	if (c->lat == LAT_PEER_AUTO || c->lat == LAT_PEER_ASKED)
		return "the echo peer at the host end of the twin's tap holds every reply for the "
		       "injected time after its request arrived (net_reply_delay): proves the "
		       "round-trip timing chain "
		       "(the guest's clock, the histogram, the VM - reference delta), not the "
		       "network "
		       "path";
	return "tc netem delay on the host end of the twin's tap, host to guest (net_delay): "
	       "added round-trip time on the network path";
}
static void say(const struct cal *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	fputs("hvbench calibrate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void set_v(struct result *r, enum verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_v(struct result *r, enum verdict v, const char *fmt, ...)
{
	va_list ap;

	if (r->v == V_SETUP || r->v == V_FAIL)
		return; /* the first reason stands */
	r->v = v;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

static int group_wanted(const struct cal *c, enum group g)
{
	for (size_t i = 0; i < NEXP; i++)
		if (c->want[i] && exps[i].group == g)
			return 1;
	return 0;
}

static void group_setup_failed(struct cal *c, enum group g, const char *why)
{
	for (size_t i = 0; i < NEXP; i++)
		if (c->want[i] && exps[i].group == g)
			set_v(&c->res[i], V_SETUP, "%s", why);
}

/* ---- profiles ---- */

static json_t *entry(const char *name, const char *wl, json_t *params)
{
	return json_pack("{s:s, s:s, s:o}", "name", name, "workload", wl, "params",
			 params ? params : json_object());
}

/*
 * The CPU entry: no ramp, so that the span the workload counts operations in is the span
 * whose CPU time the proc probe reads (the reference's rate per CPU it got is ops / CPU s).
 */
static json_t *cpu_entry(const struct cal *c, double min_s)
{
	json_t *e = entry("cpu", "cpu", NULL);
	double d = c->duration + c->ramp;

	json_object_set_new(e, "ramp", json_real(0));
	json_object_set_new(e, "duration", json_real(d > min_s ? d : min_s));
	return e;
}

static json_t *vm_opts(int limited, enum lat lat)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s}", "machine", "microvm", "memory", 512,
			      "disk_size", "128M", "disk_cache", "none", "net", "tap");
	if (limited) {
		json_object_set_new(o, "disk_iops_limit", json_integer((json_int_t)INJ_IOPS));
		json_object_set_new(o, "disk_bps_limit", json_integer(INJ_BPS));
		json_object_set_new(o, "net_rate_limit", json_real(INJ_RATE_MBIT));
		json_object_set_new(o, "cpu_limit", json_real(INJ_CPUS));
		if (lat == LAT_NETEM)
			json_object_set_new(o, "net_delay", json_real(INJ_DELAY_MS));
		else if (lat !=
			 LAT_NONE) /* the limited twin's peer alone: the reference's answers */
			json_object_set_new(o, "net_reply_delay", json_real(INJ_DELAY_MS));
	}
	return o;
}

/* Whether the group's profile needs entry: a wanted experiment reads it, or it is the entry
 * a group's clock experiment alone runs on (the cheapest one, "fallback"). */
static int entry_wanted(const struct cal *c, enum group g, const char *name, const char *fallback)
{
	int others = 0, clock = 0;

	for (size_t i = 0; i < NEXP; i++) {
		if (!c->want[i] || exps[i].group != g)
			continue;
		if (exps[i].entry && !strcmp(exps[i].entry, name))
			return 1;
		if (exps[i].kind == K_CLOCK)
			clock = 1;
		else
			others = 1;
	}
	return clock && !others && fallback && !strcmp(name, fallback);
}

/* The profile of a group (new reference); NULL for the memory group (no runner). */
static json_t *group_profile(const struct cal *c, enum group g, const char *token)
{
	json_t *p = json_pack("{s:s, s:i, s:i, s:f, s:f, s:{s:{}}}", "name", group_names[g],
			      "repetitions", c->reps, "warmup", 0, "duration", c->duration, "ramp",
			      c->ramp, "probes", "proc");
	json_t *t = json_array(), *w = json_array();

	if (g == G_NATIVE) {
		json_array_append_new(t, json_pack("{s:s, s:s, s:{s:s}}", "name", "native", "kind",
						   "native", "options", "disk_size", "16M"));
		json_array_append_new(t, json_pack("{s:s, s:s, s:{s:s, s:f}}", "name",
						   "native-capped", "kind", "native", "options",
						   "disk_size", "16M", "cpu_limit", INJ_CPUS));
		json_array_append_new(w, cpu_entry(c, 0));
	} else if (g == G_VM) {
		json_array_append_new(t, json_pack("{s:s, s:s, s:o}", "name", "vm", "kind", "qemu",
						   "options", vm_opts(0, LAT_NONE)));
		json_array_append_new(t, json_pack("{s:s, s:s, s:o}", "name", "vm-limited", "kind",
						   "qemu", "options", vm_opts(1, c->lat)));
		if (entry_wanted(c, g, "disk-iops", NULL))
			json_array_append_new(
				w, entry("disk-iops", "disk",
					 json_pack("{s:s, s:i, s:i, s:s}", "rw", "randread", "bs",
						   IOPS_BS, "iodepth", 16, "size", "64M")));
		if (entry_wanted(c, g, "disk-bw", NULL))
			json_array_append_new(
				w, entry("disk-bw", "disk",
					 json_pack("{s:s, s:i, s:i, s:s}", "rw", "read", "bs",
						   BW_BS, "iodepth", 8, "size", "64M")));
		if (entry_wanted(c, g, "net-recv", NULL))
			json_array_append_new(w, entry("net-recv", "net",
						       json_pack("{s:s}", "direction", "recv")));
		if (c->lat != LAT_NONE && entry_wanted(c, g, "netrr", NULL))
			json_array_append_new(w, entry("netrr", "netrr", NULL));
		if (entry_wanted(c, g, "cpu", "cpu"))
			json_array_append_new(w, cpu_entry(c, CPU_VM_MIN_S));
	} else if (g == G_REMOTE) {
		for (int i = 0; i < 2; i++) {
			char addr[64], bind[32];
			hb_snprintf(addr, sizeof(addr), REMOTE_NET ":%d", NET_OCTET, 4 * i + 2,
				    AGENT_PORT);
			hb_snprintf(bind, sizeof(bind), REMOTE_NET, NET_OCTET, 4 * i + 1);
			json_array_append_new(t, json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i}}",
							   "name", i ? "remote-limited" : "remote",
							   "kind", "remote", "options", "address",
							   addr, "token_file", token, "iperf_bind",
							   bind, "iperf_port", 5301 + 10 * i));
		}
		json_array_append_new(
			w, entry("net-recv", "net", json_pack("{s:s}", "direction", "recv")));
	} else {
		json_decref(t);
		json_decref(w);
		json_decref(p);
		return NULL;
	}
	json_object_set_new(p, "targets", t);
	json_object_set_new(p, "workloads", w);
	return p;
}

/* ---- the remote agents: two namespaces, each with a veth to this namespace ---- */

struct remote_env {
	char ns[2][64], host_if[2][16], token[PATH_MAX];
	int made[2], shaped;
	pid_t agent[2];
};

static int run_ip(struct hb_err *e, const char *a0, ...)
{
	char *argv[16] = {"ip", (char *)a0};
	int n = 2;
	va_list ap;

	va_start(ap, a0);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return hb_child_run(argv, NULL, 10.0, NULL, NULL, e);
}

static void remote_down(struct remote_env *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->agent[i] > 0) {
			int st;
			pid_t w = 0;
			kill(-r->agent[i], SIGTERM);
			for (int k = 0; k < 100 && (w = waitpid(r->agent[i], &st, WNOHANG)) == 0;
			     k++)
				hb_sleep(0.02, NULL);
			/* the whole group (the agent's session child too), then reap: gone on
			 * return */
			kill(-r->agent[i], SIGKILL);
			if (w == 0)
				waitpid(r->agent[i], &st, 0);
			r->agent[i] = 0;
		}
		/* the veth (and its qdisc) goes with the namespace holding its other end */
		if (r->made[i])
			hb_netns_destroy(r->ns[i]);
		r->made[i] = 0;
	}
	if (r->token[0])
		unlink(r->token);
	r->token[0] = '\0';
}

static int make_token(const char *path, struct hb_err *e)
{
	unsigned char raw[24];
	char hex[64];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		if (fd >= 0)
			close(fd);
		return hb_err_errno(e, HB_EIO, "cannot read /dev/urandom");
	}
	close(fd);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[2 * sizeof(raw)] = '\n';
	return hb_write_atomic(path, hex, 2 * sizeof(raw) + 1, 0600, e);
}

static int remote_up(struct cal *c, struct remote_env *r, struct hb_err *e)
{
	char agent[PATH_MAX + 32];
	int rc;

	memset(r, 0, sizeof(*r));
	if (hb_snprintf(agent, sizeof(agent), "%s/hvbench-guest", c->exe_dir) ||
	    access(agent, X_OK))
		return hb_err_set(e, HB_EUNSUPP, "hvbench-guest not found next to hvbench (%s)",
				  agent);
	if (hb_snprintf(r->token, sizeof(r->token), "%s/remote-agent.token", c->out))
		return hb_err_set(e, HB_EINVAL, "output path too long");
	rc = make_token(r->token, e);
	if (rc) {
		r->token[0] = '\0';
		return rc;
	}
	for (int i = 0; i < 2; i++) {
		char host[32], guest[32], listen[48];
		pid_t pid, parent = getpid();

		hb_snprintf(r->ns[i], sizeof(r->ns[i]), "hb-%d-cr%d", (int)getpid(), i);
		hb_snprintf(r->host_if[i], sizeof(r->host_if[i]), "hbc%dr%d",
			    (int)getpid() % 1000000, i);
		hb_snprintf(host, sizeof(host), REMOTE_NET "/30", NET_OCTET, 4 * i + 1);
		hb_snprintf(guest, sizeof(guest), REMOTE_NET "/30", NET_OCTET, 4 * i + 2);
		hb_snprintf(listen, sizeof(listen), REMOTE_NET ":%d", NET_OCTET, 4 * i + 2,
			    AGENT_PORT);
		rc = hb_netns_create(r->ns[i], e);
		if (rc)
			return rc;
		r->made[i] = 1;
		rc = run_ip(e, "link", "add", r->host_if[i], "type", "veth", "peer", "name", "hbv0",
			    "netns", r->ns[i], NULL);
		if (!rc)
			rc = run_ip(e, "addr", "add", host, "dev", r->host_if[i], NULL);
		if (!rc)
			rc = run_ip(e, "link", "set", r->host_if[i], "up", NULL);
		if (!rc)
			rc = run_ip(e, "-n", r->ns[i], "addr", "add", guest, "dev", "hbv0", NULL);
		if (!rc)
			rc = run_ip(e, "-n", r->ns[i], "link", "set", "hbv0", "up", NULL);
		if (rc)
			return rc;
		pid = fork();
		if (pid < 0)
			return hb_err_errno(e, HB_EIO, "fork");
		if (pid == 0) {
			struct hb_err ce = {0};
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
			setpgid(0, 0);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent || hb_netns_enter(r->ns[i], &ce))
				_exit(126);
			if (nul >= 0 && !c->verbose) {
				dup2(nul, 1);
				dup2(nul, 2);
			}
			dup2(nul, 0);
			execl(agent, agent, "--tcp", listen, "--token-file", r->token, "--quiet",
			      (char *)NULL);
			_exit(127);
		}
		setpgid(pid, pid);
		r->agent[i] = pid;
	}
	/* the injection: what this namespace sends to the second agent (host to guest) */
	rc = hb_net_shape(NULL, r->host_if[1], INJ_RATE_MBIT, 0, e);
	return rc;
}

/* ---- reading a group's results.json ---- */

static const char *str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* The samples of (target, workload, metric) into v (at most max); their count. */
static size_t samples(const json_t *root, const char *target, const char *wl, const char *metric,
		      double *v, size_t max)
{
	const json_t *r;
	size_t i, n = 0;

	json_array_foreach (json_object_get(root, "results"), i, r) {
		const json_t *s, *x;
		size_t k;
		if (strcmp(str(r, "target"), target) || strcmp(str(r, "workload"), wl) ||
		    strcmp(str(r, "metric"), metric))
			continue;
		s = json_object_get(r, "samples");
		json_array_foreach (s, k, x)
			if (n < max && json_is_number(x))
				v[n++] = json_number_value(x);
		break;
	}
	return n;
}

/* runs[] of (target, workload) in order: their number; spans into act (active_s). */
static size_t runs_of(const json_t *root, const char *target, const char *wl, double *act,
		      size_t max)
{
	const json_t *r;
	size_t i, n = 0;

	json_array_foreach (json_object_get(root, "runs"), i, r) {
		if (strcmp(str(r, "target"), target) || (wl && strcmp(str(r, "workload"), wl)))
			continue;
		if (n < max && act)
			act[n] = json_number_value(json_object_get(r, "active_s"));
		n++;
	}
	return n;
}

/* The probe windows (proc wall_s, else active_s) of runs[] of (target, workload), in order:
 * the span over which the proc probe's CPU seconds were counted. */
static size_t windows_of(const json_t *root, const char *target, const char *wl, double *w,
			 size_t max)
{
	const json_t *r;
	size_t i, n = 0;

	json_array_foreach (json_object_get(root, "runs"), i, r) {
		const json_t *ws = json_object_get(
			json_object_get(json_object_get(json_object_get(r, "info"), "probes"),
					"proc"),
			"wall_s");
		if (strcmp(str(r, "target"), target) || strcmp(str(r, "workload"), wl))
			continue;
		if (n < max)
			w[n] = json_is_number(ws)
				       ? json_number_value(ws)
				       : json_number_value(json_object_get(r, "active_s"));
		n++;
	}
	return n;
}

/* What the CPU a side got is read from: a VM's vCPU threads (the cap is on them alone), a
 * native worker's process. */
static const char *cpu_metric(const struct exp *x)
{
	return x->group == G_VM ? "proc.vcpu_s" : "proc.cpu_s";
}

/* Why a target of the group did not run (its start failure), or NULL. */
static const char *start_error(const json_t *root, const char *target)
{
	const json_t *f;
	size_t i;

	json_array_foreach (json_object_get(root, "failures"), i, f)
		if (!strcmp(str(f, "target"), target) && !strcmp(str(f, "workload"), "start"))
			return json_string_value(json_object_get(f, "error"));
	return NULL;
}

static const char *run_error(const json_t *root, const char *target, const char *wl)
{
	const json_t *f;
	size_t i;

	json_array_foreach (json_object_get(root, "failures"), i, f)
		if (!strcmp(str(f, "target"), target) && wl && !strcmp(str(f, "workload"), wl))
			return json_string_value(json_object_get(f, "error"));
	json_array_foreach (json_object_get(root, "skipped"), i, f)
		if (!strcmp(str(f, "target"), target) && wl && !strcmp(str(f, "workload"), wl))
			return json_string_value(json_object_get(f, "reason"));
	return NULL;
}

/* The median of a[i] / b[i] over the b[i] > 0 of [0, n); NAN when none. */
static double median_of_ratios(const double *a, const double *b, size_t n)
{
	double v[256];
	size_t k = 0;

	for (size_t i = 0; i < n && k < HB_ARRAY_SIZE(v); i++)
		if (b[i] > 0)
			v[k++] = a[i] / b[i];
	return k ? hb_median(v, k) : NAN;
}

/* Ratio summary of v[0..n) into r (median, CI). */
static void summarize(struct result *r, const double *v, size_t n)
{
	struct hb_summary s;

	r->n = (int)n;
	if (hb_summarize(v, n, &s))
		return;
	r->ratio = s.median;
	r->lo = s.ci_lo;
	r->hi = s.ci_hi;
}

#define MAXN 256

static void eval_clock(const struct exp *x, const json_t *root, struct result *r)
{
	const json_t *run;
	size_t i, n = 0;
	double v[MAXN], worst = 0, wh = 0, wg = 0;
	int bad = 0;

	json_array_foreach (json_object_get(root, "runs"), i, run) {
		const char *t = str(run, "target");
		double h = json_number_value(json_object_get(run, "host_s"));
		double g = json_number_value(json_object_get(run, "guest_s")), dev;
		if (strcmp(t, x->ref) && strcmp(t, x->inj))
			continue;
		if (hb_clock_agrees(h, g, &dev) < 0 || n >= MAXN)
			continue;
		v[n++] = g / h;
		if (!hb_clock_agrees(h, g, NULL))
			bad++;
		if (fabs(dev) >= fabs(worst)) {
			worst = dev;
			wh = h;
			wg = g;
		}
	}
	if (!n) {
		set_v(r, V_SETUP,
		      "no run has both a host and an agent span (an agent older than "
		      "this hvbench does not report its own)");
		return;
	}
	summarize(r, v, n);
	r->expected = 1;
	r->measured = r->ratio;
	if (bad)
		set_v(r, V_FAIL,
		      "%d of %zu runs: agent clock span differs from the host's beyond %.0f%% / "
		      "%.0f ms (worst %.3f s on the host, %.3f s on the agent: %+.1f%%)",
		      bad, n, HB_CLOCK_TOL_REL * 100, HB_CLOCK_TOL_ABS * 1000, wh, wg, worst * 100);
}

static void eval_pair(const struct cal *c, const struct exp *x, const json_t *root,
		      struct result *r)
{
	double ref[MAXN], inj[MAXN], v[MAXN], cpu[MAXN], act[MAXN];
	size_t nr, ni, n, nrr, nri;
	const char *err;

	r->inj_share = r->ref_share = NAN;
	nr = samples(root, x->ref, x->entry, x->metric, ref, MAXN);
	ni = samples(root, x->inj, x->entry, x->metric, inj, MAXN);
	nrr = runs_of(root, x->ref, x->entry, act, MAXN);
	nri = runs_of(root, x->inj, x->entry, NULL, 0);
	if ((err = run_error(root, x->inj, x->entry)) ||
	    (err = run_error(root, x->ref, x->entry))) {
		set_v(r, V_FAIL, "a run failed: %s", err);
		return;
	}
	if (!nr || !ni) {
		set_v(r, V_FAIL, "no %s figures recorded for %s", x->metric, nr ? x->inj : x->ref);
		return;
	}
	/* every repetition of both sides must be in results.json, in results[] and runs[] */
	if ((int)nr != c->reps || (int)ni != c->reps || (int)nrr != c->reps || (int)nri != c->reps)
		set_v(r, V_FAIL,
		      "repetitions missing from results.json: %s has %zu of %d (runs[]: %zu), %s "
		      "has %zu of %d (runs[]: %zu)",
		      x->ref, nr, c->reps, nrr, x->inj, ni, c->reps, nri);
	n = nr < ni ? nr : ni;
	r->ref = hb_median(ref, nr);
	r->measured = hb_median(inj, ni);
	switch (x->kind) {
	case K_LIMIT:
		r->expected = x->injected * x->to_metric * x->factor;
		for (size_t i = 0; i < ni; i++)
			v[i] = inj[i] / r->expected;
		summarize(r, v, ni);
		if (r->ref < 2 * r->expected)
			set_v(r, V_SETUP,
			      "unthrottled %s is %.4g %s, not well above the injected limit %.4g "
			      "%s: "
			      "the limit cannot be told from the host's own ceiling",
			      x->metric, r->ref, x->unit, r->expected, x->unit);
		break;
	case K_CPU: {
		/*
		 * Host accounting says how much CPU each side got over the proc probe's window
		 * (a VM: its vCPU threads; the cap is on them alone). The reference's rate per
		 * CPU-second times what the capped side got is what the capped side must
		 * measure, run by run (the pair of one repetition shares the host's state); the
		 * cap itself is checked apart: the capped side got at most its quota.
		 */
		size_t nc = samples(root, x->ref, x->entry, cpu_metric(x), cpu, MAXN);
		double full[MAXN], icpu[MAXN], iact[MAXN], exp_i[MAXN];
		size_t nic = samples(root, x->inj, x->entry, cpu_metric(x), icpu, MAXN);
		if (nc != nr || nic != ni) {
			set_v(r, V_FAIL, "%zu and %zu %s figures for %zu and %zu runs", nc, nic,
			      cpu_metric(x), nr, ni);
			return;
		}
		windows_of(root, x->ref, x->entry, act, MAXN);
		windows_of(root, x->inj, x->entry, iact, MAXN);
		for (size_t i = 0; i < n; i++) {
			double share = i < nrr && act[i] > 0 ? cpu[i] / act[i] : 1;
			double ishare = i < nri && iact[i] > 0 ? icpu[i] / iact[i] : x->injected;
			full[i] = ref[i] / (share > 0.05 && share < 1 ? share : 1);
			exp_i[i] = full[i] * (ishare > 0 ? ishare : x->injected);
			v[i] = inj[i] / exp_i[i];
		}
		r->expected = hb_median(exp_i, n);
		r->ref_share = median_of_ratios(cpu, act, n < nrr ? n : nrr);
		r->inj_share = median_of_ratios(icpu, iact, nic < nri ? nic : nri);
		summarize(r, v, n);
		/* the injection: the cap held (the quota, plus the accounting's 10 ms tick, plus
		 * one period's quota: a window of W seconds may hold W/period + 1 of them) */
		double win = hb_median(iact, ni < nri ? ni : nri);
		double slack = CPU_CAP_SLACK + (win > 0 ? HB_CGROUP_PERIOD_US / 1e6 / win : 0);
		if (isfinite(r->inj_share) && r->inj_share > x->injected * (1 + slack))
			set_v(r, V_FAIL,
			      "the cap did not hold: the capped side got %.3f CPUs of a %.3g CPU "
			      "quota (%s, tolerance %.0f%%)",
			      r->inj_share, x->injected, cpu_metric(x), slack * 100);
		break;
	}
	case K_DELTA: {
		double d, lo, hi;
		r->expected = x->injected * x->to_metric;
		if (hb_delta_ci(inj, ni, ref, nr, &d, &lo, &hi)) {
			set_v(r, V_FAIL, "no delta");
			return;
		}
		r->measured = d;
		r->n = (int)n;
		r->ratio = d / r->expected;
		r->lo = lo / r->expected;
		r->hi = hi / r->expected;
		break;
	}
	default: break;
	}
}

static void eval_group(struct cal *c, enum group g, const json_t *root)
{
	for (size_t i = 0; i < NEXP; i++) {
		const struct exp *x = &exps[i];
		struct result *r = &c->res[i];
		const char *se;
		if (!c->want[i] || x->group != g || r->v == V_SETUP)
			continue;
		if ((se = start_error(root, x->ref)) ||
		    (x->inj && (se = start_error(root, x->inj)))) {
			set_v(r, V_SETUP, "%s", se);
			continue;
		}
		if (x->kind == K_CLOCK)
			eval_clock(x, root, r);
		else
			eval_pair(c, x, root, r);
		if (r->v == V_NONE && r->n > 0) {
			char tol[24];

			if (within(x, r->ratio))
				set_v(r, V_PASS, "%s", "");
			else if (x->kind == K_CPU && r->inj_share < x->injected * (1 - x->tol))
				set_v(r, V_SETUP,
				      "the host was too busy to give the capped side its share: it "
				      "got "
				      "%.3f CPUs of the %.3g granted (measured %+.1f%% off)",
				      r->inj_share, x->injected, (r->ratio - 1) * 100);
			else if (x->kind == K_CPU)
				set_v(r, V_FAIL,
				      "measured %.4g %s against %.4g %s expected: %+.1f%% off "
				      "(tolerance %s; %s: the reference got %.3f CPUs, the "
				      "capped side %.3f)",
				      r->measured, x->unit, r->expected, x->unit,
				      (r->ratio - 1) * 100, tol_str(x, tol, sizeof(tol)),
				      cpu_metric(x), r->ref_share, r->inj_share);
			else
				set_v(r, V_FAIL,
				      "measured %.4g %s against %.4g %s expected: %+.1f%% off "
				      "(tolerance %s)",
				      r->measured, x->unit, r->expected, x->unit,
				      (r->ratio - 1) * 100, tol_str(x, tol, sizeof(tol)));
		}
	}
}

/* ---- memory: hvbench's reading against one made here ---- */

/* Pss of the whole process (smaps_rollup) and of the guest-RAM memfd mapping (smaps). */
static int indep_memory(pid_t pid, double *total_mib, double *guest_mib, double *guest_size_mib,
			struct hb_err *e)
{
	char path[64], line[1024];
	FILE *f;
	int in_guest = 0, have = 0;

	*total_mib = *guest_mib = *guest_size_mib = 0;
	hb_snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (!(f = fopen(path, "re")))
		return hb_err_errno(e, HB_EIO, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		double kb;
		if (sscanf(line, "Pss: %lf kB", &kb) == 1) {
			*total_mib = kb / 1024;
			have = 1;
		}
	}
	fclose(f);
	if (!have)
		return hb_err_set(e, HB_EPROTO, "%s has no Pss line", path);
	hb_snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	if (!(f = fopen(path, "re")))
		return hb_err_errno(e, HB_EIO, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		double kb;
		char name[64];
		/* "Name: value kB" is a field of the current mapping; anything else is a
		 * mapping's header ("start-end perms offset dev inode [path]") or VmFlags */
		if (sscanf(line, "%63[A-Za-z_]: %lf kB", name, &kb) == 2) {
			if (in_guest && !strcmp(name, "Pss"))
				*guest_mib += kb / 1024;
			if (in_guest && !strcmp(name, "Size"))
				*guest_size_mib += kb / 1024;
			continue;
		}
		in_guest = strstr(line, "/memfd:" HB_VMMEM_QEMU_MEMFD) != NULL;
	}
	fclose(f);
	return 0;
}

static void run_memory(struct cal *c, struct result *r)
{
	const struct hb_backend_ops *ops = hb_backend_find("qemu");
	json_t *in = vm_opts(0, 0), *opts = NULL, *info = json_object();
	struct hb_target t;
	struct hb_target_facts facts;
	struct hb_env env = {0};
	struct hb_err e = {0};
	char scratch[PATH_MAX], dir[PATH_MAX];
	double v[MAXN];
	void *priv = NULL;
	size_t n = 0;
	int rc;

	memset(&t, 0, sizeof(t));
	hb_facts_init(&facts);
	json_object_set_new(in, "net", json_string("none"));
	scratch[0] = '\0';
	if (!ops ||
	    hb_params_validate(ops->opts, ops->nopts, in, "calibrate: memory VM", &opts, &e)) {
		set_v(r, V_SETUP, "%s", e.msg[0] ? e.msg : "no qemu backend");
		goto out;
	}
	if (hb_snprintf(dir, sizeof(dir), "%s/memory", c->out) || hb_mkdirs(dir, 0755, &e) ||
	    hb_snprintf(scratch, sizeof(scratch), "%s/hvbench-scratch.%ld.XXXXXX", c->scratch_base,
			(long)getpid()) ||
	    !mkdtemp(scratch)) {
		set_v(r, V_SETUP, "cannot make the memory experiment's directories: %s",
		      e.msg[0] ? e.msg : strerror(errno));
		scratch[0] = '\0';
		goto out;
	}
	hb_strlcpy(t.name, "vm-mem", sizeof(t.name));
	t.ops = ops;
	t.opts = opts;
	env.build_dir = c->build;
	env.scratch_dir = scratch;
	env.out_dir = dir;
	env.stop = c->stop;
	env.memo = &c->memo;
	env.log = NULL;
	priv = calloc(1, ops->priv_size);
	if (!priv) {
		set_v(r, V_SETUP, "out of memory");
		goto out;
	}
	say(c, "memory: booting a 512 MiB VM");
	rc = ops->start(priv, &t, &env, &facts, info, &e);
	if (rc) {
		set_v(r, V_SETUP, "the VM did not start: %s", e.msg);
		goto stop;
	}
	pid_t pid = (pid_t)json_integer_value(json_object_get(info, "qemu_pid"));
	r->expected = 0;
	for (int i = 0; i < c->reps && !*c->stop; i++) {
		struct hb_vmmem m;
		double tot, g, gsize, ours, theirs;
		hb_err_clear(&e);
		/* alternate who reads first, as the pairs of the other experiments do */
		if (i % 2 == 0) {
			rc = hb_vmmem_read(pid, HB_VMMEM_QEMU_MEMFD, &m, &e) ||
			     indep_memory(pid, &tot, &g, &gsize, &e);
		} else {
			rc = indep_memory(pid, &tot, &g, &gsize, &e) ||
			     hb_vmmem_read(pid, HB_VMMEM_QEMU_MEMFD, &m, &e);
		}
		if (rc) {
			set_v(r, V_FAIL, "reading the VMM's memory failed: %s", e.msg);
			break;
		}
		if (fabs(gsize - 512) > 0.5 || m.guest_mappings < 1) {
			set_v(r, V_FAIL,
			      "the guest-RAM mapping is %.1f MiB here (%d mappings found by "
			      "hvbench), "
			      "512 MiB configured",
			      gsize, m.guest_mappings);
			break;
		}
		theirs = m.vmm_pss_mib - m.guest_pss_mib;
		ours = tot - g;
		v[n++] = theirs / ours;
		r->measured += theirs;
		r->expected += ours;
		hb_sleep(0.2, NULL);
	}
	if (n) {
		r->measured /= (double)n;
		r->expected /= (double)n;
		summarize(r, v, n);
	}
	if (*c->stop)
		set_v(r, V_SETUP, "interrupted");
stop:
	ops->stop(priv, info);
out:
	if (scratch[0])
		hb_rmtree(scratch);
	free(priv);
	hb_facts_free(&facts);
	json_decref(in);
	json_decref(opts);
	json_decref(info);
	if (r->v == V_NONE && r->n > 0) {
		if (within(&exps[NEXP - 1], r->ratio))
			set_v(r, V_PASS, "%s", "");
		else
			set_v(r, V_FAIL,
			      "hvbench says %.2f MiB of VMM overhead, smaps_rollup %.2f MiB: "
			      "%+.1f%% "
			      "(tolerance %.0f%%)",
			      r->measured, r->expected, (r->ratio - 1) * 100,
			      exps[NEXP - 1].tol * 100);
	}
}

/* ---- output ---- */

static const char *vstr(enum verdict v)
{
	return v == V_PASS ? "pass" : v == V_FAIL ? "fail" : v == V_SETUP ? "not-set-up" : "none";
}

/* The entries of group g (G_N: of every group). */
static json_t *cal_json(const struct cal *c, enum group g)
{
	json_t *a = json_array();

	for (size_t i = 0; i < NEXP; i++) {
		const struct exp *x = &exps[i];
		const struct result *r = &c->res[i];
		json_t *o;
		if (!c->want[i] || (g != G_N && x->group != g))
			continue;
		o = json_pack("{s:s, s:s, s:s, s:{s:f, s:s}, s:f, s:s, s:i, s:s, s:f}", "name",
			      x->name, "group", group_names[x->group], "injection", inj_what(c, x),
			      "injected", "value", x->injected, "unit", x->inj_unit, "tolerance",
			      x->tol, "unit", x->unit, "n", r->n, "verdict", vstr(r->v), "expected",
			      r->expected);
		if (x->tol_above > 0)
			json_object_set_new(o, "tolerance_above", json_real(x->tol_above));
		if (r->n > 0) {
			json_object_set_new(o, "measured", json_real(r->measured));
			json_object_set_new(o, "ratio", json_real(r->ratio));
			json_object_set_new(o, "ci95",
					    json_pack("[f, f]", isfinite(r->lo) ? r->lo : 0,
						      isfinite(r->hi) ? r->hi : 0));
		}
		if (x->kind == K_LIMIT || x->kind == K_CPU || x->kind == K_DELTA)
			json_object_set_new(o, "unthrottled", json_real(r->ref));
		if (x->kind == K_CPU && isfinite(r->inj_share))
			json_object_set_new(o, "capped_cpu_share", json_real(r->inj_share));
		if (x->kind == K_CPU && isfinite(r->ref_share))
			json_object_set_new(o, "reference_cpu_share", json_real(r->ref_share));
		if (x->kind == K_CPU)
			json_object_set_new(o, "cpu_from", json_string(cpu_metric(x)));
		if (x->factor != 1)
			json_object_set_new(o, "expected_factor", json_real(x->factor));
		if (lat_at(c, x))
			json_object_set_new(o, "injected_at", json_string(lat_at(c, x)));
		if (r->reason[0])
			json_object_set_new(o, "reason", json_string(r->reason));
		json_array_append_new(a, o);
	}
	return a;
}

/* Adds the group's calibration entries to its results.json (atomically). */
static void annotate_results(const struct cal *c, enum group g, const char *path)
{
	json_t *root = NULL;
	struct hb_err e = {0};
	char *txt;

	if (hb_results_load(path, &root, &e))
		return;
	json_object_set_new(root, "calibration", cal_json(c, g));
	txt = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	if (txt && hb_write_atomic(path, txt, strlen(txt), 0644, &e))
		say(c, "cannot update %s: %s", path, e.msg);
	free(txt);
	json_decref(root);
}

static void fmt_num(char *b, size_t l, double v)
{
	if (!isfinite(v))
		hb_snprintf(b, l, "-");
	else
		hb_snprintf(b, l, "%.4g", v);
}

/* A value in the metric's unit, shown with its unit; in the injection's unit when that one is
 * the smaller (a 40 Mbit/s limit's 38.26 Mbit/s of goodput, not 0.03826 Gbit/s). */
static void fmt_val(char *b, size_t l, const struct exp *x, double v)
{
	char n[32];
	int inj = x->to_metric < 1;

	fmt_num(n, sizeof(n), inj ? v / x->to_metric : v);
	hb_snprintf(b, l, "%s %s", n, inj ? x->inj_unit : x->unit);
}

static int write_outputs(const struct cal *c, FILE *tty)
{
	char md[32768], path[PATH_MAX + 32], line[1024];
	size_t off = 0;
	struct hb_err e = {0};
	json_t *doc;
	char *txt;
	int rc = 0;

#define MD(...)                                                                                    \
	do {                                                                                       \
		int w_ = snprintf(md + off, sizeof(md) - off, __VA_ARGS__);                        \
		if (w_ > 0 && (size_t)w_ < sizeof(md) - off)                                       \
			off += (size_t)w_;                                                         \
	} while (0)
	MD("# hvbench calibration\n\nKnown overheads injected; the suite must measure them "
	   "(docs/calibrate.md explains each experiment and its tolerance). %d repetitions per "
	   "side, %.1f s measured + %.1f s ramp per run.\n\n",
	   c->reps, c->duration, c->ramp);
	MD("| experiment | injected | expected | measured | measured/expected [95%% CI] | "
	   "tolerance | verdict |\n|---|---|---|---|---|---|---|\n");
	if (tty)
		fprintf(tty, "%-13s %-17s %-17s %-17s %-24s %-7s %s\n", "experiment", "injected",
			"expected", "measured", "ratio [95% CI]", "tol", "verdict");
	for (size_t i = 0; i < NEXP; i++) {
		const struct exp *x = &exps[i];
		const struct result *r = &c->res[i];
		char inj[48], tinj[48], ex[48], me[48], ra[64], lo[16], hi[16], tol[24];
		if (!c->want[i])
			continue;
		hb_snprintf(inj, sizeof(inj), "%g %s", x->injected, x->inj_unit);
		hb_snprintf(tinj, sizeof(tinj), "%s", inj);
		if (lat_at(c, x)) { /* where the delay sits: the table says it, not only the JSON */
			hb_snprintf(tinj, sizeof(tinj), "%s %s", inj,
				    c->lat == LAT_NETEM || c->lat == LAT_NONE ? "netem" : "peer");
			hb_snprintf(inj, sizeof(inj), "%g %s, %s", x->injected, x->inj_unit,
				    lat_at(c, x));
		}
		fmt_val(ex, sizeof(ex), x, r->n ? r->expected : NAN);
		fmt_val(me, sizeof(me), x, r->n ? r->measured : NAN);
		fmt_num(lo, sizeof(lo), r->lo);
		fmt_num(hi, sizeof(hi), r->hi);
		if (r->n)
			hb_snprintf(ra, sizeof(ra), "%.3f [%s, %s]", r->ratio, lo, hi);
		else
			hb_snprintf(ra, sizeof(ra), "-");
		MD("| %s | %s | %s | %s | %s | %s | **%s**%s%s |\n", x->name, inj, ex, me, ra,
		   tol_str(x, tol, sizeof(tol)), vstr(r->v), r->reason[0] ? ": " : "", r->reason);
		if (tty) {
			hb_snprintf(line, sizeof(line), "%-13s %-17s %-17s %-17s %-24s %-7s %s",
				    x->name, tinj, ex, me, ra, tol, vstr(r->v));
			fprintf(tty, "%s\n", line);
			if (r->reason[0] && r->v != V_PASS)
				fprintf(tty, "    %s\n", r->reason);
		}
	}
#undef MD
	doc = json_pack("{s:s, s:s, s:i, s:f, s:f, s:o}", "schema", "hvbench/calibration/1",
			"tool_version", HB_VERSION, "repetitions", c->reps, "duration", c->duration,
			"ramp", c->ramp, "calibration", cal_json(c, G_N));
	txt = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	json_decref(doc);
	if (!txt || hb_snprintf(path, sizeof(path), "%s/calibration.json", c->out) ||
	    hb_write_atomic(path, txt, strlen(txt), 0644, &e))
		rc = HB_EIO;
	free(txt);
	if (!rc && (hb_snprintf(path, sizeof(path), "%s/calibration.md", c->out) ||
		    hb_write_atomic(path, md, off, 0644, &e)))
		rc = HB_EIO;
	if (rc)
		fprintf(stderr, "hvbench calibrate: cannot write the calibration files: %s\n",
			e.msg);
	return rc;
}

/* ---- the command ---- */

static const char usage[] =
	"usage: hvbench calibrate [options]\n"
	"\n"
	"Injects overheads of known size and checks that hvbench measures exactly them:\n"
	"  disk-iops, disk-bps  QEMU I/O throttling of a VM's scratch drive\n"
	"  net-vm, net-remote   a tc rate limit on the host end of a tap / veth\n"
	"  latency-vm           5 ms more round-trip time for netrr: tc netem on the tap when\n"
	"                       the kernel has netem, else the echo peer holds each reply 5 ms\n"
	"                       (proves the RR timing chain, not the network path); the table\n"
	"                       and results.json (\"injected_at\") say which was used\n"
	"  cpu-native, cpu-vm   a cgroup CPU quota on the worker / on QEMU\n"
	"  clock-vm, clock-remote  each run's span on the guest clock against the host's\n"
	"  memory               hvbench's VMM overhead against smaps_rollup read independently\n"
	"\n"
	"  -o, --output DIR    where results go (default results/<UTC timestamp>-calibrate)\n"
	"      --targets LIST  kinds to calibrate: native,vm,remote (default all)\n"
	"      --only LIST     only these experiments (names above)\n"
	"      --quick         short runs (CI): 5 repetitions of 1 s\n"
	"      --reps N        repetitions per side (5..100; default 7, quick 5)\n"
	"      --duration S    seconds measured per run (default 4, quick 1; a VM's CPU\n"
	"                      runs last at least 5 s, network runs whole seconds)\n"
	"      --latency-method M  how latency-vm injects its delay: auto (default: netem\n"
	"                      when the kernel has it, else the echo peer), netem (not-set-up\n"
	"                      without it), peer (the echo peer even where netem exists)\n"
	"      --build DIR     directory holding guest/ (as for run)\n"
	"      --scratch-dir D where scratch files and disks go (default /var/tmp)\n"
	"  -q, --quiet         only the table\n"
	"  -v, --verbose       the runner's messages too\n"
	"\n"
	"Writes DIR/calibration.json, DIR/calibration.md and each group's DIR/GROUP/results.json\n"
	"(with a \"calibration\" section). Exit 0: every experiment passed; 1: one failed (which\n"
	"and by how much is printed); 2: one could not be set up here (why is printed; the\n"
	"others still ran) or a usage error. VM experiments boot QEMU: on a shared machine wrap\n"
	"the command in flock.\n";

static int select_list(struct cal *c, const char *list, int by_group)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int hit = 0;
		for (size_t i = 0; i < NEXP; i++) {
			/* the memory experiment boots a VM: it belongs to the vm kind */
			int m = by_group ? (!strcmp(tok, group_names[exps[i].group]) ||
					    (!strcmp(tok, group_names[G_VM]) &&
					     exps[i].group == G_MEMORY))
					 : !strcmp(tok, exps[i].name);
			if (m) {
				c->want[i] |= 2;
				hit = 1;
			}
		}
		if (!hit) {
			fprintf(stderr, "hvbench calibrate: unknown %s \"%s\"\n",
				by_group ? "target kind (native, vm, remote)" : "experiment", tok);
			rc = -1;
		}
	}
	free(copy);
	for (size_t i = 0; i < NEXP; i++)
		c->want[i] = c->want[i] & 2 ? (c->want[i] & 1) : 0;
	return rc;
}

static void probe_netem(struct cal *c)
{
	char ns[64];
	struct hb_err e = {0};

	hb_snprintf(ns, sizeof(ns), "hb-%d-calq", (int)getpid());
	c->netem = 0;
	if (hb_netns_create(ns, &e)) {
		hb_snprintf(c->netem_why, sizeof(c->netem_why), "%s", e.msg);
		return;
	}
	if (hb_net_shape(ns, "lo", 0, 1, &e))
		hb_snprintf(c->netem_why, sizeof(c->netem_why), "%s", e.msg);
	else
		c->netem = 1;
	hb_netns_destroy(ns);
}

/* How latency-vm injects its delay (--latency-method and whether the kernel has netem). */
static void choose_latency(struct cal *c)
{
	const struct exp *x = NULL;

	for (size_t i = 0; i < NEXP; i++)
		if (c->want[i] && exps[i].kind == K_DELTA)
			x = &exps[i];
	c->lat = LAT_NONE;
	if (!x)
		return; /* nothing to set up: no probe, no delay on the twin */
	c->lat = LAT_PEER_ASKED;
	if (!strcmp(c->lat_method, "peer")) {
		say(c,
		    "%s: the echo peer holds each reply %g ms (asked): proves the RR "
		    "timing chain, not the network path",
		    x->name, x->injected);
		return;
	}
	probe_netem(c);
	if (c->netem)
		c->lat = LAT_NETEM;
	else if (!strcmp(c->lat_method, "netem"))
		c->lat = LAT_NONE;
	else
		c->lat = LAT_PEER_AUTO;
	if (c->lat == LAT_PEER_AUTO)
		say(c,
		    "%s: no netem here (%s); the echo peer holds each reply %g ms instead: "
		    "proves the RR timing chain, not the network path",
		    x->name, c->netem_why, x->injected);
	else if (c->lat == LAT_NETEM)
		say(c, "%s: tc netem delay %g ms on the twin's tap", x->name, x->injected);
}

/* Runs one group's profile; its results.json path into path. */
static void run_group(struct cal *c, enum group g)
{
	const char *group = group_names[g];
	struct remote_env re;
	struct hb_profile p;
	struct hb_err e = {0};
	char dir[PATH_MAX], path[PATH_MAX + 32], why[600];
	json_t *prof = NULL, *root = NULL;
	char *txt = NULL;
	int rc;

	memset(&re, 0, sizeof(re));
	memset(&p, 0, sizeof(p));
	if (!group_wanted(c, g) || *c->stop)
		return;
	if (g == G_VM && c->lat == LAT_NONE) { /* netem asked for, none here */
		int others = 0;
		for (size_t i = 0; i < NEXP; i++) {
			if (c->want[i] && exps[i].kind == K_DELTA)
				set_v(&c->res[i], V_SETUP, "%s", c->netem_why);
			else if (c->want[i] && exps[i].group == g)
				others = 1;
		}
		if (!others)
			return; /* no VM to boot for nothing */
	}
	if (g == G_MEMORY) {
		for (size_t i = 0; i < NEXP; i++)
			if (c->want[i] && exps[i].group == G_MEMORY)
				run_memory(c, &c->res[i]);
		return;
	}
	if (g == G_REMOTE) {
		say(c, "remote: starting two agents in namespaces of their own");
		if (remote_up(c, &re, &e)) {
			hb_snprintf(why, sizeof(why), "remote agents: %s", e.msg);
			group_setup_failed(c, g, why);
			goto out;
		}
	}
	prof = group_profile(c, g, re.token);
	txt = json_dumps(prof, JSON_COMPACT);
	if (!txt || hb_profile_parse(txt, group, &p, &e)) {
		hb_snprintf(why, sizeof(why), "profile: %s", e.msg);
		group_setup_failed(c, g, why);
		goto out;
	}
	hb_snprintf(dir, sizeof(dir), "%s/%s", c->out, group);
	struct hb_run_cfg cfg = {.out_dir = dir,
				 .build_dir = c->build,
				 .scratch_base = c->scratch_base,
				 .quiet = 1,
				 .no_report = 1,
				 .verbose = c->verbose,
				 .force = 1,
				 .no_history = 1};
	say(c, "%s: %d targets x %d workloads x %d repetitions, interleaved", group, p.ntargets,
	    p.nentries, p.reps);
	/* the runner's messages go to stderr; keep them unless quiet */
	int saved = -1;
	if (c->quiet || !c->verbose) {
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		saved = dup(2);
		if (nul >= 0) {
			dup2(nul, 2);
			close(nul);
		}
	}
	rc = hb_run_profile(&p, &cfg, c->stop);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	(void)rc;
	if (*c->stop)
		group_setup_failed(c, g, "interrupted (Ctrl-C): its runs are incomplete");
	hb_snprintf(path, sizeof(path), "%s/results.json", dir);
	if (hb_results_load(path, &root, &e)) {
		hb_snprintf(why, sizeof(why), "no results: %s", e.msg);
		group_setup_failed(c, g, why);
		goto out;
	}
	eval_group(c, g, root);
	annotate_results(c, g, path);
out:
	if (g == G_REMOTE)
		remote_down(&re);
	if (p.json)
		hb_profile_free(&p);
	json_decref(root);
	json_decref(prof);
	free(txt);
}

int hb_cmd_calibrate(int argc, char **argv, volatile sig_atomic_t *stop)
{
	static const struct option lo[] = {
		{"output", required_argument, NULL, 'o'},
		{"targets", required_argument, NULL, 't'},
		{"only", required_argument, NULL, 'O'},
		{"quick", no_argument, NULL, 'Q'},
		{"reps", required_argument, NULL, 'r'},
		{"duration", required_argument, NULL, 'd'},
		{"build", required_argument, NULL, 'b'},
		{"scratch-dir", required_argument, NULL, 's'},
		{"latency-method", required_argument, NULL, 'L'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cal c;
	const char *targets = NULL, *only = NULL;
	char outbuf[1024], build_dir[HB_DATA_PATH_MAX], exe[PATH_MAX];
	struct hb_err e = {0};
	int opt, fail = 0, setup = 0, any = 0;
	long l;
	double dur = 0;
	ssize_t n;

	memset(&c, 0, sizeof(c));
	c.scratch_base = "/var/tmp";
	c.lat_method = "auto";
	c.reps = 0;
	c.stop = stop;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:qvh", lo, NULL)) != -1) {
		switch (opt) {
		case 'o': c.out = optarg; break;
		case 't': targets = optarg; break;
		case 'O': only = optarg; break;
		case 'Q': c.quick = 1; break;
		case 'r':
			if (hb_parse_long(optarg, 5, 100, &l)) {
				fprintf(stderr,
					"hvbench calibrate: --reps: \"%s\" is not a whole number "
					"in "
					"5..100 (a pair needs at least 5 repetitions)\n",
					optarg);
				return X_SETUP;
			}
			c.reps = (int)l;
			break;
		case 'd':
			if (hb_parse_double(optarg, 0.2, 600, &dur)) {
				fprintf(stderr,
					"hvbench calibrate: --duration: \"%s\" is not a number of "
					"seconds in 0.2..600\n",
					optarg);
				return X_SETUP;
			}
			break;
		case 'b': c.build = optarg; break;
		case 's': c.scratch_base = optarg; break;
		case 'L':
			if (strcmp(optarg, "auto") && strcmp(optarg, "netem") &&
			    strcmp(optarg, "peer")) {
				fprintf(stderr,
					"hvbench calibrate: --latency-method: \"%s\" is not auto, "
					"netem or peer\n",
					optarg);
				return X_SETUP;
			}
			c.lat_method = optarg;
			break;
		case 'q': c.quiet = 1; break;
		case 'v': c.verbose = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return X_SETUP;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hvbench calibrate: unexpected argument \"%s\"\n%s", argv[optind],
			usage);
		return X_SETUP;
	}
	if ((c.out && !*c.out) || !*c.scratch_base || (c.build && !*c.build)) {
		fprintf(stderr, "hvbench calibrate: -o, --scratch-dir and --build need a path\n");
		return X_SETUP;
	}
	if (!c.reps)
		c.reps = c.quick ? 5 : 7;
	c.duration = dur > 0 ? dur : c.quick ? 1.0 : 4.0;
	c.ramp = c.quick ? 0.5 : 1.0;
	for (size_t i = 0; i < NEXP; i++)
		c.want[i] = 1;
	if ((targets && select_list(&c, targets, 1)) || (only && select_list(&c, only, 0)))
		return X_SETUP;
	for (size_t i = 0; i < NEXP; i++)
		any |= c.want[i];
	if (!any) {
		fprintf(stderr, "hvbench calibrate: --targets and --only leave no experiment\n");
		return X_SETUP;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		hb_strlcpy(c.exe_dir, exe, sizeof(c.exe_dir));
	}
	if (!c.build) {
		struct hb_err ge = {0};
		hb_data_path(HB_DATA_GUEST, NULL, build_dir, sizeof(build_dir), &ge);
		c.build = build_dir[0] ? build_dir : "build";
	}
	if (!c.out) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(outbuf, sizeof(outbuf), "results/%s-calibrate", ts);
		c.out = outbuf;
	}
	if (hb_mkdirs(c.out, 0755, &e)) {
		fprintf(stderr, "hvbench calibrate: %s\n", e.msg);
		return X_SETUP;
	}
	/* what a SIGKILLed calibration left: namespaces (and their veths), cgroups */
	hb_netns_cleanup_stale();
	hb_cgroup_cleanup_stale();
	choose_latency(&c);
	for (int g = 0; g < G_N; g++)
		run_group(&c, (enum group)g);
	if (*stop)
		for (size_t i = 0; i < NEXP; i++)
			if (c.want[i] && c.res[i].v == V_NONE)
				set_v(&c.res[i], V_SETUP, "interrupted before it ran");
	for (size_t i = 0; i < NEXP; i++) {
		if (!c.want[i])
			continue;
		if (c.res[i].v == V_NONE)
			set_v(&c.res[i], V_SETUP, "no result");
		fail |= c.res[i].v == V_FAIL;
		setup |= c.res[i].v == V_SETUP;
	}
	if (write_outputs(&c, stdout))
		return X_SETUP;
	if (!c.quiet)
		fprintf(stderr, "hvbench calibrate: %s/calibration.md, calibration.json\n", c.out);
	return fail ? X_FAIL : setup ? X_SETUP : X_PASS;
}
