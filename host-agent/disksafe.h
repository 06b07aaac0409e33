/*
 * disksafe.h — the guard in front of any disk workload aimed at a path the user names instead of
 * a scratch file hvbench creates. An existing file or block device is used only when the profile
 * says allow_existing; a device that is mounted, used as swap, held by another device (LVM, md,
 * dm) or that carries a filesystem, partition table or volume signature is refused always.
 */
#ifndef HB_DISKSAFE_H
#define HB_DISKSAFE_H

#include "hb.h"

/* Returns the name of a known on-disk signature in the first 68 KiB of fd, or NULL. */
const char *hb_disk_signature(int fd);
/*
 * 0 when path may be written by a disk workload; HB_EINVAL with the reason otherwise. The path
 * is resolved once (realpath) and every check applies to the resolved file, which is what the
 * caller must hand to fio (written into resolved, len bytes; resolved may be NULL). Names fio
 * would reinterpret (see hb_fio_filename_check) are refused, given or resolved.
 */
int hb_disk_target_resolve(const char *path, int allow_existing, char *resolved, size_t len,
			   struct hb_err *e);
/* hb_disk_target_resolve without the resolved path. */
int hb_disk_target_check(const char *path, int allow_existing, struct hb_err *e);

#endif
