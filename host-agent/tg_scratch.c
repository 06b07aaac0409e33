/*
 * tg_scratch.c — the raw scratch disk of a VM target (see tg_scratch.h).
 */
#include "tg_scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes size bytes of a non-repeating pattern (xorshift) and syncs: -1 with errno on failure. */
static int fill_disk(int fd, unsigned long long size)
{
	enum { CHUNK = 1 << 20 };
	uint64_t *buf = malloc(CHUNK), x = 0x9e3779b97f4a7c15ULL;
	unsigned long long off = 0;
	size_t i;

	if (!buf)
		return -1;
	while (off < size) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		for (i = 0; i < CHUNK / sizeof(*buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		ssize_t w = pwrite(fd, buf, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			free(buf);
			return -1;
		}
		off += (unsigned long long)w;
	}
	free(buf);
	return fdatasync(fd);
}

int hb_scratch_disk_create(const char *path, unsigned long long size, const char *cache,
			   struct hb_err *e)
{
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return hb_err_errno(e, HB_EIO, "cannot create scratch disk %s", path);
	if (ftruncate(fd, (off_t)size))
		rc = hb_err_errno(e, HB_EIO, "cannot size scratch disk %s", path);
	else if (fill_disk(fd, size))
		rc = hb_err_errno(e, HB_EIO, "cannot fill scratch disk %s", path);
	close(fd);
	/* cache=none/directsync need O_DIRECT, which e.g. tmpfs refuses */
	if (!rc && cache && (!strcmp(cache, "none") || !strcmp(cache, "directsync"))) {
		fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (fd < 0)
			rc = hb_err_errno(e, HB_EINVAL,
					  "disk_cache=%s needs O_DIRECT on the scratch directory",
					  cache);
		else
			close(fd);
	}
	if (rc)
		unlink(path);
	return rc;
}
