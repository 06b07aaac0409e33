/*
 * diag.c — collecting and printing the problems static checks find (see diag.h).
 */
#include "diag.h"

#include <stdarg.h>
#include <string.h>

#include "hb.h"

void hb_diag_init(struct hb_diag *d)
{
	memset(d, 0, sizeof(*d));
}

static void add(struct hb_diag *d, int warning, const char *fmt, va_list ap)
{
	struct hb_diag_item *it;

	if (warning)
		d->nwarn++;
	else
		d->nerr++;
	if (d->n >= HB_DIAG_MAX) {
		d->dropped++;
		return;
	}
	it = &d->it[d->n++];
	it->warning = warning;
	vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
	hb_utf8_sanitize(it->msg);
}

void hb_diag_error(struct hb_diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, 0, fmt, ap);
	va_end(ap);
}

void hb_diag_warn(struct hb_diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, 1, fmt, ap);
	va_end(ap);
}

void hb_diag_print(const struct hb_diag *d, const char *prefix, FILE *f)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < d->n; i++)
			if (d->it[i].warning == pass)
				fprintf(f, "%s: %s: %s\n", prefix, pass ? "warning" : "error",
					d->it[i].msg);
	if (d->dropped)
		fprintf(f, "%s: ... and %d more\n", prefix, d->dropped);
}
