/*
 * tg_scratch.h — the raw scratch disk a VM target gives its guest for disk workloads: a new file
 * (never an existing one), sized and filled with a non-repeating pattern so guest reads reach
 * the host disk as native reads do (fio lays out its native file with real data; reads of a
 * sparse file's holes never touch the disk).
 */
#ifndef HB_TG_SCRATCH_H
#define HB_TG_SCRATCH_H

#include "hb.h"

/*
 * Creates path (O_EXCL, mode 0600) of size bytes, filled and synced. cache: the VMM's cache mode
 * for it; "none" and "directsync" need O_DIRECT, checked here (tmpfs refuses it). On failure
 * nothing is left at path.
 */
int hb_scratch_disk_create(const char *path, unsigned long long size, const char *cache,
			   struct hb_err *e);

#endif
