/*
 * tg_scratch.c — a VM target's scratch drive (see tg_scratch.h): the scratch disk every target
 * makes the same way (scratchdisk.c), plus the check the VMM's cache mode needs.
 */
#include "tg_scratch.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "scratchdisk.h"

int hb_scratch_disk_create(const char *path, unsigned long long size, const char *cache,
			   struct hb_err *e)
{
	int fd, rc = hb_scratch_disk_make(path, size, e);

	if (rc)
		return rc;
	/* cache=none/directsync need O_DIRECT, which e.g. tmpfs refuses */
	if (cache && (!strcmp(cache, "none") || !strcmp(cache, "directsync"))) {
		fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (fd < 0) {
			rc = hb_err_errno(e, HB_EINVAL,
					  "disk_cache=%s needs O_DIRECT on the scratch directory",
					  cache);
			unlink(path);
			return rc;
		}
		close(fd);
	}
	return 0;
}
