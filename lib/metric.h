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

struct hb_metric {
	char name[64]; /* e.g. "iops", "bw", "clat_p99", "throughput" */
	char unit[24]; /* e.g. "IOPS", "MiB/s", "us", "Gbit/s", "ops/s" */
	int higher_is_better;
	double value;
};

struct hb_sample {
	int n;
	struct hb_metric m[HB_MAX_METRICS];
	json_t *info; /* owned by the sample; NULL or an object; freed by hb_sample_free */
};

void hb_sample_init(struct hb_sample *s);
void hb_sample_free(struct hb_sample *s);
/* Adds or replaces a metric; HB_EINVAL when full or a name/unit does not fit. */
int hb_sample_add(struct hb_sample *s, const char *name, const char *unit, int higher_is_better,
		  double value);
const struct hb_metric *hb_sample_get(const struct hb_sample *s, const char *name);
/* Sets info[key] = value (steals value). Creates the info object on first use. */
void hb_sample_info(struct hb_sample *s, const char *key, json_t *value);

/* {"metrics":[{"name","unit","higher_is_better","value"}...],"info":{...}}; new reference. */
json_t *hb_sample_to_json(const struct hb_sample *s);
/* Validates and decodes the object above; every problem is named in e. */
int hb_sample_from_json(const json_t *j, struct hb_sample *s, struct hb_err *e);

#endif
