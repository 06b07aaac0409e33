/*
 * capacity.c — the report's capacity section, right after the results table: what a planner
 * decides with. The density sweep (per-VM and aggregate throughput against the number of VMs,
 * fairness, the knee, host memory per VM), the host footprint (what the host keeps for itself,
 * the per-VM overhead fitted against guest RAM) and the projection of VMs per host for every
 * measured shape, on this host and on a described one, each with its binding constraint and
 * the assumptions stated. The section is built from results.json alone (one run: the latest)
 * and written to both documents by one small table writer; its plots are "density-*".
 */
#include "rep_int.h"
#include "capacity_model.h"
#include "stats.h"
#include "workload.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHAPES 32

/* ---- one writer for both documents ---- */

struct cdoc {
	FILE *md, *html;
};

enum { TO_MD = 1, TO_HTML = 2, TO_BOTH = 3 };

/* Text into the documents in to, escaped for each (hb_rep_md_text, hb_rep_html_text). */
static void put_to(const struct cdoc *d, const char *s, int to)
{
	if (to & TO_MD)
		hb_rep_md_text(d->md, s);
	if (to & TO_HTML)
		hb_rep_html_text(d->html, s);
}

static void put_esc(const struct cdoc *d, const char *s)
{
	put_to(d, s, TO_BOTH);
}

static void vtext(const struct cdoc *d, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	put_esc(d, buf);
}

enum block { PARA, ITEM };

/* A paragraph or a list item: fmt's text, escaped, inside the block's markup of each document. */
static void block(const struct cdoc *d, enum block b, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void block(const struct cdoc *d, enum block b, const char *fmt, ...)
{
	static const char *const mark[][4] = {
		/* Markdown open, close; HTML open, close */
		[PARA] = {"", "\n\n", "<p>", "</p>\n"},
		[ITEM] = {"- ", "\n", "<li>", "</li>\n"},
	};
	va_list ap;

	fputs(mark[b][0], d->md);
	fputs(mark[b][2], d->html);
	va_start(ap, fmt);
	vtext(d, fmt, ap);
	va_end(ap);
	fputs(mark[b][1], d->md);
	fputs(mark[b][3], d->html);
}

static void heading(const struct cdoc *d, int level, const char *t, const char *id)
{
	fprintf(d->md, "\n%.*s ", level, "####");
	put_to(d, t, TO_MD);
	fputs("\n\n", d->md);
	fprintf(d->html, "<h%d%s%s%s>", level, id ? " id=\"" : "", id ? id : "", id ? "\"" : "");
	put_to(d, t, TO_HTML);
	fprintf(d->html, "</h%d>\n", level);
}

/* A table: header cells, then rows of cells (text, escaped), then end. */
static void thead(const struct cdoc *d, const char *const *h, size_t n)
{
	fputs("|", d->md);
	fputs("<div class=\"scroll\"><table><thead><tr>", d->html);
	for (size_t i = 0; i < n; i++) {
		fputs(" ", d->md);
		fputs("<th>", d->html);
		put_esc(d, h[i]);
		fputs(" |", d->md);
		fputs("</th>", d->html);
	}
	fputs("\n|", d->md);
	for (size_t i = 0; i < n; i++)
		fputs("---|", d->md);
	fputs("\n", d->md);
	fputs("</tr></thead><tbody>\n", d->html);
}

static void trow(const struct cdoc *d, char (*cells)[160], size_t n)
{
	fputs("|", d->md);
	fputs("<tr>", d->html);
	for (size_t i = 0; i < n; i++) {
		fputs(" ", d->md);
		fputs(i ? "<td class=\"num\">" : "<td>", d->html);
		put_esc(d, cells[i]);
		fputs(" |", d->md);
		fputs("</td>", d->html);
	}
	fputs("\n", d->md);
	fputs("</tr>\n", d->html);
}

static void tend(const struct cdoc *d)
{
	fputs("\n", d->md);
	fputs("</tbody></table></div>\n", d->html);
}

static void num(char *buf, size_t len, double v, const char *unit)
{
	char b[64];

	if (!isfinite(v)) {
		hb_strlcpy(buf, "n/a", len);
		return;
	}
	hb_fmt_value(v, b, sizeof(b));
	snprintf(buf, len, "%s%s%s", b, unit && *unit ? " " : "", unit ? unit : "");
}

static void pct(char *buf, size_t len, double ratio)
{
	char b[32];

	if (!isfinite(ratio)) {
		hb_strlcpy(buf, "n/a", len);
		return;
	}
	hb_fmt_pct(ratio, b, sizeof(b));
	snprintf(buf, len, "%s%%", b);
}

/* ---- what the results hold ---- */

/* The run the section describes: the latest one with a sweep, else the latest. */
static const json_t *cap_run(const struct hb_rep *r)
{
	for (size_t i = r->nruns; i > 0; i--)
		if (json_object_get(r->runs[i - 1], "density"))
			return r->runs[i - 1];
	return r->nruns ? r->runs[r->nruns - 1] : NULL;
}

struct shape {
	char name[80];
	double vcpus, guest_mib, overhead_mib;
	int emulated;
	struct hb_cap_knee knee;
	char knee_wl[64];	  /* the workload that sets the knee */
	double boot_overhead_mib; /* at boot, when the sweep's (after work) is larger: used */
};

/* Mean VMM overhead of every VM at every step of the sweep (after the workloads). */
static double sweep_overhead(const json_t *dens)
{
	const json_t *st, *x;
	double s = 0;
	size_t i, j, n = 0;

	json_array_foreach (json_object_get(dens, "steps"), i, st)
		json_array_foreach (json_object_get(st, "vms"), j, x)
			if (isfinite(hb_j_num(x, "vmm_overhead_mib"))) {
				s += hb_j_num(x, "vmm_overhead_mib");
				n++;
			}
	return n ? s / (double)n : NAN;
}

/* The knee of the sweep as a whole: the most sensitive workload's. */
static void sweep_knee(const json_t *dens, struct hb_cap_knee *kn, char *wl, size_t wlen)
{
	const json_t *x;
	size_t i;

	memset(kn, 0, sizeof(*kn));
	wl[0] = '\0';
	json_array_foreach (json_object_get(dens, "knees"), i, x) {
		int k = (int)hb_j_num(x, "knee_k");

		if (!wl[0] || k < kn->knee_k || (k == kn->knee_k && hb_j_bool(x, "limited", 0))) {
			kn->knee_k = k;
			kn->limited = hb_j_bool(x, "limited", 0);
			kn->first_below_k = isfinite(hb_j_num(x, "first_below_k"))
						    ? (int)hb_j_num(x, "first_below_k")
						    : 0;
			hb_strlcpy(wl, hb_j_str(x, "workload", ""), wlen);
		}
	}
}

/* Mean of key over the VMs of the first step (the lone VM): NAN when absent. */
static double step_vm_mean(const json_t *step, const char *key)
{
	const json_t *x;
	double s = 0;
	size_t i, n = 0;

	json_array_foreach (json_object_get(step, "vms"), i, x)
		if (isfinite(hb_j_num(x, key))) {
			s += hb_j_num(x, key);
			n++;
		}
	return n ? s / (double)n : NAN;
}

static int density_emulated(const json_t *dens)
{
	const json_t *st = json_array_get(json_object_get(dens, "steps"), 0);

	return !strcmp(hb_j_str(json_array_get(json_object_get(st, "vms"), 0), "accel", ""), "tcg");
}

/* Every measured VM shape: targets with guest RAM, vCPUs and a measured overhead, and the
 * swept target (its knee attached to the target of the same name when there is one). */
static size_t shapes(const json_t *run, struct shape *out, size_t max)
{
	const json_t *t, *dens = json_object_get(run, "density");
	const char *dname = hb_j_str(dens, "target", "");
	size_t i, n = 0;
	int dseen = 0;

	json_array_foreach (json_object_get(run, "targets"), i, t) {
		const json_t *info = json_object_get(t, "info");
		const json_t *mo = json_object_get(info, "memory_overhead");
		struct shape *s = &out[n];

		if (n >= max || hb_j_is_native(t))
			continue;
		memset(s, 0, sizeof(*s));
		hb_strlcpy(s->name, hb_j_str(t, "name", "?"), sizeof(s->name));
		s->vcpus = hb_j_num(info, "vcpus");
		s->guest_mib = hb_j_num(info, "memory_mib");
		s->overhead_mib = hb_j_num(mo, "vmm_overhead_mib");
		if (!isfinite(s->overhead_mib)) /* the results row the runner made of it */
			s->overhead_mib =
				hb_j_num(hb_j_result(run, s->name, HB_ROWS_MEMORY, "vmm_overhead"),
					 "median");
		s->emulated = hb_j_bool(info, "emulation", 0);
		if (!(s->vcpus > 0) || !(s->guest_mib > 0) || !isfinite(s->overhead_mib))
			continue;
		s->boot_overhead_mib = NAN;
		if (dens && !strcmp(s->name, dname)) {
			double so = sweep_overhead(dens);

			sweep_knee(dens, &s->knee, s->knee_wl, sizeof(s->knee_wl));
			if (so > s->overhead_mib) { /* plan with what a working VM costs */
				s->boot_overhead_mib = s->overhead_mib;
				s->overhead_mib = so;
			}
			dseen = 1;
		}
		n++;
	}
	if (dens && !dseen && n < max) {
		const json_t *sh = json_object_get(dens, "shape");
		struct shape *s = &out[n];

		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s (swept)", dname);
		s->vcpus = hb_j_num(sh, "vcpus");
		s->guest_mib = hb_j_num(sh, "memory_mib");
		s->overhead_mib = sweep_overhead(dens);
		s->boot_overhead_mib = NAN;
		s->emulated = density_emulated(dens);
		sweep_knee(dens, &s->knee, s->knee_wl, sizeof(s->knee_wl));
		if (s->vcpus > 0 && s->guest_mib > 0 && isfinite(s->overhead_mib))
			n++;
	}
	return n;
}

/* This host as the projection sees it: CPUs from the footprint's topology (else host.cores),
 * RAM from host.memory_bytes, reserve = its measured footprint (a planned reserve is the
 * described host's). */
static int this_host(const json_t *run, struct hb_cap_host *h)
{
	const json_t *host = json_object_get(run, "host");
	const json_t *fp = json_object_get(run, "host_footprint");
	const json_t *cpu = json_object_get(fp, "cpu");

	memset(h, 0, sizeof(*h));
	h->cores = hb_j_num(cpu, "cores");
	h->threads = hb_j_num(cpu, "threads");
	if (!(h->cores > 0))
		h->cores = h->threads = hb_j_num(host, "cores");
	h->mem_mib = hb_j_num(host, "memory_bytes") / 1048576.0;
	h->reserve_mib = hb_j_num(fp, "in_use_mib");
	if (!isfinite(h->reserve_mib))
		h->reserve_mib = 0;
	return h->cores > 0 && h->mem_mib > 0;
}

/* ---- the sections ---- */

static void caveats(const struct cdoc *d, const json_t *run, const struct hb_cap_plan *p,
		    int emulated)
{
	const json_t *host = json_object_get(run, "host");
	const json_t *ksm = json_object_get(json_object_get(run, "host_footprint"), "ksm");

	fputs("<ul>\n", d->html);
	if (emulated)
		block(d, ITEM,
		      "Emulation: the VMs ran under TCG, so throughput, contention and the knee "
		      "describe the emulator, not hardware virtualization; memory figures (PSS, "
		      "overhead) are closer to a KVM host's but include TCG's translation cache.");
	if (!strncmp(hb_j_str(host, "virtualization", ""), "guest", 5))
		block(d, ITEM,
		      "Nested host: this host is itself a VM (cpuid hypervisor flag); its CPUs "
		      "are another hypervisor's vCPUs and the contention measured includes that "
		      "layer.");
	block(d, ITEM,
	      "Overcommit: vCPU ratio %g (%s), memory overcommit %g (%s); 1 means none. Set "
	      "them with the profile's \"planning\" block or `hvbench report --vcpu-ratio R "
	      "--mem-overcommit R`.",
	      p->vcpu_ratio, p->vcpu_set ? "set" : "default: no CPU overcommit assumed",
	      p->mem_overcommit, p->mem_set ? "set" : "default: no memory overcommit assumed");
	if (json_is_object(ksm))
		block(d, ITEM, "KSM: %s (pages_sharing %.0f): %s",
		      hb_j_num(ksm, "run") == 1 ? "on" : "off", hb_j_num(ksm, "pages_sharing"),
		      hb_j_num(ksm, "run") == 1
			      ? "pages merged between VMs are split among them by PSS"
			      : "no page is merged between VMs; every VM pays for its own pages");
	fputs("</ul>\n", d->html);
	fputs("\n", d->md);
}

static const struct hb_rep_plot *find_plot(const struct hb_rep_plots *pl, const char *name)
{
	for (size_t i = 0; pl && i < pl->n; i++)
		if (!strcmp(pl->p[i].name, name) && pl->p[i].ok)
			return &pl->p[i];
	return NULL;
}

static void plot_name(char *buf, size_t len, const char *workload)
{
	snprintf(buf, len, "density-%.22s", workload);
}

/* The workload entry wl of a step, or NULL. */
static const json_t *step_wl(const json_t *step, const char *wl)
{
	return hb_j_find(json_object_get(step, "workloads"), "workload", wl);
}

/* min, mean, max of a step's per-VM figures. */
static void spread(const json_t *w, double *mn, double *mean, double *mx)
{
	const json_t *v;
	size_t i, n = 0;
	double s = 0;

	*mn = INFINITY;
	*mx = -INFINITY;
	json_array_foreach (json_object_get(w, "per_vm"), i, v) {
		double x = json_number_value(v);

		if (!json_is_number(v))
			continue;
		s += x;
		n++;
		if (x < *mn)
			*mn = x;
		if (x > *mx)
			*mx = x;
	}
	*mean = n ? s / (double)n : NAN;
	if (!n)
		*mn = *mx = NAN;
}

static void density_section(const struct cdoc *d, const json_t *dens, const char *outdir,
			    const struct hb_rep_plots *pl)
{
	const json_t *steps = json_object_get(dens, "steps"), *kn,
		     *sh = json_object_get(dens, "shape");
	const char *stopped = hb_j_str(dens, "stopped", NULL);
	double thr = hb_j_num(dens, "knee_threshold");
	char title[300], thr_s[32];
	size_t i;

	pct(thr_s, sizeof(thr_s), thr);
	snprintf(title, sizeof(title), "Density: k VMs of %s (%.0f vCPU, %.0f MiB%s)",
		 hb_j_str(dens, "target", "?"), hb_j_num(sh, "vcpus"), hb_j_num(sh, "memory_mib"),
		 density_emulated(dens) ? ", TCG emulation" : "");
	heading(d, 3, title, "density");
	block(d, PARA,
	      "k identical VMs run each workload at the same moment (the requests leave together "
	      "after a start gate). Per VM: the median over %.0f repetition(s); worst = the "
	      "slowest VM as %% of the lone VM (k = 1); fairness = Jain's index over the VMs "
	      "(1 = equal shares). The knee is the largest k at which every VM keeps %s of the "
	      "lone VM; a step that falls below ends it.",
	      hb_j_num(dens, "repetitions"), thr_s);
	if (stopped)
		block(d, PARA, "The sweep stopped early: %s.", stopped);
	json_array_foreach (json_object_get(dens, "knees"), i, kn) {
		const char *wl = hb_j_str(kn, "workload", "?");
		const json_t *st, *w0 = step_wl(json_array_get(steps, 0), wl);
		static const char *const h[] = {
			"k",	     "per VM (mean)", "slowest..fastest VM", "worst vs lone VM",
			"aggregate", "fairness",      "host CPU busy",	     "guest steal"};
		char cells[8][160], pn[64];
		const char *unit = hb_j_str(w0, "unit", "");
		size_t j;

		snprintf(title, sizeof(title), "%s (%s, %s)", wl, hb_j_str(w0, "metric", "?"),
			 hb_j_bool(w0, "higher_is_better", 1) ? "higher is better"
							      : "lower is better");
		heading(d, 4, title, NULL);
		thead(d, h, 8);
		json_array_foreach (steps, j, st) {
			const json_t *w = step_wl(st, wl), *sv;
			double mn, mean, mx, steal = 0;
			size_t q, ns = 0;

			if (!w)
				continue;
			spread(w, &mn, &mean, &mx);
			json_array_foreach (json_object_get(w, "steal_pct"), q, sv)
				if (json_is_number(sv)) {
					steal += json_number_value(sv);
					ns++;
				}
			snprintf(cells[0], sizeof(cells[0]), "%.0f%s", hb_j_num(st, "k"),
				 (int)hb_j_num(st, "k") == (int)hb_j_num(kn, "knee_k") ? " (knee)"
										       : "");
			num(cells[1], sizeof(cells[1]), mean, unit);
			{
				char a[64], b[64];

				num(a, sizeof(a), mn, "");
				num(b, sizeof(b), mx, "");
				snprintf(cells[2], sizeof(cells[2]), "%s .. %s", a, b);
			}
			pct(cells[3], sizeof(cells[3]), hb_j_num(w, "worst_rel"));
			num(cells[4], sizeof(cells[4]), hb_j_num(w, "aggregate"), unit);
			num(cells[5], sizeof(cells[5]), hb_j_num(w, "fairness"), "");
			num(cells[6], sizeof(cells[6]), hb_j_num(w, "host_cpu_busy_pct"), "%");
			num(cells[7], sizeof(cells[7]), ns ? steal / (double)ns : NAN, "%");
			trow(d, cells, 8);
		}
		tend(d);
		if (hb_j_bool(kn, "limited", 0))
			block(d, PARA,
			      "Knee: k = %.0f (at k = %.0f the slowest VM fell below %s of the "
			      "lone "
			      "VM).",
			      hb_j_num(kn, "knee_k"), hb_j_num(kn, "first_below_k"), thr_s);
		else
			block(d, PARA,
			      "Knee: k >= %.0f (every VM kept %s of the lone VM at every k "
			      "measured: "
			      "a lower bound, not a limit).",
			      hb_j_num(kn, "knee_k"), thr_s);
		plot_name(pn, sizeof(pn), wl);
		if (find_plot(pl, pn))
			hb_rep_figure(d->md, d->html, outdir, find_plot(pl, pn));
	}
	{
		static const char *const h[] = {"k",
						"PSS per VM (mean)",
						"VMM overhead per VM (mean)",
						"all VMs (PSS)",
						"host MemAvailable",
						"KSM pages_sharing"};
		char cells[6][160];
		const json_t *st;

		heading(d, 4, "Host memory against k", NULL);
		block(d, PARA,
		      "Per VM: PSS of its QEMU process (pages shared between VMs, such as the "
		      "QEMU binary and KSM-merged pages, are split among them); the overhead is "
		      "that PSS minus the guest-RAM memfd's.");
		thead(d, h, 6);
		json_array_foreach (steps, i, st) {
			const json_t *ksm = json_object_get(st, "ksm");

			snprintf(cells[0], sizeof(cells[0]), "%.0f", hb_j_num(st, "k"));
			num(cells[1], sizeof(cells[1]), step_vm_mean(st, "pss_mib"), "MiB");
			num(cells[2], sizeof(cells[2]), step_vm_mean(st, "vmm_overhead_mib"),
			    "MiB");
			num(cells[3], sizeof(cells[3]), hb_j_num(st, "pss_total_mib"), "MiB");
			num(cells[4], sizeof(cells[4]), hb_j_num(st, "memavailable_mib"), "MiB");
			if (json_is_object(ksm))
				snprintf(cells[5], sizeof(cells[5]), "%.0f (%s)",
					 hb_j_num(ksm, "pages_sharing"),
					 hb_j_num(ksm, "run") == 1 ? "on" : "off");
			else
				hb_strlcpy(cells[5], "n/a", sizeof(cells[5]));
			trow(d, cells, 6);
		}
		tend(d);
		if (find_plot(pl, "density-memory"))
			hb_rep_figure(d->md, d->html, outdir, find_plot(pl, "density-memory"));
	}
}

static void footprint_section(const struct cdoc *d, const json_t *run, const struct shape *sh,
			      size_t nsh)
{
	const json_t *fp = json_object_get(run, "host_footprint"), *x;
	const json_t *cpu = json_object_get(fp, "cpu");
	double g[MAX_SHAPES], o[MAX_SHAPES];
	struct hb_cap_ofit f;
	char top[600] = "", a[64], b[64];
	size_t i, n = 0;

	heading(d, 3, "Host footprint and per-VM overhead", "footprint");
	if (fp) {
		json_array_foreach (json_object_get(fp, "top"), i, x) {
			size_t l = strlen(top);

			if (i >= 5)
				break;
			num(a, sizeof(a), hb_j_num(x, "rss_mib"), "MiB");
			snprintf(top + l, sizeof(top) - l, "%s%s %s", i ? ", " : "",
				 hb_j_str(x, "comm", "?"), a);
		}
		num(a, sizeof(a), hb_j_num(fp, "in_use_mib"), "MiB");
		num(b, sizeof(b), hb_j_num(fp, "memtotal_mib"), "MiB");
		block(d, PARA,
		      "With no VM of this run up, the host used %s of %s (MemTotal - "
		      "MemAvailable)%s%s. "
		      "CPUs: %.0f hardware threads on %.0f physical cores in %.0f package(s) (%s).",
		      a, b, top[0] ? "; biggest resident processes: " : "", top,
		      hb_j_num(cpu, "threads"), hb_j_num(cpu, "cores"), hb_j_num(cpu, "packages"),
		      hb_j_str(cpu, "source", "?"));
	} else {
		block(d, PARA,
		      "These results hold no host footprint (recorded by hvbench runs since the "
		      "capacity sweep was added).");
	}
	for (i = 0; i < nsh && n < MAX_SHAPES; i++) {
		g[n] = sh[i].guest_mib / 1024.0;
		/* like for like: every size as measured at boot */
		o[n] = isfinite(sh[i].boot_overhead_mib) ? sh[i].boot_overhead_mib
							 : sh[i].overhead_mib;
		n++;
	}
	if (n) {
		static const char *const h[] = {"VM", "guest RAM", "VMM overhead (PSS)",
						"host RAM per VM"};
		char cells[4][160];

		thead(d, h, 4);
		for (i = 0; i < nsh; i++) {
			hb_strlcpy(cells[0], sh[i].name, sizeof(cells[0]));
			num(cells[1], sizeof(cells[1]), sh[i].guest_mib, "MiB");
			num(cells[2], sizeof(cells[2]), sh[i].overhead_mib, "MiB");
			if (isfinite(sh[i].boot_overhead_mib)) {
				char bo[64];
				size_t l = strlen(cells[2]);

				num(bo, sizeof(bo), sh[i].boot_overhead_mib, "MiB");
				snprintf(cells[2] + l, sizeof(cells[2]) - l,
					 " (in the sweep, after the workloads; %s at boot)", bo);
			}
			num(cells[3], sizeof(cells[3]), sh[i].guest_mib + sh[i].overhead_mib,
			    "MiB");
			trow(d, cells, 4);
		}
		tend(d);
	}
	if (hb_cap_overhead_fit(g, o, n, &f) == 0) {
		char fx[64], sl[64], rm[64], mr[64], r2[64];

		num(fx, sizeof(fx), f.fixed_mib, "MiB");
		num(sl, sizeof(sl), fabs(f.per_gib_mib), "MiB");
		num(rm, sizeof(rm), f.rmse_mib, "MiB");
		num(mr, sizeof(mr), f.max_resid_mib, "MiB");
		num(r2, sizeof(r2), f.r2, "");
		block(d, PARA,
		      "Overhead model (least squares over %d VMs of %.2g..%.2g GiB): overhead = %s "
		      "%s "
		      "%s per GiB of guest RAM; RMS residual %s, largest %s, R^2 %s.%s",
		      f.n, f.min_gib, f.max_gib, fx, f.per_gib_mib < 0 ? "-" : "+", sl, rm, mr, r2,
		      f.n == 2 ? " Two points: the line passes through both, so there is no error "
				 "estimate; measure a third size to test it."
		      : f.flat ? " The overhead is flat: guest RAM size does not explain it beyond "
				 "the noise, so a fixed cost per VM describes it."
			       : "");
		if (fp) {
			double mean = 0;

			for (i = 0; i < n; i++)
				mean += o[i] / (double)n;
			num(a, sizeof(a), hb_j_num(fp, "in_use_mib"), "MiB");
			num(b, sizeof(b), mean, "MiB");
			block(d, PARA,
			      "Host memory for N VMs = %s (footprint) + N x (guest RAM + %s%s).", a,
			      f.flat ? b : "the model's overhead", f.flat ? " overhead" : "");
		}
	} else if (n == 1) {
		block(d, PARA,
		      "One guest size measured: no overhead model (it needs at least two sizes); "
		      "the measured overhead is used as is.");
	}
}

static void projection(const struct cdoc *d, const json_t *run, const struct hb_cap_plan *p,
		       const struct shape *sh, size_t nsh)
{
	static const char *const h[] = {"host",	      "VM",	      "vCPUs",
					"RAM per VM", "by memory",    "by vCPU ratio",
					"by knee",    "VMs per host", "binding"};
	struct hb_cap_host here, there;
	int have_here;
	double here_units;
	char cells[9][160], rs[64];

	heading(d, 3, "VMs per host", "projection");
	have_here = this_host(run, &here);
	if (!nsh || !have_here) {
		block(d, PARA,
		      "No projection: it needs VM targets with a measured overhead and the host's "
		      "CPUs and RAM.");
		return;
	}
	here_units = p->per_thread ? here.threads : here.cores;
	there = (struct hb_cap_host){p->host_cores, p->host_threads, p->host_mem_mib,
				     p->reserve_mib >= 0 ? p->reserve_mib : here.reserve_mib};
	thead(d, h, 9);
	for (int pass = 0; pass < 1 + p->described; pass++) {
		const struct hb_cap_host *hh = pass ? &there : &here;

		for (size_t i = 0; i < nsh; i++) {
			struct hb_cap_shape cs = {sh[i].vcpus, sh[i].guest_mib, sh[i].overhead_mib,
						  sh[i].knee, here_units};
			struct hb_cap_fit f;

			if (hb_cap_project(hh, p, &cs, &f))
				continue;
			if (pass)
				snprintf(cells[0], sizeof(cells[0]),
					 "described: %.0f cores%s, %.0f GiB", hh->cores,
					 hh->threads > hh->cores ? " (SMT)" : "",
					 hh->mem_mib / 1024.0);
			else
				snprintf(cells[0], sizeof(cells[0]), "this host: %.0f %s, %.0f GiB",
					 f.units, p->per_thread ? "threads" : "cores",
					 hh->mem_mib / 1024.0);
			snprintf(cells[1], sizeof(cells[1]), "%s%s", sh[i].name,
				 sh[i].emulated ? " (TCG)" : "");
			snprintf(cells[2], sizeof(cells[2]), "%.0f", sh[i].vcpus);
			num(cells[3], sizeof(cells[3]), f.mem_per_vm_mib, "MiB");
			snprintf(cells[4], sizeof(cells[4]), "%.0f", f.by_mem);
			snprintf(cells[5], sizeof(cells[5]), "%.0f", f.by_vcpu);
			if (isfinite(f.by_knee))
				snprintf(cells[6], sizeof(cells[6]), "%.0f (%s)", f.by_knee,
					 sh[i].knee_wl);
			else if (sh[i].knee.knee_k)
				snprintf(cells[6], sizeof(cells[6]), "no limit found (>= %d)",
					 sh[i].knee.knee_k);
			else
				hb_strlcpy(cells[6], "not swept", sizeof(cells[6]));
			snprintf(cells[7], sizeof(cells[7]), "%.0f", f.fit);
			hb_strlcpy(cells[8], hb_cap_bound_name(f.binds), sizeof(cells[8]));
			trow(d, cells, 9);
		}
	}
	tend(d);
	num(rs, sizeof(rs), here.reserve_mib, "MiB");
	fputs("<ul>\n", d->html);
	block(d, ITEM,
	      "By memory = floor((host RAM - reserve) / (guest RAM / memory overcommit + "
	      "measured VMM overhead)); reserve on this host: %s%s.",
	      json_object_get(run, "host_footprint") ? rs : "",
	      json_object_get(run, "host_footprint") ? " (its measured footprint)"
						     : "none (these results hold no measured "
						       "footprint)");
	if (p->described) {
		num(rs, sizeof(rs), there.reserve_mib, "MiB");
		block(d, ITEM,
		      "Described host: %.0f physical cores, %.0f hardware threads, %.0f GiB RAM, "
		      "reserve %s (%s).",
		      p->host_cores, p->host_threads > 0 ? p->host_threads : p->host_cores,
		      p->host_mem_mib / 1024.0, rs,
		      p->reserve_mib >= 0 ? "as set" : "this host's measured footprint");
	}
	block(d, ITEM,
	      "By vCPU ratio = floor(CPU units x %g / vCPUs); CPU unit: %s (this host: %.0f "
	      "threads on %.0f physical cores).",
	      p->vcpu_ratio,
	      p->per_thread ? "hardware threads (SMT siblings count)" : "physical cores",
	      here.threads, here.cores);
	block(d, ITEM,
	      "By knee = floor(knee k x CPU units / this host's %.0f CPU units): an assumption "
	      "that contention scales with CPU units; only when the sweep found a limit.",
	      here_units);
	fputs("</ul>\n", d->html);
	fputs("\n", d->md);
}

void hb_rep_capacity(FILE *md, FILE *html, const struct hb_rep *r, const char *outdir,
		     const struct hb_rep_plots *pl)
{
	const struct cdoc d = {md, html};
	const json_t *run = cap_run(r), *dens;
	struct shape sh[MAX_SHAPES];
	struct hb_cap_plan plan;
	struct hb_err e = {0};
	size_t nsh;
	int emulated = 0;

	if (!run)
		return;
	dens = json_object_get(run, "density");
	nsh = shapes(run, sh, MAX_SHAPES);
	if (!dens && !nsh)
		return;
	hb_cap_plan_init(&plan);
	if (hb_cap_plan_parse(json_object_get(json_object_get(run, "profile"), "planning"),
			      "profile: planning", &plan, &e) ||
	    hb_cap_plan_parse(r->opts.planning, "hvbench report", &plan, &e))
		hb_cap_plan_init(&plan); /* named below; the defaults are used */
	for (size_t i = 0; i < nsh; i++)
		emulated |= sh[i].emulated;
	if (dens)
		emulated |= density_emulated(dens);
	fputs("\n## Capacity\n\n", md);
	fputs("<h2 id=\"capacity\">Capacity</h2>\n", html);
	block(&d, PARA,
	      "How many VMs of each measured shape a host holds, what the host keeps for itself "
	      "and what that means for a host not bought yet.%s",
	      r->nruns > 1 ? " Figures from the latest run with a density sweep." : "");
	if (e.msg[0])
		block(&d, PARA, "Planning options ignored: %s", e.msg);
	caveats(&d, run, &plan, emulated);
	projection(&d, run, &plan, sh, nsh);
	if (dens)
		density_section(&d, dens, outdir, pl);
	footprint_section(&d, run, sh, nsh);
}

/* ---- plots ---- */

/* The x axis of a sweep plot: log2, ticks at the counts swept, room past the last one. */
static void k_axis(FILE *f, const json_t *dens)
{
	const json_t *st;
	size_t i;
	double kmax = 1;

	fputs("set logscale x 2\nset xtics (", f);
	json_array_foreach (json_object_get(dens, "steps"), i, st) {
		fprintf(f, "%s%.0f", i ? ", " : "", hb_j_num(st, "k"));
		kmax = hb_j_num(st, "k");
	}
	fprintf(f, ")\nset xrange [0.8:%.3g]\nset xlabel 'VMs running at once (k)'\n", kmax * 1.25);
}

/* The data file and the script body of one plot, as memory streams. */
struct pbuf {
	char *data, *body;
	size_t dl, bl;
	FILE *df, *bf;
};

static int pbuf_open(struct pbuf *p, struct hb_err *e)
{
	memset(p, 0, sizeof(*p));
	p->df = open_memstream(&p->data, &p->dl);
	p->bf = open_memstream(&p->body, &p->bl);
	if (p->df && p->bf)
		return 0;
	if (p->df)
		fclose(p->df);
	if (p->bf)
		fclose(p->bf);
	free(p->data);
	free(p->body);
	return hb_err_set(e, HB_ENOMEM, "plots: out of memory");
}

/* Closes the streams, draws the plot and frees everything. */
static int pbuf_draw(struct pbuf *p, const char *plotdir, struct hb_rep_plots *out,
		     const char *name, const char *title, int height, struct hb_err *e)
{
	int rc;

	fclose(p->df);
	fclose(p->bf);
	rc = hb_rep_plot_script(plotdir, out, name, title, p->data, p->body, 900, height, e);
	free(p->data);
	free(p->body);
	return rc;
}

static int plot_workload(const json_t *dens, const json_t *kn, const char *plotdir,
			 struct hb_rep_plots *out, struct hb_err *e)
{
	const char *wl = hb_j_str(kn, "workload", "?");
	const json_t *steps = json_object_get(dens, "steps"), *st;
	const json_t *w0 = step_wl(json_array_get(steps, 0), wl);
	double thr = hb_j_num(dens, "knee_threshold"), lone = NAN, d0, d1;
	char name[64], title[200];
	struct pbuf pb;
	FILE *df, *bf;
	size_t i;

	if (pbuf_open(&pb, e))
		return HB_ENOMEM;
	df = pb.df;
	bf = pb.bf;
	plot_name(name, sizeof(name), wl);
	fputs("# k\tper_vm_mean\tmin\tmax\taggregate\n", df);
	json_array_foreach (steps, i, st) {
		const json_t *w = step_wl(st, wl);
		double mn, mean, mx;

		if (!w)
			continue;
		spread(w, &mn, &mean, &mx);
		if (i == 0)
			lone = mean;
		fprintf(df, "%.0f\t%.6g\t%.6g\t%.6g\t%.6g\n", hb_j_num(st, "k"), mean, mn, mx,
			hb_j_num(w, "aggregate"));
	}
	k_axis(bf, dens);
	fprintf(bf,
		"set ylabel 'per VM: %s (%s)'\n"
		"set y2label 'all VMs together (%s)'\nset ytics nomirror\nset y2tics\n"
		"set yrange [0:*]\nset y2range [0:*]\n"
		"set key outside bottom center horizontal\nset bmargin 6\nset datafile missing "
		"'nan'\n",
		hb_j_str(w0, "metric", "?"), hb_j_str(w0, "unit", ""), hb_j_str(w0, "unit", ""));
	d0 = hb_j_num(kn, "knee_k");
	d1 = thr * lone;
	if (isfinite(d1) && hb_j_bool(w0, "higher_is_better", 1))
		fprintf(bf,
			"set arrow from graph 0, first %.6g to graph 1, first %.6g nohead dt 2 "
			"lc rgb '#c05621'\nset label '%.0f%% of the lone VM' at graph 0.02, first "
			"%.6g offset 0,0.7 tc rgb '#c05621'\n",
			d1, d1, thr * 100, d1);
	if (d0 >= 1)
		fprintf(bf,
			"set arrow from first %.6g, graph 0 to first %.6g, graph 1 nohead lw 2 lc "
			"rgb '#2f855a'\nset label 'knee: k = %.0f%s' at first %.6g, graph 0.95 "
			"offset 0.5,0 tc rgb '#2f855a'\n",
			d0, d0, d0, hb_j_bool(kn, "limited", 0) ? "" : " (no limit found)", d0);
	fprintf(bf,
		"plot '%s.dat' using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'per VM (mean, "
		"slowest..fastest)', '' using 1:5 axes x1y2 with linespoints lw 2 pt 5 "
		"title 'aggregate'\n",
		name);
	snprintf(title, sizeof(title), "Density: %s per VM and in aggregate against k (%s%s)", wl,
		 density_emulated(dens) ? "TCG, " : "", hb_j_str(dens, "target", "?"));
	return pbuf_draw(&pb, plotdir, out, name, title, 520, e);
}

static int plot_memory(const json_t *dens, const char *plotdir, struct hb_rep_plots *out,
		       struct hb_err *e)
{
	const json_t *st;
	struct pbuf pb;
	size_t i;

	if (pbuf_open(&pb, e))
		return HB_ENOMEM;
	k_axis(pb.bf, dens);
	fputs("set ylabel 'per VM (MiB)'\n"
	      "set y2label 'all VMs (MiB)'\nset ytics nomirror\nset y2tics\n"
	      "set yrange [0:*]\nset y2range [0:*]\n"
	      "set key outside bottom center horizontal\nset bmargin 6\nset datafile missing "
	      "'nan'\n"
	      "plot 'density-memory.dat' using 1:2 with linespoints lw 2 pt 7 title 'PSS per VM', "
	      "'' using 1:3 with linespoints lw 2 pt 9 title 'VMM overhead per VM', "
	      "'' using 1:4 axes x1y2 with linespoints lw 2 pt 5 title 'all VMs (PSS)'\n",
	      pb.bf);
	fputs("# k\tpss_per_vm\toverhead_per_vm\tpss_total\n", pb.df);
	json_array_foreach (json_object_get(dens, "steps"), i, st)
		fprintf(pb.df, "%.0f\t%.6g\t%.6g\t%.6g\n", hb_j_num(st, "k"),
			step_vm_mean(st, "pss_mib"), step_vm_mean(st, "vmm_overhead_mib"),
			hb_j_num(st, "pss_total_mib"));
	return pbuf_draw(&pb, plotdir, out, "density-memory",
			 "Density: host memory (PSS) per VM and in total against k", 480, e);
}

int hb_rep_capacity_plots(const struct hb_rep *r, const char *plotdir, struct hb_rep_plots *out,
			  struct hb_err *e)
{
	const json_t *run = cap_run(r), *dens = json_object_get(run, "density"), *kn;
	size_t i;
	int first = 0;

	if (!dens || !json_array_size(json_object_get(dens, "steps")))
		return 0;
	json_array_foreach (json_object_get(dens, "knees"), i, kn) {
		int rc = plot_workload(dens, kn, plotdir, out, e);

		if (rc && !first)
			first = rc;
	}
	{
		int rc = plot_memory(dens, plotdir, out, e);

		if (rc && !first)
			first = rc;
	}
	return first;
}
