/*
 * procstat.h — the all-CPU line of /proc/stat as tick counters, and the two shares a capacity
 * sweep needs from two readings: how busy the CPUs were (host) and how much time the
 * hypervisor stole (guest). Shared by the host agent and the guest agent.
 */
#ifndef HB_PROCSTAT_H
#define HB_PROCSTAT_H

#include "hb.h"

struct hb_cpu_ticks {
	unsigned long long total; /* every column (guest time is already in user/nice) */
	unsigned long long idle;  /* idle + iowait */
	unsigned long long steal;
};

/* Parses the "cpu " line of /proc/stat text; HB_EPROTO when it is missing or short. */
int hb_procstat_parse(const char *text, struct hb_cpu_ticks *t);
/* The same for the line of one CPU ("cpuN "; cpu < 0: the all-CPU line). */
int hb_procstat_parse_cpu(const char *text, int cpu, struct hb_cpu_ticks *t);
/* Reads /proc/stat. */
int hb_procstat_read(struct hb_cpu_ticks *t);
/* Percent of the ticks between a and b that were busy (not idle) / stolen; NAN when none. */
double hb_procstat_busy_pct(const struct hb_cpu_ticks *a, const struct hb_cpu_ticks *b);
double hb_procstat_steal_pct(const struct hb_cpu_ticks *a, const struct hb_cpu_ticks *b);

#endif
