/*
 * metric.h — what one workload run produces: a small set of named metrics, each with its unit
 * and direction, plus free-form info (fio/iperf versions, the job used, warnings). The same
 * structure travels over the agent protocol, so native and guest results are identical in shape.
 */
#ifndef HB_METRIC_H
#define HB_METRIC_H

#include <jansson.h>
#include "hb.h"

#define HB_MAX_METRICS 64

/*
 * The metric model. Every metric a workload, a probe or a backend produces is declared once in
 * its descriptor (struct hb_metric_def). The declaration says where the metric belongs (area),
 * whether it is part of the answer (role) and how a VM figure compares with the native one
 * (comparison). Report, plots and the regression gate read these fields; nothing downstream
 * guesses from names. Undeclared metrics are diagnostics with no comparison.
 */
enum hb_area {
	HB_AREA_STORAGE,
	HB_AREA_NETWORK,
	HB_AREA_MEMORY,
	HB_AREA_CPU,
	HB_AREA_LATENCY,
	HB_AREA_BOOT,
	HB_AREA_OVERHEAD, /* host memory the VMM costs */
	HB_AREA_COST,	  /* host CPU per unit of work, exits per I/O */
	HB_AREA_DIAG,	  /* probe readings and engine details */
	HB_AREA_COUNT
};

enum hb_role {
	HB_ROLE_HEADLINE,   /* the answer: at-a-glance table, headline plot, gated */
	HB_ROLE_DETAIL,	    /* details by area, gated */
	HB_ROLE_DIAGNOSTIC, /* appendix, absolute values, never gated by default */
	HB_ROLE_COUNT
};

enum hb_cmp {
	HB_CMP_RATIO, /* VM / native, oriented so that > 100% is better */
	HB_CMP_DELTA, /* VM - native in the metric's unit (added latency, added CPU seconds) */
	HB_CMP_NONE,  /* absolute only: the two sides differ in meaning */
	HB_CMP_COUNT
};

struct hb_metric_def {
	const char *name; /* exact name, or a prefix ending in '*' ("pfm.*") */
	const char *unit;
	int higher_is_better;
	enum hb_area area;
	enum hb_role role;
	enum hb_cmp cmp;
	const char *help; /* one line: what the number is */
};

/* Names as written in results.json ("storage", "headline", "ratio"); NULL when out of range. */
const char *hb_area_str(enum hb_area a);
const char *hb_role_str(enum hb_role r);
const char *hb_cmp_str(enum hb_cmp c);
/* Inverse of the above; -1 when s is not a known name. */
int hb_area_parse(const char *s);
int hb_role_parse(const char *s);
int hb_cmp_parse(const char *s);

/* First definition in defs[0..n) matching name (exact, or prefix for "x*"); NULL if none. */
const struct hb_metric_def *hb_metric_def_find(const struct hb_metric_def *defs, size_t n,
					       const char *name);

struct hb_metric {
	char name[64]; /* e.g. "iops", "bw", "clat_p99", "throughput" */
	char unit[24]; /* e.g. "IOPS", "MiB/s", "us", "Gbit/s", "ops/s" */
	int higher_is_better;
	double value;
	/* From the declaration (hb_sample_annotate); diagnostic/none until annotated. These do
	 * not travel over the agent protocol: the host annotates from its own descriptors. */
	enum hb_area area;
	enum hb_role role;
	enum hb_cmp cmp;
};

struct hb_sample {
	int n;
	struct hb_metric m[HB_MAX_METRICS];
	/* The interval the workload actually measured, as it ran (not as planned: libiperf counts
	 * whole seconds, fio rounds to ms): measured_s is what its rates cover, active_s the whole
	 * busy time including its ramp (what the host probes' window sees). 0 = not reported. */
	double measured_s, active_s;
	/* The run's span from request to result on the host's monotonic clock (minus the agent
	 * protocol's round trip), and the agent's own span of it on the target's clock (from the
	 * reply's "elapsed_s"; 0 for native runs and older agents). Set by the host, never sent
	 * in a sample: a guest clock that runs fast or slow shows as guest_s != host_s. */
	double host_s, guest_s;
	json_t *info; /* owned by the sample; NULL or an object; freed by hb_sample_free */
};

void hb_sample_init(struct hb_sample *s);
void hb_sample_free(struct hb_sample *s);
/* Adds or replaces a metric; HB_EINVAL when full or a name/unit does not fit. */
int hb_sample_add(struct hb_sample *s, const char *name, const char *unit, int higher_is_better,
		  double value);
const struct hb_metric *hb_sample_get(const struct hb_sample *s, const char *name);
/*
 * Sets area, role and comparison of every metric of s declared in defs[0..n) (and the unit and
 * direction from the declaration). Metrics not declared there are left as they are. When
 * headline is not NULL, the metric of that name becomes the headline and any other metric
 * declared headline is demoted to detail (a disk entry with bs=1M answers with bandwidth, one
 * with bs=4k with IOPS, one at queue depth 1 with latency).
 */
void hb_sample_annotate(struct hb_sample *s, const struct hb_metric_def *defs, size_t n,
			const char *headline);
/* Sets info[key] = value (steals value). Creates the info object on first use. */
void hb_sample_info(struct hb_sample *s, const char *key, json_t *value);

/* {"metrics":[{"name","unit","higher_is_better","value"}...],"info":{...}}; new reference. */
json_t *hb_sample_to_json(const struct hb_sample *s);
/* Validates and decodes the object above; every problem is named in e. */
int hb_sample_from_json(const json_t *j, struct hb_sample *s, struct hb_err *e);

#endif
