/*
 * fio.h — the fio plumbing of the disk workload: the job file we generate and the parser that
 * turns fio's `--output-format=json+` text into a sample. The parser is separate from the run so
 * the unit tests can feed it real fio output captured on this machine.
 */
#ifndef HB_FIO_H
#define HB_FIO_H

#include <stddef.h>
#include "hb.h"
#include "metric.h"

/* One fio job, as the disk workload describes it. Strings are borrowed. */
struct hb_fio_job {
	const char *filename;	 /* file or device fio works on */
	const char *rw;		 /* randread | randwrite | read | write | randrw */
	unsigned long long bs;	 /* bytes */
	unsigned long long size; /* bytes of the file/device region used */
	int iodepth, numjobs;
	const char *ioengine; /* libaio | io_uring | psync | sync */
	int direct, time_based;
	int rwmixread;	      /* percent reads for randrw */
	double runtime, ramp; /* seconds */
	int no_create;	      /* the target belongs to the suite: allow_file_create=0 */
};

/*
 * 0 when fio opens exactly the file called name; HB_EINVAL (message names the cause) for a name
 * fio would reinterpret: leading or trailing blanks (fio trims them), '$' (${VAR} and $keyword
 * expansion), ':' (file list separator), '\\' (escape), control characters, or empty.
 */
int hb_fio_filename_check(const char *name, struct hb_err *e);

/* Writes the job file text (an ini, one [global] and one [hvbench] section) into buf;
 * HB_EINVAL for a filename hb_fio_filename_check refuses. */
int hb_fio_job_text(const struct hb_fio_job *j, char *buf, size_t len, struct hb_err *e);

/*
 * Parses fio JSON output. Text before the JSON (fio prints warnings on stdout) is skipped: parsing
 * starts at the first line that begins with '{'; text after it is ignored. Adds to out:
 *   iops (IOPS, higher better), bw (MiB/s, higher better), clat_p50 / clat_p99 / clat_p999
 *   (us, lower better), fio_usr_cpu / fio_sys_cpu (%, lower better);
 * and info: fio_version, latency_from ("read" | "write"), mixed (bool), jobs (number of entries).
 * For mixed read/write, iops and bw are read+write sums and latencies come from reads. With several
 * job entries (no group_reporting), rates are summed and percentiles are the completion-weighted
 * mean of the per-job values (info latency_merge says so).
 * Errors: HB_EPROTO for text that is not fio JSON, no "jobs", or no completed I/O; HB_EIO when a
 * job reports a non-zero "error" (the message names it).
 */
int hb_fio_parse(const char *text, struct hb_sample *out, struct hb_err *e);

#endif
