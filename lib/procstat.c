/*
 * procstat.c — /proc/stat's all-CPU line as counters (see procstat.h). Columns: user nice
 * system idle iowait irq softirq steal [guest guest_nice]; guest time is counted inside user
 * and nice already, so it is left out of the total. /proc/PID/stat: fields 4 (ppid) and 14-17
 * (utime stime cutime cstime), counted after the command name's closing parenthesis.
 */
#include "procstat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hb_procstat_parse_cpu(const char *text, int cpu, struct hb_cpu_ticks *t)
{
	const char *p = text;
	unsigned long long v[8];
	char want[32];
	size_t wl;
	int i;

	memset(t, 0, sizeof(*t));
	if (cpu < 0)
		memcpy(want, "cpu ", 5);
	else if (hb_snprintf(want, sizeof(want), "cpu%d ", cpu))
		return HB_EINVAL;
	wl = strlen(want);
	while (p && strncmp(p, want, wl)) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return HB_EPROTO;
	p += wl;
	for (i = 0; i < 8; i++) {
		char *end;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return HB_EPROTO;
		v[i] = strtoull(p, &end, 10);
		p = end;
		t->total += v[i];
	}
	t->idle = v[3] + v[4];
	t->steal = v[7];
	return 0;
}

int hb_procstat_parse(const char *text, struct hb_cpu_ticks *t)
{
	return hb_procstat_parse_cpu(text, -1, t);
}

int hb_procstat_read(struct hb_cpu_ticks *t)
{
	char *txt = NULL;
	int rc = hb_read_file("/proc/stat", 1 << 20, &txt, NULL, NULL);

	if (!rc)
		rc = hb_procstat_parse(txt, t);
	free(txt);
	return rc;
}

double hb_procstat_busy_pct(const struct hb_cpu_ticks *a, const struct hb_cpu_ticks *b)
{
	double dt = (double)(b->total - a->total);

	if (b->total <= a->total || b->idle < a->idle)
		return NAN;
	return 100.0 * (dt - (double)(b->idle - a->idle)) / dt;
}

double hb_procstat_steal_pct(const struct hb_cpu_ticks *a, const struct hb_cpu_ticks *b)
{
	if (b->total <= a->total || b->steal < a->steal)
		return NAN;
	return 100.0 * (double)(b->steal - a->steal) / (double)(b->total - a->total);
}

int hb_pidstat_parse(const char *text, struct hb_pid_ticks *t)
{
	const char *p = strrchr(text, ')'); /* the command name may hold spaces and ')' */
	unsigned long long v[17];
	int field;

	memset(t, 0, sizeof(*t));
	if (!p)
		return HB_EPROTO;
	p++;
	for (field = 3; field <= 17; field++) {
		char *end;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return HB_EPROTO;
		if (field == 3) { /* the state letter */
			while (*p && *p != ' ')
				p++;
			continue;
		}
		if ((*p < '0' || *p > '9') && *p != '-')
			return HB_EPROTO;
		v[field - 1] = strtoull(p, &end, 10);
		if (end == p)
			return HB_EPROTO;
		p = end;
	}
	t->ppid = (pid_t)v[3];
	t->utime = v[13];
	t->stime = v[14];
	t->cutime = v[15];
	t->cstime = v[16];
	return 0;
}

int hb_pidstat_read(pid_t pid, struct hb_pid_ticks *t)
{
	char path[64], *txt = NULL;
	int rc;

	hb_snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	rc = hb_read_file(path, 4096, &txt, NULL, NULL);
	if (!rc)
		rc = hb_pidstat_parse(txt, t);
	free(txt);
	return rc;
}

int hb_pidstat_cpu_s(pid_t pid, double *cpu_s)
{
	struct hb_pid_ticks t;
	long tck = sysconf(_SC_CLK_TCK);
	int rc;

	if (tck <= 0)
		return HB_EUNSUPP;
	rc = hb_pidstat_read(pid, &t);
	if (!rc)
		*cpu_s = (double)(t.utime + t.stime) / (double)tck;
	return rc;
}
