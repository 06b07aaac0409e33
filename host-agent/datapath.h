/*
 * datapath.h — where an hvbench finds its data files without a source tree: profiles and the
 * guest image. One lookup, used by `run`, `validate` and `list`, and by anything that must say
 * where it looked ("guest image not built" messages). The search path is documented in
 * docs/install.md and hvbench(1).
 */
#ifndef HB_DATAPATH_H
#define HB_DATAPATH_H

#include <stddef.h>
#include "hb.h"

#define HB_DATA_PATH_MAX 4096
#define HB_DATA_MAX_DIRS 12

/* The files of hvbench's guest image (tools/mkguest.sh): the uncompressed kernel booted through
 * its PVH entry, the small initramfs and the read-only tools disk (fio, iperf3). An image
 * holds all three. */
#define HB_GUEST_KERNEL "vmlinux"
#define HB_GUEST_INITRD "initrd.img"
#define HB_GUEST_TOOLS	"tools.img"

enum hb_data_kind {
	/* profiles: $HVBENCH_PROFILES (colon list), ./configs, $XDG_CONFIG_HOME/hvbench/profiles,
	 * /etc/hvbench/profiles, EXE/../share/hvbench/profiles, EXE/../configs */
	HB_DATA_PROFILE,
	/* build directories holding guest/{vmlinux,initrd.img,tools.img}: $HVBENCH_BUILD, ./build,
	 * EXE's directory (a source tree's build/), $XDG_CACHE_HOME/hvbench, /var/lib/hvbench */
	HB_DATA_GUEST,
};

/*
 * HB_DATA_PROFILE: name is a profile file path (used as given when it holds a '/' or names
 * an existing file) or a profile name ("quick" or "quick.json") looked up in the search path.
 * HB_DATA_GUEST: name is a file of the guest image (HB_GUEST_KERNEL, ...) or NULL for the
 * build directory itself (what --build names), found where all the image's files exist.
 * buf gets the path found. Not found: HB_EUNSUPP with e naming every place searched (buf then
 * holds the first candidate for HB_DATA_GUEST, "" for profiles).
 */
int hb_data_path(enum hb_data_kind kind, const char *name, char *buf, size_t len, struct hb_err *e);

/* The search path of kind, in order (directories that may not exist); returns the count. */
int hb_data_dirs(enum hb_data_kind kind, char dirs[][HB_DATA_PATH_MAX], int max);

#endif
