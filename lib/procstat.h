/*
 * procstat.h — the all-CPU line of /proc/stat as tick counters, and the two shares a capacity
 * sweep needs from two readings: how busy the CPUs were (host) and how much time the
 * hypervisor stole (guest); and one process's CPU time from /proc/PID/stat. Shared by the
 * host agent and the guest agent.
 */
#ifndef HB_PROCSTAT_H
#define HB_PROCSTAT_H

#include <sys/types.h>
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

/* One process's /proc/PID/stat: its parent and CPU ticks (utime/stime: all its threads,
 * live and exited; cutime/cstime: its reaped children). */
struct hb_pid_ticks {
	pid_t ppid;
	unsigned long long utime, stime, cutime, cstime;
};

/* Parses /proc/PID/stat text (the command name may hold spaces and parentheses);
 * HB_EPROTO when it is malformed or short. */
int hb_pidstat_parse(const char *text, struct hb_pid_ticks *t);
/* Reads /proc/PID/stat; HB_EIO when the process is gone. */
int hb_pidstat_read(pid_t pid, struct hb_pid_ticks *t);
/* CPU seconds pid itself consumed so far (utime + stime, every thread); negative HB_E* when
 * unreadable. */
int hb_pidstat_cpu_s(pid_t pid, double *cpu_s);

#endif
