/* wl_mem.c — placeholder until the mem workload lands (owned by the workloads work). */
#include "workload.h"

static int run(const struct hb_wl_ctx *ctx, const json_t *params, struct hb_sample *out,
	       struct hb_err *e)
{
	return hb_err_set(e, HB_EUNSUPP, "mem: not implemented yet");
}

const struct hb_workload hb_wl_mem = {
	.name = "mem", .kind = "mem", .help = "placeholder", .run = run,
};
