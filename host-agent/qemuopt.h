/*
 * qemuopt.h — QEMU's option syntax for values built from paths and names. In "-drive
 * file=X,format=raw" a comma inside X ends the value (and what follows is parsed as another
 * option: an injection); QEMU reads ",," as one literal comma. Every option value hvbench builds
 * from a path or a name goes through hb_qemu_opt_escape.
 */
#ifndef HB_QEMUOPT_H
#define HB_QEMUOPT_H

#include <stddef.h>

/* Copies in to out (len bytes) with every ',' doubled; HB_EINVAL when it does not fit. */
int hb_qemu_opt_escape(const char *in, char *out, size_t len);

#endif
