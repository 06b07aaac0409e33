/*
 * qemuopt.c — escaping of QEMU option values (see qemuopt.h).
 */
#include "qemuopt.h"

#include "hb.h"

int hb_qemu_opt_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return HB_EINVAL;
	for (; *in; in++) {
		size_t need = *in == ',' ? 2 : 1;
		if (o + need >= len) {
			out[0] = '\0';
			return HB_EINVAL;
		}
		out[o++] = *in;
		if (*in == ',')
			out[o++] = ',';
	}
	out[o] = '\0';
	return 0;
}
