/*
 * calibrate.h — `hvbench calibrate`: proves the measurement chain on the user's own host by
 * injecting overheads of known size (a QEMU disk throttle, a tc rate limit, a cgroup CPU
 * quota, a netem delay) and checking that the suite measures exactly that, within a stated
 * tolerance, together with the guest clock and the VMM memory overhead against independent
 * readings. See docs/calibrate.md for the experiments and why each tolerance is what it is.
 */
#ifndef HB_CALIBRATE_H
#define HB_CALIBRATE_H

#include <signal.h>

/* Exit codes: 0 every experiment passed, 1 one failed, 2 one could not be set up here (or
 * a usage error). stop: set by the caller's signal handlers (SIGINT/SIGTERM/SIGHUP). */
int hb_cmd_calibrate(int argc, char **argv, volatile sig_atomic_t *stop);

#endif
