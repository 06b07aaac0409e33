/*
 * scratchdisk.h — the raw scratch disk disk workloads run on, made the same way for every
 * target before anything is measured: a new file (never an existing one) written in full
 * with a non-repeating pattern and synced. Native runs use it as their disk target and VMs
 * as their scratch drive, so neither side's measured window contains a file layout and
 * neither reads holes that never reach the disk.
 */
#ifndef HB_SCRATCHDISK_H
#define HB_SCRATCHDISK_H

#include "hb.h"

/* Creates path (O_EXCL: HB_EIO when it exists) of size bytes, filled and synced. On failure
 * the file is removed. */
int hb_scratch_disk_make(const char *path, unsigned long long size, struct hb_err *e);

#endif
