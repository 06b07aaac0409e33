/*
 * bootphase.c — splits a guest's boot into phases (see bootphase.h). The guest's init reports
 * its own steps as uptimes ("hvbench-init: boot phases init=0.91 modules=1.10 ..."); the host
 * knows when it exec'd QEMU, when QMP answered and when the hello arrived. Guest uptime runs at
 * host speed under KVM and under TCG (the guest TSC follows the host clock), so the two time
 * lines can be joined at the agent's start.
 */
#include "bootphase.h"

#include <stdio.h>
#include <string.h>

#include "hb.h"

#define PHASES_TAG "hvbench-init: boot phases "
#define MAX_STEPS  16

struct step {
	char name[32];
	double up;
};

/* Parses the last phases line: "k=v" tokens, uptimes non-decreasing. Returns the count. */
static int parse_steps(const char *console, struct step *s, int max)
{
	const char *p = NULL, *q;
	int n = 0;

	for (q = console; q && (q = strstr(q, PHASES_TAG)); q++)
		p = q;
	if (!p)
		return 0;
	p += strlen(PHASES_TAG);
	while (*p && *p != '\n' && *p != '\r' && n < max) {
		size_t klen = strcspn(p, "= \r\n"), vlen;
		char val[32];
		double v;

		if (p[klen] != '=' || klen == 0 || klen >= sizeof(s[n].name))
			break;
		vlen = strcspn(p + klen + 1, " \r\n");
		if (vlen == 0 || vlen >= sizeof(val))
			break;
		memcpy(val, p + klen + 1, vlen);
		val[vlen] = '\0';
		if (hb_parse_double(val, 0, 1e7, &v) || (n && v < s[n - 1].up))
			break;
		memcpy(s[n].name, p, klen);
		s[n].name[klen] = '\0';
		s[n].up = v;
		n++;
		p += klen + 1 + vlen;
		while (*p == ' ')
			p++;
	}
	return n;
}

static void put(json_t *o, const char *name, double v)
{
	char key[48];

	hb_snprintf(key, sizeof(key), "%s_s", name);
	json_object_set_new(o, key, json_real(v));
}

json_t *hb_boot_phases(const struct hb_boot_times *bt, const char *console)
{
	json_t *o = json_object();
	struct step s[MAX_STEPS];
	double total = bt->t_hello - bt->t_exec, qemu = 0, guest = bt->agent_uptime;
	int n = console ? parse_steps(console, s, MAX_STEPS) : 0, i;

	if (!o)
		return NULL;
	if (bt->t_qmp >= bt->t_exec && bt->t_qmp <= bt->t_hello)
		qemu = bt->t_qmp - bt->t_exec;
	put(o, "qemu", qemu);
	if (guest < 0 || guest > total - qemu) {
		/* no usable guest clock: the rest is one phase */
		put(o, "guest", total - qemu);
		put(o, "total", total);
		return o;
	}
	put(o, "firmware", total - qemu - guest);
	/* steps after the agent's start (a clock oddity) are dropped */
	while (n > 0 && s[n - 1].up > guest)
		n--;
	if (n == 0) {
		put(o, "kernel", guest);
	} else {
		put(o, "kernel", s[0].up);
		for (i = 1; i < n; i++)
			put(o, s[i].name, s[i].up - s[i - 1].up);
		put(o, "agent", guest - s[n - 1].up);
	}
	put(o, "total", total);
	return o;
}
