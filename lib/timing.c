/*
 * timing.c — the default-timeout rule and the checks of struct hb_timing (see timing.h).
 */
#include "timing.h"

#include <math.h>

double hb_timing_default_timeout(double duration, double ramp)
{
	return 3 * (duration + ramp) + 60;
}

int hb_timing_check(struct hb_timing *t, double max_timeout, const char *where, struct hb_err *e)
{
	if (!(t->duration > 0))
		return hb_err_set(e, HB_EINVAL, "%s: duration must be positive", where);
	if (!(t->ramp >= 0))
		return hb_err_set(e, HB_EINVAL, "%s: ramp must not be negative", where);
	if (t->timeout == 0) {
		t->timeout = hb_timing_default_timeout(t->duration, t->ramp);
		if (max_timeout > 0 && t->timeout > max_timeout)
			t->timeout = max_timeout;
	}
	if (!(t->timeout >= t->duration + t->ramp))
		return hb_err_set(e, HB_EINVAL,
				  "%s: timeout %g s is shorter than ramp + duration (%g s)", where,
				  t->timeout, t->ramp + t->duration);
	return 0;
}

void hb_timing_override(struct hb_timing *t, double duration)
{
	double def;

	t->duration = duration;
	if (t->ramp > duration)
		t->ramp = duration / 2;
	def = hb_timing_default_timeout(t->duration, t->ramp);
	if (t->timeout < def)
		t->timeout = def;
}

int hb_clock_agrees(double host_s, double guest_s, double *dev)
{
	double tol;

	if (dev)
		*dev = 0;
	if (!(host_s > 0) || !(guest_s > 0))
		return -1;
	if (dev)
		*dev = guest_s / host_s - 1;
	tol = host_s * HB_CLOCK_TOL_REL;
	if (tol < HB_CLOCK_TOL_ABS)
		tol = HB_CLOCK_TOL_ABS;
	return fabs(guest_s - host_s) <= tol;
}
