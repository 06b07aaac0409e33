/* wl_net.c — placeholder until the net workload lands (owned by the workloads work). */
#include "workload.h"

static int run(const struct hb_wl_ctx *ctx, const json_t *params, struct hb_sample *out,
	       struct hb_err *e)
{
	return hb_err_set(e, HB_EUNSUPP, "net: not implemented yet");
}

const struct hb_workload hb_wl_net = {
	.name = "net", .kind = "net", .help = "placeholder", .run = run,
};
