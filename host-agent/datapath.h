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

enum hb_data_kind {
	/* profiles: $HVBENCH_PROFILES (colon list), ./configs, $XDG_CONFIG_HOME/hvbench/profiles,
	 * /etc/hvbench/profiles, EXE/../share/hvbench/profiles, EXE/../configs */
	HB_DATA_PROFILE,
	/* build directories holding guest/{vmlinuz,initrd.img}: $HVBENCH_BUILD, ./build, EXE's
	 * directory (a source tree's build/), $XDG_CACHE_HOME/hvbench, /var/lib/hvbench */
	HB_DATA_GUEST,
};

/*
 * HB_DATA_PROFILE: name is a profile file path (used as given when it holds a '/' or names
 * an existing file) or a profile name ("quick" or "quick.json") looked up in the search path.
 * HB_DATA_GUEST: name is a file of the guest image ("vmlinuz", "initrd.img") or NULL for the
 * build directory itself (what --build names), found where guest/vmlinuz and
 * guest/initrd.img both exist.
 * buf gets the path found. Not found: HB_EUNSUPP with e naming every place searched (buf then
 * holds the first candidate for HB_DATA_GUEST, "" for profiles).
 */
int hb_data_path(enum hb_data_kind kind, const char *name, char *buf, size_t len, struct hb_err *e);

/* The search path of kind, in order (directories that may not exist); returns the count. */
int hb_data_dirs(enum hb_data_kind kind, char dirs[][HB_DATA_PATH_MAX], int max);

#endif
